"""Banner books: crosstabs of row questions by segment columns with column-proportion letters.

``banner(design, rows, cols)`` tabulates every option (and net) of each row question — a mean for
numeric questions and constant-sum parts, one block per item of a grid — in a total column and
one column per level of each segment variable, and marks with letters (A, B, C … restarting for
each segment variable, as SPSS Custom Tables does) the columns a cell is significantly higher than.

Two tests, chosen with ``test=`` (details and formulas in ``docs/banner-tests.md``):

``"design"`` (default)
    Design-based test of ``p_a - p_b``. Both domain estimates come from the one (calibrated)
    design, so they are correlated in general; ``Var(p_a - p_b) = V_aa + V_bb - 2 V_ab`` where V is
    the covariance of the estimated totals of the joint influence functions
    ``z_c = 1[c] w (y - p_c) / N_c``, as the design's variance primitive ``_vcov_totals``
    computes it (strata, PSUs and raking included; evaluated from cell sums, see ``banner``).
    ``t = (p_a - p_b) / se`` against Student's t with the design's degrees of freedom.
    Reported ``se`` is the design SE.
``"effective_base"``
    The classic Dimensions/Quantum z-test on effective bases: with ``n_a, n_b`` the Kish effective
    bases ``(Σw)²/Σw²`` of the two columns and ``p = (n_a p_a + n_b p_b)/(n_a + n_b)`` pooled,
    ``z = (p_a - p_b) / sqrt(p (1-p) (1/n_a + 1/n_b))`` (means: ``(m_a - m_b)/sqrt(s_a²/n_a +
    s_b²/n_b)``). Assumes independent columns (overlap ignored), simple random sampling apart
    from the Kish design effect of the weights. Reported ``se`` is ``sqrt(p(1-p)/n_eff)``.

Either way the test is two-sided at ``alpha``; the letter goes to the higher column. ``adjust``
("bonferroni" or "holm") corrects for the pairs tested within a segment variable and a row.
Columns whose base is below ``suppress_below`` show "*" and are not tested; below ``flag_below``
they carry "†". An empty segment level is *kept* as a column with ``n = 0`` and suppressed (a book
keeps a stable layout); a segment variable that is not in the data raises ``EstimationError``.

Example:
    >>> import survey
    >>> wave = survey.load_wave(2025)                                   # doctest: +SKIP
    >>> d = survey.Design(wave.frame, weights="weight", codebook=wave.codebook)  # doctest: +SKIP
    >>> b = banner(d, ["confidence"], ["position", "industry"])         # doctest: +SKIP
    >>> b.to_polars().columns[:3]                                       # doctest: +SKIP
    ['question_id', 'item', 'row_code']
    >>> html = b.to_gt().as_raw_html()                                  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from html import escape as html_escape
from html import unescape as html_unescape
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import special

from survey.codebook import SEP, Codebook, Question
from survey.design import variance as V
from survey.errors import EstimationError
from survey.present.text import catalog

Test = Literal["design", "effective_base"]
Adjust = Literal["bonferroni", "holm"] | None
TOTAL = "total"

TEXTS_FILE = Path(__file__).resolve().parent / "banners.yml"


def say(key: str, lang: str = "zh", /, **values: Any) -> str:
    """The catalog text ``key`` of ``survey/banners.yml`` in ``lang`` with ``values`` filled in.

    Example:
        >>> say("total", "en")
        'Total'
    """
    return catalog(TEXTS_FILE).say(key, lang, **values)


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
    if isinstance(st, V.Structure):
        cal = getattr(design, "_cal_active", None)
        vcov = design._vcov_totals
        df = float(design.degf)
    else:  # a light stand-in (tests): strata / ids given as column names
        cols = {k: getattr(design, k, None) for k in ("strata", "ids")}
        arr = {k: None if c is None else frame[c].to_numpy() for k, c in cols.items()}
        st = V.make_structure(arr["strata"], arr["ids"], None, frame.height)
        cal = None

        def vcov(Z: np.ndarray, _st: V.Structure = st) -> np.ndarray:
            return V.vcov_totals(Z, _st, None)

        df = float(st.n_psus - st.n_strata)
    return _Parts(frame, w, cb, vcov, st, cal, df)


# ---------------------------------------------------------------------------------------------
# Rows: blocks of indicator / value columns
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Row:
    code: str
    zh: str
    en: str
    kind: str  # option | net | mean


@dataclass(frozen=True)
class _Block:
    """One table block: a question (or a grid item) with its rows and their values."""

    qid: str
    item: str | None
    title_zh: str
    title_en: str
    rows: tuple[_Row, ...]
    base: np.ndarray  # bool (n,)
    values: np.ndarray | None = None  # float (n, R), 0 outside the base; None: from codes
    codes: np.ndarray | None = None  # single-select: option index per respondent (-1: none)
    sets: tuple[tuple[int, ...], ...] = ()  # single-select: the options each row counts

    @cached_property
    def Y(self) -> np.ndarray:
        """Values (n × R): 0/1 indicators or numbers, 0 outside the base."""
        if self.values is not None:
            return self.values
        assert self.codes is not None
        onehot = self.codes[:, None] == np.arange(max(max(map(max, self.sets)) + 1, 1))[None, :]
        return np.column_stack([onehot[:, list(st)].any(axis=1) for st in self.sets]).astype(float)


def _mean_row() -> _Row:
    """The one row of a numeric question: its mean."""
    return _Row("mean", say("mean", "zh"), say("mean", "en"), "mean")


def _codes_index(s: pl.Series, codes: Sequence[str]) -> np.ndarray:
    """Position of each value of ``s`` in ``codes`` (-1 for null or unknown)."""
    if isinstance(s.dtype, pl.Enum) and list(s.dtype.categories) == list(codes):
        return s.to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
    return (s.cast(pl.String).cast(pl.Enum(list(codes)), strict=False).to_physical()
            .cast(pl.Int64).fill_null(-1).to_numpy())


def _levels(s: pl.Series) -> list[str]:
    """Levels of a column outside the codebook: an Enum's categories (even if unused), else the
    sorted distinct values."""
    if isinstance(s.dtype, pl.Enum):
        return list(s.dtype.categories)
    return [str(x) for x in s.drop_nulls().unique().sort().to_list()]


def _question_of(cb: Codebook | None, qid: str) -> Question | None:
    return cb.questions.get(qid) if cb is not None else None


def _categorical_block(
    q: Question, idx: np.ndarray, item: Any, nets: bool, multi: np.ndarray | None = None
) -> _Block:
    codes = q.codes()
    rows = [_Row(o.code, o.zh, o.en, "option") for o in q.options]
    sets: list[tuple[int, ...]] = [(k,) for k in range(len(codes))]
    if nets:
        for net in q.nets:
            sets.append(tuple(codes.index(c) for c in net.of))
            rows.append(_Row(net.code, net.zh, net.en, "net"))
    prefix = f"{item.code}:" if item is not None else ""
    rows = [_Row(prefix + r.code, r.zh, r.en, r.kind) for r in rows]
    t_zh, t_en = q.short_label("zh"), q.short_label("en")
    if item is not None:
        t_zh = say("block_item", "zh", title=t_zh, item=item.zh)
        t_en = say("block_item", "en", title=t_en, item=item.en)
    head = (q.id, item.code if item is not None else None, t_zh, t_en, tuple(rows))
    if multi is None:
        return _Block(*head, idx >= 0, None, idx, tuple(sets))
    base = multi[1]
    Y = multi[0].astype(float)
    Y = np.hstack([Y, *(Y[:, list(st)].max(axis=1, keepdims=True) for st in sets[len(codes):])])
    Y[~base] = 0.0
    return _Block(*head, base, Y)


def _blocks(frame: pl.DataFrame, cb: Codebook | None, qid: str, nets: bool) -> list[_Block]:
    """The table blocks of row question ``qid`` (one per grid item, else one)."""
    q = _question_of(cb, qid)
    if q is None:
        if qid not in frame.columns:
            raise EstimationError(f"unknown row variable '{qid}'", column=qid,
                                  expected="a codebook question or a column of the design")
        s = frame[qid]
        if s.dtype.is_numeric():
            v = s.cast(pl.Float64).to_numpy()
            base = ~np.isnan(v)
            return [_Block(qid, None, qid, qid, (_mean_row(),), base,
                           np.where(base, v, 0.0)[:, None])]
        levels = _levels(s)
        idx = _codes_index(s, levels)
        rows = tuple(_Row(lv, lv, lv, "option") for lv in levels)
        return [_Block(qid, None, qid, qid, rows, idx >= 0, None, idx,
                       tuple((k,) for k in range(len(levels))))]
    missing = [c for c in q.columns() if c not in frame.columns]
    if missing:
        raise EstimationError(f"row question '{qid}' has columns missing from the data",
                              column=missing[0], expected=f"columns {q.columns()}")
    if q.type == "single":
        return [_categorical_block(q, _codes_index(frame[qid], q.codes()), None, nets)]
    if q.type == "grid":
        return [
            _categorical_block(q, _codes_index(frame[f"{qid}{SEP}{it.code}"], q.codes()), it, nets)
            for it in q.items
        ]
    if q.type == "multi":
        sub = frame.select(q.columns())
        answered = sub.select(pl.any_horizontal(pl.all().is_not_null())).to_series().to_numpy()
        sel = sub.select(pl.all().cast(pl.Boolean).fill_null(False)).to_numpy().astype(bool)
        return [_categorical_block(q, np.empty(0), None, nets, multi=(sel, answered))]
    if q.type == "numeric":
        v = frame[qid].cast(pl.Float64).to_numpy()
        base = ~np.isnan(v)
        row = _mean_row()
        return [_Block(qid, None, q.short_label("zh"), q.short_label("en"), (row,), base,
                       np.where(base, v, 0.0)[:, None])]
    # constant_sum: one mean per part, base = respondents who answered every part
    V = frame.select(pl.col(q.columns()).cast(pl.Float64)).to_numpy()
    base = ~np.isnan(V).any(axis=1)
    rows = tuple(_Row(it.code, it.zh, it.en, "mean") for it in q.items)
    return [_Block(qid, None, q.short_label("zh"), q.short_label("en"), rows, base,
                   np.where(base[:, None], np.nan_to_num(V), 0.0))]


# ---------------------------------------------------------------------------------------------
# Columns: the total and one domain per level of each segment variable
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Col:
    variable: str
    level: str
    zh: str
    en: str
    letter: str | None
    var_zh: str
    var_en: str


@dataclass(frozen=True, eq=False)
class _Group:
    """The columns of one banner variable (or the total): positions, and each row's domain."""

    cols: list[int]
    g: np.ndarray  # (n,) domain 0..D-1 of each respondent, -1 for none (missing value)
    tested: bool  # pairwise tests within the group (not for the total)


