"""Benchmark of the design engine (issue 4): raking and 20 questions by a 6-level segment.

The data: ``--n`` respondents (default 1,000,000), 20 binary questions, a 6-level and a 2-level
segment (associated with each other and with the answers). The work, timed separately:

1. ``Design(frame).rake({seg6: ..., seg2: ...})`` — IPF to the two margins (tol 1e-10);
2. ``design.by("seg6").proportion(q1..q20)`` — 120 domain proportions with calibration-aware
   (raking) linearization SEs, logit intervals, deff and effective n.

Peak memory is the process's peak resident set (``ru_maxrss``, data generation included).

R comparison (when ``Rscript`` with the ``survey`` package is installed): the same two steps in
R — ``rake(svydesign(ids=~1, weights=~1), list(~seg6, ~seg2), ...)`` then
``svyby(~q1+...+q20, ~seg6, design, svymean)`` (whose SEs account for the raking) — on the first
``--r-n`` rows (default 100,000: R's svyby takes minutes on 1,000,000). Python is timed on the
same rows, so that ratio is like for like; R's times are also scaled linearly to ``--n`` (both
steps are linear in n) and that ratio is marked "extrapolated". ``--r-n`` equal to ``--n`` runs
R on everything. The SEs of R and Python on the R rows are compared (max relative difference).

Usage (from the repo root):

    python bench/bench_design.py [--n 1000000] [--r-n 100000] [--repeat 3] [--no-r]

Writes ``bench/results/design.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from survey.design import Design

N_Q = 20
QS = [f"q{j + 1}" for j in range(N_Q)]
SEG6 = [f"s{k}" for k in range(1, 7)]
SHARE6 = [0.1, 0.15, 0.2, 0.25, 0.18, 0.12]
MARGINS = {"seg6": dict(zip(SEG6, SHARE6, strict=True)), "seg2": {"f": 0.45, "m": 0.55}}
TARGETS = {"rake_s": 0.5, "by_s": 3.0, "peak_rss_mib": 2048.0}


def make_data(n: int, seed: int = 1) -> pl.DataFrame:
    """Synthetic wave: a 6-level and a 2-level segment (associated) and 20 binary questions."""
    rng = np.random.default_rng(seed)
    seg6 = rng.integers(0, 6, n)
    seg2 = (rng.random(n) < 0.35 + 0.05 * seg6).astype(np.int64)
    lin = (rng.normal(size=(n, 1)) + 0.2 * seg6[:, None] + 0.4 * seg2[:, None] - 0.5
           + np.linspace(-1, 1, N_Q))
    qs = rng.random((n, N_Q)) < 1 / (1 + np.exp(-lin))
    return pl.DataFrame({
        "seg6": pl.Series(np.array(SEG6)[seg6]).cast(pl.Enum(SEG6)),
        "seg2": pl.Series(np.array(["f", "m"])[seg2]).cast(pl.Enum(["f", "m"])),
        **{q: qs[:, j] for j, q in enumerate(QS)},
    })


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> float:
    return os.getloadavg()[0]


def bench_python(df: pl.DataFrame, repeat: int = 1) -> dict[str, object]:
    """Best-of-``repeat`` wall times (and CPU times of that run) of the two steps."""
    runs = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        r = Design(df).rake(MARGINS)
        t1, c1 = time.perf_counter(), time.process_time()
        out = r.by("seg6").proportion(QS)
        t2, c2 = time.perf_counter(), time.process_time()
        runs.append({"rake_s": t1 - t0, "by_s": t2 - t1, "rake_cpu_s": c1 - c0,
                     "by_cpu_s": c2 - c1})
    assert out.height == 6 * N_Q
    fixed = r.rake(MARGINS, variance="fixed").by("seg6").proportion(QS)
    best = {k: min(x[k] for x in runs) for k in runs[0]}
    return {**best, "runs": runs, "iterations": r.diagnostics.iterations,
            "max_margin_error": r.diagnostics.max_margin_error,
            "se_calibrated_over_fixed_median": float((out["se"] / fixed["se"]).median()),
            "se": out.sort("seg6", pl.col("variable").str.slice(1).cast(pl.Int64))["se"]
            .to_list()}  # domain-major, q1..q20 within a domain, as R's SE(svyby)


R_SCRIPT = r"""
suppressPackageStartupMessages(library(survey))
args <- commandArgs(TRUE)
dat <- read.csv(args[1])
dat$seg6 <- factor(dat$seg6, levels = paste0("s", 1:6)); dat$seg2 <- factor(dat$seg2)
n <- nrow(dat); dat$one <- 1
d <- svydesign(ids = ~1, weights = ~one, data = dat)
p6 <- data.frame(seg6 = paste0("s", 1:6), Freq = c(0.1, 0.15, 0.2, 0.25, 0.18, 0.12) * n)
p2 <- data.frame(seg2 = c("f", "m"), Freq = c(0.45, 0.55) * n)
t0 <- proc.time()
r <- rake(d, list(~seg6, ~seg2), list(p6, p2), control = list(maxit = 100, epsilon = 1e-8))
t1 <- proc.time()
f <- as.formula(paste("~", paste0("q", 1:20, collapse = "+")))
b <- svyby(f, ~seg6, r, svymean)
t2 <- proc.time()
se <- as.matrix(SE(b))  # rows seg6, columns q1..q20
cat(sprintf('{"n": %d, "rake_s": %.3f, "by_s": %.3f, "rake_cpu_s": %.3f, "by_cpu_s": %.3f, "se": [%s], "version": "%s"}\n',
            n, (t1 - t0)[["elapsed"]], (t2 - t1)[["elapsed"]],
            (t1 - t0)[["user.self"]] + (t1 - t0)[["sys.self"]],
            (t2 - t1)[["user.self"]] + (t2 - t1)[["sys.self"]],
            paste(sprintf("%.15g", as.numeric(t(se))), collapse = ", "),
            paste(R.version.string, "/ survey", packageVersion("survey"))))
