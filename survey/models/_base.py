"""The base of a model result: who entered the model (a ``where=`` domain or everyone) and n.

Every model and scenario result carries a :class:`Base` and says it as the banners' base note
does (``基数：美妆个护+食品饮料，n = 72``; without a filter ``基数：全体广告主，n = 228``), worded
from ``survey/models/texts.yml``. The filter is read and named by the banners' own
:func:`survey.banners._where.resolve` (codebook labels of ``{variable: levels}`` and of
``"var=a,b"``, the text of a polars expression), so a model and a banner given the same
``where=`` name the same base. A SQL condition, a Boolean column or a mask go to
``Design.subset`` as before; every filter is a domain of the whole design.

Example:
    >>> base, mask = domain(design, {"industry": ["美妆个护", "食品饮料"]})
    >>> base.text("zh") == f"基数：美妆个护+食品饮料，n = {int(mask.sum())}"
    True
    >>> domain(design, None)[0].text("en")
    'Base: all advertisers, n = 228'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from survey.banners import _is_mapping_text
from survey.banners._text import say as banner_say
from survey.banners._where import resolve
from survey.models._result import Lang, say

#: a where= label: one text for both languages or ``{"zh": …, "en": …}``
WhereLabel = str | Mapping[str, str] | None

#: the columns every model table ends with (the base, the same on every row)
BASE_COLUMNS = ("base_n", "base_zh", "base_en")


@dataclass(frozen=True)
class Base:
    """Who entered a model: the filter's label in both languages ("" for everyone) and ``n``,
    the respondents of the domain the model used (answering what it needs).

    Example:
        >>> b = Base(72, "美妆个护+食品饮料", "Beauty & personal care + Food & beverage")
        >>> b.text("zh"), str(Base(228))
        ('基数：美妆个护+食品饮料，n = 72', '基数：全体广告主，n = 228')
    """

    n: int
    label_zh: str = ""
    label_en: str = ""

    @property
    def filtered(self) -> bool:
        """Whether the base is a filter (a domain) rather than every respondent."""
        return bool(self.label_zh or self.label_en)

    def label(self, lang: Lang = "zh") -> str:
        """The filter's description in ``lang`` ("全体广告主" / "all advertisers" without one)."""
        if not self.filtered:
            return say("common.everyone", lang)
        return self.label_en if lang == "en" else self.label_zh

    def text(self, lang: Lang = "zh") -> str:
        """"基数：美妆个护+食品饮料，n = 72" / "Base: all advertisers, n = 228"."""
        if not self.filtered:
            return say("common.base_all", lang, n=self.n)
        return banner_say("base_where", lang, label=self.label(lang), n=self.n)  # as banners

    def sentence(self, lang: Lang = "zh") -> str:
        """The base as the last sentence of a summary."""
        return say("common.base_sentence", lang, base=self.text(lang))

    def columns(self) -> dict[str, Any]:
        """``base_n``, ``base_zh``, ``base_en``: the columns every ``to_polars()`` ends with."""
        return dict(zip(BASE_COLUMNS, (self.n, self.text("zh"), self.text("en")), strict=True))

    def with_n(self, n: int) -> Base:
        """The same filter with ``n`` respondents."""
        return replace(self, n=int(n))

    def __str__(self) -> str:
        return self.text("zh")


def _labels(label: WhereLabel) -> tuple[str, str] | None:
    if label is None:
        return None
    if isinstance(label, Mapping):
        zh = str(label.get("zh") or label.get("en") or "")
        return zh, str(label.get("en") or zh)
    return str(label), str(label)


def _join(first: tuple[str, str], second: tuple[str, str]) -> tuple[str, str]:
    """Two filters' labels joined as the banner joins the variables of one filter."""
    return (banner_say("and_sep", "zh").join(first),  # type: ignore[return-value]
            banner_say("and_sep", "en").join(second))


def domain(design: Any, where: Any = None, label: WhereLabel = None) -> tuple[Base, np.ndarray]:
    """The :class:`Base` of ``where`` on ``design`` and its mask (one bool per design row).

    ``where``: ``None`` (every respondent, or the design's own subset), a polars expression,
    ``{variable: level or [levels]}`` (codes or zh/en labels) or ``"var=a,b; var2=c"`` — named
    as the banners name them —, a SQL condition or Boolean column name (named by its text) or
    a Boolean mask. ``label`` (a text or ``{"zh": …, "en": …}``) overrides the description.
    The base's ``n`` is the size of the domain; a model sets it to the rows it used
    (:meth:`Base.with_n`).

    Example:
        >>> base, mask = domain(design, "industry=beauty", label={"zh": "美妆", "en": "Beauty"})
        >>> base.label("en"), base.n == int(mask.sum())
        ('Beauty', True)
    """
    own = getattr(design, "where", None)  # a design already subset before the call
    inside = np.asarray(design.in_subset, dtype=bool)
    given = _labels(label)
    if where is None:
        names = given or ((str(own), str(own)) if own else ("", ""))
        return Base(int(inside.sum()), *names), inside
    if (isinstance(where, str) and not _is_mapping_text(where)) or _is_expr(where):
        # a SQL condition, a column or an expression: the design reads it (named by its text,
        # as the banners name an expression), an empty domain is an EmptySegmentError
        names = given or (str(where), str(where))
        mask = np.asarray(design.subset(where).in_subset, dtype=bool)
    elif isinstance(where, Mapping | str):
        filt = resolve(design.frame, getattr(design, "codebook", None), where)
        assert filt is not None
        names = given or (filt.label_zh, filt.label_en)
        mask = np.asarray(design.subset(filt.mask).in_subset, dtype=bool)
    else:  # a Boolean mask or Series
        names = given or (say("common.where_mask", "zh"), say("common.where_mask", "en"))
        mask = np.asarray(design.subset(where).in_subset, dtype=bool)
    if own and given is None:
        names = _join((str(own), names[0]), (str(own), names[1]))
    return Base(int(mask.sum()), *names), mask


def _is_expr(obj: Any) -> bool:
    import polars as pl

    return isinstance(obj, pl.Expr)
