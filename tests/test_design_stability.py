"""Numerically hard cases against exact values.

The reference is computed in exact rational arithmetic (``fractions.Fraction`` of the stored
floats) from R's linearization formulas, so it is the true value for the data as stored: a
mean of 1e8 or 1e10 plus unit noise, a constant, the share of a stratification variable and
of a raking margin (variance exactly 0: R gives 0, never NaN), a shift by 1e10 (the SE of a
mean does not move; deff neither).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import polars as pl
import pytest

from survey.design import Design


def _data(shift: float, n: int = 90, seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    h = np.repeat([1, 2, 3], n // 3)
    return pl.DataFrame({
        "h": h, "psu": h * 100 + rng.integers(0, 6, n), "g": rng.integers(0, 3, n),
        "w": np.round(np.exp(rng.normal(0, 0.4, n)), 3), "y": shift + rng.normal(0, 1, n),
        "wh": np.choose(h - 1, [1.5, 2.0, 4.0]),
    })


def _exact(f: pl.DataFrame, kind: str, clustered: bool, domain: int | None = None,
           weights: str = "w") -> tuple[float, float]:
    """Exact SE and deff ("replace") of the mean or total of y (stratified, with replacement)."""
    rows = f.to_dicts()
    w = [Fraction(r[weights]) for r in rows]
    y = [Fraction(r["y"]) for r in rows]
    ind = [1 if domain is None or r["g"] == domain else 0 for r in rows]
    big_w = sum(wi * a for wi, a in zip(w, ind, strict=True))
    ybar = sum(wi * yi * a for wi, yi, a in zip(w, y, ind, strict=True)) / big_w
    if kind == "mean":
        z = [a * wi * (yi - ybar) / big_w for wi, yi, a in zip(w, y, ind, strict=True)]
    else:
        z = [a * wi * yi for wi, yi, a in zip(w, y, ind, strict=True)]
    units: dict[int, dict[object, Fraction]] = {}
    for i, r in enumerate(rows):
        key = r["psu"] if clustered else i
        units.setdefault(r["h"], {}).setdefault(key, Fraction(0))
        units[r["h"]][key] += z[i]
    v = Fraction(0)
    for tot in units.values():
        t = list(tot.values())
        m = sum(t) / len(t)
        v += Fraction(len(t), len(t) - 1) * sum((x - m) ** 2 for x in t)
    n = sum(ind)
    s2 = Fraction(n, n - 1) * sum(a * wi * (yi - ybar) ** 2
                                  for wi, yi, a in zip(w, y, ind, strict=True)) / big_w
    vsrs = s2 / n if kind == "mean" else s2 * big_w**2 / n
    return float(v) ** 0.5, float(v / vsrs)


@pytest.mark.parametrize("clustered", [False, True])
@pytest.mark.parametrize("kind", ["mean", "total"])
@pytest.mark.parametrize("shift", [0.0, 1e8, 1e10])
def test_large_means_against_exact(shift, kind, clustered):
    f = _data(shift)
    d = Design(f, weights="w", strata="h", ids="psu" if clustered else None)
    got = getattr(d, kind)("y")
    se, deff = _exact(f, kind, clustered)
    assert got["se"][0] == pytest.approx(se, rel=1e-9)
    assert got["deff"][0] == pytest.approx(deff, rel=1e-9)
    by = getattr(d.by("g"), kind)("y").sort("g")
    for k in range(3):
        se, deff = _exact(f, kind, clustered, domain=k)
        assert by["se"][k] == pytest.approx(se, rel=1e-9)
        assert by["deff"][k] == pytest.approx(deff, rel=1e-9)


def test_shift_by_1e10_leaves_the_se_of_a_mean():
    base = _data(0.0).with_columns(y=pl.col("y").round(3))  # exactly representable after shift
    d0 = Design(base, weights="w", strata="h", ids="psu")
    d1 = Design(base.with_columns(y=pl.col("y") + 1e10), weights="w", strata="h", ids="psu")
    a, b = d0.mean("y"), d1.mean("y")
    assert b["estimate"][0] - 1e10 == pytest.approx(a["estimate"][0], abs=1e-5)
    assert b["se"][0] == pytest.approx(a["se"][0], rel=1e-6)
    assert b["deff"][0] == pytest.approx(a["deff"][0], rel=1e-6)
    ab, bb = d0.by("g").mean("y"), d1.by("g").mean("y")
    np.testing.assert_allclose(bb["se"], ab["se"], rtol=1e-6)


@pytest.mark.parametrize("value", [0.0, 3.25, 1e8 + 0.1])
def test_constant_has_zero_se_and_no_deff(value):
    f = _data(0.0).with_columns(c=pl.lit(value))
    for kw in ({}, {"strata": "h"}, {"strata": "h", "ids": "psu"}):
        d = Design(f, weights="w", **kw)
        res = d.mean("c")
        assert res["estimate"][0] == value
        assert res["se"][0] == 0.0
        assert np.isnan(res["deff"][0])  # R: 0 / 0
        assert d.by("g").mean("c")["se"].to_list() == [0.0, 0.0, 0.0]


def test_share_of_the_stratification_variable_has_zero_variance():
    f = _data(0.0).with_columns(top=pl.col("h") == 3, top_i=(pl.col("h") == 3).cast(pl.Int64))
    d = Design(f, weights="wh", strata="h")  # weights constant within strata: W_h is fixed
    for col in ("top", "top_i"):
        res = d.mean(col)
        assert res["estimate"][0] == pytest.approx(4.0 * 30 / (30 * 7.5))
        assert abs(res["se"][0]) < 1e-15
        assert not np.isnan(res["se"][0])
    p = d.proportion("h")
    assert p["se"].max() < 1e-15
    assert np.isfinite(p["ci_low"].to_numpy()).all() and np.isfinite(p["ci_high"].to_numpy()).all()


def test_share_of_a_raking_margin_has_zero_variance():
    f = _data(0.0).with_columns(gs=pl.col("g").cast(pl.String))
    for kw in ({}, {"strata": "h"}, {"strata": "h", "ids": "psu"}):
        r = Design(f, weights="w", **kw).rake({"gs": {"0": 0.2, "1": 0.3, "2": 0.5}})
        res = r.proportion("gs")
        np.testing.assert_allclose(res["estimate"], [0.2, 0.3, 0.5], rtol=1e-10)
        assert res["se"].max() < 1e-12
        assert not res["se"].is_nan().any()


def test_int_and_float_01_columns_equal_boolean():
    f = _data(0.0).with_columns(b=pl.col("y") > 0)
    f = f.with_columns(bi=pl.col("b").cast(pl.Int64), bf=pl.col("b").cast(pl.Float64))
    d = Design(f, weights="w", strata="h", ids="psu")
    want = d.by("g").mean("b")
    for col in ("bi", "bf"):
        got = d.by("g").mean(col)
        np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=1e-14)
        np.testing.assert_allclose(got["se"], want["se"], rtol=1e-12)


@pytest.mark.parametrize("kind", ["mean", "total"])
@pytest.mark.parametrize("weights", ["w", "wh"])
def test_amount_set_by_the_stratum_against_exact(kind, weights):
    """An amount almost fixed by the stratum (1e8 per stratum + noise of 1e-3): within each
    stratum the influence is nearly constant, where a one-pass sum of squares loses every digit;
    the engine must fall back to centred passes and still equal the exact value."""
    rng = np.random.default_rng(9)
    f = _data(0.0).with_columns(y=pl.col("h") * 1e8 + pl.Series(rng.normal(0, 1e-3, 90)))
    d = Design(f, weights=weights, strata="h")
    got = getattr(d, kind)("y")
    se, deff = _exact(f, kind, False, weights=weights)
    assert got["se"][0] == pytest.approx(se, rel=1e-6)
    assert got["deff"][0] == pytest.approx(deff, rel=1e-6)
    by = getattr(d.by("g"), kind)("y").sort("g")
    for k in range(3):
        se, deff = _exact(f, kind, False, domain=k, weights=weights)
        assert by["se"][k] == pytest.approx(se, rel=1e-6)
