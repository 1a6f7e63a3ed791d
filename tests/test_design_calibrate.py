"""Design.calibrate / post_stratify against R's calibrate() / postStratify()
(tests/oracle/make_golden_estimators.R): weights and estimates to 1e-9, SEs to 1e-6."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import close, golden_rows

from survey.design import Design
from survey.errors import WeightingError

ORACLE = Path(__file__).parent / "oracle"
sys.path.insert(0, str(ORACLE))
from make_fixtures import load_fixture  # noqa: E402

EST, SE = 1e-9, 1e-6
POP = {"seg2": {"f": 250, "m": 300}, "age4": {"a1": 130, "a2": 150, "a3": 150, "a4": 120},
       "x": 200.0}
POP_BIG = {"seg2": {"f": 4800, "m": 5200}, "age4": {"a1": 2500, "a2": 2500, "a3": 2600,
                                                    "a4": 2400}, "x": 4000.0}
AGE = {"a1": 130, "a2": 150, "a3": 150, "a4": 120}
CROSS = {("f", "a1"): 70, ("m", "a1"): 60, ("f", "a2"): 70, ("m", "a2"): 80,
         ("f", "a3"): 60, ("m", "a3"): 90, ("f", "a4"): 50, ("m", "a4"): 70}
BOUNDS = (0.9, 1.15)


@cache
def fixture() -> pl.DataFrame:
    return load_fixture(ORACLE / "fixture.csv")


@cache
def base(name: str) -> Design:
    f = fixture()
    return {"d0": lambda: Design(f), "d1": lambda: Design(f, weights="w"),
            "d2": lambda: Design(f, weights="w", ids="psu", strata="stratum"),
            "d2f": lambda: Design(f, weights="w", ids="psu", strata="stratum", fpc="fpc")}[name]()


@cache
def design(name: str) -> Design:
    b, _, kind = name.partition("_")
    d = base(b)
    tol = {"tol": 1e-13, "max_iter": 200}
    return {"linear": lambda: d.calibrate(POP),
            "linear_b": lambda: d.calibrate(POP, "linear", BOUNDS, **tol),
            "raking": lambda: d.calibrate(POP, "raking", **tol),
            "raking_b": lambda: d.calibrate(POP, "raking", BOUNDS, **tol),
            "logit": lambda: d.calibrate(POP, "logit", BOUNDS, **tol),
            "raking_trim": lambda: d.calibrate(POP, "raking", trim=(0.92, 1.12), **tol),
            "ps": lambda: d.post_stratify("age4", AGE),
            "ps2": lambda: d.post_stratify(["seg2", "age4"], CROSS),
            "raking_big": lambda: d.calibrate(POP_BIG, "raking", **tol)}[kind]()




DESIGNS = [f"{b}_{k}" for b in ("d1", "d2", "d2f")
           for k in ("linear", "linear_b", "raking", "raking_b", "logit", "raking_trim", "ps",
                     "ps2")]
DESIGNS.append("d0_raking_big")


def _g(name: str, stat: str) -> pl.DataFrame:
    return golden_rows("golden_estimators_calibrate.csv", name, stat)




@pytest.mark.parametrize("name", DESIGNS)
def test_weights(name):
    want = pl.read_csv(ORACLE / "golden_estimators_calibrate_weights.csv")[name]
    close(design(name).weights, want, EST)


@pytest.mark.parametrize("name", DESIGNS)
@pytest.mark.parametrize("stat", ["mean", "total"])
def test_mean_total(name, stat):
    g = _g(name, stat)
    d = design(name)
    fn = d.mean if stat == "mean" else d.total
    got = pl.concat([fn(v) for v in ("spend", "x", "q1")])  # one at a time, as R's golden
    m = got.join(g, left_on="variable", right_on="var", suffix="_r")
    assert m.height == 3
    close(m["estimate"], m["estimate_r"], EST)
    # a calibration variable has zero variance (R: ~1e-13 rounding), allow rounding
    for se, se_r, est in m.select("se", "se_r", "estimate_r").rows():
        close(se, se_r, SE, atol=abs(est) * 1e-8)


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
    got = d.by("seg2").total("q1").with_columns(group="seg2=" + pl.col("seg2").cast(pl.String))
    m = got.join(g, on="group", suffix="_r")
    assert m.height == 2
    close(m["estimate"], m["estimate_r"], EST)
    close(m["se"], m["se_r"], SE)


@pytest.mark.parametrize("name", DESIGNS)
def test_proportion_and_glm(name):
    d = design(name)
    g = _g(name, "proportion")
    got = d.proportion("brand")
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    g = _g(name, "glm")
    fit = d.glm("spend ~ x + q1 + seg2")
    names = ["Intercept", "x", "q1", "seg2[T.m]"]  # R: (Intercept), x, q1, seg2m
    close(fit.params[names].to_numpy(), g["estimate"], EST)
    close(fit.se[names].to_numpy(), g["se"], SE)


def test_margins_are_met_and_bounds_hold():
    d = design("d2_linear_b")
    g = d.weights / base("d2").weights
    assert g.min() >= BOUNDS[0] - 1e-12 and g.max() <= BOUNDS[1] + 1e-12
    assert np.isclose(g.min(), BOUNDS[0])  # the bound binds
    tot = d.by("age4").total("x")
    assert d.diagnostics.max_margin_error < 1e-10
    assert abs(float(d.total("x")["estimate"][0]) - 200.0) < 1e-8
    assert tot.height == 4
    p = design("d1_logit").proportion("seg2")
    close(p["estimate"], [250 / 550, 300 / 550], 1e-12)
    close(p["se"], [0.0, 0.0], 0, atol=1e-9)  # calibrated shares: exactly zero variance


def test_shares_and_joint_margins_equal_counts():
    d = base("d2")
    a = d.calibrate({"age4": {k: v / 550 for k, v in AGE.items()}}, total=550)
    b = d.post_stratify("age4", AGE)
    close(a.weights, b.weights, 1e-12)
    c = d.calibrate({("seg2", "age4"): CROSS})
    close(c.weights, design("d2_ps2").weights, 1e-12)
    frame = pl.DataFrame({"seg2": [k[0] for k in CROSS], "age4": [k[1] for k in CROSS],
                          "N": list(CROSS.values())})
    close(d.post_stratify(["seg2", "age4"], frame).weights, c.weights, 1e-12)


def test_trim_and_with_columns_keep_calibration():
    d = design("d2_raking")
    se = float(d.mean("spend")["se"][0])
    d2 = d.with_columns(spend2=pl.col("spend") * 2)
    assert np.isclose(float(d2.mean("spend2")["se"][0]), 2 * se, rtol=1e-12)


@pytest.mark.parametrize(("pop", "kw", "match"), [
    ({"seg2": {"f": 250}}, {}, "level 'm' has"),
    ({"seg2": {"f": 250, "m": 300, "x": 3}}, {}, "not a level"),
    ({"seg2": {"f": 250, "m": 300}, "age4": {"a1": 100, "a2": 1, "a3": 1, "a4": 1}}, {},
     "disagree"),
    ({"x": 200.0}, {}, "total="),
    ({"spend": 200.0}, {"total": 550}, "missing values"),
    ({"seg2": {"f": 250, "m": 300}}, {"calfun": "logit"}, "finite bounds"),
    ({"seg2": {"f": 250, "m": 300}}, {"calfun": "probit"}, "calfun"),
    ({"seg2": {"f": 250, "m": 300}}, {"bounds": (1.1, 2.0)}, "lower < 1 < upper"),
    ({"seg2": {"f": 10, "m": 540}}, {"calfun": "raking", "bounds": (0.5, 2.0)},
     "did not converge"),
])
def test_errors(pop, kw, match):
    with pytest.raises(WeightingError, match=match):
        base("d2").calibrate(pop, **kw)


def test_no_second_calibration():
    with pytest.raises(WeightingError, match="already"):
        design("d2_linear").calibrate(POP)
    with pytest.raises(WeightingError, match="already"):
        base("d2").rake({"seg2": {"f": 0.5, "m": 0.5}}).post_stratify("age4", AGE)
