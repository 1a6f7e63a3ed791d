"""Check a raw (all-String) wave table against the codebook and type it, finding every problem.

:func:`validate` looks at every column and every cell in one pass and returns the typed frame
only when nothing is wrong. The checks, each with a stable ``kind``:

================== ======================================================================
kind               meaning
================== ======================================================================
unknown_column     a column the codebook does not know (or, with answers, of a question not asked)
missing_column     the id column, or a column of an option/item asked in the edition, is absent
unknown_code       a single/grid cell that is no code, Chinese label or English label
not_asked          an answer the edition did not ask: a code of an option it did not ask, or a
                   selected/filled cell in the column of an option or item it did not ask
exclusive_conflict an ``exclusive`` option ("none of these") selected together with another option
out_of_range       a number outside the question's ``range`` (constant-sum parts: 0..total)
not_a_number       text in a numeric or constant-sum column
duplicate_id       a respondent id used before, compared after NFKC normalisation (full- and
                   half-width forms, invisible characters and edge spaces ignored); the problem names
                   the first row and how the id is written there
missing_id         a blank respondent id
bad_multi_cell     a multi-select cell that is neither a "selected" nor a "not selected" marker
sum_mismatch       constant-sum parts not summing to ``total`` (±0.5), or only partly blank
missing_required   a blank answer to a ``required`` question
bad_weight         a blank, non-numeric, non-finite or non-positive weight, or one above the bound
                   (:data:`WEIGHT_MAX_RATIO` × the median weight, or :data:`WEIGHT_MAX`)
================== ======================================================================

Policy for columns: every column of every option and item asked in the edition must be present,
required or not (a blank column is how a file says "nobody answered"); the weight column is
optional. What the edition did not ask (``docs/codebook-format.md``: ``editions``, ``added``,
``dropped``) may be absent or blank: a question not asked is left out of the typed frame, an
option or item not asked is a column of nulls (never ``False`` or 0; a multi-select column that
only says "not selected" is read as not asked too). Answers in such columns are problems
(``unknown_column`` for a question, ``not_asked`` for an option or item), never dropped silently.
Matching of codes and labels ignores case, all whitespace (half- and full-width) and full-width
forms (NFKC). Multi-select, read as the file writes it: where the question's cells say "not
selected" explicitly (``0``, ``否``, ``false`` …), a respondent whose cells are all blank did not
answer it (routed past it, or skipped it) and every option is null for them, so shares are of
those who answered; a blank next to filled cells is "not selected". Where the file marks only
selections (``1`` or the label, blank otherwise), a blank is "not selected". Required
multi-select: at least one option must be selected, reported under the question id. Nothing is
dropped: every raw row is in the typed frame.

Example:
    >>> import polars as pl
    >>> from survey.codebook import Codebook
    >>> from survey.io.validate import validate
    >>> raw = pl.DataFrame({"resp_id": ["A1", "Ａ１"], "industry": ["汽车", "飞机"]})
    >>> _, problems = validate(raw, Codebook.load(), edition=2025)
    >>> [(p.kind, p.row, p.value) for p in problems if p.column in raw.columns]
    [('duplicate_id', 3, 'Ａ１'), ('unknown_code', 3, '飞机')]
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from survey.codebook import Codebook
from survey.errors import Problem
from survey.io._validate_cells import (
    NOT_SELECTED,
    SELECTED,
    SUM_TOLERANCE,
    WEIGHT_MAX,
    WEIGHT_MAX_RATIO,
    Check,
    Plan,
    fast_number,
    id_key,
    is_blank,
    key,
    plan_categorical,
    plan_constant_sum,
    plan_ids,
    plan_multi,
    plan_number,
    plan_weight,
    with_derived,
)
from survey.io.read import ROW_COLUMN

__all__ = [
    "KINDS",
    "NOT_SELECTED",
    "SELECTED",
    "SUM_TOLERANCE",
    "WEIGHT_MAX",
    "WEIGHT_MAX_RATIO",
    "id_key",
    "key",
    "validate",
]

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
    "not_asked",
    "exclusive_conflict",
)


def validate(
    raw: pl.DataFrame,
    codebook: Codebook,
    *,
    edition: int | None = None,
    file: str | Path | None = None,
    not_asked: Literal["error", "null"] = "error",
) -> tuple[pl.DataFrame | None, list[Problem]]:
    """Type ``raw`` (from :func:`~survey.io.read.read_table`) and list *every* problem.

    Returns ``(typed_frame, [])`` when the table is clean, else ``(None, problems)``, problems
    sorted by row (file-level problems first). Row numbers come from ``raw[ROW_COLUMN]`` (header =
    row 1); without that column, row ``i`` (0-based) is row ``i + 2``.

    ``not_asked="null"`` reads the columns of options and items the edition did not ask as null
    whatever they hold, without a problem: for a synthetic wave generated before the codebook
    recorded that the option was not asked (``survey synth`` regenerates it). A delivery is
    checked with the default, ``"error"``: answers there are ``not_asked`` problems.

    Example:
        >>> cb = Codebook.load()
        >>> raw = pl.DataFrame({c: ["", ""] for c in cb.columns(2025)}).with_columns(
        ...     resp_id=pl.lit("r1"), industry=pl.Series(["汽车", "auto"]),
        ...     job_level=pl.lit("管理层"), business_model=pl.lit("电商"), position=pl.lit("数据"),
        ...     brand_type=pl.lit("成熟品牌"), budget_size=pl.lit("small"),
        ...     challenges__roi=pl.Series(["1", ""]), challenges__measurement=pl.Series(["0", ""]))
        >>> frame, problems = validate(raw, cb, edition=2025)
        >>> frame is None, [(p.kind, p.row, p.column) for p in problems]
        (True, [('duplicate_id', 3, 'resp_id')])
        >>> frame, _ = validate(raw.with_columns(resp_id=pl.Series(["r1", "r2"])), cb, edition=2025)
        >>> frame["industry"].to_list(), frame["challenges__roi"].to_list()
        (['auto', 'auto'], [True, None])
        >>> frame["challenges__measurement"].to_list()  # row 3 did not answer the question: null
        [False, None]
    """
    fname = None if file is None else str(file)
    if ROW_COLUMN in raw.columns:
        raw = raw.with_columns(pl.col(ROW_COLUMN).cast(pl.Int64))
    else:
        raw = raw.with_columns(pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias(ROW_COLUMN))
    raw = raw.with_columns(pl.all().exclude(ROW_COLUMN).cast(pl.String)).rechunk()
    columns = [c for c in raw.columns if c != ROW_COLUMN]
    present = set(columns)
    asked = codebook.questions_in(edition)
    asked_ids = {q.id for q in asked}
    lookup_cols = [
        c
        for q in asked
        if q.type in ("single", "grid", "multi")
        for c in q.columns()
        if c in present
    ]
    if codebook.id_column in present:
        lookup_cols.append(codebook.id_column)
    # columns of questions the edition did not ask: tolerated when blank
    other_cols = [
        c for c in columns if codebook.is_column(c) and codebook.owner(c)[0].id not in asked_ids
    ]
    number_cols = [c for q in asked if q.type in ("numeric", "constant_sum") for c in q.columns()]
    number_cols = [c for c in [*number_cols, codebook.weight_column] if c in present]
    aggregates = (
        [pl.col(c).drop_nulls().unique().implode() for c in lookup_cols]
        + [
            pl.col(c)
            .filter(fast_number(c).is_null() & ~is_blank(c))
            .unique()
            .implode()
            .alias(f"#{c}")
            for c in number_cols
        ]
        + [(~is_blank(c)).sum().alias(f"!{c}") for c in other_cols]
    )
    found = raw.select(aggregates).row(0, named=True) if aggregates else {}
    filled = {c for c in other_cols if found[f"!{c}"]}
    problems = _check_columns(columns, codebook, edition, fname, filled)
    plan = Plan(
        {c: found[c] for c in lookup_cols},
        {c: found[f"#{c}"] for c in number_cols},
        edition,
        stale_ok=not_asked == "null",
    )
    if codebook.id_column in present:
        plan_ids(plan, codebook.id_column)
    for q in asked:
        cols = [c for c in q.columns() if c in present]
        if q.type in ("single", "grid"):
            for c in cols:
                plan_categorical(plan, q, c)
        elif q.type == "multi":
            plan_multi(plan, q, cols)
        elif q.type == "numeric":
            for c in cols:
                plan_number(plan, q, c)
        else:
            plan_constant_sum(plan, q, cols)
    if codebook.weight_column in present:
        plan_weight(plan, codebook.weight_column)

    raw = with_derived(raw, plan.derived)
    problems += _run_checks(raw, plan.checks, fname)
    problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    if problems:
        return None, problems
    dtypes = codebook.column_dtypes(edition)
    exprs = [
        (plan.typed[c] if c in plan.typed else pl.lit(None, dtype)).cast(dtype).alias(c)
        for c, dtype in dtypes.items()
        if c in plan.typed or c != codebook.weight_column
    ]
    return raw.lazy().select(exprs).collect(), []


def _run_checks(raw: pl.DataFrame, checks: list[Check], file: str | None) -> list[Problem]:
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
    columns: list[str], cb: Codebook, edition: int | None, file: str | None, filled: set[str]
) -> list[Problem]:
    """Unknown and missing columns. ``filled``: columns of questions not asked that have answers."""
    out: list[Problem] = []
    known = {c for q in cb.questions_in(edition) for c in q.columns()}
    for c in columns:
        if c in known or c in (cb.weight_column, cb.id_column):
            continue
        if cb.is_column(c):
            if c not in filled:
                continue  # a blank column of a question the edition did not ask
            q, _ = cb.owner(c)
            when = ", ".join(map(str, q.editions)) or "other editions"
            exp = (
                f"no answers in a column of question '{q.id}', which edition {edition} did not "
                f"ask (asked in {when}); a blank column is accepted"
            )
        else:
            exp = (
                f"a column of the codebook ({cb.id_column}, {cb.weight_column} or "
                "<question> / <question>__<code>)"
            )
        out.append(Problem(exp, file, None, c, None, "unknown_column"))
    have = set(columns)
    for c in cb.columns(edition):
        if c in have:
            continue
        if c == cb.id_column:
            exp = "the respondent id column"
        else:
            q, sub = cb.owner(c)
            when = f" in edition {edition}" if edition is not None else ""
            what = f"{q.type}, asked{when}" if sub is None else f"{q.type}, '{sub}' asked{when}"
            exp = f"a column '{c}' of question '{q.id}' ({what})"
        out.append(Problem(exp, file, None, c, None, "missing_column"))
    return out
