"""Turn HTML table fragments (great-tables, data frames) into pandoc Table blocks for PDF.

The fragment is read with ``pandoc -f html``; great-tables' title/subtitle rows leave the
table head for the caption, source notes stay in the table foot, column
alignment comes from the ``gt_left``/``gt_right``/``gt_center`` classes, and the caption
("表 1.1：…") and the ``#tbl-…`` id are set so typst draws a clean, aligned, linkable table.

Example:
    >>> blocks = html_to_blocks("<table><tr><th>年份</th></tr><tr><td>2025</td></tr></table>",
    ...                         caption="表 1：示例", ident="tbl-x")
    >>> blocks[0]["t"], blocks[0]["c"][0][0]
    ('Table', 'tbl-x')
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from survey.render.pandoc import run_pandoc

_ALIGN = {"gt_left": "AlignLeft", "gt_right": "AlignRight", "gt_center": "AlignCenter"}


def _inlines_text(inlines: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for node in inlines:
        t = node.get("t")
        if t == "Str":
            out.append(node["c"])
        elif t in ("Space", "SoftBreak", "LineBreak"):
            out.append(" ")
        elif t in ("Emph", "Strong", "Span", "Underline", "SmallCaps", "Strikeout"):
            content = node["c"][-1] if t == "Span" else node["c"]
            out.append(_inlines_text(content))
        elif t == "Link":
            out.append(_inlines_text(node["c"][1]))
        elif t == "Code":
            out.append(node["c"][1])
    return "".join(out)


def _cell_text(cell: list[Any]) -> str:
    blocks = cell[4]
    return " ".join(_inlines_text(b["c"]) for b in blocks if b["t"] in ("Plain", "Para")).strip()


def _cell_inlines(cell: list[Any]) -> list[dict[str, Any]]:
    inlines: list[dict[str, Any]] = []
    for b in cell[4]:
        if b["t"] in ("Plain", "Para"):
            inlines.extend(b["c"])
    return inlines


def _full_width_rows(rows: list[Any], ncols: int) -> tuple[list[Any], list[Any]]:
    """Split off the leading rows made of one cell spanning every column."""
    taken = []
    while rows and len(rows[0][1]) == 1 and rows[0][1][0][3] == ncols and ncols > 1:
        taken.append(rows.pop(0))
    return taken, rows


def _find_table(blocks: list[dict[str, Any]]) -> dict[str, Any] | None:
    for b in blocks:
        if b["t"] == "Table":
            return b
        if b["t"] == "Div":
            found = _find_table(b["c"][1])
            if found:
                return found
    return None


def _plain(text: str) -> dict[str, Any]:
    return {"t": "Plain", "c": [{"t": "Str", "c": text}]}


def _fix_alignment(table: dict[str, Any]) -> None:
    _attr, _caption, colspecs, head, bodies, _foot = table["c"]
    rows = [r for body in bodies for r in body[3]]
    if rows and len(rows[0][1]) == len(colspecs):
        for j, cell in enumerate(rows[0][1]):
            for cls in cell[0][1]:
                if cls in _ALIGN:
                    colspecs[j] = [{"t": _ALIGN[cls]}, colspecs[j][1]]
    for row in head[1]:
        for cell in row[1]:
            for cls in cell[0][1]:
                if cls in _ALIGN:
                    cell[1] = {"t": _ALIGN[cls]}
    for row in rows:
        for cell in row[1]:
            cell[0] = ["", [], []]  # drop html-only attributes (headers=…, classes)
    for row in head[1]:
        for cell in row[1]:
            cell[0] = ["", [], []]


#: a table whose cells need more than this many half-width characters per line gets
#: explicit column widths (long text columns share the width) instead of content widths
LINE_BUDGET = 110
#: the width (half-width characters) beyond which a column's text is allowed to wrap
WRAP_AT = 36
#: columns at most this wide keep their content width (typst ``auto``) in such tables
SHORT_COLUMN = 12
#: the relative width that marks a content-width column for :func:`survey.render.typst.tune_tables`
AUTO_WIDTH = 1e-6


def _display_width(text: str) -> int:
    """Width in half-width character cells (CJK and full-width characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _set_widths(table: dict[str, Any]) -> None:
    """Give long-text tables explicit relative column widths (pandoc's ``ColWidth``)."""
    _attr, _caption, colspecs, head, bodies, _foot = table["c"]
    rows = [r for row_group in (head[1], *(b[3] for b in bodies)) for r in row_group]
    widest = [1] * len(colspecs)
    for row in rows:
        if len(row[1]) != len(colspecs):
            continue  # spanning cells (group headings) do not size columns
        for j, cell in enumerate(row[1]):
            widest[j] = max(widest[j], _display_width(_cell_text(cell)))
    if sum(widest) <= LINE_BUDGET:
        return
    long = [w > SHORT_COLUMN for w in widest]
    wanted = [min(w, WRAP_AT) + 2 for w in widest]
    total = sum(w for w, is_long in zip(wanted, long, strict=True) if is_long)
    for j, spec in enumerate(colspecs):
        width = wanted[j] / total if long[j] else AUTO_WIDTH
        colspecs[j] = [spec[0], {"t": "ColWidth", "c": width}]
    for row in rows:
        for cell in row[1]:
            for block in cell[4]:
                if block["t"] in ("Plain", "Para"):
                    _breakable_ids(block["c"])


def _breakable_ids(inlines: list[dict[str, Any]]) -> None:
    """Let long identifiers (``confidence_net_decrease``) wrap after ``_`` and ``/``."""
    for node in inlines:
        if node.get("t") == "Str" and len(node["c"]) > SHORT_COLUMN:
            node["c"] = re.sub(r"([_/])", "\\1\u200b", node["c"])


def html_to_blocks(html: str, *, caption: str = "", ident: str = "") -> list[dict[str, Any]]:
    """Pandoc JSON blocks for an HTML fragment: a captioned table plus a note paragraph.

    Falls back to whatever pandoc reads from the fragment (minus raw HTML) if it holds no
    table.
    """
    doc = json.loads(run_pandoc(["-f", "html", "-t", "json"], html))
    table = _find_table(doc["blocks"])
    if table is None:
        return [b for b in doc["blocks"] if b["t"] not in ("RawBlock",)]
    _attr, _cap, colspecs, head, _bodies, _foot = table["c"]
    ncols = len(colspecs)
    heading_rows, head_rows = _full_width_rows(list(head[1]), ncols)
    head[1] = head_rows
    headings = [_cell_text(r[1][0]) for r in heading_rows]
    extra = [h for h in headings if h and not caption.endswith(h)]
    title = caption or (extra.pop(0) if extra else "")
    if extra:
        title = " — ".join([title, *extra])
    _fix_alignment(table)
    _set_widths(table)
    table["c"][0] = [ident, [], []]
    table["c"][1] = [None, [_plain(title)] if title else []]
    return [table]


def _image_blocks(f: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A plain (uncaptioned) image, in a div that carries its deck size."""
    alt = [{"t": "Str", "c": f.get("alt") or ""}]
    image = {"t": "Image", "c": [["", [], []], alt, [f["src"], ""]]}
    attr = ["", ["survey-figure", f"size-{f.get('size') or 'full'}"], []]
    return [{"t": "Div", "c": [attr, [{"t": "Para", "c": [image]}]]}]


def _table_blocks(f: Mapping[str, Any], target: str) -> list[dict[str, Any]]:
    size = f"size-{f.get('size') or 'full'}"
    if target == "html":
        inner: list[dict[str, Any]] = []
        if f.get("caption"):
            cap = [{"t": "Plain", "c": [{"t": "Str", "c": f["caption"]}]}]
            inner.append({"t": "Div", "c": [["", ["table-caption"], []], cap]})
        inner.append({"t": "RawBlock", "c": ["html", f["html"].strip()]})
        return [{"t": "Div", "c": [[f.get("id") or "", ["survey-table", size], []], inner]}]
    blocks = html_to_blocks(f["html"], caption=f.get("caption") or "", ident=f.get("id") or "")
    return [{"t": "Div", "c": [["", ["survey-table", size], []], blocks]}]


def splice_fragments(
    doc: dict[str, Any], fragments: Mapping[str, Mapping[str, Any]], target: str = "pdf"
) -> dict[str, Any]:
    """Replace placeholder Divs (ids = fragment keys) in a pandoc JSON doc by their blocks.

    Tables become raw HTML (great-tables escapes its cells) for ``target="html"`` and real
    pandoc tables for ``"pdf"``; uncaptioned images become a plain image in a sized div.
    The markdown around them is read without raw HTML, so nothing else can inject markup.
    """

    def walk(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for b in blocks:
            if b["t"] == "Div":
                ident = b["c"][0][0]
                if ident in fragments:
                    f = fragments[ident]
                    if f.get("kind") == "image":
                        out.extend(_image_blocks(f))
                    else:
                        out.extend(_table_blocks(f, target))
                    continue
                b["c"][1] = walk(b["c"][1])
            out.append(b)
        return out

    doc["blocks"] = walk(doc["blocks"])
    return doc
