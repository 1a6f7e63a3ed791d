"""Layout of the rendered PDF deck and web page: text boxes, one message per page (+ helpers for test_report_web)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Box:
    """A text box on a PDF page (points, origin bottom-left) and its text."""

    page: int
    left: float
    bottom: float
    right: float
    top: float
    text: str

    def area(self) -> float:
        return max(0.0, self.right - self.left) * max(0.0, self.top - self.bottom)

    def overlap(self, other: Box) -> float:
        w = min(self.right, other.right) - max(self.left, other.left)
        h = min(self.top, other.top) - max(self.bottom, other.bottom)
        return w * h if w > 0 and h > 0 else 0.0


def pdf_pages(path: Path) -> list[tuple[float, float, list[Box], str]]:
    """Per page: width, height, its text boxes (one per text run) and its whole text."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    pages = []
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            width, height = page.get_size()
            text = page.get_textpage()
            boxes = []
            for k in range(text.count_rects()):
                left, bottom, right, top = text.get_rect(k)
                content = text.get_text_bounded(left, bottom, right, top).strip()
                if content:
                    boxes.append(Box(i + 1, left, bottom, right, top, content))
            pages.append((width, height, boxes, text.get_text_range()))
    finally:
        pdf.close()
    return pages


def overlapping_boxes(boxes: list[Box], share: float = 0.25) -> list[tuple[Box, Box]]:
    """Pairs of text boxes whose intersection is more than ``share`` of the smaller box."""
    found = []
    ordered = sorted(boxes, key=lambda b: b.left)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.left >= a.right:
                break
            small = min(a.area(), b.area())
            if small > 1.0 and a.overlap(b) > share * small:
                found.append((a, b))
    return found


def outside_page(boxes: list[Box], width: float, height: float, tol: float = 0.5) -> list[Box]:
    """Text boxes that reach past an edge of the page."""
    return [b for b in boxes if b.left < -tol or b.bottom < -tol or b.right > width + tol
            or b.top > height + tol]


#: running header and footer bands of a deck page (points from the top and the bottom edge)
HEADER_BAND, FOOTER_BAND = 0.72 * 72, 0.55 * 72


def _object_spans(page: object, height: float) -> list[tuple[float, float]]:
    """Vertical extents (bottom, top) of every drawn object of a page (paths, images, text)."""
    spans = []
    for obj in page.get_objects(max_depth=3):  # type: ignore[attr-defined]
        try:
            _l, bottom, _r, top = obj.get_bounds()
        except Exception:  # objects without bounds
            continue
        if top - bottom < height * 0.9:  # backgrounds spanning the page do not count
            spans.append((bottom, top))
    return spans


def underfilled_pages(pdf: Path, share: float = 0.5) -> list[int]:
    """Pages with an empty band of more than ``share`` of the body height (between the running
    header and footer), except a page that ends a chapter (the next page has no running header:
    a divider or the back page) and pages without a running header (cover, dividers)."""
    import pypdfium2 as pdfium

    texts = pdf_pages(pdf)
    doc = pdfium.PdfDocument(str(pdf))
    out = []
    try:
        for i, (_w, height, boxes, _t) in enumerate(texts):
            if not [b for b in boxes if b.bottom > height - HEADER_BAND]:
                continue
            nxt = texts[i + 1] if i + 1 < len(texts) else None
            if nxt is None or not [b for b in nxt[2] if b.bottom > nxt[1] - HEADER_BAND]:
                continue  # ends a chapter
            low, high = FOOTER_BAND, height - HEADER_BAND
            spans = sorted((max(b, low), min(t, high)) for b, t in _object_spans(doc[i], height)
                           if t > low and b < high)
            gap, reach = 0.0, low
            for bottom, top in spans:
                gap = max(gap, bottom - reach)
                reach = max(reach, top)
            gap = max(gap, high - reach)
            if gap > share * (high - low):
                out.append(i + 1)
    finally:
        doc.close()
    return out


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

_PROBE = """
<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message)));
const __origError = console.error;
console.error = (...a) => { window.__errors.push(a.join(' ')); __origError(...a); };
window.addEventListener('load', () => {
  const vw = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    let p = el.parentElement, clipped = false;
    while (p) {
      const ox = getComputedStyle(p).overflowX;
      if (ox === 'auto' || ox === 'scroll' || ox === 'hidden') { clipped = true; break; }
      p = p.parentElement;
    }
    if (clipped) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 1) wide.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right));
  }
  const out = {scrollWidth: document.documentElement.scrollWidth, viewport: vw,
               errors: window.__errors, wide: wide.slice(0, 20)};
  window.parent.postMessage(JSON.stringify(out), '*');
});
</script>
"""

