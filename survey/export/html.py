"""HTML and great-tables renderings of a banner book."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from html import escape as html_escape
from html import unescape as html_unescape
from typing import TYPE_CHECKING, Any

import polars as pl

from survey.banners._text import TOTAL, say
from survey.tables.model import build_table

if TYPE_CHECKING:
    from survey.banners import Banner

# ---------------------------------------------------------------------------------------------
# Rendering: from the table model (``survey.tables.model``), as the Excel and PowerPoint exports
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Book:
    """What a rendering of the book needs: the body (one row per table row: ``block``,
    ``row_code``, ``row_label``, ``group`` and one text column per banner column ``c0, c1, …``)
    and the column headers."""

    body: pl.DataFrame
    ids: list[str]
    col_keys: list[tuple]  # (variable, level, label, letter, variable label) per column
    single: bool  # one block: no row groups, the block title is the stub head
    stubhead: str
    table_id: str
    note: str
    lang: str


def _book(b: Banner, lang: str, decimals: int) -> _Book:
    """The body texts of banner ``b``: every cell as :meth:`Table.text` writes it."""
    t = build_table(b, lang)
    lg = t.lang
    col_keys = [(c.variable, c.level, c.label, c.letter, c.var_label) for c in t.columns]
    ids = [f"c{i}" for i in range(len(col_keys))]
    recs = []
    for k, blk in enumerate(t.blocks):
        for row in blk.rows:
            recs.append((str(k), row.code, row.label, blk.title,
                         *(t.text(cell, decimals) for cell in row.cells)))
    body = pl.DataFrame(recs, orient="row", schema={
        "block": pl.String, "row_code": pl.String, "row_label": pl.String, "group": pl.String,
        **{c: pl.String for c in ids}})
    blocks = body["group"].unique(maintain_order=True).to_list()
    single = len(blocks) == 1
    digest = hashlib.sha1(repr((b.test, b.alpha, body.rows())).encode()).hexdigest()[:10]
    note = f"{t.base}{say('and_sep', lg)}{t.note}" if b.filtered else t.note
    return _Book(body, ids, col_keys, single, blocks[0] if single else "", f"bn{digest}", note,
                 lg)


def _gt_of(book: _Book, body: pl.DataFrame) -> Any:
    """The great-tables table of ``body`` (all of ``book.body`` or some of its rows)."""
    from great_tables import GT, loc, style

    gt = GT(body.drop("block", "row_code"), rowname_col="row_label",
            groupname_col=None if book.single else "group", id=book.table_id)
    if book.single:
        gt = gt.cols_hide("group")
    gt = gt.tab_stubhead(label=book.stubhead)
    labels_map = {}
    spanners: dict[str, list[str]] = {}
    for i, (var, _lv, label, letter, var_label) in enumerate(book.col_keys):
        labels_map[book.ids[i]] = label if letter is None else f"{label} ({letter})"
        if var != TOTAL:
            spanners.setdefault(f"{var}\x1f{var_label}", []).append(book.ids[i])
    gt = gt.cols_label(**labels_map)
    for key, colids in spanners.items():
        gt = gt.tab_spanner(label=key.split("\x1f", 1)[1], columns=colids, id=key)
    gt = gt.cols_align(align="center", columns=book.ids)
    base_idx = [i for i, rc in enumerate(body["row_code"]) if rc.startswith("__base")]
    if base_idx:  # style the stub only: body styles cost great-tables O(cells × styles)
        gt = gt.tab_style(style=style.text(size="12px", color="#555555"),
                          locations=loc.stub(rows=base_idx))
    # one identity formatter marks every cell as formatted (skips great-tables' slow per-cell
    # escaping pass); our texts are plain, escaped here
    gt = gt.fmt(lambda x: html_escape("" if x is None else str(x)), columns=book.ids)
    gt = gt.tab_source_note(book.note)
    try:
        from survey.present.tables import styled
    except ImportError:  # pragma: no cover - the house style is optional
        return gt
    return styled(gt, book.lang)


def _to_gt(b: Banner, lang: str, decimals: int) -> Any:
    return _gt_of(b_ := _book(b, lang, decimals), b_.body)


# --- the HTML of a whole book without great-tables' per-cell work ------------------------------
# great-tables renders a table cell by cell through its data frame (≈ 80 µs per cell: a book of
# 30 questions × 40 columns takes about a second). ``_fast_html`` lets great-tables render the
# table with two body rows (styles, header, spanners, source note: everything but the body) and
# writes the body rows itself in great-tables' own markup: the same classes, ``id``s (made unique
# as great-tables does) and ``headers`` attributes. ``tests/test_banner.py`` checks that the result
# is byte-identical to great-tables' rendering of the full table; if the header ids it expects are
# not in great-tables' output (another great-tables version), it falls back to the full rendering.
_GT_TBODY = '<tbody class="gt_table_body">\n'


def _html_id(text: str) -> str:
    """great-tables' id of a label: no markup, runs of other than word characters, ``.:-`` → -."""
    text = html_unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"[^\w.:-]+", "-", text).strip("-")


