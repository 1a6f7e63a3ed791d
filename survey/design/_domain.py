"""Domain estimation (R's ``svyby``): estimators of a design by the levels of group variables.

:class:`DesignBy` is what ``Design.by(...)`` returns; ``Design.mean`` etc. are ``by()`` with no
groups. Rows outside a ``Design.subset`` and rows with a missing group value belong to no
domain: they keep their place in the design (strata, PSUs, calibration) and contribute zeros,
which is R's domain estimation (``svyby`` and ``subset.survey.design``).

Example:
    >>> import polars as pl
    >>> from survey.design import Design
    >>> d = Design(pl.DataFrame({"g": ["a", "a", "b", "b"], "y": [1.0, 2.0, 3.0, 5.0]}))
    >>> d.by("g").mean("y")["estimate"].to_list()
    [1.5, 4.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from scipy import stats

from survey.design import _domain_var as V
from survey.design import contrast as _contrast
from survey.design import estimators as _estimators
from survey.design import quantile as _quantile
from survey.design._columns import _column, _level_codes, _numeric
from survey.design.ci import LikelihoodInputs, proportion_ci
from survey.design.variance import indicator
from survey.errors import EmptySegmentError, EstimationError

if TYPE_CHECKING:
    from survey.design.design import Design

CHUNK_CELLS = 8_000_000  # rows x items processed at once (bounds memory at ~64 MB per array)
OUT_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "deff", "n", "n_eff"]


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



# ---------------------------------------------------------------------- domains
class DesignBy:
    """Estimators for domains (all combinations of ``groups`` present in the data)."""

    quantile = _quantile.quantile  # R's svyby(..., svyquantile), see quantile.py
    ratio = _estimators.ratio  # svyby(..., svyratio)
    var = _estimators.var  # svyby(..., svyvar)
    estimates = _contrast.estimates  # svyby(..., covmat = TRUE) for contrast()

    def __init__(self, design: Design, groups: tuple[str, ...]) -> None:
        self.design = design
        self.groups = groups
        cache = getattr(design, "_cache", None)
        if cache is not None and ("by", groups) in cache:
            self.g, self.keys, self.n_dom = cache[("by", groups)]
            return
        self._codes(design, groups)
        self.g.setflags(write=False)
        if cache is not None:
            cache[("by", groups)] = (self.g, self.keys, self.n_dom)

    def _codes(self, design: Design, groups: tuple[str, ...]) -> None:
        """Domain codes ``g`` (-1: in no domain), the domains' ``keys`` and their number."""
        n = design.n
        sub = design._subset
        if not groups:
            self.g = np.zeros(n, np.int64) if sub is None else np.where(sub, 0, -1)
            self.keys = pl.DataFrame()
            self.n_dom = 1
            return
        f = design.frame
        if len(set(groups)) != len(groups):
            raise EstimationError(f"group variables {list(groups)} repeat a name; expected "
                                  "distinct columns")
        key, null = None, None if sub is None else ~sub
        for gname in groups:
            c, lv = _level_codes(f, gname, for_what="grouping", allow_null=True)
            has_null = bool(f[gname].null_count())
            if sub is None:  # a subset shows the levels it has; the whole sample shows all
                cnt = np.bincount(c[c >= 0] if has_null else c, minlength=len(lv))
                if np.any(cnt == 0):
                    empty = lv[int(np.flatnonzero(cnt == 0)[0])]
                    raise EmptySegmentError(
                        f"group '{gname}', level '{empty}' has no respondents; expected at "
                        "least one respondent in every level of a segment", column=gname,
                        value=empty)
            if len(groups) == 1 and sub is None and not has_null and _typed_levels(f[gname]):
                self.g = c  # codes of the levels, all present: the domains themselves
                self.keys = pl.DataFrame({gname: pl.Series(lv).cast(f[gname].dtype)})
                break
            if has_null:
                null = c < 0 if null is None else null | (c < 0)
                c = np.where(c < 0, len(lv), c)
            key = c if key is None else key * (len(lv) + 1) + c
        else:
            g, first = _dense_codes(key, np.zeros(n, bool) if null is None else null)
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
        self.n_dom = self.keys.height

    # -------------------------------------------------------------- public estimators
    def mean(self, var: str | Sequence[str], na_rm: str = "listwise") -> pl.DataFrame:
        """Domain means (R: ``svyby(~var, ~g, design, svymean, na.rm=TRUE, deff="replace")``).

        ``na_rm``: for several variables, ``"listwise"`` (default, R's ``na.rm = TRUE``) uses
        the rows valid for all of them; ``"available"`` each variable's own valid rows.
        """
        return self._estimate(self._numeric_items(var, na_rm), "mean")

    def total(self, var: str | Sequence[str], na_rm: str = "listwise") -> pl.DataFrame:
        """Domain totals (R: ``svyby(~var, ~g, design, svytotal, na.rm=TRUE)``); ``na_rm`` as
        :meth:`mean`."""
        return self._estimate(self._numeric_items(var, na_rm), "total")

    def _numeric_items(self, var: str | Sequence[str], na_rm: str) -> list[_Item]:
        out = []
        for v in _as_list(var):
            y, a, binary = _numeric(self.design.frame, v)
            out.append(_Item(v, None, y, a, binary=binary))
        return _listwise(out, na_rm)

    def proportion(self, var: str | Sequence[str], ci: str = "logit", level: float = 0.95,
                   base: str = "cases", lang: str = "zh",
                   na_rm: str = "listwise") -> pl.DataFrame:
        """Domain proportions with ``svyciprop`` intervals (see :meth:`Design.proportion`)."""
        if base not in ("cases", "responses"):
            raise EstimationError(f"base={base!r}; expected 'cases' or 'responses'")
        items = _listwise(_proportion_items(self.design, var, lang), na_rm)
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
                sums, est, var = V.domain_estimates(cols, g, nd, w, d._st, d._cal_active, kind,
                                                    self._layout())
        nobs, wsum = sums.nobs, sums.wsum
        if np.any(nobs == 0):
            k, j = (int(v[0]) for v in np.nonzero(nobs == 0))
            it = items[j]
            raise EmptySegmentError(
                f"variable '{it.variable}'{_lv(it)} has no answers in domain "
                f"{_domain_name(self, k)}; expected at least one respondent",
                column=it.variable, value=_domain_name(self, k))
        with np.errstate(divide="ignore", invalid="ignore"):
            dev2 = np.maximum(sums.dev2, 0.0)  # sum w (y - mu)^2 in domain, centred
            s2 = nobs / (nobs - 1) * dev2 / wsum
            vsrs = s2 * wsum**2 / nobs if kind == "total" else s2 / nobs
            se = np.sqrt(var)
            deff = np.where(vsrs > 0, var / vsrs, np.nan)
            if any(it.x is not None for it in items):
                deff = np.full_like(var, np.nan)  # no SRS reference for a share of responses
        n_eff = self._kish(items, wsum)
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

    def _kish(self, items: list[_Item], wsum: np.ndarray) -> np.ndarray:
        """Kish's effective base ``(sum w)^2 / sum w^2`` of each estimate's respondents (D, J)."""
        lay = self._layout()
        out = np.empty_like(wsum)
        for j, it in enumerate(items):
            sw2 = lay.domain_w2(it.a)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[:, j] = np.where(sw2 > 0, wsum[:, j] ** 2 / sw2, 0.0)
        return out

    def _layout(self) -> V.Layout:
        """The domains' :class:`Layout`, kept by the design (the two most recent groupings)."""
        d = self.design
        cache = getattr(d, "_cache", None)
        name = ("layout", self.groups)
        if cache is not None and name in cache:
            return cache[name]
        lay = V.Layout(self.g, self.n_dom, d._w, d._st, d._cal_active)
        if cache is not None:
            old = [k for k in cache if k[0] == "layout"]
            for k in old[:max(0, len(old) - 1)]:
                del cache[k]
            cache[name] = lay
        return lay

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
        gmat = indicator(gg, nd)
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
            dev = y - e[gg]
            parts.append((gmat @ a.astype(float), gmat @ wa, num, gmat @ (wa * dev * dev), e,
                          var))
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
        present = np.bincount(key[~null] if null.any() else key,
                              minlength=int(key.max()) + 1) > 0
        if present.all() and not null.any():
            g = key
        else:
            remap = np.cumsum(present) - 1
            g = np.where(null, -1, remap[key])
    else:
        inv = np.unique(np.where(null, -1, key), return_inverse=True)[1]
        g = inv.ravel() - (1 if null.any() else 0)
    n_dom = int(g.max()) + 1 if n else 0
    if n_dom <= 64:  # one vectorized scan per domain beats a scattered assignment
        first = np.array([int(np.argmax(g == k)) for k in range(n_dom)], np.int64)
    else:
        first = np.full(n_dom, n, np.int64)
        order = np.flatnonzero(g >= 0)[::-1]
        first[g[order]] = order  # the last assignment (smallest row) wins
    return g.astype(np.int64, copy=False), first


