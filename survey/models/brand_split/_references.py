"""Reference splits the optimum is tested against: the published figure and the literature."""

from __future__ import annotations

import polars as pl

from survey.models._result import Lang, say, texts

#: literature reference splits (brand share); the published optimum is read from the figures
LITERATURE_REFERENCES: dict[str, float] = {
    "binet_field_consumer_60_40": 0.60,
    "binet_field_b2b_46_54": 0.46,
}


def published_optimum() -> float | None:
    """The published brand-share optimum (0.53) from ``data/published``, or None if unavailable."""
    try:
        from survey.published import load_figures

        figs = load_figures()
    except Exception:
        return None
    try:
        row = figs.filter(
            (pl.col("question_id") == "budget_split")
            & (pl.col("measure") == "optimum")
            & (pl.col("option_code") == "brand")
        )
        return float(row["value"][0]) / 100.0 if row.height else None
    except Exception:
        return None


def default_references() -> dict[str, float]:
    """Published optimum (when the figures are available) and the Binet & Field splits."""
    refs: dict[str, float] = {}
    pub = published_optimum()
    if pub is not None:
        refs["published_53_47"] = pub
    refs.update(LITERATURE_REFERENCES)
    return refs


def reference_label(key: str, s0: float, lang: Lang) -> str:
    """Label of a reference split, its brand:performance numbers computed from ``s0``."""
    brand = round(100 * s0)
    k = key if f"brand_split.ref.{key}" in texts() else "other"
    return say(f"brand_split.ref.{k}", lang, brand=brand, perf=100 - brand)
