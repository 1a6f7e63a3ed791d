"""Changes between editions: wave-to-wave differences, multi-edition trends, published series.

Editions are independent samples, so the SE of a change is ``sqrt(se_a² + se_b²)`` and the test is
``z = (est_b - est_a) / se``, two-sided against the normal.

Units: the package's convention is **0-1 shares** (``unit = "share"``: 0.54 is 54%, a change of
0.05 is 5 points); means are in the question's own unit (``unit = "mean"``).
``compare_waves(a, b)`` (every comparable question) and ``compare_waves(a, b, [ids])`` follow it.
The one-question form ``compare_waves(a, b, "confidence")`` that the report uses still returns
percentage points (``unit = "pp"``) unless ``unit="share"`` is given.

Questions, options and items that were not asked, or not asked comparably (codebook
``editions``, ``history``, per-option ``added``/``dropped``/``comparable: false``) are *kept*
with null statistics and a ``note`` saying why.

Example:
    >>> from survey.trends import compare_waves
    >>> ch = compare_waves(d24, d25, adjust="holm")
    >>> ch.filter(pl.col("comparable")).select("unit").unique().sort("unit")["unit"].to_list()
    ['mean', 'share']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from survey.banners import banner
from survey.banners._tabulate import _adjust
from survey.banners._text import Adjust
from survey.banners._where import Where
from survey.codebook import Codebook, Question
from survey.errors import EstimationError

_CHANGE_SCHEMA = {
    "question_id": pl.String, "item": pl.String, "row_code": pl.String, "row_label": pl.String,
    "row_kind": pl.String, "edition_a": pl.Int64, "edition_b": pl.Int64,
    "estimate_a": pl.Float64, "se_a": pl.Float64, "n_a": pl.Int64,
    "estimate_b": pl.Float64, "se_b": pl.Float64, "n_b": pl.Int64,
    "change": pl.Float64, "unit": pl.String, "se": pl.Float64, "ci_low": pl.Float64,
    "ci_high": pl.Float64, "z": pl.Float64, "p_value": pl.Float64, "p_adjusted": pl.Float64,
    "significant": pl.Boolean, "comparable": pl.Boolean, "note": pl.String,
    "base_a": pl.String, "base_b": pl.String,
}


def _edition_of(design: Any) -> int | None:
    for name in ("edition", "year"):
        v = getattr(design, name, None)
        if isinstance(v, int):
            return v
    return None


def comparability(q: Question | None, edition_a: int | None, edition_b: int | None) -> str:
    """Why ``q`` cannot be compared between two editions ("" when it can).

    Not comparable when either edition did not ask it (``q.asked_in``) or a ``history`` entry with
    ``comparable: false`` falls in ``(edition_a, edition_b]``.

    Example:
        >>> comparability(None, 2024, 2025)
        ''
    """
    if q is None or edition_a is None or edition_b is None:
        return ""
    lo, hi = sorted((edition_a, edition_b))
    for e in (lo, hi):
        if not q.asked_in(e):
            return f"'{q.id}' was not asked (comparably) in {e}"
    for h in q.history:
        if lo < h.edition <= hi and not h.comparable:
            why = f": {h.note}" if h.note else ""
            return f"'{q.id}' {h.change} in {h.edition}, not comparable{why}"
    return ""


def estimates(design: Any, var: str, *, lang: str = "zh", where: Where = None) -> pl.DataFrame:
    """Whole-sample (or ``where`` domain) estimates of every option, net and mean of ``var``
    with design SEs; shares 0-1.

    Example:
        >>> estimates(design, "confidence").columns[:3]
        ['question_id', 'row_code', 'row_label']
    """
    b = banner(design, [var], [], test="design", suppress_below=0, flag_below=0, lang=lang,
               where=where)
    return b.to_polars().select("question_id", "row_code", "row_label", "row_kind", "estimate",
                                "se", "n")


def _columns_of(design: Any, var: str) -> set[str]:
    """``{var}`` when every wave column of ``var`` is in the design's frame, else empty."""
    cb = getattr(design, "codebook", None)
    q = cb.questions.get(var) if cb is not None else None
    cols = q.columns() if q is not None else [var]
    return {var} if all(c in design.frame.columns for c in cols) else set()


