"""The publication's content: declared in report/spec.yml, resolved per edition, built from data.

Everything is built in-process (``chapter_markdown`` / ``build_chapter``), no PDF.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import polars as pl
import pytest

from survey.codebook import Codebook
from survey.io import load_wave
from survey.paths import report_dir
from survey.present.text import Texts
from survey.published import load_figures
from survey.reporting import ReportContext, chapter_markdown, load_spec, resolve
from survey.reporting.chapters import build_chapter, context_spec
from survey.reporting.history import change_of, published_series, record
from survey.wave import Wave
from survey.weighting import standard_design

EDITIONS = (2022, 2023, 2024, 2025)


@pytest.fixture(scope="module")
def ctx() -> ReportContext:
    return ReportContext.load(2025, "zh")


def _chapter_ids() -> list[str]:
    return [c["id"] for c in load_spec()["chapters"]]


def _all_markdown(ctx: ReportContext) -> dict[str, str]:
    return {cid: chapter_markdown(cid, ctx=ctx) for cid in _chapter_ids()}


# ------------------------------------------------------------------------------ the spec
@pytest.mark.parametrize("edition", EDITIONS)
def test_spec_resolves_for_every_shipped_edition(edition: int) -> None:
    cb = Codebook.load()
    spec = resolve(load_spec(), cb, edition)
    shown = [q for ch in spec.chapters for q in ch.named]
    assert shown, "every edition shows something"
    for qid in [q for ch in spec.chapters for q in ch.questions]:
        assert cb[qid].asked_in(edition), f"{qid} shown in {edition} but not asked"
    # every question of the edition (not a segment, not in a skipped section) is shown
    for q in cb.questions_in(edition):
        if q.segment or q.section == "profile":
            continue
        assert q.id in shown, f"{q.id} asked in {edition} but in no chapter"
    # named but not asked: listed once
    named = {q for ch in load_spec()["chapters"] for b in ch.get("blocks") or []
             for q in [b.get("question"), *(b.get("needs") or [])] if q}
    expected = {q for q in named if not cb[q].asked_in(edition)}
    assert set(spec.not_asked) == expected
    assert len(spec.not_asked) == len(set(spec.not_asked))


def test_a_chapter_whose_questions_are_all_gone_is_left_out() -> None:
    spec = resolve(load_spec(), Codebook.load(), 2023)
    ids = [c.id for c in spec.chapters]
    # the 2023 edition asked none of the challenges questions nor any AI question
    assert "challenges" not in ids and "ai" not in ids
    assert "outlook" in ids and "method" in ids


def test_unnamed_question_gets_its_default_block_in_its_section() -> None:
    spec = resolve(load_spec(), Codebook.load(), 2024)
    brand = spec.chapter("brand")
    assert brand is not None
    kinds = {b.question: (b.kind, b.default) for b in brand.blocks}
    # brand_building_matters (single) and budget_add_priority (single) are named by no block
    assert kinds["brand_building_matters"] == ("distribution", True)
    assert kinds["budget_add_priority"] == ("distribution", True)


# ------------------------------------------------------------------------------ chapters
def test_chapters_follow_the_contract(ctx: ReportContext) -> None:
    md = _all_markdown(ctx)
    assert md["outlook"].startswith("# 营销投资信心与预算 {#chap-outlook}")
    titles = re.findall(r"^## (.+) \{\.message", md["outlook"], re.M)
    assert titles[0] == "54%的广告主预期2025年整体营销投入减少，为近3版报告最高"
    # every message page has a footer with base and source, and the synthetic tag
    for cid, text in md.items():
        pages = re.split(r"^## ", text, flags=re.M)[1:]
        for page in pages:
            if "{.message}" in page.splitlines()[0]:
                assert "{.page-footer}" in page, (cid, page[:60])
                assert "n = " in page and "来源：2025年" in page
                assert "{.synthetic-tag}" in page
    # template prose that must not appear
    everything = "\n".join(md.values())
    assert "来年" not in everything
    assert not re.search(r"分别为 ?(\d+%) ?[与和] ?\1", everything)
    assert "若无显著变化" not in everything
    assert "None" not in everything and "nan%" not in everything


def test_ten_takeaways_in_two_halves(ctx: ReportContext) -> None:
    md = chapter_markdown("takeaways", ctx=ctx)
    assert md.startswith("# 十大趋势 {#chap-takeaways .unnumbered}")
    halves = re.findall(r"^## (.+) \{\.takeaways\}", md, re.M)
    assert halves == ["2025年营销十大趋势（上）", "2025年营销十大趋势（下）"]
    kpis = re.findall(r"^\[([^\]]+)\]\{\.kpi\}", md, re.M)
    titles = re.findall(r"^\[([^\]]+)\]\{\.takeaway-title\}", md, re.M)
    assert len(kpis) == len(titles) == 10
    assert kpis[0] == "54%" and "8%" in kpis  # confidence and the budget growth lead
    assert md.count("::: {.takeaway}") == 10


def test_growth_is_framed_against_the_published_history(ctx: ReportContext) -> None:
    series = published_series(ctx.figures, "budget_growth_expected", None)
    assert series == {2022: 19.0, 2023: 16.0, 2024: 11.0, 2025: 8.0}
    assert record(series, 2025) == ("lowest", 4)
    md = chapter_markdown("outlook", ctx=ctx)
    assert "## 2025年企业营销预算预计平均增长8%，为近4版报告最低 {.message}" in md


def test_published_change_is_used_where_both_editions_published(ctx: ReportContext) -> None:
    ch = change_of(ctx, "confidence", "net_decrease")
    assert ch is not None and ch.kind == "published"
    assert ch.edition_a == 2024 and round(ch.change, 2) == 0.11
    mobile = change_of(ctx, "media_intent", "mobile:increase")
    assert mobile is not None and mobile.kind == "published"
    assert (mobile.edition_a, round(mobile.change, 2)) == (2023, -0.22)
    assert "较2024年版+11 个百分点（已发布数据）" in chapter_markdown("outlook", ctx=ctx)


def test_unpublished_change_on_synthetic_waves_says_so(ctx: ReportContext) -> None:
    ch = change_of(ctx, "budget_cut_response", "higher_roi_media")
    assert ch is not None and ch.kind == "synthetic"
    assert "基于合成数据" in chapter_markdown("challenges", ctx=ctx)


def test_segment_contrasts_are_found_from_the_data(ctx: ReportContext) -> None:
    from survey.reporting.contrasts import segment_contrasts

    found = segment_contrasts(ctx, "confidence", "net_increase")
    assert set(found["segment"]) >= {"industry", "job_level", "business_model", "position",
                                     "brand_type", "budget_size"}
    assert not found.filter(pl.col("n") < 30)["tested"].any()  # small bases never tested
    tested = found.filter(pl.col("tested"))
    assert (tested["p_adjusted"] >= tested["p_value"] - 1e-12).all()
    sig = found.filter(pl.col("significant"))
    assert sig.height > 0
    assert (sig["p_adjusted"] < 0.05).all()


def test_method_page_is_plain_and_complete(ctx: ReportContext) -> None:
    md = chapter_markdown("method", ctx=ctx)
    assert "## 关于本报告 {.message .method}" in md
    assert "228位广告主" in md and "个百分点" in md and "合成数据" in md
    assert "多重比较" in md
    for technical in ("Delta", "bootstrap", "Bass", "p =", "p <", "e-"):
        assert technical not in md


def test_publication_has_no_technical_statistics(ctx: ReportContext) -> None:
    everything = "\n".join(_all_markdown(ctx).values())
    for technical in ("Delta", "delta", "bootstrap", "Bass", "p = ", "p < ", "svy", "logit"):
        assert technical not in everything, technical
    assert not re.search(r"\d\.\d+e-\d+", everything)


def test_english_edition_has_no_chinese_in_titles() -> None:
    ctx = ReportContext.load(2025, "en")
    md = chapter_markdown("outlook", ctx=ctx)
    titles = re.findall(r"^## (.+) \{\.message", md, re.M)
    assert titles and all(not re.search(r"[\u4e00-\u9fff]", t) for t in titles)
    # codebook labels joined into lists are escaped too ("E-commerce" -> "E\-commerce")
    text = "\n".join(x for x in md.splitlines() if not x.startswith("[figure:"))  # alt: plain
    assert "E\\-commerce" in text and "E-commerce" not in text


def test_values_from_the_codebook_are_escaped() -> None:
    t = Texts.load(report_dir() / "strings.yml")
    out = t.say("msg.ranked_1", "zh", top1="<b onmouseover=alert(1)>x</b>", s1=0.5)
    assert "<b" not in out.replace("\\<b", "")


# ------------------------------------------------------------------------------ robustness
def _context_without(base: ReportContext, qids: list[str]) -> ReportContext:
    cb = base.codebook
    drop = [c for q in qids for c in cb[q].columns() if c in base.wave.frame.columns]
    wave = Wave(base.wave.frame.drop(drop), base.edition, cb, base.wave.source,
                dict(base.wave.metadata))
    try:
        design = standard_design(wave)
    except Exception:  # a raking variable dropped: report unweighted
        from survey.design import Design

        design = Design(wave.frame, codebook=cb, edition=base.edition)
    ctx = ReportContext(base.edition, base.lang, wave, design, base.figures, base.texts,
                        base.previous)
    for model in ("brand_split", "budget_scenarios"):  # fitted once: reuse when inputs remain
        ctx.__dict__[model] = base.__dict__.get(model) or getattr(base, model)
    return ctx


def _used_questions(ctx: ReportContext) -> list[str]:
    spec = context_spec(ctx)
    used = {q for ch in spec.chapters for b in ch.blocks for q in b.named}
    used |= {q.id for q in ctx.codebook.segments() if q.asked_in(ctx.edition)}
    return sorted(q for q in used if q in ctx.codebook.questions)


def test_dropping_any_question_the_report_uses_breaks_nothing(ctx: ReportContext) -> None:
    import matplotlib.pyplot as plt

    from survey.reporting.chapters import build_chapter
    from survey.reporting.pages import parts_markdown

    used = _used_questions(ctx)
    assert len(used) >= 25
    full = {cid: build_chapter(cid, ctx=ctx) for cid in _chapter_ids()}
    drawn = {alt for parts in full.values() for kind, _, alt, _ in parts if kind == "figure"}
    redrawn = 0
    for qid in used:
        reduced = _context_without(ctx, [qid])
        parts = {cid: build_chapter(cid, ctx=reduced) for cid in _chapter_ids()}
        md = {cid: parts_markdown(p) for cid, p in parts.items()}
        # the charts and tables that differ from the full report are drawn too
        for kind, payload, alt, _ in (x for p in parts.values() for x in p):
            if kind == "figure" and alt not in drawn:
                plt.close(payload())
                redrawn += 1
            elif kind == "table":
                payload()
        text = "\n".join(md.values())
        assert "TypeError" not in text and "Traceback" not in text
        assert md["method"], qid
        # the dropped question's wording appears in no footer
        wording = ctx.codebook[qid].text("zh", 2025)
        assert f"题目：{wording}" not in text.replace("\\", ""), qid
    assert redrawn >= 10  # the charts a drop changes were drawn, not only listed


def test_a_new_edition_with_new_questions_shows_them_with_charts(tmp_path: Path) -> None:
    src = Path(Codebook.load().source if hasattr(Codebook.load(), "source") else "")
    if not src.is_file():
        from survey.paths import data_dir

        src = data_dir() / "codebook.yaml"
    text = src.read_text(encoding="utf-8")
    text = text.replace("editions: [2022, 2023, 2024, 2025]", "editions: [2022, 2023, 2024, 2025, 2026]")
    text = re.sub(r"(editions: \[[^\]]*2025)\]", r"\1, 2026]", text)
    text = text.replace("\nquestions:\n", """
