"""Banner books: estimates, bases, the two column tests, letters, suppression and rendering."""

from __future__ import annotations

import math
import re
import shutil
import string
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from helpers import FakeDesign
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import survey.banners
from survey.banners import TEXTS_FILE, Banner, _adjust, _letters, banner, say, z_effective_base
from survey.codebook import Codebook
from survey.design import variance as V
from survey.errors import EstimationError

FIXTURE = Path(__file__).parent / "fixtures" / "mini_codebook.yaml"


def mini_codebook() -> Codebook:
    raw = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    raw["questions"].insert(0, {
        "id": "role", "section": "profile", "type": "single", "segment": True,
        "text": {"zh": "职位", "en": "Role"}, "short": {"zh": "职位", "en": "Role"},
        "options": [{"code": "mgmt", "zh": "管理层", "en": "Management"},
                    {"code": "staff", "zh": "执行层", "en": "Staff"}],
    })
    return Codebook.from_dict(raw)


def random_frame(cb: Codebook, n: int, seed: int = 0, weights: bool = True) -> pl.DataFrame:
    """A random wave for any codebook (every column typed as in a Wave)."""
    rng = np.random.default_rng(seed)
    cols: dict[str, pl.Series] = {cb.id_column: pl.Series([f"r{i}" for i in range(n)])}
    for q in cb:
        if q.type in ("single", "grid"):
            for c in q.columns():
                p = rng.dirichlet(np.ones(len(q.codes())) * 3)
                cols[c] = pl.Series(rng.choice(q.codes(), n, p=p)).cast(q.enum())
        elif q.type == "multi":
            for c in q.columns():
                cols[c] = pl.Series(rng.random(n) < rng.uniform(0.1, 0.7))
        elif q.type == "numeric":
            lo, hi = q.range or (0.0, 100.0)
            cols[q.id] = pl.Series(np.clip(rng.normal((lo + hi) / 4, (hi - lo) / 10, n), lo, hi))
        else:
            parts = rng.dirichlet(np.ones(len(q.items)), n) * (q.total or 100)
            for j, c in enumerate(q.columns()):
                cols[c] = pl.Series(parts[:, j])
    if weights:
        cols[cb.weight_column] = pl.Series(rng.uniform(0.5, 2.0, n))
    return pl.DataFrame(cols)


def two_group_frame(sizes: dict[str, int], yes: dict[str, int]) -> pl.DataFrame:
    seg, y = [], []
    for g, k in sizes.items():
        seg += [g] * k
        y += [True] * yes[g] + [False] * (k - yes[g])
    return pl.DataFrame({"seg": seg, "y": pl.Series(y).cast(pl.Int8).cast(pl.String)})


# ---------------------------------------------------------------------------------------------
def test_letters_beyond_z() -> None:
    assert _letters(3) == ["A", "B", "C"]
    assert _letters(28)[25:] == ["Z", "AA", "AB"]


def test_effective_base_z_by_hand() -> None:
    # column A: 100 respondents, 50 with weight 1 (30 yes) and 50 with weight 2 (30 yes)
    # column B: 100 respondents with weight 1 (40 yes)
    w = [1.0] * 50 + [2.0] * 50 + [1.0] * 100
    yv = [1] * 30 + [0] * 20 + [1] * 30 + [0] * 20 + [1] * 40 + [0] * 60
    frame = pl.DataFrame({"seg": ["a"] * 100 + ["b"] * 100, "y": [str(v) for v in yv], "w": w})
    b = banner(FakeDesign(frame, "w"), ["y"], ["seg"], test="effective_base")
    cells = b.to_polars().filter(pl.col("row_code") == "1")
    a = cells.filter(pl.col("col_level") == "a").row(0, named=True)
    bb = cells.filter(pl.col("col_level") == "b").row(0, named=True)
    # by hand: p_A = (30*1 + 30*2) / (50*1 + 50*2) = 90/150 = 0.6, n_eff_A = 150² / (50 + 200) = 90
    assert a["estimate"] == pytest.approx(0.6)
    assert a["n_eff"] == pytest.approx(90.0)
    assert a["n"] == 100
    assert bb["estimate"] == pytest.approx(0.4) and bb["n_eff"] == pytest.approx(100.0)
    pooled = (90 * 0.6 + 100 * 0.4) / 190  # = 94/190
    z = (0.6 - 0.4) / math.sqrt(pooled * (1 - pooled) * (1 / 90 + 1 / 100))
    # 94/190 = 0.494737; p(1-p) = 0.249972; × (1/90 + 1/100) = 0.0052772; 0.2 / 0.072644
    assert z == pytest.approx(2.7531, abs=1e-3)
    assert z_effective_base(0.6, 90, 0.4, 100) == pytest.approx(z)
    t = b.tests().filter(pl.col("row_code") == "1").row(0, named=True)
    assert t["stat"] == pytest.approx(z)
    assert t["p_value"] == pytest.approx(2 * stats.norm.sf(z))
    # significant at 0.05 (p ≈ 0.007): letter B in column A, nothing in B
    assert a["sig_higher_than"] == "B" and bb["sig_higher_than"] == ""
    assert a["se"] == pytest.approx(math.sqrt(0.6 * 0.4 / 90))
    # not at alpha = 0.005
    b2 = banner(FakeDesign(frame, "w"), ["y"], ["seg"], test="effective_base", alpha=0.005)
    assert (b2.to_polars()["sig_higher_than"] == "").all()


