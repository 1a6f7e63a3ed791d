"""Published figures, contrasts, context and their checks (survey.published)."""

from __future__ import annotations

import csv
import io
import re
import string
import tokenize
import unicodedata
from pathlib import Path

import polars as pl
import pytest
import yaml

from survey.codebook import Codebook
from survey.errors import CodebookError
from survey.paths import data_dir, published_dir
from survey.published import (
    FIGURE_COLUMNS,
    FINDING_KINDS,
    MEASURES,
    TEXTS_FILE,
    check_context,
    check_figures,
    format_findings,
    load_context,
    load_contrasts,
    load_figures,
)

SEEDS = Path("/work/shared/seeds")


@pytest.fixture(scope="module")
def cb() -> Codebook:
    return Codebook.load()


@pytest.fixture(scope="module")
def figures() -> pl.DataFrame:
    return load_figures()


@pytest.fixture(scope="module")
def findings(figures: pl.DataFrame, cb: Codebook) -> pl.DataFrame:
    return check_figures(figures, cb, load_context())


def _value(figures: pl.DataFrame, edition: int, figure_id: str) -> float:
    row = figures.filter((pl.col("edition") == edition) & (pl.col("figure_id") == figure_id))
    assert row.height == 1, figure_id
    return row["value"].item()


# ------------------------------------------------------------------------------------ loading
def test_types_and_editions(figures: pl.DataFrame) -> None:
    assert figures.schema["edition"] == pl.Int32
    assert figures.schema["value"] == pl.Float64
    assert list(figures.columns) == list(FIGURE_COLUMNS)
    assert sorted(figures["edition"].unique().to_list()) == [2022, 2023, 2024, 2025]
    assert load_figures([2024])["edition"].unique().to_list() == [2024]


def test_2025_has_every_survey_number(figures: pl.DataFrame) -> None:
    assert figures.filter(pl.col("edition") == 2025).height >= 40
    ep = set(figures.filter(pl.col("edition") == 2025)["episode"].drop_nulls())
    assert {"EP.32", "EP.33", "EP.35", "EP.36"} <= ep


@pytest.mark.parametrize(
    ("edition", "figure_id", "value"),
    [
        (2025, "sample_size", 228),
        (2025, "confidence_net_decrease", 54),
        (2025, "confidence_big_decrease", 13),
        (2025, "confidence_small_decrease", 41),
        (2025, "confidence_net_decrease_change", 11),
        (2025, "confidence_net_increase", 22),
        (2025, "budget_growth_expected_mean", 8),
        (2025, "budget_growth_expected_change", -3),
        (2025, "budget_split_optimum_brand", 53),
        (2025, "budget_split_optimum_performance", 47),
        (2025, "future_plans_ai_marketing", 41),
        (2025, "future_plans_ai_marketing_rank", 1),
        (2025, "future_plans_n_options", 18),
        (2025, "media_intent_mobile_increase", 55),
        (2025, "media_intent_traditional_tv_invest", 14),
        (2025, "interviews_count", 12),
        (2025, "ai_vendors_count", 200),
        (2024, "confidence_net_decrease", 43),
        (2024, "confidence_net_decrease_small_medium_budget", 55),
        (2023, "budget_split_brand_mean", 47),
        (2022, "confidence_net_increase", 54),
    ],
)
def test_specific_values(figures: pl.DataFrame, edition: int, figure_id: str, value: float) -> None:
    assert _value(figures, edition, figure_id) == value


def test_measures_are_right(figures: pl.DataFrame) -> None:
    row = figures.filter(
        (pl.col("edition") == 2025) & (pl.col("figure_id") == "budget_split_optimum_brand")
    ).row(0, named=True)
    assert (row["question_id"], row["option_code"], row["measure"]) == (
        "budget_split",
        "brand",
        "optimum",
    )
    seg = figures.filter(pl.col("segment").is_not_null())
    assert seg["segment"].to_list() == ["budget_size=small|medium"]
    no_q = figures.filter(pl.col("question_id").is_null())
    assert {"sample_size", "industries_count", "ai_vendors_count"} <= set(no_q["figure_id"])


def test_every_figure_resolves_to_the_codebook(figures: pl.DataFrame, cb: Codebook) -> None:
    """Required acceptance test: question ids and option/net/item/cell codes exist."""
    for r in figures.filter(pl.col("question_id").is_not_null()).iter_rows(named=True):
        assert r["question_id"] in cb, r["figure_id"]
        q = cb[r["question_id"]]
        code = r["option_code"]
        if code is None:
            assert r["measure"] in ("mean", "change", "count"), r["figure_id"]
        elif code.startswith("range:"):
            assert q.type == "numeric", r["figure_id"]
        else:
            assert q.resolves(code), (r["figure_id"], code)
        if r["segment"]:
            var, _, levels = r["segment"].partition("=")
            assert cb[var].segment
            assert set(levels.split("|")) <= set(cb[var].codes())
    for r in figures.filter(pl.col("question_id").is_null()).iter_rows(named=True):
        assert r["option_code"] is None


