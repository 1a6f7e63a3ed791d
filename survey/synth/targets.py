"""Turn published figures, contrasts and the codebook into one target spec per question.

A target says what a synthetic wave must reproduce (``hard``: published shares that must round to
the published whole percent, published means, published ranks) and what it should look like where
nothing was published (``dist``: a full, plausible distribution over every option, item or grid
cell). Unpublished values are derived generically: from the same question's figure in the nearest
other edition when there is one, else from a smooth prior (bell-shaped for ordered scales, a
Dirichlet draw for unordered ones, declining shares between published anchors for multi-selects)
and always consistent with the published ranks. No number is typed in code.

Example:
    >>> from survey.codebook import Codebook
    >>> from survey.synth.targets import build_targets
    >>> t = build_targets(2025, Codebook.load(), figures, contrasts)  # doctest: +SKIP
    >>> t.n, t.questions["confidence"].hard[:1]                      # doctest: +SKIP
    (228, [Share(key='', code='net_decrease', value=54.0, segment=None)])
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from survey.codebook import Codebook, Question

#: figure measures that describe the respondents of one wave and can be checked on it
CHECKABLE = ("share", "mean", "rank", "count")
_GAP = 0.03  # minimum distance (share) kept around a ranked option
_DECAY = 0.8  # ratio between consecutive unpublished shares below the last anchor
_FLOOR = 0.03  # smallest plausible share of a multi-select option


@dataclass(frozen=True)
class Share:
    """A published share: ``code`` (option or net) of ``key`` (grid item, ``""`` otherwise).

    ``value`` is in percent; ``segment`` is ``(variable, (levels…))`` for a domain figure.
    """

    key: str
    code: str
    value: float
    segment: tuple[str, tuple[str, ...]] | None = None


@dataclass
class QuestionTarget:
    """What one question of a synthetic wave must look like.

    * ``dist[key]``: option -> share in [0, 1]; ``key`` is ``""`` or a grid/constant-sum item. For
      single and grid questions each ``dist[key]`` sums to 1; for multi-selects the shares are
      independent.
    * ``hard``: published shares that must round to the published percent.
    * ``means[key]``: published (or plausible) means of numeric questions (``""``) or
      constant-sum items; ``mean_published`` says which are published.
    * ``ranks``: option -> published rank by share (1 = most chosen).
    """

    question: Question
    dist: dict[str, dict[str, float]] = field(default_factory=dict)
    hard: list[Share] = field(default_factory=list)
    means: dict[str, float] = field(default_factory=dict)
    mean_published: set[str] = field(default_factory=set)
    ranks: dict[str, int] = field(default_factory=dict)


@dataclass
class Targets:
    """The target spec of one edition: sample size, per-question targets, contrasts, margins."""

    edition: int
    n: int
    questions: dict[str, QuestionTarget]
    contrasts: pl.DataFrame
    margins: dict[str, dict[str, float]]
    optimum: dict[tuple[str, str], float]


# -- helpers ------------------------------------------------------------------------------------
def stream(seed: int, *names: object) -> np.random.Generator:
    """An independent random stream for ``names`` (adding a question leaves the others unchanged).

    Example:
        >>> float(stream(1, "confidence").random()) == float(stream(1, "confidence").random())
        True
    """
    digest = hashlib.sha256("\x1f".join(map(str, names)).encode()).digest()
    key = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *key]))


def parse_segment(text: object) -> tuple[str, tuple[str, ...]] | None:
    """``"industry=beauty"`` -> ``("industry", ("beauty",))``; ``a|b`` or ``a,b`` for several levels."""
    if text is None or not str(text).strip():
        return None
    var, _, levels = str(text).partition("=")
    parts = tuple(p.strip() for p in levels.replace(",", "|").split("|") if p.strip())
    return var.strip(), parts


def sample_size(figures: pl.DataFrame, edition: int) -> int | None:
    """The edition's published sample size: its ``count`` figure of all respondents."""
    f = _edition(figures, edition).filter(
        (pl.col("measure") == "count")
        & pl.col("question_id").fill_null("").eq("")
        & pl.col("segment").fill_null("").eq("")
    )
    if f.is_empty():
        return None
    named = f.filter(pl.col("figure_id").str.contains("(?i)sample|respond|n_"))
    return int((named if not named.is_empty() else f)["value"].max())