def test_design_test_unit_weights_matches_direct_computation() -> None:
    rng = np.random.default_rng(3)
    n = 300
    seg = rng.choice(["a", "b", "c"], n, p=[0.3, 0.3, 0.4])
    y = (rng.random(n) < np.where(seg == "a", 0.7, 0.4)).astype(int)
    frame = pl.DataFrame({"seg": seg, "y": y.astype(str)})
    b = banner(FakeDesign(frame), ["y"], ["seg"], test="design")
    tests = b.tests().filter(pl.col("row_code") == "1")
    for row in tests.iter_rows(named=True):
        ya, yb = y[seg == row["col_a"]], y[seg == row["col_b"]]
        pa, pb = ya.mean(), yb.mean()
        # linearised domain means in one sample (each respondent its own PSU): the covariance of
        # the two domain estimates is exactly 0 and each variance is n/(n-1) p(1-p)/n_d
        var = n / (n - 1) * (pa * (1 - pa) / len(ya) + pb * (1 - pb) / len(yb))
        assert row["diff"] == pytest.approx(pa - pb)
        assert row["se_diff"] == pytest.approx(math.sqrt(var), rel=1e-10)
        assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(pa - pb) / math.sqrt(var), n - 1))
    cells = b.to_polars().filter(pl.col("row_code") == "1", pl.col("col_level") == "a")
    pa = y[seg == "a"].mean()
    assert cells["se"][0] == pytest.approx(math.sqrt(n / (n - 1) * pa * (1 - pa) / (seg == "a").sum()))


def test_design_covariance_is_used_when_domains_correlate() -> None:
    # with a stratified design the two domain estimates are correlated; the test must use
    # V_aa + V_bb - 2 V_ab from the joint influence functions, not the sum of the variances
    rng = np.random.default_rng(5)
    n = 400
    strata = rng.choice(["s1", "s2"], n)
    seg = rng.choice(["a", "b"], n)
    y = (rng.random(n) < np.where(strata == "s1", 0.8, 0.2)).astype(float)
    w = np.where(strata == "s1", 1.0, 3.0)
    frame = pl.DataFrame({"seg": seg, "y": y.astype(int).astype(str), "w": w, "st": strata})

    @dataclass
    class Stratified(FakeDesign):
        strata: str | None = None

    d = Stratified(frame, "w", None, strata="st")
    t = banner(d, ["y"], ["seg"]).tests().filter(pl.col("row_code") == "1").row(0, named=True)
    ia, ib = seg == "a", seg == "b"
    pa = (w * y)[ia].sum() / w[ia].sum()
    pb = (w * y)[ib].sum() / w[ib].sum()
    Z = np.column_stack([ia * w * (y - pa) / w[ia].sum(), ib * w * (y - pb) / w[ib].sum()])
    cov = V.vcov_totals(Z, V.make_structure(strata, None, None, n), None)
    assert abs(cov[0, 1]) > 1e-6
    assert t["se_diff"] == pytest.approx(math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]))


