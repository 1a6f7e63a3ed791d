"""Marketing-budget growth: bootstrap distribution, named scenarios and a three-year fan chart.

1. The weighted mean of respondents' expected budget growth and its bootstrap distribution
   (Rao-Wu replicate weights).
2. Named scenarios as data (``data/scenarios/default.toml`` or a dict): ``confidence_shift`` moves
   percentage points of respondents between confidence levels (respondents are re-weighted so the
   confidence distribution matches), ``growth_shift`` adds points to everyone's expected growth and
   ``segment_shift.<variable>.<level>`` adds points within a segment.
3. A projection as an index (last actual year = 100) with fan quantiles 5/25/50/75/95. Year-one
   growth is the scenario mean corrected by the editions' record of *actual minus expected*
   growth (published figures: expectation in edition E vs the actual reported in edition E+1);
   later years assume the same growth with fresh, independent errors. The forecast error has the
   dispersion of that record (floored at ``min_sd`` because only a few editions exist) and the bias
   carries its own standard error.

The index year is the year the design's edition was fielded (edition − 1: the 2025 edition
projects 2024 → 2027), or the last year with a published actual when the edition is unknown.

Example:
    >>> res = run(wave, bootstrap=50, draws=500, seed=1)
    >>> res.base_year, res.to_polars().filter(pl.col("scenario") == "base").height
    (2024, 4)
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from survey.errors import ModelError
from survey.models._base import Base, WhereLabel, domain
from survey.models._design import as_design, replicate_weights
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
from survey.paths import data_dir

FAN_PROBS = (0.05, 0.25, 0.50, 0.75, 0.95)
#: default scenarios, relative to the data folder
SCENARIOS_FILE = "scenarios/default.toml"


# ----------------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    """A named scenario; shifts are in percentage points (of respondents or of growth)."""

    name: str
    label_zh: str = ""
    label_en: str = ""
    confidence_shift: Mapping[str, float] = field(default_factory=dict)
    growth_shift: float = 0.0
    segment_shift: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def label(self, lang: Lang) -> str:
        """Label in ``lang`` (the name when missing)."""
        return (self.label_zh if lang == "zh" else self.label_en) or self.name

    @classmethod
    def from_mapping(cls, name: str, spec: Mapping[str, Any]) -> Scenario:
        """Build from a TOML table / dict; checks that confidence shifts sum to zero."""
        known = {"label_zh", "label_en", "confidence_shift", "growth_shift", "segment_shift"}
        extra = set(spec) - known
        if extra:
            raise ModelError(f"scenario {name!r}: unknown keys {sorted(extra)}",
                             expected=f"keys among {sorted(known)}")
        cs = {str(k): float(v) for k, v in dict(spec.get("confidence_shift", {})).items()}
        if abs(sum(cs.values())) > 1e-6:
            raise ModelError(f"scenario {name!r}: confidence_shift sums to {sum(cs.values()):g}",
                             value=sum(cs.values()), expected="shifts summing to 0 points")
        seg = {str(v): {str(k): float(x) for k, x in dict(lv).items()}
               for v, lv in dict(spec.get("segment_shift", {})).items()}
        return cls(name, str(spec.get("label_zh", "")), str(spec.get("label_en", "")), cs,
                   float(spec.get("growth_shift", 0.0)), seg)


def load_scenarios(source: str | Path | Mapping[str, Any] | None = None) -> dict[str, Scenario]:
    """Scenarios from a TOML file (default ``data/scenarios/default.toml``) or a dict of dicts.

    Example:
        >>> sorted(load_scenarios())
        ['base', 'optimistic', 'pessimistic']
    """
    if source is None:
        source = data_dir() / SCENARIOS_FILE
    if isinstance(source, str | Path):
        with open(source, "rb") as fh:
            source = tomllib.load(fh)
    out = {}
    for name, spec in dict(source).items():
        out[name] = spec if isinstance(spec, Scenario) else Scenario.from_mapping(name, spec)
    return out


# ----------------------------------------------------------------------------------- history


def forecast_history(figures: pl.DataFrame | None = None) -> pl.DataFrame:
    """Expected vs actual mean budget growth by target year, from the published figures.

    Edition E's expectation is for year E; edition E's look-back actual is for year E-1.

    Example:
        >>> forecast_history().columns
        ['year', 'expected', 'actual', 'error']
    """
    if figures is None:
        from survey.published import load_figures

        figures = load_figures()
    base = figures.filter(
        (pl.col("measure") == "mean") & pl.col("segment").fill_null("").eq("")
        & pl.col("option_code").fill_null("").eq("")
    )
    exp = (base.filter(pl.col("question_id") == "budget_growth_expected")
           .group_by("edition").agg(expected=pl.col("value").first())
           .select(pl.col("edition").cast(pl.Int64).alias("year"), "expected"))
    act = (base.filter(pl.col("question_id") == "budget_growth_actual")
           .group_by("edition").agg(actual=pl.col("value").first())
           .select((pl.col("edition").cast(pl.Int64) - 1).alias("year"), "actual"))
    return (exp.join(act, on="year", how="inner").sort("year")
            .with_columns(error=pl.col("actual") - pl.col("expected")))


@dataclass(frozen=True)
class Calibration:
    """Forecast-error model: bias (actual − expected, points), its SE, error SD, pairs used."""

    bias: float
    bias_se: float
    sd: float
    n_pairs: int
    last_actual_year: int | None


def calibrate(
    history: pl.DataFrame | None = None, *, min_sd: float = 3.0, figures: pl.DataFrame | None = None
) -> Calibration:
    """Mean bias and dispersion of actual − expected growth; SD floored at ``min_sd`` points."""
    h = forecast_history(figures) if history is None else history
    e = h["error"].to_numpy().astype(float)
    if e.size == 0:
        raise ModelError("no edition pairs of expected and actual budget growth to calibrate on")
    sd = float(np.std(e, ddof=1)) if e.size > 1 else min_sd
    sd = max(sd, min_sd)
    last = None
    if figures is not None or history is None:
        try:
            from survey.published import load_figures

            f = load_figures() if figures is None else figures
            ed = f.filter(pl.col("question_id") == "budget_growth_actual")["edition"]
            last = int(ed.max()) - 1 if ed.len() else None
        except Exception:
            last = None
    return Calibration(float(e.mean()), sd / np.sqrt(e.size), sd, int(e.size), last)


# ----------------------------------------------------------------------------------- estimates


@dataclass(frozen=True, eq=False)
class _Data:
    g: np.ndarray
    conf: np.ndarray  # String codes (object), None where missing
    frame: pl.DataFrame
    W: np.ndarray  # (1 + B) x n : full-sample weights then replicates
    base: Base  # the domain and the respondents in it answering ``var``


def _data(design_or_frame: Any, var: str, confidence: str, weights: str | None,
          ids: str | None, strata: str | None, B: int, seed: int, where: Any = None,
          where_label: WhereLabel = None) -> _Data:
    """Respondents answering ``var`` (in the domain ``where``, as ``Design.subset``) with
    full-sample and replicate weights of the whole design."""
    d = as_design(design_or_frame, weights=weights, ids=ids, strata=strata)
    if var not in d.frame.columns:
        raise ModelError(f"column {var!r} not in the data", column=var)
    base, inside = domain(d, where, where_label)
    rows = np.flatnonzero(d.frame[var].is_not_null().to_numpy() & inside)
    if rows.size < 2:
        raise ModelError(f"only {rows.size} respondents answered {var}", column=var)
    df = d.frame[rows]
    W = np.vstack([d.weights, replicate_weights(d, B, np.random.default_rng(seed))])[:, rows]
    conf = (df[confidence].cast(pl.String).to_numpy().astype(object)
            if confidence in df.columns else np.full(df.height, None, dtype=object))
    return _Data(df[var].cast(pl.Float64).to_numpy(), conf, df, W, base.with_n(rows.size))


def _scenario_means(d: _Data, sc: Scenario) -> np.ndarray:
    """Scenario mean growth for every weight row (full sample first, then replicates)."""
    g = d.g + sc.growth_shift
    for var, levels in sc.segment_shift.items():
        if var not in d.frame.columns:
            raise ModelError(f"scenario {sc.name!r}: segment variable {var!r} not in the data",
                             column=var)
        codes = d.frame[var].cast(pl.String).to_numpy().astype(object)
        unknown = set(levels) - set(codes[codes != None])  # noqa: E711
        if unknown:
            raise ModelError(f"scenario {sc.name!r}: no respondent has {var} in {sorted(unknown)}",
                             column=var, value=sorted(unknown))
        g = g + np.array([levels.get(c, 0.0) for c in codes])
    W = d.W
    if sc.confidence_shift:
        if all(c is None for c in d.conf):
            raise ModelError(f"scenario {sc.name!r} shifts confidence but it is not in the data")
        W = W.copy()
        ok = np.array([c is not None for c in d.conf])
        levels = sorted({c for c in d.conf if c is not None} | set(sc.confidence_shift))
        shares = {}
        for lv in levels:
            m = d.conf == lv
            shares[lv] = W[:, m].sum(axis=1) / W[:, ok].sum(axis=1)
        for lv, delta in sc.confidence_shift.items():
            if delta > 0 and not (d.conf == lv).any():
                raise ModelError(f"scenario {sc.name!r}: no respondent at confidence {lv!r} "
                                 "to carry the shifted share", value=lv)
        targets = {lv: np.clip(shares[lv] + sc.confidence_shift.get(lv, 0.0) / 100, 0, None)
                   for lv in levels}
        tot = sum(targets.values())
        for lv in levels:
            m = d.conf == lv
            if m.any():
                ratio = np.where(shares[lv] > 0, targets[lv] / tot / np.maximum(shares[lv], 1e-300), 0)
                W[:, m] *= ratio[:, None]
        W = W * ok  # respondents without a confidence answer cannot be re-weighted
    return (W @ g) / W.sum(axis=1)


@dataclass(frozen=True, eq=False)
class BudgetScenarios(Presented):
    """Scenario means (with bootstrap CIs) and three-year index fan charts; ``base``: the
    ``where=`` domain and the respondents in it answering ``var``."""

    means: pl.DataFrame
    fan: pl.DataFrame
    calibration: Calibration
    draws: Mapping[str, np.ndarray]
    base_year: int
    var: str
    level: float
    base: Base

    def to_polars(self) -> pl.DataFrame:
        """Fan table: scenario, year, horizon, index quantiles q05…q95 and mean growth; the
        base columns ``base_n``, ``base_zh``, ``base_en``."""
        return with_base(self.fan, self.base)

    def summary(self, lang: Lang = "zh") -> str:
        """Plain-language summary of each scenario and of the forecast-error calibration."""
        c = self.calibration
        parts = []
        for r in self.means.iter_rows(named=True):
            f = self.fan.filter(pl.col("scenario") == r["scenario"]).sort("year").row(-1, named=True)
            parts.append(say("budget.scenario", lang, label=r[f"label_{lang}"], mean=r["mean"],
                             level=self.level, lo=r["ci_low"], hi=r["ci_high"],
                             base_year=self.base_year, year=f["year"], med=f["q50"],
                             band=FAN_PROBS[-1] - FAN_PROBS[0], q_lo=f["q05"], q_hi=f["q95"]))
        parts.append(say("budget.calibration", lang, bias=c.bias, sd=c.sd, pairs=c.n_pairs))
        parts.append(self.base.sentence(lang))
        return join(parts, lang)

    def plot(self, ax: Any = None, lang: Lang = "zh", scenario: str = "base") -> Any:
        """Fan chart of ``scenario`` with the other scenarios' medians."""
        import seaborn as sns

        ax = new_axes(ax)
        f = self.fan.filter(pl.col("scenario") == scenario).sort("year")
        if f.height == 0:
            raise ModelError(f"no scenario named {scenario!r}", value=scenario)
        x = f["year"].to_numpy()
        for (lo, hi), alpha in ((("q05", "q95"), 0.15), (("q25", "q75"), 0.3)):
            ax.fill_between(x, f[lo], f[hi], alpha=alpha, color="C0",
                            label=say("common.band", lang,
                                      level=(int(hi[1:]) - int(lo[1:])) / 100))
        for i, r in enumerate(self.means.iter_rows(named=True)):
            g = self.fan.filter(pl.col("scenario") == r["scenario"]).sort("year")
            sns.lineplot(x=g["year"].to_numpy(), y=g["q50"].to_numpy(), ax=ax, marker="o",
                         color=f"C{i + 1}", label=r[f"label_{lang}"])
        ax.set_xticks(x)
        ax.set_xlabel(say("common.year", lang))
        ax.set_ylabel(say("budget.fig_y", lang, base_year=self.base_year))
        ax.set_title(say("budget.fig_title", lang))
        show_base(ax, self.base, lang)
        ax.legend(loc="upper left", fontsize="small")
        return ax


