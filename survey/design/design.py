"""The survey design: weights, strata, PSUs, calibration; estimators as polars frames.

A :class:`Design` is immutable; ``rake`` returns a new one. Estimators return polars frames with
``estimate, se, ci_low, ci_high, deff, n, n_eff`` (plus ``variable``/``level`` and, for
``by()``, the group columns). Everything is matched to R's ``survey`` package (see
``tests/oracle``):

* ``Design(frame, weights="w")`` is ``svydesign(ids = ~1, weights = ~w)`` (one stage, with
  replacement); ``ids``/``strata`` give ``svydesign(ids = ~psu, strata = ~st, nest = TRUE)``;
  ``fpc`` is a column of population PSU counts per stratum (or sampling fractions <= 1).
* ``mean``/``total``: ``svymean``/``svytotal`` with ``na.rm = TRUE`` (missing values are a domain,
  not zeros); intervals are ``estimate +- z se`` as R's ``confint()`` of a ``svystat``.
* ``deff`` is R's ``deff = "replace"``: design variance over the variance under simple random
  sampling *with replacement* of the same number of respondents, ``s^2 / n`` with
  ``s^2 = n / (n - 1) * sum w (y - ybar)^2 / sum w`` (``s^2 W^2 / n`` for totals). R's
  ``deff = TRUE`` (without replacement) is this times ``W / (W - n)``. ``n_eff = n / deff``.
* ``proportion``: ``svyciprop`` intervals (``ci.py``) with ``df = degf`` of the domain.
* ``by``: ``svyby(~y, ~g, design, FUN)`` domain estimation on the full design.
* ``proportion(..., base="responses")``: ``svyratio(~option, ~selections)``.
* ``trim``: ``trimWeights``; ``glm``: ``svyglm`` / ``svyolr``; ``chisq``: ``svychisq``.
* ``with_columns``: derived columns on the same design (weights, strata, PSUs, raking kept).

Example:
    >>> import polars as pl
    >>> d = Design(pl.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "w": [1.0, 1.0, 2.0, 2.0]}), weights="w")
    >>> d.mean("y").select("estimate", "n").row(0)
    (2.8333333333333335, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from survey.design import variance as V
from survey.design.ci import LikelihoodInputs, proportion_ci
from survey.design.rake import cells_of, rake_cells, resolve_targets
from survey.errors import EmptySegmentError, EstimationError, WeightingError

CHUNK_CELLS = 8_000_000  # rows x items processed at once (bounds memory at ~64 MB per array)
OUT_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "deff", "n", "n_eff"]


@dataclass(frozen=True)
class Diagnostics:
    """Weighting diagnostics. ``deff_kish = 1 + cv^2 = n sum w^2 / (sum w)^2``."""

    iterations: int
    max_margin_error: float | None
    weight_min: float
    weight_max: float
    weight_ratio: float
    deff_kish: float
    n_eff: float

    @classmethod
    def of(cls, w: np.ndarray, iterations: int = 0, err: float | None = None) -> Diagnostics:
        s1, s2 = float(w.sum()), float((w * w).sum())
        return cls(iterations, err, float(w.min()), float(w.max()), float(w.max() / w.min()),
                   len(w) * s2 / s1**2, s1**2 / s2)


@dataclass(frozen=True, eq=False)
class _Item:
    """One estimand column: values ``y``, validity mask ``a``, optional ratio denominator ``x``."""

    variable: str
    level: str | None
    y: np.ndarray
    a: np.ndarray
    x: np.ndarray | None = None
    label: str | None = None
    binary: bool = False


class Design:
    """A survey design over a polars frame: R's ``svydesign`` (one stage with replacement by
    default; ``ids``/``strata``/``fpc`` for clustered, stratified designs).

    Every estimator (``mean``, ``total``, ``proportion``, and the same through ``by(...)``)
    returns a polars frame with ``estimate, se, ci_low, ci_high, deff, n, n_eff``; ``rake``
    returns a new design whose variances account for the calibration (R's ``rake``), ``trim``
    caps weights (``trimWeights``), ``chisq`` is ``svychisq`` and ``glm`` is ``svyglm`` /
    ``svyolr``.

    Args:
        frame: one row per respondent.
        weights: a weight column or the weights (default: equal weights).
        ids, strata, fpc: PSU, stratum and finite-population-correction columns.
        codebook: a :class:`survey.codebook.Codebook` for labelled output by question id.
        edition: the survey edition, used by :func:`survey.compare_waves` to check that two
            editions are comparable (:func:`survey.standard_design` sets it).

    Attributes: ``frame``, ``weights``, ``n``, ``diagnostics`` (weighting diagnostics),
    ``codebook``, ``edition``.

    Example:
        >>> import polars as pl
        >>> d = Design(pl.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "w": [1.0, 1.0, 2.0, 2.0]}), "w")
        >>> round(d.mean("y")["estimate"][0], 4)
        2.8333
    """

    __slots__ = ("_cal", "_margins", "_st", "_variance", "_w", "codebook", "diagnostics", "edition",
                 "frame")

    def __init__(self, frame: pl.DataFrame, weights: str | Sequence[float] | None = None,
                 ids: str | None = None, strata: str | None = None, fpc: str | None = None,
                 codebook: Any = None, edition: int | None = None) -> None:
        n = frame.height
        if n < 2:
            raise EstimationError(f"a design needs at least 2 respondents; found {n}")
        if weights is None:
            w = np.ones(n)
        else:
            col = frame[weights] if isinstance(weights, str) else pl.Series(weights)
            if col.null_count():
                raise EstimationError(f"weights '{weights}' have {col.null_count()} missing "
                                      "values; expected a weight for every respondent",
                                      column=str(weights))
            w = col.cast(pl.Float64).to_numpy().copy()
            if len(w) != n or not np.all(np.isfinite(w)) or np.any(w <= 0):
                raise EstimationError(f"weights '{weights}' must be finite and > 0 for all "
                                      f"{n} respondents", column=str(weights))
        arr = {k: (None if c is None else frame[c].to_numpy())
               for k, c in (("ids", ids), ("strata", strata), ("fpc", fpc))}
        st = V.make_structure(arr["strata"], arr["ids"], arr["fpc"], n)
        self._init(frame, w, st, None, None, "calibrated", Diagnostics.of(w), codebook, edition)

    def _init(self, frame, w, st, cal, margins, variance, diag, codebook, edition=None) -> None:
        for k, v in (("frame", frame), ("_w", w), ("_st", st), ("_cal", cal),
                     ("_margins", margins), ("_variance", variance), ("diagnostics", diag),
                     ("codebook", codebook), ("edition", edition)):
            object.__setattr__(self, k, v)
        w.setflags(write=False)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Design is immutable; methods return new designs")

    def _replace(self, **kw: Any) -> Design:
        new = object.__new__(Design)
        cur = {k: getattr(self, k) for k in self.__slots__}
        cur.update(kw)
        new._init(cur["frame"], cur["_w"], cur["_st"], cur["_cal"], cur["_margins"],
                  cur["_variance"], cur["diagnostics"], cur["codebook"], cur["edition"])
        return new

    def with_columns(self, *exprs: Any, **named_exprs: Any) -> Design:
        """The design with columns added or replaced (``polars.DataFrame.with_columns``).

        Weights, ids, strata, fpc, the raking calibration and its variance mode, diagnostics
        and the codebook are kept: they were fixed when the design was built (or raked), so
        replacing the *column* a weight, stratum, PSU or margin came from does not change them.
        Use it for derived variables (nets, recodes, indicators) before domain estimation.

        Example:
            >>> import polars as pl
            >>> d = Design(pl.DataFrame({"g": ["a", "a", "b", "b"], "y": [1.0, 2.0, 3.0, 5.0]}))
            >>> d2 = d.with_columns(high=pl.col("y") > 2)
            >>> d2.mean("high")["estimate"][0]
            0.5
        """
        frame = self.frame.with_columns(*exprs, **named_exprs)
        return self._replace(frame=frame)

    # ------------------------------------------------------------------ properties
    @property
    def weights(self) -> np.ndarray:
        """Final weights (read-only array)."""
        return self._w

    @property
    def n(self) -> int:
        return self.frame.height

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata (R's ``degf``)."""
        return self._st.n_psus - self._st.n_strata

    @property
    def _cal_active(self) -> V.Calibration | None:
        return self._cal if self._variance == "calibrated" else None

    def _vcov_totals(self, z: np.ndarray) -> np.ndarray:
        """Covariance of the estimated totals of the columns of the influence matrix ``z``."""
        return V.vcov_totals(z, self._st, self._cal_active, self._w)

    # ------------------------------------------------------------------ raking
    def rake(self, margins: dict[str, dict[Any, float]], *, max_iter: int = 100,
             tol: float = 1e-10, bounds: tuple[float, float] | None = None,
             variance: str = "calibrated") -> Design:
        """Rake to population margins ``{variable: {level: share or count}}`` (see ``rake.py``).

        ``variance="calibrated"`` gives R's ``rake()`` variance (influence functions residualized
        on the margins); ``"fixed"`` treats the raked weights as fixed design weights.
        ``bounds=(lo, hi)`` keeps each ratio new/old weight within [lo, hi].

        Example:
            >>> import polars as pl
            >>> f = pl.DataFrame({"g": ["a", "a", "b", "b"], "y": [1.0, 0.0, 1.0, 1.0]})
            >>> Design(f).rake({"g": {"a": 0.25, "b": 0.75}}).weights.tolist()
            [0.5, 0.5, 1.5, 1.5]
        """
        if variance not in ("calibrated", "fixed"):
            raise WeightingError(f"variance={variance!r}; expected 'calibrated' or 'fixed'")
        if not margins:
            raise WeightingError("no margins given; expected {variable: {level: value}}")
        codes, present, counts = [], {}, {}
        for var in margins:
            c, lv = _level_codes(self.frame, var, for_what="raking")
            codes.append(c)
            present[var] = lv
            counts[var] = np.bincount(c, minlength=len(lv))
        targets = resolve_targets(margins, present, counts, float(self._w.sum()))
        res = rake_cells(self._w, codes, targets, max_iter=max_iter, tol=tol, bounds=bounds,
                         names=list(margins))
        old_codes, old_nlv, old_blocks = ([], [], []) if self._margins is None else self._margins
        all_codes = [*old_codes, *codes]
        all_nlv = [*old_nlv, *(len(t) for t in targets)]
        blocks = [*old_blocks, tuple(range(len(old_codes), len(all_codes)))]
        if old_codes:
            cell, levels = cells_of(all_codes, all_nlv)
        else:
            cell, levels = res.cell, res.cell_levels
        cal = V.Calibration(cell, levels, np.bincount(cell).astype(float), tuple(all_nlv),
                            tuple(blocks), w=res.weights)
        return self._replace(_w=res.weights, _cal=cal, _margins=(all_codes, all_nlv, blocks),
                             _variance=variance,
                             diagnostics=Diagnostics.of(res.weights, res.iterations,
                                                        res.max_margin_error))

    def trim(self, upper: float = np.inf, lower: float = -np.inf, *,
             strict: bool = False) -> Design:
        """Trim (cap) the weights to ``[lower, upper]``, as R's ``trimWeights(design, ...)``.

        Weights above ``upper`` (below ``lower``) are set to it, and the amount trimmed is
        shared equally among the weights that were inside the bounds, so the total is kept.
        That can push a weight past a bound again: ``strict=True`` repeats until no weight is
        outside (R's ``strict = TRUE``). The design's strata, PSUs and raking calibration are
        kept (R keeps ``postStrata``), so variances of a raked design stay calibration-aware;
        the trimmed design's margins are no longer exact (``diagnostics.max_margin_error`` is
        ``None``; ``iterations`` are the raking's).

        Example:
            >>> import polars as pl
            >>> d = Design(pl.DataFrame({"y": [1.0, 2, 3, 4]}), weights=[1.0, 1, 1, 5])
            >>> d.trim(upper=3).weights.round(4).tolist()
            [1.6667, 1.6667, 1.6667, 3.0]
        """
        if not lower < upper:
            raise WeightingError(f"trim bounds lower={lower:g} and upper={upper:g}; expected "
                                 "lower < upper")
        w = self._w.copy()
        total = float(w.sum())
        if upper * self.n < total * (1 - 1e-12) or lower * self.n > total * (1 + 1e-12):
            raise WeightingError(
                f"weights summing to {total:g} over {self.n} respondents cannot all lie in "
                f"[{lower:g}, {upper:g}]; expected lower <= mean weight ({total / self.n:g}) "
                "<= upper")
        changed = False
        for _ in range(10_000):
            outside = (w < lower) | (w > upper)
            if not outside.any():
                break
            changed = True
            new = np.clip(w, lower, upper)
            new[~outside] += (w - new).sum() / (~outside).sum()
            w = new
            if not strict:
                break
        else:
            raise WeightingError(f"trimming to [{lower:g}, {upper:g}] did not settle after "
                                 "10000 rounds")
        if not changed:
            return self
        it = self.diagnostics.iterations
        return self._replace(_w=w, diagnostics=Diagnostics.of(w, it, None))

    # ------------------------------------------------------------------ estimators
    def mean(self, var: str | Sequence[str]) -> pl.DataFrame:
        """Weighted means with linearization SEs (R: ``svymean(~var, design, na.rm=TRUE)``)."""
        return self.by().mean(var)

    def total(self, var: str | Sequence[str]) -> pl.DataFrame:
        """Weighted totals (R: ``svytotal(~var, design, na.rm=TRUE)``)."""
        return self.by().total(var)

    def proportion(self, var: str | Sequence[str], ci: str = "logit", level: float = 0.95,
                   base: str = "cases", lang: str = "zh") -> pl.DataFrame:
        """Share of each level of a categorical column, or of each Boolean column given.

        ``base="cases"``: percent of respondents; ``"responses"``: percent of all selections
        (multi-select). Intervals as R's ``svyciprop(method=ci)``.
        """
        return self.by().proportion(var, ci=ci, level=level, base=base, lang=lang)

    def by(self, *groups: str) -> DesignBy:
        """Domain estimators by the combinations of ``groups`` (R's ``svyby``).

        The output starts with one column per group variable, named as the variable; a group
        variable named like an output column (``variable``, ``level``, ``label``, ``estimate``,
        ``se``, ``ci_low``, ``ci_high``, ``deff``, ``n``, ``n_eff``) is named ``<name>_group``.
        """
        return DesignBy(self, tuple(groups))

    def chisq(self, row: str, col: str, statistic: str = "F"):
        """Rao-Scott test of independence (R's ``svychisq``); see ``survey.design.tests``."""
        from survey.design.tests import svychisq

        return svychisq(self, row, col, statistic)

    def glm(self, formula: str, family: str = "gaussian"):
        """Design-based GLM: ``family`` "gaussian" or "binomial" (R's ``svyglm``), or "ordinal"
        (proportional-odds logistic, R's ``svyolr``); see ``survey.design.glm``."""
        from survey.design.glm import svyglm

        return svyglm(self, formula, family)

    def __repr__(self) -> str:
        cal = "raked" if self._cal is not None else "not raked"
        return (f"Design(n={self.n}, strata={self._st.n_strata}, psus={self._st.n_psus}, "
                f"{cal}, variance={self._variance!r})")