def test_quotes_are_verbatim() -> None:
    if not SEEDS.is_dir():
        pytest.skip("seed files not available")
    texts = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    rows = [*load_figures().iter_rows(named=True), *load_contrasts().iter_rows(named=True)]
    rows += list(load_context().iter_rows(named=True))
    checked = 0
    for r in rows:
        if r["source_file"] in texts:
            assert r["quote"] in texts[r["source_file"]], r
            checked += 1
    assert checked > 80


def test_contrasts(cb: Codebook) -> None:
    c = load_contrasts()
    assert c.height == 15
    for r in c.iter_rows(named=True):
        q = cb[r["question_id"]]
        assert r["option_code"] is None or q.resolves(r["option_code"])
        assert r["level"] in cb[r["segment_variable"]].codes()
    emerging = c.filter(pl.col("level") == "emerging")
    assert dict(zip(emerging["question_id"], emerging["direction"], strict=True)) == {
        "confidence": "lower",
        "own_confidence": "higher",
    }
    kpi = c.filter(pl.col("option_code") == "pragmatic_kpi")
    assert set(kpi["level"]) == {"beauty", "creative_content"}


def test_context_values_are_plain_numbers() -> None:
    c = load_context()
    v = dict(zip(c["figure_id"], c["value"], strict=True))
    assert v["deepseek_app_dau_20250131"] == 22_150_000
    assert v["deepseek_dau_total_20250208"] == 119_000_000
    assert v["deepseek_web_dau_202412"] == 347_000
    assert v["deepseek_v3_training_cost"] == 5_576_000
    assert v["doubao_dau_20250131"] == 16_950_000
    assert set(c["unit"]) <= {"persons", "usd", "cny", "count", "gpus", "ratio", "weeks", "months"}


def test_codebook_essentials(cb: Codebook) -> None:
    assert len(cb["future_plans"].options) == 18
    assert len(cb["industry"].options) >= 21
    for qid in ("industry", "job_level", "business_model", "position", "brand_type", "budget_size"):
        assert cb[qid].segment and cb[qid].required
    assert cb["confidence"].net_members("net_decrease") == ("big_decrease", "small_decrease")
    assert cb["confidence"].editions == (2022, 2023, 2024, 2025)


def test_weighting_margins(cb: Codebook) -> None:
    raw = yaml.safe_load((data_dir() / "weighting.yaml").read_text(encoding="utf-8"))
    assert "assum" in raw["source"]
    editions = {k: v for k, v in raw.items() if isinstance(k, int)}
    assert sorted(editions) == [2022, 2023, 2024, 2025]
    for margins in editions.values():
        assert set(margins) == {"brand_type", "budget_size"}
        for var, shares in margins.items():
            assert set(shares) == set(cb[var].codes())
            assert sum(shares.values()) == 1


# ------------------------------------------------------------------------------------ checks
def test_no_unresolved_figures(findings: pl.DataFrame) -> None:
    assert findings.filter(pl.col("kind").is_in(["unresolved", "edition"])).height == 0


def test_finds_the_ep32_trend(findings: pl.DataFrame) -> None:
    trend = findings.filter(pl.col("kind") == "trend")
    assert set(trend["figure_id"]) == {
        "confidence_net_increase__ep32_trend",
        "confidence_net_decrease__ep32_trend",
    }
    assert all("2022 → 2023" in m and "2025" in m for m in trend["message"])
    assert any("2024: ['36']" in m for m in trend["message"])


def test_finds_other_contradictions(findings: pl.DataFrame) -> None:
    others = findings.filter(pl.col("kind") != "trend")
    assert others.height >= 3
    year = others.filter(pl.col("kind") == "year_label")
    assert "confidence_net_decrease" in year["figure_id"].to_list()  # EP.35 "2024年…将减少"
    assert "media_intent_traditional_tv_invest" in year["figure_id"].to_list()  # EP.33 label
    note = others.filter(pl.col("kind") == "note")
    assert note.height == 1 and "47:53" in note["message"].item()
    kinds = set(others["kind"])
    assert {"metric_label", "level_conflict", "relation"} <= kinds
    doubao = others.filter(pl.col("figure_id") == "doubao_dau_avg_20250110_20250208")
    assert doubao["kind"].to_list() == ["level_conflict"]


