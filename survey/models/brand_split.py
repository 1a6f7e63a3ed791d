"""The brand/performance budget split associated with market-share growth (the "53:47" optimum).

A weighted logistic regression of "gained market share" (``market_share_change == increase``) on the
brand share ``s`` of the budget (in [0, 1]) and ``s²`` plus controls (industry, budget size);
``outcome_model="ordinal"`` fits a proportional-odds logit of decrease < flat < increase instead
(all three answers; P(increase) peaks at the same ``s*``), and a numeric outcome a weighted linear
model. The optimum ``s* = -b1 / (2 b2)`` comes with

* a delta-method CI from the design-based sandwich covariance ``A⁻¹ V(Σ U) A⁻¹`` whose middle
  term is computed by the design engine (:mod:`survey.design`: strata, PSUs and, for a raked
  design, the calibration residuals, so it equals ``Design.glm``);
* a weighted bootstrap CI (Rao-Wu rescaling over the design's PSUs, replicates re-raked when the
  design is calibrated, 10,000 replicates by default) fitted by a batched Newton-Raphson over all
  replicates at once in numpy;
* Wald and bootstrap tests against reference splits: the published 53:47, Binet & Field's 60:40 for
  consumer brands (*The Long and the Short of It*, IPA 2013) and 46:54 for B2B (Binet & Field, *The
  5 Principles of Growth in B2B Marketing*, LinkedIn B2B Institute 2019).

``model="spline"`` replaces ``s, s²`` by a restricted cubic spline (Harrell) and finds the optimum
by grid argmax. Controls enter additively on the link scale, so the argmax of the curve of the
share of advertisers gaining share (marginal standardisation over the respondents' own controls) is
the argmax of the ``s`` part of the linear predictor.

Example:
    >>> res = fit(ctx.design, bootstrap=2000, seed=1)     # doctest: +SKIP
    >>> print(res.summary("zh"))                           # doctest: +SKIP
    品牌投入占比约为 53%（加权自助法 95% 置信区间 50%–57%）时，…
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats
from scipy.special import expit

from survey.design import Design
from survey.errors import EmptySegmentError, ModelError
from survey.models._design import as_design, replicate_weights, vcov_totals
from survey.models._result import (
    DEFAULT_SEED,
    Lang,
    TableResult,
    join,
    label,
    new_axes,
    say,
    texts,
)

Family = Literal["binomial", "gaussian", "ordinal"]

#: outcome code counted as "gained market share"
GAIN_CODE = "increase"
#: order of the market-share change codes (used when the column is not an Enum)
OUTCOME_ORDER = ("decrease", "flat", "increase")
#: option of ``budget_cut_response`` meaning "cut brand spend, add performance spend"
CUT_BRAND_COLUMN = "budget_cut_response__brand_to_performance"
#: literature reference splits (brand share); the published optimum is read from the figures
LITERATURE_REFERENCES: dict[str, float] = {
    "binet_field_consumer_60_40": 0.60,
    "binet_field_b2b_46_54": 0.46,
}
_MAX_STEP = 5.0


# ----------------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class Prepared:
    """Model matrices: outcome ``y``, brand share ``s``, controls ``C``, design weights ``w``."""

    y: np.ndarray
    s: np.ndarray
    C: np.ndarray
    control_names: tuple[str, ...]
    w: np.ndarray
    family: Family
    frame: pl.DataFrame  # the rows used, same order
    rows: np.ndarray  # their positions in the design's frame
    levels: tuple[str, ...] = ()  # ordered outcome categories (ordinal family)


def _dummies(col: pl.Series, min_level_n: int) -> tuple[np.ndarray, list[str]]:
    """Treatment dummies of a categorical column; levels rarer than ``min_level_n`` are pooled."""
    values = col.cast(pl.String).to_numpy().astype(object)
    levels, counts = np.unique(values, return_counts=True)
    keep = [lv for lv, c in zip(levels, counts, strict=True) if c >= min_level_n]
    pooled = np.array([v if v in keep else "_other" for v in values], dtype=object)
    levels, counts = np.unique(pooled, return_counts=True)
    if levels.size < 2:
        return np.zeros((values.size, 0)), []
    ref = levels[np.argmax(counts)]  # most frequent level is the reference
    others = [lv for lv in levels if lv != ref]
    mat = np.column_stack([(pooled == lv).astype(float) for lv in others])
    return mat, [f"{col.name}[{lv}]" for lv in others]


def prepare(
    design: Design,
    *,
    outcome: str = "market_share_change",
    share: str = "budget_split__brand",
    controls: Sequence[str] = ("industry", "budget_size"),
    min_level_n: int = 10,
    where: Any = None,
    outcome_model: Literal["binary", "ordinal"] = "binary",
) -> Prepared:
    """Rows of the design with an outcome and a share; ``s`` rescaled to [0, 1] when in percent.

    A categorical outcome is binary "gained share" (``increase`` vs the rest) or, with
    ``outcome_model="ordinal"``, its ordered categories (the Enum's order, else
    :data:`OUTCOME_ORDER`); Boolean is binary and numeric gaussian. Control levels with fewer than ``min_level_n`` respondents
    are pooled into ``_other`` (a 30-level industry variable cannot be estimated from 228 rows).
    ``where`` keeps a domain. Rows left out stay in the design for the variance (a domain).
    """
    frame = design.frame
    missing = [c for c in (outcome, share, *controls) if c not in frame.columns]
    if missing:
        raise ModelError(f"columns not in the data: {missing}", expected="codebook column ids")
    cols = [outcome, share, *controls]
    df = frame.with_row_index("_row_")
    if where is not None:  # Design.subset: a domain (expression, SQL string or mask)
        df = df.filter(pl.Series(design.subset(where).in_subset))
    df = df.drop_nulls(cols)
    rows = df["_row_"].to_numpy().astype(np.int64)
    df = df.drop("_row_")
    if df.height == 0:
        raise EmptySegmentError("no respondent answers both the outcome and the budget split")
    dtype = df.schema[outcome]
    levels: tuple[str, ...] = ()
    if dtype.is_numeric() and dtype != pl.Boolean:
        y = df[outcome].cast(pl.Float64).to_numpy()
        family: Family = "gaussian"
    elif dtype == pl.Boolean:
        y = df[outcome].cast(pl.Float64).to_numpy()
        family = "binomial"
    else:
        codes = df[outcome].cast(pl.String)
        if GAIN_CODE not in set(codes.to_list()):
            raise ModelError(f"no respondent has {outcome} == {GAIN_CODE!r}", column=outcome)
        y = (codes == GAIN_CODE).cast(pl.Float64).to_numpy()
        family = "binomial"
        if outcome_model == "ordinal":
            order = (dtype.categories.to_list() if isinstance(dtype, pl.Enum)
                     else list(OUTCOME_ORDER))
            levels = tuple(c for c in order if c in set(codes.to_list()))
            unknown = set(codes.to_list()) - set(order)
            if unknown or len(levels) < 3 or levels[-1] != GAIN_CODE:
                raise ModelError(f"{outcome}: cannot order the categories {sorted(set(codes))}",
                                 column=outcome, expected=f"ordered codes ending in {GAIN_CODE!r}")
            y = codes.replace_strict(list(levels), list(range(len(levels))),
                                     return_dtype=pl.Float64).to_numpy()
            family = "ordinal"
    s = df[share].cast(pl.Float64).to_numpy()
    if np.nanmax(s) > 1.0 + 1e-9:
        s = s / 100.0
    mats, names = [], []
    for c in controls:
        if df.schema[c].is_numeric() and df.schema[c] != pl.Boolean:
            v = df[c].cast(pl.Float64).to_numpy()
            mats.append((v - v.mean())[:, None])
            names.append(c)
        else:
            m, nm = _dummies(df[c], min_level_n)
            mats.append(m)
            names.extend(nm)
    C = np.column_stack(mats) if mats else np.zeros((df.height, 0))
    w = np.asarray(design.weights, dtype=float)[rows]
    return Prepared(y, s, C, tuple(names), w, family, df, rows, levels)


# ----------------------------------------------------------------------------------- basis


def rcs_knots(s: np.ndarray, n_knots: int = 4) -> np.ndarray:
    """Harrell's default knot quantiles for a restricted cubic spline (3-5 knots)."""
    probs = {3: (0.10, 0.5, 0.90), 4: (0.05, 0.35, 0.65, 0.95), 5: (0.05, 0.275, 0.5, 0.725, 0.95)}
    if n_knots not in probs:
        raise ModelError(f"n_knots must be 3, 4 or 5, got {n_knots}")
    knots = np.quantile(s, probs[n_knots])
    if np.unique(knots).size < n_knots:
        raise ModelError("the brand share takes too few distinct values for a spline")
    return knots


