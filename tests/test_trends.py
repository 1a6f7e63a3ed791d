"""Changes between editions: compare_waves, trend and published_trend."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from helpers import FakeDesign
from scipy import stats

from survey.codebook import Codebook
from survey.trends import comparability, compare_waves, estimates, published_trend, trend

FIXTURE = Path(__file__).parent / "fixtures" / "mini_codebook.yaml"


def codebook(history: list[dict] | None = None, editions: list[int] | None = None) -> Codebook:
    raw = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    for q in raw["questions"]:
        if q["id"] == "confidence":
            if history:
                q["history"] = history
            if editions:
                q["editions"] = editions
    return Codebook.from_dict(raw)


def wave(cb: Codebook, n: int, p_up: float, seed: int, edition: int) -> FakeDesign:
    rng = np.random.default_rng(seed)
    codes = cb["confidence"].codes()
    p = np.array([0.1, 0.2, 0.3, 0.0, 0.0])
    p[3], p[4] = p_up * 0.6, p_up * 0.4
    p = p / p.sum()
    frame = pl.DataFrame({
        "confidence": pl.Series(rng.choice(codes, n, p=p)).cast(cb["confidence"].enum()),
        "budget_growth_expected": rng.normal(5 + p_up * 10, 8, n),
        "weight": rng.uniform(0.5, 2, n),
    })
    return FakeDesign(frame, "weight", cb, edition)


def test_compare_waves_se_is_root_sum_of_squares() -> None:
    cb = codebook()
    a, b = wave(cb, 228, 0.3, 1, 2024), wave(cb, 228, 0.5, 2, 2025)
    ch = compare_waves(a, b, "confidence")
    ea, eb = estimates(a, "confidence"), estimates(b, "confidence")
    row = ch.filter(pl.col("row_code") == "net_increase").row(0, named=True)
    ra = ea.filter(pl.col("row_code") == "net_increase").row(0, named=True)
    rb = eb.filter(pl.col("row_code") == "net_increase").row(0, named=True)
    assert row["estimate_a"] == pytest.approx(100 * ra["estimate"])
    assert row["estimate_b"] == pytest.approx(100 * rb["estimate"])
    assert row["change"] == pytest.approx(100 * (rb["estimate"] - ra["estimate"]))
    se = 100 * math.sqrt(ra["se"] ** 2 + rb["se"] ** 2)
    assert row["se"] == pytest.approx(se)
    assert row["ci_low"] == pytest.approx(row["change"] - 1.959964 * se, rel=1e-5)
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(row["change"] / se)))
    assert row["unit"] == "pp" and row["edition_a"] == 2024 and row["comparable"]
    assert set(ch["row_code"]) == {*cb["confidence"].codes(), "net_decrease", "net_increase"}
    mean = compare_waves(a, b, "budget_growth_expected").row(0, named=True)
    assert mean["unit"] == "mean" and mean["row_kind"] == "mean"
    assert mean["se"] == pytest.approx(math.sqrt(mean["se_a"] ** 2 + mean["se_b"] ** 2))
    one = compare_waves(a, b, "confidence", level="flat")
    assert one["row_code"].to_list() == ["flat"]


def test_not_comparable_is_kept_with_a_note() -> None:
    cb = codebook(history=[{"edition": 2025, "change": "reworded", "comparable": False,
                            "note": "scale changed"}])
    a, b = wave(cb, 200, 0.3, 1, 2024), wave(cb, 200, 0.5, 2, 2025)
    ch = compare_waves(a, b, "confidence")
    assert ch.height == 7
    assert ch["change"].is_null().all() and not ch["comparable"].any()
    assert "not comparable" in ch["note"][0] and "scale changed" in ch["note"][0]
    assert comparability(cb["confidence"], 2023, 2024) == ""
    cb2 = codebook(editions=[2025])
    assert "not asked" in comparability(cb2["confidence"], 2024, 2025)


def test_trend_across_editions() -> None:
    cb = codebook(editions=[2023, 2025, 2026])
    ds = {e: wave(cb, 228, p, e, e) for e, p in [(2023, 0.2), (2024, 0.3), (2025, 0.4),
                                                (2026, 0.5)]}
    tr = trend(ds, "confidence", level="net_increase")
    assert tr["edition"].to_list() == [2023, 2024, 2025, 2026]
    assert "not asked" in tr.filter(pl.col("edition") == 2024)["note"][0]
    r25 = tr.filter(pl.col("edition") == 2025).row(0, named=True)
    r23 = tr.filter(pl.col("edition") == 2023).row(0, named=True)
    assert r25["change"] == pytest.approx(r25["estimate"] - r23["estimate"])  # vs 2023
    assert r25["change_se"] == pytest.approx(math.hypot(r25["se"], r23["se"]))
    assert r23["change"] is None
    # 0-1 shares, the package's unit
    est = estimates(ds[2025], "confidence").filter(pl.col("row_code") == "net_increase")
    assert r25["estimate"] == pytest.approx(est["estimate"][0]) and r25["unit"] == "share"


def test_published_trend_joins_microdata() -> None:
    cb = codebook(editions=[2024, 2025])
    figures = pl.DataFrame({
        "edition": [2023, 2024, 2025, 2025],
        "figure_id": ["a", "b", "c", "d"],
        "question_id": ["confidence"] * 4,
        "option_code": ["net_increase", "net_increase", "net_increase", "net_increase"],
        "measure": ["share"] * 4,
        "value": [30.0, 35.0, 41.0, 50.0],
        "unit": ["pct_respondents"] * 4,
        "segment": ["", "", "", "industry=auto"],
    })
    d25 = wave(cb, 228, 0.4, 3, 2025)
    out = published_trend(figures, "confidence", "net_increase", designs={2025: d25})
    assert out["edition"].to_list() == [2023, 2024, 2025]
    r = out.filter(pl.col("edition") == 2025).row(0, named=True)
    est = estimates(d25, "confidence").filter(pl.col("row_code") == "net_increase")
    assert r["published"] == 41.0
    assert r["estimate"] == pytest.approx(100 * est["estimate"][0])
    assert r["difference"] == pytest.approx(r["estimate"] - 41.0)
    assert "not asked" in out.filter(pl.col("edition") == 2023)["note"][0]
    assert out.filter(pl.col("edition") == 2024)["estimate"][0] is None


def test_missing_question_in_one_wave_is_noted() -> None:
    cb = codebook()
    a, b = wave(cb, 150, 0.3, 1, 2024), wave(cb, 150, 0.5, 2, 2025)
    b = FakeDesign(b.frame.drop("confidence"), "weight", cb, 2025)
    ch = compare_waves(a, b, "confidence")
    assert ch.height == 7 and ch["change"].is_null().all()
    assert "not in the wave of 2025" in ch["note"][0]
    tr = trend({2024: a, 2025: b}, "confidence")
    assert "no estimate in 2025" in tr.filter(pl.col("edition") == 2025)["note"][0]


def test_comparability_agrees_with_codebook() -> None:
    cb = codebook(history=[{"edition": 2024, "change": "options_changed", "comparable": False}],
                  editions=[2022, 2023, 2024, 2025])
    q = cb["confidence"]
    for a, b in [(2022, 2023), (2023, 2024), (2022, 2025), (2024, 2025), (2021, 2025)]:
        assert (comparability(q, a, b) == "") == q.comparable(a, b)


def test_designs_carry_their_edition_and_order_is_checked() -> None:
    """standard_design sets the edition: comparability is checked without editions=...,
    and swapping the two designs is an error, not a sign-flipped change."""
    import survey
    from survey.errors import EstimationError

    d24 = survey.standard_design(survey.load_wave(2024))
    d25 = survey.standard_design(survey.load_wave(2025))
    ch = survey.compare_waves(d24, d25, "confidence")
    assert set(ch["edition_a"]) == {2024} and set(ch["edition_b"]) == {2025}
    with pytest.raises(EstimationError, match="later than design_b"):
        survey.compare_waves(d25, d24, "confidence")


# --- every comparable question in one call (issue 13, item 6) ------------------------------------
@pytest.fixture(scope="module")
def waves_2024_2025():
    import warnings

    import survey

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (survey.standard_design(survey.load_wave(2024)),
                survey.standard_design(survey.load_wave(2025)))


def test_all_questions_in_one_call_equal_the_one_question_form(waves_2024_2025) -> None:
    d24, d25 = waves_2024_2025
    ch = compare_waves(d24, d25, adjust="holm")
    cb = d25.codebook
    asked = {q.id for q in cb if not q.segment and (q.asked_in(2024) or q.asked_in(2025))}
    assert set(ch["question_id"]) == asked
    one = compare_waves(d24, d25, "confidence")  # the report's call: points
    mine = ch.filter(pl.col("question_id") == "confidence")
    assert one["unit"].unique().to_list() == ["pp"]
    assert set(mine["unit"]) == {"share"}
    assert mine["change"].to_numpy() * 100 == pytest.approx(one["change"].to_numpy())
    assert mine["p_value"].to_numpy() == pytest.approx(one["p_value"].to_numpy())
    # Holm over every comparable row of the call (R: p.adjust(p, "holm"))
    comp = ch.filter(pl.col("p_value").is_not_null())
    p = comp["p_value"].to_numpy()
    m = len(p)
    order = np.argsort(p)
    holm = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p[order]), 1.0)
    expect = np.empty(m)
    expect[order] = holm
    assert comp["p_adjusted"].to_numpy() == pytest.approx(expect)
    assert (comp["significant"] == (comp["p_adjusted"] < 0.05)).all()


def test_grid_items_and_per_option_comparability(waves_2024_2025) -> None:
    d24, d25 = waves_2024_2025
    ch = compare_waves(d24, d25, ["media_intent", "internet_resources_increase"])
    q = d25.codebook["media_intent"]
    grid = ch.filter(pl.col("question_id") == "media_intent")
    assert set(grid["item"]) == set(q.item_codes())
    assert grid.filter(pl.col("comparable")).select(
        pl.col("row_code").str.split(":").list.first() == pl.col("item")).to_series().all()
    ok_items = set(q.comparable_items(2024, 2025))
    assert set(grid.filter(pl.col("comparable"))["item"]) <= ok_items
    # an option or question not comparable is listed, never compared
    iri = ch.filter(pl.col("question_id") == "internet_resources_increase")
    codes = set(d25.codebook["internet_resources_increase"].comparable_codes(2024, 2025))
    bad = iri.filter(~pl.col("row_code").is_in(list(codes)))
    assert bad.height > 0 and not bad["comparable"].any()
    assert bad["change"].null_count() == bad.height and (bad["note"] != "").all()


def test_where_filters_both_waves_and_states_the_bases(waves_2024_2025) -> None:
    import survey

    d24, d25 = waves_2024_2025
    ch = compare_waves(d24, d25, ["confidence"], where={"brand_type": "mature"})
    n24 = int((d24.frame["brand_type"].cast(pl.String) == "mature").sum())
    n25 = int((d25.frame["brand_type"].cast(pl.String) == "mature").sum())
    label = d25.codebook["brand_type"].label("mature", "zh")
    assert ch["base_a"][0] == f"基数：{label}，n = {n24}"
    assert ch["base_b"][0] == f"基数：{label}，n = {n25}"
    b = survey.banner(d25, ["confidence"], [], where={"brand_type": "mature"})
    est = b.to_polars()["estimate"].to_list()
    assert ch["estimate_b"].to_list() == pytest.approx(est)


def test_adjust_equals_r_p_adjust() -> None:
    from survey.banners._tabulate import _adjust

    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan, 0.2, 0.8])
    # R 4.x: p.adjust(c(0.01, 0.04, 0.03, 0.005, NA, 0.2, 0.8), method)
    r = {"holm": [0.05, 0.12, 0.12, 0.03, np.nan, 0.4, 0.8],
         "BH": [0.03, 0.06, 0.06, 0.03, np.nan, 0.24, 0.8],
         "bonferroni": [0.06, 0.24, 0.18, 0.03, np.nan, 1, 1]}
    for method, expect in r.items():
        assert _adjust(p, method) == pytest.approx(np.array(expect), nan_ok=True), method
