"""``survey validate``: check a wave file against the codebook before ingest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "validate"
HELP = (
    "check a respondent-level wave file against the codebook and print every problem "
    "with its file, row, column, value and what was expected (exit 1 on problems)"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("file", help="wave file: .csv (UTF-8/GB18030/UTF-16), .xlsx, .parquet or .sav")
    p.add_argument("--edition", type=int, help="edition of the wave (default: from the file name)")
    p.add_argument("--codebook", help="codebook YAML (default: data/codebook.yaml)")
    p.add_argument("--mapping", help="mapping file (YAML) as for survey ingest")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the report")
    p.add_argument("--sheet", help="Excel sheet name or 0-based number (default: the data sheet)")
    p.add_argument(
        "--all", action="store_true", help="list every problem (default: summarise long groups)"
    )
    p.add_argument(
        "--format",
        choices=["text", "csv"],
        default="text",
        help="csv: one row per problem (cells a spreadsheet would run as formulas get a leading ')",
    )


def run(args: argparse.Namespace) -> int:
    """Run the command; the exit code (0 ok, 1 problems found)."""
    from survey.codebook import Codebook
    from survey.io import validate_file
    from survey.io.write import formula_note, neutralize_formulas

    codebook = Codebook.load(args.codebook) if args.codebook else None
    sheet = int(args.sheet) if args.sheet and args.sheet.isdigit() else args.sheet
    report = validate_file(
        Path(args.file),
        codebook=codebook,
        edition=args.edition,
        sheet=sheet,
        mapping=Path(args.mapping) if args.mapping else None,
    )
    if args.format == "csv":
        frame, n = neutralize_formulas(report.to_polars())
        sys.stdout.write(frame.write_csv())
        if n:
            print(f"note: {formula_note(n, 'this output')}", file=sys.stderr)
    else:
        print(report.to_text(lang=args.lang, limit=None if args.all else 20))
    return 0 if report.ok else 1
