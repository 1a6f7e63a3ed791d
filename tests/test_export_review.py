"""Regressions of the analysts' review (xlsx tabs and pptx decks): options not asked, the
synthetic-data tag, the design note, textual filters by label, meaning colours, empty
columns of a filtered book and the mode of written files."""

from __future__ import annotations

import os

import openpyxl
import polars as pl
import pytest
from pptx import Presentation

import survey
from survey.banners import banner, say
from survey.design import Design
from survey.errors import EstimationError
from survey.export.pptx import Deck
from survey.present.palette import MEANING
from survey.weighting import standard_design

TAG_ZH, TAG_EN = "合成数据，仅作方法演示", "Synthetic data, for method demonstration only"


@pytest.fixture(scope="module")
def wave():
    return survey.load_wave(2025)


@pytest.fixture(scope="module")
def design(wave):
    return standard_design(wave)


@pytest.fixture(scope="module")
def deck_zh():
    from survey.export.deck import report_deck
    from survey.reporting import ReportContext

    return report_deck(ReportContext.load(2025, "zh", with_previous=False))


def _charts(prs):
    for slide in prs.slides:
        texts = [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]
        for sh in slide.shapes:
            if sh.has_chart:
                yield texts, sh.chart


def _hex(fill):
    return str(fill.fore_color.rgb) if fill.type is not None else None


# 1. options not asked in the edition ---------------------------------------------------------
def test_deck_leaves_out_options_not_asked(wave, deck_zh):
    q = wave.codebook["internet_resources_increase"]
    asked = {o.label("zh") for o in q.options_in(2025)}
    dropped = {o.label("zh") for o in q.options} - asked
    assert {"搜索", "电商"} <= dropped
    found = False
    for texts, chart in _charts(deck_zh.prs):
        if texts[0].startswith(q.text("zh", 2025)[:6]):
            cats = list(chart.plots[0].categories)
            vals = list(chart.plots[0].series[0].values)
            found = True
            assert not set(cats) & dropped
            assert cats[0] == "种草平台" and all(v is not None for v in vals)
            assert vals == sorted(vals, reverse=True) or cats[-1] in ("其他",)
    assert found


def test_banner_chart_and_table_of_options_not_asked(design):
    b = banner(design, ["internet_resources_increase"], ["brand_type"])
    t = b.table("zh")
    rows = t.blocks[0].rows
    search = next(r for r in rows if r.code.endswith("search") and r.label == "搜索")
    assert t.text(search.cells[0]) == say("not_asked", "zh")
    assert rows[0].label != "搜索"  # never first
    deck = Deck("zh")
    deck.add_banner(b, tables=False)
    (_texts, chart), = list(_charts(deck.prs))
    cats = list(chart.plots[0].categories)
    assert "搜索" not in cats and "电商" not in cats and "种草平台" in cats


