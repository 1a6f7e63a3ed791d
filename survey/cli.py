"""The ``survey`` command: a thin layer over the library.

Each command calls one library function and prints its result; the statistics live in the library.

Example:
    $ survey validate data/waves/2025.parquet
    $ survey figures --check
    $ survey report --edition 2025 --lang zh
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from survey.errors import SurveyError

if TYPE_CHECKING:
    import polars as pl

_DESCRIPTION = """\
Toolkit for the advertiser survey behind the 中国数字营销趋势报告 (China Digital Marketing Trends Report).
Run `survey COMMAND --help` for the options of a command.
"""

_EPILOG = """\
examples:
  survey figures --check                 contradictions between the sources of published figures
  survey validate delivery.xlsx --edition 2026
  survey synth --report                  published figure against synthetic estimate, pass/fail
  survey ingest delivery.xlsx --edition 2026 --mapping mapping.yaml
  survey report -P lang:en --to html
"""

_HELP = {
    "figures": "list the published aggregate figures with their sources; --check lists figures that "
    "do not resolve to the codebook and contradictions between sources (exit 1 on unresolved "
    "figures; contradictions are reported, not errors)",
    "validate": "check a respondent-level wave file against the codebook and print every problem "
    "with its file, row, column, value and what was expected (exit 1 on problems)",
    "synth": "regenerate the synthetic waves (data/waves/YEAR.parquet); --report prints the "
    "fidelity table (published figure against synthetic estimate, pass/fail)",
    "ingest": "map an agency's delivery (Excel/SPSS/CSV with Chinese headers) onto the codebook, "
    "validate it and write data/waves/YEAR.parquet with a validation log",
    "report": "render the Quarto report (report/*.qmd) to self-contained HTML and to PDF",
}



def _print_frame(frame: pl.DataFrame, fmt: str) -> None:
    import polars as pl

    if fmt == "csv":
        sys.stdout.write(frame.write_csv())
        return
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        fmt_str_lengths=60,
        tbl_width_chars=200,
        tbl_hide_dataframe_shape=True,
    ):
        print(frame)


def _cmd_figures(args: argparse.Namespace) -> int:
    import polars as pl

    from survey.codebook import Codebook
    from survey.published import check_figures, format_findings, load_context, load_figures

    if args.context:
        _print_frame(load_context(), args.format)
        return 0
    figures = load_figures(editions=args.edition or None)
    if not args.check:
        cols = [
            "edition",
            "figure_id",
            "question_id",
            "option_code",
            "measure",
            "value",
            "unit",
            "episode",
        ]
        _print_frame(figures.select(cols) if args.format == "table" else figures, args.format)
        return 0
    report = check_figures(figures, Codebook.load(), context=load_context())
    if args.format == "csv":
        _print_frame(report, args.format)
    else:
        print(format_findings(report, n_figures=figures.height, lang=args.lang))
    unresolved = report.filter(pl.col("kind") == "unresolved").height
    return 1 if unresolved else 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from survey.codebook import Codebook
    from survey.io import validate_file

    codebook = Codebook.load(args.codebook) if args.codebook else None
    sheet = int(args.sheet) if args.sheet and args.sheet.isdigit() else args.sheet
    report = validate_file(Path(args.file), codebook=codebook, edition=args.edition, sheet=sheet)
    if args.format == "csv":
        sys.stdout.write(report.to_polars().write_csv())
    else:
        print(report.to_text(lang=args.lang, limit=None if args.all else 20))
    return 0 if report.ok else 1


def _cmd_synth(args: argparse.Namespace) -> int:
    from survey.synth import fidelity_report, synthesize, write_editions

    editions = args.edition or None
    if args.report:
        import polars as pl

        frames = []
        for edition in editions or _edition_list():
            wave = (
                synthesize(edition, seed=args.seed)
                if args.seed is not None
                else synthesize(edition)
            )
            frames.append(fidelity_report(wave))
        report = pl.concat(frames, how="diagonal_relaxed")
        compact = ["edition", "figure_id", "published", "unweighted", "raked", "passed"]
        shown = report if args.format == "csv" else report.select(
            *[c for c in compact if c in report.columns]
        )
        _print_frame(shown, args.format)
        passed = report.filter(pl.col("passed")).height
        failed = report.filter(~pl.col("passed")).height
        unchecked = report.height - passed - failed
        print(
            f"\n{passed} of {passed + failed} checked figures pass"
            f" ({unchecked} not checkable on one wave: ratios, references, context)",
            file=sys.stderr,
        )
        return 1 if failed else 0
    kwargs = {} if args.seed is None else {"seed": args.seed}
    paths = write_editions(out_dir=args.out, editions=editions, **kwargs)
    for p in paths:
        print(f"wrote {p}")
    return 0


def _edition_list() -> list[int]:
    from survey.published import load_figures

    return sorted(load_figures()["edition"].unique().to_list(), reverse=True)


def _cmd_ingest(args: argparse.Namespace) -> int:
    from survey.ingest import ingest

    result = ingest(
        Path(args.file),
        edition=args.edition,
        mapping=Path(args.mapping) if args.mapping else None,
        force=args.force,
        out_dir=Path(args.out) if args.out else None,
    )
    print(result.to_text())
    return 0 if result.ok else 1


def _cmd_report(args: argparse.Namespace) -> int:
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``survey`` command (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="survey",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")

    p = sub.add_parser("figures", help=_HELP["figures"], description=_HELP["figures"])
    p.add_argument("--edition", type=int, action="append", help="only this edition (repeatable)")
    p.add_argument(
        "--check", action="store_true", help="report unresolved figures and contradictions"
    )
    p.add_argument(
        "--context", action="store_true", help="list the AI-adoption context figures instead"
    )
    p.add_argument("--format", choices=["table", "csv"], default="table", help="output format")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of --check")
    p.set_defaults(func=_cmd_figures)

    p = sub.add_parser("validate", help=_HELP["validate"], description=_HELP["validate"])
    p.add_argument("file", help="wave file: .csv (UTF-8/GB18030), .xlsx, .parquet or .sav")
    p.add_argument("--edition", type=int, help="edition of the wave (default: from the file name)")
    p.add_argument("--codebook", help="codebook YAML (default: data/codebook.yaml)")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the report")
    p.add_argument("--sheet", help="Excel sheet name or 0-based number (default: the first)")
    p.add_argument(
        "--all", action="store_true", help="list every problem (default: summarise long groups)"
    )
    p.add_argument(
        "--format", choices=["text", "csv"], default="text", help="csv: one row per problem"
    )
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("synth", help=_HELP["synth"], description=_HELP["synth"])
    p.add_argument(
        "--edition", type=int, action="append", help="edition to generate (repeatable; default all)"
    )
    p.add_argument("--seed", type=int, help="random seed (default: the package's fixed seed)")
    p.add_argument("--out", help="output folder (default: data/waves)")
    p.add_argument(
        "--report", action="store_true", help="print published vs synthetic for every figure"
    )
    p.add_argument("--format", choices=["table", "csv"], default="table", help="format of --report")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("ingest", help=_HELP["ingest"], description=_HELP["ingest"])
    p.add_argument("file", help="delivered file: .xlsx, .sav or .csv")
    p.add_argument("--edition", type=int, required=True, help="edition (year) of the wave")
    p.add_argument("--mapping", help="mapping file (YAML) for renamed questions and options")
    p.add_argument("--force", action="store_true", help="overwrite an existing wave")
    p.add_argument("--out", help="output folder (default: data/waves)")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("report", help=_HELP["report"], description=_HELP["report"])
    p.add_argument("--edition", type=int, help="edition to report (default: the newest wave)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the report")
    p.add_argument(
        "-P", "--param", action="append", metavar="KEY:VALUE", help="report parameter, as quarto -P"
    )
    p.add_argument("--to", default="html,pdf", help="comma-separated formats: html, pdf")
    p.add_argument("--out", help="output folder (default: report/_output)")
    p.add_argument("--project", help="Quarto project folder (default: report/)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (errors print a one-line reason, exit code 2)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SurveyError as e:
        message = str(e)
        if e.expected and e.expected not in message:
            message += f"\n  expected: {e.expected}"
        print(f"error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `survey figures | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
