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


_OPENERS = "“‘\"'*_[(#-\\ "
_PROPER = frozenset({"China", "Chinese", "Douyin", "Kuaishou", "Bilibili", "Xiaohongshu", "Weibo",
                     "WeChat", "Baidu", "Tencent", "Alibaba", "Taobao", "Tmall", "Zhihu",
                     "Toutiao", "Meituan", "Pinduoduo", "Internet"})


def _keeps_case(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return (not letters or any(c.isupper() for c in letters[1:]) or word.strip("“”\"',.()")
            in _PROPER)


def mid_sentence(label: str) -> str:
    """An English label as written inside a sentence: the first letter lower-cased, unless the
    first word is an acronym or a mixed-case or proper name, or the label is in Title Case.

    Example:
        >>> mid_sentence("More pragmatic management KPIs"), mid_sentence("KOL marketing")
        ('more pragmatic management KPIs', 'KOL marketing')
        >>> mid_sentence("DeepSeek"), mid_sentence("Douyin ads"), mid_sentence("China Trend Report")
        ('DeepSeek', 'Douyin ads', 'China Trend Report')
    """
    words = label.split()
    if not words or not words[0][:1].isupper() or _keeps_case(words[0]):
        return label
    long = [w for w in words if len(w) >= 4 and w[:1].isalpha()]
    if len(long) >= 2 and all(w[:1].isupper() for w in long):
        return label  # a title or a proper name
    return label[0].lower() + label[1:]


def sentence_start(text: str) -> str:
    """``text`` with its first letter capitalised (past opening quotes and markdown marks).

    Example:
        >>> sentence_start("“more brand building” leads"), sentence_start("70% say so")
        ('“More brand building” leads', '70% say so')
    """
    i = 0
    while i < len(text) and text[i] in _OPENERS:
        i += 1
    if i < len(text) and text[i].islower():
        return text[:i] + text[i].upper() + text[i + 1:]
    return text


def _starts_sentence(before: str) -> bool:
    head = before.rstrip(_OPENERS)
    return not head or head[-1] in ".!?:\n"  # after "head:" a card or list body starts


_HALF_TO_FULL = str.maketrans({"?": "？", ",": "，", ":": "：", ";": "；", "!": "！"})


def _cjk(c: str) -> bool:
    return "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef"


def fullwidth_punct(text: str) -> str:
    """Chinese text with the half-width ``? , : ; !`` and ``( )`` next to Chinese made
    full-width (punctuation between Latin letters or digits is left alone).

    Example:
        >>> fullwidth_punct("面对明年预算下降,贵公司会采取哪些做法?(多选)")
        '面对明年预算下降，贵公司会采取哪些做法？（多选）'
        >>> fullwidth_punct("AI (AIGC), 10:30 与 KOL"), fullwidth_punct("增长(%)")
        ('AI (AIGC), 10:30 与 KOL', '增长（%）')
    """
    out = list(text)
    for i, c in enumerate(text):
        prev = text[i - 1] if i else ""
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if c in "?,:;!" and (_cjk(prev) or _cjk(nxt) or ((c in "?!" and not nxt)
                             and any(_cjk(x) for x in text))):
            out[i] = c.translate(_HALF_TO_FULL)
        elif c == "(":
            j = text.find(")", i)
            if j > i and (_cjk(prev) or any(_cjk(x) for x in text[i + 1:j])):
                out[i], out[j] = "（", "）"
    return "".join(out)


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
    def __init__(self, lang: str, case: bool = True) -> None:
        self.lang = lang
        self.case = case

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        """English: a clause (:class:`Raw`) is capitalised at a sentence start, and a text value
        lower-cased at its first letter inside a sentence (:func:`mid_sentence`; spec ``asis``
        keeps it)."""
        if self.lang != "en" or not self.case:
            return super().vformat(format_string, args, kwargs)
        out: list[str] = []
        for literal, field, spec, conv in self.parse(format_string):
            out.append(literal)
            if field is None:
                continue
            value, _ = self.get_field(field, args, kwargs)
            value = self.convert_field(value, conv)
            spec = spec or ""
            if isinstance(value, str) and spec in ("", "asis"):
                if _starts_sentence("".join(out)):  # labels come capitalised; clauses may not
                    value = Raw(sentence_start(value)) if isinstance(value, Raw) else value
                elif spec == "":
                    value = type(value)(mid_sentence(value))
                out.append(str(value))
            else:
                out.append(self.format_field(value, spec))
        return "".join(out)

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
        if format_spec == "asis":
            return str(value)
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

    def say(self, key: str, lang: str = "zh", /, *, escape: bool = True, case: bool = True,
            **values: Any) -> str:
        """The template ``key`` in ``lang`` with ``values`` filled in.

        ``str`` values are escaped for markdown unless they are :class:`Raw` or ``escape`` is
        false (plain-text uses: chart labels, alt texts, spreadsheets). ``case=False`` keeps
        English values as given (identifiers in diagnostics), without sentence casing.
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
            return Raw(_Formatter(lang, case).format(template, **values))
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
