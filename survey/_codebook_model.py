"""The parts of a codebook: options, nets, wordings, questions and sections, with their editions.

Private: import them from :mod:`survey.codebook`. Every part is a frozen dataclass; the edition
logic (which options and items an edition asked, which codes two editions share) lives here.

Example:
    >>> from survey.codebook import Option
    >>> Option("ai", "AI", "AI", added=2025).asked_in(2024)
    False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from survey.errors import CodebookError

Lang = Literal["zh", "en"]
QUESTION_TYPES = ("single", "multi", "numeric", "grid", "constant_sum")
SEP = "__"

#: option codes of catch-all answers (see :attr:`Option.residual`)
RESIDUAL_CODES = frozenset({"other", "none", "dont_know"})


@dataclass(frozen=True)
class Wording:
    """A label or question wording in effect from ``edition`` on (until a later wording).

    ``comparable=False`` says the change of wording changed the meaning: answers before and
    after ``edition`` are not compared.
    """

    edition: int
    zh: str
    en: str
    comparable: bool = True

    def label(self, lang: Lang = "zh") -> str:
        """The wording in ``lang``."""
        return self.zh if lang == "zh" else self.en


def _worded(
    base: tuple[str, str], later: tuple[Wording, ...], lang: str, edition: int | None
) -> str:
    """The wording in effect in ``edition`` (``None``: the newest) of a base and later wordings."""
    zh, en = base
    for w in later:  # sorted by edition
        if edition is None or w.edition <= edition:
            zh, en = w.zh, w.en
    return zh if lang == "zh" else en


def _breaks(later: tuple[Wording, ...], lo: int, hi: int) -> bool:
    """Whether a non-comparable rewording falls in ``(lo, hi]``."""
    return any(not w.comparable and lo < w.edition <= hi for w in later)


@dataclass(frozen=True)
class Option:
    """An answer option, a grid item or a part of a constant sum, with its edition history.

    ``zh``/``en`` are the label as first asked; ``relabels`` the later labels (each from its
    edition on). ``added`` is the first edition that asked it, ``dropped`` the first edition that
    no longer did (``None``: no limit). ``comparable=False`` excludes the option from every
    comparison between editions (a catch-all whose scope changed, for example).

    Example:
        >>> o = Option("smart_tv", "智能电视", "Smart TV", added=2023,
        ...            relabels=(Wording(2025, "智能电视(OTT)", "Smart TV (OTT)"),))
        >>> o.asked_in(2022), o.asked_in(2024), o.label("en", 2024), o.label("en")
        (False, True, 'Smart TV', 'Smart TV (OTT)')
    """

    code: str
    zh: str
    en: str
    score: float | None = None
    exclusive: bool = False
    added: int | None = None
    dropped: int | None = None
    relabels: tuple[Wording, ...] = ()
    comparable: bool = True

    def label(self, lang: Lang = "zh", edition: int | None = None) -> str:
        """The label in ``lang`` as asked in ``edition`` (``None``: the newest label)."""
        return _worded((self.zh, self.en), self.relabels, lang, edition)

    def asked_in(self, edition: int | None) -> bool:
        """Whether ``edition`` asked this option (``None``: always true).

        Only the option's own history counts here; :meth:`Question.options_in` also needs the
        question to be asked.
        """
        if edition is None:
            return True
        return (self.added is None or edition >= self.added) and (
            self.dropped is None or edition < self.dropped
        )

    def comparable_between(self, earlier: int, later: int) -> bool:
        """Whether answers to this option in the two editions can be compared.

        Both editions must ask it, the option must not be marked ``comparable: false``, and no
        relabel marked ``comparable: false`` may fall in ``(earlier, later]``.

        Example:
            >>> Option("x", "甲", "X", added=2025).comparable_between(2024, 2025)
            False
        """
        lo, hi = sorted((earlier, later))
        return (
            self.comparable
            and self.asked_in(lo)
            and self.asked_in(hi)
            and not _breaks(self.relabels, lo, hi)
        )

    @property
    def residual(self) -> bool:
        """Whether this is a catch-all answer (``other``, ``none``, ``dont_know``).

        Residual answers are shown last in ranked charts and are not reported as findings.
        """
        return self.code in RESIDUAL_CODES


@dataclass(frozen=True)
class Net:
    """A net (top-2 box, "any decrease" …): a named union of option codes."""

    code: str
    zh: str
    en: str
    of: tuple[str, ...]

    def label(self, lang: Lang = "zh", edition: int | None = None) -> str:
        """The label in ``lang`` (nets have one label for every edition)."""
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
    """One question of the codebook. See ``docs/codebook-format.md`` for every field.

    Example:
        >>> q = Question("media", "multi", "m", "资源", "Resources", editions=(2024, 2025),
        ...     options=(Option("video", "视频", "Video"),
        ...              Option("search", "搜索", "Search", dropped=2025),
        ...              Option("in_app", "站内搜索", "In-app search", added=2025)),
        ...     nets=(Net("net_search", "搜索(合计)", "Search (net)", ("search", "in_app")),))
        >>> q.codes(2024), q.codes(2025), q.columns(2023)
        (['video', 'search'], ['video', 'in_app'], [])
        >>> q.comparable_codes(2024, 2025)
        ['video']
    """

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
    rewordings: tuple[Wording, ...] = ()
    short_rewordings: tuple[Wording, ...] = ()

    # -- labels ---------------------------------------------------------------------------------
    def text(self, lang: Lang = "zh", edition: int | None = None) -> str:
        """The question wording in ``lang`` as asked in ``edition`` (``None``: the newest).

        Example:
            >>> q = Question("q", "numeric", "s", "预算增长", "Budget growth",
            ...              rewordings=(Wording(2026, "营销预算增长", "Marketing budget growth"),))
            >>> q.text("en", 2025), q.text("en")
            ('Budget growth', 'Marketing budget growth')
        """
        return _worded((self.text_zh, self.text_en), self.rewordings, lang, edition)

    def short_label(self, lang: Lang = "zh", edition: int | None = None) -> str:
        """A short label for tables and charts, as in ``edition`` (falls back to the wording)."""
        if not (self.short_zh or self.short_en):
            return self.text(lang, edition)
        return _worded((self.short_zh, self.short_en), self.short_rewordings, lang, edition)

    def label(self, code: str, lang: Lang = "zh", edition: int | None = None) -> str:
        """Label of an option, net or item code in ``lang`` (as asked in ``edition``)."""
        for o in (*self.options, *self.nets, *self.items):
            if o.code == code:
                return o.label(lang, edition)
        raise CodebookError(
            f"question '{self.id}' has no option, net or item '{code}'",
            column=self.id,
            value=code,
            expected=f"one of {self.all_codes()}",
        )

    # -- options and items by edition -----------------------------------------------------------
    def options_in(self, edition: int | None) -> tuple[Option, ...]:
        """The options ``edition`` asked (``None``: every option of every edition).

        Example:
            >>> q = Question("q", "single", "s", "问", "Q", editions=(2025,),
            ...              options=(Option("a", "甲", "A"), Option("b", "乙", "B", added=2026)))
            >>> [o.code for o in q.options_in(2026)], q.options_in(2024)
            (['a', 'b'], ())
        """
        if edition is not None and not self.asked_in(edition):
            return ()
        return tuple(o for o in self.options if o.asked_in(edition))

    def items_in(self, edition: int | None) -> tuple[Option, ...]:
        """The grid items / constant-sum parts ``edition`` asked (``None``: all of them)."""
        if edition is not None and not self.asked_in(edition):
            return ()
        return tuple(i for i in self.items if i.asked_in(edition))

    def nets_in(self, edition: int | None) -> tuple[Net, ...]:
        """The nets with at least one member asked in ``edition`` (``None``: all nets)."""
        asked = set(self.codes(edition))
        return tuple(n for n in self.nets if asked & set(n.of))

    def codes(self, edition: int | None = None) -> list[str]:
        """Option codes in questionnaire order (the scale of a grid), of ``edition`` if given."""
        return [o.code for o in self.options_in(edition)]

    def item_codes(self, edition: int | None = None) -> list[str]:
        """Item codes of a grid or a constant sum, of ``edition`` if given."""
        return [i.code for i in self.items_in(edition)]

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

    def item(self, code: str) -> Option:
        """The grid item or constant-sum part with ``code``; :class:`CodebookError` when unknown."""
        for i in self.items:
            if i.code == code:
                return i
        raise CodebookError(
            f"question '{self.id}' has no item '{code}'",
            column=self.id,
            value=code,
            expected=f"one of {self.item_codes()}",
        )

    def all_codes(self) -> list[str]:
        """Every code that can be named for this question: options, nets and items."""
        return [o.code for o in (*self.options, *self.nets, *self.items)]

    def net_members(self, code: str, edition: int | None = None) -> tuple[str, ...]:
        """Option codes a net is made of (those asked in ``edition`` when given)."""
        for n in self.nets:
            if n.code == code:
                if edition is None:
                    return n.of
                asked = set(self.codes(edition))
                return tuple(c for c in n.of if c in asked)
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

    def code_asked_in(self, code: str, edition: int | None) -> bool:
        """Whether ``edition`` asked the option, net (any member), item or ``item:option`` cell.

        Example:
            >>> q = Question("q", "multi", "m", "问", "Q", options=(
            ...     Option("a", "甲", "A"), Option("b", "乙", "B", added=2025)),
            ...     nets=(Net("ab", "甲乙", "A or B", ("a", "b")),))
            >>> q.code_asked_in("ab", 2024), q.code_asked_in("b", 2024), q.net_members("ab", 2024)
            (True, False, ('a',))
        """
        if edition is None:
            return self.resolves(code)
        if ":" in code and self.type == "grid":
            item, opt = code.split(":", 1)
            return self.code_asked_in(item, edition) and self.code_asked_in(opt, edition)
        if code in {n.code for n in self.nets}:
            return bool(self.net_members(code, edition))
        return code in self.codes(edition) or code in self.item_codes(edition)

    # -- columns --------------------------------------------------------------------------------
    def columns(self, edition: int | None = None) -> list[str]:
        """Column names of this question in a wave: those ``edition`` asked, or all (``None``).

        A typed wave of an edition that asks the question has *every* column of
        ``columns()``: those of options or items the edition did not ask are all null.
        """
        if edition is not None and not self.asked_in(edition):
            return []
        if self.type in ("single", "numeric"):
            return [self.id]
        if self.type == "multi":
            return [f"{self.id}{SEP}{c}" for c in self.codes(edition)]
        return [f"{self.id}{SEP}{c}" for c in self.item_codes(edition)]

    def not_asked_columns(self, edition: int) -> list[str]:
        """Columns of this question (asked in ``edition``) whose option or item was not asked.

        Example:
            >>> q = Question("q", "multi", "m", "问", "Q", options=(
            ...     Option("a", "甲", "A"), Option("b", "乙", "B", added=2025)))
            >>> q.columns(2024), q.not_asked_columns(2024)
            (['q__a'], ['q__b'])
        """
        if not self.asked_in(edition):
            return []
        asked = set(self.columns(edition))
        return [c for c in self.columns() if c not in asked]

    def enum(self) -> pl.Enum:
        """The polars Enum of the option codes of every edition (single and grid questions).

        The same for every edition, so that waves of different editions stack.
        """
        return pl.Enum(self.codes())

    def column_dtypes(self, edition: int | None = None) -> dict[str, pl.DataType]:
        """Polars dtype of each column of this question in a typed :class:`~survey.Wave`.

        With ``edition``: the columns of a typed wave of that edition (every column when the
        question is asked, none when it is not).
        """
        if edition is not None and not self.asked_in(edition):
            return {}
        if self.type in ("single", "grid"):
            dtype: pl.DataType = self.enum()
        elif self.type == "multi":
            dtype = pl.Boolean()
        else:
            dtype = pl.Float64()
        return {c: dtype for c in self.columns()}

    # -- editions -------------------------------------------------------------------------------
    def asked_in(self, edition: int | None) -> bool:
        """Whether the question is asked in ``edition`` (``None``: always true).

        ``editions`` lists the editions known to have asked it, for the editions the codebook
        covers (its top-level ``editions``). A later edition (next year's wave) asks it when the
        newest covered edition did: a current question continues by default, unless
        ``history`` records it ``dropped`` at or before that edition. Without ``editions`` a
        question is asked from its ``added`` edition on (or always).
        """
        if edition is None:
            return True
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

        Both editions must ask the question, and no history entry or rewording in
        ``(earlier, later]`` may say ``comparable: false``. Options and items have their own
        comparability on top of this (:meth:`comparable_codes`, :meth:`comparable_items`).
        """
        lo, hi = sorted((earlier, later))
        if not (self.asked_in(lo) and self.asked_in(hi)):
            return False
        if _breaks(self.rewordings, lo, hi):
            return False
        return all(h.comparable for h in self.history if lo < h.edition <= hi)

    def comparable_codes(self, earlier: int, later: int) -> list[str]:
        """Option and net codes whose answers can be compared between the two editions.

        An option is comparable when the question is (:meth:`comparable`) and the option is
        asked in both editions and not relabelled as non-comparable in between; a catch-all
        (:attr:`Option.residual`: other, none, don't know) only when the two editions asked the
        same options (an option added or dropped moves answers into or out of "other"). A net is
        comparable when it has the same members in both editions and all of them are.
        Numeric and constant-sum questions have no codes: use :meth:`comparable` and
        :meth:`comparable_items`.

        Example:
            >>> q = Question("q", "multi", "m", "问", "Q", options=(
            ...     Option("a", "甲", "A"), Option("b", "乙", "B", dropped=2025),
            ...     Option("c", "丙", "C", relabels=(Wording(2025, "丙丙", "CC", False),))),
            ...     nets=(Net("ab", "甲乙", "A or B", ("a", "b")),))
            >>> q.comparable_codes(2023, 2024), q.comparable_codes(2024, 2025)
            (['a', 'b', 'c', 'ab'], ['a'])
        """
        if not self.comparable(earlier, later):
            return []
        same_set = self.codes(earlier) == self.codes(later)
        ok = [
            o.code
            for o in self.options
            if o.comparable_between(earlier, later) and (same_set or not o.residual)
        ]
        good = set(ok)
        for n in self.nets:
            a, b = self.net_members(n.code, earlier), self.net_members(n.code, later)
            if a and a == b and set(a) <= good:
                ok.append(n.code)
        return ok

    def comparable_items(self, earlier: int, later: int) -> list[str]:
        """Grid item / constant-sum part codes comparable between the two editions.

        A constant sum whose set of parts changed compares no part (a share of a different
        whole is not the same share).

        Example:
            >>> q = Question("g", "grid", "s", "问", "Q", options=(Option("up", "升", "Up"),),
            ...              items=(Option("tv", "电视", "TV"), Option("ctv", "联网电视", "CTV", added=2026)))
            >>> q.comparable_items(2025, 2026), q.comparable_items(2026, 2027)
            (['tv'], ['tv', 'ctv'])
        """
        if not self.comparable(earlier, later):
            return []
        ok = [i.code for i in self.items if i.comparable_between(earlier, later)]
        if self.type == "constant_sum" and self.item_codes(earlier) != self.item_codes(later):
            return []
        return ok

    def differences(self, earlier: int, later: int) -> list[Difference]:
        """What changed in this question's options and items from ``earlier`` to ``later``.

        One :class:`Difference` per option or item added, dropped or relabelled in between
        (a relabel marked ``comparable: false`` is ``"redefined"``), in codebook order: the list
        a report states once as "not compared" (new and redefined codes) or "no longer asked".

        Example:
            >>> q = Question("q", "multi", "m", "问", "Q", options=(
            ...     Option("a", "甲", "A", relabels=(Wording(2026, "甲甲", "AA"),)),
            ...     Option("b", "乙", "B", dropped=2026), Option("c", "丙", "C", added=2026)))
            >>> [(d.code, d.change) for d in q.differences(2025, 2026)]
            [('a', 'relabelled'), ('b', 'dropped'), ('c', 'added')]
        """
        lo, hi = sorted((earlier, later))
        if not (self.asked_in(lo) and self.asked_in(hi)):
            return []
        out = []
        for what, parts in (("option", self.options), ("item", self.items)):
            for o in parts:
                a, b = o.asked_in(lo), o.asked_in(hi)
                if a != b:
                    out.append(Difference(self.id, what, o.code, "added" if b else "dropped"))
                elif a and (moved := [w for w in o.relabels if lo < w.edition <= hi]):
                    change = "relabelled" if all(w.comparable for w in moved) else "redefined"
                    out.append(Difference(self.id, what, o.code, change))
        return out


@dataclass(frozen=True)
class Difference:
    """An option or item of question ``question`` ``added``, ``dropped``, ``relabelled`` (still
    comparable) or ``redefined`` (relabelled, not comparable) between two editions."""

    question: str
    what: Literal["option", "item"]
    code: str
    change: Literal["added", "dropped", "relabelled", "redefined"]


@dataclass(frozen=True)
class Section:
    """A chapter of the questionnaire."""

    id: str
    zh: str
    en: str

    def label(self, lang: Lang = "zh") -> str:
        """The label in ``lang``."""
        return self.zh if lang == "zh" else self.en
