"""Sampling structure of a design: strata, PSUs and later stages, fpc, lonely PSUs (R's
``svydesign`` + ``as.fpc`` + ``options(survey.lonely.psu)``).

Stage 1 is described by the fields every caller already reads (``stratum``, ``psu``,
``psu_stratum``, ``n_psu``, ``scale``); later stages (``ids=[...]`` with an ``fpc``) are
:class:`Stage` records. As R's ``svydesign``:

* stage-``s`` ids are nested in the stage-``s-1`` units (``interaction`` of the ids), stage-1
  ids in the strata (``nest = TRUE``); stage-``s`` strata are the stage-``s`` strata column
  (the last given, R's ``strata[, min(s, NS)]``) crossed with the parent unit;
* ``fpc`` holds, per stage, population counts (all >= 1) or sampling fractions (all <= 1);
  a stage without an fpc column is sampled with replacement; without any fpc only stage 1
  counts (the ultimate-cluster variance);
* the stage-``s`` variance is multiplied by the product of the sampling fractions ``n/N`` of
  the units above it (R's ``multistage`` recursion), so later stages count only when the
  earlier ones are sampled without replacement.

Example:
    >>> import numpy as np
    >>> st = make_structure(np.array([1, 1, 2, 2]), None, None, 4)
    >>> st.n_psu.tolist(), st.scale.tolist()
    ([2, 2], [2.0, 2.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from survey.errors import EstimationError

LONELY = ("fail", "remove", "adjust", "average", "certainty")
CENSUS_F = 1e-7  # R's onestrat: a stratum with f < 1e-7 is self-representing (no variance)


@dataclass(frozen=True, eq=False)
class Stage:
    """One sampling stage: unit and stratum per row, per-stratum counts and factors.

    ``unit`` is ``None`` when the stage's units are the rows. ``group`` is the parent unit of
    each stratum (the rows R's ``multistage`` recursion hands to one ``onestage`` call; all 0
    at stage 1); ``mult`` the product of the sampling fractions of the stages above.
    """

    stratum: np.ndarray  # (n,) codes 0..H-1
    unit: np.ndarray | None  # (n,) codes 0..U-1, nested in strata; None = rows
    unit_stratum: np.ndarray  # (U,) stratum of each unit
    n_unit: np.ndarray  # (H,) sampled units per stratum
    f: np.ndarray  # (H,) 1 - n/N (1 without fpc)
    frac: np.ndarray  # (H,) n/N (0 without fpc: stops the recursion below)
    group: np.ndarray  # (H,) parent unit of each stratum (codes 0..G-1)
    mult: np.ndarray  # (H,) product of the sampling fractions above

    @property
    def n_strata(self) -> int:
        return len(self.n_unit)

    @property
    def n_units(self) -> int:
        return len(self.unit_stratum)

    @property
    def n_groups(self) -> int:
        return int(self.group.max()) + 1 if len(self.group) else 0

    @property
    def scale(self) -> np.ndarray:
        """``f n / (n - 1)`` (``f`` for a lonely stratum), 0 for census strata."""
        n = self.n_unit.astype(float)
        s = np.where(n > 1, self.f * n / np.maximum(n - 1, 1), self.f)
        return np.where(self.f < CENSUS_F, 0.0, s)

    @property
    def lonely(self) -> np.ndarray:
        """Strata with one sampled unit that are not self-representing."""
        return (self.n_unit == 1) & (self.f >= CENSUS_F)


@dataclass(frozen=True, eq=False)
class Structure:
    """Sampling structure: stage 1 as flat fields (PSU per row, ``None``: every row is a PSU),
    later stages in ``stages`` and the lonely-PSU rule."""

    n: int
    stratum: np.ndarray  # (n,) int codes 0..H-1
    psu: np.ndarray | None  # (n,) int codes 0..P-1, PSUs nested in strata; None = one row each
    psu_stratum: np.ndarray | None  # (P,) stratum of each PSU
    n_psu: np.ndarray  # (H,) PSUs per stratum
    scale: np.ndarray  # (H,) f_h * n_h / (n_h - 1)
    lonely_psu: str = "fail"
    stages: tuple[Stage, ...] = ()  # every stage, stage 1 first (empty: built on demand)

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

    @property
    def all_stages(self) -> tuple[Stage, ...]:
        """Every stage with its own variance term (stage 1 first)."""
        if self.stages:
            return self.stages
        h = self.n_strata
        f = np.ones(h)
        unit_stratum = self.stratum if self.psu is None else self.psu_stratum
        return (Stage(self.stratum, self.psu, unit_stratum, self.n_psu, f, np.zeros(h),
                      np.zeros(h, np.int64), np.ones(h)),)

    @property
    def one_stage(self) -> bool:
        """True when stage 1 with ``scale`` is the whole variance (no later stage counts and
        no lonely stratum needs "adjust" or "average"): then the classic one-stage formula
        ``sum_h scale_h sum_p (t_p - tbar_h)^2`` of PSU totals is exact."""
        if len(self.stages) > 1:
            return False
        if not self.stages:
            return True
        return not (self.lonely_psu in ("adjust", "average") and self.stages[0].lonely.any())


def _codes(a: np.ndarray) -> np.ndarray:
    """Dense codes 0..K-1 of the values of ``a``, in sorted order."""
    a = np.asarray(a)
    if a.dtype.kind in "iub" and len(a):
        lo, hi = int(a.min()), int(a.max())
        if hi - lo < 4 * len(a) + 1024:  # small integer range: no sort
            v = a.astype(np.int64) - lo
            present = np.bincount(v, minlength=hi - lo + 1) > 0
            return (np.cumsum(present) - 1)[v]
    return np.unique(a, return_inverse=True)[1].astype(np.int64).ravel()


def _nested(parent: np.ndarray, child: np.ndarray) -> np.ndarray:
    """Dense codes of ``(parent, child)`` pairs (R's ``interaction``), in sorted order."""
    c = _codes(child)
    return _codes(parent.astype(np.int64) * (int(c.max()) + 1 if len(c) else 1) + c)


def _as_list(x: object) -> list:
    if x is None:
        return []
    if isinstance(x, list | tuple):
        return list(x)
    return [x]


def make_structure(stratum: np.ndarray | Sequence[np.ndarray] | None,
                   psu: np.ndarray | Sequence[np.ndarray] | None,
                   popsize: np.ndarray | Sequence[np.ndarray] | None, n: int,
                   lonely_psu: str = "fail", names: Sequence[str] | None = None) -> Structure:
    """Build a :class:`Structure` from raw per-row arrays (one per stage for lists).

    ``stratum``: strata of stage 1 (or one array per stage); ``psu``: ids per stage (``None``:
    rows); ``popsize``: per stage, population unit counts per stratum or sampling fractions.
    ``names`` (of the id columns) are used in error messages.
    """
    if lonely_psu not in LONELY:
        raise EstimationError(f"lonely_psu={lonely_psu!r}; expected one of {list(LONELY)}",
                              value=lonely_psu, expected=f"one of {list(LONELY)}")
    strata = [np.asarray(s) for s in _as_list(stratum)]
    ids = [np.asarray(s) for s in _as_list(psu)]
    pops = [np.asarray(p, float) for p in _as_list(popsize)]
    for what, arrs in (("strata", strata), ("ids", ids), ("fpc", pops)):
        for a in arrs:
            if a.shape != (n,):
                raise EstimationError(f"{what} has {a.shape[0] if a.ndim else 1} values; "
                                      f"expected one per respondent ({n})")
    n_stages = max(len(ids), 1)
    if len(pops) > n_stages:
        raise EstimationError(f"{len(pops)} fpc columns for {n_stages} sampling stage(s); "
                              "expected at most one fpc per stage (ids=[...] gives the stages)")
    if len(strata) > n_stages:
        raise EstimationError(f"{len(strata)} strata columns for {n_stages} stage(s); expected "
                              "at most one per stage")
    if pops:
        big = [bool(np.any(p > 1)) for p in pops]
        small = [bool(np.any(p < 1)) for p in pops]
        if any(big) and any(small):
            raise EstimationError("fpc mixes population counts (> 1) and sampling fractions "
                                  "(< 1); expected all fpc >= 1 or all <= 1 (as R)")
        for p in pops:
            if np.any(~np.isfinite(p)) or np.any(p <= 0):
                raise EstimationError("fpc has missing, infinite or non-positive values; "
                                      "expected population counts or fractions in (0, 1]")
    stages: list[Stage] = []
    parent = np.zeros(n, np.int64)  # the unit above (the whole sample at stage 1)
    st1 = np.zeros(n, np.int64) if not strata else _codes(strata[0])
    mult_rows = np.ones(n)
    for s in range(n_stages):
        if s == 0:
            st = st1
        else:
            own = strata[min(s, len(strata) - 1)] if len(strata) > 1 else np.zeros(n)
            st = _nested(parent, _codes(own))
        n_h = int(st.max()) + 1 if n else 0
        if s < len(ids):
            unit = _nested(st, ids[s]) if s == 0 else _nested(parent, ids[s])
            first = np.zeros(int(unit.max()) + 1, np.int64)
            first[unit[::-1]] = np.arange(n)[::-1]
            unit_stratum = st[first]
        else:
            unit, unit_stratum = None, st
        n_unit = np.bincount(unit_stratum, minlength=n_h)
        first_h = np.zeros(n_h, np.int64)
        first_h[st[::-1]] = np.arange(n)[::-1]
        group = parent[first_h]
        f, frac = np.ones(n_h), np.zeros(n_h)
        if s < len(pops):
            pop = pops[s]
            ph = pop[first_h]
            lo = np.full(n_h, np.inf)
            hi = np.full(n_h, -np.inf)
            np.minimum.at(lo, st, pop)
            np.maximum.at(hi, st, pop)
            if np.any(hi - lo > 1e-9 * np.maximum(hi, 1)):
                h = int(np.flatnonzero(hi - lo > 1e-9 * np.maximum(hi, 1))[0])
                raise EstimationError(f"fpc of stage {s + 1} varies within a stratum (values "
                                      f"{lo[h]:g} and {hi[h]:g}); expected one population "
                                      "size per stratum")
            pop_n = ph if any(big) else n_unit / ph
            over = pop_n < n_unit * (1 - 1e-12)
            if np.any(over):
                h = int(np.flatnonzero(over)[0])
                raise EstimationError(f"fpc of stage {s + 1} implies more than 100% sampling: "
                                      f"population {pop_n[h]:g} < {int(n_unit[h])} sampled units; "
                                      "expected population counts >= sampled units")
            f, frac = (pop_n - n_unit) / pop_n, n_unit / pop_n
        elif pops:  # R: stages without fpc are treated as with replacement
            f, frac = np.ones(n_h), np.zeros(n_h)
        stage_mult = mult_rows[first_h]
        stages.append(Stage(st, unit, unit_stratum, n_unit, f, frac, group, stage_mult))
        if s == 0 and not pops:
            break  # R: no fpc -> only the first stage (ultimate clusters)
        mult_rows = mult_rows * frac[st]
        parent = unit if unit is not None else np.arange(n)
        if not np.any(mult_rows > 0):
            break
    first = stages[0]
    lonely = first.lonely
    if lonely_psu == "fail":
        for k, sg in enumerate(stages):
            if sg.lonely.any():
                h = int(np.flatnonzero(sg.lonely)[0])
                what = "PSU" if k == 0 else f"sampled unit (stage-{k + 1} PSU)"
                raise EstimationError(
                    f"stratum {h + 1} of stage {k + 1} (in sorted order) has only one "
                    f"{what}; expected at least two for the variance, or lonely_psu= one of "
                    "'remove', 'adjust', 'average', 'certainty' (R: options(survey.lonely.psu))",
                    column=None if names is None or k >= len(names) else names[k])
    scale = first.scale
    if lonely_psu in ("remove", "certainty"):
        scale = np.where(lonely, 0.0, scale)
    psu_codes = first.unit
    return Structure(n, first.stratum, psu_codes, None if psu_codes is None else
                     first.unit_stratum, first.n_unit, scale, lonely_psu, tuple(stages))