def basis(s: np.ndarray, model: str, knots: np.ndarray | None = None) -> np.ndarray:
    """The ``s`` columns: ``[s, s²]`` (quadratic) or restricted cubic spline columns."""
    s = np.asarray(s, dtype=float)
    if model == "quadratic":
        return np.column_stack([s, s**2])
    if model != "spline":
        raise ModelError(f"model must be 'quadratic' or 'spline', got {model!r}")
    t = np.asarray(knots)
    k = t.size
    cols = [s]
    scale = (t[-1] - t[0]) ** 2
    pos = lambda x: np.clip(x, 0, None) ** 3  # noqa: E731
    for j in range(k - 2):
        c = (
            pos(s - t[j])
            - pos(s - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
            + pos(s - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2])
        )
        cols.append(c / scale)
    return np.column_stack(cols)


# ----------------------------------------------------------------------------------- fitting


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


# ----------------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class BrandSplitResult:
    """Fit of market-share growth on the brand share; see :func:`fit`.

    ``optimum`` is the brand share (in [0, 1]) maximising the share of advertisers gaining market
    share within ``domain``; ``interior`` says whether the fitted curve has an interior maximum
    (quadratic: ``b2 < 0`` and ``-b1/(2 b2)`` inside the domain).
    """

    model: str
    family: Family
    outcome: str
    n: int
    coef: pl.DataFrame
    vcov: np.ndarray
    optimum: float
    interior: bool
    se_delta: float
    ci_delta: tuple[float, float]
    ci_boot: tuple[float, float]
    boot_share_interior: float
    boot_optima: np.ndarray
    boot_params: np.ndarray
    boot_converged: float
    curve: pl.DataFrame
    domain: tuple[float, float]
    level: float
    seed: int
    knots: np.ndarray | None = None
    references: Mapping[str, float] = field(default_factory=dict)
    _prep: Prepared | None = field(default=None, repr=False)
    _X: np.ndarray | None = field(default=None, repr=False)

    # --- optimum tests
    def test_optimum(self, s0: float) -> dict[str, float]:
        """Wald z (delta SE) and two-sided bootstrap p-value of ``H0: s* = s0``."""
        z = (self.optimum - s0) / self.se_delta if np.isfinite(self.se_delta) else np.nan
        p_wald = 2 * stats.norm.sf(abs(z)) if np.isfinite(z) else np.nan
        b = self.boot_optima[np.isfinite(self.boot_optima)]
        p_boot = (
            min(1.0, 2 * min(np.mean(b <= s0), np.mean(b >= s0))) if b.size else np.nan
        )
        return {"reference": s0, "z": float(z), "p_wald": float(p_wald), "p_boot": float(p_boot)}

    def tests(self) -> pl.DataFrame:
        """Tests of the optimum against every reference split (published and literature)."""
        rows = []
        for key, s0 in self.references.items():
            t = self.test_optimum(s0)
            rows.append({"reference_id": key, "label_zh": reference_label(key, s0, "zh"),
                         "label_en": reference_label(key, s0, "en"), **t})
        return pl.DataFrame(rows)

    # --- what-if
    def what_if(
        self,
        delta_points: float,
        movers: str = CUT_BRAND_COLUMN,
        *,
        level: float | None = None,
    ) -> WhatIfResult:
        """Change in the weighted share gaining market share if ``movers`` shift ``s`` by Δ points.

        ``delta_points`` is in percentage points of the budget (``-10`` moves 10 points from brand
        to performance); shares are clipped to [0, 1]. The CI comes from the bootstrap fits.
        """
        if self.family == "gaussian":
            raise ModelError("what-if on the share gaining market share needs a categorical "
                             "outcome", expected="a binary or ordinal market-share change")
        prep, X = self._prep, self._X
        assert prep is not None and X is not None
        if movers not in prep.frame.columns:
            raise ModelError(f"column {movers!r} not in the data", column=movers,
                             expected="a Boolean column such as " + CUT_BRAND_COLUMN)
        m = prep.frame[movers].cast(pl.Boolean).fill_null(False).to_numpy()
        if not m.any():
            raise EmptySegmentError(f"no respondent has {movers} = true")
        q = basis(prep.s, self.model, self.knots).shape[1]
        s_new = np.where(m, np.clip(prep.s + delta_points / 100.0, 0.0, 1.0), prep.s)
        X_new = X.copy()
        X_new[:, 1 : 1 + q] = basis(s_new, self.model, self.knots)
        w = prep.w / prep.w.sum()
        k = X.shape[1]  # P(increase) = expit(X φ[:k]) in the binary and the ordinal model
        beta = self.coef["estimate"].to_numpy()[:k]

        def effect(betas: np.ndarray) -> np.ndarray:
            return (expit(betas @ X_new.T) - expit(betas @ X.T)) @ w

        est = float(effect(beta[None])[0])
        draws = (effect(self.boot_params[:, :k]) if self.boot_params.size
                 else np.array([np.nan]))
        lev = self.level if level is None else level
        lo, hi = np.nanquantile(draws, [(1 - lev) / 2, (1 + lev) / 2])
        return WhatIfResult(
            delta_points=delta_points, movers=movers, n_movers=int(m.sum()),
            share_movers=float(w[m].sum()), base=float(expit(X @ beta) @ w), effect=est,
            ci=(float(lo), float(hi)), level=lev,
        )

    # --- presentation
    def to_polars(self) -> pl.DataFrame:
        """One row per quantity: optimum (delta and bootstrap CIs), coefficients, tests."""
        rows = [
            {"term": "optimum_brand_share", "estimate": self.optimum, "se": self.se_delta,
             "ci_low": self.ci_delta[0], "ci_high": self.ci_delta[1], "method": "delta"},
            {"term": "optimum_brand_share", "estimate": self.optimum,
             "se": float(np.nanstd(self.boot_optima)) if self.boot_optima.size else np.nan,
             "ci_low": self.ci_boot[0], "ci_high": self.ci_boot[1], "method": "bootstrap"},
        ]
        z = stats.norm.ppf((1 + self.level) / 2)
        for r in self.coef.iter_rows(named=True):
            rows.append({"term": r["term"], "estimate": r["estimate"], "se": r["se"],
                         "ci_low": r["estimate"] - z * r["se"],
                         "ci_high": r["estimate"] + z * r["se"], "method": "sandwich"})
        return pl.DataFrame(rows)

    def summary(self, lang: Lang = "zh") -> str:
        """Plain-language summary with the fitted numbers (texts from ``texts.yml``)."""
        lo, hi = self.ci_boot
        gain = (say("brand_split.gain_mean", lang, outcome=self.outcome)
                if self.family == "gaussian" else say(f"brand_split.gain_{self.family}", lang))
        if self.interior:
            parts = [say("brand_split.optimum", lang, opt=self.optimum, level=self.level, lo=lo,
                         hi=hi, gain=gain)]
        else:
            parts = [say("brand_split.no_optimum", lang, lo=self.domain[0], hi=self.domain[1],
                         opt=self.optimum)]
        if self.model == "quadratic" and np.isfinite(self.se_delta):
            parts.append(say("brand_split.delta", lang, level=self.level, lo=self.ci_delta[0],
                             hi=self.ci_delta[1], interior=self.boot_share_interior))
        for r in self.tests().iter_rows(named=True):
            sig = r["p_boot"] < 1 - self.level
            verdict = say("brand_split.significant" if sig else "brand_split.not_significant",
                          lang)
            key = "brand_split.test_wald" if np.isfinite(r["z"]) else "brand_split.test_boot"
            parts.append(say(key, lang, label=r[f"label_{lang}"], verdict=verdict, z=r["z"],
                             p=r["p_boot"]))
        parts.append(say("brand_split.sample", lang, n=self.n))
        return join(parts, lang)

    def plot(self, ax: Any = None, lang: Lang = "zh") -> Any:
        """Fitted share gaining market share vs brand share, with bands and the optimum."""
        import seaborn as sns

        ax = new_axes(ax)
        c = self.curve
        x = 100 * c["brand_share"].to_numpy()
        sns.lineplot(x=x, y=100 * c["estimate"].to_numpy(), ax=ax, color="C0",
                     label=say("brand_split.fig_fitted", lang))
        ax.fill_between(x, 100 * c["boot_low"].to_numpy(), 100 * c["boot_high"].to_numpy(),
                        alpha=0.25, color="C0",
                        label=say("brand_split.fig_band", lang, level=self.level))
        ax.axvline(100 * self.optimum, color="C3", ls="--",
                   label=say("brand_split.fig_optimum", lang, opt=self.optimum))
        ax.axvspan(100 * self.ci_boot[0], 100 * self.ci_boot[1], color="C3", alpha=0.08)
        ax.set_xlabel(say("brand_split.fig_x", lang))
        ax.set_ylabel(say("brand_split.fig_y", lang) if self.family != "gaussian"
                      else self.outcome)
        ax.set_title(say("brand_split.fig_title", lang))
        ax.legend(loc="best", fontsize="small")
        return ax


