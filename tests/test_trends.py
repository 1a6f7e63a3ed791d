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
