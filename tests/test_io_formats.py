"""Every supported format round-trips to the same typed frame; Parquet waves are deterministic."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from survey.codebook import Codebook
from survey.errors import WaveFormatError
from survey.io import (
    ROW_COLUMN,
    load_wave,
    read_metadata,
    read_table,
    validate_file,
    write_table,
    write_wave,
)
from survey.wave import Wave

MINI = Path(__file__).parent / "fixtures" / "mini_codebook.yaml"


@pytest.fixture(scope="module")
def cb() -> Codebook:
    return Codebook.load(MINI)


def typed_frame(cb: Codebook) -> pl.DataFrame:
    """A small typed wave on the mini codebook, with nulls in every nullable column type."""
    data = {
        "resp_id": ["r001", "r002", "r003", "r004"],
        "industry": ["food_bev", "beauty", "auto", "beauty"],
        "confidence": ["flat", "big_increase", None, "small_decrease"],
        "budget_growth_expected": [10.5, -20.0, None, 300.0],
        "challenges__measurement": [True, False, False, True],
        "challenges__roi": [False, False, True, True],
        "challenges__competition": [True, False, False, False],
        "media_intent__mobile": ["increase", "not_invest", None, "flat"],
        "media_intent__outdoor": ["decrease", None, None, "flat"],
        "budget_split__brand": [60.0, 33.3, None, 100.0],
        "budget_split__performance": [40.0, 66.7, None, 0.0],
        "weight": [1.0, 0.5, 2.25, 1.0],
    }
    dtypes = cb.column_dtypes()
    return pl.DataFrame(data).with_columns(pl.col(c).cast(dtypes[c]) for c in data)


FORMATS = [
    ("wave.csv", {"encoding": "utf-8"}),
    ("wave.csv", {"encoding": "utf-8-sig"}),
    ("wave.csv", {"encoding": "gb18030"}),
    ("wave.csv", {"encoding": "gbk"}),
    ("wave.tsv", {}),
    ("wave.xlsx", {}),
    ("wave.parquet", {}),
    ("wave.sav", {"with_codebook": True}),
]


@pytest.mark.parametrize(("name", "kwargs"), FORMATS, ids=lambda x: str(x))
def test_each_format_round_trips(tmp_path, cb, name, kwargs):
    frame = typed_frame(cb)
    kwargs = dict(kwargs)
    if kwargs.pop("with_codebook", False):
        kwargs["codebook"] = cb
    path = write_table(frame, tmp_path / name, **kwargs)
    wave = load_wave(path, codebook=cb)
    assert_frame_equal(wave.frame, frame)
    assert wave.n == len(wave) == 4
    assert wave.source == path
    assert wave.edition is None


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", ["wave.csv", "wave.xlsx"])
def test_codes_and_labels_load_to_the_same_frame(tmp_path, cb, lang, name):
    frame = typed_frame(cb)
    wave = Wave(frame, None, cb)
    labelled = wave.labelled(lang).with_columns(
        pl.col(pl.Enum).cast(pl.String), pl.col(pl.Boolean).cast(pl.Int8)
    )
    assert labelled["industry"][0] == ("食品饮料" if lang == "zh" else "Food & beverage")
    path = write_table(labelled, tmp_path / name)
    assert_frame_equal(load_wave(path, codebook=cb).frame, frame)


def test_messy_spelling_is_accepted(tmp_path, cb):
    csv = (
        "resp_id,industry,confidence,budget_growth_expected,challenges__measurement,"
        "challenges__roi,challenges__competition,media_intent__mobile,media_intent__outdoor,"
        "budget_split__brand,budget_split__performance\n"
        " r1 ,\u3000汽 车\u3000,  LARGE   increase ,12%,√,营销ROI难提升,否,Not Invest,,60,40\n"
        "r2,FOOD_BEV,持平,１５,TRUE,no,X,增加,,,\n"
    )
    (tmp_path / "w.csv").write_text(csv, encoding="utf-8")
    frame = load_wave(tmp_path / "w.csv", codebook=cb).frame
    row = frame.row(0, named=True)
    assert row["resp_id"] == "r1"
    assert row["industry"] == "auto"
    assert row["confidence"] == "big_increase"
    assert row["budget_growth_expected"] == 12.0
    assert (row["challenges__measurement"], row["challenges__roi"]) == (True, True)
    assert row["challenges__competition"] is False
    assert row["media_intent__mobile"] == "not_invest"
    second = frame.row(1, named=True)
    assert (second["industry"], second["budget_growth_expected"]) == ("food_bev", 15.0)
    assert second["budget_split__brand"] is None
    assert "weight" not in frame.columns


def test_sav_has_value_labels(tmp_path, cb):
    import pyreadstat

    path = write_table(typed_frame(cb), tmp_path / "w.sav", codebook=cb)
    df, meta = pyreadstat.read_sav(str(path))
    assert meta.variable_value_labels["industry"] == {1.0: "食品饮料", 2.0: "美妆个护", 3.0: "汽车"}
    assert df["industry"].tolist() == [1.0, 2.0, 3.0, 2.0]
    assert set(df["challenges__roi"].tolist()) == {0.0, 1.0}
    raw = read_table(path)
    assert raw["industry"].to_list() == ["食品饮料", "美妆个护", "汽车", "美妆个护"]
    assert raw["budget_growth_expected"].to_list() == ["10.5", "-20", None, "300"]


def test_parquet_metadata_round_trips(tmp_path, cb):
    frame = typed_frame(cb)
    path = write_wave(
        frame, tmp_path / "wave.parquet", edition=2024, metadata={"synthetic": True, "seed": 42}
    )
    meta = read_metadata(path)
    assert meta["edition"] == "2024"
    assert meta["synthetic"] == "true"
    assert meta["seed"] == "42"
    assert meta["package_version"]
    wave = load_wave(path, codebook=cb)
    assert wave.edition == 2024
    assert wave.is_synthetic
    assert wave.metadata["seed"] == "42"
    assert_frame_equal(wave.frame, frame)
    # a Wave's metadata is carried over when it is written again
    again = write_wave(wave, tmp_path / "again.parquet", edition=2024)
    assert read_metadata(again)["seed"] == "42"
    with pytest.raises(TypeError):
        wave.metadata["seed"] = "1"  # type: ignore[index]


def test_write_wave_is_byte_identical(tmp_path, cb):
    frame = typed_frame(cb)
    meta = {"synthetic": True, "seed": 7}
    a = write_wave(frame, tmp_path / "a" / "w.parquet", edition=2025, metadata=meta)
    b = write_wave(frame.clone(), tmp_path / "b" / "w.parquet", edition=2025, metadata=meta)
    assert a.read_bytes() == b.read_bytes()
    first = a.read_bytes()
    write_wave(frame, a, edition=2025, metadata=meta)
    assert a.read_bytes() == first
    assert sorted(p.name for p in a.parent.iterdir()) == ["w.parquet"]


def test_write_wave_leaves_no_partial_file(tmp_path, cb, monkeypatch):
    import pyarrow.parquet as pq

    def boom(*args, **kwargs):
        Path(args[1]).write_bytes(b"PAR1 half")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError, match="disk full"):
        write_wave(typed_frame(cb), tmp_path / "w.parquet", edition=2025)
    assert list(tmp_path.iterdir()) == []


def test_edition_from_int_and_file_name(tmp_path, cb, monkeypatch):
    monkeypatch.setenv("SURVEY_DATA_DIR", str(tmp_path))
    frame = typed_frame(cb)
    write_wave(frame, tmp_path / "waves" / "2023.parquet", edition=2023)
    for arg in (2023, "2023"):
        wave = load_wave(arg, codebook=cb)
        assert wave.edition == 2023
        assert not wave.is_synthetic
    csv = write_table(frame, tmp_path / "advertisers_2022_final.csv")
    assert load_wave(csv, codebook=cb).edition == 2022
    assert load_wave(csv, codebook=cb, edition=2021).edition == 2021
    with pytest.raises(WaveFormatError, match="not found"):
        load_wave(1999, codebook=cb)


def test_row_numbers_follow_the_spreadsheet(tmp_path):
    (tmp_path / "w.csv").write_text('resp_id,industry\na,auto\n\n,\nb,"multi\nline"\nc,x\n')
    raw = read_table(tmp_path / "w.csv")
    assert raw[ROW_COLUMN].to_list() == [2, 5, 6]
    assert raw["industry"].to_list() == ["auto", "multi\nline", "x"]


def test_excel_sheets_and_blank_rows(tmp_path):
    import xlsxwriter

    path = tmp_path / "w.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("notes").write(0, 0, "read me")
    ws = wb.add_worksheet("data")
    ws.write_row(0, 0, ["resp_id", "budget_growth_expected", "industry"])
    ws.write_row(1, 0, ["a", 12, "auto"])
    ws.write_row(3, 0, [1001, 12.5, True])
    wb.close()
    raw = read_table(path, sheet="data")
    assert raw[ROW_COLUMN].to_list() == [2, 4]
    assert raw["resp_id"].to_list() == ["a", "1001"]
    assert raw["budget_growth_expected"].to_list() == ["12", "12.5"]
    assert raw["industry"].to_list() == ["auto", "true"]
    assert read_table(path, sheet=1).equals(raw)
    with pytest.raises(WaveFormatError, match="no respondents"):
        read_table(path)  # the first sheet has a header only
    with pytest.raises(WaveFormatError, match="no sheet"):
        read_table(path, sheet="missing")


def test_wave_labelled_and_repr(cb):
    wave = Wave(typed_frame(cb), 2025, cb, metadata={"synthetic": "true"})
    en = wave.labelled("en")
    assert en["confidence"].to_list() == ["Flat", "Large increase", None, "Slight decrease"]
    assert isinstance(en.schema["confidence"], pl.Enum)
    assert en["challenges__roi"].dtype == pl.Boolean
    assert wave.labelled()["industry"][2] == "汽车"
    assert "edition=2025" in repr(wave) and "synthetic" in repr(wave)


def test_validation_report_on_clean_and_unreadable_files(tmp_path, cb):
    ok = validate_file(write_table(typed_frame(cb), tmp_path / "w.csv"), codebook=cb)
    assert ok.ok and ok.n_rows == 4 and ok.to_polars().height == 0
    assert "no problems" in ok.to_text()
    assert "未发现问题" in ok.to_text(lang="zh")
    (tmp_path / "empty.csv").write_bytes(b"")
    bad = validate_file(tmp_path / "empty.csv", codebook=cb)
    assert not bad.ok and bad.problems[0].kind == "unreadable"
    assert "empty" in bad.to_text()


# -- encodings ------------------------------------------------------------------------------------
def test_gb18030_four_byte_characters_and_gbk(tmp_path, cb):
    """GBK is a subset of GB18030: both decode; characters outside GBK need GB18030's 4 bytes."""
    rare = "𠮷野家"  # U+20BB7 is not in GBK
    assert len(rare[0].encode("gb18030")) == 4
    with pytest.raises(UnicodeEncodeError):
        rare.encode("gbk")
    frame = typed_frame(cb).with_columns(pl.Series("resp_id", [rare, "r2", "r3", "r4"]))
    wave = load_wave(write_table(frame, tmp_path / "w.csv", encoding="gb18030"), codebook=cb)
    assert wave.frame["resp_id"][0] == rare
    labelled = (
        Wave(typed_frame(cb), None, cb)
        .labelled("zh")
        .with_columns(pl.col(pl.Enum).cast(pl.String), pl.col(pl.Boolean).cast(pl.Int8))
    )
    path = write_table(labelled, tmp_path / "gbk.csv", encoding="gbk")
    assert "美妆个护".encode("gbk") in path.read_bytes()
    assert_frame_equal(load_wave(path, codebook=cb).frame, typed_frame(cb))


