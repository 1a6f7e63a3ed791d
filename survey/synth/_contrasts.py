"""What a published code means on a wave, and the test of a segment contrast; shared by the
generator (which makes contrasts hold) and the fidelity report (which checks them).

* :func:`values`: per-respondent values of a figure (0/1 for shares, the answer for means);
* :func:`contrast_test`: one contrast row, level against the rest;
* :data:`QUADRATIC`: the outcome with an inverted U in a constant-sum item (its peak is the
  published ``optimum``).

Example:
    >>> from survey.codebook import Codebook
    >>> q = Codebook.load()["confidence"]
    >>> frame = pl.DataFrame({"confidence": ["big_increase", "small_decrease", None]})
    >>> values(frame, q, "net_decrease", "share").tolist()
    [0.0, 1.0, nan]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from survey.codebook import Codebook, Question

ALPHA = 0.05
#: ordered outcome -> constant-sum "question:item" whose published ``optimum`` is its peak
QUADRATIC: Mapping[str, str] = {"market_share_change": "budget_split:brand"}


# -- what a code means on a wave -----------------------------------------------------------------
def _members(q: Question, code: str) -> tuple[str, ...]:
    return q.net_members(code) if code in {n.code for n in q.nets} else (code,)


def values(frame: pl.DataFrame, q: Question, code: str | None, measure: str) -> np.ndarray | None:
    """Per-respondent values of a figure: 0/1 indicator for shares, the value for means.

    Missing answers are NaN. ``None`` when the code does not resolve onto the question.
    """
    code = code or ""
    if q.type == "numeric":
        x = frame[q.id].cast(pl.Float64).to_numpy().astype(float)
        if measure == "mean":
            return x
        if code.startswith("range:"):
            _, lo, hi = ([*code.split(":"), "", ""])[:3]
            lo_v = float(lo) if lo else -math.inf
            hi_v = float(hi) if hi else math.inf
            return np.where(np.isnan(x), np.nan, ((x >= lo_v) & (x <= hi_v)).astype(float))
        return None
    if q.type == "constant_sum":
        col = f"{q.id}__{code}"
        return (
            frame[col].cast(pl.Float64).to_numpy().astype(float) if col in frame.columns else None
        )
    item = ""
    if q.type == "grid":
        item, _, code = code.partition(":")
    if q.type == "multi":
        cols = [f"{q.id}__{c}" for c in _members(q, code)] if code else []
        if not cols or any(c not in frame.columns for c in cols):
            return None
        # a net over options some edition did not ask: its asked members (all-null columns out)
        cols = [c for c in cols if frame[c].null_count() < frame.height] or cols
        x = frame.select(pl.any_horizontal(cols)).to_series()
        return x.cast(pl.Float64).to_numpy().astype(float)
    col = q.id if q.type == "single" else f"{q.id}__{item}"
    if col not in frame.columns:
        return None
    s = frame[col].cast(pl.String)
    if measure == "mean" and not code:
        score = {o.code: o.score for o in q.options}
        return np.array(
            [np.nan if v is None or score.get(v) is None else score[v] for v in s], float
        )
    if code not in q.all_codes():
        return None
    mem = set(_members(q, code))
    return np.array([np.nan if v is None else float(v in mem) for v in s], float)


def _avg(x: np.ndarray, w: np.ndarray | None, dom: np.ndarray | None = None) -> float:
    ok = ~np.isnan(x)
    if dom is not None:
        ok &= dom
    if not ok.any():
        return math.nan
    return float(np.average(x[ok], weights=None if w is None else w[ok]))


# -- contrasts -----------------------------------------------------------------------------------
def contrast_test(
    frame: pl.DataFrame,
    codebook: Codebook,
    row: Mapping[str, Any],
    weights: np.ndarray | None = None,
) -> dict[str, Any] | None:
    """Test one contrast row (level vs the rest): difference, direction, p-value, raked direction.

    ``weights`` default to the frame's weight column (raked direction = unweighted if none); the
    fidelity report passes the standard raking weights (:func:`report_weights`).
    """
    qid = row.get("question_id")
    if qid not in codebook or row.get("segment_variable") not in frame.columns:
        return None
    q = codebook[qid]
    measure = row.get("measure") or "share"
    x = values(frame, q, row.get("option_code"), measure)
    if x is None:
        return None
    levels = [s.strip() for s in str(row["level"]).replace(",", "|").split("|")]
    inside = frame[row["segment_variable"]].cast(pl.String).is_in(levels).fill_null(False)
    inside = inside.to_numpy()
    if weights is None and codebook.weight_column in frame.columns:
        weights = frame[codebook.weight_column].to_numpy().astype(float)
    a, b = x[inside & ~np.isnan(x)], x[~inside & ~np.isnan(x)]
    if len(a) < 2 or len(b) < 2:
        return None
    sign = 1.0 if row.get("direction") == "higher" else -1.0
    diff = float(a.mean() - b.mean())
    if measure == "share":
        p_pool = (a.sum() + b.sum()) / (len(a) + len(b))
        se = math.sqrt(max(p_pool * (1 - p_pool), 1e-12) * (1 / len(a) + 1 / len(b)))
        p_value = float(2 * stats.norm.sf(abs(diff) / se))
    else:
        p_value = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    diff_w = diff
    if weights is not None:
        diff_w = _avg(x, weights, inside) - _avg(x, weights, ~inside)
    scale = 100.0 if measure == "share" else 1.0
    return {
        "diff": diff * scale,
        "diff_raked": diff_w * scale,
        "p_value": p_value,
        "holds": sign * diff > 0,
        "holds_raked": sign * diff_w > 0,
        "n_level": len(a),
    }
