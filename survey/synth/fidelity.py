"""How faithfully a wave reproduces the published figures and contrasts.

:func:`fidelity_report` recomputes every published figure of the wave's edition on the wave,
unweighted and with the standard raking weights, and says whether it passes and by which rule:

* ``share``: rounds to the published whole percent (``|estimate - published| <= 0.5``);
* ``mean``: within 0.5 points;
* ``rank``: the option's rank by share among the question's options (or a grid option's rank
  among items) equals the published rank;
* ``count``: the sample size (or the number of options of a question) equals the published count;
* ``change``: estimate minus the earlier edition's published figure within 1 point of the change;
* ``optimum``: a quadratic fit of the outcome the generator ties to it peaks within 8 points;
* anything else (ratios, references): not a statistic of the respondents, not checked.

Contrasts are tested level against the rest (two-proportion z test for shares, Welch t test for
means): they pass when the direction holds unweighted and raked and p < 0.05.

The same code runs on a real wave. Example:
    >>> from survey.synth import fidelity_report, synthesize
    >>> rep = fidelity_report(synthesize(2023))
    >>> rep.filter(pl.col("passed") == False).height
    0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from survey.codebook import Codebook, Question
from survey.synth._contrasts import ALPHA, QUADRATIC, _avg, contrast_test, values

__all__ = ["ALPHA", "contrast_test", "fidelity_report", "report_weights", "values"]

SHARE_TOL = 0.5
MEAN_TOL = 0.5
CHANGE_TOL = 1.0


# -- weights ----------------------------------------------------------------------------------------
def report_weights(
    wave: Any,
    codebook: Codebook,
    edition: int,
    margins: Mapping[str, Mapping[str, float]] | None = None,
) -> np.ndarray | None:
    """The weights of the ``raked`` estimates: the standard raking weights of the wave.

    With ``margins=None`` these are exactly :func:`survey.weighting.standard_design`'s weights
    (the edition's margins in ``data/weighting.yaml``, the weights every analysis uses); explicit
    ``margins`` rake the same way (:func:`survey.weighting.raked_design`). Without margins, the
    wave's weight column, else ``None`` (raked = unweighted).
    """
    from survey.wave import Wave
    from survey.weighting import margin_editions, raked_design, standard_design

    frame = wave.frame if hasattr(wave, "frame") else wave
    if margins is None and edition in margin_editions():
        w = wave if isinstance(wave, Wave) else Wave(frame, edition, codebook)
        return np.asarray(standard_design(w).weights, float)
    start = codebook.weight_column if codebook.weight_column in frame.columns else None
    if margins:
        design = raked_design(frame, dict(margins), codebook=codebook, weights=start)
        return np.asarray(design.weights, float)
    return None if start is None else frame[start].cast(pl.Float64).to_numpy()


def _domain(frame: pl.DataFrame, segment: object) -> np.ndarray | None:
    if segment is None or not str(segment).strip():
        return None
    var, _, levels = str(segment).partition("=")
    parts = [p.strip() for p in levels.replace(",", "|").split("|") if p.strip()]
    if var.strip() not in frame.columns:
        return np.zeros(frame.height, bool)
    return frame[var.strip()].cast(pl.String).is_in(parts).fill_null(False).to_numpy()


# -- the report ------------------------------------------------------------------------------------
def _figure_row(
    frame: pl.DataFrame,
    cb: Codebook,
    r: Mapping[str, Any],
    w: np.ndarray | None,
    figures: pl.DataFrame,
    previous: Mapping[int, tuple[pl.DataFrame, np.ndarray | None]] | None = None,
) -> tuple[float | None, float | None, str, bool | None]:
    measure, v = r["measure"], r["value"]
    qid, code = r["question_id"], r["option_code"]
    if measure == "count":
        if qid is None:
            if "sample" in str(r["figure_id"]):
                return frame.height, frame.height, "sample size equals the count", frame.height == v
            return None, None, "not a statistic of the respondents", None
        if qid in cb:
            q = cb[qid]
            k = len(q.codes(r["edition"]) or q.item_codes(r["edition"]))  # the edition's
            return k, k, "number of options in the codebook equals the count", k == v
    if (
        qid is None
        or qid not in cb
        or measure not in ("share", "mean", "rank", "change", "optimum")
    ):
        return None, None, "not a statistic of the respondents", None
    q = cb[qid]
    if not all(c in frame.columns for c in q.columns(r["edition"])):
        return None, None, "question not in the wave", None
    dom = _domain(frame, r["segment"])
    if measure == "rank":
        ed = r["edition"]
        u, rw = _rank(frame, q, code, None, ed), _rank(frame, q, code, w, ed)
        if u is None:
            return None, None, "option does not resolve", None
        ok = u == v and (rw is None or rw == v)
        return u, rw, "rank by share among the question's options", ok
    if measure == "optimum":
        return _optimum(frame, cb, q, code, v, w)
    base_measure = (
        "mean"
        if measure == "mean"
        or (q.type in ("numeric", "constant_sum") and not (code or "").startswith("range:"))
        else "share"
    )
    if measure == "change":
        prev = figures.filter(
            (pl.col("edition") == r["compare_edition"])
            & (pl.col("question_id") == qid)
            & (pl.col("option_code").fill_null("") == (code or ""))
            & pl.col("measure").is_in(["share", "mean"])
            & (pl.col("segment").fill_null("") == (r["segment"] or ""))
        )
        if prev.is_empty():
            earlier = (previous or {}).get(r["compare_edition"])
            if earlier is None:
                return None, None, "earlier edition's figure not published", None
            return _wave_change(frame, w, earlier, q, r)
        base_measure = prev["measure"][0]
    x = values(frame, q, code, base_measure)
    if x is None:
        return None, None, "code does not resolve onto the question", None
    scale = 100.0 if base_measure == "share" else 1.0
    u = _avg(x, None, dom) * scale
    rw = _avg(x, w, dom) * scale if w is not None else u
    if measure == "change":
        p = float(prev["value"][0])
        u, rw = u - p, rw - p
        ok = abs(u - v) <= CHANGE_TOL and abs(rw - v) <= CHANGE_TOL
        return u, rw, f"estimate minus published {r['compare_edition']} within {CHANGE_TOL}", ok
    tol = SHARE_TOL if base_measure == "share" else MEAN_TOL
    rule = "rounds to the published percent" if base_measure == "share" else f"within {tol}"
    ok = abs(u - v) <= tol + 1e-9 and abs(rw - v) <= tol + 1e-9
    return u, rw, rule, ok


def _wave_change(
    frame: pl.DataFrame,
    w: np.ndarray | None,
    earlier: tuple[pl.DataFrame, np.ndarray | None],
    q: Question,
    r: Mapping[str, Any],
) -> tuple[float | None, float | None, str, bool | None]:
    """A published change whose levels are unpublished: this wave minus the earlier edition's
    wave (each unweighted, and with its own standard weights) within ``CHANGE_TOL``."""
    code = r["option_code"]
    measure = "mean" if not code or q.type in ("numeric", "constant_sum") else "share"
    x, y = values(frame, q, code, measure), values(earlier[0], q, code, measure)
    if x is None or y is None:
        return None, None, "code does not resolve onto both waves", None
    scale = 100.0 if measure == "share" else 1.0
    dom, dom_e = _domain(frame, r["segment"]), _domain(earlier[0], r["segment"])
    u = (_avg(x, None, dom) - _avg(y, None, dom_e)) * scale
    rw = (_avg(x, w, dom) - _avg(y, earlier[1], dom_e)) * scale
    v = r["value"]
    ok = abs(u - v) <= CHANGE_TOL and abs(rw - v) <= CHANGE_TOL
    return u, rw, f"this wave minus the {r['compare_edition']} wave within {CHANGE_TOL}", ok


def _rank(
    frame: pl.DataFrame,
    q: Question,
    code: str | None,
    w: np.ndarray | None,
    edition: int | None = None,
) -> int | None:
    """Rank by share of ``code`` among the options (grid: items) ``edition`` asked."""
    code = code or ""
    if q.type == "grid":
        _item, _, opt = code.partition(":")
        keys = [f"{it}:{opt}" for it in q.item_codes(edition)]
        target = code
    else:
        keys, target = q.codes(edition), code
    if target not in keys:
        return None
    shares = {}
    for k in keys:
        x = values(frame, q, k, "share")
        if x is None:
            return None
        shares[k] = _avg(x, w)
    return 1 + sum(s > shares[target] + 1e-12 for s in shares.values())


def _optimum(
    frame: pl.DataFrame,
    cb: Codebook,
    q: Question,
    code: str | None,
    v: float,
    w: np.ndarray | None,
) -> tuple[float | None, float | None, str, bool | None]:
    """Unweighted: a quadratic least-squares fit of the outcome's scores. Weighted: the report's
    model (``survey.models.brand_split.fit``, logistic in the share and its square with
    controls) on the standard weights; it passes when the published optimum lies inside that
    model's 95% (delta-method) interval and the curve is concave."""
    from survey.models import brand_split

    items = q.item_codes()
    for outcome, src in QUADRATIC.items():
        qid, _, item = src.partition(":")
        if qid != q.id or outcome not in cb or outcome not in frame.columns:
            continue
        total = q.total or 100.0
        flip = code != item
        if flip and not (len(items) == 2 and code in items):
            continue
        s = frame[f"{qid}__{item}"].cast(pl.Float64).to_numpy() / total
        score = {o.code: o.score for o in cb[outcome].options}
        y = np.array([score.get(c, np.nan) for c in frame[outcome].cast(pl.String)], float)
        ok = ~np.isnan(y) & ~np.isnan(s)
        b2, b1, _ = np.polyfit(s[ok], y[ok], 2)
        unweighted = float(-b1 / (2 * b2) * total) if b2 < 0 else None
        weighted = frame.with_columns(pl.Series("__w", np.ones(frame.height) if w is None else w))
        model = brand_split.fit(
            weighted, outcome=outcome, share=f"{qid}__{item}", weights="__w", bootstrap=0
        )
        opt, (lo, hi) = model.optimum * total, (c * total for c in model.ci_delta)
        if flip:
            unweighted = None if unweighted is None else total - unweighted
            opt, lo, hi = total - opt, total - hi, total - lo
        return (
            unweighted,
            opt,
            "the report's weighted model puts the published optimum inside its 95% CI",
            bool(lo <= v <= hi),
        )
    return None, None, "no model ties an outcome to this optimum", None


def fidelity_report(
    wave: Any,
    figures: pl.DataFrame | None = None,
    contrasts: pl.DataFrame | None = None,
    *,
    codebook: Codebook | None = None,
    edition: int | None = None,
    margins: Mapping[str, Mapping[str, float]] | None = None,
    previous: Mapping[int, Any] | None = None,
) -> pl.DataFrame:
    """Every published figure and contrast of the wave's edition: published vs the wave.

    Columns: ``edition, kind (figure|contrast), figure_id, question_id, option_code, measure,
    segment, published, unweighted, raked, rule, passed, p_value``. ``passed`` is null when the
    figure is not a statistic of the respondents.

    ``previous`` maps editions to their waves: a published change whose two levels are not
    published is then checked as this wave minus the earlier edition's wave (each with its own
    standard weights); without it such a change is not checkable on one wave.

    Example:
        >>> from survey.io import load_wave
        >>> rep = fidelity_report(load_wave(2024), previous={2023: load_wave(2023)})
        >>> rep.filter(pl.col("passed").not_()).height, rep.filter(pl.col("passed")).height
        (0, 17)
        >>> live = rep.filter(pl.col("figure_id") == "internet_resources_live_streaming_change")
        >>> live["published"].item(), round(live["unweighted"].item())
        ('-20.0', -20)
    """
    from survey.synth.targets import normalize_figures

    frame = wave.frame if hasattr(wave, "frame") else wave
    cb = codebook or getattr(wave, "codebook", None) or Codebook.load()
    ed = int(edition if edition is not None else wave.edition)
    figures, contrasts = _published(figures, contrasts)
    figures = normalize_figures(figures)
    w = report_weights(wave, cb, ed, margins)
    earlier = {
        int(e): (p.frame, report_weights(p, cb, int(e)))
        for e, p in (previous or {}).items()
        if int(e) != ed
    }
    rows = []
    for r in figures.filter(pl.col("edition") == ed).iter_rows(named=True):
        u, rw, rule, ok = _figure_row(frame, cb, r, w, figures, earlier)
        rows.append(
            {
                "edition": ed,
                "kind": "figure",
                "figure_id": r["figure_id"],
                "question_id": r["question_id"],
                "option_code": r["option_code"],
                "measure": r["measure"],
                "segment": r["segment"],
                "published": str(r["value"]),
                "unweighted": None if u is None else float(u),
                "raked": None if rw is None else float(rw),
                "rule": rule,
                "passed": ok,
                "p_value": None,
            }
        )
    cons = contrasts if contrasts is not None else pl.DataFrame()
    if not cons.is_empty():
        cons = cons.filter(pl.col("edition").cast(pl.Int64, strict=False) == ed)
    for r in cons.iter_rows(named=True):
        res = contrast_test(frame, cb, r, w)
        ok = (
            None
            if res is None
            else bool(res["holds"] and res["holds_raked"] and res["p_value"] < ALPHA)
        )
        rows.append(
            {
                "edition": ed,
                "kind": "contrast",
                "figure_id": r.get("contrast_id"),
                "question_id": r["question_id"],
                "option_code": r.get("option_code"),
                "measure": r.get("measure"),
                "segment": f"{r['segment_variable']}={r['level']}",
                "published": r["direction"],
                "unweighted": None if res is None else res["diff"],
                "raked": None if res is None else res["diff_raked"],
                "rule": f"level vs rest: {r['direction']}, p < {ALPHA}",
                "passed": ok,
                "p_value": None if res is None else res["p_value"],
            }
        )
    schema = {
        "edition": pl.Int64,
        "kind": pl.String,
        "figure_id": pl.String,
        "question_id": pl.String,
        "option_code": pl.String,
        "measure": pl.String,
        "segment": pl.String,
        "published": pl.String,
        "unweighted": pl.Float64,
        "raked": pl.Float64,
        "rule": pl.String,
        "passed": pl.Boolean,
        "p_value": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def _published(
    figures: pl.DataFrame | None, contrasts: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Default figures/contrasts: ``survey.published`` when it exists, else the CSV files."""
    if figures is not None:
        return figures, contrasts
    from survey.synth import load_published

    f, c = load_published()
    return f, contrasts if contrasts is not None else c
