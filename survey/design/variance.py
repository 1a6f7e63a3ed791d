"""Linearization variance: strata, PSUs and later stages, fpc, lonely PSUs and calibration.

Everything reduces to the covariance of estimated *totals* of influence columns ``Z``
(``total_k = sum_i Z[i, k]``), as R's ``survey:::svyrecvar``:

1. calibration (raking): residualize ``Z / w`` against the margin indicators exactly as R does
   for a ``rake()``-d design — 10 back-fitting sweeps ``x <- x - w * ave(x / w, margin)`` per
   raking block (``RAKE_SWEEPS``); done on calibration *cells* (cross-classification of the margin
   variables), so its cost does not grow with n;
2. per stage (R's ``multistage``): sum to unit totals, centre within strata, scale by
   ``f_h n_h / (n_h - 1)`` and by the sampling fractions of the stages above, with R's
   ``lonely.psu`` rules for strata of one unit (``_stage_var``).

Sums of squares are always of deviations from a mean computed first (two passes), never
``sum x^2 - (sum x)^2 / n``, and are clamped at 0: a variance R gives as 0 is 0 here.

Example:
    >>> import numpy as np
    >>> s = Structure.simple(4)
    >>> round(float(vcov_totals(np.array([[1.0], [2.0], [3.0], [4.0]]), s, None)[0, 0]), 9)
    6.666666667
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from survey.design._structure import LONELY, Stage, Structure, make_structure

__all__ = ["LONELY", "RAKE_SWEEPS", "Calibration", "Stage", "Structure", "indicator",
           "make_structure", "psu_totals", "residualize", "vcov_totals"]

RAKE_SWEEPS = 10  # R: `for (iterations in 1:10)` in svyrecvar for "raking" post-strata


@dataclass(frozen=True, eq=False)
class Calibration:
    """Raking margins as cells: ``cell`` per row and the level of each margin in each cell.

    ``blocks`` lists, per ``rake()`` call in order, the margin indices it raked on. ``w`` are the
    weights the margins were raked to (R's ``attr(margin, "weights")``); they differ from the
    design's final weights after ``trim()``. ``None``: the final weights. (After several
    ``rake()`` calls R keeps each call's weights for its margins; here the last call's are used
    for all of them.)
    """

    cell: np.ndarray  # (n,) int cell code 0..C-1
    cell_levels: np.ndarray  # (C, M) level code of margin m in cell c
    n_cell: np.ndarray  # (C,) respondents per cell
    n_levels: tuple[int, ...]  # levels per margin
    blocks: tuple[tuple[int, ...], ...]
    sweeps: int = RAKE_SWEEPS
    w: np.ndarray | None = None

    def weights(self, final: np.ndarray) -> np.ndarray:
        """The raking weights (``w``, or the design's ``final`` weights when not kept)."""
        return final if self.w is None else self.w

    def same_weights(self, final: np.ndarray) -> bool:
        return self.w is None or self.w is final or np.array_equal(self.w, final)

    @property
    def n_cells(self) -> int:
        return len(self.n_cell)

    def backfit(self, s: np.ndarray) -> np.ndarray:
        """Cell corrections ``F`` (C, k) from cell sums ``s`` of ``Z / w``: residual is v - F[cell].

        Each sweep and margin does ``v <- v - ave(v, margin)`` (unweighted level means), as R.
        """
        f = np.zeros_like(s)
        ops = self._sweep_ops
        for block in self.blocks:
            for _ in range(self.sweeps):
                for m in block:
                    to_level, from_level = ops[m]
                    f += from_level @ (to_level @ (s - self.n_cell[:, None] * f))
        return f

    @cached_property
    def _sweep_ops(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per margin: (L, C) sums of cells into levels and (C, L) level means back to cells."""
        ops = []
        for m, k in enumerate(self.n_levels):
            lv = self.cell_levels[:, m]
            onehot = (lv[None, :] == np.arange(k)[:, None]).astype(float)  # (L, C)
            n_lv = onehot @ self.n_cell
            ops.append((onehot, (onehot / np.where(n_lv > 0, n_lv, 1.0)[:, None]).T))
        return ops


def residualize(z: np.ndarray, w: np.ndarray, cal: Calibration | None) -> np.ndarray:
    """Calibration residuals of the influence columns ``z`` (n, k) (final weights ``w``)."""
    if cal is None:
        return z
    psw = cal.weights(w)
    s = indicator(cal.cell, cal.n_cells) @ (z / psw[:, None])
    return z - psw[:, None] * cal.backfit(s)[cal.cell]


def indicator(idx: np.ndarray, size: int) -> sp.csr_matrix:
    """Sparse (size, n) matrix with a 1 at (idx[i], i): ``indicator(g, D) @ M`` sums rows by g."""
    n = len(idx)
    return sp.csr_matrix((np.ones(n), (idx, np.arange(n))), shape=(size, n))


def psu_totals(e: np.ndarray, st: Structure) -> np.ndarray:
    """Sum rows of ``e`` (n, k) to PSU totals (P, k)."""
    if st.psu is None:
        return e
    return np.asarray(indicator(st.psu, st.n_psus) @ e)


def _group_sum(x: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum the first axis of ``x`` (H, ...) by ``group`` (H,) into (G, ...)."""
    out = np.asarray(indicator(group, n_groups) @ x.reshape(len(group), -1))
    return out.reshape((n_groups, *x.shape[1:]))


def _stage_var(sg: Stage, s: np.ndarray, ss: np.ndarray, present: np.ndarray | None,
               lonely_psu: str) -> np.ndarray:
    """One stage's variance from per-stratum totals ``s`` and centred sums of squares ``ss``
    (H, ...) of its units: R's ``onestage`` / ``onestrat`` with the lonely-PSU rules.

    ``present`` (H, ...) marks strata with rows in the estimate's domain (R drops the others
    from ``onestage``); needed only by "adjust" and "average".
    """
    ex = (slice(None),) + (None,) * (s.ndim - 1)
    contrib = ss * sg.scale[ex]
    lon = sg.lonely
    if lon.any():
        pres = np.ones(s.shape, bool) if present is None else present
        contrib[lon] = 0.0
        g, n_g = sg.group, sg.n_groups
        if lonely_psu == "adjust":  # R >= 4.2: centred at the mean of all units' totals
            tot = _group_sum(s, g, n_g)
            units = _group_sum(pres * sg.n_unit[ex], g, n_g)
            with np.errstate(divide="ignore", invalid="ignore"):
                centre = np.where(units > 0, tot / units, 0.0)
            dev = s[lon] - centre[g[lon]]
            contrib[lon] = np.where(pres[lon], sg.f[lon][ex] * dev * dev, 0.0)
        elif lonely_psu == "average":  # others' mean variance: x n_strata / n_ok_strata
            n_pres = _group_sum(pres.astype(float), g, n_g)
            n_ok = _group_sum((pres & ~lon[ex]).astype(float), g, n_g)
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = np.where(n_pres > 0, n_pres / n_ok, 1.0)
            contrib = contrib * factor[g]
    return (contrib * sg.mult[ex]).sum(0)


def _needs_presence(st: Structure) -> bool:
    return st.lonely_psu in ("adjust", "average") and any(
        sg.lonely.any() for sg in st.all_stages)


def vcov_totals(z: np.ndarray, st: Structure, cal: Calibration | None,
                w: np.ndarray | None = None, rows: np.ndarray | None = None) -> np.ndarray:
    """Covariance (k, k) of the estimated totals of the columns of ``z`` (R's ``svyrecvar``).

    ``rows`` (bool, n) are the rows of the estimate (a subset): strata without any are left
    out of the lonely-PSU rules "adjust" and "average", as R's ``onestage`` on a subset.
    """
    z = np.asarray(z, float).reshape(st.n, -1)
    e = residualize(z, w, cal) if cal is not None else z
    if st.one_stage:
        t = psu_totals(e, st)
        h = st.stratum if st.psu is None else st.psu_stratum
        means = np.asarray(indicator(h, st.n_strata) @ t) / st.n_psu[:, None]
        c = (t - means[h]) * np.sqrt(st.scale[h])[:, None]
        return c.T @ c
    out = np.zeros((e.shape[1], e.shape[1]))
    for sg in st.all_stages:
        if not np.any(sg.mult > 0):
            continue
        t = e if sg.unit is None else np.asarray(indicator(sg.unit, sg.n_units) @ e)
        h, n_h = sg.unit_stratum, sg.n_strata
        s = np.asarray(indicator(h, n_h) @ t)
        c = t - (s / sg.n_unit[:, None])[h]
        sc = sg.scale * sg.mult
        lon = sg.lonely
        if lon.any():
            inset = np.ones(st.n, bool) if rows is None else rows
            pres = np.bincount(sg.stratum[inset], minlength=n_h) > 0
            g, n_g = sg.group, sg.n_groups
            sc = np.where(lon, 0.0, sc)
            if st.lonely_psu == "adjust":
                units = np.bincount(g, weights=sg.n_unit * pres, minlength=n_g)
                with np.errstate(divide="ignore", invalid="ignore"):
                    centre = np.where(units[:, None] > 0, _group_sum(s, g, n_g) / units[:, None],
                                      0.0)
                lu = lon[h]
                c[lu] = t[lu] - centre[g[h[lu]]]
                sc = np.where(lon & pres, sg.f * sg.mult, sc)
            elif st.lonely_psu == "average":
                n_pres = np.bincount(g, weights=pres, minlength=n_g)
                n_ok = np.bincount(g, weights=pres & ~lon, minlength=n_g)
                with np.errstate(divide="ignore", invalid="ignore"):
                    sc = sc * np.where(n_pres > 0, n_pres / n_ok, 1.0)[g]
        cc = c * np.sqrt(sc[h])[:, None]
        out += cc.T @ cc
    return out
