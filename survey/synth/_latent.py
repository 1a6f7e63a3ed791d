"""The latent model of a synthetic wave: the respondents' profile and raking weights, their
latent traits, the propensity of each answer, and the shifts that make published segment
contrasts hold.

The only question-specific knowledge of the generator is :data:`LATENT` (which questions share
a trait, with which loading) and :data:`~survey.synth._contrasts.QUADRATIC`; every number comes
from data files.

Example:
    >>> _load("confidence"), _load("budget_split", "brand")
    (('optimism', 0.75), ('brand', 0.75))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import stats

from survey.codebook import Codebook, Question
from survey.synth._contrasts import contrast_test, values
from survey.synth._counts import solve_counts
from survey.synth.targets import Targets, stream

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