def test_letters_go_to_the_higher_column() -> None:
    frame = two_group_frame({"a": 100, "b": 100, "c": 100}, {"a": 80, "b": 20, "c": 50})
    for test in ("design", "effective_base"):
        cells = banner(FakeDesign(frame), ["y"], ["seg"], test=test).to_polars()
        got = dict(cells.filter(pl.col("row_code") == "1", pl.col("col_variable") == "seg")
                   .select("col_level", "sig_higher_than").iter_rows())
        assert got == {"a": "BC", "b": "", "c": "B"}
        low = dict(cells.filter(pl.col("row_code") == "0", pl.col("col_variable") == "seg")
                   .select("col_level", "sig_higher_than").iter_rows())
        assert low == {"a": "", "b": "AC", "c": "A"}
        assert cells.filter(pl.col("col_variable") == "total")["letter"].is_null().all()


def test_multiple_comparison_adjustment() -> None:
    p = np.array([0.01, 0.04, 0.03, np.nan])
    np.testing.assert_allclose(_adjust(p, "bonferroni")[:3], [0.03, 0.12, 0.09])
    np.testing.assert_allclose(_adjust(p, "holm")[:3], [0.03, 0.06, 0.06])
    assert np.isnan(_adjust(p, "holm")[3])
    # a difference significant unadjusted but not after Bonferroni over 3 pairs
    frame = two_group_frame({"a": 200, "b": 200, "c": 200}, {"a": 110, "b": 90, "c": 100})
    raw = banner(FakeDesign(frame), ["y"], ["seg"], test="effective_base", alpha=0.1)
    adj = banner(FakeDesign(frame), ["y"], ["seg"], test="effective_base", alpha=0.1,
                 adjust="bonferroni")
    r = raw.tests().filter(pl.col("row_code") == "1", pl.col("col_a") == "a",
                           pl.col("col_b") == "b").row(0, named=True)
    a = adj.tests().filter(pl.col("row_code") == "1", pl.col("col_a") == "a",
                           pl.col("col_b") == "b").row(0, named=True)
    assert a["p_adjusted"] == pytest.approx(min(1.0, 3 * r["p_value"]))
    assert r["significant"] and not a["significant"]


def test_nets_equal_sum_of_members_and_estimates_match_weighted_shares() -> None:
    cb = mini_codebook()
    frame = random_frame(cb, 500, seed=1)
    b = banner(FakeDesign(frame, "weight", cb), ["confidence", "challenges"], ["role"])
    cells = b.to_polars()
    conf = cells.filter(pl.col("question_id") == "confidence")
    for col in ("total", "mgmt", "staff"):
        c = conf.filter(pl.col("col_level") == col)
        est = dict(c.select("row_code", "estimate").iter_rows())
        assert est["net_decrease"] == pytest.approx(est["big_decrease"] + est["small_decrease"])
        assert est["net_increase"] == pytest.approx(est["small_increase"] + est["big_increase"])
        assert sum(est[k] for k in cb["confidence"].codes()) == pytest.approx(1.0)
        assert set(c["row_kind"]) == {"option", "net"}
    w = frame["weight"].to_numpy()
    mg = (frame["role"] == "mgmt").to_numpy()
    sel = frame["challenges__roi"].to_numpy()
    got = cells.filter(pl.col("row_code") == "roi", pl.col("col_level") == "mgmt")
    assert got["estimate"][0] == pytest.approx((w * sel)[mg].sum() / w[mg].sum())
    assert got["n"][0] == mg.sum()
    assert got["n_eff"][0] == pytest.approx(w[mg].sum() ** 2 / (w[mg] ** 2).sum())


def test_grid_numeric_and_constant_sum_rows() -> None:
    cb = mini_codebook()
    frame = random_frame(cb, 300, seed=2)
    cells = banner(FakeDesign(frame, "weight", cb),
                   ["media_intent", "budget_growth_expected", "budget_split"], ["industry"]
                   ).to_polars()
    grid = cells.filter(pl.col("question_id") == "media_intent")
    assert set(grid["item"]) == {"mobile", "outdoor"}
    assert "mobile:increase" in set(grid["row_code"])
    num = cells.filter(pl.col("question_id") == "budget_growth_expected",
                       pl.col("col_variable") == "total").row(0, named=True)
    v, w = frame["budget_growth_expected"].to_numpy(), frame["weight"].to_numpy()
    assert num["row_kind"] == "mean"
    assert num["estimate"] == pytest.approx((w * v).sum() / w.sum())
    m = num["estimate"]
    se = math.sqrt(len(v) / (len(v) - 1) * ((w * (v - m) / w.sum()) ** 2).sum())
    assert num["se"] == pytest.approx(se)
    split = cells.filter(pl.col("question_id") == "budget_split", pl.col("col_level") == "total")
    assert split["estimate"].sum() == pytest.approx(100.0)


