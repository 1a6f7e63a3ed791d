"""Quantiles, ratios, variances, contrasts, regTermTest and svychisq Wald/adjWald/saddlepoint
against R (tests/oracle/make_golden_estimators.R): estimates 1e-9, SEs/CIs/statistics 1e-6."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import close, golden_rows

from survey.design import Design
from survey.design.contrast import Estimates, contrast
from survey.design.quantile import RULES
from survey.design.tests import imhof_sf, saddlepoint_sf
from survey.errors import EstimationError

ORACLE = Path(__file__).parent / "oracle"
sys.path.insert(0, str(ORACLE))
from make_fixtures import load_fixture  # noqa: E402

EST, SE = 1e-9, 1e-6
POP = {"seg2": {"f": 250, "m": 300}, "age4": {"a1": 130, "a2": 150, "a3": 150, "a4": 120},
       "x": 200.0}
DESIGNS = ["d0", "d1", "d2", "d2f", "c2"]


@cache
def fixture() -> pl.DataFrame:
    return load_fixture(ORACLE / "fixture.csv").with_columns(xp=pl.col("x") + 5)


@cache
def design(name: str) -> Design:
    f = fixture()
    return {"d0": lambda: Design(f), "d1": lambda: Design(f, weights="w"),
            "d2": lambda: Design(f, weights="w", ids="psu", strata="stratum"),
            "d2f": lambda: Design(f, weights="w", ids="psu", strata="stratum", fpc="fpc"),
            "c2": lambda: design("d2").calibrate(POP, "raking", tol=1e-13, max_iter=200),
            }[name]()




def _g(name: str, stat: str) -> pl.DataFrame:
    return golden_rows("golden_estimators.csv", name, stat)




@pytest.mark.parametrize("name", DESIGNS)
@pytest.mark.parametrize("interval", ["mean", "beta", "xlogit", "asin"])
def test_quantile(name, interval):
    g = _g(name, f"quantile_{interval}")
    got = design(name).quantile("spend", [0.1, 0.25, 0.5, 0.9], interval=interval)
    close(got["quantile"], g["group"].cast(pl.Float64), 0)
    close(got["estimate"], g["estimate"], EST)
    for c in ("se", "ci_low", "ci_high"):
        close(got[c], g[c], SE)


@pytest.mark.parametrize("name", DESIGNS)
def test_quantile_level_and_by(name):
    g = _g(name, "quantile_mean_90")
    got = design(name).quantile("x", [0.5], level=0.9)
    for c in ("estimate", "se", "ci_low", "ci_high"):
        close(got[c], g[c], SE)
    g = _g(name, "by_quantile")
    got = design(name).by("seg2").quantile("spend", [0.5, 0.75]).with_columns(
        group=pl.format("seg2={};p={}", pl.col("seg2").cast(pl.String), pl.col("quantile")))
    m = got.join(g, on="group", suffix="_r")
    assert m.height == 4
    for c in ("estimate", "se", "ci_low", "ci_high"):
        close(m[c], m[c + "_r"], SE)


@pytest.mark.parametrize("rule", RULES)
def test_quantile_rules(rule):
    g = _g("d2", f"qrule_{rule}")
    d = design("d2")
    got = d.quantile("spend", [0.1, 0.5, 0.75], rule=rule, interval="mean")
    close(got["estimate"], g.filter(pl.col("var") == "spend")["estimate"], EST)
    q4 = d.with_columns(q4n=pl.col("q4").cast(pl.Float64))
    got = q4.quantile("q4n", [0.3, 0.5], rule=rule)
    close(got["estimate"], g.filter(pl.col("var") == "q4")["estimate"], EST)


@pytest.mark.parametrize("name", DESIGNS)
def test_ratio(name):
    d = design(name)
    for num in ("spend", "q1"):
        g = _g(name, "ratio").filter(pl.col("var") == f"{num}/xp")
        got = d.ratio(num, "xp")
        close(got["estimate"], g["estimate"], EST)
        close(got["se"], g["se"], SE)
    g = _g(name, "by_ratio")
    got = d.by("seg6").ratio("spend", "xp").with_columns(
        group="seg6=" + pl.col("seg6").cast(pl.String))
    m = got.join(g, on="group", suffix="_r")
    assert m.height == 6 and set(m["denominator"]) == {"xp"}
    close(m["estimate"], m["estimate_r"], EST)
    close(m["se"], m["se_r"], SE)


@pytest.mark.parametrize("name", DESIGNS)
def test_var(name):
    d = design(name)
    g = _g(name, "var")
    got = d.var("x")
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    g = _g(name, "covar")
    got = d.with_columns(q1n=pl.col("q1").cast(pl.Float64)).var(["x", "q1n", "xp"],
                                                                covariance=True)
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    g = _g(name, "by_var")
    got = d.by("seg2").var("x")
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)


@pytest.mark.parametrize("name", DESIGNS)
def test_contrasts(name):
    d = design(name)
    g = _g(name, "contrast_domains")
    if g.height:
        e = d.by("seg2").estimates("mean", "x")
        got = contrast(e, {"seg2=m:x": 1, "seg2=f:x": -1})
        close(got["estimate"], g.filter(pl.col("var") == "x")["estimate"], EST)
        close(got["se"], g.filter(pl.col("var") == "x")["se"], SE)
        e = d.by("seg6").estimates("mean", "q1")
        got = contrast(e, {"avg": [1 / 6] * 6, "s1_s6": {"seg6=s1:q1": 1, "seg6=s6:q1": -1}})
        gq = g.filter(pl.col("var") == "q1")
        close(got["estimate"], gq["estimate"], EST)
        close(got["se"], gq["se"], SE)
    e = d.estimates("mean", ["q1", "q2", "q3"])
    g = _g(name, "contrast_vars")
    got = contrast(e, {"d12": {"q1": 1, "q2": -1}, "s": [1, 1, 1]})
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    g = _g(name, "contrast_nonlinear")
    got = contrast(e, lambda v: v["q1"] / v["q2"])
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    wave2 = Design(fixture(), weights=(1 + fixture()["q2"].cast(pl.Float64)).to_list())
    both = d.estimates("mean", "x").join(wave2.estimates("mean", "x"), ("w1:", "w2:"))
    got = contrast(both, {"w2:x": 1, "w1:x": -1})
    g = _g(name, "contrast_editions")
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)


TERMS = {"brand": "brand", "x": "x", "seg2+brand": "seg2 + brand"}


@pytest.mark.parametrize("name", DESIGNS)
def test_reg_term_test(name):
    d = design(name)
    fit = d.glm("spend ~ x + q1 + seg2 + brand")
    for r_terms, terms in TERMS.items():
        g = _g(name, "regtermtest_F").filter(pl.col("var") == "gaussian",
                                             pl.col("group") == r_terms)
        gdf = _g(name, "regtermtest_df").filter(pl.col("var") == "gaussian",
                                                pl.col("group") == r_terms)
        t = fit.term_test(terms)
        close(t.statistic, g["estimate"], SE)
        close(t.p_value, g["extra"], SE)
        assert (t.df, t.ddf) == (gdf["estimate"][0], gdf["extra"][0])
        g = _g(name, "regtermtest_Chisq").filter(pl.col("group") == r_terms)
        t = fit.term_test(terms, df=float("inf"))
        close(t.statistic, g["estimate"], SE)
        close(t.p_value, g["extra"], SE)
    g = _g(name, "contrast_glm")
    got = Estimates.of(fit).contrast({"b23": {"brand[T.b2]": 1, "brand[T.b3]": -1},
                                      "x2": {"x": 2}})
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    fit = d.glm("q1 ~ x + seg2 + brand", family="binomial")
    g = _g(name, "regtermtest_F").filter(pl.col("var") == "binomial")
    t = fit.term_test("~brand")
    close(t.statistic, g["estimate"], 1e-7)
    close(t.p_value, g["extra"], 1e-7)


@pytest.mark.parametrize("name", DESIGNS)
@pytest.mark.parametrize("statistic", ["Wald", "adjWald", "saddlepoint"])
def test_chisq(name, statistic):
    for row, col in (("brand", "seg6"), ("seg2", "q1")):
        g = _g(name, f"chisq_{statistic}").filter(pl.col("var") == f"{row}+{col}")
        r = design(name).chisq(row, col, statistic)
        close(r.statistic, g["estimate"], SE)
        # R repeats the denominator's chi-square int(d0 * nu) times; with equal weights
        # d0 * nu is an integer that R's rounding puts just below (one copy less)
        close(r.p_value, g["extra"], 1e-3 if statistic == "saddlepoint" and name == "d0"
              else SE)
        if statistic != "saddlepoint":
            close([r.ndf, r.ddf], [g["ci_low"][0], g["ci_high"][0]], SE)


def test_lincom_is_the_exact_distribution():
    # equal eigenvalues: a scaled F (chi-squared) distribution, known exactly
    lam = np.full(3, 1.7)
    from scipy import stats
    assert abs(imhof_sf(9.0, lam) - stats.chi2.sf(9.0 / 1.7, 3)) < 1e-7
    assert abs(imhof_sf(9.0, lam, 40.0) - stats.f.sf(9.0 / 1.7 / 3, 3, 40)) < 1e-7
    lam = np.array([2.5, 1.0, 0.4])  # saddlepoint is an approximation of the same tail
    assert abs(imhof_sf(7.0, lam, 60.0) - saddlepoint_sf(7.0, lam, 60.0)) < 5e-3
    r = design("d2").chisq("brand", "seg6", "lincom")
    s = design("d2").chisq("brand", "seg6", "saddlepoint")
    assert r.statistic == s.statistic and abs(r.p_value - s.p_value) < 5e-3


def test_numerically_hard_cases():
    f = fixture().with_columns(big=pl.col("x") + 1e8, const=pl.lit(3.0), x2=pl.col("x") * 2.5)
    for name in ("d1", "d2", "c2"):
        d = Design(f, weights="w", ids="psu", strata="stratum") if name == "d2" else (
            Design(f, weights="w") if name == "d1" else
            Design(f, weights="w", ids="psu", strata="stratum").calibrate(POP))
        v, vb = d.var("x"), d.var("big")
        close(vb["estimate"], v["estimate"], 1e-6)  # shifting by 1e8 keeps the variance
        close(vb["se"], v["se"], 1e-5)
        assert d.var("const")["estimate"][0] == 0 and d.var("const")["se"][0] == 0
        r = d.ratio("x2", "x")  # an exact ratio has zero variance
        close(r["estimate"], [2.5], 1e-12)
        assert r["se"][0] < 1e-12
        q = d.quantile("const", [0.5])
        assert q["estimate"][0] == 3.0 and q["se"][0] == 0
        if name == "c2":
            with pytest.warns(UserWarning, match="not re-calibrated"):
                rep = d.replicates("JKn")
        else:
            rep = d.replicates("JKn" if name == "d2" else "JK1")
        close(rep.var("big")["estimate"], v["estimate"], 1e-6)
        m, mb = rep.mean("x"), rep.mean("big")
        close(mb["estimate"] - 1e8, m["estimate"], 1e-6)
        close(mb["se"], m["se"], 1e-6)


def test_subset_estimators_are_domains():
    d = design("d2")
    sub = d.subset(pl.col("seg2") == "m")
    by = d.by("seg2").ratio("spend", "xp").filter(pl.col("seg2") == "m")
    got = sub.ratio("spend", "xp")
    close(got["estimate"], by["estimate"], 1e-12)
    close(got["se"], by["se"], 1e-10)
    qb = d.by("seg2").quantile("spend", [0.5]).filter(pl.col("seg2") == "m")
    close(sub.quantile("spend", [0.5])["se"], qb["se"], 1e-10)


def test_term_test_of_ordinal_and_single_terms():
    d = design("d2")
    fit = d.glm("brand ~ x + q1 + seg2", family="ordinal")
    t = fit.term_test("x")
    z = float(fit.params["x"] / fit.se["x"])
    close(t.statistic, z * z, 1e-12)
    assert (t.df, t.ddf) == (1, fit.df_resid)
    both = fit.term_test(["x", "seg2"])
    assert both.df == 2 and both.terms == ("x", "seg2")
    with pytest.raises(Exception, match="not in the model"):
        fit.term_test("age4")


# -- issue #14: score quantiles, svyvar with missing values, lincom p-value methods
# (tests/oracle/make_golden_estimators2.R -> golden_estimators2.csv)
DESIGNS2 = [*DESIGNS, "dc"]


def _design2(name: str) -> Design:
    return Design(fixture(), weights="w", ids="psu") if name == "dc" else design(name)


def _g2(name: str, stat: str, var: str | None = None) -> pl.DataFrame:
    g = golden_rows("golden_estimators2.csv", name, stat)
    return g if var is None else g.filter(pl.col("var") == var)


def _same(got: pl.DataFrame, g: pl.DataFrame, cols=("se", "ci_low", "ci_high")) -> None:
    close(got["estimate"], g["estimate"], EST)
    for c in cols:
        close(got[c], g[c], SE)


@pytest.mark.parametrize("name", DESIGNS2)
def test_quantile_score(name):
    d = _design2(name)
    for v in ("spend", "x"):  # spend has missing values (na.rm = TRUE)
        got = d.quantile(v, [0.1, 0.25, 0.5, 0.9], interval="score")
        g = _g2(name, "quantile_score", v)
        close(got["quantile"], g["group"].cast(pl.Float64), 0)
        _same(got, g)
    _same(d.quantile("spend", [0.5], interval="score", level=0.9),
          _g2(name, "quantile_score_90"))
    _same(d.quantile("spend", [0.3, 0.7], interval="score", rule="school"),
          _g2(name, "quantile_score_school"))
    got = d.by("seg2").quantile("spend", [0.5, 0.75], interval="score")
    g = _g2(name, "by_quantile_score")  # R: domains vary fastest
    _same(got.sort("quantile", "seg2"), g)
    assert [f"seg2={s};p={p:g}" for p, s in got.sort("quantile", "seg2")
            .select("quantile", "seg2").iter_rows()] == g["group"].to_list()


@pytest.mark.parametrize("name", DESIGNS2)
def test_var_with_missing_values(name):
    d = _design2(name)
    _same(d.var("spend"), _g2(name, "var_na"), ("se",))
    got = d.var(["spend", "x", "q1"], covariance=True)
    g = _g2(name, "covar_na")
    assert [f"{b}:{a}" for a, b in got.select("variable", "variable2").iter_rows()] \
        == g["group"].to_list()  # R's column-major order; the matrix is symmetric
    _same(got, g, ("se",))
    got = d.by("seg6").var("spend")
    _same(got, _g2(name, "by_var_na"), ("se",))
    # R's n/(n-1) counts the domain's respondents before the missing rows are left out
    f = fixture().filter(pl.col("spend").is_not_null())
    assert not np.isclose(Design(f, weights="w").var("spend")["estimate"][0],
                          _design2("d1").var("spend")["estimate"][0], rtol=1e-6)


@pytest.mark.parametrize("name", DESIGNS2)
def test_lincom_methods(name):
    from survey.design.tests import svychisq

    d = _design2(name)
    for method in ("saddlepoint", "satterthwaite"):
        g = _g2(name, f"lincom_{method}")
        for (row, col), stat, p in zip((("brand", "seg6"), ("seg2", "q1")), g["estimate"],
                                       g["extra"], strict=True):
            r = svychisq(d, row, col, "lincom", method=method)
            close(r.statistic, stat, SE)
            # d0: R's rep(., d0 * nu) truncation of an integer-valued ddf (see test_chisq)
            close(r.p_value, p, 1e-3 if method == "saddlepoint" and name == "d0" and
                  row == "brand" else SE)
    # R's lincom without CompQuadForm is its saddlepoint fallback (golden_estimators.csv)
    if name != "dc":
        g = _g(name, "chisq_lincom").filter(pl.col("var") == "seg2+q1")
        close(svychisq(d, "seg2", "q1", "lincom", method="saddlepoint").p_value, g["extra"], SE)
    f = svychisq(d, "brand", "seg6", "F")
    assert svychisq(d, "brand", "seg6", "lincom", method="satterthwaite").p_value \
        == pytest.approx(f.p_value, rel=1e-12)
    with pytest.raises(EstimationError, match="method='davies'"):
        svychisq(d, "brand", "seg6", "lincom", method="davies")


def test_design_chisq_passes_the_lincom_method():
    from survey.design.tests import svychisq

    d = design("d2")
    for method in ("saddlepoint", "satterthwaite"):
        got = d.chisq("brand", "seg6", "lincom", method=method)
        want = svychisq(d, "brand", "seg6", "lincom", method=method)
        assert got.p_value == want.p_value
    assert d.chisq("brand", "seg6", "lincom", method="saddlepoint").p_value != \
        d.chisq("brand", "seg6", "lincom").p_value
