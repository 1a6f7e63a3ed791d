"""Read a wave file of any supported format into a raw, all-String table.

Supported: ``.csv``/``.tsv``/``.txt`` (UTF-8 with or without BOM, GB18030/GBK or UTF-16, one
encoding per file: :mod:`survey.io._text`), ``.xlsx`` (first visible or named sheet, cells as their
number format shows them, merged cells expanded, within size limits: :mod:`survey.io._xlsx`),
``.parquet`` and SPSS ``.sav``/``.zsav`` (value labels applied; variable labels in
:attr:`ReadInfo.labels`). Every column comes back as ``pl.String`` with the cells as a spreadsheet
shows them (an empty cell is null), plus :data:`ROW_COLUMN` (``UInt32``), the row number as the
user counts it (:func:`row_convention`):

* CSV/TSV and Excel: the row of the sheet. The header is the first row that is as wide as a
  table row (title or read-me lines above it are skipped and named in :attr:`ReadInfo.notes`);
  a CSV record with a line break inside a quoted cell is one row, as in Excel.
* Parquet: as if the table were exported to a spreadsheet: column names in row 1, record ``i``
  (0-based) in row ``i + 2``.
* SPSS ``.sav``: the case number shown in SPSS's Data View (first case = row 1).

Rows whose cells are all blank are not respondents and are skipped; the other rows keep their
numbers (the gaps are reported by :func:`survey.io.validate_file`). A file that cannot be read
raises :class:`~survey.errors.WaveFormatError`; structural problems (rows shorter or longer than
the header, unnamed or repeated column names) are all found in one pass and listed together in
the error (``error.problems``).

CSV files without quote characters are parsed by polars' native reader, any other text file
by :mod:`csv` (strict); both give the same table.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "w.csv"
    >>> _ = path.write_text("resp_id,industry\\na,汽车\\n", encoding="gbk")
    >>> raw = read_table(path)
    >>> raw.rows()
    [(2, 'a', '汽车')]
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from survey.errors import Problem, WaveFormatError
from survey.io._signature import _check_signature, _err
from survey.io._text import decode

__all__ = [
    "EXTENSIONS",
    "FIRST_ROW",
    "ROW_COLUMN",
    "ReadInfo",
    "decode",
    "read_metadata",
    "read_table",
    "read_table_info",
    "row_convention",
]

ROW_COLUMN = "__row__"
"""Name of the column holding spreadsheet row numbers in a raw table (not a wave column)."""

FIRST_ROW = {".parquet": 2, ".sav": 1, ".zsav": 1}
"""Row number of the first record of a typed format (text and Excel: the sheet's own rows)."""

EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".sav", ".zsav")
MAX_LISTED = 20
"""Structural problems listed one by one in an error message (all are in ``error.problems``)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class ReadInfo:
    """How a file was read: where its header is, which sheet, what was noticed on the way.

    ``header_row``: the row of the column names (as the spreadsheet counts it); ``sheet``: the
    Excel sheet read (``sheets``: all visible sheets); ``labels``: SPSS variable labels by variable
    name; ``notes``: what a user should know (rows above the header skipped, merged cells
    expanded).
    """

    file: str
    kind: str = "sheet"  # "sheet", "parquet" or "sav"
    header_row: int = 1
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


# -- public ---------------------------------------------------------------------------------------
def read_table(path: str | Path, *, sheet: str | int | None = None) -> pl.DataFrame:
    """Read ``path`` into an all-String frame plus :data:`ROW_COLUMN` (spreadsheet row numbers).

    ``sheet`` selects an Excel sheet by name or 0-based index (default: the first visible sheet).
    Raises :class:`WaveFormatError` when the file is missing, empty, has no respondents, is not
    what its extension says or cannot be decoded.
    """
    return read_table_info(path, sheet=sheet)[0]


def read_table_info(
    path: str | Path, *, sheet: str | int | None = None
) -> tuple[pl.DataFrame, ReadInfo]:
    """:func:`read_table` and the :class:`ReadInfo` of the reading.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "w.csv"
        >>> _ = path.write_text("2026年广告主调研\\n\\nresp_id,industry,confidence\\na,auto,flat\\n", encoding="utf-8")
        >>> raw, info = read_table_info(path)
        >>> info.header_row, raw[ROW_COLUMN].to_list(), info.notes
        (3, [4], ('row 1 above the header (row 3) skipped: it is not a table row',))
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in EXTENSIONS:
        raise _err(p, f"unsupported file type '{p.suffix}'", f"one of {', '.join(EXTENSIONS)}")
    try:
        if p.is_dir():
            raise _err(p, "is a folder", "a file")
        data = p.read_bytes()
    except FileNotFoundError:
        raise _err(p, "file not found", "an existing file") from None
    except OSError as e:
        raise _err(p, f"cannot read the file ({e.strerror or e})", "a readable file") from None
    if not data:
        raise _err(p, "the file is empty (0 bytes)", "a header row and at least one respondent")
    _check_signature(p, ext, data)
    if ext in (".csv", ".tsv", ".txt"):
        df, info = _read_text(p, data, "\t" if ext == ".tsv" else None)
    elif ext in (".xlsx", ".xlsm"):
        from survey.io._xlsx import read_sheet, sheet_names

        got = read_sheet(data, str(p), sheet)
        df, info = _from_rows_info(p, got.rows, f"sheet '{got.name}'", strict_width=False)
        info = ReadInfo(
            file=str(p),
            header_row=info.header_row,
            sheet=got.name,
            sheets=tuple(sheet_names(data, str(p))),
            notes=(*got.notes, *info.notes),
        )
    elif ext == ".parquet":
        from survey.io._typed import read_parquet

        df, info = read_parquet(p), ReadInfo(str(p), "parquet")
    else:
        from survey.io._typed import read_sav

        df, info = read_sav(p)
    return _finish(p, df, info.header_row), info


