"""The report's one palette: colours with fixed meanings, the same in every chart.

An answer's colour follows what it *means*, not its position in a chart: an increase is always
the increase blue, a decrease always the decrease orange, "flat" always grey, "not invest" always
the pale grey. The meaning of an option comes from the codebook (its ``score`` sign on an ordered
scale, or its code: ``increase``, ``decrease``, ``flat``, ``not_invest`` …), so a new question with
such options gets the same colours without code.

Example:
    >>> from survey.present.palette import color_for, MEANING
    >>> color_for("increase") == MEANING["increase"]
    True
    >>> color_for("big_decrease") == MEANING["decrease_strong"]
    True
    >>> meaning_of("small_increase"), meaning_of("not_invest"), meaning_of("kol")
    ('increase', 'not_invest', None)
"""

from __future__ import annotations

from collections.abc import Sequence

#: colours with a fixed meaning (hex); the deck's accent is the increase blue
MEANING: dict[str, str] = {
    "increase_strong": "#0B3C7D",
    "increase": "#2F6DB5",
    "flat": "#A9B1BC",
    "decrease": "#EE8A3C",
    "decrease_strong": "#C4511A",
    "not_invest": "#E3E6EA",
    "not_asked": "#F2F3F5",
}
#: the bar colour of a ranked list: the options a message is about, then the others
PRIMARY = "#2F6DB5"
SECONDARY = "#B9CBE4"
#: text, grid and reference lines
INK = "#1F2933"
MUTED = "#6B7785"
GRID = "#E4E7EB"
#: published figures (reference points, lines) beside survey estimates
PUBLISHED = "#C4511A"
#: a qualitative series of up to six lines (trends): blue first, then distinct hues
SERIES = ("#2F6DB5", "#EE8A3C", "#3A9E8F", "#8E6BBF", "#A9B1BC", "#C4511A")

_WORDS = {
    "increase": ("increase", "rise", "rose", "up", "more", "grow"),
    "decrease": ("decrease", "slowed", "down", "less", "cut", "fall"),
    "flat": ("flat", "same", "level", "unchanged"),
    "not_invest": ("not_invest", "none", "no_invest"),
}


def meaning_of(code: str, score: float | None = None) -> str | None:
    """The meaning of an answer code: ``increase``/``decrease``/``flat``/``not_invest`` or None.

    ``score`` (an ordered scale's score) decides when given: > 0 increase, < 0 decrease, 0 flat.
    """
    c = code.lower()
    if c.startswith("net_"):
        c = c[4:]
    if "not_invest" in c or c in _WORDS["not_invest"]:
        return "not_invest"
    if score is not None:
        return "increase" if score > 0 else "decrease" if score < 0 else "flat"
    for meaning in ("increase", "decrease", "flat"):
        if any(c == w or c.endswith("_" + w) or c.startswith(w + "_") for w in _WORDS[meaning]):
            return meaning
    return None


def color_for(code: str, score: float | None = None, *, strong: bool | None = None) -> str:
    """The colour of an answer code (``big_*``/``large_*`` or ``|score| >= 2`` take the strong
    shade); codes without a meaning get the primary blue."""
    meaning = meaning_of(code, score)
    if meaning is None:
        return PRIMARY
    if strong is None:
        strong = code.startswith(("big_", "large_")) or (score is not None and abs(score) >= 2)
    if strong and meaning in ("increase", "decrease"):
        return MEANING[f"{meaning}_strong"]
    return MEANING[meaning]


def scale_colors(codes: Sequence[str], scores: Sequence[float | None] | None = None) -> list[str]:
    """Colours of a scale's options in order; options without a meaning get shades of grey-blue.

    Example:
        >>> scale_colors(["increase", "flat", "decrease", "not_invest"])
        ['#2F6DB5', '#A9B1BC', '#EE8A3C', '#E3E6EA']
    """
    scores = list(scores) if scores is not None else [None] * len(codes)
    out = []
    neutral = iter(SERIES)
    for code, score in zip(codes, scores, strict=True):
        if meaning_of(code, score) is None:
            out.append(next(neutral, SECONDARY))
        else:
            out.append(color_for(code, score))
    return out
