"""Media-mix intentions: net-balance index per channel and a budget-reallocation scenario.

Net balance of a channel = % planning to increase − % planning to decrease, among respondents who
answered the channel's row of the ``media_intent`` grid (``base="all"``; ``not_invest`` counts as
neither) or among those investing in it (``base="investors"``: ``not_invest`` excluded). Its
standard error is the design engine's linearised SE of that domain mean (strata, PSUs and, for a
raked design, the calibration), i.e. ``Design.mean`` of the +1/0/-1 score.

Reallocation scenario (assumptions, all explicit):

* total budget fixed; only the shares across channels move;
* a channel's share moves log-linearly with its net balance: ``share'_j ∝ share_j · exp(ε · NB_j)``
  with NB in [-1, 1] and ``ε`` the *elasticity* (``ε = 1``: a channel with NB = +0.5 grows by
  ``e^0.5 ≈ 1.65`` times relative to a channel with NB = 0, before renormalising);
* intentions are taken at face value (no intention-behaviour discount) and channels absent from
  ``base_shares`` are left out;
* CIs come from the bootstrap distribution of the net balances (joint across channels);
* base shares: ``data/scenarios/media_shares.toml`` by default. The survey does not measure how
  budgets split across terminals, so those shares are an explicit ASSUMPTION (see the file for
  its source); pass a dict or another TOML file to use real ones.

Example:
    >>> nb = net_balance(ctx.design, bootstrap=50, seed=1)
    >>> r = reallocate(nb).to_polars()
    >>> r.height, r["item"][0], round(r["new_share"].sum(), 6)
    (9, 'mobile', 1.0)
    >>> reallocate(nb, {"mobile": 60, "outdoor": 15, "smart_tv": 25}).to_polars()["item"].to_list()
    ['mobile', 'outdoor', 'smart_tv']
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats

from survey.errors import EmptySegmentError, ModelError
from survey.models._base import Base, WhereLabel, domain
from survey.models._design import as_design, replicate_weights, vcov_totals
from survey.models._result import (
    DEFAULT_SEED,
    Lang,
    TableResult,
    join,
    label,
    new_axes,
    say,
    set_labels,
)
from survey.paths import data_dir


def _ranked_items(table: pl.DataFrame, by: str, lang: Lang) -> tuple[list[dict], str]:
    """Rows sorted by ``by`` (descending) and the label column of ``lang``."""
    return list(table.sort(by, descending=True).iter_rows(named=True)), f"label_{lang}"


@dataclass(frozen=True, eq=False)
class NetBalanceResult(TableResult):
    """Net balance per channel with design-based SE and bootstrap draws (for scenarios).

    ``table``: item, label_zh, label_en, n, increase, decrease, net_balance, se, ci_low, ci_high
    (``to_polars()`` adds the base columns); ``answers``: ``"all"`` or ``"investors"`` (who
    counts per channel); ``base``: the ``where=`` domain and its respondents answering any
    channel in that sense.
    """

    table: pl.DataFrame
    draws: np.ndarray  # B x items, same order as table
    answers: str
    level: float
    base: Base

    def summary(self, lang: Lang = "zh") -> str:
        """Channels ranked by net balance."""
        rows, lab = _ranked_items(self.table, "net_balance", lang)
        items = say("common.list_sep", lang).join(
            say("media_mix.nb_item", lang, label=r[lab], nb=100 * r["net_balance"]) for r in rows)
        return join([say("media_mix.nb_summary", lang, items=items, top=rows[0][lab],
                         bottom=rows[-1][lab]), self.base.sentence(lang)], lang)

    def plot(self, ax: Any = None, lang: Lang = "zh") -> Any:
        """Horizontal bars of net balance with CIs."""
        import seaborn as sns

        ax = new_axes(ax)
        t = self.table.sort("net_balance", descending=True)
        lab = t[f"label_{lang}"].to_list()
        nb = 100 * t["net_balance"].to_numpy()
        sns.barplot(x=nb, y=lab, ax=ax, color="C0", orient="h")
        ax.errorbar(nb, np.arange(len(lab)), xerr=[nb - 100 * t["ci_low"].to_numpy(),
                    100 * t["ci_high"].to_numpy() - nb], fmt="none", ecolor="black", capsize=3)
        ax.axvline(0, color="grey", lw=0.8)
        return set_labels(ax, lang, x="media_mix.nb_x", title="media_mix.nb_title",
                          base=self.base)


def net_balance(
    design_or_frame: Any,
    *,
    grid: str = "media_intent",
    items: Sequence[str] | None = None,
    base: Literal["all", "investors"] = "all",
    weights: str | None = "weight",
    ids: str | None = None,
    strata: str | None = None,
    bootstrap: int = 2000,
    level: float = 0.95,
    seed: int = DEFAULT_SEED,
    where: Any = None,
    where_label: WhereLabel = None,
) -> NetBalanceResult:
    """Net balance (% increase − % decrease) per channel of the ``grid`` question.

    ``design_or_frame``: a ``Design`` (the report's raked ``ctx.design`` gives calibration-aware
    SEs, equal to ``Design.mean`` of the ±1/0 score in the base) or a Wave / frame (design built
    from the ``weights``/``ids``/``strata`` columns). Bootstrap draws (replicates re-raked when
    the design is calibrated) feed :func:`reallocate`. Labels come from the codebook.
    ``where``: a domain of the whole design (as ``Design.subset``; ``{variable: levels}`` and
    ``"var=a,b"`` as a banner's), named in ``base`` as the banner's base note (``where_label``
    renames it), with ``n`` the respondents of the domain answering any channel.

    Example:
        >>> nb = net_balance(ctx.design, bootstrap=50)
        >>> top = nb.to_polars().row(0, named=True)
        >>> top["item"], round(top["net_balance"], 2), top["base_zh"]
        ('mobile', 0.41, '基数：全体广告主，n = 228')
        >>> sub = net_balance(ctx.design, bootstrap=20, where={"industry": ["美妆个护", "食品饮料"]})
        >>> print(sub.base.text("en"))
        Base: Beauty & personal care + Food & beverage, n = ...
    """
    d = as_design(design_or_frame, weights=weights, ids=ids, strata=strata)
    frame = d.frame
    prefix = f"{grid}__"
    cols = [c for c in frame.columns if c.startswith(prefix)]
    if items is not None:
        cols = [prefix + i for i in items]
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ModelError(f"grid items not in the data: {missing}", expected=f"{prefix}<item>")
    if not cols:
        raise ModelError(f"no columns of grid {grid!r} in the data", expected=f"{prefix}<item>")
    codes = [c[len(prefix):] for c in cols]
    v = np.column_stack([frame[c].cast(pl.String).fill_null("").to_numpy() for c in cols])
    ok = v != ""
    if base == "investors":
        ok &= v != "not_invest"
    dom, inside = domain(d, where, where_label)  # a domain of the whole design
    ok &= inside[:, None]
    empty = [c for c, any_ok in zip(cols, ok.any(axis=0), strict=True) if not any_ok]
    if empty:
        raise EmptySegmentError(f"no respondent in the base of {empty[0]}", column=empty[0])
    inc, dec = (v == "increase") & ok, (v == "decrease") & ok
    z = inc.astype(float) - dec.astype(float)  # n x J score, 0 outside the base
    w = np.asarray(d.weights, dtype=float)[:, None] * ok
    tw = w.sum(axis=0)
    nb = (w * z).sum(axis=0) / tw
    U = w * (z - nb) / tw  # influence of each domain ratio mean
    se = np.sqrt(np.diag(vcov_totals(d, U)))
    R = replicate_weights(d, bootstrap, np.random.default_rng(seed))
    draws = (R @ (ok * z)) / (R @ ok)
    zc = stats.norm.ppf((1 + level) / 2)
    table = pl.DataFrame({
        "item": codes,
        "label_zh": [label(grid, c, "zh", d) for c in codes],
        "label_en": [label(grid, c, "en", d) for c in codes],
        "n": ok.sum(axis=0).astype(np.int64),
        "increase": (w * inc).sum(axis=0) / tw, "decrease": (w * dec).sum(axis=0) / tw,
        "net_balance": nb, "se": se, "ci_low": nb - zc * se, "ci_high": nb + zc * se,
    })
    return NetBalanceResult(table, draws, base, level, dom.with_n(int(ok.any(axis=1).sum())))


@dataclass(frozen=True)
class BaseShares:
    """Budget shares by channel (fractions summing to 1) and where they come from."""

    shares: Mapping[str, float]
    source_zh: str
    source_en: str

    def source(self, lang: Lang) -> str:
        return self.source_zh if lang == "zh" else self.source_en


#: the default base shares (an assumption; see the file)
MEDIA_SHARES_FILE = "scenarios/media_shares.toml"


def load_base_shares(
    source: str | Path | Mapping[str, float] | None = None, *, name: str = "default"
) -> BaseShares:
    """Base budget shares: table ``name`` of a TOML file (default ``data/scenarios/
    media_shares.toml``, an explicit assumption) or a dict ``{item: share}`` (percent or
    fractions; normalised to sum to 1).

    Example:
        >>> b = load_base_shares()
        >>> round(sum(b.shares.values()), 9)
        1.0
    """
    if isinstance(source, Mapping):
        raw = dict(source)
        src_zh, src_en = say("media_mix.user_shares", "zh"), say("media_mix.user_shares", "en")
    else:
        path = Path(source) if source is not None else data_dir() / MEDIA_SHARES_FILE
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
        if name not in doc or "shares" not in doc[name]:
            raise ModelError(f"{path}: no table [{name}.shares]", file=str(path),
                             expected=f"one of {sorted(doc)}")
        raw = dict(doc[name]["shares"])
        src_zh = str(doc[name].get("source_zh", path.name))
        src_en = str(doc[name].get("source_en", path.name))
    vals = {str(k): float(v) for k, v in raw.items()}
    total = sum(vals.values())
    if any(v < 0 for v in vals.values()) or total <= 0:
        raise ModelError("base shares must be non-negative and not all zero", value=vals)
    return BaseShares({k: v / total for k, v in vals.items()}, src_zh, src_en)


@dataclass(frozen=True, eq=False)
class ReallocationResult(TableResult):
    """Base and scenario budget shares by channel with bootstrap CIs.

    ``table``: item, label_zh, label_en, net_balance, base_share, new_share, change (new − base)
    and ci_low, ci_high of new_share (``to_polars()`` adds the base columns); ``base_shares``:
    the shares before the scenario; ``base``: the net balances' (:class:`NetBalanceResult`).
    """

    table: pl.DataFrame
    elasticity: float
    level: float
    base_shares: BaseShares
    base: Base

    def summary(self, lang: Lang = "zh") -> str:
        """Largest gain and loss, and the source of the base shares."""
        rows, lab = _ranked_items(self.table, "change", lang)
        up, down = rows[0], rows[-1]
        return join([
            say("media_mix.realloc_summary", lang, elasticity=self.elasticity, up=up[lab],
                up_base=up["base_share"], up_new=up["new_share"], down=down[lab],
                down_base=down["base_share"], down_new=down["new_share"]),
            say("media_mix.realloc_source", lang, source=self.base_shares.source(lang)),
            self.base.sentence(lang)], lang)

    def plot(self, ax: Any = None, lang: Lang = "zh") -> Any:
        """Base vs scenario shares by channel."""
        import seaborn as sns

        ax = new_axes(ax)
        lab = f"label_{lang}"
        long = pl.concat([
            self.table.select(pl.col(lab).alias("channel"), (100 * pl.col(col)).alias("v"))
            .with_columns(kind=pl.lit(say(key, lang)))
            for col, key in (("base_share", "media_mix.realloc_base"),
                             ("new_share", "media_mix.realloc_scenario"))
        ])
        sns.barplot(x=long["v"].to_numpy(), y=long["channel"].to_list(),
                    hue=long["kind"].to_list(), ax=ax, orient="h")
        return set_labels(ax, lang, x="media_mix.realloc_x", title="media_mix.realloc_title",
                          base=self.base)


def reallocate(
    nb: NetBalanceResult,
    base_shares: str | Path | Mapping[str, float] | BaseShares | None = None,
    *,
    elasticity: float = 1.0,
    level: float | None = None,
) -> ReallocationResult:
    """Scenario shares ``∝ base_share · exp(elasticity · net_balance)`` (see module docstring).

    ``base_shares``: None for ``data/scenarios/media_shares.toml`` (an assumption, its source in
    the file and in ``summary``), a TOML path, a dict (percent or fractions) or a
    :class:`BaseShares`. Channels without a base share are left out.

    Example:
        >>> r = reallocate(nb, {"mobile": 70, "outdoor": 20, "pc": 10}, elasticity=0.8)
        >>> t = r.to_polars()
        >>> t["item"].to_list(), round(t["new_share"][0], 2), bool(t["change"][0] > 0)
        (['mobile', 'outdoor', 'pc'], 0.77, True)
    """
    bs = base_shares if isinstance(base_shares, BaseShares) else load_base_shares(base_shares)
    items = nb.table["item"].to_list()
    unknown = [k for k in bs.shares if k not in items]
    if unknown:
        raise ModelError(f"channels without a net balance: {unknown}", value=unknown,
                         expected=f"channels among {items}")
    keys = list(bs.shares)
    idx = [items.index(k) for k in keys]
    b = np.array([bs.shares[k] for k in keys], dtype=float)
    est_nb = nb.table["net_balance"].to_numpy()[idx]

    def shares(x: np.ndarray) -> np.ndarray:
        s = b * np.exp(elasticity * x)
        return s / s.sum(axis=-1, keepdims=True)

    new = shares(est_nb)
    boot = shares(nb.draws[:, idx])
    lev = nb.level if level is None else level
    lo, hi = np.quantile(boot, [(1 - lev) / 2, (1 + lev) / 2], axis=0)
    t = nb.table[idx].select("item", "label_zh", "label_en", "net_balance").with_columns(
        base_share=pl.Series(b), new_share=pl.Series(new), change=pl.Series(new - b),
        ci_low=pl.Series(lo), ci_high=pl.Series(hi))
    return ReallocationResult(t, elasticity, lev, bs, nb.base)