def _letters(k: int) -> list[str]:
    """A, B, …, Z, AA, AB, … for ``k`` columns."""
    out = []
    for i in range(k):
        s, j = "", i
        while True:
            s = chr(ord("A") + j % 26) + s
            j = j // 26 - 1
            if j < 0:
                break
        out.append(s)
    return out


def _columns(
    frame: pl.DataFrame, cb: Codebook | None, cols: Sequence[str], include_total: bool
) -> tuple[list[_Col], list[_Group]]:
    """Columns and the groups of columns (the total first, then one per segment variable)."""
    n = frame.height
    spec: list[_Col] = []
    groups: list[_Group] = []
    if include_total:
        zh, en = say("total", "zh"), say("total", "en")
        spec.append(_Col(TOTAL, TOTAL, zh, en, None, zh, en))
        groups.append(_Group([0], np.zeros(n, np.int64), False))
    for var in cols:
        if var not in frame.columns:
            raise EstimationError(f"unknown segment variable '{var}'", column=var,
                                  expected="a column of the design")
        q = _question_of(cb, var)
        if q is not None and q.type == "single":
            codes = q.codes()
            labels = [(o.zh, o.en) for o in q.options]
            v_zh, v_en = q.short_label("zh"), q.short_label("en")
        else:
            codes = _levels(frame[var])
            labels = [(c, c) for c in codes]
            v_zh = v_en = var
        idx = _codes_index(frame[var], codes)
        start = len(spec)
        for code, (zh, en), letter in zip(codes, labels, _letters(len(codes)), strict=True):
            spec.append(_Col(var, code, zh, en, letter, v_zh, v_en))
        groups.append(_Group(list(range(start, len(spec))), idx.astype(np.int64), True))
    return spec, groups


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
    raise EstimationError(f"unknown adjustment {method!r}", value=method,
                          expected="None, 'bonferroni' or 'holm'")


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
    "low_base": pl.Boolean,
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
    "low_base",
]