def test_year_conflict_lists_every_source_of_the_confidence_figures(findings: pl.DataFrame) -> None:
    """EP.32 (as 2023), EP.35 (as 2024) and the report/360why (2025 edition): one line each."""
    yc = findings.filter(pl.col("kind") == "year_conflict")
    assert set(yc["figure_id"]) == {"confidence_net_decrease", "confidence_net_increase"}
    (msg,) = yc.filter(pl.col("figure_id") == "confidence_net_decrease")["message"]
    assert msg.startswith(
        "'confidence' net_decrease share 54 of the 2025 edition is told with 3 different years: "
    )
    assert "as 2023 by 001_74034659f3282223.txt EP.32 (end of a 2022 → 2023 trend)" in msg
    assert "as 2024 by 001_74034659f3282223.txt EP.35;" in msg
    assert "as 2025 by 001_74034659f3282223.txt EP.32 0:52 and 360why.com (no year named" in msg


def test_every_question_linked_figure_is_checked_for_resolution(cb: Codebook) -> None:
    """Each way a question link can fail is caught, and every real figure's link resolves."""
    figures = load_figures()
    linked = figures.filter(pl.col("question_id").is_not_null())
    assert linked.height >= 90
    for r in linked.iter_rows(named=True):
        assert (
            check_figures(_frame([_only(r)]), cb)
            .filter(pl.col("kind").is_in(["unresolved", "edition"]))
            .is_empty()
        ), r["figure_id"]
    bad = [
        _row(edition=2025, figure_id="q", question_id="no_such_question", option_code="x"),
        _row(edition=2025, figure_id="o", question_id="confidence", option_code="no_such"),
        _row(edition=2025, figure_id="cell", question_id="media_intent", option_code="mobile:up"),
        _row(edition=2025, figure_id="item", question_id="media_intent", option_code="tv:increase"),
        _row(edition=2025, figure_id="band", question_id="confidence", option_code="range:0:10"),
        _row(edition=2025, figure_id="orphan", option_code="flat"),
        _row(
            edition=2025,
            figure_id="seg",
            question_id="confidence",
            option_code="flat",
            segment="budget_size=huge",
        ),
    ]
    got = check_figures(_frame(bad), cb).filter(pl.col("kind") == "unresolved")
    assert got["figure_id"].to_list() == ["q", "o", "cell", "item", "band", "orphan", "seg"]
    messages = dict(zip(got["figure_id"], got["message"], strict=True))
    assert messages["q"] == "question 'no_such_question' is not in the codebook"
    assert messages["o"] == "'no_such' is no option, net, item or item:option cell of 'confidence'"
    assert messages["seg"] == "segment levels ['huge'] are not options of 'budget_size'"


def _only(r: dict[str, object]) -> dict[str, object]:
    return {k: r.get(k) for k in FIGURE_COLUMNS}


def test_format_findings_groups_by_kind_and_merges_shared_quotes(
    figures: pl.DataFrame, findings: pl.DataFrame
) -> None:
    text = format_findings(findings, n_figures=figures.height)
    lines = text.splitlines()
    counts = findings.group_by("kind").len()
    n = dict(zip(counts["kind"], counts["len"], strict=True))
    assert lines[0].startswith(
        f"{figures.height} figures checked: {n['year_conflict']} year_conflict"
    )
    headers = [ln for ln in lines if ln.startswith("[")]
    assert headers[0].startswith("[year_conflict]") and headers[-1].startswith("[note]")
    assert len(headers) == len(n)
    # the five EP.35 figures share one quote: listed once, with every id
    assert text.count("EP.35 words the figure as year 2024") == 1
    assert "  - 2025: confidence_net_decrease, confidence_net_decrease_change," in text
    # messages are never cut
    for message in findings["message"]:
        assert " ".join(message.split())[:40] in " ".join(text.split())
    assert max(len(ln) for ln in lines) <= 100
    assert format_findings(findings.head(0), n_figures=3) == "3 figures checked: no findings"


def test_year_conflict_on_made_up_figures(cb: Codebook) -> None:
    base = {"edition": 2025, "question_id": "confidence", "option_code": "flat", "value": 30.0}
    same_year = [
        _row(**base, figure_id="a", stated_edition=2025),
        _row(**base, figure_id="b", source_file="y"),
    ]
    assert check_figures(_frame(same_year), cb).filter(pl.col("kind") == "year_conflict").is_empty()
    other = [*same_year, _row(**base, figure_id="c", source_file="z", stated_edition=2024)]
    (msg,) = check_figures(_frame(other), cb).filter(pl.col("kind") == "year_conflict")["message"]
    assert msg == (
        "'confidence' flat share 30 of the 2025 edition is told with 2 different years: "
        "as 2024 by z; as 2025 by x and y (no year named: the edition)"
    )


