"""Read a wave file of any supported format into a raw, all-String table.

Supported: ``.csv``/``.tsv`` (UTF-8, UTF-8 with BOM or GB18030/GBK, detected), ``.xlsx`` (first or
named sheet), ``.parquet`` and SPSS ``.sav``/``.zsav`` (value labels applied). Every column comes
back as ``pl.String`` with the cells as written in the file (an empty cell is null), plus
:data:`ROW_COLUMN` (``UInt32``), the row number as the user counts it (:func:`row_convention`):

* CSV/TSV and Excel: the row of the sheet. The header is the first non-blank row (normally row 1,
  so the first respondent is row 2); a CSV record with a line break inside a quoted cell is one
  row, as in Excel.
* Parquet: as if the table were exported to a spreadsheet: column names in row 1, record ``i``
  (0-based) in row ``i + 2``.
* SPSS ``.sav``: the case number shown in SPSS's Data View (first case = row 1).

Rows whose cells are all blank are not respondents and are skipped; the other rows keep their
numbers (the gaps are reported by :func:`survey.io.validate_file`). A file that cannot be read at
all raises :class:`~survey.errors.WaveFormatError`.

CSV files without quote characters are parsed by polars' native reader, any other text file
by :mod:`csv` (strict); both give the same table.

Example:
    >>> from survey.io.read import read_table, ROW_COLUMN
    >>> raw = read_table("wave_2025.csv")  # doctest: +SKIP
    >>> raw[ROW_COLUMN][0]  # doctest: +SKIP
    2
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from survey.errors import WaveFormatError

ROW_COLUMN = "__row__"
"""Name of the column holding spreadsheet row numbers in a raw table (not a wave column)."""

FIRST_ROW = {".parquet": 2, ".sav": 1, ".zsav": 1}
"""Row number of the first record of a typed format (text and Excel: the sheet's own rows)."""

EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".sav", ".zsav")
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # legacy .xls and other OLE2 files
_PARQUET = b"PAR1"
_SAV = (b"$FL2", b"$FL3")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


# -- public ---------------------------------------------------------------------------------------
def read_table(path: str | Path, *, sheet: str | int | None = None) -> pl.DataFrame:
    """Read ``path`` into an all-String frame plus :data:`ROW_COLUMN` (spreadsheet row numbers).

    ``sheet`` selects an Excel sheet by name or 0-based index (default: the first sheet).
    Raises :class:`WaveFormatError` when the file is missing, empty, has no respondents, is not
    what its extension says or cannot be decoded.

    Example:
        >>> read_table("w.csv").columns[:2]  # doctest: +SKIP
        ['__row__', 'resp_id']
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in EXTENSIONS:
        raise _err(p, f"unsupported file type '{p.suffix}'", f"one of {', '.join(EXTENSIONS)}")
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise _err(p, "file not found", "an existing file") from None
    except OSError as e:
        raise _err(p, f"cannot read the file ({e.strerror or e})", "a readable file") from None
    if not data:
        raise _err(p, "the file is empty (0 bytes)", "a header row and at least one respondent")
    _check_signature(p, ext, data)
    if ext in (".csv", ".tsv", ".txt"):
        return _finish(p, _read_text(p, data, "\t" if ext == ".tsv" else None))
    if ext in (".xlsx", ".xlsm"):
        return _finish(p, _from_rows(p, _excel_rows(p, data, sheet), "the sheet"))
    if ext == ".parquet":
        return _finish(p, _read_parquet(p))
    return _finish(p, _read_sav(p))


def read_metadata(path: str | Path) -> dict[str, str]:
    """Key-value metadata of a Parquet file (``ARROW:``/``pandas`` keys left out); ``{}`` otherwise.

    Example:
        >>> read_metadata("data/waves/2025.parquet")["edition"]  # doctest: +SKIP
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


def row_convention(path: str | Path, lang: str = "en") -> str:
    """How the row numbers of problems in ``path`` are counted, in words.

    Text and Excel files: the rows of the sheet (the header is row 1 unless blank rows precede it).
    Parquet: as if the table were opened in a spreadsheet (column names in row 1, first record in
    row 2). SPSS: the case numbers of SPSS's Data View (first case = row 1).

    Example:
        >>> row_convention("w.sav")
        'rows are SPSS case numbers (first case = row 1)'
    """
    ext = Path(path).suffix.lower()
    kind = "sav" if ext in (".sav", ".zsav") else "parquet" if ext == ".parquet" else "sheet"
    return _ROW_WORDS[kind][1 if lang == "zh" else 0]


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