@dataclass(frozen=True)
class Banner:
    """A banner book: one tidy frame of cells plus the settings that produced it."""

    cells: pl.DataFrame = field(repr=False)
    pairs: pl.DataFrame = field(repr=False)
    test: Test
    alpha: float
    adjust: Adjust
    suppress_below: int
    flag_below: int
    lang: str = "zh"

    def to_polars(self, lang: str | None = None) -> pl.DataFrame:
        """Tidy cells: one row per (row, column) with estimate, se, bases and letters.

        Example:
            >>> b.to_polars().filter(pl.col("col_variable") == "position")  # doctest: +SKIP
        """
        lg = lang or self.lang
        return self.cells.with_columns(
            pl.col(f"row_label_{lg}").alias("row_label"),
            pl.col(f"col_label_{lg}").alias("col_label"),
        ).select(PUBLIC_COLUMNS)

    def tests(self) -> pl.DataFrame:
        """Every pairwise test: columns ``col_a``/``col_b`` (levels), ``diff``, ``se_diff``,
        ``stat`` (t or z), ``p_value``, ``p_adjusted`` and ``significant``.

        Example:
            >>> b.tests().filter(pl.col("significant"))                    # doctest: +SKIP
        """
        return self.pairs

    def to_gt(self, lang: str | None = None, *, decimals: int = 0) -> Any:
        """A great-tables rendering (row groups per question block, bases per block).

        Example:
            >>> say("total", "zh") in b.to_gt().as_raw_html()               # doctest: +SKIP
            True
        """
        return _to_gt(self, lang or self.lang, decimals)

    def to_html(self, lang: str | None = None, *, decimals: int = 0,
                engine: Literal["fast", "great_tables"] = "fast") -> str:
        """The HTML of :meth:`to_gt` (``to_gt(...).as_raw_html()``).

        ``engine="fast"`` (default) gives the same HTML, byte for byte, in a fraction of the
        time for a whole book: great-tables renders the styles, header and notes, and the body
        rows are written in its markup (see ``_fast_html``); ``"great_tables"`` renders it all
        through great-tables.
        """
        if engine == "great_tables":
            return self.to_gt(lang, decimals=decimals).as_raw_html()
        if engine != "fast":
            raise EstimationError(f"unknown engine {engine!r}", value=engine,
                                  expected="'fast' or 'great_tables'")
        return _fast_html(self, lang or self.lang, decimals)


