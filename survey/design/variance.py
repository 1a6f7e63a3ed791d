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

__all__ = ["LONELY", "RAKE_SWEEPS", "Calibration", "Column", "DomainSums", "Stage", "Structure",
           "domain_estimates", "domain_var", "indicator", "make_structure", "psu_totals",
           "residualize", "vcov_totals"]

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


def _dense(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes of ``key`` (values in [0, size)) and the key of each code, in key order."""
    if size <= 4 * len(key) + 1024:
        present = np.bincount(key, minlength=size) > 0
        remap = np.cumsum(present) - 1
        return remap[key], np.flatnonzero(present)
    uniq, code = np.unique(key, return_inverse=True)
    return code.ravel(), uniq


def domain_var(r: np.ndarray, g: np.ndarray, n_dom: int, w: np.ndarray, st: Structure,
               cal: Calibration | None, a: np.ndarray | None = None) -> np.ndarray:
    """Variances (D, J) of domain totals of linearized columns, without an n x D*J matrix.

    ``r`` (n, J) holds the influence value of each row for its own domain ``g[i]`` (rows outside
    every domain carry 0); the influence column of (domain d, item j) is ``1[g = d] r[:, j]``,
    with calibration its residual ``1[g = d] r_j - psw F[cell, d, j]`` (``F`` from back-fitting
    cell sums). Per stage, units' totals are centred within strata in two passes (the stratum
    mean first, then the squares of the deviations): no raw second moments, so a variable of
    mean 1e10 loses nothing. ``a`` (n, J) marks the rows in each item's domain (validity); it
    is only read for the lonely-PSU rules "adjust" and "average".
    """
    r = np.asarray(r, float)
    n_j = r.shape[1]
    d, d1 = n_dom, n_dom + 1
    inside = g >= 0
    gd = np.where(inside, g, d)
    need_pres = _needs_presence(st)
    if need_pres:
        af = (np.broadcast_to(inside[:, None], r.shape) if a is None
              else np.asarray(a, bool) & inside[:, None]).astype(float)
    f = psw = cell = None
    if cal is not None:
        psw, cell, nc = cal.weights(w), cal.cell, cal.n_cells
        s = (indicator(cell * d1 + gd, nc * d1) @ (r / psw[:, None])).reshape(nc, d1, n_j)
        f = cal.backfit(s[:, :d].reshape(nc, d * n_j)).reshape(nc, d, n_j)
    all_in = bool(inside.all())
    rows = slice(None) if all_in else inside
    total = np.zeros((d, n_j))
    for sg in st.all_stages:
        if not np.any(sg.mult > 0):
            continue
        n_h, nu = sg.n_strata, sg.n_unit.astype(float)
        pres = None
        if need_pres and sg.lonely.any():
            pres = (indicator(sg.stratum * d1 + gd, n_h * d1) @ af).reshape(n_h, d1, n_j)
            pres = pres[:, :d] > 0
        if f is not None and sg.unit is not None:  # calibrated, clustered: dense unit totals
            u, n_u = sg.unit, sg.n_units
            t = (indicator(u * d1 + gd, n_u * d1) @ r).reshape(n_u, d1, n_j)[:, :d]
            wc = np.bincount(u * nc + cell, weights=psw, minlength=n_u * nc).reshape(n_u, nc)
            t = (t - np.einsum("uc,cdj->udj", wc, f)).reshape(n_u, -1)
            ind = indicator(sg.unit_stratum, n_h)
            s_h = np.asarray(ind @ t)
            dev = t - (s_h / nu[:, None])[sg.unit_stratum]
            ss = np.asarray(ind @ (dev * dev)).reshape(n_h, d, n_j)
            s_h = s_h.reshape(n_h, d, n_j)
        elif f is not None:  # calibrated, rows are the units
            h = sg.stratum
            key = (h * d + gd)[rows]
            fg = f.reshape(nc * d, n_j)[(cell * d + np.minimum(gd, d - 1))[rows]]
            t = r[rows] - psw[rows, None] * fg
            ind = indicator(key, n_h * d)
            hc = h * nc + cell
            q1 = np.bincount(hc, weights=psw, minlength=n_h * nc).reshape(n_h, nc)
            q2 = np.bincount(hc, weights=psw * psw, minlength=n_h * nc).reshape(n_h, nc)
            hcd = hc * d1 + gd
            q1o = q1[:, :, None] - np.bincount(hcd, weights=psw, minlength=n_h * nc * d1
                                               ).reshape(n_h, nc, d1)[:, :, :d]
            q2o = q2[:, :, None] - np.bincount(hcd, weights=psw * psw, minlength=n_h * nc * d1
                                               ).reshape(n_h, nc, d1)[:, :, :d]
            n_out = nu[:, None] - np.bincount(h * d1 + gd, minlength=n_h * d1
                                              ).reshape(n_h, d1)[:, :d]
            q1f = np.einsum("hcd,cdj->hdj", q1o, f)
            s_h = np.asarray(ind @ t).reshape(n_h, d, n_j) - q1f
            m = s_h / nu[:, None, None]
            dev = t - m.reshape(n_h * d, n_j)[key]
            ss = (np.asarray(ind @ (dev * dev)).reshape(n_h, d, n_j)
                  + np.einsum("hcd,cdj->hdj", q2o, f * f) + 2 * m * q1f
                  + n_out[:, :, None] * m * m)
        else:  # no calibration: (unit, domain) pairs present in the data
            if sg.unit is None:
                t = r[rows]
                key = (sg.stratum * d + gd)[rows]
            else:
                code, ukeys = _dense((sg.unit * d1 + gd)[rows], sg.n_units * d1)
                t = np.asarray(indicator(code, len(ukeys)) @ r[rows])
                key = sg.unit_stratum[ukeys // d1] * d + ukeys % d1
            ind = indicator(key, n_h * d)
            s_h = np.asarray(ind @ t).reshape(n_h, d, n_j)
            m = s_h / nu[:, None, None]
            dev = t - m.reshape(n_h * d, n_j)[key]
            cnt = np.bincount(key, minlength=n_h * d).reshape(n_h, d)
            ss = (np.asarray(ind @ (dev * dev)).reshape(n_h, d, n_j)
                  + (nu[:, None] - cnt)[:, :, None] * m * m)
        total += _stage_var(sg, s_h, np.maximum(ss, 0.0), pres, st.lonely_psu)
    return total


# ---------------------------------------------------------------------- domain estimates
@dataclass(frozen=True, eq=False)
class Column:
    """One estimand column: values ``y`` (0 where invalid), validity ``a``, ``binary`` if 0/1."""

    y: np.ndarray
    a: np.ndarray
    binary: bool


@dataclass(frozen=True)
class DomainSums:
    """Domain sums (D, J): count, sum w, sum w y, and ``dev2 = sum w (y - ybar)^2`` (centred)."""

    nobs: np.ndarray
    wsum: np.ndarray
    num: np.ndarray
    dev2: np.ndarray


def column_influence(col: Column, gd: np.ndarray, n_dom: int, w: np.ndarray, kind: str
                     ) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Domain sums (nobs, W, sum w y, dev2, estimate) of one column and its influence per row.

    Influence of row i for its own domain: ``a w (y - ybar) / W`` (mean) or ``a w y`` (total).
    Binary columns take one weighted count per (domain, answer); others are centred in two
    passes: at one of the domain's own values first (so a constant gives exactly 0), then at
    the mean of those deviations, so ``dev2`` and the influence keep their digits whatever
    the level of ``y``.
    """
    d1 = n_dom + 1
    if col.binary:
        cat = gd * 3 + col.a * (1 + col.y.astype(np.int64))
        cw = np.bincount(cat, weights=w, minlength=3 * d1).reshape(d1, 3)[:n_dom]
        cn = np.bincount(cat, minlength=3 * d1).reshape(d1, 3)[:n_dom]
        wsum, num = cw[:, 1] + cw[:, 2], cw[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = num / wsum
            safe_w = np.where(wsum > 0, wsum, 1.0)
            dev2 = num * (1 - mu) ** 2 + (wsum - num) * mu * mu
        tab = np.zeros((d1, 3))
        if kind == "total":
            tab[:n_dom, 2] = 1.0
        else:
            tab[:n_dom, 1] = np.where(wsum > 0, -mu / safe_w, 0.0)
            tab[:n_dom, 2] = np.where(wsum > 0, (1 - mu) / safe_w, 0.0)
        r = w * tab.ravel()[cat]
        est = num if kind == "total" else mu
        return (cn[:, 1] + cn[:, 2], wsum, num, dev2, est), r
    a = col.a
    aw = w * a
    nobs = np.bincount(gd, weights=a, minlength=d1)[:n_dom]
    wsum_all = np.bincount(gd, weights=aw, minlength=d1)
    wsum = wsum_all[:n_dom]
    num = np.bincount(gd, weights=aw * col.y, minlength=d1)[:n_dom]
    safe = np.where(wsum_all > 0, wsum_all, 1.0)
    pos = np.flatnonzero(a)[::-1]
    pivot = np.zeros(d1)
    pivot[gd[pos]] = col.y[pos]  # a value of each domain (the first): constants centre to 0
    e = col.y - pivot[gd]
    delta = np.bincount(gd, weights=aw * e, minlength=d1) / safe
    mu = pivot + delta
    e -= delta[gd]
    ae = aw * e
    dev2 = np.bincount(gd, weights=ae * e, minlength=d1)[:n_dom]
    r = aw * col.y if kind == "total" else ae / safe[gd]
    r[gd == n_dom] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        est = num if kind == "total" else np.where(wsum > 0, mu[:n_dom], np.nan)
    return (nobs, wsum, num, dev2, est), r


def domain_estimates(cols: list[Column], g: np.ndarray, n_dom: int, w: np.ndarray,
                     st: Structure, cal: Calibration | None, kind: str, chunk: int = 8,
                     ) -> tuple[DomainSums, np.ndarray, np.ndarray]:
    """Domain sums, estimates (D, J) and their variances (D, J) for ``kind`` mean or total.

    Rows with ``g = -1`` belong to no domain. Columns are processed ``chunk`` at a time: their
    influence columns (n, chunk) go to :func:`domain_var`.
    """
    gd = np.where(g < 0, n_dom, g)
    n_j = len(cols)
    out = {k: np.empty((n_dom, n_j)) for k in ("nobs", "wsum", "num", "dev2", "est", "var")}
    need_a = _needs_presence(st)
    for j0 in range(0, n_j, max(chunk, 1)):
        part = cols[j0:j0 + chunk]
        r = np.empty((st.n, len(part)))
        for k, col in enumerate(part):
            sums, r[:, k] = column_influence(col, gd, n_dom, w, kind)
            for name, v in zip(("nobs", "wsum", "num", "dev2", "est"), sums, strict=True):
                out[name][:, j0 + k] = v
        a = np.column_stack([c.a for c in part]) if need_a else None
        out["var"][:, j0:j0 + len(part)] = domain_var(r, g, n_dom, w, st, cal, a)
    sums = DomainSums(out["nobs"], out["wsum"], out["num"], out["dev2"])
    return sums, out["est"], out["var"]
