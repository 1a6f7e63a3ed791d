"""Lay a report's pandoc document out as a 16:9 deck: the section structure -> typst calls.

The chapters emit the markdown structure of the report contract (docs/quarto-subset.md):
``# chapter`` (+ ``.chapter-lead``), ``## message {.message}`` sections with one figure or
table, ``.insights`` and ``.page-footer`` divs, ``## … {.takeaways}`` pages of ``.takeaway``
cards. This module rewrites the pandoc document for the typst writer so that each chapter
heading becomes a divider page (``#deck-chapter``), each ``##`` section one page
(``#deck-message`` / ``#deck-takeaways``), and styled spans (``.kpi``, ``.synthetic-tag``…)
calls of the template's functions (``report/templates/typst-template.typ``). Only typst
code the engine writes is raw; every text of the document stays a pandoc string, which the
typst writer escapes.

Example:
    >>> h1 = {"t": "Header", "c": [1, ["chap-a", [], []], [{"t": "Str", "c": "信心"}]]}
    >>> out = deck_blocks([h1])
    >>> [b["c"][1] if b["t"] == "RawBlock" else b["t"] for b in out]
    ['#deck-chapter[', 'Header', '][', ']']
    >>> typst_string('say "hi" \\\\ now')
    '"say \\\\"hi\\\\" \\\\\\\\ now"'
"""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]

#: span classes drawn by a template function (class -> typst function)
SPAN_FUNCTIONS = {
    "kpi": "deck-kpi",
    "takeaway-title": "deck-takeaway-title",
    "takeaway-note": "deck-takeaway-note",
    "synthetic-tag": "deck-synthetic-tag",
}
#: a table with this many columns or more takes the full page width (insights below it)
WIDE_COLUMNS = 8


def typst_string(text: str) -> str:
    """``text`` as a typst string literal (quotes, backslashes and line breaks escaped)."""
    body = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + body.replace("\n", " ").replace("\r", " ") + '"'


def _raw(code: str) -> Block:
    return {"t": "RawBlock", "c": ["typst", code]}


def _raw_inline(code: str) -> dict[str, Any]:
    return {"t": "RawInline", "c": ["typst", code]}


def _classes(block: Block) -> list[str]:
    if block["t"] in ("Div", "Span"):
        return list(block["c"][0][1])
    if block["t"] == "Header":
        return list(block["c"][1][1])
    return []


def _is_div(block: Block, cls: str) -> bool:
    return block["t"] == "Div" and cls in _classes(block)


def _find(blocks: list[Block], kind: str) -> list[Block]:
    found: list[Block] = []
    for b in blocks:
        if b.get("t") == kind:
            found.append(b)
        c = b.get("c")
        if isinstance(c, list):
            for part in c:
                if isinstance(part, list):
                    found.extend(_find([x for x in part if isinstance(x, dict)], kind))
                elif isinstance(part, dict):
                    found.extend(_find([part], kind))
    return found


def _table_shape(blocks: list[Block]) -> tuple[int, int]:
    tables = _find(blocks, "Table")
    if not tables:
        return 0, 0
    _attr, _cap, colspecs, _head, bodies, _foot = tables[0]["c"]
    return sum(len(body[3]) for body in bodies), len(colspecs)


def _inlines(nodes: list[Any]) -> list[Any]:
    out: list[Any] = []
    for node in nodes:
        if not isinstance(node, dict):
            out.append(node)
            continue
        if node["t"] == "Span":
            inner = _inlines(node["c"][1])
            func = next((SPAN_FUNCTIONS[c] for c in _classes(node) if c in SPAN_FUNCTIONS), None)
            if func:
                out += [_raw_inline(f"#{func}["), *inner, _raw_inline("];")]
            else:
                out += inner
            continue
        if node["t"] in ("Emph", "Strong", "Underline", "Strikeout", "SmallCaps"):
            node = {**node, "c": _inlines(node["c"])}
        out.append(node)
    return out


def convert(blocks: list[Block], *, figure_size: str | None = None) -> list[Block]:
    """Rewrite figure/table divs and styled spans inside ``blocks`` for the deck template."""
    out: list[Block] = []
    for b in blocks:
        t = b["t"]
        if t == "Div":
            classes = _classes(b)
            inner = b["c"][1]
            if "survey-figure" in classes:
                images = _find(inner, "Image")
                if images:
                    _attr, alt_inlines, (src, _title) = images[0]["c"]
                    alt = "".join(n.get("c", " ") if n["t"] == "Str" else " " for n in alt_inlines)
                    size = next((c[5:] for c in classes if c.startswith("size-")), "full")
                    if figure_size and size == "full":
                        size = figure_size
                    out.append(_raw(f"#deck-figure({typst_string(src)}, size: "
                                    f"{typst_string(size)}, alt: {typst_string(alt)})"))
                continue
            if "survey-table" in classes:
                rows, cols = _table_shape(inner)
                size = next((c[5:] for c in classes if c.startswith("size-")), "full")
                call = f"#deck-table(size: {typst_string(size)}, rows: {rows}, cols: {cols})["
                out += [_raw(call),
                        *convert(inner), _raw("]")]
                continue
            out += convert(inner, figure_size=figure_size)
        elif t in ("Para", "Plain"):
            out.append({**b, "c": _inlines(b["c"])})
        elif t in ("BulletList", "OrderedList"):
            items = b["c"] if t == "BulletList" else b["c"][1]
            items = [convert(item) for item in items]
            out.append({**b, "c": items if t == "BulletList" else [b["c"][0], items]})
        elif t == "Header":
            level, attr, inl = b["c"]
            out.append({**b, "c": [level, attr, _inlines(inl)]})
        else:
            out.append(b)
    return out