def _codebook(*designs: Any) -> Codebook | None:
    for d in designs:
        cb = getattr(d, "codebook", None)
        if cb is not None:
            return cb
    return None


def compare_waves(
    design_a: Any,
    design_b: Any,
    var: str | Sequence[str] | None = None,
    *,
    level: str | None = None,
    lang: str = "zh",
    alpha: float = 0.05,
    editions: tuple[int, int] | None = None,
    adjust: Adjust = None,
    where: Where = None,
    unit: str | None = None,
) -> pl.DataFrame:
    """Change from edition A (earlier) to edition B of every option, net and mean.

    ``var``: one question id, a list, or ``None`` for every question both editions asked
    (segment questions aside). Each row is an option/net (``row_kind``) of a question or of a
    grid ``item``; options and items not comparable between the editions (new, dropped or
    reworded: the codebook's ``comparable_codes``/``comparable_items``) are kept with
    ``comparable = False`` and a ``note``, never compared.

    ``se = sqrt(se_a² + se_b²)`` (independent samples), ``ci = change ± z_{1-α/2} se``,
    ``z = change / se``, two-sided normal ``p_value``; ``p_adjusted`` over all the comparable
    rows of the call with ``adjust`` ("bonferroni", "holm" or "BH"; else equal to
    ``p_value``), ``significant`` at ``alpha``. ``where`` filters both waves (a domain of each
    design, as ``banner(where=)``); ``base_a``/``base_b`` say the bases. Shares are 0-1
    (``unit="share"``) except in the one-question form, which keeps points (``"pp"``) unless
    ``unit="share"``. ``editions`` (else the designs' ``edition``) lets the codebook say what is
    comparable.

    Example:
        >>> ch = compare_waves(d24, d25, "confidence", editions=(2024, 2025), unit="share")
        >>> ch.select("row_code", "unit").row(0)
        ('big_decrease', 'share')
        >>> grid = compare_waves(d24, d25, ["media_intent"], adjust="BH")
        >>> grid["item"].drop_nulls().n_unique() > 3
        True
    """
    ea, eb = editions if editions is not None else (_edition_of(design_a), _edition_of(design_b))
    if ea is not None and eb is not None and ea > eb:
        raise EstimationError(
            f"design_a is edition {ea}, later than design_b's {eb}",
            value=f"{ea}, {eb}",
            expected="the earlier edition first: compare_waves(earlier, later, var)",
        )
    if unit not in (None, "share", "pp"):
        raise EstimationError(f"unknown unit {unit!r}", value=str(unit),
                              expected="'share' (0-1) or 'pp' (percentage points)")
    if adjust not in (None, "bonferroni", "holm", "BH"):
        raise EstimationError(f"unknown adjustment {adjust!r}", value=str(adjust),
                              expected="None, 'bonferroni', 'holm' or 'BH'")
    legacy = isinstance(var, str)
    unit = unit or ("pp" if legacy else "share")
    cb = _codebook(design_a, design_b)
    if var is None:
        if cb is None:
            raise EstimationError("compare_waves of every question needs a codebook",
                                  expected="designs with a codebook, or the question ids")
        qids = [q.id for q in cb if not q.segment
                and (ea is None or q.asked_in(ea) or eb is None or q.asked_in(eb))]
    else:
        qids = [var] if legacy else list(var)
    frames = [_compare_one(design_a, design_b, qid, cb, ea, eb, lang, where) for qid in qids]
    out = pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame(
        schema={k: v for k, v in _CHANGE_SCHEMA.items() if k not in _DERIVED})
    scale = 100.0 if unit == "pp" else 1.0
    share = pl.col("row_kind") != "mean"
    zc = float(stats.norm.ppf(1 - alpha / 2))
    out = out.with_columns(
        [pl.when(share).then(pl.col(c) * scale).otherwise(pl.col(c)).alias(c)
         for c in ("estimate_a", "se_a", "estimate_b", "se_b")]
    ).with_columns(
        pl.when(pl.col("comparable")).then(pl.col("estimate_b") - pl.col("estimate_a"))
        .alias("change"),
        pl.when(pl.col("comparable")).then((pl.col("se_a") ** 2 + pl.col("se_b") ** 2).sqrt())
        .alias("se"),
    ).with_columns(
        (pl.col("change") - zc * pl.col("se")).alias("ci_low"),
        (pl.col("change") + zc * pl.col("se")).alias("ci_high"),
        pl.when(pl.col("se") > 0).then(pl.col("change") / pl.col("se")).alias("z"),
        pl.when(share).then(pl.lit(unit)).otherwise(pl.lit("mean")).alias("unit"),
    )
    z = out["z"].to_numpy().astype(float)
    pv = np.where(np.isfinite(z), 2 * stats.norm.sf(np.abs(np.nan_to_num(z))), np.nan)
    padj = _adjust(pv, adjust)
    out = out.with_columns(
        pl.Series("p_value", pv, dtype=pl.Float64).fill_nan(None),
        pl.Series("p_adjusted", padj, dtype=pl.Float64).fill_nan(None),
    ).with_columns((pl.col("p_adjusted") < alpha).fill_null(False).alias("significant"))
    out = out.select([pl.col(c).cast(t) for c, t in _CHANGE_SCHEMA.items()])
    if level is not None:
        out = out.filter(pl.col("row_code") == level)
    return out


