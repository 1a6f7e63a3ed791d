"""Score (test-inversion) intervals of quantiles, as R's ``svyquantile(interval.type =
"score")`` (survey's ``ffullerCI``), and R's root finder ``uniroot`` they rest on.

For the ``p``-quantile R inverts the design-based score test of ``U(theta) = (x > theta) -
(1 - p)``: the limits solve ``mean(U) / SE(mean(U)) = -+ t`` (``t`` Student's on the design's
``degf``, normal when infinite), found by ``uniroot`` on ``[min(x) + IQR/100, max(x) -
IQR/100]`` with ``tol = 1 / (100 sqrt(nrow))``; each root ``r`` becomes ``qrule(x, w,
mean(x <= r))`` (the *unweighted* share of ``x`` at or below it, as R). ``x`` is what R's
``svyquantile`` sees: the domain's respondents with a value, or, for a calibrated design
(whose subsets keep every row with weight 0), every row with missing values set to 0.

Example:
    >>> uniroot(lambda v: v * v - 2.0, 0.0, 2.0, 1e-10)  # R: 1.4142135623731364
    1.4142135623731364
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

EPS = sys.float_info.epsilon
BIG = sys.float_info.max


def uniroot(f: Callable[[float], float], lower: float, upper: float,
            tol: float = EPS**0.25, maxiter: int = 1000) -> float:
    """R's ``uniroot(f, c(lower, upper), tol = tol)$root`` (Brent's ``R_zeroin2``, step for
    step); NaN where R stops (end values of the same sign or missing).

    Example:
        >>> round(uniroot(lambda v: v - 0.3, 0.0, 1.0), 12)
        0.3
    """
    def fn(v: float) -> float:
        y = float(f(v))
        if np.isnan(y):
            raise FloatingPointError
        return min(max(y, -BIG), BIG)  # R: infinite values replaced by the extremes

    try:
        a, b = float(lower), float(upper)
        fa, fb = fn(a), fn(b)
        if fa * fb > 0:
            return float("nan")
        c, fc = a, fa
        if fa == 0.0:
            return a
        if fb == 0.0:
            return b
        for _ in range(maxiter + 1):
            prev_step = b - a
            if abs(fc) < abs(fb):
                a, b, c = b, c, b
                fa, fb, fc = fb, fc, fb
            tol_act = 2 * EPS * abs(b) + tol / 2
            new_step = (c - b) / 2
            if abs(new_step) <= tol_act or fb == 0.0:
                return b
            if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
                cb = c - b
                if a == c:
                    t1 = fb / fa
                    p = cb * t1
                    q = 1.0 - t1
                else:
                    q, t1, t2 = fa / fc, fb / fc, fb / fa
                    p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                    q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
                if p > 0:
                    q = -q
                else:
                    p = -p
                if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                    new_step = p / q
            if abs(new_step) < tol_act:
                new_step = tol_act if new_step > 0 else -tol_act
            a, fa = b, fb
            b += new_step
            fb = fn(b)
            if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
                c, fc = a, fa
        return b
    except FloatingPointError:
        return float("nan")


def score_limits(xs: np.ndarray, ws: np.ndarray, p: float, ztest: Callable[[float], float],
                 df: float, alpha: float, rule: str, nrow: int) -> tuple[float, float]:
    """R's ``ffullerCI``: the score interval of the ``p``-quantile of ``xs`` (weights ``ws``,
    0 for rows outside), ``ztest(theta)`` = ``mean(U) / SE``, ``nrow`` = ``nrow(design)``."""
    from survey.design.quantile import qrule

    if np.isinf(df):
        q_hi, q_lo = stats.norm.isf(alpha / 2), stats.norm.ppf(alpha / 2)
    else:
        q_hi, q_lo = stats.t.isf(alpha / 2, df), stats.t.ppf(alpha / 2, df)
    q75, q25 = np.percentile(xs, [75, 25])
    iqr = q75 - q25
    lo_t, hi_t = float(xs.min() + iqr / 100), float(xs.max() - iqr / 100)
    tol = 1 / (100 * np.sqrt(nrow))
    out = []
    for qlimit in (q_hi, q_lo):
        root = uniroot(lambda th, q=qlimit: ztest(th) - q, lo_t, hi_t, tol)
        out.append(float("nan") if np.isnan(root) else
                   qrule(xs, ws, float(np.mean(xs <= root)), rule))
    return out[0], out[1]


def score_ztest(obj: Any, y: np.ndarray, a: np.ndarray, p: float, k: int
                ) -> Callable[[float], float]:
    """``theta -> mean(U) / SE(mean(U))`` in domain ``k`` (R: ``svymean(U(theta), design)``)."""
    from survey.design.estimators import domain_ratios

    yy = np.where(a, y, 0.0)

    def z(theta: float) -> float:
        u = (yy > theta).astype(float) - (1 - p)
        _, _, est, cov, _, _ = domain_ratios(obj, [(u, a)], None)
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(est[k, 0] / np.sqrt(cov[k, k]))

    return z
