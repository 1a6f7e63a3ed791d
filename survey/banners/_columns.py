"""Columns of a banner: the total and one domain per level of each segment variable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from survey.banners._blocks import _codes_index, _levels, _question_of
from survey.banners._text import TOTAL, say
from survey.codebook import Codebook
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
    """The columns of one banner variable (or the total): positions, and each row's domain."""

    cols: list[int]
    g: np.ndarray  # (n,) domain 0..D-1 of each respondent, -1 for none (missing value)
    tested: bool  # pairwise tests within the group (not for the total)


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


def _columns(
    frame: pl.DataFrame, cb: Codebook | None, cols: Sequence[str], include_total: bool
) -> tuple[list[_Col], list[_Group]]:
    """Columns and the groups of columns (the total first, then one per segment variable)."""
    n = frame.height
    spec: list[_Col] = []
    groups: list[_Group] = []
    if include_total:
        zh, en = say("total", "zh"), say("total", "en")
        spec.append(_Col(TOTAL, TOTAL, zh, en, None, zh, en))
        groups.append(_Group([0], np.zeros(n, np.int64), False))
    for var in cols:
        if var not in frame.columns:
            raise EstimationError(f"unknown segment variable '{var}'", column=var,
                                  expected="a column of the design")
        q = _question_of(cb, var)
        if q is not None and q.type == "single":
            codes = q.codes()
            labels = [(o.zh, o.en) for o in q.options]
            v_zh, v_en = q.short_label("zh"), q.short_label("en")
        else:
            codes = _levels(frame[var])
            labels = [(c, c) for c in codes]
            v_zh = v_en = var
        idx = _codes_index(frame[var], codes)
        start = len(spec)
        for code, (zh, en), letter in zip(codes, labels, _letters(len(codes)), strict=True):
            spec.append(_Col(var, code, zh, en, letter, v_zh, v_en))
        groups.append(_Group(list(range(start, len(spec))), idx.astype(np.int64), True))
    return spec, groups