def test_consistent_figures_raise_nothing(findings: pl.DataFrame) -> None:
    # +11 = 54 - 43, -3 = 8 - 11, 13 + 41 = 54, mobile ranks first: all consistent.
    assert findings.filter(pl.col("kind").is_in(["conflict", "change", "net_split"])).height == 0
    assert findings.filter(pl.col("kind").is_in(["rank", "option_count"])).height == 0


def _row(**kw: object) -> dict[str, object]:
    base: dict[str, object] = dict.fromkeys(FIGURE_COLUMNS)
    base.update(measure="share", unit="pct_respondents", source_file="x", quote="q")
    base.update(kw)
    return base


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=FIGURE_COLUMNS, orient="row")


def test_rules_on_made_up_figures(cb: Codebook) -> None:
    rows = [
        _row(
            edition=2025,
            figure_id="neg",
            question_id="confidence",
            option_code="net_decrease",
            value=54.0,
        ),
        _row(
            edition=2025,
            figure_id="neg__b",
            question_id="confidence",
            option_code="net_decrease",
            value=50.0,
            source_file="y",
        ),
        _row(
            edition=2025,
            figure_id="big",
            question_id="confidence",
            option_code="big_decrease",
            value=13.0,
        ),
        _row(
            edition=2025,
            figure_id="small",
            question_id="confidence",
            option_code="small_decrease",
            value=30.0,
        ),
        _row(
            edition=2024,
            figure_id="neg24",
            question_id="confidence",
            option_code="net_decrease",
            value=43.0,
        ),
        _row(
            edition=2025,
            figure_id="chg",
            question_id="confidence",
            option_code="net_decrease",
            measure="change",
            unit="pp",
            value=20.0,
            compare_edition=2024,
        ),
        _row(
            edition=2025,
            figure_id="mob",
            question_id="media_intent",
            option_code="mobile:increase",
            value=20.0,
        ),
        _row(
            edition=2025,
            figure_id="out",
            question_id="media_intent",
            option_code="outdoor:increase",
            value=30.0,
        ),
        _row(
            edition=2025,
            figure_id="mob_rank",
            question_id="media_intent",
            option_code="mobile:increase",
            measure="rank",
            unit="rank",
            value=1.0,
        ),
        _row(
            edition=2025,
            figure_id="n",
            question_id="future_plans",
            measure="count",
            unit="count",
            value=17.0,
        ),
        _row(
            edition=2025, figure_id="bad", question_id="confidence", option_code="nope", value=1.0
        ),
    ]
    kinds = check_figures(_frame(rows), cb)
    got = {(r["figure_id"], r["kind"]) for r in kinds.iter_rows(named=True)}
    assert ("neg__b", "conflict") in got
    assert ("chg", "change") in got
    assert ("mob_rank", "rank") in got
    assert ("n", "option_count") in got
    assert ("bad", "unresolved") in got
    assert any(k == "net_split" for _, k in got)


def test_check_context_alone() -> None:
    kinds = check_context(load_context())
    rel = kinds.filter(pl.col("kind") == "relation")
    assert set(rel["figure_id"]) == {
        "deepseek_dau_total_20250208",
        "deepseek_overseas_domestic_ratio",
    }
    assert kinds["edition"].null_count() == kinds.height


# ------------------------------------------------------------------------------------ malformed
def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _good_row(edition: int = 2025, fid: str = "f1", value: str = "54") -> list[str]:
    vals = {
        "edition": str(edition),
        "figure_id": fid,
        "question_id": "confidence",
        "option_code": "net_decrease",
        "measure": "share",
        "value": value,
        "unit": "pct_respondents",
        "source_file": "s.txt",
        "quote": "q",
    }
    return [vals.get(c, "") for c in FIGURE_COLUMNS]


def test_bad_value_names_row_and_column(tmp_path: Path) -> None:
    _write(
        tmp_path / "2025.csv",
        list(FIGURE_COLUMNS),
        [_good_row(), _good_row(fid="f2"), _good_row(fid="f3", value="54%x")],
    )
    with pytest.raises(CodebookError) as e:
        load_figures(directory=tmp_path)
    assert e.value.row == 4 and e.value.column == "value"
    assert "2025.csv" in str(e.value) and "row 4" in str(e.value) and "'value'" in str(e.value)


