"""Multistage designs, fpc per stage, lonely PSUs, fpc-derived weights and subsets against R.

Goldens: ``tests/oracle/make_golden_multistage.R`` (R's ``survey``) on the designs it builds
from ``tests/oracle/fixture.csv`` (written with its derived design columns to
``golden_multistage_fixture.csv``). Estimates at 1e-9, SEs and design effects at 1e-6.
When ``Rscript`` with ``survey`` is installed, R's own example (``data(api)``: ``apiclus2``
and ``apistrat``) is also checked, read from R at test time (not committed).
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from survey.design import Design
from survey.errors import EstimationError, WeightingError

ORACLE = Path(__file__).parent / "oracle"
EST, SE = 1e-9, 1e-6
RULES = ("remove", "adjust", "average", "certainty")


@cache
def frame() -> pl.DataFrame:
    return pl.read_csv(ORACLE / "golden_multistage_fixture.csv", null_values="NA",
                       infer_schema_length=None)


@cache
def golden() -> pl.DataFrame:
    return pl.read_csv(ORACLE / "golden_multistage.csv", null_values="NA",
                       infer_schema_length=None)


def _spec(name: str) -> dict:
    base = {
        "st_fpc": dict(weights="w", strata="stratum", fpc="fpc_st"),
        "st_fpc_now": dict(strata="stratum", fpc="fpc_st"),
        "cl1_fpc": dict(weights="w", ids="psu", strata="stratum", fpc="fpc"),
        "cl1u_fpc": dict(weights="w", ids="psu", fpc="fpc1u"),
        "cl2": dict(weights="w", ids=["psu", "ssu"], strata="stratum"),
        "cl2_fpc": dict(weights="w", ids=["psu", "ssu"], strata="stratum", fpc=["fpc", "fpc2"]),
        "cl2_fpc_now": dict(ids=["psu", "ssu"], strata="stratum", fpc=["fpc", "fpc2"]),
        "cl2u_fpc": dict(weights="w", ids=["psu", "ssu"], fpc=["fpc1u", "fpc2"]),
        "cl2_fpc1": dict(weights="w", ids=["psu", "ssu"], strata="stratum", fpc=["fpc"]),
        "cl2_fpc_rk": dict(weights="w", ids=["psu", "ssu"], strata="stratum",
                           fpc=["fpc", "fpc2"]),
        "rk_el": dict(weights="w"),
        "rk_st": dict(weights="w", ids="psu", strata="stratum"),
    }
    if name in base:
        return base[name]
    kind, rule = name.split("_", 1)
    return {"lon": dict(weights="w", ids="psu", strata="st_lonely"),
            "lonf": dict(weights="w", ids="psu", strata="st_lonely", fpc="fpc_lonely"),
            "lonel": dict(weights="w", strata="st_el"),
            "lon2": dict(weights="w", ids=["psu", "ssu_lonely"], strata="stratum",
                         fpc=["fpc", "fpc2_lonely"])}[kind] | {"lonely_psu": rule}


@cache
def design(name: str) -> Design:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # weights derived from the fpc
        d = Design(frame(), **_spec(name))
    if name.endswith("_rk"):
        d = d.rake({"seg2": {"f": 4800, "m": 5200}}, tol=1e-12, max_iter=1000)
    elif name.startswith("rk_"):
        d = d.rake({"seg2": {"f": 4800, "m": 5200},
                    "age4": {"a1": 2500, "a2": 2500, "a3": 2600, "a4": 2400}},
                   tol=1e-12, max_iter=1000)
    return d


SUBSETS = {"all": None, "f": pl.col("seg2") == "f",
           "s12": pl.col("seg6").is_in(["s1", "s2"]) & (pl.col("x") > -1)}
DESIGNS = sorted(golden()["design"].unique().to_list())


def _g(name: str, sub: str, stat: str) -> pl.DataFrame:
    return golden().filter(pl.col("design") == name, pl.col("subset") == sub,
                           pl.col("stat") == stat)


def close(got, want, rtol, atol=1e-12):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol,
                               atol=atol)


@pytest.mark.parametrize("sub", list(SUBSETS))
@pytest.mark.parametrize("name", DESIGNS)
def test_mean_total_degf(name, sub):
    d = design(name).subset(SUBSETS[sub])
    assert d.degf == _g(name, sub, "degf")["estimate"][0]
    for stat in ("mean", "total"):
        g = _g(name, sub, stat)
        for v in ("x", "spend", "q1"):
            got = getattr(d, stat)(v)
            want = g.filter(pl.col("var") == v)
            close(got["estimate"], want["estimate"], EST)
            close(got["se"], want["se"], SE)
            close(got["deff"], want["deff"], SE)


@pytest.mark.parametrize("sub", list(SUBSETS))
@pytest.mark.parametrize("name", DESIGNS)
def test_listwise_and_domains(name, sub):
    d = design(name).subset(SUBSETS[sub])
    g = _g(name, sub, "mean_listwise")
    got = d.mean(["spend", "x"])
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    g = _g(name, sub, "by_mean")
    got = d.by("seg2").mean("x").sort("seg2")
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)
    close(got["deff"], g["deff"], SE)
    g = _g(name, sub, "by_total")
    got = d.by("seg6").total("spend").sort("seg6")
    assert got["seg6"].to_list() == [s.split("=")[1] for s in g["group"]]
    close(got["estimate"], g["estimate"], EST)
    close(got["se"], g["se"], SE)


@pytest.mark.parametrize("name", DESIGNS)
def test_weights_sum(name):
    close(design(name).weights.sum(), _g(name, "all", "weights_sum")["estimate"], EST)


def test_weights_from_fpc_warn_and_equal_inverse_fractions():
    with pytest.warns(UserWarning, match="inverse sampling fractions"):
        d = Design(frame(), ids=["psu", "ssu"], strata="stratum", fpc=["fpc", "fpc2"])
    f = frame()
    n1 = f.group_by("stratum").agg(pl.col("psu").n_unique().alias("n1"))
    n2 = f.group_by("psu").agg(pl.col("ssu").n_unique().alias("n2"))
    want = (f.join(n1, on="stratum").join(n2, on="psu")
            .select(pl.col("fpc") / pl.col("n1") * pl.col("fpc2") / pl.col("n2"))).to_series()
    close(d.weights, want, 1e-12)


def test_fail_names_the_stratum_and_stage():
    with pytest.raises(EstimationError, match=r"stratum \d+ of stage 1 .* only one PSU"):
        Design(frame(), weights="w", ids="psu", strata="st_lonely")
    with pytest.raises(EstimationError, match=r"stage 2 .* only one sampled unit"):
        Design(frame(), weights="w", ids=["psu", "ssu_lonely"], strata="stratum",
               fpc=["fpc", "fpc2_lonely"])
    with pytest.raises(EstimationError, match=r"lonely_psu='sometimes'; expected one of"):
        Design(frame(), weights="w", ids="psu", strata="st_lonely", lonely_psu="sometimes")


def test_structure_errors_are_clear():
    f = frame()
    with pytest.raises(EstimationError, match=r"unknown ids column 'psuu'.*did you mean 'psu'"):
        Design(f, ids=["psuu", "ssu"])
    with pytest.raises(EstimationError, match=r"3 fpc columns for 2 sampling stage"):
        Design(f, ids=["psu", "ssu"], fpc=["fpc", "fpc2", "fpc2"])
    with pytest.raises(EstimationError, match=r"fpc of stage 1 varies within a stratum"):
        Design(f.with_columns(v=pl.col("fpc") + pl.col("id") % 2), ids="psu",
               strata="stratum", fpc="v")
    with pytest.raises(EstimationError, match=r"more than 100% sampling"):
        Design(f.with_columns(v=pl.lit(5)), ids="psu", strata="stratum", fpc="v")
    with pytest.raises(EstimationError, match=r"mixes population counts"):
        Design(f.with_columns(v=pl.when(pl.col("stratum") == 1).then(0.5).otherwise(60)),
               ids="psu", strata="stratum", fpc="v")
    with pytest.raises(EstimationError, match=r"unknown weights column 'missing'"):
        Design(f, weights="missing")


def test_subset_is_domain_estimation_not_a_smaller_frame():
    d = design("cl2_fpc")
    sub = d.subset("seg2 = 'f'")
    naive = Design(frame().filter(pl.col("seg2") == "f"), weights="w", ids=["psu", "ssu"],
                   strata="stratum", fpc=["fpc", "fpc2"], lonely_psu="remove")
    a, b = sub.mean("x"), naive.mean("x")
    assert a["estimate"][0] == pytest.approx(b["estimate"][0], rel=1e-12)
    assert a["n"][0] == b["n"][0] == int((frame()["seg2"] == "f").sum())
    close(a["se"], _g("cl2_fpc", "f", "mean").filter(pl.col("var") == "x")["se"], SE)
    assert sub.where == "seg2 = 'f'" and sub.n_subset == a["n"][0]
    assert float(sub.weights.sum()) == pytest.approx(
        float(d.weights[frame()["seg2"].to_numpy() == "f"].sum()))
    assert a["se"][0] != pytest.approx(b["se"][0], rel=1e-3)  # the naive SE is another one
    same = d.subset(frame()["seg2"] == "f")
    close(same.mean("x")["se"], a["se"], 1e-14)
    nested = d.subset(pl.col("seg2") == "f").subset(pl.col("x") > 0)
    assert nested.n_subset == int(((frame()["seg2"] == "f") & (frame()["x"] > 0)).sum())
    with pytest.raises(EstimationError, match="no respondents"):
        d.subset(pl.col("x") > 100)
    with pytest.raises(EstimationError, match="expected true/false"):
        d.subset(pl.col("x"))
    with pytest.raises(WeightingError, match="rake"):
        sub.rake({"seg2": {"f": 0.5, "m": 0.5}})


# ---------------------------------------------------------------------- R's own example data
R_API = r"""
suppressPackageStartupMessages(library(survey))
data(api)
options(digits = 17)
dc2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
ds <- svydesign(id = ~1, strata = ~stype, fpc = ~fpc, data = apistrat)
dc1 <- svydesign(id = ~dnum, fpc = ~fpc, data = apiclus1)
out <- list()
for (nm in c("dc2", "ds", "dc1")) {
  d <- get(nm)
  m <- svymean(~api00 + avg.ed, d, na.rm = TRUE)
  t <- svytotal(~enroll, d, na.rm = TRUE)
  s <- svymean(~api00, subset(d, sch.wide == "Yes"))
  out[[nm]] <- c(coef(m), SE(m), coef(t), SE(t), coef(s), SE(s), sum(weights(d)))
}
write.csv(apiclus2[, c("dnum", "snum", "fpc1", "fpc2", "api00", "avg.ed", "enroll", "sch.wide")],
          file.path(commandArgs(TRUE)[1], "clus2.csv"), row.names = FALSE)
