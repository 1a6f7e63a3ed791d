"""Replicate-weight designs, as R's ``svrepdesign`` / ``as.svrepdesign``.

A :class:`ReplicateDesign` holds the full-sample weights ``w`` and ``R`` columns of replicate
(analysis) weights. Every statistic is computed once with ``w`` and once per replicate; its
variance is R's ``svrVar``: ``scale * sum_r rscales_r (theta_r - c)^2`` with ``c`` the mean of
the replicates (``mse=False``) or the full-sample estimate (``mse=True``).

* ``Design.replicates(type=...)`` is ``as.svrepdesign``: ``"JK1"`` (unstratified), ``"JKn"``,
  ``"bootstrap"`` (Rao-Wu, ``replicates=`` draws with a seeded generator), ``"BRR"`` and
  ``"Fay"`` (``rho=``; pairs of PSUs per stratum); see ``_repweights.py``;
* ``ReplicateDesign(frame, weights=, repweights=, type=, scale=, rscales=, mse=)`` is
  ``svrepdesign`` for replicate weights delivered with the data (names or a regular
  expression; ``combined_weights=True``: the columns are analysis weights, else multipliers),
  with R's defaults for ``scale`` and ``rscales`` per type;
* estimators: ``mean``, ``total``, ``proportion`` (``svyciprop`` intervals), ``by(...)``,
  ``glm`` (R's ``svyglm`` on replicates), ``quantile``, ``ratio``, ``var``, ``chisq`` and
  ``estimates`` (for ``contrast``), with the columns of :class:`survey.design.Design`'s.
  Intervals of means and totals are normal (R's ``confint``); ``degf`` is the rank of the
  replicate weights minus 1 (R's ``degf``).

Missing values: a variable's missing rows are left out of its estimate (``na.rm = TRUE``).

Example:
    >>> import polars as pl
    >>> from survey.design import Design
    >>> d = Design(pl.DataFrame({"y": [1.0, 2.0, 4.0, 7.0]})).replicates("JK1")
    >>> row = d.mean("y").select("estimate", "se").row(0)
    >>> round(row[0], 4), round(row[1], 4)
    (3.5, 1.3229)
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from scipy import linalg, stats

from survey.design import _repweights as RW
from survey.design._columns import _column, _level_codes, _numeric
from survey.design._groups import Groups, frame_of
from survey.design.ci import proportion_ci
from survey.errors import EmptySegmentError, EstimationError

if TYPE_CHECKING:
    from survey.design.design import Design

TYPES = ("JK1", "JKn", "bootstrap", "BRR", "Fay", "JK2", "ACS", "successive-difference",
         "other")


def replicates(design: Design, type: str = "auto", *, replicates: int = 50,
               seed: int | None = 1, rho: float = 0.5, mse: bool = False) -> ReplicateDesign:
    """The design as replicate weights (R's ``as.svrepdesign``).

    ``type="auto"`` is ``"JK1"`` without strata, ``"JKn"`` with. The fpc of the design (if
    any) enters JK1/JKn through ``rscales`` and the bootstrap through sampling without
    replacement, as R; BRR/Fay ignore it. ``replicates`` and ``seed`` are the bootstrap's
    draws and generator seed; ``rho`` is Fay's factor. The design's final weights are used;
    a raked or calibrated design's replicates are not re-calibrated (as R's
    ``as.svrepdesign``): calibrate the replicate design itself (``r.calibrate(...)``) for
    calibration-aware replicate variances.

    Example:
        >>> import polars as pl
        >>> from survey.design import Design
        >>> f = pl.DataFrame({"h": [1, 1, 2, 2], "y": [1.0, 2.0, 4.0, 7.0]})
        >>> Design(f, strata="h").replicates("JKn").repweights.shape
        (4, 4)
    """
    if getattr(design, "_subset", None) is not None:
        raise EstimationError("replicates() of a subset; expected the whole design (take "
                              "the subset of the replicate design's estimates with by())")
    if getattr(design, "_cal", None) is not None:
        warnings.warn("replicates of a raked or calibrated design keep its final weights but "
                      "are not re-calibrated (as R's as.svrepdesign); calibrate the replicate "
                      "design (r.calibrate(...)) for calibration-aware variances",
                      UserWarning, stacklevel=2)
    st = design._st
    psu = np.arange(design.n) if st.psu is None else st.psu
    stages = getattr(st, "all_stages", None)
    f_h = np.asarray(stages[0].f, float) if stages else \
        st.scale * (st.n_psu - 1.0) / st.n_psu  # 1 - n/N per stratum
    stratified = st.n_strata > 1
    kind = ("JKn" if stratified else "JK1") if type == "auto" else type
    if kind == "JK1":
        if stratified:
            raise EstimationError("JK1 replicates of a stratified design; expected "
                                  "type='JKn' (or 'bootstrap', 'BRR')")
        m, scale, rscales = RW.jk1(psu, float(f_h[0]))
    elif kind == "JKn":
        m, scale, rscales = RW.jkn(st.stratum, psu, f_h, getattr(design, "lonely_psu", "fail"))
    elif kind == "bootstrap":
        m, scale, rscales = RW.bootstrap(st.stratum, psu, f_h, replicates,
                                         np.random.default_rng(seed))
    elif kind in ("BRR", "Fay"):
        if not stratified and kind == "BRR" and st.n_psu[0] != 2:
            raise EstimationError("BRR replicates need strata of paired PSUs")
        m, scale, rscales = RW.brr(st.stratum, psu, rho if kind == "Fay" else 0.0)
    else:
        raise EstimationError(f"type={type!r}; expected 'auto', 'JK1', 'JKn', 'bootstrap', "
                              "'BRR' or 'Fay'")
    w = np.asarray(design.weights, float)
    return ReplicateDesign._make(design.frame, w, w[:, None] * m, kind, scale, rscales, mse,
                                 getattr(design, "codebook", None),
                                 getattr(design, "edition", None), rho if kind == "Fay" else None)


class ReplicateDesign:
    """A design with replicate weights (R's ``svrep.design``); see the module docstring.

    Args:
        frame: one row per respondent.
        weights: the full-sample weight column (or values).
        repweights: replicate weight columns: a list of names or a regular expression.
        type: ``"JK1"``, ``"JKn"``, ``"bootstrap"``, ``"BRR"``, ``"Fay"``, ``"JK2"``,
            ``"ACS"``/``"successive-difference"`` or ``"other"`` (sets R's default scales).
        scale, rscales: the variance multipliers (R's defaults per type when ``None``).
        rho: Fay's factor (required for ``"Fay"``).
        mse: centre the squared deviations on the full-sample estimate.
        combined_weights: the columns are analysis weights (``True``) or multipliers.
        fpc, fpctype: per-replicate sampling fractions (or corrections ``1 - f``) that
            multiply ``rscales`` (R's ``fpc``/``fpctype`` for jackknife types).

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"y": [1.0, 3.0], "w": [1.0, 1.0], "r1": [2.0, 0.0],
        ...                   "r2": [0.0, 2.0]})
        >>> d = ReplicateDesign(f, "w", ["r1", "r2"], type="JK1", scale=0.5)
        >>> d.mean("y").select("estimate", "se").row(0)
        (2.0, 1.0)
    """

    def __init__(self, frame: pl.DataFrame, weights: str | Sequence[float] | None,
                 repweights: str | Sequence[str], type: str = "other", *,
                 scale: float | None = None, rscales: Sequence[float] | float | None = None,
                 rho: float | None = None, mse: bool = False, combined_weights: bool = True,
                 fpc: Sequence[float] | None = None, fpctype: str = "fraction",
                 codebook: Any = None, edition: int | None = None) -> None:
        if type not in TYPES:
            raise EstimationError(f"type={type!r}; expected one of {TYPES}")
        names = _rep_columns(frame, repweights)
        rep = frame.select(names).cast(pl.Float64)
        if any(rep[c].null_count() for c in names):
            bad = next(c for c in names if rep[c].null_count())
            raise EstimationError(f"replicate weights '{bad}' have missing values; expected a "
                                  "weight for every respondent", column=bad)
        m = rep.to_numpy()
        if not np.all(np.isfinite(m)) or np.any(m < 0):
            bad = names[int(np.flatnonzero(~(np.isfinite(m) & (m >= 0)).all(0))[0])]
            raise EstimationError(f"replicate weights '{bad}' must be finite and >= 0",
                                  column=bad)
        if weights is None:
            w = np.ones(frame.height)
        else:
            col = _column(frame, weights, "weight") if isinstance(weights, str) \
                else pl.Series(weights)
            w = col.cast(pl.Float64).to_numpy()
            if col.null_count() or not np.all(np.isfinite(w)) or np.any(w <= 0):
                raise EstimationError(f"weights '{weights}' must be present, finite and > 0 "
                                      "for every respondent", column=str(weights))
        n_rep = m.shape[1]
        if type == "Fay" and rho is None:
            raise EstimationError("type='Fay' needs rho= (Fay's factor)")
        if rscales is not None:
            rs = np.asarray(rscales, float).reshape(-1)
            if rs.size not in (1, n_rep):
                raise EstimationError(f"rscales has {rs.size} values; expected 1 or one per "
                                      f"replicate ({n_rep})")
            rscales = np.broadcast_to(rs, (n_rep,)).copy()
        if type in ("BRR", "Fay"):
            if scale is not None:
                raise EstimationError(f"type='{type}' sets its own scale; expected scale=None")
            scale = 1.0 / (n_rep * (1 - (rho or 0.0)) ** 2)
        elif type == "bootstrap":
            scale = 1.0 / (n_rep - 1) if scale is None else scale
        elif type == "JK1" and scale is None:
            scale = (n_rep - 1) / n_rep if combined_weights else 1.0 / m[:, 0].max()
        elif type == "JKn" and rscales is None:
            if combined_weights:
                raise EstimationError("type='JKn' with analysis weights needs rscales= "
                                      "((n_h - 1) / n_h per replicate)")
            rscales = 1.0 / m.max(0)
        elif type in ("ACS", "successive-difference"):
            scale, rscales = 4.0 / n_rep, np.ones(n_rep)
        elif type == "JK2":
            scale, rscales = 1.0, np.ones(n_rep)
        if rscales is None:
            rscales = np.ones(n_rep)
        if fpc is not None:  # R: rscales * (1 - sampling fraction) or * the correction
            if type not in ("JK1", "JKn", "other"):
                raise EstimationError(f"fpc= is not available for type='{type}'; expected it "
                                      "for JK1, JKn or other")
            f = np.asarray(fpc, float).reshape(-1)
            if f.size != n_rep or np.any((f < 0) | (f > 1)):
                raise EstimationError(f"fpc has {f.size} values in [{f.min():g}, {f.max():g}]; "
                                      f"expected {n_rep} values in [0, 1], one per replicate")
            if fpctype not in ("fraction", "correction"):
                raise EstimationError(f"fpctype={fpctype!r}; expected 'fraction' or "
                                      "'correction'")
            rscales = rscales * (1 - f if fpctype == "fraction" else f)
        analysis = m if combined_weights else m * w[:, None]
        self._set(frame, w, analysis, type, 1.0 if scale is None else float(scale),
                  np.ones(n_rep) if rscales is None else rscales, mse, codebook, edition, rho)

    @classmethod
    def _make(cls, frame, w, analysis, type_, scale, rscales, mse, codebook, edition, rho):
        new = object.__new__(cls)
        new._set(frame, w, analysis, type_, float(scale), np.asarray(rscales, float), mse,
                 codebook, edition, rho)
        return new

    def _set(self, frame, w, analysis, type_, scale, rscales, mse, codebook, edition, rho):
        self.frame, self.pweights, self.repweights = frame, w, analysis
        self.type, self.scale, self.rscales, self.mse, self.rho = type_, scale, rscales, \
            bool(mse), rho
        self.codebook, self.edition = codebook, edition
        self.degf = rank_degf(np.column_stack([analysis]))
        for a in (self.pweights, self.repweights, self.rscales):
            a.setflags(write=False)

    @property
    def weights(self) -> np.ndarray:
        return self.pweights

    @property
    def n(self) -> int:
        return self.frame.height

    def subset(self, where: Any) -> ReplicateDesign:
        """The design restricted to the rows where ``where`` (a polars expression or a
        Boolean mask) holds, as R's ``subset`` of a replicate design (rows dropped, ``degf``
        recomputed; estimates equal domain estimates of the whole design)."""
        mask = where if isinstance(where, np.ndarray) else \
            self.frame.select(pl.lit(True) & where).to_series().fill_null(False).to_numpy()
        mask = np.asarray(mask, bool)
        if mask.shape != (self.n,) or not mask.any():
            raise EstimationError("subset selects no respondents; expected a condition that "
                                  "holds for some")
        return ReplicateDesign._make(self.frame.filter(pl.Series(mask)), self.pweights[mask],
                                     self.repweights[mask], self.type, self.scale,
                                     self.rscales, self.mse, self.codebook, self.edition,
                                     self.rho)

    def with_mse(self, mse: bool = True) -> ReplicateDesign:
        """The same design with ``mse`` switched (centre on the full-sample estimate)."""
        return ReplicateDesign._make(self.frame, self.pweights, self.repweights, self.type,
                                     self.scale, self.rscales, mse, self.codebook,
                                     self.edition, self.rho)

    def with_columns(self, *exprs: Any, **named: Any) -> ReplicateDesign:
        """The design with columns added or replaced (weights kept)."""
        return ReplicateDesign._make(self.frame.with_columns(*exprs, **named), self.pweights,
                                     self.repweights, self.type, self.scale, self.rscales,
                                     self.mse, self.codebook, self.edition, self.rho)

    def __repr__(self) -> str:
        return (f"ReplicateDesign(n={self.n}, type={self.type!r}, replicates="
                f"{self.repweights.shape[1]}, scale={self.scale:.6g}, mse={self.mse})")

    # -------------------------------------------------------------- variance
    def all_weights(self) -> np.ndarray:
        """(n, 1 + R): the full-sample weights, then the replicates (C-ordered)."""
        return np.ascontiguousarray(np.column_stack([self.pweights, self.repweights]))

    def svrvar(self, thetas: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """R's ``svrVar``: covariance (k, k) of replicate estimates ``thetas`` (R, k)."""
        thetas = np.asarray(thetas, float).reshape(self.repweights.shape[1], -1)
        rscales = self.rscales
        bad = np.isnan(thetas).any(1)
        if bad.any():  # R's na.action: replicates without a value are left out, with a warning
            if bad.all():
                return np.full((thetas.shape[1], thetas.shape[1]), np.nan)
            warnings.warn(f"{int(bad.sum())} replicates gave no value (no weight in the domain) "
                          "and were left out of the variance, as R", UserWarning, stacklevel=3)
            thetas, rscales = thetas[~bad], rscales[~bad]
        c = np.asarray(coef, float).reshape(-1) if self.mse else thetas[rscales > 0].mean(0)
        d = (thetas - c) * np.sqrt(rscales)[:, None]
        return self.scale * (d.T @ d)

    # -------------------------------------------------------------- estimators
    def by(self, *groups: str) -> ReplicateBy:
        """Domain estimators by the combinations of ``groups`` (R's ``svyby``)."""
        return ReplicateBy(self, tuple(groups))

    def mean(self, var: str | Sequence[str], na_rm: str = "listwise") -> pl.DataFrame:
        """Means with replicate SEs (``svymean(~var, design, na.rm = TRUE, deff = "replace")``;
        ``na_rm="available"``: each variable on its own rows)."""
        return self.by().mean(var, na_rm)

    def total(self, var: str | Sequence[str], na_rm: str = "listwise") -> pl.DataFrame:
        """Totals with replicate SEs (R: ``svytotal``); ``na_rm`` as :meth:`mean`."""
        return self.by().total(var, na_rm)

    def proportion(self, var: str | Sequence[str], ci: str = "logit",
                   level: float = 0.95, base: str = "cases") -> pl.DataFrame:
        """Shares of the levels of a categorical column or of Boolean columns, with
        ``svyciprop`` intervals on ``degf`` df (``logit``: the replicate variance of the logit,
        as R's quasi-binomial svyglm; ``xlogit``, ``asin``, ``beta``, ``wald``/``mean``).

        ``base="cases"``: percent of respondents; ``"responses"``: percent of all selections
        of a multi-select (Boolean columns): each option's weighted total over the weighted
        total of options chosen, recomputed with every replicate's weights, i.e. R's
        ``svyratio(~opt_a + opt_b, ~n_chosen, svrepdesign)`` with ``n_chosen = opt_a + opt_b``
        (rows missing any option left out). ``deff`` is NaN (no SRS reference for a share of
        responses); intervals are the ``ci`` methods applied to the ratio and its SE (R has no
        ``svyciprop`` of a ratio).

        Example:
            >>> import polars as pl
            >>> from survey.design import Design
            >>> f = pl.DataFrame({"a": [True, True, False, True], "b": [True, False, True, False]})
            >>> r = Design(f).replicates("JK1").proportion(["a", "b"], base="responses")
            >>> [round(v, 4) for v in r["estimate"]]
            [0.6, 0.4]
        """
        return self.by().proportion(var, ci, level, base)

    def calibrate(self, population, calfun: str = "linear", bounds=None, **kw):
        """Calibrate the full-sample and every replicate's weights (R's ``calibrate``)."""
        from survey.design.calibrate import calibrate_replicates

        return calibrate_replicates(self, population, calfun, bounds, **kw)

    def post_stratify(self, strata, population):
        """Post-stratify the full sample and every replicate (R's ``postStratify``)."""
        from survey.design.calibrate import post_stratify_replicates

        return post_stratify_replicates(self, strata, population)

    def glm(self, formula: str, family: str = "gaussian"):
        """Design-based GLM through the replicates (R's ``svyglm`` on a ``svrep.design``)."""
        from survey.design.glm import svyglm_replicate

        return svyglm_replicate(self, formula, family)

    def chisq(self, row: str, col: str, statistic: str = "F", method: str = "integration"):
        """Tests of association (R's ``svychisq`` on a replicate design); ``method`` as
        :func:`survey.design.tests.svychisq`."""
        from survey.design.tests import svychisq

        return svychisq(self, row, col, statistic, method)

    def quantile(self, var, probs=(0.5,), **kw):
        """Quantiles (R's ``svyquantile``); see :func:`survey.design.quantile.quantile`."""
        from survey.design.quantile import quantile

        return quantile(self, var, probs, **kw)

    def ratio(self, numerator, denominator):
        """Ratios of totals (R's ``svyratio``); see :func:`survey.design.estimators.ratio`."""
        from survey.design.estimators import ratio

        return ratio(self, numerator, denominator)

    def var(self, var, covariance: bool = False):
        """Population variances (R's ``svyvar``); see :func:`survey.design.estimators.var`."""
        from survey.design.estimators import var as _var

        return _var(self, var, covariance)

    def estimates(self, stat: str, var, **kw):
        """Estimates with their covariance for contrasts; see :mod:`survey.design.contrast`."""
        from survey.design.contrast import estimates

        return estimates(self, stat, var, **kw)


class ReplicateBy:
    """Estimators of a :class:`ReplicateDesign` by domains."""

    def __init__(self, design: ReplicateDesign, groups: tuple[str, ...]) -> None:
        self.design, self.groups = design, groups
        self.dom = Groups.of(design.frame, groups)

    def mean(self, var: str | Sequence[str], na_rm: str = "listwise") -> pl.DataFrame:
        """Domain means; ``na_rm`` as :meth:`survey.design.Design.mean` (``"listwise"``: rows
        missing any of the variables are left out, R's ``na.rm = TRUE``; ``"available"``:
        each variable on its own rows)."""
        return self._frame(*self._ratios(var, "mean", na_rm))

    def total(self, var: str | Sequence[str], na_rm: str = "listwise") -> pl.DataFrame:
        """Domain totals; ``na_rm`` as :meth:`mean`."""
        return self._frame(*self._ratios(var, "total", na_rm))

    def proportion(self, var: str | Sequence[str], ci: str = "logit",
                   level: float = 0.95, base: str = "cases") -> pl.DataFrame:
        """Domain shares; ``base`` as :meth:`ReplicateDesign.proportion`."""
        if base not in ("cases", "responses"):
            raise EstimationError(f"base={base!r}; expected 'cases' or 'responses'", value=base)
        items = proportion_items(self.design.frame, var)
        if base == "responses":
            return self._responses(items, ci, level)
        names, levels, est, se, deff, n, reps = self._estimate(items, "mean")
        ok = np.column_stack([it[3] for it in items])
        lo, hi = self._prop_ci(est, se, reps, ok, ci, level)
        return self._frame(names, levels, est, se, lo, hi, deff, n, [it[3] for it in items])

    def _responses(self, items: list[tuple], ci: str, level: float) -> pl.DataFrame:
        """Shares of responses: ``svyratio`` of every option over the options chosen."""
        from survey.design.estimators import domain_ratios

        if any(it[1] != "true" for it in items):
            raise EstimationError(f"base='responses' needs the Boolean columns of a "
                                  f"multi-select; got the levels of '{items[0][0]}'",
                                  column=items[0][0])
        a = np.logical_and.reduce([it[3] for it in items])
        chosen = np.sum([np.where(a, it[2], 0.0) for it in items], axis=0)
        _, _, est, cov, n, reps = domain_ratios(self, [(it[2], a) for it in items],
                                                [chosen] * len(items),
                                                labels=[it[0] for it in items])
        se = np.sqrt(np.maximum(np.diag(cov), 0.0)).reshape(est.shape)
        ok = np.repeat(a[:, None], len(items), axis=1)
        lo, hi = self._prop_ci(est, se, reps, ok, ci, level)
        return self._frame([it[0] for it in items], [it[1] for it in items], est, se, lo, hi,
                           np.full(est.shape, np.nan), n, [a] * len(items))

    def _prop_ci(self, est, se, reps, ok, ci, level):
        """``svyciprop``-style limits of shares ``est`` (D, J) from their replicates."""
        d = self.design
        nj = est.shape[1]
        nrow = np.stack([np.bincount(self.dom.code[(self.dom.code >= 0) & ok[:, j]],
                                     minlength=self.dom.n_dom) for j in range(nj)], 1)
        df = np.array([[self._degf(k, ok[:, j]) for j in range(nj)]
                       for k in range(self.dom.n_dom)], float)
        if ci == "logit":
            with np.errstate(divide="ignore", invalid="ignore"):
                reps = reps.reshape(reps.shape[0], -1)
                lg = np.log(reps / (1 - reps))
                lg0 = np.log(est / (1 - est))
            v = np.array([d.svrvar(lg[:, k], lg0.reshape(-1)[k])[0, 0]
                          for k in range(est.size)]).reshape(est.shape)
            t = stats.t.ppf(0.5 + level / 2, df)
            lo, hi = (1 / (1 + np.exp(-(lg0 + s * t * np.sqrt(v)))) for s in (-1, 1))
        elif ci == "likelihood":
            raise EstimationError("ci='likelihood' is not available for replicate designs; "
                                  "expected 'logit', 'xlogit', 'asin', 'beta' or 'wald'")
        else:
            lo, hi = proportion_ci(est, se, df, ci, level, nrow.astype(float))
        return lo, hi

    # -------------------------------------------------------------- engine
    def _degf(self, k: int, ok: np.ndarray) -> float:
        """R's ``degf`` of the design (whole sample) or of the domain's subset design."""
        if not self.groups:
            return float(self.design.degf)
        rows = (self.dom.code == k) & ok
        return float(rank_degf(self.design.repweights[rows]))

    def _ratios(self, var, kind, na_rm="listwise"):
        if na_rm not in ("listwise", "available"):
            raise EstimationError(f"na_rm={na_rm!r}; expected 'listwise' or 'available'",
                                  value=na_rm)
        items = [(v, None, *_numeric(self.design.frame, v)[:2]) for v in _as_list(var)]
        if na_rm == "listwise" and len(items) > 1:
            both = np.logical_and.reduce([it[3] for it in items])
            items = [(v, lv, y, both) for v, lv, y, _ in items]
        names, levels, est, se, deff, n, _ = self._estimate(items, kind)
        z = stats.norm.ppf(0.975)
        return (names, levels, est, se, est - z * se, est + z * se, deff, n,
                [it[3] for it in items])

    def _estimate(self, items, kind):
        """Estimates, SEs, deff "replace", counts (D, J) and the replicates (R, D*J)."""
        d, dom = self.design, self.dom
        wall = d.all_weights()
        nd, nj = dom.n_dom, len(items)
        est = np.empty((nd, nj))
        reps = np.empty((wall.shape[1] - 1, nd, nj))
        nobs = np.empty((nd, nj))
        s2 = np.empty((nd, nj))
        wsum = np.empty((nd, nj))
        code = np.where(dom.code >= 0, dom.code, 0)
        for j, (_, _, y, a) in enumerate(items):
            nobs[:, j] = dom.counts(a)
            if np.any(nobs[:, j] == 0):
                k = int(np.flatnonzero(nobs[:, j] == 0)[0])
                raise EmptySegmentError(f"variable '{items[j][0]}' has no answers in domain "
                                        f"{dom.name(k)}; expected at least one respondent",
                                        column=items[j][0], value=dom.name(k))
            yy = np.where(a, y, 0.0).astype(float)
            den = dom.sums(None, a, wall)  # (D, 1 + R)
            mu = dom.sums(yy, a, d.pweights) / den[:, 0]
            mu = mu + dom.sums(yy - mu[code], a, d.pweights) / den[:, 0]  # second pass
            dev = np.where(a, yy - mu[code], 0.0)  # centred in the domain (stable)
            with np.errstate(divide="ignore", invalid="ignore"):  # a replicate without
                means = mu[:, None] + dom.sums(dev, a, wall) / den  # the domain: NaN, left out
            vals = means if kind == "mean" else means * den
            est[:, j], reps[:, :, j] = vals[:, 0], vals[:, 1:].T
            wsum[:, j] = den[:, 0]
            s2[:, j] = dom.sums(dev * dev, a, d.pweights) / den[:, 0] \
                * nobs[:, j] / np.maximum(nobs[:, j] - 1, 1)
        flat = reps.reshape(reps.shape[0], -1)
        var = np.array([d.svrvar(flat[:, k], est.reshape(-1)[k])[0, 0]
                        for k in range(est.size)]).reshape(est.shape)
        vsrs = s2 / nobs if kind == "mean" else s2 * wsum**2 / nobs
        with np.errstate(divide="ignore", invalid="ignore"):
            deff = np.where(vsrs > 0, var / vsrs, np.nan)
        names = [it[0] for it in items]
        levels = [it[1] for it in items]
        return names, levels, est, np.sqrt(np.maximum(var, 0.0)), deff, nobs, reps

    def _frame(self, names, levels, est, se, lo, hi, deff, n, valid) -> pl.DataFrame:
        """The output frame; ``n_eff``: Kish's effective base of each estimate's respondents
        (``valid``: their masks, one per item), as :meth:`survey.design.Design.mean`."""
        pw = self.design.pweights
        pw = pw.reshape(-1, 1) if pw.ndim == 1 else pw
        n_eff = np.empty_like(np.asarray(est, float))
        for j, a in enumerate(valid):
            sw, sw2 = self.dom.sums(None, a, pw)[:, 0], self.dom.sums(None, a, pw * pw)[:, 0]
            with np.errstate(divide="ignore", invalid="ignore"):
                n_eff[:, j] = np.where(sw2 > 0, sw * sw / sw2, 0.0)
        return frame_of(self.dom, names, levels, {
            "estimate": est, "se": se, "ci_low": lo, "ci_high": hi, "deff": deff, "n": n,
            "n_eff": n_eff})

    def quantile(self, var, probs=(0.5,), **kw):
        from survey.design.quantile import quantile

        return quantile(self, var, probs, **kw)

    def ratio(self, numerator, denominator):
        from survey.design.estimators import ratio

        return ratio(self, numerator, denominator)

    def var(self, var, covariance: bool = False):
        from survey.design.estimators import var as _var

        return _var(self, var, covariance)

    def estimates(self, stat: str, var, **kw):
        from survey.design.contrast import estimates

        return estimates(self, stat, var, **kw)


# ---------------------------------------------------------------------- helpers
def rank_degf(weights: np.ndarray) -> int:
    """R's ``degf`` of a replicate design: rank of the analysis weights (tol 1e-5) minus 1."""
    if weights.size == 0:
        return 0
    m = np.asarray(weights, float)
    if m.shape[0] > 2 * m.shape[1]:  # rows repeating a pattern (a PSU's rows) add no rank
        scale = np.abs(m).max(1)
        key = np.round((m @ np.random.default_rng(0).random(m.shape[1]))
                       / np.where(scale > 0, scale, 1.0), 10)
        m = m[np.unique(key, return_index=True)[1]]
    r = linalg.qr(m, mode="r", pivoting=True)[0]
    d = np.abs(np.diag(r))
    return int((d > 1e-5 * d[0]).sum()) - 1 if d.size and d[0] > 0 else 0


def _rep_columns(frame: pl.DataFrame, spec: str | Sequence[str]) -> list[str]:
    if isinstance(spec, str):
        if spec in frame.columns:
            return [spec]
        names = [c for c in frame.columns if re.search(spec, c)]
        if not names:
            raise EstimationError(f"no column matches the replicate-weight pattern {spec!r}; "
                                  "expected replicate weight columns", column=spec)
        return names
    names = list(spec)
    for c in names:
        _column(frame, c, "replicate weight")
    if not names:
        raise EstimationError("no replicate weight columns given")
    return names


def _as_list(var: str | Sequence[str]) -> list[str]:
    return [var] if isinstance(var, str) else list(var)


def proportion_items(frame: pl.DataFrame, var: str | Sequence[str]) -> list[tuple]:
    """(variable, level, 0/1 values, validity) per level of a categorical column or per
    Boolean column."""
    cols = _as_list(var)
    if len(cols) == 1 and frame.schema.get(cols[0]) != pl.Boolean:
        codes, levels = _level_codes(frame, cols[0], "proportion", allow_null=True)
        return [(cols[0], lv, (codes == k).astype(float), codes >= 0)
                for k, lv in enumerate(levels)]
    out = []
    for c in cols:
        y, a, binary = _numeric(frame, c)
        if not binary:
            raise EstimationError(f"variable '{c}' is not binary; expected Boolean columns",
                                  column=c)
        out.append((c, "true", y.astype(float), a))
    return out