def test_missing_column_names_header_row(tmp_path: Path) -> None:
    header = [c for c in FIGURE_COLUMNS if c != "unit"]
    row = [v for c, v in zip(FIGURE_COLUMNS, _good_row(), strict=True) if c != "unit"]
    _write(tmp_path / "2025.csv", header, [row])
    with pytest.raises(CodebookError) as e:
        load_figures(directory=tmp_path)
    assert e.value.row == 1 and e.value.column == "unit"
    assert "row 1" in str(e.value)


def test_other_malformations(tmp_path: Path) -> None:
    _write(tmp_path / "2024.csv", list(FIGURE_COLUMNS), [_good_row(edition=2025)])
    with pytest.raises(CodebookError, match=r"row 2, column 'edition'"):
        load_figures(directory=tmp_path)
    _write(tmp_path / "2024.csv", list(FIGURE_COLUMNS), [_good_row(2024), _good_row(2024)])
    with pytest.raises(CodebookError, match=r"row 3, column 'figure_id'"):
        load_figures(directory=tmp_path)
    bad_measure = _good_row(2024)
    bad_measure[list(FIGURE_COLUMNS).index("measure")] = "percent"
    _write(tmp_path / "2024.csv", list(FIGURE_COLUMNS), [bad_measure])
    with pytest.raises(CodebookError, match=r"row 2, column 'measure'"):
        load_figures(directory=tmp_path)
    with pytest.raises(CodebookError, match="2030"):
        load_figures([2030], directory=tmp_path)


def test_optional_stated_edition_column(tmp_path: Path) -> None:
    cols = [c for c in FIGURE_COLUMNS if c != "stated_edition"]
    row = [v for c, v in zip(FIGURE_COLUMNS, _good_row(), strict=True) if c != "stated_edition"]
    _write(tmp_path / "2025.csv", cols, [row])
    f = load_figures(directory=tmp_path)
    assert f["stated_edition"].null_count() == 1 and f["value"].item() == 54.0


def test_malformed_context(tmp_path: Path) -> None:
    p = tmp_path / "context.csv"
    header = [
        "figure_id",
        "subject",
        "metric",
        "value",
        "unit",
        "as_of",
        "scope",
        "source_file",
        "quote",
        "note",
    ]
    _write(
        p, header, [["a", "DeepSeek", "dau", "2215万", "persons", "2025-01-31", "", "s", "q", ""]]
    )
    with pytest.raises(CodebookError, match=r"row 2, column 'value'"):
        load_context(p)
    _write(p, header, [["a", "DeepSeek", "dau", "1", "persons", "31/01/2025", "", "s", "q", ""]])
    with pytest.raises(CodebookError, match=r"row 2, column 'as_of'"):
        load_context(p)


def test_figure_ids_follow_convention(figures: pl.DataFrame) -> None:
    assert all(re.match(r"^[a-z0-9_]+$", f) for f in figures["figure_id"])


# ------------------------------------------------------------------------------------ bilingual
# CJK ideographs, CJK symbols and punctuation (、。「」…), full-width forms (，：；（）)
_CJK = re.compile(
    r"[\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
)
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def _catalog() -> dict[str, dict[str, str]]:
    from survey.present.text import Texts

    return {k: dict(v) for k, v in Texts.load(TEXTS_FILE).entries.items()}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_catalog_entries_are_bilingual_with_the_same_placeholders() -> None:
    catalog = _catalog()
    assert len(catalog) > 40
    for key, entry in catalog.items():
        assert set(entry) == {"zh", "en"}, key
        assert entry["zh"] != "" and entry["en"] != "", key
        assert _fields(entry["zh"]) == _fields(entry["en"]), key


def test_catalog_punctuation_by_language() -> None:
    for key, entry in _catalog().items():
        zh = _PLACEHOLDER.sub("", entry["zh"])
        assert not re.search(r"[,:;()]", zh), (key, entry["zh"])
        assert not _CJK.search(entry["en"]), (key, entry["en"])


def _package_source() -> str:
    """The source of every module of the ``survey.published`` package."""
    import survey.published as mod

    files = sorted(Path(mod.__file__).parent.glob("*.py"))
    assert {f.name for f in files} >= {"_load.py", "_rules.py", "_context.py", "_format.py"}
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


