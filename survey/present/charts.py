"""Seaborn charts of estimate frames: shares with intervals, scales, grids and trends.

Every function takes a polars frame the library produced (an estimator's output, a banner or a
trend), draws it with seaborn on a CJK-capable theme and returns the matplotlib ``Figure``.
Labels come from the frame (the codebook put them there); titles and axis names are arguments,
so no label is typed in here. Nothing is computed but layout.

Example:
    >>> import polars as pl
    >>> from survey.present.charts import bar_shares
    >>> est = pl.DataFrame({"label": ["种草平台", "短视频"], "estimate": [0.87, 0.67],
    ...                     "ci_low": [0.82, 0.61], "ci_high": [0.91, 0.73]})
    >>> fig = bar_shares(est, title="增投的互联网资源")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from survey.codebook import RESIDUAL_CODES
from survey.present.theme import use_cjk_theme

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

#: Diverging palette for ordered scales (negative → positive).
_DIVERGING = "RdBu"


def _percent_axis(axis: Axis) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))


def _bottom_legend(fig: Figure, ax: Axes, *, ncols: int, drop: Sequence[str | None] = ()) -> None:
    """Move the axes' legend under the plot, without seaborn's variable-name headings (``drop``)."""
    handles, labels = ax.get_legend_handles_labels()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    headings = {d for d in drop if d}
    keep = [(h, lab) for h, lab in zip(handles, labels, strict=True) if lab not in headings]
    if keep:
        fig.legend(
            *zip(*keep, strict=True), loc="lower center", ncols=ncols, frameon=False, fontsize=9
        )
    fig.tight_layout(rect=(0, 0.1 if keep else 0, 1, 1))


def bar_shares(
    frame: pl.DataFrame,
    *,
    label: str = "label",
    estimate: str = "estimate",
    ci: tuple[str, str] | None = ("ci_low", "ci_high"),
    title: str = "",
    xlabel: str = "",
    sort: bool = True,
    highlight: Sequence[str] = (),
    width: float = 7.0,
) -> Figure:
    """Horizontal bars of shares (0-1) with confidence whiskers and value labels.

    ``highlight`` lists labels drawn in the accent colour (for example the option a finding is
    about). With ``sort``, bars go by share, residual options (code ``other`` …) last.
    Returns the figure.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    use_cjk_theme()
    df = frame
    if sort:
        # residual answers ("other" …) last, whatever their share
        if "level" in frame.columns:
            df = frame.sort(pl.col("level").is_in(list(RESIDUAL_CODES)), -pl.col(estimate))
        else:
            df = frame.sort(estimate, descending=True)
    labels = df[label].cast(pl.String).to_list()
    values = df[estimate].to_list()
    palette = sns.color_palette()
    colors = [palette[3] if lab in highlight else palette[0] for lab in labels]
    fig, ax = plt.subplots(figsize=(width, 0.42 * len(labels) + 1.2))
    sns.barplot(x=values, y=labels, hue=labels, palette=colors, legend=False, ax=ax, orient="h")
    ends = list(values)
    if ci is not None and ci[0] in df.columns:
        lo, hi = df[ci[0]].to_numpy(), df[ci[1]].to_numpy()
        ax.errorbar(
            values,
            range(len(labels)),
            xerr=[values - lo, hi - values],
            fmt="none",
            ecolor="#444",
            lw=1,
            capsize=3,
        )
        ends = [max(v, h) for v, h in zip(values, hi, strict=True)]
    for i, (v, end) in enumerate(zip(values, ends, strict=True)):
        ax.text(end + 0.015, i, f"{v:.0%}", va="center", ha="left", fontsize=9)
    _percent_axis(ax.xaxis)
    ax.set_xlim(0, min(1.08, max(ends) + 0.12))
    ax.set(title=title, xlabel=xlabel, ylabel="")
    fig.tight_layout()
    return fig


