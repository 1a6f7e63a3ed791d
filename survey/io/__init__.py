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
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from survey.codebook import Codebook
from survey.errors import Problem, ValidationError, WaveFormatError
from survey.io.read import ROW_COLUMN, read_metadata, read_table, row_convention
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
    "row_convention",
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


def worded_headers(raw: pl.DataFrame, codebook: Codebook) -> pl.DataFrame:
    """Headers written as the questionnaire words them (``贵公司所属行业``, ``营销挑战-流量成本上升``,
    or the English wording) renamed to their codebook columns; other headers are kept as they are
    (validation names them). Only exact forms are used here; ``survey ingest`` also takes a
    mapping file and suggests matches for the rest.

    Example:
        >>> cb = Codebook.load()
        >>> worded_headers(pl.DataFrame({cb["industry"].text("zh"): ["汽车"]}), cb).columns
        ['industry']
    """
    from survey.ingest import map_headers

    known = {*codebook.columns(), codebook.id_column, codebook.weight_column, ROW_COLUMN}
    headers = [c for c in raw.columns if c not in known]
    if not headers:  # the usual case (waves written by the package): nothing to look up
        return raw
    header_map, _, _ = map_headers(headers, codebook)
    targets = list(header_map.values())
    renames = {
        h: c
        for h, c in header_map.items()
        if h != c and c not in raw.columns and targets.count(c) == 1
    }
    return raw.rename(renames) if renames else raw


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
    raw = worded_headers(read_table(path, sheet=sheet), cb)
    meta = read_metadata(path)
    ed = _infer_edition(path, edition, meta)
    frame, problems = validate(raw, cb, edition=ed, file=str(path))
    if problems or frame is None:
        raise ValidationError(problems, file=str(path))
    if ed is not None:
        meta["edition"] = str(ed)
    return Wave(frame=frame, edition=ed, codebook=cb, source=path, metadata=meta)


LIMIT = 20
"""Problems listed one by one per (kind, column) in :meth:`ValidationReport.to_text`."""

_WORDS = {
    "en": {
        "ok": "{file}: {n} rows, no problems",
        "head": "{file}: {n} rows, {k} problem(s)",
        "edition": "checked against the questions of edition {edition}",
        "no_edition": "checked against every question of the codebook (edition unknown)",
        "skipped": "note: {k} blank row(s) between respondents skipped (not respondents): {rows}",
        "kind": "[{kind}] {k} problem(s)",
        "column": "column '{column}'",
        "file_level": "the file",
        "expected": "expected {expected}",
        "row": "row {row}",
        "found": "found {value}",
        "in_rows": "{value} in {k} row(s): {rows}",
        "more_values": "… and {k} more distinct value(s) in {r} row(s)",
    },
    "zh": {
        "ok": "{file}: {n} 行，未发现问题",
        "head": "{file}: {n} 行，发现 {k} 个问题",
        "edition": "按 {edition} 年版问卷检查",
        "no_edition": "按问卷全部题目检查（未知年份）",
        "skipped": "注意：受访者之间的 {k} 个空行已跳过（不是受访者）：{rows}",
        "kind": "[{kind}] {k} 个问题",
        "column": "列 '{column}'",
        "file_level": "文件",
        "expected": "应为 {expected}",
        "row": "第 {row} 行",
        "found": "发现 {value}",
        "in_rows": "{value} 出现在 {k} 行：{rows}",
        "more_values": "… 另有 {k} 个不同取值，共 {r} 行",
    },
}


def _shown(value: object, width: int = 60) -> str:
    text = repr(value)
    return (
        text if len(text) <= width else f"{text[: width - 6]}…{text[-4:]} ({len(str(value))} chars)"
    )


