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
