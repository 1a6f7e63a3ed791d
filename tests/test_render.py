"""The Quarto-compatible render engine: parsing, a full render, determinism, failures."""

from __future__ import annotations

import html as html_module
import re
import shutil
from pathlib import Path

import pytest

from survey.errors import RenderError
from survey.render import render_report
from survey.render.assemble import inline_value, number_labels, resolve_refs
from survey.render.qmd import parse_qmd, to_notebook

MINI = Path(__file__).parent / "fixtures" / "mini_report"
INLINE_TOTAL = "2410"  # sum(range(1, 11)) * 7 + edition (2025), computed in index.qmd

QMD = """---
title: 测试
execute:
  echo: true
---
# 标题 {.unnumbered}

```{python}
#| tags: [parameters]
edition = 2024
```

```{python}
#| label: fig-a
#| fig-cap: "图题：A"
#| echo: false
#| warning: false
x = 1
```

值为 `{python} x + 1`，见 @fig-a。

```python
不执行 `{python} 99`
```
"""


def test_parse_front_matter_cells_options_and_inline() -> None:
    doc = parse_qmd(QMD)
    assert doc.front_matter["title"] == "测试"
    assert doc.front_matter["execute"] == {"echo": True}
    params, fig = doc.cells
    assert params.is_parameters and params.source == "edition = 2024"
    assert fig.options == {"label": "fig-a", "fig-cap": "图题：A", "echo": False, "warning": False}
    assert fig.label == "fig-a" and fig.source == "x = 1"
    assert [i.expr for i in doc.inlines] == ["x + 1"]  # not the one inside the plain fence
    assert "`{python} 99`" in doc.blocks[-1].text


def test_parameters_injected_after_parameters_cell() -> None:
    nb = to_notebook(parse_qmd(QMD), params={"edition": 2025, "lang": "zh"})
    kinds = [c.metadata["survey"]["kind"] for c in nb.cells]
    assert kinds[:3] == ["markdown", "code", "parameters"]
    assert "edition = 2025" in nb.cells[2].source and "lang = 'zh'" in nb.cells[2].source
    # the inline expression runs in a hidden cell right before its paragraph
    assert kinds.index("inline") == kinds.index("markdown", 3) - 1


def test_bad_cell_options_name_the_line() -> None:
    with pytest.raises(RenderError, match="line 2"):
        parse_qmd("# t\n```{python}\n#| echo: [unclosed\nx = 1\n```\n")


def test_crossrefs_and_inline_values() -> None:
    refs = number_labels(["fig-a", "tbl-b"], chapter=3, lang="zh")
    assert resolve_refs("见 @fig-a 和 @tbl-b", refs, lang="zh") == (
        "见 [图 3.1](#fig-a) 和 [表 3.1](#tbl-b)"
    )
    assert number_labels(["fig-a"], chapter=None, lang="en") == {"fig-a": "Figure 1"}
    assert resolve_refs("mail a@fig-x.com", refs, lang="zh") == "mail a@fig-x.com"
    plain = {"output_type": "execute_result", "data": {"text/plain": "'第一'"}}
    assert inline_value([plain]) == "第一"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], dict[str, Path]]:
    meta = {"synthetic": True}
    first = render_report(MINI, out_dir=tmp_path_factory.mktemp("a"), quiet=True, meta=meta)
    second = render_report(MINI, out_dir=tmp_path_factory.mktemp("b"), quiet=True, meta=meta)
    return first, second


@pytest.mark.slow
def test_full_render_html(rendered: tuple[dict[str, Path], dict[str, Path]]) -> None:
    html = rendered[0]["html"].read_text("utf-8")
    assert INLINE_TOTAL in html  # inline value computed in the kernel
    assert "第 2025 版" in html  # injected parameter overrides the cell's 2024
    assert "图 1.1：各渠道预算占比（迷你示例）" in html
    assert "表 1.1：各渠道预算占比表" in html and "42.0%" in html
    assert 'href="#fig-share"' in html and 'id="fig-share"' in html
    assert 'lang="zh"' in html and "迷你报告" in html
    srcs = re.findall(r'(?:src|href)="([^"#][^"]*)"', html)
    srcs = [s for s in srcs if s != "report.zh.pdf"]  # the link to the PDF next to the page
    assert all(s.startswith("data:") for s in srcs), srcs  # self-contained
    assert "@font-face" in html and "data:font/woff;base64," in html  # CJK glyphs embedded
    assert "sourceCode python" in html and "import polars" not in html  # echo per cell


