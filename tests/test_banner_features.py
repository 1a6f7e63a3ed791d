"""Banner features of issue 13: filters, ad-hoc nets, derived columns, grid items, score means,
counts and row %, tests against Total, nested and multi-select columns, collapse, hiding."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import survey
from survey.weighting import standard_design

BEAUTY_FOOD = {"industry": ["beauty", "food_bev"]}


@pytest.fixture(scope="module")
def d():
    return standard_design(survey.load_wave(2025))


def _cells(b, **eq):
    out = b.to_polars()
    for k, v in eq.items():
        out = out.filter(pl.col(k) == v)
    return out


def test_where_is_the_designs_subset(d) -> None:
    b = survey.banner(d, ["confidence"], ["brand_type"], where=BEAUTY_FOOD, suppress_below=0)
    mask = pl.col("industry").cast(pl.String).is_in(BEAUTY_FOOD["industry"])
    sub = d.subset(mask)
    ref = sub.by("brand_type").proportion("confidence").with_columns(
        pl.col("brand_type").cast(pl.String))
    got = _cells(b, col_variable="brand_type", row_kind="option").join(
        ref, left_on=["col_level", "row_code"], right_on=["brand_type", "level"])
    assert got.height == ref.height
    assert got["estimate"].to_numpy() == pytest.approx(got["estimate_right"].to_numpy(), abs=1e-12)
    assert got["se"].to_numpy() == pytest.approx(got["se_right"].to_numpy(), abs=1e-12)
    assert got["deff"].to_numpy() == pytest.approx(got["deff_right"].to_numpy(), abs=1e-9,
                                                   nan_ok=True)
    # the same book from a design subset first, and from the dense primitive
    b2 = survey.banner(sub, ["confidence"], ["brand_type"], suppress_below=0)
    b3 = survey.banner(d, ["confidence"], ["brand_type"], where=BEAUTY_FOOD, suppress_below=0,
                       _variance="primitive")
    for other in (b2, b3):
        assert np.allclose(other.to_polars()["se"].to_numpy(), b.to_polars()["se"].to_numpy(),
                           atol=1e-12, equal_nan=True)
    n = int(d.frame.select(mask.sum()).item())
    assert b.base_text("zh") == f"基数：美妆个护+食品饮料，n = {n}"
    assert b.base_text("en") == f"Base: Beauty & personal care + Food & beverage, n = {n}"
    assert _cells(b, col_variable="total")["n"].max() == n
    sql = survey.banner(d, ["confidence"], [], where="industry IN ('beauty', 'food_bev')")
    assert sql.to_polars()["se"].to_list() == pytest.approx(
        _cells(b, col_variable="total")["se"].to_list())


def test_where_refuses_unknown_levels_and_empty_filters(d) -> None:
    with pytest.raises(survey.SurveyError, match="not a level"):
        survey.banner(d, ["confidence"], [], where={"industry": "nope"})
    with pytest.raises(survey.SurveyError):
        survey.banner(d, ["confidence"], [], where=pl.col("weight") < 0)


def test_adhoc_nets_are_added_to_the_codebooks(d) -> None:
    b = survey.banner(d, ["confidence", "own_confidence"], [],
                      nets={"any_decrease": ["big_decrease", "small_decrease"],
                            "confidence": {"not_up": ["big_decrease", "small_decrease", "flat"]}},
                      labels={"any_decrease": {"zh": "任何减少", "en": "Any decrease"}})
    for qid in ("confidence", "own_confidence"):
        c = _cells(b, question_id=qid)
        est = dict(zip(c["row_code"], c["estimate"], strict=True))
        assert est["any_decrease"] == pytest.approx(est["big_decrease"] + est["small_decrease"])
        assert "net_decrease" in est  # the codebook's nets stay
    c = _cells(b, question_id="confidence", row_code="not_up")
    assert c["row_kind"][0] == "net"
    assert "not_up" not in _cells(b, question_id="own_confidence")["row_code"].to_list()
    assert _cells(b, row_code="any_decrease").filter(pl.col("question_id") == "confidence")[
        "row_label"][0] == "任何减少"
    with pytest.raises(survey.SurveyError, match="unknown codes"):
        survey.banner(d, ["confidence"], [], nets={"confidence": {"x": ["nope"]}})


def test_boolean_enum_string_and_integer_derived_columns(d) -> None:
    dd = d.with_columns(
        big=pl.col("budget_size").cast(pl.String) == "large",
        big_i=(pl.col("budget_size").cast(pl.String) == "large").cast(pl.Int64),
        size_s=pl.col("budget_size").cast(pl.String),
        size_e=pl.col("budget_size").cast(pl.String).cast(pl.Enum(["small", "medium", "large"])),
    )
    b = survey.banner(dd, ["big", "big_i"], ["big", "size_s", "size_e", "big_i"],
                      labels={"big": {"_title": {"zh": "大预算", "en": "Large budget"}},
                              "big_i": {"1": "大", "0": "小"},
                              "size_s": {"large": {"zh": "大", "en": "Large"}}})
    c = b.to_polars("en")
    row_big = c.filter((pl.col("question_id") == "big") & (pl.col("row_code") == "true")
                       & (pl.col("col_variable") == "total"))
    p_big = float((dd.frame["big"].cast(pl.Float64) * dd.weights).sum() / dd.weights.sum())
    assert row_big["estimate"][0] == pytest.approx(p_big)
    assert row_big["row_label"][0] == "Yes"
    assert (c.filter(pl.col("col_variable") != "total")["n"] > 0).any()
    # the labelled integer is a categorical row (levels 0/1) equal to the Boolean's
    row_i = c.filter((pl.col("question_id") == "big_i") & (pl.col("row_code") == "1")
                     & (pl.col("col_variable") == "total"))
    assert row_i["estimate"][0] == pytest.approx(p_big) and row_i["row_label"][0] == "大"
    # String and Enum columns give the same cells; labels from the dict
    s = c.filter((pl.col("col_variable") == "size_s") & (pl.col("question_id") == "big"))
    e = c.filter((pl.col("col_variable") == "size_e") & (pl.col("question_id") == "big"))
    s = s.sort("col_level", "row_code")
    e = e.sort("col_level", "row_code")
    assert s["estimate"].to_list() == pytest.approx(e["estimate"].to_list(), nan_ok=True)
    assert "Large" in s["col_label"].to_list()
    # the Boolean column: levels true/false with 是/否, non-empty
    bc = b.to_polars("zh").filter(pl.col("col_variable") == "big")
    assert set(bc["col_label"]) == {"是", "否"} and (bc["n"] > 0).all()


def test_single_grid_item_rows(d) -> None:
    full = _cells(survey.banner(d, ["media_intent"], ["brand_type"]), item="mobile")
    for name in ("media_intent:mobile", "media_intent__mobile"):
        one = survey.banner(d, [name], ["brand_type"]).to_polars()
        assert one["row_code"].to_list() == full["row_code"].to_list()
        assert one["row_label"].to_list() == full["row_label"].to_list()
        assert one["estimate"].to_list() == pytest.approx(full["estimate"].to_list())
        assert "net" in one["row_kind"].to_list()
    with pytest.raises(survey.SurveyError, match="not an item"):
        survey.banner(d, ["media_intent:nope"], [])


def test_score_means_equal_the_designs_mean_of_scores(d) -> None:
    q = d.codebook["confidence"]
    scores = {o.code: o.score for o in q.options}
    dd = d.with_columns(score=pl.col("confidence").cast(pl.String).replace_strict(
        scores, return_dtype=pl.Float64))
    b = survey.banner(dd, ["confidence"], ["brand_type"], scores=True)
    got = _cells(b, row_code="score_mean").filter(pl.col("col_variable") == "brand_type")
    ref = dd.by("brand_type").mean("score").with_columns(pl.col("brand_type").cast(pl.String))
    got = got.join(ref, left_on="col_level", right_on="brand_type")
    assert got["estimate"].to_numpy() == pytest.approx(got["estimate_right"].to_numpy())
    assert got["se"].to_numpy() == pytest.approx(got["se_right"].to_numpy())
    assert got["row_kind"][0] == "mean"


def test_weighted_counts_and_row_percentages(d) -> None:
    b = survey.banner(d, ["confidence"], ["brand_type"])
    c = b.to_polars()
    w = d.weights
    for lv in d.codebook["brand_type"].codes():
        m = (d.frame["brand_type"].cast(pl.String) == lv).to_numpy()
        y = (d.frame["confidence"].cast(pl.String) == "flat").to_numpy()
        row = c.filter((pl.col("col_level") == lv) & (pl.col("row_code") == "flat"))
        assert row["count"][0] == pytest.approx(float((w * m * y).sum()))
        assert row["base_weighted"][0] == pytest.approx(float((w * m).sum()))
    rp = c.filter(pl.col("col_variable") == "brand_type").group_by("row_code").agg(
        pl.col("row_pct").sum())
    assert rp["row_pct"].to_numpy() == pytest.approx(1.0)


def test_vs_total_equals_the_influence_of_the_difference(d) -> None:
    b = survey.banner(d, ["confidence"], ["brand_type"], vs_total=True)
    t = b.tests().filter(pl.col("col_b") == "total")
    w = d.weights
    y = (d.frame["confidence"].cast(pl.String) == "flat").to_numpy().astype(float)
    pT = (w * y).sum() / w.sum()
    for lv in d.codebook["brand_type"].codes():
        m = (d.frame["brand_type"].cast(pl.String) == lv).to_numpy()
        pc = (w * m * y).sum() / (w * m).sum()
        z = m * w * (y - pc) / (w * m).sum() - w * (y - pT) / w.sum()
        se = float(np.sqrt(d._vcov_totals(z[:, None])[0, 0]))
        row = t.filter((pl.col("col_a") == lv) & (pl.col("row_code") == "flat"))
        assert row["diff"][0] == pytest.approx(pc - pT)
        assert row["se_diff"][0] == pytest.approx(se, rel=1e-9)
    marks = b.to_polars().filter(pl.col("vs_total") != "")
    sig = t.filter(pl.col("significant"))
    assert marks.height == sig.height


def test_nested_columns_equal_a_combined_column(d) -> None:
    b = survey.banner(d, ["confidence"], [("brand_type", "job_level")])
    combo = d.with_columns(combo=pl.concat_str([pl.col("brand_type").cast(pl.String),
                                                pl.col("job_level").cast(pl.String)],
                                               separator=">"))
    ref = survey.banner(combo, ["confidence"], ["combo"], suppress_below=0).to_polars()
    got = b.to_polars().filter(pl.col("col_variable") == "brand_type>job_level")
    j = got.join(ref, on=["col_level", "row_code"])
    assert j.height == got.height
    ok = j.filter(~pl.col("suppressed"))
    assert ok["estimate"].to_numpy() == pytest.approx(ok["estimate_right"].to_numpy())
    assert ok["se"].to_numpy() == pytest.approx(ok["se_right"].to_numpy())
    # letters restart within each outer level
    letters = got.select("col_level", "letter").unique(maintain_order=True)
    assert letters["letter"].to_list()[:2] == ["A", "B"] and letters["letter"].to_list()[2] == "A"


def test_multi_select_columns_overlap_and_their_tests_use_the_covariance(d) -> None:
    q = d.codebook["challenges"]
    b = survey.banner(d, ["confidence"], ["challenges"])
    c = b.to_polars().filter(pl.col("col_variable") == "challenges")
    assert c["col_level"].unique(maintain_order=True).to_list() == q.codes()
    a_code, b_code = q.codes()[:2]
    w = d.weights
    y = (d.frame["confidence"].cast(pl.String) == "flat").to_numpy().astype(float)
    ma = d.frame[f"challenges__{a_code}"].fill_null(False).cast(pl.Boolean).to_numpy()
    mb = d.frame[f"challenges__{b_code}"].fill_null(False).cast(pl.Boolean).to_numpy()
    assert (ma & mb).any()  # the columns overlap
    pa, pb = ((w * m * y).sum() / (w * m).sum() for m in (ma, mb))
    row = c.filter((pl.col("col_level") == a_code) & (pl.col("row_code") == "flat"))
    assert row["estimate"][0] == pytest.approx(pa)
    za = ma * w * (y - pa) / (w * ma).sum()
    zb = mb * w * (y - pb) / (w * mb).sum()
    assert row["se"][0] == pytest.approx(float(np.sqrt(d._vcov_totals(za[:, None])[0, 0])))
    t = b.tests().filter((pl.col("col_a") == a_code) & (pl.col("col_b") == b_code)
                         & (pl.col("row_code") == "flat"))
    se = float(np.sqrt(d._vcov_totals((za - zb)[:, None])[0, 0]))
    assert t["se_diff"][0] == pytest.approx(se, rel=1e-9)


def test_collapse_and_hide_suppressed(d) -> None:
    small = ["pets", "luxury", "education", "travel"]
    b = survey.banner(d, ["confidence"], ["industry"],
                      collapse={"industry": {"small4": small}},
                      labels={"industry": {"small4": {"zh": "其他四行业", "en": "Four others"}}})
    c = b.to_polars("en").filter(pl.col("col_variable") == "industry")
    levels = c["col_level"].unique(maintain_order=True).to_list()
    assert "small4" in levels and not set(small) & set(levels)
    n = int(d.frame["industry"].cast(pl.String).is_in(small).sum())
    assert c.filter(pl.col("col_level") == "small4")["n"][0] == n
    assert c.filter(pl.col("col_level") == "small4")["col_label"][0] == "Four others"
    h = survey.banner(d, ["confidence"], ["industry"], hide_suppressed=True).to_polars()
    assert not h.filter(pl.col("col_variable") == "industry")["suppressed"].any()
    assert h.filter(pl.col("col_variable") == "industry")["col_level"].n_unique() < \
        len(d.codebook["industry"].codes())


def test_options_not_asked_are_not_zero(d) -> None:
    q = d.codebook["challenges"]
    col = f"challenges__{q.codes()[0]}"
    dd = d.with_columns(pl.lit(None, pl.Boolean).alias(col))
    c = survey.banner(dd, ["challenges"], []).to_polars("en")
    row = c.filter(pl.col("row_code") == q.codes()[0])
    assert row["not_asked"][0] and row["estimate"][0] is None
    assert not c.filter(pl.col("row_code") == q.codes()[1])["not_asked"][0]
    assert "not asked" in survey.banner(dd, ["challenges"], []).to_html("en")
    # a grid item the wave lacks: "not asked", also in Excel's table model
    dg = d.with_columns(pl.lit(None, pl.String).alias("media_intent__mobile"))
    g = survey.banner(dg, ["media_intent"], [])
    cells = g.to_polars().filter(pl.col("item") == "mobile")
    assert cells["not_asked"].all() and cells["estimate"].null_count() == cells.height
    assert not g.to_polars().filter(pl.col("item") != "mobile")["not_asked"].any()
    t = g.table("zh")
    blk = next(x for x in t.blocks if x.item == "mobile")
    assert t.text(blk.rows[0].cells[0]) == "未询问"


def test_full_html_document_escapes_labels(d, tmp_path) -> None:
    dd = d.with_columns(evil=pl.lit("<script>alert(1)</script>"))
    b = survey.banner(dd, ["evil"], [], labels={"evil": "<b>x</b>"})
    doc = b.to_html(path=tmp_path / "b.html")
    text = (tmp_path / "b.html").read_text(encoding="utf-8")
    assert text == doc and doc.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in doc and '<html lang="zh-CN">' in doc
    assert "<script>alert" not in doc and "<b>x</b>" not in doc
    assert "&lt;script&gt;" in doc
    assert not b.to_html().startswith("<!DOCTYPE")  # a fragment to embed by default


def test_markup_from_a_delivery_is_escaped_in_both_html_engines(d) -> None:
    dd = d.with_columns(seg=pl.when(pl.col("weight") > 1).then(pl.lit("<i onmouseover=x>hi</i>"))
                        .otherwise(pl.lit("a&b")))
    b = survey.banner(dd, ["confidence"], ["seg"], labels={"seg": {"_title": "<script>t</script>"}},
                      where=pl.col("weight") > 0, where_label="<b>w</b>")
    for engine in ("fast", "great_tables"):
        html = b.to_html(engine=engine)
        assert "<i onm" not in html and "<script>t" not in html and "<b>w" not in html
        assert "&lt;i onmouseover" in html and "&lt;script&gt;" in html


def test_hidden_columns_are_said_and_not_counted_as_missing(d) -> None:
    """Respondents of hidden small-base columns answered: the note says the columns are hidden
    and does not call them respondents without an answer."""
    b = survey.banner(d, ["confidence"], ["industry"], hide_suppressed=True)
    shown = b.to_polars("en").filter(pl.col("col_variable") == "industry")
    counts = d.frame["industry"].cast(pl.String).value_counts()
    hidden = counts.filter(pl.col("count") < b.suppress_below)
    kept = set(shown["col_level"].unique().to_list())
    assert set(hidden["industry"].to_list()).isdisjoint(kept)
    note = b.table("en").note
    assert f"{hidden.height} columns with a base below {b.suppress_below} are hidden" in note
    assert "without an answer" not in note
    assert f"基数低于 {b.suppress_below} 的 {hidden.height} 列未列出" in b.table("zh").note
