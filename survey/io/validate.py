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
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from survey.codebook import SEP, Codebook, Question
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


@dataclass(frozen=True)
class _Check:
    """One cell-level check: where ``flag`` is true, a problem with ``value`` and ``expected``."""

    kind: str
    column: str
    flag: pl.Expr
    value: pl.Expr
    expected: str | pl.Expr


class _Plan:
    """Typed-column expressions and checks of one validation, evaluated in a few parallel passes."""

    def __init__(self, uniques: dict[str, list[str]], odd_numbers: dict[str, list[str]]) -> None:
        self.uniques = uniques
        self.odd_numbers = odd_numbers
        self.derived: dict[str, pl.Expr] = {}
        self.typed: dict[str, pl.Expr] = {}
        self.checks: list[_Check] = []

    def derive(self, name: str, expr: pl.Expr) -> pl.Expr:
        """Compute ``expr`` once (in the first pass) and refer to it by ``name`` afterwards."""
        self.derived[name] = expr
        return pl.col(name)

    def check(
        self,
        kind: str,
        column: str,
        flag: pl.Expr,
        expected: str | pl.Expr,
        value: pl.Expr | None = None,
    ) -> None:
        raw = pl.col(column).fill_null("") if value is None else value
        self.checks.append(_Check(kind, column, flag, raw, expected))


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
        raw = raw.with_columns(pl.col(ROW_COLUMN).cast(pl.Int64))
    else:
        raw = raw.with_columns(pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias(ROW_COLUMN))
    raw = raw.with_columns(pl.all().exclude(ROW_COLUMN).cast(pl.String)).rechunk()
    columns = [c for c in raw.columns if c != ROW_COLUMN]
    expected = codebook.columns(edition)
    present = set(columns)
    problems = _check_columns(columns, expected, codebook, edition, fname)

    asked = [q for q in codebook if edition is None or q.asked_in(edition)]
    lookup_cols = [
        c
        for q in asked
        if q.type in ("single", "grid", "multi")
        for c in q.columns()
        if c in present
    ]
    number_cols = [c for q in asked if q.type in ("numeric", "constant_sum") for c in q.columns()]
    number_cols = [c for c in [*number_cols, codebook.weight_column] if c in present]
    aggregates = [pl.col(c).drop_nulls().unique().implode() for c in lookup_cols] + [
        pl.col(c).filter(_fast_number(c).is_null() & ~_blank(c)).unique().implode().alias(f"#{c}")
        for c in number_cols
    ]
    found = raw.select(aggregates).row(0, named=True) if aggregates else {}
    plan = _Plan({c: found[c] for c in lookup_cols}, {c: found[f"#{c}"] for c in number_cols})
    if codebook.id_column in present:
        _plan_ids(plan, codebook.id_column)
    for q in asked:
        cols = [c for c in q.columns() if c in present]
        if q.type in ("single", "grid"):
            for c in cols:
                _plan_categorical(plan, q, c)
        elif q.type == "multi":
            _plan_multi(plan, q, cols)
        elif q.type == "numeric":
            for c in cols:
                _plan_number(plan, q, c)
        else:
            _plan_constant_sum(plan, q, cols)
    if codebook.weight_column in present:
        _plan_weight(plan, codebook.weight_column)

    raw = _with_derived(raw, plan.derived)
    problems += _run_checks(raw, plan.checks, fname)
    problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    if problems:
        return None, problems
    order = [*(c for c in expected if c in plan.typed), codebook.weight_column]
    exprs = [plan.typed[c].alias(c) for c in order if c in plan.typed]
    return raw.lazy().select(exprs).collect(), []


def _run_checks(raw: pl.DataFrame, checks: list[_Check], file: str | None) -> list[Problem]:
    """Evaluate every flag in one parallel pass, then gather the rows of those that fired."""
    if not checks:
        return []
    flags = (
        raw.lazy()
        .select(c.flag.fill_null(False).alias(f"f{i}") for i, c in enumerate(checks))
        .collect()
    )
    hits = flags.select(pl.all().any()).row(0)
    out: list[Problem] = []
    for i, (check, hit) in enumerate(zip(checks, hits, strict=True)):
        if not hit:
            continue
        exp = check.expected if isinstance(check.expected, pl.Expr) else pl.lit(check.expected)
        found = (
            raw.lazy()
            .with_columns(flags[f"f{i}"].alias("__flag"))
            .select(
                pl.col(ROW_COLUMN),
                check.value.alias("__value"),
                exp.cast(pl.String).alias("__expected"),
                pl.col("__flag"),
            )
            .filter(pl.col("__flag"))
            .collect()
        )
        for row, value, expected in found.select(ROW_COLUMN, "__value", "__expected").iter_rows():
            out.append(Problem(expected, file, row, check.column, value, check.kind))
    return out


