"""Write waves and tables: deterministic, atomic Parquet for waves; CSV/xlsx/sav for people.

CSV and TSV files are written safe to open in a spreadsheet: a text cell starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return (that a spreadsheet would run as a formula, such as an
agency id ``=HYPERLINK(...)``) is written with a leading ``'`` (plain numbers such as ``-5`` are
left alone), and a :class:`FormulaCellsWarning` says how many cells were changed.

Example:
    >>> import pathlib, tempfile
    >>> from survey.io import load_wave
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> wave = load_wave(2025)
    >>> write_wave(wave, tmp / "2025.parquet", edition=2025).name
    '2025.parquet'
    >>> write_table(wave.frame, tmp / "wave_2025.sav", codebook=wave.codebook).name
    'wave_2025.sav'
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl

from survey.codebook import Codebook
from survey.wave import Wave

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 9
ROW_GROUP_SIZE = 1_000_000
PACKAGE = "mktrend-survey"


def package_version() -> str:
    """Installed version of the package (``pyproject.toml``'s when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        import survey

        return getattr(survey, "__version__", "unknown")


#: permissions of written data files: rw-r--r-- (mkstemp alone would leave 0600)
FILE_MODE = 0o644


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temp file next to ``path`` then move it into place.

    No partial file is left behind when ``write`` fails. Example:
        >>> import pathlib, tempfile
        >>> atomic_write(pathlib.Path(tempfile.mkdtemp()) / "x.txt", lambda p: p.write_text("hi")).read_text()
        'hi'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target


def write_wave(
    wave_or_frame: Wave | pl.DataFrame,
    path: str | Path,
    *,
    edition: int,
    metadata: Mapping[str, object] | None = None,
) -> Path:
    """Write a typed wave as Parquet, deterministically and atomically.

    Same data and metadata give a byte-identical file (fixed compression and row groups, no
    timestamps). Key-value metadata: ``edition``, ``synthetic`` (``"false"`` unless given),
    ``seed`` (when given), ``package_version`` plus any other ``metadata`` keys; a ``Wave``'s own
    metadata is the base and ``metadata`` overrides it.

    Example:
        >>> import pathlib, tempfile
        >>> frame = pl.DataFrame({"resp_id": ["a"]})
        >>> out = write_wave(frame, pathlib.Path(tempfile.mkdtemp()) / "2025.parquet", edition=2025,
        ...                  metadata={"synthetic": True, "seed": 1})
        >>> from survey.io.read import read_metadata
        >>> read_metadata(out)["seed"], read_metadata(out)["synthetic"]
        ('1', 'true')
    """
    import pyarrow.parquet as pq

    frame = wave_or_frame.frame if isinstance(wave_or_frame, Wave) else wave_or_frame
    meta: dict[str, str] = {"synthetic": "false"}
    if isinstance(wave_or_frame, Wave):
        meta.update(wave_or_frame.metadata)
    for k, v in (metadata or {}).items():
        if v is not None:
            meta[str(k)] = str(v).lower() if isinstance(v, bool) else str(v)
    meta["edition"] = str(int(edition))
    meta["package_version"] = package_version()
    table = frame.to_arrow()
    schema_meta = dict(table.schema.metadata or {})
    schema_meta.update({k.encode(): meta[k].encode() for k in sorted(meta)})
    table = table.replace_schema_metadata(schema_meta)

    def _write(tmp: Path) -> None:
        pq.write_table(
            table,
            tmp,
            compression=COMPRESSION,
            compression_level=COMPRESSION_LEVEL,
            row_group_size=ROW_GROUP_SIZE,
            use_dictionary=True,
            write_statistics=True,
        )

    return atomic_write(path, _write)


def write_table(
    frame: pl.DataFrame,
    path: str | Path,
    *,
    encoding: str = "utf-8-sig",
    codebook: Codebook | None = None,
    sheet: str = "wave",
) -> Path:
    """Write ``frame`` as ``.csv``/``.tsv`` (``encoding``), ``.xlsx``, ``.sav`` or ``.parquet``.

    CSV: booleans as ``1``/``0``, blanks for nulls, ``encoding`` one of ``utf-8``, ``utf-8-sig``,
    ``gb18030``, ``gbk``. SPSS: ``Enum`` columns as integer codes 1..k with the Chinese labels
    (from ``codebook``; the codes themselves without one) as value labels, booleans as 0/1.
    Parquet here is a plain file without wave metadata (see :func:`write_wave`).

    CSV/TSV text cells that a spreadsheet would run as a formula get a leading ``'`` (see the
    module docstring).

    Example:
        >>> import pathlib, tempfile, warnings
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "w.csv"
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     _ = write_table(pl.DataFrame({"id": ["=HYPERLINK(1)", "-5"]}), out, encoding="utf-8")
        >>> out.read_text(encoding="utf-8").splitlines(), str(caught[0].message)[:40]
        (['id', "'=HYPERLINK(1)", '-5'], '1 cell(s) starting with = + - @ (which a')
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext in (".csv", ".tsv", ".txt"):
        sep = "\t" if ext == ".tsv" else ","
        safe, n = neutralize_formulas(_text_frame(frame))
        if n:
            warnings.warn(formula_note(n, p), FormulaCellsWarning, stacklevel=2)
        text = safe.write_csv(separator=sep, null_value="")
        data = text.encode(encoding)
        return atomic_write(p, lambda tmp: tmp.write_bytes(data))
    if ext == ".xlsx":
        return atomic_write(p, lambda tmp: _write_xlsx(frame, tmp, sheet))
    if ext in (".sav", ".zsav"):
        return atomic_write(p, lambda tmp: _write_sav(frame, tmp, codebook, ext == ".zsav"))
    if ext == ".parquet":
        return atomic_write(p, lambda tmp: frame.write_parquet(tmp))
    raise ValueError(f"cannot write '{p.suffix}' files; use .csv, .tsv, .xlsx, .sav or .parquet")


class FormulaCellsWarning(UserWarning):
    """Text cells were prefixed with ``'`` so that spreadsheets do not run them as formulas."""


_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?%?$"


def neutralize_formulas(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Text cells starting with ``= + - @``, tab or CR (not plain numbers) prefixed with ``'``.

    Returns the frame and the number of cells changed.

    >>> neutralize_formulas(pl.DataFrame({"a": ["=1+1", "@SUM(A1)", "-3.5", "+86 10", None]}))[0]["a"].to_list()
    ["'=1+1", "'@SUM(A1)", '-3.5', "'+86 10", None]
    """
    exprs, counts = [], []
    for name, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        c = pl.col(name)
        risky = c.str.contains(_FORMULA.pattern) & ~c.str.contains(_NUMBER)
        exprs.append(pl.when(risky).then(pl.lit("'") + c).otherwise(c).alias(name))
        counts.append(risky.sum().alias(name))
    if not exprs:
        return frame, 0
    n = int(sum(frame.select(counts).row(0)))
    return (frame.with_columns(exprs), n) if n else (frame, 0)


def formula_note(n: int, where: object) -> str:
    """The sentence that says cells were neutralised (for warnings and the CLI)."""
    return (
        f"{n} cell(s) starting with = + - @ (which a spreadsheet would run as a formula) were "
        f"written with a leading ' in {where}"
    )


def _text_frame(frame: pl.DataFrame) -> pl.DataFrame:
    exprs = []
    for name, dtype in frame.schema.items():
        c = pl.col(name)
        if dtype == pl.Boolean:
            exprs.append(pl.when(c).then(pl.lit("1")).when(~c).then(pl.lit("0")).alias(name))
        elif dtype.is_float():
            integral = c.is_finite() & (c == c.round(0)) & (c.abs() < 1e15)
            exprs.append(
                pl.when(integral)
                .then(c.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(c.cast(pl.String))
                .alias(name)
            )
        else:
            exprs.append(c.cast(pl.String).alias(name))
    return frame.select(exprs)


def _write_xlsx(frame: pl.DataFrame, path: Path, sheet: str) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "nan_inf_to_errors": True})
    try:
        ws = wb.add_worksheet(sheet)
        ws.write_row(0, 0, frame.columns)
        for r, row in enumerate(frame.iter_rows(), start=1):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, bool):
                    ws.write_number(r, c, int(v))
                elif isinstance(v, int | float):
                    ws.write_number(r, c, v)
                else:
                    ws.write_string(r, c, str(v))
    finally:
        wb.close()


def _write_sav(frame: pl.DataFrame, path: Path, codebook: Codebook | None, compress: bool) -> None:
    import pyreadstat

    labels: dict[str, dict[int, str]] = {}
    exprs = []
    for name, dtype in frame.schema.items():
        c = pl.col(name)
        if isinstance(dtype, pl.Enum):
            cats = list(dtype.categories)
            zh = dict(zip(cats, cats, strict=True))
            if codebook is not None and codebook.is_column(name):
                q, _ = codebook.owner(name)
                zh.update({o.code: o.zh for o in q.options})
            labels[name] = {i + 1: zh[code] for i, code in enumerate(cats)}
            exprs.append((c.to_physical().cast(pl.Float64) + 1).alias(name))
        elif dtype == pl.Boolean or dtype.is_numeric():
            exprs.append(c.cast(pl.Float64).alias(name))
        else:
            exprs.append(c.cast(pl.String).alias(name))
    pdf = frame.select(exprs).to_pandas()
    column_labels = None
    if codebook is not None:
        column_labels = []
        for name in frame.columns:
            if codebook.is_column(name):
                q, sub = codebook.owner(name)
                text = q.short_label("zh")
                column_labels.append(f"{text}: {q.label(sub, 'zh')}" if sub else text)
            else:
                column_labels.append(name)
    pyreadstat.write_sav(
        pdf,
        str(path),
        column_labels=column_labels,
        variable_value_labels=labels or None,
        compress=compress,
    )
