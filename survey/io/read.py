"""Read a wave file of any supported format into a raw, all-String table.

Supported: ``.csv``/``.tsv`` (UTF-8, UTF-8 with BOM or GB18030/GBK, detected), ``.xlsx`` (first or
named sheet), ``.parquet`` and SPSS ``.sav``/``.zsav`` (value labels applied). Every column comes
back as ``pl.String`` with the cells as written in the file, plus :data:`ROW_COLUMN` (``UInt32``),
the row number as the user counts it in a spreadsheet (header = row 1, first respondent = row 2).
Rows whose cells are all blank are not respondents and are skipped; the other rows keep their
numbers. A file that cannot be read at all raises :class:`~survey.errors.WaveFormatError`.

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
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from survey.errors import WaveFormatError

ROW_COLUMN = "__row__"
"""Name of the column holding spreadsheet row numbers in a raw table (not a wave column)."""

EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".sav", ".zsav")
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # legacy .xls and other OLE2 files
_PARQUET = b"PAR1"
_SAV = (b"$FL2", b"$FL3")


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
        header, rows = _csv_rows(p, data, "\t" if ext == ".tsv" else None)
    elif ext in (".xlsx", ".xlsm"):
        header, rows = _excel_rows(p, data, sheet)
    elif ext == ".parquet":
        return _finish(p, _read_parquet(p))
    else:
        return _finish(p, _read_sav(p))
    return _finish(p, _from_rows(p, header, rows))


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


def _csv_rows(
    p: Path, data: bytes, delimiter: str | None
) -> tuple[list[str], list[tuple[int, list]]]:
    text = decode(data, p)
    if delimiter is None:
        first = text.split("\n", 1)[0]
        delimiter = max((",", ";", "\t"), key=first.count) if first else ","
        if first.count(delimiter) == 0:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list]] = []
    try:
        for i, rec in enumerate(reader, start=1):
            records.append((i, rec))
    except csv.Error as e:
        row = len(records) + 1
        raise _err(p, f"malformed CSV at row {row} ({e})", "well-formed CSV", row=row) from None
    if not records:
        raise _err(p, "the file has no header row", "a header row and at least one respondent")
    (_, header), body = records[0], records[1:]
    return header, body


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


def _excel_rows(
    p: Path, data: bytes, sheet: str | int | None
) -> tuple[list[str], list[tuple[int, list]]]:
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
    if not rows:
        raise _err(p, "the sheet is empty", "a header row and at least one respondent")
    header = ["" if v is None else v for v in rows[0][1]]
    return header, rows[1:]


# -- rows -> frame ---------------------------------------------------------------------------------
def _clean_header(name: object) -> str:
    return str(name or "").replace("\ufeff", "").strip().strip("\u3000").strip()


def _from_rows(p: Path, header: Sequence, rows: Iterable[tuple[int, list]]) -> pl.DataFrame:
    names = [_clean_header(h) for h in header]
    _check_reserved(p, names)
    width = len(names)
    cols: list[list[str | None]] = [[] for _ in names]
    row_numbers: list[int] = []
    for number, rec in rows:
        cells = [None if c is None or str(c).strip() == "" else c for c in rec]
        if not any(c is not None for c in cells):
            continue
        if len(cells) > width:
            extra = [c for c in cells[width:] if c is not None]
            if extra:
                raise _err(
                    p,
                    f"row {number} has {len(rec)} cells but the header has {width} columns",
                    "every row as wide as the header (a cell with an unquoted delimiter?)",
                    row=number,
                )
        row_numbers.append(number)
        for j in range(width):
            cols[j].append(rec[j] if j < len(rec) else None)
    keep = []
    for j, name in enumerate(names):
        if name:
            keep.append(j)
        elif any(v not in (None, "") for v in cols[j]):
            raise _err(
                p,
                f"column {j + 1} has data but no name in the header",
                "a column name in row 1 for every column with data",
                row=1,
            )
    seen: dict[str, int] = {}
    for j in keep:
        if names[j] in seen:
            raise _err(
                p,
                f"column name '{names[j]}' appears twice (columns {seen[names[j]] + 1} and {j + 1})",
                "unique column names",
                row=1,
            )
        seen[names[j]] = j
    frame = {ROW_COLUMN: pl.Series(ROW_COLUMN, row_numbers, dtype=pl.UInt32)}
    for j in keep:
        frame[names[j]] = pl.Series(names[j], cols[j], dtype=pl.String)
    return pl.DataFrame(frame)


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
def _to_strings(p: Path, df: pl.DataFrame) -> pl.DataFrame:
    """Cast every column of a typed frame to the String a spreadsheet cell would show."""
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
    out = out.with_row_index(ROW_COLUMN, offset=2).with_columns(pl.col(ROW_COLUMN).cast(pl.UInt32))
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
    return _to_strings(p, df)


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
    return _to_strings(p, pl.DataFrame(cols))
