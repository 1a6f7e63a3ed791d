"""scenarios.media_mix: net balance recovery, design SE, reallocation algebra."""

from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")

import numpy as np
import polars as pl
import pytest

from survey.errors import ModelError
from survey.models.scenarios import media_mix as mm

LV = ["increase", "flat", "decrease", "not_invest"]
P = {"mobile": [0.55, 0.30, 0.10, 0.05], "outdoor": [0.26, 0.40, 0.20, 0.14],
     "pc": [0.08, 0.40, 0.30, 0.22]}


def _frame(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({
        f"media_intent__{k}": pl.Series(rng.choice(LV, n, p=p)).cast(pl.Enum(LV))
        for k, p in P.items()
    }).with_columns(weight=pl.Series(rng.gamma(6, 1 / 6, n)))


def test_recovers_net_balance():
    nb = mm.net_balance(_frame(20_000, 1), bootstrap=100, seed=2).to_polars()
    for k, p in P.items():
        r = nb.filter(pl.col("item") == k).row(0, named=True)
        assert r["net_balance"] == pytest.approx(p[0] - p[2], abs=0.015)
    inv = mm.net_balance(_frame(20_000, 1), base="investors", bootstrap=50).to_polars()
    r = inv.filter(pl.col("item") == "pc").row(0, named=True)
    assert r["net_balance"] == pytest.approx((0.08 - 0.30) / 0.78, abs=0.02)


def test_design_se_matches_bootstrap_and_simulation():
    nb = mm.net_balance(_frame(228, 3), bootstrap=4000, seed=4)
    np.testing.assert_allclose(nb.draws.std(axis=0), nb.table["se"].to_numpy(), rtol=0.1)
    sims = [mm.net_balance(_frame(228, 100 + i), bootstrap=1).table["net_balance"][0]
            for i in range(200)]
    assert np.std(sims) == pytest.approx(nb.table["se"][0], rel=0.2)


def test_reallocation_algebra():
    nb = mm.net_balance(_frame(500, 5), bootstrap=500, seed=1)
    r = mm.reallocate(nb, {"mobile": 60, "outdoor": 25, "pc": 15}, elasticity=1.0).to_polars()
    assert r["new_share"].sum() == pytest.approx(1.0)
    assert r["base_share"].sum() == pytest.approx(1.0)
    t = nb.table
    nbv = dict(zip(t["item"], t["net_balance"], strict=True))
    b = np.array([0.6, 0.25, 0.15]) * np.exp([nbv["mobile"], nbv["outdoor"], nbv["pc"]])
    np.testing.assert_allclose(r["new_share"].to_numpy(), b / b.sum())
    assert (r["ci_low"] <= r["new_share"]).all() and (r["new_share"] <= r["ci_high"]).all()
    zero = mm.reallocate(nb, {"mobile": 60, "outdoor": 25, "pc": 15}, elasticity=0.0)
    np.testing.assert_allclose(zero.table["change"].to_numpy(), 0, atol=1e-12)
    with pytest.raises(ModelError):
        mm.reallocate(nb, {"tiktok": 1.0})


def test_presentation():
    nb = mm.net_balance(_frame(228, 6), bootstrap=200, seed=1)
    assert "净值" in nb.summary("zh") and "Net balance" in nb.summary("en")
    r = mm.reallocate(nb, {"mobile": 60, "outdoor": 25, "pc": 15})
    assert "not a forecast" in r.summary("en")
    nb.plot(lang="zh")
    r.plot(lang="en")
    import matplotlib.pyplot as plt

    plt.close("all")


def _raked(df: pl.DataFrame):
    from survey.design import Design

    return Design(df, weights="weight").rake({"seg": {"a": 0.3, "b": 0.7}})


def test_design_se_equals_design_mean_of_the_score_on_a_raked_design():
    rng = np.random.default_rng(8)
    df = _frame(300, 8).with_columns(seg=pl.Series(rng.choice(["a", "b"], 300)))
    d = _raked(df)
    nb = mm.net_balance(d, bootstrap=3000, seed=2, base="investors").to_polars()
    for k in P:
        col = pl.col(f"media_intent__{k}")
        score = (pl.when(col == "increase").then(1.0).when(col == "decrease").then(-1.0)
                 .when(col == "not_invest").then(None).otherwise(0.0))
        ref = _raked(df.with_columns(score.alias("z"))).mean("z").row(0, named=True)
        r = nb.filter(pl.col("item") == k).row(0, named=True)
        assert r["net_balance"] == pytest.approx(ref["estimate"], abs=1e-12)
        assert r["se"] == pytest.approx(ref["se"], rel=1e-9)


def test_labels_come_from_the_codebook():
    from survey.codebook import Codebook

    q = Codebook.load()["media_intent"]
    t = mm.net_balance(_frame(100, 1), bootstrap=10).to_polars()
    assert t["label_zh"].to_list() == [q.label(k, "zh") for k in t["item"]]
    assert t["label_en"].to_list() == [q.label(k, "en") for k in t["item"]]


def test_default_base_shares_are_an_assumption_with_a_source():
    b = mm.load_base_shares()
    assert sum(b.shares.values()) == pytest.approx(1.0)
    assert "assumption" in b.source_en and "假设" in b.source_zh
    from survey.codebook import Codebook

    assert set(b.shares) <= set(Codebook.load()["media_intent"].item_codes())
    rng = np.random.default_rng(3)
    lv_p = [0.4, 0.3, 0.2, 0.1]
    df = pl.DataFrame({f"media_intent__{k}": pl.Series(rng.choice(LV, 228, p=lv_p)).cast(pl.Enum(LV))
                       for k in b.shares}).with_columns(weight=pl.Series(np.ones(228)))
    r = mm.reallocate(mm.net_balance(df, bootstrap=200, seed=1))
    t = r.to_polars()
    assert t["item"].to_list() == list(b.shares)
    np.testing.assert_allclose(t["base_share"].to_numpy(), list(b.shares.values()))
    assert t["new_share"].sum() == pytest.approx(1.0)
    assert "assumption" in r.summary("en") and "假设" in r.summary("zh")
    with pytest.raises(ModelError):
        mm.load_base_shares({"mobile": -1.0})


# --------------------------------------------------------------------- base (issue #13)


@pytest.fixture(scope="module")
def d25():
    import survey
    from survey.weighting import standard_design

    return standard_design(survey.load_wave(2025))


def _answering(frame: pl.DataFrame, keep: pl.Expr, investors: bool = False) -> int:
    """Respondents in ``keep`` with at least one media_intent answer (not not_invest)."""
    cols = [c for c in frame.columns if c.startswith("media_intent__")]
    ok = [pl.col(c).is_not_null() & (pl.col(c).cast(pl.String) != "not_invest") if investors
          else pl.col(c).is_not_null() for c in cols]
    return frame.filter(keep & pl.any_horizontal(ok).fill_null(False)).height


def test_base_of_a_where_domain_in_both_languages(d25):
    keep = pl.col("industry").cast(pl.String).is_in(["beauty", "food_bev"])
    n = _answering(d25.frame, keep)
    nb = mm.net_balance(d25, bootstrap=20, where={"industry": ["美妆个护", "食品饮料"]})
    assert nb.base.n == n == d25.frame.filter(keep).height
    assert nb.base.text("zh") == f"基数：美妆个护+食品饮料，n = {n}"
    assert nb.base.text("en") == f"Base: Beauty & personal care + Food & beverage, n = {n}"
    assert nb.summary("zh").endswith(f"基数：美妆个护+食品饮料，n = {n}。")
    t = nb.to_polars()
    assert t["base_n"].unique().to_list() == [n]
    assert t["base_en"].unique().to_list() == [nb.base.text("en")]
    assert t.drop("base_n", "base_zh", "base_en").equals(nb.table)
    r = mm.reallocate(nb, {"mobile": 60, "outdoor": 25, "pc": 15})
    assert r.base == nb.base and r.base_shares.shares["mobile"] == pytest.approx(0.6)
    assert r.summary("en").endswith(f"Base: Beauty & personal care + Food & beverage, n = {n}.")
    assert r.to_polars()["base_zh"].unique().to_list() == [nb.base.text("zh")]
    same = mm.net_balance(d25, bootstrap=20, where="industry=beauty,food_bev")
    assert same.base == nb.base
    assert same.table["net_balance"].to_list() == nb.table["net_balance"].to_list()


def test_base_without_where_and_investors(d25):
    nb = mm.net_balance(d25, bootstrap=20)
    n = _answering(d25.frame, pl.lit(True))
    assert n == d25.frame.height
    assert (nb.base.text("zh"), nb.base.text("en")) == (f"基数：全体广告主，n = {n}",
                                                        f"Base: all advertisers, n = {n}")
    inv = mm.net_balance(d25, bootstrap=20, base="investors")
    assert inv.answers == "investors" and nb.answers == "all"
    assert inv.base.n == _answering(d25.frame, pl.lit(True), investors=True)
    ax = nb.plot(lang="zh")
    assert ax.get_title().endswith(f"基数：全体广告主，n = {n}")
    import matplotlib.pyplot as plt

    plt.close("all")


def test_base_of_a_frame_with_gaps_and_html_escaping():
    df = _frame(300, 4).with_columns(
        media_intent__mobile=pl.when(pl.int_range(pl.len()) < 10).then(None)
        .otherwise("media_intent__mobile"),
        media_intent__outdoor=pl.when(pl.int_range(pl.len()) < 5).then(None)
        .otherwise("media_intent__outdoor"),
        media_intent__pc=pl.when(pl.int_range(pl.len()) < 7).then(None)
        .otherwise("media_intent__pc"), seg=pl.int_range(pl.len()) % 3)
    expr = pl.col("seg") < 2
    nb = mm.net_balance(df, bootstrap=20, where=expr)
    n = _answering(df, expr)
    assert n == df.filter(expr).height - 4  # rows 0, 1, 3, 4 answer no channel (seg < 2)
    assert nb.base.text("en") == f"Base: {expr}, n = {n}"
    page = nb._repr_html_()
    assert html.escape(nb.base.text("zh")) in page and nb.base.text("zh") not in page
