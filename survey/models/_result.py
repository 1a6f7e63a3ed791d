"""Shared pieces of the model results: the text catalog, language check, chart axes, seeds.

Every model returns a frozen result with ``to_polars()``, ``summary(lang)`` and ``plot(ax, lang)``.
Their sentences and chart labels live in ``survey/models/texts.yml`` (Chinese and English
templates with ``{placeholders}``, read by :class:`survey.present.text.Texts`), so no number is
typed into the prose and both languages stay side by side.

Example:
    >>> say("brand_split.sample", "en", n=228)
    'Base n = 228.'
    >>> say("brand_split.sample", "zh", n=228)
    '样本量 n = 228。'
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import polars as pl

from survey.present.text import Texts, catalog

Lang = Literal["zh", "en"]

#: seed used when the caller does not give one (results stay reproducible)
DEFAULT_SEED = 20251201
#: the models' text catalog, shipped inside the package
TEXTS_FILE = Path(__file__).resolve().parent / "texts.yml"


def texts() -> Texts:
    """The models' bilingual text catalog (``survey/models/texts.yml``), read once."""
    return catalog(TEXTS_FILE)


def say(key: str, lang: Lang, /, **values: Any) -> str:
    """Template ``key`` of the catalog in ``lang`` ("zh" or "en") with ``values`` filled in.

    Plain text (not markdown): whoever puts a summary into a document escapes it there.
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    return str(texts().say(key, lang, escape=False, **values))


def join(parts: list[str], lang: Lang) -> str:
    """Sentences joined as the language writes them (no space in Chinese)."""
    return ("" if lang == "zh" else " ").join(parts)


class TableResult:
    """Base of the results whose tidy form is their ``table`` (``to_polars()`` returns it)."""

    table: pl.DataFrame

    def to_polars(self) -> pl.DataFrame:
        """The result's table (columns listed in the class docstring)."""
        return self.table


def use_theme() -> None:
    """Set the project's CJK seaborn theme when it is available (no-op otherwise)."""
    try:
        from survey.present.theme import use_cjk_theme

        use_cjk_theme()
    except Exception:  # pragma: no cover - theme or font missing: keep matplotlib defaults
        pass


def set_labels(ax: Any, lang: Lang, *, x: str, title: str, y: str | None = None) -> Any:
    """Axis labels and title from catalog keys (``y=None``: no y label); returns ``ax``."""
    ax.set_xlabel(say(x, lang))
    ax.set_ylabel("" if y is None else say(y, lang))
    ax.set_title(say(title, lang))
    return ax


def new_axes(ax: Any = None) -> Any:
    """Return ``ax`` or a fresh axes after applying the theme."""
    use_theme()
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4.2))
    return ax


@cache
def codebook() -> Any:
    """The package codebook (None when it cannot be read)."""
    try:
        from survey.codebook import Codebook

        return Codebook.load()
    except Exception:  # pragma: no cover - codebook missing in a stripped install
        return None


def label(question: str, code: str, lang: Lang, design: Any = None) -> str:
    """Codebook label of an option / item ``code`` of ``question`` (the code when unknown)."""
    cb = getattr(design, "codebook", None) or codebook()
    try:
        return cb[question].label(code, lang)
    except Exception:
        return code
