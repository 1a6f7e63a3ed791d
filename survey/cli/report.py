"""``survey report``: render the Quarto report to HTML and PDF."""

from __future__ import annotations

import argparse
from pathlib import Path

from survey.errors import SurveyError

NAME = "report"
HELP = "render the Quarto report (report/*.qmd) to self-contained HTML and to PDF"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("--edition", type=int, help="edition to report (default: the newest wave)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the report")
    p.add_argument(
        "-P", "--param", action="append", metavar="KEY:VALUE", help="report parameter, as quarto -P"
    )
    p.add_argument("--to", default="html,pdf", help="comma-separated formats: html, pdf")
    p.add_argument("--out", help="output folder (default: report/_output)")
    p.add_argument("--project", help="Quarto project folder (default: report/)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    """Run the command; the exit code (0 ok, 1 problems found)."""
    from survey.paths import report_dir
    from survey.render import render_report

    params: dict[str, object] = {"lang": args.lang}
    for item in args.param or []:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise SurveyError(
                f"bad -P value {item!r}", value=item, expected="KEY:VALUE, e.g. edition:2025"
            )
        params[key] = int(value) if value.lstrip("-").isdigit() else value
    if args.edition is not None:
        params["edition"] = args.edition
    project = Path(args.project) if args.project else report_dir()
    _check_report_params(project, params)
    outputs = render_report(
        project,
        out_dir=Path(args.out) if args.out else None,
        params=params,
        formats=tuple(args.to.split(",")),
        quiet=args.quiet,
    )
    for fmt, path in outputs.items():
        print(f"{fmt}: {path}")
    return 0


def _check_report_params(project: Path, params: dict[str, object]) -> None:
    """Refuse unknown parameters and editions without a wave before any kernel starts."""
    from survey.render.project import load_project
    from survey.reporting import available_editions

    known = {"edition", "lang", *load_project(project).params}
    unknown = sorted(set(params) - known)
    if unknown:
        raise SurveyError(
            f"unknown report parameter(s) {unknown}",
            value=", ".join(unknown),
            expected=f"one of {sorted(known)} (the params of {project / '_quarto.yml'})",
        )
    edition = params.get("edition")
    if edition is not None:
        editions = available_editions()
        if edition not in editions:
            raise SurveyError(
                f"no wave for edition {edition!r}",
                value=edition,
                expected=f"an edition with a wave in data/waves/: {editions}",
            )
