"""survey.reporting building blocks: spec loading, texts, palette, history framing, pages."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest

from survey.errors import RenderError
from survey.present import charts
from survey.present import palette as pal
from survey.present.text import Raw, Texts
from survey.reporting.history import adjust_pvalues, record
from survey.reporting.pages import Page, Takeaway, page_parts, parts_markdown, takeaway_parts
from survey.reporting.spec import load_spec


def test_spec_errors_name_file_chapter_and_block(tmp_path: Path) -> None:
    p = tmp_path / "spec.yml"
    p.write_text("chapters: []\n", encoding="utf-8")
    with pytest.raises(RenderError, match="no chapters"):
        load_spec(p)
    p.write_text("chapters:\n  - id: a\n    blocks:\n      - {question: x}\n", encoding="utf-8")
    with pytest.raises(RenderError, match="chapter 'a', block 1 has no kind"):
        load_spec(p)
    p.write_text("chapters: [: bad", encoding="utf-8")
    with pytest.raises(RenderError, match="cannot read the report specification"):
        load_spec(p)


def test_say_escapes_values_but_not_raw_markdown() -> None:
    t = Texts({"k": {"zh": "{a}｜{b}", "en": "{a} | {b}"}})
    out = t.say("k", "zh", a="[点此](javascript:alert(1))", b=Raw("[x]{.kpi}"))
    assert out == "\\[点此\\]\\(javascript\\:alert\\(1\\)\\)｜[x]{.kpi}"
    assert isinstance(out, Raw)
    assert t.say("k", "en", a="a*b", b="c", escape=False) == "a*b | c"


def test_palette_meanings_are_fixed() -> None:
    assert pal.color_for("increase") == pal.color_for("small_increase") == pal.MEANING["increase"]
    assert pal.color_for("decrease") == pal.color_for("net_decrease") == pal.MEANING["decrease"]
    assert pal.color_for("flat") == pal.MEANING["flat"]
    assert pal.color_for("not_invest") == pal.MEANING["not_invest"]
    assert pal.color_for("anything", score=-2) == pal.MEANING["decrease_strong"]
    # the same meaning in the grid chart and in the old scale chart
    import polars as pl
    from matplotlib.colors import to_hex

    fig = charts.stacked_bars(["a"], ["增加", "持平", "减少"], pal.scale_colors(
        ["increase", "flat", "decrease"]), [[0.5, 0.3, 0.2]])
    grid = [to_hex(p.get_facecolor()).upper() for p in fig.axes[0].patches]
    frame = pl.DataFrame({"group": ["a"] * 3, "level_label": ["减少", "持平", "增加"],
                          "estimate": [0.2, 0.3, 0.5]})
    old = charts.stacked_scale(frame, order=["减少", "持平", "增加"])
    scale = [to_hex(p.get_facecolor()).upper() for p in old.axes[0].patches]
    assert grid == [pal.MEANING["increase"], pal.MEANING["flat"], pal.MEANING["decrease"]]
    assert scale == [pal.MEANING["decrease"], pal.MEANING["flat"], pal.MEANING["increase"]]


def test_not_asked_is_labelled_never_zero() -> None:
    fig = charts.ranked_bars(["A", "B"], [0.4, None], lang="en")
    assert [t.get_text() for t in fig.axes[0].texts] == ["40%", "not asked"]
    fig = charts.stacked_bars(["x"], ["a", "b"], ["#000000", "#ffffff"], [[None, None]])
    assert "未询问" in [t.get_text() for t in fig.axes[0].texts]


def test_record_needs_three_editions_and_an_extreme() -> None:
    assert record({2024: 11.0, 2025: 8.0}, 2025) is None
    assert record({2023: 16.0, 2024: 11.0, 2025: 8.0}, 2025) == ("lowest", 3)
    assert record({2022: 24.0, 2024: 43.0, 2025: 54.0}, 2025) == ("highest", 3)
    assert record({2022: 24.0, 2024: 43.0, 2025: 30.0}, 2025) is None
    assert record({2022: 24.0, 2024: 43.0}, 2025, current=50.0) == ("highest", 3)


def test_adjusted_pvalues_match_references() -> None:
    # Benjamini-Hochberg and Holm by hand: p = (0.01, 0.02, 0.03, 0.5)
    bh = adjust_pvalues([0.01, 0.02, None, 0.03, 0.5], "fdr_bh")
    assert bh[2] is None
    assert [round(v, 4) for v in bh if v is not None] == [0.04, 0.04, 0.04, 0.5]
    holm = adjust_pvalues([0.01, 0.02, 0.03, 0.5], "holm")
    assert [round(v, 4) for v in holm] == [0.04, 0.06, 0.06, 0.5]


def test_page_and_takeaway_markdown_follow_the_contract() -> None:
    page = Page(title="标题", figure=lambda: None, alt="图", bullets=["一", "二"],
                footer="基数：n = 1", classes=("implications",))
    md = parts_markdown(page_parts(page))
    assert md.splitlines()[0] == "## 标题 {.message .implications}"
    assert "[figure: 图]" in md and "::: {.insights}\n- 一\n- 二\n:::" in md
    assert md.endswith("::: {.page-footer}\n基数：n = 1\n:::")
    t = Takeaway(kpi="54%", title="信心偏弱", note="说明", score=1.0, mini=lambda: None)
    md = parts_markdown(takeaway_parts("十大趋势（上）", [t]))
    assert md.startswith("## 十大趋势（上） {.takeaways}\n\n::: {.takeaway}\n[54%]{.kpi}")
    assert "[信心偏弱]{.takeaway-title}" in md and "[说明]{.takeaway-note}\n:::" in md
