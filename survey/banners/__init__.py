"""Banner books: crosstabs of row questions by segment columns with column-proportion letters.

``banner(design, rows, cols)`` tabulates every option (and net) of each row question — a mean for
numeric questions and constant-sum parts, one block per item of a grid — in a total column and
one column per level of each segment variable, and marks with letters (A, B, C … restarting for
each segment variable, as SPSS Custom Tables does) the columns a cell is significantly higher than.

Two tests, chosen with ``test=`` (details and formulas in ``docs/banner-tests.md``):

``"design"`` (default)
    Design-based test of ``p_a - p_b``. Both domain estimates come from the one (calibrated)
    design, so they are correlated in general; ``Var(p_a - p_b) = V_aa + V_bb - 2 V_ab`` where V is
    the covariance of the estimated totals of the joint influence functions
    ``z_c = 1[c] w (y - p_c) / N_c``, as the design's variance primitive ``_vcov_totals``
    computes it (strata, PSUs and raking included; evaluated from cell sums, see ``banner``).
    ``t = (p_a - p_b) / se`` against Student's t with the design's degrees of freedom.
    Reported ``se`` is the design SE.
``"effective_base"``
    The classic Dimensions/Quantum z-test on effective bases: with ``n_a, n_b`` the Kish effective
    bases ``(Σw)²/Σw²`` of the two columns and ``p = (n_a p_a + n_b p_b)/(n_a + n_b)`` pooled,
    ``z = (p_a - p_b) / sqrt(p (1-p) (1/n_a + 1/n_b))`` (means: ``(m_a - m_b)/sqrt(s_a²/n_a +
    s_b²/n_b)``). Assumes independent columns (overlap ignored), simple random sampling apart
    from the Kish design effect of the weights. Reported ``se`` is ``sqrt(p(1-p)/n_eff)``.

Either way the test is two-sided at ``alpha``; the letter goes to the higher column. ``adjust``
("bonferroni" or "holm") corrects for the pairs tested within a segment variable and a row.
Columns whose base is below ``suppress_below`` show "*" and are not tested; below ``flag_below``
they carry "†". An empty segment level is *kept* as a column with ``n = 0`` and suppressed (a book
keeps a stable layout); a segment variable that is not in the data raises ``EstimationError``.

Example:
    >>> import survey
    >>> wave = survey.load_wave(2025)                                   # doctest: +SKIP
    >>> d = survey.Design(wave.frame, weights="weight", codebook=wave.codebook)  # doctest: +SKIP
    >>> b = banner(d, ["confidence"], ["position", "industry"])         # doctest: +SKIP
    >>> b.to_polars().columns[:3]                                       # doctest: +SKIP
    ['question_id', 'item', 'row_code']
    >>> html = b.to_gt().as_raw_html()                                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from survey.banners._blocks import _blocks
from survey.banners._columns import _columns
from survey.banners._columns import _letters as _letters
from survey.banners._parts import _parts
from survey.banners._tabulate import (
    _PAIR_SCHEMA,
    _SCHEMA,
    PUBLIC_COLUMNS,
    _stack,
    _Strings,
    _tabulate,
    z_effective_base,
)
from survey.banners._tabulate import _adjust as _adjust
from survey.banners._text import TEXTS_FILE, TOTAL, Adjust, Test, say
from survey.errors import EstimationError

__all__ = ["TEXTS_FILE", "TOTAL", "Banner", "banner", "say", "z_effective_base"]

@dataclass(frozen=True)
class Banner:
    """A banner book: one tidy frame of cells plus the settings that produced it."""

    cells: pl.DataFrame = field(repr=False)
    pairs: pl.DataFrame = field(repr=False)
    test: Test
    alpha: float
    adjust: Adjust
    suppress_below: int
    flag_below: int
    lang: str = "zh"

    def to_polars(self, lang: str | None = None) -> pl.DataFrame:
        """Tidy cells: one row per (row, column) with estimate, se, bases and letters.

        Example:
            >>> b.to_polars().filter(pl.col("col_variable") == "position")  # doctest: +SKIP
        """
        lg = lang or self.lang
        return self.cells.with_columns(
            pl.col(f"row_label_{lg}").alias("row_label"),
            pl.col(f"col_label_{lg}").alias("col_label"),
        ).select(PUBLIC_COLUMNS)

    def tests(self) -> pl.DataFrame:
        """Every pairwise test: columns ``col_a``/``col_b`` (levels), ``diff``, ``se_diff``,
        ``stat`` (t or z), ``p_value``, ``p_adjusted`` and ``significant``.

        Example:
            >>> b.tests().filter(pl.col("significant"))                    # doctest: +SKIP
        """
        return self.pairs

    def to_gt(self, lang: str | None = None, *, decimals: int = 0) -> Any:
        """A great-tables rendering (row groups per question block, bases per block).

        Example:
            >>> say("total", "zh") in b.to_gt().as_raw_html()               # doctest: +SKIP
            True
        """
        from survey.export.html import _to_gt

        return _to_gt(self, lang or self.lang, decimals)

    def to_html(self, lang: str | None = None, *, decimals: int = 0,
                engine: Literal["fast", "great_tables"] = "fast") -> str:
        """The HTML of :meth:`to_gt` (``to_gt(...).as_raw_html()``).

        ``engine="fast"`` (default) gives the same HTML, byte for byte, in a fraction of the
        time for a whole book: great-tables renders the styles, header and notes, and the body
        rows are written in its markup (see ``_fast_html``); ``"great_tables"`` renders it all
        through great-tables.
        """
        if engine == "great_tables":
            return self.to_gt(lang, decimals=decimals).as_raw_html()
        if engine != "fast":
            raise EstimationError(f"unknown engine {engine!r}", value=engine,
                                  expected="'fast' or 'great_tables'")
        from survey.export.html import _fast_html

        return _fast_html(self, lang or self.lang, decimals)


# ---------------------------------------------------------------------------------------------
# The computation
# ---------------------------------------------------------------------------------------------
def banner(
    design: Any,
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    test: Test = "design",
    alpha: float = 0.05,
    adjust: Adjust = None,
    suppress_below: int = 30,
    flag_below: int = 50,
    lang: str = "zh",
    include_total: bool = True,
    nets: bool = True,
    _variance: str = "auto",
) -> Banner:
    """Tabulate ``rows`` (question ids) by ``cols`` (segment variables) with significance letters.

    See the module docstring and ``docs/banner-tests.md`` for the two tests. Cells hold the
    weighted % of the column's base (respondents of the column who answered the question), the
    unweighted base ``n`` and the Kish effective base ``n_eff``; means for numeric questions.

    The design covariance of the columns is the design primitive's (``Design._vcov_totals``,
    R's ``svyrecvar``) applied to the joint influence columns. By default it is evaluated from
    sums by (stratum or PSU) × calibration cell × column (``_cells_cov``: O(n) time, no n × D
    matrix); ``_variance="primitive"`` calls ``Design._vcov_totals`` on the dense influence
    matrix instead — the tests check that both agree to 1e-9 for simple, stratified, clustered
    and raked designs.

    Example:
        >>> b = banner(design, ["confidence", "challenges"], ["position"], adjust="holm")  # doctest: +SKIP
        >>> b.to_polars().filter(pl.col("sig_higher_than") != "")                    # doctest: +SKIP
    """
    if test not in ("design", "effective_base"):
        raise EstimationError(f"unknown test {test!r}", value=test,
                              expected="'design' or 'effective_base'")
    if adjust not in (None, "bonferroni", "holm"):
        raise EstimationError(f"unknown adjustment {adjust!r}", value=adjust,
                              expected="None, 'bonferroni' or 'holm'")
    parts = _parts(design)
    frame, w = parts.frame, parts.w
    spec, groups = _columns(frame, parts.codebook, cols, include_total)
    if _variance not in ("auto", "aggregated", "primitive"):
        raise EstimationError(f"unknown variance path {_variance!r}",
                              expected="'auto', 'aggregated' or 'primitive'")
    path = "aggregated" if _variance == "auto" else _variance
    if _variance == "auto" and parts.cal is not None and not parts.cal.same_weights(w):
        path = "primitive"  # trimmed after raking: the cell sums assume raking weights = w
    cache: dict[int, dict[str, Any]] = {}
    strings = _Strings()
    out: list[dict[str, list]] = []
    tests: list[dict[str, list]] = []
    block_no = 0
    for qid in rows:
        for blk in _blocks(frame, parts.codebook, qid, nets):
            cells_b, tests_b = _tabulate(blk, block_no, spec, groups, w, parts, test, alpha,
                                         adjust, suppress_below, flag_below, path, cache,
                                         strings)
            out.append(cells_b)
            tests.append(tests_b)
            block_no += 1
    cols_df = pl.DataFrame({
        "col_variable": [c.variable for c in spec], "col_var_zh": [c.var_zh for c in spec],
        "col_var_en": [c.var_en for c in spec], "col_level": [c.level for c in spec],
        "col_label_zh": [c.zh for c in spec], "col_label_en": [c.en for c in spec],
        "letter": pl.Series([c.letter for c in spec], dtype=pl.String),
    })
    if out:  # one frame for the whole book (per-block frames cost more than the statistics)
        row_keys = [k for k in _SCHEMA if k in out[0][0]]
        rows_all = pl.DataFrame({k: pl.Series(k, [x for r, _ in out for x in r[k]],
                                              dtype=_SCHEMA[k]) for k in row_keys})
        rows_all = rows_all.join(cols_df, how="cross", maintain_order="left")
        nums = {k: np.concatenate([np.asarray(o[k]) for _, o in out]) if k != "sig_higher_than"
                else [x for _, o in out for x in o[k]] for k in out[0][1]}
        cells = rows_all.with_columns(
            pl.Series(k, v, dtype=_SCHEMA[k]) for k, v in nums.items()
        ).with_columns(pl.col("estimate", "se").fill_nan(None)).select(list(_SCHEMA))
    else:
        cells = pl.DataFrame(schema=_SCHEMA)
    pairs = pl.DataFrame({k: _stack(k, [t[k] for t in tests], dt, strings)
                          for k, dt in _PAIR_SCHEMA.items()})
    pairs = pairs.with_columns(pl.col("diff", "se_diff", "stat", "p_value", "p_adjusted")
                               .fill_nan(None))
    return Banner(cells, pairs, test, alpha, adjust, suppress_below, flag_below, lang)
