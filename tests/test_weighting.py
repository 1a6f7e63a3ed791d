"""Standard weights per edition: raked to margins, declared `none`, or no margins at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import survey
from survey.codebook import Codebook
from survey.errors import WeightingError
from survey.wave import Wave
from survey.weighting import (
    edition_weighting,
    load_margins,
    margin_editions,
    standard_design,
    standard_margins,
)

MARGINS_2025 = (
    "2025:\n"
    "  brand_type: {mature: 0.70, emerging: 0.30}\n"
    "  budget_size: {small: 0.35, medium: 0.40, large: 0.25}\n"
)


@pytest.fixture(scope="module")
def cb() -> Codebook:
    return Codebook.load()


@pytest.fixture(scope="module")
def wave() -> Wave:
    return survey.load_wave(2025)


def _file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "weighting.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_edition_with_margins_is_raked(tmp_path, cb, wave):
    p = _file(tmp_path, MARGINS_2025)
    how = edition_weighting(2025, cb, path=p)
    assert (how.kind, how.reason) == ("raked", None)
    d = standard_design(wave, path=p)
    shares = d.proportion("brand_type")
    got = dict(zip(shares["level"], shares["estimate"], strict=True))
    assert got == pytest.approx({"mature": 0.70, "emerging": 0.30}, abs=1e-9)
    assert d.weighting == "raked" and d.weighting_note("en") == how.note("en", cb)
    assert d.with_columns(x=pl.lit(1)).weighting == "raked"  # kept by copies
    assert how.note("en", cb) == (
        "The 2025 edition's results are weighted (raked) to the population shares of "
        "brand type and budget size."
    )
    assert how.note("zh", cb) == "2025年版结果按品牌类型、预算规模的总体分布加权（迭代比例拟合）。"


@pytest.mark.parametrize("entry", ["none", "None", "NONE", "", "{}"])
def test_edition_declared_none_is_unweighted(tmp_path, cb, wave, entry):
    p = _file(tmp_path, f"2024: none\n2025: {entry}\n")
    how = edition_weighting(2025, cb, path=p)
    assert (how.kind, how.reason, how.margins) == ("none", "declared", {})
    assert load_margins(2025, cb, path=p) == {}
    assert standard_margins(2025, cb, path=p) is None
    assert margin_editions(path=p) == []
    d = standard_design(wave, path=p)
    assert np.all(d.weights == 1.0) and d.n == wave.n
    assert d.weighting == "none" and d.weighting_note("zh") == how.note("zh")
    # unweighted estimate = the plain share of the respondents
    plain = wave.frame["brand_type"].cast(pl.String).value_counts(normalize=True)
    want = dict(plain.iter_rows())
    est = d.proportion("brand_type")
    assert dict(zip(est["level"], est["estimate"], strict=True)) == pytest.approx(want)
    assert "weighting is set to none" in how.note("en")
    assert how.note("zh").startswith("2025年版结果未加权")


def test_edition_without_an_entry_is_unweighted_not_an_error(tmp_path, cb, wave):
    p = _file(tmp_path, MARGINS_2025.replace("2025", "2024"))
    how = edition_weighting(2025, cb, path=p)
    assert (how.kind, how.reason) == ("none", "missing")
    # the synthetic wave brings (unequal) weights: without margins they are used as they are
    d = standard_design(wave, path=p)
    assert np.allclose(d.weights, wave.frame["weight"].to_numpy())
    assert d.weighting == "given" and "weights delivered with the data" in d.weighting_note("en")
    # without a weight column: equal weights
    bare = Wave(frame=wave.frame.drop("weight"), edition=2025, codebook=cb, source=None)
    plain = standard_design(bare, path=p)
    assert np.all(plain.weights == 1.0) and plain.weighting == "none"
    assert "no population shares are available" in plain.weighting_note("en")
    # the margins of such an edition are none; strict=True insists on having them
    assert load_margins(2025, cb, path=p) == {}
    with pytest.raises(WeightingError, match="has no margins for edition 2025") as info:
        load_margins(2025, cb, path=p, strict=True)
    assert info.value.file == str(p) and info.value.value == 2025


def test_notes_are_one_sentence_in_each_language(cb):
    from survey.weighting import Weighting

    for w in (
        Weighting(2026, "none", {}, "missing"),
        Weighting(2026, "none", {}, "declared"),
        Weighting(2026, "given", {}, "missing"),
    ):
        en, zh = w.note("en"), w.note("zh")
        assert en.startswith("The 2026 edition") and en.endswith(".") and en.count(". ") == 0
        assert zh.startswith("2026年版") and zh.endswith("。") and zh.count("。") == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025: weighted\n", "'weighted' is neither margins nor 'none'"),
        ("2025:\n  brand_type: [mature, emerging]\n", "is not a mapping of levels to shares"),
        ("2025:\n  brand_type: {mature: a, emerging: b}\n", "are not all numbers"),
        ("2025:\n  brand_type: {mature: 0.7, emerging: 0.2}\n", "shares sum to 0.9"),
        (
            "2025:\n  brand_type: {mature: 0.7, startup: 0.3}\n",
            "unknown level\\(s\\) \\['startup'\\]",
        ),
        ("2025:\n  confidence: {flat: 1.0}\n", "not a single-select segment question"),
        ("- 2025\n", "expected a mapping of editions to margins"),
    ],
)
def test_wrong_margins_are_clear_errors_even_in_the_standard_path(
    tmp_path, cb, wave, text, message
):
    p = _file(tmp_path, text)
    with pytest.raises(WeightingError, match=message) as info:
        standard_design(wave, path=p)
    assert info.value.file == str(p)


def test_margins_name_only_levels_the_edition_asked(tmp_path):
    import yaml

    raw = yaml.safe_load(
        (Path(survey.__file__).parent.parent / "data" / "codebook.yaml").read_text("utf-8")
    )
    for q in raw["questions"]:
        if q["id"] == "brand_type":
            q["options"].append(
                {"code": "startup", "zh": "初创品牌", "en": "Start-up", "added": 2026}
            )
    cb = Codebook.from_dict(raw)
    p = _file(tmp_path, "2025:\n  brand_type: {mature: 0.6, emerging: 0.3, startup: 0.1}\n")
    with pytest.raises(WeightingError, match="asked in 2025"):
        load_margins(2025, cb, path=p)
    p = _file(tmp_path, "2026:\n  brand_type: {mature: 0.6, emerging: 0.3, startup: 0.1}\n")
    assert load_margins(2026, cb, path=p)["brand_type"]["startup"] == 0.1


def test_shipped_file_rakes_every_shipped_edition(cb):
    for edition in (2022, 2023, 2024, 2025):
        assert edition_weighting(edition, cb).kind == "raked"


def test_margins_file_not_utf8_is_a_clear_error(tmp_path, cb):
    p = tmp_path / "weighting.yaml"
    p.write_bytes("2025:\n  brand_type: {成熟: 1.0}\n".encode("gbk"))
    with pytest.raises(WeightingError, match="not UTF-8") as info:
        edition_weighting(2025, cb, path=p)
    assert info.value.file == str(p)


def test_project_without_a_margins_file_is_unweighted(tmp_path, cb, monkeypatch):
    import shutil

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(Path(survey.__file__).parent.parent / "data" / "codebook.yaml", data)
    monkeypatch.setenv("SURVEY_DATA_DIR", str(data))
    how = edition_weighting(2025, cb)
    assert (how.kind, how.reason) == ("none", "missing")
    with pytest.raises(WeightingError, match="cannot read weighting margins"):
        edition_weighting(2025, cb, path=data / "weighting.yaml")  # named, so it must exist
