"""Linear and nonlinear contrasts of estimates, as R's ``svycontrast``.

:func:`estimates` collects named estimates with their full design covariance (means, totals,
proportions or ratios, by domain: ``svyby(..., covmat = TRUE)``); for a replicate
design it also keeps the replicates. :func:`contrast` then gives ``L theta`` with covariance
``L V L'`` (weights as a dict ``{name: coefficient}``, a list, or ``{label: weights}`` for
several), or a nonlinear function of the estimates (a callable of the ``{name: value}``
dict) by the delta method (numerical gradient; replicate designs: the function of each
replicate, as R). Estimates of independent samples (two editions of the survey) are joined
with :meth:`Estimates.join` (block-diagonal covariance).

Names: ``variable`` (``variable=level`` for proportions), prefixed by the domain
``g1=v1,g2=v2:`` when estimated by domain.

Example:
    >>> import polars as pl
    >>> from survey.design import Design
    >>> d = Design(pl.DataFrame({"g": ["a", "a", "b", "b"], "y": [1.0, 3.0, 4.0, 8.0]}))
    >>> e = d.by("g").estimates("mean", "y")
    >>> e.names
    ('g=a:y', 'g=b:y')
    >>> contrast(e, {"g=b:y": 1, "g=a:y": -1})["estimate"][0]
    4.0
    >>> e.contrast({"avg": [0.5, 0.5]})["estimate"][0]
    4.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from survey.design._columns import _numeric
from survey.design.estimators import domain_ratios, resolve
from survey.errors import EstimationError

STATS = ("mean", "total", "proportion", "ratio")


@dataclass(frozen=True, eq=False)
class Estimates:
    """Named estimates, their covariance and (replicate designs) the replicates."""

    names: tuple[str, ...]
    coef: np.ndarray
    vcov: np.ndarray
    replicates: np.ndarray | None = None  # (R, k)
    design: Any = None  # the replicate design (for svrVar) when replicates are kept

    @classmethod
    def of(cls, fit: Any) -> Estimates:
        """The coefficients of a ``glm()`` fit with their design covariance (R's
        ``svycontrast`` of a ``svyglm``).

        Example:
            >>> import polars as pl
            >>> from survey.design import Design
            >>> f = pl.DataFrame({"y": [1.0, 2.0, 2.5, 4.0, 5.5], "x": [0.0, 1, 2, 3, 4]})
            >>> e = Estimates.of(Design(f).glm("y ~ x"))
            >>> e.names, round(float(e.contrast({"Intercept": 1, "x": 2})["estimate"][0]), 2)
            (('Intercept', 'x'), 3.0)
        """
        names = tuple(str(n) for n in fit.params.index)
        return cls(names, fit.params.to_numpy(float), fit.vcov.to_numpy(float))

    def to_polars(self, level: float = 0.95) -> pl.DataFrame:
        se = np.sqrt(np.maximum(np.diag(self.vcov), 0.0))
        q = stats.norm.ppf(0.5 + level / 2)
        return pl.DataFrame({"name": list(self.names), "estimate": self.coef, "se": se,
                             "ci_low": self.coef - q * se, "ci_high": self.coef + q * se})

    def contrast(self, weights: Any, **kw: Any) -> pl.DataFrame:
        """:func:`contrast` of these estimates (``e.contrast({"b": 1, "a": -1})``)."""
        return contrast(self, weights, **kw)

    def join(self, other: Estimates, prefixes: tuple[str, str] = ("", "")) -> Estimates:
        """Estimates of two independent samples (e.g. two editions): covariance block-diagonal.

        ``prefixes`` are put before the names of ``self`` and ``other`` (needed when they
        share names)."""
        names = tuple(prefixes[0] + n for n in self.names) + tuple(prefixes[1] + n
                                                                 for n in other.names)
        if len(set(names)) != len(names):
            raise EstimationError("joined estimates repeat a name; expected prefixes=(a, b) "
                                  "that tell the samples apart")
        k1, k2 = len(self.names), len(other.names)
        v = np.zeros((k1 + k2, k1 + k2))
        v[:k1, :k1], v[k1:, k1:] = self.vcov, other.vcov
        return Estimates(names, np.concatenate([self.coef, other.coef]), v)


def estimates(obj: Any, stat: str, variables: str | Sequence[str],
              denominator: str | None = None) -> Estimates:
    """Estimates of ``stat`` (``mean``, ``total``, ``proportion``, ``ratio`` with
    ``denominator=``) of ``variables`` with their covariance, for contrasts (missing values
    left out per variable)."""
    if stat not in STATS:
        raise EstimationError(f"stat={stat!r}; expected one of {STATS}")
    design, dom, rep = resolve(obj)
    names = [variables] if isinstance(variables, str) else list(variables)
    frame = design.frame
    if stat == "proportion":
        from survey.design.replicate import proportion_items

        items = proportion_items(frame, names)
        labels = [f"{v}={lv}" for v, lv, _, _ in items]
        ys = [(y, a) for _, _, y, a in items]
        xs = None
    else:
        ys, labels = [], []
        for v in names:
            y, a, _ = _numeric(frame, v)
            ys.append((np.asarray(y, float), a))
        xs = None
        labels = list(names)
        if stat == "ratio":
            if denominator is None:
                raise EstimationError("stat='ratio' needs denominator=")
            x, b, _ = _numeric(frame, denominator)
            ys = [(y, a & b) for y, a in ys]
            xs = [np.asarray(x, float)] * len(ys)
            labels = [f"{v}/{denominator}" for v in names]
    _, dom, est, cov, _, reps = domain_ratios(obj, ys, xs, total=stat == "total",
                                              labels=labels)
    full = [f"{dom.name(k)}:{lb}" if dom.groups else lb for k in range(dom.n_dom)
            for lb in labels]
    full = [n.replace(", ", ",") for n in full]
    return Estimates(tuple(full), est.reshape(-1), cov, reps, design if rep else None)


def contrast(est: Estimates, weights: Mapping[str, float] | Sequence[float]
             | Mapping[str, Mapping[str, float] | Sequence[float]] | Callable[..., float],
             *, level: float = 0.95, df: float = np.inf, step: float = 1e-6,
             replicates: bool = False) -> pl.DataFrame:
    """Contrasts of estimates (R's ``svycontrast``): columns ``contrast, estimate, se,
    ci_low, ci_high`` (t intervals with ``df``; normal by default, as R's ``confint``).
    Nonlinear contrasts use the delta method (R's ``svycontrast`` of a ``svystat``);
    ``replicates=True`` evaluates the function on every replicate instead (R's
    ``return.replicates = TRUE`` path).

    Example:
        >>> import numpy as np
        >>> e = Estimates(("a", "b"), np.array([2.0, 3.0]), np.array([[1.0, 0.5], [0.5, 2.0]]))
        >>> contrast(e, {"diff": {"b": 1, "a": -1}, "sum": [1, 1]})["se"].round(4).to_list()
        [1.4142, 2.0]
        >>> round(float(contrast(e, lambda v: v["b"] / v["a"])["estimate"][0]), 4)
        1.5
    """
    if callable(weights):
        return _nonlinear({"contrast": weights}, est, level, df, step, replicates)
    if isinstance(weights, Mapping) and weights and all(
            callable(v) for v in weights.values()):
        return _nonlinear(dict(weights), est, level, df, step, replicates)
    if isinstance(weights, Mapping) and weights and all(
            isinstance(v, Mapping | Sequence) and not isinstance(v, str)
            for v in weights.values()):
        specs = dict(weights)
    else:
        specs = {"contrast": weights}
    rows = np.vstack([_row(est, w) for w in specs.values()])
    value = rows @ est.coef
    v = rows @ est.vcov @ rows.T
    return _frame(list(specs), value, v, level, df)


def _row(est: Estimates, w: Any) -> np.ndarray:
    k = len(est.names)
    if isinstance(w, Mapping):
        unknown = [n for n in w if n not in est.names]
        if unknown:
            raise EstimationError(f"contrast names {unknown} are not estimates; expected "
                                  f"some of {list(est.names)}", value=unknown[0])
        out = np.zeros(k)
        for n, c in w.items():
            out[est.names.index(n)] = float(c)
        return out
    out = np.asarray(list(w), float)
    if out.shape != (k,):
        raise EstimationError(f"contrast of length {out.size}; expected {k} coefficients "
                              f"(one per estimate: {list(est.names)})")
    return out


def _nonlinear(funcs: dict[str, Callable[..., float]], est: Estimates, level: float,
               df: float, step: float, replicates: bool) -> pl.DataFrame:
    names = list(est.names)

    def ev(f, vals):
        return float(f(dict(zip(names, vals, strict=True))))

    value = np.array([ev(f, est.coef) for f in funcs.values()])
    if replicates and est.replicates is not None and est.design is not None:
        th = np.array([[ev(f, r) for f in funcs.values()] for r in est.replicates])
        v = est.design.svrvar(th, value)
    else:
        jac = np.zeros((len(funcs), len(names)))
        for i in range(len(names)):
            h = step * max(1.0, abs(est.coef[i]))
            up, dn = est.coef.copy(), est.coef.copy()
            up[i] += h
            dn[i] -= h
            jac[:, i] = [(ev(f, up) - ev(f, dn)) / (2 * h) for f in funcs.values()]
        v = jac @ est.vcov @ jac.T
    return _frame(list(funcs), value, v, level, df)


def _frame(labels: list[str], value: np.ndarray, v: np.ndarray, level: float,
           df: float) -> pl.DataFrame:
    se = np.sqrt(np.maximum(np.diag(v), 0.0))
    q = stats.norm.ppf(0.5 + level / 2) if np.isinf(df) else stats.t.ppf(0.5 + level / 2, df)
    return pl.DataFrame({"contrast": labels, "estimate": value, "se": se,
                         "ci_low": value - q * se, "ci_high": value + q * se})