def test_bom_is_not_part_of_the_first_column_name(tmp_path, cb):
    path = write_table(typed_frame(cb), tmp_path / "w.csv", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfresp_id,")
    assert read_table(path).columns[:2] == [ROW_COLUMN, "resp_id"]
    assert_frame_equal(load_wave(path, codebook=cb).frame, typed_frame(cb))


# -- row numbers as the user counts them, per format -----------------------------------------------
def bad_third_respondent(cb: Codebook) -> pl.DataFrame:
    frame = typed_frame(cb).with_columns(pl.col("budget_growth_expected").cast(pl.Float64))
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 2)
        .then(999.0)
        .otherwise(pl.col("budget_growth_expected"))
        .alias("budget_growth_expected")
    )


@pytest.mark.parametrize(
    ("name", "row", "words"),
    [
        ("w.csv", 4, "rows as numbered in the spreadsheet (header = row 1)"),
        ("w.xlsx", 4, "rows as numbered in the spreadsheet (header = row 1)"),
        (
            "w.parquet",
            4,
            "rows as in a spreadsheet export (column names = row 1, first record = row 2)",
        ),
        ("w.sav", 3, "rows are SPSS case numbers (first case = row 1)"),
    ],
)
def test_row_number_convention_of_each_format(tmp_path, cb, name, row, words):
    path = write_table(bad_third_respondent(cb), tmp_path / name, codebook=cb)
    report = validate_file(path, codebook=cb)
    assert [(p.kind, p.row, p.column, p.value) for p in report.problems] == [
        ("out_of_range", row, "budget_growth_expected", "999")
    ]
    assert report.rows == words and words in report.to_text()


