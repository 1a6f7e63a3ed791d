"""Rows of a banner: one block of indicator / value columns per question (or grid item)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from survey.banners._text import say
from survey.codebook import SEP, Codebook, Question
from survey.errors import EstimationError


# ---------------------------------------------------------------------------------------------
# Rows: blocks of indicator / value columns
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Row:
    code: str
    zh: str
    en: str
    kind: str  # option | net | mean


@dataclass(frozen=True)
class _Block:
    """One table block: a question (or a grid item) with its rows and their values."""

    qid: str
    item: str | None
    title_zh: str
    title_en: str
    rows: tuple[_Row, ...]
    base: np.ndarray  # bool (n,)
    values: np.ndarray | None = None  # float (n, R), 0 outside the base; None: from codes
    codes: np.ndarray | None = None  # single-select: option index per respondent (-1: none)
    sets: tuple[tuple[int, ...], ...] = ()  # single-select: the options each row counts

    @cached_property
    def Y(self) -> np.ndarray:
        """Values (n × R): 0/1 indicators or numbers, 0 outside the base."""
        if self.values is not None:
            return self.values
        assert self.codes is not None
        onehot = self.codes[:, None] == np.arange(max(max(map(max, self.sets)) + 1, 1))[None, :]
        return np.column_stack([onehot[:, list(st)].any(axis=1) for st in self.sets]).astype(float)


def _mean_row() -> _Row:
    """The one row of a numeric question: its mean."""
    return _Row("mean", say("mean", "zh"), say("mean", "en"), "mean")


def _codes_index(s: pl.Series, codes: Sequence[str]) -> np.ndarray:
    """Position of each value of ``s`` in ``codes`` (-1 for null or unknown)."""
    if isinstance(s.dtype, pl.Enum) and list(s.dtype.categories) == list(codes):
        return s.to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
    return (s.cast(pl.String).cast(pl.Enum(list(codes)), strict=False).to_physical()
            .cast(pl.Int64).fill_null(-1).to_numpy())


def _levels(s: pl.Series) -> list[str]:
    """Levels of a column outside the codebook: an Enum's categories (even if unused), else the
    sorted distinct values."""
    if isinstance(s.dtype, pl.Enum):
        return list(s.dtype.categories)
    return [str(x) for x in s.drop_nulls().unique().sort().to_list()]


def _question_of(cb: Codebook | None, qid: str) -> Question | None:
    return cb.questions.get(qid) if cb is not None else None


def _categorical_block(
    q: Question, idx: np.ndarray, item: Any, nets: bool, multi: np.ndarray | None = None
) -> _Block:
    codes = q.codes()
    rows = [_Row(o.code, o.zh, o.en, "option") for o in q.options]
    sets: list[tuple[int, ...]] = [(k,) for k in range(len(codes))]
    if nets:
        for net in q.nets:
            sets.append(tuple(codes.index(c) for c in net.of))
            rows.append(_Row(net.code, net.zh, net.en, "net"))
    prefix = f"{item.code}:" if item is not None else ""
    rows = [_Row(prefix + r.code, r.zh, r.en, r.kind) for r in rows]
    t_zh, t_en = q.short_label("zh"), q.short_label("en")
    if item is not None:
        t_zh = say("block_item", "zh", title=t_zh, item=item.zh)
        t_en = say("block_item", "en", title=t_en, item=item.en)
    head = (q.id, item.code if item is not None else None, t_zh, t_en, tuple(rows))
    if multi is None:
        return _Block(*head, idx >= 0, None, idx, tuple(sets))
    base = multi[1]
    Y = multi[0].astype(float)
    Y = np.hstack([Y, *(Y[:, list(st)].max(axis=1, keepdims=True) for st in sets[len(codes):])])
    Y[~base] = 0.0
    return _Block(*head, base, Y)


def _blocks(frame: pl.DataFrame, cb: Codebook | None, qid: str, nets: bool) -> list[_Block]:
    """The table blocks of row question ``qid`` (one per grid item, else one)."""
    q = _question_of(cb, qid)
    if q is None:
        if qid not in frame.columns:
            raise EstimationError(f"unknown row variable '{qid}'", column=qid,
                                  expected="a codebook question or a column of the design")
        s = frame[qid]
        if s.dtype.is_numeric():
            v = s.cast(pl.Float64).to_numpy()
            base = ~np.isnan(v)
            return [_Block(qid, None, qid, qid, (_mean_row(),), base,
                           np.where(base, v, 0.0)[:, None])]
        levels = _levels(s)
        idx = _codes_index(s, levels)
        rows = tuple(_Row(lv, lv, lv, "option") for lv in levels)
        return [_Block(qid, None, qid, qid, rows, idx >= 0, None, idx,
                       tuple((k,) for k in range(len(levels))))]
    missing = [c for c in q.columns() if c not in frame.columns]
    if missing:
        raise EstimationError(f"row question '{qid}' has columns missing from the data",
                              column=missing[0], expected=f"columns {q.columns()}")
    if q.type == "single":
        return [_categorical_block(q, _codes_index(frame[qid], q.codes()), None, nets)]
    if q.type == "grid":
        return [
            _categorical_block(q, _codes_index(frame[f"{qid}{SEP}{it.code}"], q.codes()), it, nets)
            for it in q.items
        ]
    if q.type == "multi":
        sub = frame.select(q.columns())
        answered = sub.select(pl.any_horizontal(pl.all().is_not_null())).to_series().to_numpy()
        sel = sub.select(pl.all().cast(pl.Boolean).fill_null(False)).to_numpy().astype(bool)
        return [_categorical_block(q, np.empty(0), None, nets, multi=(sel, answered))]
    if q.type == "numeric":
        v = frame[qid].cast(pl.Float64).to_numpy()
        base = ~np.isnan(v)
        row = _mean_row()
        return [_Block(qid, None, q.short_label("zh"), q.short_label("en"), (row,), base,
                       np.where(base, v, 0.0)[:, None])]
    # constant_sum: one mean per part, base = respondents who answered every part
    V = frame.select(pl.col(q.columns()).cast(pl.Float64)).to_numpy()
    base = ~np.isnan(V).any(axis=1)
    rows = tuple(_Row(it.code, it.zh, it.en, "mean") for it in q.items)
    return [_Block(qid, None, q.short_label("zh"), q.short_label("en"), rows, base,
                   np.where(base[:, None], np.nan_to_num(V), 0.0))]
