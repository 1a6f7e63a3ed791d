"""Turn an executed notebook back into pandoc markdown, as Quarto's Jupyter engine does.

Honours ``echo``, ``output`` (``false``/``asis``), ``include``, ``warning`` and ``error``;
writes ``image/svg+xml`` / ``image/png`` figures to files with their ``fig-cap`` and
``#fig-…`` label (figures without a caption, e.g. from :func:`survey.render.emit.figure`,
stay plain images); every output of a cell is placed in order, markdown outputs joined by
blank lines so that divs opened and closed by different outputs nest around the figures
between them. Images without caption and ``text/html`` tables (great-tables, data frames)
leave a placeholder div that :func:`survey.render.htmltable.splice_fragments` replaces in
the pandoc document (raw HTML for the page, a real pandoc table for the PDF), so the
markdown itself never needs raw HTML. Inline values replace their placeholders; ``@fig-…``/``@tbl-…``
cross references become "图 1.2"/"Figure 1.2" links per ``lang``.

Example:
    >>> refs = number_labels(["fig-a", "tbl-b", "fig-c"], chapter=2, lang="zh")
    >>> refs["fig-c"], refs["tbl-b"]
    ('图 2.2', '表 2.1')
    >>> resolve_refs("见 @fig-a。", refs, lang="zh")
    '见 [图 2.1](#fig-a)。'
"""

from __future__ import annotations

import ast
import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import nbformat

from survey.render.qmd import PLACEHOLDER_RE

Target = Literal["html", "pdf"]

_WORDS = {
    "zh": {"fig": "图", "tbl": "表", "delim": "："},
    "en": {"fig": "Figure", "tbl": "Table", "delim": ": "},
}
_REF = re.compile(r"(?<![\w@.])@(?P<label>(?:fig|tbl)-[\w\-]*\w)")
_NP_SCALAR = re.compile(r"^np\.\w+\((?P<v>.*)\)$")
_GT_ID = re.compile(r'<div id="(?P<id>[A-Za-z][\w-]*)" style="padding-left:0px;')


def words(lang: str) -> dict[str, str]:
    """Localised crossref words ("图"/"表" or "Figure"/"Table") and the caption delimiter."""
    return _WORDS.get(lang.split("-")[0], _WORDS["en"])


def number_labels(labels: list[str], *, chapter: int | None, lang: str) -> dict[str, str]:
    """Number ``fig-``/``tbl-`` labels in order, per kind: "图 2.1" in chapter 2, "图 1" if none."""
    w = words(lang)
    counts: dict[str, int] = {}
    out: dict[str, str] = {}
    for label in labels:
        kind = label.split("-", 1)[0]
        if kind not in ("fig", "tbl") or label in out:
            continue
        counts[kind] = counts.get(kind, 0) + 1
        num = f"{chapter}.{counts[kind]}" if chapter else str(counts[kind])
        out[label] = f"{w[kind]} {num}"
    return out


def resolve_refs(text: str, refs: Mapping[str, str], *, lang: str) -> str:
    """Replace ``@fig-x``/``@tbl-x`` by a link showing its number; unknown ones as ``?@fig-x``."""

    def repl(m: re.Match[str]) -> str:
        label = m.group("label")
        if label in refs:
            return f"[{refs[label]}](#{label})"
        return f"**?@{label}**"

    return _REF.sub(repl, text)


