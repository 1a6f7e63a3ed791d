"""``survey synth``: regenerate the synthetic waves, or print their fidelity table."""

from __future__ import annotations

import argparse
import sys

from survey.cli._common import print_frame

NAME = "synth"
HELP = (
    "regenerate the synthetic waves (data/waves/YEAR.parquet; a wave that is not synthetic, "
    "such as an ingested delivery, is never replaced); --report prints the fidelity table "
    "(published figure against synthetic estimate, pass/fail)"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument(
        "--edition",
        type=int,
        action="append",
        help="edition to generate (repeatable; default every edition with a published sample "
        "size whose wave is synthetic or absent); an edition whose wave is real is refused",
    )
    p.add_argument("--seed", type=int, help="random seed (default: the package's fixed seed)")
    p.add_argument(
        "--n",
        type=int,
        help="sample size (default: the edition's published sample size; needed for an "
        "edition that has none)",
    )
    p.add_argument("--out", help="output folder (default: data/waves)")
    p.add_argument(
        "--report", action="store_true", help="print published vs synthetic for every figure"
    )
    p.add_argument("--format", choices=["table", "csv"], default="table", help="format of --report")


def run(args: argparse.Namespace) -> int:
    """Run the command; the exit code (0 ok, 1 problems found, 2 could not run)."""
    from survey.errors import SurveyError
    from survey.synth import fidelity_report, synthesize, write_editions

    if args.n is not None and args.n <= 0:
        raise SurveyError(f"--n {args.n}: not a sample size", value=args.n, expected="n >= 1")
    editions = args.edition or None
    kwargs: dict[str, int] = {} if args.seed is None else {"seed": args.seed}
    if args.n is not None:
        kwargs["n"] = args.n
    if args.report:
        import polars as pl

        wanted = editions or _edition_list()
        waves = {ed: synthesize(ed, **kwargs) for ed in wanted}
        for ed in _compared(wanted):  # earlier editions a published change is measured from
            if ed not in waves and ed in _edition_list():
                waves[ed] = synthesize(ed, **kwargs)
        frames = [fidelity_report(waves[ed], previous=waves) for ed in wanted]
        report = pl.concat(frames, how="diagonal_relaxed")
        compact = ["edition", "figure_id", "published", "unweighted", "raked", "passed"]
        shown = (
            report
            if args.format == "csv"
            else report.select(*[c for c in compact if c in report.columns])
        )
        print_frame(shown, args.format)
        passed = report.filter(pl.col("passed")).height
        failed = report.filter(~pl.col("passed")).height
        unchecked = report.height - passed - failed
        print(
            f"\n{passed} of {passed + failed} checked figures pass"
            f" ({unchecked} not checkable: ratios, references, context, changes from an"
            " edition without a wave)",
            file=sys.stderr,
        )
        return 1 if failed else 0
    if editions is None:  # every edition: real waves are kept (and said so), the rest written
        for p, status in _kept(args.out):
            print(f"kept {p}: {status} wave, not synthetic", file=sys.stderr)
    paths = write_editions(
        out_dir=args.out, editions=editions, keep_real=editions is None, **kwargs
    )
    for p in paths:
        print(f"wrote {p}")
    return 0


def _kept(out: str | None) -> list[tuple[object, str]]:
    """The wave files of the default editions that are not synthetic (left as they are)."""
    from pathlib import Path

    from survey.paths import waves_dir
    from survey.synth import editions_with_sample, load_published, wave_status

    folder = Path(out) if out else waves_dir()
    files = [folder / f"{ed}.parquet" for ed in editions_with_sample(load_published()[0])]
    return [(p, st) for p in files if (st := wave_status(p)) not in ("absent", "synthetic")]


def _compared(editions: list[int]) -> set[int]:
    """Editions that the changes published by ``editions`` are measured from."""
    import polars as pl

    from survey.published import load_figures

    f = load_figures(editions=editions).filter(pl.col("measure") == "change")
    return {int(e) for e in f["compare_edition"].drop_nulls()}


def _edition_list() -> list[int]:
    from survey.published import load_figures

    return sorted(load_figures()["edition"].unique().to_list(), reverse=True)