def stacked_scale(
    frame: pl.DataFrame,
    *,
    group: str = "group",
    level: str = "level_label",
    estimate: str = "estimate",
    order: Sequence[str] | None = None,
    title: str = "",
    width: float = 8.0,
) -> Figure:
    """100% stacked horizontal bars of an ordered scale, one bar per group (e.g. segments).

    ``order`` gives the scale's levels from most negative to most positive (codebook order);
    colours diverge from red (negative) to blue (positive).
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    use_cjk_theme()
    levels = list(order) if order is not None else list(dict.fromkeys(frame[level].cast(pl.String)))
    groups = list(dict.fromkeys(frame[group].cast(pl.String)))
    wide = (
        frame.with_columns(pl.col(group).cast(pl.String), pl.col(level).cast(pl.String))
        .pivot(on=level, index=group, values=estimate)
        .fill_null(0.0)
    )
    colors = sns.color_palette(_DIVERGING, len(levels))
    fig, ax = plt.subplots(figsize=(width, 0.5 * len(groups) + 1.6))
    left = [0.0] * len(groups)
    index = {g: i for i, g in enumerate(wide[group].to_list())}
    for lev, color in zip(levels, colors, strict=True):
        col = wide[lev].to_list() if lev in wide.columns else [0.0] * wide.height
        vals = [col[index[g]] for g in groups]
        ax.barh(groups, vals, left=left, color=color, label=lev, edgecolor="white")
        for i, v in enumerate(vals):
            if v >= 0.06:
                ax.text(left[i] + v / 2, i, f"{v:.0%}", ha="center", va="center", fontsize=8)
        left = [a + b for a, b in zip(left, vals, strict=True)]
    _percent_axis(ax.xaxis)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set(title=title, xlabel="", ylabel="")
    _bottom_legend(fig, ax, ncols=min(len(levels), 5))
    return fig


def trend_lines(
    frame: pl.DataFrame,
    *,
    x: str = "edition",
    y: str = "value",
    series: str = "series",
    style: str | None = None,
    title: str = "",
    ylabel: str = "",
    percent: bool = True,
    width: float = 7.0,
) -> Figure:
    """Lines across editions, one per series; ``style`` distinguishes e.g. published vs microdata.

    Points of the first ``style`` level (e.g. the published figures) carry value labels.

    Values are shares (0-1) when ``percent`` is true, else plain numbers (e.g. growth in %).
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    use_cjk_theme()
    pdf = frame.select([c for c in (x, y, series, style) if c]).to_pandas()
    fig, ax = plt.subplots(figsize=(width, 4.0))
    sns.lineplot(data=pdf, x=x, y=y, hue=series, style=style, markers=True, dashes=False, ax=ax)
    labelled = frame if style is None else frame.filter(pl.col(style) == frame[style][0])
    for row in labelled.iter_rows(named=True):
        text = f"{row[y]:.0%}" if percent else f"{row[y]:.1f}"
        ax.annotate(
            text,
            (row[x], row[y]),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=8,
        )
    ax.set_xticks(sorted(frame[x].unique().to_list()))
    if percent:
        _percent_axis(ax.yaxis)
    ax.set(title=title, xlabel="", ylabel=ylabel)
    _bottom_legend(fig, ax, ncols=4, drop=(series, style))
    return fig


def grouped_bars(
    frame: pl.DataFrame,
    *,
    category: str = "label",
    group: str = "group",
    estimate: str = "estimate",
    title: str = "",
    percent: bool = True,
    width: float = 8.0,
) -> Figure:
    """Vertical bars of an estimate by category and group (e.g. options by segment level)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    use_cjk_theme()
    pdf = frame.select(category, group, estimate).to_pandas()
    fig, ax = plt.subplots(figsize=(width, 4.2))
    sns.barplot(data=pdf, x=category, y=estimate, hue=group, ax=ax)
    if percent:
        _percent_axis(ax.yaxis)
    ax.set(title=title, xlabel="", ylabel="")
    ax.tick_params(axis="x", rotation=20)
    ax.legend(title=None, frameon=False)
    fig.tight_layout()
    return fig
