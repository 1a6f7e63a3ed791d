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
    >>> round(float(vcov_totals(np.array([[1.0], [2.0], [3.0], [4.0]]), s, None)[0, 0]), 9)
    6.666666667
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

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


def indicator(idx: np.ndarray, size: int) -> sp.csr_matrix:
    """Sparse (size, n) matrix with a 1 at (idx[i], i): ``indicator(g, D) @ M`` sums rows by g."""
    n = len(idx)
    return sp.csr_matrix((np.ones(n), (idx, np.arange(n))), shape=(size, n))


def domain_var(r: np.ndarray, g: np.ndarray, n_dom: int, w: np.ndarray, st: Structure,
               cal: Calibration | None) -> np.ndarray:
    """Variances (D, J) of domain totals of linearized columns, without an n x D*J matrix.

    ``r`` (n, J) holds the influence value of each row for its own domain ``g[i]`` (rows outside
    every domain carry 0). The influence column of (domain d, item j) is ``1[g = d] * r[:, j]``;
    with calibration its residual is ``1[g = d] r_j - w * F[cell, d, j]`` where ``F`` comes from
    back-fitting the cell sums. Unclustered designs use per-stratum sums of squares; clustered
    ones PSU totals. All sums are sparse-indicator products (one pass per quantity).
    """
    n_j = r.shape[1]
    hs = st.stratum
    n_h = st.n_strata
    clustered = st.psu is not None
    unit = st.psu if clustered else hs  # rows are aggregated to PSU (clustered) or stratum sums
    n_unit = st.n_psus if clustered else n_h
    gu = indicator(g if n_unit == 1 else unit * n_dom + g, n_unit * n_dom)
    b1 = (gu @ r).reshape(n_unit, n_dom, n_j)
    if cal is not None:
        c, nc = cal.cell, cal.n_cells
        w = cal.weights(w)  # residuals are taken with the raking weights
        s = indicator(c * n_dom + g, nc * n_dom) @ (r / w[:, None])
        f = cal.backfit(s.reshape(nc, n_dom * n_j)).reshape(nc, n_dom, n_j)
        wc = np.bincount(unit * nc + c, weights=w, minlength=n_unit * nc).reshape(n_unit, nc)
        b1 = b1 - np.einsum("uc,cdj->udj", wc, f)
    if clustered:
        h = st.psu_stratum
        means = np.zeros((n_h, n_dom, n_j))
        np.add.at(means, h, b1)
        means /= st.n_psu[:, None, None]
        return (((b1 - means[h]) ** 2) * st.scale[h][:, None, None]).sum(0)
    a1 = (gu @ (r * r)).reshape(n_h, n_dom, n_j)
    if cal is not None:
        g2 = (indicator((hs * nc + c) * n_dom + g, n_h * nc * n_dom) @ (r * w[:, None]))
        qc = np.bincount(hs * nc + c, weights=w * w, minlength=n_h * nc).reshape(n_h, nc)
        a1 = (a1 - 2.0 * np.einsum("hcdj,cdj->hdj", g2.reshape(n_h, nc, n_dom, n_j), f)
              + np.einsum("hc,cdj->hdj", qc, f * f))
    ss = a1 - b1 * b1 / st.n_psu[:, None, None]
    return (ss * st.scale[:, None, None]).sum(0)


# ---------------------------------------------------------------------- moment engine
@dataclass(frozen=True, eq=False)
class Column:
    """One estimand column: values ``y`` (0 where invalid), validity ``a``, ``binary`` if 0/1."""

    y: np.ndarray
    a: np.ndarray
    binary: bool


def bin_moments(cols: list[Column], idx: np.ndarray, nb: int, wpow: dict[Any, np.ndarray | None],
                powers: tuple[Any, ...]) -> dict[tuple[Any, int], np.ndarray]:
    """Per-bin sums ``S[k, m] = sum w^k a y^m`` (nb, J) for k in ``powers`` and m = 0, 1, 2.

    Binary columns need one bincount per k (category ``a * (1 + y)``); others three.
    """
    out = {(k, m): np.empty((nb, len(cols))) for k in powers for m in range(3)}
    for j, col in enumerate(cols):
        if col.binary:
            ix = idx * 3 + col.a * (1 + col.y.astype(np.int64))
            for k in powers:
                c = np.bincount(ix, weights=wpow[k], minlength=3 * nb).reshape(nb, 3)
                out[k, 0][:, j] = c[:, 1] + c[:, 2]
                out[k, 1][:, j] = out[k, 2][:, j] = c[:, 2]
        else:
            for k in powers:
                wk = col.a if wpow[k] is None else wpow[k] * col.a
                out[k, 0][:, j] = np.bincount(idx, weights=wk, minlength=nb)
                out[k, 1][:, j] = np.bincount(idx, weights=wk * col.y, minlength=nb)
                out[k, 2][:, j] = np.bincount(idx, weights=wk * col.y * col.y, minlength=nb)
    return out


