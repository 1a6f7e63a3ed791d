"""survey.models._design: the models' bridge to the design engine (bootstrap and variance)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from survey.design import Design
from survey.models._design import as_design, replicate_weights, vcov_totals


def _clustered(seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(4):
        for c in range(12):
            u = rng.normal(0, 1.0)  # cluster effect: the design effect is large
            for _ in range(rng.integers(3, 8)):
                rows.append({"st": f"h{h}", "psu": f"h{h}c{c}", "y": 10 + h + u + rng.normal(),
                             "w": rng.gamma(4, 0.25)})
    return pl.DataFrame(rows)


@pytest.mark.parametrize("method", ["rao_wu", "bayes"])
def test_bootstrap_se_of_a_mean_matches_the_design_se_with_strata_and_clusters(method):
    df = _clustered()
    d = Design(df, weights="w", ids="psu", strata="st")
    W = replicate_weights(d, 6000, np.random.default_rng(3), method=method)
    y = df["y"].to_numpy()
    boot = ((W @ y) / W.sum(axis=1)).std()
    ref = d.mean("y")["se"][0]
    assert boot == pytest.approx(ref, rel=0.07)
    # whole PSUs move together
    psu = df["psu"].to_numpy()
    ratio = W[0] / df["w"].to_numpy()
    for p in np.unique(psu)[:5]:
        assert np.ptp(ratio[psu == p]) == pytest.approx(0.0, abs=1e-12)


def test_vcov_totals_is_the_design_engine_and_handles_domains():
    df = _clustered(2)
    d = Design(df, weights="w", ids="psu", strata="st")
    w, y = d.weights, df["y"].to_numpy()
    mean = w @ y / w.sum()
    se = np.sqrt(vcov_totals(d, (w * (y - mean) / w.sum())[:, None])[0, 0])
    assert se == pytest.approx(d.mean("y")["se"][0], rel=1e-10)
    rows = np.flatnonzero(df["st"].to_numpy() == "h0")
    full = np.zeros(d.n)
    full[rows] = 1.0
    np.testing.assert_allclose(vcov_totals(d, np.ones((rows.size, 1)), rows),
                               vcov_totals(d, full[:, None]))


def test_as_design_from_frames():
    df = pl.DataFrame({"y": [1.0, 2.0, 3.0], "weight": [1.0, 2.0, 3.0]})
    assert as_design(df).weights.tolist() == [1.0, 2.0, 3.0]
    assert as_design(df.drop("weight")).weights.tolist() == [1.0, 1.0, 1.0]
    d = Design(df, weights="weight")
    assert as_design(d) is d
    with pytest.raises(TypeError):
        as_design([1, 2, 3])


def test_replicates_are_not_reraked_when_the_variance_is_fixed():
    df = _clustered(4).with_columns(g=pl.int_range(pl.len()) % 2)
    raked = Design(df, weights="w").rake({"g": {0: 0.3, 1: 0.7}}, variance="fixed")
    W = replicate_weights(raked, 50, np.random.default_rng(1))
    g = df["g"].to_numpy() == 0
    shares = W[:, g].sum(axis=1) / W.sum(axis=1)
    assert np.std(shares) > 1e-3  # margins vary across replicates: weights treated as fixed
