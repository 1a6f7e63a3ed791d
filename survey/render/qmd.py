"""Parse a Quarto ``.qmd`` file and turn it into an nbformat notebook.

Supported: YAML front matter, markdown, executable ```` ```{python} ```` cells with ``#|``
options (parsed as YAML), the ``parameters``-tagged cell (papermill style: injected parameter
values go into a new cell right after it, as Quarto does), and inline `` `{python} expr` ``
values. Each inline expression becomes a hidden cell placed just before the markdown that
uses it, so it sees every cell above it; the markdown keeps a ``⟦inline:N⟧`` placeholder.

Example:
    >>> doc = parse_qmd('''---
    ... title: 测试
    ... ---
    ... # 摘要
    ...
    ... ```{python}
    ... #| label: fig-a
    ... #| fig-cap: "图题"
    ... x = 1
    ... ```
    ...
    ... 共 `{python} x + 1` 个。
    ... ''')
    >>> doc.front_matter["title"], doc.cells[0].options["label"], doc.inlines[0].expr
    ('测试', 'fig-a', 'x + 1')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml

from survey.errors import RenderError

_FENCE = re.compile(r"^(?P<indent>\s{0,3})(?P<ticks>`{3,}|~{3,})\s*(?P<info>.*?)\s*$")
_EXEC_INFO = re.compile(r"^\{\s*(?P<lang>python|python3)\s*(?P<rest>[^}]*)\}$")
_OPTION = re.compile(r"^#\|\s?(.*)$")
_INLINE = re.compile(r"`\{python\}\s+(?P<expr>[^`]+?)\s*`")
PLACEHOLDER = "⟦inline:{}⟧"
PLACEHOLDER_RE = re.compile(r"⟦inline:(\d+)⟧")


@dataclass
class Markdown:
    """A run of markdown text (inline expressions already replaced by placeholders)."""

    text: str
    line: int


@dataclass
class Cell:
    """An executable code cell with its ``#|`` options (option lines removed from ``source``)."""

    source: str
    options: dict[str, Any]
    line: int
    index: int = 0

    @property
    def label(self) -> str:
        """The ``label`` option, or ``cell-N`` (1-based) when absent."""
        return str(self.options.get("label") or f"cell-{self.index + 1}")

    @property
    def is_parameters(self) -> bool:
        tags = self.options.get("tags") or []
        return "parameters" in (tags if isinstance(tags, list) else [tags])


@dataclass
class Inline:
    """One inline `` `{python} expr` `` value, numbered in order of appearance."""

    expr: str
    line: int
    number: int


@dataclass
class QmdDocument:
    """A parsed ``.qmd``: front matter plus markdown and code blocks in source order."""

    front_matter: dict[str, Any]
    blocks: list[Markdown | Cell]
    inlines: list[Inline] = field(default_factory=list)
    path: Path | None = None

    @property
    def cells(self) -> list[Cell]:
        return [b for b in self.blocks if isinstance(b, Cell)]


def _split_front_matter(text: str) -> tuple[dict[str, Any], list[str], int]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, lines, 1
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            try:
                meta = yaml.safe_load("\n".join(lines[1:end])) or {}
            except yaml.YAMLError as exc:
                raise RenderError(f"invalid YAML front matter: {exc}") from exc
            if not isinstance(meta, dict):
                raise RenderError("YAML front matter must be a mapping")
            return meta, lines[end + 1 :], end + 2
    raise RenderError("YAML front matter is not closed by '---'")


def parse_options(lines: list[str], *, where: str = "cell") -> tuple[dict[str, Any], list[str]]:
    """Split leading ``#|`` option lines off a cell; return (options, remaining lines).

    Example:
        >>> parse_options(["#| echo: false", "#| fig-cap: 图一", "x = 1"])
        ({'echo': False, 'fig-cap': '图一'}, ['x = 1'])
    """
    opts: list[str] = []
    i = 0
    while i < len(lines):
        m = _OPTION.match(lines[i])
        if not m:
            break
        opts.append(m.group(1))
        i += 1
    if not opts:
        return {}, lines
    try:
        parsed = yaml.safe_load("\n".join(opts)) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"{where}: invalid '#|' cell options: {exc}") from exc
    if not isinstance(parsed, dict):
        raise RenderError(f"{where}: '#|' cell options must be 'key: value' lines")
    return parsed, lines[i:]


def _extract_inlines(text: str, line: int, inlines: list[Inline]) -> str:
    def repl(m: re.Match[str]) -> str:
        number = len(inlines)
        offset = text.count("\n", 0, m.start())
        inlines.append(Inline(expr=m.group("expr").strip(), line=line + offset, number=number))
        return PLACEHOLDER.format(number)

    return _INLINE.sub(repl, text)


