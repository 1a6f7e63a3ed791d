"""docs/adding-a-wave.md, followed literally: a 2026 wave goes in end to end.

The test builds a 2026 delivery from the generator (Excel, Chinese headers and labels, a relabelled
column, a renamed option, a dropped question and a new question), runs the documented commands and
checks that the rendered report compares 2026 with 2025.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from survey.cli import main
from survey.codebook import Codebook
from survey.ingest import delivery_frame
from survey.io import load_wave, write_table
from survey.paths import data_dir
from survey.synth import synthesize

pytestmark = pytest.mark.slow

NEW_QUESTION = {
    "id": "ai_budget_share",
    "section": "ai",
    "type": "numeric",
    "unit": "percent",
    "range": [0, 100],
    "text": {"zh": "AI营销占营销预算的比例(%)", "en": "Share of the marketing budget spent on AI marketing (%)"},
    "history": [{"edition": 2026, "change": "added", "comparable": False}],
}


@pytest.fixture()
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "data"
    shutil.copytree(data_dir(), target)
    monkeypatch.setenv("SURVEY_DATA_DIR", str(target))
    return target


def _step1_codebook(data: Path) -> None:
    path = data / "codebook.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert 2026 not in raw["editions"]  # the list names the editions the codebook covers
    raw["questions"].append(NEW_QUESTION)
    for q in raw["questions"]:
        if q["id"] == "short_video_resources":
            q["history"] = [*q.get("history", []), {"edition": 2026, "change": "dropped", "comparable": False}]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _step2_figures(data: Path, n: int) -> None:
    with (data / "published" / "2025.csv").open(encoding="utf-8") as f:
        columns = next(csv.reader(f))
    row = dict.fromkeys(columns, "")
    row.update(
        edition="2026", figure_id="sample_size", measure="count", value=str(n), unit="count",
        base="advertisers surveyed", source_file="test delivery", quote="2026 test delivery",
    )
    with (data / "published" / "2026.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerow(row)


def _step3_margins(data: Path) -> None:
    path = data / "weighting.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw[2026] = raw[2025]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


def _delivery(tmp: Path, cb: Codebook, n: int) -> tuple[Path, Path, pl.DataFrame]:
    frame = synthesize(2025, n=n, seed=2026).frame
    # the agency delivers the 2026 questionnaire: no dropped (short_video_resources) nor
    # earlier-only questions
    frame = frame.select(
        c for c in frame.columns if not cb.is_column(c) or cb.owner(c)[0].asked_in(2026)
    )
    assert not any(c.startswith("short_video_resources__") for c in frame.columns)
    frame = frame.with_columns(
        ("x26-" + pl.col("resp_id")).alias("resp_id"),
        (pl.int_range(pl.len()) % 21).cast(pl.Float64).alias("ai_budget_share"),
    )
    delivered = delivery_frame(frame, cb)
    industry_header = cb["industry"].text("zh")
    seeding = cb["internet_resources_increase"].label("seeding_platforms", "zh")
    seeding_header = f"{cb['internet_resources_increase'].short_label('zh')}-{seeding}"
    delivered = delivered.rename({industry_header: "Q1 贵司所属行业"}).with_columns(
        pl.col(seeding_header).replace({seeding: "内容" + seeding}),
        pl.lit("2026-10-15").alias("提交时间"),
    )
    src = write_table(delivered, tmp / "deliveries" / "2026.xlsx")
    mapping = tmp / "deliveries" / "2026-mapping.yaml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "columns": {"Q1 贵司所属行业": "industry", "提交时间": "ignore"},
                "options": {"internet_resources_increase": {"内容" + seeding: "seeding_platforms"}},
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return src, mapping, frame


def test_a_2026_wave_goes_in_end_to_end(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n = 240
    _step1_codebook(data)
    _step2_figures(data, n)
    assert main(["figures", "--check"]) == 0
    _step3_margins(data)
    (tmp_path / "deliveries").mkdir()
    cb = Codebook.load()
    src, mapping, frame = _delivery(tmp_path, cb, n)

    # 4. without the mapping the ingest refuses, names the problems and suggests the fix
    assert main(["ingest", str(src), "--edition", "2026"]) == 1
    out = capsys.readouterr().out
    assert "'Q1 贵司所属行业'" in out and "did you mean industry" in out
    assert not (data / "waves" / "2026.parquet").exists()
    assert main(["ingest", str(src), "--edition", "2026", "--mapping", str(mapping)]) == 0
    wave = load_wave(2026)
    assert wave.n == n and "ai_budget_share" in wave.frame.columns
    assert not any(c.startswith("short_video_resources") for c in wave.frame.columns)
    assert wave.frame["internet_resources_increase__seeding_platforms"].to_list() == (
        frame["internet_resources_increase__seeding_platforms"].to_list()
    )
    assert main(["ingest", str(src), "--edition", "2026", "--mapping", str(mapping)]) == 2  # exists

    # 5. the report: newest wave, compared with 2025
    out_dir = tmp_path / "out"
    assert main(["report", "--to", "html", "--out", str(out_dir), "--quiet"]) == 0
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    assert "2026 版基于" in html and "较 2025 版" in html
    assert "2025 → 2026" in html
    assert cb["short_video_resources"].short_label("zh") in html  # listed as not comparable
