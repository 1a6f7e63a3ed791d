"""Contradictions inside the context table (figures not about the advertisers).

Example:
    >>> from survey.published import load_context
    >>> sorted(set(check_context(load_context())["kind"]))
    ['level_conflict', 'metric_label', 'relation']
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import polars as pl

from survey.published._text import _finding, _findings, _fmt, _msg, _seq


def _period(as_of: str | None) -> tuple[date, date] | None:
    if not as_of:
        return None
    first, _, last = as_of.partition("/")
    parts = [int(x) for x in first.split("-")]
    if len(parts) == 2:
        start = date(parts[0], parts[1], 1)
        nxt = date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
        return start, nxt - timedelta(days=1)
    start = date(*parts)
    return start, (date(*[int(x) for x in last.split("-")]) if last else start)


def _precision(value: float) -> float:
    """The unit of the last published digit: 119000000 -> 1e6, 557.6 -> 0.1, 2 -> 1."""
    if float(value).is_integer():
        n, zeros = abs(int(value)), 0
        while n and n % 10 == 0:
            n, zeros = n // 10, zeros + 1
        return 10.0**zeros
    decimals = len(repr(float(value)).split(".")[1])
    return 10.0**-decimals


def check_context(context: pl.DataFrame) -> pl.DataFrame:
    """Contradictions inside the context table (``edition`` is null in the result).

    Rules: the same value of a subject told as two metrics (``metric_label``); the same subject and
    metric over overlapping dates from different sources more than 10% apart (``level_conflict``);
    a stated total or ratio that disagrees with its parts beyond the published rounding
    (``relation``).

    Example:
        >>> from survey.published import load_context
        >>> sorted(set(check_context(load_context())["kind"]))
        ['level_conflict', 'metric_label', 'relation']
    """
    rows = context.to_dicts()
    by_id = {r["figure_id"]: r for r in rows}
    out: list[dict[str, Any]] = []
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            if a["subject"] != b["subject"]:
                continue
            if a["metric"] != b["metric"] and a["value"] == b["value"] and a["unit"] == b["unit"]:
                out.append(
                    _finding(
                        b,
                        "metric_label",
                        _msg(
                            "context.metric_label",
                            value=_fmt(b["value"]),
                            metric=b["metric"],
                            scope=b["scope"],
                            as_of=b["as_of"],
                            other_metric=a["metric"],
                            other_scope=a["scope"],
                            other_as_of=a["as_of"],
                            other=a["figure_id"],
                        ),
                    )
                )
            pa, pb = _period(a["as_of"]), _period(b["as_of"])
            if (
                a["metric"] == b["metric"]
                and a["source_file"] != b["source_file"]
                and pa
                and pb
                and pa[0] <= pb[1]
                and pb[0] <= pa[1]
                and abs(a["value"] - b["value"]) > 0.10 * max(abs(a["value"]), abs(b["value"]))
            ):
                out.append(
                    _finding(
                        b,
                        "level_conflict",
                        _msg(
                            "context.level_conflict",
                            subject=b["subject"],
                            metric=b["metric"],
                            value=_fmt(b["value"]),
                            scope=b["scope"],
                            as_of=b["as_of"],
                            source=b["source_file"],
                            other_value=_fmt(a["value"]),
                            other_scope=a["scope"],
                            other_as_of=a["as_of"],
                            other_source=a["source_file"],
                        ),
                    )
                )
    for r in rows:
        rel = r.get("relation")
        if not rel:
            continue
        kind, _, spec = rel.partition(":")
        ids = re.split(r"[+/]", spec)
        missing = [x for x in ids if x not in by_id]
        if missing:
            out.append(
                _finding(r, "relation", _msg("context.relation_unknown", missing=_seq(missing)))
            )
            continue
        vals = [by_id[x]["value"] for x in ids]
        implied = sum(vals) if kind == "sum" else vals[0] / vals[1]
        tol = 0.5 * _precision(r["value"])
        shown = _fmt(implied) if float(implied).is_integer() else f"{implied:.3f}"
        if abs(implied - r["value"]) > tol:
            out.append(
                _finding(
                    r,
                    "relation",
                    _msg(
                        "context.relation_sum" if kind == "sum" else "context.relation_ratio",
                        value=_fmt(r["value"]),
                        ids=_seq(ids),
                        shown=shown,
                        tol=_fmt(tol),
                    ),
                )
            )
    return _findings(out)
