"""Builders of the bespoke blocks: segment contrasts, the brand/performance model, the AI gap,
scenarios, trends across editions, the table of significant changes and the method page.

Registered in :data:`survey.reporting.blocks.BUILDERS` on import; each degrades gracefully.

Example:
    >>> from survey.reporting import ReportContext
    >>> from survey.reporting.kit import Kit
    >>> from survey.reporting.blocks import build
    >>> from survey.reporting.spec import Block
    >>> kit = Kit(ReportContext.load(2025, with_previous=False))
    >>> page = build(kit, Block("method_page"), "method")[0]
    >>> "228" in " ".join(page.body)
    True
"""

from __future__ import annotations

from typing import Any

import polars as pl

from survey.present import charts
from survey.present import palette as pal
from survey.present.text import Raw
from survey.reporting.blocks import _direction, _takeaway, _title, builder
from survey.reporting.history import adjust_pvalues, published_series, published_value
from survey.reporting.kit import Kit
from survey.reporting.pages import Page
from survey.reporting.spec import Block


# ------------------------------------------------------------------------------ contrasts
@builder("segment_contrasts")
def segment_contrasts(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """Segment levels against the rest of the sample on the block's ``headline`` option/net
    (None: the mean), significant after the multiplicity correction, small bases not tested."""
    qid = block.question
    code = block.get("headline")
    found = kit.contrasts(qid, code)
    if found is None or found.height == 0:
        return []
    label = kit.label(qid, code) if code else kit.short(qid)
    tested = found.filter(pl.col("tested") & pl.col("estimate").is_not_null())
    if tested.height == 0:
        return []
    sig = tested.filter(pl.col("significant"))
    def names(fr: pl.DataFrame, k: int = 3) -> Raw:
        groups: dict[str, list[str]] = {}
        for r in fr.head(k).iter_rows(named=True):
            groups.setdefault(r["segment_label"], []).append(r["level_label"])
        from survey.present.text import mid_sentence
        from survey.render.emit import escape_md

        def one(x: str) -> str:  # a level inside the "A and B" list, English mid-sentence case
            return escape_md(mid_sentence(x) if kit.lang == "en" else x)

        return kit.join([kit.say("contrast.group", segment=seg, levels=Raw(
            kit.say("common.and").join(one(x) for x in levs)))
            for seg, levs in groups.items()])
    hi = sig.filter(pl.col("diff") > 0).sort("diff", descending=True)
    lo = sig.filter(pl.col("diff") < 0).sort("diff")
    values = dict(question=kit.short(qid), label=label, year=kit.year,
                  higher=names(hi), lower=names(lo))
    if hi.height and lo.height:
        title = _title(kit, block, "msg.contrast_both", **values)
    elif hi.height:
        title = kit.say(block.get("title_higher") or "msg.contrast_higher", **values)
    elif lo.height:
        title = kit.say(block.get("title_lower") or "msg.contrast_lower", **values)
    else:
        title = kit.say("msg.contrast_none", **values)
    bullets = []
    for part, key in ((hi, "bullet.contrast_higher"), (lo, "bullet.contrast_lower")):
        if part.height:
            bullets.append(kit.say(key, label=label, levels=kit.join([
                kit.say("contrast.level_share", level=r["level_label"], n=r["n"],
                        est=r["estimate"], rest=r["rest"])
                for r in part.head(3).iter_rows(named=True)])))
    bullets.append(kit.say("bullet.contrast_method", k=tested.height))
    small = found.filter(~pl.col("tested"))
    small_note = Raw("")
    if small.height:
        segs = list(dict.fromkeys(small["segment_label"].to_list()))
        small_note = kit.say("bullet.contrast_small", n=int(small["n"].max() or 0),
                             k=small.height, segments=kit.join(segs))
    if sig.height == 0:
        big = tested.sort(pl.col("diff").abs(), descending=True).row(0, named=True)
        bullets.append(kit.say("bullet.contrast_largest", level=big["level_label"],
                               segment=big["segment_label"], n=big["n"], est=big["estimate"],
                               rest=big["rest"]))
    shown = tested.sort("estimate", descending=True)
    if shown.height > 14:  # every significant level, then the largest gaps, up to 14 bars
        rest = shown.filter(~pl.col("significant")).sort(pl.col("diff").abs(), descending=True)
        shown = pl.concat([sig, rest.head(max(0, 14 - sig.height))]).sort(
            "estimate", descending=True)
    labels = [kit.plain(kit.say("contrast.bar", segment=r["segment_label"],
                                level=r["level_label"], n=r["n"]))
              for r in shown.iter_rows(named=True)]
    flags = list(zip(labels, shown["significant"].to_list(), shown["diff"].to_list(), strict=True))
    hl = [lab for lab, s, d in flags if s and (d or 0) > 0]
    lowl = [lab for lab, s, d in flags if s and (d or 0) < 0]
    key = [(c, kit.plain(kit.say(k))) for c, k, on in (
        (pal.PRIMARY, "chart.contrast_higher", hl), (pal.MUTED, "chart.contrast_lower", lowl),
        (pal.SECONDARY, "chart.contrast_ns", True)) if on]
    sub = kit.plain(kit.say("chart.contrast_subtitle" if hl or lowl else
                            "chart.contrast_subtitle_ns", label=label))

    def fig() -> Any:
        return charts.ranked_bars(labels, shown["estimate"].to_list(), highlight=hl,
                                  lowlight=lowl, lang=kit.lang, subtitle=sub, legend=key)

    sep = "；" if kit.lang == "zh" else "; "
    note = kit.say("page.contrast_note_colors" if sig.height else "page.contrast_note",
                   label=label) + (sep + small_note if small_note else "")
    if shown.height < tested.height:  # say that the chart leaves segments out
        note = note + sep + kit.say("page.contrast_shown", shown=shown.height, k=tested.height)
    take = None
    if hi.height and lo.height:
        top, low = hi.row(0, named=True), lo.row(0, named=True)
        short = {**values,
                 "higher": kit.join([r["level_label"] for r in hi.head(2).iter_rows(named=True)]),
                 "lower": kit.join([r["level_label"] for r in lo.head(2).iter_rows(named=True)])}
        take = _takeaway(kit, block, chapter, kpi=f"{top['estimate']:.0%}", score=0.5,
                         mini=lambda: charts.mini_bars([top["estimate"], low["estimate"]], 0),
                         top_level=top["level_label"], top_share=top["estimate"],
                         low_level=low["level_label"], low_share=low["estimate"], **short)
    return [Page(title=title, figure=fig, alt=kit.plain(title), bullets=bullets[:3],
                 footer=kit.footer(qid, kit.base_n(qid), extra=Raw(note)), takeaway=take,
                 signals={"significant": sig.height})]


# ------------------------------------------------------------------------------ brand split
@builder("brand_split_model")
def brand_split_model(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """The brand/performance optimum as "约X:Y，区间A-B" next to the published split, with the
    fitted curve of the share of advertisers gaining market share."""
    qid = block.question
    ctx = kit.ctx
    brand = kit.mean(f"{qid}__{kit.q(qid).items_in(ctx.edition)[0].code}")
    fit = ctx.brand_split
    pub = published_value(ctx.figures, ctx.edition, qid, None)
    pub_id = block.get("published")
    if pub_id and ctx.has_published(pub_id):
        pub = ctx.published(pub_id)
    opt = round(fit.optimum * 100)
    lo, hi = (round(v * 100) for v in fit.ci_boot)
    values = dict(b=opt, p=100 - opt, lo=lo, hi=hi, year=ctx.edition,
                  mean_brand=(brand or {}).get("estimate", 0.0) / 100)
    informative = fit.interior and hi - lo <= 30
    if pub is not None:
        values.update(pub=round(pub), pub_rest=100 - round(pub))
        key = ("msg.optimum_uncertain_pub" if not informative else
               "msg.optimum_consistent" if lo <= pub <= hi else "msg.optimum_differs")
    else:
        key = "msg.optimum" if informative else "msg.optimum_uncertain"
    title = kit.say(key, **values)
    bullets = []
    if brand is not None:
        bullets.append(kit.say("bullet.split_mean", brand=values["mean_brand"],
                               perf=1 - values["mean_brand"]))
    if not informative:
        bullets.append(kit.say("bullet.optimum_edge", lo=lo, hi=hi))
    else:
        bullets.append(kit.say("bullet.optimum_reading", lo=lo, hi=hi))
    curve = fit.curve

    def fig() -> Any:
        import matplotlib.pyplot as plt

        f, ax = plt.subplots(figsize=charts.SIZES["full"])
        charts.use_cjk_theme()
        x = curve["brand_share"].to_numpy()
        ax.fill_between(x, curve["boot_low"].to_numpy(), curve["boot_high"].to_numpy(),
                        color=pal.SECONDARY, alpha=0.5, lw=0)
        ax.plot(x, curve["estimate"].to_numpy(), color=pal.PRIMARY, lw=2.4)
        ax.axvspan(fit.ci_boot[0], fit.ci_boot[1], color=pal.MEANING["flat"], alpha=0.15, lw=0)
        ax.axvline(fit.optimum, color=pal.PRIMARY, ls="--", lw=1)
        if pub is not None:
            ax.axvline(pub / 100, color=pal.PUBLISHED, ls=":", lw=1.6)
            ax.annotate(kit.plain(kit.say("chart.published_split", pub=round(pub),
                                          pub_rest=100 - round(pub))),
                        (pub / 100, ax.get_ylim()[1]), xytext=(4, -12),
                        textcoords="offset points", color=pal.PUBLISHED, fontsize=9)
        ax.xaxis.set_major_formatter(lambda v, _p: f"{v:.0%}")
        ax.yaxis.set_major_formatter(lambda v, _p: f"{v:.0%}")
        ax.set_xlabel(kit.plain(kit.say("chart.brand_share")))
        ax.set_ylabel(kit.plain(kit.say("chart.gain_share")))
        ax.grid(axis="y", color=pal.GRID)
        f.tight_layout()
        return f

    def mini() -> Any:
        return charts.mini_curve(curve["brand_share"].to_numpy(), curve["estimate"].to_numpy(),
                                 fit.optimum)

    if not informative and pub is not None:  # lead with the published split
        values["tag"] = "published"
        take = _takeaway(kit, block, chapter, kpi=f"{round(pub)}:{100 - round(pub)}",
                         score=1.0, mini=mini, **values)
    else:
        take = _takeaway(kit, block, chapter, kpi=f"{opt}:{100 - opt}",
                         score=1.0 if informative else -3.0, mini=mini, **values)
    return [Page(title=title, figure=fig, alt=kit.plain(title), bullets=bullets[:3],
                 footer=kit.footer(qid, fit.n, extra=kit.say("page.model_note")),
                 takeaway=take,
                 signals={"optimum": fit.optimum,
                          "optimum_above_mean": informative and brand is not None
                          and lo / 100 > values["mean_brand"]})]


# ------------------------------------------------------------------------------ AI gap
@builder("ai_gap")
def ai_gap(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """Everyday AI use against AI in marketing: two yes-shares side by side."""
    qid = block.question
    other = (block.get("needs") or [None])[0]
    now = kit.share(qid, "yes")
    weekly = kit.share(other, "yes") if other else None
    if now is None or weekly is None:
        return []
    values = dict(weekly=weekly, now=now, year=kit.year, gap=weekly - now,
                  gap_pts=abs(weekly - now) * 100, tag="early" if now < 0.5 else "")
    title = _title(kit, block, "msg.ai_gap", **values)
    bullets = [kit.say("bullet.ai_gap_early" if now < 0.5 else "bullet.ai_gap", **values)]
    ch = kit.change(qid, "yes")
    if ch is not None:
        bullets.append(kit.say("bullet.change", label=kit.short(qid), clause=kit.change_clause(ch)))
    labels = [kit.short(other), kit.short(qid)]

    def fig() -> Any:
        return charts.column_bars(labels, [weekly, now], [pal.SECONDARY, pal.PRIMARY],
                                  lang=kit.lang)

    take = _takeaway(kit, block, chapter, kpi=f"{now:.0%}", score=0.5,
                     mini=lambda: charts.mini_bars([weekly, now], 1), **values)
    also = kit.say("bullet.question2", text=kit.wording(other))
    return [Page(title=title, figure=fig, alt=kit.plain(title), bullets=bullets,
                 footer=kit.footer(qid, kit.base_n(qid), extra=also), takeaway=take,
                 signals={"share": {"yes": now}})]


# ------------------------------------------------------------------------------ scenarios
@builder("scenarios")
def scenarios(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """Budget-growth scenarios: the index of the last scenario year (median, 90% band) by
    scenario, as columns; plain wording of what the scenarios assume."""
    scen = kit.ctx.budget_scenarios
    fan = scen.fan
    last = fan.filter(pl.col("horizon") == pl.col("horizon").max())
    if last.height == 0:
        return []
    labels = dict(zip(scen.means["scenario"], scen.means[f"label_{kit.lang}"], strict=True))
    order = [s for s in ("pessimistic", "base", "optimistic") if s in labels] or list(labels)
    q50 = dict(zip(last["scenario"], last["q50"], strict=True))
    q05 = dict(zip(last["scenario"], last["q05"], strict=True))
    q95 = dict(zip(last["scenario"], last["q95"], strict=True))
    base = "base" if "base" in q50 else order[0]
    year = int(last["year"][0])
    values = dict(year=year, base_year=scen.base_year, base=q50[base], lo=q05[base],
                  hi=q95[base], low=q50[order[0]], high=q50[order[-1]])
    title = kit.say("msg.scenarios", **values)
    bullets = [kit.say("bullet.scenario_range", **values),
               kit.say("bullet.scenario_reading", **values)]
    cal = getattr(scen, "calibration", None)
    if cal is not None and getattr(cal, "n_pairs", 0):
        key = "bullet.scenario_bias_low" if cal.bias < 0 else "bullet.scenario_bias_high"
        bullets.append(kit.say(key, bias=abs(cal.bias), pairs=cal.n_pairs))
    colors = [pal.MEANING["decrease"], pal.PRIMARY, pal.MEANING["increase_strong"]][: len(order)]

    def fig() -> Any:
        return charts.column_bars([labels[s] for s in order], [q50[s] for s in order],
                                  colors, percent=False, decimals=0, lang=kit.lang)

    return [Page(title=title, figure=fig, alt=kit.plain(title), bullets=bullets,
                 footer=kit.footer(block.question, kit.base_n(block.question),
                                   extra=kit.say("page.scenario_note")))]


# ------------------------------------------------------------------------------ trends
@builder("trends")
def trends(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """Published figures across editions (this edition's estimate where it published none):
    one line per ``series`` entry ``[question, code]`` (``[question]`` for a mean)."""
    ctx = kit.ctx
    series: dict[str, dict[int, float]] = {}
    colors: list[str] = []
    percent = True
    for entry in block.get("series") or []:
        qid, code = entry[0], (entry[1] if len(entry) > 1 else None)
        if qid not in ctx.codebook.questions or not ctx.codebook[qid].asked_in(ctx.edition):
            continue
        s = {e: v for e, v in published_series(ctx.figures, qid, code).items() if e <= ctx.edition}
        if ctx.edition not in s:
            now = kit.share(qid, code) if code else (kit.mean(qid) or {}).get("estimate")
            if now is not None:
                s[ctx.edition] = now
        if len(s) >= 2:
            name = (kit.plain(kit.say(entry[2])) if len(entry) > 2 and kit.has(entry[2])
                    else kit.label(qid, code) if code else kit.short(qid))
            series[name] = s
            percent = code is not None
            meaning = pal.meaning_of(code) if code else None
            colors.append(pal.MEANING[meaning] if meaning else pal.SERIES[len(colors)])
    if not series:
        return []
    eds = sorted({e for s in series.values() for e in s})
    name, first = next(iter(series.items()))
    e0, e1 = min(first), max(first)
    key = "msg.trend_up" if first[e1] > first[e0] else "msg.trend_down"
    fmt = dict(first=first[e0], last=first[e1]) if percent else dict(
        first=first[e0] / 100, last=first[e1] / 100)
    title = kit.say(key, label=name, first_edition=e0, last_edition=e1, **fmt)
    bullets = []
    for nm, s in list(series.items())[1:3]:
        a, b = min(s), max(s)
        vals = dict(first=s[a], last=s[b]) if percent else dict(first=s[a] / 100, last=s[b] / 100)
        bullets.append(kit.say("bullet.trend", label=nm, first_edition=a, last_edition=b, **vals))
    bullets.append(kit.say("bullet.trend_source"))
    data = {nm: [s.get(e) for e in eds] for nm, s in series.items()}

    xlabels = [kit.plain(kit.say("common.edition", edition=e)) for e in eds]

    def fig() -> Any:
        return charts.lines(eds, data, percent=percent, unit="%", colors=colors,
                            xlabels=xlabels)

    take = _takeaway(kit, block, chapter, kpi=f"{first[e1]:.0%}" if percent else f"{first[e1]:.0f}%",
                     score=0.0, direction="up" if first[e1] > first[e0] else "down", mini=lambda: charts.lines(eds, {name: data[name]}, percent=percent,
                                                          unit="%", size="mini", colors=colors[:1]),
                     label=name, first_edition=e0, last_edition=e1, **fmt)
    return [Page(title=title, figure=fig, alt=kit.plain(title), bullets=bullets,
                 footer=kit.footer(None, None, extra=kit.say("page.history_source")),
                 takeaway=take)]


@builder("change_table")
def change_table(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """Every comparable option/net/mean against the previous wave, tested per option with a
    stated multiplicity correction (``adjust``: fdr_bh or holm); options new in this edition
    are not compared; the significant ones in a table."""
    from survey.present.tables import gt_table

    ctx = kit.ctx
    prev = ctx.previous
    if prev is None:
        return []
    frame, _skipped = ctx.comparison()
    if frame.height == 0:
        return []
    rows = frame.filter(pl.col("comparable") & pl.col("p_value").is_not_null()
                        & pl.col("estimate_a").is_not_null() & pl.col("estimate_b").is_not_null())
    if rows.height == 0:
        return []
    method = block.get("adjust", "fdr_bh")
    rows = rows.with_columns(pl.Series("p_adj", adjust_pvalues(rows["p_value"].to_list(), method)))
    sig = rows.filter(pl.col("p_adj") < 0.05).sort(pl.col("change").abs(), descending=True)
    synthetic = ctx.is_synthetic or prev.is_synthetic
    method_label = kit.say(f"change.method_{method}")
    values = dict(prev=prev.edition, total=rows.height, k=sig.height, method=method_label)
    title = kit.say("msg.changes" if sig.height else "msg.changes_none", **values)
    bullets = [kit.say("bullet.changes_method", **values)]
    if synthetic:
        bullets.append(kit.say("bullet.changes_synthetic", prev=prev.edition))
    diffs = getattr(ctx.codebook, "differences", None)
    added = []
    if diffs is not None:
        try:
            added = [d for d in diffs(prev.edition, ctx.edition)
                     if d.change == "added" and d.what == "option" and ctx.asks(d.question)]
        except Exception:  # an older codebook: nothing to list
            added = []
    if added:
        names = [kit.say("common.q_option", question=kit.short(d.question),
                         option=kit.label(d.question, d.code)) for d in added[:6]]
        bullets.append(kit.say("bullet.changes_new", options=kit.join(names), k=len(added)))
    shown = sig.head(10)
    if shown.height == 0:
        return [Page(title=title, bullets=bullets, footer=kit.footer(None, None))]
    def cell(v: float | None, kind: str, change: bool = False) -> str:
        if v is None:
            return ""
        if kind == "mean":
            return f"{v:+.1f}".replace("-", "−") if change else f"{v:.1f}"
        return (f"{v:+.0f}".replace("-", "−") if change else f"{v:.0f}%")

    ea, eb = kit.plain(kit.say("common.edition", edition=prev.edition)), \
        kit.plain(kit.say("common.edition", edition=ctx.edition))
    table = pl.DataFrame({
        kit.plain(kit.say("labels.question")): [kit.short(q) for q in shown["question_id"]],
        kit.plain(kit.say("labels.option")): shown["row_label"].to_list(),
        ea: [cell(v, k) for v, k in zip(shown["estimate_a"], shown["row_kind"], strict=True)],
        eb: [cell(v, k) for v, k in zip(shown["estimate_b"], shown["row_kind"], strict=True)],
        kit.plain(kit.say("labels.change_short")): [
            cell(v, k, True) for v, k in zip(shown["change"], shown["row_kind"], strict=True)],
    })

    def make() -> Any:
        return gt_table(table, lang=kit.lang)

    return [Page(title=title, table=make, bullets=bullets,
                 footer=kit.footer(None, None, extra=kit.say("page.changes_note",
                                                             prev=prev.edition, n_prev=prev.n)))]


# ------------------------------------------------------------------------------ method
def _fieldwork_start(configured: Any, figures: pl.DataFrame) -> tuple[int, int] | None:
    """The fieldwork start as (year, month): the method block's ``fieldwork_start: "YYYY-MM"``,
    else a published ``fieldwork_start`` figure (value YYYYMM), else ``None``.

    Example:
        >>> _fieldwork_start("2024-10", pl.DataFrame({"figure_id": [], "value": []}))
        (2024, 10)
    """
    import re

    from survey.errors import RenderError

    if configured:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})", str(configured).strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise RenderError(f"report/spec.yml: method_page fieldwork_start '{configured}' is "
                              "not a month", column="fieldwork_start", expected="YYYY-MM")
        return int(m.group(1)), int(m.group(2))
    pub = figures.filter(pl.col("figure_id") == "fieldwork_start")["value"].to_list()
    if pub and pub[0] is not None and 1 <= int(pub[0]) % 100 <= 12:
        return int(pub[0]) // 100, int(pub[0]) % 100
    return None


@builder("method_page")
def method_page(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """The one method page in plain language: sample and fieldwork, weighting in one sentence,
    margin of error, how to read significance, the synthetic notice, questions not asked."""
    ctx = kit.ctx
    figs = ctx.figures.filter(pl.col("edition") == ctx.edition)
    months = figs.filter(pl.col("figure_id") == "fieldwork_months")["value"].to_list()
    if ctx.asks("industry"):
        body = [kit.say("method.sample", n=ctx.n, industries=ctx.industries(), edition=ctx.edition)]
    else:
        body = [kit.say("method.sample_n", n=ctx.n, edition=ctx.edition)]
    start = _fieldwork_start(block.get("fieldwork_start"), figs)
    year = start[0] if start else ctx.edition - 1  # an edition forecasts the year after fieldwork
    if start and months:
        body.append(kit.say("method.fieldwork_from", year=start[0], month=start[1],
                            months=float(months[0])))
    elif months:
        body.append(kit.say("method.fieldwork", months=float(months[0]), year=year))
    else:
        body.append(kit.say("method.fieldwork_year", year=year))
    kind = getattr(ctx.design, "weighting", None)
    note = ctx.design.weighting_note(kit.lang) if hasattr(ctx.design, "weighting_note") else ""
    if note:
        body.append(Raw(note))
    elif kind == "none":
        body.append(kit.say("method.unweighted"))
    else:
        body.append(kit.say("method.weighted"))
    seg = min((int(v) for v in ctx.wave.frame["brand_type"].value_counts()["count"]), default=0) \
        if "brand_type" in ctx.wave.frame.columns else 0
    body.append(kit.say("method.moe", moe=kit.moe_points(), seg_n=seg or 50,
                        deff=ctx.design.diagnostics.deff_kish,
                        moe_seg=kit.moe_points(seg or 50)))
    body.append(kit.say("method.significance"))
    body.append(kit.say("method.changes"))
    if ctx.is_synthetic:
        body.append(kit.say("method.synthetic", n=ctx.n))
    not_asked = ctx.__dict__.get("_h5_not_asked") or ()
    if not_asked:
        body.append(kit.say("method.not_asked", questions=kit.join(
            [kit.short(q) for q in not_asked if q in ctx.codebook.questions])))
    body.append(kit.say("method.appendix"))
    return [Page(title=kit.say("titles.method_page"), body=list(body), classes=("method",))]


# ------------------------------------------------------------------------------ two findings
@builder("tension")
def tension(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """Two shares that pull apart (e.g. brand building seen as the opportunity vs brand spend
    cut under budget pressure): ``question``/``code`` against ``versus: [question, code]``."""
    qid, code = block.question, block.get("code")
    other_q, other_code = (block.get("versus") or [None, None])[:2]
    a = kit.share(qid, code) if code else None
    b = kit.share(other_q, other_code) if other_q and other_code else None
    if a is None or b is None:
        return []
    ch = kit.change(other_q, other_code)
    values = dict(a=a, b=b, a_label=kit.label(qid, code), b_label=kit.label(other_q, other_code),
                  a_question=kit.short(qid), b_question=kit.short(other_q), year=kit.year,
                  change=Raw(("，" if kit.lang == "zh" else ", ") + kit.change_clause(ch))
                  if ch is not None else Raw(""), direction=_direction(ch, None))
    split = a >= 0.4 and b >= 0.4  # both sides held by a large share: the two pull apart
    values["tag"] = ("split_up" if values["direction"] == "up" else "split") if split else ""
    title = _title(kit, block, "msg.tension", **values)
    bullets = [kit.say("bullet.tension_a", **values), kit.say("bullet.tension_b", **values)]
    labels = [kit.plain(kit.say("chart.tension_bar", question=values["a_question"],
                                label=values["a_label"])),
              kit.plain(kit.say("chart.tension_bar", question=values["b_question"],
                                label=values["b_label"]))]

    def fig() -> Any:
        return charts.column_bars(labels, [a, b], [pal.PRIMARY, pal.MEANING["decrease"]],
                                  lang=kit.lang)

    take = _takeaway(kit, block, chapter, kpi=f"{b:.0%}", score=1.0,
                     mini=lambda: charts.mini_bars([a, b], 1), **values)
    also = kit.say("bullet.question2", text=kit.wording(other_q))
    return [Page(title=title, figure=fig, alt=kit.plain(title), bullets=bullets,
                 footer=kit.footer(qid, kit.base_n(qid), extra=also), takeaway=take)]
