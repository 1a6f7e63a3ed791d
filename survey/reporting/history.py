"""Published history and changes against the previous edition, using what is real.

- :func:`published_value` / :func:`published_series`: a question's whole-sample published figure
  in one edition / across editions (shares as fractions, means in their unit).
- :func:`record`: "lowest/highest in N editions" from a published series.
- :func:`change_of`: the change of an option/net (or a mean) against the previous edition that
  asked it: published vs published where both editions published the figure (or the edition
  published the change itself); a design-based test where both waves are real microdata; an
  estimate that "rests on synthetic data" otherwise. Options new in an edition are never compared.
- :func:`adjust_pvalues`: Benjamini-Hochberg or Holm adjusted p-values.

Example:
    >>> from survey.published import load_figures
    >>> s = published_series(load_figures(), "budget_growth_expected", None)
    >>> s
    {2022: 19.0, 2023: 16.0, 2024: 11.0, 2025: 8.0}
    >>> record(s, 2025)
    ('lowest', 4)
    >>> [round(p, 3) for p in adjust_pvalues([0.01, 0.04, 0.03], "fdr_bh")]
    [0.03, 0.04, 0.04]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

if TYPE_CHECKING:
    from survey.reporting.context import ReportContext

Kind = Literal["published", "design", "synthetic"]


def _rows(figures: pl.DataFrame, qid: str, code: str | None) -> pl.DataFrame:
    f = figures.filter(pl.col("question_id") == qid)
    if code is None:
        f = f.filter(pl.col("option_code").is_null() | (pl.col("option_code") == ""))
        f = f.filter(pl.col("measure") == "mean")
    else:
        f = f.filter((pl.col("option_code") == code) & (pl.col("measure") == "share"))
    if "segment" in f.columns:
        f = f.filter(pl.col("segment").is_null() | (pl.col("segment") == ""))
    return f.with_columns(pl.col("figure_id").str.contains("__").alias("_variant")).sort(
        "edition", "_variant"
    )


def published_value(figures: pl.DataFrame, edition: int, qid: str, code: str | None) -> float | None:
    """The whole-sample published share (fraction) of ``code`` or mean (``code=None``) of ``qid``.

    The figure of the edition's own report comes first; a figure from another source
    (``figure_id`` with ``__``) is used when the report's own is missing.
    """
    return published_series(figures, qid, code).get(int(edition))


def published_series(figures: pl.DataFrame, qid: str, code: str | None) -> dict[int, float]:
    """Published whole-sample values of ``qid``/``code`` by edition, oldest first."""
    out: dict[int, float] = {}
    for row in _rows(figures, qid, code).iter_rows(named=True):
        ed = int(row["edition"])
        if ed not in out and row["value"] is not None:
            v = float(row["value"])
            out[ed] = v / 100.0 if code is not None else v
    return dict(sorted(out.items()))


def record(series: dict[int, float], edition: int, *, current: float | None = None) -> tuple[str, int] | None:
    """``("lowest"|"highest", N)`` when ``edition``'s value is the extreme of the N editions up to
    it (N >= 3), else ``None``. ``current`` replaces the edition's value (an estimate)."""
    values = {e: v for e, v in series.items() if e <= edition}
    if current is not None:
        values[edition] = current
    if edition not in values or len(values) < 3:
        return None
    now = values[edition]
    others = [v for e, v in values.items() if e != edition]
    if all(now < v for v in others):
        return "lowest", len(values)
    if all(now > v for v in others):
        return "highest", len(values)
    return None


def adjust_pvalues(p: Sequence[float | None], method: str = "fdr_bh") -> list[float | None]:
    """Adjusted p-values (``"fdr_bh"`` Benjamini-Hochberg or ``"holm"``); ``None`` stays ``None``."""
    from statsmodels.stats.multitest import multipletests

    idx = [i for i, v in enumerate(p) if v is not None]
    out: list[float | None] = [None] * len(p)
    if idx:
        adj = multipletests([p[i] for i in idx], method=method)[1]
        for i, a in zip(idx, adj, strict=True):
            out[i] = float(a)
    return out


@dataclass(frozen=True)
class Change:
    """A change against an earlier edition (shares as fractions, means in their unit)."""

    question: str
    code: str | None
    edition_a: int
    edition_b: int
    change: float
    kind: Kind
    p_value: float | None = None
    p_adjusted: float | None = None

    @property
    def significant(self) -> bool:
        """A design-based change significant after the multiplicity adjustment."""
        return self.kind == "design" and self.p_adjusted is not None and self.p_adjusted < 0.05


def is_real(ctx: ReportContext) -> bool:
    """Whether a context's wave is real microdata (not synthetic)."""
    return not ctx.is_synthetic


def comparable_codes(q: Any, a: int, b: int) -> set[str] | None:
    """Option/net codes comparable between editions ``a`` and ``b`` (codebook), or None if the
    codebook cannot say per option."""
    fn = getattr(q, "comparable_codes", None)
    if fn is None:
        return None
    try:
        return set(fn(a, b))
    except Exception:  # an older codebook: decide per question only
        return None


def change_of(ctx: ReportContext, qid: str, code: str | None, *, method: str = "holm") -> Change | None:
    """The change of ``qid``/``code`` since the previous edition that has it (see module doc).

    Design-based p-values are adjusted (``method``) over the question's options and nets.
    """
    q = ctx.codebook[qid]
    figures = ctx.figures
    ed = ctx.edition
    pub = published_series(figures, qid, code)
    own_pub = [e for e in pub if e < ed]
    # the edition published the change itself
    stated = figures.filter(
        (pl.col("edition") == ed) & (pl.col("question_id") == qid) & (pl.col("measure") == "change")
        & ((pl.col("option_code") == code) if code is not None else pl.col("option_code").is_null())
        & ~pl.col("figure_id").str.contains("__")
    )
    if stated.height and stated["compare_edition"].dtype != pl.Null:
        row = stated.row(0, named=True)
        prev = row.get("compare_edition") or (own_pub[-1] if own_pub else ed - 1)
        value = float(row["value"]) / (100.0 if code is not None else 1.0)
        return Change(qid, code, int(prev), ed, value, "published")
    if ed in pub and own_pub:
        prev = own_pub[-1]
        return Change(qid, code, prev, ed, pub[ed] - pub[prev], "published")
    prev_ctx = ctx.previous
    if prev_ctx is None or not prev_ctx.asks(qid) or not q.comparable(prev_ctx.edition, ed):
        return None
    wanted = "mean" if code is None else code
    codes = comparable_codes(q, prev_ctx.edition, ed)
    if codes is not None and code is not None and code not in codes:
        return None
    ch = ctx.change(qid)
    if ch is None:
        return None
    ch = ch.filter(pl.col("comparable") & pl.col("p_value").is_not_null())
    if codes is not None:
        ch = ch.filter(pl.col("row_code").is_in(list(codes)) | (pl.col("row_kind") == "mean"))
    if ch.height == 0 or wanted not in ch["row_code"].to_list():
        return None
    adj = adjust_pvalues(ch["p_value"].to_list(), method)
    i = ch["row_code"].to_list().index(wanted)
    row = ch.row(i, named=True)
    scale = 1.0 if row["row_kind"] == "mean" else 100.0
    if row["estimate_a"] is None or row["estimate_b"] is None:
        return None
    kind: Kind = "design" if is_real(ctx) and is_real(prev_ctx) else "synthetic"
    return Change(qid, code, prev_ctx.edition, ed, row["change"] / scale, kind, row["p_value"], adj[i])
