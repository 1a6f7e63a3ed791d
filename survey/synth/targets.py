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
from typing import Any

import numpy as np
import polars as pl

from survey.codebook import Codebook, Question
from survey.synth._fill import (
    _fill_multi,
    _fill_single,
    _nearest,
    _prior_values,
    load_curves,
    load_priors,
    order_fill,
    priors_file,
)

__all__ = [
    "CHECKABLE",
    "QuestionTarget",
    "Share",
    "Targets",
    "build_targets",
    "implied_figures",
    "load_curves",
    "load_priors",
    "normalize_figures",
    "order_fill",
    "parse_segment",
    "priors_file",
    "sample_size",
    "share_figures",
    "stream",
]

#: figure measures that describe the respondents of one wave and can be checked on it
CHECKABLE = ("share", "mean", "rank", "count")


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
        later = _changes_from_later(q, edition, figures, given)
        soft = {
            "": {**_prior_values(q, given), **near, **later, **implied_cells.get("", ({}, {}))[0]}
        }
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


def _changes_from_later(
    q: Question, edition: int, figures: pl.DataFrame, given: Mapping[str, Any]
) -> dict[str, float]:
    """Multi-select shares of ``edition`` implied by a later edition's published change against
    it when neither level is published: the later edition's wanted share (the nearest other
    edition's published figure, else the prior) minus the change. A net counts when it has one
    member asked in both editions (``net_search`` is ``search`` until 2024).

    Example:
        >>> from survey.codebook import Codebook
        >>> from survey.published import load_figures
        >>> q = Codebook.load()["internet_resources_increase"]
        >>> v = _changes_from_later(q, 2023, load_figures(), load_priors()[q.id])
        >>> round(v["live_streaming"], 2), round(v["search"], 2)
        (0.6, 0.58)
    """
    f = normalize_figures(figures).filter(
        (pl.col("question_id") == q.id) & pl.col("segment").fill_null("").eq("")
    )
    changes = f.filter((pl.col("measure") == "change") & (pl.col("compare_edition") == edition))
    levels = f.filter(pl.col("measure") == "share")
    out: dict[str, float] = {}
    for r in changes.iter_rows(named=True):
        code, later = r["option_code"] or "", int(r["edition"])
        if (
            not code
            or not levels.filter(
                (pl.col("edition").is_in([later, edition])) & (pl.col("option_code") == code)
            ).is_empty()
        ):
            continue  # a published level: implied_figures takes it
        if code in {n.code for n in q.nets}:
            a, b = q.net_members(code, edition), q.net_members(code, later)
            if len(a) != 1 or a != b:
                continue
            code = a[0]
        if code not in q.codes(edition) or code not in q.codes(later):
            continue
        other = {
            int(x["edition"]): float(x["value"]) / 100
            for x in levels.filter(pl.col("option_code") == code).iter_rows(named=True)
            if int(x["edition"]) not in (edition, later)
        }
        wanted = _nearest(other, later)
        if wanted is None:
            wanted = _prior_values(q, given).get(code)
        if wanted is not None:
            out[code] = min(max(wanted - float(r["value"]) / 100, 0.005), 0.98)
    return out


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
