"""Reading the published tables: one CSV per edition, ``contrasts.csv`` and ``context.csv``.

Every loader checks its file and raises :class:`~survey.errors.CodebookError` naming the file,
the row as a spreadsheet counts it (the header is row 1), the column and what was expected.

Example:
    >>> f = load_figures([2025])
    >>> f.filter(f["figure_id"] == "confidence_net_decrease")["value"].item()
    54.0
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from survey.errors import CodebookError, Problem
from survey.paths import published_dir

#: Columns of an edition's figures table and their polars dtypes (in file order).
FIGURE_COLUMNS: dict[str, pl.DataType] = {
    "edition": pl.Int32(),
    "figure_id": pl.String(),
    "question_id": pl.String(),
    "option_code": pl.String(),
    "measure": pl.String(),
    "value": pl.Float64(),
    "unit": pl.String(),
    "base": pl.String(),
    "segment": pl.String(),
    "compare_edition": pl.Int32(),
    "stated_edition": pl.Int32(),
    "source_file": pl.String(),
    "episode": pl.String(),
    "shownote_time": pl.String(),
    "quote": pl.String(),
    "note": pl.String(),
}
_FIGURE_OPTIONAL = {"stated_edition"}

#: Columns of ``contrasts.csv``.
CONTRAST_COLUMNS: dict[str, pl.DataType] = {
    "edition": pl.Int32(),
    "contrast_id": pl.String(),
    "question_id": pl.String(),
    "measure": pl.String(),
    "option_code": pl.String(),
    "segment_variable": pl.String(),
    "level": pl.String(),
    "direction": pl.String(),
    "reference": pl.String(),
    "source_file": pl.String(),
    "episode": pl.String(),
    "shownote_time": pl.String(),
    "quote": pl.String(),
    "note": pl.String(),
}

#: Columns of ``context.csv``.
CONTEXT_COLUMNS: dict[str, pl.DataType] = {
    "figure_id": pl.String(),
    "subject": pl.String(),
    "metric": pl.String(),
    "value": pl.Float64(),
    "unit": pl.String(),
    "as_of": pl.String(),
    "scope": pl.String(),
    "source_file": pl.String(),
    "quote": pl.String(),
    "note": pl.String(),
    "relation": pl.String(),
}
_CONTEXT_OPTIONAL = {"relation"}

MEASURES = ("share", "mean", "rank", "change", "count", "ratio", "optimum", "reference")
UNITS = ("pct_respondents", "pp", "pct_growth", "rank", "ratio", "count", "percent", "months")
CONTEXT_UNITS = ("persons", "usd", "cny", "count", "gpus", "ratio", "weeks", "months")
_LEVEL_MEASURES = ("share", "mean")
_REQUIRED_VALUE = {"edition", "figure_id", "measure", "value", "unit", "source_file", "quote"}
_TIME_RE = re.compile(r"^\d{1,2}(:\d{2}){1,2}$")
_EDITION_FILE_RE = re.compile(r"^(\d{4})\.csv$")
_AS_OF_RE = re.compile(r"^\d{4}-\d{2}(-\d{2})?(/\d{4}-\d{2}-\d{2})?$")
_RELATION_RE = re.compile(r"^(sum:[a-z0-9_]+(\+[a-z0-9_]+)+|ratio:[a-z0-9_]+/[a-z0-9_]+)$")


def _fail(file: Path, row: int, column: str | None, value: object, expected: str) -> CodebookError:
    problem = Problem(expected=expected, file=str(file), row=row, column=column, value=value)
    return CodebookError(
        str(problem), file=str(file), row=row, column=column, value=value, expected=expected
    )


def _read_rows(
    file: Path, columns: dict[str, pl.DataType], optional: set[str]
) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV as ``(spreadsheet row number, {column: text})``; checks the header."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CodebookError(f"published table not found: {file}", file=str(file)) from None
    except UnicodeDecodeError as e:
        raise CodebookError(
            f"{file}: not UTF-8 ({e})", file=str(file), expected="a UTF-8 CSV file"
        ) from None
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = next(reader)
    except StopIteration:
        raise _fail(file, 1, None, "", "a header row") from None
    header = [h.strip() for h in header]
    for col in columns:
        if col not in header and col not in optional:
            raise _fail(file, 1, col, None, f"a column '{col}' in the header")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise _fail(file, 1, dup[0], dup[0], "each column once")
    out = []
    for i, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise _fail(
                file, i, None, f"{len(cells)} fields", f"{len(header)} fields as in the header"
            )
        out.append((i, {h: c.strip() for h, c in zip(header, cells, strict=True)}))
    return out


def _to_int(file: Path, row: int, column: str, text: str) -> int | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise _fail(file, row, column, text, "a whole number such as 2024") from None


def _to_float(file: Path, row: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _fail(
            file, row, column, text, "a number (no units or thousands separators)"
        ) from None
    if not math.isfinite(value):
        raise _fail(file, row, column, text, "a finite number")
    return value


def _frame(records: list[dict[str, Any]], columns: dict[str, pl.DataType]) -> pl.DataFrame:
    return (
        pl.DataFrame(records, schema=columns, orient="row")
        if records
        else pl.DataFrame(schema=columns)
    )


def _parse_figures(file: Path, edition: int | None) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row, cells in _read_rows(file, FIGURE_COLUMNS, _FIGURE_OPTIONAL):
        rec: dict[str, Any] = {}
        for col in FIGURE_COLUMNS:
            text = cells.get(col, "")
            if col in _REQUIRED_VALUE and text == "":
                raise _fail(file, row, col, text, f"a value in '{col}'")
            rec[col] = text or None
        ed = _to_int(file, row, "edition", cells["edition"])
        if edition is not None and ed != edition:
            raise _fail(file, row, "edition", cells["edition"], f"{edition} (the file's edition)")
        rec["edition"] = ed
        for col in ("compare_edition", "stated_edition"):
            rec[col] = _to_int(file, row, col, cells.get(col, ""))
        rec["value"] = _to_float(file, row, "value", cells["value"])
        if rec["measure"] not in MEASURES:
            raise _fail(file, row, "measure", rec["measure"], f"one of {', '.join(MEASURES)}")
        if rec["unit"] not in UNITS:
            raise _fail(file, row, "unit", rec["unit"], f"one of {', '.join(UNITS)}")
        if rec["measure"] == "change" and rec["compare_edition"] is None:
            raise _fail(file, row, "compare_edition", "", "the edition a change is measured from")
        t = rec["shownote_time"]
        if t is not None and not _TIME_RE.match(t):
            raise _fail(file, row, "shownote_time", t, "a time like 2:45 or 1:01:43")
        seg = rec["segment"]
        if seg is not None and not re.match(r"^[a-z0-9_]+=[a-z0-9_]+(\|[a-z0-9_]+)*$", seg):
            raise _fail(file, row, "segment", seg, "variable=code or variable=code|code")
        fid = rec["figure_id"]
        if fid in seen:
            raise _fail(file, row, "figure_id", fid, f"a unique id (also used in row {seen[fid]})")
        seen[fid] = row
        records.append(rec)
    return records


def _edition_files(directory: Path) -> dict[int, Path]:
    files = {}
    for p in sorted(directory.glob("*.csv")):
        m = _EDITION_FILE_RE.match(p.name)
        if m:
            files[int(m.group(1))] = p
    return files


def load_figures(
    editions: Iterable[int] | None = None, *, directory: str | Path | None = None
) -> pl.DataFrame:
    """All published figures of the given editions (default: every ``<edition>.csv``), typed.

    Columns as :data:`FIGURE_COLUMNS` (``edition`` Int32, ``value`` Float64, blanks as null).
    Raises :class:`CodebookError` for a malformed file (file, row, column) or a missing edition.

    Example:
        >>> f = load_figures([2025])
        >>> f.filter(f["figure_id"] == "budget_split_optimum_brand")["value"].item()
        53.0
    """
    folder = Path(directory) if directory is not None else published_dir()
    files = _edition_files(folder)
    wanted = sorted(files) if editions is None else sorted({int(e) for e in editions})
    records: list[dict[str, Any]] = []
    for ed in wanted:
        if ed not in files:
            raise CodebookError(
                f"no published figures for edition {ed} in {folder}",
                file=str(folder / f"{ed}.csv"),
                value=ed,
                expected=f"one of {sorted(files)}",
            )
        records.extend(_parse_figures(files[ed], ed))
    return _frame(records, FIGURE_COLUMNS)


def load_contrasts(path: str | Path | None = None) -> pl.DataFrame:
    """Segment contrasts told in words (``contrasts.csv``), typed as :data:`CONTRAST_COLUMNS`.

    A ``contrast_id`` is unique within its edition: next year's file may reuse an id (the
    same contrast told again); the pair (``edition``, ``contrast_id``) names a contrast.

    Example:
        >>> c = load_contrasts()
        >>> sorted(c.filter(c["direction"] == "lower")["level"].to_list())[:2]
        ['auto', 'emerging']
    """
    file = Path(path) if path is not None else published_dir() / "contrasts.csv"
    records = []
    seen: dict[tuple[int | None, str], int] = {}
    for row, cells in _read_rows(file, CONTRAST_COLUMNS, set()):
        rec: dict[str, Any] = {c: (cells.get(c) or None) for c in CONTRAST_COLUMNS}
        rec["edition"] = _to_int(file, row, "edition", cells["edition"])
        for col in ("edition", "contrast_id", "question_id", "segment_variable", "level", "quote"):
            if rec[col] is None:
                raise _fail(file, row, col, "", f"a value in '{col}'")
        if rec["direction"] not in ("higher", "lower"):
            raise _fail(file, row, "direction", rec["direction"], "higher or lower")
        if rec["reference"] not in ("rest", "total"):
            raise _fail(file, row, "reference", rec["reference"], "rest or total")
        if rec["measure"] not in MEASURES:
            raise _fail(file, row, "measure", rec["measure"], f"one of {', '.join(MEASURES)}")
        key = (rec["edition"], rec["contrast_id"])
        if key in seen:
            raise _fail(
                file,
                row,
                "contrast_id",
                rec["contrast_id"],
                f"an id unique within edition {rec['edition']} (also used in row {seen[key]})",
            )
        seen[key] = row
        records.append(rec)
    return _frame(records, CONTRAST_COLUMNS)


def load_context(path: str | Path | None = None) -> pl.DataFrame:
    """Context figures not about the advertisers (``context.csv``), typed as :data:`CONTEXT_COLUMNS`.

    Example:
        >>> c = load_context()
        >>> c.filter(c["figure_id"] == "deepseek_app_dau_20250131")["value"].item()
        22150000.0
    """
    file = Path(path) if path is not None else published_dir() / "context.csv"
    records = []
    seen: set[str] = set()
    for row, cells in _read_rows(file, CONTEXT_COLUMNS, _CONTEXT_OPTIONAL):
        rec: dict[str, Any] = {c: (cells.get(c) or None) for c in CONTEXT_COLUMNS}
        for col in ("figure_id", "subject", "metric", "value", "unit", "source_file", "quote"):
            if rec[col] is None:
                raise _fail(file, row, col, "", f"a value in '{col}'")
        rec["value"] = _to_float(file, row, "value", cells["value"])
        if rec["unit"] not in CONTEXT_UNITS:
            raise _fail(file, row, "unit", rec["unit"], f"one of {', '.join(CONTEXT_UNITS)}")
        if rec["as_of"] is not None and not _AS_OF_RE.match(rec["as_of"]):
            raise _fail(file, row, "as_of", rec["as_of"], "YYYY-MM-DD, YYYY-MM or a period A/B")
        if rec["relation"] is not None and not _RELATION_RE.match(rec["relation"]):
            raise _fail(file, row, "relation", rec["relation"], "sum:a+b+… or ratio:a/b")
        if rec["figure_id"] in seen:
            raise _fail(file, row, "figure_id", rec["figure_id"], "a unique id")
        seen.add(rec["figure_id"])
        records.append(rec)
    return _frame(records, CONTEXT_COLUMNS)


def figures_for(
    figures: pl.DataFrame, question_id: str, editions: Sequence[int] | None = None
) -> pl.DataFrame:
    """The figures of one question, optionally of some editions, latest edition first.

    Example:
        >>> figures_for(load_figures(), "budget_growth_expected", [2025]).height >= 2
        True
    """
    out = figures.filter(pl.col("question_id") == question_id)
    if editions is not None:
        out = out.filter(pl.col("edition").is_in(list(editions)))
    return out.sort("edition", descending=True, maintain_order=True)
