"""Segment contrasts found from the data: which advertisers differ on a headline measure.

For one option/net (or the mean) of a question, every level of every segment variable (industry,
budget size, job level, business model, position, brand type — whatever the codebook marks as a
segment and the edition asked) is compared with the rest of the sample by the banner's
design-based test (:func:`survey.banners.banner` on "level vs rest" columns). Levels with fewer
than ``min_base`` respondents are not tested (listed as small bases, never called different);
the p-values of all tested levels are adjusted together (Benjamini-Hochberg by default, or Holm).

Example:
    >>> from survey.reporting import ReportContext
    >>> ctx = ReportContext.load(2025, with_previous=False)
    >>> found = segment_contrasts(ctx, "confidence", "net_increase")
    >>> sorted(found.columns)[:4]
    ['diff', 'estimate', 'level', 'level_label']
    >>> bool((found.filter(pl.col("n") < 30)["tested"]).any())
    False
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from survey.codebook import RESIDUAL_CODES
from survey.reporting.history import adjust_pvalues

if TYPE_CHECKING:
    from survey.reporting.context import ReportContext

_IN, _REST = "in", "rest"
SCHEMA = {
    "segment": pl.String, "segment_label": pl.String, "level": pl.String,
    "level_label": pl.String, "n": pl.Int64, "estimate": pl.Float64, "rest": pl.Float64,
    "diff": pl.Float64, "p_value": pl.Float64, "p_adjusted": pl.Float64, "tested": pl.Boolean,
    "significant": pl.Boolean, "small_base": pl.Boolean,
}


def _vs_design(ctx: ReportContext, segments: list[str] | None) -> tuple[Any, dict]:
    cb = ctx.codebook
    segs = segments or [
        q.id for q in cb.segments() if q.asked_in(ctx.edition) and q.id in ctx.wave.frame.columns
    ]
    frame = ctx.wave.frame
    cols, meta = [], {}
    for s in segs:
        q = cb[s]
        counts = dict(frame[s].cast(pl.String).value_counts().iter_rows())
        for o in q.options_in(ctx.edition):
            if o.code in RESIDUAL_CODES or counts.get(o.code, 0) == 0:
                continue
            name = f"__vs__{s}__{o.code}"
            cols.append(
                pl.when(pl.col(s).cast(pl.String) == o.code).then(pl.lit(_IN))
                .when(pl.col(s).is_not_null()).then(pl.lit(_REST)).alias(name)
            )
            meta[name] = (s, q.short_label(ctx.lang), o.code, q.label(o.code, ctx.lang))
    return (ctx.design.with_columns(*cols) if cols else None), meta


def contrast_tables(
    ctx: ReportContext, qids: list[str], *, segments: list[str] | None = None,
    min_base: int = 30, flag_below: int = 50,
) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """The "level vs rest" banner cells and tests of ``qids`` (one banner for all of them)."""
    from survey.banners import banner

    design, meta = _vs_design(ctx, segments)
    if design is None:
        return pl.DataFrame(), pl.DataFrame(), meta
    b = banner(design, rows=qids, cols=list(meta), suppress_below=min_base,
               flag_below=flag_below, include_total=False, lang=ctx.lang)
    return b.to_polars(ctx.lang), b.tests(), meta


def segment_contrasts(
    ctx: ReportContext,
    qid: str,
    code: str | None,
    *,
    segments: list[str] | None = None,
    min_base: int = 30,
    flag_below: int = 50,
    method: str = "fdr_bh",
    alpha: float = 0.05,
    tables: tuple[pl.DataFrame, pl.DataFrame, dict] | None = None,
) -> pl.DataFrame:
    """Each segment level against the rest of the sample on ``qid``'s ``code`` (None: the mean).

    Columns: ``segment, segment_label, level, level_label, n, estimate, rest, diff, p_value,
    p_adjusted, tested, significant, small_base`` (shares as fractions). Residual levels
    ("other" …) are not findings and are left out. ``tables`` (:func:`contrast_tables` of
    several questions) saves the banner when many contrasts are wanted.
    """
    cells_all, tests_all, meta = tables if tables is not None else contrast_tables(
        ctx, [qid], segments=segments, min_base=min_base, flag_below=flag_below)
    if not meta or cells_all.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    row_code = "mean" if code is None else code
    cells = cells_all.filter((pl.col("question_id") == qid) & (pl.col("row_code") == row_code))
    tests = tests_all.filter((pl.col("question_id") == qid) & (pl.col("row_code") == row_code))
    pvals = {r["col_variable"]: r["p_value"] for r in tests.iter_rows(named=True)}
    rows = []
    for name, (s, slabel, level, llabel) in meta.items():
        c = cells.filter(pl.col("col_variable") == name)
        by = {r["col_level"]: r for r in c.iter_rows(named=True)}
        if _IN not in by or _REST not in by:
            continue
        inn, rest = by[_IN], by[_REST]
        n = int(inn["n"] or 0)
        tested = n >= min_base and int(rest["n"] or 0) >= min_base and pvals.get(name) is not None
        est, oth = inn["estimate"], rest["estimate"]
        rows.append({
            "segment": s, "segment_label": slabel, "level": level, "level_label": llabel, "n": n,
            "estimate": est, "rest": oth,
            "diff": None if est is None or oth is None else est - oth,
            "p_value": pvals.get(name) if tested else None, "tested": tested,
            "small_base": n < flag_below,
        })
    out = pl.DataFrame(rows, schema={k: v for k, v in SCHEMA.items()
                                     if k not in ("p_adjusted", "significant")})
    adj = adjust_pvalues(out["p_value"].to_list(), method)
    return out.with_columns(
        pl.Series("p_adjusted", adj, dtype=pl.Float64),
    ).with_columns(
        (pl.col("p_adjusted").fill_null(1.0) < alpha).alias("significant")
    ).select(list(SCHEMA))
