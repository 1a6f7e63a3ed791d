"""Match delivered column headers to codebook columns.

An agency names its columns as its questionnaire tool does: ``Q1. 贵公司所属行业【单选】``,
``Q12_3 营销挑战-流量成本上升``, ``1、行业``, a full-width ``Ｑ１．``, an SPSS variable label.
:func:`normalize` folds a header to a matching key (NFKC, so full- and half-width agree; case;
spacing, punctuation and invisible characters removed) and :func:`strip_numbering` removes the
question numbers and type tags around the wording. A header is matched, in this order, by the
mapping file, by its exact key, then by its key without numbering. Headers matched by nothing
get suggestions (the closest codebook wordings, scored by :mod:`rapidfuzz`, fast enough for
thousands of headers).

Open-text "please specify" columns (``其他(请注明)``) hold free text: they are kept as text
columns named ``<column>_text`` (for example ``challenges__other_text``), never taken for the
option's own column.

Example:
    >>> from survey.codebook import Codebook
    >>> cb = Codebook.load()
    >>> strip_numbering("Q1. 贵公司所属行业【单选】")
    '贵公司所属行业'
    >>> m = match_headers(["Q1. 贵公司所属行业【单选】", "Ｑ２．受访者编号"], cb)
    >>> m.mapping
    {'Q1. 贵公司所属行业【单选】': 'industry', 'Ｑ２．受访者编号': 'resp_id'}
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from survey.codebook import Codebook, Question
from survey.errors import CodebookError, SurveyError

IGNORE = "ignore"
"""Mapping value: drop the delivered column (it is not part of the wave)."""
KEEP = "keep"
"""Mapping value: keep the delivered column as an unlabelled text variable."""

_PUNCT = re.compile(
    r"[\s\-_:：|/\\()（）【】\[\]<>《》〈〉「」『』.,，。、;；?？!！\"'“”‘’·—–~～*#＃]+"
)
_TAG_WORDS = (
    r"(?:单选|多选|可多选|复选|单选题|多选题|限选\s*\d*\s*项?|最多选\s*\d*\s*项?|至多选\s*\d*\s*项?"
    r"|填空|填空题|开放题|开放|必答|必选|选填|排序|排序题|打分|打分题|矩阵|矩阵题|数值|数值题"
    r"|single|multi|multiple|open|required)"
)
_BRACKETS = r"[\[【(（<《〈「]\s*" + _TAG_WORDS + r"\s*[\]】)）>》〉」]"
_LEAD_TAG = re.compile(r"^\s*(?:" + _BRACKETS + r"\s*)+")
_TRAIL_TAG = re.compile(r"(?:\s*" + _BRACKETS + r")+\s*$")
# "Q1." "Q12_3" "A1-2" "S3a:" "1、" "(2)" "第3题" at the start; "(Q12_3)" "_Q12_3" "Q12" at the end
_NUMBER = r"(?:[A-Za-z]{1,3}\d+(?:[._\-]\d+)*[a-z]?|\d+(?:[._\-]\d+)*)"
_LEAD_NUMBER = re.compile(
    r"^\s*(?:第\s*\d+\s*题|[(\[]\s*" + _NUMBER + r"\s*[)\]]|" + _NUMBER + r"(?=[\s.、:)\]_\-]|$))"
    r"[\s.、:)\]_\-]*"
)
_TRAIL_NUMBER = re.compile(
    r"[\s_\-]*(?:[(\[]\s*" + _NUMBER + r"\s*[)\]]|[A-Za-z]{1,3}\d+(?:[._\-]\d+)*)\s*$"
)
_SPECIFY = re.compile(
    r"(请注明|请说明|请具体说明|请填写|请写明|注明|具体为|具体是|其他原因|文本|specify|please\s+state"
    r"|open[\s_\-]*text|[_\-\s](?:text|txt|oth|other_text)$)",
    re.IGNORECASE,
)
_OTHER_LABEL = re.compile(r"^(其他|其它|other)", re.IGNORECASE)


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cn")


def normalize(text: object) -> str:
    """Fold a header or label for matching: NFKC, lower case; no spaces, punctuation or
    invisible characters (zero-width spaces, BOMs, soft hyphens).

    >>> normalize("Q1. 行业 - 美妆（个护）") == normalize("q1行业美妆(个护)")
    True
    >>> normalize("行\\u200b业\\ufeff")
    '行业'
    """
    folded = unicodedata.normalize("NFKC", str(text)).lower()
    folded = "".join(ch for ch in folded if not _invisible(ch))
    return _PUNCT.sub("", folded)


def strip_numbering(text: str) -> str:
    """The header without question numbers and type tags before or after the wording.

    Prefixes ``Q1.``, ``Q12_3``, ``S3a:``, ``1、``, ``(2)``, ``第3题``; suffixes ``_Q12_3``,
    ``(Q5)``; tags ``【多选】``, ``[单选题]``, ``(最多选3项)``. A header that is only a number is
    returned unchanged (there is no wording to match).

    >>> strip_numbering("Q12_3 营销挑战-流量成本上升")
    '营销挑战-流量成本上升'
    >>> strip_numbering("1、行业"), strip_numbering("营销挑战【多选】_Q5")
    ('行业', '营销挑战')
    >>> strip_numbering("2025年营销预算")
    '2025年营销预算'
    """
    folded = unicodedata.normalize("NFKC", str(text))
    folded = "".join(ch for ch in folded if not _invisible(ch)).strip()
    out = folded
    for _ in range(3):  # "Q1.【多选】营销挑战" needs the number, then the tag, removed
        before = out
        out = _LEAD_TAG.sub("", out)
        out = (
            _LEAD_NUMBER.sub("", out, count=1)
            if normalize(_LEAD_NUMBER.sub("", out, count=1))
            else out
        )
        out = _TRAIL_TAG.sub("", out)
        trimmed = _TRAIL_NUMBER.sub("", out)
        out = trimmed if normalize(trimmed) else out
        if out == before:
            break
    return out.strip() if normalize(out) else folded


def is_specify(header: str) -> bool:
    """Whether a header names an open-text "please specify" column (``其他(请注明)``).

    >>> is_specify("营销挑战-其他(请注明)"), is_specify("营销挑战-其他"), is_specify("Q5_99_text")
    (True, False, True)
    """
    return bool(_SPECIFY.search(unicodedata.normalize("NFKC", str(header)).strip()))


def _without_specify(header: str) -> str:
    return _SPECIFY.sub("", unicodedata.normalize("NFKC", str(header)))


def _part_labels(part: object) -> list[str]:
    """Every label an option or item has carried (per-edition relabels included)."""
    labels = [getattr(part, "zh", ""), getattr(part, "en", "")]
    relabels = getattr(part, "relabels", None)
    if isinstance(relabels, Mapping):
        for value in relabels.values():
            if isinstance(value, Mapping):
                labels += [str(v) for v in value.values() if isinstance(v, str)]
            elif isinstance(value, str):
                labels.append(value)
    elif isinstance(relabels, Iterable) and not isinstance(relabels, str):
        for value in relabels:
            for attr in ("zh", "en"):
                if isinstance(getattr(value, attr, None), str):
                    labels.append(getattr(value, attr))
    return [s for s in dict.fromkeys(labels) if s]


def _stems(q: Question) -> list[str]:
    return [s for s in (q.text_zh, q.short_zh, q.text_en, q.short_en) if s]


def _parts(q: Question) -> tuple:
    return q.options if q.type == "multi" else q.items


@dataclass(frozen=True)
class Forms:
    """Matching keys of a codebook: exact ``key -> column`` plus the per-column wordings."""

    exact: Mapping[str, str]
    by_column: Mapping[str, tuple[str, ...]]
    questions: Mapping[str, str]  # key of a question stem -> question id


def codebook_forms(codebook: Codebook) -> Forms:
    """Every header under which a codebook column may be delivered (see :func:`header_forms`).

    A form that two columns share (an option label alone, such as ``其他``, asked by two
    questions) is left out of the exact forms: such a header needs a mapping.
    """
    exact: dict[str, str] = {}
    weak: dict[str, set[str]] = {}
    by_column: dict[str, list[str]] = {}
    questions: dict[str, str] = {}

    def add(text: str, column: str, *, strong: bool = True) -> None:
        k = normalize(text)
        if not k:
            return
        by_column.setdefault(column, []).append(k)
        if strong:
            exact.setdefault(k, column)
        else:
            weak.setdefault(k, set()).add(column)

    for column in (codebook.id_column, codebook.weight_column):
        add(column, column)
    add(codebook.id_label_zh, codebook.id_column)
    add(codebook.id_label_en, codebook.id_column)
    add("weight", codebook.weight_column)
    add("权重", codebook.weight_column)
    for q in codebook:
        stems = _stems(q)
        for stem in stems:
            questions.setdefault(normalize(stem), q.id)
        questions.setdefault(normalize(q.id), q.id)
        for column in q.columns():
            add(column, column)
        if q.type in ("single", "numeric"):
            for stem in stems:
                add(stem, q.id)
            continue
        for part in _parts(q):
            column = f"{q.id}__{part.code}"
            for label in _part_labels(part):
                for stem in stems:
                    add(stem + label, column)
                    add(label + stem, column, strong=False)
                add(label, column, strong=False)
    for k, columns in weak.items():
        if len(columns) == 1 and k not in exact:
            exact[k] = next(iter(columns))
    return Forms(exact, {c: tuple(dict.fromkeys(v)) for c, v in by_column.items()}, questions)


def header_forms(codebook: Codebook) -> dict[str, str]:
    """Every header under which a codebook column may be delivered, normalized -> column.

    A column is recognised by its own name, by its question's wording or short label (single and
    numeric questions), or by wording/short label joined to the option or item label (multi, grid
    and constant-sum questions), in Chinese or English, under any label the option carried in
    any edition; an option label alone when no other column has it.

    >>> header_forms(Codebook.load())[normalize("贵公司所属行业")]
    'industry'
    """
    return dict(codebook_forms(codebook).exact)


@dataclass(frozen=True)
class Suggestion:
    """A likely match for something the ingest could not map."""

    what: str  # "header" or "label"
    found: str
    question: str | None
    candidates: tuple[tuple[str, float], ...]

    def __str__(self) -> str:
        where = f" of question '{self.question}'" if self.question else ""
        if not self.candidates:
            what = "map it in a mapping file" + (
                ", or ignore or keep it" if self.what == "header" else ""
            )
            return f"{self.what}{where} {shown(self.found)}: no close match ({what})"
        cands = ", ".join(f"{c} ({s:.0%})" for c, s in self.candidates)
        return f"{self.what}{where} {shown(self.found)}: did you mean {cands}?"


def shown(text: str) -> str:
    """A header for messages: quoted, with invisible characters made visible (``repr``).

    >>> shown("行业"), shown("行业\\u200b")
    ("'行业'", "'行业\\\\u200b'")
    """
    text = str(text)
    if any(_invisible(ch) or (ch.isspace() and ch != " ") for ch in text):
        return ascii_escapes(text)
    return f"'{text}'"


def ascii_escapes(text: str) -> str:
    """``repr`` of ``text`` with only the invisible characters escaped (CJK stays readable)."""
    out = []
    for ch in text:
        if _invisible(ch) or (ch.isspace() and ch != " "):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        elif ch in "'\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


@dataclass(frozen=True)
class HeaderMatch:
    """The result of :func:`match_headers`.

    ``mapping``: delivered header -> codebook column; ``ignored``: headers the mapping drops;
    ``kept``: header -> name of an extra text column (open-text "please specify" columns and
    mapping ``keep``); ``unmatched``: the rest, each with a :class:`Suggestion`;
    ``how``: header -> ``mapping``, ``exact`` or ``numbered`` (matched once numbers were removed).
    """

    mapping: dict[str, str]
    ignored: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    how: dict[str, str] = field(default_factory=dict)


def _keep_name(header: str, forms: Forms, codebook: Codebook) -> str:
    """Name of an open-text column: ``<option column>_text`` when its option is found."""
    base = strip_numbering(_without_specify(header))
    key = normalize(base)
    column = forms.exact.get(key)
    if column is None:
        for qkey, qid in forms.questions.items():
            if qkey and key.startswith(qkey):
                q = codebook[qid]
                other = next(
                    (
                        o
                        for o in q.options
                        if o.code in ("other", "others") or _OTHER_LABEL.match(o.zh)
                    ),
                    None,
                )
                column = f"{qid}__{other.code}" if other is not None else qid
                break
    return f"{column}_text" if column else header


def match_headers(
    headers: Sequence[str],
    codebook: Codebook,
    mapping: Mapping[str, str] | None = None,
    *,
    suggest: bool = True,
    forms: Forms | None = None,
) -> HeaderMatch:
    """Match delivered headers to codebook columns (see the module docstring).

    ``mapping`` maps a header to a column, ``ignore`` or ``keep``. Raises
    :class:`CodebookError` for a mapping to an unknown column and :class:`SurveyError` when two
    headers end on one column (the message names both).

    >>> cb = Codebook.load()
    >>> m = match_headers(["营销挑战-其他(请注明)", "提交时间"], cb, {"提交时间": "ignore"})
    >>> m.kept, m.ignored
    ({'营销挑战-其他(请注明)': 'challenges__other_text'}, ['提交时间'])
    """
    mapping = dict(mapping or {})
    forms = forms or codebook_forms(codebook)
    known = set(codebook.columns()) | {codebook.weight_column}
    out = HeaderMatch(mapping={})
    for h in headers:
        target = mapping.get(h)
        if target is not None:
            target = str(target).strip()
            if target == IGNORE:
                out.ignored.append(h)
            elif target == KEEP:
                out.kept[h] = h
            elif target in known:
                out.mapping[h] = target
                exact = forms.exact.get(normalize(h))
                numbered = forms.exact.get(normalize(strip_numbering(h)))
                out.how[h] = (
                    "exact" if exact == target else "numbered" if numbered == target else "mapping"
                )
            else:
                raise CodebookError(
                    f"mapping sends header {shown(h)} to unknown column {target!r}",
                    column=h,
                    value=target,
                    expected=f"a codebook column, '{IGNORE}' or '{KEEP}'",
                )
            continue
        if is_specify(h):
            out.kept[h] = _keep_name(h, forms, codebook)
            continue
        column = forms.exact.get(normalize(h))
        how = "exact"
        if column is None:
            column = forms.exact.get(normalize(strip_numbering(h)))
            how = "numbered"
        if column is not None:
            out.mapping[h] = column
            out.how[h] = how
        else:
            out.unmatched.append(h)
    _check_clashes(out.mapping)
    if suggest and out.unmatched:
        found = closest_many([strip_numbering(h) for h in out.unmatched], forms.by_column)
        out.suggestions.extend(
            Suggestion("header", h, None, c) for h, c in zip(out.unmatched, found, strict=True)
        )
    return out


def _check_clashes(mapping: Mapping[str, str]) -> None:
    taken: dict[str, list[str]] = {}
    for h, c in mapping.items():
        taken.setdefault(c, []).append(h)
    clashes = {c: hs for c, hs in taken.items() if len(hs) > 1}
    if clashes:
        c, hs = next(iter(clashes.items()))
        raise SurveyError(
            f"headers {', '.join(map(shown, hs))} all map to column '{c}'",
            column=c,
            value=hs,
            expected="one header per codebook column (map the others to another column, "
            f"'{IGNORE}' or '{KEEP}' in the mapping file)",
        )


def map_headers(
    headers: list[str], codebook: Codebook, mapping: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str], list[Suggestion]]:
    """Map delivered headers to codebook columns (the earlier form of :func:`match_headers`).

    Returns ``(header -> column, ignored headers, suggestions for unmapped headers)``.

    >>> map_headers(["1、贵公司所属行业", "提交时间"], Codebook.load())[0]
    {'1、贵公司所属行业': 'industry'}
    """
    m = match_headers(headers, codebook, mapping)
    return m.mapping, m.ignored, m.suggestions


def closest_many(
    found: Sequence[str], forms: Mapping[str, Sequence[str]], k: int = 3, cutoff: float = 0.4
) -> list[tuple[tuple[str, float], ...]]:
    """For each text of ``found``, the ``k`` closest keys of ``forms`` (column -> keys) by score.

    Scores are :func:`rapidfuzz.fuzz.ratio` / 100 (the similarity of :mod:`difflib`'s
    ``ratio``), computed for all texts at once.

    >>> closest_many(["所属行业类别"], {"industry": ["所属行业"], "x": ["媒介"]})
    [(('industry', 0.8),)]
    """
    if not found or not forms:
        return [() for _ in found]
    from rapidfuzz import fuzz, process

    keys: list[str] = []
    owners: list[str] = []
    for column, ks in forms.items():
        for key in ks:
            keys.append(key)
            owners.append(column)
    queries = [normalize(f) for f in found]
    scores = process.cdist(queries, keys, scorer=fuzz.ratio, dtype="float32", workers=1)
    out = []
    for row in scores:
        best: dict[str, float] = {}
        for j in row.argsort()[::-1][: 8 * k]:
            s = float(row[j]) / 100
            if s > best.get(owners[j], 0.0):
                best[owners[j]] = s
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        out.append(tuple((c, round(s, 2)) for c, s in ranked if s >= cutoff))
    return out


def closest(found: str, forms: Mapping[str, str], k: int = 3) -> tuple[tuple[str, float], ...]:
    """The ``k`` closest columns to ``found`` among ``forms`` (key -> column).

    >>> closest("基本持平", {normalize("持平"): "flat", normalize("大幅增加"): "big_increase"})
    (('flat', 0.67),)
    """
    by_column: dict[str, list[str]] = {}
    for key, column in forms.items():
        by_column.setdefault(column, []).append(key)
    return closest_many([found], by_column, k)[0]