def test_catalog_covers_every_key_the_code_uses() -> None:
    catalog = _catalog()
    source = _package_source()
    used = set(re.findall(r"""(?:_msg|say)\(\s*"([a-z_.]+)\"""", source))
    assert {"edition", "trend.stated", "format.summary", "list.wrap"} <= used
    assert used <= set(catalog), used - set(catalog)
    assert {f"kinds.{k}" for k in FINDING_KINDS} <= set(catalog)
    assert {f"measure.{m}" for m in MEASURES} <= set(catalog)
    assert {f"list.{s}" for s in ("code", "value", "number", "sep", "empty")} <= set(catalog)
    assert {f"join.{s}" for s in ("comma", "semicolon", "and")} <= set(catalog)


def test_published_py_has_no_cjk_in_code_strings() -> None:
    """User-facing text lives in published.yml; the module parses no Chinese itself, so no
    string literal (docstrings included) holds a CJK character. Comments may."""
    source = _package_source()
    strings = [
        t.string
        for t in tokenize.generate_tokens(io.StringIO(source).readline)
        if t.type == tokenize.STRING
    ]
    assert len(strings) > 100
    offending = [s for s in strings if _CJK.search(s)]
    assert offending == []


def test_findings_come_in_both_languages(findings: pl.DataFrame) -> None:
    assert findings.columns == [
        "edition",
        "figure_id",
        "kind",
        "message",
        "message_zh",
        "message_en",
    ]
    assert findings["message"].to_list() == findings["message_en"].to_list()
    for r in findings.iter_rows(named=True):
        assert _CJK.search(r["message_zh"]), r
        assert r["message_zh"] != r["message_en"]
        # the Chinese text around the data uses full-width punctuation: take away what comes
        # from the data (quotes, sources, scopes) and no ASCII , ; ( ) is left
        rest = r["message_zh"]
        for quote in re.findall(r"“[^“”]*”", rest):
            rest = rest.replace(quote, "")
        if r["edition"] is None:  # context scopes are data in English ("app; lower bound")
            continue
        assert not re.search(r"[,;()]", rest), r["message_zh"]


def test_finds_the_ep32_trend_in_chinese(findings: pl.DataFrame) -> None:
    trend = findings.filter(pl.col("kind") == "trend")
    assert all("2022 → 2023" in m and "属于 2025 版" in m for m in trend["message_zh"])
    assert any("（已发布：2024 版 36）" in m for m in trend["message_zh"])


def test_other_contradictions_in_chinese(findings: pl.DataFrame) -> None:
    note = findings.filter(pl.col("kind") == "note")
    (msg,) = note["message_zh"]
    assert "47:53（2023 版）" in msg and "53:47（2025 版）" in msg and "互为镜像" in msg
    year = findings.filter(
        (pl.col("kind") == "year_label") & (pl.col("figure_id") == "confidence_net_decrease")
    )
    (msg,) = year["message_zh"]
    assert "EP.35 把这一数字说成 2024 年的，但它属于 2025 版" in msg
    assert "“54%的广告主认为2024年中国整体营销投入将减少" in msg  # the source's quote as is


def test_year_conflict_in_chinese(findings: pl.DataFrame) -> None:
    yc = findings.filter(pl.col("kind") == "year_conflict")
    (msg,) = yc.filter(pl.col("figure_id") == "confidence_net_decrease")["message_zh"]
    assert msg.startswith("2025 版的占比 54（“confidence” net_decrease）被说成 3 个不同的年份：")
    assert "2023 年见于 001_74034659f3282223.txt EP.32（2022 → 2023 趋势的终点）；" in msg
    assert "2024 年见于 001_74034659f3282223.txt EP.35；" in msg
    assert msg.endswith(
        "2025 年见于 001_74034659f3282223.txt EP.32 0:52 和 360why.com（未提年份，即本版）"
    )


def test_unresolved_messages_in_chinese(cb: Codebook) -> None:
    bad = [
        _row(edition=2025, figure_id="q", question_id="no_such_question", option_code="x"),
        _row(edition=2025, figure_id="o", question_id="confidence", option_code="no_such"),
        _row(edition=2025, figure_id="band", question_id="confidence", option_code="range:0:10"),
        _row(
            edition=2025,
            figure_id="seg",
            question_id="confidence",
            option_code="flat",
            segment="budget_size=huge|tiny",
        ),
        _row(edition=2021, figure_id="ed", question_id="confidence", option_code="flat"),
    ]
    got = check_figures(_frame(bad), cb)
    zh = dict(zip(got["figure_id"], got["message_zh"], strict=True))
    en = dict(zip(got["figure_id"], got["message_en"], strict=True))
    assert zh["q"] == "编码本中没有问题“no_such_question”"
    assert zh["o"] == "“no_such”不是“confidence”的选项、合计项、条目或 item:option 单元格"
    assert zh["band"] == "“range:0:10”不是数值题“confidence”的区间写法 range:LO:HI"
    assert zh["seg"] == "细分水平“huge”、“tiny”不是“budget_size”的选项"
    assert en["seg"] == "segment levels ['huge', 'tiny'] are not options of 'budget_size'"
    assert zh["ed"] == (
        "“confidence”未标注在 2021 版询问（询问版次 2022、2023、2024、2025，历史版次 无）"
    )
    assert en["ed"] == (
        "'confidence' is not marked as asked in 2021 (editions [2022, 2023, 2024, 2025], history [])"
    )


