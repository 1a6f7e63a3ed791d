"""Replicate-weight designs against R's as.svrepdesign / svrepdesign
(tests/oracle/make_golden_estimators.R): JK1, JKn (with fpc), bootstrap, BRR and Fay (R fed
the very replicates survey.design draws, tests/oracle/fixture_replicates.csv), mse, agency
columns, calibrated and post-stratified replicates. Estimates 1e-9, SEs/CIs 1e-6."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import close, golden_rows

from survey.design import Design
from survey.design import _repweights as RW
from survey.design.contrast import contrast
from survey.design.replicate import ReplicateDesign
from survey.errors import EstimationError

ORACLE = Path(__file__).parent / "oracle"
sys.path.insert(0, str(ORACLE))
from make_fixture_replicates import FAY_RHO, N_BOOT, SEED, multipliers  # noqa: E402
from make_fixtures import load_fixture  # noqa: E402

EST, SE = 1e-9, 1e-6
POP = {"seg2": {"f": 250, "m": 300}, "age4": {"a1": 130, "a2": 150, "a3": 150, "a4": 120},
       "x": 200.0}
AGE = {"a1": 130, "a2": 150, "a3": 150, "a4": 120}


@cache
def fixture() -> pl.DataFrame:
    rep = pl.read_csv(ORACLE / "fixture_replicates.csv")
    f = load_fixture(ORACLE / "fixture.csv").with_columns(xp=pl.col("x") + 5)
    return f.join(rep, on="id", how="left")


@cache
def design(name: str):
    f = fixture()
    d1 = Design(f, weights="w")
    dc = Design(f, weights="w", ids="psu")
    d2 = Design(f, weights="w", ids="psu", strata="stratum")
    d2f = Design(f, weights="w", ids="psu", strata="stratum", fpc="fpc")
    boot = [c for c in f.columns if c.startswith("boot_")]
    ppsu = 10.0
    jk = dc.replicates("JK1")
    jkn = d2.replicates("JKn")
    agency = f.with_columns(**{f"rw{k + 1}": jk.repweights[:, k] for k in range(40)})
    return {
        "jk1": lambda: d1.replicates("JK1"),
        "jk1c": lambda: dc.replicates("JK1"),
        "jkn": lambda: d2.replicates("JKn"),
        "jknf": lambda: d2f.replicates("JKn"),
        "boot": lambda: ReplicateDesign(f, "w", boot, "bootstrap", combined_weights=False,
                                        scale=ppsu / ((ppsu - 1) * (len(boot) - 1))),
        "brr": lambda: ReplicateDesign(f, "w", "^brr_", "BRR", combined_weights=False),
        "fay": lambda: ReplicateDesign(f, "w", "^fay_", "Fay", rho=FAY_RHO,
                                       combined_weights=False),
        "jkn_mse": lambda: d2.replicates("JKn", mse=True),
        "boot_mse": lambda: design("boot").with_mse(),
        "agency": lambda: ReplicateDesign(agency, "w", r"^rw\d+$", "JK1", scale=jk.scale),
        "agency_other": lambda: ReplicateDesign(agency, "w", [f"rw{k + 1}" for k in range(40)],
                                                "other", scale=0.5,
                                                rscales=np.linspace(0.5, 1.5, 40)),
        "agency_jkn_fpc": lambda: ReplicateDesign(
            f.with_columns(**{f"jk{k}": jkn.repweights[:, k] for k in range(40)}), "w", "^jk",
            "JKn", rscales=jkn.rscales, fpc=[0.1] * 40),
        "cal_jkn": lambda: d2.replicates("JKn").calibrate(POP, "raking", tol=1e-13,
                                                          max_iter=200),
        "ps_jkn": lambda: d2.replicates("JKn").post_stratify("age4", AGE),
    }[name]()


DESIGNS = ["jk1", "jk1c", "jkn", "jknf", "boot", "brr", "fay", "jkn_mse", "boot_mse",
           "agency", "agency_other", "agency_jkn_fpc", "cal_jkn", "ps_jkn"]




def _g(name: str, stat: str) -> pl.DataFrame:
    return golden_rows("golden_estimators_replicate.csv", name, stat)




def test_fixture_replicates_are_ours():
    """The committed replicates are what the seeded generators draw (R got these)."""
    f = pl.read_csv(ORACLE / "fixture.csv", null_values="NA")
    got = multipliers(f)
    want = pl.read_csv(ORACLE / "fixture_replicates.csv")
    assert got.columns == want.columns
    close(got.drop("id").to_numpy(), want.drop("id").to_numpy(), 1e-15)
    assert SEED and N_BOOT == 50


@pytest.mark.parametrize("name", DESIGNS)
def test_degf_scale(name):
    d = design(name)
    assert d.degf == _g(name, "degf")["estimate"][0]
    close(d.scale, _g(name, "scale")["estimate"], 1e-12)


@pytest.mark.parametrize("name", DESIGNS)
def test_mean_total(name):
    d = design(name)
    for v in ("spend", "x", "q1"):
        g = _g(name, "mean").filter(pl.col("var") == v)
        got = d.mean(v)
        close(got["estimate"], g["estimate"], EST)
        close(got["se"], g["se"], SE)
        close(got["deff"], g["extra"], SE)
        g = _g(name, "total").filter(pl.col("var") == v)
        got = d.total(v)
        close(got["estimate"], g["estimate"], EST)
        close(got["se"], g["se"], SE, atol=1e-9 * abs(g["estimate"][0]))


@pytest.mark.parametrize("name", DESIGNS)
def test_proportion(name):
    d = design(name)
    g = _g(name, "proportion")
    got = d.proportion("brand")
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    for me, ours in (("logit", "logit"), ("mean", "wald"), ("asin", "asin"),
                     ("xlogit", "xlogit"), ("beta", "beta")):
        g = _g(name, f"ciprop_{me}")
        got = d.proportion(["q1"], ci=ours)
        # R's logit estimate is expit(coef(svyglm)) from IRLS with epsilon = 1e-8
        close(got["estimate"], g["estimate"], 1e-7 if me == "logit" else EST)
        close(got["se"], g["se"], SE)
        close(got.select("ci_low", "ci_high").row(0), g.select("ci_low", "ci_high").row(0), SE)


@pytest.mark.parametrize("name", DESIGNS)
def test_by_proportion(name):
    """svyby(~q1, ~seg2, d, svyciprop): each domain's interval on its own degf."""
    for me in ("logit", "beta"):
        g = _g(name, f"by_ciprop_{me}")
        got = design(name).by("seg2").proportion(["q1"], ci=me).with_columns(
            group="seg2=" + pl.col("seg2").cast(pl.String))
        m = got.join(g, on="group", suffix="_r")
        assert m.height == 2
        close(m["estimate"], m["estimate_r"], 1e-7 if me == "logit" else EST)
        for c in ("se", "ci_low", "ci_high"):
            close(m[c], m[c + "_r"], SE)


