"""Typed formats (Parquet, SPSS) -> the all-String raw table of :mod:`survey.io.read`.

Every cell becomes the text a spreadsheet would show (integral floats without ``.0``, booleans
``true``/``false``, NaN blank); SPSS value labels are applied and variable labels returned in
:attr:`~survey.io.read.ReadInfo.labels`.

Example:
    >>> _cell(12.0), _cell(0.5), _cell(True), _cell(None)
    ('12', '0.5', 'true', None)
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl

from survey.io.read import FIRST_ROW, ROW_COLUMN, ReadInfo, _check_reserved, _clean_header, _err


# -- cells -------------------------------------------------------------------
def _cell(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _num(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    return str(v)


def _num(v: float) -> str | None:
    if math.isnan(v):
        return None
    if math.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


# -- typed formats -> strings ---------------------------------------------------------------------
def _to_strings(p: Path, df: pl.DataFrame, first_row: int) -> pl.DataFrame:
    """Cast every column of a typed frame to the String a spreadsheet cell would show.

    Record ``i`` (0-based) gets row number ``first_row + i``.
    """
    exprs = []
    for name, dtype in df.schema.items():
        c = pl.col(name)
        if dtype == pl.String:
            e = c
        elif dtype == pl.Boolean:
            e = pl.when(c).then(pl.lit("true")).when(~c).then(pl.lit("false"))
        elif dtype.is_float():
            finite = c.is_finite() & (c.abs() < 1e15)
            e = (
                pl.when(c.is_nan())
                .then(pl.lit(None, pl.String))
                .when(finite & (c == c.round(0)))
                .then(c.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(c.cast(pl.String))
            )
        elif (
            dtype.is_numeric() or isinstance(dtype, pl.Enum | pl.Categorical) or dtype.is_temporal()
        ):
            e = c.cast(pl.String)
        else:
            raise _err(
                p, f"column '{name}' holds {dtype} values", "simple values (text or numbers)"
            )
        exprs.append(e.alias(name))
    try:
        out = df.select(exprs)
    except pl.exceptions.PolarsError as e:
        raise _err(p, f"cannot convert columns to text ({e})", "simple values") from None
    out = out.rename({c: _clean_header(c) for c in out.columns})
    _check_reserved(p, out.columns)
    if len(set(out.columns)) != len(out.columns) or "" in out.columns:
        raise _err(p, "blank or repeated column names", "unique column names", row=1)
    blank = (
        pl.all_horizontal(
            pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in out.columns
        )
        if out.width
        else pl.lit(False)
    )
    out = out.with_row_index(ROW_COLUMN, offset=first_row).with_columns(
        pl.col(ROW_COLUMN).cast(pl.UInt32)
    )
    return out.filter(~blank) if out.width > 1 else out


def read_parquet(p: Path) -> pl.DataFrame:
    """A Parquet file as the raw table (row numbers as in a spreadsheet export)."""
    import pyarrow.parquet as pq

    try:  # pyarrow rather than polars: it raises errors for corrupt files where polars may panic
        df = pl.from_arrow(pq.read_table(p))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # ArrowInvalid, OSError, MemoryError, a Rust panic …
        raise _err(p, f"not a readable Parquet file ({e})", "a complete Parquet file") from None
    assert isinstance(df, pl.DataFrame)
    return _to_strings(p, df, FIRST_ROW[".parquet"])


def read_sav(p: Path) -> tuple[pl.DataFrame, ReadInfo]:
    """An SPSS file as the raw table (value labels applied) and its variable labels."""
    import pyreadstat

    try:
        pdf, meta = pyreadstat.read_sav(str(p), apply_value_formats=True, formats_as_category=False)
    except Exception as e:  # pyreadstat raises its own ReadstatError and others
        raise _err(p, f"not a readable SPSS file ({e})", "an SPSS .sav file") from None
    cols: dict[str, pl.Series] = {}
    for name in pdf.columns:
        values = [_cell(v) for v in pdf[name].tolist()]
        cols[str(name)] = pl.Series(str(name), values, dtype=pl.String)
    labels = {
        _clean_header(k): _clean_header(v)
        for k, v in (getattr(meta, "column_names_to_labels", None) or {}).items()
        if v and _clean_header(v)
    }
    frame = _to_strings(p, pl.DataFrame(cols), FIRST_ROW[".sav"])
    return frame, ReadInfo(str(p), "sav", labels=labels)
