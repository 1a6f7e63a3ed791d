"""The codebook loader: parsing, columns, dtypes, labels and clear errors on bad codebooks."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

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
    assert not cb["budget_growth_expected"].asked_in(2025) and not cb["budget_growth_expected"].asked_in(2026)
    assert cb["challenges"].asked_in(2026) and not cb["challenges"].asked_in(2025)
    assert not cb["challenges"].comparable(2025, 2026)
