"""``survey tabs`` and ``survey codebook`` end to end (the CLI calls the library)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl

import survey
from survey.cli import main
from survey.weighting import standard_design


def test_tabs_writes_the_filtered_book(tmp_path: Path, capsys) -> None:
    out = tmp_path / "tabs.xlsx"
    rc = main(["tabs", "--rows", "confidence,media_intent:mobile", "--cols",
               "job_level,industry>brand_type", "--where", "industry=beauty,food_bev",
               "--edition", "2025", "-o", str(out)])
    assert rc == 0
    err = capsys.readouterr().err
    assert "基数：美妆个护+食品饮料，n = " in err
    wb = openpyxl.load_workbook(out)
    assert len(wb.sheetnames) == 3  # index + 2 questions
    d = standard_design(survey.load_wave(2025))
    b = survey.banner(d, ["confidence", "media_intent:mobile"],
                      ["job_level", ("industry", "brand_type")],
                      where={"industry": ["beauty", "food_bev"]}, scores=True)
    ws = wb[wb.sheetnames[1]]
    total = b.to_polars().filter((pl.col("col_variable") == "total")
                                 & (pl.col("question_id") == "confidence"))
    assert ws.cell(8, 2).value == total["estimate"][0]
    assert ws["A3"].value == b.base_text("zh")


def test_tabs_refuses_bad_input_without_output(tmp_path: Path, capsys) -> None:
    assert main(["tabs", "-o", str(tmp_path / "t.csv")]) == 2
    assert main(["tabs", "--where", "industry=nope", "-o", str(tmp_path / "t.xlsx")]) == 2
    assert "nope" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_codebook_search(capsys) -> None:
    assert main(["codebook", "--search", "信心", "--format", "csv"]) == 0
    frame = pl.read_csv(capsys.readouterr().out.encode())
    assert set(frame["question_id"]) == {"confidence", "own_confidence"}
    assert main(["codebook", "--search", "zzzz-nothing"]) == 1


def test_codebook_to_polars_and_search() -> None:
    from survey.codebook import Codebook

    cb = Codebook.load()
    frame = cb.to_polars()
    assert frame.filter(pl.col("kind") == "question").height == len(cb)
    grid = frame.filter((pl.col("question_id") == "media_intent") & (pl.col("kind") == "item"))
    assert grid["column"].to_list() == [f"media_intent__{c}" for c in cb["media_intent"].item_codes()]
    net = frame.filter(pl.col("code") == "net_decrease").row(0, named=True)
    assert net["members"] == "big_decrease, small_decrease"
    # only what an edition asked
    asked = {q.id for q in cb.questions_in(2024)}
    assert set(cb.to_polars(2024)["question_id"]) == asked
    # every word must match; any case and width
    assert set(cb.search("ＡＩ")["question_id"]) == set(cb.search("ai")["question_id"])
    assert cb.search("confidence own")["question_id"].unique().to_list() == ["own_confidence"]
    assert cb.search("zzzz").height == 0
