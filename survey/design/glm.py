"""Design-based generalized linear models, as R's ``svyglm``.

Point estimates: statsmodels GLM with the design weights (rescaled to mean 1, as R) as
``var_weights``. Covariance: the sandwich ``A^-1 B A^-1`` where B is the design covariance of the
totals of the estimating functions (``Design._vcov_totals`` of ``U A^-1``, calibration-aware when
raked). Degrees of freedom as R: ``df_resid = degf + 1 - p`` for t tests and intervals.
Rows with missing values in the model are dropped as a domain (R's ``na.action`` on the design).

Ordinal logistic regression (``family="ordinal"``) is R's ``svyolr``: the proportional-odds
model ``P(Y <= k | x) = expit(zeta_k - x'beta)`` fitted by weighted maximum likelihood, with the
sandwich covariance of the score influence functions ``U H^-1`` under the design (``svyrecvar``,
calibration-aware) and ``df_resid = degf - len(beta)``.

Example:
    >>> import polars as pl
    >>> from survey.design import Design
    >>> f = pl.DataFrame({"y": [1.0, 2.0, 2.5, 4.0, 5.5], "x": [0.0, 1.0, 2.0, 3.0, 4.0]})
    >>> round(float(Design(f).glm("y ~ x").params["x"]), 3)
    1.1
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import polars as pl
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import special, stats

from survey.errors import EstimationError

if TYPE_CHECKING:
    from survey.design.design import Design

FAMILIES = {"gaussian": sm.families.Gaussian, "binomial": sm.families.Binomial}


@dataclass(frozen=True)
class GlmResult:
    """svyglm-style fit: coefficients, design-based covariance and R's residual df."""

    formula: str
    family: str
    params: pd.Series
    vcov: pd.DataFrame
    df_resid: int
    level: float = 0.95
    deviance: float | None = None  # ordinal: -2 log-likelihood / mean weight, as R's svyolr
    terms: dict[str, tuple[str, ...]] | None = None  # model term -> its coefficients

    def term_test(self, terms: str | Sequence[str], df: float | None = None) -> TermTest:
        """Wald test that the coefficients of ``terms`` are 0 (R's ``regTermTest``)."""
        return reg_term_test(self, terms, df)

    @property
    def se(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.vcov)), index=self.params.index)

    def to_polars(self) -> pl.DataFrame:
        """term, estimate, se, t, p_value, ci_low, ci_high (t with ``df_resid``)."""
        est, se = self.params.to_numpy(), self.se.to_numpy()
        t = est / se
        q = stats.t.ppf(0.5 + self.level / 2, self.df_resid)
        return pl.DataFrame({"term": list(self.params.index), "estimate": est, "se": se, "t": t,
                             "p_value": 2 * stats.t.sf(np.abs(t), self.df_resid),
                             "ci_low": est - q * se, "ci_high": est + q * se})


def svyglm(design: Design, formula: str, family: str = "gaussian") -> GlmResult:
    """Fit ``formula`` on the design's frame with design-based standard errors.

    ``family="ordinal"``: proportional-odds (ordinal logistic) model, as R's ``svyolr``
    (see :func:`svyolr`).
    """
    if family == "ordinal":
        return svyolr(design, formula)
    if family not in FAMILIES:
        raise EstimationError(f"family={family!r}; expected one of "
                              f"{sorted([*FAMILIES, 'ordinal'])}")
    frame = design.frame.with_columns(
        [pl.col(c).cast(pl.Float64) for c, t in design.frame.schema.items() if t == pl.Boolean])
    pdf = frame.to_pandas()
    pdf["_w"] = design.weights / design.weights.mean()
    pdf["_row"] = np.arange(design.n)
    model = smf.glm(formula, data=pdf, family=FAMILIES[family](), var_weights=pdf["_w"])
    fit = model.fit(tol=1e-12, maxiter=200)
    rows = pdf["_row"].to_numpy()[model.data.row_labels] if model.data.row_labels is not None \
        else np.arange(design.n)
    x = model.exog
    mu = fit.fittedvalues.to_numpy()
    w = pdf["_w"].to_numpy()[rows]
    y = model.endog
    info_w = w if family == "gaussian" else w * mu * (1 - mu)  # canonical links
    ainv = np.linalg.inv(x.T @ (info_w[:, None] * x))
    infl = np.zeros((design.n, x.shape[1]))
    infl[rows] = (x * (w * (y - mu))[:, None]) @ ainv
    vc = design._vcov_totals(infl)
    st = design._st
    keep = np.zeros(design.n, bool)
    keep[rows] = True
    unit = np.arange(design.n) if st.psu is None else st.psu
    degf = len(np.unique(unit[keep])) - len(np.unique(st.stratum[keep]))
    names = list(model.exog_names)
    return GlmResult(formula, family, pd.Series(fit.params.to_numpy(), index=names),
                     pd.DataFrame(vc, index=names, columns=names), degf + 1 - len(names),
                     terms=_terms(model.data.model_spec))


