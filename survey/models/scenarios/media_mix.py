"""Media-mix intentions: net-balance index per channel and a budget-reallocation scenario.

Net balance of a channel = % planning to increase − % planning to decrease, among respondents who
answered the channel's row of the ``media_intent`` grid (``base="all"``; ``not_invest`` counts as
neither) or among those investing in it (``base="investors"``: ``not_invest`` excluded). Its
standard error is design-based (linearisation of a ratio mean, with-replacement PSUs).

Reallocation scenario (assumptions, all explicit):

* total budget fixed; only the shares across channels move;
* a channel's share moves log-linearly with its net balance: ``share'_j ∝ share_j · exp(ε · NB_j)``
  with NB in [-1, 1] and ``ε`` the *elasticity* (``ε = 1``: a channel with NB = +0.5 grows by
  ``e^0.5 ≈ 1.65`` times relative to a channel with NB = 0, before renormalising);
* intentions are taken at face value (no intention-behaviour discount) and channels absent from
  ``base_shares`` are left out;
* CIs come from the bootstrap distribution of the net balances (joint across channels).

Example:
    >>> nb = net_balance(wave, seed=1)                                   # doctest: +SKIP
    >>> reallocate(nb, {"mobile": 60, "outdoor": 15, "smart_tv": 25}).to_polars()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats

from survey.errors import EmptySegmentError, ModelError
from survey.models._result import (
    DEFAULT_SEED,
    Lang,
    frame_of,
    linearized_var,
    new_axes,
    pct,
    psu_strata,
    replicate_weights,
    tr,
    weights_of,
)


@cache
def _item_labels(grid: str, items: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """(zh, en) labels of grid items from the codebook, codes when unavailable."""
    try:
        from survey.codebook import Codebook

        q = Codebook.load()[grid]
        return {it.code: (it.zh, it.en) for it in q.items}
    except Exception:
        return {i: (i, i) for i in items}


@dataclass(frozen=True, eq=False)
class NetBalanceResult:
    """Net balance per channel with design-based SE and bootstrap draws (for scenarios)."""

    table: pl.DataFrame
    draws: np.ndarray  # B x items, same order as table
    base: str
    level: float

    def to_polars(self) -> pl.DataFrame:
        """item, labels, n, increase, decrease, net_balance, se, ci_low, ci_high."""
        return self.table

    def summary(self, lang: Lang = "zh") -> str:
        """Channels ranked by net balance."""
        t = self.table.sort("net_balance", descending=True)
        lab = "label_zh" if lang == "zh" else "label_en"
        items = [f"{r[lab]} {100 * r['net_balance']:+.0f}" for r in t.iter_rows(named=True)]
        top, bottom = t.row(0, named=True), t.row(-1, named=True)
        return tr(
            lang,
            f"各终端投资意向净值(增加 % − 减少 %):{'、'.join(items)}。{top[lab]}最受青睐,"
            f"{bottom[lab]}最弱。",
            f"Net balance of investment intentions (% increase − % decrease): {', '.join(items)}. "
            f"{top[lab]} is the strongest, {bottom[lab]} the weakest.",
        )

    def plot(self, ax: Any = None, lang: Lang = "zh") -> Any:
        """Horizontal bars of net balance with CIs."""
        import seaborn as sns

        ax = new_axes(ax)
        t = self.table.sort("net_balance", descending=True)
        lab = t["label_zh" if lang == "zh" else "label_en"].to_list()
        nb = 100 * t["net_balance"].to_numpy()
        sns.barplot(x=nb, y=lab, ax=ax, color="C0", orient="h")
        ax.errorbar(nb, np.arange(len(lab)), xerr=[nb - 100 * t["ci_low"].to_numpy(),
                    100 * t["ci_high"].to_numpy() - nb], fmt="none", ecolor="black", capsize=3)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_xlabel(tr(lang, "净值(增加 % − 减少 %)", "Net balance (% increase − % decrease)"))
        ax.set_ylabel("")
        ax.set_title(tr(lang, "各终端投资意向净值", "Media investment intent: net balance"))
        return ax


def net_balance(
    wave_or_frame: Any,
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
) -> NetBalanceResult:
    """Net balance (% increase − % decrease) per channel of the ``grid`` question.

    Example:
        >>> nb = net_balance(wave, bootstrap=500)               # doctest: +SKIP
        >>> nb.to_polars().select("item", "net_balance").head(1)  # doctest: +SKIP
    """
    frame = frame_of(wave_or_frame)
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
    labels = _item_labels(grid, tuple(codes))
    w_all = weights_of(frame, weights)
    psu, st = psu_strata(frame, ids, strata)
    R = replicate_weights(w_all, bootstrap, np.random.default_rng(seed), psu=psu, strata=st)
    z_crit = stats.norm.ppf((1 + level) / 2)
    rows, draws = [], []
    for col, code in zip(cols, codes, strict=True):
        v = frame[col].cast(pl.String).to_numpy().astype(object)
        ok = np.array([x is not None for x in v])
        if base == "investors":
            ok &= v != "not_invest"
        if not ok.any():
            raise EmptySegmentError(f"no respondent in the base of {col}", column=col)
        inc, dec = (v == "increase") & ok, (v == "decrease") & ok
        z = inc.astype(float) - dec.astype(float)
        w = w_all * ok
        tw = w.sum()
        nb = float(w @ z / tw)
        u = (w * (z - nb) / tw)[:, None]
        se = float(np.sqrt(linearized_var(u, psu, st)[0, 0]))
        Rw = R * ok
        draws.append((Rw @ z) / Rw.sum(axis=1))
        zh, en = labels.get(code, (code, code))
        rows.append({"item": code, "label_zh": zh, "label_en": en, "n": int(ok.sum()),
                     "increase": float(w @ inc / tw), "decrease": float(w @ dec / tw),
                     "net_balance": nb, "se": se, "ci_low": nb - z_crit * se,
                     "ci_high": nb + z_crit * se})
    return NetBalanceResult(pl.DataFrame(rows), np.column_stack(draws), base, level)


@dataclass(frozen=True, eq=False)
class ReallocationResult:
    """Base and scenario budget shares by channel with bootstrap CIs."""

    table: pl.DataFrame
    elasticity: float
    level: float

    def to_polars(self) -> pl.DataFrame:
        """item, labels, base_share, new_share, change (points), ci_low, ci_high (of new_share)."""
        return self.table

    def summary(self, lang: Lang = "zh") -> str:
        """Largest gain and loss."""
        t = self.table.sort("change", descending=True)
        up, down = t.row(0, named=True), t.row(-1, named=True)
        lab = "label_zh" if lang == "zh" else "label_en"
        return tr(
            lang,
            f"按投资意向净值重新分配预算(弹性 {self.elasticity:g},总预算不变):{up[lab]}占比由 "
            f"{pct(up['base_share'])} 升至 {pct(up['new_share'])},{down[lab]}由 "
            f"{pct(down['base_share'])} 降至 {pct(down['new_share'])}。这是基于假设的情景,不是预测。",
            f"Reallocating the budget by net balance (elasticity {self.elasticity:g}, fixed total): "
            f"{up[lab]} rises from {pct(up['base_share'])} to {pct(up['new_share'])}, {down[lab]} "
            f"falls from {pct(down['base_share'])} to {pct(down['new_share'])}. A scenario under "
            "stated assumptions, not a forecast.",
        )

    def plot(self, ax: Any = None, lang: Lang = "zh") -> Any:
        """Base vs scenario shares by channel."""
        import seaborn as sns

        ax = new_axes(ax)
        lab = "label_zh" if lang == "zh" else "label_en"
        long = pl.concat([
            self.table.select(pl.col(lab).alias("channel"), (100 * pl.col("base_share")).alias("v"))
            .with_columns(kind=pl.lit(tr(lang, "当前", "Base"))),
            self.table.select(pl.col(lab).alias("channel"), (100 * pl.col("new_share")).alias("v"))
            .with_columns(kind=pl.lit(tr(lang, "情景", "Scenario"))),
        ])
        sns.barplot(x=long["v"].to_numpy(), y=long["channel"].to_list(),
                    hue=long["kind"].to_list(), ax=ax, orient="h")
        ax.set_xlabel(tr(lang, "预算占比(%)", "Budget share (%)"))
        ax.set_ylabel("")
        ax.set_title(tr(lang, "媒介预算再分配情景", "Media budget reallocation scenario"))
        return ax


def reallocate(
    nb: NetBalanceResult,
    base_shares: Mapping[str, float],
    *,
    elasticity: float = 1.0,
    level: float | None = None,
) -> ReallocationResult:
    """Scenario shares ``∝ base_share · exp(elasticity · net_balance)`` (see module docstring).

    ``base_shares`` may be in percent or fractions; they are normalised to sum to 1.

    Example:
        >>> r = reallocate(nb, {"mobile": 70, "outdoor": 20, "pc": 10}, elasticity=0.8)  # doctest: +SKIP
    """
    items = nb.table["item"].to_list()
    unknown = [k for k in base_shares if k not in items]
    if unknown:
        raise ModelError(f"channels without a net balance: {unknown}", value=unknown,
                         expected=f"channels among {items}")
    if any(v < 0 for v in base_shares.values()) or sum(base_shares.values()) <= 0:
        raise ModelError("base shares must be non-negative and not all zero")
    keys = list(base_shares)
    idx = [items.index(k) for k in keys]
    b = np.array([base_shares[k] for k in keys], dtype=float)
    b = b / b.sum()
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
    return ReallocationResult(t, elasticity, lev)
