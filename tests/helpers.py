"""Shared test helpers (import as ``from helpers import ...``; pytest puts tests/ on the path)."""

from __future__ import annotations

from dataclasses import dataclass

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
