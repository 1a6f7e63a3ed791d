"""Read one worksheet of an .xlsx workbook as the spreadsheet shows it, within fixed limits.

A streaming reader of the workbook's XML (no third-party parser has both the limits and the cell
formats that a delivery needs):

* a cell is read as its number format shows it: a percent cell ``15%`` (stored 0.15) reads
  ``"15%"``, a date serial reads ``"2024-10-15"``, a number stored as text (``"013"``) stays text,
  other numbers read with Excel's 15 significant digits;
* merged cells are expanded (every cell of the range takes the range's value, as the sheet shows
  it) and listed in :attr:`Sheet.notes`;
* formula cells without a computed value are refused, with their addresses (a program that wrote
  the formula never calculated it: the value a spreadsheet would show is unknown here);
* limits, refused before memory runs out: :data:`MAX_PART_BYTES` per decompressed part,
  :data:`MAX_TOTAL_BYTES` for the workbook, :data:`MAX_RATIO` compression ratio,
  :data:`MAX_CELLS` for the used range of a sheet (rows x columns), :data:`MAX_VALUES` filled
  cells, Excel's own 32,767 characters per cell and no ``DOCTYPE`` (entity expansion) in any part.

Example:
    >>> import io, xlsxwriter
    >>> buf = io.BytesIO()
    >>> wb = xlsxwriter.Workbook(buf)
    >>> ws = wb.add_worksheet("data")
    >>> _ = ws.write_row(0, 0, ["resp_id", "growth"])
    >>> _ = ws.write_row(1, 0, ["a", 0.15], None)
    >>> _ = ws.write_number(1, 1, 0.15, wb.add_format({"num_format": "0%"}))
    >>> wb.close()
    >>> read_sheet(buf.getvalue(), "w.xlsx").rows
    [(1, ['resp_id', 'growth']), (2, ['a', '15%'])]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import XMLPullParser

from survey.errors import WaveFormatError

MAX_PART_BYTES = 256 * 2**20
"""Largest decompressed size of one part of the workbook (a sheet, the shared strings)."""
MAX_TOTAL_BYTES = 512 * 2**20
"""Largest decompressed size of the whole workbook."""
MAX_RATIO = 250
"""Largest compression ratio of a part above 1 MiB (a zip bomb compresses far better)."""
MAX_CELLS = 20_000_000
"""Largest used range of a sheet, rows x columns (a delivery of 5,000 columns x 4,000 rows)."""
MAX_VALUES = 5_000_000
"""Most filled cells in a sheet."""
MAX_CELL_CHARS = 32_767
"""Excel's own limit on the characters of a cell."""

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")
_BUILTIN_PERCENT = {9, 10}
_BUILTIN_DATE = {14, 15, 16, 17, 22, 27, 30, 36, 50, 57}
_BUILTIN_TIME = {18, 19, 20, 21, 45, 46, 47}
_BUILTIN_TEXT = {49}


@dataclass
class Sheet:
    """The cells of one sheet: ``rows`` of ``(sheet row number, cells)``, cells str or None."""

    name: str
    rows: list[tuple[int, list[str | None]]]
    notes: list[str] = field(default_factory=list)


def _err(file: str, what: str, expected: str, **kw: object) -> WaveFormatError:
    return WaveFormatError(f"{file}: {what}", file=file, expected=expected, **kw)  # type: ignore[arg-type]