def test_suppression_flagging_and_empty_level() -> None:
    frame = two_group_frame({"a": 100, "b": 40, "c": 20}, {"a": 90, "b": 10, "c": 2})
    frame = frame.with_columns(pl.col("seg").cast(pl.Enum(["a", "b", "c", "d"])))
    b = banner(FakeDesign(frame), ["y"], ["seg"])
    cells = b.to_polars().filter(pl.col("col_variable") == "seg", pl.col("row_code") == "1")
    by = {r["col_level"]: r for r in cells.iter_rows(named=True)}
    assert by["a"]["sig_higher_than"] == "B"  # C is suppressed: not tested
    assert by["b"]["low_base"] and not by["b"]["suppressed"]
    assert by["c"]["suppressed"] and by["c"]["estimate"] is None and by["c"]["se"] is None
    assert by["c"]["sig_higher_than"] == ""
    # the empty level is kept as a column with n = 0, suppressed (a book keeps its layout)
    assert by["d"]["n"] == 0 and by["d"]["suppressed"] and by["d"]["estimate"] is None
    tested = b.tests().filter(pl.col("row_code") == "1")
    assert tested.filter(pl.col("col_b") == "c")["p_value"].is_null().all()
    html = b.to_html()
    assert "†" in html and "*" in html
    b0 = banner(FakeDesign(frame), ["y"], ["seg"], suppress_below=0, flag_below=0)
    assert b0.to_polars().filter(pl.col("col_level") == "c")["estimate"].is_not_null().all()


def test_unknown_variables_raise() -> None:
    frame = two_group_frame({"a": 10}, {"a": 5})
    with pytest.raises(EstimationError, match="segment variable 'nope'"):
        banner(FakeDesign(frame), ["y"], ["nope"])
    with pytest.raises(EstimationError, match="row variable 'nope'"):
        banner(FakeDesign(frame), ["nope"], ["seg"])
    with pytest.raises(EstimationError):
        banner(FakeDesign(frame), ["y"], ["seg"], test="chi2")  # type: ignore[arg-type]


def test_gt_renders_labels_letters_bases_and_note() -> None:
    cb = mini_codebook()
    frame = random_frame(cb, 400, seed=4)
    # make management clearly more optimistic so that a letter appears
    frame = frame.with_columns(
        pl.when(pl.col("role") == "mgmt").then(pl.lit("big_increase"))
        .otherwise(pl.col("confidence")).cast(cb["confidence"].enum()).alias("confidence"))
    b = banner(FakeDesign(frame, "weight", cb), ["confidence"], ["role", "industry"])
    html = b.to_gt().as_raw_html()
    for s in ("明年中国营销投资将", "管理层 (A)", "执行层 (B)", "食品饮料 (A)", "职位", "所属行业",
              "总体", "基数（未加权）", "有效基数", "减少(合计)", "α=0.05"):
        assert s in html, s
    big = b.to_polars().filter(pl.col("row_code") == "big_increase", pl.col("col_level") == "mgmt")
    assert big["sig_higher_than"][0] == "B"
    assert f"{big['estimate'][0] * 100:.0f}% B" in html
    en = b.to_gt(lang="en").as_raw_html()
    for s in ("Management (A)", "Total", "Base (unweighted)", "Decrease (net)"):
        assert s in en, s
    assert "管理层" not in en
    assert b.to_polars(lang="en")["row_label"].to_list()[0] == "Large decrease"


