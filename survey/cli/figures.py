"""``survey figures``: the published figures, their sources and the checks on them."""

from __future__ import annotations

import argparse

from survey.cli._common import print_frame

NAME = "figures"
HELP = (
    "list the published aggregate figures with their sources; --check lists figures and "
    "segment contrasts that do not resolve to the codebook or to what their edition asked, "
    "and contradictions between sources (exit 1 on unresolved figures; contradictions are "
    "reported, not errors)"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("--edition", type=int, action="append", help="only this edition (repeatable)")
    p.add_argument(
        "--check", action="store_true", help="report unresolved figures and contradictions"
    )
    p.add_argument(
        "--context", action="store_true", help="list the AI-adoption context figures instead"
    )
    p.add_argument("--format", choices=["table", "csv"], default="table", help="output format")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of --check")


def run(args: argparse.Namespace) -> int:
    """Run the command; the exit code (0 ok, 1 problems found)."""
    import polars as pl

    from survey.codebook import Codebook
    from survey.published import (
        check_figures,
        format_findings,
        load_context,
        load_contrasts,
        load_figures,
    )

    if args.context:
        print_frame(load_context(), args.format)
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
        print_frame(figures.select(cols) if args.format == "table" else figures, args.format)
        return 0
    contrasts = load_contrasts()
    if args.edition:
        contrasts = contrasts.filter(pl.col("edition").is_in(args.edition))
    report = check_figures(figures, Codebook.load(), context=load_context(), contrasts=contrasts)
    if args.format == "csv":
        print_frame(report, args.format)
    else:
        print(
            format_findings(
                report, n_figures=figures.height, n_contrasts=contrasts.height, lang=args.lang
            )
        )
    unresolved = report.filter(pl.col("kind") == "unresolved").height
    return 1 if unresolved else 0