def column_letter(index: int) -> str:
    """1-based column number -> Excel letters (``28`` -> ``'AB'``).

    >>> column_letter(1), column_letter(28), column_letter(16384)
    ('A', 'AB', 'XFD')
    """
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _size(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


class _Book:
    """The zip archive with its limits checked once, and its parts parsed on demand."""

    def __init__(self, data: bytes, file: str) -> None:
        self.file = file
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except Exception as e:  # BadZipFile, struct.error …: a broken archive
            raise _err(file, f"is a broken zip archive ({e})", "an .xlsx workbook") from None
        self.infos = {i.filename: i for i in infos}
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL_BYTES:
            raise _err(
                file,
                f"decompresses to {_size(total)}, more than the limit of {_size(MAX_TOTAL_BYTES)}",
                "a workbook of a survey delivery (save the data sheet alone)",
            )
        for i in infos:
            if i.file_size > MAX_PART_BYTES:
                raise _err(
                    file,
                    f"part {i.filename} decompresses to {_size(i.file_size)}, more than the "
                    f"limit of {_size(MAX_PART_BYTES)}",
                    "a workbook of a survey delivery",
                )
            if i.file_size > 2**20 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                raise _err(
                    file,
                    f"part {i.filename} is compressed {i.file_size // max(i.compress_size, 1)} "
                    f"to 1 (a zip bomb?)",
                    f"a workbook compressed at most {MAX_RATIO} to 1",
                )

    def events(self, name: str, tags: set[str]) -> Iterator[tuple[str, object]]:
        """``(event, element)`` of a part, streamed; end events of ``tags`` (local names)."""
        try:
            stream = self.zip.open(name)
        except KeyError:
            raise _err(self.file, f"has no part {name}", "a complete .xlsx workbook") from None
        except Exception as e:
            raise _err(self.file, f"cannot open part {name} ({e})", "an .xlsx workbook") from None
        parser = XMLPullParser(events=("start", "end"))
        head = True
        try:
            with stream:
                while chunk := stream.read(1 << 16):
                    if head and b"<!DOCTYPE" in chunk[:4096].upper():
                        raise _err(
                            self.file,
                            f"part {name} declares a DOCTYPE",
                            "an .xlsx workbook (its parts never declare one)",
                        )
                    head = False
                    parser.feed(chunk)
                    yield from parser.read_events()
                parser.close()
                yield from parser.read_events()
        except WaveFormatError:
            raise
        except Exception as e:  # ParseError, zlib.error, BadZipFile (CRC) …
            raise _err(self.file, f"part {name} is damaged ({e})", "an .xlsx workbook") from None

    def has(self, name: str) -> bool:
        return name in self.infos


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text_of(elem: object) -> str:
    """Text of an ``<si>``/``<is>`` element: its ``<t>`` runs, phonetic runs left out."""
    parts: list[str] = []

    def walk(e: object, skip: bool) -> None:
        tag = _local(e.tag)  # type: ignore[attr-defined]
        skip = skip or tag == "rPh"
        if tag == "t" and not skip:
            parts.append(e.text or "")  # type: ignore[attr-defined]
        for child in e:  # type: ignore[attr-defined]
            walk(child, skip)

    walk(elem, False)
    return "".join(parts)


def _shared_strings(book: _Book) -> list[str]:
    name = "xl/sharedStrings.xml"
    if not book.has(name):
        return []
    out: list[str] = []
    for event, elem in book.events(name, {"si"}):
        if event == "end" and _local(elem.tag) == "si":  # type: ignore[attr-defined]
            text = _text_of(elem)
            if len(text) > MAX_CELL_CHARS:
                raise _err(
                    book.file,
                    f"shared string {len(out) + 1} has {len(text):,} characters",
                    f"cells of at most {MAX_CELL_CHARS:,} characters (Excel's limit)",
                )
            out.append(text)
            elem.clear()  # type: ignore[attr-defined]
    return out


@dataclass(frozen=True)
class _Formats:
    kinds: tuple[str, ...]  # per cellXfs index: "number", "percent", "date", "time", "text"
    date1904: bool


def _kind_of(fmt_id: int, code: str | None) -> str:
    if code is None:
        if fmt_id in _BUILTIN_PERCENT:
            return "percent"
        if fmt_id in _BUILTIN_DATE:
            return "date"
        if fmt_id in _BUILTIN_TIME:
            return "time"
        return "text" if fmt_id in _BUILTIN_TEXT else "number"
    from openpyxl.styles.numbers import is_date_format

    plain = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code.split(";")[0])
    if code.strip() == "@":
        return "text"
    if "%" in plain:
        return "percent"
    if is_date_format(code):
        return "date" if re.search(r"[dy]", plain, re.IGNORECASE) else "time"
    return "number"


