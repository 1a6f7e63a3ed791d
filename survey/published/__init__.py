"""Published figures of every edition, segment contrasts, context figures, and their checks.

The tables live in ``data/published/`` (format in ``docs/codebook-format.md``): one CSV of published
aggregates per edition (``2025.csv`` …), ``contrasts.csv`` (segment differences told in words) and
``context.csv`` (figures that are not about the advertisers, such as DeepSeek's users). Every loader
checks its file and raises :class:`~survey.errors.CodebookError` naming the file, the row as a
spreadsheet counts it (the header is row 1) and the column.

:func:`check_figures` finds figures and contrasts that do not resolve to the codebook (or to what
their edition asked) and contradictions between sources, by the rules of
:data:`~survey.published._rules.RULES` over the data (never by listing figure ids). Its messages
come in Chinese and English (``message_zh``, ``message_en``) from the catalog
``survey/published.yml``, read through :func:`say`; :func:`format_findings` prints them.

Modules by job: ``_load`` (reading and typing the tables), ``_rules`` (one function per check),
``_context`` (checks of the context table), ``_text`` (catalog messages), ``_format`` (text).

Example:
    >>> from survey.published import load_figures
    >>> f = load_figures(editions=[2025])
    >>> f.filter(f["figure_id"] == "confidence_net_decrease")["value"].item()
    54.0
"""

from __future__ import annotations

import polars as pl

from survey.codebook import Codebook
from survey.errors import CodebookError
from survey.published._context import check_context
from survey.published._format import FINDING_KINDS, format_findings
from survey.published._load import (
    _FIGURE_OPTIONAL,
    CONTEXT_COLUMNS,
    CONTEXT_UNITS,
    CONTRAST_COLUMNS,
    FIGURE_COLUMNS,
    MEASURES,
    UNITS,
    figures_for,
    load_context,
    load_contrasts,
    load_figures,
)
from survey.published._rules import RULES, Published, Rule
from survey.published._text import TEXTS_FILE, Text, _findings, say

__all__ = [
    "CONTEXT_COLUMNS",
    "CONTEXT_UNITS",
    "CONTRAST_COLUMNS",
    "FIGURE_COLUMNS",
    "FINDING_KINDS",
    "MEASURES",
    "RULES",
    "TEXTS_FILE",
    "UNITS",
    "Published",
    "Rule",
    "Text",
    "check_context",
    "check_figures",
    "figures_for",
    "format_findings",
    "load_context",
    "load_contrasts",
    "load_figures",
    "say",
]


def check_figures(
    figures: pl.DataFrame,
    codebook: Codebook,
    context: pl.DataFrame | None = None,
    contrasts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Unresolved figures and contrasts and contradictions between sources, found by rules.

    Runs every rule of :data:`RULES` over ``figures`` (:func:`load_figures`) and ``contrasts``
    (:func:`load_contrasts`; its rows are checked against the codebook of their edition), and
    with ``context`` given, :func:`check_context`. Returns ``edition, figure_id, kind, message,
    message_zh, message_en``: the message in Chinese and English from the catalog
    ``survey/published.yml`` (``message`` is the English one, kept for compatibility). Kinds are
    described in ``docs/codebook-format.md`` (``unresolved``, ``edition``, ``conflict``,
    ``change``, ``net_split``, ``rank``, ``option_count``, ``trend``, ``year_label``,
    ``year_conflict``, ``note``, and the kinds of :func:`check_context`). Read them with
    :func:`format_findings`.

    Example:
        >>> from survey.codebook import Codebook
        >>> r = check_figures(load_figures(), Codebook.load(), contrasts=load_contrasts())
        >>> "trend" in r["kind"].to_list()
        True
        >>> bad = load_figures([2025]).filter(pl.col("measure") == "rank").head(1)
        >>> bad = bad.with_columns(pl.lit(99.0).alias("value"))
        >>> check_figures(bad, Codebook.load())["kind"].to_list()
        ['rank']
    """
    cols = set(figures.columns)
    missing = [c for c in FIGURE_COLUMNS if c not in cols and c not in _FIGURE_OPTIONAL]
    if missing:
        raise CodebookError(
            f"figures table lacks columns {missing}", column=missing[0], expected="load_figures()"
        )
    if "stated_edition" not in cols:
        figures = figures.with_columns(pl.lit(None, dtype=pl.Int32()).alias("stated_edition"))
    rows = [] if contrasts is None else contrasts.to_dicts()
    tables = Published.of(figures.to_dicts(), codebook, rows)
    out = [finding for rule in RULES for finding in rule(tables)]
    result = _findings(out)
    if context is not None:
        result = pl.concat([result, check_context(context)])
    return result