def _typed_levels(s: pl.Series) -> bool:
    """Whether the level labels of ``_level_codes`` cast back to the column's values."""
    return isinstance(s.dtype, pl.Enum) or s.dtype in (pl.String, pl.Categorical)


NA_RM = ("listwise", "available")


def _listwise(items: list[_Item], na_rm: str) -> list[_Item]:
    """Items restricted to the rows valid for all of them (``"listwise"``, R's ``na.rm``)."""
    if na_rm not in NA_RM:
        raise EstimationError(f"na_rm={na_rm!r}; expected one of {list(NA_RM)}", value=na_rm)
    if na_rm == "available" or len(items) < 2 or all(it.a is items[0].a for it in items):
        return items
    a = np.logical_and.reduce([it.a for it in items])
    if all(np.array_equal(a, it.a) for it in items):
        return items
    return [_Item(it.variable, it.level, np.where(a, it.y, 0).astype(it.y.dtype), a, it.x,
                  it.label, it.binary) for it in items]


def _as_list(var: str | Sequence[str]) -> list[str]:
    return [var] if isinstance(var, str) else list(var)


def _lv(it: _Item) -> str:
    return f" level '{it.level}'" if it.level is not None else ""


def _domain_name(by: DesignBy, k: int) -> str:
    if not by.groups:
        return "(all respondents)"
    row = by.keys.row(k)
    return ", ".join(f"{g}={v}" for g, v in zip(by.groups, row, strict=True))


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