# 2. synthetic-data tag ------------------------------------------------------------------------
@pytest.mark.parametrize(("lang", "tag"), [("zh", TAG_ZH), ("en", TAG_EN)])
def test_synthetic_tag_on_every_sheet_and_slide(design, tmp_path, lang, tag):
    b = banner(design, ["confidence", "media_intent"], ["brand_type"], synthetic=True, lang=lang)
    xlsx = b.to_excel(tmp_path / "t.xlsx", lang=lang)
    wb = openpyxl.load_workbook(xlsx)
    for ws in wb.worksheets:
        cells = [v for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
        assert any(tag in v for v in cells), ws.title
    prs = Presentation(b.to_pptx(tmp_path / "t.pptx", lang=lang))
    for slide in prs.slides:
        assert any(tag in sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)
    real = banner(design, ["confidence"], ["brand_type"], synthetic=False)
    assert TAG_ZH not in real.table("zh").note and TAG_EN not in real.table("en").note


def test_cli_book_and_deck_are_tagged(deck_zh, tmp_path):
    from survey.cli import main

    out = tmp_path / "tabs.xlsx"
    assert main(["tabs", "--rows", "confidence", "--cols", "brand_type", "-o", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    assert all(any(isinstance(v, str) and TAG_ZH in v for row in ws.iter_rows(values_only=True)
                   for v in row) for ws in wb.worksheets)
    for slide in deck_zh.prs.slides:
        assert any(TAG_ZH in sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)


# 3. the method note follows the design ------------------------------------------------------
def test_note_words_the_design(design, wave):
    zh = banner(design, ["confidence"], ["brand_type"]).table("zh").note
    assert "设计基础检验" not in zh and "整群与校准" not in zh
    assert "列比较：基于设计的检验，" in zh and "检验考虑校准加权、无分层、无整群。" in zh
    assert "品牌类型、预算规模" in zh  # the raking margins, from the design's weighting note
    en = banner(design, ["confidence"], ["brand_type"]).table("en").note
    assert "The test accounts for raked weights, no strata or clusters." in en
    f = wave.frame.with_columns(pl.Series("psu", [i // 3 for i in range(wave.n)]))
    st = Design(f, "weight", strata="brand_type", codebook=wave.codebook, edition=2025)
    note = banner(st, ["confidence"], ["budget_size"]).table("zh").note
    assert "检验考虑加权、分层。" in note and "整群" not in note
    cl = Design(f, "weight", ids="psu", codebook=wave.codebook, edition=2025)
    note = banner(cl, ["confidence"], ["budget_size"]).table("en").note
    assert "accounts for weights, clusters." in note and "strata" not in note
    # the effective-base test names no design it does not use
    eb = banner(design, ["confidence"], ["brand_type"], test="effective_base").table("zh").note
    assert "检验考虑" not in eb and "有效基数 z 检验" in eb


# 4. textual filters by codes or labels -------------------------------------------------------
@pytest.mark.parametrize("where", ["industry=beauty", "industry=美妆个护", "industry=Beauty",
                                   "industry=beauty & personal care", "industry = 美妆个护 "])
def test_where_accepts_codes_and_labels(design, where):
    b = banner(design, ["confidence"], ["brand_type"], where=where)
    assert b.base_text("zh") == "基数：美妆个护，n = 35"


def test_where_unknown_value_or_column_is_one_short_message(design):
    with pytest.raises(EstimationError) as err:
        banner(design, ["confidence"], ["brand_type"], where="industry=美妆")
    msg = str(err.value)
    assert "'美妆'" in msg and "beauty (美妆个护)" in msg and "industry" in msg
    assert "valid columns" not in msg and len(msg) < 400
    with pytest.raises(EstimationError) as err:
        banner(design, ["confidence"], ["brand_type"], where="industy=beauty")
    msg = str(err.value)
    assert "'industy'" in msg and "industry" in msg and "resp_id" not in msg


def test_cli_where_by_label(tmp_path, capsys):
    from survey.cli import main

    out = tmp_path / "b.xlsx"
    assert main(["tabs", "--rows", "confidence", "--cols", "brand_type", "--where",
                 "industry=美妆个护,Food & beverage", "-o", str(out)]) == 0
    assert "n = 72" in capsys.readouterr().err
    assert main(["tabs", "--rows", "confidence", "--cols", "brand_type", "--where",
                 "industry=Beautyy", "-o", str(tmp_path / "c.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "Beautyy" in err and "beauty" in err and len(err.splitlines()) <= 3
    assert not (tmp_path / "c.xlsx").exists()


# 5. meaning colours of scale options ----------------------------------------------------------
def test_deck_scale_colours_follow_meaning(deck_zh, design):
    want = {"增加投资": MEANING["increase"], "投资持平": MEANING["flat"],
            "减少投资": MEANING["decrease"], "不投资": MEANING["not_invest"]}
    seen = False
    for _texts, chart in _charts(deck_zh.prs):
        names = [s.name for s in chart.plots[0].series]
        if "不投资" in names:
            seen = True
            got = {s.name: "#" + _hex(s.format.fill) for s in chart.plots[0].series}
            assert got == want
    assert seen
    b = banner(design, ["confidence"], ["brand_type"])
    deck = Deck("zh")
    deck.add_banner(b, tables=False)
    (_t, chart), = list(_charts(deck.prs))
    s = chart.plots[0].series[0]
    cols = ["#" + _hex(s.points[i].format.fill) for i in range(len(list(chart.plots[0].categories)))]
    assert cols == [MEANING["decrease_strong"], MEANING["decrease"], MEANING["flat"],
                    MEANING["increase"], MEANING["increase_strong"]]


# 6. a filtered book has no empty columns ------------------------------------------------------
def test_filtered_book_drops_empty_columns(design):
    b = banner(design, ["confidence"], ["industry", "brand_type"],
               where="industry=beauty,food_bev")
    cols = b.table("zh").columns
    assert [c.level for c in cols if c.variable == "industry"] == ["food_bev", "beauty"]
    assert b.dropped_empty == 20
    assert "筛选后无受访者的 20 列未列出" in b.table("zh").note
    assert "20 columns with no respondent in the filter" in b.table("en").note
    full = banner(design, ["confidence"], ["industry"])
    assert full.dropped_empty == 0 and len(full.table().columns) == 23


# 7. files are readable by others (umask respected) -------------------------------------------
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_written_files_respect_umask(design, tmp_path, umask, mode):
    b = banner(design, ["confidence"], ["brand_type"])
    old = os.umask(umask)
    try:
        paths = [b.to_excel(tmp_path / "a.xlsx"), b.to_pptx(tmp_path / "a.pptx")]
        b.to_html(path=tmp_path / "a.html")
        paths.append(tmp_path / "a.html")
    finally:
        os.umask(old)
    assert [oct(p.stat().st_mode & 0o777) for p in paths] == [oct(mode)] * 3