def _formats(book: _Book) -> _Formats:
    codes: dict[int, str] = {}
    xf_ids: list[int] = []
    name = "xl/styles.xml"
    if book.has(name):
        in_xfs = False
        for event, elem in book.events(name, set()):
            tag = _local(elem.tag)  # type: ignore[attr-defined]
            if tag == "cellXfs":
                in_xfs = event == "start"
            elif event == "start" and tag == "numFmt":
                with contextlib.suppress(ValueError):
                    codes[int(elem.get("numFmtId", "0"))] = elem.get("formatCode", "")  # type: ignore[attr-defined]
            elif event == "start" and tag == "xf" and in_xfs:
                try:
                    xf_ids.append(int(elem.get("numFmtId", "0")))  # type: ignore[attr-defined]
                except ValueError:
                    xf_ids.append(0)
    kinds = tuple(_kind_of(i, codes.get(i)) for i in xf_ids)
    date1904 = False
    for event, elem in book.events("xl/workbook.xml", set()):
        if event == "start" and _local(elem.tag) == "workbookPr":  # type: ignore[attr-defined]
            date1904 = elem.get("date1904", "0").lower() in ("1", "true")  # type: ignore[attr-defined]
    return _Formats(kinds, date1904)


def sheet_list(book: _Book) -> list[tuple[str, str, bool]]:
    """``(name, part path, visible)`` of every sheet in workbook order."""
    rels: dict[str, str] = {}
    rels_name = "xl/_rels/workbook.xml.rels"
    if book.has(rels_name):
        for event, elem in book.events(rels_name, set()):
            if event == "start" and _local(elem.tag) == "Relationship":  # type: ignore[attr-defined]
                target = elem.get("Target", "")  # type: ignore[attr-defined]
                path = (
                    target.lstrip("/")
                    if target.startswith("/")
                    else posixpath.normpath(posixpath.join("xl", target))
                )
                rels[elem.get("Id", "")] = path  # type: ignore[attr-defined]
    out = []
    for event, elem in book.events("xl/workbook.xml", set()):
        if event == "start" and _local(elem.tag) == "sheet":  # type: ignore[attr-defined]
            rid = elem.get(f"{_REL}id", "")  # type: ignore[attr-defined]
            state = elem.get("state", "visible")  # type: ignore[attr-defined]
            out.append((elem.get("name", ""), rels.get(rid, ""), state == "visible"))  # type: ignore[attr-defined]
    return out


def sheet_names(data: bytes, file: str) -> list[str]:
    """Names of the workbook's visible sheets, in order.

    >>> import io, xlsxwriter
    >>> buf = io.BytesIO(); wb = xlsxwriter.Workbook(buf)
    >>> _ = wb.add_worksheet("说明"), wb.add_worksheet("数据"); wb.close()
    >>> sheet_names(buf.getvalue(), "w.xlsx")
    ['说明', '数据']
    """
    return [name for name, _, visible in sheet_list(_Book(data, file)) if visible]


