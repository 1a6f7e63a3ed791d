"""Shared test helpers (import as ``from helpers import ...``; pytest puts tests/ on the path)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from survey.codebook import Codebook


@dataclass
class FakeDesign:
    """The attributes banners and wave comparisons read from a Design: frame, weights column,
    codebook and edition."""

    frame: pl.DataFrame
    weights: str | None = None
    codebook: Codebook | None = None
    edition: int | None = None


# -- R golden files (tests/oracle) -----------------------------------------------------------------
ORACLE = Path(__file__).parent / "oracle"


@cache
def golden_file(name: str) -> pl.DataFrame:
    """A golden CSV written by the R scripts in tests/oracle (R's NA read as null)."""
    return pl.read_csv(ORACLE / name, null_values="NA", infer_schema_length=None)


def golden_rows(name: str, design: str, stat: str) -> pl.DataFrame:
    """The rows of golden file ``name`` for one design and statistic."""
    return golden_file(name).filter(pl.col("design") == design, pl.col("stat") == stat)


def close(got, want, rtol, atol=1e-12) -> None:
    """``got`` equals R's ``want`` to ``rtol`` (and ``atol`` near zero)."""
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol,
                               atol=atol)


# -- a typed frame of the mini codebook --------------------------------------------------------
def mini_typed_frame(cb: Codebook) -> pl.DataFrame:
    """Four typed respondents of the mini codebook (tests/fixtures), one of every kind."""
    dt = cb.column_dtypes()
    frame = pl.DataFrame(
        {
            "resp_id": ["r1", "r2", "r3", "r4"],
            "industry": ["beauty", "auto", "food_bev", "beauty"],
            "confidence": ["flat", "big_decrease", "small_increase", None],
            "budget_growth_expected": [8.0, -5.0, 12.5, 0.0],
            "challenges__measurement": [True, False, True, False],
            "challenges__roi": [True, True, False, False],
            "challenges__competition": [False, False, True, False],
            "media_intent__mobile": ["increase", "flat", "increase", "not_invest"],
            "media_intent__outdoor": ["flat", None, "decrease", "increase"],
            "budget_split__brand": [60.0, 40.0, 55.0, 50.0],
            "budget_split__performance": [40.0, 60.0, 45.0, 50.0],
        }
    )
    return frame.with_columns([pl.col(c).cast(dt[c]) for c in frame.columns])