# -- format detection -----------------------------------------------------------------------------
def _err(p: Path, what: str, expected: str, *, row: int | None = None) -> WaveFormatError:
    return WaveFormatError(f"{p}: {what}", file=str(p), row=row, expected=expected)


def _sniff(data: bytes) -> str:
    if data.startswith(_ZIP):
        return "a zip archive (such as .xlsx)"
    if data.startswith(_OLE):
        return "a legacy Office file (such as .xls)"
    if data.startswith(_PARQUET):
        return "a Parquet file"
    if data.startswith(_SAV):
        return "an SPSS .sav file"
    return "text or an unknown format"


def _check_signature(p: Path, ext: str, data: bytes) -> None:
    kind = _sniff(data)
    if ext in (".csv", ".tsv", ".txt"):
        if kind != "text or an unknown format" or b"\x00" in data[:65536]:
            what = kind if kind != "text or an unknown format" else "binary data (NUL bytes)"
            raise _err(p, f"named {ext} but contains {what}", "a delimited text file")
    elif ext in (".xlsx", ".xlsm"):
        if data.startswith(_OLE):
            raise _err(p, "is a legacy .xls workbook", "an .xlsx workbook (save as .xlsx)")
        if not data.startswith(_ZIP):
            raise _err(p, f"named {ext} but contains {kind}", "an .xlsx workbook")
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except Exception as e:  # BadZipFile, struct.error, ValueError … all mean "broken zip"
            raise _err(
                p, f"named {ext} but is a broken zip archive ({e})", "an .xlsx workbook"
            ) from None
        if "xl/workbook.xml" not in names:
            raise _err(
                p, f"named {ext} but is a zip archive without a workbook", "an .xlsx workbook"
            )
    elif ext == ".parquet":
        if len(data) < 12 or not (data.startswith(_PARQUET) and data.endswith(_PARQUET)):
            what = kind if not data.startswith(_PARQUET) else "a truncated Parquet file"
            raise _err(p, f"named .parquet but contains {what}", "a complete Parquet file")
    elif not data.startswith(_SAV):
        raise _err(p, f"named {ext} but contains {kind}", "an SPSS .sav file")


# -- text -----------------------------------------------------------------------------------------
def _damaged_utf8(data: bytes) -> bool:
    """Whether bytes are UTF-8 text with a few bad bytes (not GBK text, where most would fail)."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 127) - bad
    return good >= 3 and bad * 20 < good


def decode(data: bytes, file: str | Path = "input") -> str:
    """Decode bytes as UTF-8 (BOM optional) or else GB18030; raise :class:`WaveFormatError`.

    UTF-8 text with a few broken bytes is reported (with the offset of the first) rather than
    decoded as GB18030 mojibake.

    Example:
        >>> decode("行业".encode("gb18030"))
        '行业'
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        first = e
    if not _damaged_utf8(data):
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            pass
    line = data[: first.start].count(b"\n") + 1
    bad = data[first.start : first.start + 4]
    p = Path(file)
    hint = " (UTF-16; save as UTF-8)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
    raise WaveFormatError(
        f"{p}: cannot decode byte {first.start} (line {line}, bytes {bad!r}){hint}",
        file=str(p),
        row=line,
        value=bad,
        expected="text encoded as UTF-8 or GB18030/GBK",
    )


def _delimiter(text: str, delimiter: str | None) -> str:
    if delimiter is not None:
        return delimiter
    first = text.split("\n", 1)[0]
    found = max((",", ";", "\t"), key=first.count) if first else ","
    return found if first.count(found) else ","


def _read_text(p: Path, data: bytes, delimiter: str | None) -> pl.DataFrame:
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
        return fast
    return _from_rows(p, _csv_rows(p, text, delimiter), "the file")