def read_metadata(path: str | Path) -> dict[str, str]:
    """Key-value metadata of a Parquet file (``ARROW:``/``pandas`` keys left out); ``{}`` otherwise.

    Example:
        >>> read_metadata("data/waves/2025.parquet")["edition"]
        '2025'
    """
    p = Path(path)
    if p.suffix.lower() != ".parquet":
        return {}
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(p).metadata or {}
    except Exception as e:  # any pyarrow failure means the footer is unreadable
        raise _err(p, f"not a readable Parquet file ({e})", "a Parquet file") from None
    out = {}
    for k, v in meta.items():
        key = k.decode("utf-8", "replace")
        if not key.startswith("ARROW:") and key != "pandas":
            out[key] = v.decode("utf-8", "replace")
    return out


def row_convention(path: str | Path, lang: str = "en", header_row: int = 1) -> str:
    """How the row numbers of problems in ``path`` are counted, in words.

    Text and Excel files: the rows of the sheet (the header is ``header_row``). Parquet: as if
    the table were opened in a spreadsheet (column names in row 1, first record in row 2). SPSS:
    the case numbers of SPSS's Data View (first case = row 1).

    Example:
        >>> row_convention("w.sav")
        'rows are SPSS case numbers (first case = row 1)'
        >>> row_convention("w.xlsx", header_row=3)
        'rows as numbered in the spreadsheet (header = row 3)'
    """
    ext = Path(path).suffix.lower()
    kind = "sav" if ext in (".sav", ".zsav") else "parquet" if ext == ".parquet" else "sheet"
    text = _ROW_WORDS[kind][1 if lang == "zh" else 0]
    return (
        text.replace("= row 1)", f"= row {header_row})").replace(
            "= 第 1 行）", f"= 第 {header_row} 行）"
        )
        if kind == "sheet"
        else text
    )


_ROW_WORDS = {
    "sav": (
        "rows are SPSS case numbers (first case = row 1)",
        "行号为 SPSS 个案号（第一个个案 = 第 1 行）",
    ),
    "parquet": (
        "rows as in a spreadsheet export (column names = row 1, first record = row 2)",
        "行号按电子表格计（列名 = 第 1 行，第一条记录 = 第 2 行）",
    ),
    "sheet": (
        "rows as numbered in the spreadsheet (header = row 1)",
        "行号与电子表格一致（表头 = 第 1 行）",
    ),
}


