"""Findings as text for people: grouped by kind, wrapped to a width (CJK characters take two).

Example:
    >>> _wrap("a b c", 3)
    ['a b', 'c']
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from typing import Any

import polars as pl

from survey.present.text import catalog
from survey.published._text import TEXTS_FILE, say

#: The kinds of finding in the order :func:`format_findings` prints them (errors first, notes
#: last); what each means is the catalog entry ``kinds.<kind>``.
FINDING_KINDS: tuple[str, ...] = (
    "unresolved",
    "edition",
    "conflict",
    "year_conflict",
    "trend",
    "year_label",
    "change",
    "net_split",
    "rank",
    "option_count",
    "level_conflict",
    "metric_label",
    "relation",
    "note",
)


def _cell_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _wrap(text: str, width: int, indent: str = "", subsequent: str = "") -> list[str]:
    """``text`` in lines of at most ``width`` columns (CJK characters take two), broken at spaces
    and between CJK characters, never before closing punctuation nor after opening punctuation.
    """
    tokens: list[list[Any]] = []  # [text, space before it, ends with a wide character]
    space = False
    for ch in text:
        if ch.isspace():
            space = True
            continue
        wide = _cell_width(ch) == 2
        cat = unicodedata.category(ch)
        glue = (
            bool(tokens)
            and not space
            and (
                cat in ("Pe", "Pf", "Po")
                or unicodedata.category(tokens[-1][0][-1]) in ("Ps", "Pi")
                or (not wide and not tokens[-1][2])
            )
        )
        if glue:
            tokens[-1][0] += ch
            tokens[-1][2] = wide
        else:
            tokens.append([ch, space and bool(tokens), wide])
        space = False
    lines: list[str] = []
    line, used, empty = indent, sum(map(_cell_width, indent)), True
    for tok, spaced, _wide in tokens:
        gap = 1 if spaced and not empty else 0
        tw = sum(map(_cell_width, tok))
        if not empty and used + gap + tw > width:
            lines.append(line)
            line, used, empty, gap = subsequent, sum(map(_cell_width, subsequent)), True, 0
        while empty and used + tw > width and len(tok) > 1:  # longer than a line: cut it
            cut, w = 0, used
            while cut < len(tok) - 1 and w + _cell_width(tok[cut]) <= width:
                w += _cell_width(tok[cut])
                cut += 1
            lines.append(line + tok[: max(cut, 1)])
            tok = tok[max(cut, 1) :]
            tw = sum(map(_cell_width, tok))
            line, used = subsequent, sum(map(_cell_width, subsequent))
        line += " " * gap + tok
        used += gap + tw
        empty = False
    if not empty:
        lines.append(line)
    return lines


def format_findings(
    findings: pl.DataFrame,
    *,
    n_figures: int | None = None,
    width: int = 100,
    lang: str = "en",
    n_contrasts: int | None = None,
) -> str:
    """:func:`check_figures` findings as text for people: grouped by kind, each message in full.

    Findings of one kind with the same message (one quote behind several figures) are printed
    once with all their figure ids. Errors come first, notes last. ``lang`` ("en" or "zh") picks
    the messages (``message_en`` / ``message_zh``) and the headings; kinds stay as their codes.
    Lines are at most ``width`` columns wide (a CJK character takes two).

    Example:
        >>> from survey.codebook import Codebook
        >>> from survey.published import check_figures, load_figures, say
        >>> text = format_findings(check_figures(load_figures(), Codebook.load()))
        >>> "[trend]" in text and "[year_conflict]" in text
        True
        >>> none = check_figures(load_figures().head(0), Codebook.load())
        >>> format_findings(none, lang="en"), format_findings(none, lang="zh") == say("format.none_plain")
        ('no findings', True)
    """
    lg = "zh" if lang == "zh" else "en"
    column = f"message_{lg}" if f"message_{lg}" in findings.columns else "message"
    rows = findings.to_dicts()
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["kind"]] += 1
    order = [k for k in FINDING_KINDS if k in counts] + sorted(set(counts) - set(FINDING_KINDS))
    if not rows:
        if n_figures is None:
            return say("format.none_plain", lg)
        return say("format.none", lg, n=_checked(n_figures, n_contrasts, lg))
    listed = say("join.comma", lg).join(say("format.count", lg, n=counts[k], kind=k) for k in order)
    summary = (
        listed
        if n_figures is None
        else say("format.summary", lg, n=_checked(n_figures, n_contrasts, lg), counts=listed)
    )
    lines = _wrap(summary, width, subsequent="  ")
    for kind in order:
        meaning = say(f"kinds.{kind}", lg) if f"kinds.{kind}" in catalog(TEXTS_FILE) else ""
        lines += [
            "",
            *_wrap(say("format.heading", lg, kind=kind, meaning=meaning), width, "", "  "),
        ]
        merged: dict[tuple, list[str]] = defaultdict(list)
        for r in rows:
            if r["kind"] == kind:
                merged[(r["edition"], r[column])].append(r["figure_id"])
        for (edition, message), ids in merged.items():
            listed = say("join.comma", lg).join(ids)
            if edition is None:
                head = say("format.context_figures", lg, ids=listed)
            else:
                head = say("format.figures", lg, edition=edition, ids=listed)
            lines += _wrap(head, width, "  - ", "    ")
            lines += _wrap(message, width, "    ", "    ")
    return "\n".join(lines)


def _checked(n_figures: int, n_contrasts: int | None, lang: str) -> str:
    """What was checked, in words: "116 figures" or "116 figures and 15 contrasts"."""
    if n_contrasts is None:
        return say("format.figures_n", lang, n=n_figures)
    return say("format.figures_contrasts_n", lang, n=n_figures, m=n_contrasts)
