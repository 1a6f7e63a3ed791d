"""Headings, captions and book metadata in the report's language, from its text catalog.

The chapters are written in Chinese: their ``#`` headings, ``fig-cap``/``tbl-cap`` options and
the book title are Quarto literals. When the report is rendered in another language, each of
these texts is looked up in the project's bilingual catalog (``report/strings.yml``, declared
in ``_quarto.yml`` as ``survey: {translations: strings.yml}``): the entry whose Chinese text is
exactly the literal gives the translation. Real Quarto ignores the ``survey`` key and renders
the Chinese literals.

Example:
    >>> t = Translator({"m.title": {"zh": "方法与数据", "en": "Methods and data"}}, "en")
    >>> t.heading_line("# 方法与数据 {#methods}")
    '# Methods and data {#methods}'
    >>> t("没有的词"), t.missing
    ('没有的词', ['没有的词'])
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from survey.render.qmd import Cell, Markdown, QmdDocument

_HEADING = re.compile(r"^(#{1,6}) (.+?)( \{[^}]*\})?$")
#: cell options whose text is translated
CAPTION_OPTIONS = ("fig-cap", "tbl-cap")
#: metadata keys whose text is translated
META_KEYS = ("title", "subtitle", "author")


@dataclass
class Translator:
    """Exact-text lookup from the source language to ``lang`` through a catalog."""

    entries: Mapping[str, Mapping[str, str]]
    lang: str
    source_lang: str = "zh"
    missing: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._table = {
            e[self.source_lang]: e[self.lang]
            for e in self.entries.values()
            if isinstance(e, Mapping) and self.source_lang in e and self.lang in e
        }

    def languages(self) -> set[str]:
        """Languages the catalog has texts in (empty without a catalog)."""
        return {k for e in self.entries.values() if isinstance(e, Mapping) for k in e}

    @property
    def active(self) -> bool:
        """Whether texts change at all (the report's language is not the source language)."""
        return self.lang != self.source_lang

    def __call__(self, text: str) -> str:
        if not self.active:
            return text
        found = self._table.get(text.strip())
        if found is None:
            if text not in self.missing:
                self.missing.append(text)
            return text
        return found

    def heading_line(self, line: str) -> str:
        """``# 标题 {#id}`` with the title translated (attributes kept)."""
        m = _HEADING.match(line)
        if not m:
            return line
        return f"{m[1]} {self(m[2])}{m[3] or ''}"

    def document(self, doc: QmdDocument) -> None:
        """Translate the headings and captions of ``doc`` in place."""
        if not self.active:
            return
        fence = False
        for block in doc.blocks:
            if isinstance(block, Markdown):
                lines = []
                for line in block.text.split("\n"):
                    if line.lstrip().startswith(("```", "~~~")):
                        fence = not fence
                    lines.append(line if fence else self.heading_line(line))
                block.text = "\n".join(lines)
            elif isinstance(block, Cell):
                for key in CAPTION_OPTIONS:
                    if isinstance(block.options.get(key), str):
                        block.options[key] = self(block.options[key])

    def meta(self, meta: Mapping[str, Any]) -> dict[str, Any]:
        """Book metadata with title, subtitle and author translated."""
        return {k: self(v) if k in META_KEYS and isinstance(v, str) else v for k, v in meta.items()}


def load_translator(project_root: Path, config: Mapping[str, Any], lang: str) -> Translator:
    """The translator declared by ``survey: {translations: FILE}`` of ``_quarto.yml``.

    Without the declaration, texts stay as written (an inactive translator).
    """
    from survey.present.text import Texts

    survey_cfg = config.get("survey") or {}
    source_lang = str(survey_cfg.get("source-lang", "zh"))
    file = survey_cfg.get("translations")
    if not file:
        return Translator({}, source_lang, source_lang)
    texts = Texts.load(project_root / str(file))
    return Translator(texts.entries, lang, source_lang)
