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
    p.add_argument("--sheet", help="Excel sheet name or 0-based number (default: the data sheet)")
    p.add_argument(
        "--write-mapping",
        metavar="FILE",
        help="write an editable mapping draft (current matches and best suggestions) to FILE "
        "and stop; then edit it and pass it with --mapping",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing wave")
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait for another ingest of the same edition to finish (default: refuse at once)",
    )
    p.add_argument("--out", help="output folder (default: data/waves)")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the problems")


def _sheet(value: str | None) -> str | int | None:
    return int(value) if value and value.isdigit() else value


def run(args: argparse.Namespace) -> int:
    """Run the command; the exit code (0 ok, 1 problems found)."""
    from survey.ingest import ingest, write_draft

    if args.write_mapping:
        out = write_draft(
            Path(args.file),
            Path(args.write_mapping),
            edition=args.edition,
            mapping=Path(args.mapping) if args.mapping else None,
            sheet=_sheet(args.sheet),
        )
        print(f"wrote the mapping draft {out}: check the SUGGESTED lines, then run")
        print(f"  survey ingest {args.file} --edition {args.edition} --mapping {out}")
        return 0
    result = ingest(
        Path(args.file),
        edition=args.edition,
        mapping=Path(args.mapping) if args.mapping else None,
        force=args.force,
        out_dir=Path(args.out) if args.out else None,
        sheet=_sheet(args.sheet),
        wait=args.wait,
    )
    print(result.to_text(args.lang))
    return 0 if result.ok else 1
