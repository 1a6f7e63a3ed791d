"""A delivery as the agency sent it -> a raw table in codebook columns, ready for validation.

:func:`read_delivery` reads the file (:func:`~survey.io.read.read_table_info`), picks the data
sheet of a workbook (a read-me first sheet is skipped and named), uses SPSS variable labels as
headers where the variable names are not codebook columns, matches the headers
(:func:`~survey.io.headers.match_headers`, plus a mapping file), replaces mapped answer labels,
reads multi-select markers (:data:`SELECTED_WORDS`, :data:`NOT_SELECTED_WORDS`: 选中/未选中,
是/否, 1/0, checked/unchecked …) as ``1``/``0`` and sets the kept text columns (open-text
"please specify" answers, mapping ``keep``) apart in :attr:`Delivery.extras`.

Example:
    >>> import pathlib, tempfile, polars as pl
    >>> from survey.codebook import Codebook
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = path.write_text("Q1. 受访者编号,Q2. 贵公司所属行业【单选】\\na1,汽车\\n", encoding="utf-8")
    >>> d = read_delivery(path, Codebook.load())
    >>> d.frame.columns, d.match.how
    (['__row__', 'resp_id', 'industry'], {'Q1. 受访者编号': 'numbered', 'Q2. 贵公司所属行业【单选】': 'numbered'})
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from survey.codebook import Codebook
from survey.errors import WaveFormatError
from survey.io.headers import Forms, HeaderMatch, codebook_forms, match_headers, shown
from survey.io.mapping import relabel_options
from survey.io.read import ROW_COLUMN, ReadInfo, read_table_info

SELECTED_WORDS = frozenset(
    {"选中", "已选", "已选中", "选择", "已选择", "勾选", "已勾选", "选", "是", "有",
     "checked", "selected", "ticked", "tick", "yes", "y", "true", "1", "1.0",
     "√", "✓", "✔", "☑", "x"}
)  # fmt: skip
"""Cells of a multi-select option column that mean "selected" (matched after NFKC, any case)."""
NOT_SELECTED_WORDS = frozenset(
    {"未选中", "未选", "没选", "不选", "未选择", "没有选择", "未勾选", "否", "无",
     "unchecked", "notchecked", "notselected", "unselected", "no", "n", "false", "0", "0.0",
     "☐", "□"}
)  # fmt: skip
"""Cells of a multi-select option column that mean "not selected"."""


def _key(value: str) -> str:
    return "".join(unicodedata.normalize("NFKC", value).lower().split())


@dataclass(frozen=True)
class Delivery:
    """A delivery read and mapped: see the module docstring.

    ``frame``: codebook columns (plus unmatched headers as they are) and :data:`ROW_COLUMN`;
    ``extras``: the kept text columns, row for row with ``frame``; ``notes``: what was done that
    a user should know (sheet chosen, SPSS labels used, rows above the header, merged cells).
    """

    frame: pl.DataFrame
    extras: pl.DataFrame
    match: HeaderMatch
    info: ReadInfo
    notes: tuple[str, ...] = ()


def _score(headers: list[str], codebook: Codebook, forms: Forms) -> int:
    m = match_headers(headers, codebook, suggest=False, forms=forms) if headers else None
    return len(m.mapping) if m else 0


def _read(
    path: Path, codebook: Codebook, sheet: str | int | None, forms: Forms
) -> tuple[pl.DataFrame, ReadInfo, list[str]]:
    """The data sheet: ``sheet`` when given, else the first visible sheet with codebook headers."""
    from survey.io._xlsx import sheet_names

    try:
        raw, info = read_table_info(path, sheet=sheet)
    except WaveFormatError as first:
        if sheet is not None or path.suffix.lower() not in (".xlsx", ".xlsm"):
            raise
        try:  # the first sheet is unreadable as a table: try the others of a sound workbook
            names = sheet_names(path.read_bytes(), str(path))
        except (WaveFormatError, OSError):
            raise first from None
        if len(names) < 2:
            raise
        raw, info = None, None
    if sheet is not None or path.suffix.lower() not in (".xlsx", ".xlsm"):
        assert raw is not None and info is not None
        return raw, info, []
    names = sheet_names(path.read_bytes(), str(path)) if info is None else list(info.sheets)
    first_score = (
        _score([c for c in raw.columns if c != ROW_COLUMN], codebook, forms)
        if raw is not None
        else 0
    )
    if len(names) < 2 or first_score >= 2:
        if raw is None:
            raw, info = read_table_info(path, sheet=names[0] if names else None)
        return raw, info, []
    best = (first_score, 0, raw, info)
    for i, name in enumerate(names[1:], start=1):
        try:
            r, inf = read_table_info(path, sheet=name)
        except WaveFormatError:
            continue
        score = _score([c for c in r.columns if c != ROW_COLUMN], codebook, forms)
        if score > best[0]:
            best = (score, i, r, inf)
    score, index, raw, info = best
    if index == 0 or raw is None:
        if raw is None:
            raise WaveFormatError(
                f"{path}: no sheet holds a table with codebook headers (sheets: {names})",
                file=str(path),
                expected="a data sheet (choose it with --sheet)",
            )
        return raw, info, []
    assert info is not None
    note = (
        f"sheet '{names[0]}' skipped (no codebook headers: a read-me?); read sheet "
        f"'{info.sheet}' (choose another with --sheet)"
    )
    return raw, info, [note]


def read_delivery(
    path: str | Path,
    codebook: Codebook,
    *,
    sheet: str | int | None = None,
    mapping: Mapping | None = None,
    suggest: bool = True,
    forms: Forms | None = None,
) -> Delivery:
    """Read a delivery and map it onto the codebook (see the module docstring).

    ``mapping`` is a loaded mapping file (:func:`~survey.io.mapping.load_mapping`).
    """
    p = Path(path)
    spec = dict(mapping or {})
    forms = forms or codebook_forms(codebook)
    raw, info, notes = _read(p, codebook, sheet, forms)
    notes += list(info.notes)
    names = [c for c in raw.columns if c != ROW_COLUMN]
    columns_map = dict(spec.get("columns") or {})
    known = {*codebook.columns(), codebook.weight_column}
    # SPSS: a variable whose name is no codebook column is matched by its variable label
    headers = list(names)
    source = {h: h for h in names}
    if info.labels:
        first = match_headers(names, codebook, columns_map, suggest=False, forms=forms)
        labelled = []
        for i, name in enumerate(names):
            label = info.labels.get(name)
            if name in first.unmatched and label and label not in source:
                headers[i] = label
                source[label] = name
                labelled.append(name)
        if labelled:
            notes.append(
                f"{len(labelled)} SPSS variable(s) matched by their variable label "
                f"({', '.join(labelled[:5])}{' …' if len(labelled) > 5 else ''})"
            )
    if all(h in known for h in headers) and not columns_map:
        match = HeaderMatch(mapping={h: h for h in headers}, how=dict.fromkeys(headers, "exact"))
    else:
        match = match_headers(headers, codebook, columns_map, suggest=suggest, forms=forms)
    renames = {source[h]: c for h, c in match.mapping.items() if source[h] != c}
    kept = {source[h]: name for h, name in match.kept.items()}
    dropped = [source[h] for h in match.ignored]
    extras = raw.select([pl.col(c).alias(n) for c, n in kept.items()]) if kept else pl.DataFrame()
    frame = raw.drop([*dropped, *kept])
    unmatched_labels = {source[h]: h for h in match.unmatched if source[h] != h}
    frame = frame.rename(renames)
    if unmatched_labels:  # keep the SPSS label beside the name in problem reports
        frame = frame.rename({k: f"{k} ({v})" for k, v in unmatched_labels.items()})
    frame = relabel_options(frame, codebook, spec.get("options") or {})
    frame = normalize_markers(frame, codebook)
    return Delivery(frame, extras, match, info, tuple(notes))


def normalize_markers(raw: pl.DataFrame, codebook: Codebook) -> pl.DataFrame:
    """Multi-select cells written as a known marker word -> ``"1"``/``"0"``.

    Other cells (an option's own label, typos) are left for validation to judge.

    >>> cb = Codebook.load()
    >>> col = cb["challenges"].columns()[0]
    >>> normalize_markers(pl.DataFrame({col: ["选中", "未选中", "Checked", None]}), cb)[col].to_list()
    ['1', '0', '1', None]
    """
    exprs = []
    for column in raw.columns:
        if not codebook.is_column(column):
            continue
        q, sub = codebook.owner(column)
        if q.type != "multi" or sub is None:
            continue
        values = raw[column].drop_nulls().unique().to_list()
        table = {}
        for v in values:
            k = _key(str(v))
            if k in SELECTED_WORDS:
                table[v] = "1"
            elif k in NOT_SELECTED_WORDS:
                table[v] = "0"
        if table:
            exprs.append(pl.col(column).replace(table))
    return raw.with_columns(exprs) if exprs else raw


def shown_headers(headers: list[str]) -> str:
    """Headers for a message, invisible characters made visible.

    >>> shown_headers(["行业", "a\\u200b"])
    "'行业', 'a\\\\u200b'"
    """
    return ", ".join(shown(h) for h in headers)


__all__ = [
    "NOT_SELECTED_WORDS",
    "SELECTED_WORDS",
    "Delivery",
    "normalize_markers",
    "read_delivery",
    "shown_headers",
]
