"""The web page in headless Chromium: no console errors, no horizontal overflow (1400, 390 px)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_report_layout import MINI, chromium, probe_page

pytestmark = pytest.mark.skipif(chromium() is None, reason="headless Chromium is not installed "
                                "(apt-get install chromium); the web checks need a browser")


@pytest.fixture(scope="module")
def mini_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from survey.render import render_report

    out = render_report(MINI, out_dir=tmp_path_factory.mktemp("web"), formats=("html",),
                        quiet=True, meta={"synthetic": True})
    return out["html"]


def assert_page_fits(html: Path, work: Path) -> None:
    for width in (1400, 390):
        result = probe_page(html, width, work)
        assert result["errors"] == [] and result["console"] == [], result
        assert result["scrollWidth"] <= result["viewport"], (width, result["wide"])
        assert result["wide"] == [], (width, result["wide"])


@pytest.mark.slow
def test_fixture_page_fits_both_widths_without_errors(mini_html: Path, tmp_path: Path) -> None:
    assert_page_fits(mini_html, tmp_path)


@pytest.mark.slow
def test_page_structure_nav_cards_pdf_link_footer(mini_html: Path) -> None:
    page = mini_html.read_text("utf-8")
    assert '<aside class="sidenav"' in page and 'id="TOC"' in page
    assert 'href="report.zh.pdf"' in page and "下载PDF版" in page
    assert '<footer class="page-end">' in page and "仅供测试。" in page
    assert 'class="level2 message"' in page and 'class="insights"' in page
    assert "2024年12月26日" in page and "测试研究院&lt;b&gt;" in page


def test_probe_finds_overflow_and_console_errors(tmp_path: Path) -> None:
    """The checks can fail: a 700 px block at 390 px and a script error are both reported."""
    page = tmp_path / "bad.html"
    page.write_text("<html><head></head><body><div style='width:700px'>宽</div>"
                    "<script>console.error('坏了'); undefined_call();</script></body></html>",
                    "utf-8")
    result = probe_page(page, 390, tmp_path)
    assert result["viewport"] == 390 and result["scrollWidth"] > 390
    assert any(w.startswith("DIV") for w in result["wide"])
    assert any("坏了" in e for e in result["errors"]) and len(result["errors"]) == 2
