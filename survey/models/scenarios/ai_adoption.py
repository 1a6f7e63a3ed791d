"""AI-marketing adoption among advertisers: a Bass diffusion curve anchored on the survey.

The Bass (1969) model gives the cumulative share of eventual adopters at time ``t``::

    F(t) = (1 - exp(-(p + q) t)) / (1 + (q / p) exp(-(p + q) t))

Anchoring on the survey:

* market potential ``m = now + c · plan_nonuser``: current users (28% in the 2025 edition) plus the
  advertisers who do not use AI marketing yet but say they will (41% say they will use it), times
  an intention-to-adoption **conversion factor** ``c``. ``c`` is an ASSUMPTION with a prior
  (default Beta(12, 8), mean 0.6): the intention-behaviour literature finds intentions translate
  into behaviour only partly (Sheeran 2002, *European Review of Social Psychology*, meta-analysis;
  Morwitz, Steckel & Gupta 2007, *International Journal of Forecasting*, on purchase intentions).
* "now" is placed on the curve: ``t0 = F⁻¹(now / m)``; the projection is ``m · F(t0 + h)``.
* ``p`` and ``q`` are not estimable from one cross-section; their priors are centred on the
  meta-analytic means of Sultan, Farley & Lehmann (1990, *Journal of Marketing Research* 27:70-77;
  213 applications): ``p ≈ 0.03``, ``q ≈ 0.38`` (log-normal priors, default log-sd 0.5 and 0.3).

Bands come from Monte Carlo over ``p``, ``q``, ``c`` and the design-based sampling uncertainty of
the two survey shares (replicate-weight bootstrap of the wave, or a Beta with the design effect
when only the published figures are used). DeepSeek's user growth (``data/published/context.csv``)
is consumer context, not advertisers' adoption, and is not used to fit anything.

Example:
    >>> res = project(inputs_from_published(), seed=1)
    >>> print(res.summary("en"))
    A Bass diffusion curve (...) anchored on 28% of advertisers using AI marketing now and 41% planning to, projects about 39% by 2027 (90% band 31%–47%)...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy.optimize import least_squares

from survey.errors import ModelError
from survey.models._base import Base, WhereLabel, domain
from survey.models._design import as_design, replicate_weights, vcov_totals
from survey.models._result import (
    DEFAULT_SEED,
    Lang,
    Presented,
    join,
    new_axes,
    say,
    show_base,
    with_base,
)

#: Sultan, Farley & Lehmann (1990) meta-analytic means of the Bass coefficients
P_PRIOR_MEDIAN, Q_PRIOR_MEDIAN = 0.03, 0.38
FAN_PROBS = (0.05, 0.25, 0.50, 0.75, 0.95)


# ----------------------------------------------------------------------------------- Bass curve


def bass_cdf(t: np.ndarray | float, p: np.ndarray | float, q: np.ndarray | float) -> np.ndarray:
    """Bass cumulative adoption fraction ``F(t)`` (of the market potential).

    Example:
        >>> float(bass_cdf(0.0, 0.03, 0.38))
        0.0
    """
    e = np.exp(-(np.asarray(p) + np.asarray(q)) * np.asarray(t))
    return (1 - e) / (1 + (np.asarray(q) / np.asarray(p)) * e)


def bass_time(F: np.ndarray | float, p: np.ndarray | float, q: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`bass_cdf`: the time at which the fraction ``F`` (< 1) has adopted."""
    F = np.asarray(F, dtype=float)
    e = (1 - F) / (1 + F * np.asarray(q) / np.asarray(p))
    return -np.log(e) / (np.asarray(p) + np.asarray(q))


@dataclass(frozen=True)
class BassFit:
    """Least-squares Bass fit to a cumulative adoption series."""

    p: float
    q: float
    m: float
    rmse: float


def fit_bass(
    t: Sequence[float], adoption: Sequence[float], *, m: float | None = None
) -> BassFit:
    """Fit ``p, q`` (and ``m`` unless given) to cumulative adoption shares observed at ``t``.

    For when several editions measure adoption; one cross-section cannot identify ``p`` and ``q``.

    Example:
        >>> t = np.arange(10.0); y = 0.6 * bass_cdf(t, 0.03, 0.38)
        >>> f = fit_bass(t, y); round(f.p, 3), round(f.q, 2), round(f.m, 2)
        (0.03, 0.38, 0.6)
    """
    t_, y = np.asarray(t, float), np.asarray(adoption, float)
    free_m = m is None
    if y.size < (3 if free_m else 2):
        raise ModelError(f"a Bass fit needs at least {3 if free_m else 2} time points, got {y.size}")

    def resid(theta: np.ndarray) -> np.ndarray:
        lp, lq = theta[:2]
        mm = np.exp(theta[2]) if free_m else m
        return mm * bass_cdf(t_, np.exp(lp), np.exp(lq)) - y

    x0 = [np.log(P_PRIOR_MEDIAN), np.log(Q_PRIOR_MEDIAN)] + ([np.log(max(y) * 1.5)] if free_m else [])
    sol = least_squares(resid, x0, method="lm", xtol=1e-12, ftol=1e-12)
    p, q = np.exp(sol.x[:2])
    mm = float(np.exp(sol.x[2])) if free_m else float(m)  # type: ignore[arg-type]
    return BassFit(float(p), float(q), mm, float(np.sqrt(np.mean(sol.fun**2))))