"""


def bench_r(df: pl.DataFrame) -> dict[str, object] | None:
    if shutil.which("Rscript") is None:
        return None
    if subprocess.run(["Rscript", "-e", "library(survey)"], capture_output=True).returncode:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script, csv = Path(tmp) / "bench.R", Path(tmp) / "data.csv"
        script.write_text(R_SCRIPT)
        df.with_columns(pl.col(QS).cast(pl.Int8)).write_csv(csv)
        res = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True, text=True)
        if res.returncode:
            raise RuntimeError(f"R benchmark failed:\n{res.stderr}")
        return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--r-n", type=int, default=100_000,
                    help="rows R runs on (0: no R); Python is timed on the same rows too")
    ap.add_argument("--repeat", type=int, default=3, help="Python runs (best is reported)")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("bench/results/design.json"))
    args = ap.parse_args(argv)
    res: dict[str, object] = {
        "n": args.n, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "platform": platform.platform()},
        "load_avg_start": load(), "targets": TARGETS}
    t0 = time.perf_counter()
    df = make_data(args.n)
    print(f"data: {args.n:,} rows x {df.width} columns in {time.perf_counter() - t0:.1f} s; "
          f"RSS {rss_mib():.0f} MiB; load average {load():.2f}")
    py = bench_python(df, args.repeat)
    py["peak_rss_mib"] = rss_mib()
    res["python"] = {k: v for k, v in py.items() if k != "se"}
    ok = {k: py[k] <= v for k, v in TARGETS.items()}
    print(f"python  n={args.n:,}: rake {py['rake_s']:.3f} s ({py['iterations']} IPF cycles, "
          f"CPU {py['rake_cpu_s']:.3f} s) | 20 questions x seg6, calibrated SEs "
          f"{py['by_s']:.3f} s (CPU {py['by_cpu_s']:.3f} s) | peak RSS {py['peak_rss_mib']:.0f} "
          f"MiB | best of {args.repeat}; load average {load():.2f}")
    print("targets: " + ", ".join(f"{k} <= {v:g}: {'met' if ok[k] else 'MISSED'}"
                                  for k, v in TARGETS.items()))
    res["targets_met"] = ok
    r_n = min(args.r_n, args.n)
    if not args.no_r and r_n:
        sub = df.head(r_n)
        r = bench_r(sub)
        if r is None:
            print("R: Rscript with the survey package not found; no comparison")
        else:
            py_sub = bench_python(sub, args.repeat)
            se_r = np.array(r.pop("se"))
            se_py = np.array(py_sub.pop("se"))
            rel = float(np.max(np.abs(se_py / se_r - 1)))
            scale = args.n / r_n
            same = {k: r[k] / py_sub[k] for k in ("rake_s", "by_s")}
            ext = {k: r[k] * scale / py[k] for k in ("rake_s", "by_s")}
            res["r"] = {**r, "rows": r_n, "python_same_rows": {
                k: v for k, v in py_sub.items() if k != "runs"},
                "ratio_same_rows": same, "r_scaled_to_n": {k: r[k] * scale for k in
                                                           ("rake_s", "by_s")},
                "ratio_extrapolated_to_n": ext, "se_max_rel_diff": rel}
            print(f"R ({r['version']}) on the first {r_n:,} rows: rake {r['rake_s']:.2f} s, "
                  f"svyby 20 questions {r['by_s']:.2f} s | Python on the same rows: rake "
                  f"{py_sub['rake_s']:.3f} s, by {py_sub['by_s']:.3f} s | R/Python: rake "
                  f"{same['rake_s']:.0f}x, by {same['by_s']:.0f}x | SEs agree to {rel:.1e}")
            if scale != 1:
                print(f"R scaled linearly to {args.n:,} rows (extrapolated, not run): rake "
                      f"{r['rake_s'] * scale:.1f} s, svyby {r['by_s'] * scale:.0f} s | "
                      f"R/Python at {args.n:,}: rake {ext['rake_s']:.0f}x, by {ext['by_s']:.0f}x")
    res["load_avg_end"] = load()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    sys.stdout.flush()
    return res


if __name__ == "__main__":
    main()
