"""Validation: one test per problem kind (exact row, column, value), all in one pass; bad files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.codebook import Codebook
from survey.errors import Problem, ValidationError, WaveFormatError
from survey.io import KINDS, load_wave, read_table, validate, validate_file, write_table, write_wave

MINI = Path(__file__).parent / "fixtures" / "mini_codebook.yaml"

CLEAN = {
    "resp_id": ["r1", "r2", "r3", "r4"],
    "industry": ["food_bev", "美妆个护", "Automotive", "auto"],
    "confidence": ["flat", "", "big_increase", "小幅减少"],
    "budget_growth_expected": ["10", "5%", "", "-3.5"],
    "challenges__measurement": ["1", "", "是", "0"],
    "challenges__roi": ["", "x", "", "no"],
    "challenges__competition": ["true", "", "", ""],
    "media_intent__mobile": ["increase", "", "不投资", "Flat"],
    "media_intent__outdoor": ["", "decrease", "", ""],
    "budget_split__brand": ["60", "", "100", "33.3"],
    "budget_split__performance": ["40", "", "0", "66.7"],
    "weight": ["1", "0.5", "2", "1"],
}


@pytest.fixture(scope="module")
def cb() -> Codebook:
    return Codebook.load(MINI)


def clean() -> pl.DataFrame:
    return pl.DataFrame(CLEAN)


def with_cell(frame: pl.DataFrame, column: str, index: int, value: str | None) -> pl.DataFrame:
    """``frame`` with one cell changed (``index`` 0-based data row = spreadsheet row index + 2)."""
    values = frame[column].to_list()
    values[index] = value
    return frame.with_columns(pl.Series(column, values, dtype=pl.String))


def problems_of(tmp_path: Path, cb: Codebook, frame: pl.DataFrame, **kwargs) -> list[Problem]:
    """Write ``frame`` as CSV, validate the file, and return its problems."""
    path = write_table(frame, tmp_path / "wave.csv")
    report = validate_file(path, codebook=cb, **kwargs)
    assert report.n_rows == frame.height
    with pytest.raises(ValidationError) as info:
        load_wave(path, codebook=cb, strict=True, **kwargs)
    assert list(info.value.problems) == list(report.problems)
    return list(report.problems)


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_clean_file_loads(tmp_path, cb):
    path = write_table(clean(), tmp_path / "wave.csv")
    assert validate_file(path, codebook=cb).ok
    frame = load_wave(path, codebook=cb).frame
    assert frame.height == 4
    assert frame["industry"].to_list() == ["food_bev", "beauty", "auto", "auto"]


def test_unknown_column(tmp_path, cb):
    p = only(problems_of(tmp_path, cb, clean().with_columns(pl.lit("1").alias("remarks"))))
    assert (p.kind, p.column, p.row, p.value) == ("unknown_column", "remarks", None, None)
    assert p.file.endswith("wave.csv")


def test_missing_column(tmp_path, cb):
    p = only(problems_of(tmp_path, cb, clean().drop("challenges__roi")))
    assert (p.kind, p.column, p.row) == ("missing_column", "challenges__roi", None)
    p = only(problems_of(tmp_path, cb, clean().drop("resp_id")))
    assert (p.kind, p.column) == ("missing_column", "resp_id")


def test_weight_column_is_optional(tmp_path, cb):
    path = write_table(clean().drop("weight"), tmp_path / "wave.csv")
    assert validate_file(path, codebook=cb).ok


def test_columns_of_questions_not_asked_in_the_edition(tmp_path):
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    for q in raw["questions"]:
        if q["id"] == "budget_split":
            q["editions"] = [2024]
    cb = Codebook.from_dict(raw)
    path = write_table(clean(), tmp_path / "wave.csv")
    assert validate_file(path, codebook=cb, edition=2024).ok
    assert not cb["budget_split"].asked_in(2023)
    problems = validate_file(path, codebook=cb, edition=2023).problems
    assert [(p.kind, p.column) for p in problems] == [
        ("unknown_column", "budget_split__brand"),
        ("unknown_column", "budget_split__performance"),
    ]
    ok = write_table(clean().drop("budget_split__brand", "budget_split__performance"), path)
    wave = load_wave(ok, codebook=cb, edition=2023)
    assert "budget_split__brand" not in wave.frame.columns


def test_unknown_code(tmp_path, cb):
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "industry", 2, "汽车行业")))
    assert (p.kind, p.row, p.column, p.value) == ("unknown_code", 4, "industry", "汽车行业")
    assert "auto/汽车/Automotive" in p.expected
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "media_intent__outdoor", 0, "more")))
    assert (p.kind, p.row, p.column, p.value) == (
        "unknown_code",
        2,
        "media_intent__outdoor",
        "more",
    )


def test_out_of_range(tmp_path, cb):
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "budget_growth_expected", 1, "301%")))
    assert (p.kind, p.row, p.column, p.value) == (
        "out_of_range",
        3,
        "budget_growth_expected",
        "301%",
    )
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "budget_split__brand", 3, "-10")))
    assert (p.kind, p.row, p.column, p.value) == ("out_of_range", 5, "budget_split__brand", "-10")


def test_not_a_number(tmp_path, cb):
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "budget_growth_expected", 3, "about 5")))
    assert (p.kind, p.row, p.column, p.value) == (
        "not_a_number",
        5,
        "budget_growth_expected",
        "about 5",
    )


def test_duplicate_id_names_the_first_row(tmp_path, cb):
    frame = with_cell(with_cell(clean(), "resp_id", 2, "r1"), "resp_id", 3, " r1 ")
    problems = problems_of(tmp_path, cb, frame)
    assert [(p.kind, p.row, p.column, p.value) for p in problems] == [
        ("duplicate_id", 4, "resp_id", "r1"),
        ("duplicate_id", 5, "resp_id", " r1 "),
    ]
    assert all("row 2" in p.expected for p in problems)


def test_missing_id(tmp_path, cb):
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "resp_id", 1, "  ")))
    assert (p.kind, p.row, p.column, p.value) == ("missing_id", 3, "resp_id", "  ")


def test_bad_multi_cell(tmp_path, cb):
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "challenges__roi", 2, "2")))
    assert (p.kind, p.row, p.column, p.value) == ("bad_multi_cell", 4, "challenges__roi", "2")


def test_sum_mismatch(tmp_path, cb):
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "budget_split__brand", 0, "70")))
    assert (p.kind, p.row, p.column, p.value) == (
        "sum_mismatch",
        2,
        "budget_split",
        "70 + 40 = 110",
    )
    assert "summing to 100" in p.expected
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "budget_split__brand", 3, "３０％")))
    assert (p.row, p.value) == (5, "３０％ + 66.7 = 96.7")
    # within ±0.5 is fine
    assert validate_file(
        write_table(with_cell(clean(), "budget_split__brand", 0, "60.4"), tmp_path / "ok.csv"),
        codebook=cb,
    ).ok
    # partly blank: the blank part is named
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "budget_split__performance", 3, "")))
    assert (p.kind, p.row, p.column, p.value) == (
        "sum_mismatch",
        5,
        "budget_split__performance",
        "",
    )


def test_missing_required(tmp_path, cb):
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "industry", 3, "")))
    assert (p.kind, p.row, p.column, p.value) == ("missing_required", 5, "industry", "")


@pytest.mark.parametrize("value", ["0", "-1", "abc", "", "nan"])
def test_bad_weight(tmp_path, cb, value):
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "weight", 2, value)))
    assert (p.kind, p.row, p.column, p.value) == ("bad_weight", 4, "weight", value)


def test_all_problems_in_one_pass(tmp_path, cb):
    frame = clean().with_columns(pl.lit("").alias("extra"))
    frame = with_cell(frame, "industry", 0, "banks")
    frame = with_cell(frame, "resp_id", 1, "r1")
    frame = with_cell(frame, "challenges__competition", 2, "maybe")
    frame = with_cell(frame, "weight", 3, "0")
    problems = problems_of(tmp_path, cb, frame)
    assert [(p.kind, p.row, p.column) for p in problems] == [
        ("unknown_column", None, "extra"),
        ("unknown_code", 2, "industry"),
        ("duplicate_id", 3, "resp_id"),
        ("bad_multi_cell", 4, "challenges__competition"),
        ("bad_weight", 5, "weight"),
    ]
    report = validate_file(tmp_path / "wave.csv", codebook=cb)
    text = report.to_text()
    assert "5 problem(s)" in text
    assert (
        "[duplicate_id] 1 problem(s)\n"
        "  column 'resp_id': expected a unique respondent id (also in row 2)\n"
        "    row 3: found 'r1'\n"
    ) in text
    assert report.to_polars()["kind"].to_list() == [p.kind for p in problems]
    assert set(report.to_polars()["kind"]) <= set(KINDS)


def test_validate_without_row_column_counts_from_row_2(cb):
    frame, problems = validate(with_cell(clean(), "industry", 1, "?"), cb, file="mem")
    assert frame is None
    assert [(p.row, p.file) for p in problems] == [(3, "mem")]


def test_large_file_is_fast(cb):
    import time

    n = 100_000
    big = pl.concat([clean()] * (n // 4)).with_columns(
        pl.format("r{}", pl.int_range(pl.len())).alias("resp_id")
    )
    start = time.perf_counter()
    frame, problems = validate(big, cb)
    assert problems == [] and frame.height == n
    assert time.perf_counter() - start < 5


# -- files that cannot be read at all -------------------------------------------------------------
def test_empty_file(tmp_path, cb):
    path = tmp_path / "wave.csv"
    path.write_bytes(b"")
    with pytest.raises(WaveFormatError, match="empty"):
        load_wave(path, codebook=cb)


def test_header_only(tmp_path, cb):
    path = tmp_path / "wave.csv"
    path.write_text(",".join(CLEAN) + "\n\n", encoding="utf-8")
    with pytest.raises(WaveFormatError, match="no respondents") as info:
        load_wave(path, codebook=cb)
    assert info.value.file == str(path)
    xlsx = write_table(clean().head(0), tmp_path / "wave.xlsx")
    with pytest.raises(WaveFormatError, match="no respondents"):
        read_table(xlsx)


def test_csv_named_xlsx(tmp_path, cb):
    csv = write_table(clean(), tmp_path / "wave.csv")
    fake = tmp_path / "wave.xlsx"
    fake.write_bytes(csv.read_bytes())
    with pytest.raises(WaveFormatError, match=r"named \.xlsx but contains text"):
        load_wave(fake, codebook=cb)


def test_zip_that_is_not_xlsx(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    (tmp_path / "wave.xlsx").write_bytes(buf.getvalue())
    with pytest.raises(WaveFormatError, match="workbook"):
        read_table(tmp_path / "wave.xlsx")


def test_xlsx_named_csv_and_parquet_named_sav(tmp_path, cb):
    xlsx = write_table(clean(), tmp_path / "wave.xlsx")
    (tmp_path / "wave.csv").write_bytes(xlsx.read_bytes())
    with pytest.raises(WaveFormatError, match="zip archive"):
        read_table(tmp_path / "wave.csv")
    pq = write_table(clean(), tmp_path / "wave.parquet")
    (tmp_path / "wave.sav").write_bytes(pq.read_bytes())
    with pytest.raises(WaveFormatError, match="Parquet"):
        read_table(tmp_path / "wave.sav")


@pytest.mark.parametrize("cut", [4, 20, -1, -8])
def test_truncated_parquet(tmp_path, cb, cut):
    good = write_wave(clean(), tmp_path / "good.parquet", edition=2025)
    data = good.read_bytes()
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(data[:cut])
    with pytest.raises(WaveFormatError):
        load_wave(bad, codebook=cb)


def test_parquet_with_corrupt_middle(tmp_path, cb):
    data = bytearray(write_wave(clean(), tmp_path / "good.parquet", edition=2025).read_bytes())
    data[4:40] = b"\xff" * 36
    (tmp_path / "bad.parquet").write_bytes(bytes(data))
    with pytest.raises(WaveFormatError):
        load_wave(tmp_path / "bad.parquet", codebook=cb)


def test_undecodable_bytes(tmp_path, cb):
    path = tmp_path / "wave.csv"
    path.write_bytes(b"resp_id,industry\nr1,auto\nr2,\xff\xfe\xfa\n")
    with pytest.raises(WaveFormatError, match="byte 28") as info:
        load_wave(path, codebook=cb)
    assert info.value.row == 3


def test_gbk_file_is_not_mistaken(tmp_path):
    path = tmp_path / "wave.csv"
    path.write_bytes("resp_id,industry\nr1,汽车\n".encode("gbk"))
    assert read_table(path)["industry"].to_list() == ["汽车"]


def test_unsupported_and_missing_files(tmp_path):
    (tmp_path / "wave.json").write_text("{}")
    with pytest.raises(WaveFormatError, match="unsupported"):
        read_table(tmp_path / "wave.json")
    with pytest.raises(WaveFormatError, match="not found"):
        read_table(tmp_path / "nope.csv")


def test_ragged_and_badly_headed_csv(tmp_path):
    path = tmp_path / "wave.csv"
    path.write_text("resp_id,industry\nr1,auto,extra\n", encoding="utf-8")
    with pytest.raises(WaveFormatError, match="row 2: 3 cells; expected 2") as info:
        read_table(path)
    assert info.value.row == 2
    path.write_text("resp_id,industry\nr1\n", encoding="utf-8")  # a truncated line
    with pytest.raises(WaveFormatError, match="row 2: 1 cell; expected 2"):
        read_table(path)
    path.write_text("resp_id,resp_id\nr1,r2\n", encoding="utf-8")
    with pytest.raises(WaveFormatError, match="in columns 1 and 2"):
        read_table(path)
    path.write_text("resp_id,\nr1,x\n", encoding="utf-8")
    with pytest.raises(WaveFormatError, match="no name"):
        read_table(path)


def test_damaged_utf8_is_reported_not_read_as_gbk(tmp_path):
    data = write_table(clean(), tmp_path / "wave.csv", encoding="utf-8").read_bytes()
    at = data.index("美".encode())
    (tmp_path / "bad.csv").write_bytes(data[:at] + b"\xff" + data[at:])
    with pytest.raises(WaveFormatError, match="line 3 is not UTF-8"):
        read_table(tmp_path / "bad.csv")


def test_required_multi_needs_one_selected_option(tmp_path):
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    for q in raw["questions"]:
        if q["id"] == "challenges":
            q["required"] = True
    cb = Codebook.from_dict(raw)
    p = only(problems_of(tmp_path, cb, clean()))  # r2 selected roi only; r4 selected nothing
    assert (p.kind, p.row, p.column) == ("missing_required", 5, "challenges")


def test_reserved_row_column_name(tmp_path):
    (tmp_path / "wave.csv").write_text("resp_id,__row__\nr1,1\n", encoding="utf-8")
    with pytest.raises(WaveFormatError, match="reserved"):
        read_table(tmp_path / "wave.csv")


# -- derived columns: blanks of several types in one file -------------------------------------------
def test_blank_category_and_blank_number_in_the_same_file(tmp_path, cb):
    """A categorical blank and a number blank (and odd number spellings) share one validation.

    Numbers that need the slow parser (full-width digits, ``％``, inner spaces) sit next to blanks of
    a categorical and a numeric column, so the derived blank/number/code columns depend on each
    other across layers.
    """
    frame = with_cell(clean(), "confidence", 0, "")
    frame = with_cell(frame, "budget_growth_expected", 0, "")  # blank number, same row
    frame = with_cell(frame, "budget_growth_expected", 1, "１２％")
    frame = with_cell(frame, "budget_growth_expected", 2, " 1 5 ")
    frame = with_cell(frame, "budget_split__brand", 1, "")
    frame = with_cell(frame, "budget_split__performance", 1, "\u3000")
    path = write_table(frame, tmp_path / "wave.csv")
    assert validate_file(path, codebook=cb).ok
    typed = load_wave(path, codebook=cb).frame
    assert typed["confidence"].to_list() == [None, None, "big_increase", "small_decrease"]
    assert typed["budget_growth_expected"].to_list() == [None, 12.0, 15.0, -3.5]
    assert typed["budget_split__performance"].to_list() == [40.0, None, 0.0, 66.7]
    # the same file with a required category blank and a bad number: exactly those two problems
    frame = with_cell(with_cell(frame, "industry", 0, " "), "budget_growth_expected", 3, "１２a")
    problems = problems_of(tmp_path, cb, frame)
    assert [(p.kind, p.row, p.column, p.value) for p in problems] == [
        ("missing_required", 2, "industry", " "),
        ("not_a_number", 5, "budget_growth_expected", "１２a"),
    ]


def test_full_width_and_spaced_labels_match(tmp_path, cb):
    frame = with_cell(clean(), "industry", 0, "ＦＯＯＤ＿ＢＥＶ")
    frame = with_cell(frame, "industry", 1, "美妆\u3000个护")
    frame = with_cell(frame, "industry", 2, " food  &  BEVERAGE ")
    frame = with_cell(frame, "media_intent__mobile", 0, "ＩＮＣＲＥＡＳＥ")
    frame = with_cell(frame, "challenges__roi", 0, "营销ＲＯＩ难提升")
    path = write_table(frame, tmp_path / "wave.csv")
    typed = load_wave(path, codebook=cb).frame
    assert typed["industry"].to_list() == ["food_bev", "beauty", "food_bev", "auto"]
    assert typed["media_intent__mobile"][0] == "increase"
    assert typed["challenges__roi"][0] is True


# -- the report of `survey validate` ----------------------------------------------------------------
def big_broken(n: int) -> pl.DataFrame:
    """``n`` respondents, every other one with an unknown industry (three distinct spellings)."""
    frame = pl.concat([clean()] * (n // 4)).with_columns(
        pl.format("r{}", pl.int_range(pl.len())).alias("resp_id")
    )
    bad = ["汽车行业", "银行", "food"]
    industry = [bad[(i // 2) % 3] if i % 2 == 0 else v for i, v in enumerate(frame["industry"])]
    return frame.with_columns(pl.Series("industry", industry))


def test_report_of_ten_thousand_problems_is_capped_and_counted(tmp_path, cb):
    frame = big_broken(20_000)
    frame = with_cell(frame, "weight", 5, "-1")
    path = write_table(frame, tmp_path / "wave.csv")
    report = validate_file(path, codebook=cb)
    assert len(report.problems) == 10_001 and report.to_polars().height == 10_001
    text = report.to_text()
    lines = text.splitlines()
    assert len(lines) < 30
    assert lines[0].endswith("wave.csv: 20000 rows, 10001 problem(s)")
    assert "  unknown_code  10000" in lines and "  bad_weight    1" in lines
    assert "[unknown_code] 10000 problem(s)" in lines
    assert "    '汽车行业' in 3334 row(s): 2, 8, 14, 20, 26, 32, 38, 44, … (+3326)" in lines
    assert "    'food' in 3333 row(s): 6, 12, 18, 24, 30, 36, 42, 48, … (+3325)" in lines
    assert "    row 7: found '-1'" in lines
    # a lower limit summarises the rest by distinct value, still counting every problem
    short = report.to_text(limit=1).splitlines()
    assert "    … and 2 more distinct value(s) in 6666 row(s)" in short
    # limit=None lists every problem on its own line
    assert len(report.to_text(limit=None).splitlines()) > 10_000


def test_report_in_chinese_and_with_skipped_rows(tmp_path, cb):
    text = write_table(with_cell(clean(), "industry", 1, "?"), tmp_path / "wave.csv").read_text(
        encoding="utf-8-sig"
    )
    lines = text.splitlines()
    path = tmp_path / "wave_2025.csv"
    path.write_text("\n".join([*lines[:2], ",,,", "", *lines[2:]]) + "\n", encoding="utf-8")
    report = validate_file(path, codebook=cb)
    assert report.skipped_rows == (3, 4)
    assert report.edition == 2025
    assert [(p.kind, p.row) for p in report.problems] == [("unknown_code", 5)]
    en = report.to_text().splitlines()
    assert en[1:4] == [
        "checked against the questions of edition 2025",
        "rows as numbered in the spreadsheet (header = row 1)",
        "note: 2 blank row(s) between respondents skipped (not respondents): 3, 4",
    ]
    zh = report.to_text(lang="zh")
    assert f"{path}: 4 行，发现 1 个问题" in zh
    assert "按 2025 年版问卷检查" in zh and "第 5 行: 发现 '?'" in zh
    assert "行号与电子表格一致（表头 = 第 1 行）" in zh


def test_report_shortens_long_values(tmp_path, cb):
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "industry", 0, "汽" * 500)))
    assert p.value == "汽" * 500  # the problem keeps the whole value
    text = validate_file(tmp_path / "wave.csv", codebook=cb).to_text()
    assert "(500 chars)" in text and "汽" * 100 not in text


def test_cli_validate_prints_the_report_and_sets_the_exit_code(tmp_path, cb, capsys):
    from survey.cli import main

    good = write_table(clean(), tmp_path / "good.csv")
    assert main(["validate", str(good), "--codebook", str(MINI)]) == 0
    assert capsys.readouterr().out.strip() == f"{good}: 4 rows, no problems"
    bad = write_table(with_cell(clean(), "budget_growth_expected", 2, "999"), tmp_path / "bad.csv")
    assert main(["validate", str(bad), "--codebook", str(MINI), "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "[out_of_range] 1 problem(s)" in out
    assert "  column 'budget_growth_expected': expected a number from -100 to 300" in out
    assert "    row 4: found '999'" in out
    (tmp_path / "empty.csv").write_bytes(b"")
    assert main(["validate", str(tmp_path / "empty.csv"), "--codebook", str(MINI)]) == 1
    out = capsys.readouterr().out
    assert "[unreadable] 1 problem(s)" in out and "the file is empty (0 bytes)" in out


# -- more files that cannot be read ---------------------------------------------------------------
def test_binary_named_csv(tmp_path):
    path = tmp_path / "wave.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(WaveFormatError, match=r"named \.csv but contains binary data") as info:
        read_table(path)
    assert info.value.file == str(path) and info.value.expected == "a delimited text file"


@pytest.mark.parametrize("ext", ["parquet", "sav", "xlsx"])
def test_text_named_as_binary_format(tmp_path, ext):
    path = tmp_path / f"wave.{ext}"
    path.write_text("resp_id,industry\nr1,auto\n", encoding="utf-8")
    with pytest.raises(WaveFormatError, match=rf"named \.{ext} but contains text"):
        read_table(path)


def test_legacy_xls_named_xlsx(tmp_path):
    path = tmp_path / "wave.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    with pytest.raises(WaveFormatError, match=r"legacy \.xls") as info:
        read_table(path)
    assert "save as .xlsx" in info.value.expected


@pytest.mark.parametrize("content", [b"\xef\xbb\xbf", b"\n\n", b" , ,\r\n,\r\n"])
def test_file_without_header(tmp_path, content):
    path = tmp_path / "wave.csv"
    path.write_bytes(content)
    with pytest.raises(WaveFormatError, match="no header row"):
        read_table(path)


@pytest.mark.parametrize("ext", ["parquet", "sav", "xlsx", "tsv"])
def test_header_only_in_every_format(tmp_path, cb, ext):
    typed = load_wave(write_table(clean(), tmp_path / "w.csv"), codebook=cb).frame
    path = write_table(typed.head(0), tmp_path / f"wave.{ext}", codebook=cb)
    with pytest.raises(WaveFormatError, match="no respondents") as info:
        load_wave(path, codebook=cb)
    assert info.value.expected == "at least one respondent row"
    assert validate_file(path, codebook=cb).problems[0].kind == "unreadable"


def test_binary_without_nul_bytes_named_csv(tmp_path):
    import random

    rng = random.Random(7)
    data = bytes(rng.choice([b for b in range(1, 128) if b not in b"\n\r,"]) for _ in range(4000))
    path = tmp_path / "wave.csv"
    path.write_bytes(b"resp_id,industry\n" + data)
    with pytest.raises(WaveFormatError, match=r"contains binary data \(\d+ control characters"):
        read_table(path)
    # a few stray control characters in real text are cells, not a sign of binary data
    path.write_bytes("resp_id,industry\nr1,汽车\x0b\nr2,auto\x1a\n".encode("gb18030"))
    assert read_table(path)["industry"].to_list() == ["汽车\x0b", "auto\x1a"]


# -- editions: options and items not asked ----------------------------------------------------------
def history_cb(**extra) -> Codebook:
    """The mini codebook where 2025 adds a challenge and a grid item, drops a constant-sum part's
    companion and relabels an industry; ``extra`` adds options to ``challenges``."""
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    raw["editions"] = [2024, 2025]
    q = {r["id"]: r for r in raw["questions"]}
    q["challenges"]["options"].append(
        {"code": "ai", "zh": "AI能力", "en": "AI skills", "added": 2025}
    )
    q["challenges"]["options"] += extra.get("challenges", [])
    q["media_intent"]["items"].append({"code": "ctv", "zh": "联网电视", "en": "CTV", "added": 2025})
    q["industry"]["options"].append({"code": "pets", "zh": "宠物", "en": "Pets", "added": 2025})
    q["industry"]["options"][2]["labels"] = {2025: {"zh": "汽车出行", "en": "Mobility"}}
    q["budget_split"]["items"].append(
        {"code": "other", "zh": "其他", "en": "Other", "dropped": 2025}
    )
    return Codebook.from_dict(raw)


def test_option_added_later_is_null_in_an_earlier_wave(tmp_path):
    cb = history_cb()
    frame = clean().with_columns(budget_split__other=pl.Series(["0", "", "0", "0"]))
    wave = load_wave(write_table(frame, tmp_path / "wave.csv"), codebook=cb, edition=2024)
    f = wave.frame
    assert f["challenges__ai"].to_list() == [None] * 4  # not asked: null, never False
    assert f["challenges__ai"].dtype == pl.Boolean
    assert f["challenges__roi"].to_list() == [False, True, False, False]
    assert f["media_intent__ctv"].to_list() == [None] * 4
    assert f["budget_split__other"].to_list() == [0.0, None, 0.0, 0.0]  # asked in 2024
    assert dict(f.schema) == dict(cb.column_dtypes(2024))


def test_not_asked_columns_with_not_selected_marks_load_as_null(tmp_path):
    cb = history_cb()
    frame = clean().with_columns(
        challenges__ai=pl.Series(["0", "", "否", "false"]),
        media_intent__ctv=pl.lit(None, pl.String),
    )
    frame = frame.with_columns(budget_split__other=pl.Series(["0", "", "0", "0"]))
    wave = load_wave(write_table(frame, tmp_path / "wave.csv"), codebook=cb, edition=2024)
    assert wave.frame["challenges__ai"].null_count() == 4


def test_selected_not_asked_option_is_a_problem(tmp_path, cb):
    cb = history_cb()
    frame = clean().with_columns(
        challenges__ai=pl.Series(["", "1", "", ""]),
        budget_split__other=pl.Series(["0", "", "0", "0"]),
    )
    p = only(problems_of(tmp_path, cb, frame, edition=2024))
    assert (p.kind, p.row, p.column, p.value) == ("not_asked", 3, "challenges__ai", "1")
    assert "not asked in edition 2024 (added in 2025)" in p.expected


def test_code_of_an_option_not_asked_is_a_problem(tmp_path):
    cb = history_cb()
    frame = with_cell(clean(), "industry", 1, "宠物").with_columns(
        budget_split__other=pl.Series(["0", "", "0", "0"])
    )
    p = only(problems_of(tmp_path, cb, frame, edition=2024))
    assert (p.kind, p.row, p.column, p.value) == ("not_asked", 3, "industry", "宠物")
    assert "not asked in 2024: pets" in p.expected


def test_filled_grid_item_and_part_not_asked_are_problems(tmp_path):
    cb = history_cb()
    frame = clean().with_columns(
        challenges__ai=pl.lit(""),
        media_intent__ctv=pl.Series(["", "", "increase", ""]),
        budget_split__other=pl.Series(["", "", "", "5"]),
    )
    problems = problems_of(tmp_path, cb, frame, edition=2025)
    assert [(p.kind, p.row, p.column, p.value) for p in problems] == [
        ("not_asked", 5, "budget_split__other", "5"),
    ]
    problems = problems_of(
        tmp_path, cb, frame.drop("budget_split__other", "challenges__ai"), edition=2024
    )
    assert [(p.kind, p.row, p.column, p.value) for p in problems] == [
        ("missing_column", None, "budget_split__other", None),
        ("not_asked", 4, "media_intent__ctv", "increase"),
    ]


def test_new_option_column_is_required_in_its_edition(tmp_path):
    cb = history_cb()
    problems = problems_of(tmp_path, cb, clean(), edition=2025)
    assert [(p.kind, p.column) for p in problems] == [
        ("missing_column", "challenges__ai"),
        ("missing_column", "media_intent__ctv"),
    ]
    assert "'ai' asked in edition 2025" in problems[0].expected


def test_relabelled_option_is_read_by_either_label(tmp_path):
    cb = history_cb()
    frame = clean().with_columns(
        industry=pl.Series(["汽车出行", "Mobility", "汽车", "pets"]),
        challenges__ai=pl.lit(""),
        media_intent__ctv=pl.lit(""),
    )
    wave = load_wave(write_table(frame, tmp_path / "wave.csv"), codebook=cb, edition=2025)
    assert wave.frame["industry"].to_list() == ["auto", "auto", "auto", "pets"]
    assert "budget_split__other" not in cb.columns(2025)
    assert wave.frame["budget_split__other"].to_list() == [None] * 4


def test_blank_columns_of_a_question_not_asked_are_accepted(tmp_path):
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    for q in raw["questions"]:
        if q["id"] == "budget_split":
            q["editions"] = [2024]
    cb = Codebook.from_dict(raw)
    frame = clean().with_columns(
        budget_split__brand=pl.lit(""), budget_split__performance=pl.lit(None, pl.String)
    )
    wave = load_wave(write_table(frame, tmp_path / "wave.csv"), codebook=cb, edition=2023)
    assert "budget_split__brand" not in wave.frame.columns


# -- issue 12: exclusive options, NFKC ids, weight bounds -------------------------------------------
NONE_OPTION = [{"code": "none", "zh": "以上都没有", "en": "None of these", "exclusive": True}]


def test_exclusive_option_with_another_option_is_a_problem(tmp_path):
    cb = history_cb(challenges=NONE_OPTION)
    frame = clean().with_columns(
        challenges__none=pl.Series(["1", "", "", "1"]),  # row 2: with measurement+competition
        challenges__ai=pl.lit(""),
        media_intent__ctv=pl.lit(""),
    )
    p = only(problems_of(tmp_path, cb, frame, edition=2025))
    assert (p.kind, p.row, p.column) == ("exclusive_conflict", 2, "challenges__none")
    assert p.value == "none + measurement, competition"
    assert "selected alone" in p.expected
    ok = frame.with_columns(
        challenges__none=pl.Series(["", "", "", "1"])
    )  # row 5 selects none only
    assert validate_file(write_table(ok, tmp_path / "ok.csv"), codebook=cb, edition=2025).ok


def test_exclusive_is_checked_only_against_options_asked(tmp_path):
    """A stale selection in a not-asked column is its own problem, not an exclusive conflict."""
    cb = history_cb(challenges=NONE_OPTION)
    frame = clean().with_columns(
        challenges__measurement=pl.lit(""),
        challenges__roi=pl.lit(""),
        challenges__competition=pl.lit(""),
        challenges__none=pl.lit("1"),
        challenges__ai=pl.Series(["1", "", "", ""]),
        budget_split__other=pl.Series(["0", "", "0", "0"]),
    )
    problems = problems_of(tmp_path, cb, frame, edition=2024)
    assert [(p.kind, p.row, p.column) for p in problems] == [("not_asked", 2, "challenges__ai")]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("R1", "Ｒ１"),
        ("r1", "r\u200b1"),
        ("r1", "\ufeffr1"),
        ("r-1", "r\uff0d1"),
        ("r1", "r1\u3000"),
    ],
)
def test_ids_differing_only_in_width_or_invisible_characters_are_duplicates(
    tmp_path, cb, first, second
):
    frame = with_cell(with_cell(clean(), "resp_id", 0, first), "resp_id", 2, second)
    p = only(problems_of(tmp_path, cb, frame))
    assert (p.kind, p.row, p.column) == ("duplicate_id", 4, "resp_id")
    assert p.value.strip() == second.strip() or p.value == second
    assert "row 2" in p.expected


def test_ids_differing_in_case_are_distinct(tmp_path, cb):
    frame = with_cell(clean(), "resp_id", 2, "R1")
    assert validate_file(write_table(frame, tmp_path / "wave.csv"), codebook=cb).ok


def test_id_made_of_invisible_characters_is_missing(tmp_path, cb):
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "resp_id", 1, "\u200b")))
    assert (p.kind, p.row) == ("missing_id", 3)


@pytest.mark.parametrize("value", ["1e308", "1e13", "inf", "1e400", "2e6"])
def test_weight_above_the_bound_is_a_problem(tmp_path, cb, value):
    # median of (1, 0.5, x, 1) is 1: the bound is min(1e6 x 1, 1e12) = 1e6
    p = only(problems_of(tmp_path, cb, with_cell(clean(), "weight", 2, value)))
    assert (p.kind, p.row, p.column, p.value) == ("bad_weight", 4, "weight", value)
    if value not in ("inf", "1e400"):
        assert "at most 1000000 (1e+06 × the median weight 1" in p.expected


def test_large_expansion_weights_within_the_bound_are_fine(tmp_path, cb):
    frame = clean().with_columns(weight=pl.Series(["25000", "1200", "900000", "31000"]))
    wave = load_wave(write_table(frame, tmp_path / "wave.csv"), codebook=cb)
    assert wave.frame["weight"].to_list() == [25000.0, 1200.0, 900000.0, 31000.0]


def test_stale_synthetic_columns_can_be_read_as_not_asked(tmp_path):
    """A wave generated before the codebook said an option was not asked: not_asked="null"."""
    cb = history_cb()
    frame = clean().with_columns(
        challenges__ai=pl.Series(["1", "x", "0", "garbage"]),
        media_intent__ctv=pl.Series(["increase", "", "", ""]),
        budget_split__other=pl.Series(["0", "", "0", "0"]),
    )
    typed, problems = validate(frame, cb, edition=2024, not_asked="null")
    assert problems == []
    assert typed["challenges__ai"].to_list() == [None] * 4
    assert typed["media_intent__ctv"].to_list() == [None] * 4
    _, problems = validate(frame, cb, edition=2024)
    assert sorted({(p.kind, p.column) for p in problems}) == [
        ("bad_multi_cell", "challenges__ai"),
        ("not_asked", "challenges__ai"),
        ("not_asked", "media_intent__ctv"),
    ]
    # a single-select code of an option not asked is an answer that would change: always an error
    single = with_cell(frame, "industry", 0, "pets")
    _, problems = validate(single, cb, edition=2024, not_asked="null")
    assert [(p.kind, p.column, p.value) for p in problems] == [("not_asked", "industry", "pets")]


def test_multi_select_row_left_blank_is_no_answer_not_false(tmp_path, cb):
    """Issue 10: a blank multi-select cell was always False, never "not asked"."""
    frame = clean().with_columns(
        challenges__measurement=pl.Series(["1", "", "", "0"]),
        challenges__roi=pl.Series(["", "", "", ""]),
        challenges__competition=pl.Series(["", "", "", ""]),
    )
    wave = load_wave(write_table(frame, tmp_path / "wave.csv"), codebook=cb)
    f = wave.frame
    # r1 answered (measurement); r2, r3 left the whole question blank; r4 answered "0" (none)
    assert f["challenges__measurement"].to_list() == [True, None, None, False]
    assert f["challenges__roi"].to_list() == [False, None, None, False]
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    for q in raw["questions"]:
        if q["id"] == "challenges":
            q["required"] = True
    problems = problems_of(tmp_path, Codebook.from_dict(raw), frame)
    assert [(p.kind, p.row) for p in problems] == [
        ("missing_required", 3),
        ("missing_required", 4),
        ("missing_required", 5),
    ]


def test_multi_select_marked_only_when_selected_reads_blank_as_not_selected(tmp_path, cb):
    """A label-or-blank (or 1-or-blank) file cannot say "not answered": blank = not selected."""
    frame = clean().with_columns(
        challenges__measurement=pl.Series(["营销效果难测量与验证", "", "", "1"]),
        challenges__roi=pl.lit(""),
        challenges__competition=pl.lit(""),
    )
    f = load_wave(write_table(frame, tmp_path / "wave.csv"), codebook=cb).frame
    assert f["challenges__measurement"].to_list() == [True, False, False, True]
    assert f["challenges__roi"].to_list() == [False] * 4


def test_adding_and_dropping_options_keeps_earlier_waves_loading(tmp_path):
    """Issue 10: adding an option to an existing question made every earlier wave that asked it
    fail to load (missing_column); removing one failed the same way."""
    from survey.paths import data_dir

    raw = yaml.safe_load((data_dir() / "codebook.yaml").read_text(encoding="utf-8"))
    q = {r["id"]: r for r in raw["questions"]}
    q["challenges"]["options"].insert(
        0, {"code": "ai_search", "zh": "AI搜索冲击", "en": "AI search disruption", "added": 2026}
    )
    q["challenges"]["options"][2]["dropped"] = 2026  # roi
    q["media_intent"]["items"].append({"code": "ctv", "zh": "联网电视", "en": "CTV", "added": 2026})
    q["industry"]["options"][4]["labels"] = {2026: {"zh": "汽车出行", "en": "Mobility"}}
    cb = Codebook.from_dict(raw)
    for edition in (2022, 2025):
        wave = load_wave(edition, codebook=cb, strict=True)
        f = wave.frame
        assert f["challenges__ai_search"].null_count() == f.height  # not asked: null
        assert f["media_intent__ctv"].null_count() == f.height
        assert f["challenges__roi"].null_count() == 0  # asked then: every respondent answered
    assert "challenges__roi" not in cb.columns(2026) and "challenges__ai_search" in cb.columns(2026)
    assert cb["challenges"].comparable_codes(2025, 2026)[:2] == ["measurement", "competition"]
    assert cb["industry"].label("auto", "zh", 2026) == "汽车出行"


@st.composite
def multi_deliveries(draw):
    """A multi question with a random option history, an edition, and a delivery of it."""
    n_opt = draw(st.integers(1, 5))
    options = []
    for i in range(n_opt):
        o = {"code": f"o{i}", "zh": f"选项{i}", "en": f"Option {i}"}
        when = draw(st.sampled_from(["always", "added", "dropped"]))
        if when != "always":
            o[when] = 2025
        options.append(o)
    if all("added" in o for o in options):
        options[0].pop("added")
    if all("dropped" in o for o in options):
        options[0].pop("dropped")
    cb = Codebook.from_dict(
        {
            "questions": [
                {
                    "id": "q",
                    "section": "s",
                    "type": "multi",
                    "text": {"zh": "问", "en": "Q"},
                    "options": options,
                }
            ]
        }
    )
    edition = draw(st.sampled_from([2024, 2025]))
    n = draw(st.integers(1, 6))
    data = {"resp_id": [f"r{i}" for i in range(n)]}
    for c in cb["q"].columns(edition):
        data[c] = draw(
            st.lists(st.sampled_from(["1", "0", "", " ", "是", "否"]), min_size=n, max_size=n)
        )
    for c in cb["q"].not_asked_columns(edition):
        if draw(st.booleans()):
            data[c] = draw(st.lists(st.sampled_from(["", "0", "否"]), min_size=n, max_size=n))
    return cb, edition, pl.DataFrame(data)


@settings(max_examples=150, deadline=None)
@given(multi_deliveries())
def test_multi_select_typing_property(case):
    cb, edition, raw = case
    typed, problems = validate(raw, cb, edition=edition)
    assert problems == []
    asked = cb["q"].columns(edition)
    assert typed.columns == ["resp_id", *cb["q"].columns()]
    for c in cb["q"].not_asked_columns(edition):
        assert typed[c].null_count() == typed.height  # not asked: null, never False
    explicit = any(v in ("0", "否") for c in asked for v in raw[c].to_list())
    for i, row in enumerate(raw.iter_rows(named=True)):
        cells = [row[c].strip() for c in asked]
        answered = any(cells) or not explicit
        for c, cell in zip(asked, cells, strict=True):
            want = (cell in ("1", "是")) if answered else None
            assert typed[c][i] == want, (c, i, cell)
