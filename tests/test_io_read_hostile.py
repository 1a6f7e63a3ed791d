"""Regression tests of the readers, one per hostile or unlucky input (issue 12)."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import polars as pl
import pytest

from survey.codebook import Codebook
from survey.errors import WaveFormatError
from survey.io import _xlsx as xlsx
from survey.io import edition_from_name, read_table, validate_file, write_table
from survey.io.read import ROW_COLUMN, read_table_info
from survey.io.report import cut
from survey.io.write import FormulaCellsWarning

MINI = Path(__file__).parent / "fixtures" / "mini_codebook.yaml"


@pytest.fixture(scope="module")
def cb() -> Codebook:
    return Codebook.load(MINI)


def _workbook(path: Path, build) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    build(wb, wb.add_worksheet("data"))
    wb.close()
    return path


# -- Excel cells read as the spreadsheet shows them ----------------------------------------------
def test_percent_formatted_cell_reads_as_its_percent(tmp_path, cb):
    def build(wb, ws):
        pct = wb.add_format({"num_format": "0%"})
        ws.write_row(0, 0, ["resp_id", "budget_growth_expected"])
        ws.write_string(1, 0, "a")
        ws.write_number(1, 1, 0.15, pct)  # shown "15%", stored 0.15
        ws.write_string(2, 0, "b")
        ws.write_number(2, 1, -0.055, wb.add_format({"num_format": "0.0%"}))

    raw = read_table(_workbook(tmp_path / "w.xlsx", build))
    assert raw["budget_growth_expected"].to_list() == ["15%", "-5.5%"]
    # the codebook's unit is percent points: 15% is 15, never 0.15
    assert "percent" in cb["budget_growth_expected"].unit


def test_date_serial_reads_as_a_date_and_text_number_keeps_its_zeros(tmp_path):
    def build(wb, ws):
        ws.write_row(0, 0, ["resp_id", "submitted", "zip"])
        ws.write_string(1, 0, "a")
        ws.write_number(1, 1, 45580, wb.add_format({"num_format": "yyyy-mm-dd"}))
        ws.write_string(1, 2, "013")  # a number stored as text

    raw = read_table(_workbook(tmp_path / "w.xlsx", build))
    assert raw.row(0) == (2, "a", "2024-10-15", "013")


def test_general_numbers_read_with_15_significant_digits(tmp_path):
    def build(wb, ws):
        ws.write_row(0, 0, ["resp_id", "x"])
        ws.write_row(1, 0, ["a", 0.1 + 0.2])
        ws.write_row(2, 0, ["b", 12.0])

    raw = read_table(_workbook(tmp_path / "w.xlsx", build))
    assert raw["x"].to_list() == ["0.3", "12"]


def test_vertically_merged_cells_are_expanded_and_noted(tmp_path):
    def build(wb, ws):
        ws.write_row(0, 0, ["resp_id", "industry"])
        for r, rid in enumerate(["a", "b", "c"], start=1):
            ws.write_string(r, 0, rid)
        ws.merge_range(1, 1, 3, 1, "汽车")

    raw, info = read_table_info(_workbook(tmp_path / "w.xlsx", build))
    assert raw["industry"].to_list() == ["汽车", "汽车", "汽车"]
    assert any("B2:B4" in n for n in info.notes)


def test_merged_range_with_two_values_is_refused(tmp_path):
    path = _workbook(
        tmp_path / "w.xlsx",
        lambda wb, ws: (
            ws.write_row(0, 0, ["a", "b"]),
            ws.write_row(1, 0, ["x", "y"]),
            ws.merge_range(1, 0, 1, 1, "x"),
        ),
    )
    data = _rewrite(
        path,
        "xl/worksheets/sheet1.xml",
        lambda x: x.replace(b'<c r="B2" s="1"/>', b'<c r="B2" t="inlineStr"><is><t>y</t></is></c>'),
    )
    path.write_bytes(data)
    with pytest.raises(
        WaveFormatError, match=r"merged range A2:B2 has values in more than its first cell \(B2\)"
    ):
        read_table(path)


def _rewrite(path: Path, part: str, change) -> bytes:
    src = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            z.writestr(info.filename, change(data) if info.filename == part else data)
    return out.getvalue()


def test_formula_without_a_computed_value_is_refused_with_its_address(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["resp_id", "budget_growth_expected"])
    ws.append(["a", 5])
    ws.append(["b", "=B2*2"])  # openpyxl writes the formula, never its value
    wb.save(tmp_path / "w.xlsx")
    with pytest.raises(
        WaveFormatError, match=r"formula cells without a computed value: B3 \(=B2\*2\)"
    ) as e:
        read_table(tmp_path / "w.xlsx")
    assert "LibreOffice" in e.value.expected


def test_password_protected_workbook_is_named_as_such(tmp_path):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    ole += (
        "EncryptionInfo".encode("utf-16-le") + b"\x00" * 50 + "EncryptedPackage".encode("utf-16-le")
    )
    (tmp_path / "w.xlsx").write_bytes(ole + b"\x00" * 2000)
    with pytest.raises(WaveFormatError, match="password-protected") as e:
        read_table(tmp_path / "w.xlsx")
    assert "legacy" not in str(e.value)


def test_cell_in_column_xfd_on_100k_rows_is_refused_quickly(tmp_path):
    path = _workbook(
        tmp_path / "w.xlsx", lambda wb, ws: ws.write_row(0, 0, ["resp_id", "industry"])
    )
    rows = "".join(f'<row r="{r}"><c r="XFD{r}"><v>1</v></c></row>' for r in range(2, 100_002))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>resp_id</t>'
        f"</is></c></row>{rows}</sheetData></worksheet>"
    )
    path.write_bytes(_rewrite(path, "xl/worksheets/sheet1.xml", lambda _: sheet.encode()))
    assert path.stat().st_size < 1_500_000
    start = time.perf_counter()
    with pytest.raises(WaveFormatError, match=r"spans A1:XFD\d+ or more .* more than the limit"):
        read_table(path)
    assert time.perf_counter() - start < 5


def test_huge_shared_strings_part_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_PART_BYTES", 2**20)
    path = _workbook(
        tmp_path / "w.xlsx",
        lambda wb, ws: (
            ws.write_row(0, 0, ["resp_id"]),
            ws.write_row(1, 0, ["x" * 30000 + str(i) for i in range(40)]),
        ),
    )
    with pytest.raises(
        WaveFormatError, match=r"xl/sharedStrings.xml decompresses to .* more than the limit"
    ):
        read_table(path)


def test_zip_bomb_ratio_is_refused(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/sharedStrings.xml", b"<sst>" + b" " * (20 * 2**20) + b"</sst>")
    (tmp_path / "w.xlsx").write_bytes(out.getvalue())
    with pytest.raises(WaveFormatError, match="zip bomb"):
        read_table(tmp_path / "w.xlsx")


def test_doctype_in_a_part_is_refused(tmp_path):
    path = _workbook(tmp_path / "w.xlsx", lambda wb, ws: ws.write_row(0, 0, ["resp_id"]))
    bomb = b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa">]><sst>&a;</sst>'
    path.write_bytes(_rewrite(path, "xl/sharedStrings.xml", lambda _: bomb))
    with pytest.raises(WaveFormatError, match="DOCTYPE"):
        read_table(path)


# -- text files -----------------------------------------------------------------------------------
def test_short_and_long_rows_are_all_reported_in_one_pass(tmp_path):
    text = "resp_id,growth,note\na,13,\nb,1\nc,5,x,y\nd,7,,\ne\n"
    (tmp_path / "w.csv").write_text(text, encoding="utf-8")
    with pytest.raises(WaveFormatError) as e:
        read_table(tmp_path / "w.csv")
    found = [(p.row, p.kind) for p in e.value.problems]
    assert found == [(3, "short_row"), (4, "wide_row"), (6, "short_row")]
    assert "3 structural problems" in str(e.value)


def test_structural_problems_are_reported_together(tmp_path):
    text = 'resp_id,industry,industry,\na,x,y,z\nb,"x"y,1,\n'
    (tmp_path / "w.csv").write_text(text, encoding="utf-8")
    report = validate_file(tmp_path / "w.csv")
    kinds = {p.value.split(" ")[0] if p.value else "" for p in report.problems}
    assert len(report.problems) >= 2, report.to_text()
    text = report.to_text()
    assert "malformed CSV" in text and "appears" not in text
    assert "industry" in text and kinds


def test_unnamed_and_duplicate_headers_reported_together(tmp_path):
    (tmp_path / "w.csv").write_text("resp_id,a,a,\nr1,1,2,3\n", encoding="utf-8")
    with pytest.raises(WaveFormatError) as e:
        read_table(tmp_path / "w.csv")
    assert sorted(p.kind for p in e.value.problems) == ["duplicate_column", "unnamed_column"]


def test_mostly_gbk_file_with_utf8_cells_is_refused_naming_the_line(tmp_path):
    data = b"resp_id,industry\n" + "北京-0001,汽车\n".encode("gbk") * 30
    data += "北京-0031,汽车\n".encode() + "北京-0032,汽车\n".encode("gbk")
    (tmp_path / "w.csv").write_bytes(data)
    with pytest.raises(
        WaveFormatError, match=r"mixes encodings: line 2 is not UTF-8 .* line 32 is UTF-8"
    ) as e:
        read_table(tmp_path / "w.csv")
    assert e.value.row == 32


def test_nul_after_the_first_64_kib_is_refused(tmp_path):
    text = "resp_id,note\n" + "".join(f"r{i},{'x' * 60}\n" for i in range(2000)) + "r2001,a\x00b\n"
    (tmp_path / "w.csv").write_text(text, encoding="utf-8")
    with pytest.raises(WaveFormatError, match=r"NUL character \(line 2002\)"):
        read_table(tmp_path / "w.csv")


def test_utf16_csv_from_excel_unicode_text_is_read(tmp_path):
    text = "resp_id\tindustry\r\na\t汽车\r\nb\t美妆\r\n"
    (tmp_path / "w.txt").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    assert read_table(tmp_path / "w.txt").rows() == [(2, "a", "汽车"), (3, "b", "美妆")]
    (tmp_path / "w.csv").write_bytes(text.replace("\t", ",").encode("utf-16-le"))  # no BOM
    assert read_table(tmp_path / "w.csv")["industry"].to_list() == ["汽车", "美妆"]


def test_header_row_number_is_the_real_one(tmp_path, cb):
    text = "2026年广告主调研 数据导出\n导出时间 2026-10-20\n\nresp_id,industry,confidence\na,飞机,持平\n"
    (tmp_path / "w.csv").write_text(text, encoding="utf-8")
    report = validate_file(tmp_path / "w.csv", codebook=cb)
    out = report.to_text()
    assert "(header = row 4)" in out and "row 5: found '飞机'" in out
    assert "rows 1, 2 above the header (row 4) skipped" in out
    assert "（表头 = 第 4 行）" in report.to_text("zh")


def test_invisible_characters_in_headers_are_printed_with_repr(tmp_path, cb):
    (tmp_path / "w.csv").write_text("resp_id,indu\u200bstry_x\na,1\n", encoding="utf-8")
    out = validate_file(tmp_path / "w.csv", codebook=cb).to_text()
    assert "column 'indu\\u200bstry_x'" in out


def test_reasons_are_not_cut_mid_word():
    text = "a code or label of 'industry': food_bev/食品饮料/Food, beauty/美妆个护/Beauty"
    short = cut(text, 40)
    assert short.endswith("…") and text.startswith(short[:-1])
    assert text[len(short) - 2] in " ,/:;"
    from survey.io.report import _shown

    long_value = "营销 预算 " * 30
    shown = _shown(long_value)
    assert shown.endswith(f"({len(long_value)} chars)")
    assert shown.split("…")[0].rstrip().endswith(("营销", "预算", "'"))


def test_suggestions_for_5000_unknown_headers_are_fast(tmp_path):
    from survey.io.headers import match_headers

    cb = Codebook.load()
    headers = [f"未知题目{i}-选项{i % 97}" for i in range(5000)]
    start = time.perf_counter()
    m = match_headers(headers, cb)
    elapsed = time.perf_counter() - start
    assert len(m.suggestions) == 5000
    assert elapsed < 10, elapsed


# -- exports and names ----------------------------------------------------------------------------
def test_csv_exports_neutralise_formula_cells(tmp_path, capsys):
    frame = pl.DataFrame(
        {"resp_id": ['=HYPERLINK("http://x","id")', "+1-2", "@SUM(A1)", "-12.5", "ok"]}
    )
    with pytest.warns(FormulaCellsWarning, match="3 cell"):
        path = write_table(frame, tmp_path / "out.csv", encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("\"'=HYPERLINK") and lines[2] == "'+1-2" and lines[3] == "'@SUM(A1)"
    assert lines[4] == "-12.5"
    # survey validate --format csv: the problem values come from the delivery
    from survey.cli import main

    (tmp_path / "d.csv").write_text("resp_id,=cmd|calc\n=1+1,x\n", encoding="utf-8")
    assert main(["validate", str(tmp_path / "d.csv"), "--format", "csv"]) == 1
    out, err = capsys.readouterr()
    assert ",'=cmd|calc," in out and "leading '" in err
    assert "\n=" not in out and ",=" not in out


def test_edition_from_a_file_name_takes_the_edition_not_the_date():
    assert edition_from_name("delivery_2025_revised_2024-12-15.csv") == 2025
    assert edition_from_name("2024-12-15_delivery_2025.csv") == 2025
    assert edition_from_name("广告主调研2026年交付_20251020.xlsx") == 2026
    assert edition_from_name("wave_2024.parquet") == 2024
    assert edition_from_name("export_20241215.csv") is None


def test_row_numbers_stay_those_of_the_sheet_with_a_readme_above(tmp_path):
    def build(wb, ws):
        ws.write(0, 0, "说明：本表为2026年调研数据")
        ws.write_row(2, 0, ["resp_id", "industry", "confidence"])
        ws.write_row(3, 0, ["a", "auto", "flat"])

    raw, info = read_table_info(_workbook(tmp_path / "w.xlsx", build))
    assert info.header_row == 3 and raw[ROW_COLUMN].to_list() == [4]
