"""What one edition asked, as the generator sees it, and the typed frame of that edition.

The generator works on :func:`edition_view`, a codebook holding only the questions, options,
grid items and nets (restricted to their asked members) that the edition asked, so that it never
generates an answer the questionnaire did not offer. :func:`conform` then gives the frame every
column of a typed wave of the edition (``Codebook.column_dtypes(edition)``): the columns of
options and items the edition did not ask are all null, never False or 0.

Example:
    >>> from survey.codebook import Codebook
    >>> cb = Codebook.load()
    >>> view = edition_view(cb, 2025)
    >>> sorted(q.id for q in view) == sorted(q.id for q in cb.questions_in(2025))
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import polars as pl

from survey.codebook import Codebook, Question


def _question_view(q: Question, edition: int) -> Question:
    """``q`` with only the options, items and nets (asked members) of ``edition``."""
    options = q.options_in(edition)
    asked = {o.code for o in options}
    nets = tuple(
        dataclasses.replace(n, of=tuple(c for c in n.of if c in asked))
        for n in q.nets
        if any(c in asked for c in n.of)
    )
    return dataclasses.replace(q, options=options, items=q.items_in(edition), nets=nets)


def edition_view(codebook: Codebook, edition: int) -> Codebook:
    """The codebook of what ``edition`` asked: its questions (codebook order), each with the
    options, items and nets it asked; a net keeps only its asked members.

    Example:
        >>> from survey.codebook import Codebook
        >>> cb = Codebook.load()
        >>> q = edition_view(cb, 2025)["confidence"]
        >>> q.codes() == cb["confidence"].codes(2025)
        True
    """
    views = (_question_view(q, edition) for q in codebook if q.asked_in(edition))
    questions: Mapping[str, Question] = {q.id: q for q in views if _answerable(q)}
    return dataclasses.replace(codebook, questions=questions)


def _answerable(q: Question) -> bool:
    """Whether the view of a question still offers something to answer (options of a single,
    multi or grid question, items of a grid or constant sum); one that does not is left null."""
    if q.type in ("single", "multi", "grid") and not q.options:
        return False
    return not (q.type in ("grid", "constant_sum") and not q.items)


def conform(frame: pl.DataFrame, codebook: Codebook, edition: int) -> pl.DataFrame:
    """``frame`` with the columns and dtypes of a typed wave of ``edition`` (codebook order):
    columns of options or items the edition did not ask are added as nulls.

    Example:
        >>> from survey.codebook import Codebook
        >>> cb = Codebook.load()
        >>> out = conform(pl.DataFrame({"resp_id": ["a"]}), cb, 2025)
        >>> out.width == len(cb.column_dtypes(2025)), out["resp_id"].to_list()
        (True, ['a'])
    """
    dtypes = codebook.column_dtypes(edition)
    cols = [
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c)
        for c, t in dtypes.items()
    ]
    return frame.select(cols)