@pytest.mark.parametrize("name", DESIGNS)
def test_by(name):
    d = design(name)
    g = _g(name, "by_mean")
    got = d.by("seg6").mean("spend").with_columns(group="seg6=" + pl.col("seg6").cast(pl.String))
    m = got.join(g, on="group", suffix="_r")
    assert m.height == 6
    close(m["estimate"], m["estimate_r"], EST)
    close(m["se"], m["se_r"], SE)
    g = _g(name, "by_total")
    got = d.by("seg2").total("x").with_columns(group="seg2=" + pl.col("seg2").cast(pl.String))
    m = got.join(g, on="group", suffix="_r")
    close(m["estimate"], m["estimate_r"], EST)
    close(m["se"], m["se_r"], SE)


@pytest.mark.parametrize("name", DESIGNS)
@pytest.mark.parametrize("interval", ["mean", "quantile"])
def test_quantile(name, interval):
    g = _g(name, f"quantile_{interval}")
    got = design(name).quantile("spend", [0.25, 0.5], interval=interval)
    close(got["estimate"], g["estimate"], EST)
    for c in ("se", "ci_low", "ci_high"):
        close(got[c], g[c], SE)


@pytest.mark.parametrize("name", DESIGNS)
def test_ratio_var_contrast(name):
    d = design(name)
    g = _g(name, "ratio")
    got = d.ratio("spend", "xp")
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    g = _g(name, "by_ratio")
    got = d.by("seg2").ratio("spend", "xp")
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    g = _g(name, "var")
    got = d.var("x")
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    g = _g(name, "contrast_domains")
    got = contrast(d.by("seg2").estimates("mean", "x"), {"seg2=m:x": 1, "seg2=f:x": -1})
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    g = _g(name, "contrast_nonlinear")
    got = contrast(d.estimates("mean", ["q1", "q2"]), lambda v: v["q1"] / v["q2"])
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)


