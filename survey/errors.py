"""One exception family for everything the package refuses to do.

Every error says *where* (file, row as the user counts it, column), *what was found* (value)
and *what was expected*, so a user can fix the input without reading code.

Example:
    >>> from survey.errors import ValidationError, Problem
    >>> p = Problem(file="w.csv", row=3, column="industry", value="汽 车", expected="a code or label of industry")
    >>> print(p)
    w.csv, row 3, column 'industry': found '汽 车'; expected a code or label of industry
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in an input: where it is, what was found, what was expected."""

    expected: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: object = None
    kind: str = "invalid"

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        head = ", ".join(where) or "input"
        found = "" if self.value is None else f"found {self.value!r}; "
        return f"{head}: {found}expected {self.expected}"


class SurveyError(Exception):
    """Base class of every error raised by the package.

    Carries the same fields as :class:`Problem` so that callers can report them uniformly.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        expected: str | None = None,
    ) -> None:
        self.file, self.row, self.column, self.value, self.expected = (
            file,
            row,
            column,
            value,
            expected,
        )
        super().__init__(message)


class CodebookError(SurveyError):
    """The codebook (or a published-figures file) is malformed or refers to unknown ids."""


class WaveFormatError(SurveyError):
    """A wave file cannot be read at all: empty, wrong format for its extension, bad encoding."""


class ValidationError(SurveyError):
    """A wave was read but its content breaks the codebook; holds *all* problems found."""

    def __init__(self, problems: Sequence[Problem], *, file: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        n = len(self.problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:50])
        more = f"\n  … and {n - 50} more" if n > 50 else ""
        super().__init__(f"{n} problem(s) in {file or 'wave'}:\n{shown}{more}", file=file)

    @classmethod
    def raise_if_any(cls, problems: Iterable[Problem], *, file: str | None = None) -> None:
        """Raise when ``problems`` is non-empty; do nothing otherwise."""
        problems = list(problems)
        if problems:
            raise cls(problems, file=file)


class WeightingError(SurveyError):
    """Raking/calibration is impossible: empty level, inconsistent margins, no convergence."""


class EstimationError(SurveyError):
    """An estimator cannot be computed (unknown variable, empty domain, singular design)."""


class EmptySegmentError(EstimationError):
    """A domain/segment has no respondents (or too few for the requested statistic)."""


class ModelError(SurveyError):
    """A model cannot be fitted or refuses to answer (for example, a base too small)."""


class RenderError(SurveyError):
    """The report cannot be rendered (missing tool, failing cell, bad source)."""
