"""The shipped report renders to HTML and PDF, carries the package's numbers, and is reproducible.

These tests render ``report/`` (all chapters) with :func:`survey.render.render_report`, the
way ``survey report`` does, then read the outputs as a reader would: the HTML text, the PDF
text (pypdfium2) and the PDF's embedded fonts. Every expected number is computed here from the
wave through the package, never typed in.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

import pytest

from survey.paths import report_dir
from survey.present.text import fmt_pct
from survey.render import render_report
from survey.reporting import ReportContext

pytestmark = pytest.mark.slow

EDITION = 2025


def _render(out: Path, **params: object) -> dict[str, Path]:
    return render_report(
        report_dir(), out_dir=out, params={"edition": EDITION, "lang": "zh", **params}, quiet=True
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _render(tmp_path_factory.mktemp("report-a"))


@pytest.fixture(scope="module")
def ctx() -> ReportContext:
    return ReportContext.load(EDITION, "zh")


def _html_text(path: Path) -> str:
    raw = path.read_text("utf-8")
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", raw))
    return text


def _pdf_text(path: Path) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def _page_hashes(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        out = []
        for i in range(len(pdf)):
            image = pdf[i].render(scale=0.5).to_pil()
            out.append(hashlib.sha256(image.tobytes()).hexdigest())
        return out
    finally:
        pdf.close()


def _chapter_headings() -> list[str]:
    """The level-1 heading of every chapter source (``# 市场信心与预算 {#confidence}``)."""
    out = []
    for qmd in sorted(report_dir().glob("*.qmd")):
        out += [ln for ln in qmd.read_text("utf-8").splitlines() if ln.startswith("# ")][:1]
    return out


def _key_figures(ctx: ReportContext) -> list[str]:
    """Numbers the summary states, formatted as the report formats them."""
    growth = ctx.mean("budget_growth_expected")
    return [
        fmt_pct(ctx.share("confidence", "net_decrease")),
        fmt_pct(ctx.share("confidence", "net_increase")),
        fmt_pct(ctx.share("ai_tool_weekly", "yes")),
        fmt_pct(ctx.share("ai_marketing_now", "yes")),
        f"{growth['estimate']:.1f}%",
        f"n = {ctx.n}",
    ]


def test_both_formats_are_written(outputs: dict[str, Path]) -> None:
    assert set(outputs) == {"html", "pdf"}
    assert outputs["html"].stat().st_size > 100_000
    assert outputs["pdf"].read_bytes()[:5] == b"%PDF-"


def test_every_chapter_is_in_both_outputs(outputs: dict[str, Path], ctx: ReportContext) -> None:
    html_text, pdf_text = _html_text(outputs["html"]), _pdf_text(outputs["pdf"])
    titles = [line[2:].split(" {")[0] for line in _chapter_headings()]
    assert len(titles) == 9
    pdf_compact = re.sub(r"\s+", "", pdf_text)  # the PDF text layer spaces Latin from CJK
    for title in titles:
        assert title in html_text, title
        assert re.sub(r"\s+", "", title) in pdf_compact, title


def test_key_figures_come_from_the_wave(outputs: dict[str, Path], ctx: ReportContext) -> None:
    html_text = _html_text(outputs["html"])
    pdf_text = re.sub(r"\s+", " ", _pdf_text(outputs["pdf"]))
    for figure in _key_figures(ctx):
        assert figure in html_text, figure
        assert figure in pdf_text, figure


def test_report_says_the_data_are_synthetic(outputs: dict[str, Path], ctx: ReportContext) -> None:
    assert ctx.is_synthetic
    seed = str(ctx.wave.metadata["seed"])
    assert seed in _html_text(outputs["html"])


def test_pdf_embeds_a_cjk_font_and_no_other(outputs: dict[str, Path]) -> None:
    raw = outputs["pdf"].read_bytes()
    names = set(re.findall(rb"/FontName\s*/[A-Z]{6}\+([A-Za-z0-9-]+)", raw))
    assert names, "no embedded (subset) font in the PDF"
    assert all(n.startswith(b"NotoSansCJK") for n in names), names
    assert b"/FontFile" in raw


def test_html_is_self_contained_with_the_cjk_font(outputs: dict[str, Path]) -> None:
    raw = outputs["html"].read_text("utf-8")
    assert "@font-face" in raw and "data:font/" in raw
    assert not re.search(r"""<(img|script|link)\b[^>]*(src|href)=["']https?://""", raw)
    assert raw.count("data:image/svg+xml") >= 10  # charts are embedded SVG


def test_tables_are_great_tables_in_html(outputs: dict[str, Path]) -> None:
    raw = outputs["html"].read_text("utf-8")
    assert raw.count('class="gt_table"') >= 8


def test_two_renders_are_identical(
    outputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = _render(tmp_path_factory.mktemp("report-b"))
    assert _html_text(again["html"]) == _html_text(outputs["html"])
    assert _page_hashes(again["pdf"]) == _page_hashes(outputs["pdf"])


def test_english_render(tmp_path: Path, ctx: ReportContext) -> None:
    out = render_report(
        report_dir(), out_dir=tmp_path, params={"edition": EDITION, "lang": "en"}, formats=["html"],
        quiet=True,
    )
    text = _html_text(out["html"])
    en = ReportContext.load(EDITION, "en", with_previous=False)
    assert en.say("confidence.intro").split(".")[0] in text
    assert fmt_pct(ctx.share("confidence", "net_decrease")) in text
    # the English report uses the codebook's English labels
    assert en.label("confidence", "net_decrease") in text
