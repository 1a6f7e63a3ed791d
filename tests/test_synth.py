"""Synthetic waves: every published figure reproduced, contrasts, realism, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from scipy import stats

from survey.codebook import Codebook
from survey.paths import waves_dir
from survey.synth import fidelity_report, load_published, synthesize, write_editions
from survey.synth.targets import build_targets, sample_size

EDITIONS = (2025, 2024, 2023, 2022)
MINI = Path(__file__).parent / "fixtures" / "mini_codebook.yaml"


@pytest.fixture(scope="module")
def published() -> tuple[pl.DataFrame, pl.DataFrame]:
    return load_published()


@pytest.fixture(scope="module")
def codebook() -> Codebook:
    return Codebook.load()


@pytest.fixture(scope="module")
def waves(published, codebook) -> dict:
    figures, contrasts = published
    return {
        ed: synthesize(ed, codebook=codebook, figures=figures, contrasts=contrasts)
        for ed in EDITIONS
    }


@pytest.fixture(scope="module")
def reports(waves, published) -> dict[int, pl.DataFrame]:
    figures, contrasts = published
    return {ed: fidelity_report(w, figures, contrasts) for ed, w in waves.items()}


def _scores(frame: pl.DataFrame, cb: Codebook, qid: str) -> np.ndarray:
    score = {o.code: o.score for o in cb[qid].options}
    return np.array([score[c] for c in frame[qid].cast(pl.String)], float)


# -- fidelity -------------------------------------------------------------------------------------
@pytest.mark.parametrize("edition", EDITIONS)
def test_sample_size_from_count_figure(waves, published, edition):
    assert waves[edition].n == sample_size(published[0], edition)


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_published_figure_passes(reports, edition):
    rep = reports[edition]
    failing = rep.filter(pl.col("passed") == False)  # noqa: E712
    assert failing.is_empty(), failing.select("figure_id", "published", "unweighted", "raked")
    checked = rep.filter(pl.col("passed").is_not_null())
    assert checked.height >= 0.6 * rep.height


@pytest.mark.parametrize("edition", EDITIONS)
def test_shares_round_unweighted_and_raked(reports, edition):
    shares = reports[edition].filter(
        (pl.col("kind") == "figure")
        & (pl.col("measure") == "share")
        & pl.col("passed").is_not_null()
    )
    pub = shares["published"].cast(pl.Float64)
    assert ((shares["unweighted"] - pub).abs() <= 0.5).all()
    assert ((shares["raked"] - pub).abs() <= 0.5).all()


def test_published_means_within_half_point(reports):
    means = pl.concat(list(reports.values())).filter(
        (pl.col("kind") == "figure") & (pl.col("measure") == "mean")
    )
    assert means.height >= 8
    pub = means["published"].cast(pl.Float64)
    assert ((means["unweighted"] - pub).abs() < 0.5).all()
    assert ((means["raked"] - pub).abs() < 0.5).all()
    growth = reports[2025].filter(pl.col("figure_id") == "budget_growth_expected_mean")
    assert abs(growth["raked"][0] - 8) < 0.5


def test_published_orders_hold(waves):
    f25 = waves[2025].frame
    plans = f25.select(pl.col("^future_plans__.*$").mean()).row(0)
    assert len(plans) == 18
    assert plans[0] == max(plans) and sorted(plans)[-2] < plans[0]  # ai_marketing first
    for ed, rank in ((2025, 3), (2022, 6)):
        ch = waves[ed].frame.select(pl.col("^challenges__.*$").mean()).to_dicts()[0]
        comp = ch["challenges__competition"]
        assert 1 + sum(v > comp for v in ch.values()) == rank


def test_contrasts_hold_and_are_significant(reports):
    cons = reports[2025].filter(pl.col("kind") == "contrast")
    assert cons.height >= 10
    assert cons["passed"].all()
    assert (cons["p_value"] < 0.05).all()
    higher = cons.filter(pl.col("published") == "higher")
    assert (higher["unweighted"] > 0).all() and (higher["raked"] > 0).all()


# -- realism ----------------------------------------------------------------------------------------
def test_optimists_expect_more_growth(waves, codebook):
    f = waves[2025].frame
    r = stats.pearsonr(_scores(f, codebook, "confidence"), f["budget_growth_expected"].to_numpy())
    assert 0.15 < r.statistic < 0.8 and r.pvalue < 0.01


def test_cutting_brand_goes_with_lower_brand_share(waves):
    f = waves[2025].frame
    cut = f["budget_cut_response__brand_to_performance"].to_numpy()
    brand = f["budget_split__brand"].to_numpy()
    assert brand[cut].mean() < brand[~cut].mean() - 5
    assert stats.ttest_ind(brand[cut], brand[~cut]).pvalue < 0.01
    assert (f["budget_split__brand"] + f["budget_split__performance"] == 100).all()


def test_weekly_ai_users_plan_and_use_ai_marketing(waves):
    f = waves[2025].frame
    weekly = (f["ai_tool_weekly"].cast(pl.String) == "yes").to_numpy()
    plan = f["future_plans__ai_marketing"].to_numpy()
    now = (f["ai_marketing_now"].cast(pl.String) == "yes").to_numpy()
    assert plan[weekly].mean() - plan[~weekly].mean() > 0.1
    assert now[weekly].mean() - now[~weekly].mean() > 0.1


def test_market_share_change_is_an_inverted_u_in_brand_share(waves, codebook):
    f = waves[2025].frame
    y = _scores(f, codebook, "market_share_change")
    s = f["budget_split__brand"].to_numpy() / 100
    x = np.column_stack([np.ones_like(s), s, s**2])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    cov = resid @ resid / (len(y) - 3) * np.linalg.inv(x.T @ x)
    b1, b2 = beta[1], beta[2]
    opt = -b1 / (2 * b2)
    grad = np.array([0.0, -1 / (2 * b2), b1 / (2 * b2**2)])
    se = float(np.sqrt(grad @ cov @ grad))
    assert b2 < 0 and b2 / np.sqrt(cov[2, 2]) < -2
    assert 0.45 <= opt <= 0.61
    assert 0.002 < se < 0.1  # an honest, non-degenerate interval
    assert abs(opt - 0.53) < 2.6 * se + 0.01


def test_2023_budget_split_matches_the_observed_47_53(waves):
    f = waves[2023].frame
    assert abs(f["budget_split__brand"].mean() - 47) < 0.5
    assert abs(np.average(f["budget_split__brand"], weights=f["weight"]) - 47) < 0.5


# -- determinism and API -------------------------------------------------------------------------
def test_regenerating_2025_gives_the_committed_bytes(tmp_path):
    committed = waves_dir() / "2025.parquet"
    assert committed.exists(), "run survey.synth.write_editions() to create data/waves/"
    (path,) = write_editions(tmp_path, editions=[2025])
    assert path.read_bytes() == committed.read_bytes(), (
        "data/waves/2025.parquet is stale (codebook or figures changed): run `survey synth`"
    )


@pytest.mark.parametrize("edition", EDITIONS)
def test_shipped_waves_pass_fidelity(published, edition):
    from survey.io import load_wave

    wave = load_wave(edition)
    assert wave.is_synthetic and wave.n == sample_size(published[0], edition)
    rep = fidelity_report(wave, *published)
    assert not (rep["passed"] == False).any()  # noqa: E712


def test_a_different_seed_gives_a_different_file(tmp_path):
    (a,) = write_editions(tmp_path / "a", editions=[2023])
    (b,) = write_editions(tmp_path / "b", editions=[2023], seed=7)
    assert a.read_bytes() != b.read_bytes()


def test_n_override(published, codebook):
    figures, contrasts = published
    wave = synthesize(2025, n=300, seed=3, codebook=codebook, figures=figures, contrasts=contrasts)
    assert wave.n == 300 and wave.is_synthetic
    rep = fidelity_report(wave, figures, contrasts)
    shares = rep.filter(pl.col("measure").is_in(["share", "mean", "rank"]))
    assert shares["passed"].all()


def test_metadata(waves):
    meta = waves[2025].metadata
    assert meta["synthetic"] == "true" and meta["seed"] == "20251226"


# -- a new edition on the mini codebook, no code change ---------------------------------------------
def _mini_figures(edition: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [
        ("sample_size", None, None, "count", 150.0, None),
        ("conf_dec", "confidence", "net_decrease", "share", 40.0, None),
        ("conf_big_dec", "confidence", "big_decrease", "share", 12.0, None),
        ("conf_inc", "confidence", "net_increase", "share", 31.0, None),
        ("growth", "budget_growth_expected", None, "mean", 6.0, None),
        ("growth_high", "budget_growth_expected", "range:20:", "share", 15.0, None),
        ("roi", "challenges", "roi", "share", 55.0, None),
        ("roi_rank", "challenges", "roi", "rank", 1.0, None),
        ("competition_rank", "challenges", "competition", "rank", 2.0, None),
        ("mobile_inc", "media_intent", "mobile:increase", "share", 61.0, None),
        ("mobile_rank", "media_intent", "mobile:increase", "rank", 1.0, None),
        ("brand", "budget_split", "brand", "mean", 44.0, None),
        ("beauty", "industry", "beauty", "share", 30.0, None),
        ("beauty_dec", "confidence", "net_decrease", "share", 20.0, "industry=beauty"),
    ]
    figures = pl.DataFrame(
        [
            {
                "edition": edition,
                "figure_id": f,
                "question_id": q,
                "option_code": o,
                "measure": m,
                "value": v,
                "segment": s,
            }
            for f, q, o, m, v, s in rows
        ]
    )
    contrasts = pl.DataFrame(
        {
            "edition": [str(edition)],
            "contrast_id": ["auto_pessimistic"],
            "question_id": ["confidence"],
            "measure": ["mean"],
            "option_code": [None],
            "segment_variable": ["industry"],
            "level": ["auto"],
            "direction": ["lower"],
            "reference": ["rest"],
        }
    )
    return figures, contrasts


def test_new_edition_on_the_mini_codebook_needs_no_code_change():
    cb = Codebook.load(MINI)
    figures, contrasts = _mini_figures(2031)
    margins = {"industry": {"food_bev": 0.4, "beauty": 0.3, "auto": 0.3}}
    wave = synthesize(2031, codebook=cb, figures=figures, contrasts=contrasts, margins=margins)
    assert wave.n == 150
    rep = fidelity_report(wave, figures, contrasts, codebook=cb, margins=margins)
    assert rep.filter(pl.col("passed").is_null()).is_empty()
    assert rep["passed"].all(), rep.filter(~pl.col("passed"))


def test_adding_a_question_leaves_the_others_unchanged():
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    fewer = dict(raw, questions=[q for q in raw["questions"] if q["id"] != "challenges"])
    figures, contrasts = _mini_figures(2031)
    figures = figures.filter(pl.col("question_id").fill_null("") != "challenges")
    kw = {"figures": figures, "contrasts": contrasts, "margins": {}}
    a = synthesize(2031, codebook=Codebook.from_dict(raw), **kw).frame
    b = synthesize(2031, codebook=Codebook.from_dict(fewer), **kw).frame
    assert a.drop([c for c in a.columns if c.startswith("challenges__")]).equals(b)


def test_targets_fill_unpublished_options_consistently_with_ranks(codebook, published):
    figures, contrasts = published
    t = build_targets(2025, codebook, figures, contrasts)
    plans = t.questions["future_plans"].dist[""]
    assert plans["ai_marketing"] == pytest.approx(0.41)
    assert max(v for c, v in plans.items() if c != "ai_marketing") < 0.41 - 0.02
    conf = t.questions["confidence"].dist[""]
    assert sum(conf.values()) == pytest.approx(1.0)
    assert conf["small_increase"] + conf["big_increase"] == pytest.approx(0.22)
