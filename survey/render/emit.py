"""Emit report content from a chapter cell: markdown, figures and tables, in order.

Chapter cells are plain (non-``asis``) cells that call these functions; each call adds one
``display_data`` output to the cell, and the render engine (:mod:`survey.render.assemble`)
places every output where it was emitted: markdown joined with blank lines (so a div opened
by one :func:`md` and closed by a later one nests around the figures in between), figures as
images without caption or number, tables as tables. Outside a Jupyter kernel the calls print
a plain-text stand-in, so they also work in scripts and doctests.

Every value that comes from a codebook, a delivery or a published-figures file must go
through :func:`escape_md` before it is put into markdown.

Example:
    >>> md("## " + escape_md("成熟品牌<b>x</b>") + " {.message}")
    ## 成熟品牌\\<b\\>x\\<\\/b\\> {.message}
"""

from __future__ import annotations

import io
import re
from typing import Any

#: sizes a figure or table can take on a deck page (see docs/quarto-subset.md)
SIZES = ("full", "half", "mini")
#: MIME type of the metadata record the engine reads from each output
META_KEY = "survey"

_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
_SPACE = re.compile(r"\s+")


def escape_md(text: Any) -> str:
    r"""Make ``text`` inert in pandoc markdown: every ASCII punctuation character escaped.

    No raw HTML, link, emphasis, math, attribute, list marker or line break survives; the
    text shows exactly as typed. Line breaks and tabs become single spaces.

    Example:
        >>> escape_md("[点此](javascript:alert(1))")
        '\\[点此\\]\\(javascript\\:alert\\(1\\)\\)'
        >>> escape_md("a*b_c")
        'a\\*b\\_c'
        >>> escape_md(None)
        ''
    """
    if text is None:
        return ""
    flat = _SPACE.sub(" ", str(text)).strip()
    return _PUNCT.sub(r"\\\1", flat)


def _display(data: dict[str, Any], meta: dict[str, Any]) -> None:
    """``display`` one output with ``meta`` under the ``survey`` key (prints outside IPython)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        get_ipython = None  # type: ignore[assignment]
    if get_ipython is None or get_ipython() is None:
        print(data.get("text/plain", ""))
        return
    display(data, raw=True, metadata={META_KEY: meta})


def _check_size(size: str) -> None:
    if size not in SIZES:
        raise ValueError(f"size {size!r} is not one of {SIZES}")


def md(text: str) -> None:
    """Display ``text`` as markdown at the current position of the cell.

    Example:
        >>> md("::: {.insights}\\n- 54%的广告主预期投入减少\\n:::")
        ::: {.insights}
        - 54%的广告主预期投入减少
        :::
    """
    _display({"text/markdown": str(text), "text/plain": str(text)}, {"kind": "markdown"})


def figure(fig: Any, *, alt: str, size: str = "full", caption: str | None = None) -> None:
    """Display a matplotlib figure at the current position as SVG, then close it.

    ``size`` is ``"full"`` (the content width of a deck page, about 8.6 x 4.4 in), ``"half"``
    or ``"mini"`` (a KPI card's chart, about 2.4 x 1.1 in). ``alt`` is the text read by screen
    readers; the figure gets no caption or number unless ``caption`` is given.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots(figsize=(2.4, 1.1))
        >>> figure(fig, alt="预算变化", size="mini")
        [figure: 预算变化]
        >>> plt.fignum_exists(fig.number)
        False
    """
    _check_size(size)
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    try:
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    finally:
        plt.close(fig)
    meta = {"kind": "figure", "alt": str(alt), "size": size}
    if caption:
        meta["caption"] = str(caption)
    _display({"image/svg+xml": buffer.getvalue(), "text/plain": f"[figure: {alt}]"}, meta)


def table(obj: Any, *, size: str = "full") -> None:
    """Display a great-tables ``GT`` (or a polars/pandas frame) at the current position.

    Cell texts are escaped by great-tables (a frame is wrapped in a ``GT`` first), so labels
    from a delivery show as typed.

    Example:
        >>> import polars as pl
        >>> table(pl.DataFrame({"行业": ["美妆<b>"], "n": [40]}))
        [table: 1 x 2]
    """
    _check_size(size)
    gt = _as_gt(obj)
    html = gt.as_raw_html()
    data = getattr(gt, "_tbl_data", None)
    shape = getattr(data, "shape", None)
    plain = f"[table: {shape[0]} x {shape[1]}]" if shape else "[table]"
    _display({"text/html": html, "text/plain": plain}, {"kind": "table", "size": size})


def _as_gt(obj: Any) -> Any:
    from great_tables import GT

    if isinstance(obj, GT):
        return obj
    if hasattr(obj, "columns") and hasattr(obj, "shape"):
        return GT(obj)
    raise TypeError(f"table() takes a great_tables.GT or a data frame, not {type(obj).__name__}")