def _message(header: Block, body: list[Block]) -> list[Block]:
    insights: list[Block] = []
    footer: list[Block] = []
    rest: list[Block] = []
    for b in body:
        if _is_div(b, "insights"):
            insights += b["c"][1]
        elif _is_div(b, "page-footer"):
            footer += b["c"][1]
        else:
            rest.append(b)
    figures = [b for b in _find(rest, "Div") if "survey-figure" in _classes(b)]
    tables = [b for b in _find(rest, "Div") if "survey-table" in _classes(b)]
    _rows, cols = _table_shape(rest)
    kind = "figure" if figures and not tables else "table" if tables else "text"
    wide = cols >= WIDE_COLUMNS or kind == "text"
    size = "half" if len(figures) > 1 else None
    return [
        _raw(f"#deck-message(kind: {typst_string(kind)}, wide: {str(wide).lower()}, "
             f"has-insights: {str(bool(insights)).lower()}, "
             f"has-footer: {str(bool(footer)).lower()})["),
        *convert([header]),
        _raw("]["),
        *convert(rest, figure_size=size),
        _raw("]["),
        *convert(insights),
        _raw("]["),
        *convert(footer),
        _raw("]"),
    ]


def _split_head(inlines: list[Any]) -> tuple[list[Any], list[Any]]:
    """Inlines before and after the first full-width or ASCII colon (``头：正文``)."""
    for i, node in enumerate(inlines):
        if isinstance(node, dict) and node.get("t") == "Str":
            for colon in ("：", ":"):
                k = node["c"].find(colon)
                if k >= 0:
                    before = [*inlines[:i], {"t": "Str", "c": node["c"][:k]}]
                    after = [{"t": "Str", "c": node["c"][k + 1 :]}, *inlines[i + 1 :]]
                    return before, after
    return [], inlines


def _implications(header: Block, body: list[Block]) -> list[Block] | None:
    """``#deck-implications[title][footer][head][text]…``: one card per recommendation (1-4)."""
    lists = [b for b in body if _is_div(b, "insights") for b in b["c"][1] if b["t"] == "BulletList"]
    if len(lists) != 1 or not 1 <= len(lists[0]["c"]) <= 4:
        return None
    footer = [x for b in body if _is_div(b, "page-footer") for x in b["c"][1]]
    out = [_raw("#deck-implications["), *convert([header]), _raw("]["), *convert(footer)]
    for item in lists[0]["c"]:
        if len(item) != 1 or item[0]["t"] not in ("Plain", "Para"):
            return None
        head, text = _split_head(item[0]["c"])
        out += [_raw("]["), *convert([{"t": "Plain", "c": head}] if head else []),
                _raw("]["), *convert([{"t": "Plain", "c": text}])]
    return [*out, _raw("]")]


def _card(blocks: list[Block]) -> list[Block]:
    """A takeaway card: ``#deck-card[kpi][title][chart][note]`` when its parts are marked."""
    parts: dict[str, list[Block]] = {"kpi": [], "takeaway-title": [], "chart": [], "note": []}
    rest: list[Block] = []
    for b in blocks:
        spans = [n for n in b["c"] if isinstance(n, dict) and n.get("t") == "Span"] \
            if b["t"] in ("Para", "Plain") else []
        marks = {c for n in spans for c in _classes(n)}
        if _is_div(b, "survey-figure"):
            parts["chart"].append(b)
        elif "kpi" in marks:
            parts["kpi"].append(b)
        elif "takeaway-title" in marks:
            parts["takeaway-title"].append(b)
        elif "takeaway-note" in marks:
            parts["note"].append(b)
        else:
            rest.append(b)
    if rest or not parts["kpi"]:
        return convert(blocks)
    out = [_raw("#deck-card[")]
    for key in ("kpi", "takeaway-title", "chart", "note"):
        out += [*convert(parts[key]), _raw("][") if key != "note" else _raw("]")]
    return out


def _takeaways(header: Block, body: list[Block]) -> list[Block]:
    """``#deck-takeaways[title][footer][card 1][card 2]…`` (content blocks must touch)."""
    footer = [x for b in body if _is_div(b, "page-footer") for x in b["c"][1]]
    out = [_raw("#deck-takeaways["), *convert([header]), _raw("]["), *convert(footer)]
    for b in body:
        if _is_div(b, "takeaway"):
            out += [_raw("]["), *_card(b["c"][1])]
    return [*out, _raw("]")]


def deck_blocks(blocks: list[Block]) -> list[Block]:
    """The top-level blocks of a report rewritten into the deck's page functions."""
    out: list[Block] = []
    i = 0
    while i < len(blocks):
        b = blocks[i]
        if b["t"] == "Header" and b["c"][0] == 1:
            lead: list[Block] = []
            j = i + 1
            if j < len(blocks) and _is_div(blocks[j], "chapter-lead"):
                lead = blocks[j]["c"][1]
                j += 1
            out += [_raw("#deck-chapter["), *convert([b]), _raw("]["), *convert(lead), _raw("]")]
            i = j
            continue
        if b["t"] == "Header" and b["c"][0] == 2:
            j = i + 1
            while j < len(blocks) and not (blocks[j]["t"] == "Header" and blocks[j]["c"][0] <= 2):
                j += 1
            section = blocks[i + 1 : j]
            if "takeaways" in _classes(b):
                out += _takeaways(b, section)
            elif "implications" in _classes(b):
                out += _implications(b, section) or _message(b, section)
            else:
                out += _message(b, section)
            i = j
            continue
        out += convert([b])
        i += 1
    return out
