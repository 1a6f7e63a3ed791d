"""Cell-level rules of :func:`survey.io.validate.validate`: typed expressions and checks by
question type (ids, single/grid codes, multi-select marks, numbers, constant sums, weights).

Private to :mod:`survey.io.validate`, which explains every rule and re-exports the constants.

Example:
    >>> key(" Food &  Beverage ") == key("food&beverage"), id_key("Ａ１")
    (True, 'A1')
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import polars as pl

from survey.codebook import SEP, Option, Question
from survey.io.read import ROW_COLUMN

SELECTED = frozenset({"1", "1.0", "true", "yes", "是", "√", "✓", "x", "✔", "☑"})
NOT_SELECTED = frozenset({"", "0", "0.0", "false", "no", "否"})
SUM_TOLERANCE = 0.5
WEIGHT_MAX_RATIO = 1e6
"""A weight may be at most this many times the median weight of the file.

A design whose largest weight is a million times its median rests on one respondent (its
effective sample size is about 1): such a weight is a typing or unit error (an id or a count in
the weight column), never a real design weight; real raked or expansion weights stay within a few
hundred times the median."""
WEIGHT_MAX = 1e12
"""An absolute bound on weights: above any count of firms or people a weight can expand to, and
small enough that sums of squared weights over a million respondents (about 1e30) stay far from
float overflow (1.8e308)."""
_WS = re.compile(r"\s+")


def key(value: str) -> str:
    """Matching key of a cell or label: NFKC, lowercase, no whitespace at all.

    Example:
        >>> key(" Food &  Beverage ") == key("food&beverage"), key("汽\u3000车")
        (True, '汽车')
    """
    return _WS.sub("", unicodedata.normalize("NFKC", value).replace("\ufeff", "")).lower()


@dataclass(frozen=True)
class Check:
    """One cell-level check: where ``flag`` is true, a problem with ``value`` and ``expected``."""

    kind: str
    column: str
    flag: pl.Expr
    value: pl.Expr
    expected: str | pl.Expr


class Plan:
    """Typed-column expressions and checks of one validation, evaluated in a few parallel passes."""

    def __init__(
        self,
        uniques: dict[str, list[str]],
        odd_numbers: dict[str, list[str]],
        edition: int | None = None,
        *,
        stale_ok: bool = False,
    ) -> None:
        self.uniques = uniques
        self.odd_numbers = odd_numbers
        self.edition = edition
        self.stale_ok = stale_ok
        self.derived: dict[str, pl.Expr] = {}
        self.typed: dict[str, pl.Expr] = {}
        self.checks: list[Check] = []

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
        self.checks.append(Check(kind, column, flag, raw, expected))

    def not_asked(self, column: str, dtype: pl.DataType, flag: pl.Expr, expected: str) -> None:
        """``column`` belongs to an option or item the edition did not ask: typed as nulls, and
        a ``not_asked`` problem where ``flag`` (an answer) unless stale columns are accepted."""
        self.typed[column] = pl.lit(None, dtype)
        if not self.stale_ok:
            self.check("not_asked", column, flag, expected)


def _not_asked_text(q: Question, code: str, edition: int | None, what: str = "option") -> str:
    """Why ``code`` of ``q`` is not asked in ``edition``, for a problem's ``expected``."""
    o = q.item(code) if what == "item" else q.option(code)
    span = []
    if o.added is not None:
        span.append(f"added in {o.added}")
    if o.dropped is not None:
        span.append(f"dropped in {o.dropped}")
    why = f" ({', '.join(span)})" if span else ""
    return f"{what} '{code}' of '{q.id}' was not asked in edition {edition}{why}"


# -- cells ----------------------------------------------------------------------------------------
def is_blank(column: str) -> pl.Expr:
    """True where a cell is null or only whitespace (half- or full-width)."""
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


_INVISIBLE = frozenset({"Cf", "Zs", "Zl", "Zp", "Cc"})
_PLAIN_ID = re.compile(r"^[\x20-\x7e]*$")


def id_key(value: str) -> str:
    """The key under which two respondent ids are the same id: NFKC (full-width ``Ａ１`` is ``A1``),
    without invisible characters (zero-width spaces, BOMs) and edge whitespace; case is kept.

    Example:
        >>> id_key("Ａ\u200b１ "), id_key("a1") == id_key("A1")
        ('A1', False)
    """
    text = unicodedata.normalize("NFKC", value)
    return "".join(
        ch for ch in text if unicodedata.category(ch) not in _INVISIBLE or ch == " "
    ).strip()


