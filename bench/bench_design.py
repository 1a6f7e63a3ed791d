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

Part 2, stratified and clustered designs (``--part designs``): ``--n`` respondents in 50 strata
of 20 PSUs (1,000 PSUs) of 10 secondary units each, a 6-level segment and five variables of
each storage (Boolean, Int64 0/1, Float 0/1, and budget amounts in yuan); the work is
``design.by("seg6").mean([5 variables])`` (30 domain means with SEs, deff, n_eff), median of
``--design-repeat`` runs, timed twice: the first call on a new design (which builds the
domains' layout: codes, bins, bin matrices) and a call on a design that has answered for these
domains before (it keeps the layout, as in an analyst's session or a banner), on three designs: stratified (``strata=``), stratified cluster
(``ids=, strata=``) and two-stage with an fpc per stage (``ids=[psu, ssu], fpc=[...]``). In the
same run, the ``svy`` package (when installed) does the same estimates
(``Sample(...).estimation.mean(vars, by="seg6")``, Taylor, with replacement: the two first
designs) and R does ``svyby(~y1+...+y5, ~seg6, design, svymean)`` on the same rows; ratios
svy/Python and R/Python are printed and the SEs compared.

Usage (from the repo root):

    python bench/bench_design.py [--n 1000000] [--r-n 100000] [--repeat 3] [--no-r]
                                 [--part all|raked|designs] [--design-repeat 7]

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


# ---------------------------------------------------------------------- part 2: designs
KINDS = {"b": "Boolean", "i": "Int64 0/1", "f": "Float 0/1", "a": "amounts"}
DESIGNS = {
    "stratified": dict(weights="w", strata="st"),
    "stratified cluster": dict(weights="w", strata="st", ids="psu"),
    "two-stage, fpc per stage": dict(weights="w", strata="st", ids=["psu", "ssu"],
                                     fpc=["fpc1", "fpc2"]),
}
SVY = {"stratified": dict(stratum="st", wgt="w", wr=True),
       "stratified cluster": dict(stratum="st", psu="psu", wgt="w", wr=True)}
DESIGN_TARGET = 20.0  # svy / Python


def make_design_data(n: int, seed: int = 2) -> pl.DataFrame:
    """50 strata x 20 PSUs x 10 SSUs, weights by stratum and PSU, seg6, 5 variables per kind."""
    rng = np.random.default_rng(seed)
    st = rng.integers(0, 50, n)
    psu = st * 100 + rng.integers(0, 20, n)
    ssu = rng.integers(0, 10, n)
    seg6 = rng.integers(0, 6, n)
    w = np.exp(rng.normal(0, 0.3, n)) * (1 + st % 3) * (1 + 0.1 * (psu % 7))
    lin = rng.normal(size=(n, 1)) + 0.15 * seg6[:, None] + 0.1 * (st % 5)[:, None] - 0.3
    yes = rng.random((n, 5)) < 1 / (1 + np.exp(-(lin + np.linspace(-1, 1, 5))))
    amounts = np.round(np.exp(rng.normal(13 + 0.1 * seg6[:, None], 1.0, (n, 5))), 2)
    return pl.DataFrame({
        "st": st, "psu": psu, "ssu": ssu, "fpc1": np.full(n, 100), "fpc2": np.full(n, 40),
        "w": w, "seg6": pl.Series(np.array(SEG6)[seg6]).cast(pl.Enum(SEG6)),
        **{f"b{j + 1}": yes[:, j] for j in range(5)},
        **{f"i{j + 1}": yes[:, j].astype(np.int64) for j in range(5)},
        **{f"f{j + 1}": yes[:, j].astype(float) for j in range(5)},
        **{f"a{j + 1}": amounts[:, j] for j in range(5)},
    })


def _median_time(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def bench_designs(df: pl.DataFrame, repeat: int) -> tuple[dict, dict | None]:
    """Python and svy timings, interleaved run by run so that both see the same machine load."""
    try:
        import svy
    except ImportError:
        svy = None
    py: dict[str, dict[str, object]] = {}
    sv: dict[str, dict[str, object]] | None = {} if svy is not None else None
    for name, spec in DESIGNS.items():
        t0 = time.perf_counter()
        d = Design(df, **spec)
        py[name] = {"build_s": time.perf_counter() - t0}
        sample = None
        if sv is not None and name in SVY:
            sample = svy.Sample(df.with_columns(pl.col("seg6").cast(pl.String)),
                                svy.Design(**SVY[name]))
            sv[name] = {"version": svy.__version__}
        for k in KINDS:
            cols = [f"{k}{j + 1}" for j in range(5)]
            ref = "f" if k in "bif" else "a"  # svy reads 0/1 questions as Float
            times, first, svy_times, out, svy_out = [], [], [], None, None
            for _ in range(repeat):
                fresh = Design(df, **spec)  # a new design: its domains' layout not yet built
                t, _ = _median_time(lambda d=fresh, cols=cols: d.by("seg6").mean(cols), 1)
                first.append(t)
                d.by("seg6").mean(cols[:1])  # the layout kept by the design, as in a session
                t, out = _median_time(lambda d=d, cols=cols: d.by("seg6").mean(cols), 1)
                times.append(t)
                if sample is not None and (k == "b" or k == "a"):
                    rc = [f"{ref}{j + 1}" for j in range(5)]
                    t, svy_out = _median_time(
                        lambda s=sample, rc=rc: s.estimation.mean(rc, by="seg6"), 1)
                    svy_times.append(t)
            py[name][f"{k}_s"] = float(np.median(times))
            py[name][f"{k}_first_s"] = float(np.median(first))
            py[name][f"{k}_runs"] = times
            py[name][f"{k}_se"] = out.sort("seg6", "variable")["se"].to_list()
            if svy_times:
                sv[name][f"{ref}_s"] = float(np.median(svy_times))
                sv[name][f"{ref}_runs"] = svy_times
                sv[name][f"{ref}_se"] = [v for e in svy_out for v in e.to_polars().sort("seg6")["se"]]
    return py, sv


R_DESIGNS = r"""
suppressPackageStartupMessages(library(survey))
args <- commandArgs(TRUE)
dat <- read.csv(args[1])
dat$seg6 <- factor(dat$seg6, levels = paste0("s", 1:6))
des <- list(
  "stratified" = svydesign(ids = ~1, strata = ~st, weights = ~w, data = dat),
  "stratified cluster" = svydesign(ids = ~psu, strata = ~st, weights = ~w, data = dat, nest = TRUE),
  "two-stage, fpc per stage" = svydesign(ids = ~psu + ssu, strata = ~st, fpc = ~fpc1 + fpc2,
                                         weights = ~w, data = dat, nest = TRUE))
out <- c()
for (nm in names(des)) {
  multi <- grepl("two-stage", nm)  # R's multistage recursion is slow: one run, 0/1 only
  for (k in if (multi) "f" else c("f", "a")) {
    f <- as.formula(paste("~", paste0(k, 1:5, collapse = "+")))
    times <- c()
    for (r in 1:(if (multi) 1L else as.integer(args[2]))) {
      t0 <- proc.time()
      b <- svyby(f, ~seg6, des[[nm]], svymean)
      times <- c(times, (proc.time() - t0)[["elapsed"]])
    }
    se <- as.numeric(as.matrix(SE(b)))  # seg6 within variable: variable-major
    out <- c(out, sprintf('"%s|%s": {"s": %.4f, "se": [%s]}', nm, k, median(times),
                          paste(sprintf("%.15g", se), collapse = ", ")))
  }
}
cat(sprintf('{%s, "version": "%s"}
', paste(out, collapse = ", "),
            paste(R.version.string, "/ survey", packageVersion("survey"))))
"""


def bench_designs_r(df: pl.DataFrame, repeat: int) -> dict[str, object] | None:
    if shutil.which("Rscript") is None:
        return None
    if subprocess.run(["Rscript", "-e", "library(survey)"], capture_output=True).returncode:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script, csv = Path(tmp) / "designs.R", Path(tmp) / "data.csv"
        script.write_text(R_DESIGNS)
        keep = ["st", "psu", "ssu", "fpc1", "fpc2", "w", "seg6", *[f"f{j + 1}" for j in range(5)],
                *[f"a{j + 1}" for j in range(5)]]
        df.select(keep).write_csv(csv)
        res = subprocess.run(["Rscript", str(script), str(csv), str(repeat)],
                             capture_output=True, text=True)
        if res.returncode:
            raise RuntimeError(f"R benchmark failed:\n{res.stderr}")
        return json.loads(res.stdout.strip().splitlines()[-1])


def _variable_major(se: list[float]) -> np.ndarray:
    """Our SEs are sorted by seg6 then variable; svy and R list variable then seg6."""
    return np.asarray(se, float).reshape(6, 5).T.ravel()


def _rel(a: object, b: object) -> float:
    x, y = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(x / y - 1)))


def run_designs(n: int, repeat: int, r_repeat: int, use_r: bool) -> dict[str, object]:
    t0 = time.perf_counter()
    df = make_design_data(n)
    print(f"designs data: {n:,} rows, 50 strata, 1,000 PSUs, 10,000 SSUs in "
          f"{time.perf_counter() - t0:.1f} s; load average {load():.2f}")
    py, sv = bench_designs(df, repeat)
    rr = bench_designs_r(df, r_repeat) if use_r else None
    table = []
    for name, row in py.items():
        for k, label in KINDS.items():
            t, t1 = row[f"{k}_s"], row[f"{k}_first_s"]
            ref = "f" if k in "bif" else "a"  # svy and R read 0/1 questions as Float
            line: dict[str, object] = {"design": name, "variables": label, "python_s": t,
                                       "python_first_s": t1}
            if sv and name in sv:
                line["svy_s"] = sv[name][f"{ref}_s"]
                line["svy_over_python"] = sv[name][f"{ref}_s"] / t
                line["svy_over_python_first"] = sv[name][f"{ref}_s"] / t1
                line["se_vs_svy"] = _rel(_variable_major(row[f"{k}_se"]), sv[name][f"{ref}_se"])
            if rr and f"{name}|{ref}" in rr:
                r = rr[f"{name}|{ref}"]
                line["r_s"] = r["s"]
                line["r_over_python"] = r["s"] / t
                line["se_vs_r"] = _rel(_variable_major(row[f"{k}_se"]), r["se"])
            table.append(line)
            msg = f"{name:26s} {label:10s} python {t:6.3f} s (first call {t1:6.3f} s)"
            if "svy_s" in line:
                msg += (f" | svy {line['svy_s']:5.2f} s = {line['svy_over_python']:5.1f}x "
                        f"({line['svy_over_python_first']:4.1f}x first; "
                        f"SEs {line['se_vs_svy']:.0e})")
            if "r_s" in line:
                msg += (f" | R {line['r_s']:6.2f} s = {line['r_over_python']:5.1f}x "
                        f"(SEs {line['se_vs_r']:.0e})")
            print(msg)
    builds = {k: v["build_s"] for k, v in py.items()}
    return {"n": n, "repeat": repeat, "table": table, "build_s": builds,
            "svy_version": next(iter(sv.values()))["version"] if sv else None,
            "r_version": rr.get("version") if rr else None, "target_svy_ratio": DESIGN_TARGET}


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--r-n", type=int, default=100_000,
                    help="rows R runs on (0: no R); Python is timed on the same rows too")
    ap.add_argument("--repeat", type=int, default=3, help="Python runs (best is reported)")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("bench/results/design.json"))
    ap.add_argument("--part", choices=("all", "raked", "designs"), default="all")
    ap.add_argument("--design-repeat", type=int, default=7,
                    help="runs per design and storage (median reported); R runs 3")
    args = ap.parse_args(argv)
    if args.part == "designs":
        res = {"designs": run_designs(args.n, args.design_repeat, 3, not args.no_r),
               "load_avg_end": load()}
        old = json.loads(args.out.read_text()) if args.out.exists() else {}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**old, **res}, indent=2) + "\n")
        return res
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
    if args.part == "all":
        res["designs"] = run_designs(args.n, args.design_repeat, 3, not args.no_r)
    res["load_avg_end"] = load()
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.part == "raked" and "designs" in old:  # keep the last run of the other part
        res["designs"] = old["designs"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    sys.stdout.flush()
    return res


if __name__ == "__main__":
    main()