# ---------------------------------------------------------------------------------------------
# The computation
# ---------------------------------------------------------------------------------------------
def banner(
    design: Any,
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    test: Test = "design",
    alpha: float = 0.05,
    adjust: Adjust = None,
    suppress_below: int = 30,
    flag_below: int = 50,
    lang: str = "zh",
    include_total: bool = True,
    nets: bool = True,
    _variance: str = "auto",
) -> Banner:
    """Tabulate ``rows`` (question ids) by ``cols`` (segment variables) with significance letters.

    See the module docstring and ``docs/banner-tests.md`` for the two tests. Cells hold the
    weighted % of the column's base (respondents of the column who answered the question), the
    unweighted base ``n`` and the Kish effective base ``n_eff``; means for numeric questions.

    The design covariance of the columns is the design primitive's (``Design._vcov_totals``,
    R's ``svyrecvar``) applied to the joint influence columns. By default it is evaluated from
    sums by (stratum or PSU) × calibration cell × column (``_cells_cov``: O(n) time, no n × D
    matrix); ``_variance="primitive"`` calls ``Design._vcov_totals`` on the dense influence
    matrix instead — the tests check that both agree to 1e-9 for simple, stratified, clustered
    and raked designs.

    Example:
        >>> b = banner(design, ["confidence", "challenges"], ["position"], adjust="holm")  # doctest: +SKIP
        >>> b.to_polars().filter(pl.col("sig_higher_than") != "")                    # doctest: +SKIP
    """
    if test not in ("design", "effective_base"):
        raise EstimationError(f"unknown test {test!r}", value=test,
                              expected="'design' or 'effective_base'")
    if adjust not in (None, "bonferroni", "holm"):
        raise EstimationError(f"unknown adjustment {adjust!r}", value=adjust,
                              expected="None, 'bonferroni' or 'holm'")
    parts = _parts(design)
    frame, w = parts.frame, parts.w
    spec, groups = _columns(frame, parts.codebook, cols, include_total)
    if _variance not in ("auto", "aggregated", "primitive"):
        raise EstimationError(f"unknown variance path {_variance!r}",
                              expected="'auto', 'aggregated' or 'primitive'")
    path = "aggregated" if _variance == "auto" else _variance
    if _variance == "auto" and parts.cal is not None and not parts.cal.same_weights(w):
        path = "primitive"  # trimmed after raking: the cell sums assume raking weights = w
    cache: dict[int, dict[str, Any]] = {}
    strings = _Strings()
    out: list[dict[str, list]] = []
    tests: list[dict[str, list]] = []
    block_no = 0
    for qid in rows:
        for blk in _blocks(frame, parts.codebook, qid, nets):
            cells_b, tests_b = _tabulate(blk, block_no, spec, groups, w, parts, test, alpha,
                                         adjust, suppress_below, flag_below, path, cache,
                                         strings)
            out.append(cells_b)
            tests.append(tests_b)
            block_no += 1
    cols_df = pl.DataFrame({
        "col_variable": [c.variable for c in spec], "col_var_zh": [c.var_zh for c in spec],
        "col_var_en": [c.var_en for c in spec], "col_level": [c.level for c in spec],
        "col_label_zh": [c.zh for c in spec], "col_label_en": [c.en for c in spec],
        "letter": pl.Series([c.letter for c in spec], dtype=pl.String),
    })
    if out:  # one frame for the whole book (per-block frames cost more than the statistics)
        row_keys = [k for k in _SCHEMA if k in out[0][0]]
        rows_all = pl.DataFrame({k: pl.Series(k, [x for r, _ in out for x in r[k]],
                                              dtype=_SCHEMA[k]) for k in row_keys})
        rows_all = rows_all.join(cols_df, how="cross", maintain_order="left")
        nums = {k: np.concatenate([np.asarray(o[k]) for _, o in out]) if k != "sig_higher_than"
                else [x for _, o in out for x in o[k]] for k in out[0][1]}
        cells = rows_all.with_columns(
            pl.Series(k, v, dtype=_SCHEMA[k]) for k, v in nums.items()
        ).with_columns(pl.col("estimate", "se").fill_nan(None)).select(list(_SCHEMA))
    else:
        cells = pl.DataFrame(schema=_SCHEMA)
    pairs = pl.DataFrame({k: _stack(k, [t[k] for t in tests], dt, strings)
                          for k, dt in _PAIR_SCHEMA.items()})
    pairs = pairs.with_columns(pl.col("diff", "se_diff", "stat", "p_value", "p_adjusted")
                               .fill_nan(None))
    return Banner(cells, pairs, test, alpha, adjust, suppress_below, flag_below, lang)


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
        cells_g = _cells(grp, parts, full, cache.setdefault(gi, {}))
        S = _cell_sums(blk, w, cells_g, X)  # K × (3 + 5R)
        Sd = np.zeros((len(grp.cols), S.shape[1]))
        np.add.at(Sd, cells_g.d, S)
        cols = np.asarray(grp.cols)
        sw[cols], sw2[cols], n_w[cols] = Sd[:, 1], Sd[:, 2], Sd[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            est[cols] = Sd[:, 3 + R:3 + 2 * R] / Sd[:, [1]]
            m2[cols] = Sd[:, 3 + 4 * R:3 + 5 * R] / Sd[:, [1]]
        sums.append((cells_g, S))
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
        prim = _primitive_cov(blk, groups, est, sw, w, parts) if path == "primitive" else None
        for gi, grp in enumerate(groups):
            cols = np.asarray(grp.cols)
            if prim is not None:
                Vg = prim[gi]
            else:
                cells_g, S = sums[gi]
                Vg = _cells_cov(cells_g, S, R, est[cols], sw[cols], parts,
                                cache.setdefault(-1, {}))
            cov[:, cols[:, None], cols[None, :]] = Vg
            se[cols] = np.sqrt(np.maximum(np.diagonal(Vg, axis1=1, axis2=2), 0.0)).T
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
    }
    return (rows_df, numbers), tests_out


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


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------
def _fmt_cell(est: float | None, kind: str, sig: str, suppressed: bool, low: bool,
              decimals: int) -> str:
    if suppressed or est is None:
        return "*"
    val = f"{est * 100:.{decimals}f}%" if kind != "mean" else f"{est:.1f}"
    if low:
        val += "†"
    return f"{val} {sig}" if sig else val


