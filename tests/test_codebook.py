"""The codebook loader: parsing, columns, dtypes, labels and clear errors on bad codebooks."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.codebook import Codebook
from survey.errors import CodebookError

MINI = Path(__file__).parent / "fixtures" / "mini_codebook.yaml"


@pytest.fixture(scope="module")
def mini() -> Codebook:
    return Codebook.load(MINI)


def test_columns_follow_the_naming_convention(mini: Codebook) -> None:
    assert mini.columns() == [
        "resp_id",
        "industry",
        "confidence",
        "budget_growth_expected",
        "challenges__measurement",
        "challenges__roi",
        "challenges__competition",
        "media_intent__mobile",
        "media_intent__outdoor",
        "budget_split__brand",
        "budget_split__performance",
    ]


def test_dtypes_by_question_type(mini: Codebook) -> None:
    dt = mini.column_dtypes()
    assert dt["resp_id"] == pl.String
    assert dt["industry"] == pl.Enum(["food_bev", "beauty", "auto"])
    assert dt["challenges__roi"] == pl.Boolean
    assert dt["media_intent__outdoor"] == pl.Enum(["increase", "flat", "decrease", "not_invest"])
    assert dt["budget_split__brand"] == pl.Float64
    assert dt["weight"] == pl.Float64


def test_scales_nets_labels_and_owner(mini: Codebook) -> None:
    q = mini["confidence"]
    assert q.ordered and [o.score for o in q.options] == [-2, -1, 0, 1, 2]
    assert q.net_members("net_decrease") == ("big_decrease", "small_decrease")
    assert q.label("net_increase", "zh") == "增加(合计)"
    assert q.label("flat", "en") == "Flat"
    owner, code = mini.owner("media_intent__mobile")
    assert (owner.id, code) == ("media_intent", "mobile")
    assert mini["media_intent"].resolves("mobile:increase")
    assert not mini["media_intent"].resolves("mobile:up")
    assert [q.id for q in mini.segments()] == ["industry"]


def test_unknown_question_names_the_id(mini: Codebook) -> None:
    with pytest.raises(CodebookError, match="unknown question id 'nope'"):
        mini["nope"]


def _broken(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    mutate(raw)
    p = tmp_path / "cb.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["questions"][0].update(type="dropdown"), "has type 'dropdown'"),
        (
            lambda r: r["questions"][0]["options"].append(dict(code="auto", zh="汽车", en="Auto")),
            "repeats",
        ),
        (
            lambda r: r["questions"][0]["options"].append(dict(code="Bad Code", zh="x", en="x")),
            "code 'Bad Code'",
        ),
        (lambda r: r["questions"][1].update(scale="nope"), "unknown scale 'nope'"),
        (lambda r: r["questions"][2].pop("range"), "needs range"),
        (lambda r: r["questions"][5].pop("total"), "needs a numeric 'total'"),
        (lambda r: r["questions"][0]["text"].pop("en"), "needs 'text' with both 'zh' and 'en'"),
        (lambda r: r["questions"].append(dict(r["questions"][0])), "used twice"),
        (lambda r: r["questions"][0].update(section="nowhere"), "unknown section 'nowhere'"),
        (
            lambda r: r["scales"]["confidence5"]["nets"].append(
                dict(code="n", zh="n", en="n", of=["up"])
            ),
            "names unknown options",
        ),
    ],
)
def test_bad_codebooks_raise_clear_errors(tmp_path: Path, mutate, message: str) -> None:
    with pytest.raises(CodebookError, match=message):
        Codebook.load(_broken(tmp_path, mutate))


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "cb.yaml"
    p.write_text("questions:\n  - id: a\n    text: {zh: [\n", encoding="utf-8")
    with pytest.raises(CodebookError) as e:
        Codebook.load(p)
    assert e.value.row is not None and e.value.file == str(p)


def test_missing_codebook_file(tmp_path: Path) -> None:
    with pytest.raises(CodebookError, match="codebook not found"):
        Codebook.load(tmp_path / "none.yaml")


def test_editions_history_and_comparability() -> None:
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    q = raw["questions"]
    q[1]["editions"] = [2022, 2023, 2025]  # not asked in 2024
    q[2]["history"] = [{"edition": 2024, "change": "added", "comparable": True}]
    q[3]["history"] = [{"edition": 2026, "change": "dropped", "comparable": False}]
    q[4]["history"] = [
        {"edition": 2025, "change": "reworded", "comparable": False, "note": "new items"}
    ]
    cb = Codebook.from_dict(raw)
    conf, growth, chall, media = (
        cb[k] for k in ("confidence", "budget_growth_expected", "challenges", "media_intent")
    )
    assert [conf.asked_in(e) for e in (2022, 2024, 2025, 2026)] == [True, False, True, True]
    assert not growth.asked_in(2023) and growth.asked_in(2024) and growth.asked_in(2030)
    assert chall.asked_in(2025) and not chall.asked_in(2026)
    assert (
        media.comparable(2025, 2026)
        and not media.comparable(2024, 2025)
        and media.comparable(2022, 2024)
    )
    assert not conf.comparable(2024, 2025)
    assert "challenges__roi" not in cb.columns(edition=2026) and "challenges__roi" in cb.columns(
        edition=2025
    )


def test_a_new_edition_continues_only_current_questions() -> None:
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    raw["editions"] = [2022, 2023, 2024, 2025]
    q = raw["questions"]
    q[1]["editions"] = [2022, 2023, 2024, 2025]  # current: continues into 2026
    q[2]["editions"] = [2022]  # known only from 2022: not asked in later editions
    q[3]["history"] = [{"edition": 2026, "change": "added", "comparable": False}]
    q[3]["editions"] = []
    cb = Codebook.from_dict(raw)
    assert cb["confidence"].asked_in(2026) and cb["confidence"].comparable(2025, 2026)
    assert not cb["budget_growth_expected"].asked_in(2025) and not cb[
        "budget_growth_expected"
    ].asked_in(2026)
    assert cb["challenges"].asked_in(2026) and not cb["challenges"].asked_in(2025)
    assert not cb["challenges"].comparable(2025, 2026)


# -- edition history of options, items and wordings ------------------------------------------------
def _history_codebook() -> Codebook:
    """The mini codebook with a realistic refresh: options added, dropped and relabelled."""
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    raw["editions"] = [2024, 2025]
    q = {r["id"]: r for r in raw["questions"]}
    q["industry"]["options"][2]["labels"] = {2026: {"zh": "汽车出行", "en": "Auto & mobility"}}
    q["challenges"]["options"][1]["dropped"] = 2026  # roi
    q["challenges"]["options"].append(
        {"code": "ai", "zh": "AI应用能力不足", "en": "AI capability", "added": 2025}
    )
    q["challenges"]["options"].append(
        {"code": "none", "zh": "以上都没有", "en": "None of these", "exclusive": True}
    )
    q["challenges"]["nets"] = [
        {"code": "net_money", "zh": "钱", "en": "Money", "of": ["roi", "ai"]}
    ]
    q["media_intent"]["items"].append(
        {"code": "ctv", "zh": "联网电视", "en": "Connected TV", "added": 2026}
    )
    q["media_intent"]["items"][1]["labels"] = {
        2025: {"zh": "户外大屏", "en": "Outdoor screens", "comparable": False}
    }
    q["confidence"]["text"][2026] = {"zh": "明年整体营销投资将", "en": "Next year total spend will"}
    q["budget_split"]["items"].append({"code": "other", "zh": "其他", "en": "Other", "added": 2026})
    return Codebook.from_dict(raw)


def test_options_items_and_columns_follow_their_editions() -> None:
    cb = _history_codebook()
    ch, media = cb["challenges"], cb["media_intent"]
    assert ch.codes(2024) == ["measurement", "roi", "competition", "none"]
    assert ch.codes(2025) == ["measurement", "roi", "competition", "ai", "none"]
    assert ch.codes(2026) == ["measurement", "competition", "ai", "none"]
    assert ch.codes() == ["measurement", "roi", "competition", "ai", "none"]
    assert [o.code for o in ch.options_in(2026)] == ch.codes(2026)
    assert media.item_codes(2025) == ["mobile", "outdoor"]
    assert media.item_codes(2026) == ["mobile", "outdoor", "ctv"]
    assert ch.columns(2024) == [
        "challenges__measurement",
        "challenges__roi",
        "challenges__competition",
        "challenges__none",
    ]
    assert ch.not_asked_columns(2024) == ["challenges__ai"]
    assert cb.not_asked_columns(2025) == ["media_intent__ctv", "budget_split__other"]
    # what a delivery must have vs. the typed wave's schema (nulls for what was not asked)
    assert "challenges__ai" not in cb.columns(2024)
    dtypes = cb.column_dtypes(2024)
    assert dtypes["challenges__ai"] == pl.Boolean and dtypes["media_intent__ctv"] == pl.Enum(
        ["increase", "flat", "decrease", "not_invest"]
    )
    assert cb.columns(2026)[-6:] == [
        "media_intent__mobile",
        "media_intent__outdoor",
        "media_intent__ctv",
        "budget_split__brand",
        "budget_split__performance",
        "budget_split__other",
    ]
    assert cb["industry"].enum() == pl.Enum(["food_bev", "beauty", "auto"])  # same every edition


def test_labels_and_wording_by_edition() -> None:
    cb = _history_codebook()
    ind, media, conf = cb["industry"], cb["media_intent"], cb["confidence"]
    assert ind.label("auto", "zh", 2025) == "汽车"
    assert ind.label("auto", "zh", 2026) == "汽车出行"
    assert ind.label("auto", "en") == "Auto & mobility"  # newest by default
    assert ind.option("auto").zh == "汽车"  # the first wording
    assert media.label("outdoor", "en", 2024) == "Outdoor"
    assert media.label("outdoor", "en", 2025) == "Outdoor screens"
    assert conf.text("en", 2025) == "Next year China's marketing investment will"
    assert conf.text("en", 2026) == conf.text("en") == "Next year total spend will"


def test_comparability_per_option_net_and_item() -> None:
    cb = _history_codebook()
    ch, media, ind, split = (
        cb[k] for k in ("challenges", "media_intent", "industry", "budget_split")
    )
    # a new option is not compared; the other options still are
    # ("none", a catch-all, moves when options come and go: compared only between equal sets)
    assert ch.comparable_codes(2024, 2025) == ["measurement", "roi", "competition"]
    assert ch.comparable_codes(2025, 2026) == ["measurement", "competition", "ai"]
    assert ch.comparable_codes(2026, 2027) == [
        "measurement",
        "competition",
        "ai",
        "none",
        "net_money",
    ]
    # the net's members asked changed between the two editions: not comparable
    assert "net_money" not in ch.comparable_codes(2024, 2025)
    assert "net_money" not in ch.comparable_codes(2025, 2026)
    assert ch.net_members("net_money", 2024) == ("roi",)
    # a relabel that changes the meaning breaks only that item's series
    assert media.comparable_items(2024, 2025) == ["mobile"]
    assert media.comparable_items(2025, 2026) == ["mobile", "outdoor"]
    # a plain relabel keeps the option comparable
    assert "auto" in ind.comparable_codes(2025, 2026)
    # a constant sum whose parts changed: no part is compared
    assert split.comparable_items(2024, 2025) == ["brand", "performance"]
    assert split.comparable_items(2025, 2026) == []
    assert ch.code_asked_in("ai", 2024) is False and ch.code_asked_in("net_money", 2024)
    assert media.code_asked_in("ctv:increase", 2025) is False
    assert media.code_asked_in("mobile:increase", 2025)


def test_questions_and_sections_in_an_edition() -> None:
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    raw["editions"] = [2024, 2025]
    for r in raw["questions"]:
        if r["section"] == "main":
            r["editions"] = [2025]
    cb = Codebook.from_dict(raw)
    assert [q.id for q in cb.questions_in(2024)] == ["industry"]
    assert [s.id for s in cb.sections_in(2024)] == ["profile"]
    assert [s.id for s in cb.sections_in(2025)] == ["profile", "main"]
    assert len(cb.questions_in(None)) == len(cb)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda q: q[3]["options"][0].update(added=2026, dropped=2025),
            "dropped \\(2025\\) no later than it is added \\(2026\\)",
        ),
        (lambda q: q[3]["options"][0].update(added="next"), "has added 'next'"),
        (
            lambda q: q[3]["options"][0].update(
                dropped=2025, labels={2026: {"zh": "x", "en": "x"}}
            ),
            "labels for edition\\(s\\) \\[2026\\] that do not ask it",
        ),
        (
            lambda q: q[3]["options"][0].update(lables={2026: {}}),
            "unknown key\\(s\\) \\['lables'\\]",
        ),
        (
            lambda q: q[3]["options"][0].update(labels={2026: {"zh": "只有中文"}}),
            "with both 'zh' and 'en'",
        ),
        (
            lambda q: q[0]["options"][0].update(exclusive=True),
            "'industry' \\(single\\): option 'food_bev' is exclusive",
        ),
        (lambda q: q[3].update(history=[{"edition": 2026, "change": "renamed"}]), "history entry"),
        (
            lambda q: (
                [o.update(added=2026) for o in q[3]["options"]] and q[3].update(editions=[2025])
            ),
            "asked in 2025 but none of its options is",
        ),
    ],
)
def test_bad_option_history_raises_clear_errors(tmp_path: Path, mutate, message: str) -> None:
    def change(raw):
        raw["editions"] = [2024, 2025]
        mutate(raw["questions"])

    with pytest.raises(CodebookError, match=message) as info:
        Codebook.load(_broken(tmp_path, change))
    assert info.value.file == str(tmp_path / "cb.yaml") and info.value.column


def test_shipped_codebook_labels_are_whole() -> None:
    """A flow-mapping label with an unquoted comma ("Cut brand spend, add …") became two keys."""
    cb = Codebook.load()
    assert cb["budget_cut_response"].label("brand_to_performance", "en") == (
        "Cut brand spend, add performance spend"
    )


def test_question_nets_extend_the_scale_nets() -> None:
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    conf = next(q for q in raw["questions"] if q["id"] == "confidence")
    conf["nets"] = [
        {
            "code": "net_not_down",
            "zh": "不减少",
            "en": "Not down",
            "of": ["flat", "small_increase", "big_increase"],
        },
        {
            "code": "net_decrease",
            "zh": "大幅减少",
            "en": "Large decrease only",
            "of": ["big_decrease"],
        },
    ]
    q = Codebook.from_dict(raw)["confidence"]
    assert [n.code for n in q.nets] == ["net_decrease", "net_increase", "net_not_down"]
    assert q.net_members("net_decrease") == ("big_decrease",)  # the question's net replaces it
    assert q.net_members("net_increase") == ("small_increase", "big_increase")


def test_differences_list_what_changed_between_two_editions() -> None:
    cb = _history_codebook()
    got = [(d.question, d.what, d.code, d.change) for d in cb.differences(2025, 2026)]
    assert got == [
        ("industry", "option", "auto", "relabelled"),
        ("challenges", "option", "roi", "dropped"),
        ("media_intent", "item", "ctv", "added"),
        ("budget_split", "item", "other", "added"),
    ]
    got = [(d.question, d.code, d.change) for d in cb.differences(2024, 2025)]
    assert got == [("challenges", "ai", "added"), ("media_intent", "outdoor", "redefined")]
    assert cb.differences(2025, 2024) == cb.differences(2024, 2025)  # order of the editions


def test_load_parses_each_content_once(tmp_path: Path) -> None:
    p = tmp_path / "cb.yaml"
    p.write_bytes(MINI.read_bytes())
    first = Codebook.load(p)
    assert Codebook.load(p) is first
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    raw["questions"][0]["text"]["en"] = "Sector"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    again = Codebook.load(p)
    assert again is not first and again["industry"].text("en") == "Sector"


def test_codebook_that_is_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "cb.yaml"
    p.write_bytes(MINI.read_text(encoding="utf-8").encode("gbk"))
    with pytest.raises(CodebookError, match="not UTF-8") as info:
        Codebook.load(p)
    assert info.value.file == str(p)


def test_a_rewording_in_text_is_also_a_history_entry() -> None:
    """Code that reads ``Question.history`` (trend notes) sees a break recorded in ``text``."""
    cb = _history_codebook()
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    raw["questions"][1]["text"][2026] = {"zh": "新问法", "en": "New wording", "comparable": False}
    q = Codebook.from_dict(raw)["confidence"]
    assert [(h.edition, h.change, h.comparable) for h in q.history] == [(2026, "reworded", False)]
    assert not q.comparable(2025, 2026) and q.comparable(2024, 2025)
    # a comparable rewording is recorded as comparable
    assert [(h.edition, h.comparable) for h in cb["confidence"].history] == [(2026, True)]
    assert cb["confidence"].comparable(2025, 2026)


def test_option_marked_not_comparable_is_never_compared() -> None:
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    ch = next(q for q in raw["questions"] if q["id"] == "challenges")
    ch["options"][2]["comparable"] = False  # competition: its meaning drifts every year
    q = Codebook.from_dict(raw)["challenges"]
    assert q.comparable_codes(2024, 2025) == ["measurement", "roi"]
    assert q.comparable_codes(2025, 2024) == ["measurement", "roi"]
    assert q.code_asked_in("competition", 2025)  # still asked, only not compared


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["questions"][0].update(options=["a", "b"]), "has option 'a'"),
        (lambda r: r["questions"][1].update(editions=2025), "'editions' must be a list"),
        (lambda r: r["questions"][1].update(history="dropped"), "'history' must be a list"),
        (
            lambda r: r["questions"][1].update(
                nets=[{"code": "n", "zh": "n", "en": "n", "of": "flat"}]
            ),
            "'of' must be a list",
        ),
        (lambda r: r.update(sections="profile"), "top level: 'sections' must be a list"),
        (lambda r: r.update(editions=2025), "top level: 'editions' must be a list"),
        (lambda r: r.update(title="T"), "'title' must be"),
        (lambda r: r.update(id_label="ID"), "'id_label' must be"),
        (lambda r: r["scales"].update(confidence5=[1]), "scale 'confidence5' must be a mapping"),
        (lambda r: r["questions"][0].update(required="no"), "has required: 'no'"),
        (lambda r: r["questions"][1].update(ordered=1), "has ordered: 1"),
        (lambda r: r["questions"][0]["text"].update(fr="x"), "has text edition 'fr'"),
    ],
)
def test_malformed_codebooks_are_errors_not_tracebacks(
    tmp_path: Path, mutate, message: str
) -> None:
    """A quoted "no" read as true, a scalar where a list belongs: each a CodebookError."""
    with pytest.raises(CodebookError, match=message) as info:
        Codebook.load(_broken(tmp_path, mutate))
    assert info.value.file == str(tmp_path / "cb.yaml")


# -- properties of the edition logic -----------------------------------------------------------------

YEARS = st.integers(2020, 2030)


@st.composite
def history_questions(draw):
    """A multi question with options of random added/dropped/relabel history and nets."""
    n = draw(st.integers(1, 6))
    options = []
    for i in range(n):
        added = draw(st.none() | YEARS)
        dropped = draw(st.none() | YEARS)
        if added is not None and dropped is not None and dropped <= added:
            dropped = None
        o = {"code": f"o{i}", "zh": f"选项{i}", "en": f"Option {i}"}
        if added is not None:
            o["added"] = added
        if dropped is not None:
            o["dropped"] = dropped
        lo, hi = added or 2020, (dropped or 2031) - 1
        if draw(st.booleans()) and lo <= hi:
            year = draw(st.integers(lo, hi))
            o["labels"] = {
                year: {"zh": f"新{i}", "en": f"New {i}", "comparable": draw(st.booleans())}
            }
        options.append(o)
    members = draw(st.lists(st.sampled_from([o["code"] for o in options]), min_size=1, unique=True))
    q = {
        "id": "q",
        "section": "s",
        "type": "multi",
        "text": {"zh": "问", "en": "Q"},
        "options": options,
        "nets": [{"code": "net", "zh": "合计", "en": "Net", "of": members}],
    }
    return Codebook.from_dict({"questions": [q]})["q"]


@settings(max_examples=200, deadline=None)
@given(history_questions(), YEARS, YEARS)
def test_comparable_codes_are_asked_in_both_editions_and_symmetric(q, a, b) -> None:
    codes = q.comparable_codes(a, b)
    assert codes == q.comparable_codes(b, a)
    for c in codes:
        assert q.code_asked_in(c, a) and q.code_asked_in(c, b)
        if c != "net":
            o = q.option(c)
            assert o.comparable_between(a, b)
    if "net" in codes:
        assert q.net_members("net", a) == q.net_members("net", b)
        assert set(q.net_members("net", a)) <= set(codes)
    # every option asked in only one of the editions is a difference, and is not compared
    once = {c for c in q.codes() if q.code_asked_in(c, a) != q.code_asked_in(c, b)}
    assert once.isdisjoint(codes)
    diffs = {d.code: d.change for d in q.differences(a, b)}
    assert {c for c, ch in diffs.items() if ch in ("added", "dropped")} == once
    assert q.columns(a) == [f"q__{c}" for c in q.codes(a)]
    assert set(q.columns(a)) | set(q.not_asked_columns(a)) == set(q.columns())


def test_short_label_by_edition() -> None:
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    raw["questions"][0]["short"] = {
        "zh": "行业",
        "en": "Industry",
        2026: {"zh": "赛道", "en": "Sector"},
    }
    q = Codebook.from_dict(raw)["industry"]
    assert (q.short_label("en", 2025), q.short_label("en", 2026), q.short_label("zh")) == (
        "Industry",
        "Sector",
        "赛道",
    )
    assert (
        Codebook.from_dict(raw)["confidence"].short_label("en")
        == "Next year China's marketing investment will"
    )


def test_a_key_given_twice_is_an_error_not_the_last_one_silently(tmp_path: Path) -> None:
    text = MINI.read_text(encoding="utf-8").replace(
        "    text: {zh: 所属行业, en: Industry}",
        "    text: {zh: 所属行业, en: Industry}\n    text: {zh: 行业, en: Sector}",
    )
    p = tmp_path / "cb.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(CodebookError, match="key 'text' appears twice") as info:
        Codebook.load(p)
    first = text.splitlines().index("    text: {zh: 所属行业, en: Industry}") + 1
    assert info.value.row == first + 1 and f"first at line {first}" in str(info.value)