def _csv_fast(p: Path, text: str, delimiter: str) -> pl.DataFrame | None:
    """Parse with polars when the result is certain to equal :func:`_csv_rows`; else ``None``.

    That is when the text has no quote character (so a record is a line and a cell never holds a
    delimiter or a line break), no bare carriage return (which :mod:`csv` reads as a line break),
    no row wider than the header, and polars returns exactly one row per line after the header
    (so spreadsheet row ``i + 2`` is data row ``i``).
    """
    if '"' in text or text.count("\r") != text.count("\r\n"):
        return None
    head, newline, body = text.partition("\n")
    if not newline or not head.replace(delimiter, "").strip():  # leading blank rows: csv's job
        return None
    header = head.removesuffix("\r").split(delimiter)
    lines = body.count("\n") + (1 if body and not body.endswith("\n") else 0)
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
    except pl.exceptions.PolarsError:  # a row wider than the header: let csv name it
        return None
    if cells.height != lines:
        return None
    rows = pl.int_range(2, cells.height + 2, dtype=pl.UInt32, eager=True)
    return _named(p, header, cells, rows, empty_is_null=True)


def _csv_rows(p: Path, text: str, delimiter: str) -> list[tuple[int, list]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list]] = []
    try:
        for i, rec in enumerate(reader, start=1):
            records.append((i, rec))
    except csv.Error as e:
        row = len(records) + 1
        raise _err(p, f"malformed CSV at row {row} ({e})", "well-formed CSV", row=row) from None
    return records