@dataclass(frozen=True, eq=False)
class _Book:
    """What a rendering of the book needs: the body (one row per table row: ``block``,
    ``row_code``, ``row_label``, ``group`` and one text column per banner column ``c0, c1, …``)
    and the column headers."""

    body: pl.DataFrame
    ids: list[str]
    col_keys: list[tuple]  # (variable, level, label, letter, variable label) per column
    single: bool  # one block: no row groups, the block title is the stub head
    stubhead: str
    table_id: str
    note: str
    lang: str


def _missing_note(cells: pl.DataFrame, lg: str) -> str:
    """Say how many respondents of the first block have no value on each segment variable
    (they count in the Total column only), so that no one leaves a banner silently."""
    first = cells.filter(pl.col("block") == cells["block"][0])
    bases = first.group_by("col_variable", "col_level", f"col_var_{lg}", maintain_order=True).agg(
        pl.col("n").max())
    total = bases.filter(pl.col("col_variable") == "total")["n"]
    if total.is_empty():
        return ""
    parts = []
    for (_var, label), sub in bases.filter(pl.col("col_variable") != "total").group_by(
            "col_variable", f"col_var_{lg}", maintain_order=True):
        missing = int(total[0] - sub["n"].sum())
        if missing > 0:
            parts.append(say("missing", lg, segment=label, n=missing))
    return "".join(parts)


