"""Cells and pairwise tests of one block: estimates, SEs, bases, letters."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy import special

from survey.banners._blocks import _Block
from survey.banners._columns import _Col, _Group
from survey.banners._parts import _Parts
from survey.banners._text import Adjust, Test
from survey.banners._variance import (
    _cell_sums,
    _Cells,
    _cells,
    _cells_cov,
    _primitive_cov,
    dense_cov,
    membership,
    overlap_sums,
)
from survey.errors import EstimationError


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------
def _adjust(p: np.ndarray, method: Adjust) -> np.ndarray:
    """Adjusted p-values for one family (NaN = not tested, excluded from the family)."""
    out = p.copy()
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if method is None or m <= 1:
        return out
    if method == "bonferroni":
        out[ok] = np.minimum(p[ok] * m, 1.0)
        return out
    if method == "holm":
        pv = p[ok]
        order = np.argsort(pv)
        adj = np.maximum.accumulate((m - np.arange(m)) * pv[order])
        res = np.empty(m)
        res[order] = np.minimum(adj, 1.0)
        out[ok] = res
        return out
    if method == "BH":  # Benjamini-Hochberg step-up (R's p.adjust(method = "BH"))
        pv = p[ok]
        order = np.argsort(pv)[::-1]
        adj = np.minimum.accumulate(m / np.arange(m, 0, -1) * pv[order])
        res = np.empty(m)
        res[order] = np.minimum(adj, 1.0)
        out[ok] = res
        return out
    raise EstimationError(f"unknown adjustment {method!r}", value=method,
                          expected="None, 'bonferroni', 'holm' or 'BH'")


def z_effective_base(p1: float, n1: float, p2: float, n2: float) -> float:
    """Column-proportion z on effective bases with the pooled proportion.

    ``z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2))``, ``p = (n1 p1 + n2 p2) / (n1 + n2)``.

    Example:
        >>> round(z_effective_base(0.6, 100, 0.4, 100), 4)
        2.8284
    """
    p = (n1 * p1 + n2 * p2) / (n1 + n2)
    v = p * (1 - p) * (1 / n1 + 1 / n2)
    return (p1 - p2) / math.sqrt(v) if v > 0 else 0.0



# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------
_SCHEMA = {
    "question_id": pl.String, "item": pl.String, "block": pl.Int32, "row_code": pl.String,
    "row_label_zh": pl.String, "row_label_en": pl.String, "row_kind": pl.String,
    "block_label_zh": pl.String, "block_label_en": pl.String,
    "col_variable": pl.String, "col_var_zh": pl.String, "col_var_en": pl.String,
    "col_level": pl.String, "col_label_zh": pl.String, "col_label_en": pl.String,
    "letter": pl.String, "estimate": pl.Float64, "se": pl.Float64, "n": pl.Int64,
    "n_eff": pl.Float64, "sig_higher_than": pl.String, "suppressed": pl.Boolean,
    "low_base": pl.Boolean, "count": pl.Float64, "base_weighted": pl.Float64,
    "row_pct": pl.Float64, "vs_total": pl.String, "not_asked": pl.Boolean, "deff": pl.Float64,
}

_PAIR_SCHEMA = {
    "question_id": pl.String, "item": pl.String, "row_code": pl.String, "col_variable": pl.String,
    "col_a": pl.String, "col_b": pl.String, "letter_a": pl.String, "letter_b": pl.String,
    "diff": pl.Float64, "se_diff": pl.Float64, "stat": pl.Float64, "p_value": pl.Float64,
    "p_adjusted": pl.Float64, "significant": pl.Boolean,
}

PUBLIC_COLUMNS = [
    "question_id", "item", "row_code", "row_label", "row_kind", "col_variable", "col_level",
    "col_label", "letter", "estimate", "se", "n", "n_eff", "sig_higher_than", "suppressed",
    "low_base", "count", "base_weighted", "row_pct", "vs_total", "not_asked", "deff",
]



def _tabulate(
    blk: _Block,
    block_no: int,
    spec: list[_Col],
    groups: list[_Group],
    w: np.ndarray,
    parts: _Parts,
    test: Test,
    alpha: float,
    adjust: Adjust,
    suppress_below: int,
    flag_below: int,
    path: str,
    cache: dict[int, dict[str, Any]],
    strings: _Strings,
    vs_total: bool = False,
) -> tuple[tuple[pl.DataFrame, dict[str, Any]], dict[str, Any]]:
    R = len(blk.rows)
    C = len(spec)
    # weighted sums by cell of every group (domain × stratum/PSU × calibration cell)
    X: list[np.ndarray] = []
    full = test == "design" and path == "aggregated"
    sw, sw2, n_w = np.zeros(C), np.zeros(C), np.zeros(C)
    est, m2 = np.full((C, R), np.nan), np.full((C, R), np.nan)
    sums: list[tuple[_Cells, np.ndarray]] = []
    for gi, grp in enumerate(groups):
        if grp.masks is not None:  # overlapping columns: sums over each column's members
            Sd = overlap_sums(blk, grp, w)
            sums.append((None, Sd))
        else:
            cells_g = _cells(grp, parts, full, cache.setdefault(gi, {}))
            S = _cell_sums(blk, w, cells_g, X)  # K × (3 + 5R)
            Sd = np.zeros((len(grp.cols), S.shape[1]))
            np.add.at(Sd, cells_g.d, S)
            sums.append((cells_g, S))
        cols = np.asarray(grp.cols)
        sw[cols], sw2[cols], n_w[cols] = Sd[:, 1], Sd[:, 2], Sd[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            est[cols] = Sd[:, 3 + R:3 + 2 * R] / Sd[:, [1]]
            m2[cols] = Sd[:, 3 + 4 * R:3 + 5 * R] / Sd[:, [1]]
    asked = np.array([r.asked for r in blk.rows])
    est[:, ~asked] = np.nan
    n_unw = n_w.round().astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff = np.where(sw2 > 0, sw**2 / sw2, 0.0)
    is_mean = np.array([r.kind == "mean" for r in blk.rows])
    var_unit = np.where(is_mean[None, :], np.maximum(m2 - est**2, 0.0), est * (1 - est))
    suppressed = n_unw < suppress_below
    low = (n_unw < flag_below) & ~suppressed

    # standard errors and, for the design test, the covariance of the column estimates per row
    cov = None
    if test == "effective_base":
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(var_unit / n_eff[:, None])
    else:
        se = np.full((C, R), np.nan)
        cov = np.full((R, C, C), np.nan)
        disjoint = [g for g in groups if g.masks is None]
        prim = (_primitive_cov(blk, disjoint, est, sw, w, parts) if path == "primitive"
                else None)
        k = 0
        for gi, grp in enumerate(groups):
            cols = np.asarray(grp.cols)
            if grp.masks is not None:
                Vg = dense_cov(blk, grp.masks, est[cols], sw[cols], w, parts)
            elif prim is not None:
                Vg = prim[k]
                k += 1
            else:
                cells_g, S = sums[gi]
                Vg = _cells_cov(cells_g, S, R, est[cols], sw[cols], parts,
                                cache.setdefault(-1, {}))
            cov[:, cols[:, None], cols[None, :]] = Vg
            se[cols] = np.sqrt(np.maximum(np.diagonal(Vg, axis1=1, axis2=2), 0.0)).T
        if parts.domain_vcov is not None:  # lonely-PSU rules: each column's own domain
            for grp in groups:
                M = membership(grp, len(w)) & blk.base[:, None]
                for k, c in enumerate(grp.cols):
                    if not M[:, k].any() or sw[c] <= 0:
                        continue
                    Z = (M[:, [k]] * w[:, None] / sw[c]) * (blk.Y - np.nan_to_num(est[c])[None, :])
                    Vd = np.diag(parts.domain_vcov(M[:, k], Z))
                    se[c] = np.sqrt(np.maximum(Vd, 0.0))
                    cov[np.arange(R), c, c] = Vd
        se[sw <= 0] = np.nan

    # pairwise tests within each segment variable, all rows at once
    sig = np.full((C, R), "", dtype=object)
    tests: dict[str, list[np.ndarray]] = {k: [] for k in _PAIR_SCHEMA}
    for grp in groups:
        g = grp.cols
        if not grp.tested or len(g) < 2:
            continue
        ia, ib = (np.array(x, dtype=int) for x in zip(
            *[(a, c) for i, a in enumerate(g) for c in g[i + 1:]], strict=True))
        P = len(ia)
        diff = (est[ia] - est[ib]).T  # R×P
        with np.errstate(invalid="ignore", divide="ignore"):
            if test == "effective_base":
                na, nb = n_eff[ia][None, :], n_eff[ib][None, :]
                pa, pb = est[ia].T, est[ib].T
                pool = (na * pa + nb * pb) / (na + nb)
                v_prop = pool * (1 - pool) * (1 / na + 1 / nb)
                v_mean = var_unit[ia].T / na + var_unit[ib].T / nb
                v = np.where(is_mean[:, None], v_mean, v_prop)
            else:
                rr = np.arange(R)[:, None]
                v = (cov[rr, ia[None, :], ia[None, :]] + cov[rr, ib[None, :], ib[None, :]]
                     - 2 * cov[rr, ia[None, :], ib[None, :]])
            sed = np.sqrt(np.maximum(v, 0.0))
            stat = np.where(v > 0, diff / sed, 0.0)
        tested = ~(suppressed[ia] | suppressed[ib])[None, :] & np.isfinite(stat)
        tested = np.broadcast_to(tested, (R, P))
        if test == "effective_base":
            pv = 2 * special.ndtr(-np.abs(stat))
        else:
            pv = 2 * special.stdtr(parts.df, -np.abs(stat))
        pv = np.where(tested, pv, np.nan)
        padj = _adjust_rows(pv, adjust)
        significant = tested & (padj < alpha) & (diff != 0)
        for r, kk in np.argwhere(significant):
            hi, lo = (ia[kk], ib[kk]) if diff[r, kk] > 0 else (ib[kk], ia[kk])
            sig[hi, r] += spec[lo].letter or ""
        nan_if = np.where(tested, 1.0, np.nan)
        tests["row_code"].append(np.repeat(strings.ids([rw.code for rw in blk.rows]), P))
        tests["col_variable"].append(np.repeat(strings.ids([spec[ia[0]].variable]), R * P))
        tests["col_a"].append(np.tile(strings.ids([spec[i].level for i in ia]), R))
        tests["col_b"].append(np.tile(strings.ids([spec[i].level for i in ib]), R))
        tests["letter_a"].append(np.tile(strings.ids([spec[i].letter for i in ia]), R))
        tests["letter_b"].append(np.tile(strings.ids([spec[i].letter for i in ib]), R))
        tests["diff"].append((diff * nan_if).ravel())
        tests["se_diff"].append((sed * nan_if).ravel())
        tests["stat"].append((stat * nan_if).ravel())
        tests["p_value"].append(pv.ravel())
        tests["p_adjusted"].append(padj.ravel())
        tests["significant"].append(significant.ravel())
    npairs = sum(len(x) for x in tests["diff"])
    tests_out: dict[str, Any] = {
        k: (np.concatenate(v) if v else np.empty(0)) for k, v in tests.items()
        if k not in ("question_id", "item")
    }
    tests_out["question_id"] = np.repeat(strings.ids([blk.qid]), npairs)
    tests_out["item"] = np.repeat(strings.ids([blk.item]), npairs)

    # each column against the Total (overlapping samples: the column is part of the Total)
    mark = np.full((C, R), "", dtype=object)
    if vs_total and groups and groups[0].cols == [0] and not groups[0].tested:
        mark = _vs_total(blk, groups, spec, est, se, sw, n_eff, var_unit, is_mean, suppressed, w,
                         parts, test, alpha, adjust, strings, tests)
        npairs = sum(len(x) for x in tests["diff"])
        tests_out = {k: (np.concatenate(v) if v else np.empty(0)) for k, v in tests.items()
                     if k not in ("question_id", "item")}
        tests_out["question_id"] = np.repeat(strings.ids([blk.qid]), npairs)
        tests_out["item"] = np.repeat(strings.ids([blk.item]), npairs)

    # weighted counts and row percentages (share of the row's weighted count in a variable)
    with np.errstate(invalid="ignore", divide="ignore"):
        count = np.where(is_mean[None, :], np.nan, est * sw[:, None])
        row_pct = np.full((C, R), np.nan)
        for grp in groups:
            if grp.masks is None and grp.tested:
                cols = np.asarray(grp.cols)
                row_pct[cols] = count[cols] / np.nansum(count[cols], axis=0)[None, :]

    # design effect of each estimate: its variance over the SRS variance of the same base,
    # var_unit / (n - 1) (R's svymean(deff = "replace") in a domain; Design.proportion's deff)
    with np.errstate(invalid="ignore", divide="ignore"):
        deff = se**2 * (n_unw[:, None] - 1) / var_unit

    # cells, row-major: every column of row 0, then row 1, … (labels come from a cross join)
    hide = np.repeat(suppressed[None, :], R, axis=0)
    rows_df = {
        "question_id": [blk.qid] * R,
        "item": [blk.item] * R,
        "block": [block_no] * R,
        "row_code": [r.code for r in blk.rows],
        "row_label_zh": [r.zh for r in blk.rows],
        "row_label_en": [r.en for r in blk.rows],
        "row_kind": [r.kind for r in blk.rows],
        "block_label_zh": [blk.title_zh] * R,
        "block_label_en": [blk.title_en] * R,
    }
    numbers = {
        "estimate": np.where(hide | ~np.isfinite(est.T), np.nan, est.T).ravel(),
        "se": np.where(hide | ~np.isfinite(se.T), np.nan, se.T).ravel(),
        "n": np.tile(n_unw, R),
        "n_eff": np.tile(n_eff, R),
        "sig_higher_than": sig.T.ravel().tolist(),
        "suppressed": np.tile(suppressed, R),
        "low_base": np.tile(low, R),
        "count": np.where(hide | ~np.isfinite(count.T), np.nan, count.T).ravel(),
        "base_weighted": np.tile(sw, R),
        "row_pct": np.where(hide | ~np.isfinite(row_pct.T), np.nan, row_pct.T).ravel(),
        "vs_total": mark.T.ravel().tolist(),
        "not_asked": np.repeat(~asked, C),
        "deff": np.where(hide | ~np.isfinite(deff.T), np.nan, deff.T).ravel(),
    }
    return (rows_df, numbers), tests_out


def _vs_total(blk: _Block, groups: list[_Group], spec: list[_Col], est: np.ndarray,
              se: np.ndarray, sw: np.ndarray, n_eff: np.ndarray, var_unit: np.ndarray,
              is_mean: np.ndarray, suppressed: np.ndarray, w: np.ndarray, parts: _Parts,
              test: Test, alpha: float, adjust: Adjust, strings: _Strings,
              tests: dict[str, list[np.ndarray]]) -> np.ndarray:
    """Test every column against the Total (column 0); ``+``/``-`` where it is significantly
    higher/lower. Design test: ``Var(p_c - p_T) = V_cc + V_TT - 2 V_cT`` from the joint
    influence columns (the column's respondents are part of the Total's). Effective-base test:
    ``(1 - f)² p (1 - p) (1/n_c + 1/(n_T - n_c))`` with ``f = n_c / n_T`` (the column against
    the rest of the Total, rescaled), ``p`` the Total's."""
    C, R = est.shape
    n = len(w)
    others = [c for g in groups[1:] for c in g.cols]
    if not others:
        return np.full((C, R), "", dtype=object)
    M = np.hstack([membership(g, n) for g in groups])  # n × C, in spec order
    cols = np.asarray([0, *others])
    diff = (est[others] - est[[0]]).T  # R × P
    with np.errstate(invalid="ignore", divide="ignore"):
        if test == "design":
            V = dense_cov(blk, M[:, cols], est[cols], sw[cols], w, parts)
            v = V[:, 1:, 1:].diagonal(axis1=1, axis2=2) + V[:, [0], [0]] - 2 * V[:, 0, 1:]
        else:
            nc, nt = n_eff[others][None, :], n_eff[0]
            f = nc / nt
            pq = var_unit[[0]].T
            v = (1 - f) ** 2 * pq * (1 / nc + 1 / np.maximum(nt - nc, 1e-12))
        sed = np.sqrt(np.maximum(v, 0.0))
        stat = np.where(v > 0, diff / sed, 0.0)
    tested = (~suppressed[others][None, :] & ~suppressed[0]) & np.isfinite(stat)
    pv = (2 * special.ndtr(-np.abs(stat)) if test == "effective_base"
          else 2 * special.stdtr(parts.df, -np.abs(stat)))
    pv = np.where(tested, pv, np.nan)
    padj = _adjust_rows(pv, adjust)
    significant = tested & (padj < alpha) & (diff != 0)
    mark = np.full((C, R), "", dtype=object)
    for r, kk in np.argwhere(significant):
        mark[others[kk], r] = "+" if diff[r, kk] > 0 else "-"
    P = len(others)
    nan_if = np.where(tested, 1.0, np.nan)
    tests["row_code"].append(np.repeat(strings.ids([rw.code for rw in blk.rows]), P))
    tests["col_variable"].append(np.tile(strings.ids([spec[c].variable for c in others]), R))
    tests["col_a"].append(np.tile(strings.ids([spec[c].level for c in others]), R))
    tests["col_b"].append(np.tile(strings.ids([spec[0].level]), R * P))
    tests["letter_a"].append(np.tile(strings.ids([spec[c].letter for c in others]), R))
    tests["letter_b"].append(np.tile(strings.ids([None]), R * P))
    tests["diff"].append((diff * nan_if).ravel())
    tests["se_diff"].append((sed * nan_if).ravel())
    tests["stat"].append((stat * nan_if).ravel())
    tests["p_value"].append(pv.ravel())
    tests["p_adjusted"].append(padj.ravel())
    tests["significant"].append(significant.ravel())
    return mark


class _Strings:
    """Interned strings: per-block string columns are kept as codes into one table."""

    def __init__(self) -> None:
        self.code: dict[str | None, int] = {}

    def ids(self, values: Sequence[str | None]) -> np.ndarray:
        return np.array([self.code.setdefault(v, len(self.code)) for v in values], np.int64)

    def series(self, name: str, idx: np.ndarray) -> pl.Series:
        table = pl.Series(name, list(self.code), dtype=pl.String)
        return table.gather(idx) if len(idx) else table.clear()


def _stack(name: str, parts: list[Any], dtype: Any, strings: _Strings) -> pl.Series:
    """One Series of ``dtype`` from per-block arrays (string columns: codes of ``strings``)."""
    parts = [p for p in parts if len(p)]
    if dtype == pl.String:
        return strings.series(name, np.concatenate(parts) if parts else np.empty(0, np.int64))
    return pl.Series(name, np.concatenate(parts) if parts else [], dtype=dtype)


def _adjust_rows(p: np.ndarray, method: Adjust) -> np.ndarray:
    """:func:`_adjust` applied to each row of ``p`` (one family per row)."""
    if method is None:
        return p.copy()
    return np.vstack([_adjust(row, method) for row in p]) if p.size else p.copy()
