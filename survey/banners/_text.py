"""The banner's text catalog (``survey/banners/banners.yml``) and shared literals."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from survey.present.text import catalog

Test = Literal["design", "effective_base"]
Adjust = Literal["bonferroni", "holm"] | None
TOTAL = "total"

TEXTS_FILE = Path(__file__).resolve().parent / "banners.yml"


def say(key: str, lang: str = "zh", /, **values: Any) -> str:
    """The catalog text ``key`` of ``survey/banners.yml`` in ``lang`` with ``values`` filled in.

    Example:
        >>> say("total", "en")
        'Total'
    """
    return catalog(TEXTS_FILE).say(key, lang, **values)
