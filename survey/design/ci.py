"""Confidence intervals for proportions, as R's ``svyciprop(method = ...)``.

All methods take the estimate ``p``, its design-based ``se`` and the design degrees of freedom
``df`` (R: ``degf(design)`` of the domain) and use Student-t quantiles with ``df``:

* ``logit`` / ``xlogit``: ``expit(logit(p) +- t * se / (p (1 - p)))`` (R's default, identical);
* ``wald`` (R: ``"mean"``): ``p +- t * se``;
* ``asin``: ``sin(asin(sqrt(p)) +- t * se / (2 sqrt(p (1 - p))))^2``;
* ``beta`` (Korn-Graubard): Clopper-Pearson with ``n_eff = p (1 - p) / se^2`` scaled by
  ``(qt(a/2, nrow - 1) / qt(a/2, df))^2``;
* ``likelihood``: R's profile of the scaled deviance of the intercept-only quasi-binomial svyglm,
  with R's grid of profile points, FMM spline and linear inversion (``_likelihood``);
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
from scipy import special, stats

from survey.errors import EstimationError

METHODS = ("logit", "xlogit", "wald", "mean", "asin", "beta", "likelihood", "wilson")


@dataclass(frozen=True)
class LikelihoodInputs:
    """Per-estimate quantities of R's profile of the quasi-binomial intercept-only svyglm."""

    sum_w_glm: np.ndarray  # sum of rescaled glm prior weights W over the estimate's rows
    s2: np.ndarray  # n / (n - 1) * weighted variance of y (dispersion numerator)
    n_glm: np.ndarray  # rows in the glm (NROW(Y)): sets R's profiling range zmax
    irls_num: np.ndarray  # first IRLS step from glm's binomial start: sum W q z
    irls_den: np.ndarray  # ... and sum W q
    irls_dev0: np.ndarray  # deviance at the starting values


def irls_state(p: float, wsum: float, num: float, den: float, dev0: float,
               epsilon: float = 1e-8, maxit: int = 25) -> tuple[float, float]:
    """R's ``glm.fit`` IRLS for ``y ~ 1`` (logit): fitted mean and the sum of the last weights.

    R stops when ``|dev - devold| / (|dev| + 0.1) < epsilon``; the covariance it reports uses
    the working weights of the last iteration (computed before its update), which is what
    makes R's model-based variance, hence its profiling grid, differ from the converged one.
    """

    def dev(mu: float) -> float:
        return -2 * wsum * (p * np.log(mu) + (1 - p) * np.log(1 - mu))

    beta, devold, last_w = num / den, dev0, den
    for _ in range(maxit):
        mu = special.expit(beta)
        d = dev(mu)
        if abs(d - devold) / (abs(d) + 0.1) < epsilon:
            break
        devold = d
        q = mu * (1 - mu)
        last_w = wsum * q
        beta = beta + (p - mu) / q
    return float(special.expit(beta)), float(last_w)


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
    """R's profile-likelihood interval of the intercept-only quasi-binomial svyglm, step by step.

    As ``survey:::MASSprofile_glm`` + ``confint_profile``: the signed root of the scaled deviance
    difference is evaluated at ``logit(p) +- k * del * se_logit`` (k = 1..9 until it exceeds
    ``zmax``), interpolated with R's ``spline()`` (FMM, 3x points) and inverted with ``approx()``
    at ``+- qt(a/2, df) sqrt(lambda)``; ``lambda`` = sandwich / model-based variance of logit(p).
    """
    lo, hi = np.full(p.shape, np.nan), np.full(p.shape, np.nan)
    for i in range(p.size):
        pi, wsum, sei = p.flat[i], lik.sum_w_glm.flat[i], se.flat[i]
        if not (0 < pi < 1) or not np.isfinite(sei) or sei <= 0:
            continue
        mu_f, w_last = irls_state(pi, wsum, lik.irls_num.flat[i], lik.irls_den.flat[i],
                                  lik.irls_dev0.flat[i])
        q = mu_f * (1 - mu_f)
        phi = lik.s2.flat[i] / q
        se_b = sei / q
        lam = se_b**2 * w_last
        a_half = stats.norm.cdf(stats.t.ppf(alpha / 2, df.flat[i]) * np.sqrt(lam)) / 2
        zmax = np.sqrt(stats.f.isf(a_half, 1, lik.n_glm.flat[i] - 1))
        step_size = zmax / 5
        b0 = special.logit(mu_f)

        def z_at(b, pi=pi, wsum=wsum, phi=phi, mu_f=mu_f, b0=b0):
            mu = special.expit(b)
            dev = 2 * wsum * (pi * np.log(mu_f / mu) + (1 - pi) * np.log((1 - mu_f) / (1 - mu)))
            return np.sign(b - b0) * np.sqrt(max(dev / phi, 0.0))

        bs, zs = [b0], [0.0]
        for sgn in (-1, 1):
            k, z = 0, 0.0
            while (k := k + 1) < 10 and abs(z) < zmax:
                b = b0 + sgn * k * step_size * se_b
                z = z_at(b)
                bs.append(b)
                zs.append(z)
        order = np.argsort(zs, kind="stable")
        xs, ys = np.asarray(bs)[order], np.asarray(zs)[order]
        sx = np.linspace(xs.min(), xs.max(), 3 * len(xs))
        sy = fmm_spline(xs, ys, sx)
        cut = stats.norm.ppf(2 * a_half)
        lo.flat[i], hi.flat[i] = special.expit(_approx(sy, sx, np.array([cut, -cut])))
    return lo, hi