def plan_ids(plan: Plan, column: str) -> None:
    stripped = pl.col(column).str.strip_chars()
    ids = pl.when(stripped == "").then(None).otherwise(stripped)
    plan.typed[column] = ids
    # NFKC only where it can change something: a printable-ASCII id is its own key (stripped)
    odd = [u for u in plan.uniques.get(column, []) if not _PLAIN_ID.match(u)]
    keys = {u: id_key(u) or None for u in odd}
    plain = pl.col(column).str.contains(_PLAIN_ID.pattern)
    key_expr = plan.derive(
        f"key#{column}",
        pl.when(plain).then(ids).otherwise(_mapped(plan, column, keys, pl.String())),
    )
    plan.check(
        "missing_id", column, ids.is_null() | key_expr.is_null(), "a respondent id (never blank)"
    )
    first = pl.col(ROW_COLUMN).first().over(key_expr)
    first_as = pl.col(column).first().over(key_expr)
    plan.check(
        "duplicate_id",
        column,
        key_expr.is_not_null() & (first != pl.col(ROW_COLUMN)),
        pl.when(first_as.str.strip_chars() == stripped)
        .then(pl.format("a unique respondent id (also in row {})", first))
        .otherwise(
            pl.format(
                "a unique respondent id (row {} has '{}', the same id in another form: "
                "ids are compared after NFKC normalisation)",
                first,
                first_as,
            )
        ),
    )


def _labels(q: Question, edition: int | None, limit: int = 6) -> str:
    options = q.options_in(edition)
    shown = [f"{o.code}/{o.label('zh', edition)}/{o.label('en', edition)}" for o in options[:limit]]
    more = f" … ({len(options)} options)" if len(options) > limit else ""
    return ", ".join(shown) + more


def _option_keys(o: Option) -> list[str]:
    """Every spelling of an option: its code and its labels of every edition, keyed."""
    names = [o.en, o.zh, *(w.en for w in o.relabels), *(w.zh for w in o.relabels), o.code]
    return [key(n) for n in names]


def _lookup(q: Question, edition: int | None = None) -> dict[str, str]:
    """Key of a code or label -> option code: labels of every edition, those of ``edition``
    winning over other editions' (a label reused by another option), codes winning over all."""
    table: dict[str, str] = {}
    for o in q.options:
        for w in (o.en, o.zh, *(w.en for w in o.relabels), *(w.zh for w in o.relabels)):
            table[key(w)] = o.code
    for o in q.options:
        for lang in ("en", "zh"):
            table[key(o.label(lang, edition))] = o.code
    for o in q.options:
        table[key(o.code)] = o.code
    return table


def _mapped(plan: Plan, column: str, mapping: dict, dtype: pl.DataType) -> pl.Expr:
    if not mapping:
        return pl.lit(None, dtype)
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=dtype)


def _sub(q: Question, column: str) -> str:
    return column[len(q.id) + len(SEP) :]


def plan_categorical(plan: Plan, q: Question, column: str) -> None:
    ed = plan.edition
    blank = plan.derive(f"blank#{column}", is_blank(column))
    if q.type == "grid" and not q.item(_sub(q, column)).asked_in(ed):
        what = _not_asked_text(q, _sub(q, column), ed, "item")
        plan.not_asked(column, q.enum(), ~blank, f"a blank cell: {what}")
        return
    lookup = _lookup(q, ed)
    mapping = {u: lookup.get(key(u)) for u in plan.uniques.get(column, [])}
    mapping = {u: c for u, c in mapping.items() if c is not None}
    codes = plan.derive(f"code#{column}", _mapped(plan, column, mapping, pl.String()))
    plan.typed[column] = codes.cast(q.enum())
    plan.check(
        "unknown_code",
        column,
        ~blank & codes.is_null(),
        f"a code or label of '{q.id}': {_labels(q, ed)}",
    )
    unasked = [o.code for o in q.options if not o.asked_in(ed)]
    if unasked and set(mapping.values()) & set(unasked):
        plan.check(
            "not_asked",
            column,
            codes.is_in(unasked),
            f"a code asked in edition {ed}: {_labels(q, ed)} "
            f"(not asked in {ed}: {', '.join(unasked)})",
        )
    if q.required:
        plan.check("missing_required", column, blank, f"an answer (question '{q.id}' is required)")