def _rows_text(rows: list[int], limit: int = 8) -> str:
    shown = ", ".join(map(str, rows[:limit]))
    return shown + (f", … (+{len(rows) - limit})" if len(rows) > limit else "")


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_file` found in one file.

    ``skipped_rows`` are the blank rows between respondents that were not read (they are not
    respondents); ``rows`` says how row numbers are counted in this file's format; ``edition`` is
    the edition whose questions were expected (``None``: every question of the codebook).
    """

    file: str
    n_rows: int
    problems: tuple[Problem, ...]
    skipped_rows: tuple[int, ...] = ()
    rows: str = ""
    edition: int | None = None

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

    def to_text(self, lang: str = "en", limit: int | None = LIMIT) -> str:
        """A readable report: a count per kind, then the problems grouped by kind and column.

        A group of at most ``limit`` problems is listed row by row; a larger one is summarised by
        distinct value (count and first rows), so 10,000 problems stay readable while every
        problem is counted. ``limit=None`` lists every problem.

        Example:
            >>> print(validate_file("w.csv").to_text())  # doctest: +SKIP
            w.csv: 4 rows, 1 problem(s)
            rows as numbered in the spreadsheet (header = row 1)
            <BLANKLINE>
              unknown_code  1
            <BLANKLINE>
            [unknown_code] 1 problem(s)
              column 'industry': expected a code or label of 'industry': …
                row 4: found '汽车行业'
        """
        w = _WORDS["zh" if lang == "zh" else "en"]
        lines: list[str] = []
        if self.ok:
            lines.append(w["ok"].format(file=self.file, n=self.n_rows))
        else:
            lines.append(w["head"].format(file=self.file, n=self.n_rows, k=len(self.problems)))
        if not self.ok:
            if self.edition is not None:
                lines.append(w["edition"].format(edition=self.edition))
            elif any(p.kind == "missing_column" for p in self.problems):
                lines.append(w["no_edition"])
        if self.rows and (not self.ok or self.skipped_rows):
            lines.append(row_convention(self.file, "zh") if lang == "zh" else self.rows)
        if self.skipped_rows:
            rows = _rows_text(list(self.skipped_rows))
            lines.append(w["skipped"].format(k=len(self.skipped_rows), rows=rows))
        if self.ok:
            return "\n".join(lines)
        by_kind: dict[str, list[Problem]] = {}
        for p in self.problems:
            by_kind.setdefault(p.kind, []).append(p)
        order = [k for k in dict.fromkeys((*KINDS, *sorted(by_kind))) if k in by_kind]
        width = max(len(k) for k in order)
        lines.append("")
        lines += [f"  {k:<{width}}  {len(by_kind[k])}" for k in order]
        for kind in order:
            lines += ["", w["kind"].format(kind=kind, k=len(by_kind[kind]))]
            by_column: dict[str | None, list[Problem]] = {}
            for p in by_kind[kind]:
                by_column.setdefault(p.column, []).append(p)
            for column, group in by_column.items():
                lines += _group_lines(w, column, group, limit)
        return "\n".join(lines)


def _group_lines(
    w: dict[str, str], column: str | None, group: list[Problem], limit: int | None
) -> list[str]:
    """Lines for the problems of one kind in one column (one expectation stated once if shared)."""
    where = w["column"].format(column=column) if column else w["file_level"]
    expectations = list(dict.fromkeys(p.expected for p in group))
    shared = len(expectations) == 1
    head = (
        f"  {where}: {w['expected'].format(expected=expectations[0])}" if shared else f"  {where}:"
    )
    out = [head]

    def found(p: Problem) -> str:
        return "" if p.value is None else w["found"].format(value=_shown(p.value))

    if limit is None or len(group) <= limit:
        for p in group:
            text = found(p)
            if not shared:
                text = "; ".join(t for t in (text, w["expected"].format(expected=p.expected)) if t)
            if p.row is not None:
                text = w["row"].format(row=p.row) + (f": {text}" if text else "")
            if text:
                out.append("    " + text)
        return out
    by_value: dict[str, list[Problem]] = {}
    for p in group:
        by_value.setdefault(_shown(p.value), []).append(p)
    values = sorted(by_value.items(), key=lambda kv: -len(kv[1]))
    for value, ps in values[:limit]:
        rows = [p.row for p in ps if p.row is not None]
        line = w["in_rows"].format(value=value, k=len(ps), rows=_rows_text(rows))
        if not shared:
            line += "; " + w["expected"].format(expected=ps[0].expected)
        out.append("    " + line)
    rest = values[limit:]
    if rest:
        n_rest = sum(len(ps) for _, ps in rest)
        out.append("    " + w["more_values"].format(k=len(rest), r=n_rest))
    return out


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
        raw = worded_headers(read_table(p, sheet=sheet), cb)
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
        return ValidationReport(file=str(p), n_rows=0, problems=(problem,), rows=row_convention(p))
    ed = _infer_edition(p, edition, meta)
    _, problems = validate(raw, cb, edition=ed, file=str(p))
    return ValidationReport(
        file=str(p),
        n_rows=raw.height,
        problems=tuple(problems),
        skipped_rows=_gaps(raw[ROW_COLUMN]),
        rows=row_convention(p),
        edition=ed,
    )


def _gaps(rows: pl.Series) -> tuple[int, ...]:
    """Row numbers between the first and the last respondent that were not read (blank rows)."""
    if rows.is_empty():
        return ()
    lo, hi = int(rows.min()), int(rows.max())  # type: ignore[arg-type]
    if hi - lo + 1 == rows.len():
        return ()
    return tuple(sorted(set(range(lo, hi + 1)).difference(rows.to_list())))
