"""``survey deck``: the report's key charts of an edition as an editable PowerPoint deck."""

from __future__ import annotations

import argparse
import sys

NAME = "deck"
HELP = ("the key charts of an edition (every question's whole-sample result) as a PowerPoint "
        "deck with native, editable charts")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("--edition", type=int, help="edition (default: the newest wave)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the deck")
    p.add_argument("--top", type=int, default=10, help="options shown for multi-select questions")
    p.add_argument("-o", "--output", required=True, help="output file (.pptx)")


def run(args: argparse.Namespace) -> int:
    """Run the command; the exit code (0 written, 2 could not run)."""
    from survey.export.deck import report_deck
    from survey.reporting import ReportContext

    ctx = ReportContext.load(args.edition, args.lang, with_previous=False)
    deck = report_deck(ctx, top=args.top)
    path = deck.save(args.output)
    print(f"wrote {path}: {len(deck.prs.slides)} slides", file=sys.stderr)
    return 0