def normalize_figures(figures: pl.DataFrame) -> pl.DataFrame:
    """Cast a figures frame to the columns and dtypes this package expects (missing -> null)."""
    cols = {
        "edition": pl.Int64,
        "figure_id": pl.String,
        "question_id": pl.String,
        "option_code": pl.String,
        "measure": pl.String,
        "value": pl.Float64,
        "unit": pl.String,
        "segment": pl.String,
        "compare_edition": pl.Int64,
    }
    out = figures
    for c, t in cols.items():
        out = out.with_columns(
            (pl.col(c) if c in out.columns else pl.lit(None)).cast(t, strict=False).alias(c)
        )
    return out.with_columns(
        [pl.col(c).str.strip_chars() for c in ("question_id", "option_code", "segment", "measure")]
    )


def _edition(figures: pl.DataFrame, edition: int) -> pl.DataFrame:
    return figures.filter(pl.col("edition") == edition)


def _split_code(q: Question, code: str) -> tuple[str, str]:
    """``item:option`` -> (item, option) for grids; ``item`` alone for constant sums."""
    if q.type == "grid":
        item, _, opt = code.partition(":")
        return item, opt
    if q.type == "constant_sum":
        return code, ""
    return "", code


def _members(q: Question, code: str) -> tuple[str, ...]:
    return q.net_members(code) if code in {n.code for n in q.nets} else (code,)


def share_figures(figures: pl.DataFrame, q: Question) -> pl.DataFrame:
    """Share figures about ``q`` that resolve onto its codes (one edition or many)."""
    f = figures.filter(
        (pl.col("question_id") == q.id)
        & (pl.col("measure") == "share")
        & pl.col("option_code").is_not_null()
    )
    keep = [
        c.startswith("range:")
        if q.type == "numeric"
        else q.resolves(c) and (q.type == "constant_sum" or _split_code(q, c)[1] in q.all_codes())
        for c in f["option_code"]
    ]
    return f.filter(pl.Series(keep, dtype=pl.Boolean))


# -- priors for what was not published ------------------------------------------------------------
def _prior_single(q: Question, rng: np.random.Generator) -> np.ndarray:
    """A plausible distribution over a single question's options (ordered: bell; else Dirichlet)."""
    k = len(q.options)
    if q.ordered:
        scores = np.array(
            [o.score if o.score is not None else i for i, o in enumerate(q.options)], float
        )
        z = (scores - scores.mean()) / (scores.std() or 1.0)
        w = np.exp(-0.5 * z**2) * rng.gamma(20.0, 1 / 20.0, size=k)
    else:
        w = rng.dirichlet(np.full(k, 3.0))
    return w / w.sum()


def _nearest(
    other: Mapping[int, float], edition: int
) -> float | None:  # value of the nearest other edition
    if not other:
        return None
    best = min(other, key=lambda e: (abs(e - edition), -e))
    return other[best]


def _fill_single(
    q: Question,
    known: dict[str, float],
    nets: dict[str, float],
    soft: dict[str, float],
    rng: np.random.Generator,
) -> dict[str, float]:
    """A full distribution honouring published option and net shares (fractions)."""
    codes = q.codes()
    prior = dict(zip(codes, _prior_single(q, rng), strict=True))
    for c, v in soft.items():
        prior[c] = max(v, 1e-3)
    out = dict(known)
    # nets first: their unpublished members share what the net leaves
    for net, v in sorted(nets.items(), key=lambda kv: len(q.net_members(kv[0]))):
        mem = q.net_members(net)
        free = [c for c in mem if c not in out]
        if not free:
            continue
        rest = max(v - sum(out.get(c, 0.0) for c in mem if c in out), 0.0)
        tot = sum(prior[c] for c in free)
        for c in free:
            out[c] = rest * prior[c] / tot
    free = [c for c in codes if c not in out]
    rest = max(1.0 - sum(out.values()), 0.0)
    if free:
        tot = sum(prior[c] for c in free)
        for c in free:
            out[c] = rest * prior[c] / tot
    s = sum(out.values())
    return {c: out[c] / s for c in codes}