@pytest.mark.slow
def test_full_render_pdf_embeds_cjk_font(rendered: tuple[dict[str, Path], dict[str, Path]]) -> None:
    pdf = rendered[0]["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF-")
    fonts = {f.split(b"+")[-1] for f in re.findall(rb"/FontName\s*/([\w+-]+)", pdf)}
    assert {b"SurveySansSC-Regular", b"SurveySansSC-Bold"} <= fonts, fonts  # both weights
    try:
        from pypdf import PdfReader
    except ImportError:
        return
    text = "".join(page.extract_text() for page in PdfReader(rendered[0]["pdf"]).pages)
    assert INLINE_TOTAL in text and "各渠道预算占比" in text


@pytest.mark.slow
def test_two_renders_are_identical(rendered: tuple[dict[str, Path], dict[str, Path]]) -> None:
    first, second = rendered
    assert first["html"].read_bytes() == second["html"].read_bytes()
    assert first["pdf"].read_bytes() == second["pdf"].read_bytes()


def test_failing_cell_names_label_and_leaves_no_output(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    shutil.copytree(MINI, project, ignore=shutil.ignore_patterns("_output"))
    chapter = project / "01-chart.qmd"
    chapter.write_text(
        chapter.read_text("utf-8")
        + '\n```{python}\n#| label: boom\nraise ValueError("坏数据")\n```\n',
        "utf-8",
    )
    out = tmp_path / "out"
    with pytest.raises(RenderError) as info:
        render_report(project, out_dir=out, quiet=True, formats=("html",))
    message = str(info.value)
    assert "01-chart.qmd" in message and "'boom'" in message
    assert "ValueError" in message and "坏数据" in message
    assert not out.exists()


FEATURES = """# 功能 {.unnumbered}

```{python}
#| output: asis
print("**粗体输出**")
```

```{python}
#| include: false
hidden = "不应出现"
print(hidden)
```

```{python}
#| eval: false
#| echo: true
raise SystemExit("never runs")
```

```{python}
#| error: true
1 / 0
```

```{python}
import warnings
warnings.warn("警告文本")
print("正常输出")
```

```{python}
from IPython.display import Markdown
Markdown("*来自 Markdown 对象*")
```

字符串 `{python} "无引号"`。
"""


def test_cell_options_output_include_eval_error_warning(tmp_path: Path) -> None:
    from survey.render.assemble import assemble
    from survey.render.execute import SETUP_CODE, execute_notebook

    nb = to_notebook(parse_qmd(FEATURES), setup=SETUP_CODE)
    nb = execute_notebook(nb, cwd=tmp_path, name="features.qmd")
    md = assemble(
        nb, stem="f", target="html", media_dir=tmp_path, refs={}, defaults={"warning": False}
    ).markdown
    assert "**粗体输出**" in md and "```" not in md.split("**粗体输出**")[0]
    assert "不应出现" not in md
    assert 'raise SystemExit("never runs")' in md  # shown, not run
    assert "ZeroDivisionError" in md  # error: true keeps the traceback
    assert "警告文本" not in md and "正常输出" in md  # warning: false drops stderr
    assert "*来自 Markdown 对象*" in md
    assert "字符串 无引号。" in md


def test_book_chapter_title_from_front_matter(tmp_path: Path) -> None:
    from survey.render.project import _is_numbered, _title_heading, load_project

    doc = parse_qmd("---\ntitle: 方法与数据\n---\n\n正文\n")
    _title_heading(doc)
    assert doc.blocks[0].text == "# 方法与数据" and _is_numbered(doc)
    project = load_project(MINI)
    names = [p.name for p in project.chapters]
    assert project.is_book and names == ["index.qmd", "01-chart.qmd", "02-emit.qmd"]
    assert project.params == {"edition": 2025, "lang": "zh"}


def test_pdf_tables_size_columns_to_content() -> None:
    """Long-text tables: short columns keep their width, long ones share the line and ids wrap."""
    import json as _json

    from survey.render.htmltable import html_to_blocks
    from survey.render.pandoc import run_pandoc
    from survey.render.typst import tune_tables

    rows = "".join(
        f"<tr><td>2025</td><td>confidence_net_decrease_trend_{i}</td><td>{'原文' * 40}</td></tr>"
        for i in range(3)
    )
    html = f"<table><tr><th>版次</th><th>数据</th><th>原文</th></tr>{rows}</table>"
    doc = {"pandoc-api-version": [1, 23, 1], "meta": {}, "blocks": html_to_blocks(html)}
    typ = tune_tables(run_pandoc(["-f", "json", "-t", "typst"], _json.dumps(doc)))
    widths = re.search(r"columns: \(auto, ([\d.]+)fr, ([\d.]+)fr\),", typ)
    assert widths and float(widths[1]) < float(widths[2])  # the id column narrower than the quote
    assert "confidence\\_\u200bnet" in typ  # breakable after underscores
    short = html_to_blocks("<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>")
    typ = tune_tables(run_pandoc(["-f", "json", "-t", "typst"], _json.dumps(
        {"pandoc-api-version": [1, 23, 1], "meta": {}, "blocks": short})))
    assert "columns: (auto,) * 2," in typ


HOSTILE = ["成熟品牌<b onmouseover=alert(1)>x</b>", "[点此](javascript:alert(1))", "a*b_c [d",
           "标签#1 $x$ @ref <lab> //c"]


def test_outputs_are_named_by_language(rendered: tuple[dict[str, Path], dict[str, Path]]) -> None:
    first, _ = rendered
    assert first["html"].name == "report.zh.html" and first["pdf"].name == "report.zh.pdf"
    assert not list(first["html"].parent.glob(".*.partial"))


@pytest.mark.slow
def test_hostile_labels_show_as_typed_and_stay_inert(
    rendered: tuple[dict[str, Path], dict[str, Path]],
) -> None:
    """Labels from a delivery (02-emit.qmd) never become live HTML, links or typst markup."""
    page = rendered[0]["html"].read_text("utf-8")
    body = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S)
    assert "<b onmouseover" not in body and "<b>x" not in body
    assert not re.search(r"href=[\"']?\s*javascript:", body, re.I)
    assert not re.search(r"<a\b[^>]*>点此", body)
    text = html_module.unescape(re.sub(r"<[^>]+>", "", body))
    for label in HOSTILE:
        assert label in text, label  # in the heading, the lead, the bullets or the table
    pdf_text = _pdf_text(rendered[0]["pdf"]).replace("\r", "")
    for label in ["成熟品牌<b onmouseover=alert(1)>x</b>", "[点此](javascript:alert(1))"]:
        assert label in pdf_text.replace("\n", ""), label
    assert "a*b_c [d" in pdf_text
    assert "#1 $x$ @ref <lab> //c" in pdf_text  # typst markup characters stay text


