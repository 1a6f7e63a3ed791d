"""The survey design: weights, strata, PSUs, calibration; estimators as polars frames.

A :class:`Design` is immutable; ``rake`` returns a new one. Estimators return polars frames with
``estimate, se, ci_low, ci_high, deff, n, n_eff`` (plus ``variable``/``level`` and, for
``by()``, the group columns). Everything is matched to R's ``survey`` package (see
``tests/oracle``):

* ``Design(frame, weights="w")`` is ``svydesign(ids = ~1, weights = ~w)`` (one stage, with
  replacement); ``ids``/``strata`` give ``svydesign(ids = ~psu, strata = ~st, nest = TRUE)``;
  ``fpc`` is a column of population PSU counts per stratum (or sampling fractions <= 1);
  ``ids=[...]``/``fpc=[...]`` give multistage designs (R's ``id = ~dnum + snum``), and
  ``lonely_psu`` is ``options(survey.lonely.psu)``. Without weights, an fpc gives R's weights.
* ``subset(where)``: R's ``subset(design, ...)`` (domain estimation on the full design); every
  estimator takes ``where=``. See ``docs/engine.md``.
* ``mean``/``total``: ``svymean``/``svytotal`` with ``na.rm = TRUE`` (missing values are a domain,
  not zeros); intervals are ``estimate +- z se`` as R's ``confint()`` of a ``svystat``.
* ``deff`` is R's ``deff = "replace"``: design variance over the variance under simple random
  sampling *with replacement* of the same number of respondents, ``s^2 / n`` with
  ``s^2 = n / (n - 1) * sum w (y - ybar)^2 / sum w`` (``s^2 W^2 / n`` for totals). R's
  ``deff = TRUE`` (without replacement) is this times ``W / (W - n)``.
* ``n_eff`` is Kish's effective base of the estimate's respondents, ``(sum w)^2 / sum w^2``
  (the weights only; ``deff`` carries the design: strata, clusters, calibration).
* ``proportion``: ``svyciprop`` intervals (``ci.py``) with ``df = degf`` of the domain.
* ``by``: ``svyby(~y, ~g, design, FUN)`` domain estimation on the full design.
* ``proportion(..., base="responses")``: ``svyratio(~option, ~selections)``.
* ``trim``: ``trimWeights``; ``glm``: ``svyglm`` / ``svyolr``; ``chisq``: ``svychisq``.
* ``with_columns``: derived columns on the same design (weights, strata, PSUs, raking kept).

Example:
    >>> import polars as pl
    >>> d = Design(pl.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "w": [1.0, 1.0, 2.0, 2.0]}), weights="w")
    >>> round(d.mean("y")["estimate"][0], 12), d.mean("y")["n"][0]
    (2.833333333333, 4)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from survey.design import calibrate as _calibrate
from survey.design import contrast as _contrast
from survey.design import estimators as _estimators
from survey.design import quantile as _quantile
from survey.design import replicate as _replicate
from survey.design import variance as V
from survey.design._columns import _column, _level_codes, _numeric  # noqa: F401 (re-exported)
from survey.design._domain import DesignBy
from survey.design.rake import cells_of, rake_cells, resolve_targets
from survey.errors import EmptySegmentError, EstimationError, SurveyError, WeightingError


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
        weights: a weight column or the weights (default: from ``fpc`` when given, as R,
            with a warning; else equal weights).
        ids: the PSU column, or one column per sampling stage (``["district", "school"]``);
            ids are nested in strata and in the units of the stage above.
        strata: the stratum column (or one per stage).
        fpc: per stage, population unit counts per stratum (or sampling fractions <= 1);
            stages without one are with replacement; without any, only stage 1 counts.
        lonely_psu: strata with one sampled unit: "fail" (default, an error), "remove",
            "certainty", "adjust" or "average", as R's ``options(survey.lonely.psu)``.
        codebook: a :class:`survey.codebook.Codebook` for labelled output by question id.
        edition: the survey edition, used by :func:`survey.compare_waves` to check that two
            editions are comparable (:func:`survey.standard_design` sets it).

    Attributes: ``frame``, ``weights``, ``n``, ``diagnostics`` (weighting diagnostics),
    ``codebook``, ``edition``, ``degf``, ``lonely_psu``; after :meth:`subset`: ``where``,
    ``in_subset``, ``n_subset``.

    Example:
        >>> import polars as pl
        >>> d = Design(pl.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "w": [1.0, 1.0, 2.0, 2.0]}), "w")
        >>> round(d.mean("y")["estimate"][0], 4)
        2.8333
        >>> f = pl.DataFrame({"st": [1, 1, 1, 1, 2, 2, 2, 2], "psu": [1, 1, 2, 2, 3, 3, 4, 4],
        ...                   "ssu": [1, 2, 1, 2, 1, 2, 1, 2], "N1": [10] * 8, "N2": [5] * 8,
        ...                   "w": [12.5] * 8, "y": [1.0, 2, 3, 4, 5, 6, 7, 9]})
        >>> two = Design(f, "w", ids=["psu", "ssu"], strata="st", fpc=["N1", "N2"])
        >>> round(float(two.mean("y")["se"][0]), 6)  # R: svydesign(id = ~psu + ssu, ...)
        0.725
    """

    __slots__ = ("_cache", "_cal", "_margins", "_st", "_subset", "_variance", "_w",
                 "_weighting_note", "_where", "codebook", "diagnostics", "edition", "frame",
                 "weighting")

    def __init__(self, frame: pl.DataFrame, weights: str | Sequence[float] | None = None,
                 ids: str | Sequence[str] | None = None,
                 strata: str | Sequence[str] | None = None,
                 fpc: str | Sequence[str] | None = None, codebook: Any = None,
                 edition: int | None = None, *, lonely_psu: str = "fail") -> None:
        n = frame.height
        if n < 2:
            raise EstimationError(f"a design needs at least 2 respondents; found {n}")
        arr = {k: [_structure_column(frame, c, k) for c in _names(v)]
               for k, v in (("ids", ids), ("strata", strata), ("fpc", fpc))}
        st = V.make_structure(arr["strata"] or None, arr["ids"] or None, arr["fpc"] or None, n,
                              lonely_psu=lonely_psu, names=_names(ids))
        if weights is None and arr["fpc"]:
            w = _weights_from_fpc(st)
        elif weights is None:
            w = np.ones(n)
        else:
            col = (_column(frame, weights, "weights column") if isinstance(weights, str)
                   else pl.Series(weights))
            if col.null_count():
                raise EstimationError(f"weights '{weights}' have {col.null_count()} missing "
                                      "values; expected a weight for every respondent",
                                      column=str(weights))
            if not (col.dtype.is_numeric() or col.dtype == pl.Boolean):
                raise EstimationError(f"weights '{weights}' are {col.dtype}; expected numbers",
                                      column=str(weights))
            w = col.cast(pl.Float64).to_numpy().copy()
            if len(w) != n or not np.all(np.isfinite(w)) or np.any(w <= 0):
                raise EstimationError(f"weights '{weights}' must be finite and > 0 for all "
                                      f"{n} respondents", column=str(weights))
        self._init(frame, w, st, None, None, "calibrated", Diagnostics.of(w), codebook, edition)
        object.__setattr__(self, "weighting", "none" if np.all(w == w[0]) else "given")
        object.__setattr__(self, "_weighting_note", None)

    def _init(self, frame, w, st, cal, margins, variance, diag, codebook, edition=None,
              subset=None, where=None) -> None:
        for k, v in (("frame", frame), ("_w", w), ("_st", st), ("_cal", cal),
                     ("_margins", margins), ("_variance", variance), ("diagnostics", diag),
                     ("codebook", codebook), ("edition", edition), ("_subset", subset),
                     ("_where", where)):
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_cache", {})  # domains and layouts of by(), see _domain.py
        w.setflags(write=False)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Design is immutable; methods return new designs")

    calibrate = _calibrate.calibrate  # GREG calibration (R's calibrate), see calibrate.py
    post_stratify = _calibrate.post_stratify  # R's postStratify
    replicates = _replicate.replicates  # R's as.svrepdesign, see replicate.py
    quantile = _quantile.quantile  # R's svyquantile, see quantile.py
    ratio = _estimators.ratio  # R's svyratio, see estimators.py
    var = _estimators.var  # R's svyvar
    estimates = _contrast.estimates  # estimates with covariance for contrast()

    def _replace(self, **kw: Any) -> Design:
        new = object.__new__(Design)
        cur = {k: getattr(self, k) for k in self.__slots__ if k != "_cache"}
        cur.update(kw)
        new._init(cur["frame"], cur["_w"], cur["_st"], cur["_cal"], cur["_margins"],
                  cur["_variance"], cur["diagnostics"], cur["codebook"], cur["edition"],
                  cur["_subset"], cur["_where"])
        object.__setattr__(new, "weighting", cur["weighting"])
        object.__setattr__(new, "_weighting_note", cur["_weighting_note"])
        return new

    def with_weighting(self, kind: str, note: Mapping[str, str] | None = None) -> Design:
        """A copy that says how it was weighted: ``kind`` ("raked", "given" or "none") and a
        sentence per language for the report (:meth:`weighting_note`).

        Example:
            >>> d = Design(pl.DataFrame({"y": [1.0, 2.0]})).with_weighting("none", {"zh": "未加权。"})
            >>> d.weighting, d.weighting_note("zh"), d.weighting_note("en")
            ('none', '未加权。', '')
        """
        if kind not in ("raked", "given", "none"):
            raise SurveyError(f"unknown weighting kind {kind!r}", value=kind,
                              expected="'raked', 'given' or 'none'")
        return self._replace(weighting=kind, _weighting_note=dict(note) if note else None)

    def weighting_note(self, lang: str = "zh") -> str:
        """The sentence on how the design was weighted, in ``lang`` ("" when none was set)."""
        return (self._weighting_note or {}).get(lang, "")

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
        """Final weights (read-only array); 0 outside a :meth:`subset` (R's weights of a
        subset of a calibrated design), so weighted sums over all rows are domain sums."""
        if self._subset is None:
            return self._w
        w = np.where(self._subset, self._w, 0.0)
        w.setflags(write=False)
        return w

    @property
    def n(self) -> int:
        """Rows of the frame (the whole sample, also for a subset: see :attr:`n_subset`)."""
        return self.frame.height

    @property
    def in_subset(self) -> np.ndarray:
        """Boolean mask of the rows in the :meth:`subset` (all ``True`` without one)."""
        return np.ones(self.frame.height, bool) if self._subset is None else self._subset

    @property
    def n_subset(self) -> int:
        """Respondents in the :meth:`subset` (``n`` without one)."""
        return self.frame.height if self._subset is None else int(self._subset.sum())

    @property
    def where(self) -> str | None:
        """The filter of a :meth:`subset` as text (``None`` for the whole sample)."""
        return self._where

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata with respondents in the subset (R's
        ``degf``)."""
        st = self._st
        if self._subset is None:
            return st.n_psus - st.n_strata
        rows = self._subset
        psus = len(np.unique(st.psu[rows])) if st.psu is not None else int(rows.sum())
        return psus - len(np.unique(st.stratum[rows]))

    @property
    def lonely_psu(self) -> str:
        """The rule for strata with one PSU (R's ``options(survey.lonely.psu)``)."""
        return self._st.lonely_psu

    @property
    def _cal_active(self) -> V.Calibration | None:
        return self._cal if self._variance == "calibrated" else None

    def _vcov_totals(self, z: np.ndarray) -> np.ndarray:
        """Covariance of the estimated totals of the columns of the influence matrix ``z``
        (rows outside the subset count as zeros: domain estimation)."""
        z = np.asarray(z, float)
        if self._subset is not None:
            z = np.where(self._subset.reshape(-1, *([1] * (z.ndim - 1))), z, 0.0)
        return V.vcov_totals(z, self._st, self._cal_active, self._w, self._subset)

    # ------------------------------------------------------------------ filters
    def subset(self, where: Any) -> Design:
        """The design restricted to the rows where ``where`` holds: R's ``subset(design, ...)``.

        This is *the* way to filter (every ``where=`` argument of the package comes here).
        It is domain estimation on the full design, not a smaller design: rows outside keep
        their strata, PSUs, fpc and calibration and contribute zeros, so standard errors are
        R's ``svymean(~y, subset(design, cond))`` (filtering the frame first would drop PSUs
        and strata and give other SEs). Estimators, ``by()``, ``degf`` and ``n`` of the
        output count the subset only; :attr:`weights` are 0 outside it.

        ``where``: a polars expression (``pl.col("industry").is_in([...])``), a SQL
        expression string (``"industry IN ('美妆个护', '食品饮料') AND size > 2"``), a Boolean
        column name, or a Boolean mask of one value per row; missing values count as false
        (R's ``r & !is.na(r)``). ``None`` returns the design itself. Subsets of subsets
        combine with AND.

        Example:
            >>> import polars as pl
            >>> f = pl.DataFrame({"g": ["a", "a", "b", "b"], "y": [1.0, 2.0, 3.0, 5.0]})
            >>> s = Design(f).subset(pl.col("g") == "b")
            >>> s.mean("y").select("estimate", "n").row(0), s.where
            ((4.0, 2), '[(col("g")) == ("b")]')
        """
        if where is None:
            return self
        mask, label = _where_mask(self.frame, where)
        if self._subset is not None:
            mask = mask & self._subset
            label = f"{self._where} & {label}"
        if not mask.any():
            raise EmptySegmentError(f"subset {label} has no respondents; expected at least one",
                                    value=label)
        mask.setflags(write=False)
        return self._replace(_subset=mask, _where=label)

    def _refuse_subset(self, what: str) -> None:
        if self._subset is not None:
            raise WeightingError(f"{what} of a subset ({self._where}); expected {what} of the "
                                 "whole sample first, then subset()")

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
        self._refuse_subset("rake()")
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
        self._refuse_subset("trim()")
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
    def mean(self, var: str | Sequence[str], *, na_rm: str = "listwise",
             where: Any = None) -> pl.DataFrame:
        """Weighted means with linearization SEs (R: ``svymean(~var, design, na.rm=TRUE)``).

        ``na_rm`` for several variables: ``"listwise"`` (default, R's: rows valid for all of
        them) or ``"available"`` (each variable on its own valid rows). ``where``: a filter,
        as :meth:`subset` (domain estimation).

        Example:
            >>> import polars as pl
            >>> f = pl.DataFrame({"a": [1.0, 2.0, 3.0, None], "b": [None, 1.0, 1.0, 2.0]})
            >>> Design(f).mean(["a", "b"])["estimate"].to_list()
            [2.5, 1.0]
            >>> Design(f).mean(["a", "b"], na_rm="available")["estimate"].round(3).to_list()
            [2.0, 1.333]
        """
        return self.by(where=where).mean(var, na_rm=na_rm)

    def total(self, var: str | Sequence[str], *, na_rm: str = "listwise",
              where: Any = None) -> pl.DataFrame:
        """Weighted totals (R: ``svytotal(~var, design, na.rm=TRUE)``); arguments as
        :meth:`mean`."""
        return self.by(where=where).total(var, na_rm=na_rm)

    def proportion(self, var: str | Sequence[str], ci: str = "logit", level: float = 0.95,
                   base: str = "cases", lang: str = "zh", *, na_rm: str = "listwise",
                   where: Any = None) -> pl.DataFrame:
        """Share of each level of a categorical column, or of each Boolean column given.

        ``base="cases"``: percent of respondents; ``"responses"``: percent of all selections
        (multi-select). Intervals as R's ``svyciprop(method=ci)``. ``na_rm`` and ``where`` as
        :meth:`mean`.
        """
        return self.by(where=where).proportion(var, ci=ci, level=level, base=base, lang=lang,
                                               na_rm=na_rm)

    def by(self, *groups: str, where: Any = None) -> DesignBy:
        """Domain estimators by the combinations of ``groups`` (R's ``svyby``).

        The output starts with one column per group variable, named as the variable; a group
        variable named like an output column (``variable``, ``level``, ``label``, ``estimate``,
        ``se``, ``ci_low``, ``ci_high``, ``deff``, ``n``, ``n_eff``) is named ``<name>_group``.
        ``where`` restricts to a :meth:`subset` first.
        """
        return DesignBy(self.subset(where), tuple(groups))

    def chisq(self, row: str, col: str, statistic: str = "F", method: str = "integration"):
        """Rao-Scott test of independence (R's ``svychisq``); ``method``: the p-value method of
        ``statistic="lincom"`` (``"integration"``, ``"saddlepoint"``, ``"satterthwaite"``);
        see ``survey.design.tests``."""
        from survey.design.tests import svychisq

        return svychisq(self, row, col, statistic, method=method)

    def glm(self, formula: str, family: str = "gaussian"):
        """Design-based GLM: ``family`` "gaussian" or "binomial" (R's ``svyglm``), or "ordinal"
        (proportional-odds logistic, R's ``svyolr``); see ``survey.design.glm``."""
        from survey.design.glm import svyglm

        _check_formula(self.frame, formula)
        return svyglm(self, formula, family)

    def __repr__(self) -> str:
        cal = "raked" if self._cal is not None else "not raked"
        stages = f", stages={len(self._st.stages)}" if len(self._st.stages) > 1 else ""
        sub = f", subset={self._where!r} (n={self.n_subset})" if self._subset is not None else ""
        return (f"Design(n={self.n}, strata={self._st.n_strata}, psus={self._st.n_psus}"
                f"{stages}, {cal}, variance={self._variance!r}{sub})")




# ---------------------------------------------------------------------- helpers
def _names(v: str | Sequence[str] | None) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


def _structure_column(frame: pl.DataFrame, name: str, role: str) -> np.ndarray:
    """Values of an ids / strata / fpc column, refused clearly when absent or incomplete."""
    s = _column(frame, name, {"ids": "ids column", "strata": "strata column",
                              "fpc": "fpc column"}[role])
    if s.null_count():
        raise EstimationError(f"{role} column '{name}' has {s.null_count()} missing values; "
                              "expected a value for every respondent", column=name)
    if role == "fpc" and not s.dtype.is_numeric():
        raise EstimationError(f"fpc column '{name}' is {s.dtype}; expected population counts "
                              "or sampling fractions", column=name)
    if role != "fpc" and not s.dtype.is_numeric():  # strings, Enum, Boolean: sorted codes
        return _level_codes(frame, name, for_what="the design")[0]
    return s.to_numpy()


def _weights_from_fpc(st: V.Structure) -> np.ndarray:
    """R's weights when only ``fpc`` is given: the product over stages of ``N / n``."""
    import warnings

    w = np.ones(st.n)
    for k, sg in enumerate(st.stages):
        if not np.all(sg.frac > 0):
            raise EstimationError(f"weights not given and stage {k + 1} has no fpc; expected "
                                  "weights, or an fpc for every stage to derive them (as R)")
        w = w / sg.frac[sg.stratum]
    warnings.warn("no weights given: using the inverse sampling fractions of the fpc "
                  "(N / n per stage), as R's svydesign", UserWarning, stacklevel=3)
    return w


def _check_formula(frame: pl.DataFrame, formula: str) -> None:
    """Refuse, with the fix, formula names patsy would misread (``avg.ed`` is attribute access)."""
    import re

    if not isinstance(formula, str) or "~" not in formula:
        raise EstimationError(f"formula {formula!r}; expected 'y ~ x1 + x2'", value=formula)
    bare = re.sub(r"(['\"]).*?\1", "", formula)  # names inside Q("...") are quoted
    for name in re.findall(r"[A-Za-z_][\w.]*", bare):
        if "." in name and name in frame.columns:
            raise EstimationError(
                f"formula names column '{name}', whose dot the formula language reads as an "
                f"attribute; expected Q(\"{name}\") in the formula or a column renamed without "
                f"dots (frame.rename({{'{name}': '{name.replace('.', '_')}'}}))", column=name)


def _where_mask(frame: pl.DataFrame, where: Any) -> tuple[np.ndarray, str]:
    """Boolean mask (missing -> False) and a text label of a ``where`` filter."""
    label = None
    if isinstance(where, str):
        if where in frame.columns:
            expr, label = pl.col(where), where
        else:
            try:
                expr = pl.sql_expr(where)
            except Exception as exc:
                raise EstimationError(f"filter {where!r} is not a column or a SQL expression: "
                                      f"{exc}", value=where) from None
            label = where
    elif isinstance(where, pl.Expr):
        expr, label = where, str(where)
    else:
        s = pl.Series(where) if not isinstance(where, pl.Series) else where
        if s.len() != frame.height:
            raise EstimationError(f"filter mask has {s.len()} values; expected one per "
                                  f"respondent ({frame.height})")
        expr, label = pl.lit(s), f"mask of {int(s.fill_null(False).sum())} rows"
    try:
        s = frame.select(expr.alias("_where")).to_series()
    except Exception as exc:  # unknown columns and type errors of polars, in its words
        raise EstimationError(f"filter {label} cannot be evaluated on the frame: {exc}",
                              value=label) from None
    if s.dtype != pl.Boolean:
        raise EstimationError(f"filter {label} gives {s.dtype}; expected true/false per row",
                              value=label)
    if s.len() != frame.height:
        s = pl.Series([bool(s[0])] * frame.height) if s.len() == 1 else s
    return s.fill_null(False).to_numpy().copy(), label