# -- columns --------------------------------------------------------------------------------------
def _check_columns(
    columns: list[str], expected: list[str], cb: Codebook, edition: int | None, file: str | None
) -> list[Problem]:
    out: list[Problem] = []
    wanted = set(expected)
    for c in columns:
        if c in wanted or c == cb.weight_column:
            continue
        if cb.is_column(c):
            q, _ = cb.owner(c)
            exp = (
                f"no column of question '{q.id}', which edition {edition} did not ask "
                f"(asked in {', '.join(map(str, q.editions))})"
            )
        else:
            exp = (
                f"a column of the codebook ({cb.id_column}, {cb.weight_column} or "
                "<question> / <question>__<code>)"
            )
        out.append(Problem(exp, file, None, c, None, "unknown_column"))
    have = set(columns)
    for c in expected:
        if c in have:
            continue
        if c == cb.id_column:
            exp = "the respondent id column"
        else:
            q, _ = cb.owner(c)
            when = f" in edition {edition}" if edition is not None else ""
            exp = f"a column '{c}' of question '{q.id}' ({q.type}, asked{when})"
        out.append(Problem(exp, file, None, c, None, "missing_column"))
    return out


# -- cells ----------------------------------------------------------------------------------------
def _blank(column: str) -> pl.Expr:
    """True where a cell is null or only whitespace (half- or full-width)."""
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def _plan_ids(plan: _Plan, column: str) -> None:
    stripped = pl.col(column).str.strip_chars()
    ids = pl.when(stripped == "").then(None).otherwise(stripped)
    plan.typed[column] = ids
    plan.check("missing_id", column, ids.is_null(), "a respondent id (never blank)")
    first = pl.col(ROW_COLUMN).first().over(ids)
    plan.check(
        "duplicate_id",
        column,
        ids.is_not_null() & (first != pl.col(ROW_COLUMN)),
        pl.format("a unique respondent id (also in row {})", first),
    )


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


def _mapped(plan: _Plan, column: str, mapping: dict, dtype: pl.DataType) -> pl.Expr:
    if not mapping:
        return pl.lit(None, dtype)
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=dtype)


def _plan_categorical(plan: _Plan, q: Question, column: str) -> None:
    lookup = _lookup(q)
    mapping = {u: lookup.get(key(u)) for u in plan.uniques.get(column, [])}
    mapping = {u: c for u, c in mapping.items() if c is not None}
    codes = plan.derive(f"code#{column}", _mapped(plan, column, mapping, pl.String()))
    blank = plan.derive(f"blank#{column}", _blank(column))
    plan.typed[column] = codes.cast(q.enum())
    plan.check(
        "unknown_code",
        column,
        ~blank & codes.is_null(),
        f"a code or label of '{q.id}': {_labels(q)}",
    )
    if q.required:
        plan.check("missing_required", column, blank, f"an answer (question '{q.id}' is required)")


def _plan_multi(plan: _Plan, q: Question, cols: list[str]) -> None:
    flags = []
    for column in cols:
        option = q.option(column[len(q.id) + len(SEP) :])
        selected = SELECTED | {key(option.code), key(option.zh), key(option.en)}
        mapping: dict[str, bool] = {}
        for u in plan.uniques.get(column, []):
            k = key(u)
            if k in selected or k in NOT_SELECTED:
                mapping[u] = k in selected
        flag = plan.derive(f"flag#{column}", _mapped(plan, column, mapping, pl.Boolean()))
        plan.typed[column] = flag.fill_null(False)
        flags.append(plan.typed[column])
        plan.check(
            "bad_multi_cell",
            column,
            pl.col(column).is_not_null() & flag.is_null(),
            f"1/true/yes/是/√/x or the label '{option.zh}' when selected; "
            "blank/0/false/no/否 when not",
        )
    if q.required and cols and len(cols) == len(q.columns()):
        plan.check(
            "missing_required",
            q.id,
            ~pl.any_horizontal(flags),
            f"at least one selected option of required question '{q.id}'",
            pl.lit(""),
        )


def _with_derived(raw: pl.DataFrame, derived: dict[str, pl.Expr]) -> pl.DataFrame:
    """Add the derived columns in dependency layers (a derived column may use earlier ones)."""
    lazy, done, pending = raw.lazy(), set(raw.columns), dict(derived)
    while pending:
        layer = {n: e for n, e in pending.items() if set(e.meta.root_names()) <= done}
        if not layer:  # pragma: no cover - a cycle would be a programming error
            raise RuntimeError(f"cyclic derived columns: {sorted(pending)}")
        lazy = lazy.with_columns(e.alias(n) for n, e in layer.items())
        done |= set(layer)
        pending = {n: e for n, e in pending.items() if n not in layer}
    return lazy.collect()


