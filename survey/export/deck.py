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
from survey.export.pptx import Deck


def report_deck(ctx: Any, *, top: int = 10) -> Deck:
    """A :class:`~survey.export.pptx.Deck` of the key charts of ``ctx`` (a ReportContext)."""
    lang = ctx.lang
    cb = ctx.codebook
    source = say("deck.source", lang, title=cb.title(lang), edition=ctx.edition)
    deck = Deck(lang=lang, source=source)
    base = say("base_all", lang, n=ctx.n)
    deck.add_cover(say("deck.title", lang, title=cb.title(lang), edition=ctx.edition),
                   f"{base}\n{source}")
    total = say("total", lang)
    for q in cb.questions_in(ctx.edition):
        if q.segment or not ctx.asks(q.id):
            continue
        title = q.text(lang, ctx.edition) if hasattr(q, "text") else q.short_label(lang)
        if q.type == "multi":
            # options the edition did not ask have no estimate: not bars of zero
            ranked = ctx.ranked(q.id).filter(pl.col("estimate").is_not_null()).head(top)
            deck.add_chart(title, ranked["row_label"].to_list(),
                           {total: ranked["estimate"].to_list()}, base=base)
            continue
        tl = ctx.topline(q.id)
        if q.type == "single":
            opts = tl.filter(pl.col("row_kind") == "option")
            deck.add_chart(title, opts["row_label"].to_list(), {total: opts["estimate"].to_list()},
                           base=base)
        elif q.type == "grid":
            opts = tl.filter(pl.col("row_kind") == "option")
            items = opts["item"].unique(maintain_order=True).to_list()
            labels = {it.code: it.label(lang) for it in q.items}
            series: dict[str, list[float | None]] = {}
            for o in q.options:
                sub = opts.filter(pl.col("row_code").str.ends_with(f":{o.code}"))
                by_item = dict(zip(sub["item"], sub["estimate"], strict=True))
                series[o.label(lang)] = [by_item.get(it) for it in items]
            deck.add_chart(title, [labels.get(it, it) for it in items], series, kind="stacked",
                           base=base)
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
