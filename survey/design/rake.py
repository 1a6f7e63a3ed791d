"""Raking (iterative proportional fitting) of weights to population margins.

IPF multiplies each weight by one factor per margin level, so it runs on the *cells* of the
cross-classification of the margin variables (cost independent of n once cells are known), then
expands to respondents. The fixed point equals R's ``rake(design, list(~a, ~b), list(pa, pb))``
run to convergence (R's default ``control = list(maxit = 10, epsilon = 1)`` stops early: pass a
small epsilon in R to compare).

Margins are ``{variable: {level: value}}``. Per margin, values that sum to 1 (within 1e-6) are
*shares*; otherwise *counts* (population totals, as R's ``population.margins``). When any margin
is in counts, shares are scaled to that population total; when all are shares, they are scaled
to the current weighted total (the weights keep their sum). Count margins must agree on the total.

Example:
    >>> import numpy as np
    >>> codes = [np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])]
    >>> res = rake_cells(np.ones(4), codes, [np.array([3.0, 1.0]), np.array([2.0, 2.0])])
    >>> res.weights.round(3).tolist()
    [1.5, 1.5, 0.5, 0.5]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from survey.errors import WeightingError

SHARE_TOL = 1e-6


@dataclass(frozen=True)
class RakeResult:
    """Raked weights plus the cell structure and convergence facts."""

    weights: np.ndarray
    cell: np.ndarray  # (n,) cell per row
    cell_levels: np.ndarray  # (C, M)
    n_cell: np.ndarray
    iterations: int
    max_margin_error: float  # largest |weighted margin - target| / target


def cells_of(codes: list[np.ndarray], n_levels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Cell per row and the (C, M) level codes of the observed cells of the margins' cross."""
    key = np.zeros(len(codes[0]), np.int64)
    for c, k in zip(codes, n_levels, strict=True):
        key = key * k + c
    size = int(np.prod(n_levels, dtype=np.float64))
    if size <= 4 * len(key) + 1024:  # dense key range: O(n) relabelling, no sort
        present = np.bincount(key, minlength=size) > 0
        uniq = np.flatnonzero(present)
        cell = (np.cumsum(present) - 1)[key]
    else:
        uniq, cell = np.unique(key, return_inverse=True)
    levels = np.empty((len(uniq), len(codes)), np.int64)
    rest = uniq.copy()
    for m in range(len(codes) - 1, -1, -1):
        levels[:, m] = rest % n_levels[m]
        rest //= n_levels[m]
    return cell.ravel(), levels


def rake_cells(w0: np.ndarray, codes: list[np.ndarray], targets: list[np.ndarray], *,
               max_iter: int = 100, tol: float = 1e-10,
               bounds: tuple[float, float] | None = None,
               names: list[str] | None = None) -> RakeResult:
    """IPF of ``w0`` so that weighted counts of each margin's level codes equal ``targets``.

    ``bounds=(lo, hi)`` keeps every ratio ``w / w0`` within [lo, hi] (ratios are clipped after
    each IPF cycle, then IPF continues: bounded raking); if margins cannot be met within the
    bounds, :class:`WeightingError` is raised.
    """
    names = names or [f"margin {m + 1}" for m in range(len(codes))]
    n_levels = [len(t) for t in targets]
    cell, levels = cells_of(codes, n_levels)
    base = np.bincount(cell, weights=w0)  # base weight per cell
    n_cell = np.bincount(cell).astype(float)
    ratio = np.ones(len(base))
    err = np.inf
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        for m, t in enumerate(targets):
            cur = np.bincount(levels[:, m], weights=base * ratio, minlength=n_levels[m])
            ratio *= (t / np.where(cur > 0, cur, 1.0))[levels[:, m]]
        if bounds is not None:
            np.clip(ratio, bounds[0], bounds[1], out=ratio)
        err = _margin_error(base * ratio, levels, targets)
        if err < tol:
            break
    else:
        extra = f" within bounds {bounds}" if bounds is not None else ""
        raise WeightingError(
            f"raking on {', '.join(names)} did not converge{extra} after {max_iter} iterations: "
            f"largest relative margin error {err:.3g}; expected below {tol:g} "
            "(check that the margins are attainable, or raise max_iter)")
    return RakeResult(w0 * ratio[cell], cell, levels, n_cell, it, err)


def _margin_error(cw: np.ndarray, levels: np.ndarray, targets: list[np.ndarray]) -> float:
    err = 0.0
    for m, t in enumerate(targets):
        cur = np.bincount(levels[:, m], weights=cw, minlength=len(t))
        err = max(err, float(np.max(np.abs(cur - t) / np.where(t > 0, t, 1.0))))
    return err


def resolve_targets(margins: dict[str, dict], present: dict[str, list[str]],
                    counts: dict[str, np.ndarray], current_total: float) -> list[np.ndarray]:
    """Check margins against the data and return target totals aligned with ``present`` levels.

    ``present[var]`` are the level labels used for codes, ``counts[var]`` respondents per level.
    """
    raw: list[np.ndarray] = []
    is_share: list[bool] = []
    for var, spec in margins.items():
        spec = {str(k) if not isinstance(k, bool) else str(k).lower(): float(v)
                for k, v in spec.items()}
        levels = present[var]
        missing = [lv for lv, c in zip(levels, counts[var], strict=True)
                   if c > 0 and lv not in spec]
        if missing:
            raise WeightingError(
                f"variable '{var}': level '{missing[0]}' has respondents but no population margin; "
                f"expected a margin for every level present ({', '.join(map(repr, levels))})",
                column=var, value=missing[0])
        unknown = [k for k in spec if k not in levels]
        if unknown:
            raise WeightingError(
                f"variable '{var}': margin level '{unknown[0]}' is not a level of the variable; "
                f"expected one of {levels}", column=var, value=unknown[0])
        t = np.array([spec.get(lv, 0.0) for lv in levels])
        for lv, c, tv in zip(levels, counts[var], t, strict=True):
            if c == 0 and tv > 0:
                raise WeightingError(
                    f"variable '{var}': margin level '{lv}' has no respondents; expected at least "
                    "one respondent for every level with a positive margin", column=var, value=lv)
            if c > 0 and tv <= 0:
                raise WeightingError(
                    f"variable '{var}': level '{lv}' has respondents but margin {tv:g}; expected "
                    "a positive margin", column=var, value=lv)
        share = abs(t.sum() - 1.0) <= SHARE_TOL
        if not share and t.max() <= 1.0:
            # all values are shares (≤ 1) but do not add up: a typo, not a population count
            raise WeightingError(
                f"variable '{var}': margin shares sum to {t.sum():g}; expected shares summing "
                "to 1 (or population counts, each level's count > 1)", column=var,
                value=float(t.sum()))
        raw.append(t)
        is_share.append(share)
    count_totals = [(v, t.sum()) for v, t, s in zip(margins, raw, is_share, strict=True) if not s]
    if count_totals:
        v0, t0 = count_totals[0]
        for v, tt in count_totals[1:]:
            if abs(tt - t0) > SHARE_TOL * t0:
                raise WeightingError(
                    f"margins disagree on the population total: '{v0}' sums to {t0:g} but "
                    f"'{v}' to {tt:g}; expected equal totals", column=v, value=tt)
        total = t0
    else:
        total = current_total
    return [t * total if s else t for t, s in zip(raw, is_share, strict=True)]