@pytest.mark.parametrize("name", DESIGNS)
def test_glm_and_tests(name):
    d = design(name)
    fit = d.glm("spend ~ x + q1 + seg2")
    g = _g(name, "glm_gaussian")
    names = ["Intercept", "x", "q1", "seg2[T.m]"]
    close(fit.params[names].to_numpy(), g["estimate"], EST)
    close(fit.se[names].to_numpy(), g["se"], SE)
    assert fit.df_resid == g["extra"][0]
    g = _g(name, "regtermtest_F")
    t = fit.term_test("seg2 + q1")
    close([t.statistic, t.p_value], [g["estimate"][0], g["extra"][0]], SE)
    fit = d.glm("q1 ~ x + seg2", family="binomial")
    g = _g(name, "glm_binomial")
    names = ["Intercept", "x", "seg2[T.m]"]
    close(fit.params[names].to_numpy(), g["estimate"], 1e-8)
    close(fit.se[names].to_numpy(), g["se"], SE)
    for st in ("F", "adjWald"):
        g = _g(name, f"chisq_{st}")
        r = d.chisq("seg2", "brand", st)
        close([r.statistic, r.ndf, r.ddf, r.p_value],
              [g["estimate"][0], g["ci_low"][0], g["ci_high"][0], g["extra"][0]], SE)


def test_errors():
    f = fixture()
    with pytest.raises(EstimationError, match="JKn"):
        Design(f, weights="w", ids="psu", strata="stratum").replicates("JK1")
    with pytest.raises(EstimationError, match="rho"):
        ReplicateDesign(f, "w", "^fay_", "Fay")
    with pytest.raises(EstimationError, match="rscales"):
        ReplicateDesign(f, "w", "^boot_", "JKn")
    with pytest.raises(EstimationError, match="no column matches"):
        ReplicateDesign(f, "w", "^nothing_", "JK1")
    with pytest.raises(EstimationError, match="likelihood"):
        design("jkn").proportion(["q1"], ci="likelihood")
    with pytest.raises(EstimationError, match="replicate"):
        Design(f).quantile("x", interval="quantile")


@pytest.mark.parametrize(("kind", "rho"), [("BRR", 0.0), ("Fay", 0.3)])
def test_half_samples_equal_rs_for_linear_statistics(kind, rho):
    """Our Hadamard matrices are not R's, but totals (linear) do not depend on the matrix
    when it is fully balanced: R's as.svrepdesign(type = "BRR"/"Fay") gives the same SEs."""
    d = Design(fixture(), weights="w", ids="psu", strata="stratum").replicates(kind, rho=rho)
    name = f"{kind.lower()}_r"
    for v in ("x", "q1"):
        g = _g(name, "total").filter(pl.col("var") == v)
        got = d.total(v)
        close(got["estimate"], g["estimate"], EST)
        close(got["se"], g["se"], SE)
    g = _g(name, "by_total")
    got = d.by("seg2").total("x")
    close(got["se"], g["se"], SE)
    w = d.repweights / d.weights[:, None]
    assert set(np.unique(w.round(12))) == {round(rho, 12), round(2 - rho, 12)}
    assert d.repweights.shape[1] == 24  # 20 pairs: the smallest Hadamard order above 20


def test_subset_is_a_domain():
    d = design("jkn")
    sub = d.subset(pl.col("seg2") == "m")
    by = d.by("seg2").mean("spend").filter(pl.col("seg2") == "m")
    got = sub.mean("spend")
    close(got["estimate"], by["estimate"], 1e-12)
    close(got["se"], by["se"], 1e-10)
    assert sub.n == int((fixture()["seg2"] == "m").sum())
    with pytest.raises(EstimationError, match="no respondents"):
        d.subset(pl.col("x") > 1e9)
    with pytest.raises(EstimationError, match="rscales has"):
        ReplicateDesign(fixture(), "w", "^boot_", "other", rscales=[1.0, 2.0])
    with pytest.raises(EstimationError, match="fpc"):
        ReplicateDesign(fixture(), "w", "^brr_", "BRR", combined_weights=False, fpc=[0.1] * 24)


def test_replicates_of_a_raked_design_warn():
    d = Design(fixture(), weights="w").rake({"seg2": {"f": 0.5, "m": 0.5}})
    with pytest.warns(UserWarning, match="not re-calibrated"):
        r = d.replicates("JK1")
    close(r.weights, d.weights, 0)


@pytest.mark.parametrize("rule", ["remove", "certainty", "average", "adjust"])
def test_lonely_psu_jackknife(rule):
    """A stratum of one PSU under R's survey.lonely.psu rules (R's jknweights)."""
    f = fixture().with_columns(st_l=pl.when(pl.col("psu") == 101).then(5)
                               .otherwise(pl.col("stratum")))
    d = Design(f, weights="w", ids="psu", strata="st_l", lonely_psu=rule).replicates("JKn")
    for v in ("x", "q1"):
        g = _g(f"lonely_{rule}", "mean").filter(pl.col("var") == v)
        got = d.mean(v)
        close(got["estimate"], g["estimate"], EST)
        close(got["se"], g["se"], SE)
        assert d.degf == g["extra"][0]
    with pytest.raises(EstimationError, match="expected an even number"):
        Design(f, weights="w", ids="psu", strata="st_l", lonely_psu=rule).replicates("BRR")
    with pytest.raises(EstimationError, match="one PSU"):  # R's default "fail"
        RW.jkn(np.array([0, 0, 1]), np.array([0, 1, 2]), np.ones(2), "fail")