def test_tidy_frame_columns() -> None:
    cb = mini_codebook()
    b = banner(FakeDesign(random_frame(cb, 100), "weight", cb), ["challenges"], ["role"])
    assert isinstance(b, Banner)
    assert b.to_polars().columns == [
        "question_id", "item", "row_code", "row_label", "row_kind", "col_variable", "col_level",
        "col_label", "letter", "estimate", "se", "n", "n_eff", "sig_higher_than", "suppressed",
        "low_base", "count", "base_weighted", "row_pct", "vs_total", "not_asked", "deff"]
    assert b.to_polars().height == 3 * 3  # 3 options × (total + 2 roles)


def _book_2025():
    """The 2025 wave's raked design, every question asked in it and every segment variable."""
    import survey
    from survey.weighting import standard_design

    d = standard_design(survey.load_wave(2025))
    cb = d.codebook
    rows = [q.id for q in cb if all(c in d.frame.columns for c in q.columns())]
    return d, rows, [q.id for q in cb.segments()]


def _time_book(design, rows, segs, engine: str) -> tuple[float, pl.DataFrame, str]:
    """CPU seconds of the process (a shared machine's load stretches wall time, not CPU)."""
    t0 = time.process_time()
    b = banner(design, rows, segs)
    tidy = b.to_polars()
    html = b.to_html(engine=engine)  # type: ignore[arg-type]
    return time.process_time() - t0, tidy, html


def test_whole_book_is_fast() -> None:
    """The whole 2025 book (every question × every segment variable of the raked n = 228 design,
    to_polars + HTML). The target is < 1 s on an idle machine (``bench/bench_banner.py --book``);
    the machine running the tests is shared, so this checks a generous 2.5 s of CPU (best of 3)
    and,
    measured in the same process under the same load, that the book takes well under the time
    great-tables needs to render its HTML cell by cell.
    """
    from great_tables import GT

    GT(pl.DataFrame({"a": [1]})).as_raw_html()  # one-off imports
    d, rows, segs = _book_2025()
    fast = [_time_book(d, rows, segs, "fast") for _ in range(3)]
    slow = min(_time_book(d, rows, segs, "great_tables")[0] for _ in range(2))
    best = min(t for t, _, _ in fast)
    tidy, html = fast[0][1], fast[0][2]
    print(f"\nwhole 2025 book: {len(rows)} questions × {len(segs)} segment variables, "
          f"{tidy.height} cells, {len(html) / 1e6:.1f} MB HTML in {best:.2f} s (best of 3; "
          f"with great-tables' cell-by-cell HTML {slow:.2f} s)")
    assert tidy.height > 5000 and html.count("<td ") > 10_000
    assert best < 2.5
    assert best < 0.8 * slow


def _html_cases() -> list[tuple[Banner, str, int]]:
    cb = mini_codebook()
    frame = random_frame(cb, 300, seed=12)
    d = FakeDesign(frame, "weight", cb)
    rows = [q.id for q in cb if q.id != "role"]
    odd = pl.DataFrame({  # labels that need escaping, and a row variable outside the codebook
        "seg": ["a<b", 'x & "y"', "c0"] * 40,
        "v": ["<i>1</i>", "2 & 3", "4"] * 39 + ["<i>1</i>"] * 3,
    })
    return [
        (banner(d, rows, ["role", "industry"]), "zh", 0),
        (banner(d, rows, ["role"], test="effective_base", adjust="holm"), "en", 1),
        (banner(d, ["confidence"], ["role"]), "zh", 0),  # one block: no row groups
        (banner(d, ["confidence", "challenges", "confidence"], ["role"]), "en", 0),  # repeated
        (banner(FakeDesign(odd), ["v"], ["seg"], suppress_below=0), "zh", 1),
        (banner(FakeDesign(odd), ["v", "v"], ["seg"], include_total=False), "en", 0),
    ]


def test_fast_html_is_great_tables_html() -> None:
    """to_html() writes the body rows itself: byte for byte great-tables' rendering."""
    for b, lang, dec in _html_cases():
        want = b.to_gt(lang, decimals=dec).as_raw_html()
        assert b.to_html(lang, decimals=dec) == want
        assert b.to_html(lang, decimals=dec, engine="great_tables") == want
    with pytest.raises(EstimationError, match="unknown engine"):
        b.to_html(engine="nope")  # type: ignore[arg-type]


