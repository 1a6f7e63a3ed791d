"""The report's content: what a chapter or a notebook needs, declared and codebook-driven.

- :mod:`survey.reporting.context` — :class:`ReportContext`: an edition's wave, designs, the
  previous edition, published figures and texts, loaded once, with labelled accessors.
- :mod:`survey.reporting.spec` — ``report/spec.yml`` resolved against the edition's codebook.
- :mod:`survey.reporting.blocks` — one builder per block kind, each returning deck pages.
- :mod:`survey.reporting.chapters` — :func:`render_chapter`: a chapter's markdown, figures and
  tables emitted through :mod:`survey.render.emit`.

Example:
    >>> from survey.reporting import ReportContext
    >>> ctx = ReportContext.load(2025, with_previous=False)
    >>> ctx.edition, ctx.n
    (2025, 228)
"""

from survey.reporting.chapters import build_chapter, chapter_markdown, render_chapter
from survey.reporting.context import ReportContext, available_editions
from survey.reporting.spec import Block, Chapter, ReportSpec, load_spec, resolve

__all__ = [
    "Block",
    "Chapter",
    "ReportContext",
    "ReportSpec",
    "available_editions",
    "build_chapter",
    "chapter_markdown",
    "load_spec",
    "render_chapter",
    "resolve",
]
