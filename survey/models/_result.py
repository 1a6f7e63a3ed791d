"""Shared pieces of the model results: the text catalog, language check, chart axes, seeds.

Every model returns a frozen result with ``to_polars()``, ``summary(lang)`` and ``plot(ax, lang)``
and its ``base`` (:class:`survey.models._base.Base`: the ``where=`` domain and its n), which
the summary ends with, the table carries (``base_n``, ``base_zh``, ``base_en``) and the chart
shows under its title.
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

import html
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


def with_base(frame: pl.DataFrame, base: Any) -> pl.DataFrame:
    """``frame`` with the base columns ``base_n``, ``base_zh``, ``base_en`` appended (the
    :class:`survey.models._base.Base` every result carries), so a table says its base."""
    return frame.with_columns(pl.lit(v, dtype=pl.Int64 if k == "base_n" else pl.String).alias(k)
                              for k, v in base.columns().items())


class Presented:
    """What every result shows besides its numbers: ``str()`` is the Chinese summary (ending
    with the base) and ``_repr_html_`` (notebooks) both summaries and the table, every text
    escaped (filter labels and codebook labels come from the data)."""

    def summary(self, lang: Lang = "zh") -> str:  # pragma: no cover - every result defines it
        raise NotImplementedError

    def to_polars(self) -> pl.DataFrame:  # pragma: no cover - every result defines it
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary("zh")

    def _repr_html_(self) -> str:
        text = "".join(f'<p lang="{lg}">{html.escape(self.summary(lg))}</p>'  # type: ignore[arg-type]
                       for lg in ("zh", "en"))
        return f"<div>{text}{self.to_polars()._repr_html_()}</div>"


class TableResult(Presented):
    """Base of the results whose tidy form is their ``table``: ``to_polars()`` returns it
    with the base columns (:func:`with_base`)."""

    table: pl.DataFrame
    base: Any

    def to_polars(self) -> pl.DataFrame:
        """The result's table (columns listed in the class docstring) and the base columns."""
        return with_base(self.table, self.base)


def use_theme() -> None:
    """Set the project's CJK seaborn theme when it is available (no-op otherwise)."""
    try:
        from survey.present.theme import use_cjk_theme

        use_cjk_theme()
    except Exception:  # pragma: no cover - theme or font missing: keep matplotlib defaults
        pass


def set_labels(ax: Any, lang: Lang, *, x: str, title: str, y: str | None = None,
               base: Any = None) -> Any:
    """Axis labels and title from catalog keys (``y=None``: no y label), the ``base`` (a
    :class:`survey.models._base.Base`) as the title's second line; returns ``ax``."""
    ax.set_xlabel(say(x, lang))
    ax.set_ylabel("" if y is None else say(y, lang))
    ax.set_title(say(title, lang))
    return show_base(ax, base, lang)


def show_base(ax: Any, base: Any, lang: Lang) -> Any:
    """Add the base under the axes title (its own line); returns ``ax``."""
    if base is not None:
        title = ax.get_title()
        ax.set_title(f"{title}\n{base.text(lang)}" if title else base.text(lang))
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
