"""Excel tabs of a banner book: an index sheet and one sheet per question (xlsxwriter).

Each question sheet has the title and the book's base, a frozen header (variable spanners,
column labels and letters), and per block its rows: shares as numbers with a ``0%`` format,
means with ``0.0``, each followed by a narrow column with the significance letters (and ▲/▼
against the Total); suppressed cells show "*", options not asked "not asked"; nets are bold on
a tinted band; base and effective-base rows close each block; the note is under the table.
Sheet names are made valid for Excel (31 characters, no ``[]:*?/\\``, unique).

Example:
    >>> from survey.export.xlsx import to_xlsx
    >>> to_xlsx(b.table("en"), tmp / "book.xlsx").suffix
    '.xlsx'
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from survey.banners._text import say
from survey.errors import SurveyError
from survey.tables.model import ABOVE, BELOW, LOW_BASE, SUPPRESSED, Table, TableBlock

#: the fonts of the workbook: a CJK face clients have (Office falls back by itself)
FONT = {"zh": "Microsoft YaHei", "en": "Arial"}
_BAD = re.compile(r"[\[\]:*?/\\]")


def sheet_name(text: str, used: set[str]) -> str:
    """A valid, unique Excel sheet name for ``text`` (≤ 31 characters, no ``[]:*?/\\``, not
    starting or ending with an apostrophe); ``used`` is updated.

    Example:
        >>> used = set()
        >>> sheet_name("Q1: media / mobile [grid]", used), sheet_name("Q1: media / mobile [grid]", used)
        ('Q1 media mobile grid', 'Q1 media mobile grid (2)')
    """
    name = re.sub(r"\s+", " ", _BAD.sub(" ", text)).strip().strip("'") or "Sheet"
    name = name[:31]
    base, k = name, 2
    while name.lower() in {u.lower() for u in used} or name.lower() == "history":
        suffix = f" ({k})"
        name = base[:31 - len(suffix)] + suffix
        k += 1
    used.add(name)
    return name


def _formats(wb: Any, lang: str) -> dict[str, Any]:
    font = {"font_name": FONT.get(lang, FONT["zh"]), "font_size": 10}
    f = lambda **kw: wb.add_format({**font, **kw})  # noqa: E731
    net = {"bold": True, "bg_color": "#EAF1F8"}
    return {
        "title": f(bold=True, font_size=13),
        "sub": f(font_color="#555555"),
        "head": f(bold=True, align="center", valign="vcenter", text_wrap=True, bottom=1),
        "spanner": f(bold=True, align="center", valign="vcenter", bottom=1, bg_color="#F2F2F2"),
        "letter_head": f(align="center", font_color="#555555", bottom=1),
        "stub_head": f(bold=True, bottom=1, text_wrap=True, valign="vcenter"),
        "block": f(bold=True, top=1),
        "stub": f(text_wrap=True, valign="top", indent=1),
        "stub_net": f(text_wrap=True, valign="top", **net),
        "stub_mean": f(text_wrap=True, valign="top", italic=True, indent=1),
        "stub_base": f(font_color="#555555", indent=1),
        "pct": f(num_format="0%", align="right"),
        "pct_net": f(num_format="0%", align="right", **net),
        "mean": f(num_format="0.00", align="right", italic=True),
        "int": f(num_format="#,##0", align="right", font_color="#555555"),
        "count": f(num_format="#,##0.0", align="right", font_color="#555555"),
        "pct_grey": f(num_format="0%", align="right", font_color="#555555"),
        "text": f(align="right", font_color="#888888"),
        "text_net": f(align="right", font_color="#888888", **net),
        "letters": f(font_color="#C00000", font_size=8, align="left"),
        "letters_net": f(font_color="#C00000", font_size=8, align="left", **net),
        "note": f(font_color="#555555", font_size=8, text_wrap=True, valign="top"),
        "link": f(font_color="#1F4E79", underline=1),
    }


#: statistics a sheet can show for each option/net row: column %, weighted count, row %
STATS = ("col_pct", "count", "row_pct")


def _write_question(ws: Any, fm: dict[str, Any], t: Table, blocks: list[TableBlock],
                    title: str, index_name: str, show: tuple[str, ...] = ("col_pct",)) -> None:
    """One question sheet (all its blocks: a grid's items one under another)."""
    C = len(t.columns)
    ws.write_url(0, 0, f"internal:'{index_name}'!A1", fm["link"], say("xlsx.back", t.lang))
    ws.write(1, 0, title, fm["title"])
    ws.write(2, 0, t.base, fm["sub"])
    top = 4  # spanners, labels, letters
    ws.write(top, 0, "", fm["stub_head"])
    ws.merge_range(top, 0, top + 2, 0, blocks[0].title if len(blocks) == 1 else title,
                   fm["stub_head"])
    for sp in t.spanners:
        c0, c1 = 1 + 2 * sp.start, 2 * sp.stop
        if c1 > c0:
            ws.merge_range(top, c0, top, c1, sp.label, fm["spanner"])
        else:
            ws.write(top, c0, sp.label, fm["spanner"])
    for j, col in enumerate(t.columns):
        ws.merge_range(top + 1, 1 + 2 * j, top + 1, 2 + 2 * j, col.label, fm["head"])
        ws.merge_range(top + 2, 1 + 2 * j, top + 2, 2 + 2 * j,
                       f"({col.letter})" if col.letter else "", fm["letter_head"])
    ws.set_row(top + 1, 42)
    ws.set_column(0, 0, 34)
    for j in range(C):
        ws.set_column(1 + 2 * j, 1 + 2 * j, 9)
        ws.set_column(2 + 2 * j, 2 + 2 * j, 5)
    ws.freeze_panes(top + 3, 1)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    # one page wide, as many tall as needed; wide books: about 12 columns a page, stub repeated
    ws.fit_to_pages(max(1, -(-C // 12)), 0)
    ws.repeat_rows(top, top + 2)
    ws.repeat_columns(0, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    r = top + 3
    for blk in blocks:
        if len(blocks) > 1:
            ws.write(r, 0, blk.title, fm["block"])
            for j in range(2 * C):
                ws.write_blank(r, 1 + j, None, fm["block"])
            r += 1
        for row in blk.rows:
            net = row.kind == "net"
            stub = {"net": "stub_net", "mean": "stub_mean", "base": "stub_base",
                    "base_eff": "stub_base"}.get(row.kind, "stub")
            ws.write(r, 0, row.label, fm[stub])
            for j, cell in enumerate(row.cells):
                c = 1 + 2 * j
                sfx = "_net" if net else ""
                if row.kind in ("base", "base_eff"):
                    ws.write_number(r, c, round(cell.value or 0.0, 6), fm["int"])
                    continue
                if cell.not_asked:
                    ws.write_string(r, c, say("not_asked", t.lang), fm["text" + sfx])
                elif cell.suppressed or cell.value is None:
                    ws.write_string(r, c, SUPPRESSED, fm["text" + sfx])
                else:
                    ws.write_number(r, c, cell.value, fm[("pct" + sfx) if cell.kind == "share"
                                                         else "mean"])
                mark = {"+": ABOVE, "-": BELOW}.get(cell.vs_total, "")
                low = LOW_BASE if cell.low_base and not cell.suppressed else ""
                tail = f"{low}{cell.letters}{mark}"
                if tail:
                    ws.write_string(r, c + 1, tail, fm["letters" + sfx])
                elif net:
                    ws.write_blank(r, c + 1, None, fm["letters_net"])
            r += 1
            if row.kind in ("option", "net"):
                for stat in (s for s in show if s != "col_pct"):
                    r = _stat_row(ws, fm, t, row, stat, r)
        r += 1
    ws.merge_range(r, 0, r + 3, min(2 * C, 12), t.note, fm["note"])


def _stat_row(ws: Any, fm: dict[str, Any], t: Table, row: Any, stat: str, r: int) -> int:
    """One extra statistic row (weighted count or row %) under an option or net row."""
    ws.write(r, 0, say({"count": "weighted_count", "row_pct": "row_pct"}[stat], t.lang),
             fm["stub_base"])
    for j, cell in enumerate(row.cells):
        value = cell.count if stat == "count" else cell.row_pct
        if cell.not_asked or cell.suppressed:
            ws.write_string(r, 1 + 2 * j, SUPPRESSED, fm["text"])
        elif value is None:  # no row % for the Total and overlapping columns
            ws.write_blank(r, 1 + 2 * j, None, fm["text"])
        else:
            ws.write_number(r, 1 + 2 * j, value, fm["count" if stat == "count" else "pct_grey"])
    return r + 1


def to_xlsx(t: Table, path: str | Path, *, title: str | None = None,
            show: tuple[str, ...] = ("col_pct",)) -> Path:
    """Write :class:`~survey.tables.Table` ``t`` as Excel tabs at ``path`` and return it.

    ``show``: the statistics of each option/net row — the column share with its letters
    always, and under it, in the order given, ``"count"`` (weighted count) and ``"row_pct"``
    (share of the row's weighted count across the levels of the variable).

    The file is written to a temporary name and moved into place, so a failure leaves nothing
    behind.

    Example:
        >>> p = to_xlsx(b.table(), tmp / "tabs_zh.xlsx")
        >>> import openpyxl
        >>> openpyxl.load_workbook(p).sheetnames[0]
        '目录'
    """
    import xlsxwriter

    path = Path(path)
    bad = [s for s in show if s not in STATS]
    if bad or not show:
        raise SurveyError(f"unknown statistic {bad[0] if bad else None!r}", value=str(show),
                          expected=f"some of {STATS}")
    if path.suffix.lower() != ".xlsx":
        raise SurveyError("Excel tabs are written as .xlsx", value=str(path),
                          expected="a path ending in .xlsx")
    fd, tmpname = tempfile.mkstemp(suffix=".xlsx", dir=path.parent if path.parent.exists()
                                   else None)
    os.close(fd)
    try:
        wb = xlsxwriter.Workbook(tmpname, {"strings_to_numbers": False,
                                           "strings_to_formulas": False,
                                           "strings_to_urls": False})
        fm = _formats(wb, t.lang)
        used: set[str] = set()
        index_name = sheet_name(say("xlsx.index", t.lang), used)
        ix = wb.add_worksheet(index_name)
        names = []
        for k, qid in enumerate(t.questions(), 1):
            blocks = t.blocks_of(qid)
            head = blocks[0].title.split("：")[0].split(": ")[0] if blocks[0].item else \
                blocks[0].title
            names.append((qid, head, sheet_name(f"{k:02d} {head}", used), blocks))
        ix.write(0, 0, title or say("xlsx.title", t.lang), fm["title"])
        ix.write(1, 0, t.base, fm["sub"])
        for j, h in enumerate(("#", say("xlsx.question", t.lang), say("xlsx.id", t.lang))):
            ix.write(3, j, h, fm["head"])
        for k, (qid, head, name, _blocks) in enumerate(names, 1):
            ix.write_number(3 + k, 0, k)
            ix.write_url(3 + k, 1, f"internal:'{name}'!A1", fm["link"], head)
            ix.write_string(3 + k, 2, qid)
        ix.set_column(0, 0, 5)
        ix.set_column(1, 1, 48)
        ix.set_column(2, 2, 28)
        ix.fit_to_pages(1, 0)
        ix.set_paper(9)
        ix.merge_range(5 + len(names), 0, 8 + len(names), 2, t.note, fm["note"])
        for qid, head, name, blocks in names:
            ws = wb.add_worksheet(name)
            _write_question(ws, fm, t, blocks, head if blocks[0].item else blocks[0].title,
                            index_name, tuple(show))
            del qid
        wb.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        from survey.export._files import publish

        publish(tmpname, path)
    finally:
        if os.path.exists(tmpname):
            os.unlink(tmpname)
    return path
