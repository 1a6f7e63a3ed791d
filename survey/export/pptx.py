"""PowerPoint slides with native, editable charts and tables (python-pptx).

:class:`Deck` builds a 16:9 deck: ``add_chart`` puts one native chart (its data editable in
PowerPoint: ``CategoryChartData``) with a title, the base and the source in the footer;
``add_table`` a native table of one question of a :class:`~survey.tables.Table`;
``add_banner`` a whole banner book (per question a chart of the Total and its table, wide
books split over several slides). Text runs carry a Latin and an East Asian font, so Chinese
shows in the CJK face of the reader's Office.

Example:
    >>> deck = Deck(lang="en")
    >>> chart = deck.add_chart("Confidence", ["Down", "Flat", "Up"],
    ...                        {"Total": [0.54, 0.24, 0.22]}, base="Base: all respondents, n = 228")
    >>> list(chart.plots[0].categories)
    ['Down', 'Flat', 'Up']
    >>> deck.save(tmp / "one.pptx").name
    'one.pptx'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from survey.banners._text import say
from survey.errors import SurveyError
from survey.tables.model import Table, TableBlock

if TYPE_CHECKING:
    from survey.banners import Banner

#: Latin and East Asian faces of the deck (Office substitutes what the reader lacks)
LATIN, EAST_ASIAN = "Arial", "Microsoft YaHei"
ACCENT, GREY, DARK = (0x1F, 0x4E, 0x79), (0x59, 0x59, 0x59), (0x26, 0x26, 0x26)
WHITE = (0xFF, 0xFF, 0xFF)
PALETTE = ["1F4E79", "2E75B6", "9DC3E6", "C55A11", "F4B183", "548235", "A9D18E", "7F7F7F"]
_W, _H = 13.333, 7.5  # inches, 16:9
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"  # DrawingML namespace
_EMU = 914400  # per inch
MAX_COLS, MAX_ROWS = 8, 15  # banner columns and body rows of one table slide


def _rgb(c: Sequence[int] | str) -> Any:
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(c) if isinstance(c, str) else RGBColor(*c)


def _east_asian(rpr: Any, face: str = EAST_ASIAN) -> None:
    """Give a run's (or a default) properties element an ``a:ea`` typeface."""
    from pptx.oxml.ns import qn

    ea = rpr.find(qn("a:ea"))
    if ea is None:
        ea = rpr.makeelement(qn("a:ea"), {})
        latin = rpr.find(qn("a:latin"))
        if latin is not None:
            latin.addnext(ea)
        else:
            rpr.append(ea)
    ea.set("typeface", face)


def _run(paragraph: Any, text: str, size: float, *, bold: bool = False,
         color: Sequence[int] = DARK) -> Any:
    """Append a run to ``paragraph``: ``a:r`` with size, weight, colour, Latin and East Asian
    faces, built directly in the XML (python-pptx's property setters cost ~1 ms a run)."""
    from lxml import etree

    p = paragraph._p
    r = etree.SubElement(p, _A + "r")
    end = p.find(_A + "endParaRPr")
    if end is not None:  # runs come before the end-of-paragraph properties
        end.addprevious(r)
    rpr = etree.SubElement(r, _A + "rPr", {"sz": str(round(size * 100)),
                                            "b": "1" if bold else "0"})
    fill = etree.SubElement(rpr, _A + "solidFill")
    etree.SubElement(fill, _A + "srgbClr", {"val": "".join(f"{c:02X}" for c in color)})
    etree.SubElement(rpr, _A + "latin", {"typeface": LATIN})
    etree.SubElement(rpr, _A + "ea", {"typeface": EAST_ASIAN})
    etree.SubElement(r, _A + "t").text = text
    return r


def _text(slide: Any, x: float, y: float, w: float, h: float, text: str, size: float, **kw: Any
          ) -> Any:
    from pptx.util import Inches

    box = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
    tf = box.text_frame
    tf.word_wrap = True
    for i, line in enumerate(text.split("\n")):
        p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        _run(p, line, size, **kw)
    return box


