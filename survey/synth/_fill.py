"""Priors and fills for what no edition published: the priors file, the response-curve priors,
full distributions of single and grid questions honouring published shares and nets, and
independent multi-select shares honouring published ranks (assumed options below published ones).

Example:
    >>> _nearest({2023: 77.0, 2025: 55.0}, 2024)
    66.0
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from survey.codebook import Question

_GAP = 0.03  # minimum distance (share) kept around a ranked option
_FLOOR = 0.03  # share of an exclusive multi-select option nothing says anything about


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
