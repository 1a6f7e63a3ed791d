"""Cover, running-header and back-page fields from the ``report:`` block of ``_quarto.yml``.

The block is project metadata (real Quarto passes it to the template partials as is); the
engine resolves it for one edition and language: texts given as ``{zh: …, en: …}`` are picked
by language, the title gets the edition year (``edition-title``), the publication date comes
from ``published`` by edition, and the synthetic-data notice is added to the disclaimer (and
``synthetic-badge`` shown on the cover) when the edition's wave is synthetic. Every value is escaped for markdown (pandoc reads metadata
as markdown), so a field cannot inject markup into HTML or typst.

Example:
    >>> cfg = {"report": {"publisher": {"zh": "秒针营销科学院", "en": "Miaozhen"},
    ...        "edition-title": {"zh": "{edition}中国数字营销趋势报告"},
    ...        "published": {2025: "2024-12-26"}}}
    >>> m = cover_meta(cfg, lang="zh", edition=2025)
    >>> m["publisher"], m["pagetitle"], m["date"]
    ('秒针营销科学院', '2025中国数字营销趋势报告', '2024年12月26日')
    >>> cover_meta(cfg, lang="en", edition=2025)["date"]
    '26 December 2024'
    >>> cfg["report"]["synthetic-badge"] = {"zh": "合成数据", "en": "Synthetic data"}
    >>> cover_meta(cfg, lang="en", edition=2025, synthetic=True)["badge"]
    'Synthetic data'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from survey.render.emit import escape_md

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
#: fields whose text is shown as is (escaped), per language
_TEXT_FIELDS = ("short-title", "publisher", "disclaimer", "subtitle")


def pick(value: Any, lang: str) -> Any:
    """``value[lang]`` for a ``{zh: …, en: …}`` mapping (falling back to ``zh``), else ``value``.

    Example:
        >>> pick({"zh": "出品", "en": "Publisher"}, "en"), pick("M360", "en")
        ('Publisher', 'M360')
    """
    if isinstance(value, Mapping) and ("zh" in value or "en" in value):
        return value.get(lang, value.get("zh", value.get("en")))
    return value


def format_date(value: Any, lang: str) -> str:
    """A date as readers of ``lang`` write it ("2024年12月26日" / "26 December 2024")."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if lang.startswith("zh"):
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def cover_meta(
    config: Mapping[str, Any], *, lang: str, edition: int | None = None, synthetic: bool = False
) -> dict[str, Any]:
    """Template metadata for one edition and language (see the module docstring)."""
    block = config.get("report") or {}
    if not isinstance(block, Mapping):
        return {}
    meta: dict[str, Any] = {}
    for key in _TEXT_FIELDS:
        text = pick(block.get(key), lang)
        if text:
            meta[key] = escape_md(text)
    partners = block.get("partners") or []
    if isinstance(partners, (str, Mapping)):
        partners = [partners]
    names = [escape_md(pick(p, lang)) for p in partners if pick(p, lang)]
    if names:
        meta["partners"] = names
    if edition is not None:
        meta["edition"] = str(int(edition))
        pattern = pick(block.get("edition-title"), lang)
        if pattern:
            meta["pagetitle"] = escape_md(str(pattern).replace("{edition}", str(int(edition))))
        published = block.get("published") or {}
        when = published.get(int(edition), published.get(str(int(edition))))
        if when:
            meta["date"] = escape_md(format_date(when, lang))
    if synthetic:
        note = pick(block.get("synthetic-note"), lang)
        if note:
            meta["disclaimer"] = " ".join(filter(None, [escape_md(note), meta.get("disclaimer")]))
        badge = pick(block.get("synthetic-badge"), lang)
        if badge:
            meta["badge"] = escape_md(badge)
    labels = pick(block.get("labels"), lang)
    if isinstance(labels, Mapping):
        meta["labels"] = {str(k): escape_md(v) for k, v in labels.items()}
    return meta
