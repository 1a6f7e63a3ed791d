"""Linearization variance: strata/PSU with replacement, fpc, and calibration residuals.

Everything reduces to the covariance of estimated *totals* of influence columns ``Z``
(``total_k = sum_i Z[i, k]``), as R's ``survey:::svyrecvar``:

1. calibration (raking): residualize ``Z / w`` against the margin indicators exactly as R does
   for a ``rake()``-d design — 10 back-fitting sweeps ``x <- x - w * ave(x / w, margin)`` per
   raking block (``RAKE_SWEEPS``); done on calibration *cells* (cross-classification of the margin
   variables), so its cost does not grow with n;
2. sum to PSU totals, centre within strata, scale by ``f_h * n_h / (n_h - 1)`` and cross-multiply
   (``survey:::onestrat`` with ``lonely.psu = "fail"``).

Example:
    >>> import numpy as np
    >>> s = Structure.simple(4)
    >>> float(vcov_totals(np.array([[1.0], [2.0], [3.0], [4.0]]), s, None)[0, 0])
    6.666666666666667
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from survey.errors import EstimationError

RAKE_SWEEPS = 10  # R: `for (iterations in 1:10)` in svyrecvar for "raking" post-strata


@dataclass(frozen=True, eq=False)
class Structure:
    """Sampling structure: stratum per row, PSU per row (``None``: every row is a PSU)."""

    n: int
    stratum: np.ndarray  # (n,) int codes 0..H-1
    psu: np.ndarray | None  # (n,) int codes 0..P-1, PSUs nested in strata; None = one row each
    psu_stratum: np.ndarray | None  # (P,) stratum of each PSU
    n_psu: np.ndarray  # (H,) PSUs per stratum
    scale: np.ndarray  # (H,) f_h * n_h / (n_h - 1)

    @classmethod
    def simple(cls, n: int) -> Structure:
        """One stratum, one row per PSU, no fpc: R's ``svydesign(ids = ~1, ...)``."""
        return cls(n, np.zeros(n, np.int64), None, None, np.array([n]),
                   np.array([n / (n - 1.0) if n > 1 else 1.0]))

    @property
    def n_strata(self) -> int:
        return len(self.n_psu)

    @property
    def n_psus(self) -> int:
        return self.n if self.psu is None else len(self.psu_stratum)


def make_structure(stratum: np.ndarray | None, psu: np.ndarray | None,
                   popsize: np.ndarray | None, n: int) -> Structure:
    """Build a :class:`Structure` from raw codes; ``popsize`` per row (N_h or sampling fraction).

    PSU ids are taken as nested within strata (R's ``nest = TRUE``). A stratum with one PSU
    raises :class:`EstimationError` (R's default ``options(survey.lonely.psu = "fail")``).
    """
    st = np.zeros(n, np.int64) if stratum is None else _codes(stratum)
    n_strata = int(st.max()) + 1 if n else 0
    if psu is None:
        ps, psu_stratum = None, None
        n_psu = np.bincount(st, minlength=n_strata)
    else:
        key = st.astype(np.int64) * (int(_codes(psu).max()) + 1) + _codes(psu)
        uniq, ps = np.unique(key, return_inverse=True)
        first = np.zeros(len(uniq), np.int64)
        first[ps[::-1]] = np.arange(n)[::-1]
        psu_stratum = st[first]
        n_psu = np.bincount(psu_stratum, minlength=n_strata)
    if np.any(n_psu < 2):
        h = int(np.flatnonzero(n_psu < 2)[0])
        raise EstimationError(
            f"stratum {h + 1} (in order of appearance) has only one PSU; expected at least two "
            "PSUs per stratum for with-replacement variance (R: survey.lonely.psu = 'fail')")
    f = np.ones(n_strata)
    if popsize is not None:
        pop = np.asarray(popsize, float)
        pop_h = np.zeros(n_strata)
        pop_h[st] = pop
        if np.all(pop_h <= 1.0):  # sampling fractions, as R
            pop_h = n_psu / pop_h
        f = np.where(np.isinf(pop_h), 1.0, (pop_h - n_psu) / pop_h)
    scale = f * n_psu / (n_psu - 1.0)
    return Structure(n, st, ps, psu_stratum, n_psu, scale)


def _codes(a: np.ndarray) -> np.ndarray:
    return np.unique(a, return_inverse=True)[1].astype(np.int64).ravel()


