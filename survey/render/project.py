r"""Render a Quarto project (``_quarto.yml`` + chapters) into one HTML and one PDF.

Reads the chapter list (``book: chapters`` or ``project: render``), metadata (title,
author, date, lang) and execute options, runs every chapter in its own kernel, assembles
the markdown, and writes ``<out_dir>/<name>.html`` and ``.pdf`` atomically: everything is
built in a temporary folder and moved into place only when every format succeeded.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> book = Path(tempfile.mkdtemp())
    >>> _ = (book / "_quarto.yml").write_text("book:\n  title: 示例\n  chapters: [index.qmd]\n")
    >>> _ = (book / "index.qmd").write_text("# 摘要\n\n共 `{python} 6 * 7` 位。\n")
    >>> outputs = render_report(book, formats=("html",), quiet=True, params={"lang": "zh"})
    >>> outputs["html"].name, "共 42 位" in outputs["html"].read_text("utf-8")
    ('report.zh.html', True)
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from survey.errors import RenderError
from survey.render.assemble import assemble, number_labels
from survey.render.cover import cover_meta
from survey.render.emit import escape_md
from survey.render.execute import SETUP_CODE, SOURCE_DATE_EPOCH, Job, execute_many
from survey.render.htmltable import splice_fragments
from survey.render.pandoc import markdown_to_json, render_html
from survey.render.qmd import Markdown, QmdDocument, read_qmd, to_notebook
from survey.render.translate import load_translator
from survey.render.typst import render_pdf

DEFAULT_PARAMS: Mapping[str, Any] = {"lang": "zh"}
_EXECUTE_KEYS = ("echo", "eval", "output", "include", "warning", "error")
_UNNUMBERED = re.compile(r"^#\s+.*\{[^}]*(\.unnumbered|(?<![\w-])-(?![\w-]))[^}]*\}\s*$", re.M)
_FIRST_H1 = re.compile(r"^#\s+.+$", re.M)


@dataclass
class Project:
    """A Quarto project as the engine sees it: folder, chapter files, metadata, options."""

    root: Path
    chapters: list[Path]
    meta: dict[str, Any]
    execute: dict[str, Any]
    params: dict[str, Any]
    output_name: str = "report"
    output_dir: str = "_output"
    toc: bool = True
    number_sections: bool = True
    is_book: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def load_project(project_dir: str | Path) -> Project:
    r"""Read ``_quarto.yml``; chapters from ``book.chapters`` or ``project.render``.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "_quarto.yml").write_text("book:\n  chapters: [a.qmd]\nparams: {lang: zh}\n")
        >>> _ = (d / "a.qmd").write_text("# A\n")
        >>> p = load_project(d)
        >>> [c.name for c in p.chapters], p.is_book, p.params
        (['a.qmd'], True, {'lang': 'zh'})
    """
    root = Path(project_dir).resolve()
    cfg_path = root / "_quarto.yml"
    if not cfg_path.is_file():
        raise RenderError(f"{cfg_path}: no _quarto.yml in the project folder", file=str(cfg_path))
    try:
        cfg = yaml.safe_load(cfg_path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"{cfg_path}: invalid YAML: {exc}", file=str(cfg_path)) from exc
    project = cfg.get("project") or {}
    book = cfg.get("book") or {}
    entries: list[Any] = list(book.get("chapters") or project.get("render") or [])
    if not entries:
        entries = sorted(p.name for p in root.glob("*.qmd"))
    chapters: list[Path] = []
    for entry in _flatten_chapters(entries):
        path = root / entry
        if path.suffix != ".qmd":
            continue
        if not path.is_file():
            raise RenderError(f"{cfg_path}: chapter {entry} does not exist", file=str(cfg_path))
        chapters.append(path)
    meta = {k: v for k, v in cfg.items() if k in ("title", "subtitle", "author", "date", "lang")}
    meta.update({k: v for k, v in book.items() if k in ("title", "subtitle", "author", "date")})
    formats = cfg.get("format") or {}
    html = formats.get("html") or {} if isinstance(formats, dict) else {}
    typ = formats.get("typst") or {} if isinstance(formats, dict) else {}
    return Project(
        root=root,
        chapters=chapters,
        meta=meta,
        execute=dict(cfg.get("execute") or {}),
        params=dict(cfg.get("params") or {}),
        output_name=str(book.get("output-file") or project.get("output-file") or "report"),
        output_dir=str(project.get("output-dir") or "_output"),
        toc=bool(html.get("toc", typ.get("toc", True)) if isinstance(html, dict) else True),
        number_sections=bool(book.get("number-sections", cfg.get("number-sections", True))),
        is_book=project.get("type") == "book" or bool(book),
        extra={"typst": typ if isinstance(typ, dict) else {}, "config": cfg},
    )


def _flatten_chapters(entries: Iterable[Any]) -> list[str]:
    """Chapter file names, expanding Quarto ``part:`` entries (``{part: …, chapters: […]}``)."""
    out: list[str] = []
    for e in entries:
        if isinstance(e, str):
            out.append(e)
        elif isinstance(e, dict):
            if isinstance(e.get("part"), str) and e["part"].endswith(".qmd"):
                out.append(e["part"])
            out.extend(_flatten_chapters(e.get("chapters") or []))
    return out


def _title_heading(doc: QmdDocument) -> None:
    """Book chapters titled in front matter (no ``#`` heading) get ``# title``, as in Quarto."""
    title = doc.front_matter.get("title")
    text = "\n".join(b.text for b in doc.blocks if isinstance(b, Markdown))
    if not title or _FIRST_H1.search(text):
        return
    unnumbered = doc.front_matter.get("number-sections") is False
    heading = f"# {title}" + (" {.unnumbered}" if unnumbered else "")
    doc.blocks.insert(0, Markdown(heading, 1))


def _is_numbered(doc: QmdDocument) -> bool:
    if doc.front_matter.get("number-sections") is False:
        return False
    text = "\n".join(getattr(b, "text", "") for b in doc.blocks)
    first = _FIRST_H1.search(text)
    return bool(first) and not _UNNUMBERED.match(first.group(0))


def _resolve_date(value: Any) -> str | None:
    if value in ("today", "now", "last-modified"):
        epoch = int(os.environ.get("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH))
        return datetime.fromtimestamp(epoch, UTC).date().isoformat()
    return None if value is None else str(value)


def _log(quiet: bool) -> Callable[[str], None]:
    def log(msg: str) -> None:
        if not quiet:
            print(msg, file=sys.stderr, flush=True)

    return log


def _typst_options(project: Project) -> tuple[list[Path], str]:
    """Template partials (paths relative to the project) and the PDF layout of the project."""
    typ = project.extra.get("typst") or {}
    raw = typ.get("template-partials") or []
    partials = [project.root / str(p) for p in (raw if isinstance(raw, list) else [raw])]
    for path in partials:
        if not path.is_file():
            raise RenderError(f"{project.root / '_quarto.yml'}: template partial {path} not found")
    survey_cfg = (project.extra.get("config") or {}).get("survey") or {}
    layout = str(survey_cfg.get("pdf-layout") or "document")
    if layout not in ("document", "deck"):
        raise RenderError(f"survey: pdf-layout: {layout!r}; expected 'document' or 'deck'")
    return partials, layout


def output_names(project: Project, lang: str, formats: Sequence[str]) -> dict[str, str]:
    """File name per format: ``<output-file>.<lang>.<ext>`` (``report.zh.html``).

    Example:
        >>> output_names(Project(Path("."), [], {}, {}, {}), "en", ["html", "pdf"])
        {'html': 'report.en.html', 'pdf': 'report.en.pdf'}
    """
    return {fmt: f"{project.output_name}.{lang}.{fmt}" for fmt in formats}


def _publish(outputs: Mapping[str, Path], target_dir: Path, names: Mapping[str, str]) -> dict:
    """Copy every staged output next to its destination, then rename them all into place.

    Nothing half-written is left behind: a failure (full disk, no permission) removes the
    copies made so far and names the folder.
    """
    copies: dict[str, tuple[Path, Path]] = {}
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        for fmt, staged in outputs.items():
            dest = target_dir / names[fmt]
            tmp_dest = target_dir / f".{dest.name}.partial"
            copies[fmt] = (tmp_dest, dest)
            shutil.copyfile(staged, tmp_dest)
        for tmp_dest, dest in copies.values():
            os.replace(tmp_dest, dest)
    except OSError as exc:
        for tmp_dest, _dest in copies.values():
            tmp_dest.unlink(missing_ok=True)
        raise RenderError(
            f"cannot write the report to {target_dir}: {exc.strerror or exc}; "
            "free some space or choose another folder with --out",
            file=str(target_dir),
        ) from exc
    return {fmt: dest for fmt, (_tmp, dest) in copies.items()}


def render_report(
    project_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    params: Mapping[str, Any] | None = None,
    formats: Sequence[str] = ("html", "pdf"),
    quiet: bool = False,
    workers: int | None = None,
    timeout: int = 600,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Render the Quarto project in ``project_dir``; return ``{"html": path, "pdf": path}``.

    Outputs are named ``<output-file>.<lang>.<ext>`` (``report.zh.html``, ``report.en.pdf``),
    so the languages never overwrite each other. A chapter whose cells show nothing is left
    out (also from the contents). With ``survey: pdf-layout: deck`` and typst
    ``template-partials`` in ``_quarto.yml`` the PDF is a 16:9 deck (:mod:`survey.render.deck`).

    Args:
        project_dir: folder holding ``_quarto.yml`` and the chapter ``.qmd`` files.
        out_dir: where to write; default ``<project>/<project.output-dir or _output>``.
        params: values injected after each chapter's ``parameters`` cell (default: the
            ``params`` of ``_quarto.yml`` updated with ``lang="zh"``; chapters take the
            newest edition when no ``edition`` is given).
        formats: any of ``"html"``, ``"pdf"``.
        quiet: no progress lines on stderr.
        workers: kernels running at once (default: CPU count, at most the chapter count).
        timeout: seconds allowed per cell.
        meta: extra template metadata (e.g. ``{"synthetic": True}``); the cover fields of the
            ``report:`` block are resolved for ``params["edition"]`` and the language.

    Raises:
        RenderError: a cell fails (the message names chapter file, cell label, line and the
            traceback), pandoc/typst fail, the output folder cannot be written, or the
            project is malformed. No output file is written or replaced when anything fails.
    """
    unknown = set(formats) - {"html", "pdf"}
    if unknown:
        raise RenderError(f"unknown output format(s) {sorted(unknown)}; expected html and/or pdf")
    log = _log(quiet)
    t0 = time.perf_counter()
    project = load_project(project_dir)
    partials, layout = _typst_options(project) if "pdf" in formats else ([], "document")
    effective = {**project.params, **(params if params is not None else DEFAULT_PARAMS)}
    lang = str(effective.get("lang") or project.meta.get("lang") or "zh")
    target_dir = (Path(out_dir) if out_dir else project.root / project.output_dir).resolve()

    docs = [read_qmd(path) for path in project.chapters]
    if project.is_book:
        for doc in docs:
            _title_heading(doc)
    translator = load_translator(project.root, project.extra.get("config") or {}, lang)
    languages = translator.languages()
    if languages and lang not in languages:
        raise RenderError(
            f"no texts in language {lang!r} in the translations catalog",
            value=lang,
            expected=f"one of {sorted(languages)}",
        )
    for doc in docs:
        translator.document(doc)
    n = len(docs)
    log(f"render {project.root.name}: {n} chapter(s), params {effective}")

    # crossref numbers for the whole book, known before execution
    refs: dict[str, str] = {}
    chapter_no = 0
    for doc in docs:
        numbered = project.number_sections and _is_numbered(doc)
        chapter_no += numbered
        labels = [str(c.options.get("label")) for c in doc.cells if c.options.get("label")]
        refs.update(number_labels(labels, chapter=chapter_no if numbered else None, lang=lang))

    jobs = []
    for doc, path in zip(docs, project.chapters, strict=True):
        nb = to_notebook(doc, params=effective, setup=SETUP_CODE)
        jobs.append(Job(nb=nb, cwd=path.parent, name=str(path.relative_to(project.root))))
    started = time.perf_counter()
    done = [0]

    def on_done(job: Job) -> None:
        done[0] += 1
        log(f"  [{done[0]}/{n}] executed {job.name} ({time.perf_counter() - started:.1f} s)")

    n_workers = workers or max(1, min(n, os.cpu_count() or 1))
    notebooks = execute_many(jobs, timeout=timeout, workers=n_workers, on_done=on_done)

    doc_meta = _document_meta(project, docs, lang, effective, meta or {})
    doc_meta = translator.meta(doc_meta)
    for key in ("title", "subtitle", "author"):  # pandoc reads metadata as markdown
        if isinstance(doc_meta.get(key), str):
            doc_meta[key] = escape_md(doc_meta[key])
    for text in translator.missing:
        log(f"  warning: no {lang} text for '{text}' in the translations catalog")

    outputs: dict[str, Path] = {}
    keep = os.environ.get("SURVEY_RENDER_KEEP")  # debugging: keep the intermediate files
    with tempfile.TemporaryDirectory(prefix="survey-render-") as tmp:
        build = Path(tempfile.mkdtemp(prefix="survey-render-keep-")) if keep else Path(tmp)
        if keep:
            log(f"  keeping intermediate files in {build}")
        media = build / "media"
        for target in formats:
            t1 = time.perf_counter()
            parts, fragments = [], {}
            for doc, nb, job in zip(docs, notebooks, jobs, strict=True):
                defaults = {**project.execute, **(doc.front_matter.get("execute") or {})}
                for key in _EXECUTE_KEYS:
                    if key in doc.front_matter:
                        defaults[key] = doc.front_matter[key]
                chapter = assemble(
                    nb,
                    stem=Path(job.name).stem,
                    target="pdf" if target == "pdf" else "html",
                    media_dir=media,
                    refs=refs,
                    lang=lang,
                    defaults=defaults,
                )
                if target == formats[0]:
                    for warning in chapter.warnings:
                        log(f"  warning: {warning}")
                if not chapter.markdown.strip():
                    if target == formats[0]:
                        log(f"  {job.name} shows nothing: left out")
                    continue
                parts.append(chapter.markdown)
                fragments.update(chapter.fragments)
            markdown = "\n\n".join(parts)
            (build / f"report-{target}.md").write_text(markdown, "utf-8")
            staged = build / f"{project.output_name}.{target}"
            doc_json = splice_fragments(markdown_to_json(markdown), fragments, target)
            if target == "html":
                names = output_names(project, lang, ["pdf"])
                render_html(
                    doc_json,
                    build_dir=build,
                    output=staged,
                    meta={"pdf-link": names["pdf"], **doc_meta},
                    toc=project.toc,
                    number_sections=project.number_sections,
                )
            else:
                pdf_meta = dict(doc_meta)
                if project.number_sections:
                    pdf_meta.setdefault("section-numbering", "1.1")
                if project.toc:
                    pdf_meta["toc"] = True
                render_pdf(doc_json, build_dir=build, output=staged, meta=pdf_meta,
                           partials=partials, layout=layout)
            log(f"  wrote {target} ({time.perf_counter() - t1:.1f} s)")
            outputs[target] = staged
        final = _publish(outputs, target_dir, output_names(project, lang, formats))
    log(f"done in {time.perf_counter() - t0:.1f} s: " + ", ".join(map(str, final.values())))
    return final


def _document_meta(
    project: Project,
    docs: list[QmdDocument],
    lang: str,
    params: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """Title, author, date… of the book (or first document), plus the ``report:`` fields."""
    meta: dict[str, Any] = {"lang": lang}
    first = docs[0].front_matter if docs else {}
    for key in ("title", "subtitle", "author", "date"):
        # a book's metadata comes from _quarto.yml; a single document's from its front matter
        value = project.meta.get(key, first.get(key)) if project.is_book else first.get(key)
        value = project.meta.get(key) if value is None else value
        if key == "date":
            value = _resolve_date(value)
        if value is not None:
            meta[key] = value
    meta["title"] = meta.get("title") or project.root.name
    edition = extra.get("edition", params.get("edition"))
    cover = cover_meta(
        project.extra.get("config") or {},
        lang=lang,
        edition=int(edition) if isinstance(edition, int) else None,
        synthetic=bool(extra.get("synthetic")),
    )
    meta.update(cover)
    meta.update({k: v for k, v in extra.items() if k not in ("synthetic", "edition")})
    return meta
