"""Answers question by question: counts that round to the published figures, given to the
respondents by propensity, then calibrated so that raked shares hold too.

Example:
    >>> parse_range("range:10:29")
    (10.0, 29.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
from scipy import stats

from survey.codebook import Question
from survey.synth._contrasts import QUADRATIC
from survey.synth._counts import (
    _assign_ordered,
    _assign_unordered,
    _largest_remainder,
    calibrate,
    solve_counts,
)
from survey.synth._latent import (
    BREADTH,
    CURVATURE,
    HEAPING,
    SPREAD_CONSTANT_SUM,
    _Ctx,
    _latent,
    _load,
    _mask,
)
from survey.synth.targets import QuestionTarget, Share, stream

RESPONSE_DRAWS = 120  # noise draws of an outcome over a share tried for the published peak
RESPONSE_TOL = 0.02  # scale (share) of a fitted peak's miss of the published optimum
RESPONSE_CURVE_TOL = 0.02  # scale (probability) of the fitted curve's miss of the prior curve
RESPONSE_HALF_WIDTH = 0.15  # widest 95% half-interval (share) of the peak that names an optimum


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
    quad = _response_term(ctx, q, float(sum(c[-1] for c in counts)) / ctx.n)
    if quad is not None:  # an outcome over a share: the draw whose fitted peak is the published
        y, ans = _response_draw(ctx, q, key, rng, quad, counts, masks)
        score = y
    elif q.ordered:
        y = _latent(ctx, q.id, key, rng)
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


def relative_response(s: np.ndarray, peak: float, loss_low: float, loss_high: float) -> np.ndarray:
    """The prior response curve ``E(s)``: 1 at ``peak``, ``1 - loss_low`` at 0 and
    ``1 - loss_high`` at 1, quadratic on either side (``priors.yaml``, ``curves``).

    Example:
        >>> relative_response(np.array([0.0, 0.53, 1.0]), 0.53, 0.56, 0.20).round(2).tolist()
        [0.44, 1.0, 0.8]
    """
    s = np.clip(np.asarray(s, float), 0.0, 1.0)
    low = 1 - loss_low * ((peak - s) / max(peak, 1e-9)) ** 2
    high = 1 - loss_high * ((s - peak) / max(1 - peak, 1e-9)) ** 2
    return np.where(s <= peak, low, high)


def quadratic_fit(
    s: np.ndarray, y: np.ndarray, iterations: int = 25
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients ``(b0, b1, b2)`` of a logistic regression of ``y`` (0/1) on ``s``, ``s²``,
    and their (model-based) covariance.

    Example:
        >>> s = np.linspace(0, 1, 400)
        >>> y = (np.random.default_rng(0).random(400) < 0.6 - 1.5 * (s - 0.5) ** 2).astype(float)
        >>> b, cov = quadratic_fit(s, y)
        >>> bool(b[2] < 0), round(float(-b[1] / (2 * b[2])), 1), cov.shape
        (True, 0.5, (3, 3))
    """
    X = np.column_stack([np.ones_like(s), s, s**2])
    b = np.zeros(3)
    H = np.eye(3)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(X @ b, -30, 30)))
        H = X.T @ (X * (p * (1 - p))[:, None]) + 1e-9 * np.eye(3)
        step = np.linalg.solve(H, X.T @ (y - p))
        b += step
        if np.abs(step).max() < 1e-8:
            break
    return b, np.linalg.inv(H)


def _response_draw(
    ctx: _Ctx,
    q: Question,
    key: str,
    rng: np.random.Generator,
    quad: np.ndarray,
    counts: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Propensity and answers of an outcome over a share: of :data:`RESPONSE_DRAWS` noise draws,
    the one whose fitted curve (:func:`quadratic_fit`, logistic in the share and its square, as
    the report's model) is nearest the published optimum and the prior curve
    ``p_top E(s) / mean E`` at the respondents' shares, with a peak the data locate to within
    :data:`RESPONSE_HALF_WIDTH` (the publisher found an optimum in its data). A sample of a few
    hundred rarely shows all three by chance; the choice keeps the prior's height and slope in
    what the report fits."""
    src = QUADRATIC[q.id]
    qid, _, item = src.partition(":")
    total = ctx.codebook[qid].total or 100.0
    s = np.asarray(ctx.values[f"{qid}__{item}"], float) / total
    peak = ctx.targets.optimum[(qid, item)] / total
    p_top = float(sum(c[-1] for c in counts)) / ctx.n
    target = stats.norm.cdf(quad + stats.norm.ppf(min(max(p_top, 1e-4), 1 - 1e-4)))
    X = np.column_stack([np.ones_like(s), s, s**2])
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for k in range(RESPONSE_DRAWS):
        r = rng if k == 0 else stream(ctx.seed, ctx.targets.edition, "response", q.id, key, k)
        y = _latent(ctx, q.id, key, r) + quad
        ans = np.empty(ctx.n, dtype=np.int64)
        for p, m in enumerate(masks):
            ans[m] = _assign_ordered(y[m], counts[p])
        b, cov = quadratic_fit(s, (ans == len(q.codes()) - 1).astype(float))
        if not np.all(np.isfinite(b)) or b[2] >= 0:
            continue
        fitted = 1 / (1 + np.exp(-np.clip(X @ b, -30, 30)))
        grad = np.array([0.0, -1 / (2 * b[2]), b[1] / (2 * b[2] ** 2)])
        half = 1.96 * math.sqrt(max(float(grad @ cov @ grad), 0.0))
        miss = (
            ((-b[1] / (2 * b[2]) - peak) / RESPONSE_TOL) ** 2
            + float(np.mean((fitted - target) ** 2)) / RESPONSE_CURVE_TOL**2
            + (max(half - RESPONSE_HALF_WIDTH, 0.0) / RESPONSE_TOL) ** 2
        )
        if best is None or miss < best[0]:
            best = (miss, y, ans)
    if best is None:  # no draw gives a concave fit: keep the first
        y = _latent(ctx, q.id, key, rng) + quad
        ans = np.empty(ctx.n, dtype=np.int64)
        for p, m in enumerate(masks):
            ans[m] = _assign_ordered(y[m], counts[p])
        return y, ans
    return best[1], best[2]


def _response_term(ctx: _Ctx, q: Question, p_top: float) -> np.ndarray | None:
    """Latent shift that makes P(top answer | s) follow the prior response curve around the
    published optimum: ``probit(p_top E(s) / mean E) - probit(p_top)`` on a unit-variance
    propensity (top answers go to the highest propensities), so that the share of the top answer
    stays ``p_top`` and its ratio between two shares ``s`` is the prior's. Without a curve prior
    the older fixed curvature applies."""
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
    curve = ctx.targets.curves.get(q.id)
    if not curve:
        return -CURVATURE * (x - peak / total) ** 2
    e = relative_response(x, peak / total, curve.get("loss_low", 0.0), curve.get("loss_high", 0.0))
    p = np.clip(p_top * e / e.mean(), 1e-4, 1 - 1e-4)
    return stats.norm.ppf(p) - stats.norm.ppf(min(max(p_top, 1e-4), 1 - 1e-4))


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