def _real_design(n: int, seed: int, *, strata: bool, clusters: bool, rake: bool):
    from survey.design import Design

    rng = np.random.default_rng(seed)
    stratum = rng.choice(["s1", "s2", "s3"], n)
    psu = np.array([f"{s}-{k}" for s, k in zip(stratum, rng.integers(0, 6, n), strict=True)])
    frame = pl.DataFrame({
        "seg": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "seg2": rng.choice(["x", "y"], n),
        "m1": rng.choice(["u", "v", "z"], n),
        "m2": rng.choice(["p", "q"], n),
        "st": stratum, "psu": psu,
        "w": rng.uniform(0.5, 3.0, n),
    })
    y = (rng.random(n) < 0.3 + 0.3 * (frame["seg"] == "a").to_numpy()
         + 0.2 * (frame["m1"] == "u").to_numpy())
    frame = frame.with_columns(pl.Series("y", y.astype(int).astype(str)),
                               pl.Series("num", rng.normal(10, 3, n)))
    d = Design(frame, weights="w", strata="st" if strata else None,
               ids="psu" if clusters else None)
    if rake:
        d = d.rake({"m1": {"u": 0.5, "v": 0.3, "z": 0.2}, "m2": {"p": 0.4, "q": 0.6}})
    return d


@pytest.mark.parametrize("strata,clusters,rake", [
    (False, False, False), (True, False, False), (False, False, True), (True, False, True),
    (True, True, False), (True, True, True),
])
def test_aggregated_variance_equals_design_primitive(strata: bool, clusters: bool,
                                                     rake: bool) -> None:
    d = _real_design(600, 21, strata=strata, clusters=clusters, rake=rake)
    a = banner(d, ["y", "num"], ["seg", "seg2"], _variance="primitive")
    b = banner(d, ["y", "num"], ["seg", "seg2"], _variance="aggregated")
    np.testing.assert_allclose(a.to_polars()["se"].to_numpy(), b.to_polars()["se"].to_numpy(),
                               rtol=1e-9)
    np.testing.assert_allclose(a.tests()["se_diff"].to_numpy(), b.tests()["se_diff"].to_numpy(),
                               rtol=1e-9)


def test_banner_matches_design_estimators() -> None:
    d = _real_design(500, 8, strata=True, clusters=False, rake=True)
    cells = banner(d, ["num"], ["seg"], suppress_below=0).to_polars().filter(
        pl.col("col_variable") == "seg")
    ref = d.by("seg").mean("num").sort("seg")
    got = cells.sort("col_level")
    np.testing.assert_allclose(got["estimate"].to_numpy(), ref["estimate"].to_numpy())
    np.testing.assert_allclose(got["se"].to_numpy(), ref["se"].to_numpy(), rtol=1e-9)


def test_trimmed_raked_design_uses_the_raking_weights() -> None:
    d = _real_design(500, 8, strata=True, clusters=False, rake=True)
    t = d.trim(upper=float(d.weights.mean()) * 1.5, strict=True)
    assert not np.array_equal(t.weights, d.weights)
    cells = banner(t, ["num", "y"], ["seg"], suppress_below=0).to_polars().filter(
        pl.col("col_variable") == "seg")
    ref = t.by("seg").mean("num").sort("seg")
    got = cells.filter(pl.col("row_code") == "mean").sort("col_level")
    np.testing.assert_allclose(got["estimate"].to_numpy(), ref["estimate"].to_numpy())
    np.testing.assert_allclose(got["se"].to_numpy(), ref["se"].to_numpy(), rtol=1e-9)
    untrimmed = banner(d, ["num"], ["seg"], suppress_below=0).to_polars().filter(
        pl.col("col_variable") == "seg").sort("col_level")
    assert not np.allclose(untrimmed["se"].to_numpy(), got["se"].to_numpy(), rtol=1e-6)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R not installed")
