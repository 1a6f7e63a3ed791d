"""Replicate-weight multipliers from a design's strata and PSUs, as R's ``as.svrepdesign``.

Each function returns ``(multipliers (n, R), scale, rscales)``: replicate ``r``'s analysis
weights are ``w * multipliers[:, r]`` and the variance is
``scale * sum_r rscales_r (theta_r - centre)^2`` (R's ``svrVar``).

* :func:`jk1`: delete-one-PSU jackknife, unstratified (R's ``jk1weights``);
* :func:`jkn`: stratified jackknife (``jknweights``; strata sampled completely give none);
* :func:`bootstrap`: Rao-Wu resampling of ``n_h`` PSUs per stratum (``bootweights``; with an
  fpc, without replacement from the population copies of the sample), seeded generator;
* :func:`brr`: balanced half-samples of PSU pairs from a Hadamard matrix (``brrweights``,
  strata of more than two PSUs split into pairs), Fay's method with ``rho > 0``.

Example:
    >>> import numpy as np
    >>> m, scale, rscales = jk1(np.array([0, 0, 1, 2]), 1.0)
    >>> m[:, 0].tolist(), round(scale, 4)
    ([0.0, 0.0, 1.5, 1.5], 0.6667)
"""

from __future__ import annotations

import numpy as np

from survey.errors import EstimationError


def _first_order(codes: np.ndarray) -> np.ndarray:
    """Unique codes in order of first appearance."""
    _, first = np.unique(codes, return_index=True)
    return codes[np.sort(first)]


def jk1(psu: np.ndarray, f: float) -> tuple[np.ndarray, float, np.ndarray]:
    """JK1: one replicate per PSU (order of appearance); ``f = 1 - n/N`` (1 without fpc)."""
    units = _first_order(psu)
    p = len(units)
    if p < 2:
        raise EstimationError("JK1 replicates need at least 2 PSUs")
    order = np.argsort(units)  # sorted position -> column (appearance order)
    col = order[np.searchsorted(units[order], psu)]
    m = np.full((len(psu), p), p / (p - 1.0))
    m[np.arange(len(psu)), col] = 0.0
    return m, f * (p - 1) / p, np.ones(p)


def jkn(stratum: np.ndarray, psu: np.ndarray, f_h: np.ndarray, lonely: str = "fail"
        ) -> tuple[np.ndarray, float, np.ndarray]:
    """JKn: per stratum (appearance order), one replicate per PSU; ``rscales = f (n_h-1)/n_h``.

    A stratum with one PSU follows ``lonely`` as R's ``jknweights``: ``"fail"`` raises,
    ``"remove"``/``"certainty"``/``"average"`` give it no replicate (``"average"`` scales the
    variance by PSUs / replicates), ``"adjust"`` gives one replicate that drops it and
    reweights the other strata by ``H / (H - 1)``.
    """
    order = _first_order(stratum)
    n_strata = len(order)
    cols, rscales = [], []  # (rows, value inside the stratum, deleted rows) per replicate
    for h in order:
        if f_h[h] == 0:  # stratum sampled completely: no replicates (R's drop.replicates)
            continue
        rows = stratum == h
        units = _first_order(psu[rows])
        nh = len(units)
        idx = np.flatnonzero(rows)
        if nh < 2:
            if lonely == "fail":
                raise EstimationError(f"stratum {h + 1} has one PSU; expected at least 2 for "
                                      "JKn replicates (or lonely_psu= 'remove', 'adjust', "
                                      "'average', 'certainty')")
            if lonely == "adjust":
                cols.append((np.flatnonzero(~rows), n_strata / (n_strata - 1.0), idx))
                rscales.append((n_strata - 1.0) / n_strata)
            continue
        for u in units:
            cols.append((idx, nh / (nh - 1.0), idx[psu[idx] == u]))
            rscales.append(f_h[h] * (nh - 1) / nh)
    if not cols:
        raise EstimationError("all strata were sampled completely: no variance to replicate")
    m = np.ones((len(psu), len(cols)), order="F")
    for r, (idx, val, dropped) in enumerate(cols):
        m[idx, r] = val
        m[dropped, r] = 0.0
    n_units = len(np.unique(psu))
    scale = n_units / len(cols) if lonely == "average" and len(cols) < n_units else 1.0
    return m, scale, np.asarray(rscales)


