"""Fuzz suite over the readers, validators and ingest (issue 12 item 5).

Corpus: the hostile files of tests/make_hostile.py, built at test time into a temporary folder.
Every file through ``survey validate``, ``load_wave`` and ``ingest``: no exception other than the
documented errors, a clear message naming the file, and no file accepted with a value different
from the one a spreadsheet shows. Property-based: random cells written with Excel number formats
read back as the spreadsheet shows them; random byte damage to corpus files never escapes as
anything but the documented errors.
"""

from __future__ import annotations

import os
import random
import sys
import warnings
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey.cli import main
from survey.errors import SurveyError, ValidationError, WaveFormatError
from survey.ingest import ingest
from survey.io import KINDS, PartialWaveWarning, load_wave, read_table, validate_file

sys.path.insert(0, str(Path(__file__).parent))
from make_hostile import Case, build

EXAMPLES = int(os.environ.get("SURVEY_PROPERTY_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    return {c.name: c for c in build(tmp_path_factory.mktemp("hostile"))}


@pytest.fixture(scope="module")
def reference() -> pl.DataFrame:
    return load_wave(2025).frame


CASES = [
    "percent_cells.xlsx", "truncated_row.csv", "long_row.csv", "formula_no_value.xlsx",
    "merged_industry.xlsx", "mixed_gbk_utf8.csv", "nul_after_64k.csv", "bad_quoting.csv",
    "unnamed_header.csv", "duplicate_header.csv", "invisible_header.csv", "invisible_unknown_header.csv", "title_rows.csv",
    "empty.csv", "header_only.csv", "binary.csv", "utf16_unicode_text.txt", "gbk.csv",
    "fullwidth_duplicate_ids.csv", "huge_weight.csv", "hyperlink_id.csv", "unknown_label.csv",
    "xfd_100k_rows.xlsx", "huge_shared_string.xlsx", "doctype.xlsx", "password.xlsx",
    "legacy.xlsx", "csv_named.xlsx", "readme_first_sheet.xlsx", "text_formatted_ids.xlsx",
]  # fmt: skip


def test_the_corpus_has_every_case(corpus):
    assert sorted(corpus) == sorted(CASES)


@pytest.mark.parametrize("name", CASES)
def test_survey_validate_prints_a_clear_message(corpus, name, capsys):
    case = corpus[name]
    code = main(["validate", str(case.path), "--edition", "2025"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in err
    assert code == (0 if case.expect == "ok" else 1), out + err
    assert str(case.path) in out
    if case.message:
        assert case.message in out, out
    if case.kind:
        assert f"[{case.kind}]" in out, out


@pytest.mark.parametrize("name", CASES)
def test_load_wave_accepts_only_what_a_spreadsheet_shows(corpus, reference, name):
    case = corpus[name]
    report = validate_file(case.path, edition=2025)
    assert all(p.kind in (*KINDS, "unreadable") for p in report.problems)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PartialWaveWarning)
            wave = load_wave(case.path, edition=2025)
    except WaveFormatError as e:
        assert case.expect == "refused", e
        assert e.file == str(case.path) and e.expected
        return
    except ValidationError as e:
        assert case.expect == "problems", e
        assert case.kind in {p.kind for p in e.problems}
        return
    if case.kind == "unknown_column":  # bring your own data: kept as an unlabelled variable
        assert not report.ok and {p.kind for p in report.problems} == {"unknown_column"}
        assert any(p.column in wave.frame.columns for p in report.problems)
        return
    assert case.expect == "ok", name
    for row, column, value in case.shown:
        got = wave.frame[column][row]
        assert (str(got) if isinstance(value, str) else got) == value, (column, row, got, value)
    reference = reference.head(wave.n)
    for column in ("industry", "confidence", "challenges__roi"):  # untouched cells read exactly
        if not any(c == column for _, c, _ in case.shown):
            assert (
                wave.frame[column].cast(pl.String).to_list()
                == reference[column].cast(pl.String).to_list()
            )


@pytest.mark.parametrize("name", CASES)
def test_ingest_publishes_only_clean_files(corpus, name, tmp_path):
    case = corpus[name]
    try:
        result = ingest(case.path, edition=2025, out_dir=tmp_path)
    except SurveyError as e:
        assert case.expect == "refused", e
        assert not (tmp_path / "2025.parquet").exists()
        return
    assert result.ok == (case.expect == "ok"), result.to_text()
    assert (tmp_path / "2025.parquet").exists() == result.ok
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".tmp", ".bak")]


# -- property-based ---------------------------------------------------------------------------------
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn")), min_size=1, max_size=20
).filter(lambda s: s.strip() != "" and not s.startswith("="))


@SETTINGS
@given(
    cells=st.lists(
        st.one_of(
            st.tuples(st.just("percent"), st.integers(-1000, 10000)),
            st.tuples(
                st.just("general"), st.floats(-1e9, 1e9, allow_nan=False).map(lambda v: round(v, 4))
            ),
            st.tuples(st.just("date"), st.integers(1, 60000)),
            st.tuples(st.just("text"), TEXT),
            st.tuples(st.just("textnum"), st.integers(0, 99999).map(lambda n: f"{n:07d}")),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_excel_cells_read_as_the_spreadsheet_shows_them(tmp_path, cells):
    import datetime as dt

    import xlsxwriter

    path = tmp_path / "cells.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    formats = {
        "percent": wb.add_format({"num_format": "0%"}),
        "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
        "textnum": wb.add_format({"num_format": "@"}),
    }
    ws.write_row(0, 0, ["id", "value"])
    expected = []
    for r, (kind, value) in enumerate(cells, start=1):
        ws.write_string(r, 0, f"r{r}")
        if kind == "percent":
            ws.write_number(r, 1, value / 100, formats["percent"])
            expected.append(f"{value}%")
        elif kind == "general":
            ws.write_number(r, 1, value)
            expected.append(str(int(value)) if value == int(value) else format(value, ".15g"))
        elif kind == "date":
            ws.write_number(r, 1, value, formats["date"])
            when = dt.datetime(1899, 12, 30) + dt.timedelta(days=value)
            expected.append(when.date().isoformat() if value >= 61 else None)
        else:
            ws.write_string(r, 1, value, formats.get(kind))
            expected.append(value)
    wb.close()
    got = read_table(path)["value"].to_list()
    for g, e, (kind, _) in zip(got, expected, cells, strict=True):
        if e is not None:  # serials before 1900-03-01 (Excel's leap-year bug) are not checked
            assert g == e, (kind, g, e)


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    name=st.sampled_from(
        ["gbk.csv", "percent_cells.xlsx", "utf16_unicode_text.txt", "title_rows.csv"]
    ),
)
def test_damaged_corpus_files_raise_only_documented_errors(corpus, tmp_path, seed, name):
    rng = random.Random(seed)
    data = bytearray(corpus[name].path.read_bytes())
    for _ in range(rng.randint(1, 8)):
        how = rng.choice(["flip", "cut", "insert"])
        at = rng.randrange(len(data))
        if how == "flip":
            data[at] = rng.randrange(256)
        elif how == "cut":
            del data[at : at + rng.randint(1, 64)]
        else:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    path = tmp_path / name
    path.write_bytes(bytes(data))
    report = validate_file(path, edition=2025)
    assert all(p.kind in (*KINDS, "unreadable") for p in report.problems)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PartialWaveWarning)
            load_wave(path, edition=2025)
    except (WaveFormatError, ValidationError):
        pass