@pytest.mark.slow
def test_deck_cover_message_pages_and_back_page(
    rendered: tuple[dict[str, Path], dict[str, Path]],
) -> None:
    from test_report_layout import pdf_pages

    pages = pdf_pages(rendered[0]["pdf"])
    width, height, _boxes, cover = pages[0]
    assert abs(width / height - 16 / 9) < 0.01  # a 16:9 deck
    cover = re.sub(r"\s+", "", cover)  # typst spaces Latin from CJK in the text layer
    for field in ["2025", "迷你报告", "测试研究院<b>", "伙伴甲", "2024年12月26日"]:
        assert field in cover, field
    assert "目录" in pages[1][3]
    messages = [i for i, p in enumerate(pages) if "分行业" in p[3] or "投入减少" in p[3]]
    assert len(messages) == 2 and messages[0] != messages[1]  # one message per page
    footer = pages[messages[0]][3]
    assert "基数" in footer and "n = 228" in footer and "来源" in footer
    assert "合成数据，仅作方法演示" in footer
    back = pages[-1][3]
    assert "免责声明" in back and "合成数据，仅作方法演示。" in back and "仅供测试。" in back


def test_emitted_outputs_keep_their_order_and_divs_nest(tmp_path: Path) -> None:
    from survey.render.assemble import assemble
    from survey.render.execute import SETUP_CODE, execute_notebook

    qmd = """```{python}
import matplotlib
import matplotlib.pyplot as plt
from survey.render.emit import figure, md
md("::: {.insights}")
fig, ax = plt.subplots(figsize=(2, 1))
figure(fig, alt="图一")
md(":::")
md("之后")
```
"""
    nb = execute_notebook(to_notebook(parse_qmd(qmd), setup=SETUP_CODE), cwd=tmp_path, name="e")
    out = assemble(nb, stem="e", target="html", media_dir=tmp_path / "m", refs={})
    text = out.markdown
    assert text.index("::: {.insights}") < text.index("survey-fragment-1") < text.index("之后")
    (frag,) = out.fragments.values()
    assert frag["kind"] == "image" and frag["alt"] == "图一" and frag["size"] == "full"


