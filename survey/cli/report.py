"""``survey report``: render the publication (or, with ``--appendix``, the technical appendix).

Parameters are checked before any kernel starts: an unknown parameter, a language without
texts or an edition without a wave is refused in well under a second. Outputs are named by
language (``report.zh.html``, ``report.en.pdf``, ``appendix.zh.pdf``…); a failing cell is
reported as one message naming the chapter, cell and error (``SURVEY_DEBUG=1`` shows the
cell's traceback), and no output is written or replaced.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from survey.errors import SurveyError

NAME = "report"
HELP = "render the report (report/*.qmd) to self-contained HTML and a 16:9 PDF deck"
#: languages the report's catalogs carry
LANGUAGES = ("zh", "en")
FORMATS = ("html", "pdf")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b(:.*)?$")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("--edition", type=int, help="edition to report (default: the newest wave)")
    p.add_argument("--lang", choices=list(LANGUAGES), default=None,
                   help="language of the report (default zh)")
    p.add_argument(
        "-P", "--param", action="append", metavar="KEY:VALUE", help="report parameter, as quarto -P"
    )
    p.add_argument("--to", default="html,pdf", help="comma-separated formats: html, pdf")
    p.add_argument("--out", help="output folder (default: report/_output)")
    p.add_argument("--project", help="Quarto project folder (default: report/)")
    p.add_argument("--appendix", action="store_true",
                   help="render the technical appendix (report/appendix/, A4) instead")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def parse_params(items: list[str] | None) -> dict[str, object]:
    """``["edition:2025", "lang:en"]`` -> ``{"edition": 2025, "lang": "en"}``.

    Example:
        >>> parse_params(["edition:2025", "lang:en"])
        {'edition': 2025, 'lang': 'en'}
    """
    params: dict[str, object] = {}
    for item in items or []:
        key, sep, value = item.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise SurveyError(
                f"bad -P value {item!r}", value=item, expected="KEY:VALUE, e.g. edition:2025"
            )
        params[key] = int(value) if value.lstrip("-").isdigit() else value
    return params


def run(args: argparse.Namespace) -> int:
    """Run the command; the exit code (0 ok, 2 could not run)."""
    from survey.paths import report_dir

    params = parse_params(args.param)
    if args.lang is not None:
        params["lang"] = args.lang
    params.setdefault("lang", "zh")
    if args.edition is not None:
        params["edition"] = args.edition
    formats = tuple(f.strip() for f in args.to.split(",") if f.strip())
    bad = sorted(set(formats) - set(FORMATS))
    if bad or not formats:
        raise SurveyError(f"unknown output format(s) {bad}", value=args.to,
                          expected="html, pdf or html,pdf")
    project = Path(args.project) if args.project else report_dir()
    if args.appendix:
        project = project / "appendix"
    meta = check_report_params(project, params)

    from survey.errors import RenderError
    from survey.render import render_report

    try:
        outputs = render_report(
            project,
            out_dir=Path(args.out) if args.out else None,
            params=params,
            formats=formats,
            quiet=args.quiet,
            meta=meta,
        )
    except RenderError as exc:
        if os.environ.get("SURVEY_DEBUG"):
            raise
        raise SurveyError(summarise(str(exc)), file=exc.file, column=exc.column,
                          expected=exc.expected) from None
    for fmt, path in outputs.items():
        print(f"{fmt}: {path}")
    return 0


def summarise(message: str) -> str:
    """A render error in a few lines: where it happened and the exception, no traceback.

    Example:
        >>> summarise("01-a.qmd, line 3: cell 'x' failed:\\nTraceback...\\n  File..\\nKeyError: 'q5'")
        "01-a.qmd, line 3: cell 'x' failed: KeyError: 'q5' (SURVEY_DEBUG=1 shows the traceback)"
    """
    lines = [line.rstrip() for line in message.splitlines() if line.strip()]
    if len(lines) <= 2:
        return message
    head = lines[0]
    errors = [ln.strip() for ln in lines[1:] if _EXCEPTION.match(ln.strip())]
    last = errors[-1] if errors else lines[-1].strip()
    return f"{head} {last} (SURVEY_DEBUG=1 shows the traceback)"


def check_report_params(project: Path, params: dict[str, object]) -> dict[str, object]:
    """Refuse bad parameters before any kernel starts; the template metadata of the edition.

    Checks the parameter names (``edition``, ``lang`` and the ``params`` of ``_quarto.yml``),
    the language and the edition (it needs a wave in data/waves/); fills in the newest
    edition and says whether its wave is synthetic (the cover and back page say so).
    """
    from survey.render.project import load_project

    config = load_project(project)
    known = {"edition", "lang", *config.params}
    unknown = sorted(set(params) - known)
    if unknown:
        raise SurveyError(
            f"unknown report parameter(s) {unknown}",
            value=", ".join(unknown),
            expected=f"one of {sorted(known)} (the params of {project / '_quarto.yml'})",
        )
    lang = params.get("lang")
    if lang not in LANGUAGES:
        raise SurveyError(
            f"no report texts in language {lang!r}",
            value=lang,
            expected=f"one of {list(LANGUAGES)} (-P lang:zh or -P lang:en)",
        )
    editions = _editions()
    edition = params.get("edition")
    if edition is not None and edition not in editions:
        raise SurveyError(
            f"no wave for edition {edition!r}",
            value=edition,
            expected=f"an edition with a wave in data/waves/: {editions}",
        )
    if edition is None and editions:
        edition = editions[-1]
    meta: dict[str, object] = {}
    if isinstance(edition, int):
        meta["edition"] = edition
        meta["synthetic"] = _is_synthetic(edition)
    return meta


def _editions() -> list[int]:
    from survey.paths import waves_dir

    folder = waves_dir()
    return sorted(int(p.stem) for p in folder.glob("*.parquet") if p.stem.isascii()
                  and p.stem.isdigit())


def _is_synthetic(edition: int) -> bool:
    from survey.io.read import read_metadata
    from survey.paths import waves_dir

    try:
        meta = read_metadata(waves_dir() / f"{edition}.parquet")
    except (OSError, SurveyError):
        return False
    return str(meta.get("synthetic", "false")).lower() == "true"