# ---------------------------------------------------------------------- domains
class DesignBy:
    """Estimators for domains (all combinations of ``groups`` present in the data)."""

    def __init__(self, design: Design, groups: tuple[str, ...]) -> None:
        self.design = design
        self.groups = groups
        n = design.n
        if not groups:
            self.g = np.zeros(n, np.int64)
            self.keys = pl.DataFrame()
            self.n_dom = 1
            return
        f = design.frame
        if len(set(groups)) != len(groups):
            raise EstimationError(f"group variables {list(groups)} repeat a name; expected "
                                  "distinct columns")
        for gname in groups:
            if gname not in f.columns:
                raise EstimationError(f"unknown group variable '{gname}'", column=gname)
            c, lv = _level_codes(f, gname, for_what="grouping", allow_null=True)
            cnt = np.bincount(c[c >= 0], minlength=len(lv))
            if np.any(cnt == 0):
                empty = lv[int(np.flatnonzero(cnt == 0)[0])]
                raise EmptySegmentError(
                    f"group '{gname}', level '{empty}' has no respondents; expected at least one "
                    "respondent in every level of a segment", column=gname, value=empty)
        key = np.zeros(n, np.int64)
        null = np.zeros(n, bool)
        for gname in groups:
            c, lv = _level_codes(f, gname, for_what="grouping", allow_null=True)
            null |= c < 0
            key = key * (len(lv) + 1) + np.where(c < 0, len(lv), c)
        g, first = _dense_codes(key, null)
        self.g = g
        self.keys = f.select(groups)[first.tolist()]
        taken = {"variable", "level", "label", *OUT_COLUMNS, *groups}
        rename = {}
        for gname in groups:  # a group named like an output column gets a '_group' suffix
            if gname in ("variable", "level", "label", *OUT_COLUMNS):
                new = gname + "_group"
                while new in taken:
                    new += "_"
                taken.add(new)
                rename[gname] = new
        self.keys = self.keys.rename(rename)
        self.n_dom = len(first)

    # -------------------------------------------------------------- public estimators
    def mean(self, var: str | Sequence[str]) -> pl.DataFrame:
        """Domain means (R: ``svyby(~var, ~g, design, svymean, na.rm=TRUE, deff="replace")``)."""
        return self._estimate(self._numeric_items(var), "mean")

    def total(self, var: str | Sequence[str]) -> pl.DataFrame:
        """Domain totals (R: ``svyby(~var, ~g, design, svytotal, na.rm=TRUE)``)."""
        return self._estimate(self._numeric_items(var), "total")

    def _numeric_items(self, var: str | Sequence[str]) -> list[_Item]:
        out = []
        for v in _as_list(var):
            y, a, binary = _numeric(self.design.frame, v)
            out.append(_Item(v, None, y, a, binary=binary))
        return out

    def proportion(self, var: str | Sequence[str], ci: str = "logit", level: float = 0.95,
                   base: str = "cases", lang: str = "zh") -> pl.DataFrame:
        """Domain proportions with ``svyciprop`` intervals (see :meth:`Design.proportion`)."""
        if base not in ("cases", "responses"):
            raise EstimationError(f"base={base!r}; expected 'cases' or 'responses'")
        items = _proportion_items(self.design, var, lang)
        if base == "responses":
            a = np.logical_and.reduce([it.a for it in items])
            x = np.sum([np.where(a, it.y, 0.0) for it in items], axis=0)
            items = [_Item(it.variable, it.level, it.y, a, x, it.label, True) for it in items]
        return self._estimate(items, "proportion", ci=ci, level=level)

    # -------------------------------------------------------------- engine
    def _estimate(self, items: list[_Item], kind: str, ci: str | None = None,
                  level: float = 0.95) -> pl.DataFrame:
        d = self.design
        w, g, nd = d._w, self.g, self.n_dom
        if any(it.x is not None for it in items):
            sums, est, var = self._ratio_engine(items)
        else:
            cols = [V.Column(it.y, it.a, it.binary) for it in items]
            with np.errstate(divide="ignore", invalid="ignore"):  # empty domains raise below
                sums, est, var = V.domain_estimates(cols, g, nd, w, d._st, d._cal_active, kind)
        nobs, wsum = sums.nobs, sums.wsum
        if np.any(nobs == 0):
            k, j = (int(v[0]) for v in np.nonzero(nobs == 0))
            it = items[j]
            raise EmptySegmentError(
                f"variable '{it.variable}'{_lv(it)} has no answers in domain "
                f"{_domain_name(self, k)}; expected at least one respondent",
                column=it.variable, value=_domain_name(self, k))
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = sums.num / wsum
            dev2 = np.maximum(sums.wy2 - mu * sums.num, 0.0)  # sum w (y - mu)^2 in domain
            s2 = nobs / (nobs - 1) * dev2 / wsum
            vsrs = s2 * wsum**2 / nobs if kind == "total" else s2 / nobs
            se = np.sqrt(var)
            deff = np.where(vsrs > 0, var / vsrs, np.nan)
            if any(it.x is not None for it in items):
                deff = np.full_like(var, np.nan)  # no SRS reference for a share of responses
            n_eff = nobs / deff
        if kind == "proportion":
            inside = g >= 0
            gg = np.where(inside, g, 0)
            rows_in = np.bincount(gg, weights=inside, minlength=nd)
            nrow = rows_in if d._cal_active is None else np.full(nd, float(d.n))
            lik = None
            if ci == "likelihood":
                lik = self._likelihood_inputs(items, sums, s2, nrow)
            df = np.broadcast_to(self._degf()[:, None], est.shape)
            lo, hi = proportion_ci(est, se, df, ci or "logit", level,
                                   np.broadcast_to(nrow[:, None], est.shape), lik)
        else:
            z = stats.norm.ppf(0.5 + level / 2)
            lo, hi = est - z * se, est + z * se
        return self._frame(items, est, se, lo, hi, deff, nobs, n_eff)

    def _likelihood_inputs(self, items: list[_Item], sums: V.DomainSums, s2: np.ndarray,
                           nrow: np.ndarray) -> LikelihoodInputs:
        """What R's profile of ``svyglm(y ~ 1, family = quasibinomial)`` needs, per domain.

        R rescales the glm prior weights to mean 1 over the domain's rows (over all rows when
        the design is calibrated, as R keeps them with weight 0) and starts IRLS from
        ``mu = (W y + 0.5) / (W + 1)`` row by row; the first IRLS step is summed here.
        """
        d = self.design
        w, g, nd = d._w, self.g, self.n_dom
        inside = g >= 0
        gg = np.where(inside, g, 0)
        c = nrow / np.bincount(gg, weights=w * inside, minlength=nd)
        big_w = w * c[gg]
        num, den, dev0 = (np.zeros((nd, len(items))) for _ in range(3))
        for j, it in enumerate(items):
            ok = it.a & inside
            y, wj = it.y[ok], big_w[ok]
            m = (wj * y + 0.5) / (wj + 1)
            q = m * (1 - m)
            z = np.log(m / (1 - m)) + (y - m) / q
            dv = -2 * wj * np.where(y > 0, np.log(m), np.log(1 - m))
            for arr, val in ((num, wj * q * z), (den, wj * q), (dev0, dv)):
                arr[:, j] = np.bincount(gg[ok], weights=val, minlength=nd)
        n_glm = sums.nobs if d._cal_active is None else np.broadcast_to(
            np.array([float(it.a.sum()) for it in items]), sums.nobs.shape)
        return LikelihoodInputs(sums.wsum * c[:, None], s2, n_glm, num, den, dev0)

    def _ratio_engine(self, items: list[_Item]) -> tuple[V.DomainSums, np.ndarray, np.ndarray]:
        """Ratios sum w y / sum w x (percent of responses): row-wise influence, chunked."""
        d = self.design
        w, g, nd = d._w, self.g, self.n_dom
        inside = g >= 0
        gg = np.where(inside, g, 0)
        gmat = V.indicator(gg, nd)
        w_in = w * inside
        parts = []
        chunk = max(1, CHUNK_CELLS // max(d.n, 1))
        for k0 in range(0, len(items), chunk):
            part = items[k0:k0 + chunk]
            a = np.column_stack([it.a for it in part]) & inside[:, None]
            y = np.column_stack([it.y for it in part])
            x = np.column_stack([it.x for it in part])
            wa = w_in[:, None] * a
            wy = wa * y
            num, den = gmat @ wy, gmat @ (wa * x)
            e = num / den
            r = (wy - wa * x * e[gg]) / den[gg]
            var = V.domain_var(r, gg, nd, w, d._st, d._cal_active)
            parts.append((gmat @ a.astype(float), gmat @ wa, num, gmat @ (wy * y), e, var))
        cat = [np.concatenate([p[i] for p in parts], axis=1) for i in range(6)]
        return V.DomainSums(*cat[:4]), cat[4], cat[5]

    def _degf(self) -> np.ndarray:
        """Per-domain degrees of freedom: PSUs minus strata with respondents in the domain."""
        st, g = self.design._st, self.g
        ok = g >= 0
        gg = g[ok]
        strata = np.bincount(gg * st.n_strata + st.stratum[ok],
                             minlength=self.n_dom * st.n_strata).reshape(self.n_dom, -1)
        if st.psu is None:
            psus = np.bincount(gg, minlength=self.n_dom)
        elif self.n_dom * st.n_psus <= 50_000_000:
            psus = (np.bincount(gg * st.n_psus + st.psu[ok], minlength=self.n_dom * st.n_psus)
                    .reshape(self.n_dom, -1) > 0).sum(1)
        else:
            psus = np.bincount(np.unique(gg * st.n_psus + st.psu[ok]) // st.n_psus,
                               minlength=self.n_dom)
        return (psus - (strata > 0).sum(1)).astype(float)

    def _frame(self, items, est, se, lo, hi, deff, n, n_eff) -> pl.DataFrame:
        nd, j = est.shape
        cols: dict[str, Any] = {}
        if self.groups:
            keys = self.keys.select(pl.all().gather(np.repeat(np.arange(nd), j)))
        labels = [it.label for it in items]
        cols["variable"] = [it.variable for it in items] * nd
        cols["level"] = [it.level for it in items] * nd
        if any(lb is not None for lb in labels):
            cols["label"] = labels * nd
        for k, a in zip(OUT_COLUMNS, (est, se, lo, hi, deff, n, n_eff), strict=True):
            cols[k] = a.reshape(-1)
        out = pl.DataFrame(cols).with_columns(pl.col("n").cast(pl.Int64))
        if all(it.level is None for it in items):
            out = out.drop("level")
        return pl.concat([keys, out], how="horizontal") if self.groups else out


# ---------------------------------------------------------------------- helpers
def _dense_codes(key: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense domain codes in key order (-1 for null rows) and the first row of each domain."""
    n = len(key)
    if n and key.max() < 4 * n + 1024:
        present = np.bincount(key[~null], minlength=int(key.max()) + 1) > 0
        remap = np.cumsum(present) - 1
        g = np.where(null, -1, remap[key])
    else:
        inv = np.unique(np.where(null, -1, key), return_inverse=True)[1]
        g = inv.ravel() - (1 if null.any() else 0)
    n_dom = int(g.max()) + 1 if n else 0
    first = np.full(n_dom, n, np.int64)
    order = np.flatnonzero(g >= 0)[::-1]
    first[g[order]] = order  # the last assignment (smallest row) wins
    return g.astype(np.int64), first


def _as_list(var: str | Sequence[str]) -> list[str]:
    return [var] if isinstance(var, str) else list(var)


def _lv(it: _Item) -> str:
    return f" level '{it.level}'" if it.level is not None else ""


def _domain_name(by: DesignBy, k: int) -> str:
    if not by.groups:
        return "(all respondents)"
    row = by.keys.row(k)
    return ", ".join(f"{g}={v}" for g, v in zip(by.groups, row, strict=True))


def _column(frame: pl.DataFrame, var: str) -> pl.Series:
    if var not in frame.columns:
        raise EstimationError(f"unknown variable '{var}'; expected a column of the frame",
                              column=var)
    return frame[var]


def _numeric(frame: pl.DataFrame, var: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Values (0 where missing), validity mask and whether the column is Boolean."""
    s = _column(frame, var)
    if not (s.dtype.is_numeric() or s.dtype == pl.Boolean):
        raise EstimationError(f"variable '{var}' is {s.dtype}; expected a numeric or Boolean "
                              "column (use proportion() for categorical questions)", column=var)
    binary = s.dtype == pl.Boolean
    if s.null_count() == 0:
        y = s.to_numpy()
        y = y.view(np.uint8) if binary else y.astype(float)
        if not binary and np.isnan(y).any():
            a = ~np.isnan(y)
            return np.where(a, y, 0.0), a, False
        return y, np.ones(len(s), bool), binary
    y = s.cast(pl.Float64).to_numpy()
    a = ~np.isnan(y)
    return np.where(a, y, 0.0), a, binary


def _level_codes(frame: pl.DataFrame, var: str, for_what: str,
                 allow_null: bool = False) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 for null) and level labels of a categorical-like column."""
    s = _column(frame, var)
    if s.null_count() and not allow_null:
        raise WeightingError(f"variable '{var}' has {s.null_count()} missing values; expected "
                             f"a level for every respondent for {for_what}", column=var)
    if isinstance(s.dtype, pl.Enum):
        codes = s.to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
        return codes, s.dtype.categories.to_list()
    if isinstance(s.dtype, pl.Categorical):
        s = s.cast(pl.String)
    if s.dtype == pl.Boolean:
        return s.cast(pl.Int64).fill_null(-1).to_numpy(), ["false", "true"]
    levels = s.drop_nulls().unique().sort()
    codes = s.replace_strict(levels, list(range(len(levels))), default=-1,
                             return_dtype=pl.Int64).to_numpy()
    return codes, [str(v) for v in levels.to_list()]


def _proportion_items(design: Design, var: str | Sequence[str], lang: str) -> list[_Item]:
    """Indicator items for a categorical column, a list of Boolean columns or a question id."""
    frame, cb = design.frame, design.codebook
    if isinstance(var, str) and cb is not None and var in getattr(cb, "questions", {}):
        return _question_items(frame, cb.questions[var], var, lang)
    cols = _as_list(var)
    if len(cols) == 1 and frame.schema.get(cols[0]) != pl.Boolean:
        s = _column(frame, cols[0])
        codes, levels = _level_codes(frame, cols[0], "proportion", allow_null=True)
        a = codes >= 0
        return [_Item(cols[0], lv, (codes == k).astype(float), a, binary=True)
                for k, lv in enumerate(levels)]
    prefix = {c.split("__", 1)[0] for c in cols}
    items = []
    for c in cols:
        s = _column(frame, c)
        if s.dtype != pl.Boolean:
            raise EstimationError(f"variable '{c}' is {s.dtype}; expected Boolean columns for a "
                                  "multi-select", column=c)
        y, a, _ = _numeric(frame, c)
        if len(prefix) == 1 and "__" in c:
            items.append(_Item(c.split("__", 1)[0], c.split("__", 1)[1], y, a, binary=True))
        else:
            items.append(_Item(c, "true", y, a, binary=True))
    return items


def _question_items(frame: pl.DataFrame, q: Any, qid: str, lang: str) -> list[_Item]:
    """Codebook layer: rows labelled with ``q.label(code, lang)`` (single or multi questions)."""
    if q.type == "multi":
        items = []
        for col, code in zip(q.columns(), q.codes(), strict=True):
            y, a, _ = _numeric(frame, col)
            items.append(_Item(qid, code, y, a, None, q.label(code, lang), True))
        return items
    if q.type == "single":
        codes, levels = _level_codes(frame, qid, "proportion", allow_null=True)
        return [_Item(qid, lv, (codes == k).astype(float), codes >= 0, None, q.label(lv, lang),
                      True) for k, lv in enumerate(levels)]
    raise EstimationError(f"question '{qid}' is {q.type}; expected a single or multi question "
                          "for proportion() (use mean() for numeric questions)", column=qid)
