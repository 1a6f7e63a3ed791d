"""The codebook: what the survey asks, with bilingual labels, nets and edition history.

The codebook is a YAML file (``data/codebook.yaml``, format in ``docs/codebook-format.md``). This
module answers the questions the rest of the package asks: which questions, options and grid
items an edition asked, which columns a wave of that edition has and their polars dtypes, the
label of a code in a language and an edition, the members of a net, and what can be compared
between two editions (per question, per option and per grid item). Parsing and checking of the
file live in :mod:`survey._codebook_parse`.

Example:
    >>> from survey.codebook import Codebook
    >>> cb = Codebook.load()
    >>> q = cb["confidence"]
    >>> q.type, q.label("net_decrease", "en") != ""
    ('single', True)
    >>> q.comparable_codes(2024, 2025)[:2]
    ['big_decrease', 'small_decrease']
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from survey import _codebook_browse, _codebook_parse
from survey._codebook_model import (
    QUESTION_TYPES,
    RESIDUAL_CODES,
    SEP,
    Change,
    Difference,
    Lang,
    Net,
    Option,
    Question,
    Section,
    Wording,
)
from survey.errors import CodebookError

__all__ = [
    "QUESTION_TYPES",
    "RESIDUAL_CODES",
    "SEP",
    "Change",
    "Codebook",
    "Difference",
    "Lang",
    "Net",
    "Option",
    "Question",
    "Section",
    "Wording",
]


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
        """Read and check a codebook YAML file (default ``data/codebook.yaml``).

        Example:
            >>> cb = Codebook.load()
            >>> cb.editions, cb.id_column
            ((2022, 2023, 2024, 2025), 'resp_id')
        """
        return _codebook_parse.load(cls, path)

    @classmethod
    def from_dict(cls, raw: Any, *, source: Path | None = None) -> Codebook:
        """Build a codebook from already-parsed YAML (see :meth:`load`)."""
        return _codebook_parse.from_dict(cls, raw, source=source)

    # -- browsing (survey/_codebook_browse.py) ---------------------------------------------------
    to_polars = _codebook_browse.to_polars
    search = _codebook_browse.search

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

    def questions_in(self, edition: int | None) -> list[Question]:
        """Questions asked in ``edition``, in codebook order (``None``: all).

        Example:
            >>> cb = Codebook.load()
            >>> len(cb.questions_in(2025)) < len(cb), "marketing_goals" in {
            ...     q.id for q in cb.questions_in(2022)}
            (True, True)
        """
        return [q for q in self if q.asked_in(edition)]

    def sections_in(self, edition: int | None) -> list[Section]:
        """Sections with at least one question asked in ``edition``, in order.

        Example:
            >>> [s.id for s in Codebook.load().sections_in(2023)]
            ['profile', 'outlook', 'brand_performance', 'media']
        """
        used = {q.section for q in self.questions_in(edition)}
        return [s for s in self.sections if s.id in used]

    def columns(self, edition: int | None = None) -> list[str]:
        """Wave columns (id first, no weight) that ``edition`` asked; all of them for ``None``.

        These are the columns a delivery of that edition must have. The typed wave also has
        the (all-null) columns of options the edition did not ask: :meth:`column_dtypes`.

        Example:
            >>> cb = Codebook.load()
            >>> "challenges__new_tech" in cb.columns(2022), "challenges__new_tech" in cb.columns(2025)
            (False, True)
        """
        out = [self.id_column]
        for q in self:
            out.extend(q.columns(edition))
        return out

    def column_dtypes(self, edition: int | None = None) -> dict[str, pl.DataType]:
        """Column -> polars dtype of a typed wave of ``edition`` (id String, weight Float64).

        Every column of every question asked in the edition, including the null columns of
        options and items it did not ask.

        Example:
            >>> Codebook.load().column_dtypes(2022)["challenges__new_tech"]
            Boolean
        """
        out: dict[str, pl.DataType] = {self.id_column: pl.String()}
        for q in self:
            out.update(q.column_dtypes(edition))
        out[self.weight_column] = pl.Float64()
        return out

    def not_asked_columns(self, edition: int) -> list[str]:
        """Columns of questions asked in ``edition`` whose option or item it did not ask."""
        return [c for q in self for c in q.not_asked_columns(edition)]

    def differences(self, earlier: int, later: int) -> list[Difference]:
        """Options and items added, dropped or relabelled between two editions, over the
        questions both asked (:meth:`Question.differences`), in codebook order.

        Example:
            >>> cb = Codebook.load()
            >>> [(d.code, d.change) for d in cb.differences(2024, 2025)][:3]
            [('search', 'dropped'), ('in_platform_search', 'added'), ('general_search', 'added')]
            >>> [(d.question, d.code, d.change) for d in cb.differences(2022, 2025)]
            [('challenges', 'new_tech', 'added')]
        """
        return [d for q in self for d in q.differences(earlier, later)]

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
        """Whether ``column`` is a question column of this codebook (of any edition)."""
        return column in self._columns