def test_empty_chapter_is_left_out(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    shutil.copytree(MINI, project, ignore=shutil.ignore_patterns("_output"))
    (project / "01-chart.qmd").write_text("```{python}\nx = 1\n```\n", "utf-8")
    (project / "02-emit.qmd").write_text("```{python}\ny = 2\n```\n", "utf-8")
    outputs = render_report(project, out_dir=tmp_path / "out", quiet=True, formats=("html",))
    page = outputs["html"].read_text("utf-8")
    assert "摘要" in page and page.count("<section") == 1  # only the index chapter


def test_unwritable_output_leaves_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RenderError, match="cannot write the report"):
        render_report(MINI, out_dir=blocker / "out", quiet=True, formats=("html",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_cli_refuses_bad_parameters_fast(capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from survey.cli import main

    t0 = time.perf_counter()
    assert main(["report", "-P", "lang:fr"]) == 2
    assert time.perf_counter() - t0 < 1.0
    err = capsys.readouterr().err
    assert "'fr'" in err and "zh" in err and "Traceback" not in err
    assert main(["report", "-P", "edition:1999"]) == 2
    assert "1999" in capsys.readouterr().err


def _pdf_text(path: Path) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


CONTRACT_MD = """# 市场信心 {#chap-outlook}

::: {.chapter-lead}
导语。
:::

## 十大趋势（上） {.takeaways}

""" + "\n".join(
    f"::: {{.takeaway}}\n[{k}%]{{.kpi}}\n\n[标题{k}]{{.takeaway-title}}\n\n[说明{k}]{{.takeaway-note}}\n:::\n"
    for k in range(1, 6)
) + """
## 对广告主的启示 {.message .implications}

::: {.insights}
- 分阶段释放：预留机动预算。
- 统一口径：建立效果评估。
- 逆势投入：拉开差距。
:::

## 54%的广告主预期投入减少 {.message}

::: {.insights}
- 要点
:::

::: {.page-footer}
基数：n = 228｜[合成数据，仅作方法演示]{.synthetic-tag}
:::
"""


def test_deck_layout_of_the_contract_markdown(tmp_path: Path) -> None:
    """The report contract's structure becomes the template's page functions and compiles."""
    from survey.render.deck import deck_blocks
    from survey.render.pandoc import markdown_to_json
    from survey.render.typst import compile_typst, typst_source

    doc = markdown_to_json(CONTRACT_MD)
    kinds = [b["c"][1].split("[")[0].split("(")[0] for b in deck_blocks(doc["blocks"])
             if b["t"] == "RawBlock" and b["c"][1].startswith("#")]
    assert kinds == ["#deck-chapter", "#deck-takeaways", *["#deck-card"] * 5,
                     "#deck-implications", "#deck-message"]
    root = Path(__file__).resolve().parents[1] / "report" / "templates"
    partials = [root / n for n in ("typst-template.typ", "page.typ", "typst-show.typ")]
    meta = {"title": "报告", "lang": "zh", "toc": True, "labels": {"page": ""}}
    source = tmp_path / "deck.typ"
    source.write_text(typst_source(doc, build_dir=tmp_path, meta=meta, partials=partials,
                                   layout="deck"), "utf-8")
    assert "#deck-synthetic-tag[" in source.read_text("utf-8")
    pdf = compile_typst(source, tmp_path / "deck.pdf", root=tmp_path)
    text = re.sub(r"\s+", "", _pdf_text(pdf))
    assert "01分阶段释放预留机动预算。" in text and "说明5" in text and "合成数据" in text
