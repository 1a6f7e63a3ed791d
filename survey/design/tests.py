"""Rao-Scott corrected chi-squared tests of independence, as R's ``svychisq``.

``statistic="F"``: ``F = X2 / tr(Delta)`` on ``(d0, d0 * nu)`` df, ``d0 = tr(Delta)^2 / tr(Delta^2)``,
``nu`` = PSUs minus strata (all respondents). ``"Chisq"``: the Pearson ``X2`` of the weighted table
scaled to n, with p-value of ``X2 / mean(diag(Delta))`` on ``(r - 1)(c - 1)`` df. Only levels
present in the data are used (R's ``factor()``).

Example:
    >>> import polars as pl
    >>> from survey.design import Design
    >>> f = pl.DataFrame({"a": ["x", "y"] * 20, "b": ["u"] * 25 + ["v"] * 15})
    >>> Design(f).chisq("a", "b").ndf
    1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from scipy import stats

from survey.errors import EstimationError

if TYPE_CHECKING:
    from survey.design.design import Design


@dataclass(frozen=True)
class ChisqResult:
    """Result of a Rao-Scott test; ``ddf`` is None for ``"Chisq"``."""

    row: str
    col: str
    method: str
    statistic: float
    ndf: float
    ddf: float | None
    p_value: float

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame([self.__dict__])


def svychisq(design: Design, row: str, col: str, statistic: str = "F") -> ChisqResult:
    """Rao-Scott test of association between two categorical columns of ``design``."""
    from survey.design._columns import _level_codes

    if statistic not in ("F", "Chisq"):
        raise EstimationError(f"statistic={statistic!r}; expected 'F' or 'Chisq'")
    rc, _ = _level_codes(design.frame, row, "chisq", allow_null=True)
    cc, _ = _level_codes(design.frame, col, "chisq", allow_null=True)
    ok = (rc >= 0) & (cc >= 0)
    r_used, c_used = np.unique(rc[ok], return_inverse=True), np.unique(cc[ok], return_inverse=True)
    nr, nc = len(r_used[0]), len(c_used[0])
    if nr < 2 or nc < 2:
        raise EstimationError(f"chisq needs at least 2 levels in '{row}' and '{col}'; "
                              f"found {nr} and {nc}", column=row if nr < 2 else col)
    cell = np.full(design.n, -1)
    cell[ok] = r_used[1].ravel() + nr * c_used[1].ravel()  # rows vary fastest, as interaction()
    w = design.weights
    n = design.n
    mm = np.zeros((n, nr * nc))
    mm[np.flatnonzero(ok), cell[ok]] = 1.0
    wsum = w[ok].sum()
    mean2 = (w[ok, None] * mm[ok]).sum(0) / wsum
    z = np.where(ok[:, None], w[:, None] * (mm - mean2) / wsum, 0.0)
    vmat = design._vcov_totals(z)
    rows, cols = np.arange(nr * nc) % nr, np.arange(nr * nc) // nr
    x1 = np.column_stack([np.ones(nr * nc)] + [rows == i for i in range(1, nr)]
                         + [cols == j for j in range(1, nc)]).astype(float)
    x12 = np.column_stack([(rows == i) & (cols == j) for j in range(1, nc)
                           for i in range(1, nr)]).astype(float)
    cmat = x12 - x1 @ np.linalg.lstsq(x1, x12, rcond=None)[0]
    inv = np.where(mean2 == 0, 0.0, 1.0 / np.where(mean2 == 0, 1.0, mean2))
    denom = cmat.T @ (np.diag(inv) / n) @ cmat
    numr = cmat.T @ np.diag(inv) @ vmat @ np.diag(inv) @ cmat
    delta = np.linalg.solve(denom, numr)
    tr = np.trace(delta)
    d0 = tr**2 / np.trace(delta @ delta)
    table = (mean2 * n).reshape(nc, nr).T  # svytable(..., Ntotal = n)
    x2 = float(stats.chi2_contingency(table, correction=False)[0])
    nu = design.degf
    if statistic == "F":
        f = x2 / tr
        return ChisqResult(row, col, "F", float(f), float(d0), float(d0 * nu),
                           float(stats.f.sf(f, d0, d0 * nu)))
    df = float((nr - 1) * (nc - 1))
    return ChisqResult(row, col, "Chisq", x2, df, None,
                       float(stats.chi2.sf(x2 / np.mean(np.diag(delta)), df)))
