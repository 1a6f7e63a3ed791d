"""Domains of group variables and the estimator output frame, for the replicate-weight design
and the estimators of ``estimators.py`` / ``quantile.py``.

Domains are the combinations of the group variables present in the data, in level order (the
first group varies slowest, as ``Design.by``); rows with a missing group value belong to none
(code -1). Output frames carry the group columns first, then ``variable`` (and ``level``) and
the statistics.

Example:
    >>> import polars as pl
    >>> g = Groups.of(pl.DataFrame({"a": ["y", "x", None, "y"]}), ("a",))
    >>> g.code.tolist(), g.keys["a"].to_list()
    ([1, 0, -1, 1], ['x', 'y'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from survey.design._columns import _level_codes
from survey.errors import EstimationError

RESERVED = ("variable", "level", "label", "estimate", "se", "ci_low", "ci_high", "deff", "n",
            "n_eff")


@dataclass(frozen=True, eq=False)
class Groups:
    """Domain code per row (-1: none), the domains' key values and their number."""

    groups: tuple[str, ...]
    code: np.ndarray
    keys: pl.DataFrame
    n_dom: int

    @classmethod
    def of(cls, frame: pl.DataFrame, groups: Sequence[str],
           inside: np.ndarray | None = None) -> Groups:
        groups = tuple(groups)
        n = frame.height
        ok = np.ones(n, bool) if inside is None else np.asarray(inside, bool)
        if not groups:
            return cls((), np.where(ok, 0, -1), pl.DataFrame(), 1)
        if len(set(groups)) != len(groups):
            raise EstimationError(f"group variables {list(groups)} repeat a name; expected "
                                  "distinct columns")
        key = np.zeros(n, np.int64)
        for gname in groups:
            c, lv = _level_codes(frame, gname, for_what="grouping", allow_null=True)
            ok &= c >= 0
            key = key * (len(lv) + 1) + np.where(c < 0, len(lv), c)
        uniq, inv = np.unique(key[ok], return_inverse=True)
        code = np.full(n, -1, np.int64)
        code[ok] = inv.ravel()
        first = np.zeros(len(uniq), np.int64)
        rows = np.flatnonzero(ok)
        first[inv.ravel()[::-1]] = rows[::-1]
        keys = frame.select(groups)[first.tolist()]
        keys = keys.rename({g: g + "_group" for g in groups if g in RESERVED})
        return cls(groups, code, keys, len(uniq))

    def sums(self, values: np.ndarray | None, ok: np.ndarray, mat: np.ndarray) -> np.ndarray:
        """``sum_{i in d, ok_i} values_i mat_i`` per domain: (D,) or (D, K) for ``mat`` (n,)
        or (n, K); a sparse product, so no n x K temporary is made."""
        rows = np.flatnonzero(ok & (self.code >= 0))
        vals = np.ones(len(rows)) if values is None else np.asarray(values, float)[rows]
        g = sp.csr_matrix((vals, (self.code[rows], rows)), shape=(self.n_dom, len(self.code)))
        return np.asarray(g @ mat)

    def counts(self, ok: np.ndarray) -> np.ndarray:
        """Rows with ``ok`` per domain (D,)."""
        return np.bincount(self.code[ok & (self.code >= 0)], minlength=self.n_dom).astype(float)

    def indicator(self) -> np.ndarray:
        """Dense (n, D) 0/1 matrix of domain membership."""
        out = np.zeros((len(self.code), self.n_dom))
        ok = self.code >= 0
        out[np.flatnonzero(ok), self.code[ok]] = 1.0
        return out

    def name(self, k: int) -> str:
        if not self.groups:
            return "(all respondents)"
        return ", ".join(f"{g}={v}" for g, v in zip(self.groups, self.keys.row(k), strict=True))


def frame_of(groups: Groups, variables: Sequence[str], levels: Sequence[str | None],
             stats: dict[str, np.ndarray], labels: Sequence[str | None] | None = None,
             ) -> pl.DataFrame:
    """Long frame: one row per (domain, item); ``stats`` arrays are (D, J)."""
    nd, j = groups.n_dom, len(variables)
    cols: dict[str, Any] = {"variable": list(variables) * nd}
    if any(lv is not None for lv in levels):
        cols["level"] = list(levels) * nd
    if labels is not None and any(lb is not None for lb in labels):
        cols["label"] = list(labels) * nd
    for k, a in stats.items():
        cols[k] = np.asarray(a).reshape(nd, j).reshape(-1)
    out = pl.DataFrame(cols)
    if "n" in out.columns:
        out = out.with_columns(pl.col("n").cast(pl.Int64))
    if not groups.groups:
        return out
    keys = groups.keys.select(pl.all().gather(np.repeat(np.arange(nd), j)))
    return pl.concat([keys, out], how="horizontal")