def svyolr(design: Design, formula: str, max_iter: int = 100, tol: float = 1e-12) -> GlmResult:
    """Proportional-odds logistic regression with design-based SEs (R's ``svyolr``).

    The response is a categorical column with at least 3 levels, in their order (an Enum's
    categories, else sorted values); there is no intercept (the cut-points ``zeta`` play its
    part). ``params`` lists the slopes, then the cut-points named ``"a|b"`` as R. The weighted
    log-likelihood ``sum w log(F(zeta_y - eta) - F(zeta_{y-1} - eta))`` is maximized by
    Newton-Raphson with the analytic Hessian ``H``; the covariance is the design covariance of
    the totals of ``U H^-1`` (``U``: per-respondent scores), as R.

    Example:
        >>> import polars as pl
        >>> from survey.design import Design
        >>> f = pl.DataFrame({"y": pl.Series(list("abcabcbcacba")).cast(pl.Enum(list("abc"))),
        ...                   "x": [0.0, 1, 2, 1, 0, 3, 2, 1, 0, 3, 1, 2]})
        >>> fit = Design(f).glm("y ~ x", family="ordinal")
        >>> list(fit.params.index), round(float(fit.params["x"]), 3)
        (['x', 'a|b', 'b|c'], 1.38)
    """
    import patsy

    from survey.design._columns import _level_codes

    lhs, sep, rhs = formula.partition("~")
    yname = lhs.strip()
    if not sep or not yname:
        raise EstimationError(f"formula {formula!r}; expected 'response ~ terms'")
    codes, levels = _level_codes(design.frame, yname, "ordinal regression", allow_null=True)
    q = len(levels) - 1
    if q < 2:
        raise EstimationError(f"response '{yname}' has {q + 1} levels; expected at least 3 for "
                              "an ordinal model (use family='binomial' for 2)", column=yname)
    frame = design.frame.with_columns(
        [pl.col(c).cast(pl.Float64) for c, t in design.frame.schema.items() if t == pl.Boolean])
    pdf = frame.to_pandas()
    pdf["_row"] = np.arange(design.n)
    pdf = pdf[codes >= 0]
    x_df = patsy.dmatrix(rhs.strip() + " + _row", pdf, NA_action="drop", return_type="dataframe")
    terms = {k: v for k, v in _terms(x_df.design_info).items() if k not in ("Intercept", "_row")}
    rows = x_df.pop("_row").to_numpy().astype(np.int64)
    x_df = x_df.drop(columns=[c for c in x_df.columns if c == "Intercept"])
    x = x_df.to_numpy(float)
    y = codes[rows]
    counts = np.bincount(y, minlength=q + 1)
    if np.any(counts == 0):
        empty = levels[int(np.flatnonzero(counts == 0)[0])]
        raise EstimationError(f"response '{yname}': level '{empty}' has no respondents in the "
                              "model; expected every level to be observed", column=yname,
                              value=empty)
    w = design.weights[rows]
    pc = x.shape[1]
    # start: no slopes, cut-points at the logits of the weighted cumulative shares
    cum = np.cumsum(np.bincount(y, weights=w, minlength=q + 1))[:q] / w.sum()
    par = np.concatenate([np.zeros(pc), np.log(cum / (1 - cum))])
    ll, grad, hess, scores = _olr_terms(par, x, y, w, q)
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError as err:
            raise EstimationError(f"ordinal model {formula!r}: singular information matrix; "
                                  "expected no separation and no collinear terms") from err
        t = 1.0
        while True:
            new = par - t * step
            if np.all(np.diff(new[pc:]) > 0):
                ll_new, *rest = _olr_terms(new, x, y, w, q)
                if ll_new >= ll - 1e-12 * abs(ll):
                    break
            t /= 2
            if t < 1e-10:
                raise EstimationError("ordinal model did not converge (step halving failed)")
        par, (ll, grad, hess, scores) = new, (ll_new, *rest)
        if np.max(np.abs(t * step)) < tol * (1 + np.max(np.abs(par))):
            break
    else:
        raise EstimationError(f"ordinal model did not converge after {max_iter} iterations")
    infl = np.zeros((design.n, pc + q))
    infl[rows] = scores @ np.linalg.inv(hess)
    vc = design._vcov_totals(infl)
    names = [*x_df.columns, *(f"{a}|{b}" for a, b in pairwise(levels))]
    return GlmResult(formula, "ordinal", pd.Series(par, index=names),
                     pd.DataFrame(vc, index=names, columns=names), design.degf - pc,
                     deviance=-2 * ll / float(w.mean()), terms=terms)