def _book(b: Banner, lang: str, decimals: int) -> _Book:
    lg = "en" if lang == "en" else "zh"
    cells = b.cells
    if cells.height == 0:
        raise EstimationError("the banner has no cells to render",
                              expected="at least one row question")
    col_keys = (
        cells.select("col_variable", "col_level", f"col_label_{lg}", "letter",
                     f"col_var_{lg}")
        .unique(maintain_order=True)
        .rows()
    )
    ids = [f"c{i}" for i in range(len(col_keys))]
    cid = {(v, lv): ids[i] for i, (v, lv, *_rest) in enumerate(col_keys)}
    est, kind = cells["estimate"].to_list(), cells["row_kind"].to_list()
    text = [_fmt_cell(e, k, s, sup, low, decimals) for e, k, s, sup, low in zip(
        est, kind, cells["sig_higher_than"].to_list(), cells["suppressed"].to_list(),
        cells["low_base"].to_list(), strict=True)]
    col_id = [cid[k] for k in zip(cells["col_variable"].to_list(), cells["col_level"].to_list(),
                                   strict=True)]
    cells = cells.with_columns(pl.Series("text", text, dtype=pl.String),
                               pl.Series("col_id", col_id, dtype=pl.String))
    body = cells.pivot(on="col_id", index=["block", "row_code"], values="text",
                       aggregate_function="first", sort_columns=False)
    labels = cells.select("block", "row_code", f"row_label_{lg}", f"block_label_{lg}").unique(
        maintain_order=True)
    body = labels.join(body, on=["block", "row_code"], how="left", maintain_order="left")
    # base rows: one pair per block (unweighted and effective base of every column)
    bases = cells.select("block", "col_id", "n", "n_eff", f"block_label_{lg}").unique(
        subset=["block", "col_id"], maintain_order=True)
    base_rows = []
    for blk_no, sub in bases.group_by("block", maintain_order=True):
        blk_no = blk_no[0]
        title = sub[f"block_label_{lg}"][0]
        nn = dict(zip(sub["col_id"], sub["n"], strict=True))
        ne = dict(zip(sub["col_id"], sub["n_eff"], strict=True))
        base_rows.append({"block": blk_no, "row_code": "__base",
                          f"row_label_{lg}": say("base", lg), f"block_label_{lg}": title,
                          **{k: f"{nn.get(k, 0):,}" for k in ids}})
        base_rows.append({"block": blk_no, "row_code": "__base_eff",
                          f"row_label_{lg}": say("base_eff", lg), f"block_label_{lg}": title,
                          **{k: f"{ne.get(k, 0.0):,.0f}" for k in ids}})
    body = pl.concat([body, pl.DataFrame(base_rows, schema=body.schema)]).sort(
        "block", maintain_order=True)
    body = body.with_columns(pl.col("block").cast(pl.String)).rename(
        {f"row_label_{lg}": "row_label", f"block_label_{lg}": "group"})
    blocks = body["group"].unique(maintain_order=True).to_list()
    single = len(blocks) == 1
    digest = hashlib.sha1(repr((b.test, b.alpha, body.rows())).encode()).hexdigest()[:10]
    adj = say(f"adjust.{b.adjust}", lg) if b.adjust else ""
    note = say("note", lg, test=say(f"test.{b.test}", lg), alpha=b.alpha, adj=adj,
               sup=b.suppress_below, flag=b.flag_below)
    note += _missing_note(cells, lg)
    return _Book(body, ids, col_keys, single, blocks[0] if single else "", f"bn{digest}", note,
                 lg)


