"""A chapter of the publication from the specification: :func:`render_chapter`.

``render_chapter("outlook", edition, lang)`` resolves ``report/spec.yml`` for the edition, builds
the chapter's blocks into deck pages, adds the chapter's "对广告主的启示" (implications chosen by
the results from the catalog) and emits the markdown, figures and tables in order through
:mod:`survey.render.emit`. A chapter with nothing to show emits nothing. The executive summary
(``takeaways`` block) picks ten trends from the findings of every other chapter.

Example:
    >>> md = chapter_markdown("outlook", 2025, "zh")
    >>> md.splitlines()[0]
    '# 营销投资信心与预算 {#chap-outlook}'
    >>> "{.page-footer}" in md and ".implications}" in md
    True
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from survey.present.text import Raw, sentence_start
from survey.reporting import blocks_extra  # noqa: F401  (registers the bespoke builders)
from survey.reporting.blocks import build
from survey.reporting.context import ReportContext
from survey.reporting.kit import Kit
from survey.reporting.pages import (
    Page,
    Part,
    emit_parts,
    page_parts,
    parts_markdown,
    takeaway_parts,
)
from survey.reporting.spec import Chapter, ReportSpec, load_spec, resolve

#: at most this many of the ten trends from one chapter
PER_CHAPTER = 3


@lru_cache(maxsize=8)
def _context(edition: int | None, lang: str) -> ReportContext:
    return ReportContext.load(edition, lang)


def context_spec(ctx: ReportContext) -> ReportSpec:
    """The specification resolved for the context's edition (kept on the context)."""
    spec = ctx.__dict__.get("_h5_spec")
    if spec is None:
        spec = resolve(load_spec(), ctx.codebook, ctx.edition)
        # a question the wave lacks although the codebook says asked is "not asked" too
        ctx.__dict__["_h5_spec"] = spec
        ctx.__dict__["_h5_not_asked"] = spec.not_asked
    return spec


def _pages(kit: Kit, chapter: Chapter) -> list[Page]:
    cache = kit.ctx.__dict__.setdefault("_h5_pages", {})
    pairs = kit.ctx.__dict__.setdefault("_h5_pairs", {})
    if chapter.id not in cache:
        pages: list[Page] = []
        pairs[chapter.id] = []
        for i, block in enumerate(chapter.blocks):
            if block.kind == "takeaways":
                continue
            if any(not kit.ctx.asks(q) for q in block.questions):
                continue  # the codebook says asked, the wave has no columns: nothing to show
            for p in build(kit, block, chapter.id):
                if p.takeaway is not None:
                    p.takeaway.order = i
                pages.append(p)
                pairs[chapter.id].append((block, p))
        cache[chapter.id] = pages
    return cache[chapter.id]


# ------------------------------------------------------------------------------ implications
def _holds(kit: Kit, when: dict[str, Any], signals: dict[str, dict[str, Any]]) -> bool:
    """Whether an implication's condition holds (conditions on questions not asked are false)."""
    if when.get("always"):
        return True
    qid = when.get("question")
    if qid is None or not kit.ctx.asks(qid):
        return False
    code = when.get("code")
    sig = signals.get(qid, {})
    share = kit.share(qid, code) if code else None
    checks = []
    if "above" in when:
        checks.append(share is not None and share > float(when["above"]))
    if "below" in when:
        checks.append(share is not None and share < float(when["below"]))
    if "above_code" in when:
        other = kit.share(qid, when["above_code"])
        checks.append(share is not None and other is not None and share > other)
    if "share_above_code" in when:
        other = kit.share(qid, when["share_above_code"])
        checks.append(share is not None and other is not None and share > other)
    if "rank_at_most" in when:
        rank = (sig.get("rank") or {}).get(code)
        checks.append(rank is not None and rank <= int(when["rank_at_most"]))
    if "rank_up" in when:
        moved = (sig.get("moved") or {}).get(code)
        checks.append(moved is not None and moved[2] < moved[1])
    if "record" in when:
        checks.append(sig.get("record") == when["record"])
    if "item_top" in when:
        checks.append(sig.get("item_top") == when["item_top"])
    if "contrasts" in when:
        checks.append((sig.get("significant") or 0) > 0)
    if "optimum_above_mean" in when:
        checks.append(bool(sig.get("optimum_above_mean")))
    return bool(checks) and all(checks)