def _approx(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """R's ``approx(x, y, xout)`` (linear, NA outside the range, ties averaged)."""
    ux, inv = np.unique(x, return_inverse=True)
    uy = np.bincount(inv, weights=y) / np.bincount(inv)
    out = np.interp(xout, ux, uy)
    out[(xout < ux[0]) | (xout > ux[-1])] = np.nan
    return out


def fmm_spline(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """R's ``spline(method = "fmm")``: cubic spline with Forsythe-Malcolm-Moler end conditions.

    Example:
        >>> import numpy as np
        >>> float(fmm_spline(np.arange(5.0), np.arange(5.0) ** 3, np.array([2.5]))[0])
        15.625
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    b, c, d = np.zeros(n), np.zeros(n), np.zeros(n)
    if n < 3:
        b[:] = (y[1] - y[0]) / (x[1] - x[0])
    else:
        d[0] = x[1] - x[0]
        c[1] = (y[1] - y[0]) / d[0]
        for i in range(1, n - 1):
            d[i] = x[i + 1] - x[i]
            b[i] = 2.0 * (d[i - 1] + d[i])
            c[i + 1] = (y[i + 1] - y[i]) / d[i]
            c[i] = c[i + 1] - c[i]
        b[0], b[n - 1] = -d[0], -d[n - 2]
        c[0] = c[n - 1] = 0.0
        if n > 3:
            c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
            c[n - 1] = c[n - 2] / (x[n - 1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4])
            c[0] = c[0] * d[0] * d[0] / (x[3] - x[0])
            c[n - 1] = -c[n - 1] * d[n - 2] * d[n - 2] / (x[n - 1] - x[n - 4])
        for i in range(1, n):
            t = d[i - 1] / b[i - 1]
            b[i] = b[i] - t * d[i - 1]
            c[i] = c[i] - t * c[i - 1]
        c[n - 1] = c[n - 1] / b[n - 1]
        for i in range(n - 2, -1, -1):
            c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
        b[n - 1] = (y[n - 1] - y[n - 2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2.0 * c[n - 1])
        for i in range(n - 1):
            b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
            d[i] = (c[i + 1] - c[i]) / d[i]
            c[i] = 3.0 * c[i]
        c[n - 1] = 3.0 * c[n - 1]
        d[n - 1] = d[n - 2]
    i = np.clip(np.searchsorted(x, xout, side="right") - 1, 0, n - 1)
    dx = xout - x[i]
    return y[i] + dx * (b[i] + dx * (c[i] + dx * d[i]))