# ----------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, eq=False)
class AdoptionInputs:
    """Survey shares (point estimates) and draws expressing their sampling uncertainty;
    ``base``: the ``where=`` domain and its ``n`` respondents answering ``now`` (all
    advertisers, ``n``, when not given)."""

    now: float
    plan_nonuser: float
    plans: float
    n: int
    now_draws: np.ndarray
    plan_draws: np.ndarray
    source: str
    se: tuple[float, float] = (np.nan, np.nan)  # of now and plan_nonuser (design or Beta)
    base: Base | None = None

    def __post_init__(self) -> None:
        if self.base is None:
            object.__setattr__(self, "base", Base(self.n))


def _yes(col: pl.Series) -> np.ndarray:
    if col.dtype == pl.Boolean:
        return col.fill_null(False).to_numpy().astype(float)
    return (col.cast(pl.String) == "yes").fill_null(False).to_numpy().astype(float)


def inputs_from_frame(
    design_or_frame: Any,
    *,
    now: str = "ai_marketing_now",
    plans: str = "future_plans__ai_marketing",
    weights: str | None = "weight",
    ids: str | None = None,
    strata: str | None = None,
    draws: int = 10_000,
    seed: int = DEFAULT_SEED,
    where: Any = None,
    where_label: WhereLabel = None,
) -> AdoptionInputs:
    """Weighted share using AI marketing now, and share of non-users planning to, with draws.

    ``design_or_frame``: a ``Design`` (e.g. the report's raked ``ctx.design``) or a Wave / frame
    (design from the ``weights``/``ids``/``strata`` columns). The draws are bootstrap replicates of
    the design (re-raked when calibrated), so they carry its sampling uncertainty; ``se`` holds the
    design's linearised SEs of the two shares (respondents who skipped ``now`` are a domain).
    ``where``: a domain of the whole design (as ``Design.subset``; ``{variable: levels}`` and
    ``"var=a,b"`` as a banner's), named in ``base`` as the banner's base note (``where_label``
    renames it), with ``n`` the respondents of the domain answering ``now``.

    Example:
        >>> inp = inputs_from_frame(design, draws=20, where={"industry": ["美妆个护", "食品饮料"]})
        >>> inp.base.text("zh") == f"基数：美妆个护+食品饮料，n = {inp.n}"
        True
    """
    d = as_design(design_or_frame, weights=weights, ids=ids, strata=strata)
    frame = d.frame
    for c in (now, plans):
        if c not in frame.columns:
            raise ModelError(f"column {c!r} not in the data", column=c)
    base, inside = domain(d, where, where_label)  # a domain of the whole design
    ok = frame[now].is_not_null().to_numpy() & inside
    if not ok.any():
        raise ModelError(f"nobody answered {now!r}", column=now)
    a, b = _yes(frame[now]), _yes(frame[plans])
    y = np.column_stack([a, (1 - a) * b, b])  # now, plan among non-users, plans
    w = np.asarray(d.weights, dtype=float) * ok
    est = w @ y / w.sum()
    se = np.sqrt(np.diag(vcov_totals(d, w[:, None] * (y - est) / w.sum())))
    R = replicate_weights(d, draws, np.random.default_rng(seed)) * ok
    rep = (R @ y) / R.sum(axis=1, keepdims=True)
    return AdoptionInputs(float(est[0]), float(est[1]), float(est[2]), int(ok.sum()),
                          rep[:, 0], rep[:, 1], "wave", (float(se[0]), float(se[1])),
                          base.with_n(int(ok.sum())))