def parse_qmd(text: str, *, path: Path | None = None) -> QmdDocument:
    """Parse ``.qmd`` text into a :class:`QmdDocument` (see the module example)."""
    where = str(path) if path else "<qmd>"
    meta, lines, first = _split_front_matter(text)
    blocks: list[Markdown | Cell] = []
    inlines: list[Inline] = []
    buf: list[str] = []
    buf_line = first

    def flush(next_line: int) -> None:
        nonlocal buf, buf_line
        chunk = "\n".join(buf).strip("\n")
        if chunk.strip():
            lead = len(buf) - len("\n".join(buf).lstrip("\n").splitlines())
            blocks.append(Markdown(chunk, buf_line + max(lead, 0)))
        buf, buf_line = [], next_line

    i = 0
    while i < len(lines):
        line_no = first + i
        m = _FENCE.match(lines[i])
        if not m:
            buf.append(lines[i])
            i += 1
            continue
        ticks, info = m.group("ticks"), m.group("info")
        closer = re.compile(rf"^\s{{0,3}}{re.escape(ticks[0])}{{{len(ticks)},}}\s*$")
        j = i + 1
        while j < len(lines) and not closer.match(lines[j]):
            j += 1
        if j >= len(lines):
            raise RenderError(f"{where}, line {line_no}: code fence {ticks} is never closed")
        exec_m = _EXEC_INFO.match(info)
        if exec_m is None:  # plain code block: markdown, inline code inside left alone
            buf.extend(lines[i : j + 1])
            i = j + 1
            continue
        flush(first + j + 1)
        cell_where = f"{where}, line {line_no}"
        options, body = parse_options(lines[i + 1 : j], where=cell_where)
        cell = Cell(source="\n".join(body).strip("\n"), options=options, line=line_no)
        cell.index = len([b for b in blocks if isinstance(b, Cell)])
        blocks.append(cell)
        i = j + 1
    flush(first + len(lines))

    # inline expressions: only outside fenced code blocks (markdown fences kept verbatim)
    for block in blocks:
        if isinstance(block, Markdown):
            block.text = _replace_outside_fences(block.text, block.line, inlines)
    return QmdDocument(front_matter=meta, blocks=blocks, inlines=inlines, path=path)


def _replace_outside_fences(text: str, line: int, inlines: list[Inline]) -> str:
    out: list[str] = []
    chunk: list[str] = []
    chunk_line = line
    fence: str | None = None
    for k, raw in enumerate(text.split("\n")):
        m = _FENCE.match(raw)
        if fence is None and m:
            if chunk:
                out.append(_extract_inlines("\n".join(chunk), chunk_line, inlines))
                chunk = []
            fence = m.group("ticks")
            out.append(raw)
        elif fence is not None:
            out.append(raw)
            if raw.strip().startswith(fence[0] * len(fence)) and not raw.strip().strip(fence[0]):
                fence = None
                chunk_line = line + k + 1
        else:
            if not chunk:
                chunk_line = line + k
            chunk.append(raw)
    if chunk:
        out.append(_extract_inlines("\n".join(chunk), chunk_line, inlines))
    return "\n".join(out)


def read_qmd(path: Path) -> QmdDocument:
    """Read and parse a ``.qmd`` file; errors name the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RenderError(f"cannot read {path}: {exc}", file=str(path)) from exc
    try:
        return parse_qmd(text, path=Path(path))
    except RenderError as exc:
        if str(path) in str(exc):
            raise
        raise RenderError(f"{path}: {exc}", file=str(path)) from exc


def _params_source(params: Mapping[str, Any]) -> str:
    return "# Injected parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items())


def to_notebook(
    doc: QmdDocument,
    *,
    params: Mapping[str, Any] | None = None,
    setup: str | None = None,
) -> nbformat.NotebookNode:
    """Convert to an nbformat v4 notebook ready for execution.

    Cell metadata ``survey`` records the role of each cell: ``{"kind": "markdown"}``,
    ``{"kind": "code", "index": i}``, ``{"kind": "inline", "number": n}``,
    ``{"kind": "setup"}`` or ``{"kind": "parameters"}`` (injected values). Parameters are
    injected right after the ``parameters``-tagged cell, or at the top when there is none.

    Example:
        >>> nb = to_notebook(parse_qmd("```{python}\\n#| tags: [parameters]\\nx = 1\\n```"),
        ...                  params={"x": 2})
        >>> [c.metadata["survey"]["kind"] for c in nb.cells]
        ['code', 'parameters']
    """
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    cells: list[nbformat.NotebookNode] = []
    if setup:
        c = nbformat.v4.new_code_cell(setup)
        c.metadata["survey"] = {"kind": "setup"}
        cells.append(c)
    has_param_cell = any(c.is_parameters for c in doc.cells)
    if params and not has_param_cell:
        c = nbformat.v4.new_code_cell(_params_source(params))
        c.metadata["survey"] = {"kind": "parameters"}
        c.metadata["tags"] = ["injected-parameters"]
        cells.append(c)

    for block in doc.blocks:
        if isinstance(block, Markdown):
            for num in PLACEHOLDER_RE.findall(block.text):
                inline = doc.inlines[int(num)]
                c = nbformat.v4.new_code_cell(inline.expr)
                c.metadata["survey"] = {
                    "kind": "inline",
                    "number": inline.number,
                    "line": inline.line,
                }
                cells.append(c)
            m = nbformat.v4.new_markdown_cell(block.text)
            m.metadata["survey"] = {"kind": "markdown", "line": block.line}
            cells.append(m)
            continue
        c = nbformat.v4.new_code_cell(block.source)
        c.metadata["survey"] = {
            "kind": "code",
            "index": block.index,
            "label": block.label,
            "line": block.line,
            "options": block.options,
        }
        if block.is_parameters:
            c.metadata["tags"] = ["parameters"]
        if block.options.get("error") is True:
            c.metadata.setdefault("tags", []).append("raises-exception")
        cells.append(c)
        if block.is_parameters and params:
            p = nbformat.v4.new_code_cell(_params_source(params))
            p.metadata["survey"] = {"kind": "parameters"}
            p.metadata["tags"] = ["injected-parameters"]
            cells.append(p)
    nb.cells = cells
    return nb
