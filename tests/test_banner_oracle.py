"""Banner cells on subsets (``where=``) of stratified, clustered, multistage and raked designs
equal R's ``svymean``/``svyby`` on ``subset(design, ...)`` (golden files of tests/oracle,
written by ``make_golden_multistage.R``): estimates to 1e-9, SEs and design effects to 1e-6."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from test_design_multistage import DESIGNS, SUBSETS, _g, design

EST, SE = 1e-9, 1e-6


def _close(got, want, rtol):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol,
                               atol=1e-12)


@pytest.mark.parametrize("variance", ["auto", "primitive"])
@pytest.mark.parametrize("sub", list(SUBSETS))
@pytest.mark.parametrize("name", DESIGNS)
def test_banner_where_equals_r_subset(name: str, sub: str, variance: str) -> None:
    from survey.banners import banner

    b = banner(design(name), ["x"], ["seg2"], where=SUBSETS[sub], suppress_below=0,
               flag_below=0, _variance=variance)
    cells = b.to_polars()
    total = cells.filter(pl.col("col_variable") == "total")
    want = _g(name, sub, "mean").filter(pl.col("var") == "x")
    _close(total["estimate"], want["estimate"], EST)
    _close(total["se"], want["se"], SE)
    _close(total["deff"], want["deff"], SE)
    by = _g(name, sub, "by_mean")
    got = cells.filter((pl.col("col_variable") == "seg2")
                       & pl.col("col_level").is_in([g.split("=")[1] for g in by["group"]]))
    got = got.sort("col_level")
    assert got["col_level"].to_list() == [g.split("=")[1] for g in by["group"]]
    _close(got["estimate"], by["estimate"], EST)
    _close(got["se"], by["se"], SE)
    _close(got["deff"], by["deff"], SE)