def bootstrap(stratum: np.ndarray, psu: np.ndarray, f_h: np.ndarray, replicates: int,
              rng: np.random.Generator) -> tuple[np.ndarray, float, np.ndarray]:
    """Rao-Wu bootstrap: each replicate draws ``n_h`` PSUs per stratum (counts = multipliers)."""
    if replicates < 2:
        raise EstimationError(f"replicates={replicates}; expected at least 2")
    n_units = int(psu.max()) + 1
    counts = np.zeros((n_units, replicates))
    n_h = []
    for h in _first_order(stratum):
        units = _first_order(psu[stratum == h])
        nh = len(units)
        n_h.append(nh)
        if f_h[h] < 1:  # without replacement from round(N_h) copies of the sample
            pop = round(float(nh / (1 - f_h[h])))
            copies = np.resize(units, pop)
            for r in range(replicates):
                draw = rng.choice(copies, size=nh, replace=False)
                counts[:, r] += np.bincount(draw, minlength=n_units)
        else:
            draw = rng.integers(0, nh, size=(replicates, nh))
            for r in range(replicates):
                counts[:, r] += np.bincount(units[draw[r]], minlength=n_units)
    ppsu = 1.0 / np.mean(1.0 / np.asarray(n_h, float))
    if ppsu <= 1:
        raise EstimationError("bootstrap replicates need at least 2 PSUs per stratum")
    return counts[psu], ppsu / ((ppsu - 1) * (replicates - 1)), np.ones(replicates)


def brr(stratum: np.ndarray, psu: np.ndarray, rho: float = 0.0) -> tuple[np.ndarray, float,
                                                                        np.ndarray]:
    """BRR (``rho = 0``) or Fay (``0 < rho < 1``) half-samples over pairs of PSUs."""
    if not 0 <= rho < 1:
        raise EstimationError(f"rho={rho:g}; expected 0 <= rho < 1")
    pair_of, side = {}, {}
    k = 0
    for h in _first_order(stratum):
        units = _first_order(psu[stratum == h])
        if len(units) < 2 or len(units) % 2:
            raise EstimationError(f"stratum {h + 1} has {len(units)} PSUs; expected an even "
                                  "number (pairs of PSUs) for BRR/Fay replicates")
        for i, u in enumerate(units):
            pair_of[int(u)], side[int(u)] = k + i // 2, i % 2
        k += len(units) // 2
    had = hadamard(k + 1)
    signs = had[1:k + 1]  # (pairs, R): +1 -> first PSU of the pair is in the half-sample
    unit = np.array(sorted(pair_of))
    in_half = np.zeros((int(psu.max()) + 1, had.shape[1]), bool)
    for u in unit:
        first = signs[pair_of[u]] > 0
        in_half[u] = first if side[u] == 0 else ~first
    m = np.where(in_half, 2.0 - rho, rho)[psu]
    return m, 1.0 / (had.shape[1] * (1 - rho) ** 2), np.ones(had.shape[1])


def hadamard(n: int) -> np.ndarray:
    """A +-1 Hadamard matrix of the smallest order >= n (Sylvester, Paley I and doubling)."""
    m = max(4, n + (-n) % 4)
    while _construct(m) is None:
        m += 4
    return _construct(m)


def _construct(m: int) -> np.ndarray | None:
    if m == 1:
        return np.ones((1, 1))
    if m == 2:
        return np.array([[1.0, 1.0], [1.0, -1.0]])
    q = m - 1
    if q % 4 == 3 and all(q % d for d in range(2, int(q**0.5) + 1)):  # Paley I
        residues = {(i * i) % q for i in range(1, q)}
        chi = np.array([0.0] + [1.0 if i in residues else -1.0 for i in range(1, q)])
        jac = chi[(np.arange(q)[None, :] - np.arange(q)[:, None]) % q]
        s = np.zeros((m, m))
        s[0, 1:] = 1.0
        s[1:, 0] = -1.0
        s[1:, 1:] = jac
        return s + np.eye(m)
    if m % 2 == 0:
        half = _construct(m // 2)
        if half is not None:
            return np.block([[half, half], [half, -half]])
    return None