@dataclass(frozen=True)
class DomainSums:
    """Domain sums (D, J): count, sum w, sum w y, sum w y^2 over valid rows."""

    nobs: np.ndarray
    wsum: np.ndarray
    num: np.ndarray
    wy2: np.ndarray


def domain_estimates(cols: list[Column], g: np.ndarray, n_dom: int, w: np.ndarray,
                     st: Structure, cal: Calibration | None, kind: str,
                     ) -> tuple[DomainSums, np.ndarray, np.ndarray]:
    """Domain sums, estimates (D, J) and their variances (D, J) for ``kind`` mean or total.

    Influence of row i for its domain: ``a w (alpha y + beta)`` with ``alpha = 1 / W``,
    ``beta = -ybar / W`` (mean) or ``alpha = 1, beta = 0`` (total), so every sum the variance
    needs is a combination of per-bin moments ``S[k, m]``; rows are read once per moment.
    Rows with ``g = -1`` belong to no domain.
    """
    d1 = n_dom + 1  # last domain collects rows outside every domain
    gd = np.where(g < 0, n_dom, g)
    nc = 1 if cal is None else cal.n_cells
    cell = np.zeros(st.n, np.int64) if cal is None else cal.cell
    wpow: dict[Any, np.ndarray | None] = {0: None, 1: w, 2: w * w}
    psw = w if cal is None else cal.weights(w)  # raking weights (differ after trim())
    kr, kwp = 0, 2  # moments with w / psw and w * psw: powers 0 and 2 unless trimmed
    if cal is not None and not cal.same_weights(w):
        kr, kwp = "r", "wp"
        wpow.update(r=w / psw, wp=w * psw)
    clustered = st.psu is not None
    n_j = len(cols)
    if clustered:
        m_cd = bin_moments(cols, cell * d1 + gd, nc * d1, wpow, (0, 1, kr))
        m_pd = bin_moments(cols, st.psu * d1 + gd, st.n_psus * d1, wpow, (1,))
        cd = {k: v.reshape(nc, d1, n_j)[:, :n_dom] for k, v in m_cd.items()}
    else:
        n_h = st.n_strata
        m_hcd = bin_moments(cols, (st.stratum * nc + cell) * d1 + gd, n_h * nc * d1, wpow,
                            tuple(dict.fromkeys((0, 1, 2, kr, kwp))))
        hcd = {k: v.reshape(n_h, nc, d1, n_j)[:, :, :n_dom] for k, v in m_hcd.items()}
        cd = {k: v.sum(0) for k, v in hcd.items()}
    sums = DomainSums(cd[0, 0].sum(0), cd[1, 0].sum(0), cd[1, 1].sum(0), cd[1, 2].sum(0))
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "total":
            est, alpha, beta = sums.num, np.ones_like(sums.num), np.zeros_like(sums.num)
        else:
            est = sums.num / sums.wsum
            alpha, beta = 1.0 / sums.wsum, -est / sums.wsum
    f = None
    if cal is not None:
        s = alpha * cd[kr, 1] + beta * cd[kr, 0]  # (C, D, J) sums of R / psw
        f = cal.backfit(s.reshape(nc, -1)).reshape(nc, n_dom, n_j)
    if clustered:
        pd_ = {k: v.reshape(st.n_psus, d1, n_j)[:, :n_dom] for k, v in m_pd.items()}
        t = alpha * pd_[1, 1] + beta * pd_[1, 0]  # (P, D, J) PSU totals of R
        if f is not None:
            wc = np.bincount(st.psu * nc + cell, weights=psw,
                             minlength=st.n_psus * nc).reshape(st.n_psus, nc)
            t = t - np.einsum("pc,cdj->pdj", wc, f)
        h = st.psu_stratum
        means = np.zeros((st.n_strata, n_dom, n_j))
        np.add.at(means, h, t)
        means /= st.n_psu[:, None, None]
        return sums, est, (((t - means[h]) ** 2) * st.scale[h][:, None, None]).sum(0)
    a1 = (alpha**2 * hcd[2, 2] + 2 * alpha * beta * hcd[2, 1] + beta**2 * hcd[2, 0]).sum(1)
    b1 = (alpha * hcd[1, 1] + beta * hcd[1, 0]).sum(1)  # (H, D, J)
    if f is not None:
        hc = st.stratum * nc + cell
        wc = np.bincount(hc, weights=psw, minlength=n_h * nc).reshape(n_h, nc)
        qc = np.bincount(hc, weights=psw * psw, minlength=n_h * nc).reshape(n_h, nc)
        rw = alpha * hcd[kwp, 1] + beta * hcd[kwp, 0]  # (H, C, D, J) sums of R psw
        a1 = a1 - 2.0 * np.einsum("hcdj,cdj->hdj", rw, f) + np.einsum("hc,cdj->hdj", qc, f * f)
        b1 = b1 - np.einsum("hc,cdj->hdj", wc, f)
    ss = a1 - b1 * b1 / st.n_psu[:, None, None]
    return sums, est, (ss * st.scale[:, None, None]).sum(0)
