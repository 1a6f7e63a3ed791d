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
    >>> from survey.synth import load_published
    >>> figures, contrasts = load_published()
    >>> t = build_targets(2025, Codebook.load(), figures, contrasts)
    >>> t.n, t.questions["confidence"].hard[:1]
    (228, [Share(key='', code='net_decrease', value=54.0, segment=None)])
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from survey.codebook import Codebook, Question

#: figure measures that describe the respondents of one wave and can be checked on it
CHECKABLE = ("share", "mean", "rank", "count")
_GAP = 0.03  # minimum distance (share) kept around a ranked option
_FLOOR = 0.03  # share of an exclusive multi-select option nothing says anything about


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
    #: outcome question -> response-curve prior (``loss_low``, ``loss_high``; priors file)
    curves: dict[str, dict[str, float]] = field(default_factory=dict)


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
def priors_file() -> Path:
    """The assumed priors of unpublished cells, ``survey/synth/priors.yaml``."""
    return Path(__file__).with_name("priors.yaml")


def load_priors(path: str | Path | None = None) -> dict[str, Any]:
    """``{question: {option: share}}`` (grids: ``{item: {option: share}}``) from the priors file.

    Example:
        >>> load_priors()["media_intent"]["traditional_tv"]["not_invest"] > 0.5
        True
    """
    raw = yaml.safe_load(Path(path or priors_file()).read_text(encoding="utf-8")) or {}
    return dict(raw.get("questions") or {})


def load_curves(path: str | Path | None = None) -> dict[str, dict[str, float]]:
    """Response-curve priors ``{outcome: {"loss_low": .., "loss_high": ..}}`` of the priors file
    (see its ``curves`` section: the relative probability of the outcome's top answer at the
    ends of a constant-sum share, 1 at the published optimum).

    Example:
        >>> load_curves()["market_share_change"]
        {'loss_low': 0.56, 'loss_high': 0.2}
    """
    raw = yaml.safe_load(Path(path or priors_file()).read_text(encoding="utf-8")) or {}
    out = {}
    for q, spec in (raw.get("curves") or {}).items():
        if isinstance(spec, Mapping):
            out[str(q)] = {k: float(spec[k]) for k in ("loss_low", "loss_high") if k in spec}
    return out


def _prior_values(q: Question, given: Mapping[str, Any] | None) -> dict[str, float]:
    """The prior's shares of ``q``'s options that it names (non-negative numbers only)."""
    if not isinstance(given, Mapping):
        return {}
    return {
        c: float(given[c])
        for c in q.codes()
        if isinstance(given.get(c), int | float) and float(given[c]) >= 0
    }


def _prior_single(
    q: Question, rng: np.random.Generator, given: Mapping[str, Any] | None = None
) -> np.ndarray:
    """A distribution over a single question's options: the assumed prior when it names every
    option, else a generic one (ordered: bell over the scores; unordered: a Dirichlet draw)."""
    k = len(q.options)
    named = _prior_values(q, given)
    if len(named) == k and sum(named.values()) > 0:
        w = np.array([named[c] for c in q.codes()])
    elif q.ordered:
        scores = np.array(
            [o.score if o.score is not None else i for i, o in enumerate(q.options)], float
        )
        z = (scores - scores.mean()) / (scores.std() or 1.0)
        w = np.exp(-0.5 * z**2) * rng.gamma(20.0, 1 / 20.0, size=k)
    else:
        w = rng.dirichlet(np.full(k, 3.0))
    return w / w.sum()


def _nearest(other: Mapping[int, float], edition: int) -> float | None:
    """Another editions' value for ``edition``: interpolated between the editions on either side,
    else the nearest edition's (the later one on a tie).

    Example:
        >>> _nearest({2023: 77.0, 2025: 55.0}, 2024), _nearest({2025: 55.0}, 2022)
        (66.0, 55.0)
    """
    if not other:
        return None
    before = [e for e in other if e < edition]
    after = [e for e in other if e > edition]
    if before and after:
        a, b = max(before), min(after)
        return other[a] + (other[b] - other[a]) * (edition - a) / (b - a)
    best = min(other, key=lambda e: (abs(e - edition), -e))
    return other[best]


