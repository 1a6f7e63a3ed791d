"""Run the pandoc binary shipped by ``pypandoc-binary`` and write the self-contained HTML.

Example:
    >>> run_pandoc(["-f", "markdown", "-t", "html"], "**粗体**").strip()
    '<p><strong>粗体</strong></p>'
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from survey.errors import RenderError
from survey.present.theme import CJK_CSS_STACK
from survey.render.web import TEMPLATE, css
from survey.render.webfont import embed_cjk_font

#: markdown as Quarto reads it, but without "smart" punctuation: the CJK font draws ’ and “ as
#: full-width glyphs, which would put wide gaps into English text ("China’s"); Chinese prose
#: writes its full-width quotes explicitly. No raw HTML, raw ``{=format}`` blocks or raw TeX:
#: whatever a cell emits is read as text, so a label from a delivery cannot inject markup
#: (tables and images are spliced into the pandoc document by the engine instead).
PANDOC_EXTENSIONS = "markdown+east_asian_line_breaks-smart-raw_html-raw_attribute-raw_tex"

CSS = css(CJK_CSS_STACK)


@cache
def pandoc_path() -> str:
    """Path of the pandoc binary bundled with ``pypandoc-binary``."""
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except (ImportError, OSError) as exc:
        raise RenderError(
            f"pandoc is not available ({exc}); install it with `pip install pypandoc-binary`"
        ) from exc


def run_pandoc(args: Sequence[str], text: str | None = None, *, cwd: Path | None = None) -> str:
    """Run pandoc with ``args``, feeding ``text`` on stdin; return stdout (UTF-8)."""
    proc = subprocess.run(
        [pandoc_path(), *args],
        input=text.encode("utf-8") if text is not None else None,
        capture_output=True,
        cwd=cwd,
        check=False,
    )
    if proc.returncode != 0:
        raise RenderError(
            f"pandoc {' '.join(args)} failed (exit {proc.returncode}):\n"
            f"{proc.stderr.decode('utf-8', 'replace')}"
        )
    return proc.stdout.decode("utf-8")


def write_metadata(meta: Mapping[str, Any], path: Path) -> Path:
    """Write pandoc metadata (title, author, date, lang, …) as a YAML file."""
    path.write_text(yaml.safe_dump(dict(meta), allow_unicode=True, sort_keys=True), "utf-8")
    return path


def markdown_to_json(markdown: str) -> dict[str, Any]:
    """The pandoc document (JSON AST) of report markdown, read with :data:`PANDOC_EXTENSIONS`.

    Example:
        >>> doc = markdown_to_json("<b onmouseover=alert(1)>x</b>")
        >>> [n["t"] for n in doc["blocks"][0]["c"]][:3]
        ['Str', 'Space', 'Str']
    """
    import json

    return json.loads(run_pandoc(["-f", PANDOC_EXTENSIONS, "-t", "json"], markdown))


def render_html(
    doc: dict[str, Any] | str,
    *,
    build_dir: Path,
    output: Path,
    meta: Mapping[str, Any],
    toc: bool = True,
    number_sections: bool = True,
    embed_font: bool = True,
) -> Path:
    """Render a pandoc document (or markdown) to a self-contained HTML file.

    Media paths are relative to ``build_dir``.

    Images, CSS and everything else are embedded (``--embed-resources --standalone``); with
    ``embed_font`` the CJK glyphs the page uses are embedded too (see
    :mod:`survey.render.webfont`), so Chinese text shows on machines without a CJK font.
    """
    css_file = build_dir / "survey-report.css"
    css_file.write_text(CSS, "utf-8")
    template = build_dir / "survey-page.html"
    template.write_text(TEMPLATE, "utf-8")
    meta_file = write_metadata(
        {"pagetitle": meta.get("title", ""), **meta}, build_dir / "meta.yaml"
    )
    import json

    if isinstance(doc, str):
        doc = markdown_to_json(doc)
    args = [
        "-f",
        "json",
        "-t",
        "html5",
        "--standalone",
        "--embed-resources",
        "--metadata-file",
        str(meta_file),
        "--css",
        str(css_file),
        "--template",
        str(template),
        "--section-divs",
        "--resource-path",
        str(build_dir),
        "--wrap=none",
        "--toc-depth=1",
        "-o",
        str(output),
    ]
    if toc:
        args.append("--toc")
    if number_sections:
        args.append("--number-sections")
    run_pandoc(args, json.dumps(doc, ensure_ascii=False), cwd=build_dir)
    if embed_font:
        page = output.read_text("utf-8")
        output.write_text(embed_cjk_font(page), "utf-8")
    return output
