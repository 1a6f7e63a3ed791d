"""Ingest takes agency files as they come (issue 10 item 6; issue 13 item 8)."""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl
import pytest
import yaml
from helpers import mini_typed_frame

from survey.cli import main
from survey.codebook import Codebook
from survey.errors import ValidationError
from survey.ingest import delivery_frame, ingest, write_draft
from survey.io import PartialWaveWarning, load_wave, validate_file, write_table

MINI = Path(__file__).parent / "fixtures" / "mini_codebook.yaml"


@pytest.fixture(scope="module")
def cb() -> Codebook:
    return Codebook.load(MINI)


@pytest.fixture(scope="module")
def typed(cb: Codebook) -> pl.DataFrame:
    return mini_typed_frame(cb)


def _reference(tmp: Path, cb: Codebook, typed: pl.DataFrame) -> pl.DataFrame:
    """The typed frame as the plain delivery (questionnaire headers and labels) loads."""
    return load_wave(
        write_table(delivery_frame(typed, cb), tmp / "reference.csv"), codebook=cb
    ).frame


def _numbered(frame: pl.DataFrame) -> pl.DataFrame:
    styles = [
        "Q{i}. {h}",
        "{i}、{h}",
        "Q{i}_{j} {h}",
        "Ｑ{i}．{h}【多选】",
        "  {h}  (Q{i})",
        "{h}_Q{i}",
    ]
    return frame.rename(
        {
            h: styles[i % len(styles)].format(i=i + 1, j=i % 3 + 1, h=h)
            for i, h in enumerate(frame.columns)
        }
    )


def test_numbered_headers_are_matched(tmp_path: Path, cb: Codebook, typed: pl.DataFrame) -> None:
    delivered = _numbered(delivery_frame(typed, cb))
    assert (
        delivered.columns[0] == "Q1. 受访者编号"
        and delivered.columns[3] == "Ｑ4．明年营销预算预计增长(%)【多选】"
    )
    src = write_table(delivered, tmp_path / "delivery.xlsx")
    result = ingest(src, edition=2026, codebook=cb, out_dir=tmp_path / "w")
    assert result.ok, result.to_text()
    assert set(result.mapping.values()) == set(typed.columns)
    wave = load_wave(result.wave_path, codebook=cb).frame.select(typed.columns)
    assert wave.equals(_reference(tmp_path, cb, typed))


def test_full_width_and_spacing_in_headers(cb: Codebook) -> None:
    from survey.io.headers import match_headers

    m = match_headers(
        ["明年 中国营销投资将", "营销挑战 － 营销效果难测量与验证", "ＲＯＩ"], cb, suggest=False
    )
    assert m.mapping == {
        "明年 中国营销投资将": "confidence",
        "营销挑战 － 营销效果难测量与验证": "challenges__measurement",
    }


def test_open_text_other_column_is_kept_as_text(
    tmp_path: Path, cb: Codebook, typed: pl.DataFrame
) -> None:
    delivered = delivery_frame(typed, cb).with_columns(
        pl.Series("营销挑战-其他(请注明)", ["数据孤岛", None, "预算审批慢", None]),
        pl.Series("所属行业-其他(请注明)", [None, "航空", None, None]),
    )
    src = write_table(delivered, tmp_path / "d.csv")
    result = ingest(src, edition=2026, codebook=cb, out_dir=tmp_path)
    assert result.ok, result.to_text()
    # the mini codebook's questions have no "other" option: the text column is named by the question
    assert result.kept == {
        "营销挑战-其他(请注明)": "challenges_text",
        "所属行业-其他(请注明)": "industry_text",
    }
    wave = load_wave(result.wave_path, codebook=cb)
    assert wave.frame["challenges_text"].to_list() == ["数据孤岛", None, "预算审批慢", None]
    assert "challenges__measurement" in wave.frame.columns  # the option column is still the option


def _sav(path: Path, cb: Codebook, typed: pl.DataFrame, selected: str, unselected: str) -> Path:
    """An SPSS file as agencies write it: Q-numbered variables, worded variable labels,
    numeric codes with value labels, multi-select as 1/0 labelled selected/unselected."""
    import pyreadstat

    data, labels, values = {}, [], {}
    for i, column in enumerate(typed.columns, start=1):
        name = f"Q{i}"
        if column == "resp_id":
            data[name] = typed[column].to_list()
            labels.append(cb.id_label_zh)
            continue
        q, sub = cb.owner(column)
        header = q.text("zh") if sub is None else f"{q.short_label('zh')}-{q.label(sub, 'zh')}"
        labels.append(header)
        series = typed[column]
        if q.type in ("single", "grid"):
            codes = q.codes()
            data[name] = [
                None if v is None else float(codes.index(v) + 1) for v in series.to_list()
            ]
            values[name] = {float(k + 1): q.label(c, "zh") for k, c in enumerate(codes)}
        elif q.type == "multi":
            data[name] = [float(v) for v in series.to_list()]
            values[name] = {1.0: selected, 0.0: unselected}
        else:
            data[name] = series.to_list()
    pdf = pl.DataFrame(data).to_pandas()
    pyreadstat.write_sav(pdf, str(path), column_labels=labels, variable_value_labels=values)
    return path


