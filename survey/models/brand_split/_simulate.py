"""A synthetic frame with a known brand-share optimum, for tests and benchmarks."""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.special import expit

from survey.models.brand_split._prepare import CUT_BRAND_COLUMN


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
