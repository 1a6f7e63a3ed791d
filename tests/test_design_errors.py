"""Errors of survey.design name the variable, the level and what was expected."""

from __future__ import annotations

import polars as pl
import pytest

from survey.design import Design
from survey.errors import EmptySegmentError, EstimationError, WeightingError


@pytest.fixture
def df() -> pl.DataFrame:
    return pl.DataFrame({
        "g": pl.Series(["a", "a", "b", "b", "a", "b"]).cast(pl.Enum(["a", "b", "c"])),
        "s": ["x", "y", "x", "y", "x", "y"],
        "y": [1.0, 2.0, 3.0, None, 5.0, 6.0],
        "q": [True, False, True, True, False, False],
    })


def test_level_in_data_missing_from_margins(df):
    with pytest.raises(WeightingError, match=r"variable 's': level 'y' has respondents"):
        Design(df).rake({"s": {"x": 0.5}})


def test_margin_level_without_respondents(df):
    with pytest.raises(WeightingError, match=r"variable 'g': margin level 'c' has no respondents"):
        Design(df).rake({"g": {"a": 0.3, "b": 0.3, "c": 0.4}})


def test_unknown_margin_level(df):
    with pytest.raises(WeightingError, match=r"margin level 'z' is not a level"):
        Design(df).rake({"s": {"x": 0.5, "y": 0.3, "z": 0.2}})


def test_margins_with_disagreeing_totals(df):
    with pytest.raises(WeightingError, match=r"disagree on the population total"):
        Design(df).rake({"s": {"x": 50, "y": 50}, "g": {"a": 60, "b": 60}})


def test_non_convergence_within_bounds(df):
    with pytest.raises(WeightingError, match=r"did not converge within bounds"):
        Design(df).rake({"s": {"x": 0.9, "y": 0.1}}, bounds=(0.8, 1.2))


def test_missing_values_in_margin_variable(df):
    f = df.with_columns(s=pl.Series(["x", None, "x", "y", "x", "y"]))
    with pytest.raises(WeightingError, match=r"variable 's' has 1 missing"):
        Design(f).rake({"s": {"x": 0.5, "y": 0.5}})


def test_empty_segment_level(df):
    with pytest.raises(EmptySegmentError, match=r"group 'g', level 'c' has no respondents"):
        Design(df).by("g").mean("y")


def test_empty_domain_for_variable(df):
    f = df.with_columns(y=pl.Series([1.0, 2.0, None, None, 5.0, None]))
    f = f.with_columns(pl.col("g").cast(pl.String))
    with pytest.raises(EmptySegmentError, match=r"variable 'y' has no answers in domain g=b"):
        Design(f).by("g").mean("y")


