"""Reading, validating and writing waves.

* :func:`load_wave` — a file (CSV/xlsx/Parquet/sav) or an edition → a typed :class:`~survey.Wave`,
  raising :class:`~survey.errors.ValidationError` with *all* problems, or
  :class:`~survey.errors.WaveFormatError` when the file cannot be read at all. A file with only
  some of the codebook's questions loads with a :class:`PartialWaveWarning` naming the missing
  ones (their columns are null: not asked); extra columns are kept as unlabelled variables.
* :func:`validate_file` — the same checks as a :class:`ValidationReport` (what ``survey validate``
  prints), strict about every column.
* :func:`write_wave` / :func:`write_table` — deterministic Parquet waves; CSV/xlsx/sav tables.

Example:
    >>> from survey.io import load_wave
    >>> load_wave(2025).edition
    2025
    >>> edition_from_name("delivery_2025_revised_2024-12-15.csv")
    2025
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path

import polars as pl

from survey.codebook import Codebook
from survey.errors import Problem, ValidationError, WaveFormatError
from survey.io.delivery import read_delivery
from survey.io.headers import shown
from survey.io.mapping import load_mapping
from survey.io.read import ROW_COLUMN, read_metadata, read_table, row_convention
from survey.io.report import LIMIT, ValidationReport
from survey.io.validate import KINDS, validate
from survey.io.write import write_table, write_wave
from survey.paths import waves_dir
from survey.wave import Wave

__all__ = [
    "KINDS",
    "LIMIT",
    "ROW_COLUMN",
    "PartialWaveWarning",
    "ValidationReport",
    "edition_from_name",
    "load_wave",
    "read_metadata",
    "read_table",
    "row_convention",
    "validate",
    "validate_file",
    "write_table",
    "write_wave",
]

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_DATE = re.compile(
    r"(?<!\d)(?:19|20)\d{2}(?:[-_.年/]?(?:0[1-9]|1[0-2])(?:[-_.月/]?(?:0[1-9]|[12]\d|3[01]))?)(?!\d)"
)


class PartialWaveWarning(UserWarning):
    """A wave loaded without some of its edition's questions, or with extra columns."""


def edition_from_name(name: str | Path) -> int | None:
    """The edition a file name states: its first year that is not part of a date.

    Editions are named by the year they forecast and fieldwork ends the year before, so a file
    carries dates of the previous year (``delivery_2025_revised_2024-12-15.csv`` is the 2025
    edition, revised on 2024-12-15). A year followed by a month (``2024-12``, ``202412``,
    ``2024年12月``) is a date; of the other years the first one counts. ``None`` when there is
    none.

    >>> edition_from_name("delivery_2025_revised_2024-12-15.csv"), edition_from_name("wave_2024.xlsx")
    (2025, 2024)
    >>> edition_from_name("export_20241215.csv") is None
    True
    """
    stem = Path(name).stem
    dates = [m.span() for m in _DATE.finditer(stem) if m.end() - m.start() > 4]
    for m in _YEAR.finditer(stem):
        if not any(a <= m.start() < b for a, b in dates):
            return int(m.group(1))
    return None


def _resolve(path_or_edition: int | str | Path, edition: int | None) -> tuple[Path, int | None]:
    if isinstance(path_or_edition, int) or (
        isinstance(path_or_edition, str) and path_or_edition.strip().isdigit()
    ):
        e = int(path_or_edition)
        return waves_dir() / f"{e}.parquet", edition if edition is not None else e
    return Path(path_or_edition), edition


def _infer_edition(path: Path, edition: int | None, meta: dict[str, str]) -> int | None:
    if edition is not None:
        return int(edition)
    if meta.get("edition", "").strip().isdigit():
        return int(meta["edition"])
    return edition_from_name(path)


