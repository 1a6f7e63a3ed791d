"""The checks of published figures, one function per rule; :data:`RULES` lists them.

Each rule takes the :class:`Published` tables (figure rows, contrast rows, the codebook) and
returns finding records (``_finding``); :func:`survey.published.check_figures` runs them in the
order of :data:`RULES`. Rules look at the data, never at figure ids.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from survey.codebook import Codebook
from survey.published._load import _LEVEL_MEASURES
from survey.published._tables import (
    Published,
    Rule,
    _asked,
    _code_asked,
    _rankable,
    _resolve_problem,
    _where,
)
from survey.published._text import (
    _CELL_FORM,
    Text,
    _finding,
    _fmt,
    _join,
    _k,
    _msg,
    _seq,
)


def rule_resolve(p: Published) -> list[dict[str, Any]]:
    """Figures that name no question, option, band or segment of the codebook (``unresolved``),
    or a question or option that the figure's edition did not ask (``edition``)."""
    rows, cb = p.rows, p.codebook
    out = []
    for r in rows:
        msg = _resolve_problem(r, cb)
        if msg:
            out.append(_finding(r, "unresolved", msg))
        elif r["question_id"] is not None and not _asked(cb[r["question_id"]], r["edition"]):
            q = cb[r["question_id"]]
            out.append(
                _finding(
                    r,
                    "edition",
                    _msg(
                        "edition",
                        qid=q.id,
                        edition=r["edition"],
                        editions=_seq(q.editions, "number"),
                        history=_seq([h.edition for h in q.history], "number"),
                    ),
                )
            )
        elif r["option_code"] and not _code_asked(
            cb[r["question_id"]], r["option_code"], r["edition"]
        ):
            out.append(
                _finding(
                    r,
                    "edition",
                    _msg(
                        "edition_option",
                        qid=r["question_id"],
                        opt=r["option_code"],
                        edition=r["edition"],
                    ),
                )
            )
    return out


def _stem(figure_id: str) -> str:
    return figure_id.split("__", 1)[0]


def rule_conflict(p: Published) -> list[dict[str, Any]]:
    """Same figure told with different values (same key, or same id stem for question-less ones)."""
    rows = p.rows
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["question_id"] is not None:
            key = (
                r["edition"],
                r["question_id"],
                _k(r["option_code"]),
                r["measure"],
                _k(r["segment"]),
                r["unit"],
                "",
            )
        else:
            key = (
                r["edition"],
                "",
                "",
                r["measure"],
                _k(r["segment"]),
                r["unit"],
                _stem(r["figure_id"]),
            )
        groups[key].append(r)
    out = []
    for members in groups.values():
        if len({m["value"] for m in members}) > 1:
            told = _join(
                [
                    _msg(
                        "conflict.told",
                        figure=m["figure_id"],
                        value=_fmt(m["value"]),
                        where=_where(m),
                    )
                    for m in members
                ],
                "semicolon",
            )
            for m in members[1:]:
                out.append(_finding(m, "conflict", _msg("conflict.message", told=told)))
    return out


def rule_change(p: Published) -> list[dict[str, Any]]:
    """A change must equal the difference of the two editions' levels (±1 for rounding)."""
    rows, levels = p.resolved, p.levels
    out = []
    for r in rows:
        if r["measure"] != "change" or r["question_id"] is None:
            continue
        level_measure = "mean" if r["option_code"] is None else "share"
        key = (r["question_id"], _k(r["option_code"]), level_measure, _k(r["segment"]))
        now = levels.get((r["edition"], *key), set())
        before = levels.get((r["compare_edition"], *key), set())
        if not now or not before:
            continue
        diffs = sorted({a - b for a in now for b in before})
        if all(abs(r["value"] - d) > 1.0 for d in diffs):
            out.append(
                _finding(
                    r,
                    "change",
                    _msg(
                        "change",
                        value=_fmt(r["value"]),
                        compare=r["compare_edition"],
                        edition=r["edition"],
                        now=_seq(sorted(now), "number"),
                        before=_seq(sorted(before), "number"),
                        diffs=_seq([_fmt(d) for d in diffs], "value"),
                        where=_where(r),
                    ),
                )
            )
    return out


