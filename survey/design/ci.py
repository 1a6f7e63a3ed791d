"""Confidence intervals for proportions, as R's ``svyciprop(method = ...)``.

All methods take the estimate ``p``, its design-based ``se`` and the design degrees of freedom
``df`` (R: ``degf(design)`` of the domain) and use Student-t quantiles with ``df``:

* ``logit`` / ``xlogit``: ``expit(logit(p) +- t * se / (p (1 - p)))`` (R's default, identical);
* ``wald`` (R: ``"mean"``): ``p +- t * se``;
* ``asin``: ``sin(asin(sqrt(p)) +- t * se / (2 sqrt(p (1 - p))))^2``;
* ``beta`` (Korn-Graubard): Clopper-Pearson with ``n_eff = p (1 - p) / se^2`` scaled by
  ``(qt(a/2, nrow - 1) / qt(a/2, df))^2``;
* ``likelihood``: the exact root of the scaled profile deviance of the intercept-only
  quasi-binomial svyglm (R interpolates the profile with a spline, so R's limits differ slightly);
* ``wilson`` (no R counterpart): Wilson score interval with ``n_eff = p (1 - p) / se^2`` and the
  t quantile.

Example:
    >>> import numpy as np
    >>> lo, hi = proportion_ci(np.array([0.5]), np.array([0.05]), np.array([99.0]), "wald")
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.4008, 0.5992)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from survey.errors import EstimationError

METHODS = ("logit", "xlogit", "wald", "mean", "asin", "beta", "likelihood", "wilson")


@dataclass(frozen=True)
class LikelihoodInputs:
    """Per-estimate quantities of R's profile of the quasi-binomial intercept-only svyglm."""

    sum_w_glm: np.ndarray  # sum of rescaled glm prior weights over the estimate's rows
    dispersion: np.ndarray  # summary.svyglm dispersion: svyvar of Pearson residuals


def proportion_ci(p: np.ndarray, se: np.ndarray, df: np.ndarray, method: str = "logit",
                  level: float = 0.95, nrow: np.ndarray | None = None,
                  lik: LikelihoodInputs | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits for proportions ``p`` with standard errors ``se``."""
    if method not in METHODS:
        raise EstimationError(f"unknown CI method {method!r}; expected one of {METHODS}")
    p, se, df = (np.asarray(a, float) for a in (p, se, df))
    alpha = 1.0 - level
    t = stats.t.ppf(1 - alpha / 2, df)
    q = p * (1 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in ("logit", "xlogit"):
            eta, s = special.logit(p), se / q
            return special.expit(eta - t * s), special.expit(eta + t * s)
        if method in ("wald", "mean"):
            return p - t * se, p + t * se
        if method == "asin":
            eta, s = np.arcsin(np.sqrt(p)), se / (2 * np.sqrt(q))
            return np.sin(eta - t * s) ** 2, np.sin(eta + t * s) ** 2
        n_eff = q / se**2
        if method == "beta":
            nr = df + 1 if nrow is None else np.asarray(nrow, float)
            n_eff = n_eff * (stats.t.ppf(alpha / 2, nr - 1) / stats.t.ppf(alpha / 2, df)) ** 2
            lo = stats.beta.ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)
            hi = stats.beta.ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))
            return lo, hi
        if method == "wilson":
            z2 = t * t / n_eff
            mid = (p + z2 / 2) / (1 + z2)
            half = t / (1 + z2) * np.sqrt(q / n_eff + z2 / (4 * n_eff))
            return mid - half, mid + half
    if lik is None:
        raise EstimationError("likelihood interval needs the profile inputs")
    return _likelihood(p, se, df, alpha, lik)


def _likelihood(p, se, df, alpha, lik: LikelihoodInputs) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``2 W KL(p_hat || p) / phi = qt(a/2, df)^2 * lambda`` on each side of ``p_hat``.

    ``lambda`` is the ratio of sandwich to model-based variance of logit(p_hat).
    """
    lo, hi = np.full(p.shape, np.nan), np.full(p.shape, np.nan)
    for i in range(p.size):
        pi, wsum, phi = p.flat[i], lik.sum_w_glm.flat[i], lik.dispersion.flat[i]
        if not (0 < pi < 1) or not np.isfinite(se.flat[i]) or se.flat[i] <= 0:
            continue
        lam = se.flat[i] ** 2 * wsum / (pi * (1 - pi))
        cut = stats.t.ppf(alpha / 2, df.flat[i]) ** 2 * lam * phi

        def g(eta, pi=pi, wsum=wsum, cut=cut):
            q = special.expit(eta)
            kl = pi * np.log(pi / q) + (1 - pi) * np.log((1 - pi) / (1 - q))
            return 2 * wsum * kl - cut

        e0 = special.logit(pi)
        step = 1.0
        while g(e0 - step) < 0:
            step *= 2
        lo.flat[i] = special.expit(optimize.brentq(g, e0 - step, e0, xtol=1e-14, rtol=1e-14))
        step = 1.0
        while g(e0 + step) < 0:
            step *= 2
        hi.flat[i] = special.expit(optimize.brentq(g, e0, e0 + step, xtol=1e-14, rtol=1e-14))
    return lo, hi
