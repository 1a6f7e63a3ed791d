"""Regression tests for the reviewer's content findings (H5): English case, edition history,
contrast-chart subtitle and legend, method margin of error, chart fonts and labels, zh punctuation."""

from __future__ import annotations

import re

import pytest

from survey.present import charts
from survey.present.text import Texts, fullwidth_punct, mid_sentence, sentence_start
from survey.reporting import ReportContext, chapter_markdown
from survey.reporting.chapters import _pages, context_spec
from survey.reporting.kit import Kit


@pytest.fixture(scope="module")
def ctx_en() -> ReportContext:
    return ReportContext.load(2025, "en")


@pytest.fixture(scope="module")
def ctx_zh() -> ReportContext:
    return ReportContext.load(2025, "zh")


def _chapter_pages(ctx: ReportContext, chapter: str) -> list:
    return _pages(Kit(ctx), context_spec(ctx).chapter(chapter))


# -- 1. English case ----------------------------------------------------------------------------
def test_mid_sentence_keeps_acronyms_and_names() -> None:
    assert mid_sentence("Shift to media with higher ROI") == "shift to media with higher ROI"
    assert mid_sentence("More brand building") == "more brand building"
    for keep in ("KOL content marketing", "AI marketing", "ROI", "OTT boxes", "PC internet",
                 "CTV", "DeepSeek", "WeChat ads", "China Digital Marketing Trends Report"):
        assert mid_sentence(keep) == keep
    assert sentence_start("release budgets in stages") == "Release budgets in stages"
    assert sentence_start("“more brand building”") == "“More brand building”"


def test_english_template_lowercases_labels_inside_sentences_only() -> None:
    t = Texts({"k": {"zh": "{a}", "en": "70% would {a}; {b} leads"}})
    out = t.say("k", "en", a="Shift to media with higher ROI", b="More brand building")
    assert out == "70% would shift to media with higher ROI; more brand building leads"
    assert Texts({"k": {"zh": "{a}", "en": "x {a:asis}"}}).say("k", "en", a="Big") == "x Big"
    assert Texts({"k": {"zh": "用{a}", "en": "x"}}).say("k", "zh", a="More") == "用More"


def test_english_chapters_have_no_capitalised_labels_mid_sentence(ctx_en) -> None:
    challenges = chapter_markdown("challenges", ctx=ctx_en)
    assert "more pragmatic management KPIs (73%) is the first measure" in challenges
    assert "70% would shift to media with higher ROI and 53% cut brand spend" in challenges
    assert "56% see more brand building as the growth opportunity" in challenges
    ai = chapter_markdown("ai", ctx=ctx_en)
    assert "help most with intelligent ad delivery and optimization, user insight" in ai
    outlook = chapter_markdown("outlook", ctx=ctx_en)
    title = re.search(r"^## (Content .+?) \{\.message", outlook, re.M).group(1)
    assert "and local services" in title and "and lead generation" in title
    for chap in ("outlook", "challenges", "ai", "social", "media", "brand"):
        md = chapter_markdown(chap, ctx=ctx_en)
        imp = md.split("{.message .implications}")[1]
        bodies = re.findall(r"^- [^:\n]+: (\S)", imp, re.M)
        assert bodies and all(not b.islower() for b in bodies), (chap, bodies)
        for line in md.splitlines():  # every heading and bullet starts with a capital
            m = re.match(r"^(?:## |- )(\w)", line)
            assert m is None or not m.group(1).islower(), line


# -- 2. social spend history --------------------------------------------------------------------
def test_social_growth_shows_every_edition_and_claims_only_what_data_show(ctx_zh) -> None:
    from survey.published import load_figures
    from survey.reporting.history import published_series

    published = published_series(load_figures(), "social_growth_expected", None)
    page = _chapter_pages(ctx_zh, "social")[0]
    ticks = [t.get_text() for t in page.figure().axes[0].get_xticklabels()]
    editions = sorted(ctx_zh.designs()) + [e for e in published if e not in ctx_zh.designs()]
    assert len(ticks) == len(set(editions))
    for e in set(editions):
        mark = "已发布" if e in published else "估计"
        assert any(t.startswith(f"{e}年版") and mark in t for t in ticks), (e, ticks)
    # two published editions: no published "lowest in N editions" in the title
    assert len([e for e in published if e <= 2025]) < 3
    assert "最低" not in page.title
    n = len(ticks)
    est = sum("估计" in t for t in ticks)
    assert any(f"在图中 {n} 个版次中最低（其中 {est} 个" in b for b in page.bullets)
    assert "估计" in page.footer