def test_lonely_psu():
    f = pl.DataFrame({"st": [1, 1, 2], "psu": [1, 2, 3], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(EstimationError, match=r"only one PSU"):
        Design(f, ids="psu", strata="st")


def test_bad_weights_and_unknown_variable(df):
    with pytest.raises(EstimationError, match=r"weights 'y' have 1 missing"):
        Design(df, weights="y")
    with pytest.raises(EstimationError, match=r"unknown variable 'nope'"):
        Design(df).mean("nope")
    with pytest.raises(EstimationError, match=r"expected a numeric or Boolean"):
        Design(df).mean("s")


def test_bounds_trim_weight_ratios(df):
    r = Design(df).rake({"s": {"x": 0.6, "y": 0.4}}, bounds=(0.5, 2.0))
    ratio = r.weights / 1.0
    assert ratio.min() >= 0.5 - 1e-12 and ratio.max() <= 2.0 + 1e-12
    d = r.diagnostics
    assert d.iterations >= 1 and d.max_margin_error < 1e-10
    assert d.weight_ratio == pytest.approx(0.6 / 0.4)
    assert d.n_eff == pytest.approx(r.weights.sum() ** 2 / (r.weights**2).sum())
    assert d.deff_kish == pytest.approx(6 / d.n_eff)


def test_trim_bounds_that_cannot_hold(df):
    d = Design(df, weights=[1.0, 1.0, 1.0, 1.0, 1.0, 7.0])
    with pytest.raises(WeightingError, match=r"cannot all lie in \[0, 1.5\]"):
        d.trim(upper=1.5, lower=0)
    with pytest.raises(WeightingError, match="expected lower < upper"):
        d.trim(upper=1.0, lower=2.0)
    assert d.trim(upper=10.0) is d  # nothing outside: the same design


def test_ordinal_model_errors(df):
    f = df.with_columns(o=pl.Series(["lo", "mid", "hi", "lo", "mid", "lo"])
                        .cast(pl.Enum(["lo", "mid", "hi", "top"])))
    with pytest.raises(EstimationError, match=r"level 'top' has no respondents"):
        Design(f).glm("o ~ y", family="ordinal")
    with pytest.raises(EstimationError, match=r"expected at least 3"):
        Design(f).glm("s ~ y", family="ordinal")
    with pytest.raises(EstimationError, match=r"expected one of .*ordinal"):
        Design(f).glm("y ~ s", family="poisson")


def test_shares_that_do_not_sum_to_one_are_refused() -> None:
    """A typo in shares (0.5 + 0.6) is an error, not a population of 1.1."""
    import polars as pl

    from survey.design import Design
    from survey.errors import WeightingError

    d = Design(pl.DataFrame({"g": ["a", "b", "a", "b"]}))
    with pytest.raises(WeightingError, match=r"sum to 1\.1; expected shares summing to 1"):
        d.rake({"g": {"a": 0.5, "b": 0.6}})
    assert d.rake({"g": {"a": 30, "b": 70}}).weights.sum() == pytest.approx(100.0)


def test_unknown_columns_are_survey_errors_with_close_names(df):
    from survey.errors import SurveyError

    for kw, role in ((dict(weights="missing"), "weights column"), (dict(ids="psuu"), "ids column"),
                     (dict(strata="gg"), "strata column"), (dict(fpc="fpcc"), "fpc column")):
        with pytest.raises(SurveyError, match=f"unknown {role} '"):
            Design(df, **kw)
    with pytest.raises(EstimationError, match=r"unknown variable 'yy'.*did you mean 'y'"):
        Design(df).mean("yy")


def test_dotted_formula_names_get_the_fix():
    f = pl.DataFrame({"avg.ed": [1.0, 2, 3, 4, 5], "y": [1.0, 3, 2, 5, 4]})
    with pytest.raises(EstimationError, match=r"Q\(\"avg.ed\"\).*avg_ed"):
        Design(f).glm("y ~ avg.ed")
    assert Design(f).glm('y ~ Q("avg.ed")').params.iloc[1] == pytest.approx(0.8)


def test_bad_filters_and_options(df):
    d = Design(df)
    with pytest.raises(EstimationError, match=r"cannot be evaluated"):
        d.subset(pl.col("nope") > 1)
    with pytest.raises(EstimationError, match=r"not a column or a SQL expression"):
        d.subset("y >>> 2")
    with pytest.raises(EstimationError, match=r"mask has 2 values; expected one per respondent"):
        d.subset([True, False])
    with pytest.raises(EstimationError, match=r"na_rm='pairwise'; expected one of"):
        d.mean(["y", "q"], na_rm="pairwise")


def test_where_argument_is_subset(df):
    d = Design(df)
    a = d.mean("y", where="s = 'x'")
    b = d.subset(pl.col("s") == "x").mean("y")
    assert a.select("estimate", "se", "n").row(0) == b.select("estimate", "se", "n").row(0)
    assert a["n"][0] == 3
    by = d.by("g", where=pl.col("s") == "x").mean("y")
    assert by["n"].to_list() == [2, 1]
