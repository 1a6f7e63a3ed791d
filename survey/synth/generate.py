"""Generate a respondent-level wave that reproduces an edition's published figures.

Steps (all driven by the codebook, the published figures, the contrasts and the weighting margins):

1. **Profile**: segment questions drawn near the raking margins (a realistic, imperfect sample)
   or from the priors, then the standard raking weights (``survey.weighting.raked_design``).
2. **Latent traits** per respondent (``optimism``, ``ai``, ``brand``), N(0, 1).
3. **Answers** question by question from latent propensities
   ``y = loading * trait + contrast shifts + noise``: integer assignment gives the top-k respondents
   (by propensity) an option, with k solved (small MILP) so that every published share rounds to
   the published whole percent; ordered scales and numeric bands are cut at thresholds.
4. **Calibration**: swaps of answers between respondents (counts unchanged) until the raked shares
   round to the published percent too; means are matched unweighted and raked by a linear fix.
5. **Contrasts**: each published segment contrast shifts the question's propensity for that level;
   shifts grow (x1.2) until every contrast holds in direction with p < 0.02, both in the fidelity
   test and in the weighted shares a banner shows, and shrink when a banner share differs by
   more than 25 points between the level and the rest (a survey's size, not a caricature).

The only question-specific knowledge is the latent model below (which questions share a trait,
which outcome has an inverted U in which constant-sum item); every number comes from data files.

Example:
    >>> from survey.synth import synthesize
    >>> wave = synthesize(2025)                                # doctest: +SKIP
    >>> wave.n                                                 # doctest: +SKIP
    228
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import stats
from scipy.optimize import Bounds, LinearConstraint, milp

from survey.codebook import Codebook, Question
from survey.errors import SurveyError
from survey.synth.fidelity import ALPHA as FIDELITY_P
from survey.synth.fidelity import contrast_test, values
from survey.synth.targets import QuestionTarget, Share, Targets, stream

DEFAULT_SEED = 20251226

#: the latent model: "question" or "question:option/item" -> (trait, loading)
LATENT: Mapping[str, tuple[str, float]] = {
    "confidence": ("optimism", 0.75),
    "own_confidence": ("optimism", 0.55),
    "past_year_growth_trend": ("optimism", 0.4),
    "budget_growth_expected": ("optimism", 0.65),
    "budget_growth_actual": ("optimism", 0.35),
    "digital_growth_expected": ("optimism", 0.6),
    "social_growth_expected": ("optimism", 0.5),
    "market_share_change": ("optimism", 0.3),
    "ai_tool_weekly:yes": ("ai", 0.75),
    "ai_marketing_now:yes": ("ai", 0.7),
    "future_plans:ai_marketing": ("ai", 0.65),
    "measures_last_year:ai_tools": ("ai", 0.5),
    "budget_split:brand": ("brand", 0.75),
    "budget_cut_response:brand_to_performance": ("brand", -0.65),
    "growth_opportunities:brand_building": ("brand", 0.5),
    "brand_building_matters:yes": ("brand", 0.4),
    "budget_add_priority:brand": ("brand", 0.6),
    "marketing_goals:brand_goals": ("brand", 0.4),
}
TRAITS = ("optimism", "ai", "brand")
#: ordered outcome -> constant-sum "question:item" whose published ``optimum`` is its peak
QUADRATIC: Mapping[str, str] = {"market_share_change": "budget_split:brand"}
CURVATURE = 15.0  # latent units per squared share distance from the optimum
SPREAD_CONSTANT_SUM = 16.0  # SD (points) of a constant-sum item across respondents
CONTRAST_SHIFT = 0.25  # initial latent shift of a contrast level (SD units)
CONTRAST_GROWTH = 1.2  # factor on the shift of a contrast that is not yet significant
HEAPING = 0.4  # share of numeric answers given as a multiple of 5
BREADTH = 0.5  # loading of a multi-select option on the respondent's box-ticking breadth
CONTRAST_ROUNDS = 16  # regenerations with growing shifts until every contrast holds
CONTRAST_MAX_GAP = 25.0  # largest level-vs-rest gap (points) of a banner share a contrast may show
CONTRAST_P = 0.02  # generation aims below this p-value (the fidelity check uses 0.05)
MIN_CONTRAST_GROUP = 12  # smallest profile group named by a published contrast
_SHARE_TOL = 0.5
_AIM = 0.3  # calibrate raked shares to within this many points of the published value


@dataclass
class _Ctx:
    targets: Targets
    codebook: Codebook
    n: int
    seed: int
    profile: dict[str, np.ndarray]
    weights: np.ndarray
    traits: dict[str, np.ndarray]
    shifts: dict[tuple[str, str, str], np.ndarray] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)


# -- integer counts ------------------------------------------------------------------------------
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


# -- the generator ------------------------------------------------------------------------------
def generate(
    targets: Targets, codebook: Codebook, *, n: int | None = None, seed: int = DEFAULT_SEED
) -> pl.DataFrame:
    """A typed wave frame for ``targets`` (ids, profile, answers, ``weight``).

    Example:
        >>> frame = generate(build_targets(2025, cb, figures, contrasts, margins), cb)  # doctest: +SKIP
    """
    size = int(n or targets.n)
    if size <= 0:
        raise SurveyError(
            f"edition {targets.edition} has no published sample size: pass n=",
            value=targets.edition,
            expected="a count figure 'sample_size' in data/published/<edition>.csv, or n=",
        )
    profile = _profile(targets, codebook, size, seed)
    weights = _weights(profile, targets.margins, size)
    traits = {t: stream(seed, targets.edition, "trait", t).standard_normal(size) for t in TRAITS}
    scale = {i: CONTRAST_SHIFT for i in range(targets.contrasts.height)}
    best: tuple[tuple[int, int, int], pl.DataFrame] | None = None
    cache: dict[str, dict[str, np.ndarray]] = {}
    for _ in range(CONTRAST_ROUNDS):
        ctx = _Ctx(targets, codebook, size, seed, profile, weights, traits)
        _contrast_shifts(ctx, scale)
        frame = _assemble(ctx, cache)
        res = _contrast_stats(frame, targets, codebook)
        failing = [i for i, (p, _) in res.items() if p >= CONTRAST_P]
        too_big = [i for i, (p, gap) in res.items() if p < CONTRAST_P and gap > CONTRAST_MAX_GAP]
        missed = [i for i, (p, _) in res.items() if p >= FIDELITY_P]  # what the fidelity checks
        score = (len(missed), len(too_big), len(failing))
        if best is None or score < best[0]:
            best = (score, frame)
        if not failing and not too_big:
            break
        for i in failing:  # grow the shifts of the contrasts that do not hold yet
            scale[i] *= CONTRAST_GROWTH
        for i in too_big:  # and shrink, more gently, those larger than a survey would show
            scale[i] /= math.sqrt(CONTRAST_GROWTH)
    assert best is not None
    return best[1]


def _profile(targets: Targets, cb: Codebook, n: int, seed: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for q in cb.segments():
        if q.id not in targets.questions:
            continue
        t = targets.questions[q.id]
        rng = stream(seed, targets.edition, "profile", q.id)
        base = np.array([t.dist[""][c] for c in q.codes()])
        margin = targets.margins.get(q.id)
        bounds = _domain_bounds(targets, q.id)
        if margin:  # a real sample misses its margins a little (not when it defines a domain)
            m = np.array([float(margin.get(c, 0.0)) for c in q.codes()])
            base = m / m.sum() if bounds else rng.dirichlet(np.maximum(m, 1e-4) * 120 + 0.05)
        hard = [(_mask(q, h.code), h.value) for h in t.hard if h.segment is None and h.key == ""]
        lower = (
            np.array([float(margin.get(c, 0.0)) > 0 for c in q.codes()], int)
            if margin
            else (np.zeros(len(q.codes()), int))
        )
        for level in _contrast_levels(targets, q.id):  # contrasts need testable groups
            if level in q.codes():
                lower[q.codes().index(level)] = max(MIN_CONTRAST_GROUP, math.ceil(0.07 * n))
        for _ in range(50):  # redraw until the domain figures are attainable
            counts = solve_counts([n], [base], [hard], lower=lower if lower.any() else None)[0]
            if all(
                counts[[q.codes().index(c) for c in levels]].sum() <= cap * n
                for levels, cap in bounds
            ):
                break
            base = rng.dirichlet(np.maximum(m, 1e-4) * 120 + 0.05) if margin else base
        codes = np.repeat(np.array(q.codes(), dtype=object), counts)
        out[q.id] = codes[rng.permutation(n)]
    return out


def _contrast_levels(targets: Targets, var: str) -> set[str]:
    c = targets.contrasts
    if c.is_empty():
        return set()
    out: set[str] = set()
    for lv in c.filter(pl.col("segment_variable") == var)["level"]:
        out |= {s.strip() for s in str(lv).replace(",", "|").split("|")}
    return out


def _domain_bounds(targets: Targets, var: str) -> list[tuple[list[str], float]]:
    """Largest share a domain can have so that its figure and the whole-sample one both hold."""
    out = []
    for t in targets.questions.values():
        for h in t.hard:
            if h.segment is None or h.segment[0] != var:
                continue
            whole = [
                x.value for x in t.hard if x.segment is None and (x.key, x.code) == (h.key, h.code)
            ]
            if not whole:
                continue
            pa, pd = whole[0] / 100, h.value / 100
            cap = pa / pd if pd > pa else (1 - pa) / max(1 - pd, 1e-9) if pd < pa else 1.0
            out.append((list(h.segment[1]), 0.97 * min(cap, 1.0)))
    return out


def _weights(
    profile: dict[str, np.ndarray], margins: Mapping[str, Mapping[str, float]], n: int
) -> np.ndarray:
    use = {v: m for v, m in margins.items() if v in profile}
    if not use:
        return np.ones(n)
    from survey.weighting import raked_design

    frame = pl.DataFrame({v: profile[v].astype(str) for v in use})
    return np.asarray(raked_design(frame, {v: dict(m) for v, m in use.items()}).weights, float)


def _mask(q: Question, code: str) -> np.ndarray:
    members = q.net_members(code) if code in {x.code for x in q.nets} else (code,)
    return np.array([c in members for c in q.codes()])


def _load(qid: str, sub: str = "") -> tuple[str, float] | None:
    return LATENT.get(f"{qid}:{sub}") if sub else LATENT.get(qid)


def _latent(ctx: _Ctx, qid: str, sub: str, rng: np.random.Generator, code: str = "") -> np.ndarray:
    """Propensity ``loading * trait + shifts + noise`` (unit variance before shifts)."""
    spec = _load(qid, code or sub) or (_load(qid) if not code else None)
    noise = rng.standard_normal(ctx.n)
    if spec is None:
        y = noise
    else:
        trait, lam = spec
        y = lam * ctx.traits[trait] + math.sqrt(1 - lam**2) * noise
    shift = ctx.shifts.get((qid, sub, code))
    return y if shift is None else y + shift


def _contrast_shifts(ctx: _Ctx, scale: Mapping[int, float]) -> None:
    cb = ctx.codebook
    for i, row in enumerate(ctx.targets.contrasts.iter_rows(named=True)):
        q = cb[row["question_id"]]
        var, level = row["segment_variable"], str(row["level"])
        if var not in ctx.profile:
            continue
        levels = {s.strip() for s in level.replace(",", "|").split("|")}
        member = np.isin(ctx.profile[var], list(levels)).astype(float)
        sign = 1.0 if row["direction"] == "higher" else -1.0
        code = row.get("option_code") or ""
        key, opt = code.split(":", 1) if ":" in code else ("", code)
        if q.type == "constant_sum":
            key, opt = code, ""
        targets: list[tuple[str, str]]
        nominal = q.type == "multi" or (q.type in ("single", "grid") and not q.ordered)
        if row["measure"] == "share" and opt and nominal:
            members = q.net_members(opt) if opt in {x.code for x in q.nets} else (opt,)
            targets = [(key, m) for m in members]
        else:  # ordered scale, numeric or constant-sum item: shift the question's latent
            if row["measure"] == "share" and opt and q.ordered:
                scores = np.array([o.score or 0.0 for o in q.options])
                mem = _mask(q, opt)
                sign *= 1.0 if scores[mem].mean() >= scores.mean() else -1.0
            targets = [(key, "")]
        for k, c in targets:
            prev = ctx.shifts.get((q.id, k, c), np.zeros(ctx.n))
            ctx.shifts[(q.id, k, c)] = prev + sign * scale[i] * member


def _contrast_stats(
    frame: pl.DataFrame, targets: Targets, cb: Codebook
) -> dict[int, tuple[float, float]]:
    """Per contrast: the larger p of the fidelity test (level vs rest, unweighted; 1 when a
    direction fails unweighted or raked) and of the weighted shares a banner shows (the option,
    or for a mean on a scale with nets the nets, z test on Kish effective bases), and the largest
    level-vs-rest gap (points) of those banner shares."""
    w = frame[cb.weight_column].to_numpy() if cb.weight_column in frame.columns else None
    out = {}
    for i, row in enumerate(targets.contrasts.iter_rows(named=True)):
        res = contrast_test(frame, cb, row)
        if res is None:
            continue
        p_fid = res["p_value"] if res["holds"] and res["holds_raked"] else 1.0
        p, gap = _banner_test(frame, cb, row, w) if w is not None else (0.0, 0.0)
        out[i] = (max(p_fid, p), gap)
    return out


def _banner_test(
    frame: pl.DataFrame, cb: Codebook, row: Mapping[str, object], w: np.ndarray
) -> tuple[float, float]:
    """Smallest p (in the contrast's direction) and largest gap (points) of the weighted shares
    a banner would test for the contrast's level against the rest."""
    q = cb[str(row["question_id"])]
    code = str(row.get("option_code") or "")
    if row.get("measure") == "mean" and not code and q.nets and q.ordered:
        scores = np.array([o.score or 0.0 for o in q.options])
        codes = [n.code for n in q.nets]
        signs = [1.0 if scores[_mask(q, c)].mean() > scores.mean() else -1.0 for c in codes]
    elif row.get("measure") == "share" and code:
        codes, signs = [code], [1.0]
    else:
        return 0.0, 0.0  # nothing a banner shows as a share: the fidelity test decides
    level = {s.strip() for s in str(row["level"]).replace(",", "|").split("|")}
    inside = frame[str(row["segment_variable"])].cast(pl.String).is_in(list(level))
    inside = inside.fill_null(False).to_numpy()
    direction = 1.0 if row["direction"] == "higher" else -1.0
    best, gap = 1.0, 0.0
    for c, sign in zip(codes, signs, strict=True):
        x = values(frame, q, c, "share")
        if x is None:
            continue
        ok = ~np.isnan(x)
        a, b = inside & ok, ~inside & ok
        pa, pb = np.average(x[a], weights=w[a]), np.average(x[b], weights=w[b])
        na, nb = (w[a].sum() ** 2 / (w[a] ** 2).sum()), (w[b].sum() ** 2 / (w[b] ** 2).sum())
        pool = (na * pa + nb * pb) / (na + nb)
        se = math.sqrt(max(pool * (1 - pool), 1e-12) * (1 / na + 1 / nb))
        z = direction * sign * (pa - pb) / se
        best = min(best, float(2 * stats.norm.sf(z)) if z > 0 else 1.0)
        gap = max(gap, 100 * abs(pa - pb))
    return best, gap


def _assemble(ctx: _Ctx, cache: dict[str, dict[str, np.ndarray]] | None = None) -> pl.DataFrame:
    """The wave frame of ``ctx``; ``cache`` keeps the answers of questions no contrast shifts
    (they come out the same in every contrast round)."""
    t, cb, n = ctx.targets, ctx.codebook, ctx.n
    cache = {} if cache is None else cache
    shifted = {k[0] for k in ctx.shifts}
    cols: dict[str, pl.Series] = {
        cb.id_column: pl.Series(
            cb.id_column, [f"{t.edition}-{i + 1:04d}" for i in range(n)], dtype=pl.String
        )
    }
    dtypes = cb.column_dtypes(t.edition)
    order = sorted(
        (q for q in cb if q.id in t.questions and not q.segment),
        key=lambda q: q.id in QUADRATIC,  # outcomes of a quadratic after their regressor
    )
    values: dict[str, np.ndarray] = {}
    for q in cb.segments():
        if q.id in ctx.profile:
            values[q.id] = ctx.profile[q.id]
    for q in order:
        if q.id in shifted or q.id not in cache:
            rng = stream(ctx.seed, t.edition, "answers", q.id)
            ans = _answer(ctx, q, t.questions[q.id], rng)
            if q.id not in shifted:
                cache[q.id] = ans
        values.update(ans if q.id in shifted else cache[q.id])
        ctx.values = values
    for q in cb:
        if q.id not in t.questions:
            continue
        for c in q.columns():
            cols[c] = pl.Series(c, values[c]).cast(dtypes[c])
    cols[cb.weight_column] = pl.Series(cb.weight_column, ctx.weights, dtype=pl.Float64)
    return pl.DataFrame(list(cols.values()))


def _answer(
    ctx: _Ctx, q: Question, t: QuestionTarget, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    if q.type == "single":
        return {q.id: _single(ctx, q, t, "", rng)}
    if q.type == "grid":
        return {f"{q.id}__{it}": _single(ctx, q, t, it, rng) for it in q.item_codes()}
    if q.type == "multi":
        return _multi(ctx, q, t, rng)
    if q.type == "numeric":
        return {q.id: _numeric(ctx, q, t, rng)}
    return _constant_sum(ctx, q, t, rng)


def _parts(ctx: _Ctx, hard: Sequence[Share]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Partition respondents by the (first) domain of the domain figures: (part ids, masks)."""
    dom = next(
        (h.segment for h in hard if h.segment is not None and h.segment[0] in ctx.profile), None
    )
    if dom is None:
        return np.zeros(ctx.n, dtype=np.int64), [np.ones(ctx.n, bool)]
    inside = np.isin(ctx.profile[dom[0]], list(dom[1]))
    return (~inside).astype(np.int64), [inside, ~inside]


def _part_weights(ctx: _Ctx, masks: Sequence[np.ndarray]) -> list[float] | None:
    return [float(ctx.weights[m].mean()) for m in masks] if len(masks) > 1 else None


def _single(
    ctx: _Ctx, q: Question, t: QuestionTarget, key: str, rng: np.random.Generator
) -> np.ndarray:
    codes = q.codes()
    k = len(codes)
    dist = np.array([t.dist[key][c] for c in codes])
    hard = [h for h in t.hard if h.key == key]
    part_id, masks = _parts(ctx, hard)
    whole = [(_mask(q, h.code), h.value) for h in hard if h.segment is None]
    sizes = [int(m.sum()) for m in masks]
    soft, hard_parts = [], []
    for p, m in enumerate(masks):
        dom_hard = [
            (_mask(q, h.code), h.value)
            for h in hard
            if h.segment is not None and p == 0 and len(masks) > 1 and np.array_equal(m, masks[0])
        ]
        soft.append(_conditional(dist, dom_hard) if dom_hard else dist)
        hard_parts.append(dom_hard)
    if len(masks) > 1:  # the rest takes what the domain leaves of the overall distribution
        rest = np.maximum(dist * ctx.n - soft[0] * sizes[0], 1e-6)
        soft[1] = rest / rest.sum()
    counts = solve_counts(sizes, soft, hard_parts, whole, part_weights=_part_weights(ctx, masks))
    quad = _quadratic_term(ctx, q)
    if q.ordered or quad is not None:
        y = _latent(ctx, q.id, key, rng)
        if quad is not None:
            y = y + quad
        ans = np.empty(ctx.n, dtype=np.int64)
        for p, m in enumerate(masks):
            ans[m] = _assign_ordered(y[m], counts[p])
        score = y
    else:
        props = np.column_stack([_latent(ctx, q.id, key, rng, c) for c in codes])
        loaded = [j for j, c in enumerate(codes) if _load(q.id, c) or (q.id, key, c) in ctx.shifts]
        order = loaded + [j for j in range(k) if j not in loaded]
        ans = np.empty(ctx.n, dtype=np.int64)
        for p, m in enumerate(masks):
            ans[m] = _assign_unordered(props[m], counts[p], order)
        score = props[np.arange(ctx.n), ans]
    cons: list[tuple[np.ndarray, float, np.ndarray | None]] = [(mk, v, None) for mk, v in whole]
    for h in hard:
        if h.segment is not None and len(masks) > 1:
            cons.append((_mask(q, h.code), h.value, masks[0]))
    ans = calibrate(ans, ctx.weights, cons, part_id, score)
    return np.array(codes, dtype=object)[ans]


def _conditional(dist: np.ndarray, dom_hard: Sequence[tuple[np.ndarray, float]]) -> np.ndarray:
    """The overall distribution with the domain's published shares imposed (the rest rescaled)."""
    out = dist.copy()
    fixed = np.zeros(len(dist), bool)
    for mask, pct in dom_hard:
        free = mask & ~fixed
        if free.any():
            already = out[mask & fixed].sum()
            out[free] = out[free] / max(out[free].sum(), 1e-9) * max(pct / 100 - already, 0)
            fixed |= mask
    if (~fixed).any():
        out[~fixed] = out[~fixed] / max(out[~fixed].sum(), 1e-9) * max(1 - out[fixed].sum(), 0)
    return out / out.sum()


def _quadratic_term(ctx: _Ctx, q: Question) -> np.ndarray | None:
    src = QUADRATIC.get(q.id)
    if not src:
        return None
    qid, _, item = src.partition(":")
    col = f"{qid}__{item}"
    peak = ctx.targets.optimum.get((qid, item))
    if peak is None or col not in ctx.values:
        return None
    total = ctx.codebook[qid].total or 100.0
    x = np.asarray(ctx.values[col], float) / total
    return -CURVATURE * (x - peak / total) ** 2


def _multi(
    ctx: _Ctx, q: Question, t: QuestionTarget, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    codes = q.codes()
    out: dict[str, np.ndarray] = {}
    props: dict[str, np.ndarray] = {}
    taken = np.zeros(ctx.n, bool)  # respondents who chose an exclusive option
    # some respondents tick many boxes: a per-question breadth shared by the options
    breadth = stream(ctx.seed, ctx.targets.edition, "breadth", q.id).standard_normal(ctx.n)
    for c in sorted(codes, key=lambda c: not q.option(c).exclusive):
        y = _latent(ctx, q.id, "", rng, c) + BREADTH * breadth
        props[f"{q.id}__{c}"] = y
        hard = [h for h in t.hard if h.key == "" and h.code == c]
        part_id, masks = _parts(ctx, hard)
        sizes = [int(m.sum()) for m in masks]
        p = t.dist[""][c]
        whole = [(np.array([False, True]), h.value) for h in hard if h.segment is None]
        dom = [(np.array([False, True]), h.value) for h in hard if h.segment is not None]
        soft = [np.array([1 - p, p])] * len(masks)
        counts = solve_counts(
            sizes, soft, [dom, []][: len(masks)], whole, part_weights=_part_weights(ctx, masks)
        )
        y_eff = np.where(taken, -np.inf, y)
        ans = np.zeros(ctx.n, dtype=np.int64)
        for part, m in enumerate(masks):
            ans[m] = _assign_ordered(y_eff[m], counts[part])
        cons = [(np.array([False, True]), h.value, None) for h in hard if h.segment is None]
        cons += [
            (np.array([False, True]), h.value, masks[0]) for h in hard if h.segment is not None
        ]
        ans = calibrate(ans, ctx.weights, cons, part_id + 2 * taken, np.where(taken, 0, y))
        chosen = ans.astype(bool)
        if q.option(c).exclusive:
            taken |= chosen
        out[f"{q.id}__{c}"] = chosen
    if not any(h.segment is not None for h in t.hard):
        _at_least_one(out, props, ctx.weights)
    return {c: out[c] for c in q.columns()}


def _at_least_one(
    cols: dict[str, np.ndarray], props: Mapping[str, np.ndarray], w: np.ndarray
) -> None:
    """Give respondents with no option ticked one option from a respondent of the same weight
    who ticked several (every count and every raked share stays as it is)."""
    names = list(cols)
    m = np.column_stack([cols[c] for c in names])
    y = np.column_stack([props[c] for c in names])
    cnt = m.sum(axis=1)
    for i in np.flatnonzero(cnt == 0):
        donors = np.flatnonzero((cnt >= 2) & np.isclose(w, w[i], rtol=1e-12, atol=0))
        if not len(donors):
            continue
        gain = np.where(m[donors], y[i][None, :] - y[donors], -np.inf)
        jj, c = np.unravel_index(int(np.argmax(gain)), gain.shape)
        j = donors[jj]
        m[j, c], m[i, c] = False, True
        cnt[j] -= 1
        cnt[i] += 1
    for k, c in enumerate(names):
        cols[c] = m[:, k]


def _bands(q: Question, t: QuestionTarget) -> list[tuple[float, float, float | None]]:
    """Answer bands of a numeric question: published ``range:lo:hi`` shares plus the gaps."""
    lo_q, hi_q = q.range or (-math.inf, math.inf)
    pub = []
    for h in t.hard:
        if h.code.startswith("range:") and h.segment is None:
            lo, hi = parse_range(h.code)
            pub.append((max(lo, lo_q), min(hi, hi_q), h.value))
    pub.sort()
    out: list[tuple[float, float, float | None]] = []
    cur = lo_q
    for lo, hi, v in pub:
        if lo > cur:
            out.append((cur, lo - 1, None))
        out.append((lo, hi, v))
        cur = hi + 1
    if cur <= hi_q:
        out.append((cur, hi_q, None))
    return out


def parse_range(code: str) -> tuple[float, float]:
    """``"range:10:29"`` -> (10, 29); open ends become ±inf.

    Example:
        >>> parse_range("range:30:")
        (30.0, inf)
    """
    _, lo, hi = ([*code.split(":"), "", ""])[:3]
    return (float(lo) if lo else -math.inf, float(hi) if hi else math.inf)


def _numeric(ctx: _Ctx, q: Question, t: QuestionTarget, rng: np.random.Generator) -> np.ndarray:
    mean = t.means.get("", 0.0)
    sd = max(4.0, 0.9 * abs(mean))
    y = _latent(ctx, q.id, "", rng)
    x = mean + sd * y
    bands = _bands(q, t)
    lo, hi = q.range or (-math.inf, math.inf)
    if any(v is not None for *_, v in bands):
        x = _banded(ctx, bands, x, y, mean, sd)
        return _fix_mean(np.clip(x, lo, hi), ctx.weights, mean, [(lo, hi)] * ctx.n, integer=True)
    x = _fix_mean(np.clip(x, lo, hi), ctx.weights, mean, [(lo, hi)] * ctx.n, integer=False)
    # people answer in round numbers: some answers heap on multiples of 5, the rest keep the mean
    heap = stream(ctx.seed, ctx.targets.edition, "heaping", q.id).random(ctx.n) < HEAPING
    x = np.where(heap, np.clip(np.round(x / 5) * 5, lo, hi), x)
    limits = [(v, v) if h else (lo, hi) for v, h in zip(x, heap, strict=True)]
    return _fix_mean(x, ctx.weights, mean, limits, integer=True)


def _banded(ctx: _Ctx, bands, x, y, mean, sd) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Cut the propensity into published bands; spread values inside each band."""
    k = len(bands)
    pub = [b for b in bands if b[2] is not None]
    left = max(1.0 - sum(v for *_, v in pub) / 100, 0.0)
    free = [b for b in bands if b[2] is None]
    base = np.array([b[2] / 100 if b[2] is not None else left / max(len(free), 1) for b in bands])
    whole = [(np.eye(k, dtype=bool)[j], b[2]) for j, b in enumerate(bands) if b[2] is not None]
    counts = solve_counts([ctx.n], [base], [[]], whole)[0]
    band = _assign_ordered(y, counts)
    band = calibrate(band, ctx.weights, [(m, v, None) for m, v in whole], np.zeros(ctx.n, int), y)
    out = np.empty(ctx.n)
    for j, (lo, hi, _) in enumerate(bands):
        m = band == j
        if not m.any():
            continue
        r = (np.argsort(np.argsort(y[m])) + 0.5) / m.sum()
        if math.isfinite(lo) and math.isfinite(hi) and hi - lo < 4 * sd:
            out[m] = lo + (hi - lo) * r
        elif math.isfinite(hi) and abs(hi - mean) <= abs(lo - mean):  # spread down from hi
            out[m] = np.maximum(hi + sd * 0.6 * np.log(r), lo)
        else:  # spread up from lo
            out[m] = np.minimum(lo - sd * 0.6 * np.log(1 - r), hi)
    limits = [(bands[b][0], bands[b][1]) for b in band]
    return _fix_mean(out, ctx.weights, mean, limits, integer=False)


def _fix_mean(
    x: np.ndarray,
    w: np.ndarray,
    target: float,
    limits: Sequence[tuple[float, float]],
    *,
    integer: bool,
) -> np.ndarray:
    """Shift values (``c + d (w - mean w)``) so the plain and weighted means equal ``target``."""
    lo = np.array([a for a, _ in limits], float)
    hi = np.array([b for _, b in limits], float)
    wc = w - w.mean()
    for _ in range(50):
        eu = x.mean() - target
        ew = float(np.average(x, weights=w)) - target
        if abs(eu) < 1e-6 and abs(ew) < 1e-6:
            break
        # solve for c, d: mean(c + d wc) = -eu ; wmean(c + d wc) = -ew
        a = np.array([[1.0, 0.0], [1.0, float(np.average(wc, weights=w))]])
        c, d = np.linalg.lstsq(a, -np.array([eu, ew]), rcond=None)[0]
        x = np.clip(x + c + d * wc, lo, hi)
    if integer:
        x = np.clip(np.rint(x), np.ceil(lo), np.floor(hi)) + 0.0  # no negative zeros
    return x


def _constant_sum(
    ctx: _Ctx, q: Question, t: QuestionTarget, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    items = q.item_codes()
    total = q.total or 100.0
    means = np.array([t.means[it] for it in items], float)
    lat = np.column_stack([_latent(ctx, q.id, it, rng) for it in items])
    if len(items) == 2:
        first = _fix_mean(
            means[0] + SPREAD_CONSTANT_SUM * lat[:, 0],
            ctx.weights,
            means[0],
            [(0.0, total)] * ctx.n,
            integer=True,
        )
        return {f"{q.id}__{items[0]}": first, f"{q.id}__{items[1]}": total - first}
    vals = np.exp(0.5 * lat) * means
    for _ in range(100):  # rows sum to the total, column means to their targets
        vals = vals / vals.sum(axis=1, keepdims=True) * total
        vals = vals * (means / np.maximum(vals.mean(axis=0), 1e-9))
    vals = vals / vals.sum(axis=1, keepdims=True) * total
    rounded = np.array([_largest_remainder(r, int(total)) for r in vals], float)
    return {f"{q.id}__{it}": rounded[:, j] for j, it in enumerate(items)}
