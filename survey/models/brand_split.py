"""The brand/performance budget split associated with market-share growth (the "53:47" optimum).

A weighted logistic regression of "gained market share" (``market_share_change == increase``) on the
brand share ``s`` of the budget (in [0, 1]) and ``s²`` plus controls (industry, budget size); a
numeric outcome gives a weighted linear model instead. The optimum ``s* = -b1 / (2 b2)`` comes with

* a delta-method CI from the design-based (sandwich, with-replacement linearisation) covariance;
* a weighted bootstrap CI (Rao-Wu rescaling, 10,000 replicates by default) fitted by a batched
  Newton-Raphson over all replicates at once in numpy;
* Wald and bootstrap tests against reference splits: the published 53:47, Binet & Field's 60:40 for
  consumer brands (*The Long and the Short of It*, IPA 2013) and 46:54 for B2B (Binet & Field, *The
  5 Principles of Growth in B2B Marketing*, LinkedIn B2B Institute 2019).

``model="spline"`` replaces ``s, s²`` by a restricted cubic spline (Harrell) and finds the optimum
by grid argmax. Controls enter additively on the link scale, so the argmax of the curve of the
share of advertisers gaining share (marginal standardisation over the respondents' own controls) is
the argmax of the ``s`` part of the linear predictor.

Example:
    >>> res = fit(frame, bootstrap=2000, seed=1)          # doctest: +SKIP
    >>> print(res.summary("zh"))                           # doctest: +SKIP
    品牌投入占比约为 53%(95% 置信区间 47%–58%)时,广告主市场份额增长的比例最高。…
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats
from scipy.special import expit

from survey.errors import EmptySegmentError, ModelError
from survey.models._result import (
    DEFAULT_SEED,
    Lang,
    frame_of,
    linearized_var,
    new_axes,
    pct,
    psu_strata,
    replicate_weights,
    tr,
    weights_of,
)

Family = Literal["binomial", "gaussian"]

#: outcome code counted as "gained market share"
GAIN_CODE = "increase"
#: option of ``budget_cut_response`` meaning "cut brand spend, add performance spend"
CUT_BRAND_COLUMN = "budget_cut_response__brand_to_performance"
#: literature reference splits (brand share); the published optimum is read from the figures
LITERATURE_REFERENCES: dict[str, float] = {
    "binet_field_consumer_60_40": 0.60,
    "binet_field_b2b_46_54": 0.46,
}
_REF_LABELS = {
    "published_53_47": ("报告公布的最佳比例 53:47", "Published optimum 53:47"),
    "binet_field_consumer_60_40": ("Binet & Field 消费品 60:40", "Binet & Field consumer 60:40"),
    "binet_field_b2b_46_54": ("Binet & Field B2B 46:54", "Binet & Field B2B 46:54"),
}
_MAX_STEP = 5.0


# ----------------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class Prepared:
    """Model matrices: outcome ``y``, brand share ``s``, controls ``C``, weights, PSUs, strata."""

    y: np.ndarray
    s: np.ndarray
    C: np.ndarray
    control_names: tuple[str, ...]
    w: np.ndarray
    psu: np.ndarray
    strata: np.ndarray
    family: Family
    frame: pl.DataFrame  # the rows used, same order
    rows: np.ndarray  # their positions in the input frame


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
    frame: pl.DataFrame,
    *,
    outcome: str = "market_share_change",
    share: str = "budget_split__brand",
    controls: Sequence[str] = ("industry", "budget_size"),
    weights: str | None = "weight",
    ids: str | None = None,
    strata: str | None = None,
    min_level_n: int = 10,
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Prepared:
    """Rows with an outcome and a share; ``s`` rescaled to [0, 1] when given in percent.

    The outcome is binary "gained share" when it is categorical (``increase`` vs the rest) or
    Boolean, and gaussian when numeric. Control levels with fewer than ``min_level_n`` respondents
    are pooled into ``_other`` (a 30-level industry variable cannot be estimated from 228 rows).
    ``arrays`` = (weights, psu codes, stratum codes) aligned with ``frame`` (from a ``Design``)
    replaces the ``weights``/``ids``/``strata`` columns.
    """
    missing = [c for c in (outcome, share, *controls) if c not in frame.columns]
    if missing:
        raise ModelError(f"columns not in the data: {missing}", expected="codebook column ids")
    cols = [outcome, share, *controls]
    df = frame.with_row_index("_row_").drop_nulls(cols)
    rows = df["_row_"].to_numpy()
    df = df.drop("_row_")
    if df.height == 0:
        raise EmptySegmentError("no respondent answers both the outcome and the budget split")
    dtype = df.schema[outcome]
    if dtype.is_numeric() and dtype != pl.Boolean:
        y = df[outcome].cast(pl.Float64).to_numpy()
        family: Family = "gaussian"
    elif dtype == pl.Boolean:
        y = df[outcome].cast(pl.Float64).to_numpy()
        family = "binomial"
    else:
        codes = df[outcome].cast(pl.String)
        if GAIN_CODE not in set(codes.to_list()) and df.height > 0:
            raise ModelError(f"no respondent has {outcome} == {GAIN_CODE!r}", column=outcome)
        y = (codes == GAIN_CODE).cast(pl.Float64).to_numpy()
        family = "binomial"
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
    if arrays is None:
        w = weights_of(df, weights)
        psu, st = psu_strata(df, ids, strata)
    else:
        w, psu, st = (np.asarray(a)[rows] for a in arrays)
    return Prepared(y, s, C, tuple(names), w, psu, st, family, df, rows)


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
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted GLM fits for every row of ``W`` (``B x n``) at once; returns ``(betas, converged)``.

    Gaussian: one batched weighted least-squares solve. Binomial (logit): Newton-Raphson, all
    replicates in lock-step, Hessians built as one ``(B x n) @ (n x k²)`` product. ``ridge`` (a
    scalar or a length-k vector) adds ``ridge * β²`` to the objective, keeping replicates with
    separated control cells finite.
    """
    W = np.atleast_2d(W)
    B, n = W.shape
    k = X.shape[1]
    P = np.diag(np.broadcast_to(np.asarray(ridge, dtype=float), (k,)))
    if family == "gaussian":
        XX = (X[:, :, None] * X[:, None, :]).reshape(n, k * k)
        H = (W @ XX).reshape(B, k, k) + P
        g = (W * y) @ X
        return np.linalg.solve(H, g[..., None])[..., 0], np.ones(B, dtype=bool)
    sd = X.std(axis=0)
    sc = np.where(sd > 0, sd, 1.0)
    sc[np.all(X[0] == X, axis=0)] = 1.0  # intercept (and constant columns) unscaled
    Xs = X / sc
    iu = np.triu_indices(k)
    XX = Xs[:, iu[0]] * Xs[:, iu[1]]  # upper triangle only: the Hessian is symmetric
    Ps = P / np.outer(sc, sc)
    beta = np.zeros((B, k)) if beta0 is None else np.tile(np.asarray(beta0, float) * sc, (B, 1))
    converged = np.zeros(B, dtype=bool)
    active = np.arange(B)
    ll_old = np.full(B, -np.inf)
    for it in range(max_iter):
        Wa, ba = W[active], beta[active]
        eta = ba @ Xs.T
        mu = expit(eta)
        if it >= 3:  # weighted log-likelihood: flat means converged even under separation
            ll = (Wa * (y * eta - np.logaddexp(0.0, eta))).sum(axis=1)
            flat = np.abs(ll - ll_old[active]) < 1e-10 * (1 + np.abs(ll))
            ll_old[active] = ll
        else:
            flat = np.zeros(active.size, dtype=bool)
        g = (Wa * (y - mu)) @ Xs - ba @ Ps
        H = np.empty((active.size, k, k))
        tri = (Wa * (mu * (1 - mu))) @ XX
        H[:, iu[0], iu[1]] = tri
        H[:, iu[1], iu[0]] = tri
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
    X: np.ndarray, y: np.ndarray, w: np.ndarray, beta: np.ndarray, family: Family,
    psu: np.ndarray, strata: np.ndarray,
) -> np.ndarray:
    """Design-based covariance ``A⁻¹ V(Σ u) A⁻¹`` of a weighted GLM (with-replacement PSUs)."""
    eta = X @ beta
    if family == "binomial":
        mu = expit(eta)
        v = mu * (1 - mu)
    else:
        mu, v = eta, np.ones_like(eta)
    A = (X * (w * v)[:, None]).T @ X
    u = X * (w * (y - mu))[:, None]
    Ainv = np.linalg.pinv(A)
    return Ainv @ linearized_var(u, psu, strata) @ Ainv


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
            zh, en = _REF_LABELS.get(key, (key, key))
            rows.append({"reference_id": key, "label_zh": zh, "label_en": en, **t})
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
        if self.family != "binomial":
            raise ModelError("what-if on the share gaining market share needs a binary outcome")
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
        beta = self.coef["estimate"].to_numpy()

        def effect(betas: np.ndarray) -> np.ndarray:
            return (expit(betas @ X_new.T) - expit(betas @ X.T)) @ w

        est = float(effect(beta[None])[0])
        draws = effect(self.boot_params) if self.boot_params.size else np.array([np.nan])
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
        """Plain-language summary with the fitted numbers."""
        lv = f"{100 * self.level:.0f}%"
        lo, hi = self.ci_boot
        gain = tr(lang, "广告主市场份额增长的比例", "the share of advertisers gaining market share")
        if self.family == "gaussian":
            gain = tr(lang, f"{self.outcome} 的均值", f"the mean of {self.outcome}")
        if self.interior:
            head = tr(
                lang,
                f"品牌投入占比约为 {pct(self.optimum)}({lv} 置信区间 {pct(lo)}–{pct(hi)})时,{gain}最高。",
                f"{gain.capitalize()} is highest when brand takes about {pct(self.optimum)} of the "
                f"budget ({lv} CI {pct(lo)}–{pct(hi)}).",
            )
        else:
            head = tr(
                lang,
                f"数据中没有内部最优的品牌投入占比:拟合曲线在 {pct(self.domain[0])}–{pct(self.domain[1])} "
                f"内没有峰值,最高点在端点 {pct(self.optimum)}。",
                f"The data show no interior optimum: the fitted curve has no peak within "
                f"{pct(self.domain[0])}–{pct(self.domain[1])}; its highest point is the end "
                f"{pct(self.optimum)}.",
            )
        parts = [head]
        if self.model == "quadratic" and np.isfinite(self.se_delta):
            parts.append(tr(
                lang,
                f"Delta 方法 {lv} 置信区间 {pct(self.ci_delta[0])}–{pct(self.ci_delta[1])};"
                f"{pct(self.boot_share_interior)} 的自助样本有内部最优。",
                f"Delta-method {lv} CI {pct(self.ci_delta[0])}–{pct(self.ci_delta[1])}; "
                f"{pct(self.boot_share_interior)} of bootstrap replicates have an interior optimum.",
            ))
        for r in self.tests().iter_rows(named=True):
            sig = r["p_boot"] < 1 - self.level
            label = r["label_zh"] if lang == "zh" else r["label_en"]
            zs = "" if not np.isfinite(r["z"]) else f"z = {r['z']:.2f}, "
            parts.append(tr(
                lang,
                f"与{label}相比:{'有' if sig else '无'}显著差异({zs.replace(', ', ',')}自助法 p = {r['p_boot']:.3f})。",
                f"Against {label}: {'a' if sig else 'no'} significant difference "
                f"({zs}bootstrap p = {r['p_boot']:.3f}).",
            ))
        parts.append(tr(lang, f"样本量 n = {self.n}。", f"Base n = {self.n}."))
        return "".join(parts) if lang == "zh" else " ".join(parts)

    def plot(self, ax: Any = None, lang: Lang = "zh") -> Any:
        """Fitted share gaining market share vs brand share, with bands and the optimum."""
        import seaborn as sns

        ax = new_axes(ax)
        c = self.curve
        x = 100 * c["brand_share"].to_numpy()
        sns.lineplot(x=x, y=100 * c["estimate"].to_numpy(), ax=ax, color="C0",
                     label=tr(lang, "拟合值", "Fitted"))
        ax.fill_between(x, 100 * c["boot_low"].to_numpy(), 100 * c["boot_high"].to_numpy(),
                        alpha=0.25, color="C0", label=tr(lang, "95% 置信带(自助法)",
                                                         "95% band (bootstrap)"))
        ax.axvline(100 * self.optimum, color="C3", ls="--",
                   label=tr(lang, f"最优 {pct(self.optimum)}", f"Optimum {pct(self.optimum)}"))
        ax.axvspan(100 * self.ci_boot[0], 100 * self.ci_boot[1], color="C3", alpha=0.08)
        ax.set_xlabel(tr(lang, "品牌投放占预算比例(%)", "Brand share of budget (%)"))
        ax.set_ylabel(tr(lang, "市场份额增长的广告主比例(%)",
                         "Advertisers gaining market share (%)")
                      if self.family == "binomial" else self.outcome)
        ax.set_title(tr(lang, "品效预算占比与市场份额增长", "Brand/performance split and share growth"))
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
        """Plain-language summary."""
        d = self.delta_points
        e, (lo, hi) = 100 * self.effect, (100 * self.ci[0], 100 * self.ci[1])
        lv = f"{100 * self.level:.0f}%"
        return tr(
            lang,
            f"若选择“减少品牌投放、增加效果投放”的广告主(占 {pct(self.share_movers)})把品牌占比"
            f"{'降低' if d < 0 else '提高'} {abs(d):g} 个百分点,市场份额增长的广告主比例预计变化 "
            f"{e:+.1f} 个百分点({lv} 置信区间 {lo:+.1f} 至 {hi:+.1f})。",
            f"If the advertisers who would cut brand for performance ({pct(self.share_movers)}) "
            f"{'lower' if d < 0 else 'raise'} their brand share by {abs(d):g} points, the share of "
            f"advertisers gaining market share changes by {e:+.1f} points ({lv} CI {lo:+.1f} to "
            f"{hi:+.1f}).",
        )

    def plot(self, ax: Any = None, lang: Lang = "zh") -> Any:
        """Point and interval of the effect."""
        ax = new_axes(ax)
        ax.errorbar([100 * self.effect], [0], xerr=[[100 * (self.effect - self.ci[0])],
                    [100 * (self.ci[1] - self.effect)]], fmt="o", color="C0", capsize=4)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks([])
        ax.set_xlabel(tr(lang, "市场份额增长比例的变化(百分点)", "Change in share gaining (points)"))
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


