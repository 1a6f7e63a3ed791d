"""``survey ingest``: take an agency's delivery into ``data/waves/YEAR.parquet``."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "ingest"
HELP = (
    "map an agency's delivery (Excel/SPSS/CSV with Chinese headers) onto the codebook, "
    "validate it and write data/waves/YEAR.parquet with a validation log"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("file", help="delivered file: .xlsx, .sav or .csv")
    p.add_argument("--edition", type=int, required=True, help="edition (year) of the wave")
    p.add_argument("--mapping", help="mapping file (YAML) for renamed questions and options")
    p.add_argument("--force", action="store_true", help="overwrite an existing wave")
    p.add_argument("--out", help="output folder (default: data/waves)")


def run(args: argparse.Namespace) -> int:
    """Run the command; the exit code (0 ok, 1 problems found)."""
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