def _columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_format_findings_in_chinese(figures: pl.DataFrame, findings: pl.DataFrame) -> None:
    text = format_findings(findings, n_figures=figures.height, lang="zh")
    lines = text.splitlines()
    counts = findings.group_by("kind").len()
    n = dict(zip(counts["kind"], counts["len"], strict=True))
    assert lines[0].startswith(
        f"已核对 {figures.height} 个数字：year_conflict {n['year_conflict']} 条，"
    )
    headers = [ln for ln in lines if ln.startswith("[")]
    assert headers[0] == "[year_conflict] 同一水平被不同来源说成不同的年份"
    assert headers[-1] == "[note] 不是错误，但值得一看" and len(headers) == len(n)
    assert text.count("EP.35 把这一数字说成 2024 年的") == 1
    assert "  - 2025 版：confidence_net_decrease，confidence_net_decrease_change，" in text
    assert "  - 背景数据：deepseek_dau_total_20250208" in text
    flat = re.sub(r"\s+", "", text)
    for message in findings["message_zh"]:  # never cut
        assert re.sub(r"\s+", "", message) in flat
    assert max(_columns(ln) for ln in lines) <= 100  # a CJK character takes two columns
    assert (
        format_findings(findings.head(0), n_figures=3, lang="zh") == "已核对 3 个数字：未发现问题"
    )
    assert format_findings(findings, n_figures=3, lang="en") == format_findings(
        findings, n_figures=3
    )


def test_format_findings_lines_fit_in_columns(findings: pl.DataFrame) -> None:
    for lang in ("zh", "en"):
        for width in (60, 100):
            text = format_findings(findings, width=width, lang=lang)
            assert max(_columns(ln) for ln in text.splitlines()) <= width, (lang, width)


# -- what an edition adds: options asked, ranks, contrasts (issue: refresh, item 8) ----------------
def _history_codebook() -> Codebook:
    """The shipped codebook where ``future_plans`` option ``podcast`` is new in 2025."""
    cb = Codebook.load()
    raw = yaml.safe_load(Path(cb.source).read_text(encoding="utf-8"))
    for rq in raw["questions"]:
        for o in rq.get("options") or []:
            if (rq["id"], o.get("code")) == ("future_plans", "podcast"):
                o["added"] = 2025
    return Codebook.from_dict(raw, source=cb.source)


def _figure(**kw: object) -> dict[str, object]:
    base = dict.fromkeys(FIGURE_COLUMNS)
    base.update(unit="pct_respondents", source_file="x.txt", quote="q", stated_edition=None)
    base.update(kw)
    return base


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=FIGURE_COLUMNS, orient="row")


def test_rank_beyond_the_options_asked_is_flagged(cb: Codebook) -> None:
    n = len(cb["ai_use_cases"].codes(2025))
    rows = [
        _figure(
            edition=2025,
            figure_id="ok",
            question_id="ai_use_cases",
            option_code="user_insight",
            measure="rank",
            value=float(n),
            unit="rank",
        ),
        _figure(
            edition=2025,
            figure_id="too_far",
            question_id="ai_use_cases",
            option_code="user_insight",
            measure="rank",
            value=float(n + 1),
            unit="rank",
        ),
        _figure(
            edition=2025,
            figure_id="grid_cell",
            question_id="media_intent",
            option_code="mobile:increase",
            measure="rank",
            value=float(len(cb["media_intent"].item_codes(2025)) + 1),
            unit="rank",
        ),
    ]
    r = check_figures(_frame(rows), cb)
    flagged = r.filter(pl.col("kind") == "rank")
    assert sorted(flagged["figure_id"]) == ["grid_cell", "too_far"]
    msg = flagged.filter(pl.col("figure_id") == "too_far")["message_en"].item()
    assert f"stated rank {n + 1}" in msg and f"only {n} options" in msg and "2025" in msg
    assert "排名为第" in flagged.filter(pl.col("figure_id") == "too_far")["message_zh"].item()


