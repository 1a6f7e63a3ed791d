"""Benchmarks and coverage study of ``survey.models``.

Usage::

    python bench/bench_models.py                 # timings + coverage (about 3-4 minutes)
    python bench/bench_models.py --reps 100      # quicker coverage study
    python bench/bench_models.py --no-coverage   # timings only

1. Time of 10,000 bootstrap replicates of the brand-split logistic at n = 228 (batched Newton),
   against a naive per-replicate statsmodels loop on a subset, extrapolated to 10,000.
2. Coverage over repeated simulations with a known optimum (0.53) of the delta-method and
   bootstrap 95% intervals (quadratic) and of the bootstrap interval of the spline optimum,
   plus coverage of the media-mix net-balance interval.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import statsmodels.api as sm

from survey.models import brand_split as bs
from survey.models._result import replicate_weights

N, B = 228, 10_000
TRUE_OPT = 0.53


def _binom_band(p: float, r: int) -> str:
    se = np.sqrt(0.95 * 0.05 / r)
    return f"{p:.3f} (MC SE {se:.3f}; nominal 0.95)"


def timings(naive_subset: int = 200) -> None:
    df = bs.simulate(N, optimum=TRUE_OPT, curvature=20, concentration=3, seed=5)
    prep = bs.prepare(df)
    X = np.column_stack([np.ones(N), bs.basis(prep.s, "quadratic"), prep.C])
    w = prep.w * N / prep.w.sum()
    beta, _ = bs.fit_batch(X, prep.y, w[None], "binomial")
    rng = np.random.default_rng(1)

    t0 = time.perf_counter()
    W = replicate_weights(w, B, rng)
    t1 = time.perf_counter()
    _betas, conv = bs.fit_batch(X, prep.y, W, "binomial", beta0=beta[0])
    t2 = time.perf_counter()
    full = time.perf_counter()
    bs.fit(df, bootstrap=B, seed=1)
    full = time.perf_counter() - full

    t3 = time.perf_counter()
    for b in range(naive_subset):
        sm.GLM(prep.y, X, family=sm.families.Binomial(), var_weights=W[b]).fit()
    t4 = time.perf_counter()
    naive = (t4 - t3) / naive_subset * B
    batched = t2 - t0
    print(f"cores: {os.cpu_count()}, n = {N}, k = {X.shape[1]} parameters, B = {B}")
    print(f"replicate weights (Rao-Wu):          {t1 - t0:6.2f} s")
    print(f"batched Newton, {B} replicates:    {t2 - t1:6.2f} s  (converged {conv.mean():.4f})")
    print(f"bootstrap total (weights + fits):    {batched:6.2f} s")
    print(f"full brand_split.fit(bootstrap={B}): {full:6.2f} s  (incl. curve bands, 2000 reps)")
    print(f"naive statsmodels loop: {naive_subset} fits in {t4 - t3:.2f} s -> "
          f"{naive:.1f} s extrapolated to {B}")
    print(f"speed-up batched vs naive: {naive / batched:.0f}x")


def coverage(reps: int, boot: int = 1000) -> None:
    hits = {"delta": 0, "boot": 0, "spline_boot": 0}
    widths = {k: [] for k in hits}
    est = []
    t0 = time.perf_counter()
    for i in range(reps):
        df = bs.simulate(N, optimum=TRUE_OPT, curvature=20, concentration=3, seed=10_000 + i)
        r = bs.fit(df, bootstrap=boot, seed=i, curve_replicates=0)
        rs = bs.fit(df, model="spline", bootstrap=boot, seed=i, curve_replicates=0)
        est.append(r.optimum)
        for key, ci in (("delta", r.ci_delta), ("boot", r.ci_boot), ("spline_boot", rs.ci_boot)):
            hits[key] += ci[0] <= TRUE_OPT <= ci[1]
            widths[key].append(ci[1] - ci[0])
    print(f"\ncoverage of 95% intervals for the optimum (true {TRUE_OPT}), {reps} simulations "
          f"of n = {N}, {boot} bootstrap replicates each ({time.perf_counter() - t0:.0f} s):")
    print(f"  quadratic estimate: mean {np.mean(est):.3f}, SD {np.std(est):.3f}")
    for k in hits:
        print(f"  {k:12s} coverage {_binom_band(hits[k] / reps, reps)}, "
              f"median width {np.nanmedian(widths[k]):.3f}")

    import polars as pl

    from survey.models.scenarios import media_mix as mm

    lv = ["increase", "flat", "decrease", "not_invest"]
    p = [0.55, 0.30, 0.10, 0.05]
    hit = 0
    for i in range(reps):
        rng = np.random.default_rng(20_000 + i)
        f = pl.DataFrame({"media_intent__mobile": pl.Series(rng.choice(lv, N, p=p)).cast(
            pl.Enum(lv)), "weight": rng.gamma(6, 1 / 6, N)})
        t = mm.net_balance(f, bootstrap=1).table.row(0, named=True)
        hit += t["ci_low"] <= p[0] - p[2] <= t["ci_high"]
    print(f"  net balance (design SE) coverage {_binom_band(hit / reps, reps)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=300, help="simulations for the coverage study")
    ap.add_argument("--no-coverage", action="store_true")
    a = ap.parse_args()
    timings()
    if not a.no_coverage:
        coverage(a.reps)


if __name__ == "__main__":
    main()
