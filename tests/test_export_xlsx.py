"""Excel tabs: every number of every sheet read back with openpyxl equals ``to_polars()``."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import polars as pl
import pytest

import survey
from survey.banners import say
from survey.export.xlsx import sheet_name, to_xlsx
from survey.weighting import standard_design


@pytest.fixture(scope="module")
def book():
    wave = survey.load_wave(2025)
    d = standard_design(wave).with_columns(
        big=pl.col("budget_size").cast(pl.String) == "large")
    return survey.banner(d, ["confidence", "media_intent", "challenges", "budget_growth_expected",
                             "big"],
                         ["job_level", "brand_type", "industry"], vs_total=True, scores=True,
                         nets={"any_decrease": ["big_decrease", "small_decrease"]})


def _expected(b, lang: str) -> dict[str, list[tuple]]:
    """Per question, the sheet's body as (label, [cell per column]) rows, from to_polars."""
    cells = b.to_polars(lang).with_row_index("_i")
    ncol = cells.select("col_variable", "col_level").unique().height
    out: dict[str, list[tuple]] = {}
    for (qid, _item), sub in cells.group_by("question_id", "item", maintain_order=True):
        rows = out.setdefault(qid, [])
        if qid == "media_intent":
            rows.append(("block", sub["row_code"][0].split(":")[0]))
        recs = sub.rows(named=True)
        for r in range(0, len(recs), ncol):
            chunk = recs[r:r + ncol]
            vals = []
            for c in chunk:
                if c["not_asked"]:
                    vals.append((say("not_asked", lang), ""))
                elif c["estimate"] is None:
                    vals.append(("*", ""))
                else:
                    mark = {"+": "▲", "-": "▼"}.get(c["vs_total"], "")
                    low = "†" if c["low_base"] else ""
                    vals.append((c["estimate"], f"{low}{c['sig_higher_than']}{mark}"))
            rows.append((chunk[0]["row_label"], vals, chunk[0]["row_kind"]))
        base = recs[:ncol]
        rows.append((say("base", lang), [(float(c["n"]), "") for c in base], "base"))
        rows.append((say("base_eff", lang), [(c["n_eff"], "") for c in base], "base_eff"))
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_excel_value_equals_to_polars(book, tmp_path: Path, lang: str) -> None:
    path = book.to_excel(tmp_path / "tabs.xlsx", lang=lang)
    wb = openpyxl.load_workbook(path)
    index = wb[wb.sheetnames[0]]
    assert index.title == say("xlsx.index", lang)
    links = {}
    for row in index.iter_rows(min_row=5, max_col=3):
        if row[0].value is None:
            break
        links[row[2].value] = row[1].hyperlink.location.split("!")[0].strip("'")
    assert list(links) == ["confidence", "media_intent", "challenges", "budget_growth_expected",
                           "big"]
    expected = _expected(book, lang)
    ncol = len(expected["confidence"][0][1])
    for qid, rows in expected.items():
        ws = wb[links[qid]]
        assert ws.freeze_panes == "B8"
        assert ws["A3"].value == book.base_text(lang)
        r = 8
        for exp in rows:
            if exp[0] == "block":
                while ws.cell(r, 1).value is None:  # the blank line between blocks
                    r += 1
                assert ws.cell(r, 2).value is None and ws.cell(r, 1).font.b
                r += 1
                continue
            label, vals, kind = exp
            assert ws.cell(r, 1).value == label, (qid, r)
            for j, (v, letters) in enumerate(vals):
                cell = ws.cell(r, 2 + 2 * j)
                if isinstance(v, str):
                    assert cell.value == v and cell.data_type == "s", (qid, r, j)
                else:
                    assert cell.data_type == "n", (qid, r, j)
                    assert cell.value == pytest.approx(v, abs=1e-6 if kind.startswith("base")
                                                       else 1e-12), (qid, r, j)
                    fmt = {"option": "0%", "net": "0%", "mean": "0.00"}.get(kind, "#,##0")
                    assert cell.number_format == fmt, (qid, r, j, cell.number_format)
                assert (ws.cell(r, 3 + 2 * j).value or "") == letters, (qid, r, j)
            if kind == "net":
                assert ws.cell(r, 1).font.b and ws.cell(r, 2).fill.fgColor.rgb.endswith("EAF1F8")
            r += 1
        r += 1
        assert say("note", lang, test=say("test.design", lang), alpha=0.05, adj="", sup=30,
                   flag=50) in ws.cell(r, 1).value
    cb = survey.load_wave(2025).codebook
    assert ncol == 1 + sum(len(cb[v].options) for v in ("job_level", "brand_type", "industry"))


