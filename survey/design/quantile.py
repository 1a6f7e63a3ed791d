"""Quantiles with design-based intervals, as R's ``svyquantile`` (survey >= 4.0).

The estimate is R's quantile rule ``qrule`` on the weights: ``"math"`` (default: the smallest
``x`` whose weighted cumulative share reaches ``p``), ``"school"`` (midpoint at exact ties),
``"hf1"``-``"hf9"`` (Hyndman-Fan types on the weighted distribution) and ``"shahvaish"``.

Intervals (``interval``):

* ``"mean"`` (default) and ``"beta"``, ``"xlogit"``, ``"asin"``: Woodruff's method. The
  share ``m`` of respondents at or below the estimate gets a design-based interval (Wald,
  Korn-Graubard, logit or arcsine, Student t with the design's ``degf``), whose limits are
  turned back into quantiles with the same rule;
* ``"score"`` (linearization designs): R's ``interval.type = "score"``, the inversion of the
  design-based score test of ``1(x > theta) - (1 - p)`` (``_quantile_score.py``);
* ``"quantile"`` (replicate designs): the quantile recomputed with every replicate's weights,
  ``estimate +- t sqrt(svrVar)``.

``se`` is R's: the interval width over ``2 t``. Missing values are left out (``na.rm``).

Example:
    >>> import polars as pl
    >>> from survey.design import Design
    >>> d = Design(pl.DataFrame({"y": [float(v) for v in range(1, 101)]}))
    >>> d.quantile("y", [0.5]).select("estimate", "ci_low", "ci_high").row(0)
    (50.0, 41.0, 60.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from survey.design._columns import _numeric
from survey.design._quantile_score import score_limits, score_ztest
from survey.design.ci import proportion_ci
from survey.design.estimators import domain_ratios, resolve
from survey.errors import EstimationError

RULES = ("math", "school", "shahvaish", *(f"hf{k}" for k in range(1, 10)))
INTERVALS = ("mean", "beta", "xlogit", "asin", "score", "quantile")


def qrule(x: np.ndarray, w: np.ndarray, p: float, rule: str = "math") -> float:
    """R's ``qrule_<rule>(x, w, p)``: the weighted ``p``-quantile of ``x``.

    Example:
        >>> import numpy as np
        >>> qrule(np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4), 0.5, "school")
        2.5
    """
    keep = w != 0
    x, w = np.asarray(x, float)[keep], np.asarray(w, float)[keep]
    if x.size == 0:  # no weight (a replicate without the domain): no value, as R's NA
        return float("nan")
    if rule in ("math", "hf1", "school", "hf2", "hf3", "hf4"):
        if rule == "hf3":
            ux, inv = np.unique(x, return_inverse=True)
            x, w = ux, np.bincount(inv.ravel(), weights=w)
        q = _qs(x, w, p)
        if rule in ("math", "hf1"):
            return q[1] if q[4] == 0 else q[2]
        if rule in ("school", "hf2"):
            return (q[1] + q[2]) / 2 if q[4] == 0 else q[2]
        if rule == "hf3":
            return q[1] if q[4] == 0 and q[3] % 2 == 0 else q[2]
        gamma = q[4] / (q[5] + q[4])
        return q[1] * (1 - gamma) + q[2] * gamma
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    n = len(x)
    cumw = np.cumsum(w.astype(np.longdouble)).astype(float)
    if rule == "shahvaish":
        s = np.cumsum((w / w.mean()).astype(np.longdouble)).astype(float)
        pk = (s + 0.5 - w / 2) / (n + 1)
        return _approx(pk, x, p, constant=True)
    prev = np.concatenate([[0.0], cumw[:-1]])
    pk = {"hf5": lambda: (cumw - w / 2) / cumw[-1],
          "hf6": lambda: cumw / (cumw[-1] + w[-1]),
          "hf7": lambda: prev / cumw[-2],
          "hf8": lambda: (prev / 3 + cumw * 2 / 3) / (cumw[-1] + w[-1] / 3),
          "hf9": lambda: (prev * 3 / 8 + cumw * 5 / 8) / (cumw[-1] + w[-1] / 4)}
    if rule not in pk:
        raise EstimationError(f"qrule={rule!r}; expected one of {RULES}")
    return _approx(pk[rule](), x, p)


def _qs(x: np.ndarray, w: np.ndarray, p: float) -> tuple[float, float, float, int, float, float]:
    """R's ``qs``: (unused, qlow, qup, ilow (1-based), wlow, wup)."""
    order = np.argsort(x, kind="stable")
    x = x[order]
    cumw = np.cumsum(w[order].astype(np.longdouble)).astype(float)
    total = float(np.sum(w.astype(np.longdouble)))
    below = np.flatnonzero(cumw <= p * total)
    pos = int(below[-1]) if below.size else 0
    nxt = pos if pos == len(x) - 1 else pos + 1
    return (0.0, float(x[pos]), float(x[nxt]), pos + 1, p - cumw[pos] / total,
            cumw[nxt] / total - p)


