"""What every column of one domain-estimation call shares: domain codes, bins and work arrays.

A :class:`Layout` is built once per (design, grouping) and kept by the design, so repeated
estimates of the same domains (a banner, several questions) do not rebuild it. Per sampling
stage it holds the bin of every row, ``(unit or stratum) x domain``, and, built on first use,
a sparse bin matrix ``M`` (bins x rows, one entry per row: its weight) so that ``M @ x`` gives
the bin sums of ``w x`` in one pass over the rows without forming ``w x`` (for rows as units
also ``M2`` with the squared weights). Work arrays are kept per thread (:func:`buffers`).

Example:
    >>> import numpy as np
    >>> from survey.design.variance import Structure
    >>> lay = Layout(np.array([0, 0, 1, 1]), 2, np.array([1.0, 2.0, 3.0, 4.0]),
    ...              Structure.simple(4), None)
    >>> lay.bin_sums(0, np.array([1.0, 1.0, 2.0, 0.0])).tolist()  # (stratum, domain) bins
    [3.0, 6.0, 0.0]
    >>> lay.domain()[1].tolist()  # sum of weights per domain, last: outside every domain
    [3.0, 7.0, 0.0]
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from survey.design._structure import Stage, Structure
from survey.design.variance import Calibration, _needs_presence

SNAP = 1e-13  # relative size under which an expanded sum of squares is rounding noise
PREFIX = 65_536  # rows scanned first for each domain's first row

_POOL = threading.local()


def buffers(n: int, k: int, dtype: type = np.float64) -> list[np.ndarray]:
    """``k`` work arrays of ``n`` values of ``dtype``, kept per thread between calls.

    Fresh multi-megabyte arrays cost a page fault per 4 KiB on first touch (dominant on a
    virtual machine); reusing them keeps each row pass at memory speed. The arrays are
    overwritten by the next call: callers consume them before asking again.
    """
    name = f"arrays_{np.dtype(dtype).name}"
    pool = getattr(_POOL, name, None)
    if pool is None or len(pool[0]) != n or len(pool) < k:
        pool = [np.empty(n, dtype) for _ in range(max(k, 3))]
        setattr(_POOL, name, pool)
    return pool[:k]


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


def cols_sum(key: np.ndarray, x: np.ndarray, size: int) -> np.ndarray:
    """Bin sums of the columns of ``x`` (m, k) by ``key`` (m,) into (size, k)."""
    return np.stack([np.bincount(key, weights=x[:, j], minlength=size)
                     for j in range(x.shape[1])], axis=1)


def centre_units(t: np.ndarray, sg: Stage) -> tuple[np.ndarray, np.ndarray]:
    """Per-stratum totals and centred sums of squares of unit totals ``t`` (U, D)."""
    h, n_h = sg.unit_stratum, sg.n_strata
    s = cols_sum(h, t, n_h)
    dev = t - (s / sg.n_unit[:, None])[h]
    return s, cols_sum(h, dev * dev, n_h)


class Layout:
    """Domain codes, per-stage bin keys, bin matrices and counts shared by every column."""

    def __init__(self, g: np.ndarray, n_dom: int, w: np.ndarray, st: Structure,
                 cal: Calibration | None) -> None:
        self.d, self.d1 = n_dom, n_dom + 1
        self.gd = np.where(g < 0, n_dom, g)
        self.w, self.st, self.cal = w, st, cal
        self.need_pres = _needs_presence(st)
        self.stages: list[Stage] = [sg for sg in st.all_stages if np.any(sg.mult > 0)]
        self.keys, self.sizes, self._cnt, self._w2 = [], [], {}, None
        for sg in self.stages:
            base = sg.unit if sg.unit is not None else sg.stratum
            nb = sg.n_units if sg.unit is not None else sg.n_strata
            self.keys.append(base * self.d1 + self.gd)
            self.sizes.append(nb * self.d1)
        self._keys3: dict[object, np.ndarray] = {}
        self._mats: dict[object, sp.csc_matrix | None] = {}
        self._dom: tuple[np.ndarray, ...] | None = None
        if cal is not None:
            self.psw, self.cell, self.nc = cal.weights(w), cal.cell, cal.n_cells
            self.cell_key = self.cell * self.d1 + self.gd
            self._calq: dict[int, tuple[np.ndarray, ...]] = {}

    def ibuf(self) -> np.ndarray:
        """An integer work array of n values (per thread)."""
        return buffers(len(self.gd), 1, np.int64)[0]

    def cell_key3(self) -> np.ndarray:
        if "cell" not in self._keys3:
            self._keys3["cell"] = self.cell_key * 3
        return self._keys3["cell"]

    def hcell_key3(self, k: int) -> np.ndarray:
        name = f"hcell{k}"
        if name not in self._keys3:
            hc = self.stages[k].stratum * self.nc + self.cell
            self._keys3[name] = (hc * self.d1 + self.gd) * 3
        return self._keys3[name]

    def keys3(self, k: int) -> np.ndarray:
        if k not in self._keys3:
            self._keys3[k] = self.keys[k] * 3
        return self._keys3[k]

    # -------------------------------------------------------------- bin matrices
    def _matrix(self, k: int, squared: bool) -> sp.csc_matrix | None:
        """Sparse (bins, n) matrix of stage ``k`` with the weights (or their squares)."""
        name = (k, squared)
        if name not in self._mats:
            n, size = len(self.gd), self.sizes[k]
            mat = None
            if size < 2**31 - 1 and n < 2**31 - 1:
                data = self.w2 if squared else self.w
                mat = sp.csc_matrix((data, self.keys[k].astype(np.int32),
                                     np.arange(n + 1, dtype=np.int32)), shape=(size, n))
            self._mats[name] = mat
        return self._mats[name]

    def bin_sums(self, k: int, x: np.ndarray, squared: bool = False) -> np.ndarray:
        """Sums of ``w x`` (``w^2 x`` if ``squared``) per bin of stage ``k`` (sizes[k],)."""
        mat = self._matrix(k, squared)
        if mat is None:
            wt = self.w2 if squared else self.w
            return np.bincount(self.keys[k], weights=wt * x, minlength=self.sizes[k])
        return mat @ x

    def bin_wsum(self, k: int) -> np.ndarray:
        """Sum of weights per (unit or stratum, domain) bin of stage ``k`` (X, D)."""
        return self._wbins(k).reshape(-1, self.d1)[:, :self.d]

    def bin_w2sum(self, k: int) -> np.ndarray:
        """Sum of squared weights per bin of stage ``k`` (X, D)."""
        name = f"w2b{k}"
        if name not in self._cnt:
            self._cnt[name] = np.bincount(self.keys[k], weights=self.w2, minlength=self.sizes[k])
        return self._cnt[name].reshape(-1, self.d1)[:, :self.d]

    # -------------------------------------------------------------- domains
    def domain(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows and sum of weights per domain (D + 1, last: outside) and each domain's first row."""
        if self._dom is None:
            gd, d1 = self.gd, self.d1
            cnt = np.bincount(gd, minlength=d1).astype(float)
            wsum = self._wbins(0).reshape(-1, d1).sum(0)
            head = gd[:PREFIX]
            first = np.zeros(d1 - 1, np.int64)
            for k in range(d1 - 1):
                hit = head == k
                i = int(np.argmax(hit))
                first[k] = i if hit[i] else int(np.argmax(gd == k))
            self._dom = (cnt, wsum, first)
        return self._dom

    def _wbins(self, k: int) -> np.ndarray:
        """Sum of weights per bin of stage ``k``, outside-domain bins included (sizes[k],)."""
        name = f"wb{k}"
        if name not in self._cnt:
            self._cnt[name] = np.bincount(self.keys[k], weights=self.w, minlength=self.sizes[k])
        return self._cnt[name]

    def domain_w2(self, a: np.ndarray | None = None) -> np.ndarray:
        """Sum of squared weights per domain (D,), over the rows valid in ``a`` (all if None)."""
        if a is None or a.all():
            if "w2dom" not in self._cnt:
                self._cnt["w2dom"] = np.bincount(self.gd, weights=self.w2,
                                                 minlength=self.d1)[:self.d]
            return self._cnt["w2dom"]
        return np.bincount(self.gd, weights=self.w2 * a, minlength=self.d1)[:self.d]

    @property
    def w2(self) -> np.ndarray:
        if self._w2 is None:
            self._w2 = self.w * self.w
        return self._w2

    def counts(self, k: int) -> np.ndarray:
        """Rows per bin of stage ``k`` (valid or not), (X, D)."""
        if k not in self._cnt:
            c = np.bincount(self.keys[k], minlength=self.sizes[k])
            self._cnt[k] = c.reshape(-1, self.d1)[:, :self.d].astype(float)
        return self._cnt[k]

    def cal_units(self, k: int) -> np.ndarray:
        """Raking weight per (unit, cell) of stage ``k`` (U, C)."""
        if k not in self._calq:
            sg = self.stages[k]
            self._calq[k] = (np.bincount(sg.unit * self.nc + self.cell, weights=self.psw,
                                         minlength=sg.n_units * self.nc
                                         ).reshape(sg.n_units, self.nc),)
        return self._calq[k][0]

    def cal_rows(self, k: int) -> tuple[np.ndarray, ...]:
        """Per (stratum, cell, domain): raking weight sums of rows outside the domain."""
        if k not in self._calq:
            sg, nc, d, d1 = self.stages[k], self.nc, self.d, self.d1
            h, n_h, psw = sg.stratum, sg.n_strata, self.psw
            hc = h * nc + self.cell
            hcd = hc * d1 + self.gd
            q = []
            for wt in (psw, psw * psw):
                tot = np.bincount(hc, weights=wt, minlength=n_h * nc).reshape(n_h, nc)
                ind = np.bincount(hcd, weights=wt, minlength=n_h * nc * d1)
                q.append(tot[:, :, None] - ind.reshape(n_h, nc, d1)[:, :, :d])
            n_out = sg.n_unit[:, None] - self.counts(k)
            self._calq[k] = (q[0], q[1], n_out)
        return self._calq[k]

    def presence(self, k: int, a: np.ndarray) -> np.ndarray | None:
        """Strata of stage ``k`` with valid rows in each domain (lonely rules only)."""
        sg = self.stages[k]
        if not (self.need_pres and sg.lonely.any()):
            return None
        p = np.bincount(sg.stratum * self.d1 + self.gd, weights=a, minlength=sg.n_strata * self.d1)
        return p.reshape(sg.n_strata, self.d1)[:, :self.d] > 0