@dataclass(frozen=True)
class WhatIfResult:
    """Predicted change in the weighted share of advertisers gaining market share."""

    delta_points: float
    movers: str
    n_movers: int
    share_movers: float
    base: float
    effect: float
    ci: tuple[float, float]
    level: float

    def to_polars(self) -> pl.DataFrame:
        """One row: Δ, movers, base share gaining, effect (share points) and its CI."""
        return pl.DataFrame([{
            "delta_points": self.delta_points, "movers": self.movers, "n_movers": self.n_movers,
            "share_movers": self.share_movers, "base_share_gaining": self.base,
            "effect": self.effect, "ci_low": self.ci[0], "ci_high": self.ci[1],
        }])

    def summary(self, lang: Lang = "zh") -> str:
        """Plain-language summary (the movers' label from the codebook)."""
        q, _, code = self.movers.partition("__")
        verb = say("brand_split.whatif_down" if self.delta_points < 0 else "brand_split.whatif_up",
                   lang)
        return say("brand_split.whatif", lang, movers=label(q, code, lang) if code else q,
                   share=self.share_movers, verb=verb, delta=abs(self.delta_points),
                   effect=100 * self.effect, lo=100 * self.ci[0], hi=100 * self.ci[1],
                   level=self.level)

    def plot(self, ax: Any = None, lang: Lang = "zh") -> Any:
        """Point and interval of the effect."""
        import seaborn as sns

        ax = new_axes(ax)
        sns.pointplot(x=[100 * self.effect], y=[0], orient="h", ax=ax, color="C0",
                      linestyle="none")
        ax.errorbar([100 * self.effect], [0], xerr=[[100 * (self.effect - self.ci[0])],
                    [100 * (self.ci[1] - self.effect)]], fmt="none", color="C0", capsize=4)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks([])
        ax.set_xlabel(say("brand_split.whatif_x", lang))
        return ax