class _Ids:
    """Unique element ids within a table, prefixed by the table id (great-tables' scheme)."""

    def __init__(self, table_id: str) -> None:
        self.prefix = f"{_html_id(table_id)}-"
        self.used = {table_id}

    def make(self, base: str, fallback: str) -> str:
        name = _html_id(html_escape(base)) or fallback
        cand, k = f"{self.prefix}{name}", 2
        while cand in self.used:
            cand, k = f"{self.prefix}{name}-{k}", k + 1
        self.used.add(cand)
        return cand


def _fast_html(b: Banner, lang: str, decimals: int) -> str:
    book = _book(b, lang, decimals)
    body = book.body
    codes = body["row_code"].to_list()
    first_base = codes.index("__base")
    skeleton = _gt_of(book, body[[0, first_base]]).as_raw_html()
    head, sep, rest = skeleton.partition(_GT_TBODY)
    body_sk, sep2, tail = rest.partition("\n</tbody>")
    ids = _Ids(book.table_id)
    if book.single and book.stubhead:
        ids.make(book.stubhead, "stubhead")
    col_ids = [ids.make(c, "column") for c in book.ids]
    spanner_of: dict[str, str] = {}
    col_heads = []
    for (var, _lv, _label, _letter, var_label), cid in zip(book.col_keys, col_ids, strict=True):
        if var == TOTAL:
            col_heads.append(cid)
            continue
        key = f"{var}\x1f{var_label}"
        if key not in spanner_of:
            spanner_of[key] = ids.make(var_label, "spanner")
        col_heads.append(f"{spanner_of[key]} {cid}")
    style_m = re.search(r'<th( style="[^"]*")? scope="row"', body_sk.rsplit("<tr>", 1)[-1])
    expected = [*col_ids, *spanner_of.values()]
    if not (sep and sep2 and style_m and all(f'id="{x}"' in head for x in expected)):
        return _gt_of(book, body).as_raw_html()  # unknown great-tables markup: render it all
    base_style = style_m.group(1) or ""
    labels = body["row_label"].to_list()
    groups = body["group"].to_list()
    texts = [body[c].to_list() for c in book.ids]
    order = range(body.height)
    if not book.single:  # great-tables lists the rows of a group together, groups in first order
        first: dict[str, int] = {}
        for i, g in enumerate(groups):
            first.setdefault(g, i)
        order = sorted(order, key=lambda i: first[groups[i]])
    ncol = len(book.ids) + 1
    out: list[str] = []
    gid = None
    prev = None
    for i in order:
        if not book.single and groups[i] != prev:
            prev = groups[i]
            gid = ids.make(prev, "group")
            label = html_escape(prev)
            cls = "gt_empty_group_heading" if label == "" else "gt_group_heading_row"
            out.append(f'  <tr class="{cls}">\n    <th class="gt_group_heading" colspan="{ncol}" '
                       f'scope="{"colgroup" if ncol > 1 else "col"}" id="{html_escape(gid)}">'
                       f"{label}</th>\n  </tr>")
        sid = ids.make(f"stub-{i + 1}", "stub")
        style_attr = base_style if codes[i].startswith("__base") else ""
        row_head = f"{gid} {sid}" if gid else sid
        cells = [f'  <tr>\n    <th{style_attr} scope="row" id="{html_escape(sid)}" '
                 f'class="gt_row gt_left gt_stub">{html_escape(labels[i])}</th>']
        for k, heads in enumerate(col_heads):
            v = texts[k][i]
            cells.append(f'    <td headers="{html_escape(f"{row_head} {heads}")}" '
                         f'class="gt_row gt_center">{html_escape("" if v is None else v)}</td>')
        out.append("\n".join(cells) + "\n  </tr>")
    return head + _GT_TBODY + "\n".join(out) + "\n</tbody>" + tail


def html_document(fragment: str, *, title: str, lang: str) -> str:
    """A complete HTML5 document (doctype, ``<meta charset="utf-8">``, ``lang``) around a
    table fragment; ``title`` is escaped.

    Example:
        >>> doc = html_document("<table></table>", title="<b>x</b>", lang="zh")
        >>> doc.startswith("<!DOCTYPE html>"), '<meta charset="utf-8">' in doc, "&lt;b&gt;" in doc
        (True, True, True)
    """
    code = "en" if lang == "en" else "zh-CN"
    return (f'<!DOCTYPE html>\n<html lang="{code}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html_escape(title)}</title>\n</head>\n<body>\n{fragment}\n</body>\n"
            "</html>\n")
