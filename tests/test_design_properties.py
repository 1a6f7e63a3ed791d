"""Invariants of survey.design (hypothesis) and agreement of its two variance paths."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from survey.design import Design
from survey.design import variance as V

LEVELS = ["a", "b", "c"]


def frame(seed: int, n: int, clustered: bool = False) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.array(LEVELS)[np.arange(n) % 3]
    rng.shuffle(g)
    seg = np.where(rng.random(n) < 0.5, "x", "y")
    seg[:2] = ["x", "y"]
    stratum = np.arange(n) % 2
    return pl.DataFrame({
        "g": pl.Series(g).cast(pl.Enum(LEVELS)),
        "seg": pl.Series(seg).cast(pl.Enum(["x", "y"])),
        "y": rng.normal(10, 3, n),
        "b": rng.random(n) < 0.4,
        "w": rng.uniform(0.2, 5, n),
        "st": stratum,
        "psu": (np.arange(n) // 2 % (4 if clustered else n)),
    })


settings.register_profile("design", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("design")


@given(seed=st.integers(0, 10_000), n=st.integers(12, 80))
def test_single_select_proportions_sum_to_one(seed, n):
    d = Design(frame(seed, n), weights="w")
    assert d.proportion("g")["estimate"].sum() == pytest.approx(1.0, abs=1e-12)
    by = d.by("seg").proportion("g").group_by("seg").agg(pl.col("estimate").sum())
    np.testing.assert_allclose(by["estimate"].to_numpy(), 1.0, atol=1e-12)


@given(seed=st.integers(0, 10_000), n=st.integers(20, 80),
       shares=st.lists(st.floats(0.1, 1.0), min_size=3, max_size=3),
       p_x=st.floats(0.2, 0.8))
def test_raking_hits_margins(seed, n, shares, p_x):
    f = frame(seed, n)
    assume(f.select("g", "seg").unique().height == 6)  # an empty cell can make margins unattainable
    target = dict(zip(LEVELS, np.array(shares) / sum(shares), strict=True))
    r = Design(f, weights="w").rake({"g": target, "seg": {"x": p_x, "y": 1 - p_x}}, max_iter=500)
    w = r.weights
    total = f["w"].sum()
    got = pl.DataFrame({"g": f["g"], "w": w}).group_by("g").agg(pl.col("w").sum())
    for lv, s in target.items():
        assert got.filter(pl.col("g") == lv)["w"][0] == pytest.approx(s * total, rel=1e-8)
    assert r.diagnostics.max_margin_error < 1e-10
    assert w.sum() == pytest.approx(total, rel=1e-10)


@given(seed=st.integers(0, 10_000), n=st.integers(5, 60))
def test_srs_unit_weights_match_sample_formula(seed, n):
    f = frame(seed, n)
    y = f["y"].to_numpy()
    res = Design(f).mean("y")
    assert res["estimate"][0] == pytest.approx(y.mean(), rel=1e-12)
    assert res["se"][0] == pytest.approx(y.std(ddof=1) / np.sqrt(n), rel=1e-10)
    assert res["deff"][0] == pytest.approx(1.0, rel=1e-10)
    assert res["n_eff"][0] == pytest.approx(n, rel=1e-10)
    tot = Design(f).total("y")
    assert tot["se"][0] == pytest.approx(n * y.std(ddof=1) / np.sqrt(n), rel=1e-10)


def _dense_domain_se(d: Design, var: str, group: str) -> np.ndarray:
    """Reference: explicit n x D influence matrix through Design._vcov_totals."""
    f = d.frame
    y = f[var].cast(pl.Float64).to_numpy()
    w = d.weights
    gcode = f[group].to_physical().to_numpy()
    z = np.zeros((d.n, gcode.max() + 1))
    for k in range(z.shape[1]):
        m = gcode == k
        wk = w[m].sum()
        ybar = (w[m] * y[m]).sum() / wk
        z[m, k] = w[m] * (y[m] - ybar) / wk
    return np.sqrt(np.diag(d._vcov_totals(z)))


@pytest.mark.parametrize("clustered", [False, True])
@pytest.mark.parametrize("raked", [False, True])
@given(seed=st.integers(0, 10_000))
def test_domain_engine_equals_dense_influence(seed, clustered, raked):
    f = frame(seed, 48, clustered)
    d = Design(f, weights="w", ids="psu", strata="st") if clustered else \
        Design(f, weights="w", strata="st")
    if raked:
        d = d.rake({"g": {"a": 0.2, "b": 0.3, "c": 0.5}, "seg": {"x": 0.4, "y": 0.6}})
    for var in ["y", "b"]:
        got = d.by("g").mean(var)["se"].to_numpy()
        np.testing.assert_allclose(got, _dense_domain_se(d, var, "g"), rtol=1e-9)


def test_rake_is_immutable_and_fixed_variance_ignores_calibration():
    f = frame(1, 60)
    d = Design(f, weights="w")
    r = d.rake({"g": {"a": 1, "b": 1, "c": 2}}, variance="calibrated")
    fixed = d.rake({"g": {"a": 1, "b": 1, "c": 2}}, variance="fixed")
    np.testing.assert_array_equal(d.weights, f["w"].to_numpy())
    with pytest.raises(AttributeError):
        r.frame = f
    plain = Design(f, weights=fixed.weights)
    np.testing.assert_allclose(fixed.mean("y")["se"], plain.mean("y")["se"], rtol=1e-12)
    # calibrating on g removes the between-g variance of y's total: the SEs differ
    assert r.total("y")["se"][0] != pytest.approx(fixed.total("y")["se"][0], rel=1e-3)


def test_backfitting_sweeps_close_to_exact_greg_projection():
    """R's 10 back-fitting sweeps vs the exact (converged) projection on the margins."""
    f = frame(7, 300)
    r = Design(f, weights="w").rake({"g": {"a": 0.2, "b": 0.3, "c": 0.5},
                                     "seg": {"x": 0.4, "y": 0.6}})
    cal = r._cal
    exact = V.Calibration(cal.cell, cal.cell_levels, cal.n_cell, cal.n_levels, cal.blocks, 200,
                          cal.w)
    z = (r.weights * f["y"].to_numpy())[:, None]
    v10 = V.vcov_totals(z, r._st, cal, r.weights)
    v200 = V.vcov_totals(z, r._st, exact, r.weights)
    np.testing.assert_allclose(v10, v200, rtol=1e-8)