def inputs_from_published(
    figures: pl.DataFrame | None = None,
    *,
    edition: int = 2025,
    overlap: Literal["independent", "nested", "disjoint"] = "independent",
    deff: float = 1.5,
    draws: int = 10_000,
    seed: int = DEFAULT_SEED,
) -> AdoptionInputs:
    """The published shares (AI marketing now, planned) with Beta draws at effective size n/deff.

    Only the marginals are published, so the share of *non-users* planning AI marketing is an
    assumption: ``independent`` (plans·(1-now)), ``nested`` (current users all among the
    planners: plans-now) or ``disjoint`` (planners are all non-users: plans).
    """
    if figures is None:
        from survey.published import load_figures

        figures = load_figures()
    f = figures.filter(pl.col("edition") == edition)

    def value(q: str, code: str, measure: str = "share") -> float:
        row = f.filter((pl.col("question_id") == q) & (pl.col("option_code") == code)
                       & (pl.col("measure") == measure) & pl.col("segment").fill_null("").eq(""))
        if row.height == 0:
            raise ModelError(f"no published {measure} of {q}={code} in edition {edition}")
        return float(row["value"][0]) / 100.0

    now, plans = value("ai_marketing_now", "yes"), value("future_plans", "ai_marketing")
    n_row = f.filter(pl.col("figure_id") == "sample_size")
    n = int(n_row["value"][0]) if n_row.height else 200
    plan_nu = {"independent": plans * (1 - now), "nested": max(plans - now, 0.0),
               "disjoint": min(plans, 1 - now)}[overlap]
    n_eff = n / deff
    rng = np.random.default_rng(seed)
    now_d = rng.beta(now * n_eff, (1 - now) * n_eff, draws)
    plan_d = rng.beta(max(plan_nu, 1e-3) * n_eff, (1 - plan_nu) * n_eff, draws)
    plan_d = np.minimum(plan_d, 1 - now_d)
    se = (float(np.sqrt(now * (1 - now) / n_eff)), float(np.sqrt(plan_nu * (1 - plan_nu) / n_eff)))
    return AdoptionInputs(now, plan_nu, plans, n, now_d, plan_d, f"published:{overlap}", se)


def context(figures: pl.DataFrame | None = None) -> pl.DataFrame:
    """DeepSeek's user-growth figures (``data/published/context.csv``): context only.

    They describe consumers' uptake of a chatbot, not advertisers' adoption of AI marketing, so
    no parameter of the projection is fitted to them.
    """
    if figures is None:
        from survey.published import load_context

        figures = load_context()
    return (figures.filter(pl.col("subject") == "DeepSeek")
            .select("figure_id", "metric", "value", "unit", "as_of", "scope"))


def context_note(lang: Lang = "zh", figures: pl.DataFrame | None = None) -> str:
    """One sentence putting DeepSeek's growth next to the projection, numbers from the file."""
    c = context(figures)
    users = c.filter(pl.col("figure_id") == "deepseek_users_100m")["value"]
    weeks = c.filter(pl.col("figure_id") == "deepseek_weeks_to_100m_users")["value"]
    if users.len() == 0 or weeks.len() == 0:
        raise ModelError("the DeepSeek user figures are not in the context table",
                         expected="deepseek_users_100m and deepseek_weeks_to_100m_users")
    return say("ai_adoption.context", lang, users_yi=users[0] / 1e8, users_m=users[0] / 1e6,
               weeks=weeks[0])


# ----------------------------------------------------------------------------------- projection


@dataclass(frozen=True, eq=False)
class AdoptionResult(Presented):
    """Projected share of advertisers using AI marketing, with fan quantiles and sensitivity;
    its ``base`` is its inputs' (the domain and respondents the survey shares come from)."""

    inputs: AdoptionInputs
    base_year: int
    fan: pl.DataFrame
    sensitivity: pl.DataFrame
    potential: tuple[float, float, float]  # median, 5%, 95% of m
    priors: dict[str, float]

    @property
    def base(self) -> Base:
        """The inputs' base (the ``where=`` domain of :func:`inputs_from_frame` and its n)."""
        assert self.inputs.base is not None
        return self.inputs.base

    def to_polars(self) -> pl.DataFrame:
        """Year, horizon, mean and quantiles q05…q95 of the adoption share; the base columns
        ``base_n``, ``base_zh``, ``base_en``."""
        return with_base(self.fan, self.base)

    def summary(self, lang: Lang = "zh") -> str:
        """Plain-language summary: projection, ceiling and sensitivity to the conversion."""
        last = self.fan.row(-1, named=True)
        m, mlo, mhi = self.potential
        sens = self.sensitivity.sort("conversion")
        lo_c, hi_c = sens.row(0, named=True), sens.row(-1, named=True)
        return join([
            say("ai_adoption.summary", lang, p=self.priors["p"], q=self.priors["q"],
                now=self.inputs.now, plans=self.inputs.plans, year=last["year"], med=last["q50"],
                band=FAN_PROBS[-1] - FAN_PROBS[0], lo=last["q05"], hi=last["q95"], m=m,
                m_lo=mlo, m_hi=mhi, conv=self.priors["conversion_mean"]),
            say("ai_adoption.sensitivity", lang, c_lo=lo_c["conversion"],
                c_hi=hi_c["conversion"], year=lo_c["year"], a_lo=lo_c["q50"], a_hi=hi_c["q50"]),
            self.base.sentence(lang),
        ], lang)

    def plot(self, ax: Any = None, lang: Lang = "zh") -> Any:
        """Fan chart of adoption by year."""
        import seaborn as sns

        ax = new_axes(ax)
        f = self.fan
        x = f["year"].to_numpy()
        for (lo, hi), alpha in ((("q05", "q95"), 0.18), (("q25", "q75"), 0.35)):
            ax.fill_between(x, 100 * f[lo], 100 * f[hi], alpha=alpha, color="C0",
                            label=say("common.band", lang, level=_band(lo, hi)))
        sns.lineplot(x=x, y=100 * f["q50"].to_numpy(), ax=ax, marker="o", color="C0",
                     label=say("common.median", lang))
        ax.set_xticks(x)
        ax.set_xlabel(say("common.year", lang))
        ax.set_ylabel(say("ai_adoption.fig_y", lang))
        ax.set_title(say("ai_adoption.fig_title", lang))
        show_base(ax, self.base, lang)
        ax.legend(loc="upper left", fontsize="small")
        return ax