def _fast_number(column: str) -> pl.Expr:
    """The common spellings (``12``, `` 12.5 ``, ``30%``) parsed natively; null otherwise."""
    text = pl.col(column).str.strip_chars().str.strip_suffix("%").str.strip_chars()
    return text.cast(pl.Float64, strict=False)


def _slow_number(value: str) -> float | None:
    """Any other spelling: full-width digits, inner spaces (``1 000``); ``None`` if not a number."""
    text = _WS.sub("", unicodedata.normalize("NFKC", value)).removesuffix("%")
    if not text or "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _number(plan: _Plan, column: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(value, blank, not_a_number) of a text column; a trailing ``%`` is accepted."""
    parsed = _fast_number(column)
    odd = {u: _slow_number(u) for u in plan.odd_numbers.get(column, [])}
    odd = {u: v for u, v in odd.items() if v is not None}
    if odd:
        slow = pl.col(column).replace_strict(odd, default=None, return_dtype=pl.Float64)
        parsed = parsed.fill_null(slow)
    blank = plan.derive(f"blank#{column}", _blank(column))
    nan = plan.derive(
        f"nan#{column}", ~blank & (parsed.is_null() | ~parsed.is_finite()).fill_null(True)
    )
    value = plan.derive(f"num#{column}", pl.when(blank | nan).then(None).otherwise(parsed))
    return value, blank, nan


def _plan_number(plan: _Plan, q: Question, column: str) -> None:
    value, blank, nan = _number(plan, column)
    plan.typed[column] = value
    plan.check("not_a_number", column, nan, f"a number (question '{q.id}')")
    if q.range is not None:
        lo, hi = q.range
        plan.check(
            "out_of_range", column, (value < lo) | (value > hi), f"a number from {lo:g} to {hi:g}"
        )
    if q.required:
        plan.check("missing_required", column, blank, f"an answer (question '{q.id}' is required)")


def _plan_constant_sum(plan: _Plan, q: Question, cols: list[str]) -> None:
    total = float(q.total or 0.0)
    values, blanks, bads = [], [], []
    for column in cols:
        value, blank, nan = _number(plan, column)
        negative = (value < 0).fill_null(False)
        plan.typed[column] = value
        plan.check("not_a_number", column, nan, f"a number (part of '{q.id}')")
        plan.check("out_of_range", column, negative, f"a number from 0 to {total:g}")
        values.append(value)
        blanks.append(blank)
        bads.append(nan | negative)
    if not cols or len(cols) != len(q.columns()):
        return
    n_blank = pl.sum_horizontal(b.cast(pl.Int32) for b in blanks)
    n_bad = pl.sum_horizontal(b.cast(pl.Int32) for b in bads)
    partial = (n_blank > 0) & (n_blank < len(cols))
    for i, column in enumerate(cols):
        earlier_filled = pl.all_horizontal([~b for b in blanks[:i]]) if i else pl.lit(True)
        plan.check(
            "sum_mismatch",
            column,
            partial & blanks[i] & earlier_filled,
            f"a number: other parts of '{q.id}' are filled (all parts blank = no answer)",
        )
    total_expr = pl.sum_horizontal(values)
    plan.check(
        "sum_mismatch",
        q.id,
        (n_blank == 0) & (n_bad == 0) & ((total_expr - total).abs() > SUM_TOLERANCE),
        f"parts {' + '.join(cols)} summing to {total:g} (±{SUM_TOLERANCE:g})",
        pl.concat_str(
            [
                pl.concat_str([pl.col(c).str.strip_chars() for c in cols], separator=" + "),
                _shown(total_expr),
            ],
            separator=" = ",
        ),
    )
    if q.required:
        plan.check(
            "missing_required",
            q.id,
            n_blank == len(cols),
            f"an answer (question '{q.id}' is required)",
            pl.lit(""),
        )


def _shown(value: pl.Expr) -> pl.Expr:
    """A number as text: ``110`` rather than ``110.0``, at most 6 decimals."""
    rounded = value.round(6)
    return (
        pl.when(rounded == rounded.round(0))
        .then(rounded.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(rounded.cast(pl.String))
    )


def _plan_weight(plan: _Plan, column: str) -> None:
    value, blank, nan = _number(plan, column)
    plan.typed[column] = value
    plan.check("bad_weight", column, blank | nan | (value <= 0), "a positive number")