def test_responses_base_sums_to_one_and_matches_dense_ratio():
    rng = np.random.default_rng(3)
    n = 200
    ms = rng.random((n, 3)) < [0.6, 0.4, 0.2]
    f = pl.DataFrame({f"m__{k}": ms[:, i] for i, k in enumerate("abc")}).with_columns(
        w=pl.Series(rng.uniform(0.5, 2, n)))
    d = Design(f, weights="w")
    res = d.proportion([f"m__{k}" for k in "abc"], base="responses")
    assert res["estimate"].sum() == pytest.approx(1.0)
    assert res["level"].to_list() == ["a", "b", "c"]
    y, w = ms.astype(float), f["w"].to_numpy()
    x = y.sum(1)
    p = (w[:, None] * y).sum(0) / (w * x).sum()
    z = w[:, None] * (y - p * x[:, None]) / (w * x).sum()
    np.testing.assert_allclose(res["se"], np.sqrt(np.diag(d._vcov_totals(z))), rtol=1e-10)
    cases = d.proportion([f"m__{k}" for k in "abc"])
    assert cases["estimate"].sum() > 1.0


def test_codebook_layer_labels_multi_select():
    class Q:
        type = "multi"

        def columns(self):
            return ["m__a", "m__b"]

        def codes(self):
            return ["a", "b"]

        def label(self, code, lang="zh"):
            return {"a": "甲", "b": "乙"}[code] if lang == "zh" else code.upper()

    class CB:
        questions = {"m": Q()}  # noqa: RUF012

    f = pl.DataFrame({"m__a": [True, False, True, True], "m__b": [False, False, True, False]})
    res = Design(f, codebook=CB()).proportion("m")
    assert res["level"].to_list() == ["a", "b"]
    assert res["label"].to_list() == ["甲", "乙"]
    assert res["estimate"].to_list() == pytest.approx([0.75, 0.25])
    assert Design(f, codebook=CB()).proportion("m", lang="en")["label"].to_list() == ["A", "B"]


