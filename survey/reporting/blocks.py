"""Block kind -> builder: each turns one resolved block into deck pages.

Every builder takes a :class:`~survey.reporting.kit.Kit` and a :class:`~survey.reporting.spec.Block`
and returns a list of :class:`~survey.reporting.pages.Page` (possibly empty). Builders degrade
gracefully: missing inputs give a sentence or nothing, never an exception (see :func:`build`).
Message titles, bullets and footers come from the catalog (``report/strings.yml``) filled from
the data; per-question titles are named in the specification (``title:``) and fall back to the
kind's generic title.

Question builders live here; model, trend and method builders in
:mod:`survey.reporting.blocks_extra`.

Example:
    >>> from survey.reporting import ReportContext
    >>> from survey.reporting.kit import Kit
    >>> from survey.reporting.spec import Block
    >>> kit = Kit(ReportContext.load(2025, with_previous=False))
    >>> pages = build(kit, Block("ranked_bars", "challenges"), "challenges")
    >>> "营销效果难测量与验证" in pages[0].title
    True
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from survey.codebook import RESIDUAL_CODES
from survey.present import charts
from survey.present import palette as pal
from survey.present.text import Raw
from survey.reporting.history import published_series, record
from survey.reporting.kit import Kit
from survey.reporting.pages import Page, Takeaway
from survey.reporting.spec import Block

log = logging.getLogger(__name__)
Builder = Callable[[Kit, Block, str], list[Page]]
BUILDERS: dict[str, Builder] = {}


def builder(kind: str) -> Callable[[Builder], Builder]:
    """Register a builder for ``kind``."""
    def wrap(fn: Builder) -> Builder:
        BUILDERS[kind] = fn
        return fn
    return wrap


def build(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """The pages of ``block`` (an unknown kind or a failing builder gives a one-line page)."""
    fn = BUILDERS.get(block.kind)
    if fn is None:
        return [Page(title=kit.say("page.unknown_kind", kind=block.kind))]
    try:
        return fn(kit, block, chapter)
    except Exception as e:  # a block must not take the chapter down
        log.warning("block %s/%s failed: %s", block.kind, block.question, e)
        if block.question is None:
            return []
        return [Page(title=kit.say("page.not_estimable", question=kit.short(block.question)),
                     footer=kit.footer(block.question))]


def _variant(kit: Kit, key: str, values: dict[str, Any]) -> str:
    """``key_<meaning>`` or ``key_<direction>`` when the catalog has it, else ``key``."""
    for tag in ("tag", "meaning", "direction"):
        v = values.get(tag)
        while v:
            if kit.has(f"{key}_{v}"):
                return f"{key}_{v}"
            v = v.rpartition("_")[0]  # "split_up" falls back to "split"
    return key


def _title(kit: Kit, block: Block, generic: str, **values: Any) -> Raw:
    key = block.get("title")
    key = key if key and (kit.has(key) or any(kit.has(f"{key}_{values.get(t)}")
                                              for t in ("tag", "meaning", "direction"))) else generic
    return kit.say(_variant(kit, key, values), **values)


def _direction(ch: Any, rec_kind: str | None) -> str:
    if rec_kind == "lowest":
        return "down"
    if rec_kind == "highest":
        return "up"
    if ch is not None and ch.change != 0 and (ch.kind == "published" or ch.significant):
        return "up" if ch.change > 0 else "down"
    return "level"


def _takeaway(kit: Kit, block: Block, chapter: str, kpi: str, score: float,
              mini: Callable[[], Any] | None, **values: Any) -> Takeaway | None:
    key = block.get("takeaway") or f"takeaway.{block.kind}"
    key = _variant(kit, key, values)
    if not kit.has(key):
        return None
    title = kit.say(key, **values)
    base_key = block.get("takeaway") or f"takeaway.{block.kind}"
    note_key = next((k for k in (key + "_note", base_key + "_note") if kit.has(k)), None)
    note = kit.say(note_key, **values) if note_key else Raw("")
    return Takeaway(kpi=kpi, title=title, note=note,
                    score=float(block.get("weight", 1)) + score, chapter=chapter,
                    mini=mini, alt=kit.plain(title))


def _record_clause(kit: Kit, qid: str, code: str | None, current: float | None) -> tuple[Raw, str | None]:
    series = published_series(kit.ctx.figures, qid, code)
    rec = record(series, kit.ctx.edition, current=series.get(kit.ctx.edition, current))
    if rec is None:
        return Raw(""), None
    return kit.say(f"record.{rec[0]}", n=rec[1]), rec[0]


# ------------------------------------------------------------------------------ single choice
@builder("distribution")
def distribution(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """A single-choice question: its options as columns coloured by meaning, a headline
    option or net in the title (``headline``, default the largest net or option)."""
    qid = block.question
    q = kit.q(qid)
    opts = kit.shares(qid)
    allv = kit.shares(qid, nets=True)
    if not any(v is not None for _c, _l, v, _n in opts):
        return [Page(title=kit.say("page.no_answers", question=kit.short(qid)),
                     footer=kit.footer(qid))]
    head = block.get("headline")
    if head is None and kit.share(qid, "yes") is not None:
        head = "yes"  # a yes/no question is about the yes
    if head is None or kit.share(qid, head) is None:
        nets = [s for s in allv if s[0] in {n.code for n in q.nets} and s[2] is not None]
        pool = nets or [s for s in opts if s[2] is not None and s[0] not in RESIDUAL_CODES]
        head = max(pool, key=lambda s: s[2])[0]
    share = kit.share(qid, head) or 0.0
    label = kit.label(qid, head)
    rec, rec_kind = _record_clause(kit, qid, head, share)
    ch = kit.change(qid, head)
    values = dict(share=share, label=label, question=kit.short(qid), year=kit.year,
                  record=rec, change=kit.change_clause(ch), meaning=pal.meaning_of(head) or "",
                  direction=_direction(ch, rec_kind))
    title = _title(kit, block, "msg.distribution", **values)
    bullets = []
    if head in {n.code for n in q.nets}:
        members = [s for s in opts if s[0] in q.net_members(head, kit.ctx.edition)]
        bullets.append(kit.say("bullet.members", label=label, share=share, members=kit.join(
            [kit.say("common.label_share", label=m[1], share=m[2] or 0) for m in members])))
    against = block.get("against")
    if against == "other_net":
        others = [n.code for n in q.nets_in(kit.ctx.edition) if n.code != head]
        against = others[0] if others else None
    if against and kit.share(qid, against) is not None:
        key = _variant(kit, "bullet.against", {"meaning": pal.meaning_of(against) or ""})
        bullets.append(kit.say(key, label=kit.label(qid, against),
                               share=kit.share(qid, against)))
    if ch is not None:
        key = _variant(kit, "bullet.change", {"meaning": values["meaning"]})
        bullets.append(kit.say(key, label=label, clause=kit.change_clause(ch)))
    cb = kit.contrast_bullet(qid, head, label)
    if cb:
        bullets.append(cb)
    shown = [s for s in opts if s[2] is not None]
    scores = [getattr(q.option(c), "score", None) for c, *_ in shown]
    colors = pal.scale_colors([c for c, *_ in shown], scores) if q.ordered else \
        [pal.PRIMARY if c == head else pal.SECONDARY for c, *_ in shown]

    def fig() -> Any:
        return charts.column_bars([s[1] for s in shown], [s[2] for s in shown], colors,
                                  lang=kit.lang)

    hist = {e: v for e, v in published_series(kit.ctx.figures, qid, head).items()
            if e < kit.ctx.edition}
    hist[kit.ctx.edition] = share
    eds = sorted(hist)

    def mini() -> Any:
        if len(eds) >= 2:
            tone = pal.color_for(head) if pal.meaning_of(head) else pal.PRIMARY
            return charts.lines(eds, {"": [hist[e] for e in eds]}, size="mini", colors=[tone])
        return charts.column_bars([s[1] for s in shown], [s[2] for s in shown], colors,
                                  size="mini", lang=kit.lang)

    bonus = (2.0 if rec_kind else 0.0) + (1.0 if ch is not None else 0.0)
    take = _takeaway(kit, block, chapter, kpi=f"{share:.0%}", score=bonus, mini=mini, **values)
    return [Page(title=title, figure=fig, alt=kit.plain(title), bullets=bullets[:3],
                 footer=kit.footer(qid, kit.base_n(qid)), takeaway=take,
                 signals={"share": {c: v for c, _l, v, _n in allv}, "record": rec_kind})]


# ------------------------------------------------------------------------------ multi choice
@builder("ranked_bars")
def ranked_bars(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """A multi-select question: sorted bars (``order: published`` keeps the first
    ``published_top`` options in the published order), the ``top`` options named in the title."""
    qid = block.question
    order = block.get("order", "share")
    ranked = kit.ranked(qid, order=order, published_top=int(block.get("published_top", 4)))
    if not ranked:
        return [Page(title=kit.say("page.no_answers", question=kit.short(qid)),
                     footer=kit.footer(qid))]
    named = [s for s in ranked if s[0] not in RESIDUAL_CODES] or ranked
    top = max(1, min(int(block.get("top", 3)), len(named), 3))
    firsts = named[:top]
    values: dict[str, Any] = dict(question=kit.short(qid), year=kit.year, k=len(ranked))
    for i, (_c, lab, v, _n) in enumerate(named[:3], start=1):
        values[f"top{i}"], values[f"s{i}"] = lab, v or 0.0
    for i in range(len(named[:3]) + 1, 4):
        values[f"top{i}"], values[f"s{i}"] = "", 0.0
    if len(ranked) > 1:
        values["pair"] = kit.pair(ranked[0][2] or 0.0, ranked[1][2] or 0.0)
    values["names"] = kit.join([kit.say("common.label_share", label=s[1], share=s[2] or 0)
                                for s in firsts])
    highlight = block.get("highlight")
    if highlight and kit.share(qid, highlight) is not None:
        rank = next(i for i, s in enumerate(ranked, 1) if s[0] == highlight)
        values.update(hl=kit.label(qid, highlight), hl_share=kit.share(qid, highlight),
                      hl_rank=rank, tag="first" if rank == 1 else "")
    generic = f"msg.ranked_{top}"
    title = _title(kit, block, generic, **values)
    bullets: list[Raw] = []
    # rank movements against published ranks of earlier editions
    ranks = kit.published_ranks(qid)
    now_rank = {s[0]: i for i, s in enumerate(ranked, 1)}
    moved = {}
    for code, by_ed in ranks.items():
        earlier = {e: r for e, r in by_ed.items() if e < kit.ctx.edition}
        if not earlier or code not in now_rank:
            continue
        e0 = min(earlier)
        r_now = by_ed.get(kit.ctx.edition, now_rank[code])
        if r_now != earlier[e0]:
            moved[code] = (e0, earlier[e0], r_now)
            key = "bullet.rank_up" if r_now < earlier[e0] else "bullet.rank_down"
            bullets.append(kit.say(key, label=kit.label(qid, code), edition=e0,
                                   before=earlier[e0], now=r_now))
    if highlight and "hl" in values and not block.get("title"):
        bullets.append(kit.say("bullet.highlight", **values))
    ch = kit.change(qid, ranked[0][0])
    if ch is not None:
        bullets.append(kit.say("bullet.change", label=ranked[0][1], clause=kit.change_clause(ch)))
    cb = kit.contrast_bullet(qid, ranked[0][0], ranked[0][1])
    if cb:
        bullets.append(cb)
    if len(bullets) < 2 and len(named) > 1 and (named[0][2] or 0) - (named[1][2] or 0) >= 0.05:
        bullets.append(kit.say("bullet.lead_gap", label=named[0][1], other=named[1][1],
                               gap=((named[0][2] or 0) - (named[1][2] or 0)) * 100))
    if len(bullets) < 2 and len(named) > top and named[top][0] not in moved:
        nxt = named[top]
        bullets.append(kit.say("bullet.next", label=nxt[1], share=nxt[2] or 0, rank=top + 1))
    # options of other editions are not drawn (the change table lists what is not compared);
    # an option this edition asked but no one could answer shows "未询问"/"not asked"
    asked = [s for s in kit.shares(qid) if s[2] is None]
    labels = [s[1] for s in ranked] + [s[1] for s in asked]
    vals = [s[2] for s in ranked] + [None] * len(asked)
    hl = [kit.label(qid, highlight)] if highlight and "hl" in values else []

    def fig() -> Any:
        return charts.ranked_bars(labels, vals, top=top, highlight=hl, lang=kit.lang,
                                  max_bars=20)

    n = kit.base_n(qid)
    kpi_v = values.get("hl_share", ranked[0][2] or 0)
    bonus = 1.5 if moved else 0.0
    take = _takeaway(kit, block, chapter, kpi=f"{kpi_v:.0%}", score=bonus,
                     mini=lambda: charts.mini_bars([s[2] or 0 for s in ranked[:5]], 0), **values)
    return [Page(title=title, figure=fig, alt=kit.plain(title), bullets=bullets[:3],
                 footer=kit.footer(qid, n), takeaway=take,
                 signals={"share": {s[0]: s[2] for s in ranked}, "rank": now_rank,
                          "moved": moved})]


# ------------------------------------------------------------------------------ grids
@builder("stacked_scale")
def stacked_scale(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """A grid: one 100% bar per item, items by the share answering ``headline`` (default the
    scale's first option), colours by meaning."""
    qid = block.question
    q = kit.q(qid)
    items = list(q.items_in(kit.ctx.edition))
    scale = list(q.options_in(kit.ctx.edition))
    if not items or not scale:
        return []
    head = block.get("headline") or scale[0].code
    rows = []
    for it in items:
        sh = {c: v for c, _l, v, _n in kit.shares(qid, item=it.code, nets=True)}
        rows.append((it.code, it.label(kit.lang, kit.ctx.edition), sh))
    rows.sort(key=lambda r: -(r[2].get(head) or -1))
    if not any(r[2].get(head) is not None for r in rows):
        return [Page(title=kit.say("page.no_answers", question=kit.short(qid)),
                     footer=kit.footer(qid))]
    (c1, l1, s1), (_c2, l2, s2) = rows[0], rows[1] if len(rows) > 1 else rows[0]
    hv1, hv2 = s1.get(head) or 0.0, s2.get(head) or 0.0
    values = dict(question=kit.short(qid), year=kit.year, label=kit.label(qid, head),
                  top1=l1, s1=hv1, top2=l2, s2=hv2, pair=kit.pair(hv1, hv2))
    title = _title(kit, block, "msg.grid", **values)
    bullets = []
    mid = [r for r in rows[2:5] if r[2].get(head) is not None]
    if mid:
        bullets.append(kit.say("bullet.grid_mid", label=values["label"], items=kit.join(
            [kit.say("common.label_share", label=r[1], share=r[2][head]) for r in mid])))
    neg = [n.code for n in q.nets_in(kit.ctx.edition) if all(
        pal.meaning_of(m) in ("decrease", "not_invest") for m in n.of)]
    if neg:
        worst = [r for r in rows if (r[2].get(neg[0]) or 0) > 0.5]
        if worst:
            bullets.append(kit.say("bullet.grid_negative", label=kit.label(qid, neg[0]),
                                   items=kit.join([r[1] for r in worst])))
    ch = kit.change(qid, f"{c1}:{head}")
    if ch is not None:
        bullets.append(kit.say("bullet.change", label=l1, clause=kit.change_clause(ch)))
    codes = [o.code for o in scale]
    scores = [getattr(o, "score", None) for o in scale]
    colors = pal.scale_colors(codes, scores)

    def fig() -> Any:
        return charts.stacked_bars([r[1] for r in rows], [o.label(kit.lang) for o in scale],
                                   colors, [[r[2].get(c) for c in codes] for r in rows],
                                   lang=kit.lang)

    take = _takeaway(kit, block, chapter, kpi=f"{hv1:.0%}", score=0.0,
                     mini=lambda: charts.mini_bars([r[2].get(head) or 0 for r in rows[:5]], 0),
                     **values)
    return [Page(title=title, figure=fig, alt=kit.plain(title), bullets=bullets[:3],
                 footer=kit.footer(qid, kit.base_n(qid)), takeaway=take,
                 signals={"item_top": c1, "share": {r[0]: r[2].get(head) for r in rows}})]


# ------------------------------------------------------------------------------ numbers
def _wave_means(kit: Kit, qid: str, skip: set[int]) -> dict[int, float]:
    """Weighted means of ``qid`` in the editions with a wave that asked it, except ``skip``."""
    out: dict[int, float] = {}
    for ed, design in kit.ctx.designs().items():
        frame = design.frame
        if ed in skip or qid not in frame.columns or frame[qid].null_count() == frame.height:
            continue
        out[ed] = float(design.mean(qid).row(0, named=True)["estimate"])
    return out


@builder("mean_with_history")
def mean_with_history(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """A numeric question: this edition's mean beside the published means of earlier editions
    (columns), "lowest/highest in N editions" from the published history."""
    qid = block.question
    m = kit.mean(qid)
    if m is None:
        return [Page(title=kit.say("page.no_answers", question=kit.short(qid)),
                     footer=kit.footer(qid))]
    series = published_series(kit.ctx.figures, qid, None)
    now = series.get(kit.ctx.edition, m["estimate"])
    rec, rec_kind = _record_clause(kit, qid, None, m["estimate"])
    ch = kit.change(qid, None)
    values = dict(mean=m["estimate"], question=kit.short(qid), year=kit.year, record=rec,
                  meaning="",
                  change=kit.change_clause(ch, mean=True),
                  moe=(m["ci_high"] - m["ci_low"]) / 2, direction=_direction(ch, rec_kind))
    title = _title(kit, block, "msg.mean", **values)
    bullets = [kit.say("bullet.mean_moe", mean=m["estimate"], moe=values["moe"])]
    if ch is not None:
        bullets.append(kit.say("bullet.change_mean", clause=values["change"]))
    comp = block.get("companion")
    if comp and kit.ctx.asks(comp) and kit.mean(comp) is not None:
        bullets.append(kit.say("bullet.companion", question=kit.short(comp),
                               mean=kit.mean(comp)["estimate"]))
    cb = kit.contrast_bullet(qid, None, kit.short(qid))
    if cb:
        bullets.append(cb)
    hist = {e: v for e, v in series.items() if e < kit.ctx.edition}
    hist[kit.ctx.edition] = now
    hist.update(_wave_means(kit, qid, set(hist)))  # editions with a wave but no published value
    eds = sorted(hist)
    colors = [pal.PRIMARY if e == kit.ctx.edition else
              (pal.SECONDARY if e in series else pal.GRID) for e in eds]
    mark = {True: "common.edition_published", False: "common.edition_estimate"}
    labels = [kit.plain(kit.say(mark[e in series], edition=e)) for e in eds]

    def fig() -> Any:
        return charts.column_bars(labels, [hist[e] for e in eds], colors, percent=False,
                                  unit="%", lang=kit.lang)

    take = _takeaway(kit, block, chapter, kpi=f"{m['estimate']:.0f}%",
                     score=2.0 if rec_kind else 0.0,
                     mini=lambda: charts.lines(eds, {"": [hist[e] for e in eds]}, percent=False,
                                               unit="%", size="mini"), **values)
    extra = kit.say("page.history_source") if len(eds) > 1 else ""
    shown = record(hist, kit.ctx.edition)  # the extreme among all editions shown
    if rec_kind is None and shown is not None:
        bullets.insert(min(2, len(bullets)), kit.say(
            f"bullet.record_shown_{shown[0]}", n=shown[1],
            estimates=sum(e not in series for e in eds)))
    if any(e not in series for e in eds):
        extra = Raw(extra + kit.say("page.history_estimates"))
    return [Page(title=title, figure=fig, alt=kit.plain(title), bullets=bullets[:3],
                 footer=kit.footer(qid, int(m.get("n") or 0), extra=extra), takeaway=take,
                 signals={"mean": m["estimate"], "record": rec_kind})]


@builder("split_means")
def split_means(kit: Kit, block: Block, chapter: str) -> list[Page]:
    """A constant-sum question: the mean share of each part (columns)."""
    qid = block.question
    q = kit.q(qid)
    parts = []
    for it in q.items_in(kit.ctx.edition):
        m = kit.mean(f"{qid}__{it.code}")
        if m is not None:
            parts.append((it.label(kit.lang, kit.ctx.edition), m["estimate"] / (q.total or 100)))
    if not parts:
        return []
    parts.sort(key=lambda p: -p[1])
    title = _title(kit, block, "msg.split", question=kit.short(qid), top1=parts[0][0],
                   s1=parts[0][1], year=kit.year)

    def fig() -> Any:
        return charts.column_bars([p[0] for p in parts], [p[1] for p in parts],
                                  [pal.PRIMARY] + [pal.SECONDARY] * (len(parts) - 1),
                                  lang=kit.lang)

    return [Page(title=title, figure=fig, alt=kit.plain(title), footer=kit.footer(qid))]
