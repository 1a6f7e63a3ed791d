"""What every block builder needs: texts, labels, footers, estimates that may be missing.

:class:`Kit` wraps a :class:`~survey.reporting.context.ReportContext` for the builders: catalog
sentences (``say``, values escaped), the page footer (question wording, base, source, synthetic
tag), option shares in codebook order with "not asked" as ``None``, ranked options, published
ranks, the change clause against the previous edition and the segment-contrast bullet.

Example:
    >>> from survey.reporting import ReportContext
    >>> kit = Kit(ReportContext.load(2025, with_previous=False))
    >>> kit.shares("confidence")[0][:2]
    ('big_decrease', '大幅减少')
    >>> "n = 228" in kit.footer("confidence")
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import polars as pl

from survey.codebook import RESIDUAL_CODES
from survey.present.text import Raw, fullwidth_punct

if TYPE_CHECKING:
    from survey.reporting.context import ReportContext
    from survey.reporting.history import Change

Share = tuple[str, str, float | None, int]  # code, label, estimate (None: not asked), n


@dataclass
class Kit:
    """Helpers over a context for the block builders (see module docstring)."""

    ctx: ReportContext

    @property
    def lang(self) -> str:
        """The report's language."""
        return self.ctx.lang

    @property
    def year(self) -> int:
        """The year the edition forecasts (its name)."""
        return self.ctx.edition

    def say(self, key: str, /, **values: Any) -> Raw:
        """A catalog sentence in the report's language (str values escaped)."""
        return Raw(self.ctx.say(key, **values))

    def has(self, key: str) -> bool:
        """Whether the catalog has ``key``."""
        return key in self.ctx.texts

    def join(self, items: list[str]) -> Raw:
        """Items joined by the language's list separator; plain ``str`` items are escaped,
        :class:`Raw` ones (catalog sentences) kept."""
        from survey.present.text import mid_sentence
        from survey.render.emit import escape_md

        def one(i: str) -> str:
            if self.lang == "en":
                i = type(i)(mid_sentence(i))
            return i if isinstance(i, Raw) else escape_md(i)

        return Raw(self.ctx.say("common.list_sep").join(one(i) for i in items))

    def plain(self, text: str) -> str:
        """A catalog sentence turned back into plain text (chart labels, alt texts)."""
        import re

        return re.sub(r"\\(.)", r"\1", str(text))

    # -- labels and wording -------------------------------------------------------------------
    def q(self, qid: str) -> Any:
        """The codebook question ``qid``."""
        return self.ctx.codebook[qid]

    def short(self, qid: str) -> str:
        """The question's short label as asked in this edition."""
        return self.q(qid).short_label(self.lang, self.ctx.edition)

    def label(self, qid: str, code: str) -> str:
        """The label of an option, net or item as asked in this edition."""
        return self.q(qid).label(code, self.lang, self.ctx.edition)

    def wording(self, qid: str) -> str:
        """The question wording as asked in this edition."""
        text = self.q(qid).text(self.lang, self.ctx.edition)
        if self.lang == "zh":  # full-width punctuation next to Chinese, at display time
            text = fullwidth_punct(text)
        return text

    # -- footers ----------------------------------------------------------------------------------
    @cached_property
    def synthetic_tag(self) -> Raw:
        """The synthetic-data tag (empty for real microdata)."""
        return Raw(self.say("page.synthetic_tag") if self.ctx.is_synthetic else "")

    def source(self) -> Raw:
        """"来源：2025年中国数字营销趋势报告·广告主调研"."""
        return self.say("page.source", edition=self.ctx.edition,
                        title=self.ctx.codebook.title(self.lang))

    def base(self, n: int | None) -> Raw:
        """"基数：全体广告主，n = 228" or the answering base."""
        if n is None or n >= self.ctx.n:
            return self.say("page.base_all", n=self.ctx.n)
        return self.say("page.base_answered", n=n)

    def footer(self, qid: str | None, n: int | None = None, *, extra: str = "") -> Raw:
        """The page footer: question wording, base (n), source and the synthetic tag."""
        parts = []
        if qid is not None:
            parts.append(self.say("page.question", text=self.wording(qid)))
        parts.append(self.base(n))
        if extra:
            parts.append(extra)
        parts.append(self.source())
        if self.synthetic_tag:
            parts.append(self.synthetic_tag)
        return Raw("｜".join(parts) if self.lang == "zh" else " | ".join(parts))

    # -- estimates ------------------------------------------------------------------------------
    def shares(self, qid: str, *, nets: bool = False, item: str | None = None) -> list[Share]:
        """Options (and nets) of ``qid`` in codebook order: code, label, share or None, base n.

        Options the edition did not ask are left out; an asked option without an estimate
        (no one answered) has ``None``.
        """
        q = self.q(qid)
        top = self.ctx.topline(qid)
        if item is not None:
            top = top.filter(pl.col("item") == item).with_columns(
                pl.col("row_code").str.split(":").list.last().alias("row_code"))
        est = {r["row_code"]: (r["estimate"], r["n"]) for r in top.iter_rows(named=True)}
        codes = [o.code for o in q.options_in(self.ctx.edition)]
        if nets:
            codes += [n.code for n in q.nets_in(self.ctx.edition)]
        out = []
        for c in codes:
            value, n = est.get(c, (None, 0))
            out.append((c, self.label(qid, c), value, int(n or 0)))
        return out

    def share(self, qid: str, code: str, item: str | None = None) -> float | None:
        """One share (None when not asked or not estimable)."""
        for c, _lab, v, _n in self.shares(qid, nets=True, item=item):
            if c == code:
                return v
        return None

    def base_n(self, qid: str) -> int:
        """The unweighted base of ``qid`` (respondents who answered)."""
        top = self.ctx.topline(qid)
        return int(top["n"].max() or 0) if top.height else 0

    def ranked(self, qid: str, *, order: str = "share", published_top: int = 0) -> list[Share]:
        """Options by share, highest first, residual options last; ``order="published"`` keeps
        the first ``published_top`` options in codebook (published) order."""
        opts = [s for s in self.shares(qid) if s[2] is not None]
        resid = [s for s in opts if s[0] in RESIDUAL_CODES]
        body = [s for s in opts if s[0] not in RESIDUAL_CODES]
        if order == "published" and published_top:
            head = body[:published_top]
            tail = sorted(body[published_top:], key=lambda s: -(s[2] or 0))
            return head + tail + resid
        return sorted(body, key=lambda s: -(s[2] or 0)) + resid

    def mean(self, qid: str) -> dict[str, float] | None:
        """The weighted mean of a numeric question, or None when not estimable."""
        try:
            m = self.ctx.mean(qid)
        except Exception:  # a question without answers: nothing to show
            return None
        return m if m.get("estimate") is not None else None

    def moe_points(self, n: int | None = None) -> float:
        """The 95% margin of error of a 50% share on base ``n``, in points."""
        return 100 * self.ctx.margin_of_error(n)

    # -- published ----------------------------------------------------------------------------
    def published_ranks(self, qid: str) -> dict[str, dict[int, int]]:
        """Published ranks of options by edition: ``{code: {edition: rank}}``."""
        f = self.ctx.figures.filter(
            (pl.col("question_id") == qid) & (pl.col("measure") == "rank")
            & (pl.col("edition") <= self.ctx.edition)
        )
        out: dict[str, dict[int, int]] = {}
        for r in f.sort("edition").iter_rows(named=True):
            code = r["option_code"]
            if code:
                out.setdefault(code, {}).setdefault(int(r["edition"]), int(r["value"]))
        return out

    # -- changes and contrasts ------------------------------------------------------------------
    def change(self, qid: str, code: str | None) -> Change | None:
        """The change against the previous edition (see :func:`survey.reporting.history.change_of`)."""
        from survey.reporting.history import change_of

        try:
            return change_of(self.ctx, qid, code)
        except Exception:  # no comparable previous estimate: no clause
            return None

    def change_clause(self, ch: Change | None, *, mean: bool = False) -> Raw:
        """"较2024年版+11个百分点（已发布数据）" or the design / synthetic wording; "" if none."""
        if ch is None:
            return Raw("")
        diff = ch.change
        if abs(diff) < (0.5 if mean else 0.005):
            flat = self.say("change.flat", edition=ch.edition_a)
            tail = {"published": "change.tail_published", "synthetic": "change.tail_synthetic"}
            return Raw(flat + (self.say(tail[ch.kind]) if ch.kind in tail else ""))
        key = {"published": "change.published", "design": "change.design",
               "synthetic": "change.synthetic"}[ch.kind]
        if ch.kind == "design":
            key += "_sig" if ch.significant else "_nsig"
        amount = self.say("change.mean_points" if mean else "change.points",
                          diff=diff, pp=diff)
        return self.say(key, edition=ch.edition_a, amount=amount)

    def contrasts(self, qid: str, code: str | None) -> pl.DataFrame | None:
        """Segment contrasts of ``qid``/``code`` (cached per context), None when none can run."""
        from survey.reporting.contrasts import contrast_tables, segment_contrasts

        cache = self.ctx.__dict__.setdefault("_h5_contrasts", {})
        key = (qid, code)
        if key not in cache:
            tables = self.ctx.__dict__.get("_h5_contrast_tables")
            if tables is None or qid not in tables[3]:
                # one banner for every question the report shows (computed once)
                spec = self.ctx.__dict__.get("_h5_spec")
                qids = [q for ch in spec.chapters for q in ch.named] if spec else []
                qids = [q for q in dict.fromkeys([*qids, qid]) if self.ctx.asks(q)
                        and self.q(q).type in ("single", "multi", "numeric")]
                try:
                    t = contrast_tables(self.ctx, qids)
                except Exception:  # a question the banner cannot tabulate: this one alone
                    qids = [qid]
                    try:
                        t = contrast_tables(self.ctx, qids)
                    except Exception:
                        cache[key] = None
                        return None
                tables = (*t, set(qids))
                self.ctx.__dict__["_h5_contrast_tables"] = tables
            try:
                cache[key] = segment_contrasts(self.ctx, qid, code, tables=tables[:3])
            except Exception:  # a question the banner cannot tabulate
                cache[key] = None
        return cache[key]

    def contrast_bullet(self, qid: str, code: str | None, label: str) -> Raw | None:
        """"分样本看，美妆个护行业（n = 35）选择…的比例显著更高…" or None when nothing differs."""
        found = self.contrasts(qid, code)
        if found is None or found.height == 0:
            return None
        sig = found.filter(pl.col("significant"))
        if sig.height == 0:
            return None
        def names(frame: pl.DataFrame) -> Raw:
            return self.join([self.say("contrast.level_in", segment=r["segment_label"],
                                       level=r["level_label"], n=r["n"])
                              for r in frame.sort("diff", descending=True).iter_rows(named=True)])
        hi = sig.filter(pl.col("diff") > 0)
        lo = sig.filter(pl.col("diff") < 0)
        if hi.height and lo.height:
            return self.say("contrast.both", higher=names(hi), lower=names(lo), label=label)
        if hi.height:
            return self.say("contrast.higher", higher=names(hi), label=label)
        return self.say("contrast.lower", lower=names(lo), label=label)

    def pair(self, a: float, b: float, fmt: str = "pct") -> Raw:
        """"分别为55%和26%", or "均为8%" when the two print the same."""
        key = "common.both_equal" if self._fmt(a, fmt) == self._fmt(b, fmt) else "common.respectively"
        return self.say(f"{key}_{fmt}", a=a, b=b)

    @staticmethod
    def _fmt(v: float, fmt: str) -> str:
        return f"{v * 100:.0f}" if fmt == "pct" else f"{v:.0f}"
