"""Deck pages and their markdown (the contract between the report's content and its format).

A block builder returns :class:`Page` objects: a message title written from the data, one chart
(drawn only when the page is emitted) or one table, two or three insight bullets and a footer
(question wording, base, source, synthetic tag). :func:`page_parts` turns a page into the
ordered outputs a chapter cell emits (markdown, figure, table); :func:`parts_markdown` joins
them into plain markdown (figures as ``[figure: alt]``) for tests and previews.

All texts in a page are markdown already (catalog sentences with escaped values).

Example:
    >>> p = Page(title="54%的广告主预期2025年整体营销投入减少", bullets=["a", "b"], footer="n = 228")
    >>> print(parts_markdown(page_parts(p)))
    ## 54%的广告主预期2025年整体营销投入减少 {.message}
    <BLANKLINE>
    ::: {.insights}
    - a
    - b
    :::
    <BLANKLINE>
    ::: {.page-footer}
    n = 228
    :::
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Part = tuple[str, Any, str, str]  # (kind, payload, alt, size)


@dataclass
class Takeaway:
    """One of the ten trends: a big number, an action title, a note, a mini chart, a score."""

    kpi: str
    title: str
    note: str
    score: float
    chapter: str = ""
    order: int = 0
    mini: Callable[[], Any] | None = None
    alt: str = ""


@dataclass
class Page:
    """One deck page (see module docstring); ``classes`` are the heading's extra classes."""

    title: str
    figure: Callable[[], Any] | None = None
    alt: str = ""
    table: Callable[[], Any] | None = None
    bullets: list[str] = field(default_factory=list)
    footer: str = ""
    classes: tuple[str, ...] = ()
    body: list[str] = field(default_factory=list)
    takeaway: Takeaway | None = None
    size: str = "full"
    signals: dict[str, Any] = field(default_factory=dict)


def page_parts(page: Page) -> list[Part]:
    """The ordered outputs of ``page``: heading markdown, figure/table, bullets and footer."""
    cls = " ".join(["." + c for c in ("message", *page.classes)])
    parts: list[Part] = [("md", f"## {page.title} {{{cls}}}", "", "")]
    if page.body:
        parts.append(("md", "\n\n".join(page.body), "", ""))
    if page.figure is not None:
        parts.append(("figure", page.figure, page.alt or page.title, page.size))
    if page.table is not None:
        parts.append(("table", page.table, "", page.size))
    if page.bullets:
        parts.append(("md", "::: {.insights}\n" + "\n".join(f"- {b}" for b in page.bullets)
                      + "\n:::", "", ""))
    if page.footer:
        parts.append(("md", f"::: {{.page-footer}}\n{page.footer}\n:::", "", ""))
    return parts


def takeaway_parts(heading: str, items: list[Takeaway]) -> list[Part]:
    """A takeaways page: ``## heading {.takeaways}`` then one ``.takeaway`` div per item."""
    parts: list[Part] = [("md", f"## {heading} {{.takeaways}}", "", "")]
    for t in items:
        parts.append(("md", f"::: {{.takeaway}}\n[{t.kpi}]{{.kpi}}\n\n"
                      f"[{t.title}]{{.takeaway-title}}", "", ""))
        if t.mini is not None:
            parts.append(("figure", t.mini, t.alt or t.title, "mini"))
        parts.append(("md", f"[{t.note}]{{.takeaway-note}}\n:::", "", ""))
    return parts


def parts_markdown(parts: list[Part]) -> str:
    """Markdown of ``parts``: figures as ``[figure: alt]`` and tables as ``[table]`` (no drawing)."""
    out = []
    for kind, payload, alt, _size in parts:
        if kind == "md":
            out.append(payload)
        elif kind == "figure":
            out.append(f"[figure: {alt}]")
        else:
            out.append("[table]")
    return "\n\n".join(out)


def emit_parts(parts: list[Part]) -> None:
    """Emit ``parts`` in order through :mod:`survey.render.emit` (figures drawn now)."""
    from survey.render import emit

    for kind, payload, alt, size in parts:
        if kind == "md":
            emit.md(payload)
        elif kind == "figure":
            emit.figure(payload(), alt=alt, size=size or "full")
        else:
            emit.table(payload(), size=size or "full")