def _gt_of(book: _Book, body: pl.DataFrame) -> Any:
    """The great-tables table of ``body`` (all of ``book.body`` or some of its rows)."""
    from great_tables import GT, loc, style

    gt = GT(body.drop("block", "row_code"), rowname_col="row_label",
            groupname_col=None if book.single else "group", id=book.table_id)
    if book.single:
        gt = gt.cols_hide("group")
    gt = gt.tab_stubhead(label=book.stubhead)
    labels_map = {}
    spanners: dict[str, list[str]] = {}
    for i, (var, _lv, label, letter, var_label) in enumerate(book.col_keys):
        labels_map[book.ids[i]] = label if letter is None else f"{label} ({letter})"
        if var != TOTAL:
            spanners.setdefault(f"{var}\x1f{var_label}", []).append(book.ids[i])
    gt = gt.cols_label(**labels_map)
    for key, colids in spanners.items():
        gt = gt.tab_spanner(label=key.split("\x1f", 1)[1], columns=colids, id=key)
    gt = gt.cols_align(align="center", columns=book.ids)
    base_idx = [i for i, rc in enumerate(body["row_code"]) if rc.startswith("__base")]
    if base_idx:  # style the stub only: body styles cost great-tables O(cells × styles)
        gt = gt.tab_style(style=style.text(size="12px", color="#555555"),
                          locations=loc.stub(rows=base_idx))
    # one identity formatter marks every cell as formatted (skips great-tables' slow per-cell
    # escaping pass); our texts are plain, escaped here
    gt = gt.fmt(lambda x: html_escape("" if x is None else str(x)), columns=book.ids)
    gt = gt.tab_source_note(book.note)
    try:
        from survey.present.tables import styled
    except ImportError:  # pragma: no cover - the house style is optional
        return gt
    return styled(gt, book.lang)


def _to_gt(b: Banner, lang: str, decimals: int) -> Any:
    return _gt_of(b_ := _book(b, lang, decimals), b_.body)


# --- the HTML of a whole book without great-tables' per-cell work ------------------------------
# great-tables renders a table cell by cell through its data frame (≈ 80 µs per cell: a book of
# 30 questions × 40 columns takes about a second). ``_fast_html`` lets great-tables render the
# table with two body rows (styles, header, spanners, source note: everything but the body) and
# writes the body rows itself in great-tables' own markup: the same classes, ``id``s (made unique
# as great-tables does) and ``headers`` attributes. ``tests/test_banner.py`` checks that the result
# is byte-identical to great-tables' rendering of the full table; if the header ids it expects are
# not in great-tables' output (another great-tables version), it falls back to the full rendering.
_GT_TBODY = '<tbody class="gt_table_body">\n'