def test_change_against_an_option_the_previous_edition_did_not_ask() -> None:
    cb = _history_codebook()
    rows = [
        _figure(
            edition=2025,
            figure_id="podcast_share",
            question_id="future_plans",
            option_code="podcast",
            measure="share",
            value=6.0,
        ),
        _figure(
            edition=2025,
            figure_id="podcast_change",
            question_id="future_plans",
            option_code="podcast",
            measure="change",
            value=1.0,
            unit="pp",
            compare_edition=2024,
        ),
        _figure(
            edition=2025,
            figure_id="ai_change",
            question_id="future_plans",
            option_code="ai_marketing",
            measure="change",
            value=3.0,
            unit="pp",
            compare_edition=2024,
        ),
        _figure(
            edition=2024,
            figure_id="podcast_2024",
            question_id="future_plans",
            option_code="podcast",
            measure="share",
            value=5.0,
        ),
    ]
    r = check_figures(_frame(rows), cb)
    change = r.filter(pl.col("kind") == "change")
    assert change["figure_id"].to_list() == ["podcast_change"]
    assert "'podcast' of 'future_plans' was not asked in 2024" in change["message_en"].item()
    # a share told for an edition that did not ask the option
    edition = r.filter(pl.col("kind") == "edition")
    assert edition["figure_id"].to_list() == ["podcast_2024"]
    assert "not asked in 2024" in edition["message_en"].item()
    assert check_figures(_frame(rows[:1] + rows[2:3]), cb).is_empty()


def test_contrasts_are_checked_against_their_edition(cb: Codebook) -> None:
    good = load_contrasts().row(0, named=True)
    rows = [
        good,
        {
            **good,
            "contrast_id": "no_option",
            "option_code": "no_such_option",
            "question_id": "future_plans",
            "measure": "share",
        },
        {**good, "contrast_id": "no_level", "level": "martians"},
        {
            **good,
            "contrast_id": "not_asked",
            "edition": 2022,
            "question_id": "ai_use_cases",
            "option_code": "user_insight",
            "measure": "share",
        },
    ]
    contrasts = pl.DataFrame(rows, schema=load_contrasts().schema, orient="row")
    r = check_figures(load_figures().head(0), cb, contrasts=contrasts)
    kinds = dict(zip(r["figure_id"], r["kind"], strict=True))
    assert kinds == {"no_option": "unresolved", "no_level": "unresolved", "not_asked": "edition"}
    msg = r.filter(pl.col("figure_id") == "no_option")["message_en"].item()
    assert msg.startswith("segment contrast: ") and "no_such_option" in msg
    assert r.filter(pl.col("figure_id") == "not_asked")["edition"].item() == 2022


def test_contrast_ids_are_scoped_by_edition(tmp_path: Path) -> None:
    src = published_dir() / "contrasts.csv"
    lines = src.read_text(encoding="utf-8-sig").splitlines()
    header, first = lines[0], lines[1]
    again = "2026" + first[first.index(",") :]  # the same contrast told by the next edition
    (tmp_path / "contrasts.csv").write_text("\n".join([header, first, again]) + "\n", "utf-8")
    c = load_contrasts(tmp_path / "contrasts.csv")
    assert c["edition"].to_list() == [2025, 2026]
    assert c["contrast_id"].n_unique() == 1
    (tmp_path / "dup.csv").write_text("\n".join([header, first, first]) + "\n", "utf-8")
    with pytest.raises(CodebookError) as e:
        load_contrasts(tmp_path / "dup.csv")
    assert e.value.row == 3 and e.value.column == "contrast_id"
    assert "unique within edition 2025" in str(e.value) and "row 2" in str(e.value)


def test_figures_check_loads_the_contrasts(capsys: pytest.CaptureFixture[str]) -> None:
    from survey.cli import main

    assert main(["figures", "--check", "--edition", "2025", "--format", "csv"]) == 0
    out = pl.read_csv(io.StringIO(capsys.readouterr().out))
    assert "unresolved" not in out["kind"].to_list()
    assert main(["figures", "--check", "--edition", "2025"]) == 0
    n = load_figures([2025]).height
    assert capsys.readouterr().out.startswith(f"{n} figures and 15 contrasts checked: ")
    assert main(["figures", "--check", "--edition", "2025", "--lang", "zh"]) == 0
    assert capsys.readouterr().out.startswith(f"已核对 {n} 个数字和 15 条细分对比：")
    # the rules that run include the contrast rule (the shipped contrasts all resolve)
    from survey.published import RULES

    assert {r.__name__ for r in RULES} >= {"rule_contrasts", "rule_rank_range", "rule_change_asked"}