@dataclass
class Assembled:
    """Markdown of one chapter for one target, plus HTML fragments to convert for PDF."""

    markdown: str
    fragments: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def inline_value(outputs: list[Any]) -> str:
    """The text an inline expression shows: markdown as is, strings without quotes.

    Example:
        >>> inline_value([{"output_type": "execute_result", "data": {"text/plain": "'35.2%'"}}])
        '35.2%'
        >>> inline_value([{"output_type": "execute_result", "data": {"text/plain": "np.float64(0.5)"}}])
        '0.5'
    """
    for out in outputs:
        if out.get("output_type") not in ("execute_result", "display_data"):
            continue
        data = out.get("data", {})
        if "text/markdown" in data:
            return _text(data["text/markdown"]).strip()
        if "text/plain" in data:
            plain = _text(data["text/plain"]).strip()
            m = _NP_SCALAR.match(plain)
            if m:
                plain = m.group("v")
            try:
                value = ast.literal_eval(plain)
            except (ValueError, SyntaxError):
                return plain
            return value if isinstance(value, str) else plain
    return ""


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _fence(text: str, cls: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    info = f" {{.{cls}}}" if cls else ""
    return f"{ticks}{info}\n{text.rstrip()}\n{ticks}"


def _stable_gt_ids(html: str, seed: str) -> str:
    """Replace great-tables' random table ids by ids derived from ``seed`` (deterministic)."""
    for n, m in enumerate(_GT_ID.finditer(html)):
        old = m.group("id")
        new = "gt-" + hashlib.sha1(f"{seed}-{n}".encode()).hexdigest()[:10]
        html = html.replace(old, new)
    return html


def _options(cell: nbformat.NotebookNode, defaults: Mapping[str, Any]) -> dict[str, Any]:
    opts = dict(defaults)
    opts.update(cell.metadata.get("survey", {}).get("options", {}))
    return opts


class _ChapterWriter:
    def __init__(
        self, *, stem: str, target: Target, media_dir: Path, refs: Mapping[str, str], lang: str
    ) -> None:
        self.stem, self.target, self.media_dir, self.refs, self.lang = (
            stem,
            target,
            media_dir,
            refs,
            lang,
        )
        self.parts: list[str] = []
        self.fragments: dict[str, dict[str, Any]] = {}
        self.warnings: list[str] = []

    def caption(self, label: str | None, text: str | None) -> str:
        w = words(self.lang)
        number = self.refs.get(label or "")
        if number and text:
            return f"{number}{w['delim']}{text}"
        return number or text or ""

    def _fragment(self, record: dict[str, Any]) -> None:
        """A placeholder div, replaced in the pandoc document by the fragment's blocks."""
        key = f"survey-fragment-{len(self.fragments) + 1}-{self.stem}"
        self.fragments[key] = record
        self.parts.append(f"::: {{#{key}}}\nfragment\n:::")

    def figure(
        self,
        data: Mapping[str, Any],
        label: str | None,
        cap: str | None,
        n: int,
        emitted: Mapping[str, Any] | None = None,
    ) -> None:
        if "image/svg+xml" in data:
            ext, payload = "svg", _text(data["image/svg+xml"]).encode("utf-8")
        else:
            ext, payload = "png", base64.b64decode(_text(data["image/png"]))
        name = f"{self.stem}-{label or 'fig'}-{n}.{ext}"
        self.media_dir.mkdir(parents=True, exist_ok=True)
        (self.media_dir / name).write_bytes(payload)
        src = f"{self.media_dir.name}/{name}"
        emitted = emitted or {}
        if emitted.get("caption"):
            cap = str(emitted["caption"])
        text = self.caption(label if n == 1 else None, cap if n == 1 else None)
        if not text:
            # no caption: a plain image (no figure, no number), alt text for screen readers
            alt = str(emitted.get("alt") or "")
            size = str(emitted.get("size") or "full")
            self._fragment({"kind": "image", "src": src, "alt": alt, "size": size})
            return
        attrs = []
        if label and label.startswith("fig-") and n == 1:
            attrs.append(f"#{label}")
        if self.target == "pdf":
            attrs.append("width=78%")
        attr = "{" + " ".join(attrs) + "}" if attrs else ""
        self.parts.append(f"![{_escape_md(text)}]({src}){attr}")

    def html(
        self,
        html: str,
        label: str | None,
        cap: str | None,
        seed: str,
        emitted: Mapping[str, Any] | None = None,
    ) -> None:
        html = _stable_gt_ids(html, seed)
        caption = self.caption(label, cap) if (cap or (label or "").startswith("tbl-")) else ""
        ident = label if label and label.startswith("tbl-") else ""
        size = str((emitted or {}).get("size") or "full")
        self._fragment(
            {"kind": "table", "html": html, "caption": caption, "id": ident, "size": size}
        )

    def code_cell(self, cell: nbformat.NotebookNode, defaults: Mapping[str, Any]) -> None:
        opts = _options(cell, defaults)
        if opts.get("include") is False:
            return
        label = cell.metadata["survey"].get("label")
        if opts.get("echo") is True:
            self.parts.append(_fence(cell.source, "python"))
        if opts.get("output") is False:
            return
        asis = opts.get("output") == "asis"
        n_fig = 0
        for k, out in enumerate(cell.get("outputs", [])):
            kind = out.get("output_type")
            if kind == "stream":
                if out.get("name") == "stderr" and opts.get("warning") is False:
                    continue
                text = _text(out.get("text", ""))
                self.parts.append(self._markdown(text) if asis else _fence(text, "cell-output"))
            elif kind == "error":
                self.parts.append(_fence("\n".join(_strip_ansi(out.get("traceback", [])))))
            elif kind in ("display_data", "execute_result"):
                data = out.get("data", {})
                emitted = (out.get("metadata") or {}).get("survey")
                if "image/svg+xml" in data or "image/png" in data:
                    n_fig += 1
                    self.figure(data, label, opts.get("fig-cap"), n_fig, emitted)
                elif "text/html" in data:
                    seed = f"{self.stem}-{label}-{k}"
                    self.html(_text(data["text/html"]), label, opts.get("tbl-cap"), seed, emitted)
                elif "text/markdown" in data:
                    self.parts.append(self._markdown(_text(data["text/markdown"])))
                elif "text/plain" in data:
                    text = _text(data["text/plain"])
                    self.parts.append(self._markdown(text) if asis else _fence(text, "cell-output"))

    def _markdown(self, text: str) -> str:
        """Markdown produced by a cell: cross references resolved as in the prose."""
        return resolve_refs(text, self.refs, lang=self.lang)


def _strip_ansi(lines: list[str]) -> list[str]:
    return [re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line) for line in lines]


