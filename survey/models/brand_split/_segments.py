"""Optima within segment levels (domains of the design), refused where the base is thin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from survey.banners._text import say as banner_say
from survey.errors import EmptySegmentError, ModelError
from survey.models._base import Base, WhereLabel, domain
from survey.models._design import as_design
from survey.models._result import Lang, TableResult, join, label, new_axes, say, show_base
from survey.models.brand_split._fit import fit
from survey.models.brand_split._result import BrandSplitResult


@dataclass(frozen=True)
class SegmentOptima(TableResult):
    """Optimum per level of a segment variable; refused levels say why (in both languages).

    ``table``: level, label_zh, label_en (codebook), n, status (ok/refused), reason_zh,
    reason_en, optimum, ci_low, ci_high (bootstrap); ``base``: the ``where=`` domain the
    levels split (``n``: its respondents with a level of ``by``).
    """

    by: str
    table: pl.DataFrame
    min_base: int
    min_side: int
    base: Base

    def summary(self, lang: Lang = "zh") -> str:
        """One sentence per level."""
        out = []
        for r in self.table.iter_rows(named=True):
            lv = r[f"label_{lang}"]
            if r["status"] == "ok":
                out.append(say("brand_split.segment_ok", lang, level=lv, opt=r["optimum"],
                               lo=r["ci_low"], hi=r["ci_high"], n=r["n"]))
            else:
                out.append(say("brand_split.segment_refused", lang, level=lv,
                               reason=r[f"reason_{lang}"]))
        return join([*out, self.base.sentence(lang)], lang)

    def plot(self, ax: Any = None, lang: Lang = "zh") -> Any:
        """Optima with bootstrap CIs for the levels that could be estimated."""
        import seaborn as sns

        ax = new_axes(ax)
        ok = self.table.filter(pl.col("status") == "ok")
        y = np.arange(ok.height)
        o = 100 * ok["optimum"].to_numpy()
        sns.scatterplot(x=o, y=y, ax=ax, color="C0", zorder=3)
        ax.errorbar(o, y, xerr=[o - 100 * ok["ci_low"].to_numpy(),
                                100 * ok["ci_high"].to_numpy() - o], fmt="none", capsize=3)
        ax.set_yticks(y, ok[f"label_{lang}"].to_list())
        ax.set_xlabel(say("brand_split.segment_x", lang))
        return show_base(ax, self.base, lang)


class SegmentRefused(ModelError):
    """The base of a segment level cannot support an optimum; ``reason`` + ``values`` say why."""

    def __init__(self, by: str, level: str, reason: str, **values: Any) -> None:
        self.reason, self.values = reason, values
        super().__init__(f"{by} = {level}: {self.text('en')}", column=by, value=level)

    def text(self, lang: Lang) -> str:
        """The reason in ``lang``."""
        return say(f"brand_split.refuse.{self.reason}", lang, **self.values)


def _level_domain(d: Any, by: str, level: str, where: Any, where_label: WhereLabel
                  ) -> tuple[np.ndarray, dict[str, str]]:
    """Mask and labels of the level of ``by`` within the ``where`` domain ("filter；level")."""
    if by not in d.frame.columns:
        raise ModelError(f"segment variable {by!r} not in the data", column=by,
                         expected="a column of the design")
    inside = d.frame[by].cast(pl.String).eq(level).fill_null(False).to_numpy()
    outer, mask = domain(d, where, where_label)
    names = {lg: label(by, level, lg, d) for lg in ("zh", "en")}
    if outer.filtered:
        names = {lg: banner_say("and_sep", lg).join([outer.label(lg), names[lg]])  # type: ignore[arg-type]
                 for lg in names}
    return inside & mask, names


def fit_segment(
    design_or_frame: Any, by: str, level: str, *, min_base: int = 80, min_side: int = 10,
    where: Any = None, where_label: WhereLabel = None, **kw: Any,
) -> BrandSplitResult:
    """The optimum within one segment level (a domain of the design); refused when the base is thin.

    Raises :class:`SegmentRefused` (a :class:`ModelError`) when the level has fewer than
    ``min_base`` respondents, when the model cannot be fitted or has no interior optimum, or when
    fewer than ``min_side`` respondents lie on either side of the optimum;
    :class:`EmptySegmentError` when nobody is in the level. ``where`` narrows the domain
    further (as :func:`fit`); the result's base names the level (codebook label), after the
    filter when there is one.

    Example:
        >>> r = fit_segment(ctx.design, "brand_type", "mature", bootstrap=0)
        >>> r.base.text("en") == f"Base: Mature brand, n = {r.n}"
        True
    """
    d = as_design(kw.pop("design", None) or design_or_frame, weights=kw.pop("weights", "weight"),
                  ids=kw.pop("ids", None), strata=kw.pop("strata", None))
    in_level, names = _level_domain(d, by, level, where, where_label)
    n = int(in_level.sum())
    if n == 0:
        raise EmptySegmentError(f"no respondent has {by} = {level!r}", column=by, value=level)
    if n < min_base:
        raise SegmentRefused(by, level, "small_base", n=n, min=min_base)
    controls = tuple(c for c in kw.pop("controls", ("industry", "budget_size")) if c != by)
    try:
        res = fit(d, controls=controls, where=in_level, where_label=names, **kw)
    except (ModelError, EmptySegmentError) as e:
        raise SegmentRefused(by, level, "fit", n=n, msg=str(e)) from e
    if not res.interior:
        raise SegmentRefused(by, level, "no_interior", n=n)
    s = res._prep.s if res._prep is not None else np.zeros(0)
    side = min(int((s < res.optimum).sum()), int((s > res.optimum).sum()))
    if side < min_side:
        raise SegmentRefused(by, level, "one_side", k=side, opt=res.optimum, n=n, min=min_side)
    return res


def optima_by_segment(
    design_or_frame: Any, by: str, *, min_base: int = 80, min_side: int = 10,
    where: Any = None, where_label: WhereLabel = None, **kw: Any,
) -> SegmentOptima:
    """Optimum for every level of ``by``; levels refused by :func:`fit_segment` keep the reason.

    ``where`` splits a domain instead of every respondent (as :func:`fit`).

    Example:
        >>> res = optima_by_segment(ctx.design, "brand_type", bootstrap=50)
        >>> res.to_polars().select("level", "n", "status").rows()
        [('emerging', 71, 'refused'), ('mature', 157, 'ok')]
        >>> res.base.text("zh")
        '基数：全体广告主，n = 228'
    """
    d = as_design(kw.pop("design", None) or design_or_frame, weights=kw.pop("weights", "weight"),
                  ids=kw.pop("ids", None), strata=kw.pop("strata", None))
    base, mask = domain(d, where, where_label)
    has_level = d.frame[by].is_not_null().to_numpy()
    rows = []
    for lv in d.frame.filter(pl.Series(mask))[by].drop_nulls().cast(pl.String).unique().sort():
        n = int((d.frame[by].cast(pl.String).eq(lv).fill_null(False).to_numpy() & mask).sum())
        row = {"level": lv, "label_zh": label(by, lv, "zh", d), "label_en": label(by, lv, "en", d),
               "n": n}
        try:
            r = fit_segment(d, by, lv, min_base=min_base, min_side=min_side, where=where,
                            where_label=where_label, **kw)
            rows.append({**row, "status": "ok", "reason_zh": "", "reason_en": "",
                         "optimum": r.optimum, "ci_low": r.ci_boot[0], "ci_high": r.ci_boot[1]})
        except SegmentRefused as e:
            rows.append({**row, "status": "refused", "reason_zh": e.text("zh"),
                         "reason_en": e.text("en"), "optimum": None, "ci_low": None,
                         "ci_high": None})
    table = pl.DataFrame(rows, schema={
        "level": pl.String, "label_zh": pl.String, "label_en": pl.String, "n": pl.Int64,
        "status": pl.String, "reason_zh": pl.String, "reason_en": pl.String,
        "optimum": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64})
    return SegmentOptima(by=by, table=table, min_base=min_base, min_side=min_side,
                         base=base.with_n(int((has_level & mask).sum())))
