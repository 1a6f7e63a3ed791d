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
import yaml

from survey.paths import report_dir
from survey.present.text import fmt_pct
from survey.render import render_report
from survey.reporting import ReportContext

pytestmark = pytest.mark.slow

EDITION = 2025


def _render(out: Path, project: Path | None = None, **params: object) -> dict[str, Path]:
    from survey.cli.report import check_report_params

    params = {"edition": EDITION, "lang": "zh", **params}
    project = project or report_dir()
    meta = check_report_params(project, dict(params))
    return render_report(project, out_dir=out, params=params, quiet=True, meta=meta)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _render(tmp_path_factory.mktemp("report-a"))


@pytest.fixture(scope="module")
def outputs_en(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _render(tmp_path_factory.mktemp("report-en"), lang="en")


@pytest.fixture(scope="module")
def appendix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _render(tmp_path_factory.mktemp("appendix"), report_dir() / "appendix")


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


def test_key_figures_come_from_the_wave(outputs: dict[str, Path], ctx: ReportContext) -> None:
    html_text = _html_text(outputs["html"])
    pdf_text = re.sub(r"\s+", " ", _pdf_text(outputs["pdf"]))
    for figure in _key_figures(ctx):
        assert figure in html_text, figure
        assert figure in pdf_text, figure


def test_report_says_the_data_are_synthetic(outputs: dict[str, Path], ctx: ReportContext) -> None:
    assert ctx.is_synthetic
    assert "合成数据，仅作方法演示" in _html_text(outputs["html"])
    assert "合成数据，仅作方法演示" in re.sub(r"\s+", "", _pdf_text(outputs["pdf"]))


def test_html_is_self_contained_with_the_cjk_font(outputs: dict[str, Path]) -> None:
    raw = outputs["html"].read_text("utf-8")
    assert "@font-face" in raw and "data:font/" in raw
    assert not re.search(r"""<(img|script|link)\b[^>]*(src|href)=["']https?://""", raw)
    assert raw.count("data:image/svg+xml") >= 10  # charts are embedded SVG


def test_tables_are_great_tables_in_html(outputs: dict[str, Path]) -> None:
    raw = outputs["html"].read_text("utf-8")
    assert raw.count('class="gt_table"') >= 1


def test_outputs_are_named_by_language(outputs: dict[str, Path], outputs_en: dict[str, Path],
                                       appendix: dict[str, Path]) -> None:
    assert [outputs[f].name for f in ("html", "pdf")] == ["report.zh.html", "report.zh.pdf"]
    assert [outputs_en[f].name for f in ("html", "pdf")] == ["report.en.html", "report.en.pdf"]
    assert appendix["pdf"].name == "appendix.zh.pdf"


def test_pdf_embeds_regular_and_bold_cjk_and_no_other(outputs: dict[str, Path]) -> None:
    raw = outputs["pdf"].read_bytes()
    names = set(re.findall(rb"/FontName\s*/[A-Z]{6}\+([A-Za-z0-9-]+)", raw))
    assert {b"SurveySansSC-Regular", b"SurveySansSC-Bold"} <= names, names
    assert all(n.startswith((b"SurveySansSC", b"NotoSansCJK")) for n in names), names


def test_deck_cover_contents_dividers_and_back_page(outputs: dict[str, Path]) -> None:
    from test_report_layout import pdf_pages

    pages = pdf_pages(outputs["pdf"])
    width, height, _boxes, cover = pages[0]
    assert abs(width / height - 16 / 9) < 0.01
    cfg = yaml.safe_load((report_dir() / "_quarto.yml").read_text("utf-8"))["report"]
    cover = re.sub(r"\s+", "", cover)  # typst spaces Latin from CJK in the text layer
    for field in [str(EDITION), cfg["publisher"]["zh"], cfg["partners"][0]["zh"], "2024年12月26日",
                  cfg["synthetic-badge"]["zh"]]:  # the shipped wave is synthetic: badge on the cover
        assert re.sub(r"\s+", "", field) in cover, field
    html_cover = outputs["html"].read_text("utf-8").split('<header class="cover"', 1)[1]
    assert cfg["synthetic-badge"]["zh"] in html_cover.split("</header>", 1)[0]
    assert "目录" in pages[1][3]
    back = re.sub(r"\s+", "", pages[-1][3])
    assert re.sub(r"\s+", "", cfg["disclaimer"]["zh"]) in back
    assert "合成数据" in back


def _message_titles(page: Path) -> list[str]:
    raw = page.read_text("utf-8")
    titles = re.findall(r'<section[^>]*class="level2 message[^"]*"[^>]*>\s*<h2[^>]*>(.*?)</h2>',
                        raw, re.S)
    titles = [re.sub(r'<span class="header-section-number">.*?</span>', "", t) for t in titles]
    return [re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", t))) for t in titles]


def test_one_message_per_page_with_footer(outputs: dict[str, Path]) -> None:
    from test_report_layout import pdf_pages

    titles = [t for t in _message_titles(outputs["html"]) if len(t) >= 6]
    assert len(titles) >= 15
    pages = [re.sub(r"\s+", "", p[3]) for p in pdf_pages(outputs["pdf"])]
    for title in titles:
        where = [i for i, text in enumerate(pages) if title in text]
        assert where, title
    for text in pages:
        assert sum(title in text for title in set(titles)) <= 1, text[:80]
    chart_pages = [t for t in pages if "基数" in t]
    assert len(chart_pages) >= 15 and all("来源" in t for t in chart_pages)


def test_no_overlapping_or_outside_text(outputs: dict[str, Path], outputs_en: dict[str, Path],
                                        appendix: dict[str, Path]) -> None:
    from test_report_layout import assert_clean_layout

    for pdf in (outputs["pdf"], outputs_en["pdf"], appendix["pdf"]):
        assert_clean_layout(pdf)


def test_no_page_less_than_half_used(outputs: dict[str, Path], outputs_en: dict[str, Path]) -> None:
    from test_report_layout import underfilled_pages

    for pdf in (outputs["pdf"], outputs_en["pdf"]):
        assert underfilled_pages(pdf) == [], pdf.name


def test_appendix_holds_the_provenance_and_the_publication_does_not(
    outputs: dict[str, Path], appendix: dict[str, Path], ctx: ReportContext
) -> None:
    prov = ctx.provenance()
    ids = prov["figure_id"].to_list()
    app = re.sub(r"[\s\u200b]+", "", _pdf_text(appendix["pdf"]))
    pub = _html_text(outputs["html"]) + _pdf_text(outputs["pdf"])
    found = [i for i in ids if i.replace("_", "") in app.replace("_", "")]
    assert len(found) >= 0.9 * len(ids)
    assert not [i for i in ids if i in pub and "_" in i]  # no field ids in the publication
    assert "sha256" not in pub.lower()


def test_web_page_fits_and_has_no_errors(outputs: dict[str, Path], tmp_path: Path) -> None:
    from test_report_layout import chromium

    if chromium() is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    from test_report_web import assert_page_fits

    assert_page_fits(outputs["html"], tmp_path)
    raw = outputs["html"].read_text("utf-8")
    assert raw.count('class="takeaway"') == 10 and 'href="report.zh.pdf"' in raw