_DERIVED = ("change", "unit", "se", "ci_low", "ci_high", "z", "p_value", "p_adjusted",
            "significant")


def _compare_one(design_a: Any, design_b: Any, qid: str, cb: Codebook | None, ea: int | None,
                 eb: int | None, lang: str, where: Where) -> pl.DataFrame:
    """Estimates of both editions of one question, joined by (item, row), with
    comparability per row; the change statistics are added by :func:`compare_waves`."""
    q = cb.questions.get(qid) if cb is not None else None
    note = comparability(q, ea, eb)
    keys = ["question_id", "item", "row_code", "row_kind"]
    got: list[pl.DataFrame | None] = []
    bases: list[str | None] = []
    for d, e in ((design_a, ea), (design_b, eb)):
        if qid not in _columns_of(d, qid) or (q is not None and e is not None
                                               and not q.asked_in(e)):
            got.append(None)
            bases.append(None)
            note = note or f"'{qid}' is not in the wave of {e if e is not None else 'one edition'}"
            continue
        b = banner(d, [qid], [], test="design", suppress_below=0, flag_below=0, lang=lang,
                   where=where)
        got.append(b.to_polars(lang).select(*keys, "row_label", "estimate", "se", "n"))
        bases.append(b.base_text(lang))
    a, b_ = got
    if a is None and b_ is None:
        frame = pl.DataFrame({"question_id": [qid]}, schema={"question_id": pl.String})
    elif a is None or b_ is None:
        one = a if a is not None else b_
        frame = one.select(*keys, "row_label")
    else:
        ra = a.rename({"estimate": "estimate_a", "se": "se_a", "n": "n_a"})
        rb = b_.rename({"estimate": "estimate_b", "se": "se_b", "n": "n_b",
                        "row_label": "_label_b"})
        frame = ra.join(rb, on=keys, how="full", coalesce=True, maintain_order="left",
                        nulls_equal=True)
        frame = frame.with_columns(pl.col("row_label").fill_null(pl.col("_label_b"))).drop(
            "_label_b")
    for c, t in _CHANGE_SCHEMA.items():
        if c not in frame.columns and c not in _DERIVED:
            frame = frame.with_columns(pl.lit(None, t).alias(c))
    ok = pl.lit(not note)
    row_note = pl.lit(note or "")
    if not note and q is not None and ea is not None and eb is not None:
        codes = set(q.comparable_codes(ea, eb)) if q.type in ("single", "multi", "grid") else None
        items = set(q.comparable_items(ea, eb)) if q.type in ("grid", "constant_sum") else None
        code = pl.col("row_code").str.split(":").list.last()
        item_ok = pl.lit(True) if items is None else (
            pl.col("item").is_in(list(items)) if q.type == "grid"
            else pl.col("row_code").is_in(list(items)))
        code_ok = pl.lit(True) if codes is None else (
            code.is_in(list(codes)) | (pl.col("row_kind") == "mean"))
        ok = item_ok & code_ok
        row_note = pl.when(ok).then(pl.lit("")).otherwise(pl.lit(
            f"not asked comparably in {ea} and {eb}"))
    both = pl.col("estimate_a").is_not_null() & pl.col("estimate_b").is_not_null()
    frame = frame.with_columns(
        pl.lit(ea, pl.Int64).alias("edition_a"), pl.lit(eb, pl.Int64).alias("edition_b"),
        (ok & both).fill_null(False).alias("comparable"),
        pl.when(ok & ~both & pl.lit(not note)).then(pl.lit("only in one edition"))
        .otherwise(row_note).alias("note"),
        pl.lit(bases[0], pl.String).alias("base_a"), pl.lit(bases[1], pl.String).alias("base_b"),
    )
    return frame.select([pl.col(c).cast(t) for c, t in _CHANGE_SCHEMA.items()
                         if c not in _DERIVED])


