"""A typed wave: one edition's respondents, checked against the codebook.

Build one with :func:`survey.io.load_wave`; the frame then has the dtypes of
``docs/codebook-format.md`` (String id, ``Enum`` single/grid, ``Boolean`` multi options,
``Float64`` numeric and constant-sum parts, ``Float64`` weight when present).

Example:
    >>> from survey.io import load_wave
    >>> wave = load_wave(2025)
    >>> wave.n, wave.is_synthetic
    (228, True)
    >>> wave.labelled("en")["industry"][0]
    'Sports & outdoor'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import polars as pl

from survey.codebook import Codebook, Lang


@dataclass(frozen=True, eq=False)
class Wave:
    """Respondent-level data of one edition with its codebook, source file and metadata."""

    frame: pl.DataFrame
    edition: int | None
    codebook: Codebook
    source: Path | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        meta = {str(k): str(v) for k, v in dict(self.metadata).items()}
        object.__setattr__(self, "metadata", MappingProxyType(meta))

    @property
    def n(self) -> int:
        """Number of respondents."""
        return self.frame.height

    def __len__(self) -> int:
        return self.frame.height

    @property
    def is_synthetic(self) -> bool:
        """Whether the wave was generated (metadata ``synthetic`` is true), not collected."""
        return self.metadata.get("synthetic", "").strip().lower() in ("true", "1", "yes")

    def labelled(self, lang: Lang = "zh") -> pl.DataFrame:
        """The frame with single/grid codes replaced by their labels in ``lang`` (for display),
        as the wave's edition worded them.

        Labels stay an ordered ``Enum`` when they are unique within a question, else ``String``.
        """
        exprs = []
        for name, dtype in self.frame.schema.items():
            if not isinstance(dtype, pl.Enum) or not self.codebook.is_column(name):
                continue
            q, _ = self.codebook.owner(name)
            labels = {o.code: o.label(lang, self.edition) for o in q.options}
            values = list(labels.values())
            out = pl.Enum(values) if len(set(values)) == len(values) else pl.String
            exprs.append(
                pl.col(name)
                .cast(pl.String)
                .replace_strict(labels, default=None, return_dtype=pl.String)
                .cast(out)
            )
        return self.frame.with_columns(exprs) if exprs else self.frame.clone()

    def __repr__(self) -> str:
        src = f", source={self.source.name!r}" if self.source else ""
        syn = ", synthetic" if self.is_synthetic else ""
        return f"Wave(edition={self.edition}, n={self.n}, columns={self.frame.width}{src}{syn})"
