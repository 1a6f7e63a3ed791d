"""Reading and checking a codebook YAML file (the format of ``docs/codebook-format.md``).

Private to :mod:`survey.codebook`: ``Codebook.load`` and ``Codebook.from_dict`` call
:func:`load` and :func:`from_dict`. Every error is a :class:`~survey.errors.CodebookError` naming
the file, the question (``column``), the value and what was expected.

Example:
    >>> from survey.codebook import Codebook
    >>> raw = {"questions": [{"id": "q", "type": "multi", "section": "s",
    ...        "text": {"zh": "问", "en": "Q"},
    ...        "options": [{"code": "a", "zh": "甲", "en": "A"},
    ...                    {"code": "b", "zh": "乙", "en": "B", "added": 2026}]}]}
    >>> Codebook.from_dict(raw)["q"].codes(2025)
    ['a']
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from survey._codebook_model import (
    QUESTION_TYPES,
    SEP,
    Change,
    Net,
    Option,
    Question,
    Section,
    Wording,
)
from survey._codebook_values import as_list, bilingual, edition_year, flag, pair, wordings
from survey.errors import CodebookError
from survey.paths import data_dir

if TYPE_CHECKING:
    from survey.codebook import Codebook

_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_CHANGES = ("added", "reworded", "dropped", "options_changed")
_OPTION_KEYS = {
    "code",
    "zh",
    "en",
    "score",
    "exclusive",
    "added",
    "dropped",
    "labels",
    "comparable",
}


_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 8x faster


class _Loader(_BASE_LOADER):  # type: ignore[misc, valid-type]
    """safe_load's loader that refuses a key given twice in one mapping (YAML keeps the last one
    silently: a second ``options:`` or ``labels:`` would drop the first without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[tuple[str, str], yaml.Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # complex keys: the base constructor decides
            first = seen.setdefault((key_node.tag, key_node.value), key_node)
            if first is not key_node:
                raise yaml.constructor.ConstructorError(
                    f"in the mapping at line {node.start_mark.line + 1}",
                    node.start_mark,
                    f"key '{key_node.value}' appears twice (first at line "
                    f"{first.start_mark.line + 1})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


_LOADER = _Loader
_CACHE: dict[tuple[type, str, str], Codebook] = {}
_CACHE_SIZE = 16


def load(cls: type[Codebook], path: str | Path | None = None) -> Codebook:
    """Read and check a codebook YAML file (default ``data/codebook.yaml``).

    The file is parsed once per content: loading the same bytes again returns the same (frozen)
    codebook, so the many ``Codebook.load()`` calls of a report cost one parse.
    """
    p = Path(path) if path is not None else data_dir() / "codebook.yaml"
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise CodebookError(f"codebook not found: {p}", file=str(p)) from None
    except OSError as e:
        raise CodebookError(f"{p}: cannot read ({e.strerror or e})", file=str(p)) from None
    cache_key = (cls, str(p), hashlib.sha256(data).hexdigest())
    if cache_key in _CACHE:
        return _CACHE[cache_key]
    try:
        raw = yaml.load(data.decode("utf-8"), Loader=_LOADER)  # safe_load's loader (in C)
    except UnicodeDecodeError as e:
        raise CodebookError(
            f"{p}: not UTF-8 (byte {e.start})", file=str(p), expected="a UTF-8 encoded YAML file"
        ) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise CodebookError(
            f"{p}: not valid YAML ({e})", file=str(p), row=row, expected="valid YAML"
        ) from None
    codebook = from_dict(cls, raw, source=p)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[cache_key] = codebook
    return codebook


def from_dict(cls: type[Codebook], raw: Any, *, source: Path | None = None) -> Codebook:
    """Build a codebook from already-parsed YAML (see :func:`load`)."""
    where = str(source) if source else "codebook"
    if not isinstance(raw, dict) or not isinstance(raw.get("questions"), list):
        raise CodebookError(
            f"{where}: expected a mapping with a 'questions' list",
            file=where,
            expected="top-level keys schema, sections, scales, questions",
        )
    scales = raw.get("scales") or {}
    if not isinstance(scales, dict):
        raise CodebookError(
            f"{where}: 'scales' must be a mapping of scale name to options",
            file=where,
            value=type(scales).__name__,
            expected="scales: {name: {options: [...]}}",
        )
    sections = tuple(
        _section(s, where) for s in as_list(raw.get("sections"), where, "top level", "sections")
    )
    section_ids = {s.id for s in sections}
    editions = tuple(
        edition_year(e, where, "codebook", "editions")
        for e in as_list(raw.get("editions"), where, "top level", "editions")
    )
    questions: dict[str, Question] = {}
    for i, rq in enumerate(raw["questions"]):
        q = _parse_question(rq, i, scales, where)
        if q.id in questions:
            raise CodebookError(
                f"{where}: question id '{q.id}' is used twice",
                file=where,
                column=q.id,
                expected="unique question ids",
            )
        if section_ids and q.section not in section_ids:
            raise CodebookError(
                f"{where}: question '{q.id}' names unknown section '{q.section}'",
                file=where,
                column=q.id,
                value=q.section,
                expected=f"one of {sorted(section_ids)}",
            )
        questions[q.id] = replace(q, known=editions) if editions else q
    for q in questions.values():
        _check_asked_options(q, editions, where)
    id_col = str(raw.get("id_column", "resp_id"))
    w_col = str(raw.get("weight_column", "weight"))
    columns: dict[str, tuple[str, str | None]] = {}
    for q in questions.values():
        for c in q.columns():
            if c in columns or c in (id_col, w_col):
                raise CodebookError(
                    f"{where}: column '{c}' of question '{q.id}' clashes with another column",
                    file=where,
                    column=c,
                    expected="unique wave column names",
                )
            columns[c] = (q.id, c[len(q.id) + len(SEP) :] if c != q.id else None)
    title = pair(raw.get("title"), "title", where)
    id_label = pair(raw.get("id_label"), "id_label", where)
    return cls(
        questions=questions,
        sections=sections,
        id_column=id_col,
        weight_column=w_col,
        title_zh=str(title.get("zh", "")),
        title_en=str(title.get("en", "")),
        editions=editions,
        id_label_zh=str(id_label.get("zh", "受访者编号")),
        id_label_en=str(id_label.get("en", "Respondent ID")),
        source=source,
        _columns=columns,
    )


# -- helpers --------------------------------------------------------------------------------------
def _section(s: Any, where: str) -> Section:
    if not isinstance(s, dict) or "id" not in s:
        raise CodebookError(
            f"{where}: a section without 'id' ({s!r})",
            file=where,
            value=s,
            expected="sections: [{id, zh, en}, …]",
        )
    sid = str(s["id"])
    return Section(sid, str(s.get("zh", sid)), str(s.get("en", sid)))


def _parse_options(raw: Any, where: str, qid: str, what: str, qtype: str) -> tuple[Option, ...]:
    if not isinstance(raw, list) or not raw:
        raise CodebookError(
            f"{where}: question '{qid}' needs a non-empty list of {what}",
            file=where,
            column=qid,
            expected=f"{what}: [{{code, zh, en}}, …]",
        )
    one = what[:-1]
    out = []
    for o in raw:
        if not isinstance(o, dict):
            raise CodebookError(
                f"{where}: question '{qid}' has {one} {o!r}",
                file=where,
                column=qid,
                value=o,
                expected=f"each {one} a mapping {{code, zh, en}}",
            )
        code = str(o.get("code", ""))
        if not _CODE_RE.match(code) or SEP in code:
            raise CodebookError(
                f"{where}: question '{qid}' has {one} code {code!r}",
                file=where,
                column=qid,
                value=code,
                expected="a snake_case code of lowercase letters, digits and single underscores",
            )
        assert isinstance(o, dict)
        unknown = sorted(str(k) for k in o if k not in _OPTION_KEYS)
        if unknown:
            raise CodebookError(
                f"{where}: question '{qid}', {one} '{code}' has unknown key(s) {unknown}",
                file=where,
                column=qid,
                value=unknown,
                expected=f"keys among {sorted(_OPTION_KEYS)}",
            )
        zh, en = bilingual(o, f"{one} '{code}'", where, qid)
        added = None if o.get("added") is None else edition_year(o["added"], where, qid, "added")
        dropped = (
            None if o.get("dropped") is None else edition_year(o["dropped"], where, qid, "dropped")
        )
        if added is not None and dropped is not None and dropped <= added:
            raise CodebookError(
                f"{where}: question '{qid}', {one} '{code}' is dropped ({dropped}) "
                f"no later than it is added ({added})",
                file=where,
                column=qid,
                value=[added, dropped],
                expected="dropped: the first edition after the last one that asked it",
            )
        relabels = wordings(o.get("labels"), where, qid, f"{one} '{code}' labels")
        outside = [w.edition for w in relabels if not _asked(added, dropped, w.edition)]
        if outside:
            raise CodebookError(
                f"{where}: question '{qid}', {one} '{code}' has labels for edition(s) "
                f"{outside} that do not ask it",
                file=where,
                column=qid,
                value=outside,
                expected=f"label editions from added ({added}) to before dropped ({dropped})",
            )
        exclusive = flag(o, "exclusive", False, where, qid)
        if exclusive and (qtype != "multi" or what != "options"):
            raise CodebookError(
                f"{where}: question '{qid}' ({qtype}): {one} '{code}' is exclusive",
                file=where,
                column=qid,
                value=code,
                expected="exclusive: true only on options of a multi question",
            )
        score = o.get("score")
        try:
            score_value = None if score is None else float(score)
        except (TypeError, ValueError):
            raise CodebookError(
                f"{where}: question '{qid}', {one} '{code}' has score {score!r}",
                file=where,
                column=qid,
                value=score,
                expected="a number",
            ) from None
        out.append(
            Option(
                code,
                zh,
                en,
                score_value,
                exclusive,
                added=added,
                dropped=dropped,
                relabels=relabels,
                comparable=flag(o, "comparable", True, where, qid),
            )
        )
    codes = [o.code for o in out]
    dup = {c for c in codes if codes.count(c) > 1}
    if dup:
        raise CodebookError(
            f"{where}: question '{qid}' repeats {what} codes {sorted(dup)}",
            file=where,
            column=qid,
            expected="unique codes within a question",
        )
    return tuple(out)


def _asked(added: int | None, dropped: int | None, edition: int) -> bool:
    return (added is None or edition >= added) and (dropped is None or edition < dropped)


def _text(
    rq: dict, where: str, qid: str, name: str = "text"
) -> tuple[str, str, tuple[Wording, ...]]:
    """Base wording plus per-edition wordings (integer keys inside ``text`` or ``short``)."""
    node = rq.get(name)
    if isinstance(node, dict):
        later = {k: v for k, v in node.items() if k not in ("zh", "en")}
        base = {k: v for k, v in node.items() if k in ("zh", "en")}
    else:
        later, base = {}, node
    zh, en = bilingual(base, name, where, qid)
    return zh, en, wordings(later or None, where, qid, name)


def _parse_question(rq: Any, index: int, scales: Mapping[str, Any], where: str) -> Question:
    if not isinstance(rq, dict) or "id" not in rq:
        raise CodebookError(
            f"{where}: question #{index + 1} has no 'id'",
            file=where,
            expected="each question a mapping with id, section, type, text",
        )
    qid = str(rq["id"])
    if not _CODE_RE.match(qid) or SEP in qid:
        raise CodebookError(
            f"{where}: question id {qid!r} is not snake_case (or contains '__')",
            file=where,
            column=qid,
            expected="lowercase letters, digits and single underscores",
        )
    qtype = rq.get("type")
    if qtype not in QUESTION_TYPES:
        raise CodebookError(
            f"{where}: question '{qid}' has type {qtype!r}",
            file=where,
            column=qid,
            value=qtype,
            expected=f"one of {QUESTION_TYPES}",
        )
    text_zh, text_en, rewordings = _text(rq, where, qid)
    short_zh, short_en, short_later = ("", "", ())
    if rq.get("short"):
        short_zh, short_en, short_later = _text(rq, where, qid, "short")

    scale: Mapping[str, Any] = {}
    if "scale" in rq:
        if rq["scale"] not in scales:
            raise CodebookError(
                f"{where}: question '{qid}' names unknown scale '{rq['scale']}'",
                file=where,
                column=qid,
                value=rq["scale"],
                expected=f"one of {sorted(scales)}",
            )
        scale = scales[rq["scale"]]
        if not isinstance(scale, dict):
            raise CodebookError(
                f"{where}: scale '{rq['scale']}' must be a mapping with options",
                file=where,
                column=qid,
                value=scale,
                expected="scales: {name: {options: [...], nets: [...], ordered: …}}",
            )

    options: tuple[Option, ...] = ()
    items: tuple[Option, ...] = ()
    if qtype in ("single", "multi", "grid"):
        raw_options = rq.get("options", scale.get("options"))
        options = _parse_options(raw_options, where, qid, "options", qtype)
    if qtype in ("grid", "constant_sum"):
        items = _parse_options(rq.get("items"), where, qid, "items", qtype)
    nets = _parse_nets(
        _merged_nets(scale.get("nets"), rq.get("nets"), where, qid), options, where, qid
    )

    rng = rq.get("range")
    if qtype == "numeric" and (
        not isinstance(rng, list)
        or len(rng) != 2
        or not all(isinstance(v, int | float) for v in rng)
        or rng[0] >= rng[1]
    ):
        raise CodebookError(
            f"{where}: numeric question '{qid}' needs range: [min, max] with min < max",
            file=where,
            column=qid,
            value=rng,
            expected="range: [min, max]",
        )
    total = rq.get("total")
    if qtype == "constant_sum" and not isinstance(total, int | float):
        raise CodebookError(
            f"{where}: constant_sum question '{qid}' needs a numeric 'total'",
            file=where,
            column=qid,
            value=total,
            expected="total: 100",
        )
    return Question(
        id=qid,
        type=qtype,
        section=str(rq.get("section", "")),
        text_zh=text_zh,
        text_en=text_en,
        short_zh=short_zh,
        short_en=short_en,
        options=options,
        nets=nets,
        items=items,
        total=None if total is None else float(total),
        ordered=flag(rq, "ordered", flag(scale, "ordered", False, where, qid), where, qid),
        range=None if rng is None else (float(rng[0]), float(rng[1])),
        unit=rq.get("unit"),
        required=flag(rq, "required", False, where, qid),
        segment=flag(rq, "segment", False, where, qid),
        editions=tuple(
            edition_year(e, where, qid, "editions")
            for e in as_list(rq.get("editions"), where, f"question '{qid}'", "editions")
        ),
        history=_with_rewordings(_history(rq.get("history"), where, qid), rewordings),
        note=str(rq.get("note", "")),
        rewordings=rewordings,
        short_rewordings=short_later,
    )


def _merged_nets(scale_nets: Any, own: Any, where: str, qid: str) -> list[Any]:
    """A question's nets extend its scale's: the scale's first, then the question's; a question
    net with the code of a scale net replaces it in place."""
    for name, raw in (("scale nets", scale_nets), ("nets", own)):
        if raw is not None and not isinstance(raw, list):
            raise CodebookError(
                f"{where}: question '{qid}': {name} must be a list",
                file=where,
                column=qid,
                value=raw,
                expected="nets: [{code, zh, en, of: [option codes]}, …]",
            )
    merged: dict[Any, Any] = {}
    for n in [*(scale_nets or []), *(own or [])]:
        merged[n.get("code") if isinstance(n, dict) else id(n)] = n
    return list(merged.values())


def _parse_nets(raw: Any, options: tuple[Option, ...], where: str, qid: str) -> tuple[Net, ...]:
    nets = []
    codes = [o.code for o in options]
    for n in raw or []:
        name = n.get("code") if isinstance(n, dict) else n
        zh, en = bilingual(n, f"net '{name}'", where, qid)
        of = tuple(str(c) for c in as_list(n.get("of"), where, f"question '{qid}'", "of"))
        unknown = [c for c in of if c not in codes]
        if not of or unknown:
            raise CodebookError(
                f"{where}: net '{name}' of question '{qid}' names unknown options {unknown}",
                file=where,
                column=qid,
                value=unknown,
                expected=f"option codes among {codes}",
            )
        nets.append(Net(str(name), zh, en, of))
    all_codes = [*codes, *(n.code for n in nets)]
    if len(set(all_codes)) != len(all_codes):
        raise CodebookError(
            f"{where}: question '{qid}' has a net code equal to an option code",
            file=where,
            column=qid,
            expected="options and nets share one namespace of unique codes",
        )
    return tuple(nets)


def _history(raw: Any, where: str, qid: str) -> tuple[Change, ...]:
    out = []
    for h in as_list(raw, where, f"question '{qid}'", "history"):
        if not isinstance(h, dict) or h.get("change") not in _CHANGES:
            raise CodebookError(
                f"{where}: question '{qid}' has history entry {h!r}",
                file=where,
                column=qid,
                value=h,
                expected=f"{{edition, change: one of {_CHANGES}, comparable, note}}",
            )
        out.append(
            Change(
                edition_year(h.get("edition"), where, qid, "history edition"),
                str(h["change"]),
                flag(h, "comparable", True, where, qid),
                str(h.get("note", "")),
            )
        )
    return tuple(out)


def _with_rewordings(
    history: tuple[Change, ...], rewordings: tuple[Wording, ...]
) -> tuple[Change, ...]:
    """``history`` plus a ``reworded`` entry for each per-edition wording it does not record, so
    that code reading ``Question.history`` sees every break of a series."""
    recorded = {(h.edition, h.change) for h in history}
    extra = tuple(
        Change(w.edition, "reworded", w.comparable, "wording of this edition (text)")
        for w in rewordings
        if (w.edition, "reworded") not in recorded
    )
    return tuple(sorted((*history, *extra), key=lambda h: h.edition))


def _check_asked_options(q: Question, editions: tuple[int, ...], where: str) -> None:
    """An edition that asks a question asks at least one option (and one item of a grid)."""
    for ed in editions:
        if not q.asked_in(ed):
            continue
        for what, kinds, asked in (
            ("options", ("single", "multi", "grid"), q.options_in(ed)),
            ("items", ("grid", "constant_sum"), q.items_in(ed)),
        ):
            if q.type in kinds and not asked:
                raise CodebookError(
                    f"{where}: question '{q.id}' is asked in {ed} but none of its {what} is",
                    file=where,
                    column=q.id,
                    value=ed,
                    expected=f"{what} asked in {ed}, or the question not asked in {ed}",
                )