def worded_headers(raw: pl.DataFrame, codebook: Codebook) -> pl.DataFrame:
    """Headers written as the questionnaire words them (``贵公司所属行业``, ``Q1. 行业``, the
    English wording) renamed to their codebook columns; other headers are kept as they are.

    Example:
        >>> cb = Codebook.load()
        >>> worded_headers(pl.DataFrame({"Q1. " + cb["industry"].text("zh"): ["汽车"]}), cb).columns
        ['industry']
    """
    from survey.io.headers import match_headers

    known = {*codebook.columns(), codebook.weight_column, ROW_COLUMN}
    headers = [c for c in raw.columns if c not in known]
    if not headers:
        return raw
    m = match_headers(headers, codebook, suggest=False)
    renames = {h: c for h, c in m.mapping.items() if h != c and c not in raw.columns}
    return raw.rename(renames) if renames else raw


def _infer_types(extras: pl.DataFrame) -> pl.DataFrame:
    """Extra (unlabelled) columns: Float64 when every filled cell is a number, else String."""
    exprs = []
    for c in extras.columns:
        col = extras[c]
        number = col.str.strip_chars().cast(pl.Float64, strict=False)
        filled = col.is_not_null() & (col.str.strip_chars() != "")
        if filled.any() and (number.is_not_null() == filled).all():
            exprs.append(number.alias(c))
        else:
            exprs.append(col.alias(c))
    return extras.select(exprs) if exprs else extras


def _complete(frame: pl.DataFrame, cb: Codebook, edition: int | None) -> pl.DataFrame:
    """Every column of the edition's schema (:meth:`Codebook.column_dtypes`), in its order: the
    columns of options, items and questions not in the file are null ("not asked")."""
    dtypes = cb.column_dtypes(edition)
    missing = [
        pl.lit(None, dtype).alias(c)
        for c, dtype in dtypes.items()
        if c not in frame.columns and c != cb.weight_column
    ]
    if not missing:
        return frame
    frame = frame.with_columns(missing)
    order = [c for c in dtypes if c in frame.columns]
    return frame.select(order + [c for c in frame.columns if c not in set(order)])


def load_wave(
    path_or_edition: int | str | Path,
    *,
    codebook: Codebook | str | None = None,
    edition: int | None = None,
    sheet: str | int | None = None,
    mapping: str | Path | None = None,
    strict: bool = False,
) -> Wave:
    """Read, validate and type a wave.

    ``path_or_edition``: an edition (``2025`` or ``"2025"``) loads ``waves_dir()/2025.parquet``;
    a path loads any supported format (headers matched as :mod:`survey.io.headers` says,
    ``mapping`` as for ``survey ingest``). The edition is ``edition`` when given, else the file's
    metadata, else the file name (:func:`edition_from_name`), else ``None`` (all questions).

    Bring your own data: a question of the edition with no column in the file is left out of
    the checks, its columns are null ("not asked") and a :class:`PartialWaveWarning` names it;
    a column the codebook does not know is kept as an unlabelled variable (Float64 when all its
    cells are numbers, else String), also named in the warning. ``strict=True`` refuses both, as
    :func:`validate_file` does. Cells that break the codebook always raise
    :class:`ValidationError`. ``codebook="infer"``: a file without a codebook, each column typed
    from its cells (:func:`survey.io.infer.infer_codebook`).

    Example:
        >>> wave = load_wave(2025)
        >>> wave.n, wave.is_synthetic
        (228, True)
    """
    path, edition = _resolve(path_or_edition, edition)
    spec = load_mapping(mapping)
    if isinstance(codebook, str):
        if codebook != "infer":
            raise ValueError(f"codebook={codebook!r}: expected a Codebook, None or 'infer'")
        from survey.io.infer import infer_codebook

        cb = infer_codebook(read_table(path, sheet=sheet))
        columns = {q.text_zh: q.id for q in cb}
        if cb.id_label_zh != cb.id_column:
            columns[cb.id_label_zh] = cb.id_column
        spec = {"columns": {**columns, **(spec.get("columns") or {})}}
    else:
        cb = codebook if codebook is not None else Codebook.load()
    delivery = read_delivery(path, cb, sheet=sheet, mapping=spec, suggest=False)
    raw = delivery.frame
    if cb.id_column not in raw.columns and isinstance(codebook, str):  # no id column: row numbers
        raw = raw.with_columns(pl.col(ROW_COLUMN).cast(pl.String).alias(cb.id_column))
    meta = read_metadata(path)
    ed = _infer_edition(path, edition, meta)
    known = {*cb.columns(), cb.weight_column, ROW_COLUMN}
    unknown = [c for c in raw.columns if c not in known]
    extras = delivery.extras
    absent: list[str] = []
    check = cb
    if not strict:
        if unknown:
            extras = (
                pl.concat([extras, raw.select(unknown)], how="horizontal")
                if extras.width
                else raw.select(unknown)
            )
            raw = raw.drop(unknown)
        present = set(raw.columns)
        asked = [q for q in cb if ed is None or q.asked_in(ed)]
        absent = [q.id for q in asked if not any(c in present for c in q.columns())]
        if absent:
            keep = {qid: q for qid, q in cb.questions.items() if qid not in absent}
            check = dataclasses.replace(cb, questions=keep)
    frame, problems = validate(raw, check, edition=ed, file=str(path))
    if problems or frame is None:
        raise ValidationError(problems, file=str(path))
    frame = _complete(frame, cb, ed)
    declared = set(filter(None, meta.get("kept_columns", "").split("\t")))
    if extras.width:
        frame = pl.concat([frame, _infer_types(extras)], how="horizontal")
    surprising = [c for c in extras.columns if c not in declared]
    if absent or surprising:
        parts = []
        if absent:
            parts.append(f"questions not in the file (left null, 'not asked'): {', '.join(absent)}")
        if surprising:
            parts.append(
                "columns not in the codebook (kept as unlabelled variables): "
                + ", ".join(map(shown, surprising))
            )
        warnings.warn(f"{path}: " + "; ".join(parts), PartialWaveWarning, stacklevel=2)
    if ed is not None:
        meta["edition"] = str(ed)
    return Wave(frame=frame, edition=ed, codebook=cb, source=path, metadata=meta)


