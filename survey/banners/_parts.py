"""What the banner needs from a Design: frame, final weights, codebook and variance primitive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from survey.codebook import Codebook
from survey.design import variance as V
from survey.errors import EstimationError


# ---------------------------------------------------------------------------------------------
# What the banner needs from a Design
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Parts:
    """The pieces of a design the banner uses: frame, final weights, codebook and variance.

    ``vcov(Z)`` is the design's primitive (``Design._vcov_totals``): the covariance of the
    estimated totals ``Σ_i Z[i, k]`` of *weighted* influence columns. ``st``/``cal`` are the
    design's sampling structure and raking calibration, used by the aggregated path.
    """

    frame: pl.DataFrame
    w: np.ndarray
    codebook: Codebook | None
    vcov: Callable[[np.ndarray], np.ndarray]
    st: V.Structure
    cal: V.Calibration | None
    df: float
    subset: np.ndarray | None = None  # Design.subset(): the rows of the domain
    #: (mask, Z) -> vcov of Z in the domain ``mask`` (R's svyby: each domain a subset), when
    #: the design's lonely-PSU rule makes a domain's variance differ from the full design's
    domain_vcov: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None


def _weights_of(design: Any, frame: pl.DataFrame) -> np.ndarray:
    """Final (calibrated) weights of ``design`` as a float array."""
    wt = getattr(design, "weights", None)
    if isinstance(wt, str):
        return frame[wt].cast(pl.Float64).to_numpy()
    if isinstance(wt, pl.Series | np.ndarray | list):
        return np.asarray(wt, dtype=float)
    return np.ones(frame.height)


def _parts(design: Any) -> _Parts:
    """Adapt a :class:`survey.design.Design` (or any object with ``frame``, ``weights`` and
    optionally ``strata``/``ids`` column names) to :class:`_Parts`."""
    frame = getattr(design, "frame", None)
    if not isinstance(frame, pl.DataFrame):
        raise EstimationError(
            "banner needs a Design", value=type(design).__name__, expected="survey.Design")
    w = _weights_of(design, frame)
    cb = getattr(design, "codebook", None)
    st = getattr(design, "_st", None)
    subset = None
    domain_vcov = None
    if isinstance(st, V.Structure):
        cal = getattr(design, "_cal_active", None)
        vcov = design._vcov_totals
        df = float(design.degf)
        subset = getattr(design, "_subset", None)
        if subset is not None:  # a subset: full-sample weights, the domain as a mask
            w = np.asarray(design._w, dtype=float)
        if getattr(st, "lonely_psu", "fail") in ("adjust", "average") and \
                callable(getattr(design, "subset", None)):
            def domain_vcov(mask: np.ndarray, Z: np.ndarray, _d: Any = design) -> np.ndarray:
                return np.asarray(_d.subset(mask)._vcov_totals(Z))
    else:  # a light stand-in (tests): strata / ids given as column names
        cols = {k: getattr(design, k, None) for k in ("strata", "ids")}
        arr = {k: None if c is None else frame[c].to_numpy() for k, c in cols.items()}
        st = V.make_structure(arr["strata"], arr["ids"], None, frame.height)
        cal = None

        def vcov(Z: np.ndarray, _st: V.Structure = st) -> np.ndarray:
            return V.vcov_totals(Z, _st, None)

        df = float(st.n_psus - st.n_strata)
    return _Parts(frame, w, cb, vcov, st, cal, df, subset, domain_vcov)