def test_leading_blank_rows_keep_sheet_numbers(tmp_path, cb):
    import xlsxwriter

    path = tmp_path / "w.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(2, 1, ["resp_id", "industry"])  # header in B3, column A empty
    ws.write_row(3, 1, ["a", "auto"])
    ws.write_row(5, 1, ["b", "beauty"])
    wb.close()
    raw = read_table(path)
    assert raw.columns == [ROW_COLUMN, "resp_id", "industry"]
    assert raw[ROW_COLUMN].to_list() == [4, 6]
    (tmp_path / "w.csv").write_text("\n , \nresp_id,industry\na,auto\n", encoding="utf-8")
    assert read_table(tmp_path / "w.csv")[ROW_COLUMN].to_list() == [4]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(tmp_path, newline):
    text = newline.join(["resp_id,industry", "a,auto", "", "b,x", ""])
    (tmp_path / "w.csv").write_bytes(text.encode("utf-8"))
    raw = read_table(tmp_path / "w.csv")
    assert raw[ROW_COLUMN].to_list() == [2, 4]
    assert raw["industry"].to_list() == ["auto", "x"]


def test_trailing_delimiters_kept_and_short_rows_refused(tmp_path):
    (tmp_path / "w.csv").write_text("resp_id,industry,note\na,auto,,,\nb,x,\n", encoding="utf-8")
    raw = read_table(tmp_path / "w.csv")
    assert raw.rows() == [(2, "a", "auto", None), (3, "b", "x", None)]
    # a truncated transfer: row 3 ends inside its second cell ("13" cut to "1")
    (tmp_path / "cut.csv").write_text("resp_id,growth,note\na,13,\nb,1", encoding="utf-8")
    with pytest.raises(WaveFormatError, match=r"row 3: 2 cells; expected 3 cells"):
        read_table(tmp_path / "cut.csv")


# -- SPSS value labels ------------------------------------------------------------------------------
def test_sav_value_labels_in_english_and_unlabelled_codes(tmp_path, cb):
    import pyreadstat

    pdf = pl.DataFrame(
        {"resp_id": ["a", "b", "c"], "industry": [1.0, 3.0, 9.0], "confidence": [5.0, None, 1.0]}
    ).to_pandas()
    path = tmp_path / "w.sav"
    pyreadstat.write_sav(
        pdf,
        str(path),
        variable_value_labels={
            "industry": {1.0: "Food & beverage", 2.0: "Beauty & personal care", 3.0: "Automotive"},
            "confidence": {1.0: "大幅减少", 5.0: "大幅增加"},
        },
    )
    raw = read_table(path)
    assert raw["industry"].to_list() == ["Food & beverage", "Automotive", "9"]
    assert raw["confidence"].to_list() == ["大幅增加", None, "大幅减少"]
    assert raw[ROW_COLUMN].to_list() == [1, 2, 3]
    problems = [p for p in validate_file(path, codebook=cb).problems if p.kind == "unknown_code"]
    assert [(p.row, p.column, p.value) for p in problems] == [(3, "industry", "9")]