@dataclass(frozen=True, eq=False)
class Calibration:
    """Raking margins as cells: ``cell`` per row and the level of each margin in each cell.

    ``blocks`` lists, per ``rake()`` call in order, the margin indices it raked on.
    """

    cell: np.ndarray  # (n,) int cell code 0..C-1
    cell_levels: np.ndarray  # (C, M) level code of margin m in cell c
    n_cell: np.ndarray  # (C,) respondents per cell
    n_levels: tuple[int, ...]  # levels per margin
    blocks: tuple[tuple[int, ...], ...]
    sweeps: int = RAKE_SWEEPS

    @property
    def n_cells(self) -> int:
        return len(self.n_cell)

    def backfit(self, s: np.ndarray) -> np.ndarray:
        """Cell corrections ``F`` (C, k) from cell sums ``s`` of ``Z / w``: residual is v - F[cell].

        Each sweep and margin does ``v <- v - ave(v, margin)`` (unweighted level means), as R.
        """
        f = np.zeros_like(s)
        n_lv = [np.bincount(self.cell_levels[:, m], weights=self.n_cell, minlength=self.n_levels[m])
                for m in range(len(self.n_levels))]
        for block in self.blocks:
            for _ in range(self.sweeps):
                for m in block:
                    lv = self.cell_levels[:, m]
                    r = s - self.n_cell[:, None] * f
                    sums = np.zeros((self.n_levels[m], s.shape[1]))
                    np.add.at(sums, lv, r)
                    f += (sums / n_lv[m][:, None])[lv]
        return f


def residualize(z: np.ndarray, w: np.ndarray, cal: Calibration | None) -> np.ndarray:
    """Calibration residuals of the influence columns ``z`` (n, k) under final weights ``w``."""
    if cal is None:
        return z
    s = np.zeros((cal.n_cells, z.shape[1]))
    np.add.at(s, cal.cell, z / w[:, None])
    return z - w[:, None] * cal.backfit(s)[cal.cell]


def psu_totals(e: np.ndarray, st: Structure) -> np.ndarray:
    """Sum rows of ``e`` (n, k) to PSU totals (P, k)."""
    if st.psu is None:
        return e
    out = np.zeros((st.n_psus, e.shape[1]))
    for k in range(e.shape[1]):
        out[:, k] = np.bincount(st.psu, weights=e[:, k], minlength=st.n_psus)
    return out


def vcov_totals(z: np.ndarray, st: Structure, cal: Calibration | None,
                w: np.ndarray | None = None) -> np.ndarray:
    """Covariance (k, k) of the estimated totals of the columns of ``z`` (R's ``svyrecvar``)."""
    z = np.asarray(z, float).reshape(st.n, -1)
    e = residualize(z, w, cal) if cal is not None else z
    t = psu_totals(e, st)
    h = st.stratum if st.psu is None else st.psu_stratum
    means = np.zeros((st.n_strata, t.shape[1]))
    np.add.at(means, h, t)
    means /= st.n_psu[:, None]
    c = (t - means[h]) * np.sqrt(st.scale[h])[:, None]
    return c.T @ c


def domain_var(r_cols, g: np.ndarray, n_dom: int, w: np.ndarray, st: Structure,
               cal: Calibration | None) -> np.ndarray:
    """Variances (D, J) of domain totals of linearized columns, without an n x D*J matrix.

    ``r_cols`` yields J arrays ``R_j`` (n,): the influence value of each row for its own domain
    ``g[i]`` (rows outside every domain carry 0). The influence column of (domain d, item j) is
    ``1[g = d] * R_j``; with calibration its residual is ``1[g = d] R_j - w * F[cell, d, j]``.
    Unclustered designs use per-stratum sums of squares; clustered ones PSU totals.
    """
    out = []
    hs = st.stratum
    n_h = st.n_strata
    clustered = st.psu is not None
    unit = st.psu if clustered else hs  # rows are aggregated to PSU (clustered) or stratum sums
    n_unit = st.n_psus if clustered else n_h
    if cal is not None:
        c = cal.cell
        nc = cal.n_cells
        wc = np.bincount(unit * nc + c, weights=w, minlength=n_unit * nc).reshape(n_unit, nc)
        if not clustered:
            qc = np.bincount(hs * nc + c, weights=w * w, minlength=n_h * nc).reshape(n_h, nc)
    for rj in r_cols:
        if cal is not None:
            s = np.bincount(c * n_dom + g, weights=rj / w, minlength=nc * n_dom).reshape(nc, n_dom)
            f = cal.backfit(s)  # (C, D)
        if clustered:
            t = np.bincount(unit * n_dom + g, weights=rj,
                            minlength=n_unit * n_dom).reshape(n_unit, n_dom)
            if cal is not None:
                t = t - wc @ f
            h = st.psu_stratum
            means = np.zeros((n_h, n_dom))
            np.add.at(means, h, t)
            means /= st.n_psu[:, None]
            out.append((((t - means[h]) ** 2) * st.scale[h][:, None]).sum(0))
            continue
        a1 = np.bincount(hs * n_dom + g, weights=rj * rj, minlength=n_h * n_dom).reshape(n_h, n_dom)
        b1 = np.bincount(hs * n_dom + g, weights=rj, minlength=n_h * n_dom).reshape(n_h, n_dom)
        if cal is not None:
            g2 = np.bincount((hs * nc + c) * n_dom + g, weights=rj * w,
                             minlength=n_h * nc * n_dom).reshape(n_h, nc, n_dom)
            a1 = a1 - 2.0 * np.einsum("hcd,cd->hd", g2, f) + qc @ (f * f)
            b1 = b1 - wc @ f
        ss = a1 - b1 * b1 / st.n_psu[:, None]
        out.append((ss * st.scale[:, None]).sum(0))
    return np.stack(out, axis=1) if out else np.zeros((n_dom, 0))
