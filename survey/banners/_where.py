"""Filters (``where=``): which respondents a table is about, and how its base is named.

A filter is a domain of the full design, as R's ``subset.survey.design``: respondents outside it
stay in the design (strata, PSUs and calibration unchanged) and only leave the bases, so
standard errors are those of domain estimation, not of a filtered frame.

``where`` is a polars expression, a mapping ``{variable: level or [levels]}`` (levels of one
variable are or-ed, variables and-ed) or the same as text for the command line:
``"industry=beauty,food_bev; brand_type=local"``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from survey.banners._text import say
from survey.errors import EstimationError

Where = pl.Expr | Mapping[str, Any] | str | None


def parse_where(text: str) -> dict[str, list[str]]:
    """The mapping of a textual filter ``"var=a,b; var2=c"``.

    Example:
        >>> parse_where("industry=beauty,food_bev; brand_type=local")
        {'industry': ['beauty', 'food_bev'], 'brand_type': ['local']}
    """
    out: dict[str, list[str]] = {}
    for part in text.replace("；", ";").split(";"):
        if not part.strip():
            continue
        var, sep, levels = part.partition("=")
        values = [v.strip() for v in levels.replace("，", ",").split(",") if v.strip()]
        if not sep or not var.strip() or not values:
            raise EstimationError(f"cannot read the filter {part.strip()!r}", value=part.strip(),
                                  expected="variable=level[,level…][; variable=level…]")
        out.setdefault(var.strip(), []).extend(values)
    if not out:
        raise EstimationError("empty filter", value=text, expected="variable=level[,level…]")
    return out


@dataclass(frozen=True)
class Filter:
    """A resolved filter: the respondents in it (``mask``) and its label in both languages."""

    mask: np.ndarray
    label_zh: str
    label_en: str

    def label(self, lang: str = "zh") -> str:
        return self.label_en if lang == "en" else self.label_zh

    def base_text(self, n: int, lang: str = "zh") -> str:
        """"基数：美妆个护+食品饮料，n = 72"."""
        return say("base_where", lang, label=self.label(lang), n=n)


def _level_label(cb: Any, var: str, level: str, lang: str) -> str:
    q = cb.questions.get(var) if cb is not None else None
    if q is not None:
        try:
            return q.label(level, lang)
        except Exception:  # a level outside the codebook is named by its code
            return level
    return level


def _level_lookup(cb: Any, var: str, known: Sequence[str]) -> dict[str, str]:
    """Codes of ``var`` by their casefolded code, zh label and en label."""
    out: dict[str, str] = {}
    for code in known:
        out.setdefault(str(code).casefold(), str(code))
    for code in known:
        for lg in ("zh", "en"):
            out.setdefault(_level_label(cb, var, str(code), lg).casefold(), str(code))
    return out


def _unknown_level(var: str, value: str, known: Sequence[str], lookup: Mapping[str, str],
                   cb: Any) -> str:
    """One short message: the variable, the value, its close matches (codes or labels)."""
    close = difflib.get_close_matches(value.casefold(), list(lookup), n=3, cutoff=0.5)
    codes = list(dict.fromkeys(lookup[c] for c in close))
    if not codes:
        codes = [c for c in known if value.casefold() in c.casefold()
                 or c.casefold() in value.casefold()][:3]

    def named(code: str) -> str:
        zh = _level_label(cb, var, code, "zh")
        return code if zh == code else f"{code} ({zh})"

    near = f"; close matches: {', '.join(named(c) for c in codes)}" if codes else ""
    return (f"filter level {value!r} is not a level of '{var}'{near}; {len(known)} levels, e.g. "
            f"{', '.join(named(c) for c in list(known)[:4])}")


def resolve(frame: pl.DataFrame, codebook: Any, where: Where, label: str | None = None
            ) -> Filter | None:
    """The :class:`Filter` of ``where`` on ``frame`` (``None`` when there is no filter).

    Example:
        >>> f = resolve(pl.DataFrame({"g": ["a", "b", None]}), None, {"g": "a"})
        >>> f.mask.tolist(), f.label("en")
        ([True, False, False], 'a')
    """
    if where is None:
        return None
    if isinstance(where, str):
        where = parse_where(where)
    if isinstance(where, pl.Expr):
        expr = where
        zh = en = label or str(where)
    elif isinstance(where, Mapping):
        parts: list[pl.Expr] = []
        names: dict[str, list[str]] = {"zh": [], "en": []}
        for var, levels in where.items():
            if var not in frame.columns:
                close = difflib.get_close_matches(var, frame.columns, n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise EstimationError(f"unknown filter variable '{var}'{hint}", column=var,
                                      expected="a column of the design" + (
                                          f" such as {', '.join(close)}" if close else ""))
            vals = [levels] if isinstance(levels, str | int | bool) or not isinstance(
                levels, Sequence) else list(levels)
            col = frame[var]
            q = codebook.questions.get(var) if codebook is not None else None
            known = (q.codes() if q is not None and q.type == "single"
                     else col.drop_nulls().cast(pl.String).unique().to_list())
            if col.dtype == pl.Boolean:
                known = ["true", "false"]
            lookup = _level_lookup(codebook, var, known)
            strs = []
            for v in vals:
                code = lookup.get(str(v).strip().casefold())
                if code is None:
                    raise EstimationError(_unknown_level(var, str(v), known, lookup, codebook),
                                          column=var, value=str(v),
                                          expected="a code or a zh/en label of " + var)
                strs.append(code)
            parts.append(pl.col(var).cast(pl.String).is_in(strs))
            for lg in ("zh", "en"):
                names[lg].append(say("or_sep", lg).join(
                    _level_label(codebook, var, s, lg) for s in strs))
        expr = pl.all_horizontal(parts)
        zh = label or say("and_sep", "zh").join(names["zh"])
        en = label or say("and_sep", "en").join(names["en"])
    else:
        raise EstimationError("cannot read the filter", value=type(where).__name__,
                              expected="a polars expression, {variable: levels} or 'var=a,b'")
    try:
        mask = frame.select(expr.fill_null(False).alias("_where")).to_series()
    except pl.exceptions.PolarsError as err:
        raise EstimationError(f"cannot evaluate the filter: {err}".splitlines()[0],
                              value=str(expr), expected="an expression on the design's columns"
                              ) from None
    if mask.dtype != pl.Boolean or mask.len() != frame.height:
        raise EstimationError("the filter is not one true/false per respondent", value=str(expr),
                              expected="a Boolean expression")
    m = mask.to_numpy().astype(bool)
    if not m.any():
        raise EstimationError(f"no respondent matches the filter {zh}", value=str(expr),
                              expected="a filter that keeps at least one respondent")
    return Filter(m, zh, en)