def _fielded_year(design_or_frame: Any) -> int | None:
    """The year a Design's / Wave's edition was fielded (``edition - 1``); None when unknown."""
    edition = getattr(design_or_frame, "edition", None)
    return int(edition) - 1 if isinstance(edition, int | np.integer) else None


def growth_distribution(
    design_or_frame: Any,
    *,
    var: str = "budget_growth_expected",
    weights: str | None = "weight",
    ids: str | None = None,
    strata: str | None = None,
    bootstrap: int = 10_000,
    seed: int = DEFAULT_SEED,
    where: Any = None,
) -> np.ndarray:
    """Bootstrap draws of the weighted mean of ``var`` (first element: the full-sample mean).

    Example:
        >>> d = growth_distribution(wave, bootstrap=50)
        >>> d.shape, bool(d[0] == growth_distribution(wave, bootstrap=5)[0])
        ((51,), True)
    """
    d = _data(design_or_frame, var, "confidence", weights, ids, strata, bootstrap, seed, where)
    return (d.W @ d.g) / d.W.sum(axis=1)


def run(
    design_or_frame: Any,
    scenarios: str | Path | Mapping[str, Any] | None = None,
    *,
    var: str = "budget_growth_expected",
    confidence: str = "confidence",
    weights: str | None = "weight",
    ids: str | None = None,
    strata: str | None = None,
    years: int = 3,
    base_year: int | None = None,
    calibration: Calibration | None = None,
    bias_correct: bool = True,
    bootstrap: int = 10_000,
    draws: int = 20_000,
    level: float = 0.95,
    seed: int = DEFAULT_SEED,
    where: Any = None,
    where_label: WhereLabel = None,
) -> BudgetScenarios:
    """Scenario means of expected growth and a ``years``-year index projection with fans.

    Args:
        design_or_frame: a ``Design`` (the report's raked ``ctx.design``: replicates re-raked,
            so the bootstrap accounts for the calibration) or a Wave / frame (design from the
            ``weights``/``ids``/``strata`` columns).
        scenarios: TOML path, dict of scenario dicts, or None for ``data/scenarios/default.toml``.
        base_year: index year (= 100); default the year the design's edition was fielded
            (``edition - 1``), else the last year with a published actual.
        calibration: forecast-error model; default :func:`calibrate` on the published figures.
        bias_correct: add the historical mean of actual − expected to year-one growth.
        where: a domain as for ``Design.subset`` (replicates of the whole design): a polars
            expression, ``{variable: levels}`` or ``"var=a,b"`` (named as a banner names
            them), a SQL condition or a mask. The result's ``base`` names it with the ``n``
            respondents of the domain answering ``var``; ``where_label`` renames it.

    Example:
        >>> res = run(wave, {"flat": {"growth_shift": -8}}, bootstrap=50, draws=500, seed=1)
        >>> res.means["scenario"].to_list(), res.to_polars()["year"].to_list()
        (['flat'], [2024, 2025, 2026, 2027])
        >>> sub = run(wave, bootstrap=20, draws=200, where={"industry": ["美妆个护", "食品饮料"]})
        >>> print(sub.base.text("en"))
        Base: Beauty & personal care + Food & beverage, n = ...
        >>> sub.summary("zh").endswith(f"{sub.base.text('zh')}。")
        True
    """
    scs = load_scenarios(scenarios)
    cal = calibrate() if calibration is None else calibration
    by = base_year if base_year is not None else _fielded_year(design_or_frame)
    by = by if by is not None else cal.last_actual_year
    if by is None:
        raise ModelError("base_year is needed: no published actual growth to anchor the index")
    d = _data(design_or_frame, var, confidence, weights, ids, strata, bootstrap, seed, where,
              where_label)
    rng = np.random.default_rng(seed + 1)
    a = (1 - level) / 2
    rows, fans, all_draws = [], [], {}
    for name, sc in scs.items():
        m = _scenario_means(d, sc)
        est, boot = float(m[0]), m[1:]
        lo, hi = np.quantile(boot, [a, 1 - a])
        rows.append({"scenario": name, "label_zh": sc.label("zh"), "label_en": sc.label("en"),
                     "mean": est, "ci_low": float(lo), "ci_high": float(hi)})
        mu = rng.choice(boot, draws)  # sampling uncertainty of the survey mean
        if bias_correct:
            mu = mu + rng.normal(cal.bias, cal.bias_se, draws)
        e = rng.normal(0.0, cal.sd, (draws, years))
        g = mu[:, None] + e
        idx = 100 * np.cumprod(1 + g / 100, axis=1)
        all_draws[name] = idx
        qs = np.quantile(idx, FAN_PROBS, axis=0)
        fans.append(pl.DataFrame({
            "scenario": [name] * (years + 1),
            "year": list(range(by, by + years + 1)),
            "horizon": list(range(years + 1)),
            "growth_mean": [np.nan, *g.mean(axis=0).tolist()],
            **{f"q{round(100 * p):02d}": [100.0, *qs[i].tolist()]
               for i, p in enumerate(FAN_PROBS)},
        }))
    return BudgetScenarios(pl.DataFrame(rows), pl.concat(fans), cal, all_draws, by, var, level,
                           d.base)
