"""The fitted brand-split model (:class:`BrandSplitResult`) and its what-if (:class:`WhatIfResult`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import stats
from scipy.special import expit

from survey.errors import EmptySegmentError, ModelError
from survey.models._base import Base
from survey.models._result import Lang, Presented, join, label, new_axes, say, show_base, with_base
from survey.models.brand_split._prepare import CUT_BRAND_COLUMN, Family, Prepared, basis
from survey.models.brand_split._references import reference_label


@dataclass(frozen=True, eq=False)
class BrandSplitResult(Presented):
    """Fit of market-share growth on the brand share; see :func:`fit`.

    ``optimum`` is the brand share (in [0, 1]) maximising the share of advertisers gaining market
    share within ``domain``; ``interior`` says whether the fitted curve has an interior maximum
    (quadratic: ``b2 < 0`` and ``-b1/(2 b2)`` inside the domain). ``base``: the ``where=``
    domain and the ``n`` respondents the model used (the summary's last sentence, the table's
    ``base_*`` columns, the chart's subtitle).
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
    base: Base
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
            share_movers=float(w[m].sum()), share_gaining=float(expit(X @ beta) @ w),
            effect=est, ci=(float(lo), float(hi)), level=lev, base=self.base,
        )

    # --- presentation
    def to_polars(self) -> pl.DataFrame:
        """One row per quantity: optimum (delta and bootstrap CIs), coefficients; the base
        columns ``base_n``, ``base_zh``, ``base_en``."""
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
        return with_base(pl.DataFrame(rows), self.base)

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
        parts.append(self.base.sentence(lang))
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
        show_base(ax, self.base, lang)
        ax.legend(loc="best", fontsize="small")
        return ax


@dataclass(frozen=True)
class WhatIfResult(Presented):
    """Predicted change in the weighted share of advertisers gaining market share
    (``share_gaining`` before the change), on the fit's ``base``."""

    delta_points: float
    movers: str
    n_movers: int
    share_movers: float
    share_gaining: float
    effect: float
    ci: tuple[float, float]
    level: float
    base: Base

    def to_polars(self) -> pl.DataFrame:
        """One row: Δ, movers, share gaining before the change, effect (share points), its CI
        and the base columns."""
        return with_base(pl.DataFrame([{
            "delta_points": self.delta_points, "movers": self.movers, "n_movers": self.n_movers,
            "share_movers": self.share_movers, "base_share_gaining": self.share_gaining,
            "effect": self.effect, "ci_low": self.ci[0], "ci_high": self.ci[1],
        }]), self.base)

    def summary(self, lang: Lang = "zh") -> str:
        """Plain-language summary (the movers' label from the codebook)."""
        q, _, code = self.movers.partition("__")
        verb = say("brand_split.whatif_down" if self.delta_points < 0 else "brand_split.whatif_up",
                   lang)
        return join([say("brand_split.whatif", lang,
                             movers=label(q, code, lang) if code else q,
                             share=self.share_movers, verb=verb, delta=abs(self.delta_points),
                             effect=100 * self.effect, lo=100 * self.ci[0], hi=100 * self.ci[1],
                             level=self.level), self.base.sentence(lang)], lang)

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
        return show_base(ax, self.base, lang)