def test_wilson_interval_formula():
    f = frame(2, 100)
    res = Design(f, weights="w").proportion(["b"], ci="wilson")
    p, se = res["estimate"][0], res["se"][0]
    from scipy import stats

    t = stats.t.ppf(0.975, 99)
    n_eff = p * (1 - p) / se**2
    centre = (p + t * t / (2 * n_eff)) / (1 + t * t / n_eff)
    half = t / (1 + t * t / n_eff) * np.sqrt(p * (1 - p) / n_eff + t * t / (4 * n_eff**2))
    assert res["ci_low"][0] == pytest.approx(centre - half, rel=1e-12)
    assert res["ci_high"][0] == pytest.approx(centre + half, rel=1e-12)
    assert res["ci_low"][0] < p < res["ci_high"][0]


def test_with_columns_keeps_weights_structure_and_calibration():
    f = frame(5, 90, clustered=True)
    d = Design(f, weights="w", ids="psu", strata="st").rake(
        {"g": {"a": 0.2, "b": 0.3, "c": 0.5}, "seg": {"x": 0.4, "y": 0.6}})
    d2 = d.with_columns((pl.col("y") > 10).alias("hi"), y2=pl.col("y") * 2,
                        w=pl.lit(1.0))  # replacing the weight column does not reweight
    assert d2.frame.columns[-2:] == ["hi", "y2"] and d2.n == d.n
    np.testing.assert_array_equal(d2.weights, d.weights)
    assert d2.degf == d.degf and d2.diagnostics == d.diagnostics
    assert repr(d2) == repr(d)  # still raked, same variance mode
    # estimates of the derived columns equal the ones computed from the originals
    a = d2.by("seg").mean("y2")
    b = d.by("seg").mean("y")
    np.testing.assert_allclose(a["estimate"], 2 * b["estimate"], rtol=1e-12)
    np.testing.assert_allclose(a["se"], 2 * b["se"], rtol=1e-12)
    # the calibration is kept: SEs differ from the same weights taken as fixed
    fixed = Design(d2.frame, weights=d.weights, ids="psu", strata="st")
    assert d2.total("y2")["se"][0] != pytest.approx(fixed.total("y2")["se"][0], rel=1e-3)
    assert d.frame.columns == f.columns  # the original design is untouched


@pytest.mark.parametrize("name", ["level", "estimate", "variable", "n", "se"])
def test_by_a_group_named_like_an_output_column(name):
    f = frame(3, 60).with_columns(pl.col("seg").alias(name))
    d = Design(f, weights="w")
    ref = d.by("seg").proportion("g")
    got = d.by(name).proportion("g")
    assert got.columns[0] == f"{name}_group"
    assert got[f"{name}_group"].to_list() == ref["seg"].to_list()
    for c in ("level", "estimate", "se", "n"):
        assert got[c].to_list() == ref[c].to_list()
    two = d.by(name, "g").mean("y")
    assert two.columns[:2] == [f"{name}_group", "g"]
    with pytest.raises(Exception, match="repeat a name"):
        d.by("seg", "seg")


def test_n_eff_is_kish_of_the_respondents_and_deff_is_per_estimate():
    """One effective n in the package: Kish's (sum w)^2 / sum w^2 over the estimate's
    respondents (in the domain, valid answers only); deff carries the design."""
    rng = np.random.default_rng(3)
    n = 400
    y = rng.normal(10, 2, n)
    y[rng.random(n) < 0.2] = np.nan
    f = pl.DataFrame({"h": rng.integers(0, 4, n), "g": rng.choice(["a", "b", "c"], n),
                      "w": np.exp(rng.normal(0, 0.5, n)), "y": y,
                      "q": rng.choice(["x", "y", "z", None], n)})
    d = Design(f, weights="w", strata="h")
    got = d.by("g").mean("y").sort("g")
    for row in got.iter_rows(named=True):
        sub = f.filter((pl.col("g") == row["g"]) & pl.col("y").is_not_nan())
        w = sub["w"].to_numpy()
        assert row["n"] == sub.height
        assert row["n_eff"] == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
        assert row["n_eff"] != pytest.approx(row["n"] / row["deff"], rel=1e-3)
    prop = d.proportion("q")
    w = f.filter(pl.col("q").is_not_null())["w"].to_numpy()
    assert prop["n_eff"].to_list() == pytest.approx([w.sum() ** 2 / (w**2).sum()] * 3, rel=1e-12)
    assert prop["deff"][0] != pytest.approx(prop["deff"][1], rel=1e-6)