# ----------------------------------------------------------------------------------- main


def published_optimum() -> float | None:
    """The published brand-share optimum (0.53) from ``data/published``, or None if unavailable."""
    try:
        from survey.published import load_figures

        figs = load_figures()
    except Exception:
        return None
    try:
        row = figs.filter(
            (pl.col("question_id") == "budget_split")
            & (pl.col("measure") == "optimum")
            & (pl.col("option_code") == "brand")
        )
        return float(row["value"][0]) / 100.0 if row.height else None
    except Exception:
        return None


def default_references() -> dict[str, float]:
    """Published optimum (when the figures are available) and the Binet & Field splits."""
    refs: dict[str, float] = {}
    pub = published_optimum()
    if pub is not None:
        refs["published_53_47"] = pub
    refs.update(LITERATURE_REFERENCES)
    return refs


def reference_label(key: str, s0: float, lang: Lang) -> str:
    """Label of a reference split, its brand:performance numbers computed from ``s0``."""
    brand = round(100 * s0)
    k = key if f"brand_split.ref.{key}" in texts() else "other"
    return say(f"brand_split.ref.{k}", lang, brand=brand, perf=100 - brand)


def _optimum_from_params(
    params: np.ndarray, model: str, knots: np.ndarray | None, domain: tuple[float, float],
    grid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Argmax over ``domain`` of the ``s`` part of the predictor, for rows of ``params`` (B x q).

    Returns ``(optimum, interior)``; for the quadratic the optimum is exact (clipped to the domain).
    """
    params = np.atleast_2d(params)
    if model == "quadratic":
        b1, b2 = params[:, 0], params[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            vertex = -b1 / (2 * b2)
        lo, hi = domain
        f = lambda s: b1 * s + b2 * s**2  # noqa: E731
        end = np.where(f(hi) >= f(lo), hi, lo)
        interior = (b2 < 0) & (vertex > lo) & (vertex < hi)
        return np.where(interior, vertex, end), interior
    F = basis(grid, model, knots) @ params.T  # G x B
    idx = np.argmax(F, axis=0)
    return grid[idx], (idx > 0) & (idx < grid.size - 1)


def fit(
    design_or_frame: Any = None,
    *,
    outcome: str = "market_share_change",
    share: str = "budget_split__brand",
    controls: Sequence[str] = ("industry", "budget_size"),
    model: Literal["quadratic", "spline"] = "quadratic",
    outcome_model: Literal["binary", "ordinal"] = "binary",
    design: Any = None,
    weights: str | None = "weight",
    ids: str | None = None,
    strata: str | None = None,
    bootstrap: int = 10_000,
    bootstrap_method: Literal["rao_wu", "bayes"] = "rao_wu",
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
    domain: tuple[float, float] = (0.0, 1.0),
    n_knots: int = 4,
    min_level_n: int = 10,
    ridge: float = 1e-3,
    references: Mapping[str, float] | None = None,
    curve_points: int = 51,
    curve_replicates: int = 2000,
    where: Any = None,
) -> BrandSplitResult:
    """Fit the brand-share curve, its optimum and intervals.

    Args:
        design_or_frame: a ``survey.design.Design`` (e.g. the report's raked
            ``ctx.design``): its final weights, strata/PSUs and calibration give the sandwich
            covariance (equal to ``Design.glm``, calibration-aware) and the bootstrap (replicates
            re-raked). A ``Wave`` or polars frame is turned into a design with the ``weights``,
            ``ids`` and ``strata`` columns (weights fixed: no calibration).
        design: the same as ``design_or_frame`` (keyword form).
        model: ``"quadratic"`` (``s``, ``s²``; optimum ``-b1/(2 b2)``) or ``"spline"``
            (restricted cubic spline with ``n_knots`` knots; optimum by grid argmax).
        outcome_model: ``"binary"`` (logit of ``increase`` vs the rest) or ``"ordinal"``
            (proportional-odds logit of decrease < flat < increase: uses all three answers; the
            optimum, curve and what-if are for P(increase), which peaks where the linear
            predictor does). Numeric outcomes are always gaussian.
        bootstrap: number of replicate-weight fits (0 disables the bootstrap).
        where: a domain (segment) as for ``Design.subset``: a polars expression, a SQL
            condition or a Boolean mask; the other rows stay in the design for the variance,
            as R's ``subset`` of a design.
        ridge: penalty on the *control* coefficients of bootstrap replicates only (keeps
            replicates with a separated industry cell finite; the main fit is unpenalised).

    Example:
        >>> res = fit(frame, bootstrap=1000, seed=3)   # doctest: +SKIP
        >>> res.optimum, res.ci_boot                    # doctest: +SKIP
        (0.531, (0.47, 0.59))
    """
    d = as_design(design if design is not None else design_or_frame, weights=weights, ids=ids,
                  strata=strata)
    prep = prepare(d, outcome=outcome, share=share, controls=controls, min_level_n=min_level_n,
                   where=where, outcome_model=outcome_model)
    n = prep.y.size
    knots = rcs_knots(prep.s, n_knots) if model == "spline" else None
    S = basis(prep.s, model, knots)
    q = S.shape[1]
    X = np.column_stack([np.ones(n), S, prep.C])
    k = X.shape[1]
    if n <= k + 2:
        raise ModelError(f"base n = {n} is too small for {k} parameters", value=n,
                         expected=f"more than {k + 2} respondents")
    J = len(prep.levels)
    wn = prep.w * (n / prep.w.sum())  # mean-1 weights: same estimates, better conditioning
    beta, conv = fit_batch(X, prep.y, wn[None], prep.family, n_levels=J)
    beta = beta[0]
    if not conv[0]:
        raise ModelError("the fit did not converge (separation?); pool sparse control levels",
                         expected="a converging logistic fit")
    V = sandwich(d, X, prep.y, wn, beta, prep.family, prep.rows, n_levels=J)
    se = np.sqrt(np.diag(V))
    cuts = [f"cut[{prep.levels[j]}|{prep.levels[j + 1]}]" for j in range(max(J - 2, 0))]
    names = ["intercept", *(["s", "s^2"] if model == "quadratic" else
                            [f"rcs{j}" for j in range(q)]), *prep.control_names, *cuts]
    coef = pl.DataFrame({"term": names, "estimate": beta, "se": se})

    grid = np.linspace(domain[0], domain[1], 401)
    opt, interior = _optimum_from_params(beta[1 : 1 + q][None], model, knots, domain, grid)
    opt, interior = float(opt[0]), bool(interior[0])
    z = stats.norm.ppf((1 + level) / 2)
    if model == "quadratic" and interior:
        b1, b2 = beta[1], beta[2]
        g = np.array([-1 / (2 * b2), b1 / (2 * b2**2)])
        se_d = float(np.sqrt(g @ V[1:3, 1:3] @ g))
    else:
        se_d = np.nan
    ci_d = (opt - z * se_d, opt + z * se_d)

    rng = np.random.default_rng(seed)
    if bootstrap > 0:
        W = replicate_weights(d, bootstrap, rng, method=bootstrap_method)[:, prep.rows]
        W *= n / prep.w.sum()  # the same scale as ``wn``
        pen = np.r_[np.zeros(1 + q), np.full(k - 1 - q, ridge), np.zeros(len(cuts))]
        bp, bconv = fit_batch(X, prep.y, W, prep.family, beta0=beta, ridge=pen, n_levels=J)
        bp = bp[bconv]
        bo, bint = _optimum_from_params(bp[:, 1 : 1 + q], model, knots, domain, grid)
        ci_b = tuple(float(v) for v in np.quantile(bo, [(1 - level) / 2, (1 + level) / 2]))
        share_int, conv_rate = float(bint.mean()), float(bconv.mean())
    else:
        bp, bo = np.zeros((0, k + len(cuts))), np.zeros(0)
        ci_b, share_int, conv_rate = (np.nan, np.nan), np.nan, np.nan

    curve = _curve(X, prep, beta[:k], V[:k, :k], bp[:curve_replicates, :k], model, knots, q,
                   level,
                   np.linspace(max(domain[0], prep.s.min()), min(domain[1], prep.s.max()),
                               curve_points))
    refs = default_references() if references is None else dict(references)
    return BrandSplitResult(
        model=model, family=prep.family, outcome=outcome, n=n, coef=coef, vcov=V,
        optimum=opt, interior=interior, se_delta=se_d, ci_delta=ci_d, ci_boot=ci_b,  # type: ignore[arg-type]
        boot_share_interior=share_int, boot_optima=bo, boot_params=bp,
        boot_converged=conv_rate, curve=curve, domain=domain, level=level, seed=seed,
        knots=knots, references=refs, _prep=prep, _X=X,
    )


def _curve(
    X: np.ndarray, prep: Prepared, beta: np.ndarray, V: np.ndarray, bp: np.ndarray,
    model: str, knots: np.ndarray | None, q: int, level: float, grid: np.ndarray,
) -> pl.DataFrame:
    """Marginally standardised curve over ``grid``: delta-method and bootstrap pointwise bands."""
    w = prep.w / prep.w.sum()
    Sg = basis(grid, model, knots)
    z = stats.norm.ppf((1 + level) / 2)
    logit = prep.family != "gaussian"  # binary and ordinal: P(top category) = expit(X β)
    link = expit if logit else (lambda x: x)
    base = np.delete(X, np.s_[1 : 1 + q], axis=1)
    b_base = np.delete(beta, np.s_[1 : 1 + q])
    eta0 = base @ b_base  # n
    est, se = np.empty(grid.size), np.empty(grid.size)
    for j in range(grid.size):
        eta = eta0 + Sg[j] @ beta[1 : 1 + q]
        mu = link(eta)
        d = mu * (1 - mu) if logit else np.ones_like(mu)
        Xg = X.copy()
        Xg[:, 1 : 1 + q] = Sg[j]
        grad = (w * d) @ Xg
        est[j], se[j] = mu @ w, np.sqrt(grad @ V @ grad)
    lo_b = hi_b = np.full(grid.size, np.nan)
    if bp.shape[0] > 0:
        eta_b = bp[:, np.r_[0, 1 + q : bp.shape[1]]] @ base.T  # B x n
        F = bp[:, 1 : 1 + q] @ Sg.T  # B x G
        curves = np.stack([link(eta_b + F[:, [j]]) @ w for j in range(grid.size)], axis=1)
        lo_b, hi_b = np.quantile(curves, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return pl.DataFrame({
        "brand_share": grid, "estimate": est, "se": se,
        "delta_low": est - z * se, "delta_high": est + z * se,
        "boot_low": lo_b, "boot_high": hi_b,
    })


# ----------------------------------------------------------------------------------- segments


@dataclass(frozen=True)
class SegmentOptima(TableResult):
    """Optimum per level of a segment variable; refused levels say why (in both languages).

    ``table``: level, label_zh, label_en (codebook), n, status (ok/refused), reason_zh,
    reason_en, optimum, ci_low, ci_high (bootstrap).
    """

    by: str
    table: pl.DataFrame
    min_base: int
    min_side: int

    def summary(self, lang: Lang = "zh") -> str:
        """One sentence per level."""
        out = []
        for r in self.table.iter_rows(named=True):
            lv = r[f"label_{lang}"]
            if r["status"] == "ok":
                out.append(say("brand_split.segment_ok", lang, level=lv, opt=r["optimum"],
                               lo=r["ci_low"], hi=r["ci_high"], n=r["n"]))
            else:
                out.append(say("brand_split.segment_refused", lang, level=lv,
                               reason=r[f"reason_{lang}"]))
        return join(out, lang)

    def plot(self, ax: Any = None, lang: Lang = "zh") -> Any:
        """Optima with bootstrap CIs for the levels that could be estimated."""
        import seaborn as sns

        ax = new_axes(ax)
        ok = self.table.filter(pl.col("status") == "ok")
        y = np.arange(ok.height)
        o = 100 * ok["optimum"].to_numpy()
        sns.scatterplot(x=o, y=y, ax=ax, color="C0", zorder=3)
        ax.errorbar(o, y, xerr=[o - 100 * ok["ci_low"].to_numpy(),
                                100 * ok["ci_high"].to_numpy() - o], fmt="none", capsize=3)
        ax.set_yticks(y, ok[f"label_{lang}"].to_list())
        ax.set_xlabel(say("brand_split.segment_x", lang))
        return ax


class SegmentRefused(ModelError):
    """The base of a segment level cannot support an optimum; ``reason`` + ``values`` say why."""

    def __init__(self, by: str, level: str, reason: str, **values: Any) -> None:
        self.reason, self.values = reason, values
        super().__init__(f"{by} = {level}: {self.text('en')}", column=by, value=level)

    def text(self, lang: Lang) -> str:
        """The reason in ``lang``."""
        return say(f"brand_split.refuse.{self.reason}", lang, **self.values)


def fit_segment(
    design_or_frame: Any, by: str, level: str, *, min_base: int = 80, min_side: int = 10,
    **kw: Any,
) -> BrandSplitResult:
    """The optimum within one segment level (a domain of the design); refused when the base is thin.

    Raises :class:`SegmentRefused` (a :class:`ModelError`) when the level has fewer than
    ``min_base`` respondents, when the model cannot be fitted or has no interior optimum, or when
    fewer than ``min_side`` respondents lie on either side of the optimum;
    :class:`EmptySegmentError` when nobody is in the level.
    """
    d = as_design(kw.pop("design", None) or design_or_frame, weights=kw.pop("weights", "weight"),
                  ids=kw.pop("ids", None), strata=kw.pop("strata", None))
    in_level = pl.col(by).cast(pl.String) == level
    n = d.frame.filter(in_level).height
    if n == 0:
        raise EmptySegmentError(f"no respondent has {by} = {level!r}", column=by, value=level)
    if n < min_base:
        raise SegmentRefused(by, level, "small_base", n=n, min=min_base)
    controls = tuple(c for c in kw.pop("controls", ("industry", "budget_size")) if c != by)
    try:
        res = fit(d, controls=controls, where=in_level, **kw)
    except (ModelError, EmptySegmentError) as e:
        raise SegmentRefused(by, level, "fit", n=n, msg=str(e)) from e
    if not res.interior:
        raise SegmentRefused(by, level, "no_interior", n=n)
    s = res._prep.s if res._prep is not None else np.zeros(0)
    side = min(int((s < res.optimum).sum()), int((s > res.optimum).sum()))
    if side < min_side:
        raise SegmentRefused(by, level, "one_side", k=side, opt=res.optimum, n=n, min=min_side)
    return res


def optima_by_segment(
    design_or_frame: Any, by: str, *, min_base: int = 80, min_side: int = 10, **kw: Any
) -> SegmentOptima:
    """Optimum for every level of ``by``; levels refused by :func:`fit_segment` keep the reason.

    Example:
        >>> optima_by_segment(ctx.design, "brand_type", bootstrap=2000).to_polars()  # doctest: +SKIP
    """
    d = as_design(kw.pop("design", None) or design_or_frame, weights=kw.pop("weights", "weight"),
                  ids=kw.pop("ids", None), strata=kw.pop("strata", None))
    rows = []
    for lv in d.frame[by].drop_nulls().cast(pl.String).unique().sort():
        n = d.frame.filter(pl.col(by).cast(pl.String) == lv).height
        row = {"level": lv, "label_zh": label(by, lv, "zh", d), "label_en": label(by, lv, "en", d),
               "n": n}
        try:
            r = fit_segment(d, by, lv, min_base=min_base, min_side=min_side, **kw)
            rows.append({**row, "status": "ok", "reason_zh": "", "reason_en": "",
                         "optimum": r.optimum, "ci_low": r.ci_boot[0], "ci_high": r.ci_boot[1]})
        except SegmentRefused as e:
            rows.append({**row, "status": "refused", "reason_zh": e.text("zh"),
                         "reason_en": e.text("en"), "optimum": None, "ci_low": None,
                         "ci_high": None})
    table = pl.DataFrame(rows, schema={
        "level": pl.String, "label_zh": pl.String, "label_en": pl.String, "n": pl.Int64,
        "status": pl.String, "reason_zh": pl.String, "reason_en": pl.String,
        "optimum": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64})
    return SegmentOptima(by=by, table=table, min_base=min_base, min_side=min_side)


# ----------------------------------------------------------------------------------- simulation


def simulate(
    n: int = 228,
    *,
    optimum: float = 0.53,
    curvature: float = 8.0,
    base_rate: float = 0.40,
    seed: int = 0,
    weights: bool = True,
    concentration: float = 5.0,
    ordinal_gap: float | None = None,
) -> pl.DataFrame:
    """A synthetic frame with a known optimum, for tests and benchmarks.

    ``logit P(increase) = a + c(s) + industry + size`` with ``c(s) = -curvature (s - optimum)²``;
    other rows are ``flat``/``decrease`` at random, or, with ``ordinal_gap``, a proportional-odds
    truth (``P(flat or increase) = expit(eta + ordinal_gap)``, the same ``P(increase)``);
    ``s ~ Beta(concentration, concentration)``. Includes a ``budget_cut_response__brand_to_performance``
    flag and ``weight``.

    Example:
        >>> simulate(50, seed=1).height
        50
    """
    rng = np.random.default_rng(seed)
    s = np.clip(rng.beta(concentration, concentration, n), 0.02, 0.98)
    s = np.round(s * 100) / 100
    ind_levels = np.array(["fmcg", "beauty", "auto", "tech", "health"])
    ind = rng.choice(ind_levels, n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    size = rng.choice(np.array(["small", "medium", "large"]), n, p=[0.4, 0.35, 0.25])
    eff_ind = dict(zip(ind_levels, [0.0, 0.3, -0.2, 0.2, -0.3], strict=True))
    eff_size = {"small": -0.2, "medium": 0.0, "large": 0.3}
    a = np.log(base_rate / (1 - base_rate))
    eta = (a - curvature * (s - optimum) ** 2 + np.vectorize(eff_ind.get)(ind)
           + np.vectorize(eff_size.get)(size))
    if ordinal_gap is None:
        gain = rng.random(n) < expit(eta)
        out = np.where(gain, "increase", np.where(rng.random(n) < 0.5, "flat", "decrease"))
    else:  # proportional odds: latent eta + logistic noise cut at -ordinal_gap and 0
        u = eta + rng.logistic(size=n)
        out = np.where(u > 0, "increase", np.where(u > -ordinal_gap, "flat", "decrease"))
    w = rng.gamma(8, 1 / 8, n) if weights else np.ones(n)
    return pl.DataFrame({
        "resp_id": [f"r{i:04d}" for i in range(n)],
        "industry": ind,
        "budget_size": pl.Series(size).cast(pl.Enum(["small", "medium", "large"])),
        "budget_split__brand": 100 * s,
        "budget_split__performance": 100 * (1 - s),
        "market_share_change": pl.Series(out).cast(pl.Enum(["decrease", "flat", "increase"])),
        CUT_BRAND_COLUMN: rng.random(n) < 0.5,
        "weight": w * n / w.sum(),
    })
