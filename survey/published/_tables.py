"""What the rules read: the :class:`Published` tables, and what a figure resolves onto.

Example:
    >>> from survey.codebook import Codebook
    >>> from survey.published import load_figures
    >>> t = Published.of(load_figures([2025]).to_dicts(), Codebook.load())
    >>> len(t.resolved) == len(t.rows)
    True
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from survey.codebook import Codebook, Option, Question
from survey.published._load import _LEVEL_MEASURES
from survey.published._text import _CELL_FORM, _RANGE_FORM, Text, _k, _msg, _seq


@dataclass(frozen=True)
class Published:
    """What the rules read: every figure row, the rows that resolve onto the codebook, their
    levels by (edition, question, option, measure, segment), the contrast rows, the codebook."""

    rows: list[dict[str, Any]]
    codebook: Codebook
    contrasts: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    levels: dict[tuple, set[float]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        rows: list[dict[str, Any]],
        codebook: Codebook,
        contrasts: list[dict[str, Any]] | None = None,
    ) -> Published:
        """The rules' input from figure rows (``load_figures().to_dicts()``) and contrast rows."""
        resolved = [r for r in rows if _resolve_problem(r, codebook) is None]
        return cls(rows, codebook, list(contrasts or []), resolved, _levels(resolved))


#: A rule: the published tables in, finding records (``_finding``) out.
Rule = Callable[[Published], list[dict[str, Any]]]


# -- what an edition asked --------------------------------------------------------------------
def _entry_asked(entry: Option, edition: int | None) -> bool:
    """Whether an option or item was asked in ``edition`` by its own history
    (``Option.added``/``dropped``); whether the question was is the question's business."""
    return entry.asked_in(edition)


def _code_asked(q: Question, code: str, edition: int | None) -> bool:
    """Whether ``code`` (option, net, item or ``item:option`` cell) of ``q`` was asked in
    ``edition`` by the options' own history; a net when at least one member was (a net whose
    members changed is still the same net: "search" before 2025, its two kinds from 2025).

    Example:
        >>> from survey.codebook import Codebook
        >>> q = Codebook.load()["internet_resources_increase"]
        >>> _code_asked(q, "net_search", 2024), _code_asked(q, "general_search", 2024)
        (True, False)
    """
    if code.startswith("range:"):
        return True
    if q.type == "grid" and ":" in code:
        item, _, opt = code.partition(":")
        return _code_asked(q, item, edition) and _code_asked(q, opt, edition)
    for entry in (*q.options, *q.items):
        if entry.code == code:
            return _entry_asked(entry, edition)
    for net in q.nets:
        if net.code == code:
            return any(_code_asked(q, m, edition) for m in net.of)
    return True  # not a code of the question: rule_resolve reports it


def _rankable(q: Question, edition: int | None, code: str) -> list[str]:
    """The codes a rank of ``code`` is taken among in ``edition``: a grid cell ``item:option``
    ranks items, anything else the question's options (items of a constant sum)."""
    entries = (
        q.items if (q.type == "grid" and ":" in code) or q.type == "constant_sum" else q.options
    )
    if q.type == "grid" and not code:
        entries = q.items
    return [e.code for e in entries if _entry_asked(e, edition)]


def _where(r: dict[str, Any]) -> str:
    bits = [r["source_file"]]
    if r.get("episode"):
        bits.append(r["episode"])
    if r.get("shownote_time"):
        bits.append(r["shownote_time"])
    return " ".join(bits)


def _resolve_problem(r: dict[str, Any], cb: Codebook) -> Text | None:
    qid, opt, seg = r["question_id"], r["option_code"], r["segment"]
    if qid is None:
        if opt is not None:
            return _msg("unresolved.option_without_question", opt=opt)
    elif qid not in cb:
        return _msg("unresolved.no_question", qid=qid)
    else:
        q = cb[qid]
        if opt is not None:
            if opt.startswith("range:"):
                m = re.match(r"^range:(-?[\d.]*):(-?[\d.]*)$", opt)
                if q.type != "numeric" or not m or not (m.group(1) or m.group(2)):
                    return _msg("unresolved.bad_range", opt=opt, qid=qid, form=_RANGE_FORM)
            elif not q.resolves(opt):
                return _msg("unresolved.no_option", opt=opt, qid=qid, cell=_CELL_FORM)
    if seg is not None:
        var, _, levels = seg.partition("=")
        if var not in cb or not cb[var].segment:
            return _msg("unresolved.no_segment", var=var)
        unknown = [c for c in levels.split("|") if c not in cb[var].codes()]
        if unknown:
            return _msg("unresolved.bad_levels", levels=_seq(unknown), var=var)
    return None


def _asked(q: Question, edition: int) -> bool:
    return q.asked_in(edition) or edition in {h.edition for h in q.history}


def _levels(rows: list[dict[str, Any]]) -> dict[tuple, set[float]]:
    """Level values by (edition, question, option, measure, segment)."""
    out: dict[tuple, set[float]] = defaultdict(set)
    for r in rows:
        if r["question_id"] is not None and r["measure"] in _LEVEL_MEASURES:
            key = (
                r["edition"],
                r["question_id"],
                _k(r["option_code"]),
                r["measure"],
                _k(r["segment"]),
            )
            out[key].add(r["value"])
    return out
