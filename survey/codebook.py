"""The codebook: what the survey asks, with bilingual labels, nets and editions.

The codebook is a YAML file (``data/codebook.yaml``, format in ``docs/codebook-format.md``). This
module reads and checks it and answers the questions the rest of the package asks: which columns a
question has in a wave, their polars dtypes, the label of a code in a language, the members of a net.

Example:
    >>> from survey.codebook import Codebook
    >>> cb = Codebook.load()
    >>> q = cb["confidence"]
    >>> q.type, q.label("net_decrease", "en") != ""
    ('single', True)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import polars as pl
import yaml

from survey.errors import CodebookError
from survey.paths import data_dir

Lang = Literal["zh", "en"]
QUESTION_TYPES = ("single", "multi", "numeric", "grid", "constant_sum")
SEP = "__"
_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")


@dataclass(frozen=True)
class Option:
    """An answer option, a grid item or a part of a constant sum."""

    code: str
    zh: str
    en: str
    score: float | None = None
    exclusive: bool = False

    def label(self, lang: Lang = "zh") -> str:
        """The label in ``lang`` (``"zh"`` or ``"en"``)."""
        return self.zh if lang == "zh" else self.en

    @property
    def residual(self) -> bool:
        """Whether this is a catch-all answer (``other``, ``none``, ``dont_know``).

        Residual answers are shown last in ranked charts and are not reported as findings.
        """
        return self.code in RESIDUAL_CODES


#: option codes of catch-all answers (see :attr:`Option.residual`)
RESIDUAL_CODES = frozenset({"other", "none", "dont_know"})


@dataclass(frozen=True)
class Net:
    """A net (top-2 box, "any decrease" …): a named union of option codes."""

    code: str
    zh: str
    en: str
    of: tuple[str, ...]

    def label(self, lang: Lang = "zh") -> str:
        """The label in ``lang``."""
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Change:
    """A change of a question between editions (added, reworded, dropped, options_changed)."""

    edition: int
    change: str
    comparable: bool
    note: str = ""


@dataclass(frozen=True)
class Question:
    """One question of the codebook. See ``docs/codebook-format.md`` for every field."""

    id: str
    type: str
    section: str
    text_zh: str
    text_en: str
    short_zh: str = ""
    short_en: str = ""
    options: tuple[Option, ...] = ()
    nets: tuple[Net, ...] = ()
    items: tuple[Option, ...] = ()
    total: float | None = None
    ordered: bool = False
    range: tuple[float, float] | None = None
    unit: str | None = None
    required: bool = False
    segment: bool = False
    editions: tuple[int, ...] = ()
    history: tuple[Change, ...] = ()
    note: str = ""
    known: tuple[int, ...] = ()  # the codebook's top-level editions (see asked_in)

    # -- labels ---------------------------------------------------------------------------------
    def text(self, lang: Lang = "zh") -> str:
        """The question wording in ``lang``."""
        return self.text_zh if lang == "zh" else self.text_en

    def short_label(self, lang: Lang = "zh") -> str:
        """A short label for tables and charts (falls back to the wording)."""
        short = self.short_zh if lang == "zh" else self.short_en
        return short or self.text(lang)

    def codes(self) -> list[str]:
        """Option codes in questionnaire order (the scale of a grid)."""
        return [o.code for o in self.options]

    def item_codes(self) -> list[str]:
        """Item codes of a grid or a constant sum."""
        return [i.code for i in self.items]

    def option(self, code: str) -> Option:
        """The option with ``code``; raises :class:`CodebookError` when unknown."""
        for o in self.options:
            if o.code == code:
                return o
        raise CodebookError(
            f"question '{self.id}' has no option '{code}'",
            column=self.id,
            value=code,
            expected=f"one of {self.codes()}",
        )

    def label(self, code: str, lang: Lang = "zh") -> str:
        """Label of an option, net or item code in ``lang``."""
        for o in (*self.options, *self.nets, *self.items):
            if o.code == code:
                return o.label(lang)
        raise CodebookError(
            f"question '{self.id}' has no option, net or item '{code}'",
            column=self.id,
            value=code,
            expected=f"one of {self.all_codes()}",
        )

    def all_codes(self) -> list[str]:
        """Every code that can be named for this question: options, nets and items."""
        return [o.code for o in (*self.options, *self.nets, *self.items)]

    def net_members(self, code: str) -> tuple[str, ...]:
        """Option codes a net is made of."""
        for n in self.nets:
            if n.code == code:
                return n.of
        raise CodebookError(
            f"question '{self.id}' has no net '{code}'",
            value=code,
            expected=f"one of {[n.code for n in self.nets]}",
        )

    def resolves(self, code: str) -> bool:
        """Whether ``code`` names an option, net, item or ``item:option`` cell of this question."""
        if ":" in code and self.type == "grid":
            item, opt = code.split(":", 1)
            return item in self.item_codes() and opt in self.all_codes()
        return code in self.all_codes()

    # -- columns --------------------------------------------------------------------------------
    def columns(self) -> list[str]:
        """Column names of this question in a wave."""
        if self.type in ("single", "numeric"):
            return [self.id]
        if self.type == "multi":
            return [f"{self.id}{SEP}{c}" for c in self.codes()]
        return [f"{self.id}{SEP}{c}" for c in self.item_codes()]

    def enum(self) -> pl.Enum:
        """The polars Enum of the option codes (single and grid questions)."""
        return pl.Enum(self.codes())

    def column_dtypes(self) -> dict[str, pl.DataType]:
        """Polars dtype of each column of this question in a typed :class:`~survey.Wave`."""
        if self.type in ("single", "grid"):
            dtype: pl.DataType = self.enum()
        elif self.type == "multi":
            dtype = pl.Boolean()
        else:
            dtype = pl.Float64()
        return {c: dtype for c in self.columns()}

    def asked_in(self, edition: int) -> bool:
        """Whether the question is asked in ``edition``.

        ``editions`` lists the editions known to have asked it, for the editions the codebook
        covers (its top-level ``editions``). A later edition (next year's wave) asks it when the
        newest covered edition did: a current question continues by default, unless
        ``history`` records it ``dropped`` at or before that edition. Without ``editions`` a
        question is asked from its ``added`` edition on (or always).
        """
        events = sorted(
            (h.edition, h.change) for h in self.history if h.change in ("added", "dropped")
        )
        state = None
        for ed, change in events:
            if ed <= edition:
                state = change
        if state == "dropped":
            return False
        if not self.editions:
            added = [ed for ed, change in events if change == "added"]
            return not added or edition >= min(added)
        if edition in self.editions:
            return True
        covered = max(self.known, default=max(self.editions))
        if edition <= covered:
            return False  # the lists are complete for the covered editions
        return state == "added" or covered in self.editions

    def comparable(self, earlier: int, later: int) -> bool:
        """Whether answers of ``earlier`` and ``later`` editions can be compared (trend lines).

        Both editions must ask the question, and no history entry in ``(earlier, later]`` may say
        ``comparable: false`` (a rewording or a change of options that breaks the series).
        """
        lo, hi = sorted((earlier, later))
        if not (self.asked_in(lo) and self.asked_in(hi)):
            return False
        return all(h.comparable for h in self.history if lo < h.edition <= hi)


@dataclass(frozen=True)
class Section:
    """A chapter of the questionnaire."""

    id: str
    zh: str
    en: str

    def label(self, lang: Lang = "zh") -> str:
        """The label in ``lang``."""
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Codebook:
    """The whole codebook: sections, questions (in order) and the id/weight columns."""

    questions: Mapping[str, Question]
    sections: tuple[Section, ...] = ()
    id_column: str = "resp_id"
    weight_column: str = "weight"
    title_zh: str = ""
    title_en: str = ""
    editions: tuple[int, ...] = ()
    id_label_zh: str = "受访者编号"
    id_label_en: str = "Respondent ID"
    source: Path | None = None
    _columns: Mapping[str, tuple[str, str | None]] = field(default_factory=dict, repr=False)

    # -- loading --------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None) -> Codebook:
        """Read and check a codebook YAML file (default ``data/codebook.yaml``)."""
        p = Path(path) if path is not None else data_dir() / "codebook.yaml"
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CodebookError(f"codebook not found: {p}", file=str(p)) from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            row = mark.line + 1 if mark is not None else None
            raise CodebookError(
                f"{p}: not valid YAML ({e})", file=str(p), row=row, expected="valid YAML"
            ) from None
        return cls.from_dict(raw, source=p)

    @classmethod
    def from_dict(cls, raw: Any, *, source: Path | None = None) -> Codebook:
        """Build a codebook from already-parsed YAML (see :meth:`load`)."""
        where = str(source) if source else "codebook"
        if not isinstance(raw, dict) or "questions" not in raw:
            raise CodebookError(
                f"{where}: expected a mapping with a 'questions' list",
                file=where,
                expected="top-level keys schema, sections, scales, questions",
            )
        scales = raw.get("scales") or {}
        sections = tuple(
            Section(s["id"], s.get("zh", s["id"]), s.get("en", s["id"]))
            for s in raw.get("sections") or []
        )
        section_ids = {s.id for s in sections}
        questions: dict[str, Question] = {}
        for i, rq in enumerate(raw["questions"] or []):
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
            questions[q.id] = q
        editions = tuple(int(e) for e in raw.get("editions") or ())
        if editions:
            questions = {k: replace(q, known=editions) for k, q in questions.items()}
        id_col = raw.get("id_column", "resp_id")
        w_col = raw.get("weight_column", "weight")
        columns: dict[str, tuple[str, str | None]] = {}
        for q in questions.values():
            codes = q.codes() if q.type == "multi" else q.item_codes()
            for c in q.columns():
                if c in columns or c in (id_col, w_col):
                    raise CodebookError(
                        f"{where}: column '{c}' of question '{q.id}' clashes with another column",
                        file=where,
                        column=c,
                        expected="unique wave column names",
                    )
                sub = c[len(q.id) + len(SEP) :] if c != q.id else None
                assert sub is None or sub in codes
                columns[c] = (q.id, sub)
        title = raw.get("title") or {}
        id_label = raw.get("id_label") or {}
        return cls(
            questions=questions,
            sections=sections,
            id_column=id_col,
            weight_column=w_col,
            title_zh=title.get("zh", ""),
            title_en=title.get("en", ""),
            editions=editions,
            id_label_zh=str(id_label.get("zh", "受访者编号")),
            id_label_en=str(id_label.get("en", "Respondent ID")),
            source=source,
            _columns=columns,
        )

    # -- lookup ---------------------------------------------------------------------------------
    def __getitem__(self, qid: str) -> Question:
        try:
            return self.questions[qid]
        except KeyError:
            raise CodebookError(
                f"unknown question id '{qid}'",
                value=qid,
                expected="a question id of the codebook",
            ) from None

    def __contains__(self, qid: object) -> bool:
        return qid in self.questions

    def __iter__(self) -> Iterator[Question]:
        return iter(self.questions.values())

    def __len__(self) -> int:
        return len(self.questions)

    def title(self, lang: Lang = "zh") -> str:
        """The survey's title in ``lang``."""
        return self.title_zh if lang == "zh" else self.title_en

    def segments(self) -> list[Question]:
        """Profile questions usable as banner columns, in codebook order."""
        return [q for q in self if q.segment]

    def in_section(self, section: str) -> list[Question]:
        """Questions of one section, in order."""
        return [q for q in self if q.section == section]

    def columns(self, edition: int | None = None) -> list[str]:
        """All wave columns (id first, no weight), optionally only questions asked in ``edition``."""
        out = [self.id_column]
        for q in self:
            if edition is None or q.asked_in(edition):
                out.extend(q.columns())
        return out

    def column_dtypes(self, edition: int | None = None) -> dict[str, pl.DataType]:
        """Column -> polars dtype for a typed wave (id as String, weight as Float64)."""
        out: dict[str, pl.DataType] = {self.id_column: pl.String()}
        for q in self:
            if edition is None or q.asked_in(edition):
                out.update(q.column_dtypes())
        out[self.weight_column] = pl.Float64()
        return out

    def owner(self, column: str) -> tuple[Question, str | None]:
        """The question a wave column belongs to and its option/item code (``None`` for its own)."""
        try:
            qid, sub = self._columns[column]
        except KeyError:
            raise CodebookError(
                f"column '{column}' belongs to no question of the codebook",
                column=column,
                expected="a column named as in docs/codebook-format.md",
            ) from None
        return self.questions[qid], sub

    def is_column(self, column: str) -> bool:
        """Whether ``column`` is a question column of this codebook."""
        return column in self._columns


# -- parsing helpers ------------------------------------------------------------------------------
def _bilingual(node: Any, key: str, where: str, qid: str) -> tuple[str, str]:
    if not isinstance(node, dict) or not node.get("zh") or not node.get("en"):
        raise CodebookError(
            f"{where}: question '{qid}' needs '{key}' with both 'zh' and 'en'",
            file=where,
            column=qid,
            expected=f"{key}: {{zh: …, en: …}}",
        )
    return str(node["zh"]), str(node["en"])


def _parse_options(raw: Any, where: str, qid: str, what: str) -> tuple[Option, ...]:
    if not isinstance(raw, list) or not raw:
        raise CodebookError(
            f"{where}: question '{qid}' needs a non-empty list of {what}",
            file=where,
            column=qid,
            expected=f"{what}: [{{code, zh, en}}, …]",
        )
    out = []
    for o in raw:
        code = str(o.get("code", "")) if isinstance(o, dict) else ""
        if not _CODE_RE.match(code):
            raise CodebookError(
                f"{where}: question '{qid}' has {what[:-1]} code {code!r}",
                file=where,
                column=qid,
                value=code,
                expected="a snake_case code of lowercase letters, digits and underscores",
            )
        zh, en = _bilingual(o, f"{what[:-1]} '{code}'", where, qid)
        score = o.get("score")
        out.append(
            Option(
                code,
                zh,
                en,
                None if score is None else float(score),
                bool(o.get("exclusive", False)),
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
    text_zh, text_en = _bilingual(rq.get("text"), "text", where, qid)
    short_zh, short_en = ("", "")
    if rq.get("short"):
        short_zh, short_en = _bilingual(rq["short"], "short", where, qid)

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

    options: tuple[Option, ...] = ()
    items: tuple[Option, ...] = ()
    if qtype in ("single", "multi", "grid"):
        options = _parse_options(rq.get("options", scale.get("options")), where, qid, "options")
    if qtype in ("grid", "constant_sum"):
        items = _parse_options(rq.get("items"), where, qid, "items")
    nets = []
    for n in rq.get("nets", scale.get("nets")) or []:
        zh, en = _bilingual(n, f"net '{n.get('code')}'", where, qid)
        of = tuple(str(c) for c in n.get("of") or [])
        unknown = [c for c in of if c not in {o.code for o in options}]
        if not of or unknown:
            raise CodebookError(
                f"{where}: net '{n.get('code')}' of question '{qid}' names unknown options {unknown}",
                file=where,
                column=qid,
                value=unknown,
                expected=f"option codes among {[o.code for o in options]}",
            )
        nets.append(Net(str(n["code"]), zh, en, of))
    codes = [*(o.code for o in options), *(n.code for n in nets)]
    if len(set(codes)) != len(codes):
        raise CodebookError(
            f"{where}: question '{qid}' has a net code equal to an option code",
            file=where,
            column=qid,
            expected="options and nets share one namespace of unique codes",
        )

    rng = rq.get("range")
    if qtype == "numeric" and (not isinstance(rng, list) or len(rng) != 2 or rng[0] >= rng[1]):
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
    history = tuple(
        Change(
            int(h["edition"]),
            str(h["change"]),
            bool(h.get("comparable", True)),
            str(h.get("note", "")),
        )
        for h in rq.get("history") or []
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
        nets=tuple(nets),
        items=items,
        total=None if total is None else float(total),
        ordered=bool(rq.get("ordered", scale.get("ordered", False))),
        range=None if rng is None else (float(rng[0]), float(rng[1])),
        unit=rq.get("unit"),
        required=bool(rq.get("required", False)),
        segment=bool(rq.get("segment", False)),
        editions=tuple(int(e) for e in rq.get("editions") or ()),
        history=history,
        note=str(rq.get("note", "")),
    )
