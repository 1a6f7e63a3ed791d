"""docs/adding-a-wave.md, followed literally: a realistic 2026 questionnaire goes in end to end.

The 2026 questionnaire of this test, like every real one, adds two options to two existing
questions, drops an option, drops three questions that the 2025 report uses, adds three questions
(single, multi, grid) and relabels an industry. Its own generator (not the package's) writes the
agency's delivery three ways: Excel with "Q1."-numbered Chinese headers and labels, SPSS .sav
with Q-numbered variables, worded variable labels and 选中/未选中 value labels, and a GBK CSV.
The documented commands run on a copy of the data folder (``SURVEY_DATA_DIR``) with zero edits of
the delivery files; then every edition renders in both languages.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from survey.cli import main
from survey.codebook import Codebook, Question
from survey.io import load_wave, read_metadata, write_table
from survey.paths import data_dir

pytestmark = pytest.mark.slow

NEW = 2026
N = 200
ADDED_OPTIONS = {
    "challenges": {
        "code": "data_compliance",
        "zh": "数据合规要求提高",
        "en": "Stricter data compliance",
    },
    "growth_opportunities": {
        "code": "ai_products",
        "zh": "AI产品与服务",
        "en": "AI products and services",
    },
}
DROPPED_OPTION = ("budget_cut_response", "cut_agency_fees")
DROPPED_QUESTIONS = ("own_confidence", "market_share_change", "short_video_resources")
RELABEL = ("industry", "auto", {"zh": "汽车出行", "en": "Automotive & mobility"})
NEW_QUESTIONS = [
    {
        "id": "ai_budget_trend",
        "section": "ai",
        "type": "single",
        "scale": "confidence5",
        "ordered": True,
        "text": {
            "zh": "明年贵公司在AI营销上的投入将如何变化?",
            "en": "How will your AI marketing spend change next year?",
        },
        "short": {"zh": "AI营销投入", "en": "AI marketing spend"},
    },
    {
        "id": "ai_risks",
        "section": "ai",
        "type": "multi",
        "text": {
            "zh": "贵公司应用AI营销的主要顾虑是?",
            "en": "What are your main concerns about AI in marketing?",
        },
        "short": {"zh": "AI营销顾虑", "en": "AI concerns"},
        "options": [
            {"code": "brand_safety", "zh": "品牌安全", "en": "Brand safety"},
            {"code": "data_privacy", "zh": "数据隐私", "en": "Data privacy"},
            {"code": "cost", "zh": "投入成本高", "en": "High cost"},
            {"code": "talent", "zh": "缺少人才", "en": "Lack of talent"},
        ],
    },
    {
        "id": "ai_channel_intent",
        "section": "ai",
        "type": "grid",
        "scale": "intent4",
        "text": {
            "zh": "明年贵公司在以下AI营销场景的投资计划是?",
            "en": "Investment plans next year for these AI marketing uses",
        },
        "short": {"zh": "AI场景投资意向", "en": "AI use investment intent"},
        "items": [
            {"code": "content", "zh": "AIGC内容生产", "en": "AIGC content"},
            {"code": "targeting", "zh": "智能投放", "en": "Smart targeting"},
            {"code": "service", "zh": "智能客服", "en": "AI customer service"},
        ],
    },
]


@pytest.fixture()
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the data folder, used by every command through SURVEY_DATA_DIR."""
    target = tmp_path / "data"
    shutil.copytree(data_dir(), target)
    monkeypatch.setenv("SURVEY_DATA_DIR", str(target))
    return target