def _fill_multi(
    q: Question,
    known: dict[str, float],
    ranks: dict[str, int],
    soft: dict[str, float],
    rng: np.random.Generator,
) -> dict[str, float]:
    """Independent shares for a multi-select: published ones kept, the rest declining between them.

    Options with a published rank take that position in the order by share; the others are ordered
    by their soft value (another edition's figure) or a random draw, and get values interpolated
    between the published anchors (geometric decline below the last one), keeping a gap around
    ranked options so that the published order survives rounding and weighting.
    """
    codes = q.codes()
    excl = [c for c in codes if q.option(c).exclusive and c not in known]
    pool = [c for c in codes if c not in excl]
    out = order_fill(pool, known, ranks, soft, rng)
    for c in excl:
        out[c] = soft.get(c, 0.03)
    return {c: out[c] for c in codes}


def order_fill(
    pool: list[str],
    known: Mapping[str, float],
    ranks: Mapping[str, int],
    soft: Mapping[str, float],
    rng: np.random.Generator,
) -> dict[str, float]:
    """Independent shares for ``pool``: published ones kept, the rest declining between them.

    Example:
        >>> v = order_fill(["a", "b", "c"], {"a": 0.41}, {"a": 1}, {}, np.random.default_rng(0))
        >>> v["a"], v["b"] < 0.41, v["c"] < v["b"]
        (0.41, True, True)
    """
    decay = max(_DECAY, 0.12 ** (1 / max(len(pool) - 1, 1)))  # long lists decline more slowly
    key = {c: known.get(c, soft.get(c, float(rng.uniform(0.05, 0.35)))) for c in pool}
    slots: list[str | None] = [None] * len(pool)
    for c, r in sorted(ranks.items(), key=lambda kv: kv[1]):
        if c in key and 1 <= r <= len(pool) and slots[r - 1] is None:
            slots[r - 1] = c
    rest = sorted((c for c in pool if c not in slots), key=lambda c: -key[c])
    order = [s if s is not None else rest.pop(0) for s in slots]
    vals: list[float | None] = [known.get(c) for c in order]
    anchors = [i for i, v in enumerate(vals) if v is not None]
    ranked = {i for i, c in enumerate(order) if c in ranks}
    for i, c in enumerate(order):
        if vals[i] is not None:
            continue
        above = [a for a in anchors if a < i]
        below = [a for a in anchors if a > i]
        if above and below:
            a, b = above[-1], below[0]
            va, vb = float(vals[a]), float(vals[b])  # type: ignore[arg-type]
            v = va + (vb - va) * (i - a) / (b - a)
        elif above:
            a = above[-1]
            v = max(float(vals[a]) * decay ** (i - a), _FLOOR)  # type: ignore[arg-type]
        elif below:
            b = below[0]
            v = min(float(vals[b]) / decay ** (b - i), 0.9)  # type: ignore[arg-type]
        else:
            v = max(0.45 * decay**i, _FLOOR)
        if c in soft and not (i in ranked or (i - 1) in ranked or (i + 1) in ranked):
            lo = float(vals[below[0]]) if below else 0.0  # type: ignore[arg-type]
            hi = float(vals[above[-1]]) if above else 1.0  # type: ignore[arg-type]
            if lo < soft[c] < hi:
                v = soft[c]
        vals[i] = v
    # keep ranked options clear of their neighbours
    for i in sorted(ranked):
        vi = float(vals[i])  # type: ignore[arg-type]
        for j in range(i - 1, -1, -1):
            if order[j] not in known:
                vals[j] = max(float(vals[j]), vi + _GAP * (i - j))  # type: ignore[arg-type]
        for j in range(i + 1, len(order)):
            if order[j] not in known:
                vals[j] = min(float(vals[j]), max(vi - _GAP * (j - i), _FLOOR / 2))  # type: ignore[arg-type]
    return {c: float(min(max(v, 0.005), 0.98)) for c, v in zip(order, vals, strict=True)}  # type: ignore[arg-type]