#: the page is loaded in an iframe of the exact width (a headless window is at least 500 px)
_WRAPPER = """<!DOCTYPE html><html><head><meta charset="utf-8"></head>
<body style="margin:0"><iframe src="PAGE" style="border:0;width:WIDTHpx;height:900px"></iframe>
<script>
window.addEventListener('message', e => {
  const pre = document.createElement('pre');
  pre.id = '__probe';
  pre.textContent = e.data;
  document.body.appendChild(pre);
});
</script></body></html>
"""


def chromium() -> str | None:
    """The headless Chromium binary, if one is installed."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def probe_page(html: Path, width: int, work: Path) -> dict:
    """Load ``html`` at ``width`` px in headless Chromium: overflow, wide elements, errors.

    The page is copied with a probe script first in ``<head>`` (it records errors and
    ``console.error`` calls) and loaded in an iframe exactly ``width`` px wide (a headless
    window is never narrower than 500 px); Chromium's own console log is checked as well.
    """
    binary = chromium()
    assert binary, "no chromium"
    page = html.read_text("utf-8")
    probed = work / f"probe-{width}-{html.name}"
    probed.write_text(page.replace("<head>", "<head>" + _PROBE, 1), "utf-8")
    wrapper = work / f"probe-{width}-wrapper.html"
    wrapper.write_text(_WRAPPER.replace("PAGE", probed.name).replace("WIDTH", str(width)), "utf-8")
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--window-size={max(width, 1400)},1000", "--virtual-time-budget=8000",
           "--enable-logging=stderr", "--v=0", "--dump-dom", wrapper.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    m = re.search(r'<pre id="__probe">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"probe did not run: {proc.stderr[-2000:]}"
    import html as htmllib

    result = json.loads(htmllib.unescape(m.group(1)))
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln and "probe" not in ln]
    result["console"] = console
    return result


def screenshot(html: Path, width: int, out: Path, height: int = 2400) -> Path:
    """A PNG of ``html`` at ``width`` px (for looking at the page)."""
    binary = chromium()
    assert binary, "no chromium"
    subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--window-size={width},{height}", f"--screenshot={out}", html.as_uri()],
                   capture_output=True, timeout=120, check=False)
    return out


# ---- tests on the fixture deck (tests/fixtures/mini_report) ----------------------------------

MINI = Path(__file__).parent / "fixtures" / "mini_report"


@pytest.fixture(scope="module")
def mini_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from survey.render import render_report

    out = render_report(MINI, out_dir=tmp_path_factory.mktemp("deck"), formats=("pdf",),
                        quiet=True, meta={"synthetic": True})
    return out["pdf"]


def assert_clean_layout(pdf: Path) -> None:
    """No overprinted text box and no text outside any page of ``pdf``."""
    problems = []
    for width, height, boxes, _text in pdf_pages(pdf):
        problems += [f"p{a.page}: {a.text!r} over {b.text!r}" for a, b in overlapping_boxes(boxes)]
        problems += [f"p{b.page}: {b.text!r} outside the page" for b in
                     outside_page(boxes, width, height)]
    assert not problems, problems[:10]


@pytest.mark.slow
def test_fixture_deck_has_no_overlapping_or_outside_text(mini_pdf: Path) -> None:
    assert_clean_layout(mini_pdf)


def test_overlap_check_finds_overprinted_text() -> None:
    a = Box(1, 10, 10, 60, 20, "第一行")
    b = Box(1, 12, 12, 58, 22, "第二行")
    c = Box(1, 70, 10, 90, 20, "旁边")
    assert overlapping_boxes([a, b, c]) == [(a, b)]
    assert outside_page([Box(1, 700, 10, 900, 20, "x"), c], 800, 450)[0].text == "x"


@pytest.mark.slow
def test_fixture_deck_running_header_and_page_numbers(mini_pdf: Path) -> None:
    pages = pdf_pages(mini_pdf)
    message = next(p for p in pages if "投入减少" in p[3])
    _width, height, boxes, _text = message
    top = [b for b in boxes if b.bottom > height - 0.75 * 72]
    assert any("迷你报告" in b.text for b in top) and any("市场信心" in b.text for b in top)
    page_no = str(pages.index(message) + 1)
    assert any(b.text == page_no and b.top < 0.6 * 72 for b in boxes)
    assert not any(b.text == "1" for b in pages[0][2])  # no page number on the cover


@pytest.mark.slow
def test_underfilled_check_finds_the_fixture_prose_page(mini_pdf: Path) -> None:
    """The fixture's one-sentence page (before a chart page) is flagged; chart pages are not."""
    pages = pdf_pages(mini_pdf)
    prose = next(i + 1 for i, p in enumerate(pages) if "短视频占比最高" in p[3])
    chart = next(i + 1 for i, p in enumerate(pages) if "投入减少" in p[3])
    flagged = underfilled_pages(mini_pdf)
    assert prose in flagged and chart not in flagged