def _approx(xp: np.ndarray, yp: np.ndarray, v: float, constant: bool = False) -> float:
    """R's ``approx(xp, yp, v, rule = 2)`` (ties averaged; ``constant``: ``f = 0``)."""
    ux, inv = np.unique(xp, return_inverse=True)
    uy = np.bincount(inv.ravel(), weights=yp) / np.bincount(inv.ravel())
    if constant:
        i = int(np.searchsorted(ux, v, side="right")) - 1
        return float(uy[min(max(i, 0), len(uy) - 1)])
    return float(np.interp(v, ux, uy))


def quantile(obj: Any, variables: str | Sequence[str],
             probs: float | Sequence[float] = (0.5,), *, interval: str = "mean",
             rule: str = "math", level: float = 0.95, df: float | None = None) -> pl.DataFrame:
    """Quantiles of numeric columns with intervals (R's ``svyquantile``), by domain for
    ``d.by(g).quantile(...)``: columns ``variable, quantile, estimate, se, ci_low, ci_high,
    n``. ``df``: degrees of freedom of the interval (default the domain's ``degf``, as R).

    Example:
        >>> import polars as pl
        >>> from survey.design import Design
        >>> f = pl.DataFrame({"g": ["a"] * 5 + ["b"] * 5, "y": [1.0, 2, 3, 4, 5, 2, 4, 6, 8, 10]})
        >>> Design(f).by("g").quantile("y", [0.5], rule="school")["estimate"].to_list()
        [3.0, 6.0]
    """
    if interval not in INTERVALS:
        raise EstimationError(f"interval={interval!r}; expected one of {INTERVALS}")
    if rule not in RULES:
        raise EstimationError(f"rule={rule!r}; expected one of {RULES}")
    design, dom, rep = resolve(obj)
    if interval == "quantile" and not rep:
        raise EstimationError("interval='quantile' needs replicate weights; expected a "
                              "replicate design (Design.replicates()) or interval='mean'")
    if interval == "score" and rep:
        raise EstimationError("interval='score' is not available for replicate designs (nor "
                              "in R's svyquantile.svyrep.design); expected 'mean', 'beta', "
                              "'xlogit', 'asin' or 'quantile'", value=interval)
    probs = [float(probs)] if np.isscalar(probs) else [float(p) for p in probs]
    if not probs or any(not 0 <= p <= 1 for p in probs):
        raise EstimationError(f"probs={probs}; expected probabilities in [0, 1]")
    names = [variables] if isinstance(variables, str) else list(variables)
    w = np.asarray(design.weights, float)
    alpha = 1 - level
    rows = []
    for v in names:
        y, a, _ = _numeric(design.frame, v)
        y = np.asarray(y, float)
        qhat = np.empty((dom.n_dom, len(probs)))
        for k in range(dom.n_dom):
            m = (dom.code == k) & a & (w != 0)
            if not m.any():
                raise EstimationError(f"variable '{v}' has no answers in domain {dom.name(k)}",
                                      column=v, value=dom.name(k))
            qhat[k] = [qrule(y[m], w[m], p, rule) for p in probs]
        dfs = np.array([_degf(design, rep, (dom.code == k) & a) for k in range(dom.n_dom)]) \
            if df is None else np.full(dom.n_dom, float(df))
        nobs = np.array([((dom.code == k) & a).sum() for k in range(dom.n_dom)], float)
        t = np.where(np.isinf(dfs), stats.norm.ppf(1 - alpha / 2),
                     stats.t.ppf(1 - alpha / 2, np.where(np.isinf(dfs), 1, dfs)))
        if interval == "quantile":
            lo, hi = _replicate_limits(design, dom, y, a, qhat, probs, rule, t)
        elif interval == "score":
            lo, hi = _score(obj, design, dom, y, a, probs, rule, dfs, alpha)
        else:
            ys = [(((y <= qhat[np.where(dom.code >= 0, dom.code, 0), j]) & a).astype(float), a)
                  for j in range(len(probs))]
            _, _, m, cov, _, _ = domain_ratios(obj, ys, None)
            se_m = np.sqrt(np.maximum(np.diag(cov), 0.0)).reshape(m.shape)
            nrow = _nrow(design, dom, a, rep)
            plo, phi = proportion_ci(m, se_m, np.broadcast_to(dfs[:, None], m.shape),
                                     "wald" if interval == "mean" else interval, level,
                                     np.broadcast_to(nrow[:, None], m.shape))
            lo, hi = np.full(m.shape, np.nan), np.full(m.shape, np.nan)
            for k in range(dom.n_dom):
                sel = (dom.code == k) & a & (w != 0)
                for j in range(len(probs)):
                    if np.isfinite(plo[k, j]) and plo[k, j] >= 0:
                        lo[k, j] = qrule(y[sel], w[sel], float(plo[k, j]), rule)
                    if np.isfinite(phi[k, j]) and phi[k, j] <= 1:
                        hi[k, j] = qrule(y[sel], w[sel], float(phi[k, j]), rule)
        se = (hi - lo) / (2 * t[:, None])
        for k in range(dom.n_dom):
            for j, p in enumerate(probs):
                rows.append((k, v, p, qhat[k, j], se[k, j], lo[k, j], hi[k, j], nobs[k]))
    rows.sort(key=lambda r: r[0])
    out = pl.DataFrame({"variable": [r[1] for r in rows], "quantile": [r[2] for r in rows],
                        **{c: [float(r[i]) for r in rows] for i, c in
                           enumerate(("estimate", "se", "ci_low", "ci_high"), start=3)},
                        "n": [int(r[7]) for r in rows]})
    if not dom.groups:
        return out
    keys = dom.keys.select(pl.all().gather([r[0] for r in rows]))
    return pl.concat([keys, out], how="horizontal")