def _number_text(value: float) -> str:
    """A number as Excel's General format shows it (15 significant digits)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".15g")


def _shown(raw: str, kind: str, fmts: _Formats, file: str, ref: str) -> str | None:
    try:
        value = float(raw)
    except ValueError:
        raise _err(
            file, f"cell {ref} holds {raw!r}, which is not a number", "a valid workbook"
        ) from None
    if not math.isfinite(value):
        return None
    if kind == "percent":
        return _number_text(round(value * 100, 9)) + "%"
    if kind in ("date", "time"):
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

        epoch = CALENDAR_MAC_1904 if fmts.date1904 else CALENDAR_WINDOWS_1900
        try:
            when = from_excel(value, epoch)
        except (ValueError, OverflowError):
            return _number_text(value)
        if isinstance(when, dt.datetime):
            if kind == "time" and value < 1:
                return when.time().isoformat()
            return when.date().isoformat() if when.time() == dt.time() else when.isoformat()
        return when.isoformat() if when is not None else None
    return _number_text(value)


def _pick(book: _Book, sheet: str | int | None) -> tuple[str, str]:
    sheets = sheet_list(book)
    visible = [(n, p) for n, p, v in sheets if v]
    names = [n for n, _ in visible]
    if not sheets:
        raise _err(book.file, "has no sheet", "a workbook with a data sheet")
    if sheet is None:
        return visible[0] if visible else sheets[0][:2]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(sheets):
            raise _err(book.file, f"has no sheet number {sheet}", f"0..{len(sheets) - 1} ({names})")
        return sheets[sheet][:2]
    for n, p, _ in sheets:
        if n == sheet:
            return n, p
    raise _err(book.file, f"has no sheet '{sheet}'", f"one of {names}")


def read_sheet(data: bytes, file: str, sheet: str | int | None = None) -> Sheet:
    """The cells of a sheet (default: the first visible one) as the spreadsheet shows them."""
    book = _Book(data, file)
    name, part = _pick(book, sheet)
    strings = _shared_strings(book)
    fmts = _formats(book)
    cells: dict[int, dict[int, str]] = {}
    formulas: list[str] = []
    merges: list[str] = []
    n_values = 0
    first_row = 0
    max_col = 0
    row_no = 0
    col_no = 0
    cell_ref = ""
    cell_type = "n"
    cell_style = 0
    value: str | None = None
    inline: str | None = None
    formula: str | None = None
    in_cell = False
    for event, elem in book.events(part, set()):
        tag = _local(elem.tag)  # type: ignore[attr-defined]
        if event == "start":
            if tag == "row":
                r = elem.get("r")  # type: ignore[attr-defined]
                row_no = int(r) if r and r.isdigit() else row_no + 1
                col_no = 0
            elif tag == "c":
                in_cell = True
                ref = elem.get("r", "")  # type: ignore[attr-defined]
                m = _REF.match(ref)
                if m:
                    col_no = _column_number(m.group(1))
                    row_no = int(m.group(2))
                else:
                    col_no += 1
                cell_ref = f"{column_letter(col_no)}{row_no}"
                cell_type = elem.get("t", "n")  # type: ignore[attr-defined]
                try:
                    cell_style = int(elem.get("s", "0"))  # type: ignore[attr-defined]
                except ValueError:
                    cell_style = 0
                value = inline = formula = None
            elif tag == "mergeCell":
                merges.append(elem.get("ref", ""))  # type: ignore[attr-defined]
            continue
        # end events
        if not in_cell:
            if tag == "row":
                elem.clear()  # type: ignore[attr-defined]
                if cells and (row_no - first_row + 1) * max_col > MAX_CELLS:
                    _too_large(file, name, first_row, row_no, max_col)
            continue
        if tag == "v":
            value = elem.text or ""  # type: ignore[attr-defined]
        elif tag == "f":
            formula = elem.text or ""  # type: ignore[attr-defined]
        elif tag == "is":
            inline = _text_of(elem)
        elif tag == "c":
            in_cell = False
            text = _cell_text(cell_type, cell_style, value, inline, strings, fmts, file, cell_ref)
            if text is None and formula is not None and cell_type != "inlineStr":
                shown_formula = f"={formula}" if formula else "(shared formula)"
                formulas.append(f"{cell_ref} ({shown_formula})")
            if text is not None and text != "":
                if len(text) > MAX_CELL_CHARS:
                    raise _err(
                        file,
                        f"cell {cell_ref} has {len(text):,} characters",
                        f"cells of at most {MAX_CELL_CHARS:,} characters (Excel's limit)",
                    )
                if not cells:
                    first_row = row_no
                cells.setdefault(row_no, {})[col_no] = text
                n_values += 1
                max_col = max(max_col, col_no)
                if n_values > MAX_VALUES:
                    raise _err(
                        file,
                        f"sheet '{name}' has more than {MAX_VALUES:,} filled cells",
                        "a survey delivery (one row per respondent)",
                    )
            elem.clear()  # type: ignore[attr-defined]
    if formulas:
        shown = ", ".join(formulas[:20]) + (
            f", … ({len(formulas)} in all)" if len(formulas) > 20 else ""
        )
        raise _err(
            file,
            f"sheet '{name}' has formula cells without a computed value: {shown}",
            "computed values (open and save the workbook in Excel or LibreOffice, or paste the "
            "cells as values)",
            value=formulas[0],
        )
    notes = _expand_merges(cells, merges, file, name)
    max_col = max((max(r) for r in cells.values() if r), default=0)
    if cells:
        lo, hi = min(cells), max(cells)
        if (hi - lo + 1) * max_col > MAX_CELLS:
            _too_large(file, name, lo, hi, max_col)
    rows = [(r, [cells[r].get(c) for c in range(1, max(cells[r]) + 1)]) for r in sorted(cells)]
    return Sheet(name, rows, notes)


def _too_large(file: str, sheet: str, lo: int, hi: int, max_col: int) -> None:
    area = (hi - lo + 1) * max_col
    raise _err(
        file,
        f"sheet '{sheet}' spans A{lo}:{column_letter(max_col)}{hi} or more "
        f"({hi - lo + 1:,} rows x {max_col:,} columns = {area:,} cells), more than the "
        f"limit of {MAX_CELLS:,}",
        "a sheet without stray cells far to the right or below the data (delete them)",
    )


def _cell_text(
    cell_type: str,
    style: int,
    value: str | None,
    inline: str | None,
    strings: list[str],
    fmts: _Formats,
    file: str,
    ref: str,
) -> str | None:
    if cell_type == "inlineStr":
        return inline
    if value is None:
        return None
    if cell_type == "s":
        try:
            return strings[int(value)]
        except (ValueError, IndexError):
            raise _err(
                file, f"cell {ref} refers to a missing shared string ({value})", "a valid workbook"
            ) from None
    if cell_type in ("str", "e"):
        return value
    if cell_type == "b":
        return "true" if value.strip() in ("1", "true") else "false"
    if cell_type == "d":
        return value[:10] if value.endswith("T00:00:00") or len(value) == 10 else value
    if value == "":
        return None
    kind = fmts.kinds[style] if 0 <= style < len(fmts.kinds) else "number"
    return _shown(value, kind, fmts, file, ref)


def _expand_merges(
    cells: dict[int, dict[int, str]], merges: list[str], file: str, sheet: str
) -> list[str]:
    """Give every cell of a merged range the range's value; refuse a range with two values."""
    expanded = []
    for ref in merges:
        parts = ref.split(":")
        ms = [_REF.match(p) for p in parts]
        if len(parts) != 2 or not all(ms):
            continue
        (c1, r1), (c2, r2) = ((_column_number(m.group(1)), int(m.group(2))) for m in ms)  # type: ignore[union-attr]
        if (r2 - r1 + 1) * (c2 - c1 + 1) > MAX_CELLS:
            raise _err(file, f"sheet '{sheet}' merges {ref}", "merged ranges within the data")
        filled = [
            (r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1) if c in cells.get(r, {})
        ]
        if not filled:
            continue
        if filled != [(r1, c1)]:
            others = ", ".join(f"{column_letter(c)}{r}" for r, c in filled if (r, c) != (r1, c1))
            raise _err(
                file,
                f"sheet '{sheet}': merged range {ref} has values in more than its first cell "
                f"({others})",
                "merged ranges holding one value (unmerge the cells)",
            )
        top = cells[r1][c1]
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                cells.setdefault(r, {})[c] = top
        expanded.append(ref)
    if not expanded:
        return []
    shown = ", ".join(expanded[:10]) + (
        f", … ({len(expanded)} in all)" if len(expanded) > 10 else ""
    )
    return [f"sheet '{sheet}': merged cells {shown} read as their value in every cell"]
