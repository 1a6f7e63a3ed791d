"""``survey deck``: the key charts of an edition, native charts equal to the toplines."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from pptx import Presentation

from survey.cli import main
from survey.reporting import ReportContext


def test_deck_charts_equal_the_report_toplines(tmp_path: Path) -> None:
    out = tmp_path / "deck.pptx"
    assert main(["deck", "--edition", "2025", "--lang", "en", "-o", str(out)]) == 0
    prs = Presentation(out)
    charts = {s.shapes[0].text_frame.text: sh.chart for s in prs.slides for sh in s.shapes
              if sh.has_chart}
    ctx = ReportContext.load(2025, "en", with_previous=False)
    q = ctx.codebook["confidence"]
    chart = charts[q.text("en", 2025)]
    top = ctx.topline("confidence").filter(pl.col("row_kind") == "option")
    assert list(chart.plots[0].categories) == top["row_label"].to_list()
    assert list(chart.plots[0].series[0].values) == pytest.approx(top["estimate"].to_list())
    ranked = ctx.ranked("challenges").head(10)
    chart = charts[ctx.codebook["challenges"].text("en", 2025)]
    assert list(chart.plots[0].series[0].values) == pytest.approx(ranked["estimate"].to_list())
    asked = [x for x in ctx.codebook.questions_in(2025) if not x.segment and ctx.asks(x.id)]
    assert len(prs.slides) == 1 + len(asked)  # a cover and one slide per question
