"""Ratios (R's ``svyratio``) and population variances (``svyvar``), for linearization and
replicate-weight designs, overall or by domain.

Both reduce to domain statistics with their full covariance (used by ``contrast.py``):

* linearization (:class:`~survey.design.Design`): the influence values of every (domain, item)
  are stacked and passed to the design's variance (strata, PSUs, fpc, calibration), so
  domains are correlated as in R's ``svyby(..., covmat = TRUE)``;
* replicates (:class:`~survey.design.replicate.ReplicateDesign`): the statistic is recomputed
  with every replicate's weights, covariance ``svrVar``.

``ratio(num, den)``: ``sum w y / sum w x`` over the rows where both are present (R's
``na.rm = TRUE``), influence ``w (y - R x) / X``. ``var(y)``: ``n/(n-1) sum w (y - ybar)^2 /
sum w`` over the rows with a value, its SE R's (the mean of the squared deviations), with
``n`` as R's ``svyvar(..., na.rm = TRUE)``: on a linearization design the respondents of the
domain with a nonzero weight *before* the missing rows are left out (``svyvar.survey.design``
counts ``n`` first), on a replicate design the rows with a value (``svyvar.svyrep.design``
drops them first).
Intervals are normal (R's ``confint``).

Example:
    >>> import polars as pl
    >>> from survey.design import Design
    >>> f = pl.DataFrame({"y": [1.0, 2.0, 3.0, 6.0], "x": [1.0, 1.0, 2.0, 2.0]})
    >>> Design(f).ratio("y", "x")["estimate"][0]
    2.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from survey.design._columns import _numeric
from survey.design._groups import Groups, frame_of
from survey.errors import EmptySegmentError, EstimationError


def resolve(obj: Any) -> tuple[Any, Groups, bool]:
    """(design, domains, is_replicate) of a design, a replicate design or their ``by()``."""
    if hasattr(obj, "dom"):  # ReplicateBy
        return obj.design, obj.dom, True
    if hasattr(obj, "repweights"):  # ReplicateDesign
        return obj, Groups.of(obj.frame, ()), True
    by = obj if hasattr(obj, "groups") and hasattr(obj, "design") else obj.by()
    return by.design, Groups(tuple(by.groups), by.g, by.keys, by.n_dom), False


def domain_ratios(obj: Any, ys: list[tuple[np.ndarray, np.ndarray]],
                  xs: list[np.ndarray] | None, total: bool = False,
                  labels: Sequence[str] | None = None):
    """Ratios (or means with ``xs=None``, totals with ``total=True``) of items by domain.

    ``ys``: (values, validity) per item. Returns the design, domains, estimates (D, J), their
    covariance (D*J, D*J) in domain-major order, counts (D, J) and replicates (R, D*J) or None.
    """
    design, dom, rep = resolve(obj)
    n, nd, nj = design.n, dom.n_dom, len(ys)
    wall = design.all_weights() if rep else np.asarray(design.weights, float)[:, None]
    w = wall[:, 0]
    code = np.where(dom.code >= 0, dom.code, 0)
    est = np.empty((nd, nj))
    nobs = np.empty((nd, nj))
    thetas = np.empty((wall.shape[1], nd, nj))
    z = None if rep else np.zeros((n, nd * nj))
    for j, (y, a) in enumerate(ys):
        what = f"'{labels[j]}'" if labels is not None else f"item {j + 1}"
        x = np.ones(n) if xs is None else xs[j]
        ok = a & np.isfinite(x)
        nobs[:, j] = dom.counts(ok)
        if np.any(nobs[:, j] == 0):
            k = int(np.flatnonzero(nobs[:, j] == 0)[0])
            raise EmptySegmentError(f"{what} has no answers in domain {dom.name(k)}; "
                                    "expected at least one respondent", value=dom.name(k))
        yy, xx = np.where(ok, y, 0.0), np.where(ok, x, 0.0)
        den = dom.sums(xx, ok, wall)  # (D, K)
        if np.any(den[:, 0] == 0):
            k = int(np.flatnonzero(den[:, 0] == 0)[0])
            raise EstimationError(f"{what}: the denominator's weighted total is 0 in "
                                  f"domain {dom.name(k)}; expected a nonzero total")
        r0 = dom.sums(yy, ok, w) / den[:, 0]
        r0 = r0 + dom.sums(yy - r0[code] * xx, ok, w) / den[:, 0]  # second pass
        resid = np.where(ok & (dom.code >= 0), yy - r0[code] * xx, 0.0)  # centred (stable)
        with np.errstate(divide="ignore", invalid="ignore"):  # replicates without the domain
            vals = dom.sums(yy, ok, wall) if total else \
                r0[:, None] + dom.sums(resid, ok, wall) / den
        thetas[:, :, j] = vals.T
        est[:, j] = vals[:, 0]
        if z is not None:
            infl = w * (yy if total else resid / den[code, 0])
            z[np.arange(n), code * nj + j] = np.where(ok & (dom.code >= 0), infl, 0.0)
    flat = est.reshape(-1)
    if rep:
        reps = thetas[1:].reshape(thetas.shape[0] - 1, -1)
        return design, dom, est, design.svrvar(reps, flat), nobs, reps
    return design, dom, est, design._vcov_totals(z), nobs, None


def ratio(obj: Any, numerator: str | Sequence[str], denominator: str | Sequence[str],
          level: float = 0.95) -> pl.DataFrame:
    """Ratios of weighted totals ``numerator / denominator`` (R's ``svyratio``), each
    numerator over each denominator, by the design's domains (``d.by(g).ratio(...)``).

    Example:
        >>> import polars as pl
        >>> from survey.design import Design
        >>> f = pl.DataFrame({"g": ["a", "a", "b", "b"], "y": [1.0, 2.0, 3.0, 6.0],
        ...                   "x": [1.0, 1.0, 2.0, 2.0]})
        >>> Design(f).by("g").ratio("y", "x")["estimate"].to_list()
        [1.5, 2.25]
    """
    design, _, _ = resolve(obj)
    nums = [numerator] if isinstance(numerator, str) else list(numerator)
    dens = [denominator] if isinstance(denominator, str) else list(denominator)
    ys, xs, labels = [], [], []
    for v in nums:
        y, a, _ = _numeric(design.frame, v)
        for u in dens:
            x, b, _ = _numeric(design.frame, u)
            ys.append((np.asarray(y, float), a & b))
            xs.append(np.asarray(x, float))
            labels.append((v, u))
    _, dom, est, cov, nobs, _ = domain_ratios(obj, ys, xs,
                                              labels=[f"{a}/{b}" for a, b in labels])
    se = np.sqrt(np.maximum(np.diag(cov), 0.0)).reshape(est.shape)
    q = stats.norm.ppf(0.5 + level / 2)
    out = frame_of(dom, [a for a, _ in labels], [None] * len(labels), {
        "estimate": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se,
        "n": nobs})
    den = pl.Series("denominator", [b for _, b in labels] * dom.n_dom)
    pos = out.columns.index("variable")
    return out.rename({"variable": "numerator"}).insert_column(pos + 1, den)


def var(obj: Any, variables: str | Sequence[str], covariance: bool = False,
        level: float = 0.95) -> pl.DataFrame:
    """Population variances (R's ``svyvar``); ``covariance=True``: every pair of
    ``variables`` (rows missing any of them left out, as R), columns ``variable``,
    ``variable2``.

    Example:
        >>> import polars as pl
        >>> from survey.design import Design
        >>> f = pl.DataFrame({"y": [1.0, 2.0, 3.0, 6.0]})
        >>> round(float(Design(f).var("y")["estimate"][0]), 4)
        4.6667
    """
    design, dom, rep = resolve(obj)
    names = [variables] if isinstance(variables, str) else list(variables)
    cols = [_numeric(design.frame, v)[:2] for v in names]
    pairs = [(j, k) for j in range(len(names)) for k in range(len(names))] if covariance \
        else [(j, j) for j in range(len(names))]
    common = np.logical_and.reduce([a for _, a in cols]) if covariance else None
    code = np.where(dom.code >= 0, dom.code, 0)
    ys, thetas_rep = [], []
    wall = design.all_weights() if rep else np.asarray(design.weights, float)[:, None]
    w = wall[:, 0]
    n_all = dom.counts(w != 0)  # R's n: the respondents of the domain, before na.rm
    for j, k in pairs:
        ok = (cols[j][1] & cols[k][1]) if common is None else common
        nd_ = dom.counts(ok)
        if np.any(nd_ < 2):
            raise EstimationError(f"variance of '{names[j]}' needs at least 2 respondents in "
                                  f"domain {dom.name(int(np.argmin(nd_)))}")
        yj, yk = (np.where(ok, np.asarray(cols[i][0], float), 0.0) for i in (j, k))
        wsum = dom.sums(None, ok, w)
        mj, mk = (dom.sums(y, ok, w) / wsum for y in (yj, yk))
        mj, mk = (m + dom.sums(np.where(ok, y - m[code], 0.0), ok, w) / wsum
                  for m, y in ((mj, yj), (mk, yk)))  # second pass: exact for constants
        c = nd_ / (nd_ - 1) if rep else n_all / (n_all - 1)
        dj, dk = np.where(ok, yj - mj[code], 0.0), np.where(ok, yk - mk[code], 0.0)
        ys.append((dj * dk * c[code], ok))
        if rep:  # recompute the means with every replicate's weights
            ws = dom.sums(None, ok, wall)
            aj, ak = dom.sums(dj, ok, wall) / ws, dom.sums(dk, ok, wall) / ws
            thetas_rep.append(c[:, None] * (dom.sums(dj * dk, ok, wall) / ws - aj * ak))
    if rep:
        th = np.stack(thetas_rep, axis=2)  # (D, K, J)
        est = th[:, 0, :]
        reps = th[:, 1:, :].transpose(1, 0, 2).reshape(th.shape[1] - 1, -1)
        cov = design.svrvar(reps, est.reshape(-1))
        nobs = np.stack([dom.counts(y[1]) for y in ys], 1)
    else:
        _, _, est, cov, nobs, _ = domain_ratios(obj, ys, None)
    se = np.sqrt(np.maximum(np.diag(cov), 0.0)).reshape(est.shape)
    q = stats.norm.ppf(0.5 + level / 2)
    out = frame_of(dom, [names[j] for j, _ in pairs], [None] * len(pairs), {
        "estimate": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se,
        "n": nobs})
    if covariance:
        pos = out.columns.index("variable")
        out = out.insert_column(pos + 1, pl.Series("variable2", [names[k] for _, k in pairs]
                                                   * dom.n_dom))
    return out
