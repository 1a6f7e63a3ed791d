"""Columns of a banner: the total and one domain per level of each segment variable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from survey.banners._blocks import (
    Labels,
    _codes_index,
    _level_labels,
    _levels,
    _question_of,
    label_of,
)
from survey.banners._text import TOTAL, say
from survey.codebook import SEP, Codebook
from survey.errors import EstimationError


# ---------------------------------------------------------------------------------------------
# Columns: the total and one domain per level of each segment variable
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Col:
    variable: str
    level: str
    zh: str
    en: str
    letter: str | None
    var_zh: str
    var_en: str


@dataclass(frozen=True, eq=False)
class _Group:
    """The columns of one banner variable (or the total, or one outer level of a nested
    variable): positions and each respondent's domain.

    Disjoint columns have ``g`` (domain 0..D-1 of each respondent, -1 for none); the options of
    a multi-select question overlap and have ``masks`` (n × D) instead (``g`` is then unused).
    """

    cols: list[int]
    g: np.ndarray
    tested: bool  # pairwise tests within the group (not for the total)
    masks: np.ndarray | None = None


def _letters(k: int) -> list[str]:
    """A, B, …, Z, AA, AB, … for ``k`` columns."""
    out = []
    for i in range(k):
        s, j = "", i
        while True:
            s = chr(ord("A") + j % 26) + s
            j = j // 26 - 1
            if j < 0:
                break
        out.append(s)
    return out


#: a banner column: a variable, or ``(outer, inner)`` for nested columns
ColSpec = str | tuple[str, str]


def _segment(frame: pl.DataFrame, cb: Codebook | None, var: str, labels: Labels,
             collapse: Mapping[str, Mapping[str, Sequence[str]]]
             ) -> tuple[list[str], list[tuple[str, str]], np.ndarray, tuple[str, str]]:
    """Levels, their labels, each respondent's level index and the variable's label, with
    ``collapse`` applied (the combined level takes the place of its first member)."""
    if var not in frame.columns:
        raise EstimationError(f"unknown segment variable '{var}'", column=var,
                              expected="a column of the design")
    q = _question_of(cb, var)
    if q is not None and q.type == "single":
        codes = q.codes()
        names = [label_of(labels, var, o.code, (o.zh, o.en)) for o in q.options]
        title = label_of(labels, var, None, (q.short_label("zh"), q.short_label("en")))
    else:
        codes = _levels(frame[var])
        names = _level_labels(var, codes, frame[var], labels)
        title = label_of(labels, var, None, (var, var))
    idx = _codes_index(frame[var], codes).astype(np.int64)
    merge = collapse.get(var, {})
    if merge:
        target = {}
        for new, members in merge.items():
            bad = [m for m in members if m not in codes]
            if bad:
                raise EstimationError(f"collapse of '{var}' names unknown levels {bad}",
                                      column=var, value=bad[0], expected=f"levels {codes}")
            for m in members:
                target[m] = new
        out_codes: list[str] = []
        out_names: list[tuple[str, str]] = []
        for c, nm in zip(codes, names, strict=True):
            key = target.get(c, c)
            if key in out_codes:
                continue
            out_codes.append(key)
            out_names.append(nm if key == c else label_of(labels, var, key, (key, key)))
        pos = np.array([out_codes.index(target.get(c, c)) for c in codes] + [-1])
        idx = pos[idx]
        codes, names = out_codes, out_names
    return codes, names, idx, title


def _multi_segment(frame: pl.DataFrame, q: Any, labels: Labels
                   ) -> tuple[list[str], list[tuple[str, str]], np.ndarray, tuple[str, str]]:
    cols = [f"{q.id}{SEP}{o.code}" for o in q.options]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise EstimationError(f"segment question '{q.id}' has columns missing from the data",
                              column=missing[0], expected=f"columns {cols}")
    masks = frame.select(pl.col(cols).cast(pl.Boolean).fill_null(False)).to_numpy().astype(bool)
    names = [label_of(labels, q.id, o.code, (o.zh, o.en)) for o in q.options]
    title = label_of(labels, q.id, None, (q.short_label("zh"), q.short_label("en")))
    return [o.code for o in q.options], names, masks, title


def _columns(
    frame: pl.DataFrame, cb: Codebook | None, cols: Sequence[ColSpec], include_total: bool,
    *, labels: Labels | None = None,
    collapse: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    mask: np.ndarray | None = None,
    titles: dict[str, tuple[str, str, bool]] | None = None,
) -> tuple[list[_Col], list[_Group]]:
    """Columns and their groups: the total first, then one group per segment variable (per
    outer level for nested ``(outer, inner)`` columns). A multi-select question gives one
    (overlapping) column per option. ``mask`` (``where=``) takes respondents out of every
    column. ``titles`` (if given) receives each variable's (zh, en) title and whether its
    columns overlap."""
    labels, collapse = labels or {}, collapse or {}
    titles = {} if titles is None else titles
    n = frame.height
    inside = np.ones(n, bool) if mask is None else mask
    spec: list[_Col] = []
    groups: list[_Group] = []
    if include_total:
        zh, en = say("total", "zh"), say("total", "en")
        spec.append(_Col(TOTAL, TOTAL, zh, en, None, zh, en))
        groups.append(_Group([0], np.where(inside, 0, -1).astype(np.int64), False))
    for var in cols:
        if isinstance(var, tuple | list):
            if len(var) != 2:
                raise EstimationError(f"nested columns take two variables, got {var!r}",
                                      value=repr(var), expected="(outer, inner)")
            outer, inner = var
            o_codes, o_names, o_idx, o_title = _segment(frame, cb, outer, labels, collapse)
            i_codes, i_names, i_idx, i_title = _segment(frame, cb, inner, labels, collapse)
            name = f"{outer}>{inner}"
            titles[name] = (f"{o_title[0]} × {i_title[0]}", f"{o_title[1]} × {i_title[1]}", False)
            for k, (oc, (ozh, oen)) in enumerate(zip(o_codes, o_names, strict=True)):
                start = len(spec)
                for ic, (izh, ien), letter in zip(i_codes, i_names, _letters(len(i_codes)),
                                                  strict=True):
                    spec.append(_Col(name, f"{oc}>{ic}", izh, ien, letter,
                                     say("nested", "zh", outer=o_title[0], level=ozh, inner=i_title[0]),
                                     say("nested", "en", outer=o_title[1], level=oen, inner=i_title[1])))
                g = np.where((o_idx == k) & inside, i_idx, -1)
                groups.append(_Group(list(range(start, len(spec))), g, True))
            continue
        q = _question_of(cb, var)
        if q is not None and q.type == "multi":
            codes, names, masks, title = _multi_segment(frame, q, labels)
            titles[var] = (*title, True)
            start = len(spec)
            for code, (zh, en), letter in zip(codes, names, _letters(len(codes)), strict=True):
                spec.append(_Col(var, code, zh, en, letter, *title))
            groups.append(_Group(list(range(start, len(spec))), np.full(n, -1, np.int64), True,
                                 masks & inside[:, None]))
            continue
        codes, names, idx, title = _segment(frame, cb, var, labels, collapse)
        titles[var] = (*title, False)
        start = len(spec)
        for code, (zh, en), letter in zip(codes, names, _letters(len(codes)), strict=True):
            spec.append(_Col(var, code, zh, en, letter, *title))
        groups.append(_Group(list(range(start, len(spec))), np.where(inside, idx, -1), True))
    return spec, groups