# -- Excel ----------------------------------------------------------------------------------------
def _cell(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _num(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    return str(v)


def _num(v: float) -> str | None:
    if math.isnan(v):
        return None
    if math.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _excel_rows(p: Path, data: bytes, sheet: str | int | None) -> list[tuple[int, list]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for broken workbooks
        raise _err(p, f"not a readable .xlsx workbook ({e})", "an .xlsx workbook") from None
    try:
        names = wb.sheetnames
        if sheet is None:
            ws = wb.worksheets[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise _err(p, f"has no sheet number {sheet}", f"0..{len(names) - 1}")
            ws = wb.worksheets[sheet]
        elif sheet in names:
            ws = wb[sheet]
        else:
            raise _err(p, f"has no sheet '{sheet}'", f"one of {names}")
        try:
            ws.reset_dimensions()
            rows = [
                (i, [_cell(v) for v in r]) for i, r in enumerate(ws.iter_rows(values_only=True), 1)
            ]
        except WaveFormatError:
            raise
        except Exception as e:
            raise _err(p, f"cannot read sheet '{ws.title}' ({e})", "a readable sheet") from None
    finally:
        wb.close()
    return rows


# -- rows -> frame ---------------------------------------------------------------------------------
def _clean_header(name: object) -> str:
    return str(name or "").replace("\ufeff", "").strip().strip("\u3000").strip()


def _is_blank(rec: Sequence) -> bool:
    return not any(c is not None and str(c).strip() for c in rec)


def _from_rows(p: Path, records: Sequence[tuple[int, list]], what: str) -> pl.DataFrame:
    """Records (cells str or None, with spreadsheet numbers) -> :func:`_named` frame.

    The header is the first record that is not blank (blank rows above it are skipped, the row
    numbers stay those of the sheet).
    """
    start = next((i for i, (_, rec) in enumerate(records) if not _is_blank(rec)), None)
    if start is None:
        raise _err(p, f"{what} has no header row", "a header row and at least one respondent")
    header_row, header = records[start]
    header = ["" if v is None else v for v in header]
    width = len(header)
    numbers: list[int] = []
    kept: list[Sequence] = []
    for number, rec in records[start + 1 :]:
        n = len(rec)
        if n > width:
            if any(c is not None and str(c).strip() for c in rec[width:]):
                raise _err(
                    p,
                    f"row {number} has {n} cells but the header has {width} columns",
                    "every row as wide as the header (a cell with an unquoted delimiter?)",
                    row=number,
                )
            rec = rec[:width]
        elif n < width:
            rec = [*rec, *([None] * (width - n))]
        numbers.append(number)
        kept.append(rec)
    columns = list(zip(*kept, strict=True)) if kept else [()] * width
    cells = pl.DataFrame(
        [pl.Series(f"c{j}", col, dtype=pl.String) for j, col in enumerate(columns)]
    )
    rows = pl.Series(ROW_COLUMN, numbers, dtype=pl.UInt32)
    return _named(p, header, cells, rows, header_row=header_row)


def _named(
    p: Path,
    header: Sequence,
    cells: pl.DataFrame,
    rows: pl.Series,
    *,
    empty_is_null: bool = False,
    header_row: int = 1,
) -> pl.DataFrame:
    """Positional String columns ``c0..`` -> named columns plus :data:`ROW_COLUMN`.

    Empty cells become null, rows whose cells are all blank are dropped (they are not
    respondents; the other rows keep their numbers), columns without a name must be empty.
    """
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
    for j, name in enumerate(names):
        if name:
            keep.append(j)
        elif cells[positional[j]].is_not_null().any():
            raise _err(
                p,
                f"column {j + 1} has data but no name in the header",
                f"a column name in row {header_row} for every column with data",
                row=header_row,
            )
    seen: dict[str, int] = {}
    for j in keep:
        if names[j] in seen:
            raise _err(
                p,
                f"column name '{names[j]}' appears twice (columns {seen[names[j]] + 1} and {j + 1})",
                "unique column names",
                row=header_row,
            )
        seen[names[j]] = j
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


def _finish(p: Path, df: pl.DataFrame) -> pl.DataFrame:
    if len([c for c in df.columns if c != ROW_COLUMN]) == 0:
        raise _err(p, "the file has no columns", "a header row and at least one respondent")
    if df.height == 0:
        raise _err(p, "no respondents (header only)", "at least one respondent row", row=2)
    return df


# -- typed formats -> strings ---------------------------------------------------------------------
def _to_strings(p: Path, df: pl.DataFrame, first_row: int) -> pl.DataFrame:
    """Cast every column of a typed frame to the String a spreadsheet cell would show.

    Record ``i`` (0-based) gets row number ``first_row + i``.
    """
    exprs = []
    for name, dtype in df.schema.items():
        c = pl.col(name)
        if dtype == pl.String:
            e = c
        elif dtype == pl.Boolean:
            e = pl.when(c).then(pl.lit("true")).when(~c).then(pl.lit("false"))
        elif dtype.is_float():
            finite = c.is_finite() & (c.abs() < 1e15)
            e = (
                pl.when(c.is_nan())
                .then(pl.lit(None, pl.String))
                .when(finite & (c == c.round(0)))
                .then(c.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(c.cast(pl.String))
            )
        elif (
            dtype.is_numeric() or isinstance(dtype, pl.Enum | pl.Categorical) or dtype.is_temporal()
        ):
            e = c.cast(pl.String)
        else:
            raise _err(
                p, f"column '{name}' holds {dtype} values", "simple values (text or numbers)"
            )
        exprs.append(e.alias(name))
    try:
        out = df.select(exprs)
    except pl.exceptions.PolarsError as e:
        raise _err(p, f"cannot convert columns to text ({e})", "simple values") from None
    out = out.rename({c: _clean_header(c) for c in out.columns})
    _check_reserved(p, out.columns)
    if len(set(out.columns)) != len(out.columns) or "" in out.columns:
        raise _err(p, "blank or repeated column names", "unique column names", row=1)
    blank = (
        pl.all_horizontal(
            pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in out.columns
        )
        if out.width
        else pl.lit(False)
    )
    out = out.with_row_index(ROW_COLUMN, offset=first_row).with_columns(
        pl.col(ROW_COLUMN).cast(pl.UInt32)
    )
    return out.filter(~blank) if out.width > 1 else out


def _read_parquet(p: Path) -> pl.DataFrame:
    import pyarrow.parquet as pq

    try:  # pyarrow rather than polars: it raises errors for corrupt files where polars may panic
        df = pl.from_arrow(pq.read_table(p))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # ArrowInvalid, OSError, MemoryError, a Rust panic …
        raise _err(p, f"not a readable Parquet file ({e})", "a complete Parquet file") from None
    assert isinstance(df, pl.DataFrame)
    return _to_strings(p, df, FIRST_ROW[".parquet"])


def _read_sav(p: Path) -> pl.DataFrame:
    import pyreadstat

    try:
        pdf, _meta = pyreadstat.read_sav(
            str(p), apply_value_formats=True, formats_as_category=False
        )
    except Exception as e:  # pyreadstat raises its own ReadstatError and others
        raise _err(p, f"not a readable SPSS file ({e})", "an SPSS .sav file") from None
    cols: dict[str, pl.Series] = {}
    for name in pdf.columns:
        values = [_cell(v) for v in pdf[name].tolist()]
        cols[str(name)] = pl.Series(str(name), values, dtype=pl.String)
    return _to_strings(p, pl.DataFrame(cols), FIRST_ROW[".sav"])