def _design_arrays(design: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights, PSU codes, stratum codes) of a ``survey.design.Design``, one per row."""
    w = np.asarray(design.weights, dtype=float)
    st = getattr(design, "_st", None)
    n = w.size
    psu = np.arange(n) if st is None or st.psu is None else np.asarray(st.psu)
    strata = np.zeros(n, dtype=int) if st is None else np.asarray(st.stratum)
    return w, psu, strata


def _design_vcov(design: Any, prep: Prepared, X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Covariance from ``design.glm`` (calibration-aware when raked) on the same model matrix.

    The model columns are added to the design's frame (null outside the rows used, so the fit is
    a domain estimate) and fitted by ``Design.glm``; its point estimates must equal ours.
    """
    n_all, k = design.frame.height, X.shape[1]
    full = np.full((n_all, k), np.nan)
    full[prep.rows] = X
    y = np.full(n_all, np.nan)
    y[prep.rows] = prep.y
    names = [f"_x{j}_" for j in range(1, k)]
    frame2 = design.frame.with_columns(
        pl.Series("_y_", y, nan_to_null=True),
        *[pl.Series(c, full[:, j], nan_to_null=True) for j, c in enumerate(names, start=1)],
    )
    res = design._replace(frame=frame2).glm("_y_ ~ " + " + ".join(names), prep.family)
    params = np.asarray(res.params, dtype=float)
    if not np.allclose(params, beta, rtol=1e-5, atol=1e-6):
        raise ModelError("Design.glm and the model's own fit disagree on the coefficients",
                         value=float(np.max(np.abs(params - beta))), expected="equal estimates")
    return np.asarray(res.vcov, dtype=float)


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
    wave_or_frame: Any,
    *,
    outcome: str = "market_share_change",
    share: str = "budget_split__brand",
    controls: Sequence[str] = ("industry", "budget_size"),
    model: Literal["quadratic", "spline"] = "quadratic",
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
) -> BrandSplitResult:
    """Fit the brand-share curve, its optimum and intervals.

    Args:
        wave_or_frame: a ``Wave`` or a polars frame with the codebook's wave columns.
        model: ``"quadratic"`` (``s``, ``s²``; optimum ``-b1/(2 b2)``) or ``"spline"``
            (restricted cubic spline with ``n_knots`` knots; optimum by grid argmax).
        design: a ``survey.design.Design`` (then ``wave_or_frame`` may be None): its frame,
            final (raked) weights and PSUs/strata are used, and the covariance comes from
            ``Design.glm`` (design-based, calibration-aware). Otherwise the ``weights``/``ids``/
            ``strata`` columns and the package's own linearised sandwich.
        bootstrap: number of replicate-weight fits (0 disables the bootstrap).
        ridge: penalty on the *control* coefficients of bootstrap replicates only (keeps
            replicates with a separated industry cell finite; the main fit is unpenalised).

    Example:
        >>> res = fit(frame, bootstrap=1000, seed=3)   # doctest: +SKIP
        >>> res.optimum, res.ci_boot                    # doctest: +SKIP
        (0.531, (0.47, 0.59))
    """
    frame = design.frame if design is not None else frame_of(wave_or_frame)
    prep = prepare(frame, outcome=outcome, share=share, controls=controls, weights=weights,
                   ids=ids, strata=strata, min_level_n=min_level_n,
                   arrays=None if design is None else _design_arrays(design))
    n = prep.y.size
    knots = rcs_knots(prep.s, n_knots) if model == "spline" else None
    S = basis(prep.s, model, knots)
    q = S.shape[1]
    X = np.column_stack([np.ones(n), S, prep.C])
    k = X.shape[1]
    if n <= k + 2:
        raise ModelError(f"base n = {n} is too small for {k} parameters", value=n,
                         expected=f"more than {k + 2} respondents")
    wn = prep.w * (n / prep.w.sum())  # mean-1 weights: same estimates, better conditioning
    beta, conv = fit_batch(X, prep.y, wn[None], prep.family)
    beta = beta[0]
    if not conv[0]:
        raise ModelError("the fit did not converge (separation?); pool sparse control levels",
                         expected="a converging logistic fit")
    V = (sandwich(X, prep.y, wn, beta, prep.family, prep.psu, prep.strata) if design is None
         else _design_vcov(design, prep, X, beta))
    se = np.sqrt(np.diag(V))
    names = ["intercept", *(["s", "s^2"] if model == "quadratic" else
                            [f"rcs{j}" for j in range(q)]), *prep.control_names]
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
        W = replicate_weights(wn, bootstrap, rng, psu=prep.psu, strata=prep.strata,
                              method=bootstrap_method)
        pen = np.r_[np.zeros(1 + q), np.full(k - 1 - q, ridge)]
        bp, bconv = fit_batch(X, prep.y, W, prep.family, beta0=beta, ridge=pen)
        bp = bp[bconv]
        bo, bint = _optimum_from_params(bp[:, 1 : 1 + q], model, knots, domain, grid)
        ci_b = tuple(float(v) for v in np.quantile(bo, [(1 - level) / 2, (1 + level) / 2]))
        share_int, conv_rate = float(bint.mean()), float(bconv.mean())
    else:
        bp, bo = np.zeros((0, k)), np.zeros(0)
        ci_b, share_int, conv_rate = (np.nan, np.nan), np.nan, np.nan

    curve = _curve(X, prep, beta, V, bp[:curve_replicates], model, knots, q, level,
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
    link = expit if prep.family == "binomial" else (lambda x: x)
    base = np.delete(X, np.s_[1 : 1 + q], axis=1)
    b_base = np.delete(beta, np.s_[1 : 1 + q])
    eta0 = base @ b_base  # n
    est, se = np.empty(grid.size), np.empty(grid.size)
    for j in range(grid.size):
        eta = eta0 + Sg[j] @ beta[1 : 1 + q]
        mu = link(eta)
        d = mu * (1 - mu) if prep.family == "binomial" else np.ones_like(mu)
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
class SegmentOptima:
    """Optimum per level of a segment variable; refused levels say why."""

    by: str
    table: pl.DataFrame
    min_base: int
    min_side: int

    def to_polars(self) -> pl.DataFrame:
        """The table: level, n, status, optimum, bootstrap CI."""
        return self.table

    def summary(self, lang: Lang = "zh") -> str:
        """One sentence per level."""
        out = []
        for r in self.table.iter_rows(named=True):
            if r["status"] == "ok":
                out.append(tr(lang,
                              f"{r['level']}:最优品牌占比 {pct(r['optimum'])}({pct(r['ci_low'])}–{pct(r['ci_high'])},n = {r['n']})。",
                              f"{r['level']}: optimum brand share {pct(r['optimum'])} "
                              f"({pct(r['ci_low'])}–{pct(r['ci_high'])}, n = {r['n']})."))
            else:
                out.append(tr(lang, f"{r['level']}:不估计({r['reason']})。",
                              f"{r['level']}: not estimated ({r['reason']})."))
        return ("" if lang == "zh" else " ").join(out)

    def plot(self, ax: Any = None, lang: Lang = "zh") -> Any:
        """Optima with bootstrap CIs for the levels that could be estimated."""
        ax = new_axes(ax)
        ok = self.table.filter(pl.col("status") == "ok")
        y = np.arange(ok.height)
        o = 100 * ok["optimum"].to_numpy()
        ax.errorbar(o, y, xerr=[o - 100 * ok["ci_low"].to_numpy(),
                                100 * ok["ci_high"].to_numpy() - o], fmt="o", capsize=3)
        ax.set_yticks(y, ok["level"].to_list())
        ax.set_xlabel(tr(lang, "最优品牌占比(%)", "Optimum brand share (%)"))
        return ax


def fit_segment(
    wave_or_frame: Any, by: str, level: str, *, min_base: int = 80, min_side: int = 10, **kw: Any
) -> BrandSplitResult:
    """The optimum within one segment level; :class:`ModelError` when the base cannot support it.

    Refuses when the level has fewer than ``min_base`` respondents, when there is no interior
    optimum, or when fewer than ``min_side`` respondents lie on either side of the optimum.
    """
    frame = frame_of(wave_or_frame)
    sub = frame.filter(pl.col(by).cast(pl.String) == level)
    n = sub.height
    if n == 0:
        raise EmptySegmentError(f"no respondent has {by} = {level!r}", column=by, value=level)
    if n < min_base:
        raise ModelError(
            f"{by} = {level}: base n = {n} is below the minimum {min_base} for an optimum",
            column=by, value=n, expected=f"at least {min_base} respondents")
    controls = tuple(c for c in kw.pop("controls", ("industry", "budget_size")) if c != by)
    res = fit(sub, controls=controls, **kw)
    if not res.interior:
        raise ModelError(f"{by} = {level}: no interior optimum (base n = {n})", column=by)
    s = res._prep.s if res._prep is not None else np.zeros(0)
    below, above = int((s < res.optimum).sum()), int((s > res.optimum).sum())
    if min(below, above) < min_side:
        raise ModelError(
            f"{by} = {level}: only {min(below, above)} respondents on one side of the optimum "
            f"{pct(res.optimum)} (base n = {n}); the minimum is {min_side} on each side",
            column=by, value=min(below, above), expected=f"at least {min_side} on each side")
    return res


def optima_by_segment(
    wave_or_frame: Any, by: str, *, min_base: int = 80, min_side: int = 10, **kw: Any
) -> SegmentOptima:
    """Optimum for every level of ``by``; levels refused by :func:`fit_segment` keep the reason."""
    frame = frame_of(wave_or_frame)
    rows = []
    for lv in frame[by].drop_nulls().cast(pl.String).unique(maintain_order=True).sort():
        n = frame.filter(pl.col(by).cast(pl.String) == lv).height
        try:
            r = fit_segment(frame, by, lv, min_base=min_base, min_side=min_side, **kw)
            rows.append({"level": lv, "n": n, "status": "ok", "reason": "",
                         "optimum": r.optimum, "ci_low": r.ci_boot[0], "ci_high": r.ci_boot[1]})
        except ModelError as e:
            rows.append({"level": lv, "n": n, "status": "refused", "reason": str(e),
                         "optimum": None, "ci_low": None, "ci_high": None})
    table = pl.DataFrame(rows, schema={"level": pl.String, "n": pl.Int64, "status": pl.String,
                                       "reason": pl.String, "optimum": pl.Float64,
                                       "ci_low": pl.Float64, "ci_high": pl.Float64})
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
) -> pl.DataFrame:
    """A synthetic frame with a known optimum, for tests and benchmarks.

    ``logit P(increase) = a + c(s) + industry + size`` with ``c(s) = -curvature (s - optimum)²``;
    other rows are ``flat``/``decrease``; ``s ~ Beta(concentration, concentration)``. Includes a ``budget_cut_response__brand_to_performance``
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
    gain = rng.random(n) < expit(eta)
    other = np.where(rng.random(n) < 0.5, "flat", "decrease")
    out = np.where(gain, "increase", other)
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
