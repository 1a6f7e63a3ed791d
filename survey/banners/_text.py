"""The banner's text catalog (``survey/banners/banners.yml``) and shared literals."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from survey.present.text import catalog

Test = Literal["design", "effective_base"]
Adjust = Literal["bonferroni", "holm", "BH"] | None
TOTAL = "total"

TEXTS_FILE = Path(__file__).resolve().parent / "banners.yml"


def say(key: str, lang: str = "zh", /, **values: Any) -> str:
    """The catalog text ``key`` of ``survey/banners/banners.yml`` in ``lang`` with ``values``
    filled in, as plain text (each exporter escapes for its format).

    Example:
        >>> say("total", "en")
        'Total'
        >>> say("base_where", "zh", label="美妆个护+食品饮料", n=72)
        '基数：美妆个护+食品饮料，n = 72'
    """
    return catalog(TEXTS_FILE).say(key, lang, escape=False, **values)
