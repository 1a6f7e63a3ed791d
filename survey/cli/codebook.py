"""``survey codebook``: browse or search the codebook (questions, options, nets, items)."""

from __future__ import annotations

import argparse

NAME = "codebook"
HELP = "list the codebook's questions, options, nets and grid items, or search them by words"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("--search", nargs="+", metavar="WORD",
                   help="words to find (Chinese or English; every word must match)")
    p.add_argument("--edition", type=int, help="only what this edition asked")
    p.add_argument("--codebook", help="codebook YAML (default: data/codebook.yaml)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the labels")
    p.add_argument("--format", choices=["text", "csv"], default="text",
                   help="csv: every column, one row per entry")


def run(args: argparse.Namespace) -> int:
    """Run the command; the exit code (0 found, 1 nothing matched)."""
    import polars as pl

    from survey.cli._common import print_frame
    from survey.codebook import Codebook

    cb = Codebook.load(args.codebook) if args.codebook else Codebook.load()
    frame = (cb.search(" ".join(args.search), args.edition) if args.search
             else cb.to_polars(args.edition))
    if args.format == "text":
        frame = frame.select("question_id", "kind", "code", "column",
                             pl.col(f"label_{args.lang}").alias("label"), "editions")
    print_frame(frame, args.format)
    return 0 if frame.height else 1
