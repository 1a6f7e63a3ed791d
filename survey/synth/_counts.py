"""Integer answer counts that round to the published percent, assignment of answers by
propensity, and calibration of the raked shares by swaps.

Example:
    >>> [c.tolist() for c in solve_counts([10], [np.array([.5, .5])], [[]])]
    [[5, 5]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

_SHARE_TOL = 0.5
_AIM = 0.3  # calibrate raked shares to within this many points of the published value


def _interval(n: int, pct: float, tol: float = _SHARE_TOL) -> tuple[int, int]:
    """Counts k with ``|100 k / n - pct| <= tol`` (possibly empty: lo > hi)."""
    return math.ceil(n * (pct - tol) / 100 - 1e-9), math.floor(n * (pct + tol) / 100 + 1e-9)


def solve_counts(
    sizes: Sequence[int],
    soft: Sequence[np.ndarray],
    hard_parts: Sequence[Sequence[tuple[np.ndarray, float]]],
    hard_total: Sequence[tuple[np.ndarray, float]] = (),
    *,
    lower: np.ndarray | None = None,
    part_weights: Sequence[float] | None = None,
) -> list[np.ndarray]:
    """Integer counts per part and option closest to ``size * soft`` under rounding constraints.

    ``hard_*`` hold ``(member mask over options, percent)``: the members' count must round to the
    percent (within the part, or over all parts). Falls back to largest-remainder rounding when
    the constraints cannot all hold. ``lower`` gives minimum counts per option (one part only);
    ``part_weights`` (mean weight per part) makes whole-sample figures hold weighted as well.

    Example:
        >>> [c.tolist() for c in solve_counts([228], [np.array([.54, .46])], [[(np.array([True, False]), 54.0)]])]
        [[123, 105]]
    """
    key = (
        tuple(int(x) for x in sizes),
        tuple(tuple(np.round(np.asarray(x, float), 12)) for x in soft),
        tuple(tuple((tuple(m.tolist()), float(v)) for m, v in c) for c in hard_parts),
        tuple((tuple(m.tolist()), float(v)) for m, v in hard_total),
        None if lower is None else tuple(lower.tolist()),
        None if part_weights is None else tuple(round(float(x), 9) for x in part_weights),
    )
    if key not in _COUNTS:
        _COUNTS[key] = _solve_counts(sizes, soft, hard_parts, hard_total, lower, part_weights)
    return [c.copy() for c in _COUNTS[key]]


_COUNTS: dict[tuple, list[np.ndarray]] = {}


def _solve_counts(sizes, soft, hard_parts, hard_total, min_one, pw=None):  # type: ignore[no-untyped-def]
    k = len(soft[0])
    if not any(hard_parts) and not hard_total and min_one is None:
        return [_largest_remainder(s, size) for s, size in zip(soft, sizes, strict=True)]
    if (
        len(sizes) == 1
        and not any(hard_parts)
        and all(int(m.sum()) == 1 for m, _ in hard_total)
        and min_one is None
    ):  # constraints on single options only: nearest count per option
        fast = _fast_counts(sizes[0], np.asarray(soft[0], float), hard_total)
        if fast is not None:
            return [fast]
    nv = len(sizes) * k
    n_total = int(sum(sizes))
    eq: list[tuple[np.ndarray, float]] = []
    dev: list[tuple[np.ndarray, float, float]] = []
    hard: list[tuple[np.ndarray, float, int]] = []
    for p, size in enumerate(sizes):
        c = np.zeros(nv)
        c[p * k : (p + 1) * k] = 1
        eq.append((c, float(size)))
        for j in range(k):
            cj = np.zeros(nv)
            cj[p * k + j] = 1
            dev.append((cj, size * float(soft[p][j]), 1.0))
    for p, cons in enumerate(hard_parts):
        for mask, pct in cons:
            c = np.zeros(nv)
            c[p * k : (p + 1) * k] = mask
            hard.append((c, pct, sizes[p]))
    for mask, pct in hard_total:
        hard.append((np.tile(mask.astype(float), len(sizes)), pct, n_total))
    for c, pct, size in hard:
        dev.append((c, size * pct / 100, 2.0))
    upper = np.repeat(np.asarray(sizes, float), k)
    lower = np.zeros(nv)
    if min_one is not None and len(sizes) == 1 and min_one.sum() <= sizes[0]:
        lower[:k] = min_one.astype(float)
    whard = []
    if pw is not None and len(sizes) > 1:  # whole-sample figures, weighted by mean part weights
        wsum = float(sum(w * n for w, n in zip(pw, sizes, strict=True)))
        for mask, pct in hard_total:
            c = np.concatenate([mask * w for w in pw])
            whard.append((c, wsum * (pct - _AIM) / 100, wsum * (pct + _AIM) / 100))
    for tol in (0.45, _SHARE_TOL):
        x = _milp(nv, eq, dev, hard, tol, lower, upper, whard)
        if x is not None:
            return [np.rint(x[p * k : (p + 1) * k]).astype(int) for p in range(len(sizes))]
    if whard:
        return _solve_counts(sizes, soft, hard_parts, hard_total, min_one)
    if any(hard_parts):  # inconsistent with this profile: keep the whole-sample figures at least
        return _solve_counts(sizes, soft, [[] for _ in sizes], hard_total, min_one)
    if min_one is not None:
        return _solve_counts(sizes, soft, hard_parts, hard_total, None)
    return [_largest_remainder(s, size) for s, size in zip(soft, sizes, strict=True)]


def _fast_counts(
    n: int, soft: np.ndarray, hard: Sequence[tuple[np.ndarray, float]]
) -> np.ndarray | None:
    """Counts when every constraint names one option: pin those, spread the rest (or ``None``)."""
    k = len(soft)
    counts = np.zeros(k, dtype=int)
    pinned = np.zeros(k, bool)
    for mask, pct in hard:
        j = int(np.flatnonzero(mask)[0])
        lo, hi = _interval(n, pct, 0.45)
        if lo > hi:
            lo, hi = _interval(n, pct)
        if lo > hi or (pinned[j] and not lo <= counts[j] <= hi):
            return None
        counts[j] = min(max(round(n * pct / 100), lo), hi)
        pinned[j] = True
    rest = n - int(counts.sum())
    free = ~pinned
    if rest < 0 or (rest > 0 and not free.any()):
        return None
    if free.any():
        p = soft[free] if soft[free].sum() > 0 else np.ones(int(free.sum()))
        counts[free] = _largest_remainder(p, rest)
    return counts


def _milp(nv, eq, dev, hard, tol, lower, upper, whard=()):  # type: ignore[no-untyped-def]
    """min sum w |coef x - target| s.t. part sizes, rounding intervals; x integer."""
    nd = len(dev)
    nv + 2 * nd
    rows, lo, hi = [], [], []
    for c, size in eq:
        rows.append(np.concatenate([c, np.zeros(2 * nd)]))
        lo.append(size)
        hi.append(size)
    for i, (c, target, _) in enumerate(dev):
        r = np.concatenate([c, np.zeros(2 * nd)])
        r[nv + 2 * i], r[nv + 2 * i + 1] = -1.0, 1.0
        rows.append(r)
        lo.append(target)
        hi.append(target)
    for c, pct, size in hard:
        lo_k, hi_k = _interval(size, pct, tol)
        if lo_k > hi_k:
            return None
        rows.append(np.concatenate([c, np.zeros(2 * nd)]))
        lo.append(lo_k)
        hi.append(hi_k)
    for c, lo_w, hi_w in whard:
        rows.append(np.concatenate([c, np.zeros(2 * nd)]))
        lo.append(lo_w)
        hi.append(hi_w)
    cost = np.concatenate([np.zeros(nv), np.repeat([w for *_, w in dev], 2)])
    res = milp(
        cost,
        constraints=LinearConstraint(np.array(rows), np.array(lo), np.array(hi)),
        integrality=np.concatenate([np.ones(nv), np.zeros(2 * nd)]),
        bounds=Bounds(
            np.concatenate([lower, np.zeros(2 * nd)]),
            np.concatenate([upper, np.full(2 * nd, np.inf)]),
        ),
        options={"time_limit": 5.0},
    )
    return None if res.x is None or res.status not in (0, 1) else res.x[:nv]


def _largest_remainder(p: np.ndarray, n: int) -> np.ndarray:
    raw = np.asarray(p, float) / max(float(np.sum(p)), 1e-12) * n
    base = np.floor(raw).astype(int)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: n - int(base.sum())]] += 1
    return base


# -- assignment and calibration -----------------------------------------------------------------
def _assign_ordered(y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Lowest ``counts[0]`` propensities get option 0, the next ``counts[1]`` option 1, …"""
    ans = np.empty(len(y), dtype=np.int64)
    ans[np.argsort(y, kind="stable")] = np.repeat(np.arange(len(counts)), counts)
    return ans


