"""PDF through pandoc's typst writer and the ``typst`` Python package, with a CJK font.

The template sets Noto Sans CJK SC (found by :func:`survey.present.theme.cjk_font_path`) for
body, headings and tables, ``lang: "zh"``, booktabs-like tables, captions above tables and
a fixed document date so two renders give identical PDF bytes.

Example:
    >>> from pathlib import Path
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> pdf = render_pdf({"blocks": [], "meta": {}, "pandoc-api-version": [1, 23, 1]},
    ...                  build_dir=d, output=d / "x.pdf", meta={"title": "报告"})
    >>> pdf.read_bytes()[:5]
    b'%PDF-'
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from survey.errors import RenderError
from survey.present.theme import CJK_FAMILY, FALLBACK_FAMILY, font_paths
from survey.render.deck import deck_blocks
from survey.render.execute import SOURCE_DATE_EPOCH
from survey.render.pandoc import run_pandoc, write_metadata

TEMPLATE = r"""// survey report: typst template for pandoc (CJK fonts, tables, headings)
#let horizontalrule = line(start: (25%, 0%), end: (75%, 0%), stroke: 0.5pt + gray)
#show terms.item: it => block(breakable: false)[
  #text(weight: "bold")[#it.term]
  #block(inset: (left: 1.5em, top: -0.4em))[#it.description]
]
$if(highlighting-definitions)$
$highlighting-definitions$
$endif$

#set document(title: [$title$]$if(date-iso)$, date: datetime(year: $date-year$, month: $date-month$, day: $date-day$)$endif$)
#set page(paper: "a4", margin: (x: 2.2cm, y: 2.4cm),
  numbering: "1", number-align: center)
#set text(font: ("$cjk-font$", "$fallback-font$"), size: 10.5pt, lang: "$lang$"$if(region)$, region: "$region$"$endif$)
#set par(justify: true, leading: 0.85em, spacing: 1.3em)
$if(lang-en)$
#show regex("[“”‘’]"): set text(features: ("palt",))
$endif$
#show raw: set text(font: ("DejaVu Sans Mono", "$cjk-font$", "$fallback-font$"), size: 8.5pt)
#set strong(delta: 300)
#show strong: set text(weight: "bold")
#set heading(numbering: $if(section-numbering)$"$section-numbering$"$else$none$endif$)
#show heading: set text(font: ("$cjk-font$", "$fallback-font$"), weight: "bold", fill: rgb("#1b2a41"))
#set page(header: context {
  let p = here().page()
  let here-now = query(heading.where(level: 1)).filter(h => h.location().page() == p)
  let before = query(heading.where(level: 1).before(here()))
  let current = if here-now.len() > 0 { here-now.first() } else if before.len() > 0 { before.last() } else { none }
  if p > 2 and current != none {
    set text(size: 8.5pt, fill: rgb("#5b6573"))
    grid(columns: (1fr, auto), [$title$], current.body)
    v(-0.4em)
    line(length: 100%, stroke: 0.4pt + rgb("#c9d3dd"))
  }
})
#show heading.where(level: 1): it => { pagebreak(weak: true); v(0.6em); text(size: 17pt, it); v(0.4em) }
#show heading.where(level: 2): set text(size: 13pt)
#show link: set text(fill: rgb("#1f5fa8"))
#set table(stroke: none, inset: (x: 7pt, y: 4.5pt))
#set table.hline(stroke: 0.6pt)
#show table: t => {
  let n = if type(t.columns) == array { t.columns.len() } else { t.columns }
  set text(size: if n >= 2 * $wide-table$ - 2 { 7pt } else if n >= $wide-table$ { 8pt } else { 9.5pt })
  set par(justify: false)
  block(stroke: (top: 1pt, bottom: 1pt), t)
}
#show figure: set block(breakable: false)
#set figure(numbering: none, gap: 0.8em)
#show figure.caption: set text(size: 9.5pt, fill: rgb("#333333"))
#show figure.where(kind: table): set figure.caption(position: top)
#show figure.caption.where(position: top): it => block(sticky: true, it)
#show figure.where(kind: image): set figure.caption(position: bottom)

#align(center)[
  #v(3cm)
$if(edition)$
  #text(size: 30pt, weight: "bold", fill: rgb("#1f7a8c"))[$edition$]
  #v(0.2em)
$endif$
  #text(size: 24pt, weight: "bold", fill: rgb("#1b2a41"))[$title$]
$if(subtitle)$
  #v(0.6em)
  #text(size: 14pt)[$subtitle$]
$endif$
  #v(1.5em)
$for(author)$
  #text(size: 12pt)[$author$] \
$endfor$
$if(date)$
  #text(size: 11pt)[$date$]