def _olr_terms(par: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray, q: int):
    """Weighted log-likelihood, gradient, Hessian and per-row scores of the logistic
    proportional-odds model at ``par = (beta, zeta)``; ``y`` in 0..q."""
    pc = x.shape[1]
    beta, zeta = par[:pc], par[pc:]
    eta = x @ beta
    big = np.concatenate([[-np.inf], zeta, [np.inf]])
    a, b = big[y + 1] - eta, big[y] - eta  # upper and lower cut minus eta
    fa, fb = special.expit(a), special.expit(b)
    pr = fa - fb
    da_, db_ = fa * (1 - fa), fb * (1 - fb)  # densities (0 at +-inf)
    d2a, d2b = da_ * (1 - 2 * fa), db_ * (1 - 2 * fb)
    n = len(y)
    # derivatives of a and b with respect to the parameters
    ea = np.zeros((n, pc + q))
    eb = np.zeros((n, pc + q))
    ea[:, :pc] = eb[:, :pc] = -x
    up, lo = y < q, y > 0
    ea[np.flatnonzero(up), pc + y[up]] = 1.0
    eb[np.flatnonzero(lo), pc + y[lo] - 1] = 1.0
    scores = (da_[:, None] * ea - db_[:, None] * eb) / pr[:, None]
    ll = float(np.sum(w * np.log(pr)))
    grad = (w[:, None] * scores).sum(0)
    hess = ((ea * (w * d2a / pr)[:, None]).T @ ea - (eb * (w * d2b / pr)[:, None]).T @ eb
            - (scores * w[:, None]).T @ scores)
    return ll, grad, hess, w[:, None] * scores


# ---------------------------------------------------------------------- Wald tests of terms
@dataclass(frozen=True)
class TermTest:
    """R's ``regTermTest`` (method "Wald"): ``F = b' V^-1 b / df`` on ``(df, ddf)``, or the
    chi-squared ``b' V^-1 b`` on ``df`` when ``ddf`` is infinite."""

    terms: tuple[str, ...]
    statistic: float
    df: int
    ddf: float
    p_value: float

    @property
    def method(self) -> str:
        return "Chisq" if np.isinf(self.ddf) else "F"

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({"terms": [" + ".join(self.terms)], "method": [self.method],
                             "statistic": [self.statistic], "df": [self.df],
                             "ddf": [self.ddf], "p_value": [self.p_value]})


