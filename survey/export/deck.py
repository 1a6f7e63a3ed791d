"""The report's key charts as a deck: every question an edition asked, its whole-sample result.

Driven by the codebook and the report context's accessors (``ReportContext.topline`` and
``ranked``), not by the report chapters: a single-select question is a bar per option, a
multi-select question its ``top`` options by share (catch-all answers last), a grid 100%
stacked bars of its items, a numeric question its mean as a large number with its 95% interval,
a constant-sum question the means of its parts.

Example:
    >>> from survey.reporting import ReportContext
    >>> deck = report_deck(ReportContext.load(2025, "en", with_previous=False), top=5)
    >>> len(deck.prs.slides) > 10
    True
"""

from __future__ import annotations

from typing import Any

import polars as pl

from survey.banners._text import say
from survey.codebook import RESIDUAL_CODES
from survey.export.pptx import Deck, scale_colors_or_none


def report_deck(ctx: Any, *, top: int = 10) -> Deck:
    """A :class:`~survey.export.pptx.Deck` of the key charts of ``ctx`` (a ReportContext)."""
    lang = ctx.lang
    cb = ctx.codebook
    source = say("deck.source", lang, title=cb.title(lang), edition=ctx.edition)
    deck = Deck(lang=lang, source=source, synthetic=bool(getattr(ctx, "is_synthetic", False)))
    base = say("base_all", lang, n=ctx.n)
    deck.add_cover(say("deck.title", lang, title=cb.title(lang), edition=ctx.edition),
                   f"{base}\n{source}")
    total = say("total", lang)
    for q in cb.questions_in(ctx.edition):
        if q.segment or not ctx.asks(q.id):
            continue
        title = q.text(lang, ctx.edition) if hasattr(q, "text") else q.short_label(lang)
        if q.type == "multi":
            # options the edition did not ask are left out before ranking (not empty bars)
            asked = set(_asked_codes(q, ctx.edition))
            ranked = ctx.ranked(q.id).filter(
                pl.col("estimate").is_not_null() & ~pl.col("estimate").is_nan()
                & pl.col("row_code").is_in(list(asked))
            ).sort(pl.col("row_code").is_in(list(RESIDUAL_CODES)), -pl.col("estimate"),
                   maintain_order=True).head(top)
            deck.add_chart(title, ranked["row_label"].to_list(),
                           {total: ranked["estimate"].to_list()}, base=base)
            continue
        tl = ctx.topline(q.id)
        if q.type == "single":
            opts = tl.filter((pl.col("row_kind") == "option")
                             & pl.col("row_code").is_in(_asked_codes(q, ctx.edition)))
            codes = opts["row_code"].to_list()
            deck.add_chart(title, opts["row_label"].to_list(), {total: opts["estimate"].to_list()},
                           base=base, point_colors=scale_colors_or_none(
                               codes, [_score(q, c) for c in codes]))
        elif q.type == "grid":
            opts = tl.filter(pl.col("row_kind") == "option")
            items = opts["item"].unique(maintain_order=True).to_list()
            labels = {it.code: it.label(lang) for it in q.items}
            series: dict[str, list[float | None]] = {}
            asked_opts = [o for o in q.options if o.code in set(_asked_codes(q, ctx.edition))]
            for o in asked_opts:
                sub = opts.filter(pl.col("row_code").str.ends_with(f":{o.code}"))
                by_item = dict(zip(sub["item"], sub["estimate"], strict=True))
                series[o.label(lang)] = [by_item.get(it) for it in items]
            deck.add_chart(title, [labels.get(it, it) for it in items], series, kind="stacked",
                           base=base, series_colors=scale_colors_or_none(
                               [o.code for o in asked_opts],
                               [getattr(o, "score", None) for o in asked_opts]))
        elif q.type == "numeric":  # one mean: a large number with its interval
            m = ctx.mean(q.id)
            deck.add_kpi(title, f"{m['estimate']:.1f}",
                         say("deck.mean_ci", lang, lo=m["ci_low"], hi=m["ci_high"], n=m["n"]),
                         base=base)
        else:  # constant_sum: the mean of each part
            means = tl.filter(pl.col("row_kind") == "mean")
            deck.add_chart(title, means["row_label"].to_list(),
                           {total: means["estimate"].to_list()}, kind="column",
                           number_format="0.0", base=base)
    return deck


def _asked_codes(q: Any, edition: int) -> list[str]:
    """The option codes of ``q`` the edition asked (codebook ``options_in``).

    Example:
        >>> q = survey.load_wave(2025).codebook["internet_resources_increase"]
        >>> "search" in _asked_codes(q, 2025), "search" in [o.code for o in q.options]
        (False, True)
    """
    try:
        return [o.code for o in q.options_in(edition)]
    except (AttributeError, TypeError):
        return [o.code for o in q.options]


def _score(q: Any, code: str) -> float | None:
    for o in q.options:
        if o.code == code:
            return getattr(o, "score", None)
    return None