$endif$
]
#pagebreak()
$if(toc)$
#outline(title: [$toc-title$], depth: $toc-depth$, indent: auto)
#pagebreak()
$endif$

$body$
"""


def _meta_extras(meta: Mapping[str, Any]) -> dict[str, Any]:
    extras: dict[str, Any] = {
        "cjk-font": CJK_FAMILY,
        "fallback-font": FALLBACK_FAMILY,
        "wide-table": WIDE_TABLE,
    }
    if str(meta.get("lang", "")).startswith("en"):
        extras["lang-en"] = True
    date = meta.get("date")
    try:
        when = datetime.fromisoformat(str(date)) if date else None
    except ValueError:
        when = None
    if when:
        extras.update({"date-iso": True, "date-year": when.year, "date-month": when.month})
        extras["date-day"] = when.day
    return extras


_ATTR_AT = {"Div": 0, "Figure": 0, "Table": 0, "CodeBlock": 0, "Span": 0, "Image": 0, "Header": 1}


def _walk(node: Any, visit: Any) -> Any:
    if isinstance(node, list):
        return [_walk(x, visit) for x in node]
    if isinstance(node, dict):
        node = {k: _walk(v, visit) for k, v in node.items()}
        return visit(node) if "t" in node else node
    return node


def drop_dangling_links(doc: dict[str, Any]) -> dict[str, Any]:
    """Unlink ``#id`` links whose target does not exist (typst refuses unknown labels).

    Example:
        >>> link = {"t": "Link", "c": [["", [], []], [{"t": "Str", "c": "图 1"}], ["#fig-x", ""]]}
        >>> doc = {"blocks": [{"t": "Para", "c": [link]}]}
        >>> drop_dangling_links(doc)["blocks"][0]["c"][0]["t"]
        'Span'
    """
    ids: set[str] = set()

    def collect(node: dict[str, Any]) -> dict[str, Any]:
        at = _ATTR_AT.get(node["t"])
        if at is not None and isinstance(node.get("c"), list) and node["c"][at][0]:
            ids.add(node["c"][at][0])
        return node

    def unlink(node: dict[str, Any]) -> dict[str, Any]:
        if node["t"] == "Link":
            attr, content, (url, _title) = node["c"]
            if url.startswith("#") and url[1:] not in ids:
                return {"t": "Span", "c": [attr, content]}
        return node

    _walk(doc["blocks"], collect)
    doc["blocks"] = _walk(doc["blocks"], unlink)
    return doc


#: typst definitions pandoc's own typst template starts with (used with template partials)
DEFINITIONS = TEMPLATE[: TEMPLATE.index("#set document")]
#: Quarto's typst template partials, in the order its template.typ includes them
PARTIAL_ORDER = ("typst-template.typ", "page.typ", "typst-show.typ")


def partials_template(partials: list[Path]) -> str:
    """A pandoc template made of the definitions and Quarto-style partials, then ``$body$``.

    Example:
        >>> "$body$" in partials_template([])
        True
    """
    by_name = {p.name: p for p in partials}
    unknown = sorted(set(by_name) - set(PARTIAL_ORDER))
    if unknown:
        raise RenderError(
            f"typst template partial(s) {unknown} are not supported; "
            f"expected any of {list(PARTIAL_ORDER)}"
        )
    parts = [DEFINITIONS]
    for name in PARTIAL_ORDER:
        if name in by_name:
            try:
                parts.append(by_name[name].read_text("utf-8"))
            except OSError as exc:
                raise RenderError(f"cannot read template partial {by_name[name]}: {exc}") from exc
    return "\n".join(parts) + "\n$body$\n"


def typst_source(
    doc: dict[str, Any],
    *,
    build_dir: Path,
    meta: Mapping[str, Any],
    partials: list[Path] | None = None,
    layout: str = "document",
) -> str:
    """Typst markup for a pandoc JSON document, using the survey template or ``partials``.

    ``layout="deck"`` lays the sections out as 16:9 deck pages (:mod:`survey.render.deck`).
    """
    template = build_dir / "survey-template.typ"
    template.write_text(partials_template(partials) if partials else TEMPLATE, "utf-8")
    # the document as the template gets it (kept with SURVEY_RENDER_KEEP, for debugging)
    (build_dir / "report-typst.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    if layout == "deck":
        doc = {**doc, "blocks": deck_blocks(doc["blocks"])}
    meta_file = write_metadata({**meta, **_meta_extras(meta)}, build_dir / "meta-typst.yaml")
    args = ["-f", "json", "-t", "typst", "--template", str(template), "--wrap=preserve"]
    args += ["--metadata-file", str(meta_file)]
    doc = drop_dangling_links(doc)
    return tune_tables(run_pandoc(args, json.dumps(doc, ensure_ascii=False), cwd=build_dir))


#: table figures with this many rows or more may break across pages
LONG_TABLE = 20
#: ... and so may tables with this much markup (few rows of long text can exceed a page)
LONG_TABLE_CHARS = 2500
_TABLE_FIGURE = re.compile(
    r"#figure\(\n  align\(center\)\[#table\(.*?\n  , kind: table\n  \)\n(?:<[^>\n]+>\n)?", re.S
)
_ROW = re.compile(r"^\s*(\[|table\.cell\(colspan)")
#: tables with this many columns or more get a smaller font and narrower cell padding
WIDE_TABLE = 8
_COLUMNS = re.compile(r"(#table\(\n\s*)columns: (\d+),")
_PERCENT_COLUMNS = re.compile(r"(#table\(\n\s*)columns: \(([\d.%, ]+)\),")


def tune_tables(source: str) -> str:
    r"""Size table columns to their content: the stub column ``auto``, the others share the rest.

    Pandoc gives every column the same width (``columns: 11``), which wraps short row labels
    such as "大幅减少"; the footer (the table's note) is printed once, not on every page.

    Example:
        >>> tune_tables("#table(\n  columns: 3,\n  table.footer([n])")
        '#table(\n  columns: (auto,) * 3,\n  table.footer(repeat: false, [n])'
    """
    def columns(m: re.Match[str]) -> str:
        n = int(m[2])
        inset = "\n    inset: (x: 3pt, y: 3.5pt)," if n >= WIDE_TABLE else ""
        return f"{m[1]}columns: (auto,) * {n},{inset}"

    source = _COLUMNS.sub(columns, source)
    source = _PERCENT_COLUMNS.sub(_mixed_widths, source)
    source = _TABLE_FIGURE.sub(_breakable_if_long, source)
    return source.replace("table.footer(", "table.footer(repeat: false, ")


def _mixed_widths(m: re.Match[str]) -> str:
    """``(0%, 50%, 50%)`` -> ``(auto, 50fr, 50fr)``: 0% marks a content-width column
    (:data:`survey.render.htmltable.AUTO_WIDTH`), the others share the rest of the line."""
    parts = [p.strip() for p in m[2].split(",") if p.strip()]
    widths = [float(p.rstrip("%")) for p in parts]
    if not any(w == 0 for w in widths):
        return m[0]
    spec = ", ".join("auto" if w == 0 else f"{w:g}fr" for w in widths)
    return f"{m[1]}columns: ({spec}),"


def _breakable_if_long(m: re.Match[str]) -> str:
    """Let a long table figure run over pages (short ones move whole to the next page)."""
    rows = sum(1 for line in m[0].splitlines() if _ROW.match(line))
    if rows < LONG_TABLE and len(m[0]) < LONG_TABLE_CHARS:
        return m[0]
    return f"#[#show figure: set block(breakable: true)\n{m[0]}]\n"


def compile_typst(source: Path, output: Path, *, root: Path) -> Path:
    """Compile ``source`` to PDF with only the bundled CJK font and typst's own fonts."""
    import typst

    # only the fonts the report uses (a folder of links): typst reads every font it is given
    font_dir = root / "fonts"
    font_dir.mkdir(exist_ok=True)
    for path in font_paths():
        link = font_dir / path.name
        if not link.exists():
            try:
                link.symlink_to(path)
            except OSError:
                shutil.copyfile(path, link)
    font_dirs = [str(font_dir)]
    stamp = int(SOURCE_DATE_EPOCH)
    try:
        typst.compile(
            str(source),
            output=str(output),
            root=str(root),
            font_paths=font_dirs,
            ignore_system_fonts=True,
            timestamp=stamp,
        )
    except Exception as exc:  # typst raises its own error type with the diagnostics
        raise RenderError(f"typst could not compile {source.name}:\n{exc}") from exc
    return output


def render_pdf(
    doc: dict[str, Any],
    *,
    build_dir: Path,
    output: Path,
    meta: Mapping[str, Any],
    partials: list[Path] | None = None,
    layout: str = "document",
) -> Path:
    """Render a pandoc JSON document (media relative to ``build_dir``) to ``output`` PDF."""
    lang = str(meta.get("lang", "zh"))
    toc_title = "目录" if lang.startswith("zh") else "Contents"
    meta = {"lang": "zh", "toc-title": toc_title, "toc-depth": 2, **meta}
    source = build_dir / "report.typ"
    text = typst_source(doc, build_dir=build_dir, meta=meta, partials=partials, layout=layout)
    source.write_text(text, "utf-8")
    return compile_typst(source, output, root=build_dir)