def _share_out(
    out: dict[str, float],
    free: list[str],
    rest: float,
    soft: Mapping[str, float],
    prior: Mapping[str, float],
) -> None:
    """Give ``rest`` to the ``free`` options: ``soft`` values as they are (scaled when they do
    not fit), the others what is left in proportion to the prior."""
    fixed = [c for c in free if c in soft]
    others = [c for c in free if c not in soft]
    total = sum(soft[c] for c in fixed)
    scale = rest / total if total > 0 and (total > rest or not others) else 1.0
    for c in fixed:
        out[c] = soft[c] * scale
    left = max(rest - total * scale, 0.0)
    tot = sum(prior[c] for c in others)
    for c in others:
        out[c] = left * prior[c] / tot if tot > 0 else left / len(others)


def _fill_single(
    q: Question,
    known: dict[str, float],
    nets: dict[str, float],
    soft: dict[str, float],
    rng: np.random.Generator,
    given: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """A full distribution honouring published option and net shares (fractions).

    Unpublished options take their ``soft`` values (other editions) where there are some, and
    the others share what is left in proportion to the prior (``given``: the priors file's
    entry).
    """
    codes = q.codes()
    prior = dict(zip(codes, _prior_single(q, rng, given), strict=True))
    out = dict(known)
    # nets first: their unpublished members share what the net leaves
    for net, v in sorted(nets.items(), key=lambda kv: len(q.net_members(kv[0]))):
        mem = q.net_members(net)
        free = [c for c in mem if c not in out]
        if free:
            rest = max(v - sum(out.get(c, 0.0) for c in mem if c in out), 0.0)
            _share_out(out, free, rest, soft, prior)
    free = [c for c in codes if c not in out]
    if free:
        _share_out(out, free, max(1.0 - sum(out.values()), 0.0), soft, prior)
    s = sum(out.values())
    return {c: out[c] / s for c in codes}


def _fill_multi(
    q: Question,
    known: dict[str, float],
    ranks: dict[str, int],
    soft: dict[str, float],
    rng: np.random.Generator,
) -> dict[str, float]:
    """Independent shares for a multi-select: published ones kept, the rest from ``soft``
    (other editions, then the prior) moved just enough to respect the published ranks."""
    codes = q.codes()
    excl = [c for c in codes if q.option(c).exclusive and c not in known]
    pool = [c for c in codes if c not in excl]
    out = order_fill(pool, known, ranks, soft, rng)
    for c in excl:
        out[c] = soft.get(c, _FLOOR)
    return {c: out[c] for c in codes}


def order_fill(
    pool: list[str],
    known: Mapping[str, float],
    ranks: Mapping[str, int],
    soft: Mapping[str, float],
    rng: np.random.Generator,
) -> dict[str, float]:
    """Independent shares for ``pool`` consistent with the published ranks.

    Each option wants its published share (``known``), else its ``soft`` value (another
    edition's figure or the prior), else a random draw. Options with a published rank take that
    position in the order by share; the remaining positions go first to the options with a
    published share (by share: a report publishes the shares of its leading options), then to
    the assumed ones (by wanted value), so that an assumed option never outranks a published
    one. A ranked option without a published share gets the wanted value of its position (the
    r-th largest); every unpublished option is then moved, only if needed, to stay at least
    ``_GAP`` away from the published (ranked or shared) options around it, so that the
    published order survives rounding and weighting. Assumed options are not ordered among
    themselves.

    Example:
        >>> v = order_fill(["a", "b", "c"], {"a": 0.41}, {"a": 1}, {"b": 0.5, "c": 0.2},
        ...                np.random.default_rng(0))
        >>> v["a"], round(v["b"], 2), v["c"]
        (0.41, 0.38, 0.2)
        >>> w = order_fill(["a", "b", "c"], {"a": 0.30}, {}, {"b": 0.5, "c": 0.2},
        ...                np.random.default_rng(0))
        >>> w["a"], round(w["b"], 2), w["c"]
        (0.3, 0.27, 0.2)
    """
    want = {c: known.get(c, soft.get(c)) for c in pool}
    for c in pool:  # no figure and no prior: a plausible random share
        if want[c] is None:
            want[c] = float(rng.uniform(0.05, 0.35))
    slots: list[str | None] = [None] * len(pool)
    for c, r in sorted(ranks.items(), key=lambda kv: kv[1]):
        if c in want and 1 <= r <= len(pool) and slots[r - 1] is None:
            slots[r - 1] = c
    rest = sorted(
        (c for c in pool if c not in slots),
        key=lambda c: (c not in known, -float(want[c])),  # type: ignore[arg-type]
    )
    order = [s if s is not None else rest.pop(0) for s in slots]
    by_size = sorted((float(v) for v in want.values()), reverse=True)  # type: ignore[arg-type]
    vals = {c: float(want[c]) for c in order}  # type: ignore[arg-type]
    ranked = [i for i, c in enumerate(order) if c in ranks or c in known]
    for i in ranked:  # a ranked option without a share: the wanted value of its position
        if order[i] not in known:
            vals[order[i]] = by_size[i]
    for i, c in enumerate(order):
        if c in known:
            continue
        above = [vals[order[j]] for j in ranked if j < i]
        below = [vals[order[j]] for j in ranked if j > i]
        hi = min(above) - _GAP if above else 0.98
        lo = max(below) + _GAP if below else 0.005
        vals[c] = float(np.clip(vals[c], lo, hi)) if lo <= hi else (lo + hi) / 2
    return {c: float(min(max(vals[c], 0.005), 0.98)) for c in order}


# -- the builder -------------------------------------------------------------------------------
def build_targets(
    edition: int,
    codebook: Codebook,
    figures: pl.DataFrame,
    contrasts: pl.DataFrame | None = None,
    margins: Mapping[str, Mapping[str, float]] | None = None,
    *,
    seed: int = 0,
    priors: Mapping[str, Any] | None = None,
) -> Targets:
    """Target spec of ``edition`` from all editions' ``figures`` (other editions fill gaps).

    What the edition did not publish comes, in this order, from a figure implied by another
    edition's published change against this edition, the nearest other edition's figure, and
    ``priors`` (default: :func:`load_priors`).

    Example:
        >>> from survey.codebook import Codebook
        >>> from survey.synth import load_published
        >>> figures, contrasts = load_published()
        >>> t = build_targets(2024, Codebook.load(), figures, contrasts)
        >>> t.n, sorted(t.questions)[:2]
        (257, ['ai_marketing_now', 'brand_building_matters'])
    """
    figures = normalize_figures(figures)
    here = _edition(figures, edition)
    n = sample_size(figures, edition)
    margins = {v: dict(m) for v, m in (margins or {}).items()}
    priors = load_priors() if priors is None else priors
    implied = implied_figures(figures, edition)
    questions: dict[str, QuestionTarget] = {}
    for q in codebook:
        if not q.asked_in(edition):
            continue
        rng = stream(seed, "targets", edition, q.id)
        questions[q.id] = _question_target(
            q, edition, here, figures, margins.get(q.id), rng, implied, priors.get(q.id)
        )
    optimum = {  # the edition's own published optimum wins over another edition's
        (r["question_id"], r["option_code"] or ""): float(r["value"])
        for r in figures.filter(pl.col("measure") == "optimum")
        .sort(pl.col("edition") == edition, pl.col("edition"))
        .iter_rows(named=True)
        if r["question_id"]
    }
    cons = contrasts if contrasts is not None else pl.DataFrame()
    if not cons.is_empty() and "edition" in cons.columns:
        cons = cons.filter(pl.col("edition").cast(pl.Int64, strict=False) == edition)
        cons = cons.filter(pl.col("question_id").is_in(list(questions)))
    return Targets(edition, n or 0, questions, cons, margins, optimum, load_curves())


def implied_figures(figures: pl.DataFrame, edition: int) -> pl.DataFrame:
    """Figures of ``edition`` implied by other editions: a published change against ``edition``
    and the same published figure of the later edition give ``figure - change``.

    Example:
        >>> f = pl.DataFrame({"edition": [2025, 2025], "question_id": ["q", "q"],
        ...     "option_code": ["a", "a"], "measure": ["share", "change"], "value": [53.0, 11.0],
        ...     "compare_edition": [None, 2024]})
        >>> implied_figures(f, 2024).select("measure", "value").row(0)
        ('share', 42.0)
    """
    f = normalize_figures(figures)
    key = ["edition", "question_id", "option_code", "segment"]
    change = f.filter((pl.col("measure") == "change") & (pl.col("compare_edition") == edition))
    level = f.filter(pl.col("measure").is_in(["share", "mean"]))
    out = (
        change.select(*key, pl.col("value").alias("change"))
        .with_columns(pl.col("option_code", "segment").fill_null(""))
        .join(
            level.select(*key, "measure", "value").with_columns(
                pl.col("option_code", "segment").fill_null("")
            ),
            on=key,
        )
        .with_columns(
            (pl.col("value") - pl.col("change")).alias("value"),
            pl.lit(edition, dtype=pl.Int64).alias("edition"),
            pl.col("option_code", "segment").replace("", None),
        )
        .unique(subset=["question_id", "option_code", "segment", "measure"], keep="first")
        .sort("question_id", "option_code", "measure", nulls_last=True)
    )
    return normalize_figures(out.drop("change"))


def _shares(f: pl.DataFrame, q: Question) -> list[Share]:
    out = []
    for r in f.iter_rows(named=True):
        key, code = _split_code(q, r["option_code"])
        out.append(Share(key, code, float(r["value"]), parse_segment(r["segment"])))
    return out


def _cells(
    q: Question, shares: list[Share]
) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    """Per key (grid item or ``""``): published option shares and net shares, as fractions."""
    out: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    for h in shares:
        known, nets = out.setdefault(h.key, ({}, {}))
        (known if h.code in q.codes() else nets)[h.code] = h.value / 100
    return out


def _other_editions(
    q: Question,
    edition: int,
    others: pl.DataFrame,
    prior: Mapping[str, Any],
    rng: np.random.Generator,
) -> dict[str, dict[str, float]]:
    """Per key, the distribution other editions suggest for ``edition``: each other edition's
    published figures completed by the prior, interpolated between the editions on either side
    (else the nearest), so that the options of one key stay consistent with each other."""
    per: dict[str, dict[int, dict[str, float]]] = {}
    for e in sorted({int(x) for x in others["edition"]}):
        for key, (known, nets) in _cells(
            q, _shares(others.filter(pl.col("edition") == e), q)
        ).items():
            per.setdefault(key, {})[e] = _fill_single(q, known, nets, {}, rng, prior.get(key))
    out: dict[str, dict[str, float]] = {}
    for key, dists in per.items():
        near = {c: _nearest({e: d[c] for e, d in dists.items()}, edition) for c in q.codes()}
        out[key] = {c: float(v) for c, v in near.items() if v is not None}
    return out


def _question_target(
    q: Question,
    edition: int,
    here: pl.DataFrame,
    figures: pl.DataFrame,
    margin: Mapping[str, float] | None,
    rng: np.random.Generator,
    implied: pl.DataFrame | None = None,
    given: Any = None,
) -> QuestionTarget:
    t = QuestionTarget(q)
    t.hard = _shares(share_figures(here, q), q)
    for r in here.filter(
        (pl.col("question_id") == q.id)
        & (pl.col("measure") == "rank")
        & pl.col("segment").fill_null("").eq("")
    ).iter_rows(named=True):
        if r["option_code"] and q.resolves(r["option_code"]):
            t.ranks[r["option_code"]] = int(r["value"])
    given = given if isinstance(given, Mapping) else {}
    keys = [""] if q.type in ("single", "multi") else q.item_codes()
    prior = {k: given.get(k) if k else given for k in keys}  # the priors file, per grid item
    whole = _cells(q, [h for h in t.hard if h.segment is None])
    imp = [] if implied is None else _shares(share_figures(implied, q), q)
    implied_cells = _cells(q, [h for h in imp if h.segment is None])
    others = share_figures(figures.filter(pl.col("edition") != edition), q).filter(
        pl.col("segment").is_null()
    )
    if q.type == "multi":  # options are independent: each from its own figures, then the prior
        by: dict[str, dict[int, float]] = {}
        for r in others.iter_rows(named=True):
            by.setdefault(r["option_code"], {})[int(r["edition"])] = float(r["value"]) / 100
        near = {c: _nearest(v, edition) for c, v in by.items() if c in q.codes()}
        soft = {"": {**_prior_values(q, given), **near, **implied_cells.get("", ({}, {}))[0]}}
    elif q.type in ("single", "grid"):
        soft = _other_editions(q, edition, others, prior, rng)
    else:
        soft = {}
    if margin:
        soft.setdefault("", {}).update({c: float(v) for c, v in margin.items() if c in q.codes()})
    published = {k: v[0] for k, v in whole.items()}
    derived = _grid_ranked_cells(q, t, published, soft, rng, prior) if q.type == "grid" else {}
    for key in keys if q.type in ("single", "multi", "grid") else []:
        pub_known, pub_nets = whole.get(key, ({}, {}))
        imp_known, imp_nets = implied_cells.get(key, ({}, {})) if q.type != "multi" else ({}, {})
        known = {**imp_known, **derived.get(key, {}), **pub_known}
        nets = {**imp_nets, **pub_nets}
        if q.type == "multi":
            t.dist[key] = _fill_multi(q, known, t.ranks, soft.get(key, {}), rng)
        else:
            t.dist[key] = _fill_single(q, known, nets, soft.get(key, {}), rng, prior[key])

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
        mean_of_q = (
            (pl.col("question_id") == q.id)
            & (pl.col("measure") == "mean")
            & pl.col("segment").fill_null("").eq("")
        )
        vals = {
            int(r["edition"]): float(r["value"])
            for r in figures.filter(mean_of_q).iter_rows(named=True)
        }
        v = _nearest(vals, edition)
        if implied is not None and not implied.filter(mean_of_q).is_empty():
            v = float(implied.filter(mean_of_q)["value"][0])
        if v is None:  # borrow the edition's published means of questions in the same unit
            same = here.filter(pl.col("measure") == "mean")["value"]
            v = float(same.mean()) if len(same) else 0.0  # type: ignore[arg-type]
        t.means[""] = float(v)
    return t


def _grid_ranked_cells(
    q: Question,
    t: QuestionTarget,
    published: Mapping[str, Mapping[str, float]],
    soft: Mapping[str, Mapping[str, float]],
    rng: np.random.Generator,
    prior: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, float]]:
    """Cells of a grid option with published ranks among items: item -> {option: share}.

    ``published`` holds item -> {option: share} of the edition. Unpublished cells want another
    edition's figure, else the item's prior share of the option (``prior``: item -> the priors
    file's entry), and keep room for the item's published nets."""
    out: dict[str, dict[str, float]] = {}
    by_opt: dict[str, dict[str, int]] = {}
    for code, r in t.ranks.items():
        item, _, opt = code.partition(":")
        if opt in q.codes():
            by_opt.setdefault(opt, {})[item] = r
    items = q.item_codes()
    whole = [h for h in t.hard if h.segment is None]
    for opt, ranks in by_opt.items():
        known = {it: v[opt] for it, v in published.items() if opt in v}
        soft_cells = {}
        for it in items:
            named = _prior_values(q, (prior or {}).get(it))
            if opt in soft.get(it, {}):
                soft_cells[it] = soft[it][opt]
            elif opt in named and sum(named.values()) > 0:
                soft_cells[it] = named[opt] / sum(named.values())
        vals = order_fill(items, known, ranks, soft_cells, rng)
        for it in items:
            if it in known:
                continue
            cap = 1.0 - sum(published.get(it, {}).values())
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