def _escape_md(text: str) -> str:
    return text.replace("[", r"\[").replace("]", r"\]")


def assemble(
    nb: nbformat.NotebookNode,
    *,
    stem: str,
    target: Target,
    media_dir: Path,
    refs: Mapping[str, str],
    lang: str = "zh",
    defaults: Mapping[str, Any] | None = None,
) -> Assembled:
    """Pandoc markdown for one executed chapter notebook.

    Args:
        nb: the executed notebook built by :func:`survey.render.qmd.to_notebook`.
        stem: chapter file stem, used to name figure files and fragments.
        target: ``"html"`` (raw HTML kept) or ``"pdf"`` (HTML fragments left as placeholders).
        media_dir: folder for figure files; markdown refers to them as ``<dir name>/<file>``.
        refs: label -> "图 1.2" for every figure/table label of the whole report.
        lang: language of crossref words.
        defaults: execute options (``echo``, ``warning``, …) from ``_quarto.yml``/front matter.
    """
    writer = _ChapterWriter(stem=stem, target=target, media_dir=media_dir, refs=refs, lang=lang)
    inline_values: dict[int, str] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("survey", {})
        kind = meta.get("kind")
        if kind == "inline":
            inline_values[meta["number"]] = inline_value(cell.get("outputs", []))
        elif kind == "markdown":
            text = PLACEHOLDER_RE.sub(lambda m: inline_values.get(int(m.group(1)), ""), cell.source)
            text = resolve_refs(text, refs, lang=lang)
            for label in re.findall(r"\*\*\?@([\w-]+)\*\*", text):
                writer.warnings.append(f"{stem}: unknown cross reference @{label}")
            writer.parts.append(text)
        elif kind == "code":
            writer.code_cell(cell, defaults or {})
    body = "\n\n".join(p.strip("\n") for p in writer.parts if p.strip())
    return Assembled(markdown=body + "\n", fragments=writer.fragments, warnings=writer.warnings)
