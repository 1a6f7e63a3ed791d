"""Ingest: an agency delivery (Chinese headers and labels) mapped, validated and stored."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml
from helpers import mini_typed_frame

from survey.codebook import Codebook
from survey.errors import SurveyError
from survey.ingest import delivery_frame, header_forms, ingest, map_headers, normalize
from survey.io import load_wave, write_table

MINI = Path(__file__).parent / "fixtures" / "mini_codebook.yaml"


@pytest.fixture(scope="module")
def cb() -> Codebook:
    return Codebook.load(MINI)


@pytest.fixture()
def typed(cb: Codebook) -> pl.DataFrame:
    return mini_typed_frame(cb)


def _deliver(frame: pl.DataFrame, cb: Codebook, path: Path) -> Path:
    return write_table(delivery_frame(frame, cb), path)


def test_normalize_folds_width_case_and_punctuation() -> None:
    assert normalize("Q1．行业（ＡＢ）") == normalize("q1行业(ab)")
    assert normalize("营销挑战-行业竞争加剧") == normalize("营销挑战：行业竞争加剧")


def test_delivery_round_trips_through_ingest(tmp_path: Path, cb: Codebook, typed: pl.DataFrame) -> None:
    src = _deliver(typed, cb, tmp_path / "交付.xlsx")
    headers = pl.read_excel(src).columns
    assert headers[:3] == ["受访者编号", "所属行业", "明年中国营销投资将"]
    result = ingest(src, edition=2026, codebook=cb, out_dir=tmp_path / "waves")
    assert result.ok, result.to_text()
    assert result.wave_path == tmp_path / "waves" / "2026.parquet"
    wave = load_wave(result.wave_path, codebook=cb)
    assert wave.edition == 2026 and wave.metadata["synthetic"] == "false"
    assert wave.metadata["source_file"] == "交付.xlsx"
    assert wave.frame.select(typed.columns).equals(typed)
    assert (tmp_path / "waves" / "2026.validation.log").read_text(encoding="utf-8").startswith("ingest 交付.xlsx")
    # a valid wave still gets told what will stop the report: no 2026 weighting margins yet
    assert any("2026" in w and "data/weighting.yaml" in w and "unweighted" in w for w in result.warnings)
    assert "\nwarnings:\n" in result.to_text()


def test_mapping_file_renames_headers_and_options(tmp_path: Path, cb: Codebook, typed: pl.DataFrame) -> None:
    delivered = delivery_frame(typed, cb).rename({"所属行业": "Q1 贵司行业"}).with_columns(
        pl.col("Q1 贵司行业").replace({"美妆个护": "美妆"}),
        pl.lit("2026-10-01").alias("提交时间"),
    )
    src = write_table(delivered, tmp_path / "delivery.csv")
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        yaml.safe_dump(
            {"columns": {"Q1 贵司行业": "industry", "提交时间": "ignore"}, "options": {"industry": {"美妆": "beauty"}}},
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    result = ingest(src, edition=2026, codebook=cb, mapping=mapping, out_dir=tmp_path)
    assert result.ok, result.to_text()
    assert result.ignored == ("提交时间",)
    assert load_wave(result.wave_path, codebook=cb).frame["industry"].to_list() == typed["industry"].to_list()


def test_unmapped_header_and_label_get_suggestions_and_no_wave(tmp_path: Path, cb: Codebook, typed: pl.DataFrame) -> None:
    delivered = delivery_frame(typed, cb).rename({"所属行业": "所属行业类别"}).with_columns(
        pl.col("明年中国营销投资将").replace({"持平": "基本持平"})
    )
    src = write_table(delivered, tmp_path / "delivery.csv")
    result = ingest(src, edition=2026, codebook=cb, out_dir=tmp_path)
    assert not result.ok and result.wave_path is None
    assert not (tmp_path / "2026.parquet").exists()
    kinds = {p.kind for p in result.problems}
    assert {"unknown_column", "missing_column", "unknown_code"} <= kinds
    header = next(s for s in result.suggestions if s.what == "header")
    assert header.found == "所属行业类别" and header.candidates[0][0] == "industry"
    label = next(s for s in result.suggestions if s.what == "label")
    assert (label.question, label.found, label.candidates[0][0]) == ("confidence", "基本持平", "flat")
    assert not (tmp_path / "2026.validation.log").exists()  # the log of a published wave only
    log = (tmp_path / "2026.rejected.log").read_text(encoding="utf-8")
    assert "did you mean industry" in log and "row 2" in log


def test_refuses_to_overwrite_without_force(tmp_path: Path, cb: Codebook, typed: pl.DataFrame) -> None:
    src = _deliver(typed, cb, tmp_path / "d.xlsx")
    first = ingest(src, edition=2026, codebook=cb, out_dir=tmp_path)
    before = first.wave_path.read_bytes()
    with pytest.raises(SurveyError, match="exists; pass --force"):
        ingest(src, edition=2026, codebook=cb, out_dir=tmp_path)
    again = ingest(src, edition=2026, codebook=cb, out_dir=tmp_path, force=True)
    assert again.ok and again.wave_path.read_bytes() == before


def test_header_forms_cover_every_column(cb: Codebook) -> None:
    assert set(header_forms(cb).values()) >= set(cb.columns())
    mapped, ignored, suggestions = map_headers(["industry", "挑战-营销ROI难提升"], cb)
    assert mapped == {"industry": "industry"} and not ignored
    assert suggestions[0].found == "挑战-营销ROI难提升"


def test_validate_and_load_accept_worded_headers(tmp_path: Path) -> None:
    """A wave with the questionnaire's Chinese headers and labels validates as it is."""
    from survey.io import load_wave, validate_file, write_table

    wave = load_wave(2025)
    delivered = delivery_frame(wave.frame.head(30), wave.codebook)
    assert "industry" not in delivered.columns
    path = write_table(delivered, tmp_path / "wave_2025.xlsx")
    report = validate_file(path)
    assert report.ok, report.to_text()
    again = load_wave(path, edition=2025).frame.select(wave.frame.columns)
    assert again.drop("weight").equals(wave.frame.head(30).drop("weight"))
    assert again["weight"].to_list() == pytest.approx(wave.frame["weight"].head(30).to_list())