# -- 3. contrast charts -------------------------------------------------------------------------
def test_contrast_chart_has_subtitle_and_colour_legend(ctx_zh) -> None:
    from survey.present import palette as pal

    page = _chapter_pages(ctx_zh, "outlook")[1]
    fig = page.figure()
    ax = fig.axes[0]
    assert ax.get_title(loc="left").startswith("选择“增加(合计)”的比例")
    assert "深色 = 与其余广告主差异显著" in ax.get_title(loc="left")
    legend = [t.get_text() for t in fig.legends[0].texts]
    assert legend == ["显著高于其余广告主", "显著低于其余广告主", "差异不显著"]
    colors = {tuple(round(c, 3) for c in b.get_facecolor()[:3]) for b in ax.patches}
    from matplotlib.colors import to_rgb

    assert {tuple(round(c, 3) for c in to_rgb(x)) for x in (pal.PRIMARY, pal.MUTED)} <= colors
    # the segment named as lower in the title is drawn in the "lower" colour
    bars = dict(zip([t.get_text() for t in ax.get_yticklabels()], ax.patches, strict=True))
    low = next(lab for lab in bars if "执行层" in lab)
    assert tuple(round(c, 3) for c in bars[low].get_facecolor()[:3]) == tuple(
        round(c, 3) for c in to_rgb(pal.MUTED))


# -- 4. method page -----------------------------------------------------------------------------
def test_method_margin_of_error_includes_design_effect(ctx_zh, ctx_en) -> None:
    deff = ctx_zh.design.diagnostics.deff_kish
    moe = 100 * 1.959964 * (deff * 0.25 / ctx_zh.n) ** 0.5
    md = chapter_markdown("method", ctx=ctx_zh)
    assert f"±{moe:.1f}个百分点（95%置信水平，已计入加权的设计效应 {deff:.2f}）" in md
    en = chapter_markdown("method", ctx=ctx_en)
    assert f"including the weighting design effect of {deff:.2f}" in en
    assert f"Fieldwork took place in {ctx_en.edition - 1}" in en
    assert not re.search(r"(January|October|November|\d+月)", en + md)


# -- 5. chart fonts and labels ------------------------------------------------------------------
def test_chart_text_uses_one_set_of_font_sizes() -> None:
    sizes = set(charts.FONT.values())
    figs = [charts.column_bars(["a", "b", "c"], [16.0, 11.0, 8.0], ["#000"] * 3, percent=False),
            charts.ranked_bars(["a", "b"], [0.5, 0.2], subtitle="s", legend=[("#000", "x")]),
            charts.lines([2022, 2024, 2025], {"x": [0.17, 0.2, 0.3], "y": [0.16, 0.1, 0.5]})]
    for fig in figs:
        texts = list(fig.axes[0].texts) + list(fig.axes[0].get_xticklabels()) + \
            list(fig.axes[0].get_yticklabels()) + [t for lg in fig.legends for t in lg.texts]
        assert texts and {round(t.get_fontsize(), 2) for t in texts if t.get_text()} <= sizes


def test_line_labels_do_not_collide() -> None:
    fig = charts.lines([2022, 2024], {"a": [0.17, 0.40], "b": [0.16, 0.10]})
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in fig.axes[0].texts]
    assert len(boxes) == 4
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    three = charts.lines([2022, 2024], {"a": [0.170, 0.9], "b": [0.165, 0.5], "c": [0.160, 0.1]})
    # p41: 17% and 16% in a 8-19% chart: the lower label goes under its point, clear of the
    # other line's marker
    p41 = charts.lines([2022, 2023, 2025], {"a": [19.0, 16.0, 8.0], "b": [None, 17.0, 10.0]},
                       percent=False, unit="%")
    where = {t.get_text(): t.get_va() for t in p41.axes[0].texts}
    assert where["16%"] == "top" and where["17%"] == "bottom"
    # at 2022 the middle label (16.5%) fits neither above nor below its point: dropped
    assert [t.get_text() for t in three.axes[0].texts] == ["17%", "16%", "90%", "50%", "10%"]


# -- 6. zh punctuation ----------------------------------------------------------------------------
def test_zh_question_wording_uses_full_width_punctuation(ctx_zh) -> None:
    assert fullwidth_punct("面对明年预算下降,贵公司会采取哪些做法?(多选)") == \
        "面对明年预算下降，贵公司会采取哪些做法？（多选）"
    assert fullwidth_punct("KOL (达人), AI") == "KOL （达人）, AI"
    for chap in ("outlook", "challenges", "social"):
        md = chapter_markdown(chap, ctx=ctx_zh)
        for q in re.findall(r"题目：([^｜]+)", md):
            plain = q.replace("\\", "")
            assert not re.search(r"[\u4e00-\u9fff][?,:;!(]|[?,:;!)][\u4e00-\u9fff]", plain), q
    raw = ctx_zh.codebook["confidence"].text("zh", 2025)
    assert "?" in raw  # the codebook is unchanged: the conversion is at display time


def test_fieldwork_start_comes_from_configuration_or_published_data() -> None:
    import polars as pl

    from survey.errors import RenderError
    from survey.reporting.blocks_extra import _fieldwork_start

    none = pl.DataFrame({"figure_id": ["fieldwork_months"], "value": [2.0]})
    assert _fieldwork_start(None, none) is None
    assert _fieldwork_start("2024-10", none) == (2024, 10)
    pub = pl.DataFrame({"figure_id": ["fieldwork_start"], "value": [202310.0]})
    assert _fieldwork_start(None, pub) == (2023, 10)
    with pytest.raises(RenderError, match="is not a month"):
        _fieldwork_start("Oct 2024", none)
