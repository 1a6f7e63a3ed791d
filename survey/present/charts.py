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


FONT = {"tick": 10.0, "value": 10.0, "dense": 8.5, "legend": 9.0, "subtitle": 9.5,
        "inside": 8.5, "mini": 6.5, "mini_value": 7.0}
"""The one set of chart font sizes (points): axis ticks, data labels, dense charts (more than
ten bars), legends, subtitles, labels inside bars, and the KPI cards' mini charts."""


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
            *zip(*keep, strict=True), loc="lower center", ncols=ncols, frameon=False, fontsize=FONT["legend"]
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
    from survey.present import palette as pal

    colors = [pal.PRIMARY if (lab in highlight or not highlight) else pal.SECONDARY
              for lab in labels]
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
        ax.text(end + 0.015, i, f"{v:.0%}", va="center", ha="left", fontsize=FONT["value"])
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
    colours follow the one palette (:mod:`survey.present.palette`): decrease orange, flat grey,
    increase blue.
    """
    import matplotlib.pyplot as plt

    use_cjk_theme()
    levels = list(order) if order is not None else list(dict.fromkeys(frame[level].cast(pl.String)))
    groups = list(dict.fromkeys(frame[group].cast(pl.String)))
    wide = (
        frame.with_columns(pl.col(group).cast(pl.String), pl.col(level).cast(pl.String))
        .pivot(on=level, index=group, values=estimate)
        .fill_null(0.0)
    )
    from survey.present import palette as pal

    k = len(levels)  # most negative first: the scale's meaning from its position
    scores = [(i - (k - 1) / 2) * (2 if k >= 5 else 1) / max(1, (k - 1) / 2) for i in range(k)]
    colors = [pal.color_for(f"level_{i}", sc, strong=abs(sc) >= 2) for i, sc in enumerate(scores)]
    fig, ax = plt.subplots(figsize=(width, 0.5 * len(groups) + 1.6))
    left = [0.0] * len(groups)
    index = {g: i for i, g in enumerate(wide[group].to_list())}
    for lev, color in zip(levels, colors, strict=True):
        col = wide[lev].to_list() if lev in wide.columns else [0.0] * wide.height
        vals = [col[index[g]] for g in groups]
        ax.barh(groups, vals, left=left, color=color, label=lev, edgecolor="white")
        for i, v in enumerate(vals):
            if v >= 0.06:
                ax.text(left[i] + v / 2, i, f"{v:.0%}", ha="center", va="center",
                        fontsize=FONT["inside"])
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
            fontsize=FONT["value"],
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


# --------------------------------------------------------------------------------------------
# Deck charts: one visual language (survey.present.palette), sorted bars, data labels, no error
# bars (the page footer states the base and the method page the margin of error). Sizes follow
# the deck: "full" 8.6 x 4.4 in, "half" 5.6 x 3.6 in, "mini" 2.3 x 1.1 in.

#: figure sizes (inches) of the deck's slots
SIZES = {"full": (8.6, 4.4), "half": (5.6, 3.6), "mini": (2.3, 1.1)}


def _deck_axes(size: str = "full", height: float | None = None) -> tuple[Figure, Axes]:
    import matplotlib.pyplot as plt

    from survey.present import palette as pal

    use_cjk_theme()
    w, h = SIZES[size]
    fig, ax = plt.subplots(figsize=(w, height or h))
    ax.grid(False)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(pal.GRID)
    ax.tick_params(colors=pal.INK, length=0)
    return fig, ax


def _na_text(lang: str) -> str:
    return "未询问" if lang == "zh" else "not asked"


def ranked_bars(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    highlight: Sequence[str] = (),
    lowlight: Sequence[str] = (),
    top: int = 0,
    percent: bool = True,
    lang: str = "zh",
    size: str = "full",
    max_bars: int = 14,
    subtitle: str = "",
    legend: Sequence[tuple[str, str]] = (),
) -> Figure:
    """Horizontal bars in the given order (the caller sorts), the ``top`` first bars and the
    ``highlight`` labels in the primary colour, ``lowlight`` ones in grey (e.g. significantly
    lower), the others lighter; a data label on every bar.
    A ``None`` value is an option the edition did not ask: "未询问"/"not asked", no bar.
    ``subtitle`` (what the bars measure) goes above the bars, ``legend`` ((colour, text) pairs)
    under them.

    Example:
        >>> fig = ranked_bars(["种草平台", "短视频", "长视频"], [0.87, 0.67, None], top=2)
        >>> [t.get_text() for t in fig.axes[0].texts]
        ['87%', '67%', '未询问']
        >>> fig = ranked_bars(["a", "b"], [0.4, 0.2], subtitle="选择的比例",
        ...                   legend=[("#2F6DB5", "显著更高"), ("#B9CBE4", "不显著")])
        >>> fig.axes[0].get_title(loc="left"), [t.get_text() for t in fig.legends[0].texts]
        ('选择的比例', ['显著更高', '不显著'])
    """
    from survey.present import palette as pal

    labels, values = list(labels)[:max_bars], list(values)[:max_bars]
    k = len(labels)
    height = min(SIZES[size][1], max(2.2, 0.42 * k + 0.6)) if size != "mini" else None
    fig, ax = _deck_axes(size, height)
    font = FONT["value"] if k <= 10 else FONT["dense"]
    ys = list(range(k))
    shown = [0.0 if v is None else float(v) for v in values]
    colors = [pal.PRIMARY if (i < top or lab in highlight) else
              pal.MUTED if lab in lowlight else pal.SECONDARY for i, lab in enumerate(labels)]
    ax.barh(ys, shown, color=colors, height=0.66)
    vmax = max([v for v in shown] + [1e-9])
    for y, v in zip(ys, values, strict=True):
        text = _na_text(lang) if v is None else (f"{v:.0%}" if percent else f"{v:.1f}")
        ax.text((0 if v is None else v) + vmax * 0.012, y, text, va="center", ha="left",
                fontsize=font, color=pal.INK if v is not None else pal.MUTED)
    ax.set_yticks(ys, labels, fontsize=font)
    ax.invert_yaxis()
    ax.set_xlim(0, vmax * 1.14)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    _subtitle_legend(fig, ax, subtitle, legend)
    return fig


def _subtitle_legend(fig: Figure, ax: Axes, subtitle: str,
                     legend: Sequence[tuple[str, str]]) -> None:
    """A subtitle over the plot (what is measured) and a colour legend under it."""
    from matplotlib.patches import Patch

    from survey.present import palette as pal

    if subtitle:
        ax.set_title(subtitle, loc="left", fontsize=FONT["subtitle"], color=pal.MUTED, pad=8)
    if legend:
        fig.legend(handles=[Patch(color=c, label=t) for c, t in legend], loc="lower center",
                   ncols=len(legend), frameon=False, fontsize=FONT["legend"])
        fig.set_figheight(fig.get_figheight() + 0.35)
    fig.tight_layout(rect=(0, 0.35 / fig.get_figheight() if legend else 0, 1, 1))


def stacked_bars(
    groups: Sequence[str],
    levels: Sequence[str],
    colors: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    lang: str = "zh",
    size: str = "full",
) -> Figure:
    """100% stacked horizontal bars, one per group (``values[g][l]``), colours by meaning
    (:func:`survey.present.palette.scale_colors`), labels of segments ≥ 6%, legend below.
    A group whose values are all ``None`` was not asked: "未询问"/"not asked".

    Example:
        >>> fig = stacked_bars(["移动互联网", "户外"], ["增加", "持平", "减少"],
        ...                    ["#2F6DB5", "#A9B1BC", "#EE8A3C"], [[0.55, 0.3, 0.15], [0.26, 0.5, 0.24]])
        >>> [t.get_text() for t in fig.axes[0].texts][:2]
        ['55%', '26%']
    """
    from survey.present import palette as pal

    k = len(groups)
    height = min(SIZES[size][1], max(1.8, 0.42 * k + 1.0))
    fig, ax = _deck_axes(size, height)
    left = [0.0] * k
    for j, (lev, color) in enumerate(zip(levels, colors, strict=True)):
        vals = [0.0 if row[j] is None else float(row[j]) for row in values]
        ax.barh(range(k), vals, left=left, color=color, label=lev, height=0.62,
                edgecolor="white", linewidth=0.8)
        dark = color in (pal.MEANING["increase_strong"], pal.MEANING["increase"],
                         pal.MEANING["decrease_strong"], pal.PRIMARY)
        for i, v in enumerate(vals):
            if v >= 0.06:
                ax.text(left[i] + v / 2, i, f"{v:.0%}", ha="center", va="center", fontsize=FONT["inside"],
                        color="white" if dark else pal.INK)
        left = [a + b for a, b in zip(left, vals, strict=True)]
    for i, row in enumerate(values):
        if all(v is None for v in row):
            ax.text(0.01, i, _na_text(lang), va="center", fontsize=FONT["inside"], color=pal.MUTED)
    ax.set_yticks(range(k), list(groups), fontsize=FONT["tick"])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncols=min(len(levels), 6), frameon=False,
               fontsize=FONT["legend"])
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return fig


def column_bars(
    labels: Sequence[str],
    values: Sequence[float | None],
    colors: Sequence[str],
    *,
    percent: bool = True,
    unit: str = "",
    decimals: int | None = None,
    lang: str = "zh",
    size: str = "full",
) -> Figure:
    """Vertical bars in the given order (a scale's options, or editions), each in its colour,
    with a data label on top; ``None`` is "未询问"/"not asked".

    Example:
        >>> fig = column_bars(["2023", "2024", "2025"], [16.0, 11.0, 8.0], ["#B9CBE4"] * 2 + ["#2F6DB5"],
        ...                   percent=False, unit="%")
        >>> [t.get_text() for t in fig.axes[0].texts]
        ['16%', '11%', '8%']
    """
    from survey.present import palette as pal

    fig, ax = _deck_axes(size)
    shown = [0.0 if v is None else float(v) for v in values]
    xs = list(range(len(labels)))
    ax.bar(xs, shown, color=list(colors), width=0.58 if len(xs) > 2 else 0.4)
    top = max([abs(v) for v in shown] + [1e-9])
    for x, v in zip(xs, values, strict=True):
        if v is None:
            text = _na_text(lang)
        elif percent:
            text = f"{v:.0%}"
        elif decimals is not None:
            text = f"{v:.{decimals}f}{unit}"
        else:
            text = f"{v:.0f}{unit}" if abs(v - round(v)) < 0.05 else f"{v:.1f}{unit}"
        y = 0.0 if v is None else float(v)
        ax.text(x, y + top * 0.03 if y >= 0 else y - top * 0.03, text, ha="center",
                va="bottom" if y >= 0 else "top", fontsize=FONT["value"] if size != "mini" else FONT["mini_value"],
                color=pal.INK)
    ax.set_xticks(xs, list(labels), fontsize=FONT["tick"] if size != "mini" else FONT["mini"])
    lo = min(0.0, min(shown) * 1.2)
    ax.set_ylim(lo, top * 1.2)
    ax.set_yticks([])
    fig.tight_layout()
    return fig


def lines(
    x: Sequence[int],
    series: dict[str, Sequence[float | None]],
    *,
    percent: bool = True,
    unit: str = "",
    size: str = "full",
    colors: Sequence[str] | None = None,
    xlabels: Sequence[str] | None = None,
) -> Figure:
    """Lines across editions (one per series; ``colors``, else the palette's series colours),
    a label on every point; gaps where a series has no value.

    Example:
        >>> fig = lines([2022, 2024, 2025], {"悲观": [0.24, 0.43, 0.54], "乐观": [0.54, 0.36, 0.22]})
        >>> len(fig.axes[0].lines)
        2
    """
    from survey.present import palette as pal

    fig, ax = _deck_axes(size)
    xs = list(x)
    small = size == "mini"
    labels: list[tuple[float, float, str, str]] = []
    for (name, ys), color in zip(series.items(), colors or pal.SERIES, strict=False):
        pts = [(a, b) for a, b in zip(xs, ys, strict=True) if b is not None]
        if not pts:
            continue
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=color, label=name,
                lw=2 if not small else 1.4, ms=5 if not small else 3)
        if small:
            a, b = pts[-1]
            ax.annotate(f"{b:.0%}" if percent else f"{b:.0f}{unit}", (a, b), xytext=(3, 0),
                        textcoords="offset points", fontsize=FONT["mini_value"], va="center", color=color)
            continue
        for a, b in pts:
            labels.append((a, b, f"{b:.0%}" if percent else f"{b:.0f}{unit}", color))
    for a, b, text, color, where in _placed(labels):
        ax.annotate(text, (a, b), xytext=(0, 7 if where == "above" else -8),
                    textcoords="offset points", ha="center",
                    va="bottom" if where == "above" else "top", fontsize=FONT["value"],
                    color=color)
    ax.set_xticks(xs, list(xlabels) if xlabels else [str(v) for v in xs],
                  fontsize=FONT["tick"] if not small else FONT["mini"])
    ax.set_yticks([])
    ax.margins(y=0.25, x=0.08)
    if not small and len(series) > 1:
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1),
                  ncols=len(series), fontsize=FONT["legend"])
    fig.tight_layout()
    return fig


def _placed(labels: Sequence[tuple[float, float, str, str]], gap: float = 0.14
            ) -> list[tuple[float, float, str, str, str]]:
    """Point labels placed so that none collide: at each x, a label goes above its point unless
    the label of the point just above is closer than ``gap`` (a share of the value range), then
    below it; one that fits neither way is dropped.

    Example:
        >>> [(t, w) for _a, _b, t, _c, w in _placed([(1, .17, "17%", "k"), (1, .16, "16%", "k"),
        ...                                           (1, .50, "50%", "k")])]
        [('50%', 'above'), ('17%', 'above'), ('16%', 'below')]
    """
    values = [b for _a, b, _t, _c in labels]
    span = (max(values) - min(values)) if values else 0.0
    room = gap * (span or 1.0)
    out: list[tuple[float, float, str, str, str]] = []
    for x in dict.fromkeys(a for a, *_ in labels):
        here = sorted((lab for lab in labels if lab[0] == x), key=lambda lab: -lab[1])
        below_taken = float("inf")  # the lowest y a label drawn below a point reaches
        for i, (a, b, text, color) in enumerate(here):
            up_clear = i == 0 or here[i - 1][1] - b >= room
            up_clear = up_clear and below_taken - b >= room
            down_clear = i == len(here) - 1 or b - here[i + 1][1] >= room
            if up_clear:
                out.append((a, b, text, color, "above"))
            elif down_clear:
                out.append((a, b, text, color, "below"))
                below_taken = b - room
            # else: dropped, it would sit on a neighbour's label
    return out


def mini_bars(values: Sequence[float], highlight: int = 0) -> Figure:
    """A KPI card's chart: a few vertical bars without axes, bar ``highlight`` in the primary
    colour.

    Example:
        >>> fig = mini_bars([0.54, 0.22, 0.24])
        >>> tuple(round(float(v), 1) for v in fig.get_size_inches())
        (2.3, 1.1)
    """
    from survey.present import palette as pal

    fig, ax = _deck_axes("mini")
    xs = list(range(len(values)))
    ax.bar(xs, list(values), color=[pal.PRIMARY if i == highlight else pal.SECONDARY
                                    for i in xs], width=0.6)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines["bottom"].set_visible(False)
    fig.subplots_adjust(0.02, 0.04, 0.98, 0.96)
    return fig


def mini_curve(x: Sequence[float], y: Sequence[float], at: float) -> Figure:
    """A KPI card's chart for an optimum: the fitted curve without axes and a dot at ``at``.

    Example:
        >>> fig = mini_curve([0.2, 0.5, 0.8], [0.3, 0.5, 0.35], 0.5)
        >>> tuple(round(float(v), 1) for v in fig.get_size_inches())
        (2.3, 1.1)
    """
    import numpy as np

    from survey.present import palette as pal

    fig, ax = _deck_axes("mini")
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    ax.plot(xs, ys, color=pal.SECONDARY, lw=2.2)
    ax.axvline(at, color=pal.PRIMARY, lw=1, ls="--")
    ax.plot([at], [float(np.interp(at, xs, ys))], "o", color=pal.PRIMARY, ms=6)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.subplots_adjust(0.02, 0.06, 0.98, 0.94)
    return fig
