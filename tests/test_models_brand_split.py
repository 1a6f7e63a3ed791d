"""brand_split: known-truth recovery, statsmodels equality, intervals, refusals, presentation."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from survey.errors import EmptySegmentError, ModelError
from survey.models import brand_split as bs
from survey.models._result import replicate_weights

TRUE_OPT = 0.53


@pytest.fixture(scope="module")
def big() -> pl.DataFrame:
    return bs.simulate(4000, optimum=TRUE_OPT, curvature=10, concentration=3, seed=11)


@pytest.fixture(scope="module")
def res228():
    df = bs.simulate(228, optimum=TRUE_OPT, curvature=20, concentration=3, seed=5)
    return bs.fit(df, bootstrap=2000, seed=1)


def test_recovers_known_optimum(big):
    r = bs.fit(big, bootstrap=300, seed=2)
    assert r.interior
    assert abs(r.optimum - TRUE_OPT) < 0.03
    assert r.ci_delta[0] < TRUE_OPT < r.ci_delta[1]
    assert r.ci_boot[0] < TRUE_OPT < r.ci_boot[1]
    # the delta and bootstrap intervals agree at this sample size
    assert abs((r.ci_delta[1] - r.ci_delta[0]) - (r.ci_boot[1] - r.ci_boot[0])) < 0.02


def test_spline_recovers_optimum(big):
    r = bs.fit(big, model="spline", bootstrap=200, seed=2)
    assert abs(r.optimum - TRUE_OPT) < 0.05
    assert r.ci_boot[0] <= TRUE_OPT <= r.ci_boot[1]


def test_point_estimates_equal_statsmodels(res228):
    p, X = res228._prep, res228._X
    m = sm.GLM(p.y, X, family=sm.families.Binomial(), var_weights=p.w).fit()
    np.testing.assert_allclose(res228.coef["estimate"].to_numpy(), m.params, atol=1e-7)


def test_sandwich_equals_statsmodels_hc0_scaled(res228):
    # with each respondent its own PSU, the design variance is n/(n-1) times the HC0 sandwich
    p, X = res228._prep, res228._X
    w = p.w * (p.y.size / p.w.sum())
    m = sm.GLM(p.y, X, family=sm.families.Binomial(), var_weights=w).fit(cov_type="HC0")
    n = p.y.size
    np.testing.assert_allclose(res228.vcov, m.cov_params() * n / (n - 1), rtol=1e-4)


def test_batched_newton_matches_single_fits(res228):
    p, X = res228._prep, res228._X
    W = replicate_weights(p.w, 5, np.random.default_rng(0))
    betas, conv = bs.fit_batch(X, p.y, W, "binomial")
    assert conv.all()
    for b in range(5):
        m = sm.GLM(p.y, X, family=sm.families.Binomial(), var_weights=W[b]).fit()
        finite = np.abs(m.params) < 15  # a separated control cell drifts to -inf in both fits
        finite[:3] = True  # intercept, s, s² are always identified
        np.testing.assert_allclose(betas[b][finite], m.params[finite], atol=1e-6)


def test_gaussian_outcome():
    df = bs.simulate(2000, seed=3, concentration=3).with_columns(
        growth=(-30 * (pl.col("budget_split__brand") / 100 - 0.45) ** 2)
        + pl.Series(np.random.default_rng(1).normal(0, 0.5, 2000))
    )
    r = bs.fit(df, outcome="growth", bootstrap=200, seed=1)
    assert r.family == "gaussian"
    assert abs(r.optimum - 0.45) < 0.02


def test_no_interior_optimum_is_reported():
    df = bs.simulate(1500, curvature=-8, optimum=0.5, seed=4, concentration=3)  # convex: a valley
    r = bs.fit(df, bootstrap=200, seed=1)
    assert not r.interior
    assert r.optimum in (0.0, 1.0)
    assert np.isnan(r.se_delta)
    assert "no interior optimum" in r.summary("en")
    assert "没有内部最优" in r.summary("zh")


def test_bootstrap_is_seeded(res228):
    df = bs.simulate(228, seed=9)
    a = bs.fit(df, bootstrap=300, seed=7, curve_replicates=0)
    b = bs.fit(df, bootstrap=300, seed=7, curve_replicates=0)
    np.testing.assert_array_equal(a.boot_optima, b.boot_optima)


def test_tests_against_references(res228):
    t = res228.tests()
    assert set(t["reference_id"]) >= {"binet_field_consumer_60_40", "binet_field_b2b_46_54"}
    one = res228.test_optimum(res228.optimum)
    assert abs(one["z"]) < 1e-12 and one["p_wald"] == pytest.approx(1.0)
    far = res228.test_optimum(0.95)
    assert far["p_wald"] < 0.01 and far["p_boot"] < 0.01


def test_published_reference_read_from_figures():
    pub = bs.published_optimum()
    if pub is None:
        pytest.skip("published figures not available")
    assert pub == pytest.approx(0.53)


def test_what_if(res228):
    zero = res228.what_if(0)
    assert zero.effect == pytest.approx(0.0, abs=1e-12)
    w = res228.what_if(-10)
    assert w.ci[0] <= w.effect <= w.ci[1]
    assert w.n_movers > 0
    assert "百分点" in w.summary("zh") and "points" in w.summary("en")
    with pytest.raises(ModelError):
        res228.what_if(-10, movers="no_such_column")


def test_curve_bands(res228):
    c = res228.curve
    assert {"brand_share", "estimate", "delta_low", "boot_low", "boot_high"} <= set(c.columns)
    assert (c["boot_low"] <= c["estimate"] + 1e-9).all()
    assert (c["estimate"] <= c["boot_high"] + 1e-9).all()
    # curve peaks at the optimum
    peak = c["brand_share"][int(np.argmax(c["estimate"].to_numpy()))]
    assert abs(peak - res228.optimum) < 0.03


def test_segment_refusal_and_table():
    df = bs.simulate(400, curvature=20, concentration=3, seed=8)
    with pytest.raises(ModelError, match=r"base n = \d+ is below the minimum 80"):
        bs.fit_segment(df, "industry", "health", min_base=80, bootstrap=100)
    with pytest.raises(EmptySegmentError):
        bs.fit_segment(df, "industry", "nope", bootstrap=100)
    tab = bs.optima_by_segment(df, "budget_size", min_base=80, bootstrap=200, seed=1)
    t = tab.to_polars()
    assert t.height == 3
    assert set(t["status"]) <= {"ok", "refused"}
    assert (t.filter(pl.col("status") == "refused")["reason"].str.len_chars() > 0).all()
    assert isinstance(tab.summary("en"), str)


def test_presentation(res228):
    tp = res228.to_polars()
    assert tp.filter(pl.col("term") == "optimum_brand_share").height == 2
    zh = res228.summary("zh")
    assert f"{100 * res228.optimum:.0f}%" in zh and "置信区间" in zh
    assert "CI" in res228.summary("en")
    for lang in ("zh", "en"):
        ax = res228.plot(lang=lang)
        assert ax.get_xlabel()
    import matplotlib.pyplot as plt

    plt.close("all")


def test_missing_column_is_a_model_error():
    df = bs.simulate(100, seed=1).drop("market_share_change")
    with pytest.raises(ModelError):
        bs.fit(df, bootstrap=0)


@pytest.mark.slow
def test_coverage_delta_and_bootstrap():
    reps, hit_d, hit_b = 60, 0, 0
    for i in range(reps):
        df = bs.simulate(228, optimum=TRUE_OPT, curvature=20, concentration=3, seed=1000 + i)
        r = bs.fit(df, bootstrap=400, seed=i, curve_replicates=0)
        hit_d += r.ci_delta[0] <= TRUE_OPT <= r.ci_delta[1]
        hit_b += r.ci_boot[0] <= TRUE_OPT <= r.ci_boot[1]
    # nominal 95%; with 60 replications a binomial 99% band is about [0.85, 1]
    assert hit_d / reps >= 0.85
    assert hit_b / reps >= 0.85


def test_design_glm_gives_same_estimates_and_covariance():
    design_mod = pytest.importorskip("survey.design")
    df = bs.simulate(228, optimum=TRUE_OPT, curvature=20, concentration=3, seed=5)
    own = bs.fit(df, bootstrap=100, seed=1, curve_replicates=0)
    via = bs.fit(None, design=design_mod.Design(df, weights="weight"), bootstrap=100, seed=1,
                 curve_replicates=0)
    assert via.optimum == pytest.approx(own.optimum, abs=1e-9)
    np.testing.assert_allclose(via.vcov, own.vcov, rtol=1e-6, atol=1e-10)
    np.testing.assert_array_equal(via.boot_optima, own.boot_optima)


def test_design_with_missing_rows_is_a_domain():
    design_mod = pytest.importorskip("survey.design")
    df = bs.simulate(300, curvature=20, concentration=3, seed=6).with_columns(
        market_share_change=pl.when(pl.int_range(pl.len()) % 7 == 0).then(None)
        .otherwise(pl.col("market_share_change")))
    r = bs.fit(None, design=design_mod.Design(df, weights="weight"), bootstrap=50, seed=1)
    assert r.n == 300 - len(range(0, 300, 7))
