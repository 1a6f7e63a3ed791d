"""Batched weighted likelihoods (logit, proportional odds, gaussian) and the design sandwich."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from survey.design import Design
from survey.models._design import vcov_totals
from survey.models.brand_split._prepare import Family

_MAX_STEP = 5.0


def _sym(A: np.ndarray, B: np.ndarray, iu: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Upper triangles of ``a_i b_i' + b_i a_i'`` (or ``a_i a_i'`` when ``A is B``), row by row."""
    if A is B:
        return A[:, iu[0]] * A[:, iu[1]]
    return A[:, iu[0]] * B[:, iu[1]] + B[:, iu[0]] * A[:, iu[1]]


def _full(tri: np.ndarray, p: int, iu: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Symmetric ``(B, p, p)`` matrices from their upper triangles ``(B, p(p+1)/2)``."""
    H = np.empty((tri.shape[0], p, p))
    H[:, iu[0], iu[1]] = tri
    H[:, iu[1], iu[0]] = tri
    return H


class _Logit:
    """Binary logit: log-likelihood, score and information for batches of parameters."""

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X, self.y, self.p = X, y, X.shape[1]
        self.iu = np.triu_indices(self.p)
        self.XX = _sym(X, X, self.iu)

    def start(self) -> np.ndarray:
        return np.zeros(self.p)

    def parts(self, W: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, ...]:
        """Weighted log-likelihood (B,), score (B, p), information (B, p, p)."""
        eta = beta @ self.X.T
        mu = expit(eta)
        ll = (W * (self.y * eta - np.logaddexp(0.0, eta))).sum(axis=1)
        return ll, (W * (self.y - mu)) @ self.X, _full((W * (mu * (1 - mu))) @ self.XX,
                                                        self.p, self.iu)

    def scores(self, beta: np.ndarray) -> np.ndarray:
        """Unweighted score of every row (n, p)."""
        return self.X * (self.y - expit(self.X @ beta))[:, None]


class _Ordinal:
    """Proportional-odds (cumulative logit) model of ordered codes ``y`` in 0..J-1.

    ``P(Y <= c) = F(θ_{c+1} - x'β)``. Parameters ``[γ, β_s, β_controls, θ_1..θ_{J-2}]`` with
    ``γ = -θ_{J-1}``, so the first ``k`` parameters on ``X = [1, S, C]`` give
    ``logit P(top category) = X φ[:k]``, exactly as the binary model does; the optimum, curve and
    what-if are shared.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, n_levels: int) -> None:
        n, k = X.shape
        J = n_levels
        self.p = p = k + J - 2
        c = y.astype(int)
        self.top, self.bottom, self.c, self.k, self.J = c == J - 1, c == 0, c, k, J
        base = np.zeros((n, p))
        base[:, 1:k] = -X[:, 1:]

        def form(j: np.ndarray) -> np.ndarray:  # linear form of θ_j - η, cut j in 1..J-1
            z = base.copy()
            last = j == J - 1
            z[last, 0] = -1.0
            z[np.flatnonzero(~last), k + j[~last] - 1] = 1.0
            return z

        self.ZU = form(np.minimum(c + 1, J - 1))
        self.ZU[self.top] = 0.0
        self.ZL = form(np.maximum(c, 1))
        self.ZL[self.bottom] = 0.0
        self.iu = np.triu_indices(p)
        self.UU, self.LL = _sym(self.ZU, self.ZU, self.iu), _sym(self.ZL, self.ZL, self.iu)
        self.UL = _sym(self.ZU, self.ZL, self.iu)

    def start(self) -> np.ndarray:
        """Cut points at the logits of the cumulative shares, slopes 0."""
        cum = np.cumsum(np.bincount(self.c, minlength=self.J))[:-1] / self.c.size
        theta = np.log(cum / (1 - cum))
        out = np.zeros(self.p)
        out[0], out[self.k:] = -theta[-1], theta[:-1]
        return out

    def _terms(self, beta: np.ndarray) -> tuple[np.ndarray, ...]:
        a = np.where(self.top, np.inf, beta @ self.ZU.T)
        b = np.where(self.bottom, -np.inf, beta @ self.ZL.T)
        Fa, Fb = expit(a), expit(b)
        fa, fb = Fa * (1 - Fa), Fb * (1 - Fb)
        pr = np.maximum(Fa - Fb, 1e-300)
        return Fa, Fb, fa, fb, pr

    def parts(self, W: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, ...]:
        Fa, Fb, fa, fb, pr = self._terms(beta)
        ua, ub = fa / pr, fb / pr
        ll = (W * np.log(pr)).sum(axis=1)
        g = (W * ua) @ self.ZU - (W * ub) @ self.ZL
        # information = -Hessian: -(f'(a)/p - ua²) zu zu' + (f'(b)/p + ub²) zl zl' - ua ub (zu zl' + zl zu')
        tri = ((W * (ua * ua - ua * (1 - 2 * Fa))) @ self.UU
               + (W * (ub * ub + ub * (1 - 2 * Fb))) @ self.LL - (W * (ua * ub)) @ self.UL)
        return ll, g, _full(tri, self.p, self.iu)

    def scores(self, beta: np.ndarray) -> np.ndarray:
        _, _, fa, fb, pr = self._terms(beta[None])
        return (fa / pr)[0][:, None] * self.ZU - (fb / pr)[0][:, None] * self.ZL


def _likelihood(X: np.ndarray, y: np.ndarray, family: Family, n_levels: int) -> Any:
    return _Ordinal(X, y, n_levels) if family == "ordinal" else _Logit(X, y)


def fit_batch(
    X: np.ndarray,
    y: np.ndarray,
    W: np.ndarray,
    family: Family,
    *,
    beta0: np.ndarray | None = None,
    ridge: np.ndarray | float = 0.0,
    max_iter: int = 30,
    tol: float = 1e-6,
    n_levels: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted fits for every row of ``W`` (``B x n``) at once; returns ``(params, converged)``.

    Gaussian: one batched weighted least-squares solve. Binomial (logit) and ordinal
    (proportional odds, ``y`` the category codes 0..n_levels-1): damped Newton-Raphson, all
    replicates in lock-step, information matrices built as ``(B x n) @ (n x p(p+1)/2)`` products.
    ``ridge`` (a scalar or a length-p vector) adds ``ridge * β²`` to the objective, keeping
    replicates with separated control cells finite.
    """
    W = np.atleast_2d(W)
    B, n = W.shape
    k = X.shape[1]
    if family == "gaussian":
        P = np.diag(np.broadcast_to(np.asarray(ridge, dtype=float), (k,)))
        XX = (X[:, :, None] * X[:, None, :]).reshape(n, k * k)
        H = (W @ XX).reshape(B, k, k) + P
        g = (W * y) @ X
        return np.linalg.solve(H, g[..., None])[..., 0], np.ones(B, dtype=bool)
    sd = X.std(axis=0)
    sc_x = np.where(sd > 0, sd, 1.0)
    sc_x[np.all(X[0] == X, axis=0)] = 1.0  # intercept (and constant columns) unscaled
    lik = _likelihood(X / sc_x, y, family, n_levels)
    sc = np.r_[sc_x, np.ones(lik.p - k)]  # cut points unscaled
    Ps = np.diag(np.broadcast_to(np.asarray(ridge, dtype=float), (lik.p,))) / np.outer(sc, sc)
    start = lik.start() if beta0 is None else np.asarray(beta0, float) * sc
    beta = np.tile(start, (B, 1))
    converged = np.zeros(B, dtype=bool)
    active = np.arange(B)
    ll_old = np.full(B, -np.inf)
    for it in range(max_iter):
        Wa, ba = W[active], beta[active]
        ll, g, H = lik.parts(Wa, ba)
        # a flat log-likelihood means converged, even under separation
        flat = (np.abs(ll - ll_old[active]) < 1e-10 * (1 + np.abs(ll))) if it >= 3 else False
        ll_old[active] = ll
        g = g - ba @ Ps
        H += Ps
        try:
            step = np.linalg.solve(H, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = _safe(H, g)
        big = np.max(np.abs(step), axis=1, keepdims=True)
        step = step * np.minimum(1.0, _MAX_STEP / np.maximum(big, 1e-300))  # damped Newton
        beta[active] = ba + step
        done = (big[:, 0] < tol * (1 + np.max(np.abs(ba), axis=1))) | flat
        converged[active[done]] = True
        active = active[~done]
        if active.size == 0:
            break
    return beta / sc, converged


def _safe(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    out = np.zeros_like(g)
    for b in range(H.shape[0]):
        out[b] = np.linalg.lstsq(H[b], g[b], rcond=None)[0]
    return out


def sandwich(
    design: Design, X: np.ndarray, y: np.ndarray, w: np.ndarray, beta: np.ndarray,
    family: Family, rows: np.ndarray, n_levels: int = 3,
) -> np.ndarray:
    """Design-based covariance ``A⁻¹ V(Σ U) A⁻¹`` of a weighted model (R's ``svyglm``).

    ``A`` is the weighted information, ``U`` the rows' score contributions (zero outside the rows
    used: a domain); ``V(Σ U)`` comes from the design engine, so strata, PSUs and the raking
    calibration are accounted for exactly as in ``Design.glm``.
    """
    if family == "gaussian":
        A = X.T @ (X * w[:, None])
        U = X * (w * (y - X @ beta))[:, None]
    else:
        lik = _likelihood(X, y, family, n_levels)
        A = lik.parts(w[None], beta[None])[2][0]
        U = lik.scores(beta) * w[:, None]
    Ainv = np.linalg.pinv(A)
    return Ainv @ vcov_totals(design, U, rows) @ Ainv