# -- step 1 of the doc: the codebook ---------------------------------------------------------------
def _step1_codebook(data: Path) -> None:
    path = data / "codebook.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions = {q["id"]: q for q in raw["questions"]}
    for qid, option in ADDED_OPTIONS.items():
        options = questions[qid]["options"]
        at = next(
            (i for i, o in enumerate(options) if o["code"] in ("other", "none")), len(options)
        )
        options.insert(at, {**option, "added": NEW})
    qid, code = DROPPED_OPTION
    next(o for o in questions[qid]["options"] if o["code"] == code)["dropped"] = NEW
    for qid in DROPPED_QUESTIONS:
        history = questions[qid].setdefault("history", [])
        history.append({"edition": NEW, "change": "dropped", "comparable": False})
    qid, code, label = RELABEL
    next(o for o in questions[qid]["options"] if o["code"] == code)["labels"] = {NEW: label}
    for q in NEW_QUESTIONS:
        raw["questions"].append(
            {**q, "history": [{"edition": NEW, "change": "added", "comparable": False}]}
        )
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _step2_figures(data: Path) -> None:
    with (data / "published" / "2025.csv").open(encoding="utf-8") as f:
        columns = next(csv.reader(f))
    row = dict.fromkeys(columns, "")
    row.update(
        edition=str(NEW),
        figure_id="sample_size",
        measure="count",
        value=str(N),
        unit="count",
        base="advertisers surveyed",
        source_file="test delivery",
        quote=f"{NEW} test delivery",
    )
    with (data / "published" / f"{NEW}.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerow(row)


# -- the agency's delivery: this test's own generator ----------------------------------------------
def _answers(q: Question, rng: random.Random) -> dict[str, object]:
    """One respondent's answers to ``q`` as the 2026 questionnaire asks it: column -> value
    (single/grid: the option's 2026 label; multi: bool; numbers)."""
    if q.type == "single":
        return {q.id: rng.choice(q.options_in(NEW)).label("zh", NEW)}
    if q.type == "grid":
        return {
            f"{q.id}__{i.code}": rng.choice(q.options_in(NEW)).label("zh", NEW)
            for i in q.items_in(NEW)
        }
    if q.type == "multi":
        options = [o for o in q.options_in(NEW) if not o.exclusive]
        chosen = set(rng.sample([o.code for o in options], rng.randint(1, min(3, len(options)))))
        return {f"{q.id}__{o.code}": o.code in chosen for o in q.options_in(NEW)}
    if q.type == "numeric":
        lo, hi = q.range or (0, 100)
        return {q.id: float(rng.randint(int(max(lo, -30)), int(min(hi, 60))))}
    parts = q.items_in(NEW)
    total = int(q.total or 100)
    cuts = sorted(rng.randint(0, total) for _ in range(len(parts) - 1))
    values = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    return {f"{q.id}__{p.code}": float(v) for p, v in zip(parts, values, strict=True)}


def _header(cb: Codebook, column: str) -> str:
    q, sub = cb.owner(column)
    if sub is None:
        return q.text("zh", NEW)
    part = q.item(sub) if q.type in ("grid", "constant_sum") else q.option(sub)
    return f"{q.short_label('zh', NEW)}-{part.label('zh', NEW)}"


def _generate(cb: Codebook, seed: int = 2026) -> tuple[list[str], list[dict[str, object]]]:
    rng = random.Random(seed)
    rows = []
    for i in range(N):
        row: dict[str, object] = {cb.id_column: f"D26-{i + 1:04d}"}
        for q in cb.questions_in(NEW):
            row.update(_answers(q, rng))
        rows.append(row)
    return list(rows[0]), rows


def _numbered(columns: list[str], cb: Codebook) -> dict[str, str]:
    """Column -> the agency's header: "Q1." numbers, 【多选】 tags on multi-select columns."""
    out = {}
    for n, column in enumerate(columns, start=1):
        if column == cb.id_column:
            out[column] = f"Q{n}. {cb.id_label_zh}"
            continue
        tag = "【多选】" if cb.owner(column)[0].type == "multi" else ""
        out[column] = f"Q{n}. {_header(cb, column)}{tag}"
    return out


def _deliveries(folder: Path, cb: Codebook) -> tuple[dict[str, Path], pl.DataFrame]:
    import pyreadstat

    columns, rows = _generate(cb)
    headers = _numbered(columns, cb)
    multi = {c for c in columns if c != cb.id_column and cb.owner(c)[0].type == "multi"}

    def cell(column: str, value: object, selected: str, blank: object) -> object:
        if column in multi:
            return selected if value else blank
        return value

    def table(selected: str, blank: object) -> pl.DataFrame:
        data = {headers[c]: [cell(c, r[c], selected, blank) for r in rows] for c in columns}
        return pl.DataFrame(data)

    folder.mkdir()
    xlsx = table("1", None)
    for c in multi:  # Excel: the option's label when selected, blank when not
        q, sub = cb.owner(c)
        xlsx = xlsx.with_columns(pl.col(headers[c]).replace({"1": q.label(sub, "zh", NEW)}))
    paths = {"xlsx": write_table(xlsx, folder / f"{NEW}年广告主调研_交付.xlsx")}
    gbk = table("1", "0")
    paths["csv"] = write_table(gbk, folder / f"{NEW}年广告主调研_交付.csv", encoding="gbk")
    # SPSS: Q-numbered variables, worded variable labels, numeric codes with value labels
    names = {c: f"Q{n}" for n, c in enumerate(columns, start=1)}
    sav: dict[str, list] = {}
    value_labels: dict[str, dict[float, str]] = {}
    for c in columns:
        values = [r[c] for r in rows]
        if c in multi:
            sav[names[c]] = [1.0 if v else 0.0 for v in values]
            value_labels[names[c]] = {1.0: "选中", 0.0: "未选中"}
        elif c != cb.id_column and cb.owner(c)[0].type in ("single", "grid"):
            q = cb.owner(c)[0]
            labels = [o.label("zh", NEW) for o in q.options_in(NEW)]
            sav[names[c]] = [float(labels.index(v) + 1) for v in values]
            value_labels[names[c]] = {float(k + 1): v for k, v in enumerate(labels)}
        else:
            sav[names[c]] = values
    variable_labels = [headers[c].split(" ", 1)[1] for c in columns]
    paths["sav"] = folder / f"{NEW}年广告主调研_交付.sav"
    pyreadstat.write_sav(
        pl.DataFrame(sav).to_pandas(),
        str(paths["sav"]),
        column_labels=variable_labels,
        variable_value_labels=value_labels,
    )
    truth = pl.DataFrame({c: [r[c] for r in rows] for c in columns})
    return paths, truth


# -- the test --------------------------------------------------------------------------------------
def test_a_2026_wave_goes_in_end_to_end(
    tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {e: load_wave(e).frame for e in (2024, 2025)}
    _step1_codebook(data)
    _step2_figures(data)
    assert main(["figures", "--check"]) == 0, capsys.readouterr().out
    cb = Codebook.load()
    assert [q.id for q in cb.questions_in(NEW) if q.id in DROPPED_QUESTIONS] == []
    assert {q["id"] for q in NEW_QUESTIONS} <= {q.id for q in cb.questions_in(NEW)}
    paths, truth = _deliveries(tmp_path / "deliveries", cb)
    originals = {k: p.read_bytes() for k, p in paths.items()}

    # 4. check each delivery, then ingest (no mapping needed: numbered headers, SPSS labels,
    # 选中/未选中 and GBK are understood)
    for kind, path in paths.items():
        code = main(["validate", str(path), "--edition", str(NEW)])
        assert code == 0, (kind, capsys.readouterr().out)
    capsys.readouterr()
    assert main(["ingest", str(paths["xlsx"]), "--edition", str(NEW)]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "no weighting margins for edition 2026" in out and "unweighted" in out
    wave = load_wave(NEW)
    assert wave.n == N and read_metadata(data / "waves" / f"{NEW}.parquet")["ingested"] == "true"
    for kind in ("sav", "csv"):
        folder = tmp_path / f"waves_{kind}"
        assert (
            main(["ingest", str(paths[kind]), "--edition", str(NEW), "--out", str(folder)]) == 0
        ), capsys.readouterr().out
        other = load_wave(folder / f"{NEW}.parquet")
        assert other.frame.equals(wave.frame), kind
    assert {
        k: p.read_bytes() for k, p in paths.items()
    } == originals  # zero edits of the deliveries

    frame = wave.frame
    # the new questions and options are there, with the generated answers
    assert frame["ai_budget_trend"].cast(pl.String).is_not_null().all()
    assert frame["ai_risks__data_privacy"].to_list() == truth["ai_risks__data_privacy"].to_list()
    assert (
        frame["challenges__data_compliance"].to_list()
        == truth["challenges__data_compliance"].to_list()
    )
    assert frame["ai_channel_intent__content"].null_count() == 0
    relabelled = truth["industry"] == RELABEL[2]["zh"]
    assert (frame.filter(relabelled.to_list())["industry"].cast(pl.String) == "auto").all()
    # dropped questions are not in the new wave; the dropped option is null ("not asked")
    assert not any(c.startswith(DROPPED_QUESTIONS) for c in frame.columns)
    assert frame[f"{DROPPED_OPTION[0]}__{DROPPED_OPTION[1]}"].null_count() in (0, N)
    # earlier waves still load, unchanged, with the new options null
    for edition, old in before.items():
        again = load_wave(edition).frame
        assert again.select(old.columns).equals(old)
        if cb["challenges"].asked_in(edition):  # a column of the question, null: not asked
            assert again["challenges__data_compliance"].null_count() == again.height
    # a second ingest of the edition refuses
    assert main(["ingest", str(paths["xlsx"]), "--edition", str(NEW)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err


FULL = os.environ.get("SURVEY_FULL_REFRESH") == "1"
"""Render every edition in both languages (about 3 minutes a render); by default the new edition
in Chinese and the previous one in English, which keeps the suite within its time budget."""
RENDERS = (
    [(e, lang) for lang in ("zh", "en") for e in (2022, 2023, 2024, 2025, NEW)]
    if FULL
    else [(NEW, "zh"), (2025, "en")]
)


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder after the documented refresh (codebook, figures, the 2026 wave ingested)."""
    tmp = tmp_path_factory.mktemp("refreshed")
    data = tmp / "data"
    shutil.copytree(data_dir(), data)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SURVEY_DATA_DIR", str(data))
        _step1_codebook(data)
        _step2_figures(data)
        paths, _ = _deliveries(tmp / "deliveries", Codebook.load())
        assert main(["ingest", str(paths["xlsx"]), "--edition", str(NEW)]) == 0
    return data


@pytest.mark.parametrize(("edition", "lang"), RENDERS)
def test_every_edition_renders_after_the_refresh(
    refreshed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edition: int, lang: str
) -> None:
    monkeypatch.setenv("SURVEY_DATA_DIR", str(refreshed))
    out = tmp_path / "out"
    args = [
        "report",
        "--to",
        "html",
        "--out",
        str(out),
        "--quiet",
        "-P",
        f"edition:{edition}",
        "-P",
        f"lang:{lang}",
    ]
    assert main(args) == 0, edition
    html = next(out.glob(f"report*{lang}*.html")).read_text(encoding="utf-8")
    if edition == NEW:
        for q in NEW_QUESTIONS:  # the new questions reach the report, with their charts
            named = q["short"][lang] in html or q["text"][lang].rstrip("?？") in html
            assert named and "data:image" in html, q["id"]


def test_the_previous_editions_report_is_unchanged_by_the_refresh(
    refreshed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adding 2026 (codebook edits, figures, the ingested wave) changes no word or number of the
    2025 report: every chapter's markdown is the same before and after."""
    from survey.reporting import ReportContext, chapter_markdown
    from survey.reporting.spec import load_spec

    ids = [c["id"] for c in load_spec()["chapters"]]

    def book() -> dict[str, str]:
        ctx = ReportContext.load(2025, "zh")
        return {c: chapter_markdown(c, ctx=ctx) for c in ids}

    before = book()
    monkeypatch.setenv("SURVEY_DATA_DIR", str(refreshed))
    after = book()
    assert sum(len(t) for t in before.values()) > 10_000  # a whole report, not empty chapters
    for c in ids:
        assert after[c] == before[c], c
