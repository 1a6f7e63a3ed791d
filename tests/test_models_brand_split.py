"""brand_split: known-truth recovery, statsmodels equality, intervals, refusals, presentation."""

from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from survey.design import Design
from survey.errors import EmptySegmentError, ModelError
from survey.models import brand_split as bs
from survey.models._design import as_design, replicate_weights

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
    df = bs.simulate(228, optimum=TRUE_OPT, curvature=20, concentration=3, seed=5)
    W = replicate_weights(as_design(df), 5, np.random.default_rng(0))[:, p.rows]
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
    # the movers are named by their codebook label; the effect is printed from the fit
    assert "减少品牌投放增加效果投放" in w.summary("zh")
    assert f"{100 * w.effect:+.1f} points".replace("-", "\u2212") in w.summary("en")
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
    refused = t.filter(pl.col("status") == "refused")
    assert (refused["reason_en"].str.len_chars() > 0).all()
    assert (refused["reason_zh"].str.len_chars() > 0).all()
    # codebook labels for the levels, numbers from the fits in the sentences
    from survey.codebook import Codebook

    q = Codebook.load()["budget_size"]
    assert t["label_zh"].to_list() == [q.label(c, "zh") for c in t["level"]]
    assert t["label_en"].to_list() == [q.label(c, "en") for c in t["level"]]
    for r in t.filter(pl.col("status") == "ok").iter_rows(named=True):
        assert f"{100 * r['optimum']:.0f}%" in tab.summary("en")
    # a segment is a domain of the full design: same estimate as fitting the subset alone
    sub = df.filter(pl.col("budget_size") == "medium")
    a = bs.fit_segment(df, "budget_size", "medium", min_base=80, bootstrap=0)
    b = bs.fit(sub, controls=("industry",), bootstrap=0)
    assert a.optimum == pytest.approx(b.optimum, abs=1e-9)


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
    """Nominal 95% intervals on a raked design hold their level (binary and ordinal outcomes)."""
    reps = 60
    hits = {"delta": 0, "boot": 0, "ordinal_delta": 0, "ordinal_boot": 0}
    for i in range(reps):
        df = bs.simulate(228, optimum=TRUE_OPT, curvature=20, concentration=3, seed=1000 + i)
        r = bs.fit(_raked(df), bootstrap=400, seed=i, curve_replicates=0)
        odf = bs.simulate(228, optimum=TRUE_OPT, curvature=20, concentration=3, seed=5000 + i,
                          ordinal_gap=1.5)
        o = bs.fit(_raked(odf), outcome_model="ordinal", bootstrap=400, seed=i,
                   curve_replicates=0)
        for key, ci in (("delta", r.ci_delta), ("boot", r.ci_boot),
                        ("ordinal_delta", o.ci_delta), ("ordinal_boot", o.ci_boot)):
            hits[key] += ci[0] <= TRUE_OPT <= ci[1]
    # nominal 95%; with 60 replications a binomial 99% band is about [0.85, 1]
    for key, h in hits.items():
        assert h / reps >= 0.85, key


def _raked(df: pl.DataFrame) -> Design:
    return Design(df, weights="weight").rake(
        {"budget_size": {"small": 0.5, "medium": 0.3, "large": 0.2},
         "industry": {"fmcg": 0.3, "beauty": 0.2, "auto": 0.2, "tech": 0.2, "health": 0.1}})