def test_raked_design_test_matches_r_survey(tmp_path: Path) -> None:
    """Raked design: Var(p_a - p_b) includes the calibration covariance; R's rake() agrees."""
    if subprocess.run(["Rscript", "-e", "library(survey)"], capture_output=True).returncode:
        pytest.skip("R package survey not installed")
    d = _real_design(400, 13, strata=False, clusters=False, rake=True)
    d.frame.with_columns(pl.col("y").cast(pl.Int64)).write_csv(tmp_path / "d.csv")
    ours = banner(d, ["y"], ["seg"], suppress_below=0).tests().filter(pl.col("row_code") == "1").sort(
        "col_a", "col_b")
    # svyby(covmat=TRUE) fails on raked designs in R 4.1's survey; use totals + svycontrast
    script = f"""
suppressPackageStartupMessages(library(survey))
d <- read.csv("{tmp_path / 'd.csv'}")
for (l in c("a","b","c","d")) {{ d[[paste0("y",l)]] <- d$y*(d$seg==l); d[[paste0("d",l)]] <- 1*(d$seg==l) }}
des <- svydesign(ids=~1, weights=~w, data=d)
N <- sum(d$w)
des <- rake(des, list(~m1, ~m2),
            list(data.frame(m1=c("u","v","z"), Freq=N*c(.5,.3,.2)),
                 data.frame(m2=c("p","q"), Freq=N*c(.4,.6))),
            control=list(maxit=100, epsilon=1e-12))
tt <- svytotal(~ya+yb+yc+yd+da+db+dc+dd, des)
lv <- c("a","b","c","d")
for (i in 1:3) for (j in (i+1):4) {{
  e <- parse(text=sprintf("y%s/d%s - y%s/d%s", lv[i], lv[i], lv[j], lv[j]))[[1]]
  cat(format(SE(svycontrast(tt, e)), digits=15), "\\n")
}}
v <- vcov(svycontrast(tt, list(a=quote(ya/da), b=quote(yb/db))))
cat(format(v[1, 2], digits=15), "\\n")
"""
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True)
    vals = [float(x) for x in out.stdout.split()]
    assert abs(vals[-1]) > 0  # calibration makes the domain estimates correlated
    np.testing.assert_allclose(ours["se_diff"].to_numpy(), vals[:-1], rtol=1e-6)


def test_effective_base_means_and_no_total() -> None:
    rng = np.random.default_rng(4)
    n = 400
    seg = rng.choice(["a", "b"], n)
    v = rng.normal(np.where(seg == "a", 12.0, 10.0), 3.0)
    w = rng.uniform(0.5, 2.0, n)
    frame = pl.DataFrame({"seg": seg, "v": v, "w": w})
    b = banner(FakeDesign(frame, "w"), ["v"], ["seg"], test="effective_base", include_total=False)
    cells = b.to_polars()
    assert set(cells["col_variable"]) == {"seg"}
    t = b.tests().row(0, named=True)
    stats_ = {}
    for g in ("a", "b"):
        m = seg == g
        mean = (w[m] * v[m]).sum() / w[m].sum()
        var = (w[m] * (v[m] - mean) ** 2).sum() / w[m].sum()
        stats_[g] = (mean, var, w[m].sum() ** 2 / (w[m] ** 2).sum())
    (ma, va, na), (mb, vb, nb) = stats_["a"], stats_["b"]
    assert t["stat"] == pytest.approx((ma - mb) / math.sqrt(va / na + vb / nb))
    assert cells.filter(pl.col("col_level") == "a")["sig_higher_than"][0] == "B"


def test_empty_banner_cannot_render() -> None:
    frame = two_group_frame({"a": 10}, {"a": 5})
    b = banner(FakeDesign(frame), [], ["seg"])
    assert b.to_polars().height == 0
    with pytest.raises(EstimationError, match="no cells"):
        b.to_gt()


@given(st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=12))
@settings(max_examples=60, deadline=None)
def test_adjustments_are_ordered(ps: list[float]) -> None:
    p = np.array(ps)
    holm, bonf = _adjust(p, "holm"), _adjust(p, "bonferroni")
    assert np.all(p <= holm + 1e-15) and np.all(holm <= bonf + 1e-15) and np.all(bonf <= 1.0)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(holm[order]) >= -1e-15)  # Holm keeps the order of the p-values