# -- the builder -------------------------------------------------------------------------------
def build_targets(
    edition: int,
    codebook: Codebook,
    figures: pl.DataFrame,
    contrasts: pl.DataFrame | None = None,
    margins: Mapping[str, Mapping[str, float]] | None = None,
    *,
    seed: int = 0,
) -> Targets:
    """Target spec of ``edition`` from all editions' ``figures`` (other editions fill gaps).

    Example:
        >>> t = build_targets(2025, cb, figures, contrasts, margins)  # doctest: +SKIP
    """
    figures = normalize_figures(figures)
    here = _edition(figures, edition)
    n = sample_size(figures, edition)
    margins = {v: dict(m) for v, m in (margins or {}).items()}
    questions: dict[str, QuestionTarget] = {}
    for q in codebook:
        if not q.asked_in(edition):
            continue
        rng = stream(seed, "targets", edition, q.id)
        questions[q.id] = _question_target(q, edition, here, figures, margins.get(q.id), rng)
    optimum = {
        (r["question_id"], r["option_code"] or ""): float(r["value"])
        for r in figures.filter(pl.col("measure") == "optimum").iter_rows(named=True)
        if r["question_id"]
    }
    cons = contrasts if contrasts is not None else pl.DataFrame()
    if not cons.is_empty() and "edition" in cons.columns:
        cons = cons.filter(pl.col("edition").cast(pl.Int64, strict=False) == edition)
        cons = cons.filter(pl.col("question_id").is_in(list(questions)))
    return Targets(edition, n or 0, questions, cons, margins, optimum)


def _question_target(
    q: Question,
    edition: int,
    here: pl.DataFrame,
    figures: pl.DataFrame,
    margin: Mapping[str, float] | None,
    rng: np.random.Generator,
) -> QuestionTarget:
    t = QuestionTarget(q)
    shares = share_figures(here, q)
    for r in shares.iter_rows(named=True):
        key, code = _split_code(q, r["option_code"])
        t.hard.append(Share(key, code, float(r["value"]), parse_segment(r["segment"])))
    # soft values: the same (undomained) share in other editions, and ranks
    soft: dict[str, dict[str, float]] = {}
    others = share_figures(figures.filter(pl.col("edition") != edition), q).filter(
        pl.col("segment").fill_null("") == ""
    )
    by: dict[tuple[str, str], dict[int, float]] = {}
    for r in others.iter_rows(named=True):
        key, code = _split_code(q, r["option_code"])
        by.setdefault((key, code), {})[int(r["edition"])] = float(r["value"]) / 100
    for (key, code), vals in by.items():
        v = _nearest(vals, edition)
        if v is not None and code in q.codes():
            soft.setdefault(key, {})[code] = v
    if margin:
        soft.setdefault("", {}).update({c: float(v) for c, v in margin.items() if c in q.codes()})
    for r in here.filter(
        (pl.col("question_id") == q.id)
        & (pl.col("measure") == "rank")
        & pl.col("segment").fill_null("").eq("")
    ).iter_rows(named=True):
        if r["option_code"] and q.resolves(r["option_code"]):
            t.ranks[r["option_code"]] = int(r["value"])

    whole = [h for h in t.hard if h.segment is None]
    derived = _grid_ranked_cells(q, t, whole, soft, rng) if q.type == "grid" else {}
    keys = [""] if q.type in ("single", "multi") else q.item_codes()
    for key in keys if q.type in ("single", "multi", "grid") else []:
        known = {h.code: h.value / 100 for h in whole if h.key == key and h.code in q.codes()}
        known = {**derived.get(key, {}), **known}
        nets = {h.code: h.value / 100 for h in whole if h.key == key and h.code not in q.codes()}
        if q.type == "multi":
            t.dist[key] = _fill_multi(q, known, t.ranks, soft.get(key, {}), rng)
        else:
            t.dist[key] = _fill_single(q, known, nets, soft.get(key, {}), rng)

    means = here.filter(
        (pl.col("question_id") == q.id)
        & (pl.col("measure") == "mean")
        & pl.col("segment").fill_null("").eq("")
    )
    for r in means.iter_rows(named=True):
        key = r["option_code"] or ""
        if q.type == "constant_sum" and key not in q.item_codes():
            continue
        t.means[key] = float(r["value"])
        t.mean_published.add(key)
    if q.type == "constant_sum":  # published item shares of a constant sum are means too
        for h in whole:
            if h.key in q.item_codes() and h.key not in t.means:
                t.means[h.key] = h.value
                t.mean_published.add(h.key)
        _fill_constant_sum(q, t, figures, edition)
    if q.type == "numeric" and "" not in t.means:
        other = figures.filter(
            (pl.col("question_id") == q.id)
            & (pl.col("measure") == "mean")
            & pl.col("segment").fill_null("").eq("")
        )
        vals = {int(r["edition"]): float(r["value"]) for r in other.iter_rows(named=True)}
        v = _nearest(vals, edition)
        if v is None:  # borrow the edition's published means of questions in the same unit
            same = here.filter(pl.col("measure") == "mean")["value"]
            v = float(same.mean()) if len(same) else 0.0  # type: ignore[arg-type]
        t.means[""] = float(v)
    return t