def reg_term_test(fit: GlmResult, terms: str | Sequence[str], df: float | None = None
                  ) -> TermTest:
    """Wald test of model terms of a design-based GLM (R's ``regTermTest(model, ~terms)``).

    ``terms``: ``"brand + seg2"`` (``~`` optional) or a list of term names as in the formula
    (interactions ``a:b`` in any order). ``df``: denominator df (default the model's
    ``df_resid``, as R; ``float("inf")`` for the chi-squared form).

    Example:
        >>> import polars as pl
        >>> from survey.design import Design
        >>> f = pl.DataFrame({"y": [1.0, 2.0, 2.5, 4.0, 5.5, 5.0], "x": [0.0, 1, 2, 3, 4, 5],
        ...                   "g": list("ababab")})
        >>> t = Design(f).glm("y ~ x + g").term_test("x")
        >>> t.df, round(t.statistic, 3)
        (1, 63.084)
    """
    if fit.terms is None:
        raise EstimationError("the model has no term information; expected a fit of glm()")
    wanted = [t.strip() for t in (terms.lstrip(" ~").split("+") if isinstance(terms, str)
                                  else terms) if t.strip()]
    canon = {_canon(k): k for k in fit.terms}
    cols: list[str] = []
    for t in wanted:
        if _canon(t) not in canon:
            raise EstimationError(f"term '{t}' is not in the model; expected one of "
                                  f"{[k for k in fit.terms if k != 'Intercept']}", value=t)
        cols.extend(fit.terms[canon[_canon(t)]])
    b = fit.params[cols].to_numpy()
    v = fit.vcov.loc[cols, cols].to_numpy()
    chisq = float(b @ np.linalg.solve(v, b))
    ddf = float(fit.df_resid if df is None else df)
    k = len(cols)
    if np.isinf(ddf):
        return TermTest(tuple(wanted), chisq, k, ddf, float(stats.chi2.sf(chisq, k)))
    return TermTest(tuple(wanted), chisq / k, k, ddf, float(stats.f.sf(chisq / k, k, ddf)))


def _canon(term: str) -> str:
    return ":".join(sorted(p.strip() for p in term.split(":")))


def _terms(info) -> dict[str, tuple[str, ...]]:
    names = info.column_names
    return {name: tuple(names[sl]) for name, sl in info.term_name_slices.items()}


# ---------------------------------------------------------------------- replicate designs
def svyglm_replicate(design, formula: str, family: str = "gaussian") -> GlmResult:
    """R's ``svyglm`` on a replicate design: the model refitted with each replicate's weights
    (from the full-sample fit), covariance ``svrVar`` of the coefficients, ``df_resid =
    degf + 1 - p``. Rows missing a model variable are left out."""
    import patsy

    if family not in FAMILIES:
        raise EstimationError(f"family={family!r}; expected one of {sorted(FAMILIES)} for a "
                              "replicate design")
    frame = design.frame.with_columns(
        [pl.col(c).cast(pl.Float64) for c, t in design.frame.schema.items() if t == pl.Boolean])
    pdf = frame.to_pandas()
    pdf["_row"] = np.arange(design.n)
    try:
        yd, xd = patsy.dmatrices(formula + " + _row", pdf, NA_action="drop",
                                 return_type="dataframe")
    except patsy.PatsyError as err:
        raise EstimationError(f"formula {formula!r}: {err}") from err
    rows = xd.pop("_row").to_numpy().astype(np.int64)
    info = xd.design_info
    x, y = xd.to_numpy(float), yd.to_numpy(float)[:, 0]
    wall = design.all_weights()[rows]
    betas = _irls(x, y, wall / wall.sum(0), family)
    beta0, reps = betas[0], betas[1:]
    names = list(xd.columns)
    vc = design.svrvar(reps, beta0)
    terms = {k: tuple(c for c in v if c != "_row") for k, v in _terms(info).items() if k != "_row"}
    return GlmResult(formula, family, pd.Series(beta0, index=names),
                     pd.DataFrame(vc, index=names, columns=names),
                     design.degf + 1 - len(names), terms=terms)


def _irls(x: np.ndarray, y: np.ndarray, w: np.ndarray, family: str, tol: float = 1e-13,
          max_iter: int = 100) -> np.ndarray:
    """Weighted least squares / logistic Newton fits for every weight column of ``w`` (n, K)."""
    k = w.shape[1]
    xtw = np.einsum("nk,np->kpn", w, x)
    if family == "gaussian":
        return np.linalg.solve(xtw @ x, np.einsum("kpn,n->kp", xtw, y)[..., None])[..., 0]
    beta = np.zeros((k, x.shape[1]))
    for _ in range(max_iter):
        mu = special.expit(x @ beta.T)  # (n, K)
        grad = np.einsum("kpn,nk->kp", xtw, y[:, None] - mu)
        hess = np.einsum("kpn,nk,nq->kpq", xtw, mu * (1 - mu), x)
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        beta = beta + step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))):
            break
    else:
        raise EstimationError("logistic model did not converge on the replicate weights")
    return beta
