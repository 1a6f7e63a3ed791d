"""The catalog messages of the checks (``survey/published.yml``) and the finding records.

Example:
    >>> say("kinds.note", "en")
    'not an error, worth a look'
    >>> _msg("option_count", qid="q", value="3", n=4)("en")
    "the source says 'q' has 3 options; the codebook has 4"
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from survey.present.text import catalog

_FINDINGS_SCHEMA: dict[str, pl.DataType] = {
    "edition": pl.Int32(),
    "figure_id": pl.String(),
    "kind": pl.String(),
    "message": pl.String(),  # = message_en, kept for callers that predate the bilingual columns
    "message_zh": pl.String(),
    "message_en": pl.String(),
}
# notations shared by both languages, filled into the catalog's messages
_RANGE_FORM = "range:LO:HI"
_CELL_FORM = "item:option"

TEXTS_FILE = Path(__file__).resolve().parent.parent / "published.yml"


def say(key: str, lang: str = "zh", /, **values: Any) -> str:
    """The catalog text ``key`` of ``survey/published.yml`` in ``lang`` with ``values`` filled in.

    Example:
        >>> say("kinds.note", "en")
        'not an error, worth a look'
    """
    return catalog(TEXTS_FILE).say(key, lang, escape=False, case=False, **values)


#: A message not yet in a language: called with "zh" or "en", it gives the text.
Text = Callable[[str], str]


def _msg(key: str, /, **values: Any) -> Text:
    """The catalog message ``key`` with ``values``; values that are :data:`Text` are rendered in
    the message's language."""

    def render(lang: str) -> str:
        return say(key, lang, **{k: v(lang) if callable(v) else v for k, v in values.items()})

    return render


def _join(parts: Sequence[Text], sep: str) -> Text:
    """``parts`` joined with the catalog separator ``join.<sep>``."""
    return lambda lang: say(f"join.{sep}", lang).join(p(lang) for p in parts)


def _seq(items: Iterable[Any], style: str = "code") -> Text:
    """A list for a message: ``style`` is the catalog entry of an item (``list.code``: quoted
    codes, ``list.value``: numbers that English quotes, ``list.number``); numbers as published."""
    items = [_fmt(x) if isinstance(x, int | float) else x for x in items]

    def render(lang: str) -> str:
        if not items:
            return say("list.empty", lang)
        sep = say("list.sep", lang)
        return say(
            "list.wrap", lang, items=sep.join(say(f"list.{style}", lang, x=x) for x in items)
        )

    return render


def _findings(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Finding records as a frame of ``_FINDINGS_SCHEMA``."""
    if not rows:
        return pl.DataFrame(schema=_FINDINGS_SCHEMA)
    return pl.DataFrame(rows, schema=_FINDINGS_SCHEMA, orient="row")


def _k(x: Any) -> Any:
    return "" if x is None else x


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.10g}"


def _finding(r: dict[str, Any], kind: str, message: Text) -> dict[str, Any]:
    en = message("en")
    return {
        "edition": r.get("edition"),
        "figure_id": r["figure_id"],
        "kind": kind,
        "message": en,
        "message_zh": message("zh"),
        "message_en": en,
    }
