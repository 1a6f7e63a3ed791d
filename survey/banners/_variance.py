"""Design covariance of the column estimates of one group of columns, per row of a block."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from survey.banners._blocks import _Block
from survey.banners._columns import _Group
from survey.banners._parts import _Parts


# ---------------------------------------------------------------------------------------------
# Design covariance of the column estimates of one group, per row
# ---------------------------------------------------------------------------------------------
def _influence(blk: _Block, grp: _Group, est: np.ndarray, sw: np.ndarray, w: np.ndarray,
               rows: Sequence[int] | slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
    """Weighted influence values ``w (y - p_g) / N_g`` of each respondent for its own domain
    (n × rows; 0 outside the base or the group) and the clipped domain codes."""
    inside = (grp.g >= 0) & blk.base
    gg = np.where(grp.g >= 0, grp.g, 0)
    inv = np.where(sw > 0, 1.0 / np.where(sw > 0, sw, 1.0), 0.0)
    Y = blk.Y[:, rows]
    R = (w * inside * inv[gg])[:, None] * (Y - np.nan_to_num(est[:, rows])[gg])
    return R, gg


def _primitive_cov(blk: _Block, groups: list[_Group], est: np.ndarray, sw: np.ndarray,
                   w: np.ndarray, parts: _Parts) -> list[np.ndarray]:
    """Per group, the covariance (R, D, D) of its column estimates for every row of ``blk``,
    through the design's primitive ``Design._vcov_totals`` on the dense influence matrix.

    The influence column of domain d for row r is ``z_d = 1[g = d] w (y_r - p_rd) / N_d``; the
    covariance of their estimated totals is the design's (strata, PSUs, calibration). All groups
    go into one call (rows split only to bound memory).
    """
    n, R = blk.Y.shape
    width = sum(len(g.cols) for g in groups)
    per = max(1, int(2.5e7 // max(n * width, 1)))
    out = [np.empty((R, len(g.cols), len(g.cols))) for g in groups]
    for lo in range(0, R, per):
        rows = list(range(lo, min(lo + per, R)))
        Zs, where = [], []
        k = 0
        for gi, grp in enumerate(groups):
            cols = np.asarray(grp.cols)
            D = len(cols)
            Rm, gg = _influence(blk, grp, est[cols], sw[cols], w, rows)
            onehot = gg[:, None] == np.arange(D)[None, :]
            Zs.append((Rm[:, :, None] * onehot[:, None, :]).reshape(n, len(rows) * D))
            where.append((gi, k, D))
            k += len(rows) * D
        Vz = np.asarray(parts.vcov(np.hstack(Zs)))
        for gi, k0, D in where:
            for j, r in enumerate(rows):
                a = k0 + j * D
                out[gi][r] = Vz[a:a + D, a:a + D]
    return out


def _block_stats(blk: _Block, w: np.ndarray) -> np.ndarray:
    """Per-respondent columns whose cell sums give estimates and variances (n × (3 + 5R)):
    ``b, w b, w² b, y, w y, w² y, w² y², w y²`` (``y`` is 0 outside the base ``b``)."""
    b = blk.base.astype(float)
    Y = blk.Y
    R = Y.shape[1]
    X = np.empty((len(b), 3 + 5 * R))
    w2 = w * w
    X[:, 0] = b
    np.multiply(w, b, out=X[:, 1])
    np.multiply(w2, b, out=X[:, 2])
    X[:, 3:3 + R] = Y
    np.multiply(w[:, None], Y, out=X[:, 3 + R:3 + 2 * R])
    np.multiply(w2[:, None], Y, out=X[:, 3 + 2 * R:3 + 3 * R])
    np.multiply(X[:, 3 + 2 * R:3 + 3 * R], Y, out=X[:, 3 + 3 * R:3 + 4 * R])
    np.multiply(X[:, 3 + R:3 + 2 * R], Y, out=X[:, 3 + 4 * R:3 + 5 * R])
    return X


def _cell_sums(blk: _Block, w: np.ndarray, cells: _Cells, X: list[np.ndarray]) -> np.ndarray:
    """Cell sums (K × (3 + 5R)) of the columns of :func:`_block_stats`.

    A single-select block is summed by (cell, option) with three weighted counts — ``1, w, w²``
    — and its rows (options and nets) assembled from those, since ``y`` is 0/1 and ``y² = y``;
    other blocks sum the per-respondent columns (computed once per block, kept in ``X``).
    """
    K = len(cells.d)
    if blk.codes is None:
        if not X:
            X.append(_block_stats(blk, w))
        return np.asarray(cells.M @ X[0])
    n_opt = max(max(st) for st in blk.sets) + 1
    ok = (cells.row >= 0) & (blk.codes >= 0)
    if ok.all():  # everyone in a cell and answering: no masked copies
        key = cells.row * n_opt + blk.codes
        wk = w
    else:
        key = cells.row[ok] * n_opt + blk.codes[ok]
        wk = w[ok]
    cnt = [np.bincount(key, weights=x, minlength=K * n_opt).reshape(K, n_opt)
           for x in (None, wk, wk * wk)]
    by_row = [np.column_stack([c[:, list(st)].sum(axis=1) for st in blk.sets]) for c in cnt]
    tot = [c.sum(axis=1, keepdims=True) for c in cnt]
    n_y, w_y, w2_y = by_row
    return np.hstack([*tot, n_y, w_y, w2_y, w2_y, w_y])


@dataclass(frozen=True, eq=False)
class _Cells:
    """The non-empty cells (unit × calibration cell × domain) of one group.

    ``M`` (K × n sparse) sums respondents into cells; ``u``, ``c``, ``d`` are each cell's unit
    (stratum when unclustered, PSU when clustered; 0 when only estimates are needed),
    calibration cell and domain.
    """

    M: Any
    u: np.ndarray
    c: np.ndarray
    d: np.ndarray
    row: np.ndarray  # (n,) cell of each respondent, -1 outside the group


def _cells(grp: _Group, parts: _Parts, full: bool, cache: dict[str, Any]) -> _Cells:
    """The cells of ``grp`` (cached per group): by domain only, or (``full``) by
    stratum-or-PSU × calibration cell × domain for the aggregated design variance."""
    key_name = "cells_full" if full else "cells_dom"
    if key_name in cache:
        return cache[key_name]
    from scipy import sparse

    st, cal = parts.st, parts.cal
    D = len(grp.cols)
    inside = grp.g >= 0
    gg = np.where(inside, grp.g, 0)
    if full:
        unit = st.psu if st.psu is not None else st.stratum
        nc = cal.n_cells if cal is not None else 1
        cell = cal.cell if cal is not None else np.zeros(st.n, np.int64)
        key = (unit.astype(np.int64) * nc + cell) * D + gg
    else:
        nc, key = 1, gg.astype(np.int64)
    key = np.where(inside, key, -1)
    uniq, inv = np.unique(key, return_inverse=True)
    inv = inv.ravel()
    keep = inside
    if uniq.size and uniq[0] == -1:
        uniq, inv = uniq[1:], inv - 1
    n = len(key)
    M = sparse.csr_matrix((np.ones(int(keep.sum())), (inv[keep], np.flatnonzero(keep))),
                          shape=(len(uniq), n))
    d = uniq % D
    c = (uniq // D) % nc
    u = uniq // (D * nc)
    out = _Cells(M, u, c, d, np.where(keep, inv, -1))
    cache[key_name] = out
    return out


def _cells_cov(cells: _Cells, S: np.ndarray, R: int, est: np.ndarray, sw: np.ndarray,
               parts: _Parts, cache: dict[str, Any]) -> np.ndarray:
    """The design's ``vcov_totals`` of the domain influence columns, from cell sums (R, D, D).

    Algebraically R's ``svyrecvar`` (as ``Design._vcov_totals``) without the n × D·R matrix.
    With ``R_i = w_i (y_i - p_d) / N_d`` for a respondent of domain d, the calibration residual
    of column d is ``e_d = 1[g = d] R - w F[cell, d]`` where ``F`` is the raking back-fit of
    the cell sums of ``z / w``; every sum the variance needs (``Σ R``, ``Σ R²``, ``Σ R w``,
    ``Σ R / w`` by cell) is a combination of the cell sums ``S`` of :func:`_block_stats`.
    """
    st, cal = parts.st, parts.cal
    D = len(sw)
    u, c, d = cells.u, cells.c, cells.d
    b_, wb, w2b = S[:, 0], S[:, 1], S[:, 2]
    y, wy, w2y, w2y2 = (S[:, 3 + k * R:3 + (k + 1) * R] for k in range(4))
    p = np.nan_to_num(est)[d]  # K × R
    inv = np.where(sw > 0, 1.0 / np.where(sw > 0, sw, 1.0), 0.0)[d][:, None]
    sum_r = (wy - p * wb[:, None]) * inv  # Σ R per cell
    clustered = st.psu is not None
    n_unit = st.n_psus if clustered else st.n_strata
    nc = cal.n_cells if cal is not None else 1
    T = np.zeros((n_unit, D, R))
    np.add.at(T, (u, d), sum_r)
    F = None
    if cal is not None:
        sum_rw_inv = (y - p * b_[:, None]) * inv  # Σ R / w per cell
        Sc = np.zeros((nc, D, R))
        np.add.at(Sc, (c, d), sum_rw_inv)
        F = cal.backfit(Sc.reshape(nc, D * R)).reshape(nc, D, R)
        if "W_uc" not in cache:
            unit = st.psu if clustered else st.stratum
            cache["W_uc"] = np.bincount(unit * nc + cal.cell, weights=parts.w,
                                        minlength=n_unit * nc).reshape(n_unit, nc)
            cache["Q_hc"] = np.bincount(st.stratum * nc + cal.cell, weights=parts.w**2,
                                        minlength=st.n_strata * nc).reshape(st.n_strata, nc)
        T = T - np.einsum("uc,cdj->udj", cache["W_uc"], F)
    if clustered:
        h = st.psu_stratum
        means = np.zeros((st.n_strata, D, R))
        np.add.at(means, h, T)
        means /= st.n_psu[:, None, None]
        Tc = T - means[h]
        return np.einsum("p,pdj,pej->jde", st.scale[h], Tc, Tc)
    scale = st.scale
    sum_r2 = (w2y2 - 2 * p * w2y + p * p * w2b[:, None]) * inv * inv  # Σ R² per cell
    A = np.zeros((st.n_strata, D, R))
    np.add.at(A, (u, d), sum_r2)
    out = np.zeros((R, D, D))
    idx = np.arange(D)
    out[:, idx, idx] = np.einsum("h,hdj->jd", scale, A)
    if F is not None:
        sum_rw = (w2y - p * w2b[:, None]) * inv  # Σ R w per cell
        G = np.zeros((st.n_strata, nc, D, R))
        np.add.at(G, (u, c, d), sum_rw)
        GF = np.einsum("h,hcdj,cej->jde", scale, G, F)
        out -= GF + GF.transpose(0, 2, 1)
        out += np.einsum("h,hc,cdj,cej->jde", scale, cache["Q_hc"], F, F)
    out -= np.einsum("h,hdj,hej->jde", scale / st.n_psu, T, T)
    return out


# ---------------------------------------------------------------------------------------------
# Overlapping columns (multi-select banner variables) and tests against the Total
# ---------------------------------------------------------------------------------------------
def membership(grp: _Group, n: int) -> np.ndarray:
    """n × D membership of the group's columns (``masks``, or one-hot of ``g``)."""
    if grp.masks is not None:
        return grp.masks
    return grp.g[:, None] == np.arange(len(grp.cols))[None, :]


