"""Model matrices of the brand-split fit: outcome, brand share, controls, weights; the ``s`` basis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from survey.design import Design
from survey.errors import EmptySegmentError, ModelError
from survey.models._base import domain

Family = Literal["binomial", "gaussian", "ordinal"]

#: outcome code counted as "gained market share"
GAIN_CODE = "increase"
#: order of the market-share change codes (used when the column is not an Enum)
OUTCOME_ORDER = ("decrease", "flat", "increase")
#: option of ``budget_cut_response`` meaning "cut brand spend, add performance spend"
CUT_BRAND_COLUMN = "budget_cut_response__brand_to_performance"


@dataclass(frozen=True, eq=False)
class Prepared:
    """Model matrices: outcome ``y``, brand share ``s``, controls ``C``, design weights ``w``."""

    y: np.ndarray
    s: np.ndarray
    C: np.ndarray
    control_names: tuple[str, ...]
    w: np.ndarray
    family: Family
    frame: pl.DataFrame  # the rows used, same order
    rows: np.ndarray  # their positions in the design's frame
    levels: tuple[str, ...] = ()  # ordered outcome categories (ordinal family)


def _dummies(col: pl.Series, min_level_n: int) -> tuple[np.ndarray, list[str]]:
    """Treatment dummies of a categorical column; levels rarer than ``min_level_n`` are pooled."""
    values = col.cast(pl.String).to_numpy().astype(object)
    levels, counts = np.unique(values, return_counts=True)
    keep = [lv for lv, c in zip(levels, counts, strict=True) if c >= min_level_n]
    pooled = np.array([v if v in keep else "_other" for v in values], dtype=object)
    levels, counts = np.unique(pooled, return_counts=True)
    if levels.size < 2:
        return np.zeros((values.size, 0)), []
    ref = levels[np.argmax(counts)]  # most frequent level is the reference
    others = [lv for lv in levels if lv != ref]
    mat = np.column_stack([(pooled == lv).astype(float) for lv in others])
    return mat, [f"{col.name}[{lv}]" for lv in others]


def prepare(
    design: Design,
    *,
    outcome: str = "market_share_change",
    share: str = "budget_split__brand",
    controls: Sequence[str] = ("industry", "budget_size"),
    min_level_n: int = 10,
    where: Any = None,
    outcome_model: Literal["binary", "ordinal"] = "binary",
) -> Prepared:
    """Rows of the design with an outcome and a share; ``s`` rescaled to [0, 1] when in percent.

    A categorical outcome is binary "gained share" (``increase`` vs the rest) or, with
    ``outcome_model="ordinal"``, its ordered categories (the Enum's order, else
    :data:`OUTCOME_ORDER`); Boolean is binary and numeric gaussian. Control levels with fewer than ``min_level_n`` respondents
    are pooled into ``_other`` (a 30-level industry variable cannot be estimated from 228 rows).
    ``where`` keeps a domain (:func:`survey.models._base.domain`: an expression,
    ``{variable: levels}``, ``"var=a,b"``, SQL or a mask; a design's own subset too). Rows left
    out stay in the design for the variance (a domain).
    """
    frame = design.frame
    missing = [c for c in (outcome, share, *controls) if c not in frame.columns]
    if missing:
        raise ModelError(f"columns not in the data: {missing}", expected="codebook column ids")
    cols = [outcome, share, *controls]
    df = frame.with_row_index("_row_")
    df = df.filter(pl.Series(domain(design, where)[1]))  # Design.subset: a domain
    df = df.drop_nulls(cols)
    rows = df["_row_"].to_numpy().astype(np.int64)
    df = df.drop("_row_")
    if df.height == 0:
        raise EmptySegmentError("no respondent answers both the outcome and the budget split")
    dtype = df.schema[outcome]
    levels: tuple[str, ...] = ()
    if dtype.is_numeric() and dtype != pl.Boolean:
        y = df[outcome].cast(pl.Float64).to_numpy()
        family: Family = "gaussian"
    elif dtype == pl.Boolean:
        y = df[outcome].cast(pl.Float64).to_numpy()
        family = "binomial"
    else:
        codes = df[outcome].cast(pl.String)
        if GAIN_CODE not in set(codes.to_list()):
            raise ModelError(f"no respondent has {outcome} == {GAIN_CODE!r}", column=outcome)
        y = (codes == GAIN_CODE).cast(pl.Float64).to_numpy()
        family = "binomial"
        if outcome_model == "ordinal":
            order = (dtype.categories.to_list() if isinstance(dtype, pl.Enum)
                     else list(OUTCOME_ORDER))
            levels = tuple(c for c in order if c in set(codes.to_list()))
            unknown = set(codes.to_list()) - set(order)
            if unknown or len(levels) < 3 or levels[-1] != GAIN_CODE:
                raise ModelError(f"{outcome}: cannot order the categories {sorted(set(codes))}",
                                 column=outcome, expected=f"ordered codes ending in {GAIN_CODE!r}")
            y = codes.replace_strict(list(levels), list(range(len(levels))),
                                     return_dtype=pl.Float64).to_numpy()
            family = "ordinal"
    s = df[share].cast(pl.Float64).to_numpy()
    if np.nanmax(s) > 1.0 + 1e-9:
        s = s / 100.0
    mats, names = [], []
    for c in controls:
        if df.schema[c].is_numeric() and df.schema[c] != pl.Boolean:
            v = df[c].cast(pl.Float64).to_numpy()
            mats.append((v - v.mean())[:, None])
            names.append(c)
        else:
            m, nm = _dummies(df[c], min_level_n)
            mats.append(m)
            names.extend(nm)
    C = np.column_stack(mats) if mats else np.zeros((df.height, 0))
    w = np.asarray(design.weights, dtype=float)[rows]
    return Prepared(y, s, C, tuple(names), w, family, df, rows, levels)


def rcs_knots(s: np.ndarray, n_knots: int = 4) -> np.ndarray:
    """Harrell's default knot quantiles for a restricted cubic spline (3-5 knots)."""
    probs = {3: (0.10, 0.5, 0.90), 4: (0.05, 0.35, 0.65, 0.95), 5: (0.05, 0.275, 0.5, 0.725, 0.95)}
    if n_knots not in probs:
        raise ModelError(f"n_knots must be 3, 4 or 5, got {n_knots}")
    knots = np.quantile(s, probs[n_knots])
    if np.unique(knots).size < n_knots:
        raise ModelError("the brand share takes too few distinct values for a spline")
    return knots


def basis(s: np.ndarray, model: str, knots: np.ndarray | None = None) -> np.ndarray:
    """The ``s`` columns: ``[s, s²]`` (quadratic) or restricted cubic spline columns."""
    s = np.asarray(s, dtype=float)
    if model == "quadratic":
        return np.column_stack([s, s**2])
    if model != "spline":
        raise ModelError(f"model must be 'quadratic' or 'spline', got {model!r}")
    t = np.asarray(knots)
    k = t.size
    cols = [s]
    scale = (t[-1] - t[0]) ** 2
    pos = lambda x: np.clip(x, 0, None) ** 3  # noqa: E731
    for j in range(k - 2):
        c = (
            pos(s - t[j])
            - pos(s - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
            + pos(s - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2])
        )
        cols.append(c / scale)
    return np.column_stack(cols)
