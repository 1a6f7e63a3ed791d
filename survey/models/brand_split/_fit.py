"""The brand-share fit: main model, delta and bootstrap intervals, the marginal curve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats
from scipy.special import expit

from survey.errors import ModelError
from survey.models._base import WhereLabel
from survey.models._base import domain as where_domain
from survey.models._design import as_design, replicate_weights
from survey.models._result import DEFAULT_SEED
from survey.models.brand_split._likelihood import fit_batch, sandwich
from survey.models.brand_split._prepare import Prepared, basis, prepare, rcs_knots
from survey.models.brand_split._references import default_references
from survey.models.brand_split._result import BrandSplitResult


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
    where_label: WhereLabel = None,
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
        where: a domain (segment) as for ``Design.subset``: a polars expression,
            ``{variable: level or [levels]}`` (codes or labels, as a banner's ``where=``), a
            SQL condition or a Boolean mask; the other rows stay in the design for the
            variance, as R's ``subset`` of a design. The result's ``base`` names it (as the
            banner's base note) with the ``n`` respondents of the domain the model used;
            ``where_label`` (a text or ``{"zh": …, "en": …}``) renames it.
        ridge: penalty on the *control* coefficients of bootstrap replicates only (keeps
            replicates with a separated industry cell finite; the main fit is unpenalised).

    Example:
        >>> from survey.models.brand_split import simulate
        >>> res = fit(simulate(228, seed=3), bootstrap=50, seed=3)
        >>> round(res.optimum, 2), res.interior, bool(res.ci_boot[0] < res.optimum < res.ci_boot[1])
        (0.65, True, True)
        >>> sub = fit(ctx.design, where={"industry": ["美妆个护", "食品饮料"]}, controls=(),
        ...           bootstrap=0)
        >>> sub.base.text("zh") == f"基数：美妆个护+食品饮料，n = {sub.n}", sub.n < res.n
        (True, True)
    """
    d = as_design(design if design is not None else design_or_frame, weights=weights, ids=ids,
                  strata=strata)
    base, inside = where_domain(d, where, where_label)
    prep = prepare(d, outcome=outcome, share=share, controls=controls, min_level_n=min_level_n,
                   where=inside, outcome_model=outcome_model)
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
        base=base.with_n(n),
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
