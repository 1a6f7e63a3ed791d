"""Bilingual sentences filled from the numbers: the report's message catalog.

The report's prose lives in a YAML catalog (``report/strings.yml``): each key holds a Chinese and
an English template with ``{placeholders}``. Chapters call :meth:`Texts.say` with values computed
by the library, so no number is typed into the prose and the language is a parameter.

Placeholders take format specs of their own: ``{share:pct}`` (0.54 → "54%"), ``{diff:pp}``
(0.11 → "+11 个百分点" / "+11 points"), ``{growth:num1}`` (8.04 → "8.0"), ``{n:int}`` (228 → "228"),
plus anything Python's format mini-language accepts.

String values are escaped for markdown (``survey.render.emit.escape_md``) unless they are
:class:`Raw` (markdown the library built itself, e.g. a clause from another template).

Example:
    >>> t = Texts({"neg": {"zh": "{share:pct} 的广告主预计减少", "en": "{share:pct} expect a cut"}})
    >>> t.say("neg", "zh", share=0.5439)
    '54% 的广告主预计减少'
    >>> t.say("neg", "en", share=0.5439)
    '54% expect a cut'
    >>> Texts({"k": {"zh": "{x}居首", "en": "{x} leads"}}).say("k", "zh", x="KOL*")
    'KOL\\\\*居首'
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from survey.errors import RenderError


class Raw(str):
    """A string that is already markdown: :meth:`Texts.say` puts it in without escaping.

    Example:
        >>> Texts({"k": {"zh": "a{x}", "en": "a{x}"}}).say("k", "zh", x=Raw("**b**"))
        'a**b**'
    """


def _escape(text: str) -> str:
    from survey.render.emit import escape_md

    return escape_md(text)


_PP = {"zh": "{sign}{v} 个百分点", "en": "{sign}{v} points"}


def fmt_pct(x: float, digits: int = 0) -> str:
    """A share (0-1) as a whole percent: ``fmt_pct(0.5439) == '54%'``."""
    return f"{x * 100:.{digits}f}%"


def fmt_pp(x: float, lang: str = "zh", digits: int = 0) -> str:
    """A difference of shares (0-1) in signed percentage points, in ``lang``."""
    v = f"{abs(x) * 100:.{digits}f}"
    sign = "+" if x > 0 and float(v) != 0 else ("−" if x < 0 and float(v) != 0 else "")
    return _PP.get(lang, _PP["en"]).format(sign=sign, v=v)


def fmt_p(p: float) -> str:
    """A p-value as printed in the report: ``'p < 0.001'``, ``'p = 0.011'``, ``'p = 0.94'``."""
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


class _Formatter(string.Formatter):
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "pct":
            return fmt_pct(value)
        if format_spec == "pct1":
            return fmt_pct(value, 1)
        if format_spec == "pp":
            return fmt_pp(value, self.lang)
        if format_spec == "num1":
            return f"{value:.1f}"
        if format_spec == "num0":
            return f"{value:.0f}"
        if format_spec in ("sgn0", "sgn1"):  # signed, true minus sign: "+3.1", "−3.0", "0.0"
            digits = int(format_spec[-1])
            if round(value, digits) == 0:
                return f"{0:.{digits}f}"
            return f"{value:+.{digits}f}".replace("-", "−")
        if format_spec == "p":
            return fmt_p(value)
        if format_spec == "int":
            return f"{round(value):d}"
        return super().format_field(value, format_spec)


@dataclass(frozen=True)
class Texts:
    """A catalog of bilingual templates: ``{key: {zh: template, en: template}}``."""

    entries: Mapping[str, Mapping[str, str]]
    source: Path | None = None

    @classmethod
    def load(cls, path: str | Path) -> Texts:
        """Read a catalog from YAML (nested mappings are flattened to dotted keys)."""
        p = Path(path)
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise RenderError(f"cannot read text catalog {p}: {e}", file=str(p)) from None
        flat: dict[str, dict[str, str]] = {}

        def walk(prefix: str, node: Any) -> None:
            if isinstance(node, dict) and set(node) <= {"zh", "en"} and node:
                flat[prefix] = {k: str(v) for k, v in node.items()}
            elif isinstance(node, dict):
                for k, v in node.items():
                    walk(f"{prefix}.{k}" if prefix else str(k), v)
            else:
                raise RenderError(
                    f"text catalog {p}: entry '{prefix}' is not a {{zh, en}} mapping",
                    file=str(p),
                    column=prefix,
                    expected="zh: … and en: … templates",
                )

        walk("", raw)
        return cls(flat, p)

    def say(self, key: str, lang: str = "zh", /, *, escape: bool = True, **values: Any) -> str:
        """The template ``key`` in ``lang`` with ``values`` filled in.

        ``str`` values are escaped for markdown unless they are :class:`Raw` or ``escape`` is
        false (plain-text uses: chart labels, alt texts, spreadsheets).
        """
        if escape:
            values = {
                k: v if isinstance(v, Raw) or not isinstance(v, str) else _escape(v)
                for k, v in values.items()
            }
        entry = self.entries.get(key)
        if entry is None:
            raise RenderError(
                f"no text '{key}' in {self.source or 'the catalog'}",
                column=key,
                expected="a key of the text catalog",
            )
        template = entry.get(lang) or entry.get("zh") or next(iter(entry.values()))
        try:
            return Raw(_Formatter(lang).format(template, **values))
        except KeyError as e:
            raise RenderError(
                f"text '{key}' needs a value for {e}",
                column=key,
                expected=f"values for every placeholder of: {template}",
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self.entries


@cache
def catalog(path: str | Path) -> Texts:
    """The catalog at ``path``, read once per process (the package's catalogs are static).

    Example:
        >>> from survey.paths import report_dir
        >>> catalog(report_dir() / "strings.yml") is catalog(report_dir() / "strings.yml")
        True
    """
    return Texts.load(path)