questions:
  - id: podcast_use
    section: ai
    type: multi
    editions: [2026]
    text: {zh: "贵公司明年会在哪些新形式上投放?(多选)", en: "Which new formats will you use next year? (multiple)"}
    short: {zh: "新形式投放", en: "New formats"}
    options:
      - {code: podcast, zh: 播客, en: Podcasts}
      - {code: short_drama, zh: "短剧<b onmouseover=alert(1)>x</b>[点此](javascript:alert(1))", en: Short dramas}
      - {code: other, zh: 其他, en: Other}
  - id: esg_budget
    section: sustainability
    type: single
    editions: [2026]
    text: {zh: "贵公司明年ESG营销预算将如何变化?", en: "How will your ESG marketing budget change next year?"}
    short: {zh: "ESG营销预算", en: "ESG budget"}
    options:
      - {code: increase, zh: 增加, en: Increase}
      - {code: flat, zh: 持平, en: Flat}
      - {code: decrease, zh: 减少, en: Decrease}
""", 1)
    text = text.replace(
        "      - {code: measurement, zh: 营销效果难测量与验证",
        "      - {code: ai_disruption, zh: AI带来的冲击, en: AI disruption, added: 2026}\n"
        "      - {code: measurement, zh: 营销效果难测量与验证", 1)
    text = text.replace("\nsections:\n", "\nsections:\n  - {id: sustainability, zh: 可持续营销, en: Sustainability}\n", 1)
    path = tmp_path / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    cb = Codebook.load(path)
    base = load_wave(2025).frame
    base = base.drop([c for c in ("weight",) if c in base.columns])  # a delivery without weights
    n = base.height
    frame = base.with_columns(
        pl.Series("podcast_use__podcast", [i % 3 == 0 for i in range(n)]),
        pl.Series("podcast_use__short_drama", [i % 2 == 0 for i in range(n)]),
        pl.Series("podcast_use__other", [False] * n),
        pl.Series("challenges__ai_disruption", [i % 4 == 0 for i in range(n)]),
        pl.Series("esg_budget", [("increase", "flat", "decrease")[i % 3] for i in range(n)])
        .cast(pl.Enum(["increase", "flat", "decrease"])),
    )
    wave = Wave(frame, 2026, cb, None, {"edition": "2026", "synthetic": "true"})
    texts = Texts.load(report_dir() / "strings.yml")
    prev = ReportContext.load(2025, "zh", with_previous=False)
    ctx = ReportContext(2026, "zh", wave, standard_design(wave), load_figures(), texts, prev)
    # an option new in 2026 is never compared; the question's other options still are
    assert "ai_disruption" in cb["challenges"].codes(2026)
    assert change_of(ctx, "challenges", "ai_disruption") is None
    old = change_of(ctx, "challenges", "measurement")
    # same respondents, raked in 2025 and unweighted in 2026: a change near zero
    assert old is not None and old.kind == "synthetic" and abs(old.change) < 0.05
    # both waves real microdata (ingested): a design-based test with the multiplicity correction
    real = Wave(frame, 2026, cb, None, {"edition": "2026", "synthetic": "false"})
    prev_real = ReportContext(2025, "zh", Wave(prev.wave.frame, 2025, prev.codebook, None,
                                               {"edition": "2025", "synthetic": "false"}),
                              prev.design, prev.figures, prev.texts, None)
    ctx_real = ReportContext(2026, "zh", real, standard_design(real), load_figures(), texts,
                             prev_real)
    test = change_of(ctx_real, "challenges", "measurement")
    assert test is not None and test.kind == "design"
    assert test.p_adjusted is not None and test.p_adjusted >= test.p_value
    assert "基于合成数据" not in chapter_markdown("challenges", ctx=ctx_real)
    fig = next(p for p in build_chapter("challenges", ctx=ctx) if p[0] == "figure")[1]()
    assert "AI带来的冲击" in [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ai = chapter_markdown("ai", ctx=ctx)
    assert "题目：贵公司明年会在哪些新形式上投放" in ai.replace("\\", "")
    page = next(p for p in ai.split("## ") if "新形式" in p)
    assert "[figure:" in page
    # a label from the delivery/codebook is inert markdown: escaped, never raw HTML or a link
    assert "短剧\\<b onmouseover\\=alert\\(1\\)\\>x\\<\\/b\\>\\[点此\\]" in page
    assert "其他" not in page.splitlines()[0]  # a residual option is never a headline
    text = "\n".join(x for x in page.splitlines() if not x.startswith("[figure:"))  # alt: plain
    assert "<b" not in text.replace("\\<b", "") and "](javascript" not in text
    more = chapter_markdown("more", ctx=ctx)
    assert more.startswith("# 其他发现 {#chap-more}") and "ESG" in more and "[figure:" in more
    # an edition without weighting margins is reported unweighted, in one sentence
    method = chapter_markdown("method", ctx=ctx)
    assert ctx.design.weighting == "none"
    assert ctx.design.weighting_note("zh") in method


def test_render_chapter_emits_in_order(ctx: ReportContext, capsys: pytest.CaptureFixture) -> None:
    from survey.reporting import render_chapter

    parts = build_chapter("brand", ctx=ctx)
    kinds = [p[0] for p in parts]
    assert kinds[0] == "md" and "figure" in kinds
    render_chapter("brand", ctx=ctx)
    out = capsys.readouterr().out
    assert out.index("# 品牌与效果") < out.index("[figure:")


def test_contrast_pages_say_when_the_chart_leaves_segments_out(ctx: ReportContext) -> None:
    """A contrast chart keeps at most 14 bars; its footer then says how many of the tested
    segments it shows."""
    md = "\n".join(_all_markdown(ctx).values())
    said = re.findall(r"图中列出比较的 (\d+) 个细分中的 (\d+) 个", md)
    assert said, "no contrast chart leaves segments out on the 2025 wave"
    for k, shown in said:
        assert int(shown) == 14 < int(k)
