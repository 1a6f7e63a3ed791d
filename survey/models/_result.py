"""Shared pieces of the model results: language labels, chart theme, replicate weights, frames.

Every model returns a frozen result with ``to_polars()``, ``summary(lang)`` and ``plot(ax, lang)``;
this module holds what they have in common, in particular the vectorised bootstrap weights.

Example:
    >>> import numpy as np
    >>> W = replicate_weights(np.ones(5), 3, np.random.default_rng(1))
    >>> W.shape
    (3, 5)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

Lang = Literal["zh", "en"]

#: seed used when the caller does not give one (results stay reproducible)
DEFAULT_SEED = 20251201


def tr(lang: Lang, zh: str, en: str) -> str:
    """Pick the Chinese or English text."""
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    return zh if lang == "zh" else en


def pct(x: float, digits: int = 0) -> str:
    """A share in [0, 1] as a percent string: ``pct(0.527) == '53%'``."""
    return f"{100 * x:.{digits}f}%"


def use_theme() -> None:
    """Set the project's CJK seaborn theme when it is available (no-op otherwise)."""
    try:
        from survey.present.theme import use_cjk_theme

        use_cjk_theme()
    except Exception:  # pragma: no cover - theme or font missing: keep matplotlib defaults
        pass


def new_axes(ax: Any = None) -> Any:
    """Return ``ax`` or a fresh axes after applying the theme."""
    use_theme()
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4.2))
    return ax


def frame_of(wave_or_frame: Any) -> pl.DataFrame:
    """The respondent frame of a :class:`survey.wave.Wave`, a ``Design`` or a polars frame."""
    if isinstance(wave_or_frame, pl.DataFrame):
        return wave_or_frame
    frame = getattr(wave_or_frame, "frame", None)
    if isinstance(frame, pl.DataFrame):
        return frame
    raise TypeError(f"expected a Wave or a polars DataFrame, got {type(wave_or_frame).__name__}")


def weights_of(frame: pl.DataFrame, weights: str | None) -> np.ndarray:
    """Weights as a float array (ones when ``weights`` is None or the column is absent)."""
    if weights is None or weights not in frame.columns:
        return np.ones(frame.height)
    w = frame[weights].cast(pl.Float64).fill_null(0.0).to_numpy()
    return np.asarray(w, dtype=float)


def psu_strata(
    frame: pl.DataFrame, ids: str | None = None, strata: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of PSUs and strata (each respondent its own PSU, one stratum by default)."""
    n = frame.height
    psu = np.arange(n) if ids is None else _codes(frame[ids])
    st = np.zeros(n, dtype=int) if strata is None else _codes(frame[strata])
    return psu, st


def _codes(col: pl.Series) -> np.ndarray:
    return np.unique(col.cast(pl.String).fill_null("").to_numpy(), return_inverse=True)[1]


def replicate_weights(
    w: np.ndarray,
    n_rep: int,
    rng: np.random.Generator,
    *,
    psu: np.ndarray | None = None,
    strata: np.ndarray | None = None,
    method: Literal["rao_wu", "bayes"] = "rao_wu",
) -> np.ndarray:
    """Bootstrap replicate weights, shape ``(n_rep, n)``, all drawn at once.

    ``rao_wu``: Rao & Wu (1988) rescaling bootstrap: in each stratum of ``n_h`` PSUs draw
    ``n_h - 1`` PSUs with replacement; a PSU drawn ``k`` times gets its weights multiplied by
    ``k * n_h / (n_h - 1)``. ``bayes``: Rubin's Bayesian bootstrap (Dirichlet(1) PSU multipliers,
    scaled to ``n_h``). Single-PSU strata keep their weights.
    """
    w = np.asarray(w, dtype=float)
    n = w.size
    psu = np.arange(n) if psu is None else np.asarray(psu)
    strata = np.zeros(n, dtype=int) if strata is None else np.asarray(strata)
    mult = np.ones((n_rep, n))
    for h in np.unique(strata):
        in_h = strata == h
        units, inv = np.unique(psu[in_h], return_inverse=True)
        n_h = units.size
        if n_h < 2:
            continue
        if method == "rao_wu":
            draws = rng.integers(0, n_h, (n_rep, n_h - 1)) + (np.arange(n_rep) * n_h)[:, None]
            counts = np.bincount(draws.ravel(), minlength=n_rep * n_h).reshape(n_rep, n_h)
            m = counts * (n_h / (n_h - 1))
        elif method == "bayes":
            g = rng.standard_exponential((n_rep, n_h))
            m = g / g.sum(axis=1, keepdims=True) * n_h
        else:
            raise ValueError(f"unknown bootstrap method {method!r}")
        mult[:, in_h] = m[:, inv]
    return mult * w[None, :]


def quantiles(draws: np.ndarray, probs: Sequence[float], axis: int = 0) -> np.ndarray:
    """Quantiles of bootstrap / Monte Carlo draws, ignoring NaN."""
    return np.nanquantile(draws, probs, axis=axis)


def linearized_var(u: np.ndarray, psu: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """With-replacement design variance of a total of scores ``u`` (n x k): Σ_h n_h/(n_h-1) S_h."""
    u = u.reshape(u.shape[0], -1)
    k = u.shape[1]
    out = np.zeros((k, k))
    for h in np.unique(strata):
        in_h = strata == h
        units, inv = np.unique(psu[in_h], return_inverse=True)
        n_h = units.size
        if n_h < 2:
            continue
        tot = np.zeros((n_h, k))
        np.add.at(tot, inv, u[in_h])
        d = tot - tot.mean(axis=0)
        out += n_h / (n_h - 1) * d.T @ d
    return out