def test_covariance_equals_design_glm_on_a_raked_design():
    """The sandwich's middle term comes from the design engine: Design.glm gives the same."""
    df = bs.simulate(228, optimum=TRUE_OPT, curvature=20, concentration=3, seed=5)
    design = _raked(df)
    r = bs.fit(design, bootstrap=0, min_level_n=1)
    p, X = r._prep, r._X
    cols = {f"x{j}": X[:, j] for j in range(1, X.shape[1])}
    glm = _raked(df.with_columns(y=pl.Series(p.y), **{k: pl.Series(v) for k, v in cols.items()})
                 ).glm("y ~ " + " + ".join(cols), "binomial")
    np.testing.assert_allclose(r.coef["estimate"].to_numpy(), glm.params.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(r.vcov, glm.vcov.to_numpy(), rtol=1e-6, atol=1e-10)
    # calibration changes the covariance (fixed raked weights give another one)
    fixed = bs.fit(Design(df, weights=design.weights).rake(
        {"budget_size": {"small": 0.5, "medium": 0.3, "large": 0.2}}, variance="fixed"),
        bootstrap=0, min_level_n=1)
    assert not np.allclose(fixed.vcov, r.vcov)


def test_frame_and_unraked_design_agree():
    df = bs.simulate(228, optimum=TRUE_OPT, curvature=20, concentration=3, seed=5)
    own = bs.fit(df, bootstrap=100, seed=1, curve_replicates=0)
    via = bs.fit(design=Design(df, weights="weight"), bootstrap=100, seed=1, curve_replicates=0)
    assert via.optimum == pytest.approx(own.optimum, abs=1e-12)
    np.testing.assert_allclose(via.vcov, own.vcov, rtol=1e-12)
    np.testing.assert_array_equal(via.boot_optima, own.boot_optima)


def test_raked_bootstrap_matches_calibrated_design_se():
    """Re-raked replicates give the calibration-aware SE of Design.mean (not the fixed one)."""
    df = bs.simulate(400, seed=3)
    design = _raked(df)
    d_fixed = Design(df, weights=design.weights)
    W = replicate_weights(design, 4000, np.random.default_rng(1))
    y = df["budget_split__brand"].to_numpy()
    boot_se = ((W @ y) / W.sum(axis=1)).std()
    cal_se = design.mean("budget_split__brand")["se"][0]
    fixed_se = d_fixed.mean("budget_split__brand")["se"][0]
    assert boot_se == pytest.approx(cal_se, rel=0.06)
    # every replicate meets the margins
    small = (df["budget_size"] == "small").to_numpy()
    np.testing.assert_allclose(W[:, small].sum(axis=1) / W.sum(axis=1), 0.5, atol=1e-8)
    assert fixed_se != pytest.approx(cal_se, rel=1e-3)


def test_design_with_missing_rows_is_a_domain():
    df = bs.simulate(300, curvature=20, concentration=3, seed=6).with_columns(
        market_share_change=pl.when(pl.int_range(pl.len()) % 7 == 0).then(None)
        .otherwise(pl.col("market_share_change")))
    r = bs.fit(None, design=Design(df, weights="weight"), bootstrap=50, seed=1)
    assert r.n == 300 - len(range(0, 300, 7))


@pytest.fixture(scope="module")
def ordinal_fit():
    df = bs.simulate(2000, optimum=TRUE_OPT, curvature=10, concentration=3, seed=12,
                     ordinal_gap=1.5, weights=False)
    return bs.fit(df, outcome_model="ordinal", bootstrap=300, seed=1)


def test_ordinal_recovers_optimum_and_equals_statsmodels(ordinal_fit):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    r = ordinal_fit
    assert r.family == "ordinal" and r.interior
    assert abs(r.optimum - TRUE_OPT) < 0.03
    assert r.ci_delta[0] < TRUE_OPT < r.ci_delta[1] and r.ci_boot[0] < TRUE_OPT < r.ci_boot[1]
    p, X = r._prep, r._X
    k = X.shape[1]
    est = r.coef["estimate"].to_numpy()
    theta = np.array([est[k], -est[0]])  # cut[decrease|flat], cut[flat|increase]
    om = OrderedModel(p.y.astype(int), X[:, 1:], distr="logit")
    start = np.r_[est[1:k], theta[0], np.log(theta[1] - theta[0])]
    m = om.fit(start_params=start, method="newton", disp=False)
    np.testing.assert_allclose(est[1:k], m.params[: k - 1], rtol=1e-6, atol=1e-7)
    # design sandwich (each respondent a PSU) = n/(n-1) × HC0 sandwich of the slopes
    S, H = om.score_obs(m.params), om.hessian(m.params)
    Ainv = np.linalg.inv(-H)
    n = p.y.size
    V = n / (n - 1) * Ainv @ (S.T @ S) @ Ainv
    np.testing.assert_allclose(r.vcov[1:k, 1:k], V[: k - 1, : k - 1], rtol=2e-3)


def test_ordinal_what_if_and_text(ordinal_fit):
    w = ordinal_fit.what_if(-10)
    assert w.ci[0] <= w.effect <= w.ci[1]
    assert "ordinal" in ordinal_fit.summary("en") and "有序" in ordinal_fit.summary("zh")
    assert "cut[decrease|flat]" in ordinal_fit.coef["term"].to_list()


def test_ordinal_is_tighter_than_binary_on_the_same_data():
    df = bs.simulate(1500, optimum=TRUE_OPT, curvature=10, concentration=3, seed=13,
                     ordinal_gap=1.0)
    o = bs.fit(df, outcome_model="ordinal", bootstrap=0)
    b = bs.fit(df, bootstrap=0)
    assert o.se_delta < b.se_delta


def test_ordinal_equals_design_svyolr_on_a_raked_design():
    """Estimates and calibration-aware SEs equal the design engine's svyolr (R-matched)."""
    from survey.design import glm as design_glm

    if not hasattr(design_glm, "svyolr"):
        pytest.skip("the design engine has no svyolr in this tree")
    df = bs.simulate(400, optimum=TRUE_OPT, curvature=10, concentration=3, seed=12,
                     ordinal_gap=1.5)
    r = bs.fit(_raked(df), outcome_model="ordinal", bootstrap=0, min_level_n=1)
    p, X = r._prep, r._X
    k = X.shape[1]
    cols = {f"x{j}": pl.Series(X[:, j]) for j in range(1, k)}
    g = _raked(df.with_columns(yo=pl.Series(p.y.astype(int)), **cols)).glm(
        "yo ~ " + " + ".join(cols), "ordinal")
    est, se = r.coef["estimate"].to_numpy(), r.coef["se"].to_numpy()
    np.testing.assert_allclose(est[1:k], g.params.to_numpy()[: k - 1], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(se[1:k], g.se.to_numpy()[: k - 1], rtol=1e-6)
    # cut points: svyolr's zeta are ours (the top one is minus our intercept)
    np.testing.assert_allclose([est[k], -est[0]], g.params.to_numpy()[k - 1:], rtol=1e-6)


# --------------------------------------------------------------------- base (issue #13)

BEAUTY_FOOD = {"industry": ["美妆个护", "食品饮料"]}
BEAUTY_FOOD_CODES = ["beauty", "food_bev"]


@pytest.fixture(scope="module")
def wave25():
    import survey

    return survey.load_wave(2025)


@pytest.fixture(scope="module")
def d25(wave25):
    from survey.weighting import standard_design

    return standard_design(wave25)


def _used(frame: pl.DataFrame, keep: pl.Expr, cols: list[str]) -> int:
    """Respondents in the domain ``keep`` answering every model column, counted on the frame."""
    return frame.filter(keep.fill_null(False)).drop_nulls(cols).height


def test_base_of_a_where_domain_names_it_in_both_languages(d25):
    # two missing brand shares inside the domain: n counts the respondents the model used
    rows = d25.frame.with_row_index("i").filter(
        pl.col("industry").cast(pl.String).is_in(BEAUTY_FOOD_CODES))["i"].to_list()[:2]
    frame = d25.frame.with_columns(budget_split__brand=pl.when(pl.int_range(pl.len()).is_in(rows))
                                   .then(None).otherwise(pl.col("budget_split__brand")))
    d = Design(frame, "weight", codebook=d25.codebook)
    r = bs.fit(d, where=BEAUTY_FOOD, controls=(), bootstrap=0)
    keep = pl.col("industry").cast(pl.String).is_in(BEAUTY_FOOD_CODES)
    n = _used(frame, keep, ["market_share_change", "budget_split__brand"])
    assert n == frame.filter(keep).height - 2 and r.n == n and r.base.n == n
    assert r.base.text("zh") == f"基数：美妆个护+食品饮料，n = {n}"
    assert r.base.text("en") == f"Base: Beauty & personal care + Food & beverage, n = {n}"
    assert r.summary("zh").endswith(f"基数：美妆个护+食品饮料，n = {n}。")
    assert r.summary("en").endswith(f"Base: Beauty & personal care + Food & beverage, n = {n}.")
    assert str(r) == r.summary("zh")
    t = r.to_polars()
    assert t["base_n"].unique().to_list() == [n]
    assert t["base_zh"].unique().to_list() == [f"基数：美妆个护+食品饮料，n = {n}"]
    # the textual filter and the polars expression name the same respondents
    assert bs.fit(d, where="industry=beauty,food_bev", controls=(), bootstrap=0).base == r.base
    assert bs.fit(d, where=keep, controls=(), bootstrap=0).base.n == n


def test_base_without_where_is_all_advertisers(d25):
    r = bs.fit(d25, bootstrap=20, curve_replicates=0)
    n = _used(d25.frame, pl.lit(True), ["market_share_change", "budget_split__brand",
                                        "industry", "budget_size"])
    assert n == d25.frame.height
    assert r.base.text("zh") == f"基数：全体广告主，n = {n}"
    assert r.base.text("en") == f"Base: all advertisers, n = {n}"
    w = r.what_if(-10)
    assert w.base == r.base and w.summary("en").endswith(f"Base: all advertisers, n = {n}.")
    assert w.to_polars()["base_zh"][0] == f"基数：全体广告主，n = {n}"
    ax = r.plot(lang="en")
    assert ax.get_title().endswith(f"Base: all advertisers, n = {n}")
    import matplotlib.pyplot as plt

    plt.close("all")


def test_base_matches_the_banner_wording_and_a_subset_design(d25):
    from survey.banners import banner

    b = banner(d25, ["confidence"], ["brand_type"], where=BEAUTY_FOOD)
    r = bs.fit(d25, where=BEAUTY_FOOD, controls=(), bootstrap=0)
    for lang in ("zh", "en"):
        assert r.base.text(lang) == b.base_text(lang)  # no missing answers: the same n
    sql = "industry IN ('beauty', 'food_bev')"
    sub = bs.fit(d25.subset(sql), controls=(), bootstrap=0)  # a design subset before the call
    assert sub.base.text("en") == f"Base: {sql}, n = {r.n}"
    own = bs.fit(d25, where=BEAUTY_FOOD, where_label={"zh": "美妆与食品", "en": "Beauty, food"},
                 controls=(), bootstrap=0)
    assert (own.base.text("zh"), own.base.text("en")) == (
        f"基数：美妆与食品，n = {r.n}", f"Base: Beauty, food, n = {r.n}")


def test_base_labels_are_escaped_in_html(d25):
    expr = pl.col("budget_split__brand") < 60
    r = bs.fit(d25, where=expr, controls=(), bootstrap=0)
    n = d25.frame.filter(expr).height
    assert r.base.text("en") == f"Base: {expr}, n = {n}" and "<" in r.base.text("en")
    page = r._repr_html_()
    assert html.escape(r.base.text("zh")) in page and r.base.text("en") not in page
    from survey.banners import banner

    assert banner(d25, ["confidence"], ["brand_type"], where=expr).base_text("en") == \
        r.base.text("en")


def test_empty_or_unknown_where_domains_are_refused(d25):
    from survey.errors import EstimationError

    with pytest.raises(EmptySegmentError):
        bs.fit(d25, where=pl.col("budget_split__brand") > 1000, bootstrap=0)
    with pytest.raises(EstimationError, match="'beuaty' is not a level of 'industry'"):
        bs.fit(d25, where={"industry": "beuaty"}, bootstrap=0)


def test_segment_bases_name_the_level(d25):
    n = d25.frame.filter(pl.col("brand_type") == "mature").height
    r = bs.fit_segment(d25, "brand_type", "mature", bootstrap=0)
    assert (r.base.text("zh"), r.base.text("en")) == (f"基数：成熟品牌，n = {n}",
                                                      f"Base: Mature brand, n = {n}")
    keep = pl.col("industry").cast(pl.String).is_in(BEAUTY_FOOD_CODES)
    both = d25.frame.filter(keep & (pl.col("brand_type") == "mature")).height
    with pytest.raises(bs.SegmentRefused, match=f"base n = {both} is below"):
        bs.fit_segment(d25, "brand_type", "mature", where=BEAUTY_FOOD, bootstrap=0)
    r2 = bs.fit_segment(d25, "brand_type", "mature", where=BEAUTY_FOOD, min_base=10,
                        min_side=1, controls=(), bootstrap=0)
    assert r2.base.text("zh") == f"基数：美妆个护+食品饮料；成熟品牌，n = {both}"
    tab = bs.optima_by_segment(d25, "brand_type", where=BEAUTY_FOOD, min_base=10, min_side=1,
                               controls=(), bootstrap=20)
    dom = d25.frame.filter(keep)
    assert tab.to_polars().select("level", "n").rows() == sorted(
        dom.group_by(pl.col("brand_type").cast(pl.String)).len().rows())
    assert tab.base.text("en") == (f"Base: Beauty & personal care + Food & beverage, "
                                   f"n = {dom.height}")
    assert tab.summary("zh").endswith(f"基数：美妆个护+食品饮料，n = {dom.height}。")
