"""``where=`` of the models and scenarios goes through ``Design.subset`` (a domain)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import survey
from survey.weighting import standard_design

SQL = "industry IN ('beauty', 'food_bev')"
EXPR = pl.col("industry").cast(pl.String).is_in(["beauty", "food_bev"])


@pytest.fixture(scope="module")
def d():
    return standard_design(survey.load_wave(2025))


def test_scenarios_media_mix_where_equals_the_subset_mean(d) -> None:
    from survey.models.scenarios.media_mix import net_balance

    nb = net_balance(d, items=["mobile"], bootstrap=20, where=SQL).to_polars()
    dd = d.with_columns(score=pl.col("media_intent__mobile").cast(pl.String).replace_strict(
        {"increase": 1.0, "decrease": -1.0}, default=0.0, return_dtype=pl.Float64))
    ref = dd.subset(EXPR).mean("score")
    assert nb["n"][0] == int(d.frame.select(EXPR.sum()).item())
    assert nb["net_balance"][0] == pytest.approx(ref["estimate"][0], rel=1e-9)
    assert nb["se"][0] == pytest.approx(ref["se"][0], rel=1e-9)


def test_ai_adoption_and_budget_where(d) -> None:
    from survey.models.scenarios.ai_adoption import inputs_from_frame
    from survey.models.scenarios.budget import growth_distribution

    full = inputs_from_frame(d, draws=20)
    sub = inputs_from_frame(d, draws=20, where=SQL)
    mask = d.frame.select(EXPR).to_series().to_numpy()
    ok = d.frame["ai_marketing_now"].is_not_null().to_numpy() & mask
    assert sub.n == int(ok.sum()) < full.n
    g = growth_distribution(d, bootstrap=10, where=EXPR)
    ref = d.subset(EXPR).mean("budget_growth_expected")["estimate"][0]
    assert float(g[0]) == pytest.approx(ref)
    assert np.isfinite(g).all()


def test_brand_split_where_keeps_the_domain(d) -> None:
    from survey.models.brand_split import prepare

    p = prepare(d, where=SQL)
    mask = d.frame.select(EXPR).to_series().to_numpy()
    assert p.y.size <= int(mask.sum()) and p.y.size > 0
    assert p.y.size == prepare(d, where=EXPR).y.size
