"""House style for great-tables: CJK font stack, percent/number formats, spanners, notes.

``gt_table`` builds a styled ``great_tables.GT`` from a polars frame; ``styled`` applies the
house style to a GT built elsewhere. Table ids are derived from the content, so two renders
of the same data give byte-identical HTML.

Example:
    >>> import polars as pl
    >>> from survey.present.tables import gt_table
    >>> frame = pl.DataFrame({"行业": ["汽车", "快消"], "2024": [0.31, 0.42], "2025": [0.35, 0.40]})
    >>> gt = gt_table(frame, title="预算增长的广告主占比", percent=["2024", "2025"],
    ...               spanners={"年份": ["2024", "2025"]}, source_note="来源：广告主调研")
    >>> "35.0%" in gt.as_raw_html()
    True
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import polars as pl
from great_tables import GT, loc, style

from survey.present.text import fmt_p
from survey.present.theme import CJK_CSS_STACK

_FONTS = [f.strip().strip('"') for f in CJK_CSS_STACK.split(",")]
_LABELS = {
    "zh": {"source": "来源"},
    "en": {"source": "Source"},
}


def _stable_id(*parts: object) -> str:
    digest = hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()
    return "gt" + digest[:10]


def styled(gt: GT, lang: str = "zh") -> GT:
    """Apply the house style (fonts, borders, sizes, bold column labels) to ``gt``.

    Example:
        >>> from great_tables import GT
        >>> import polars as pl
        >>> _ = styled(GT(pl.DataFrame({"a": [1]})), "zh")
    """
    del lang  # the style is the same for every language; kept for a stable signature
    return (
        gt.opt_table_font(font=_FONTS)
        .tab_options(
            table_font_size="14px",
            heading_title_font_size="16px",
            heading_subtitle_font_size="13px",
            heading_align="left",
            column_labels_font_weight="bold",
            table_border_top_color="#333333",
            table_border_bottom_color="#333333",
            column_labels_border_bottom_color="#333333",
            source_notes_font_size="12px",
            data_row_padding="4px",
        )
        .tab_style(style=style.text(weight="bold"), locations=loc.column_labels())
    )


def _p_cell(p: float | None) -> str:
    """A p-value cell (HTML): ``&lt;0.001``, ``0.011``, ``0.94``; empty when missing."""
    if p is None:
        return ""
    return fmt_p(p).removeprefix("p ").replace("= ", "").replace("< ", "&lt;")


def gt_table(
    frame: pl.DataFrame,
    *,
    title: str | None = None,
    subtitle: str | None = None,
    source_note: str | None = None,
    percent: Sequence[str] = (),
    percent_decimals: int = 1,
    numbers: Sequence[str] = (),
    number_decimals: int = 1,
    integers: Sequence[str] = (),
    pvalues: Sequence[str] = (),
    spanners: Mapping[str, Sequence[str]] | None = None,
    labels: Mapping[str, str] | None = None,
    stub: str | None = None,
    groupname: str | None = None,
    lang: str = "zh",
) -> GT:
    """A house-styled GT table from ``frame``.

    Args:
        frame: the data, one row per table row.
        title, subtitle, source_note: header and footer text (``None`` to omit).
        percent: columns holding shares in [0, 1], shown as ``12.3%``.
        numbers / integers: columns shown with ``number_decimals`` / no decimals.
        pvalues: columns of p-values, shown as ``<0.001``, ``0.011`` or ``0.94``.
        spanners: spanner label -> the columns it spans.
        labels: column name -> displayed label.
        stub: column used as row labels.
        groupname: column whose values group the rows (shown as group heading rows).
        lang: ``"zh"`` or ``"en"``; sets number locale and the label of the source note.

    Example:
        >>> import polars as pl
        >>> t = gt_table(pl.DataFrame({"指标": ["样本量"], "值": [1024]}), integers=["值"])
        >>> "1,024" in t.as_raw_html()
        True
    """
    table_id = _stable_id(title, subtitle, source_note, frame.columns, frame.rows())
    gt = GT(frame, rowname_col=stub, groupname_col=groupname, id=table_id)
    if title or subtitle:
        gt = gt.tab_header(title=title or "", subtitle=subtitle)
    for label, columns in (spanners or {}).items():
        gt = gt.tab_spanner(label=label, columns=list(columns))
    if percent:
        gt = gt.fmt_percent(columns=list(percent), decimals=percent_decimals)
    if numbers:
        gt = gt.fmt_number(columns=list(numbers), decimals=number_decimals)
    if integers:
        gt = gt.fmt_integer(columns=list(integers))
    if pvalues:
        gt = gt.fmt(_p_cell, columns=list(pvalues))
    if labels:
        gt = gt.cols_label(**dict(labels))
    if source_note:
        prefix = _LABELS.get(lang, _LABELS["en"])["source"]
        sep = "：" if lang == "zh" else ": "
        note = source_note if source_note.startswith(prefix) else f"{prefix}{sep}{source_note}"
        gt = gt.tab_source_note(note)
    return styled(gt, lang)
