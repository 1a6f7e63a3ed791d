"""survey.design on R's own documented examples (California API data, ``data(api)``): the
calibration, replicate-weight and estimator examples of R's help pages, run through
``tests/oracle/r_examples.R`` at test time (skipped without R; R's data are not committed).
Estimates 1e-9, SEs/CIs/statistics 1e-6."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from survey.design import Design
from survey.design.contrast import contrast
from survey.design.replicate import ReplicateDesign

SCRIPT = Path(__file__).parent / "oracle" / "r_examples.R"
pytestmark = pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
EST, SE = 1e-9, 1e-6
TYPES = {"E": 4421, "H": 755, "M": 1018}


@cache
def outdir() -> Path:
    out = Path(tempfile.mkdtemp(prefix="survey-r-examples-"))
    res = subprocess.run(["Rscript", str(SCRIPT), str(out)], capture_output=True, text=True,
                         timeout=300)
    if res.returncode != 0:
        pytest.skip(f"R's survey examples failed to run: {res.stderr[-500:]}")
    return out


@cache
def data(name: str) -> pl.DataFrame:
    return pl.read_csv(outdir() / f"{name}.csv", null_values="NA", infer_schema_length=None,
                       schema_overrides={"cds": pl.String} if name.startswith("api") else None)


def r(case: str) -> pl.DataFrame:
    res = pl.read_csv(outdir() / "results.csv", null_values="NA", infer_schema_length=None)
    out = res.filter(pl.col("case") == case)
    assert out.height, case
    return out


def close(got, want, rtol, atol=1e-12):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol,
                               atol=atol)


def check(frame: pl.DataFrame, case: str, cols=("estimate", "se")) -> None:
    want = r(case)
    close(frame["estimate"], want["estimate"], EST)
    for c in cols[1:]:
        close(frame[c], want[c], SE)


@cache
def dclus1() -> Design:
    return Design(data("apiclus1"), weights="pw", ids="dnum", fpc="fpc")


@cache
def dstrat() -> Design:
    return Design(data("apistrat"), weights="pw", strata="stype", fpc="fpc")


def test_post_stratify_and_calibrate():
    d = dclus1()
    ps = d.post_stratify("stype", TYPES)
    check(ps.mean("api00"), "ps_mean")
    check(ps.total("enroll"), "ps_total")
    g = d.calibrate({"stype": TYPES})
    check(g.mean("api00"), "cal_mean")
    check(g.total("enroll"), "cal_total")
    pop = {"stype": TYPES, "api99": 3914069.0}
    kw = {"tol": 1e-13, "max_iter": 200}
    for case, calfun, bounds in (("lin", "linear", None), ("lin_b", "linear", (0.6, 1.6)),
                                 ("rake", "raking", None), ("logit", "logit", (0.5, 2.5))):
        g3 = d.calibrate(pop, calfun, bounds, **kw)
        check(g3.mean("api00"), f"cal3_{case}_mean")
        check(g3.total("enroll"), f"cal3_{case}_total")


def test_replicates():
    rc = dclus1().replicates()
    check(rc.mean("api00"), "rep_mean")
    check(rc.total("enroll"), "rep_total")
    ps = rc.post_stratify("stype", TYPES)
    check(ps.mean("api00"), "ps_rep_mean")
    check(ps.total("enroll"), "ps_rep_total")
    check(dstrat().replicates("JKn").mean("api00"), "jkn_mean")
    scd = data("scd")
    reps = 2 * np.array([[1, 0, 1, 0, 1, 0], [1, 0, 0, 1, 0, 1], [0, 1, 1, 0, 0, 1],
                         [0, 1, 0, 1, 1, 0]], float).T
    scd = scd.with_columns(**{f"rep{k}": reps[:, k] for k in range(4)})
    brr = ReplicateDesign(scd, None, "^rep", "BRR", combined_weights=False)
    check(brr.ratio("alive", "arrests"), "scd_ratio")


def test_quantiles():
    d = dclus1()
    cols = ("estimate", "se", "ci_low", "ci_high")
    for it in ("mean", "beta"):
        check(d.quantile("api00", [0.25, 0.5, 0.75], interval=it), f"quantile_{it}", cols)
    check(d.replicates().quantile("api00", [0.25, 0.5, 0.75], interval="quantile"),
          "quantile_rep", cols)
    check(dstrat().by("stype").quantile("api00", [0.5]), "quantile_by", cols)


def test_ratio_var_contrast():
    check(dstrat().ratio("api.stu", "enroll"), "ratio_strat")
    check(dclus1().ratio("api.stu", "enroll"), "ratio_clus")
    check(dstrat().by("stype").ratio("api.stu", "enroll"), "ratio_by")
    check(dstrat().var(["api00", "enroll", "api.stu", "api99"], covariance=True), "svyvar")
    e = dclus1().estimates("total", ["api00", "enroll", "api99"])
    got = contrast(e, {"avg": {"api00": 1 / 6194, "api99": 1 / 6194},
                       "diff": {"api00": 1, "api99": -1}})
    check(got, "contrast")
    check(contrast(e, lambda v: v["api00"] / v["api99"]), "contrast_nl")
    e = dclus1().by("stype").estimates("mean", "api00")
    check(contrast(e, {"stype=E:api00": 1, "stype=M:api00": -1}), "contrast_by")


def test_reg_term_test_and_chisq():
    t = dstrat().glm("api00 ~ ell + meals + mobility").term_test("ell + meals")
    want = r("regterm")
    close([t.statistic, t.ddf, t.p_value], want.select("estimate", "ci_low", "ci_high").row(0),
          SE)
    d = dclus1().with_columns(yes=pl.col("sch.wide") == "Yes")
    t = d.glm("yes ~ ell + meals + mobility", family="binomial").term_test("ell")
    want = r("regterm_bin")
    close([t.statistic, t.ddf, t.p_value], want.select("estimate", "ci_low", "ci_high").row(0),
          1e-7)
    for s in ("F", "Chisq", "Wald", "adjWald", "saddlepoint"):
        want = r(f"chisq_{s}")
        for design, name in ((dclus1(), "clus1"), (dclus1().replicates(), "rclus1")):
            got = design.chisq("sch.wide", "stype", s)
            w = want.filter(pl.col("name") == name)
            close([got.statistic, got.p_value], [w["estimate"][0], w["ci_high"][0]], SE)


def test_two_stage_designs():
    """?calibrate's two-stage example and estimators on svydesign(id = ~dnum + snum, fpc =)."""
    c2 = data("apiclus2")
    g2 = Design(c2, weights="pw", ids=["dnum", "snum"]).calibrate({"stype": TYPES})
    check(g2.mean("api00"), "cal2_mean")
    check(g2.total("enroll"), "cal2_total")
    with pytest.warns(UserWarning, match="no weights"):  # R's weights from the fpc
        d = Design(c2, ids=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    d = d.with_columns(yes=pl.col("sch.wide") == "Yes")
    t = d.glm("yes ~ ell + meals + mobility", family="binomial").term_test("ell + meals")
    want = r("regterm_clus2")
    close([t.statistic, t.ddf, t.p_value], want.select("estimate", "ci_low", "ci_high").row(0),
          1e-7)
    check(d.quantile("api00", [0.5]), "quantile_clus2", ("estimate", "se", "ci_low", "ci_high"))
    check(d.ratio("api.stu", "enroll"), "ratio_clus2")
