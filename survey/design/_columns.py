"""Reading estimand columns out of a polars frame: values, validity masks and level codes.

Shared by the design, its estimators, ``glm`` and ``tests`` (no module imports them back from
``design.py``). Every refusal is a :class:`survey.errors.SurveyError` naming the column.

* :func:`_column`: the column, or an error listing near names;
* :func:`_numeric`: float values (0 where missing), validity and whether the column is binary
  (Boolean, or integer / float holding only 0 and 1: those take the fast binary path);
* :func:`_level_codes`: integer codes (-1 for missing) and labels of a categorical-like column.

Example:
    >>> import polars as pl
    >>> y, a, binary = _numeric(pl.DataFrame({"q": [0, 1, None, 1]}), "q")
    >>> y.tolist(), a.tolist(), binary
    ([0, 1, 0, 1], [True, True, False, True], True)
"""

from __future__ import annotations

import difflib

import numpy as np
import polars as pl

from survey.errors import EstimationError, WeightingError


def _column(frame: pl.DataFrame, var: str, role: str = "variable") -> pl.Series:
    """The column ``var`` of ``frame``; an :class:`EstimationError` naming close names if absent."""
    if not isinstance(var, str) or var not in frame.columns:
        near = difflib.get_close_matches(str(var), frame.columns, n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in near)}?)" if near else ""
        raise EstimationError(f"unknown {role} '{var}'; expected a column of the frame{hint}",
                              column=str(var), expected="a column of the frame")
    return frame[var]


def _binary_array(y: np.ndarray) -> np.ndarray | None:
    """``uint8`` copy of ``y`` if every value is 0 or 1 (a head is looked at first), else ``None``."""
    if y.dtype.kind in "iu":
        if len(y) and (y.min() < 0 or y.max() > 1):
            return None
        return y.astype(np.uint8)
    head = y[:1024]
    if not np.all((head == 0.0) | (head == 1.0)) or not np.all((y == 0.0) | (y == 1.0)):
        return None
    return y.astype(np.uint8)


def _numeric(frame: pl.DataFrame, var: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Values (0 where missing), validity mask and whether the column is binary (0/1 only).

    Boolean columns and numeric columns whose valid values are all 0 or 1 are binary: their
    values come back as ``uint8`` and the estimators use one weighted count per bin for them.
    NaN counts as missing; infinite values are refused.
    """
    s = _column(frame, var)
    if not (s.dtype.is_numeric() or s.dtype == pl.Boolean):
        raise EstimationError(f"variable '{var}' is {s.dtype}; expected a numeric or Boolean "
                              "column (use proportion() for categorical questions)", column=var)
    if s.dtype == pl.Boolean:
        if s.null_count() == 0:
            return s.to_numpy().view(np.uint8), np.ones(len(s), bool), True
        return (s.fill_null(False).to_numpy().view(np.uint8), s.is_not_null().to_numpy(),
                True)
    if s.null_count() == 0 and s.dtype in (pl.Float64, pl.Int64, pl.Int32, pl.Float32):
        y = s.to_numpy()
        if y.dtype.kind in "iu" or np.isfinite(y).all():  # the common case: one pass
            yb = _binary_array(y)
            if yb is not None:
                return yb, np.ones(len(y), bool), True
            return y.astype(np.float64, copy=False), np.ones(len(y), bool), False
    if s.dtype.is_float():
        s = s.fill_nan(None)
    nulls = s.null_count()
    a = np.ones(len(s), bool) if nulls == 0 else s.is_not_null().to_numpy()
    full = s if nulls == 0 else s.fill_null(0)
    yb = _binary_array(full.to_numpy()) if full.len() else None
    if yb is not None:
        return yb, a, True
    y = full.cast(pl.Float64).to_numpy()
    if not np.all(np.isfinite(y)):
        raise EstimationError(f"variable '{var}' has infinite values; expected finite numbers",
                              column=var)
    return y, a, False


def _level_codes(frame: pl.DataFrame, var: str, for_what: str,
                 allow_null: bool = False) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 for null) and level labels of a categorical-like column."""
    s = _column(frame, var)
    if s.null_count() and not allow_null:
        raise WeightingError(f"variable '{var}' has {s.null_count()} missing values; expected "
                             f"a level for every respondent for {for_what}", column=var)
    if isinstance(s.dtype, pl.Enum):
        phys = s.to_physical()
        codes = (phys.to_numpy().astype(np.int64) if phys.null_count() == 0
                 else phys.cast(pl.Int64).fill_null(-1).to_numpy())
        return codes, s.dtype.categories.to_list()
    if isinstance(s.dtype, pl.Categorical):
        s = s.cast(pl.String)
    if s.dtype == pl.Boolean:
        return s.cast(pl.Int64).fill_null(-1).to_numpy(), ["false", "true"]
    if s.dtype.is_integer() and s.null_count() == 0 and s.len():
        lo, hi = int(s.min()), int(s.max())
        if hi - lo < 4 * s.len() + 1024:  # dense integer codes without sorting strings
            v = s.to_numpy().astype(np.int64) - lo
            present = np.bincount(v, minlength=hi - lo + 1) > 0
            remap = np.cumsum(present) - 1
            levels = (np.flatnonzero(present) + lo).tolist()
            return remap[v], [str(x) for x in levels]
    levels = s.drop_nulls().unique().sort()
    if s.dtype == pl.String:  # sorted Enum: its physical codes are the level codes
        codes = s.cast(pl.Enum(levels.to_list())).to_physical().cast(pl.Int64)
        return codes.fill_null(-1).to_numpy(), levels.to_list()
    codes = s.replace_strict(levels, list(range(len(levels))), default=-1,
                             return_dtype=pl.Int64).to_numpy()
    return codes, [str(v) for v in levels.to_list()]
