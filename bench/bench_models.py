"""Benchmarks and coverage study of ``survey.models``.

Usage::

    python bench/bench_models.py                  # timings + coverage (300 simulations)
    python bench/bench_models.py --reps 100       # quicker coverage study
    python bench/bench_models.py --no-coverage    # timings only
    python bench/bench_models.py --out bench/results/models.json   # also write the results

1. Timing on the 2025 wave (n = 228) with its standard raked design: 10,000 bootstrap replicates
   of the brand-split optimum (Rao-Wu replicate weights re-raked to the margins, then one batched
   Newton-Raphson over all replicates), against a naive per-replicate statsmodels loop on a subset
   of replicates, extrapolated to 10,000; the ratio is printed.
2. Coverage over repeated simulations with a known optimum (0.53): delta-method and bootstrap 95%
   intervals of the quadratic optimum (binary and ordinal outcome) and the bootstrap interval of
   the spline optimum, on a raked design (calibration-aware variance) and, for reference, with
   fixed weights; plus the media-mix net-balance interval and the AI-adoption share interval
   (design SE and bootstrap draws).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import polars as pl
import statsmodels.api as sm

from survey.design import Design
from survey.models import brand_split as bs
from survey.models._design import replicate_weights

B = 10_000
TRUE_OPT = 0.53
LIMIT_S = 5.0
MARGINS = {"budget_size": {"small": 0.5, "medium": 0.3, "large": 0.2}}


def _load() -> float:
    return os.getloadavg()[0]


def _mc_se(p: float, r: int) -> float:
    return float(np.sqrt(p * (1 - p) / r))


def timings(naive_subset: int = 200, edition: int = 2025) -> dict:
    """Seconds for 10,000 replicates on the wave's raked design, and the naive reference."""
    import survey
    from survey.weighting import standard_design

    design = standard_design(survey.load_wave(edition))
    load0 = _load()
    res = bs.fit(design, bootstrap=0)  # model matrices of the wave
    prep, X = res._prep, res._X
    n = prep.y.size
    scale = n / prep.w.sum()
    beta = res.coef["estimate"].to_numpy()
    k = X.shape[1]
    q = 2
    pen = np.r_[np.zeros(1 + q), np.full(k - 1 - q, 1e-3)]

    t0 = time.perf_counter()
    W = replicate_weights(design, B, np.random.default_rng(1))[:, prep.rows] * scale
    t1 = time.perf_counter()
    betas, conv = bs.fit_batch(X, prep.y, W, "binomial", beta0=beta, ridge=pen)
    t2 = time.perf_counter()
    full_t = time.perf_counter()
    full = bs.fit(design, bootstrap=B, seed=1)
    full_t = time.perf_counter() - full_t

    t3 = time.perf_counter()
    naive_opt = []
    for b in range(naive_subset):
        m = sm.GLM(prep.y, X, family=sm.families.Binomial(), var_weights=W[b]).fit()
        naive_opt.append(-m.params[1] / (2 * m.params[2]))
    t4 = time.perf_counter()
    batched_opt = -betas[:naive_subset, 1] / (2 * betas[:naive_subset, 2])
    agree = float(np.median(np.abs(np.array(naive_opt) - batched_opt)))
    naive = (t4 - t3) / naive_subset * B
    boot = t2 - t0
    out = {
        "edition": edition, "n": int(n), "parameters": int(k), "replicates": B,
        "design": repr(design),
        "replicate_weights_s": t1 - t0, "batched_newton_s": t2 - t1, "bootstrap_s": boot,
        "converged": float(conv.mean()),
        "fit_total_s": full_t, "fit_total_note": "fit(design, bootstrap=10000): sandwich, "
        "bootstrap, curve bands from 2000 replicates",
        "naive_subset": naive_subset, "naive_subset_s": t4 - t3, "naive_extrapolated_s": naive,
        "speedup_bootstrap_vs_naive": naive / boot,
        "median_abs_diff_optimum_naive_vs_batched": agree,
        "limit_s": LIMIT_S, "within_limit": full_t < LIMIT_S,
        "optimum": full.optimum, "ci_delta": list(full.ci_delta), "ci_boot": list(full.ci_boot),
        "load_avg_1min_before": load0, "load_avg_1min_after": _load(),
    }
    print(f"cores: {os.cpu_count()}, load {load0:.2f}; {edition} wave, n = {n}, k = {k}, B = {B}")
    print(f"  {out['design']}")
    print(f"  replicate weights (Rao-Wu, re-raked): {t1 - t0:6.2f} s")
    print(f"  batched Newton, {B} replicates:     {t2 - t1:6.2f} s (converged {conv.mean():.4f})")
    print(f"  bootstrap total:                      {boot:6.2f} s")
    print(f"  full brand_split.fit(design, bootstrap={B}): {full_t:.2f} s (limit {LIMIT_S:g} s)")
    print(f"  naive statsmodels loop: {naive_subset} fits in {t4 - t3:.2f} s -> {naive:.1f} s "
          f"for {B}; speed-up {naive / boot:.0f}x; optimum |diff| median {agree:.1e}")
    print(f"  optimum {full.optimum:.3f}, delta CI {full.ci_delta[0]:.3f}-{full.ci_delta[1]:.3f}, "
          f"bootstrap CI {full.ci_boot[0]:.3f}-{full.ci_boot[1]:.3f}; load after {_load():.2f}")
    return out