class Deck:
    """A 16:9 deck built slide by slide; :meth:`save` writes it atomically.

    Example:
        >>> deck = Deck()
        >>> deck.add_banner(b)
        >>> len(deck.prs.slides) >= 2
        True
    """

    def __init__(self, lang: str = "zh", *, source: str | None = None,
                 synthetic: bool = False) -> None:
        from pptx import Presentation
        from pptx.util import Inches

        self.lang = "en" if lang == "en" else "zh"
        self.source = source
        self.synthetic = synthetic  # every footer carries the synthetic-data tag
        self.prs = Presentation()
        self.prs.slide_width, self.prs.slide_height = Inches(_W), Inches(_H)

    # -- slides ------------------------------------------------------------------------------
    def add_cover(self, title: str, subtitle: str = "") -> Any:
        """A cover slide: the title and, under it, a subtitle (base, source)."""
        slide = self.prs.slides.add_slide(self.prs.slide_layouts[6])
        _text(slide, 0.8, 2.4, _W - 1.6, 1.4, title, 32, bold=True, color=ACCENT)
        if subtitle:
            _text(slide, 0.8, 4.0, _W - 1.6, 1.0, subtitle, 14, color=GREY)
        if self.synthetic:
            _text(slide, 0.8, _H - 0.9, _W - 1.6, 0.4, say("synthetic", self.lang), 12,
                  bold=True, color=GREY)
        return slide

    def _slide(self, title: str, base: str | None, note: str | None = None) -> Any:
        slide = self.prs.slides.add_slide(self.prs.slide_layouts[6])  # blank
        _text(slide, 0.5, 0.3, _W - 1.0, 0.8, title, 22, bold=True, color=ACCENT)
        tag = say("synthetic", self.lang) if self.synthetic else None
        parts = [x for x in (tag, base, self.source) if x]
        foot = ("｜" if self.lang == "zh" else " | ").join(parts)
        if note:
            _text(slide, 0.5, _H - 1.05, _W - 1.0, 0.5, note, 8, color=GREY)
        if foot:
            _text(slide, 0.5, _H - 0.55, _W - 1.0, 0.35, foot, 9, color=GREY)
        return slide

    def add_kpi(self, title: str, value: str, caption: str = "", *, base: str | None = None
                ) -> Any:
        """A slide with one large number (a mean, a share) and a caption under it."""
        slide = self._slide(title, base)
        _text(slide, 0.8, 2.3, _W - 1.6, 1.6, value, 66, bold=True, color=ACCENT)
        if caption:
            _text(slide, 0.8, 4.1, _W - 1.6, 1.0, caption, 16, color=GREY)
        return slide

    def add_chart(self, title: str, categories: Sequence[str],
                  series: Mapping[str, Sequence[float | None]], *, kind: str = "bar",
                  number_format: str = "0%", base: str | None = None, note: str | None = None,
                  series_colors: Sequence[str] | None = None,
                  point_colors: Sequence[str] | None = None) -> Any:
        """One slide with one native chart: ``kind`` is ``bar`` (horizontal), ``column`` or
        ``stacked`` (100% stacked horizontal bars; series are the stacked parts).
        ``series_colors`` (hex, one per series) and ``point_colors`` (one per category of the
        first series) override the deck's palette: :func:`scale_colors` gives the colours of a
        scale's options by meaning (increase, flat, decrease, not invest).

        Returns the python-pptx chart (editable: its data live in an embedded workbook).
        """
        from pptx.chart.data import CategoryChartData
        from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
        from pptx.util import Inches, Pt

        kinds = {"bar": XL_CHART_TYPE.BAR_CLUSTERED, "column": XL_CHART_TYPE.COLUMN_CLUSTERED,
                 "stacked": XL_CHART_TYPE.BAR_STACKED_100}
        if kind not in kinds:
            raise SurveyError(f"unknown chart kind {kind!r}", value=kind,
                              expected="'bar', 'column' or 'stacked'")
        slide = self._slide(title, base, note)
        data = CategoryChartData(number_format=number_format)
        data.categories = list(categories)
        for name, values in series.items():
            data.add_series(name, [None if v is None else float(v) for v in values])
        frame = slide.shapes.add_chart(kinds[kind], Inches(0.6), Inches(1.25), Inches(_W - 1.2),
                                       Inches(_H - 2.45), data)
        chart = frame.chart
        chart.has_title = False  # the slide title says it
        chart.font.size, chart.font.name = Pt(11), LATIN
        _east_asian(chart.font._rPr)
        plot = chart.plots[0]
        plot.gap_width = 60
        if kind == "stacked":
            plot.overlap = 100
        plot.has_data_labels = True
        labels = plot.data_labels
        labels.number_format, labels.number_format_is_linked = number_format, False
        labels.font.size = Pt(10)
        if kind != "stacked":
            labels.position = XL_LABEL_POSITION.OUTSIDE_END
        va = chart.value_axis
        va.has_major_gridlines = False
        va.visible = kind == "stacked"
        va.tick_labels.number_format, va.tick_labels.number_format_is_linked = number_format, False
        if kind in ("bar", "stacked"):
            chart.category_axis.reverse_order = True  # first category on top
        chart.has_legend = len(series) > 1
        if chart.has_legend:
            chart.legend.position = XL_LEGEND_POSITION.BOTTOM
            chart.legend.include_in_layout = False
        for k, s in enumerate(plot.series):
            colour = (series_colors[k] if series_colors is not None and k < len(series_colors)
                      else PALETTE[k % len(PALETTE)]).lstrip("#")
            s.format.fill.solid()
            s.format.fill.fore_color.rgb = _rgb(colour)
            if k == 0 and point_colors is not None:
                for i, c in enumerate(point_colors[:len(categories)]):
                    pt = s.points[i].format.fill
                    pt.solid()
                    pt.fore_color.rgb = _rgb(c.lstrip("#"))
            if kind == "stacked":  # labels inside the bars: white on dark fills
                dark = sum(int(colour[i:i + 2], 16) for i in (0, 2, 4)) < 3 * 150
                s.data_labels.font.color.rgb = _rgb(WHITE if dark else DARK)
                s.data_labels.font.size = Pt(10)
                s.data_labels.number_format = number_format
                s.data_labels.number_format_is_linked = False
                s.data_labels.show_value = True
        return chart

    def add_table(self, table: Table, qid: str, *, title: str | None = None) -> list[Any]:
        """Native table slides of question ``qid`` of ``table`` (Total repeated on each slide
        when the columns do not fit; long blocks continue on the next slide)."""
        from pptx.util import Inches

        blocks = table.blocks_of(qid)
        if not blocks:
            raise SurveyError(f"'{qid}' is not in the table", value=qid,
                              expected=f"one of {table.questions()}")
        others = list(range(1, len(table.columns)))
        col_sets = [[0, *others[i:i + MAX_COLS]] for i in range(0, max(len(others), 1), MAX_COLS)]
        head = title or _question_title(blocks)
        out = []
        pages: list[list[tuple[TableBlock, Any]]] = [[]]
        for blk in blocks:  # whole blocks on a slide, unless one is longer than a slide
            if pages[-1] and len(pages[-1]) + len(blk.rows) > MAX_ROWS:
                pages.append([])
            for row in blk.rows:
                if len(pages[-1]) == MAX_ROWS:
                    pages.append([])
                pages[-1].append((blk, row))
        for cols in col_sets:
            for chunk in pages:
                slide = self._slide(head, table.base, table.note)
                shape = slide.shapes.add_table(len(chunk) + 1, len(cols) + 1, Inches(0.5),
                                               Inches(1.2), Inches(_W - 1.0),
                                               Inches(0.3 * (len(chunk) + 1)))
                tbl = shape.table
                widths = [3.6] + [(_W - 1.0 - 3.6) / len(cols)] * len(cols)
                for gc, inch in zip(tbl._tbl.tblGrid.findall(_A + "gridCol"), widths,
                                    strict=True):
                    gc.set("w", str(int(inch * _EMU)))
                self._cell(tbl.cell(0, 0), "", bold=True)
                for j, c in enumerate(cols):
                    col = table.columns[c]
                    label = col.label if col.letter is None else f"{col.label} ({col.letter})"
                    if col.variable != "total":
                        label = f"{col.var_label}\n{label}"
                    self._cell(tbl.cell(0, j + 1), label, bold=True, size=9, center=True,
                               color=WHITE)
                prev = None
                for i, (blk, row) in enumerate(chunk, 1):
                    label = row.label
                    if len(blocks) > 1 and blk is not prev:
                        label = f"{_item_title(blk)}｜{row.label}" if self.lang == "zh" else \
                            f"{_item_title(blk)} | {row.label}"
                    prev = blk
                    net = row.kind == "net"
                    base = row.kind in ("base", "base_eff")
                    self._cell(tbl.cell(i, 0), label, bold=net, size=9,
                               color=GREY if base else DARK)
                    for j, c in enumerate(cols):
                        self._cell(tbl.cell(i, j + 1), table.text(row.cells[c]), bold=net,
                                   size=9, center=True, color=GREY if base else DARK)
                for k, tr in enumerate(tbl._tbl.findall(_A + "tr")):
                    tr.set("h", str(int((0.6 if k == 0 else 0.3) * _EMU)))
                out.append(slide)
        return out

    @staticmethod
    def _cell(cell: Any, text: str, *, bold: bool = False, size: float = 10,
              center: bool = False, color: Sequence[int] = DARK) -> None:
        tf = cell.text_frame
        tf.word_wrap = True
        for i, line in enumerate(text.split("\n")):
            p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
            if center:
                p._p.get_or_add_pPr().set("algn", "ctr")
            _run(p, line, size, bold=bold, color=color)
        tcpr = cell._tc.get_or_add_tcPr()
        for side, inch in (("marL", 0.05), ("marR", 0.05), ("marT", 0.02), ("marB", 0.02)):
            tcpr.set(side, str(int(inch * _EMU)))

    def add_banner(self, b: Banner, *, charts: bool = True, tables: bool = True) -> None:
        """Slides for every question of banner ``b``: a chart of the Total (grids: stacked
        bars of the items) and the question's table."""
        self.synthetic = self.synthetic or bool(getattr(b, "synthetic", False))
        t = b.table(self.lang)
        for qid in t.questions():
            blocks = t.blocks_of(qid)
            if charts:
                self.add_block_chart(t, blocks)
            if tables:
                self.add_table(t, qid)

    def add_block_chart(self, t: Table, blocks: list[TableBlock]) -> Any:
        """The chart of one question's Total column: options as bars (nets and means left
        out), a grid's items as 100% stacked bars of its options."""
        title = _question_title(blocks)
        # options the edition did not ask have no estimate: left out, not empty bars
        opts = [[r for r in blk.rows if r.kind == "option" and not r.cells[0].not_asked]
                for blk in blocks]
        if not any(opts):
            means = [r for blk in blocks for r in blk.rows if r.kind == "mean"]
            return self.add_chart(title, [r.label for r in means],
                                  {say("total", self.lang): [r.cells[0].value for r in means]},
                                  number_format="0.0", base=t.base)
        if len(blocks) > 1:
            series = {r.label: [blk_rows[k].cells[0].value for blk_rows in opts]
                      for k, r in enumerate(opts[0])}
            return self.add_chart(title, [_item_title(blk) for blk in blocks], series,
                                  kind="stacked", base=t.base,
                                  series_colors=scale_colors_or_none(
                                      [r.code for r in opts[0]]))
        return self.add_chart(title, [r.label for r in opts[0]],
                              {say("total", self.lang): [r.cells[0].value for r in opts[0]]},
                              base=t.base,
                              point_colors=scale_colors_or_none([r.code for r in opts[0]]))

    def save(self, path: str | Path) -> Path:
        """Write the deck to ``path`` (.pptx) through a temporary file; return the path."""
        path = Path(path)
        if path.suffix.lower() != ".pptx":
            raise SurveyError("decks are written as .pptx", value=str(path),
                              expected="a path ending in .pptx")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".pptx", dir=path.parent)
        os.close(fd)
        try:
            self.prs.save(tmp)
            from survey.export._files import publish

            publish(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path


def scale_colors_or_none(codes: Sequence[str], scores: Sequence[float | None] | None = None
                         ) -> list[str] | None:
    """The meaning colours (:data:`survey.present.palette.MEANING`) of a scale's options, or
    ``None`` when no option has a meaning (a list of media, reasons …: the deck's palette).

    Example:
        >>> scale_colors_or_none(["increase", "flat", "decrease", "not_invest"])
        ['#2F6DB5', '#A9B1BC', '#EE8A3C', '#E3E6EA']
        >>> scale_colors_or_none(["kol", "search"]) is None
        True
    """
    from survey.present.palette import meaning_of, scale_colors

    codes = [c.rsplit(":", 1)[-1] for c in codes]
    sc = list(scores) if scores is not None else [None] * len(codes)
    if not any(meaning_of(c, s) for c, s in zip(codes, sc, strict=True)):
        return None
    return scale_colors(list(codes), sc)


def _item_title(blk: TableBlock) -> str:
    for sep in ("：", ": "):
        if sep in blk.title:
            return blk.title.split(sep, 1)[1]
    return blk.item or blk.title


def _question_title(blocks: list[TableBlock]) -> str:
    if len(blocks) > 1 or blocks[0].item:
        for sep in ("：", ": "):
            if sep in blocks[0].title:
                return blocks[0].title.split(sep, 1)[0]
    return blocks[0].title


def save_chart(path: str | Path, title: str, categories: Sequence[str],
               series: Mapping[str, Sequence[float | None]], *, lang: str = "zh",
               **kwargs: Any) -> Path:
    """One call, one chart: a one-slide deck with a native chart at ``path``.

    Example:
        >>> save_chart(tmp / "chart.pptx", "AI", ["Yes", "No"], {"Total": [0.7, 0.3]}).name
        'chart.pptx'
    """
    deck = Deck(lang=lang)
    deck.add_chart(title, categories, series, **kwargs)
    return deck.save(path)