def plan_multi(plan: Plan, q: Question, cols: list[str]) -> None:
    ed = plan.edition
    flags: dict[str, pl.Expr] = {}
    blanks: list[pl.Expr] = []
    for column in cols:
        option = q.option(_sub(q, column))
        if plan.stale_ok and not option.asked_in(ed):
            plan.not_asked(column, pl.Boolean(), pl.lit(False), "")
            continue
        selected = SELECTED | set(_option_keys(option))
        mapping: dict[str, bool] = {}
        for u in plan.uniques.get(column, []):
            k = key(u)
            if k in selected or k in NOT_SELECTED:
                mapping[u] = k in selected
        flag = plan.derive(f"flag#{column}", _mapped(plan, column, mapping, pl.Boolean()))
        plan.check(
            "bad_multi_cell",
            column,
            pl.col(column).is_not_null() & flag.is_null(),
            f"1/true/yes/是/√/x or the label '{option.label('zh', ed)}' when selected; "
            "blank/0/false/no/否 when not",
        )
        if not option.asked_in(ed):
            what = _not_asked_text(q, option.code, ed)
            plan.not_asked(
                column, pl.Boolean(), flag.fill_null(False), f"blank or 'not selected': {what}"
            )
            continue
        flags[option.code] = flag.fill_null(False)
        empty = [u for u in plan.uniques.get(column, []) if not key(u)]
        blank = pl.col(column).is_null() | pl.col(column).is_in(empty) if empty else None
        blanks.append(
            plan.derive(f"blank#{column}", pl.col(column).is_null() if blank is None else blank)
        )
    # A file that writes "not selected" (0, 否, false …) for this question keeps blank for "not
    # answered": a respondent with every asked option blank was routed past it or skipped it
    # (null). A file that marks only selections (1 or the label, else blank) cannot say "not
    # answered": there a blank is "not selected".
    explicit = any(
        key(u) in NOT_SELECTED and key(u) != ""
        for c in cols
        if q.option(_sub(q, c)).asked_in(ed)
        for u in plan.uniques.get(c, [])
    )
    answered = (
        plan.derive(f"answered#{q.id}", ~pl.all_horizontal(blanks)) if blanks and explicit else None
    )
    for code, flag in flags.items():
        column = f"{q.id}{SEP}{code}"
        plan.typed[column] = pl.when(answered).then(flag) if answered is not None else flag
    for code, flag in flags.items():
        if not q.option(code).exclusive:
            continue
        others = [c for c in flags if c != code]
        if not others:
            continue
        chosen = pl.concat_str(
            [pl.when(flags[c]).then(pl.lit(c)) for c in others], separator=", ", ignore_nulls=True
        )
        plan.check(
            "exclusive_conflict",
            f"{q.id}{SEP}{code}",
            flag & pl.any_horizontal(flags[c] for c in others),
            f"'{code}' of '{q.id}' selected alone (it excludes the other options)",
            pl.concat_str([pl.lit(f"{code} + "), chosen]),
        )
    asked = q.columns(ed)
    if q.required and flags and len(flags) == len(asked):
        plan.check(
            "missing_required",
            q.id,
            ~pl.any_horizontal(list(flags.values())),
            f"at least one selected option of required question '{q.id}'",
            pl.lit(""),
        )


def with_derived(raw: pl.DataFrame, derived: dict[str, pl.Expr]) -> pl.DataFrame:
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


def fast_number(column: str) -> pl.Expr:
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


def _number(plan: Plan, column: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(value, blank, not_a_number) of a text column; a trailing ``%`` is accepted."""
    parsed = fast_number(column)
    odd = {u: _slow_number(u) for u in plan.odd_numbers.get(column, [])}
    odd = {u: v for u, v in odd.items() if v is not None}
    if odd:
        slow = pl.col(column).replace_strict(odd, default=None, return_dtype=pl.Float64)
        parsed = parsed.fill_null(slow)
    blank = plan.derive(f"blank#{column}", is_blank(column))
    nan = plan.derive(
        f"nan#{column}", ~blank & (parsed.is_null() | ~parsed.is_finite()).fill_null(True)
    )
    value = plan.derive(f"num#{column}", pl.when(blank | nan).then(None).otherwise(parsed))
    return value, blank, nan


def plan_number(plan: Plan, q: Question, column: str) -> None:
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


def plan_constant_sum(plan: Plan, q: Question, cols: list[str]) -> None:
    total = float(q.total or 0.0)
    ed = plan.edition
    values, blanks, bads = [], [], []
    for column in cols:
        value, blank, nan = _number(plan, column)
        part = _sub(q, column)
        if not q.item(part).asked_in(ed):
            filled = ~blank & (nan | (value != 0)).fill_null(True)
            what = _not_asked_text(q, part, ed, "item")
            plan.not_asked(column, pl.Float64(), filled, f"blank or 0: {what}")
            continue
        negative = (value < 0).fill_null(False)
        plan.typed[column] = value
        plan.check("not_a_number", column, nan, f"a number (part of '{q.id}')")
        plan.check("out_of_range", column, negative, f"a number from 0 to {total:g}")
        values.append(value)
        blanks.append(blank)
        bads.append(nan | negative)
    cols = [c for c in cols if q.item(_sub(q, c)).asked_in(ed)]
    if not cols or len(cols) != len(q.columns(ed)):
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


def plan_weight(plan: Plan, column: str) -> None:
    value, blank, nan = _number(plan, column)
    plan.typed[column] = value
    plan.check("bad_weight", column, blank | nan | (value <= 0), "a positive number")
    median = value.filter(value > 0).median()
    bound = pl.min_horizontal(median * WEIGHT_MAX_RATIO, pl.lit(WEIGHT_MAX))
    plan.check(
        "bad_weight",
        column,
        value > bound,
        pl.format(
            "a weight at most {} ({} × the median weight {}, and at most {})",
            _shown(bound),
            pl.lit(f"{WEIGHT_MAX_RATIO:g}"),
            _shown(median),
            pl.lit(f"{WEIGHT_MAX:g}"),
        ),
    )
