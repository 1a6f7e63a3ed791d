"""Calibration (GREG) and post-stratification, as R's ``calibrate()`` and ``postStratify()``.

``calibrate(design, population, calfun, bounds)`` finds ratios ``g`` so that the calibrated
weights ``g w`` reproduce the population totals of the model matrix ``X`` built from
``population`` (``sum g w x = T``), with ``g = 1 + F(x'eta)``:

* ``"linear"``: ``F(u) = u`` (GREG; without bounds one closed-form step, R's ``regcalibrate``);
* ``"raking"``: ``F(u) = exp(u) - 1`` (multiplicative raking on every margin at once);
* ``"logit"``: R's ``cal.logit``, ``g`` kept strictly inside finite ``bounds=(L, U)``;

``bounds`` truncate ``g`` (``linear``/``raking``, R's ``bounds``). The iteration is R's
``grake`` (Newton steps with a generalized inverse, step halving, the rescaling of weights when
every population total is > 20 times the sample's). The variance is R's for a
``greg_calibration``: influence values ``z`` are replaced by ``a * qr.resid(X sqrt(w), z / a)``
with ``a = g sqrt(w)`` before the usual strata/PSU formula; here that projection is a
:class:`GregCalibration` over cells of rows sharing covariates and prior weight, so every
estimator of :class:`~survey.design.Design` (``mean``, ``total``, ``proportion``, ``by``,
``glm``, ``chisq``) is calibration-aware.

``population`` maps each calibration variable to its population figure:

* a categorical column to ``{level: count}`` (or shares summing to 1, of ``total``);
* a numeric column to its population total;
* a tuple of columns to ``{(level, level): count}`` for a joint (crossed) margin.

An intercept (the population size) is included when a categorical margin or ``total`` is given.
``post_stratify(design, strata, population)`` is R's ``postStratify``: linear calibration on
the cells of ``strata`` (weights ``w N_c / sum_c w``, and R's post-stratified variance).

Example:
    >>> import polars as pl
    >>> from survey.design import Design
    >>> f = pl.DataFrame({"g": ["a", "a", "b", "b"], "y": [1.0, 3.0, 2.0, 6.0]})
    >>> d = Design(f).calibrate({"g": {"a": 10, "b": 30}})
    >>> d.weights.round(9).tolist(), round(float(d.total("y")["estimate"][0]), 9)
    ([5.0, 5.0, 15.0, 15.0], 140.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from survey.design import variance as V
from survey.errors import WeightingError

if TYPE_CHECKING:
    from survey.design.design import Design

CALFUNS = ("linear", "raking", "logit")
SHARE_TOL = 1e-6
RESCALE_THRESHOLD = 20  # R's SOMETHRESHOLD in grake


@dataclass(frozen=True, eq=False)
class GregCalibration(V.Calibration):
    """R's ``greg_calibration`` (stage 0) as a cell calibration for the variance engine.

    Residual of influence columns ``z``: ``z - a * X (X'X)^+ X'(z / a)`` with ``X`` the model
    matrix times ``sqrt(w0)`` (prior weights) and ``a = g sqrt(w0)`` (the :attr:`w` of the
    calibration). Rows sharing covariates and prior weight form a cell, so ``backfit`` works
    on cell sums of ``z / a``: ``F = L L' s`` with ``L = X_cell V S^-1`` from the SVD of
    ``sqrt(n_cell) X_cell`` (a numerically stable projection).
    """

    proj: np.ndarray | None = field(default=None)  # (C, r) L above

    def backfit(self, s: np.ndarray) -> np.ndarray:
        return self.proj @ (self.proj.T @ s)


def calibrate(design: Design, population: Mapping[Any, Any], calfun: str = "linear",
              bounds: tuple[float, float] | None = None, *, total: float | None = None,
              max_iter: int = 50, tol: float = 1e-10,
              trim: tuple[float, float] | None = None) -> Design:
    """Calibrate the design's weights to population totals (R's ``calibrate``).

    Args:
        population: ``{categorical: {level: count or share}, numeric: total,
            (col1, col2): {(l1, l2): count}}`` (see the module docstring).
        calfun: ``"linear"``, ``"raking"`` or ``"logit"``.
        bounds: ``(lower, upper)`` for the ratios ``g`` (required and finite for ``logit``).
        total: the population size (implied by categorical margins given as counts).
        max_iter, tol: iterations and R's convergence criterion
            ``max |T - X'w g| / (1 + |T|) < tol`` (R's default ``epsilon`` is 1e-7).
        trim: ``(lower, upper)``: the ratios ``g`` are then capped to this range and the
            weight trimmed is shared among the rest in proportion to their prior weights
            (R's ``trim``; the totals are then met only approximately; R ignores ``trim``
            for linear calibration without bounds, here it applies to every ``calfun``).

    Returns a new :class:`Design` with calibrated weights and calibration-aware variance.

    Example:
        >>> import polars as pl
        >>> from survey.design import Design
        >>> f = pl.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [2.0, 4.0, 5.0, 9.0]})
        >>> d = Design(f).calibrate({"x": 12.0}, total=5)
        >>> round(float(d.total("x")["estimate"][0]), 9), round(float(d.weights.sum()), 9)
        (12.0, 5.0)
    """
    if calfun not in CALFUNS:
        raise WeightingError(f"calfun={calfun!r}; expected one of {CALFUNS}")
    if hasattr(design, "_refuse_subset"):
        design._refuse_subset("calibrate()")
    if design._cal is not None:
        raise WeightingError("the design is already raked or calibrated; expected one "
                             "calibration: give all margins to a single calibrate() call")
    lo, hi = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if not lo < 1 < hi:
        raise WeightingError(f"bounds=({lo:g}, {hi:g}); expected lower < 1 < upper")
    if calfun == "logit" and not (np.isfinite(lo) and np.isfinite(hi)):
        raise WeightingError("logit calibration needs finite bounds=(lower, upper)")
    w0 = np.asarray(design.weights, float)
    mm, pop, names = model_matrix(design, population, total)
    if calfun == "linear" and bounds is None:  # R's regcalibrate: one closed-form step
        x = mm * np.sqrt(w0)[:, None]
        step = np.linalg.lstsq(x.T @ x, pop - w0 @ mm, rcond=None)[0]
        g, iterations = 1.0 + mm @ step, 1
    else:
        g, iterations = grake(mm, w0, calfun, lo, hi, pop, tol, max_iter, names)
    if trim is not None:
        g = trim_ratios(g, w0, trim)
    return _calibrated(design, mm, w0, g, pop, iterations)


def trim_ratios(g: np.ndarray, w0: np.ndarray, trim: tuple[float, float]) -> np.ndarray:
    """R's ``trim`` of ``calibrate``: cap ``g`` to ``[lower, upper]`` and share the weight
    trimmed among the other rows in proportion to ``w0`` (one pass, as R)."""
    lo, hi = float(trim[0]), float(trim[1])
    if not lo < hi:
        raise WeightingError(f"trim=({lo:g}, {hi:g}); expected lower < upper")
    new = np.clip(g, lo, hi)
    outside = (g < lo) | (g > hi)
    if outside.any():
        if outside.all():
            raise WeightingError(f"every calibration ratio is outside trim=({lo:g}, {hi:g}); "
                                 "expected a range containing most of them")
        new[~outside] += ((g - new) * w0).sum() / w0[~outside].sum()
    return new


def _calibrated(design: Design, mm: np.ndarray, w0: np.ndarray, g: np.ndarray,
                pop: np.ndarray, iterations: int) -> Design:
    from survey.design.design import Diagnostics

    w = w0 * g
    if np.any(w <= 0) or not np.all(np.isfinite(w)):
        bad = int(np.flatnonzero(~(w > 0))[0])
        raise WeightingError(
            f"calibration gives a weight of {w[bad]:g} to row {bad + 1}; expected positive "
            "weights (use calfun='raking', or bounds=(lower, upper) with lower > 0)",
            row=bad + 1, value=float(w[bad]))
    err = float(np.max(np.abs(w @ mm - pop) / (1 + np.abs(pop))))
    cal = greg_calibration(mm, w0, g)
    return design._replace(_w=w, _cal=cal, _variance="calibrated",
                           diagnostics=Diagnostics.of(w, iterations, err))


def post_stratify(design: Design, strata: str | Sequence[str],
                  population: Mapping[Any, float] | pl.DataFrame, *,
                  partial: bool = False) -> Design:
    """Post-stratify to population counts of the cells of ``strata`` (R's ``postStratify``).

    ``population`` is ``{level: count}`` (``{(l1, l2): count}`` for several variables) or a
    frame with the ``strata`` columns and one count column (R's ``pop.table``). Every cell with
    respondents needs a count; ``partial=True`` ignores population cells without respondents
    (R's ``partial = TRUE``), otherwise they are an error.

    Example:
        >>> import polars as pl
        >>> from survey.design import Design
        >>> f = pl.DataFrame({"g": ["a", "b", "b"], "y": [1.0, 2.0, 4.0]})
        >>> Design(f).post_stratify("g", {"a": 2, "b": 2}).weights.tolist()
        [2.0, 1.0, 1.0]
    """
    if hasattr(design, "_refuse_subset"):
        design._refuse_subset("post_stratify()")
    cols = [strata] if isinstance(strata, str) else list(strata)
    if isinstance(population, pl.DataFrame):
        count = [c for c in population.columns if c not in cols]
        if len(count) != 1 or any(c not in population.columns for c in cols):
            raise WeightingError(f"population frame has columns {population.columns}; "
                                 f"expected the strata {cols} and one count column")
        keys = population.select(cols).rows()
        population = {k if len(cols) > 1 else k[0]: v
                      for k, v in zip(keys, population[count[0]].to_list(), strict=True)}
    key: Any = tuple(cols) if len(cols) > 1 else cols[0]
    spec = {(_label(k) if len(cols) == 1 else tuple(map(_label, k))): float(v)
            for k, v in population.items()}
    if partial:
        present = set(_joint_codes(design.frame, cols)[1])
        spec = {k: v for k, v in spec.items() if k in present}
    if design._cal is not None:
        raise WeightingError("the design is already raked or calibrated; expected one "
                             "calibration: give all margins to a single calibrate() call")
    w0 = np.asarray(design.weights, float)
    mm, pop, _ = model_matrix(design, {key: spec}, None)
    codes = _joint_codes(design.frame, cols)[0]
    cell_pop = np.concatenate([[pop[0] - pop[1:].sum()], pop[1:]])
    g = (cell_pop / np.bincount(codes, weights=w0))[codes]  # N_c / sum_c w, as R
    return _calibrated(design, mm, w0, g, pop, 1)


# ---------------------------------------------------------------------- model matrix
def model_matrix(design: Design, population: Mapping[Any, Any],
                 total: float | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Columns (n, p), population totals (p,) and names: intercept, level indicators (first
    level dropped, as R's treatment contrasts) and numeric columns."""
    from survey.design.design import _numeric

    if not population:
        raise WeightingError("no population totals given; expected {variable: totals}")
    frame = design.frame
    cat: list[tuple[str, np.ndarray, list[Any], np.ndarray]] = []
    num: list[tuple[str, np.ndarray, float]] = []
    for var, spec in population.items():
        cols = list(var) if isinstance(var, tuple) else [var]
        name = ":".join(cols)
        if isinstance(spec, Mapping):
            codes, levels = _joint_codes(frame, cols)
            t = _targets(name, spec, levels, np.bincount(codes, minlength=len(levels)),
                         joint=len(cols) > 1)
            cat.append((name, codes, levels, t))
        else:
            y, a, _ = _numeric(frame, cols[0])
            if not a.all():
                raise WeightingError(f"calibration variable '{name}' has {int((~a).sum())} "
                                     "missing values; expected a value for every respondent",
                                     column=name)
            num.append((name, y.astype(float), float(spec)))
    counts = [float(t.sum()) for _, _, _, t in cat if t.sum() > 1 + SHARE_TOL]
    n_pop = total
    for c in counts:
        if n_pop is None:
            n_pop = c
        elif abs(c - n_pop) > SHARE_TOL * max(n_pop, 1.0):
            raise WeightingError(f"population margins disagree on the population size: "
                                 f"{n_pop:g} and {c:g}; expected equal totals", value=c)
    if n_pop is None and cat:
        n_pop = float(design.weights.sum())  # shares only: keep the weighted total
    columns, pop, names = [], [], []
    if n_pop is not None:
        columns.append(np.ones(design.n))
        pop.append(float(n_pop))
        names.append("(Intercept)")
    elif not num:
        raise WeightingError("no calibration columns; expected margins or totals")
    else:
        raise WeightingError("calibration on numeric totals only; expected total= (the "
                             "population size) as well")
    for name, codes, levels, t in cat:
        if abs(t.sum() - 1.0) <= SHARE_TOL:
            t = t * n_pop
        for k in range(1, len(levels)):
            columns.append((codes == k).astype(float))
            pop.append(float(t[k]))
            names.append(f"{name}={levels[k]}")
    for name, y, tot in num:
        columns.append(y)
        pop.append(tot)
        names.append(name)
    return np.column_stack(columns), np.asarray(pop), names


def _label(v: Any) -> Any:
    return str(v).lower() if isinstance(v, bool) else str(v)


def _joint_codes(frame: pl.DataFrame, cols: list[str]) -> tuple[np.ndarray, list[Any]]:
    """Codes 0..L-1 of the present level combinations of ``cols`` and their labels."""
    from survey.design.design import _level_codes

    parts = [_level_codes(frame, c, "calibration") for c in cols]
    if len(cols) == 1:
        codes, levels = parts[0]
        present = np.bincount(codes, minlength=len(levels)) > 0
        remap = np.cumsum(present) - 1
        return remap[codes], [lv for lv, p in zip(levels, present, strict=True) if p]
    key = np.zeros(frame.height, np.int64)
    for c, lv in parts:
        key = key * len(lv) + c
    uniq, inv = np.unique(key, return_inverse=True)
    labels = []
    for u in uniq:
        lab = []
        for _c, lv in reversed(parts):
            lab.append(lv[u % len(lv)])
            u //= len(lv)
        labels.append(tuple(reversed(lab)))
    return inv.ravel(), labels


def _targets(name: str, spec: Mapping[Any, Any], levels: list[Any], counts: np.ndarray,
             joint: bool) -> np.ndarray:
    """Population figure per present level; every present level needs a positive one."""
    norm = {(tuple(map(_label, k)) if joint and isinstance(k, tuple) else _label(k)): float(v)
            for k, v in spec.items()}
    norm = {k: v for k, v in norm.items() if v != 0 or k in levels}  # empty and absent: fine
    unknown = [k for k in norm if k not in levels]
    if unknown:
        raise WeightingError(f"calibration margin '{name}': level {unknown[0]!r} has no "
                             f"respondents or is not a level; expected one of {levels}",
                             column=name, value=unknown[0])
    t = np.array([norm.get(lv, np.nan) for lv in levels])
    for lv, tv, c in zip(levels, t, counts, strict=True):
        if not tv > 0:
            raise WeightingError(f"calibration margin '{name}': level {lv!r} has {c} "
                                 f"respondents but population {tv:g}; expected a positive "
                                 "population figure for every level with respondents",
                                 column=name, value=lv)
    if t.max() <= 1.0 and abs(t.sum() - 1.0) > SHARE_TOL:
        raise WeightingError(f"calibration margin '{name}': shares sum to {t.sum():g}; "
                             "expected shares summing to 1 or population counts",
                             column=name, value=float(t.sum()))
    return t


# ---------------------------------------------------------------------- R's grake
def _fm1(calfun: str, u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``g - 1`` as a function of ``u = x'eta`` (R's ``calfun$Fm1``)."""
    if calfun == "linear":
        return np.clip(u + 1, lo, hi) - 1
    if calfun == "raking":
        with np.errstate(over="ignore"):
            return np.clip(np.exp(u), lo, hi) - 1
    a = (hi - lo) / ((hi - 1) * (1 - lo))
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(a * u)
        return (lo * (hi - 1) + hi * (1 - lo) * e) / (hi - 1 + (1 - lo) * e) - 1


def _df(calfun: str, u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Derivative of ``_fm1`` (R's ``calfun$dF``)."""
    inside = (u < hi - 1) & (u > lo - 1)
    if calfun == "linear":
        return inside.astype(float)
    if calfun == "raking":
        with np.errstate(over="ignore"):
            return np.where(inside, np.exp(u), 0.0)
    a = (hi - lo) / ((hi - 1) * (1 - lo))
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(a * u)
        den = hi - 1 + (1 - lo) * e
        return (hi * (1 - lo) * e * a / den
                - (lo * (hi - 1) + hi * (1 - lo) * e) * ((1 - lo) * e * a) / den**2)


def grake(mm: np.ndarray, ww: np.ndarray, calfun: str, lo: float, hi: float, pop: np.ndarray,
          tol: float, max_iter: int, names: list[str] | None = None) -> tuple[np.ndarray, int]:
    """R's ``grake``: ratios ``g`` with ``colSums(mm * ww * g) = pop`` and iterations used."""
    sample_total = ww @ mm
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = pop / sample_total
    scale = None
    if np.min(scales) > RESCALE_THRESHOLD:
        scale = float(np.mean(scales))
        ww = ww * scale
        sample_total = sample_total * scale
    eta = np.zeros(mm.shape[1])
    xeta = mm @ eta
    g, deriv = 1 + _fm1(calfun, xeta, lo, hi), _df(calfun, xeta, lo, hi)
    it = 1
    while True:
        tmat = (mm * (ww * deriv)[:, None]).T @ mm
        misfit = pop - sample_total - (mm * ww[:, None] * _fm1(calfun, xeta, lo, hi)[:, None]
                                       ).sum(0)
        deta = np.linalg.pinv(tmat, rcond=256 * np.finfo(float).eps) @ misfit
        eta = eta + deta
        xeta = mm @ eta
        g, deriv = 1 + _fm1(calfun, xeta, lo, hi), _df(calfun, xeta, lo, hi)
        while it < max_iter and not (np.all(np.isfinite(g)) and np.all(np.isfinite(deriv))):
            it += 1
            deta = deta / 2
            eta = eta - deta
            xeta = mm @ eta
            g, deriv = 1 + _fm1(calfun, xeta, lo, hi), _df(calfun, xeta, lo, hi)
        misfit = pop - sample_total - (mm * ww[:, None] * _fm1(calfun, xeta, lo, hi)[:, None]
                                       ).sum(0)
        err = np.abs(misfit) / (1 + np.abs(pop))
        if np.all(err < tol):
            break
        it += 1
        if it > max_iter:
            worst = (names or [str(k) for k in range(len(pop))])[int(np.argmax(err))]
            raise WeightingError(
                f"{calfun} calibration did not converge after {max_iter} iterations: largest "
                f"relative misfit {float(err.max()):.3g} (on '{worst}'); expected below "
                f"{tol:g} (check that the totals are attainable within the bounds, or raise "
                "max_iter)", column=worst)
    if scale is not None:
        g = g * scale
    return g, it


def greg_calibration(mm: np.ndarray, w0: np.ndarray, g: np.ndarray) -> GregCalibration:
    """The variance-side calibration of ``calibrate``: cells of equal ``(mm, w0)`` rows."""
    key = np.column_stack([mm, w0])
    _, first, cell = np.unique(key, axis=0, return_index=True, return_inverse=True)
    cell = cell.ravel().astype(np.int64)
    n_cell = np.bincount(cell).astype(float)
    xc = mm[first] * np.sqrt(w0[first])[:, None]
    _, s, vt = np.linalg.svd(xc * np.sqrt(n_cell)[:, None], full_matrices=False)
    keep = s > s.max() * max(xc.shape) * np.finfo(float).eps
    proj = xc @ (vt[keep].T / s[keep])
    return GregCalibration(cell, np.zeros((len(first), 0), np.int64), n_cell, (), (),
                           w=g * np.sqrt(w0), proj=proj)


# ---------------------------------------------------------------------- replicate designs
def calibrate_replicates(design: Any, population: Mapping[Any, Any], calfun: str = "linear",
                         bounds: tuple[float, float] | None = None, *,
                         total: float | None = None, max_iter: int = 50,
                         tol: float = 1e-10, trim: tuple[float, float] | None = None) -> Any:
    """Calibrate a :class:`~survey.design.replicate.ReplicateDesign`: the full-sample weights
    and every replicate's weights separately (R's ``calibrate.svyrep.design``).

    Example:
        >>> import polars as pl
        >>> from survey.design import Design
        >>> f = pl.DataFrame({"g": ["a", "a", "b", "b"], "y": [1.0, 3.0, 2.0, 6.0]})
        >>> r = Design(f).replicates("JK1").calibrate({"g": {"a": 10, "b": 30}})
        >>> r.repweights.sum(0).round(9).tolist()
        [40.0, 40.0, 40.0, 40.0]
    """
    if calfun not in CALFUNS:
        raise WeightingError(f"calfun={calfun!r}; expected one of {CALFUNS}")
    lo, hi = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if calfun == "logit" and not (np.isfinite(lo) and np.isfinite(hi)):
        raise WeightingError("logit calibration needs finite bounds=(lower, upper)")
    mm, pop, names = model_matrix(design, population, total)
    cols = []
    for w0 in design.all_weights().T:
        if calfun == "linear" and bounds is None:
            x = mm * np.sqrt(w0)[:, None]
            g = 1.0 + mm @ np.linalg.lstsq(x.T @ x, pop - w0 @ mm, rcond=None)[0]
        else:
            g = grake(mm, w0, calfun, lo, hi, pop, tol, max_iter, names)[0]
        if trim is not None:
            g = trim_ratios(g, w0, trim)
        cols.append(w0 * g)
    out = _new_weights(design, np.column_stack(cols))
    out.degf = design.degf  # R's calibrate keeps the replicate design's degf
    return out


def post_stratify_replicates(design: Any, strata: str | Sequence[str],
                             population: Mapping[Any, float]) -> Any:
    """Post-stratify every replicate of a replicate design (R's ``postStratify.svyrep.design``).

    Example:
        >>> import polars as pl
        >>> from survey.design import Design
        >>> f = pl.DataFrame({"g": ["a", "b", "b", "a"], "y": [1.0, 2.0, 4.0, 3.0]})
        >>> r = Design(f).replicates("JK1").post_stratify("g", {"a": 5, "b": 5})
        >>> r.weights.tolist()
        [2.5, 2.5, 2.5, 2.5]
    """
    cols = [strata] if isinstance(strata, str) else list(strata)
    key: Any = tuple(cols) if len(cols) > 1 else cols[0]
    spec = {(_label(k) if len(cols) == 1 else tuple(map(_label, k))): float(v)
            for k, v in population.items()}
    _mm, pop, _ = model_matrix(design, {key: spec}, None)
    codes = _joint_codes(design.frame, cols)[0]
    cell_pop = np.concatenate([[pop[0] - pop[1:].sum()], pop[1:]])
    out = []
    for w0 in design.all_weights().T:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = cell_pop / np.bincount(codes, weights=w0, minlength=len(cell_pop))
        out.append(w0 * np.where(np.isfinite(ratio), ratio, 0.0)[codes])
    return _new_weights(design, np.column_stack(out))


def _new_weights(design: Any, allw: np.ndarray) -> Any:
    return type(design)._make(design.frame, allw[:, 0], allw[:, 1:], design.type,
                              design.scale, design.rscales, design.mse, design.codebook,
                              design.edition, design.rho)
