"""Reading, validating and writing waves.

* :func:`load_wave` — a file (CSV/xlsx/Parquet/sav) or an edition → a typed :class:`~survey.Wave`,
  raising :class:`~survey.errors.ValidationError` with *all* problems, or
  :class:`~survey.errors.WaveFormatError` when the file cannot be read at all.
* :func:`validate_file` — the same checks as a :class:`ValidationReport` (what ``survey validate``
  prints).
* :func:`write_wave` / :func:`write_table` — deterministic Parquet waves; CSV/xlsx/sav tables.

Example:
    >>> from survey.io import load_wave, validate_file
    >>> wave = load_wave("wave_2025.xlsx", sheet="data")  # doctest: +SKIP
    >>> print(validate_file("wave_2025.csv").to_text())  # doctest: +SKIP
    wave_2025.csv: 228 rows, no problems
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from survey.codebook import Codebook
from survey.errors import Problem, ValidationError, WaveFormatError
from survey.io.read import ROW_COLUMN, read_metadata, read_table
from survey.io.validate import KINDS, validate
from survey.io.write import write_table, write_wave
from survey.paths import waves_dir
from survey.wave import Wave

__all__ = [
    "KINDS",
    "ROW_COLUMN",
    "ValidationReport",
    "load_wave",
    "read_metadata",
    "read_table",
    "validate",
    "validate_file",
    "write_table",
    "write_wave",
]

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


def _resolve(path_or_edition: int | str | Path, edition: int | None) -> tuple[Path, int | None]:
    if isinstance(path_or_edition, int) or (
        isinstance(path_or_edition, str) and path_or_edition.strip().isdigit()
    ):
        e = int(path_or_edition)
        return waves_dir() / f"{e}.parquet", edition if edition is not None else e
    return Path(path_or_edition), edition


def _infer_edition(path: Path, edition: int | None, meta: dict[str, str]) -> int | None:
    if edition is not None:
        return int(edition)
    if meta.get("edition", "").strip().isdigit():
        return int(meta["edition"])
    years = _YEAR.findall(path.stem)
    return int(years[-1]) if years else None


def load_wave(
    path_or_edition: int | str | Path,
    *,
    codebook: Codebook | None = None,
    edition: int | None = None,
    sheet: str | int | None = None,
) -> Wave:
    """Read, validate and type a wave.

    ``path_or_edition``: an edition (``2025`` or ``"2025"``) loads ``waves_dir()/2025.parquet``;
    a path loads any supported format. The edition is ``edition`` when given, else the file's
    metadata, else a 4-digit year in the file name, else ``None`` (all questions expected).

    Example:
        >>> load_wave("survey_2024.csv").edition  # doctest: +SKIP
        2024
    """
    cb = codebook if codebook is not None else Codebook.load()
    path, edition = _resolve(path_or_edition, edition)
    raw = read_table(path, sheet=sheet)
    meta = read_metadata(path)
    ed = _infer_edition(path, edition, meta)
    frame, problems = validate(raw, cb, edition=ed, file=str(path))
    if problems or frame is None:
        raise ValidationError(problems, file=str(path))
    if ed is not None:
        meta["edition"] = str(ed)
    return Wave(frame=frame, edition=ed, codebook=cb, source=path, metadata=meta)


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_file` found in one file."""

    file: str
    n_rows: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """True when there is no problem at all."""
        return not self.problems

    def to_polars(self) -> pl.DataFrame:
        """One row per problem: ``kind, file, row, column, value, expected``."""
        return pl.DataFrame(
            {
                "kind": [p.kind for p in self.problems],
                "file": [p.file for p in self.problems],
                "row": [p.row for p in self.problems],
                "column": [p.column for p in self.problems],
                "value": [None if p.value is None else str(p.value) for p in self.problems],
                "expected": [p.expected for p in self.problems],
            },
            schema={
                "kind": pl.String,
                "file": pl.String,
                "row": pl.Int64,
                "column": pl.String,
                "value": pl.String,
                "expected": pl.String,
            },
        )

    def to_text(self, lang: str = "en") -> str:
        """A readable report: a count per kind, then every problem on its own line."""
        zh = lang == "zh"
        if self.ok:
            return (
                f"{self.file}: {self.n_rows} 行，未发现问题"
                if zh
                else f"{self.file}: {self.n_rows} rows, no problems"
            )
        counts = Counter(p.kind for p in self.problems)
        head = (
            f"{self.file}: {self.n_rows} 行，发现 {len(self.problems)} 个问题"
            if zh
            else f"{self.file}: {self.n_rows} rows, {len(self.problems)} problem(s)"
        )
        lines = [head, ""]
        order = [k for k in (*KINDS, *sorted(counts)) if k in counts]
        width = max(len(k) for k in order)
        lines += [f"  {k:<{width}}  {counts[k]}" for k in dict.fromkeys(order)]
        for k in dict.fromkeys(order):
            lines += ["", f"[{k}]"]
            lines += [f"  - {p}" for p in self.problems if p.kind == k]
        return "\n".join(lines)


def validate_file(
    path: str | Path,
    *,
    codebook: Codebook | None = None,
    edition: int | None = None,
    sheet: str | int | None = None,
) -> ValidationReport:
    """Check a wave file and report every problem (never raises for bad content).

    A file that cannot be read at all gives a report with one problem of kind ``unreadable``.

    Example:
        >>> report = validate_file("wave_2025.csv")  # doctest: +SKIP
        >>> report.ok, report.to_polars().columns[:2]  # doctest: +SKIP
        (False, ['kind', 'file'])
    """
    cb = codebook if codebook is not None else Codebook.load()
    p, edition = _resolve(path, edition)
    try:
        raw = read_table(p, sheet=sheet)
        meta = read_metadata(p)
    except WaveFormatError as e:
        problem = Problem(
            expected=e.expected or "a readable wave file",
            file=str(p),
            row=e.row,
            column=e.column,
            value=str(e).removeprefix(f"{p}: "),
            kind="unreadable",
        )
        return ValidationReport(file=str(p), n_rows=0, problems=(problem,))
    ed = _infer_edition(p, edition, meta)
    _, problems = validate(raw, cb, edition=ed, file=str(p))
    return ValidationReport(file=str(p), n_rows=raw.height, problems=tuple(problems))