def rule_net_split(p: Published) -> list[dict[str, Any]]:
    """Shares of a net's members must add up to the net (single questions and grid cells).

    Rounding allowance: ±0.5 per published number involved. Each differing value of the net is
    checked (and reported on its own figure); members told with several values are skipped.
    """
    rows, cb = p.resolved, p.codebook
    shares: dict[tuple, dict[float, dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        if r["measure"] == "share" and r["question_id"] in cb and r["option_code"] is not None:
            key = (r["edition"], r["question_id"], _k(r["segment"]), r["option_code"])
            shares[key].setdefault(r["value"], r)
    out = []
    for (ed, qid, seg, code), values in shares.items():
        q = cb[qid]
        if q.type not in ("single", "grid"):
            continue
        prefix, _, net_code = code.rpartition(":") if q.type == "grid" else ("", "", code)
        if net_code not in {n.code for n in q.nets}:
            continue
        members = q.net_members(net_code)
        parts = [shares.get((ed, qid, seg, f"{prefix}:{m}" if prefix else m)) for m in members]
        if any(p is None or len(p) != 1 for p in parts):
            continue
        total = sum(next(iter(p)) for p in parts if p is not None)
        for net, fig in values.items():
            if abs(total - net) > 0.5 * (len(members) + 1):
                out.append(
                    _finding(
                        fig,
                        "net_split",
                        _msg(
                            "net_split",
                            code=code,
                            qid=qid,
                            net=_fmt(net),
                            where=_where(fig),
                            members=_seq(members),
                            total=_fmt(total),
                        ),
                    )
                )
    return out


def rule_rank(p: Published) -> list[dict[str, Any]]:
    """A stated rank cannot have more options above it than rank - 1 (by the published shares)."""
    rows, cb = p.resolved, p.codebook
    shares: dict[tuple, dict[str, float]] = defaultdict(dict)
    for r in rows:
        if r["measure"] == "share" and r["question_id"] is not None and r["option_code"]:
            q = cb.questions.get(r["question_id"])
            if q is None or r["option_code"] in {n.code for n in q.nets}:
                continue
            item, _, opt = r["option_code"].rpartition(":")
            # grids rank items within one answer code; other questions rank options
            group = (r["edition"], r["question_id"], _k(r["segment"]), opt if item else "")
            shares[group][item or opt] = r["value"]
    out = []
    for r in rows:
        if r["measure"] != "rank" or not r["question_id"] or not r["option_code"]:
            continue
        item, _, opt = r["option_code"].rpartition(":")
        group = (r["edition"], r["question_id"], _k(r["segment"]), opt if item else "")
        known = shares.get(group, {})
        me = known.get(item or opt)
        if me is None:
            continue
        above = sorted(k for k, v in known.items() if v > me)
        if len(above) > r["value"] - 1:
            out.append(
                _finding(
                    r,
                    "rank",
                    _msg(
                        "rank",
                        rank=_fmt(r["value"]),
                        above=_seq(above),
                        share=_fmt(me),
                        where=_where(r),
                    ),
                )
            )
    return out


def rule_option_count(p: Published) -> list[dict[str, Any]]:
    """A stated number of options must be the number the edition asked (items for grids)."""
    out = []
    for r in p.resolved:
        if r["measure"] == "count" and r["question_id"] in p.codebook and r["option_code"] is None:
            q = p.codebook[r["question_id"]]
            n = len(_rankable(q, r["edition"], ""))
            if n != r["value"]:
                out.append(
                    _finding(
                        r,
                        "option_count",
                        _msg("option_count", qid=q.id, value=_fmt(r["value"]), n=n),
                    )
                )
    return out


def rule_trend_and_year(p: Published) -> list[dict[str, Any]]:
    """A level told as the end of a trend: the right year, no edition with figures skipped; a
    figure worded with another year than its edition's."""
    rows, levels = p.rows, p.levels
    out = []
    for r in rows:
        stated, ed, start = r["stated_edition"], r["edition"], r["compare_edition"]
        is_trend_end = r["measure"] in _LEVEL_MEASURES and start is not None
        if is_trend_end and r["question_id"] is not None:
            key = (r["question_id"], _k(r["option_code"]), r["measure"], _k(r["segment"]))
            between = {
                e: sorted(levels[(e, *key)]) for e in range(start + 1, ed) if (e, *key) in levels
            }
            skipped = _join(
                [
                    _msg("trend.skipped", edition=e, values=_seq([_fmt(v) for v in vs], "value"))
                    for e, vs in between.items()
                ],
                "comma",
            )
            if stated is not None and stated != ed:
                published = _msg("trend.published", skipped=skipped) if between else ""
                out.append(
                    _finding(
                        r,
                        "trend",
                        _msg(
                            "trend.stated",
                            where=_where(r),
                            start=start,
                            stated=stated,
                            value=_fmt(r["value"]),
                            edition=ed,
                            published=published,
                        ),
                    )
                )
            elif between:
                out.append(
                    _finding(
                        r,
                        "trend",
                        _msg(
                            "trend.skips", where=_where(r), edition=ed, start=start, skipped=skipped
                        ),
                    )
                )
        elif stated is not None and stated != ed:
            out.append(
                _finding(
                    r,
                    "year_label",
                    _msg(
                        "year_label",
                        where=_where(r),
                        stated=stated,
                        edition=ed,
                        quote=r["quote"][:60],
                    ),
                )
            )
    return out


def _source(r: dict[str, Any]) -> str:
    """A short name of a figure's source: the host of a URL, else the file; episode and time."""
    src = r["source_file"] or ""
    m = re.match(r"^https?://(?:www\.)?([^/]+)", src)
    bits = [m.group(1) if m else src]
    bits += [r[k] for k in ("episode", "shownote_time") if r.get(k)]
    return " ".join(bits)


def rule_year_conflict(p: Published) -> list[dict[str, Any]]:
    """One level told with different years by different sources (or episodes).

    Groups the level figures (share/mean) of a question by edition, option, segment and value; the
    year each source gives is its ``stated_edition`` (the edition itself when it names none). When
    the group holds more than one year, one finding lists every source with its year, so that, say,
    the same 54% read as 2023 (EP.32's trend), 2024 (EP.35) and 2025 (the report) shows as one line.
    """
    rows, cb = p.resolved, p.codebook
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["question_id"] in cb and r["measure"] in _LEVEL_MEASURES:
            key = (
                r["edition"],
                r["question_id"],
                _k(r["option_code"]),
                r["measure"],
                _k(r["segment"]),
                r["value"],
            )
            groups[key].append(r)
    out = []
    for (ed, qid, opt, measure, seg, value), members in groups.items():
        by_year: dict[int, list[tuple[str, int | None, bool]]] = defaultdict(list)
        for m in members:
            year = m["stated_edition"] if m["stated_edition"] is not None else ed
            how = (_source(m), m["compare_edition"], m["stated_edition"] is None)
            if how not in by_year[year]:
                by_year[year].append(how)
        if len(by_year) < 2:
            continue
        told = _join(
            [
                _msg(
                    "year_conflict.told",
                    year=year,
                    hows=_join([_how(h, year) for h in hows], "and"),
                )
                for year, hows in sorted(by_year.items())
            ],
            "semicolon",
        )
        what = _msg(
            "year_conflict.what",
            qid=qid,
            option=_msg("year_conflict.option", opt=opt) if opt else "",
            segment=_msg("year_conflict.segment", seg=seg) if seg else "",
        )
        first = next(m for m in members if m["stated_edition"] not in (None, ed))
        out.append(
            _finding(
                first,
                "year_conflict",
                _msg(
                    "year_conflict.message",
                    what=what,
                    measure=_msg(f"measure.{measure}"),
                    value=_fmt(value),
                    edition=ed,
                    n=len(by_year),
                    told=told,
                ),
            )
        )
    return out


def _how(how: tuple[str, int | None, bool], year: int) -> Text:
    """How one source tells a year: the source, and the trend it ends or that it names no year."""
    source, start, no_year = how
    if start is not None:
        return _msg("year_conflict.trend_end", source=source, start=start, year=year)
    if no_year:
        return _msg("year_conflict.no_year", source=source)
    return lambda lang: source


def rule_mirror(p: Published) -> list[dict[str, Any]]:
    """Two-part constant-sum splits that mirror each other (a:b vs b:a) — a note, not an error."""
    rows, cb = p.resolved, p.codebook
    splits: dict[tuple, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        qid = r["question_id"]
        if (
            qid in cb
            and cb[qid].type == "constant_sum"
            and len(cb[qid].items) == 2
            and r["option_code"] in cb[qid].item_codes()
            and r["measure"] in ("mean", "optimum")
        ):
            splits[(qid, r["edition"], r["measure"], _k(r["segment"]))][r["option_code"]] = r
    out = []
    keys = [k for k, v in splits.items() if len(v) == 2]
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if a[0] != b[0]:
                continue
            items = cb[a[0]].item_codes()
            va = [splits[a][c]["value"] for c in items]
            vb = [splits[b][c]["value"] for c in items]
            if va[0] != va[1] and va == vb[::-1]:
                later = splits[b][items[0]]
                out.append(
                    _finding(
                        later,
                        "note",
                        _msg(
                            "note.mirror",
                            qid=a[0],
                            measure=_msg(f"measure.{a[2]}"),
                            split=_split(va),
                            edition=a[1],
                            other_measure=_msg(f"measure.{b[2]}"),
                            other_split=_split(vb),
                            other_edition=b[1],
                            first=items[0],
                            second=items[1],
                        ),
                    )
                )
    return out


def _split(values: Sequence[float]) -> str:
    """A constant-sum split as both languages write it: ``47:53``."""
    return ":".join(map(_fmt, values))


def rule_rank_range(p: Published) -> list[dict[str, Any]]:
    """A stated rank cannot exceed the number of options (items, for a grid cell) the edition
    asked."""
    out = []
    for r in p.resolved:
        if r["measure"] != "rank" or r["question_id"] not in p.codebook:
            continue
        q = p.codebook[r["question_id"]]
        n = len(_rankable(q, r["edition"], r["option_code"] or ""))
        if not 1 <= r["value"] <= n:
            out.append(
                _finding(
                    r,
                    "rank",
                    _msg(
                        "rank_range",
                        rank=_fmt(r["value"]),
                        qid=q.id,
                        edition=r["edition"],
                        n=n,
                        where=_where(r),
                    ),
                )
            )
    return out


def rule_change_asked(p: Published) -> list[dict[str, Any]]:
    """A change is stated only against an option (item, cell, net with an asked member) that
    the earlier edition asked too (``Option.added``/``dropped``); a new option has no change."""
    out = []
    for r in p.resolved:
        if r["measure"] != "change" or r["question_id"] not in p.codebook:
            continue
        q, code, before = p.codebook[r["question_id"]], r["option_code"], r["compare_edition"]
        if not code or _code_asked(q, code, before):
            continue  # (a question missing from the codebook's editions may predate the data)
        what = _msg("change_asked.option", qid=q.id, opt=code)
        out.append(
            _finding(
                r,
                "change",
                _msg("change_asked.message", what=what, compare=before, where=_where(r)),
            )
        )
    return out


def _contrast_problem(c: dict[str, Any], cb: Codebook) -> tuple[str, Text] | None:
    """Why a contrast row does not resolve onto its edition of the codebook (kind, message)."""
    qid, opt, ed = c["question_id"], c.get("option_code"), c["edition"]
    var, level = c["segment_variable"], c["level"]
    if qid not in cb:
        return "unresolved", _msg("unresolved.no_question", qid=qid)
    q = cb[qid]
    if opt and not q.resolves(opt):
        return "unresolved", _msg("unresolved.no_option", opt=opt, qid=qid, cell=_CELL_FORM)
    if var not in cb or not cb[var].segment:
        return "unresolved", _msg("unresolved.no_segment", var=var)
    levels = [x.strip() for x in re.split(r"[|,]", level or "") if x.strip()]
    unknown = [x for x in levels if x not in cb[var].codes()]
    if unknown or not levels:
        return "unresolved", _msg("unresolved.bad_levels", levels=_seq(unknown), var=var)
    if not _asked(q, ed):
        return "edition", _msg(
            "edition",
            qid=qid,
            edition=ed,
            editions=_seq(q.editions, "number"),
            history=_seq([h.edition for h in q.history], "number"),
        )
    if opt and not _code_asked(q, opt, ed):
        return "edition", _msg("edition_option", qid=qid, opt=opt, edition=ed)
    absent = [x for x in levels if not _code_asked(cb[var], x, ed)]
    if absent:
        return "edition", _msg("edition_option", qid=var, opt="|".join(absent), edition=ed)
    return None


def rule_contrasts(p: Published) -> list[dict[str, Any]]:
    """Contrast rows (``contrasts.csv``) that name no question, option, segment or level of
    the codebook, or one their edition did not ask (reported under the contrast id)."""
    out = []
    for c in p.contrasts:
        found = _contrast_problem(c, p.codebook)
        if found is not None:
            kind, message = found
            row = {**c, "figure_id": c["contrast_id"]}
            out.append(_finding(row, kind, _msg("contrast", message=message)))
    return out


#: The rules :func:`survey.published.check_figures` runs, in this order.
RULES: tuple[Rule, ...] = (
    rule_resolve,
    rule_contrasts,
    rule_conflict,
    rule_change,
    rule_change_asked,
    rule_net_split,
    rule_rank,
    rule_rank_range,
    rule_option_count,
    rule_trend_and_year,
    rule_year_conflict,
    rule_mirror,
)
