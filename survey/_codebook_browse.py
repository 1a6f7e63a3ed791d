"""Browsing a codebook: every question, option, net and grid item as one frame, and search.

Bound onto :class:`survey.codebook.Codebook` as ``Codebook.to_polars`` and ``Codebook.search``.

Example:
    >>> from survey.codebook import Codebook
    >>> cb = Codebook.load()
    >>> cb.to_polars().columns[:4]
    ['question_id', 'kind', 'code', 'column']
    >>> cb.search("信心")["question_id"].unique(maintain_order=True).to_list()
    ['confidence', 'own_confidence']
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from survey.codebook import Codebook

SEP = "__"

_SCHEMA = {
    "question_id": pl.String, "kind": pl.String, "code": pl.String, "column": pl.String,
    "type": pl.String, "section": pl.String, "label_zh": pl.String, "label_en": pl.String,
    "text_zh": pl.String, "text_en": pl.String, "score": pl.Float64, "members": pl.String,
    "segment": pl.Boolean, "editions": pl.String,
}


def _editions(cb: Codebook, asked: object) -> str:
    """The editions of the codebook in which ``asked(edition)`` holds, as "2022, 2023"."""
    fn = getattr(asked, "asked_in", None)
    eds = list(cb.editions)
    if fn is None or not eds:
        return ""
    return ", ".join(str(e) for e in eds if fn(e))


def to_polars(self: Codebook, edition: int | None = None) -> pl.DataFrame:
    """One row per question (``kind="question"``) followed by its options, nets and grid items
    (``"option"``, ``"net"``, ``"item"``; constant-sum parts are items): code, wave column,
    labels, question text, score, net members and the editions that asked it. With
    ``edition``, only what that edition asked.

    Example:
        >>> from survey.codebook import Codebook
        >>> cb = Codebook.load()
        >>> row = cb.to_polars().filter(pl.col("code") == "net_decrease").row(0, named=True)
        >>> row["question_id"], row["kind"], row["members"]
        ('confidence', 'net', 'big_decrease, small_decrease')
    """
    recs: list[dict[str, object]] = []
    for q in self:
        if edition is not None and not q.asked_in(edition):
            continue
        multi = q.type == "multi"
        head = {"question_id": q.id, "type": q.type, "section": q.section,
                "text_zh": q.text("zh"), "text_en": q.text("en"),
                "segment": bool(getattr(q, "segment", False))}
        recs.append({**head, "kind": "question", "code": None,
                     "column": None if q.type in ("multi", "grid", "constant_sum") else q.id,
                     "label_zh": q.short_label("zh"), "label_en": q.short_label("en"),
                     "editions": _editions(self, q)})
        for o in q.options:
            if edition is not None and hasattr(o, "asked_in") and not o.asked_in(edition):
                continue
            recs.append({**head, "kind": "option", "code": o.code,
                         "column": f"{q.id}{SEP}{o.code}" if multi else None,
                         "label_zh": o.label("zh"), "label_en": o.label("en"),
                         "score": o.score, "editions": _editions(self, o)})
        for n in q.nets:
            recs.append({**head, "kind": "net", "code": n.code, "label_zh": n.label("zh"),
                         "label_en": n.label("en"), "members": ", ".join(n.of)})
        for it in q.items:
            if edition is not None and hasattr(it, "asked_in") and not it.asked_in(edition):
                continue
            recs.append({**head, "kind": "item", "code": it.code,
                         "column": f"{q.id}{SEP}{it.code}", "label_zh": it.label("zh"),
                         "label_en": it.label("en"), "editions": _editions(self, it)})
    frame = pl.DataFrame(recs, schema=_SCHEMA) if recs else pl.DataFrame(schema=_SCHEMA)
    return frame.select(list(_SCHEMA))


def _norm(text: str) -> str:
    """Case- and width-insensitive form of ``text`` (NFKC: full-width Latin is plain Latin)."""
    return unicodedata.normalize("NFKC", text).casefold()


def search(self: Codebook, words: str, edition: int | None = None) -> pl.DataFrame:
    """Rows of :meth:`to_polars` matching every word of ``words`` (Chinese or English, any
    case and width) in an id, code, label or question text; a question matches with all its
    rows when its own texts match.

    Example:
        >>> from survey.codebook import Codebook
        >>> hits = Codebook.load().search("short video")
        >>> "short_video_resources" in hits["question_id"].to_list()
        True
    """
    terms = [_norm(w) for w in words.split() if w.strip()]
    frame = to_polars(self, edition)
    if not terms:
        return frame
    hay = pl.concat_str([pl.col(c).fill_null("") for c in (
        "question_id", "code", "column", "label_zh", "label_en")], separator=" ")
    qhay = pl.concat_str([pl.col(c).fill_null("") for c in (
        "question_id", "label_zh", "label_en", "text_zh", "text_en")], separator=" ")
    raw = frame.select(hay.alias("_row"), qhay.alias("_q"))
    texts = frame.with_columns(
        pl.Series("_row", [_norm(x) for x in raw["_row"]], dtype=pl.String),
        pl.Series("_q", [_norm(x) for x in raw["_q"]], dtype=pl.String),
    )
    row_hit = pl.all_horizontal([pl.col("_row").str.contains(t, literal=True) for t in terms])
    q_hit = pl.all_horizontal([pl.col("_q").str.contains(t, literal=True) for t in terms])
    q_ids = texts.filter((pl.col("kind") == "question") & q_hit)["question_id"]
    return texts.filter(row_hit | pl.col("question_id").is_in(q_ids.implode())).drop(
        "_row", "_q")