def _degf(design: Any, rep: bool, rows: np.ndarray) -> float:
    """R's ``degf`` of the design restricted to ``rows`` (a subset design)."""
    if rep:
        from survey.design.replicate import rank_degf

        return float(rank_degf(design.repweights[rows]))
    st = design._st
    rows = rows & (np.asarray(design.weights) != 0)
    psus = int(rows.sum()) if st.psu is None else len(np.unique(st.psu[rows]))
    return float(psus - len(np.unique(st.stratum[rows])))


def _nrow(design: Any, dom: Any, a: np.ndarray, rep: bool) -> np.ndarray:
    """R's ``nrow(design)`` of each domain's subset design (``beta`` intervals): a subset of
    a calibrated linearization design keeps all rows."""
    full = not rep and getattr(design, "_cal_active", None) is not None
    return np.array([float(design.n) if full else float(((dom.code == k) & a).sum())
                     for k in range(dom.n_dom)])


def _score(obj, design, dom, y, a, probs, rule, dfs, alpha):
    """Score limits (D, P) per domain: R's ``ffullerCI`` on the domain's subset design."""
    lo, hi = np.empty((dom.n_dom, len(probs))), np.empty((dom.n_dom, len(probs)))
    w = np.asarray(design.weights, float)
    full = getattr(design, "_cal_active", None) is not None  # subsets keep all rows
    for k in range(dom.n_dom):
        inside = (dom.code == k) & a
        rows = np.ones(design.n, bool) if full else inside
        xs = np.where(a, y, 0.0)[rows]
        ws = np.where(inside, w, 0.0)[rows]
        for j, p in enumerate(probs):
            lo[k, j], hi[k, j] = score_limits(xs, ws, p, score_ztest(obj, y, a, p, k),
                                              float(dfs[k]), alpha, rule, int(rows.sum()))
    return lo, hi


def _replicate_limits(design, dom, y, a, qhat, probs, rule, t):
    lo, hi = np.empty(qhat.shape), np.empty(qhat.shape)
    reps = design.repweights
    for k in range(dom.n_dom):
        sel = (dom.code == k) & a
        for j, p in enumerate(probs):
            th = np.array([qrule(y[sel], reps[sel, r], p, rule) for r in range(reps.shape[1])])
            s = np.sqrt(design.svrvar(th, qhat[k, j])[0, 0])
            lo[k, j], hi[k, j] = qhat[k, j] - t[k] * s, qhat[k, j] + t[k] * s
    return lo, hi