def _html_id(text: str) -> str:
    """great-tables' id of a label: no markup, runs of other than word characters, ``.:-`` → -."""
    text = html_unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"[^\w.:-]+", "-", text).strip("-")


class _Ids:
    """Unique element ids within a table, prefixed by the table id (great-tables' scheme)."""

    def __init__(self, table_id: str) -> None:
        self.prefix = f"{_html_id(table_id)}-"
        self.used = {table_id}

    def make(self, base: str, fallback: str) -> str:
        name = _html_id(html_escape(base)) or fallback
        cand, k = f"{self.prefix}{name}", 2
        while cand in self.used:
            cand, k = f"{self.prefix}{name}-{k}", k + 1
        self.used.add(cand)
        return cand


def _fast_html(b: Banner, lang: str, decimals: int) -> str:
    book = _book(b, lang, decimals)
    body = book.body
    codes = body["row_code"].to_list()
    first_base = codes.index("__base")
    skeleton = _gt_of(book, body[[0, first_base]]).as_raw_html()
    head, sep, rest = skeleton.partition(_GT_TBODY)
    body_sk, sep2, tail = rest.partition("\n</tbody>")
    ids = _Ids(book.table_id)
    if book.single and book.stubhead:
        ids.make(book.stubhead, "stubhead")
    col_ids = [ids.make(c, "column") for c in book.ids]
    spanner_of: dict[str, str] = {}
    col_heads = []
    for (var, _lv, _label, _letter, var_label), cid in zip(book.col_keys, col_ids, strict=True):
        if var == TOTAL:
            col_heads.append(cid)
            continue
        key = f"{var}\x1f{var_label}"
        if key not in spanner_of:
            spanner_of[key] = ids.make(var_label, "spanner")
        col_heads.append(f"{spanner_of[key]} {cid}")
    style_m = re.search(r'<th( style="[^"]*")? scope="row"', body_sk.rsplit("<tr>", 1)[-1])
    expected = [*col_ids, *spanner_of.values()]
    if not (sep and sep2 and style_m and all(f'id="{x}"' in head for x in expected)):
        return _gt_of(book, body).as_raw_html()  # unknown great-tables markup: render it all
    base_style = style_m.group(1) or ""
    labels = body["row_label"].to_list()
    groups = body["group"].to_list()
    texts = [body[c].to_list() for c in book.ids]
    order = range(body.height)
    if not book.single:  # great-tables lists the rows of a group together, groups in first order
        first: dict[str, int] = {}
        for i, g in enumerate(groups):
            first.setdefault(g, i)
        order = sorted(order, key=lambda i: first[groups[i]])
    ncol = len(book.ids) + 1
    out: list[str] = []
    gid = None
    prev = None
    for i in order:
        if not book.single and groups[i] != prev:
            prev = groups[i]
            gid = ids.make(prev, "group")
            label = html_escape(prev)
            cls = "gt_empty_group_heading" if label == "" else "gt_group_heading_row"
            out.append(f'  <tr class="{cls}">\n    <th class="gt_group_heading" colspan="{ncol}" '
                       f'scope="{"colgroup" if ncol > 1 else "col"}" id="{html_escape(gid)}">'
                       f"{label}</th>\n  </tr>")
        sid = ids.make(f"stub-{i + 1}", "stub")
        style_attr = base_style if codes[i].startswith("__base") else ""
        row_head = f"{gid} {sid}" if gid else sid
        cells = [f'  <tr>\n    <th{style_attr} scope="row" id="{html_escape(sid)}" '
                 f'class="gt_row gt_left gt_stub">{html_escape(labels[i])}</th>']
        for k, heads in enumerate(col_heads):
            v = texts[k][i]
            cells.append(f'    <td headers="{html_escape(f"{row_head} {heads}")}" '
                         f'class="gt_row gt_center">{html_escape("" if v is None else v)}</td>')
        out.append("\n".join(cells) + "\n  </tr>")
    return head + _GT_TBODY + "\n".join(out) + "\n</tbody>" + tail