def _share(hits: list[bool]) -> dict:
    r = len(hits)
    p = float(np.mean(hits))
    return {"coverage": p, "mc_se": _mc_se(0.95, r), "reps": r}


def coverage(reps: int, boot: int = 1000, n: int = 228) -> dict:
    """Coverage of the nominal 95% intervals over ``reps`` simulated samples of size ``n``."""
    t0 = time.perf_counter()
    hits: dict[str, list[bool]] = {k: [] for k in (
        "raked_delta", "raked_boot", "raked_spline_boot", "fixed_delta", "fixed_boot",
        "raked_ordinal_delta", "raked_ordinal_boot")}
    widths: dict[str, list[float]] = {k: [] for k in hits}
    est = []
    for i in range(reps):
        df = bs.simulate(n, optimum=TRUE_OPT, curvature=20, concentration=3, seed=10_000 + i)
        raked = Design(df, weights="weight").rake(MARGINS)
        fits = {
            "raked": bs.fit(raked, bootstrap=boot, seed=i, curve_replicates=0),
            "fixed": bs.fit(df, bootstrap=boot, seed=i, curve_replicates=0),
        }
        spline = bs.fit(raked, model="spline", bootstrap=boot, seed=i, curve_replicates=0)
        odf = bs.simulate(n, optimum=TRUE_OPT, curvature=20, concentration=3, seed=30_000 + i,
                          ordinal_gap=1.5)
        ordinal = bs.fit(Design(odf, weights="weight").rake(MARGINS), outcome_model="ordinal",
                         bootstrap=boot, seed=i, curve_replicates=0)
        est.append(fits["raked"].optimum)
        for key, ci in (("raked_delta", fits["raked"].ci_delta),
                        ("raked_boot", fits["raked"].ci_boot),
                        ("raked_spline_boot", spline.ci_boot),
                        ("fixed_delta", fits["fixed"].ci_delta),
                        ("fixed_boot", fits["fixed"].ci_boot),
                        ("raked_ordinal_delta", ordinal.ci_delta),
                        ("raked_ordinal_boot", ordinal.ci_boot)):
            hits[key].append(bool(ci[0] <= TRUE_OPT <= ci[1]))
            widths[key].append(float(ci[1] - ci[0]))
    out = {k: {**_share(v), "median_width": float(np.nanmedian(widths[k]))}
           for k, v in hits.items()}
    out["optimum_mean"], out["optimum_sd"] = float(np.mean(est)), float(np.std(est))
    out["brand_split_s"] = time.perf_counter() - t0

    from survey.models.scenarios import ai_adoption as ai
    from survey.models.scenarios import media_mix as mm

    lv = ["increase", "flat", "decrease", "not_invest"]
    p = [0.55, 0.30, 0.10, 0.05]
    nb_d, nb_b, ai_d, ai_b = [], [], [], []
    for i in range(reps):
        rng = np.random.default_rng(20_000 + i)
        f = pl.DataFrame({
            "media_intent__mobile": pl.Series(rng.choice(lv, n, p=p)).cast(pl.Enum(lv)),
            "ai_marketing_now": pl.Series(np.where(rng.random(n) < 0.28, "yes", "no")),
            "future_plans__ai_marketing": rng.random(n) < 0.41,
            "budget_size": rng.choice(["small", "medium", "large"], n, p=[0.4, 0.35, 0.25]),
            "weight": rng.gamma(6, 1 / 6, n)})
        d = Design(f, weights="weight").rake(MARGINS)
        nb = mm.net_balance(d, bootstrap=boot, seed=i)
        t = nb.table.row(0, named=True)
        nb_d.append(t["ci_low"] <= p[0] - p[2] <= t["ci_high"])
        lo, hi = np.quantile(nb.draws[:, 0], [0.025, 0.975])
        nb_b.append(lo <= p[0] - p[2] <= hi)
        inp = ai.inputs_from_frame(d, draws=boot, seed=i)
        ai_d.append(abs(inp.now - 0.28) <= 1.959964 * inp.se[0])
        lo, hi = np.quantile(inp.now_draws, [0.025, 0.975])
        ai_b.append(lo <= 0.28 <= hi)
    out["net_balance_design"], out["net_balance_boot"] = _share(nb_d), _share(nb_b)
    out["ai_now_design"], out["ai_now_boot"] = _share(ai_d), _share(ai_b)
    out["total_s"] = time.perf_counter() - t0
    out["settings"] = {"reps": reps, "bootstrap": boot, "n": n, "true_optimum": TRUE_OPT,
                       "margins": MARGINS}
    print(f"\ncoverage of nominal 95% intervals, {reps} simulations of n = {n}, {boot} bootstrap "
          f"replicates each ({out['total_s']:.0f} s; MC SE {_mc_se(0.95, reps):.3f}):")
    print(f"  optimum estimate (raked): mean {out['optimum_mean']:.3f}, SD {out['optimum_sd']:.3f}")
    for k in [*hits, "net_balance_design", "net_balance_boot", "ai_now_design", "ai_now_boot"]:
        w = out[k].get("median_width")
        print(f"  {k:18s} {out[k]['coverage']:.3f}" + (f"  median width {w:.3f}" if w else ""))
    return out