def _grid_ranked_cells(
    q: Question,
    t: QuestionTarget,
    whole: list[Share],
    soft: Mapping[str, Mapping[str, float]],
    rng: np.random.Generator,
) -> dict[str, dict[str, float]]:
    """Cells of a grid option with published ranks among items: item -> {option: share}."""
    out: dict[str, dict[str, float]] = {}
    by_opt: dict[str, dict[str, int]] = {}
    for code, r in t.ranks.items():
        item, _, opt = code.partition(":")
        if opt in q.codes():
            by_opt.setdefault(opt, {})[item] = r
    items = q.item_codes()
    for opt, ranks in by_opt.items():
        known = {h.key: h.value / 100 for h in whole if h.code == opt}
        soft_cells = {it: soft[it][opt] for it in items if opt in soft.get(it, {})}
        vals = order_fill(items, known, ranks, soft_cells, rng)
        for it in items:
            if it in known:
                continue
            cap = 1.0 - sum(h.value / 100 for h in whole if h.key == it and h.code in q.codes())
            for h in whole:
                if h.key == it and h.code not in q.codes() and opt in q.net_members(h.code):
                    cap = min(cap, 0.6 * h.value / 100)
            out.setdefault(it, {})[opt] = max(min(vals[it], cap), 0.0)
    return out


def _fill_constant_sum(q: Question, t: QuestionTarget, figures: pl.DataFrame, edition: int) -> None:
    """Plausible item means of a constant sum: other editions' figures, else an even split."""
    total = q.total or 100.0
    items = q.item_codes()
    for it in items:
        if it in t.means:
            continue
        other = figures.filter(
            (pl.col("question_id") == q.id)
            & pl.col("measure").is_in(["mean", "share"])
            & (pl.col("option_code") == it)
            & pl.col("segment").fill_null("").eq("")
            & (pl.col("edition") != edition)
        )
        v = _nearest(
            {int(r["edition"]): float(r["value"]) for r in other.iter_rows(named=True)}, edition
        )
        if v is not None:
            t.means[it] = v
    free = [it for it in items if it not in t.means]
    if free:
        rest = max(total - sum(t.means.values()), 0.0)
        for it in free:
            t.means[it] = rest / len(free)
    s = sum(t.means[it] for it in items)
    if abs(s - total) > 1e-6:  # inconsistent figures: rescale the unpublished part only
        pub = sum(t.means[it] for it in items if it in t.mean_published)
        unpub = [it for it in items if it not in t.mean_published]
        for it in unpub:
            t.means[it] = max(total - pub, 0.0) / len(unpub)
