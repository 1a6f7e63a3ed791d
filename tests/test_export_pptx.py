"""PowerPoint: native charts whose data equal the banner's Total, native tables equal to the
table model's text, CJK fonts, atomic writes; LibreOffice renders the deck."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
from pptx import Presentation
from pptx.oxml.ns import qn

import survey
from survey.export.pptx import EAST_ASIAN, Deck, save_chart
from survey.weighting import standard_design


@pytest.fixture(scope="module")
def book():
    d = standard_design(survey.load_wave(2025))
    return survey.banner(d, ["confidence", "media_intent", "challenges"],
                         ["job_level", "brand_type"], vs_total=True)


def _charts(prs):
    return [sh.chart for s in prs.slides for sh in s.shapes if sh.has_chart]


def _tables(prs):
    return [sh.table for s in prs.slides for sh in s.shapes if sh.has_table]


def test_charts_are_native_and_hold_the_total(book, tmp_path: Path) -> None:
    prs = Presentation(book.to_pptx(tmp_path / "b.pptx", lang="en"))
    charts = _charts(prs)
    assert len(charts) == 3  # one per question
    cells = book.to_polars("en").filter(pl.col("col_variable") == "total")
    conf = cells.filter((pl.col("question_id") == "confidence") & (pl.col("row_kind") == "option"))
    plot = charts[0].plots[0]
    assert list(plot.categories) == conf["row_label"].to_list()
    assert list(plot.series[0].values) == pytest.approx(conf["estimate"].to_list(), abs=1e-12)
    # the grid: items as categories, options as stacked series
    grid = cells.filter((pl.col("question_id") == "media_intent") & (pl.col("row_kind") == "option"))
    plot = charts[1].plots[0]
    assert len(plot.categories) == grid["item"].n_unique()
    first = grid.filter(pl.col("row_code").str.ends_with(":increase"))["estimate"].to_list()
    assert list(plot.series[0].values) == pytest.approx(first, abs=1e-12)
    # editable: the chart's data live in an embedded workbook
    assert charts[0].part.chart_workbook.xlsx_part is not None


def test_tables_show_the_table_models_text(book, tmp_path: Path) -> None:
    prs = Presentation(book.to_pptx(tmp_path / "b.pptx"))
    t = book.table("zh")
    tbl = _tables(prs)[0]
    blk = t.blocks_of("confidence")[0]
    assert tbl.cell(1, 0).text == blk.rows[0].label
    for i, row in enumerate(blk.rows, 1):
        for j in range(len(t.columns)):
            assert tbl.cell(i, j + 1).text == t.text(row.cells[j]), (i, j)
    # every run has an East Asian face
    for shape in prs.slides[1].shapes:
        if shape.has_text_frame:
            for p in shape.text_frame.paragraphs:
                for r in p.runs:
                    assert r._r.rPr.find(qn("a:ea")).get("typeface") == EAST_ASIAN
    # footers: base of the book
    texts = [sh.text_frame.text for sh in prs.slides[0].shapes if sh.has_text_frame]
    assert book.base_text("zh") in texts


def test_wide_books_continue_on_more_slides(tmp_path: Path) -> None:
    d = standard_design(survey.load_wave(2025))
    b = survey.banner(d, ["confidence"], ["industry"])
    deck = Deck()
    slides = deck.add_table(b.table(), "confidence")
    ncols = b.to_polars()["col_level"].n_unique()
    assert len(slides) == -(-(ncols - 1) // 8)
    tables = _tables(deck.prs)
    assert all(t.cell(0, 1).text.startswith("总体") for t in tables)  # Total on every slide


def test_one_call_one_chart_and_atomic_save(tmp_path: Path) -> None:
    p = save_chart(tmp_path / "c.pptx", "AI", ["是", "否"], {"总体": [0.7, 0.3]},
                   base="基数：全部受访者，n = 228")
    assert len(_charts(Presentation(p))) == 1
    with pytest.raises(survey.SurveyError):
        save_chart(tmp_path / "c.pdf", "AI", ["a"], {"s": [1.0]})
    assert sorted(x.name for x in tmp_path.iterdir()) == ["c.pptx"]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_renders_the_deck(book, tmp_path: Path) -> None:
    path = book.to_pptx(tmp_path / "deck.pptx")
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(path)], check=True, capture_output=True, timeout=240)
    pdf = tmp_path / "deck.pdf"
    assert pdf.exists() and pdf.stat().st_size > 10_000