# -- text -----------------------------------------------------------------------------------------
def _delimiter(text: str, delimiter: str | None) -> str:
    if delimiter is not None:
        return delimiter
    lines = [line for line in text.split("\n", 20)[:20] if line.strip()]
    first = max(lines, key=lambda s: max(s.count(d) for d in (",", ";", "\t")), default="")
    found = max((",", ";", "\t"), key=first.count) if first else ","
    return found if first.count(found) else ","


def _read_text(p: Path, data: bytes, delimiter: str | None) -> tuple[pl.DataFrame, ReadInfo]:
    """A delimited text file: the native polars reader when that is exact, else :mod:`csv`."""
    text = decode(data, p)
    sample = text[:65536]
    controls = len(_CONTROL.findall(sample))
    if controls > max(8, len(sample) // 100):
        raise _err(
            p,
            f"contains binary data ({controls} control characters in the first "
            f"{len(sample)} characters)",
            "a delimited text file",
        )
    delimiter = _delimiter(text, delimiter)
    fast = _csv_fast(p, text, delimiter)
    if fast is not None:
        return fast, ReadInfo(str(p))
    records, quoting = _csv_records(p, text, delimiter)
    return _from_rows_info(p, records, "the file", strict_width=True, quoting=quoting)


def _csv_fast(p: Path, text: str, delimiter: str) -> pl.DataFrame | None:
    """Parse with polars when the result is certain to equal :func:`_csv_rows`; else ``None``.

    That is when the text has no quote character (so a record is a line and a cell never holds a
    delimiter or a line break), no bare carriage return (which :mod:`csv` reads as a line break),
    every line but blank ones exactly as wide as the header, and polars returns exactly one row
    per line after the header (so spreadsheet row ``i + 2`` is data row ``i``).
    """
    if '"' in text or text.count("\r") != text.count("\r\n"):
        return None
    head, newline, body = text.partition("\n")
    if not newline or not head.replace(delimiter, "").strip():  # leading blank rows: csv's job
        return None
    header = head.removesuffix("\r").split(delimiter)
    lines = body.count("\n") + (1 if body and not body.endswith("\n") else 0)
    counts = pl.Series(body.removesuffix("\n").split("\n") if body else [], dtype=pl.String)
    widths = counts.str.count_matches(delimiter, literal=True)
    ragged = (widths != len(header) - 1) & (counts.str.strip_chars() != "")
    if ragged.any():  # short or wide rows: let _from_rows name them all
        return None
    try:
        cells = pl.read_csv(
            body.encode("utf-8"),
            has_header=False,
            separator=delimiter,
            quote_char=None,
            schema={f"c{j}": pl.String for j in range(len(header))},
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError:
        return None
    if cells.height != lines:
        return None
    rows = pl.int_range(2, cells.height + 2, dtype=pl.UInt32, eager=True)
    return _named(p, header, cells, rows, empty_is_null=True)


def _csv_records(
    p: Path, text: str, delimiter: str
) -> tuple[list[tuple[int, list]], Problem | None]:
    """Records with their row numbers; a quoting error ends the reading (rows before it kept)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list]] = []
    try:
        for i, rec in enumerate(reader, start=1):
            records.append((i, rec))
    except csv.Error as e:
        row = len(records) + 1
        problem = Problem(
            'well-formed CSV (a quote inside a quoted cell is doubled: "")',
            str(p),
            row,
            None,
            f"malformed CSV ({e})",
            "bad_quoting",
        )
        return records, problem
    return records, None


def _csv_rows(p: Path, text: str, delimiter: str) -> list[tuple[int, list]]:
    """:func:`_csv_records`, raising the structural error at a quoting error."""
    records, problem = _csv_records(p, text, delimiter)
    if problem is not None:
        _from_rows_info(p, records, "the file", strict_width=True, quoting=problem)
    return records


# -- rows -> frame ---------------------------------------------------------------------------------
def _clean_header(name: object) -> str:
    return str(name or "").replace("\ufeff", "").strip().strip("\u3000").strip()


def _is_blank(rec: Sequence) -> bool:
    return not any(c is not None and str(c).strip() for c in rec)


def _filled(rec: Sequence) -> int:
    return sum(1 for c in rec if c is not None and str(c).strip())


def _header_index(records: Sequence[tuple[int, list]]) -> int | None:
    """Index of the header record: the first non-blank record that is not a title line.

    A title or read-me line above the table fills one cell of a table at least three columns
    wide, or at most a quarter of the widest of the first 30 non-blank records.
    """
    candidates = [i for i, (_, rec) in enumerate(records[:200]) if not _is_blank(rec)][:30]
    if not candidates:
        return None
    widest = max(_filled(records[i][1]) for i in candidates)

    def title(i: int) -> bool:
        filled = _filled(records[i][1])
        return (filled == 1 and widest >= 3) or 4 * filled <= widest

    return next((i for i in candidates if not title(i)), candidates[0])


def _from_rows(
    p: Path, records: Sequence[tuple[int, list]], what: str, *, strict_width: bool = True
) -> pl.DataFrame:
    """Records (cells str or None, with spreadsheet numbers) -> :func:`_named` frame."""
    return _from_rows_info(p, records, what, strict_width=strict_width)[0]


def _from_rows_info(
    p: Path,
    records: Sequence[tuple[int, list]] | None,
    what: str,
    *,
    strict_width: bool,
    quoting: Problem | None = None,
) -> tuple[pl.DataFrame, ReadInfo]:
    """Records -> frame; every structural problem found in one pass, raised together.

    ``strict_width``: a row shorter than the header is a problem (text files: a truncated line;
    Excel does not store trailing blank cells, so not there). A row longer than the header with
    data beyond it is always a problem.
    """
    if records is None:
        records = []
    start = _header_index(records)
    if start is None and quoting is not None:
        raise _structure_error(p, [quoting])
    if start is None:
        raise _err(p, f"{what} has no header row", "a header row and at least one respondent")
    header_row, header = records[start]
    notes = []
    above = [n for n, rec in records[:start] if not _is_blank(rec)]
    if above:
        listed = ", ".join(map(str, above[:10])) + (" …" if len(above) > 10 else "")
        notes.append(
            f"row{'s' if len(above) > 1 else ''} {listed} above the header (row {header_row}) "
            "skipped: " + ("they are not table rows" if len(above) > 1 else "it is not a table row")
        )
    header = ["" if v is None else v for v in header]
    width = len(header)
    numbers: list[int] = []
    kept: list[Sequence] = []
    problems: list[Problem] = [] if quoting is None else [quoting]
    for number, rec in records[start + 1 :]:
        n = len(rec)
        if n > width:
            if any(c is not None and str(c).strip() for c in rec[width:]):
                problems.append(
                    Problem(
                        f"{width} cells, as many as the header has columns (a cell with an "
                        "unquoted delimiter?)",
                        str(p),
                        number,
                        None,
                        f"{n} cells",
                        "wide_row",
                    )
                )
            rec = rec[:width]
        elif n < width:
            if strict_width and not _is_blank(rec):
                problems.append(
                    Problem(
                        f"{width} cells, as many as the header has columns (a truncated line?)",
                        str(p),
                        number,
                        None,
                        f"{n} cell{'s' if n != 1 else ''}",
                        "short_row",
                    )
                )
            rec = [*rec, *([None] * (width - n))]
        numbers.append(number)
        kept.append(rec)
    columns = list(zip(*kept, strict=True)) if kept else [()] * width
    cells = pl.DataFrame(
        [pl.Series(f"c{j}", col, dtype=pl.String) for j, col in enumerate(columns)]
    )
    rows = pl.Series(ROW_COLUMN, numbers, dtype=pl.UInt32)
    try:
        frame = _named(p, header, cells, rows, header_row=header_row, problems=problems)
    except _HeaderProblems:
        frame = None
    if problems:
        raise _structure_error(p, problems)
    assert frame is not None
    return frame, ReadInfo(str(p), header_row=header_row, notes=tuple(notes))


class _HeaderProblems(Exception):
    pass


def _structure_error(p: Path, problems: list[Problem]) -> WaveFormatError:
    problems.sort(key=lambda q: q.row or 0)
    from survey.io.headers import shown

    lines = []
    for q in problems[:MAX_LISTED]:
        where = f"row {q.row}" if q.row is not None else "header"
        col = f", column {shown(q.column)}" if q.column else ""
        lines.append(f"  {where}{col}: {q.value}; expected {q.expected}")
    more = len(problems) - MAX_LISTED
    if more > 0:
        lines.append(f"  … and {more} more")
    n = len(problems)
    err = WaveFormatError(
        f"{p}: {n} structural problem{'s' if n > 1 else ''}:\n" + "\n".join(lines),
        file=str(p),
        row=problems[0].row,
        column=problems[0].column,
        value=problems[0].value,
        expected=problems[0].expected,
    )
    err.problems = tuple(problems)  # type: ignore[attr-defined]
    return err


def _named(
    p: Path,
    header: Sequence,
    cells: pl.DataFrame,
    rows: pl.Series,
    *,
    empty_is_null: bool = False,
    header_row: int = 1,
    problems: list[Problem] | None = None,
) -> pl.DataFrame:
    """Positional String columns ``c0..`` -> named columns plus :data:`ROW_COLUMN`.

    Empty cells become null, rows whose cells are all blank are dropped (they are not
    respondents; the other rows keep their numbers), columns without a name must be empty.
    Header problems are appended to ``problems`` (then :class:`_HeaderProblems` is raised) or,
    without a list, raised as one :class:`WaveFormatError`.
    """
    from survey.io.headers import shown

    collect = problems if problems is not None else []
    names = [_clean_header(h) for h in header]
    _check_reserved(p, names)
    positional = [f"c{j}" for j in range(len(names))]
    if not empty_is_null:  # polars' reader already gives null for an empty cell
        cells = cells.select(
            pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in positional
        )
    cells = cells.with_columns(rows.alias(ROW_COLUMN))
    if positional:
        cells = _drop_blank_rows(cells, positional)
    keep = []
    bad = False
    for j, name in enumerate(names):
        if name:
            keep.append(j)
        elif cells[positional[j]].is_not_null().any():
            from survey.io._xlsx import column_letter

            bad = True
            collect.append(
                Problem(
                    f"a column name in row {header_row} for every column with data",
                    str(p),
                    header_row,
                    None,
                    f"column {j + 1} ({column_letter(j + 1)}) has data but no name",
                    "unnamed_column",
                )
            )
    seen: dict[str, int] = {}
    for j in keep:
        if names[j] in seen:
            bad = True
            collect.append(
                Problem(
                    "unique column names",
                    str(p),
                    header_row,
                    names[j],
                    f"name {shown(names[j])} in columns {seen[names[j]] + 1} and {j + 1}",
                    "duplicate_column",
                )
            )
        else:
            seen[names[j]] = j
    if bad:
        if problems is None:
            raise _structure_error(p, collect)
        raise _HeaderProblems
    return cells.select(pl.col(ROW_COLUMN), *(pl.col(positional[j]).alias(names[j]) for j in keep))


def _is_blank_cell(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def _drop_blank_rows(cells: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``cells`` without the rows whose ``columns`` are all blank.

    Only rows with a blank first cell can be blank, so only those are checked cell by cell.
    """
    index = "__index__"
    candidates = cells.select(columns).with_row_index(index).filter(_is_blank_cell(columns[0]))
    if candidates.is_empty():
        return cells
    rest = [_is_blank_cell(c) for c in columns[1:]]
    blank = (candidates.filter(pl.all_horizontal(rest)) if rest else candidates)[index]
    if blank.is_empty():
        return cells
    keep = ~pl.int_range(pl.len(), dtype=blank.dtype).is_in(blank.implode())
    return cells.filter(keep)


def _check_reserved(p: Path, names: Iterable[str]) -> None:
    if ROW_COLUMN in names:
        raise _err(p, f"has a column named '{ROW_COLUMN}'", "no column with that reserved name")


def _finish(p: Path, df: pl.DataFrame, header_row: int = 1) -> pl.DataFrame:
    if len([c for c in df.columns if c != ROW_COLUMN]) == 0:
        raise _err(p, "the file has no columns", "a header row and at least one respondent")
    if df.height == 0:
        raise _err(
            p, "no respondents (header only)", "at least one respondent row", row=header_row + 1
        )
    return df