def test_replicates_without_the_domain_are_left_out():
    """A jackknife replicate that deletes a domain's only PSU has no value: R discards it
    (with a warning) and so do we."""
    f = pl.DataFrame({"g": ["a"] * 3 + ["b"] * 9, "psu": [0, 0, 0, *range(1, 10)],
                      "y": np.arange(12.0)})
    d = Design(f, ids="psu").replicates("JK1")
    with pytest.warns(UserWarning, match="1 replicates gave no value"):
        got = d.by("g").mean("y")
    close(got["estimate"], [1.0, 7.0], 1e-12)
    close(got["se"], [0.0, 0.9185587], 1e-7)  # R: svyby(~y, ~g, d, svymean)


# -- issue #14 (tests/oracle/make_golden_estimators2.R -> golden_estimators2.csv)
DESIGNS2 = ["jk1", "jk1c", "jkn", "jknf", "boot", "brr", "fay", "jkn_mse", "agency", "cal_jkn",
            "ps_jkn"]
OPTIONS = ["ms__a", "ms__b", "ms__c"]


def _g2(name: str, stat: str) -> pl.DataFrame:
    return golden_rows("golden_estimators2.csv", name, stat)


@pytest.mark.parametrize("name", DESIGNS2)
def test_proportion_of_responses(name):
    d = design(name)
    got, g = d.proportion(OPTIONS, base="responses"), _g2(name, "responses")
    assert got["variable"].to_list() == g["group"].to_list()
    close(got["estimate"], g["estimate"], EST)  # R: svyratio(~a + b + c, ~n_chosen)
    close(got["se"], g["se"], SE)
    close(got["estimate"].sum(), 1.0, 1e-12)
    assert got["deff"].is_nan().all() and (got["ci_low"] < got["estimate"]).all()
    got = d.by("seg2").proportion(OPTIONS, base="responses").sort("variable", "seg2")
    g = _g2(name, "by_responses")
    assert [f"seg2={s};{v}" for s, v in got.select("seg2", "variable").iter_rows()] \
        == g["group"].to_list()
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    cases = d.proportion(OPTIONS)  # shares of respondents differ from shares of responses
    assert not np.allclose(cases["estimate"], d.proportion(OPTIONS, base="responses")
                           ["estimate"])


def test_proportion_of_responses_errors():
    d = design("jk1")
    with pytest.raises(EstimationError, match="base='all'"):
        d.proportion(OPTIONS, base="all")
    with pytest.raises(EstimationError, match="multi-select"):
        d.proportion("brand", base="responses")
    with pytest.raises(EstimationError, match="interval='score'"):
        d.quantile("spend", [0.5], interval="score")


@pytest.mark.parametrize("name", DESIGNS2)
def test_var_with_missing_values(name):
    d = design(name)
    for stat, got in (("var_na", d.var("spend")),
                      ("covar_na", d.var(["spend", "x", "q1"], covariance=True)),
                      ("by_var_na", d.by("seg2").var("spend"))):
        g = _g2(name, stat)
        close(got["estimate"], g["estimate"], EST)
        close(got["se"], g["se"], SE)


@pytest.mark.parametrize("name", DESIGNS2)
def test_lincom_methods(name):
    d = design(name)
    for method in ("saddlepoint", "satterthwaite"):
        g = _g2(name, f"lincom_{method}")
        for (row, col), stat, p in zip((("brand", "seg6"), ("seg2", "q1")), g["estimate"],
                                       g["extra"], strict=True):
            r = d.chisq(row, col, "lincom", method=method)
            close(r.statistic, stat, SE)
            close(r.p_value, p, SE)


def test_replicate_n_eff_is_kish_of_the_respondents():
    """The same effective n as Design.mean: Kish's over the domain's valid respondents."""
    rng = np.random.default_rng(4)
    n = 120
    y = rng.normal(5, 1, n)
    y[rng.random(n) < 0.25] = np.nan
    f = pl.DataFrame({"h": np.repeat(np.arange(6), 20), "g": rng.choice(["a", "b"], n),
                      "w": np.exp(rng.normal(0, 0.4, n)), "y": y})
    d = Design(f, weights="w", strata="h")
    got = d.replicates("JKn").by("g").mean("y").sort("g")
    want = d.by("g").mean("y").sort("g")
    np.testing.assert_allclose(got["n_eff"], want["n_eff"], rtol=1e-12)
    sub = f.filter((pl.col("g") == "a") & pl.col("y").is_not_nan())["w"].to_numpy()
    assert got["n_eff"][0] == pytest.approx(sub.sum() ** 2 / (sub**2).sum(), rel=1e-12)
