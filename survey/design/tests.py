"""Tests of independence in two-way tables, as R's ``svychisq``.

Rao-Scott (Pearson ``X2`` of the weighted table scaled to n, with the design effects matrix
``Delta`` of the interaction contrasts):

* ``"F"``: ``F = X2 / tr(Delta)`` on ``(d0, d0 nu)`` df, ``d0 = tr(Delta)^2 / tr(Delta^2)``;
* ``"Chisq"``: ``X2``, p-value of ``X2 / mean(diag(Delta))`` on ``(r - 1)(c - 1)`` df;
* ``"saddlepoint"``: ``X2`` against the weighted sum of chi-squares with the eigenvalues of
  ``Delta`` (R's ``pFsum``/``pchisqsum`` saddlepoint approximation, denominator ``d0 nu``);
* ``"lincom"``: the same distribution with the p-value method ``method`` of R's
  ``pFsum``/``pchisqsum``: ``"integration"`` (default) evaluates it exactly (Imhof's integral,
  Ruben's series without a denominator; R does this with ``CompQuadForm::davies``, and
  without that package falls back to the saddlepoint with a warning, so R's
  ``svychisq(statistic = "lincom")`` there equals ``method="saddlepoint"``);
  ``"saddlepoint"`` is R's saddlepoint approximation and ``"satterthwaite"`` R's
  Satterthwaite moment match (a scaled F on ``(d0, d0 nu)`` df, the ``"F"`` test's p-value;
  replicate designs: a scaled chi-square).

Wald (``Y``: weighted cell totals minus the products of the margins over the total, with its
design covariance by linearization):

* ``"Wald"``: ``Y' V^-1 Y / ((r-1)(c-1))`` on ``((r-1)(c-1), nu)``;
* ``"adjWald"``: ``Y' V^-1 Y (nu - k + 1) / (k nu)`` on ``(k, nu - k + 1)``, ``k = (r-1)(c-1)``.

``nu`` is the design's degrees of freedom (PSUs minus strata; replicate designs: ``degf``).
Only levels present are used; rows missing either variable are left out (``na.rm = TRUE``).
Replicate designs take the covariances from their replicates.

Example:
    >>> import polars as pl
    >>> from survey.design import Design
    >>> f = pl.DataFrame({"a": ["x", "y"] * 20, "b": ["u"] * 25 + ["v"] * 15})
    >>> Design(f).chisq("a", "b").ndf
    1.0
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import integrate, stats

from survey.design._columns import _level_codes
from survey.design._quantile_score import uniroot
from survey.errors import EstimationError

STATISTICS = ("F", "Chisq", "Wald", "adjWald", "lincom", "saddlepoint")
METHODS = ("integration", "saddlepoint", "satterthwaite")


@dataclass(frozen=True)
class ChisqResult:
    """Result of a test; ``ndf``/``ddf`` are None where R gives no parameter."""

    row: str
    col: str
    method: str
    statistic: float
    ndf: float | None
    ddf: float | None
    p_value: float

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame([self.__dict__])


def svychisq(design: Any, row: str, col: str, statistic: str = "F",
             method: str = "integration") -> ChisqResult:
    """Test of association between two categorical columns of ``design`` (a
    :class:`~survey.design.Design` or a replicate design); ``method``: the p-value method of
    ``statistic="lincom"`` (R's ``pFsum`` names, see the module docstring).

    Example:
        >>> import polars as pl
        >>> from survey.design import Design
        >>> f = pl.DataFrame({"a": ["x", "y"] * 20, "b": ["u"] * 25 + ["v"] * 15})
        >>> d = Design(f)
        >>> s = svychisq(d, "a", "b", "lincom", method="satterthwaite")
        >>> s.p_value == svychisq(d, "a", "b", "F").p_value
        True
    """
    if statistic not in STATISTICS:
        raise EstimationError(f"statistic={statistic!r}; expected one of {STATISTICS}")
    if method not in METHODS:
        raise EstimationError(f"method={method!r}; expected one of {METHODS}", value=method)
    rep = hasattr(design, "repweights")
    rc, _ = _level_codes(design.frame, row, "chisq", allow_null=True)
    cc, _ = _level_codes(design.frame, col, "chisq", allow_null=True)
    ok = (rc >= 0) & (cc >= 0)
    r_used, c_used = np.unique(rc[ok], return_inverse=True), np.unique(cc[ok], return_inverse=True)
    nr, nc = len(r_used[0]), len(c_used[0])
    if nr < 2 or nc < 2:
        raise EstimationError(f"chisq needs at least 2 levels in '{row}' and '{col}'; "
                              f"found {nr} and {nc}", column=row if nr < 2 else col)
    ri, ci_ = np.full(design.n, -1), np.full(design.n, -1)
    ri[ok], ci_[ok] = r_used[1].ravel(), c_used[1].ravel()
    n = design.n
    k = nr * nc
    mm = np.zeros((n, k))
    rows_ok = np.flatnonzero(ok)
    mm[rows_ok, ri[ok] + nr * ci_[ok]] = 1.0  # rows vary fastest, as interaction()
    nu = float(design.degf) if rep else float(design._st.n_psus - design._st.n_strata)
    if statistic in ("Wald", "adjWald"):
        return _wald(design, rep, row, col, statistic, mm, ri, ci_, ok, nr, nc, nu)
    mean2, vmat = _means(design, rep, mm, ok)
    rows, cols = np.arange(k) % nr, np.arange(k) // nr
    x1 = np.column_stack([np.ones(k)] + [rows == i for i in range(1, nr)]
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
    if statistic == "F":
        f = x2 / tr
        return ChisqResult(row, col, "F", float(f), float(d0), float(d0 * nu),
                           float(stats.f.sf(f, d0, d0 * nu)))
    if statistic == "Chisq":
        df = float((nr - 1) * (nc - 1))
        return ChisqResult(row, col, "Chisq", x2, df, None,
                           float(stats.chi2.sf(x2 / np.mean(np.diag(delta)), df)))
    lam = np.linalg.eigvals(delta).real
    ddf = np.inf if rep else d0 * nu
    how = "saddlepoint" if statistic == "saddlepoint" else method
    p = {"saddlepoint": saddlepoint_sf, "satterthwaite": satterthwaite_sf,
         "integration": imhof_sf}[how](x2, lam, ddf)
    return ChisqResult(row, col, statistic, x2, None, None, float(p))


def _means(design: Any, rep: bool, mm: np.ndarray, ok: np.ndarray):
    """Weighted cell shares (over rows with both values) and their covariance."""
    if rep:
        wall = design.all_weights() * ok[:, None]
        means = (mm.T @ wall) / wall.sum(0)
        return means[:, 0], design.svrvar(means[:, 1:].T, means[:, 0])
    w = np.asarray(design.weights, float)
    wsum = w[ok].sum()
    mean2 = (w[ok, None] * mm[ok]).sum(0) / wsum
    z = np.where(ok[:, None], w[:, None] * (mm - mean2) / wsum, 0.0)
    return mean2, design._vcov_totals(z)


def _wald(design, rep, row, col, statistic, mm, ri, ci_, ok, nr, nc, nu) -> ChisqResult:
    n = design.n
    mr = np.zeros((n, nr))
    mc = np.zeros((n, nc))
    mr[np.flatnonzero(ok), ri[ok]] = 1.0
    mc[np.flatnonzero(ok), ci_[ok]] = 1.0
    x = np.column_stack([mm, mr, mc, ok.astype(float)])
    if rep:
        tots = x.T @ design.all_weights()
        cells, v = tots[:, 0], design.svrvar(tots[:, 1:].T, tots[:, 0])
    else:
        w = np.asarray(design.weights, float)
        cells = x.T @ w
        v = design._vcov_totals(w[:, None] * x)
    k = nr * nc
    rt, ct, tot = cells[k:k + nr], cells[k + nr:k + nr + nc], cells[-1]
    rows, cols = np.arange(k) % nr, np.arange(k) // nr
    jcb = np.column_stack([np.eye(k),
                           -1.0 * (rows[:, None] == np.arange(nr)) * (ct[cols] / tot)[:, None],
                           -1.0 * (cols[:, None] == np.arange(nc)) * (rt[rows] / tot)[:, None],
                           (rt[rows] * ct[cols] / tot**2)[:, None]])
    y = cells[:k] - rt[rows] * ct[cols] / tot
    vv = jcb @ v @ jcb.T
    use = np.flatnonzero((rows > 0) & (cols > 0))
    wald = float(y[use] @ np.linalg.solve(vv[np.ix_(use, use)], y[use]))
    ndf = float((nr - 1) * (nc - 1))
    if statistic == "Wald":
        stat, ddf = wald / ndf, nu
    else:
        ddf = nu - ndf + 1
        stat = wald * ddf / (ndf * nu)
    return ChisqResult(row, col, statistic, stat, ndf, ddf, float(stats.f.sf(stat, ndf, ddf)))


# ---------------------------------------------------------------------- sums of chi-squares
def saddle(x: float, lam: np.ndarray) -> float:
    """R's ``survey:::saddle``: upper tail of ``sum lam_i chi2_1`` at ``x`` (NaN if undefined).

    Example:
        >>> import numpy as np
        >>> round(saddle(5.0, np.array([1.0, 1.0])), 6)  # R: 0.08316312
        0.083163
    """
    d = float(np.max(lam))
    lam, x = np.asarray(lam, float) / d, x / d

    def k0(z):
        return -np.sum(np.log(1 - 2 * z * lam)) / 2

    def k1(z):
        return float(np.sum(lam / (1 - 2 * z * lam)))

    def k2(z):
        return 2 * float(np.sum(lam**2 / (1 - 2 * z * lam) ** 2))

    if np.any(lam < 0):
        lmin = float(np.max(1 / (2 * lam[lam < 0]))) * 0.99999
    elif x > lam.sum():
        lmin = -0.01
    else:
        lmin = -len(lam) / (2 * x)
    lmax = float(np.min(1 / (2 * lam[lam > 0]))) * 0.99999
    hz = uniroot(lambda z: k1(z) - x, lmin, lmax, tol=1e-8)  # R's root, to R's tolerance
    if not abs(hz) >= 1e-4:  # also R's failure (NaN)
        return np.nan
    w = np.sign(hz) * np.sqrt(2 * (hz * x - k0(hz)))
    v = hz * np.sqrt(k2(hz))
    return float(stats.norm.sf(w + np.log(v / w) / w))


def saddlepoint_sf(x: float, lam: np.ndarray, ddf: float = np.inf) -> float:
    """R's ``pFsum``/``pchisqsum(method = "saddlepoint", lower.tail = FALSE)``."""
    lam = np.asarray(lam, float)
    tr, tr2 = lam.mean(), np.mean(lam**2) / lam.mean() ** 2
    if np.isinf(ddf):
        guess = stats.chi2.sf(x / (tr * tr2), len(lam) / tr2)
        s = saddle(x, lam)
    else:
        ndf = len(lam) / tr2
        guess = stats.f.sf(x / ndf / (tr * tr2), ndf, ddf)
        s = saddle(0.0, np.concatenate([lam, np.repeat(-x / ddf, int(ddf))]))
    return float(guess if np.isnan(s) else s)


def satterthwaite_sf(x: float, lam: np.ndarray, ddf: float = np.inf) -> float:
    """R's ``pFsum``/``pchisqsum(method = "satterthwaite", lower.tail = FALSE)``: the sum
    matched by its first two moments, a scaled chi-square (over ``chi2_ddf / ddf``: an F).

    Example:
        >>> import numpy as np
        >>> from scipy import stats
        >>> bool(satterthwaite_sf(4.0, np.array([2.0, 2.0])) == stats.chi2.sf(2.0, 2))
        True
    """
    lam = np.asarray(lam, float)
    tr, tr2 = lam.mean(), np.mean(lam**2) / lam.mean() ** 2
    scale, ndf = tr * tr2, len(lam) / tr2
    if np.isinf(ddf):
        return float(stats.chi2.sf(x / scale, ndf))
    return float(stats.f.sf(x / ndf / scale, ndf, ddf))


def imhof_sf(x: float, lam: np.ndarray, ddf: float = np.inf) -> float:
    """Exact upper tail of ``sum lam_i chi2_1`` (over ``chi2_ddf / ddf`` when ``ddf`` is finite)
    at ``x``, by Imhof's integral.

    Example:
        >>> import numpy as np
        >>> round(imhof_sf(6.0, np.array([2.0, 2.0])), 6) == round(float(np.exp(-1.5)), 6)
        True
    """
    lam = np.asarray(lam, float)
    h = np.ones(len(lam))
    c = x
    if not np.isfinite(ddf) and np.all(lam > 0) and lam.min() > 0.05 * lam.max():
        return _ruben_sf(x, lam)  # converges fast unless an eigenvalue is tiny
    if np.isfinite(ddf):
        lam, h, c = np.append(lam, -x / ddf), np.append(h, ddf), 0.0

    def f(u):
        theta = 0.5 * np.sum(h * np.arctan(lam * u)) - 0.5 * c * u
        rho = np.prod((1 + (lam * u) ** 2) ** (h / 4))
        return np.sin(theta) / (u * rho)

    with np.errstate(over="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val = integrate.quad(f, 0, np.inf, limit=2000, epsabs=1e-12, epsrel=1e-11)[0]
    return float(min(max(0.5 + val / np.pi, 0.0), 1.0))


def _ruben_sf(x: float, lam: np.ndarray, tol: float = 1e-14, max_terms: int = 100_000
              ) -> float:
    """Upper tail of ``sum lam_i chi2_1`` (all ``lam > 0``) by Ruben's mixture of central
    chi-squares (the series behind Farebrother's algorithm, R's ``pchisqsum`` integration)."""
    beta = float(lam.min())
    n = len(lam)
    r = 1 - beta / lam
    a = [float(np.prod(np.sqrt(beta / lam)))]
    g: list[float] = []
    total, k, p = a[0], 0, a[0] * stats.chi2.sf(x / beta, n)
    while total < 1 - tol and k < max_terms:
        k += 1
        g.append(0.5 * float(np.sum(r**k)))
        ak = sum(g[k - 1 - j] * a[j] for j in range(k)) / k
        a.append(ak)
        total += ak
        p += ak * stats.chi2.sf(x / beta, n + 2 * k)
    return float(min(max(p, 0.0), 1.0))