def ordinal_by_n(reps: int = 400, sizes: tuple[int, ...] = (228, 1000)) -> dict:
    """Delta-method coverage of the ordinal optimum as n grows (the sandwich's small-n bias)."""
    out = {}
    for n in sizes:
        est, se, hit = [], [], []
        for i in range(reps):
            df = bs.simulate(n, optimum=TRUE_OPT, curvature=20, concentration=3,
                             seed=30_000 + i, ordinal_gap=1.5)
            r = bs.fit(Design(df, weights="weight").rake(MARGINS), outcome_model="ordinal",
                       bootstrap=0)
            est.append(r.optimum)
            se.append(r.se_delta)
            hit.append(bool(r.ci_delta[0] <= TRUE_OPT <= r.ci_delta[1]))
        out[str(n)] = {**_share(hit), "sd_estimate": float(np.std(est)),
                       "mean_se_delta": float(np.nanmean(se)), "mean_estimate": float(np.mean(est))}
        print(f"  ordinal delta, n = {n}: coverage {out[str(n)]['coverage']:.3f}, SD of the "
              f"estimate {out[str(n)]['sd_estimate']:.4f} vs mean SE {out[str(n)]['mean_se_delta']:.4f}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--reps", type=int, default=300, help="simulations for the coverage study")
    ap.add_argument("--no-coverage", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    a = ap.parse_args()
    result = {"timing": timings()}
    if not a.no_coverage:
        result["coverage"] = coverage(a.reps)
        result["coverage"]["ordinal_delta_by_n"] = ordinal_by_n()
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                         "numpy": np.__version__, "load_avg_1min_end": _load()}
    if a.out is not None:
        a.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {a.out}")


if __name__ == "__main__":
    main()