@pytest.mark.parametrize(
    ("selected", "unselected"),
    [
        ("选中", "未选中"),
        ("是", "否"),
        ("1", "0"),
        ("checked", "unchecked"),
        ("Selected", "Not selected"),
    ],
)
def test_sav_variable_labels_and_multi_select_value_labels(
    tmp_path: Path, cb: Codebook, typed: pl.DataFrame, selected: str, unselected: str
) -> None:
    src = _sav(tmp_path / "d.sav", cb, typed, selected, unselected)
    report = validate_file(src, codebook=cb, edition=2026)
    assert report.ok, report.to_text()
    result = ingest(src, edition=2026, codebook=cb, out_dir=tmp_path / "w")
    assert result.ok, result.to_text()
    assert result.mapping[cb.id_label_zh] == "resp_id"
    assert any("variable label" in n for n in result.notes)
    wave = load_wave(result.wave_path, codebook=cb).frame.select(typed.columns)
    assert wave.equals(typed)  # explicit "not selected" everywhere: False, not "no answer"


def test_readme_first_sheet_is_skipped_and_sheet_can_be_chosen(
    tmp_path: Path, cb: Codebook, typed: pl.DataFrame
) -> None:
    import xlsxwriter

    delivered = delivery_frame(typed, cb)
    path = tmp_path / "d.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    readme = wb.add_worksheet("说明")
    readme.write(0, 0, "本文件为2026年广告主调研数据。")
    readme.write(1, 0, "字段说明见问卷。")
    for name in ("数据", "备份"):
        ws = wb.add_worksheet(name)
        ws.write_row(0, 0, delivered.columns)
        for r, row in enumerate(delivered.iter_rows(), start=1):
            for c, v in enumerate(row):
                if v is not None:
                    ws.write(r, c, v)
    wb.close()
    report = validate_file(path, codebook=cb, edition=2026)
    assert report.ok, report.to_text()
    result = ingest(path, edition=2026, codebook=cb, out_dir=tmp_path / "w")
    assert result.ok and any("sheet '说明' skipped" in n for n in result.notes)
    assert validate_file(path, codebook=cb, edition=2026, sheet="备份").ok
    bad = validate_file(path, codebook=cb, edition=2026, sheet="说明")
    assert not bad.ok
    assert main(["validate", str(path), "--sheet", "缺失"]) == 1
    text = validate_file(path, codebook=cb, sheet="缺失").to_text()
    assert "has no sheet '缺失'" in text and "'说明', '数据', '备份'" in text


def test_write_mapping_then_ingest_with_it(
    tmp_path: Path, cb: Codebook, typed: pl.DataFrame, capsys
) -> None:
    delivered = (
        delivery_frame(typed, cb)
        .rename({"所属行业": "所属行业类别"})
        .with_columns(
            pl.col("明年中国营销投资将").replace({"持平": "基本持平"}),
            pl.lit("x").alias("提交时间"),
        )
    )
    src = write_table(delivered, tmp_path / "d.csv")
    draft = write_draft(src, tmp_path / "map.yaml", edition=2026, codebook=cb)
    spec = yaml.safe_load(draft.read_text(encoding="utf-8"))
    assert spec["columns"]["所属行业类别"] == "industry"
    assert spec["columns"]["提交时间"] == "keep"
    assert spec["options"]["confidence"]["基本持平"] == "flat"
    assert "# SUGGESTED" in draft.read_text(encoding="utf-8")
    result = ingest(src, edition=2026, codebook=cb, mapping=draft, out_dir=tmp_path / "w")
    assert result.ok, result.to_text()
    assert result.kept == {"提交时间": "提交时间"}


def test_cli_write_mapping_and_validate_with_mapping(
    tmp_path: Path, typed: pl.DataFrame, capsys
) -> None:
    cb = Codebook.load()
    wave = load_wave(2025)
    delivered = delivery_frame(wave.frame.head(20), cb).rename(
        {cb["industry"].text("zh"): "Q1 贵司所属行业"}
    )
    src = write_table(delivered, tmp_path / "delivery_2025.xlsx")
    assert main(["validate", str(src)]) == 1
    out = capsys.readouterr().out
    assert "did you mean industry" in out  # validate shows the suggestions now
    draft = tmp_path / "m.yaml"
    assert main(["ingest", str(src), "--edition", "2025", "--write-mapping", str(draft)]) == 0
    assert "--mapping" in capsys.readouterr().out
    assert main(["validate", str(src), "--mapping", str(draft)]) == 0, capsys.readouterr().out
    assert not (tmp_path / "2025.parquet").exists()


