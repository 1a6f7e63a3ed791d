"""Check a raw (all-String) wave table against the codebook and type it, finding every problem.

:func:`validate` looks at every column and every cell in one pass and returns the typed frame
only when nothing is wrong. The checks, each with a stable ``kind``:

============== ==========================================================================
kind           meaning
============== ==========================================================================
unknown_column a column the codebook does not know (or of a question not asked in the edition)
missing_column the id column, or a column of a question asked in the edition, is absent
unknown_code   a single/grid cell that is no code, Chinese label or English label
out_of_range   a number outside the question's ``range`` (constant-sum parts: 0..total)
not_a_number   text in a numeric or constant-sum column
duplicate_id   a respondent id used before (the problem names the first row)
missing_id     a blank respondent id
bad_multi_cell a multi-select cell that is neither a "selected" nor a "not selected" marker
sum_mismatch   constant-sum parts not summing to ``total`` (±0.5), or only partly blank
missing_required a blank answer to a ``required`` question
bad_weight     a blank, non-numeric, non-finite or non-positive weight
============== ==========================================================================

Policy for columns: every column of every question asked in the edition must be present, required
or not (a blank column is how a file says "nobody answered"); the weight column is optional.
Columns of a question the codebook marks as not asked in the edition are ``unknown_column``.
Matching of codes and labels ignores case, all whitespace (half- and full-width) and full-width
forms (NFKC). Multi-select of a required question: at least one option must be selected, reported
under the question id. Nothing is dropped: every raw row is in the typed frame.

Example:
    >>> from survey.io.validate import validate
    >>> frame, problems = validate(raw, codebook, edition=2025, file="w.csv")  # doctest: +SKIP
    >>> [p.kind for p in problems]  # doctest: +SKIP
    ['unknown_code']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from survey.codebook import Codebook, Question
from survey.errors import Problem
from survey.io.read import ROW_COLUMN

KINDS = (
    "unknown_column",
    "missing_column",
    "unknown_code",
    "out_of_range",
    "not_a_number",
    "duplicate_id",
    "missing_id",
    "bad_multi_cell",
    "sum_mismatch",
    "missing_required",
    "bad_weight",
)
SELECTED = frozenset({"1", "1.0", "true", "yes", "是", "√", "✓", "x", "✔", "☑"})
NOT_SELECTED = frozenset({"", "0", "0.0", "false", "no", "否"})
SUM_TOLERANCE = 0.5
_WS = re.compile(r"\s+")


def key(value: str) -> str:
    """Matching key of a cell or label: NFKC, lowercase, no whitespace at all.

    Example:
        >>> key(" Food &  Beverage ") == key("food&beverage"), key("汽\u3000车")
        (True, '汽车')
    """
    return _WS.sub("", unicodedata.normalize("NFKC", value).replace("\ufeff", "")).lower()


class _Collector:
    """Problems of one file, with row numbers taken from the raw frame."""

    def __init__(self, file: str | None, rows: pl.Series) -> None:
        self.file, self.rows, self.items = file, rows, []

    def column(self, kind: str, column: str, expected: str) -> None:
        self.items.append(Problem(expected, self.file, None, column, None, kind))

    def cells(
        self,
        kind: str,
        column: str,
        mask: pl.Series,
        values: pl.Series,
        expected: str | Iterable[str],
    ) -> None:
        """Add one problem per ``True`` in ``mask`` (``expected`` a string or one per hit)."""
        if not mask.any():
            return
        idx = mask.arg_true()
        rows = self.rows.gather(idx).to_list()
        vals = values.gather(idx).to_list()
        exp = [expected] * len(rows) if isinstance(expected, str) else list(expected)
        for r, v, e in zip(rows, vals, exp, strict=True):
            self.items.append(Problem(e, self.file, r, column, "" if v is None else v, kind))


def validate(
    raw: pl.DataFrame,
    codebook: Codebook,
    *,
    edition: int | None = None,
    file: str | Path | None = None,
) -> tuple[pl.DataFrame | None, list[Problem]]:
    """Type ``raw`` (from :func:`~survey.io.read.read_table`) and list *every* problem.

    Returns ``(typed_frame, [])`` when the table is clean, else ``(None, problems)``, problems
    sorted by row (file-level problems first). Row numbers come from ``raw[ROW_COLUMN]`` (header =
    row 1); without that column, row ``i`` (0-based) is row ``i + 2``.

    Example:
        >>> frame, problems = validate(read_table("w.csv"), Codebook.load())  # doctest: +SKIP
    """
    fname = None if file is None else str(file)
    if ROW_COLUMN in raw.columns:
        rows = raw[ROW_COLUMN].cast(pl.Int64)
        raw = raw.drop(ROW_COLUMN)
    else:
        rows = pl.int_range(2, raw.height + 2, eager=True).cast(pl.Int64)
    raw = raw.with_columns(pl.all().cast(pl.String))
    out = _Collector(fname, rows)
    expected = codebook.columns(edition)
    present = set(raw.columns)
    _check_columns(raw.columns, expected, codebook, edition, out)

    typed: dict[str, pl.Series] = {}
    idc = codebook.id_column
    if idc in present:
        typed[idc] = _check_ids(raw[idc], out)
    for q in codebook:
        if edition is not None and not q.asked_in(edition):
            continue
        cols = [c for c in q.columns() if c in present]
        if q.type in ("single", "grid"):
            for c in cols:
                typed[c] = _check_categorical(q, raw[c], out)
        elif q.type == "multi":
            for c in cols:
                typed[c] = _check_multi(q, c, raw[c], out)
            if q.required and len(cols) == len(q.columns()):
                none = ~pl.DataFrame([typed[c] for c in cols]).select(pl.any_horizontal(pl.all()))
                mask = none.to_series()
                out.cells("missing_required", q.id, mask, pl.Series([""] * raw.height),
                          f"at least one selected option of required question '{q.id}'")
        elif q.type == "numeric":
            for c in cols:
                typed[c] = _check_number(q, c, raw[c], out, q.range)
        else:
            _check_constant_sum(q, cols, raw, out, typed)
    if codebook.weight_column in present:
        typed[codebook.weight_column] = _check_weight(raw[codebook.weight_column], out)

    problems = sorted(out.items, key=lambda p: (p.row is not None, p.row or 0))
    if problems:
        return None, problems
    order = [*(c for c in expected if c in typed), codebook.weight_column]
    return pl.DataFrame([typed[c] for c in order if c in typed]), []


# -- columns --------------------------------------------------------------------------------------
def _check_columns(
    columns: list[str], expected: list[str], cb: Codebook, edition: int | None, out: _Collector
) -> None:
    wanted = set(expected)
    for c in columns:
        if c in wanted or c == cb.weight_column:
            continue
        if cb.is_column(c):
            q, _ = cb.owner(c)
            out.column(
                "unknown_column",
                c,
                f"no column of question '{q.id}', which edition {edition} did not ask "
                f"(asked in {', '.join(map(str, q.editions))})",
            )
        else:
            out.column(
                "unknown_column",
                c,
                f"a column of the codebook ({cb.id_column}, {cb.weight_column} or "
                "<question> / <question>__<code>)",
            )
    have = set(columns)
    for c in expected:
        if c in have:
            continue
        if c == cb.id_column:
            out.column("missing_column", c, "the respondent id column")
        else:
            q, _ = cb.owner(c)
            when = f" in edition {edition}" if edition is not None else ""
            out.column(
                "missing_column", c, f"a column '{c}' of question '{q.id}' ({q.type}, asked{when})"
            )


# -- cells ----------------------------------------------------------------------------------------
def _blank(s: pl.Series) -> pl.Series:
    """True where a cell is null or only whitespace (half- or full-width)."""
    return (s.is_null() | (s.str.replace_all(r"[\s\ufeff]+", "") == "")).fill_null(True)


def _check_ids(s: pl.Series, out: _Collector) -> pl.Series:
    ids = s.str.replace_all(r"^[\s\ufeff]+|\s+$", "")
    ids = pl.when(ids == "").then(None).otherwise(ids)
    ids = pl.select(ids.alias(s.name)).to_series()
    out.cells("missing_id", s.name, ids.is_null(), s, "a respondent id (never blank)")
    frame = pl.DataFrame({"id": ids, "row": out.rows})
    first = frame.select(pl.col("row").first().over("id")).to_series()
    dup = ids.is_not_null() & (first != out.rows)
    if dup.any():
        expected = [f"a unique respondent id (also in row {r})" for r in first.filter(dup)]
        out.cells("duplicate_id", s.name, dup, s, expected)
    return ids


def _labels(q: Question, limit: int = 6) -> str:
    shown = [f"{o.code}/{o.zh}/{o.en}" for o in q.options[:limit]]
    more = f" … ({len(q.options)} options)" if len(q.options) > limit else ""
    return ", ".join(shown) + more


def _lookup(q: Question) -> dict[str, str]:
    table: dict[str, str] = {}
    for attr in ("en", "zh", "code"):  # later wins: a code beats a label
        for o in q.options:
            table[key(getattr(o, attr))] = o.code
    return table


def _check_categorical(q: Question, s: pl.Series, out: _Collector) -> pl.Series:
    lookup = _lookup(q)
    mapping = {u: lookup.get(key(u)) for u in s.drop_nulls().unique().to_list()}
    codes = s.replace_strict(mapping, default=None, return_dtype=pl.String) if mapping else s
    blank = _blank(s)
    bad = ~blank & codes.is_null()
    out.cells("unknown_code", s.name, bad, s, f"a code or label of '{q.id}': {_labels(q)}")
    if q.required:
        out.cells("missing_required", s.name, blank, s, f"an answer (question '{q.id}' is required)")
    return codes.cast(q.enum()).alias(s.name)


def _check_multi(q: Question, column: str, s: pl.Series, out: _Collector) -> pl.Series:
    option = q.option(column[len(q.id) + 2 :])
    selected = SELECTED | {key(option.code), key(option.zh), key(option.en)}
    mapping: dict[str, bool | None] = {}
    for u in s.drop_nulls().unique().to_list():
        k = key(u)
        mapping[u] = True if k in selected else False if k in NOT_SELECTED else None
    flags = s.replace_strict(mapping, default=None, return_dtype=pl.Boolean) if mapping else s.cast(pl.Boolean)
    bad = s.is_not_null() & flags.is_null()
    out.cells(
        "bad_multi_cell",
        column,
        bad,
        s,
        f"1/true/yes/是/√/x or the label '{option.zh}' when selected; blank/0/false/no/否 when not",
    )
    return flags.fill_null(False).alias(column)


def _parse_numbers(s: pl.Series) -> tuple[pl.Series, pl.Series, pl.Series]:
    """(values, blank, not_a_number) of a text column; a trailing ``%`` is accepted."""
    text = s.str.normalize("NFKC").str.replace_all(r"[\s\ufeff]+", "").str.replace(r"%$", "")
    blank = _blank(s)
    values = text.cast(pl.Float64, strict=False)
    nan = ~blank & (values.is_null() | ~values.is_finite()).fill_null(True)
    values = pl.select(pl.when(nan | blank).then(None).otherwise(values)).to_series()
    return values.alias(s.name), blank, nan


def _check_number(
    q: Question,
    column: str,
    s: pl.Series,
    out: _Collector,
    bounds: tuple[float, float] | None,
) -> pl.Series:
    values, blank, nan = _parse_numbers(s)
    out.cells("not_a_number", column, nan, s, f"a number (question '{q.id}')")
    if bounds is not None:
        lo, hi = bounds
        outside = ((values < lo) | (values > hi)).fill_null(False)
        out.cells("out_of_range", column, outside, s, f"a number from {lo:g} to {hi:g}")
    if q.required and q.type == "numeric":
        out.cells("missing_required", column, blank, s, f"an answer (question '{q.id}' is required)")
    return values


def _check_constant_sum(
    q: Question, cols: list[str], raw: pl.DataFrame, out: _Collector, typed: dict[str, pl.Series]
) -> None:
    total = float(q.total or 0.0)
    blanks, bads = [], []
    for c in cols:
        values, blank, nan = _parse_numbers(raw[c])
        out.cells("not_a_number", c, nan, raw[c], f"a number (part of '{q.id}')")
        negative = (values < 0).fill_null(False)
        out.cells("out_of_range", c, negative, raw[c], f"a number from 0 to {total:g}")
        typed[c] = values
        blanks.append(blank)
        bads.append(nan | negative)
    if len(cols) != len(q.columns()) or not cols:
        return
    frame = pl.DataFrame(
        {
            "n_blank": pl.DataFrame(blanks).select(pl.sum_horizontal(pl.all())).to_series(),
            "n_bad": pl.DataFrame(bads).select(pl.sum_horizontal(pl.all())).to_series(),
            "sum": pl.DataFrame([typed[c] for c in cols]).select(pl.sum_horizontal(pl.all())).to_series(),
        }
    )
    k = len(cols)
    all_blank = frame["n_blank"] == k
    partial = (frame["n_blank"] > 0) & ~all_blank
    if partial.any():
        first_blank = pl.DataFrame(blanks).select(
            pl.coalesce([pl.when(pl.col(b.name)).then(pl.lit(i)) for i, b in enumerate(blanks)])
        ).to_series()
        for i, c in enumerate(cols):
            mask = partial & (first_blank == i).fill_null(False)
            out.cells(
                "sum_mismatch",
                c,
                mask,
                raw[c],
                f"a number: other parts of '{q.id}' are filled (all parts blank = no answer)",
            )
    full = (frame["n_blank"] == 0) & (frame["n_bad"] == 0)
    off = full & ((frame["sum"] - total).abs() > SUM_TOLERANCE)
    out.cells(
        "sum_mismatch",
        q.id,
        off,
        frame["sum"],
        f"parts {' + '.join(cols)} summing to {total:g} (±{SUM_TOLERANCE:g})",
    )
    if q.required:
        out.cells("missing_required", q.id, all_blank, pl.Series([""] * raw.height),
                  f"an answer (question '{q.id}' is required)")


def _check_weight(s: pl.Series, out: _Collector) -> pl.Series:
    values, blank, nan = _parse_numbers(s)
    bad = blank | nan | (values <= 0).fill_null(False)
    out.cells("bad_weight", s.name, bad, s, "a positive number")
    return values