def _assign_unordered(props: np.ndarray, counts: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """Options in ``order`` take, in turn, the ``counts[j]`` free respondents with top propensity."""
    n = props.shape[0]
    ans = np.full(n, -1, dtype=np.int64)
    for j in order:
        free = np.flatnonzero(ans < 0)
        take = free[np.argsort(-props[free, j], kind="stable")[: counts[j]]]
        ans[take] = j
    return ans


#: candidate swap pairs considered at most (all pairs of up to ~2,000 respondents)
_MAX_PAIRS = 2_000_000


def calibrate(
    ans: np.ndarray,
    weights: np.ndarray,
    cons: Sequence[tuple[np.ndarray, float, np.ndarray | None]],
    parts: np.ndarray,
    y: np.ndarray,
    *,
    aim: float = _AIM,
    max_swaps: int = 400,
) -> np.ndarray:
    """Swap answers between respondents of one part until raked shares are near their targets.

    ``cons`` holds ``(member mask over options, percent, domain mask or None)``. Swaps keep every
    unweighted count; among the swaps that help most, the one between respondents with the closest
    propensity ``y`` is taken so that correlations survive.
    """
    ans = ans.copy()
    if not cons:
        return ans
    n = len(ans)
    if n * (n - 1) // 2 <= _MAX_PAIRS:
        iu, ju = np.triu_indices(n, 1)
    else:  # large samples: a fixed random subset of pairs (all pairs would need O(n²) memory)
        rng = np.random.default_rng(n)
        a, b = rng.integers(0, n, size=(2, _MAX_PAIRS))
        keep = a != b
        iu, ju = np.minimum(a, b)[keep], np.maximum(a, b)[keep]
    same = parts[iu] == parts[ju]
    iu, ju = iu[same], ju[same]
    dy = np.abs(y[iu] - y[ju])
    doms = [np.ones(n, bool) if d is None else d for _, _, d in cons]

    def gaps(a: np.ndarray) -> np.ndarray:
        out = []
        for (mask, pct, _), dom in zip(cons, doms, strict=True):
            ind = mask[a] & dom
            out.append(100 * weights[ind].sum() / weights[dom].sum() - pct)
        return np.array(out)

    def loss(g: np.ndarray) -> np.ndarray:
        return (np.maximum(np.abs(g) - aim, 0.0) ** 2).sum(axis=0)

    for _ in range(max_swaps):
        g = gaps(ans)
        cur = float(loss(g))
        if cur <= 0:
            break
        diff = ans[iu] != ans[ju]
        if not diff.any():
            break
        i, j = iu[diff], ju[diff]
        new = np.empty((len(cons), len(i)))
        for c, ((mask, _, _), dom) in enumerate(zip(cons, doms, strict=True)):
            mi, mj = mask[ans[i]].astype(float), mask[ans[j]].astype(float)
            delta = (weights[i] * (mj - mi) * dom[i] + weights[j] * (mi - mj) * dom[j]) * 100
            new[c] = g[c] + delta / weights[dom].sum()
        gain = cur - loss(new)
        best = gain.max()
        if best <= 1e-12:
            break
        ok = np.flatnonzero(gain >= 0.5 * best)
        pick = ok[np.argmin(dy[diff][ok])]
        a, b = i[pick], j[pick]
        ans[a], ans[b] = ans[b], ans[a]
    return ans
