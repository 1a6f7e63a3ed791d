"""Rows of a banner: one block of indicator / value columns per question (or grid item)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from survey.banners._text import say
from survey.codebook import SEP, Codebook, Question
from survey.errors import EstimationError


# ---------------------------------------------------------------------------------------------
# Rows: blocks of indicator / value columns
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Row:
    code: str
    zh: str
    en: str
    kind: str  # option | net | mean
    asked: bool = True  # False: an option not asked in the edition ("not asked", never 0%)


@dataclass(frozen=True)
class _Block:
    """One table block: a question (or a grid item) with its rows and their values."""

    qid: str
    item: str | None
    title_zh: str
    title_en: str
    rows: tuple[_Row, ...]
    base: np.ndarray  # bool (n,)
    values: np.ndarray | None = None  # float (n, R), 0 outside the base; None: from codes
    codes: np.ndarray | None = None  # single-select: option index per respondent (-1: none)
    sets: tuple[tuple[int, ...], ...] = ()  # single-select: the options each row counts

    @cached_property
    def Y(self) -> np.ndarray:
        """Values (n × R): 0/1 indicators or numbers, 0 outside the base."""
        if self.values is not None:
            return self.values
        assert self.codes is not None
        onehot = self.codes[:, None] == np.arange(max(max(map(max, self.sets)) + 1, 1))[None, :]
        return np.column_stack([onehot[:, list(st)].any(axis=1) for st in self.sets]).astype(float)


def _mean_row() -> _Row:
    """The one row of a numeric question: its mean."""
    return _Row("mean", say("mean", "zh"), say("mean", "en"), "mean")


def _codes_index(s: pl.Series, codes: Sequence[str]) -> np.ndarray:
    """Position of each value of ``s`` in ``codes`` (-1 for null or unknown)."""
    if isinstance(s.dtype, pl.Enum) and list(s.dtype.categories) == list(codes):
        return s.to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
    return (s.cast(pl.String).cast(pl.Enum(list(codes)), strict=False).to_physical()
            .cast(pl.Int64).fill_null(-1).to_numpy())


#: ``labels=`` of a banner: variable -> title, or variable -> {level: label}; a label is a
#: string (both languages) or ``{"zh": ..., "en": ...}``
Labels = Mapping[str, Any]


def _bilingual(value: Any, default: tuple[str, str]) -> tuple[str, str]:
    if value is None:
        return default
    if isinstance(value, Mapping):
        zh = str(value.get("zh", value.get("en", default[0])))
        return zh, str(value.get("en", zh))
    return str(value), str(value)


def label_of(labels: Labels, var: str, code: str | None, default: tuple[str, str]) -> tuple[str, str]:
    """The (zh, en) label of ``var`` (``code=None``: its title) or of its level ``code``.

    Example:
        >>> label_of({"big": {"true": "大"}}, "big", "true", ("true", "true"))
        ('大', '大')
        >>> label_of({"big": {"_title": {"zh": "大品牌", "en": "Big brand"}}}, "big", None, ("big", "big"))
        ('大品牌', 'Big brand')
    """
    spec = labels.get(var)
    if code is None:
        if isinstance(spec, Mapping) and not {"zh", "en"} & set(spec):
            return _bilingual(spec.get("_title"), default)
        return _bilingual(spec, default)
    if isinstance(spec, Mapping) and code in spec:
        return _bilingual(spec[code], default)
    return _bilingual(labels.get(f"{var}:{code}"), default)


def _levels(s: pl.Series) -> list[str]:
    """Levels of a column outside the codebook, as the strings its values cast to: an Enum's
    categories (even if unused), ``true``/``false`` for a Boolean, else the sorted distinct
    values (numbers sorted as numbers).

    Example:
        >>> _levels(pl.Series([True, None, False]))
        ['true', 'false']
        >>> _levels(pl.Series([10, 2, 2]))
        ['2', '10']
    """
    if isinstance(s.dtype, pl.Enum):
        return list(s.dtype.categories)
    if s.dtype == pl.Boolean:
        return ["true", "false"]
    return s.drop_nulls().unique().sort().cast(pl.String).to_list()


def _level_labels(var: str, levels: Sequence[str], s: pl.Series, labels: Labels
                  ) -> list[tuple[str, str]]:
    """Labels of the levels of a derived column: ``labels`` first, then 是/否 for Booleans."""
    out = []
    for lv in levels:
        default = (lv, lv)
        if s.dtype == pl.Boolean:
            default = (say(f"bool.{lv}", "zh"), say(f"bool.{lv}", "en"))
        out.append(label_of(labels, var, lv, default))
    return out


def _question_of(cb: Codebook | None, qid: str) -> Question | None:
    return cb.questions.get(qid) if cb is not None else None


@dataclass(frozen=True)
class RowSpec:
    """How row questions become blocks: nets (codebook and ad hoc), labels, score means, the
    edition (options not asked) and the filter of ``where=`` (respondents outside it are
    outside every base)."""

    nets: bool | Mapping[str, Any] = True
    labels: Labels = None  # type: ignore[assignment]
    scores: bool = True
    edition: int | None = None
    mask: np.ndarray | None = None

    def adhoc_nets(self, q: Question) -> list[tuple[str, tuple[str, ...]]]:
        """Nets of the call that apply to ``q``: ``{code: members}`` for every question having
        all the members, or ``{qid: {code: members}}`` for one question."""
        if not isinstance(self.nets, Mapping):
            return []
        codes = set(q.codes())
        out = []
        for key, val in self.nets.items():
            if isinstance(val, Mapping):
                if key == q.id:
                    out += [(str(c), tuple(m)) for c, m in val.items()]
            elif set(val) <= codes:
                out.append((str(key), tuple(val)))
        for code, members in out:
            bad = [m for m in members if m not in codes]
            if bad:
                raise EstimationError(f"net '{code}' of '{q.id}' names unknown codes {bad}",
                                      column=q.id, value=bad[0],
                                      expected=f"codes of '{q.id}': {q.codes()}")
        return out


def _asked(q: Question, edition: int | None) -> set[str]:
    """Codes of the options of ``q`` asked in ``edition`` (all when the codebook cannot say)."""
    fn = getattr(q, "options_in", None)
    if edition is None or fn is None:
        return set(q.codes())
    return {o.code for o in fn(edition)}


def _categorical_block(
    q: Question, idx: np.ndarray, item: Any, spec: RowSpec, multi: tuple | None = None
) -> list[_Block]:
    codes = q.codes()
    asked = _asked(q, spec.edition)
    labels = spec.labels or {}
    rows = [_Row(o.code, *label_of(labels, q.id, o.code, (o.zh, o.en)), "option",
                 o.code in asked) for o in q.options]
    sets: list[tuple[int, ...]] = [(k,) for k in range(len(codes))]
    nets: list[tuple[str, str, str, tuple[str, ...]]] = []
    if spec.nets is not False:
        nets += [(n.code, n.zh, n.en, n.of) for n in q.nets]
        seen = {n[0] for n in nets}
        for code, members in spec.adhoc_nets(q):
            zh, en = label_of(labels, q.id, code, label_of(labels, code, None, (code, code)))
            nets = [n for n in nets if n[0] != code] if code in seen else nets
            nets.append((code, zh, en, members))
    for code, zh, en, members in nets:
        sets.append(tuple(codes.index(c) for c in members))
        rows.append(_Row(code, zh, en, "net", all(c in asked for c in members)))
    prefix = f"{item.code}:" if item is not None else ""
    rows = [_Row(prefix + r.code, r.zh, r.en, r.kind, r.asked) for r in rows]
    t_zh, t_en = label_of(labels, q.id, None, (q.short_label("zh"), q.short_label("en")))
    if item is not None:
        i_zh, i_en = label_of(labels, q.id, item.code, (item.zh, item.en))
        t_zh = say("block_item", "zh", title=t_zh, item=i_zh)
        t_en = say("block_item", "en", title=t_en, item=i_en)
    head = (q.id, item.code if item is not None else None, t_zh, t_en)
    if multi is None:
        base = idx >= 0
        out = [_Block(*head, tuple(rows), base, None, idx, tuple(sets))]
        scored = np.array([o.score is not None for o in q.options])
        if spec.scores and q.type in ("single", "grid") and scored.any():
            score = np.array([np.nan if o.score is None else float(o.score) for o in q.options])
            v = np.where(base, score[np.where(base, idx, 0)], np.nan)
            sbase = ~np.isnan(v)
            row = _Row(f"{prefix}score_mean", say("score_mean", "zh"), say("score_mean", "en"),
                       "mean")
            if scored.all():  # one block: the mean has the shares' base
                Y = _Block(*head, tuple(rows), base, None, idx, tuple(sets)).Y
                out = [_Block(*head, (*rows, row), base,
                              np.hstack([Y, np.where(sbase, v, 0.0)[:, None]]))]
            else:  # "don't know" and other unscored answers are outside the mean's base
                out.append(_Block(*head[:2], say("block_score", "zh", title=t_zh),
                                  say("block_score", "en", title=t_en), (row,), sbase,
                                  np.where(sbase, v, 0.0)[:, None]))
        return out
    base = multi[1]
    Y = multi[0].astype(float)
    Y = np.hstack([Y, *(Y[:, list(st)].max(axis=1, keepdims=True) for st in sets[len(codes):])])
    Y[~base] = 0.0
    return [_Block(*head, tuple(rows), base, Y)]


def _item_asked(item: Any, edition: int | None) -> bool:
    fn = getattr(item, "asked_in", None)
    return edition is None or fn is None or bool(fn(edition))


def _not_asked(b: _Block) -> _Block:
    """``b`` with every row marked not asked."""
    rows = tuple(_Row(r.code, r.zh, r.en, r.kind, False) for r in b.rows)
    return _Block(b.qid, b.item, b.title_zh, b.title_en, rows, b.base, b.values, b.codes, b.sets)


def _derived_block(frame: pl.DataFrame, var: str, spec: RowSpec) -> _Block:
    """A column outside the codebook: a mean if numeric (and not labelled level by level),
    else one row per level (Boolean, Enum, String, labelled integers)."""
    labels = spec.labels or {}
    s = frame[var]
    t_zh, t_en = label_of(labels, var, None, (var, var))
    by_level = isinstance(labels.get(var), Mapping) and bool(set(labels[var]) - {"_title"})
    if s.dtype.is_numeric() and not by_level:
        v = s.cast(pl.Float64).to_numpy()
        base = ~np.isnan(v)
        return _Block(var, None, t_zh, t_en, (_mean_row(),), base,
                      np.where(base, v, 0.0)[:, None])
    levels = _levels(s)
    idx = _codes_index(s, levels)
    rows = tuple(_Row(lv, zh, en, "option") for lv, (zh, en) in
                 zip(levels, _level_labels(var, levels, s, labels), strict=True))
    return _Block(var, None, t_zh, t_en, rows, idx >= 0, None, idx,
                  tuple((k,) for k in range(len(levels))))


def resolve_row(cb: Codebook | None, frame: pl.DataFrame, name: str
                ) -> tuple[Question | None, str | None]:
    """The question and grid item a row name means: ``qid``, ``qid:item`` or a grid item's
    column ``qid__item``; ``(None, None)`` for a column outside the codebook."""
    if cb is not None and ":" in name:
        qid, item = name.split(":", 1)
        q = _question_of(cb, qid)
        if q is not None and q.type == "grid":
            if item not in q.item_codes():
                raise EstimationError(f"'{item}' is not an item of grid '{qid}'", column=qid,
                                      value=item, expected=f"one of {q.item_codes()}")
            return q, item
    q = _question_of(cb, name)
    if q is not None:
        return q, None
    if cb is not None and SEP in name and name in cb.columns():
        owner, item = cb.owner(name)
        if owner.type == "grid":
            return owner, item
    return None, None


def _blocks(frame: pl.DataFrame, cb: Codebook | None, qid: str, spec: RowSpec | bool = True
            ) -> list[_Block]:
    """The table blocks of row ``qid`` (one per grid item, else one; plus a score mean)."""
    if not isinstance(spec, RowSpec):
        spec = RowSpec(nets=spec)
    blocks = _blocks_of(frame, cb, qid, spec)
    if spec.mask is None:
        return blocks
    return [_Block(b.qid, b.item, b.title_zh, b.title_en, b.rows, b.base & spec.mask,
                   None if b.values is None else np.where(spec.mask[:, None], b.values, 0.0),
                   None if b.codes is None else np.where(spec.mask, b.codes, -1), b.sets)
            for b in blocks]


def _blocks_of(frame: pl.DataFrame, cb: Codebook | None, name: str, spec: RowSpec
               ) -> list[_Block]:
    q, only_item = resolve_row(cb, frame, name)
    if q is None:
        if name not in frame.columns:
            raise EstimationError(f"unknown row variable '{name}'", column=name,
                                  expected="a codebook question, 'grid:item' or a column of "
                                           "the design")
        return [_derived_block(frame, name, spec)]
    qid = q.id
    cols = q.columns() if only_item is None else [f"{qid}{SEP}{only_item}"]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise EstimationError(f"row question '{qid}' has columns missing from the data",
                              column=missing[0], expected=f"columns {cols}")
    if q.type == "single":
        return _categorical_block(q, _codes_index(frame[qid], q.codes()), None, spec)
    if q.type == "grid":
        out = []
        for it in q.items:
            if only_item not in (None, it.code):
                continue
            col = frame[f"{qid}{SEP}{it.code}"]
            for blk in _categorical_block(q, _codes_index(col, q.codes()), it, spec):
                if col.null_count() == frame.height or not _item_asked(it, spec.edition):
                    blk = _not_asked(blk)  # an item the edition did not ask: never 0%
                out.append(blk)
        return out
    if q.type == "multi":
        sub = frame.select(q.columns())
        answered = sub.select(pl.any_horizontal(pl.all().is_not_null())).to_series().to_numpy()
        sel = sub.select(pl.all().cast(pl.Boolean).fill_null(False)).to_numpy().astype(bool)
        blocks = _categorical_block(q, np.empty(0), None, spec, multi=(sel, answered))
        # an option column null for everyone was not asked (whatever the codebook says)
        blank = {o.code for o in q.options if sub[f"{qid}{SEP}{o.code}"].null_count()
                 == frame.height}
        if blank:
            b = blocks[0]
            rows = tuple(_Row(r.code, r.zh, r.en, r.kind, r.asked and r.code not in blank)
                         for r in b.rows)
            blocks = [_Block(b.qid, b.item, b.title_zh, b.title_en, rows, b.base, b.values)]
        return blocks
    if q.type == "numeric":
        v = frame[qid].cast(pl.Float64).to_numpy()
        base = ~np.isnan(v)
        t = label_of(spec.labels or {}, qid, None, (q.short_label("zh"), q.short_label("en")))
        return [_Block(qid, None, *t, (_mean_row(),), base, np.where(base, v, 0.0)[:, None])]
    # constant_sum: one mean per part, base = respondents who answered every part
    V = frame.select(pl.col(q.columns()).cast(pl.Float64)).to_numpy()
    base = ~np.isnan(V).any(axis=1)
    rows = tuple(_Row(it.code, it.zh, it.en, "mean") for it in q.items)
    t = label_of(spec.labels or {}, qid, None, (q.short_label("zh"), q.short_label("en")))
    return [_Block(qid, None, *t, rows, base, np.where(base[:, None], np.nan_to_num(V), 0.0))]