def trend(
    designs: Mapping[int, Any],
    var: str,
    *,
    level: str | None = None,
    lang: str = "zh",
    alpha: float = 0.05,
    where: Where = None,
) -> pl.DataFrame:
    """Estimates of ``var`` in every edition, with the change from the previous comparable one.

    Returns one row per (edition, row_code): ``estimate``/``se`` (0-1 shares, ``unit =
    "share"``; means in their unit, ``"mean"``), ``ci_low``/``ci_high``, ``n``, and
    ``change``/``change_se``/``p_value`` versus the previous edition in ``designs``; ``note``
    says when a question was not asked or not comparable (those rows keep null statistics).
    ``where`` filters every edition (a domain of each design).

    Example:
        >>> t = trend({2024: d24, 2025: d25}, "confidence", level="net_decrease")
        >>> t["edition"].to_list()
        [2024, 2025]
    """
    eds = sorted(designs)
    cb = _codebook(*designs.values())
    q = cb.questions.get(var) if cb is not None else None
    zc = float(stats.norm.ppf(1 - alpha / 2))
    frames = []
    prev: tuple[int, pl.DataFrame] | None = None
    for e in eds:
        if q is not None and not q.asked_in(e):
            frames.append(pl.DataFrame({"edition": [e], "note": [f"'{var}' not asked in {e}"]}))
            continue
        try:
            est = estimates(designs[e], var, lang=lang, where=where)
        except EstimationError as err:  # not in this wave although the codebook says asked
            frames.append(pl.DataFrame({"edition": [e], "note": [f"no estimate in {e}: {err}"]}))
            continue
        est = est.with_columns(
            (pl.col("estimate") - zc * pl.col("se")).alias("ci_low"),
            (pl.col("estimate") + zc * pl.col("se")).alias("ci_high"),
            pl.lit(e, pl.Int64).alias("edition"),
        )
        note = comparability(q, prev[0], e) if prev is not None else ""
        if prev is not None and not note:
            p = prev[1].select("row_code", pl.col("estimate").alias("_pe"),
                               pl.col("se").alias("_ps"))
            est = est.join(p, on="row_code", how="left", maintain_order="left").with_columns(
                (pl.col("estimate") - pl.col("_pe")).alias("change"),
                (pl.col("se") ** 2 + pl.col("_ps") ** 2).sqrt().alias("change_se"),
            ).drop("_pe", "_ps")
        else:
            est = est.with_columns(pl.lit(None, pl.Float64).alias("change"),
                                   pl.lit(None, pl.Float64).alias("change_se"))
        z = (est["change"] / est["change_se"]).to_numpy()
        pv = np.where(np.isfinite(z), 2 * stats.norm.sf(np.abs(np.nan_to_num(z))), np.nan)
        est = est.with_columns(pl.Series("p_value", pv).fill_nan(None),
                               pl.lit(note or None, pl.String).alias("note"))
        frames.append(est)
        prev = (e, est)
    out = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    cols = ["edition", "question_id", "row_code", "row_label", "row_kind", "estimate", "se",
            "ci_low", "ci_high", "n", "change", "change_se", "p_value", "unit", "note"]
    if "row_kind" in out.columns:
        out = out.with_columns(pl.when(pl.col("row_kind") == "mean").then(pl.lit("mean"))
                               .when(pl.col("row_kind").is_not_null()).then(pl.lit("share"))
                               .alias("unit"))
    for c in cols:
        if c not in out.columns:
            out = out.with_columns(pl.lit(None).alias(c))
    out = out.select(cols).with_columns(pl.col("question_id").fill_null(var))
    if level is not None:
        out = out.filter((pl.col("row_code") == level) | pl.col("row_code").is_null())
    return out