def validate_file(
    path: str | Path,
    *,
    codebook: Codebook | None = None,
    edition: int | None = None,
    sheet: str | int | None = None,
    mapping: str | Path | dict | None = None,
) -> ValidationReport:
    """Check a wave file and report every problem (never raises for bad content).

    ``mapping``: a mapping file (or its loaded content) as for ``survey ingest``, so a delivery
    can be checked before it is ingested. A file that cannot be read at all gives a report with
    its problems of kind ``unreadable``. Headers that match no column get suggestions.

    Example:
        >>> report = validate_file("data/waves/2025.parquet")
        >>> report.ok, report.n_rows
        (True, 228)
    """
    cb = codebook if codebook is not None else Codebook.load()
    p, edition = _resolve(path, edition)
    try:
        spec = mapping if isinstance(mapping, dict) else load_mapping(mapping)
        delivery = read_delivery(p, cb, sheet=sheet, mapping=spec)
        meta = read_metadata(p)
    except WaveFormatError as e:
        found = getattr(e, "problems", None)
        problems = (
            tuple(dataclasses.replace(q, kind="unreadable") for q in found)
            if found
            else (
                Problem(
                    expected=e.expected or "a readable wave file",
                    file=str(p),
                    row=e.row,
                    column=e.column,
                    value=str(e).removeprefix(f"{p}: "),
                    kind="unreadable",
                ),
            )
        )
        return ValidationReport(file=str(p), n_rows=0, problems=problems, rows=row_convention(p))
    raw = delivery.frame
    ed = _infer_edition(p, edition, meta)
    _, problems = validate(raw, cb, edition=ed, file=str(p))
    header_row = delivery.info.header_row
    return ValidationReport(
        file=str(p),
        n_rows=raw.height,
        problems=tuple(problems),
        skipped_rows=_gaps(raw[ROW_COLUMN], header_row),
        rows=row_convention(p, header_row=header_row),
        edition=ed,
        notes=delivery.notes,
        suggestions=tuple(delivery.match.suggestions),
        header_row=header_row,
    )


def _gaps(rows: pl.Series, header_row: int = 1) -> tuple[int, ...]:
    """Row numbers between the first and the last respondent that were not read (blank rows)."""
    if rows.is_empty():
        return ()
    lo, hi = int(rows.min()), int(rows.max())  # type: ignore[arg-type]
    if hi - lo + 1 == rows.len():
        return ()
    return tuple(sorted(set(range(lo, hi + 1)).difference(rows.to_list())))