# --- the text catalog (survey/banners.yml) --------------------------------------------------------
def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_catalog_entries_are_bilingual_with_the_same_placeholders() -> None:
    from survey.present.text import Texts

    texts = Texts.load(TEXTS_FILE)
    assert TEXTS_FILE.parent == Path(survey.banners.__file__).parent  # shipped in the package
    assert {"total", "base", "base_eff", "mean", "block_item", "note", "test.design",
            "test.effective_base", "adjust.bonferroni", "adjust.holm"} <= set(texts.entries)
    for key, entry in texts.entries.items():
        assert set(entry) == {"zh", "en"}, key
        assert entry["zh"].strip() and entry["en"].strip(), key
        assert _placeholders(entry["zh"]) == _placeholders(entry["en"]), key
        # Chinese texts use full-width punctuation (placeholders aside)
        bare = re.sub(r"\{[^{}]*\}", "", entry["zh"])
        assert not re.search(r"[,:;()]", bare), (key, entry["zh"])
        assert not re.search(r"[\u4e00-\u9fff]", entry["en"]), (key, entry["en"])


def test_banners_source_has_no_cjk_literals() -> None:
    """User-facing Chinese lives in the catalog: no CJK string literal in the code of the
    banner and export packages (docstrings, examples included, are documentation)."""
    import ast

    import survey.export

    hits = []
    for here in (Path(survey.banners.__file__).parent, Path(survey.export.__file__).parent):
        for f in sorted(here.glob("*.py")):
            tree = ast.parse(f.read_text(encoding="utf-8"))
            docs = {id(n.body[0].value) for n in ast.walk(tree)
                    if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef) and n.body
                    and isinstance(n.body[0], ast.Expr)}
            hits += [(f.name, n.lineno) for n in ast.walk(tree)
                     if isinstance(n, ast.Constant) and isinstance(n.value, str)
                     and id(n) not in docs and re.search(r"[\u4e00-\u9fff]", n.value)]
    assert hits == [], f"user-facing Chinese text belongs in {TEXTS_FILE.name}: {hits}"


def test_rendered_labels_and_note_come_from_the_catalog() -> None:
    cb = mini_codebook()
    d = FakeDesign(random_frame(cb, 300, seed=3), "weight", cb)
    b = banner(d, ["media_intent", "budget_growth_expected"], ["role"], test="effective_base",
               adjust="bonferroni")
    for lang in ("zh", "en"):
        html = b.to_html(lang)
        note = say("note", lang, test=say("test.effective_base", lang), alpha=0.05,
                   adj=say("adjust.bonferroni", lang), sup=30, flag=50)
        assert note.replace("<", "&lt;") in html
        for key in ("total", "base", "base_eff", "mean"):
            assert f">{say(key, lang)}<" in html, (lang, key)
    note_zh = say("note", "zh", test=say("test.design", "zh"), alpha=0.05, adj="", sup=30, flag=50)
    assert note_zh.startswith("列比较：基于设计的检验，双侧，α=0.05。")
    assert "*：基数<30，不显示、不检验；†：基数<50，谨慎解读。" in note_zh
    assert say("adjust.holm", "zh") == "，Holm 校正"
    # a grid item's block title: full-width colon in Chinese, ": " in English
    titles = b.cells.filter(pl.col("question_id") == "media_intent")
    item = cb["media_intent"].items[0]
    assert f"{cb['media_intent'].short_label('zh')}：{item.zh}" in titles["block_label_zh"]
    assert f"{cb['media_intent'].short_label('en')}: {item.en}" in titles["block_label_en"]
    assert b.to_polars("zh").filter(pl.col("row_kind") == "mean")["row_label"][0] == "均值"


def test_missing_segment_values_are_reported_not_dropped() -> None:
    """Respondents without a segment value count in Total only, and the note says how many."""
    import survey

    wave = survey.load_wave(2025)
    frame = wave.frame.with_columns(
        pl.when(pl.int_range(pl.len()) < 30).then(None).otherwise(pl.col("brand_type"))
        .alias("brand_type")
    )
    book = survey.banner(
        survey.Design(frame, codebook=wave.codebook), rows=["confidence"], cols=["brand_type"]
    )
    cells = book.to_polars()
    bases = cells.filter(pl.col("row_code") == "big_decrease").select("col_variable", "n")
    total = bases.filter(pl.col("col_variable") == "total")["n"][0]
    levels = bases.filter(pl.col("col_variable") == "brand_type")["n"].sum()
    assert total - levels == 30
    label = wave.codebook["brand_type"].short_label("zh")
    assert f"{label}：30 位受访者未回答，只计入总体。" in book.to_gt("zh").as_raw_html()