write.csv(apistrat[, c("stype", "fpc", "api00", "avg.ed", "enroll", "sch.wide")],
          file.path(commandArgs(TRUE)[1], "strat.csv"), row.names = FALSE)
write.csv(apiclus1[, c("dnum", "fpc", "api00", "avg.ed", "enroll", "sch.wide")],
          file.path(commandArgs(TRUE)[1], "clus1.csv"), row.names = FALSE)
write.csv(do.call(rbind, out), file.path(commandArgs(TRUE)[1], "r.csv"))
"""


def _has_r() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(survey)"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    if not _has_r():
        pytest.skip("Rscript with the survey package is not installed")
    tmp = tmp_path_factory.mktemp("api")
    (tmp / "api.R").write_text(R_API)
    subprocess.run(["Rscript", str(tmp / "api.R"), str(tmp)], check=True, capture_output=True)
    return tmp


@pytest.mark.parametrize("name,file,spec", [
    ("dc2", "clus2.csv", dict(ids=["dnum", "snum"], fpc=["fpc1", "fpc2"])),
    ("ds", "strat.csv", dict(strata="stype", fpc="fpc")),
    ("dc1", "clus1.csv", dict(ids="dnum", fpc="fpc")),
])
def test_r_api_examples(api, name, file, spec):
    f = pl.read_csv(api / file, null_values="NA")
    want = pl.read_csv(api / "r.csv").filter(pl.col("") == name).row(0)[1:]
    with pytest.warns(UserWarning, match="inverse sampling fractions"):
        d = Design(f, **spec)
    m = d.mean(["api00", "avg.ed"])
    t = d.total("enroll")
    s = d.subset(pl.col("sch.wide") == "Yes").mean("api00")
    got = [*m["estimate"], *m["se"], t["estimate"][0], t["se"][0], s["estimate"][0],
           s["se"][0], d.weights.sum()]
    close(got[:2], want[:2], EST)
    close(got[2:4], want[2:4], SE)
    close(got[4], want[4], EST)
    close(got[5], want[5], SE)
    close(got[6], want[6], EST)
    close(got[7], want[7], SE)
    close(got[8], want[8], EST)


@pytest.mark.parametrize("sub", list(SUBSETS))
@pytest.mark.parametrize("name", DESIGNS)
def test_vcov_totals_primitive_equals_r(name, sub):
    """The dense primitive (``_vcov_totals``: glm, chisq, banners) gives R's SEs too."""
    d = design(name).subset(SUBSETS[sub])
    x = frame()["x"].to_numpy()
    w = np.asarray(d.weights)  # 0 outside the subset
    z = w * (x - (w * x).sum() / w.sum()) / w.sum()
    se = float(np.sqrt(d._vcov_totals(z[:, None])[0, 0]))
    want = _g(name, sub, "mean").filter(pl.col("var") == "x")["se"][0]
    if want is None:  # R: NA ("average" with no stratum of two units left in a cluster)
        assert np.isnan(se)
    else:
        assert se == pytest.approx(want, rel=SE)