def test_ingest_output_is_grouped_like_validate(
    tmp_path: Path, cb: Codebook, typed: pl.DataFrame
) -> None:
    delivered = delivery_frame(typed, cb).with_columns(pl.lit("飞机").alias("所属行业"))
    src = write_table(delivered, tmp_path / "d.csv")
    result = ingest(src, edition=2026, codebook=cb, out_dir=tmp_path)
    text = result.to_text()
    validated = validate_file(src, codebook=cb, edition=2026).to_text()
    assert "[unknown_code] 4 problem(s)" in text and "[unknown_code] 4 problem(s)" in validated
    assert "  column 'industry': expected a code or label of 'industry'" in text
    assert "\n    row 2: found '飞机'" in text


def test_edition_warning_reads_ids_and_the_file_name(
    tmp_path: Path, cb: Codebook, typed: pl.DataFrame
) -> None:
    frame = typed.with_columns(("BJ2025-" + pl.col("resp_id")).alias("resp_id"))
    src = write_table(delivery_frame(frame, cb), tmp_path / "delivery_2025_revised_2024-12-15.csv")
    result = ingest(src, edition=2026, codebook=cb, out_dir=tmp_path)
    assert result.ok
    text = "\n".join(result.warnings)
    assert "file name delivery_2025_revised_2024-12-15.csv names the edition 2025, not 2026" in text
    assert "4 of 4 respondent ids name the year 2025 (e.g. 'BJ2025-r1')" in text
    right = ingest(src, edition=2025, codebook=cb, out_dir=tmp_path)
    assert not any("--edition" in w for w in right.warnings)


# -- bring your own data (issue 13 item 8) --------------------------------------------------------
def test_subset_of_questions_loads_with_a_warning_naming_the_missing(
    tmp_path: Path, cb: Codebook, typed: pl.DataFrame
) -> None:
    part = typed.select("resp_id", "industry", "budget_growth_expected")
    src = write_table(part, tmp_path / "mine.csv")
    with pytest.warns(
        PartialWaveWarning, match="confidence, challenges, media_intent, budget_split"
    ):
        wave = load_wave(src, codebook=cb)
    assert wave.frame["industry"].to_list() == typed["industry"].to_list()
    assert wave.frame["challenges__roi"].null_count() == wave.n  # not asked, never False
    assert wave.frame.schema["challenges__roi"] == pl.Boolean
    with pytest.raises(ValidationError):
        load_wave(src, codebook=cb, strict=True)


def test_extra_columns_are_kept_as_unlabelled_variables(
    tmp_path: Path, cb: Codebook, typed: pl.DataFrame
) -> None:
    frame = typed.with_columns(
        pl.Series("region", ["华东", "华北", "华东", "华南"]), pl.Series("score", [1, 2, 3, 4])
    )
    src = write_table(frame, tmp_path / "mine.csv")
    with pytest.warns(
        PartialWaveWarning, match=r"kept as unlabelled variables\): 'region', 'score'"
    ):
        wave = load_wave(src, codebook=cb)
    assert wave.frame["region"].to_list() == ["华东", "华北", "华东", "华南"]
    assert wave.frame.schema["score"] == pl.Float64
    assert not validate_file(src, codebook=cb).ok  # validate stays strict


def test_stored_wave_with_kept_columns_reloads_silently(
    tmp_path: Path, cb: Codebook, typed: pl.DataFrame
) -> None:
    delivered = delivery_frame(typed, cb).with_columns(
        pl.Series("营销挑战-其他(请注明)", ["a", None, None, "b"])
    )
    result = ingest(
        write_table(delivered, tmp_path / "d.csv"), edition=2026, codebook=cb, out_dir=tmp_path
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", PartialWaveWarning)
        wave = load_wave(result.wave_path, codebook=cb)
    assert wave.frame["challenges_text"].to_list() == ["a", None, None, "b"]


def test_a_file_without_codebook_is_analysed_with_inferred_types(tmp_path: Path) -> None:
    from survey.design import Design
    from survey.io.infer import infer_codebook

    rows = [
        "序号,地区,得分,满意",
        *(
            f"{i},{'华东' if i % 3 else '华北'},{i % 7},{'是' if i % 2 else '否'}"
            for i in range(1, 31)
        ),
    ]
    path = tmp_path / "mine.csv"
    path.write_text("\n".join(rows) + "\n", encoding="gbk")
    cb = infer_codebook(path)
    assert [(q.id, q.type) for q in cb] == [("q1", "single"), ("q2", "numeric"), ("q3", "single")]
    wave = load_wave(path, codebook="infer")
    assert wave.n == 30 and wave.frame["resp_id"].to_list()[:2] == ["1", "2"]
    assert wave.labelled("zh")["q1"].cast(pl.String).to_list()[:3] == ["华东", "华东", "华北"]
    shares = Design(wave.frame).proportion("q1")  # the estimators work on it
    assert shares["estimate"].sum() == pytest.approx(1.0)
    assert Design(wave.frame).mean("q2")["estimate"][0] == pytest.approx(
        sum(i % 7 for i in range(1, 31)) / 30
    )
