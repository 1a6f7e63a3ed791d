"""A codebook inferred from a file that has none (bring your own data, issue 13 item 8).

:func:`infer_codebook` reads a respondent file of any supported format and makes one question
per column: ``numeric`` when every filled cell is a number (its range the data's), ``single`` when
the column has at most ``max_levels`` distinct answers (options ``v1``, ``v2`` … labelled by the
answers, in order of first appearance), else the column stays an unlabelled text variable. The id
column is the first whose name says so (``resp_id``, ``id``, ``编号`` …) or whose values are all
filled and unique; without one, ids are the row numbers. ``load_wave(path, codebook="infer")``
loads a file with it, so every estimator of the package works on it.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mine.csv"
    >>> _ = path.write_text("编号,地区,得分,备注\\nA1,华东,7,好\\nA2,华北,9,一般\\nA3,华东,8,好\\n", encoding="utf-8")
    >>> cb = infer_codebook(path, max_levels=2)
    >>> [(q.id, q.type, q.text("zh")) for q in cb]
    [('q1', 'single', '地区'), ('q2', 'numeric', '得分'), ('q3', 'single', '备注')]
    >>> from survey.io import load_wave
    >>> wave = load_wave(path, codebook="infer")
    >>> wave.frame["q1"].cast(str).to_list(), wave.labelled("zh")["q1"].cast(str).to_list()
    (['v1', 'v2', 'v1'], ['华东', '华北', '华东'])
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import polars as pl

from survey.codebook import Codebook
from survey.io.read import ROW_COLUMN, read_table

MAX_LEVELS = 20
"""Most distinct answers of a column inferred as single-select."""
_ID_NAMES = {
    "respid",
    "resp_id",
    "id",
    "respondent",
    "respondentid",
    "受访者编号",
    "编号",
    "样本编号",
    "问卷编号",
    "序号",
}
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", name).lower())


def _id_column(raw: pl.DataFrame, columns: list[str]) -> str | None:
    for c in columns:
        if _key(c) in {_key(n) for n in _ID_NAMES}:
            return c
    for c in columns:
        col = raw[c].str.strip_chars()
        unique = col.null_count() == 0 and (col != "").all() and col.n_unique() == raw.height
        if unique and col.cast(pl.Float64, strict=False).is_null().any():  # text, not a measure
            return c
    return None


def infer_codebook(
    path_or_frame: str | Path | pl.DataFrame, *, max_levels: int = MAX_LEVELS
) -> Codebook:
    """A codebook for a file without one (see the module docstring)."""
    raw = (
        read_table(path_or_frame) if not isinstance(path_or_frame, pl.DataFrame) else path_or_frame
    )
    columns = [c for c in raw.columns if c != ROW_COLUMN]
    id_col = _id_column(raw, columns)
    questions = []
    n = 0
    for c in columns:
        if c == id_col:
            continue
        col = raw[c].str.strip_chars()
        filled = col.filter(col.is_not_null() & (col != ""))
        if filled.is_empty():
            continue
        numbers = filled.str.strip_suffix("%").cast(pl.Float64, strict=False)
        text = {"zh": c, "en": c}
        n += 1
        qid = f"q{n}"
        if numbers.null_count() == 0:
            lo, hi = float(numbers.min()), float(numbers.max())  # type: ignore[arg-type]
            if lo == hi:
                lo, hi = lo - 1, hi + 1
            questions.append(
                {"id": qid, "section": "data", "type": "numeric", "text": text, "range": [lo, hi]}
            )
            continue
        levels = list(dict.fromkeys(filled.to_list()))
        if len(levels) > max_levels:
            n -= 1
            continue
        options = [{"code": f"v{i}", "zh": v, "en": v} for i, v in enumerate(levels, start=1)]
        questions.append(
            {"id": qid, "section": "data", "type": "single", "text": text, "options": options}
        )
    raw_cb = {
        "schema": 1,
        "title": {"zh": "自带数据", "en": "Own data"},
        "id_column": "resp_id",
        "weight_column": "weight",
        "id_label": {"zh": id_col or "resp_id", "en": id_col or "resp_id"},
        "editions": [],
        "sections": [{"id": "data", "zh": "数据", "en": "Data"}],
        "questions": questions,
    }
    return Codebook.from_dict(raw_cb)
