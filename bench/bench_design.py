"""Benchmark of the design engine: raking and 20 questions by a 6-level segment at 1,000,000.

Run from the repo root (R comparison runs when ``Rscript`` and the survey package are present):

    python bench/bench_design.py [--n 1000000] [--no-r]

Prints timings, peak memory (``ru_maxrss``) and, with R, R's timings for the same work on the
same data (R runs on a 50,000-row subset first; when the full run would exceed ~4 minutes its time is
extrapolated linearly in n from that subset and marked as such).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import polars as pl

from survey.design import Design

N_Q = 20
SEG6 = [f"s{k}" for k in range(1, 7)]
MARGINS = {"seg6": dict(zip(SEG6, [0.1, 0.15, 0.2, 0.25, 0.18, 0.12], strict=True)),
           "seg2": {"f": 0.45, "m": 0.55}}


def make_data(n: int, seed: int = 1) -> pl.DataFrame:
    """Synthetic wave: a 6-level and a 2-level segment (associated) and 20 binary questions."""
    rng = np.random.default_rng(seed)
    seg6 = rng.integers(0, 6, n)
    seg2 = (rng.random(n) < 0.35 + 0.05 * seg6).astype(np.int64)
    lin = rng.normal(size=(n, 1)) + 0.2 * seg6[:, None] - 0.5 + np.linspace(-1, 1, N_Q)
    qs = rng.random((n, N_Q)) < 1 / (1 + np.exp(-lin))
    return pl.DataFrame({
        "seg6": pl.Series(np.array(SEG6)[seg6]).cast(pl.Enum(SEG6)),
        "seg2": pl.Series(np.array(["f", "m"])[seg2]).cast(pl.Enum(["f", "m"])),
        **{f"q{j + 1}": qs[:, j] for j in range(N_Q)},
    })


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_python(df: pl.DataFrame) -> dict[str, float]:
    qs = [f"q{j + 1}" for j in range(N_Q)]
    rss0 = rss_mib()
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    r = Design(df).rake(MARGINS)
    t1, c1 = time.perf_counter(), time.process_time()
    out = r.by("seg6").proportion(qs)
    t2, c2 = time.perf_counter(), time.process_time()
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    assert out.height == 6 * N_Q
    fixed = r.rake(MARGINS, variance="fixed").by("seg6").proportion(qs)
    ratio = float((out["se"] / fixed["se"]).median())
    return {"rake_s": t1 - t0, "by_s": t2 - t1, "rake_cpu": c1 - c0, "by_cpu": c2 - c1, "peak_rss_mib": rss_mib(), "rss_before_mib": rss0,
            "traced_peak_mib": traced,
            "iterations": r.diagnostics.iterations, "se_cal_over_fixed_median": ratio}


R_SCRIPT = r"""
suppressPackageStartupMessages(library(survey))
args <- commandArgs(TRUE)
dat <- read.csv(args[1]); dat$seg6 <- factor(dat$seg6); dat$seg2 <- factor(dat$seg2)
n <- nrow(dat); share6 <- c(0.1, 0.15, 0.2, 0.25, 0.18, 0.12)
d <- svydesign(ids = ~1, weights = ~rep(1, n), data = dat)
p6 <- data.frame(seg6 = paste0("s", 1:6), Freq = share6 * n)
p2 <- data.frame(seg2 = c("f", "m"), Freq = c(0.45, 0.55) * n)
t0 <- proc.time()
r <- rake(d, list(~seg6, ~seg2), list(p6, p2), control = list(maxit = 100, epsilon = 1e-6))
t1 <- proc.time()
f <- as.formula(paste("~", paste0("q", 1:20, collapse = "+")))
b <- svyby(f, ~seg6, r, svymean)
t2 <- proc.time()
cat(sprintf('{"n": %d, "rake_s": %.3f, "by_s": %.3f, "rake_cpu": %.3f, "by_cpu": %.3f, "se_q1_s1": %.10g}\n',
            n, (t1 - t0)[["elapsed"]], (t2 - t1)[["elapsed"]], (t1 - t0)[["user.self"]],
            (t2 - t1)[["user.self"]],
            as.numeric(unlist(SE(b)))[1]))
"""


def bench_r(df: pl.DataFrame, budget_s: float = 240.0) -> dict[str, float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)

        def run(sub: pl.DataFrame) -> dict[str, float]:
            csv = Path(tmp) / "data.csv"
            sub.with_columns(pl.col(f"q{j + 1}").cast(pl.Int8) for j in range(N_Q)).write_csv(csv)
            res = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True,
                                 text=True)
            if res.returncode:
                raise RuntimeError(f"R benchmark failed:\n{res.stderr}")
            return json.loads(res.stdout.strip().splitlines()[-1])

        pilot_n = min(df.height, 50_000)
        pilot = run(df.head(pilot_n))
        scale = df.height / pilot_n
        if scale == 1 or (pilot["rake_s"] + pilot["by_s"]) * scale > budget_s:
            pilot.update(extrapolated_from=pilot_n,
                         **{k: pilot[k] * scale for k in ("rake_s", "by_s", "rake_cpu", "by_cpu")})
            if scale == 1:
                pilot.pop("extrapolated_from")
            return pilot
        return run(df)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args(argv)
    df = make_data(args.n)
    py = bench_python(df)
    print(f"python  n={args.n:,}  rake {py['rake_s']:.3f}s wall / {py['rake_cpu']:.3f}s CPU "
          f"({py['iterations']} IPF cycles)  20 questions x seg6 with calibrated SEs "
          f"{py['by_s']:.3f}s wall / {py['by_cpu']:.3f}s CPU  "
          f"peak traced by design work {py['traced_peak_mib']:.0f} MiB, process peak RSS "
          f"{py['peak_rss_mib']:.0f} MiB (data generation alone {py['rss_before_mib']:.0f})  "
          f"median SE calibrated/fixed {py['se_cal_over_fixed_median']:.3f}")
    if not args.no_r:
        r = bench_r(df)
        if r is None:
            print("R: Rscript not found; skipped")
        else:
            note = (f" (measured on {r['extrapolated_from']:,} rows, extrapolated linearly)"
                    if "extrapolated_from" in r else "")
            print(f"R       n={args.n:,}  rake {r['rake_s']:.2f}s wall / {r['rake_cpu']:.2f}s CPU  "
                  f"svyby 20 questions {r['by_s']:.2f}s wall / {r['by_cpu']:.2f}s CPU{note}")
            print(f"ratio R/python (wall): rake {r['rake_s'] / py['rake_s']:.0f}x  "
                  f"by {r['by_s'] / py['by_s']:.0f}x;  (CPU): rake "
                  f"{r['rake_cpu'] / py['rake_cpu']:.0f}x  by {r['by_cpu'] / py['by_cpu']:.0f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