def published_trend(
    figures: pl.DataFrame,
    question_id: str,
    option_code: str | None,
    *,
    designs: Mapping[int, Any] | None = None,
    codebook: Codebook | None = None,
    measures: Sequence[str] = ("share", "mean"),
) -> pl.DataFrame:
    """Published figures of one question/option across editions, joined to microdata estimates.

    Unlike the rest of the package this table is in the published figures' unit (percent for
    shares: ``estimate`` is the microdata share × 100) so that ``difference`` reads in points.
    ``figures`` is ``survey.published.load_figures()`` (columns ``edition, figure_id, question_id,
    option_code, measure, value, unit, segment`` …). Whole-sample figures of ``measures`` are kept;
    for editions with a design in ``designs`` the microdata estimate (percent for shares) and its
    SE are added with ``difference = estimate - published``. ``note`` marks editions in which the
    question was not asked comparably (from the codebook) rather than dropping them.

    Example:
        >>> from survey.published import load_figures
        >>> pt = published_trend(load_figures(), "confidence", "net_decrease", designs={2025: d25})
        >>> pt.filter(pl.col("edition") == 2025)["estimate"].is_not_null().all()
        True
    """
    f = figures.filter(pl.col("question_id") == question_id)
    f = f.filter(pl.col("option_code").is_null() | (pl.col("option_code") == "")) \
        if option_code is None else f.filter(pl.col("option_code") == option_code)
    if "segment" in f.columns:
        f = f.filter(pl.col("segment").is_null() | (pl.col("segment") == ""))
    f = f.filter(pl.col("measure").is_in(list(measures)))
    keep = [c for c in ("edition", "figure_id", "measure", "value", "unit", "base") if c in f.columns]
    out = f.select(keep).with_columns(pl.col("edition").cast(pl.Int64),
                                      pl.col("value").cast(pl.Float64).alias("published"))
    eds = set(out["edition"].to_list()) | set((designs or {}).keys())
    cb = codebook or _codebook(*(designs or {}).values())
    q = cb.questions.get(question_id) if cb is not None else None
    rows = []
    for e in sorted(eds):
        est = se = None
        if designs and e in designs and (q is None or q.asked_in(e)):
            m = estimates(designs[e], question_id)
            m = m.filter(pl.col("row_code") == (option_code or "mean"))
            if m.height:
                k = 1.0 if m["row_kind"][0] == "mean" else 100.0
                est = None if m["estimate"][0] is None else m["estimate"][0] * k
                se = None if m["se"][0] is None else m["se"][0] * k
        note = ""
        if q is not None and not q.asked_in(e):
            note = f"'{question_id}' not asked comparably in {e}"
        elif q is not None:
            bad = [h for h in q.history if h.edition == e and not h.comparable]
            if bad:
                note = f"{bad[0].change} in {e}, not comparable with earlier editions" + (
                    f": {bad[0].note}" if bad[0].note else "")
        rows.append({"edition": e, "estimate": est, "se": se, "note": note})
    micro = pl.DataFrame(rows, schema={"edition": pl.Int64, "estimate": pl.Float64,
                                       "se": pl.Float64, "note": pl.String})
    res = micro.join(out, on="edition", how="left", maintain_order="left").with_columns(
        pl.lit(question_id).alias("question_id"),
        pl.lit(option_code, pl.String).alias("option_code"),
        (pl.col("estimate") - pl.col("published")).alias("difference"),
    )
    cols = ["edition", "question_id", "option_code", "figure_id", "measure", "unit", "published",
            "estimate", "se", "difference", "note"]
    for c in cols:
        if c not in res.columns:
            res = res.with_columns(pl.lit(None, pl.String).alias(c))
    return res.select(cols).sort("edition")
