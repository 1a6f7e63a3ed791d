"""Benchmark of wave validation (issues 10 and 12): every rule on every cell, in one pass.

The data: the shipped 2025 wave (228 respondents, 125 columns of the edition's schema) as text,
repeated to ``--n`` rows (default 100,000) with unique ids. The work, best of ``--repeat``:

1. ``validate(raw, codebook, edition=2025)`` — columns against what the edition asked, codes and
   labels, multi-select marks (and unanswered rows), numbers and ranges, constant sums, required
   answers, exclusive options, NFKC duplicate ids, bounded weights; returns the typed frame.
2. The reference, in the same run: *bare typing* — the same typed frame built with the least
   work any reader must do (each single/grid column mapped code -> Enum with ``replace_strict``,
   each multi column ``== "true"``, each number ``cast(Float64)``), no check at all. The ratio
   validate / bare typing is the price of checking everything.

Usage (from the repo root):

    python bench/bench_validate.py [--n 100000] [--repeat 3]

Writes ``bench/results/validate.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import polars as pl

import survey
from survey.codebook import Codebook
from survey.io.validate import validate


def raw_frame(n: int) -> pl.DataFrame:
    """The 2025 wave as all-text cells, repeated to ``n`` rows with unique ids."""
    frame = survey.load_wave(2025).frame
    raw = frame.with_columns(pl.all().cast(pl.String))
    reps = -(-n // raw.height)
    return (
        pl.concat([raw] * reps)
        .head(n)
        .with_columns(pl.format("r{}", pl.int_range(pl.len())).alias("resp_id"))
    )


def bare_typing(raw: pl.DataFrame, cb: Codebook, edition: int) -> pl.DataFrame:
    """The typed frame without any check (the reference)."""
    exprs = []
    for c, dtype in cb.column_dtypes(edition).items():
        if c not in raw.columns:
            exprs.append(pl.lit(None, dtype).alias(c))
        elif isinstance(dtype, pl.Enum):
            codes = list(dtype.categories)
            exprs.append(
                pl.col(c)
                .replace_strict(dict(zip(codes, codes, strict=True)), default=None)
                .cast(dtype)
                .alias(c)
            )
        elif dtype == pl.Boolean:
            exprs.append((pl.col(c) == "true").alias(c))
        elif dtype == pl.Float64:
            exprs.append(pl.col(c).cast(pl.Float64, strict=False).alias(c))
        else:
            exprs.append(pl.col(c))
    return raw.lazy().select(exprs).collect()


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cb = Codebook.load()
    raw = raw_frame(args.n)
    typed, problems = validate(raw, cb, edition=2025)
    assert not problems and typed is not None and typed.height == args.n
    bare = bare_typing(raw, cb, 2025)
    assert bare.columns == typed.columns
    t_validate = best(lambda: validate(raw, cb, edition=2025), args.repeat)
    t_bare = best(lambda: bare_typing(raw, cb, 2025), args.repeat)
    result = {
        "n": args.n,
        "columns": raw.width,
        "validate_s": round(t_validate, 3),
        "bare_typing_s": round(t_bare, 3),
        "ratio": round(t_validate / t_bare, 1),
        "cpus": os.cpu_count(),
        "load_avg": round(os.getloadavg()[0], 1),
        "python": platform.python_version(),
        "polars": pl.__version__,
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results" / "validate.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
