"""Build a folder of hostile and unlucky delivery files (the fuzz corpus of tests/test_fuzz.py).

    python tests/make_hostile.py OUT_FOLDER        # writes the files and prints the list

Every case is built from the shipped 2025 wave (as an agency would deliver it: Chinese headers
and labels), then broken in one way. Each :class:`Case` says what must happen:

* ``refused``: the file cannot be read (``WaveFormatError``; ``survey validate`` prints one
  ``unreadable`` problem per structural fault), with ``message`` in the text;
* ``problems``: read, but its content breaks the codebook (``ValidationError``), with a problem of
  kind ``kind``;
* ``ok``: accepted, and ``shown`` lists ``(row index, column, value)`` cells whose loaded value
  must equal what a spreadsheet shows.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl


@dataclass(frozen=True)
class Case:
    """One hostile file and what must happen to it."""

    name: str
    path: Path
    expect: str  # "refused", "problems" or "ok"
    message: str = ""  # text the refusal or the problem report contains
    kind: str = ""  # a problem kind expected (expect == "problems")
    shown: tuple[tuple[int, str, object], ...] = field(default=())


def _base(n: int = 12) -> tuple[pl.DataFrame, object]:
    from survey.ingest import delivery_frame
    from survey.io import load_wave

    wave = load_wave(2025)
    return delivery_frame(wave.frame.head(n), wave.codebook), wave


def _csv(frame: pl.DataFrame) -> str:
    return frame.write_csv(null_value="")


def _xlsx(
    path: Path, frame: pl.DataFrame, edit: Callable | None = None, sheets: tuple[str, ...] = ()
) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    for name in sheets:
        wb.add_worksheet(name).write(0, 0, f"{name}：本文件为广告主调研数据，字段说明见问卷。")
    ws = wb.add_worksheet("数据")
    ws.write_row(0, 0, frame.columns)
    for r, row in enumerate(frame.iter_rows(), start=1):
        for c, v in enumerate(row):
            if v is not None:
                ws.write(r, c, v)
    if edit is not None:
        edit(wb, ws, frame)
    wb.close()
    return path


def _rezip(path: Path, part: str, change: Callable[[bytes], bytes]) -> None:
    src = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            z.writestr(info.filename, change(data) if info.filename == part else data)
    path.write_bytes(out.getvalue())


def build(folder: str | Path) -> list[Case]:
    """Write the corpus into ``folder`` (created) and return its cases."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    frame, wave = _base()
    cb = wave.codebook
    growth = cb["budget_growth_expected"].text("zh")
    industry = cb["industry"].text("zh")
    ids = cb.id_label_zh
    cases: list[Case] = []

    def text(
        name: str,
        body: str | bytes,
        expect: str,
        message: str = "",
        kind: str = "",
        encoding: str = "utf-8",
    ) -> None:
        path = out / name
        path.write_bytes(body if isinstance(body, bytes) else body.encode(encoding))
        cases.append(Case(name, path, expect, message, kind))

    plain = _csv(frame)
    lines = plain.splitlines()

    # -- silent wrong readings ---------------------------------------------------------------------
    def percent(wb, ws, f):
        col = f.columns.index(growth)
        fmt = wb.add_format({"num_format": "0%"})
        for r, v in enumerate(f[growth].to_list(), start=1):
            ws.write_number(r, col, (v or 0) / 100, fmt)

    _xlsx(out / "percent_cells.xlsx", frame, percent)
    shown = tuple(
        (r, "budget_growth_expected", float(v or 0)) for r, v in enumerate(frame[growth].to_list())
    )
    cases.append(Case("percent_cells.xlsx", out / "percent_cells.xlsx", "ok", shown=shown))
    last = lines[-1]
    text(
        "truncated_row.csv",
        "\n".join(lines[:-1]) + "\n" + last[: len(last) // 2],
        "refused",
        "a truncated line?",
    )
    long_row = "\n".join([*lines[:3], lines[3] + ",x,y", *lines[4:]]) + "\n"
    text("long_row.csv", long_row, "refused", "(a cell with an unquoted delimiter?)")

    def formula(wb, ws, f):
        ws.write_formula(2, f.columns.index(growth), "=1/0", None, "")

    _xlsx(out / "formula_no_value.xlsx", frame, formula)
    _rezip(
        out / "formula_no_value.xlsx",
        "xl/worksheets/sheet1.xml",
        lambda x: x.replace(b"<v></v>", b""),
    )
    cases.append(
        Case(
            "formula_no_value.xlsx",
            out / "formula_no_value.xlsx",
            "refused",
            "formula cells without a computed value",
        )
    )

    merged = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.col(industry)).alias(industry)
    )

    def merge(wb, ws, f):
        ws.merge_range(
            1, f.columns.index(industry), f.height, f.columns.index(industry), f[industry][0]
        )

    _xlsx(out / "merged_industry.xlsx", merged, merge)
    code = cb["industry"].codes()[[o.zh for o in cb["industry"].options].index(frame[industry][0])]
    cases.append(
        Case(
            "merged_industry.xlsx",
            out / "merged_industry.xlsx",
            "ok",
            shown=tuple((r, "industry", code) for r in range(frame.height)),
        )
    )
    gbk = plain.encode("gbk")
    # a GBK file in which one row was pasted in from a UTF-8 file
    mixed = (
        b"\n".join(line.encode("utf-8" if i == 6 else "gbk") for i, line in enumerate(lines))
        + b"\n"
    )
    text("mixed_gbk_utf8.csv", mixed, "refused", "mixes encodings")
    text(
        "nul_after_64k.csv",
        plain + "\n" * 70_000 + lines[1].replace(",", ",\x00", 1) + "\n",
        "refused",
        "NUL",
    )
    # -- structure -------------------------------------------------------------------------------
    text(
        "bad_quoting.csv",
        plain.replace(lines[2], lines[2].replace(",", ',"x"y', 1)),
        "refused",
        "malformed CSV",
    )
    text(
        "unnamed_header.csv",
        plain.replace(lines[0], lines[0] + ",", 1).replace(lines[1], lines[1] + ",1", 1),
        "refused",
        "has data but no name",
    )
    dup = lines[0].replace(growth, industry)
    text("duplicate_header.csv", plain.replace(lines[0], dup, 1), "refused", "unique column names")
    # a stray zero-width space in a known header still matches; in an unknown one it is shown
    text("invisible_header.csv", plain.replace(industry, industry + "\u200b", 1), "ok")
    extra = frame.with_columns(pl.lit("x").alias("备注\u200b"))
    text("invisible_unknown_header.csv", _csv(extra), "problems", "\\u200b", "unknown_column")
    text("title_rows.csv", "2025年广告主调研 数据导出\n导出时间,2024-11-30\n\n" + plain, "ok")
    text("empty.csv", b"", "refused", "empty")
    text("header_only.csv", lines[0] + "\n", "refused", "no respondents")
    text(
        "binary.csv",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "refused",
        "binary data",
    )
    text("utf16_unicode_text.txt", b"\xff\xfe" + plain.replace(",", "\t").encode("utf-16-le"), "ok")
    text("gbk.csv", gbk, "ok")
    # -- content ---------------------------------------------------------------------------------
    first_id = frame[ids][0]
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in first_id)
    text(
        "fullwidth_duplicate_ids.csv",
        plain.replace(frame[ids][1], wide, 1),
        "problems",
        "",
        "duplicate_id",
    )
    heavy = frame.with_columns(pl.Series("weight", [1e308] + [1.0] * (frame.height - 1)))
    text("huge_weight.csv", _csv(heavy), "problems", "", "bad_weight")
    text("hyperlink_id.csv", plain.replace(first_id, '"=HYPERLINK(""http://x"",""1"")"', 1), "ok")
    text(
        "unknown_label.csv",
        plain.replace(frame[industry][0], "飞机制造", 1),
        "problems",
        "飞机制造",
        "unknown_code",
    )
    # -- Excel limits and impostors ----------------------------------------------------------------
    xfd = _xlsx(out / "xfd_100k_rows.xlsx", frame.head(1))
    rows = "".join(f'<row r="{r}"><c r="XFD{r}"><v>1</v></c></row>' for r in range(3, 100_003))
    _rezip(
        xfd,
        "xl/worksheets/sheet1.xml",
        lambda x: x.replace(b"</sheetData>", rows.encode() + b"</sheetData>"),
    )
    cases.append(Case("xfd_100k_rows.xlsx", xfd, "refused", "more than the limit"))
    big = _xlsx(out / "huge_shared_string.xlsx", frame.head(1))
    huge = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
        + b"x" * (300 * 2**20)
        + b"</t></si></sst>"
    )
    _rezip(big, "xl/sharedStrings.xml", lambda _: huge)
    cases.append(Case("huge_shared_string.xlsx", big, "refused", "more than the limit"))
    doctype = _xlsx(out / "doctype.xlsx", frame.head(1))
    _rezip(
        doctype,
        "xl/sharedStrings.xml",
        lambda x: x.replace(b"?>", b'?><!DOCTYPE s [<!ENTITY a "a">]>', 1),
    )
    cases.append(Case("doctype.xlsx", doctype, "refused", "DOCTYPE"))
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    text(
        "password.xlsx",
        ole + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 1000,
        "refused",
        "password-protected",
    )
    text("legacy.xlsx", ole + b"\x00" * 1000, "refused", "legacy .xls")
    text("csv_named.xlsx", plain, "refused", "named .xlsx but contains text")
    _xlsx(out / "readme_first_sheet.xlsx", frame, sheets=("说明",))
    cases.append(Case("readme_first_sheet.xlsx", out / "readme_first_sheet.xlsx", "ok"))

    def text_numbers(wb, ws, f):
        fmt = wb.add_format({"num_format": "@"})
        for r in range(1, f.height + 1):
            ws.write_string(r, 0, f"00{r}", fmt)

    _xlsx(out / "text_formatted_ids.xlsx", frame, text_numbers)
    cases.append(
        Case(
            "text_formatted_ids.xlsx",
            out / "text_formatted_ids.xlsx",
            "ok",
            shown=tuple((r, "resp_id", f"00{r + 1}") for r in range(frame.height)),
        )
    )
    return cases


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/make_hostile.py OUT_FOLDER")
    for case in build(sys.argv[1]):
        print(f"{case.expect:9} {case.path}")