def _band(lo: str, hi: str) -> float:
    """Coverage of the band between fan columns ``qLL`` and ``qHH``."""
    return (int(hi[1:]) - int(lo[1:])) / 100


def _adoption(
    now: np.ndarray, plan: np.ndarray, c: np.ndarray, p: np.ndarray, q: np.ndarray,
    horizons: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Adoption shares (draws x horizons) and potentials for arrays of draws."""
    m = np.minimum(now + c * plan, 1.0)
    m = np.maximum(m, now + 1e-9)
    t0 = bass_time(np.clip(now / m, 0.0, 1 - 1e-12), p, q)
    path = m[:, None] * bass_cdf(t0[:, None] + horizons[None, :], p[:, None], q[:, None])
    return path, m


def project(
    inputs: AdoptionInputs,
    *,
    years: int = 3,
    base_year: int = 2024,
    p: float = P_PRIOR_MEDIAN,
    q: float = Q_PRIOR_MEDIAN,
    p_sdlog: float = 0.5,
    q_sdlog: float = 0.3,
    conversion: tuple[float, float] = (12.0, 8.0),
    conversion_grid: Sequence[float] = (0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0),
    draws: int = 20_000,
    seed: int = DEFAULT_SEED,
) -> AdoptionResult:
    """Monte Carlo Bass projection for ``years`` years after ``base_year`` (the fieldwork year).

    Args:
        conversion: Beta(a, b) prior of the intention-to-adoption conversion (an assumption).
        conversion_grid: fixed conversion values for the sensitivity table (other inputs drawn).

    Example:
        >>> res = project(inputs_from_published(), seed=1)
        >>> bool(res.to_polars()["q50"][-1] > res.inputs.now), res.to_polars()["year"].to_list()
        (True, [2024, 2025, 2026, 2027])
    """
    rng = np.random.default_rng(seed)
    k = inputs.now_draws.size
    idx = rng.integers(0, k, draws)
    now, plan = inputs.now_draws[idx], inputs.plan_draws[idx]
    pd_ = p * np.exp(p_sdlog * rng.standard_normal(draws))
    qd = q * np.exp(q_sdlog * rng.standard_normal(draws))
    c = rng.beta(*conversion, draws)
    h = np.arange(0, years + 1, dtype=float)
    path, m = _adoption(now, plan, c, pd_, qd, h)
    qs = np.quantile(path, FAN_PROBS, axis=0)
    fan = pl.DataFrame({
        "year": (base_year + h).astype(int), "horizon": h.astype(int),
        "mean": path.mean(axis=0),
        **{f"q{round(100 * pr):02d}": qs[i] for i, pr in enumerate(FAN_PROBS)},
    })
    rows = []
    for cv in conversion_grid:
        pth, _ = _adoption(now, plan, np.full(draws, cv), pd_, qd, h[-1:])
        lo, med, hi = np.quantile(pth[:, 0], [0.05, 0.5, 0.95])
        rows.append({"conversion": float(cv), "year": int(base_year + years),
                     "q05": lo, "q50": med, "q95": hi})
    a, b = conversion
    return AdoptionResult(
        inputs=inputs, base_year=base_year, fan=fan, sensitivity=pl.DataFrame(rows),
        potential=tuple(float(v) for v in np.quantile(m, [0.5, 0.05, 0.95])),  # type: ignore[arg-type]
        priors={"p": p, "q": q, "p_sdlog": p_sdlog, "q_sdlog": q_sdlog,
                "conversion_mean": a / (a + b)},
    )