def _implications(kit: Kit, chapter: Chapter, pages: list[Page]) -> Page | None:
    if not chapter.implications or not pages:
        return None
    signals: dict[str, dict[str, Any]] = {}
    for block, page in _block_pages(kit, chapter):
        if block.question:
            signals.setdefault(block.question, {}).update(page.signals)
    bullets = []
    for rule in chapter.implications:
        key = rule.get("say")
        if key and kit.has(key) and _holds(kit, dict(rule.get("when") or {}), signals):
            text = kit.say(key, year=kit.year)
            if kit.lang == "en":  # the card's body after "head:" is a sentence of its own
                head, sep, body = text.partition(": ")
                text = Raw(head + sep + sentence_start(body)) if sep else text
            bullets.append(text)
        if len(bullets) == 3:
            break
    if not bullets:
        return None
    return Page(title=kit.say("titles.implications"), bullets=bullets, classes=("implications",))


def _block_pages(kit: Kit, chapter: Chapter) -> list[tuple[Any, Page]]:
    _pages(kit, chapter)
    return kit.ctx.__dict__["_h5_pairs"][chapter.id]


# ------------------------------------------------------------------------------ ten trends
def select_takeaways(kit: Kit, spec: ReportSpec, count: int = 10) -> list[Any]:
    """The ``count`` highest-scoring findings of all chapters (at most :data:`PER_CHAPTER` per
    chapter), in chapter order."""
    pool = []
    order = {c.id: i for i, c in enumerate(spec.chapters)}
    for ch in spec.chapters:
        if any(b.kind == "takeaways" for b in ch.blocks):
            continue
        for p in _pages(kit, ch):
            if p.takeaway is not None:
                pool.append(p.takeaway)
    chosen, per = [], {}
    for t in sorted(pool, key=lambda t: (-t.score, order.get(t.chapter, 99), t.order)):
        if per.get(t.chapter, 0) >= PER_CHAPTER:
            continue
        chosen.append(t)
        per[t.chapter] = per.get(t.chapter, 0) + 1
        if len(chosen) == count:
            break
    return sorted(chosen, key=lambda t: (order.get(t.chapter, 99), t.order))


def _takeaway_parts(kit: Kit, spec: ReportSpec, chapter: Chapter) -> list[Part]:
    block = next(b for b in chapter.blocks if b.kind == "takeaways")
    items = select_takeaways(kit, spec, int(block.get("count", 10)))
    if not items:
        return []
    half = (len(items) + 1) // 2
    parts: list[Part] = []
    for key, chunk in (("titles.takeaways_first", items[:half]),
                       ("titles.takeaways_second", items[half:])):
        if chunk:
            parts += takeaway_parts(kit.say(key, year=kit.year, k=len(items)), chunk)
            parts.append(("md", f"::: {{.page-footer}}\n{kit.footer(None, None)}\n:::", "", ""))
    return parts


# ------------------------------------------------------------------------------ chapters
def build_chapter(chapter_id: str, edition: int | None = None, lang: str = "zh", *,
                  ctx: ReportContext | None = None) -> list[Part]:
    """The ordered outputs of chapter ``chapter_id`` (empty when the edition has nothing)."""
    ctx = ctx if ctx is not None else _context(None if edition is None else int(edition), lang)
    spec = context_spec(ctx)
    chapter = spec.chapter(chapter_id)
    if chapter is None:
        return []
    kit = Kit(ctx)
    if any(b.kind == "takeaways" for b in chapter.blocks):
        body = _takeaway_parts(kit, spec, chapter)
    else:
        pages = _pages(kit, chapter)
        imp = _implications(kit, chapter, pages)
        body = [part for p in pages + ([imp] if imp else []) for part in page_parts(p)]
    if not body:
        return []
    classes = f"#chap-{chapter.id}" + (" .unnumbered" if chapter.id in ("takeaways",) else "")
    head: list[Part] = [("md", f"# {kit.say(chapter.title)} {{{classes}}}", "", "")]
    if chapter.lead and kit.has(chapter.lead):
        lead = kit.say(chapter.lead, year=kit.year, n=ctx.n)
        head.append(("md", f"::: {{.chapter-lead}}\n{lead}\n:::", "", ""))
    return head + body


def chapter_markdown(chapter_id: str, edition: int | None = None, lang: str = "zh", *,
                     ctx: ReportContext | None = None) -> str:
    """The chapter's markdown without drawing (figures as ``[figure: alt]``)."""
    return parts_markdown(build_chapter(chapter_id, edition, lang, ctx=ctx))


def render_chapter(chapter_id: str, edition: int | None = None, lang: str = "zh", *,
                   ctx: ReportContext | None = None) -> None:
    """Emit chapter ``chapter_id`` of ``edition`` in ``lang`` (see module docstring)."""
    emit_parts(build_chapter(chapter_id, edition, lang, ctx=ctx))


__all__ = ["Raw", "build_chapter", "chapter_markdown", "render_chapter", "select_takeaways"]