def test_headers_spanners_and_letters(book, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(to_xlsx(book.table("en"), tmp_path / "t.xlsx"))
    ws = wb[wb.sheetnames[1]]
    t = book.table("en")
    for j, col in enumerate(t.columns):
        assert ws.cell(6, 2 + 2 * j).value == col.label
        assert (ws.cell(7, 2 + 2 * j).value or "") == (f"({col.letter})" if col.letter else "")
    merged = {str(m) for m in ws.merged_cells.ranges}
    for sp in t.spanners:
        assert ws.cell(5, 2 + 2 * sp.start).value == sp.label
        assert any(m.startswith(ws.cell(5, 2 + 2 * sp.start).coordinate + ":") for m in merged)


def test_sheet_names_are_valid_and_unique() -> None:
    used: set[str] = set()
    names = [sheet_name(s, used) for s in ["a" * 40, "a" * 40, "x[1]:y*?/\\", "'q'", "History",
                                             "媒介投资意向：移动互联网"]]
    assert len(set(n.lower() for n in names)) == len(names)
    for n in names:
        assert 0 < len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n)
        assert not n.startswith("'") and n.lower() != "history"


def test_failed_write_leaves_nothing(book, tmp_path: Path) -> None:
    with pytest.raises(survey.SurveyError):
        to_xlsx(book.table(), tmp_path / "tabs.csv")
    assert list(tmp_path.iterdir()) == []


def test_filtered_book_states_its_base(tmp_path: Path) -> None:
    d = standard_design(survey.load_wave(2025))
    b = survey.banner(d, ["confidence"], ["brand_type"], where={"industry": ["beauty", "food_bev"]})
    n = int(d.frame["industry"].cast(pl.String).is_in(["beauty", "food_bev"]).sum())
    assert b.base_text("zh") == f"基数：美妆个护+食品饮料，n = {n}"
    ws = openpyxl.load_workbook(b.to_excel(tmp_path / "f.xlsx"))
    assert ws[ws.sheetnames[1]]["A3"].value == b.base_text("zh")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_book(book, tmp_path: Path) -> None:
    path = book.to_excel(tmp_path / "tabs.xlsx")
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(path)], check=True, capture_output=True, timeout=240)
    pdf = tmp_path / "tabs.pdf"
    assert pdf.exists() and pdf.stat().st_size > 10_000


def test_counts_and_row_percentages_rows(book, tmp_path: Path) -> None:
    path = book.to_excel(tmp_path / "s.xlsx", lang="en", show=("col_pct", "count", "row_pct"))
    ws = openpyxl.load_workbook(path)[openpyxl.load_workbook(path).sheetnames[1]]
    cells = book.to_polars("en").filter(pl.col("question_id") == "confidence")
    first = cells.filter(pl.col("row_code") == "big_decrease")
    assert ws.cell(8, 1).value == first["row_label"][0]
    assert ws.cell(9, 1).value == say("weighted_count", "en")
    assert ws.cell(10, 1).value == say("row_pct", "en")
    for j, r in enumerate(first.iter_rows(named=True)):
        if r["suppressed"]:
            assert ws.cell(9, 2 + 2 * j).value == "*"
            continue
        assert ws.cell(9, 2 + 2 * j).value == pytest.approx(r["count"], abs=1e-9)
        got = ws.cell(10, 2 + 2 * j).value
        assert (got is None) if r["row_pct"] is None else got == pytest.approx(r["row_pct"])
    with pytest.raises(survey.SurveyError):
        book.to_excel(tmp_path / "x.xlsx", show=("median",))