def overlap_sums(blk: _Block, grp: _Group, w: np.ndarray) -> np.ndarray:
    """Per column (D × (3 + 5R)) the sums of :func:`_block_stats` over its members."""
    M = (grp.masks & blk.base[:, None]).astype(float)
    return M.T @ _block_stats(blk, w)


def dense_cov(blk: _Block, M: np.ndarray, est: np.ndarray, sw: np.ndarray, w: np.ndarray,
              parts: _Parts) -> np.ndarray:
    """The design covariance (R, D, D) of the estimates ``est`` (D × R) of D possibly overlapping columns
    with membership ``M`` (n × D): ``vcov_totals`` of ``z_d = 1[d] w (y - p_d) / N_d``."""
    n, R = blk.Y.shape
    D = M.shape[1]
    inside = M & blk.base[:, None]
    inv = np.where(sw > 0, 1.0 / np.where(sw > 0, sw, 1.0), 0.0)
    out = np.empty((R, D, D))
    per = max(1, int(2.5e7 // max(n * D, 1)))
    for lo in range(0, R, per):
        rows = range(lo, min(lo + per, R))
        Z = np.hstack([inside * (w[:, None] * inv[None, :])
                       * (blk.Y[:, [r]] - np.nan_to_num(est[:, r])[None, :]) for r in rows])
        Vz = np.asarray(parts.vcov(Z))
        for j, r in enumerate(rows):
            out[r] = Vz[j * D:(j + 1) * D, j * D:(j + 1) * D]
    return out
