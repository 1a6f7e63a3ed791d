"""Charts draw the frame they are given, with Chinese labels and no missing glyphs."""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")

import polars as pl
import pytest

from survey.present import charts

SHARES = pl.DataFrame(
    {
        "label": ["种草平台", "短视频", "平台内搜索"],
        "estimate": [0.87, 0.67, 0.52],
        "ci_low": [0.82, 0.61, 0.45],
        "ci_high": [0.91, 0.73, 0.58],
    }
)


def _draw_without_missing_glyphs(fig) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" becomes an error
        buf = io.BytesIO()
        fig.savefig(buf, format="svg")
    return buf.getvalue().decode()


def test_bar_shares_sorted_with_value_labels() -> None:
    fig = charts.bar_shares(SHARES.reverse(), title="增投的互联网资源")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["种草平台", "短视频", "平台内搜索"]
    assert [t.get_text() for t in ax.texts] == ["87%", "67%", "52%"]
    assert ax.get_title() == "增投的互联网资源"
    _draw_without_missing_glyphs(fig)


def test_stacked_scale_bars_sum_to_one_and_follow_scale_order() -> None:
    levels = ["大幅减少", "小幅减少", "持平", "小幅增加", "大幅增加"]
    frame = pl.DataFrame(
        {
            "group": ["管理层"] * 5 + ["执行层"] * 5,
            "level_label": levels * 2,
            "estimate": [0.1, 0.3, 0.3, 0.2, 0.1, 0.15, 0.45, 0.2, 0.15, 0.05],
        }
    )
    fig = charts.stacked_scale(frame, order=levels)
    ax = fig.axes[0]
    widths: dict[float, float] = {}
    for patch in ax.patches:
        widths[patch.get_y()] = widths.get(patch.get_y(), 0.0) + patch.get_width()
    assert all(w == pytest.approx(1.0) for w in widths.values())
    assert [t.get_text() for t in fig.legends[0].get_texts()] == levels
    _draw_without_missing_glyphs(fig)


def test_trend_lines_annotate_each_point() -> None:
    frame = pl.DataFrame({"edition": [2022, 2024, 2025], "value": [0.54, 0.36, 0.22], "series": ["正向"] * 3})
    fig = charts.trend_lines(frame, title="信心")
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["22%", "36%", "54%"]
    _draw_without_missing_glyphs(fig)
