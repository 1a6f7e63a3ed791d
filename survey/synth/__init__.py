"""Synthetic respondent-level waves generated from the codebook and the published figures.

* :func:`synthesize` — one edition's wave (a :class:`~survey.Wave`, ``synthetic=true``);
* :func:`write_editions` — every edition with a published sample size to ``data/waves/``;
* :func:`fidelity_report` — every published figure and contrast, published vs a wave.

Method and tolerances: ``docs/methods-synthetic.md`` ("Synthetic waves").

Example:
    >>> from survey.synth import synthesize, fidelity_report
    >>> wave = synthesize(2025)                                          # doctest: +SKIP
    >>> wave.n, fidelity_report(wave)["passed"].all()                      # doctest: +SKIP
    (228, True)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from survey.codebook import Codebook
from survey.synth.fidelity import fidelity_report, report_weights
from survey.synth.generate import DEFAULT_SEED, generate
from survey.synth.targets import build_targets, normalize_figures, sample_size

__all__ = [
    "DEFAULT_SEED",
    "build_targets",
    "fidelity_report",
    "load_published",
    "report_weights",
    "synthesize",
    "write_editions",
]


def load_published() -> tuple[pl.DataFrame, pl.DataFrame]:
    """All editions' published figures and the segment contrasts.

    Uses :mod:`survey.published` when available, else reads ``data/published/*.csv`` directly.
    """
    try:
        from survey import published

        figures = published.load_figures()
        contrasts = published.load_contrasts()
    except (ImportError, AttributeError):
        from survey.paths import published_dir

        d = published_dir()
        files = sorted(p for p in d.glob("*.csv") if re.fullmatch(r"\d{4}\.csv", p.name))
        figures = pl.concat(
            [pl.read_csv(p, infer_schema_length=0) for p in files], how="diagonal_relaxed"
        )
        c = d / "contrasts.csv"
        contrasts = pl.read_csv(c, infer_schema_length=0) if c.exists() else pl.DataFrame()
    return normalize_figures(figures), contrasts


def synthesize(
    edition: int,
    n: int | None = None,
    seed: int = DEFAULT_SEED,
    codebook: Codebook | None = None,
    figures: pl.DataFrame | None = None,
    contrasts: pl.DataFrame | None = None,
    margins: Mapping[str, Mapping[str, float]] | None = None,
) -> Any:
    """A synthetic wave of ``edition`` reproducing its published figures.

    ``n`` defaults to the edition's published sample size (its ``count`` figure). ``figures`` and
    ``contrasts`` default to the shipped published tables, ``margins`` to ``data/weighting.yaml``.

    Example:
        >>> synthesize(2025).n                                           # doctest: +SKIP
        228
        >>> synthesize(2025, n=500, seed=1).n                            # doctest: +SKIP
        500
    """
    from survey.wave import Wave

    cb = codebook or Codebook.load()
    if figures is None:
        figures, default_contrasts = load_published()
        contrasts = default_contrasts if contrasts is None else contrasts
    if margins is None:  # the standard margins (survey.weighting), when the edition has some
        from survey.weighting import load_margins, margin_editions

        margins = load_margins(edition, cb) if edition in margin_editions() else {}
    targets = build_targets(edition, cb, figures, contrasts, margins, seed=seed)
    frame = generate(targets, cb, n=n, seed=seed)
    meta = {"synthetic": "true", "seed": str(seed), "generator": "survey.synth"}
    return Wave(frame, edition, cb, None, meta)


def editions_with_sample(figures: pl.DataFrame) -> list[int]:
    """Editions whose published figures include a sample size, newest first."""
    eds = sorted({int(e) for e in normalize_figures(figures)["edition"].drop_nulls()}, reverse=True)
    return [e for e in eds if sample_size(normalize_figures(figures), e)]


def write_editions(
    out_dir: str | Path | None = None,
    editions: Iterable[int] | None = None,
    seed: int = DEFAULT_SEED,
) -> list[Path]:
    """Synthesize and write ``<out_dir>/<edition>.parquet`` (default ``data/waves/``).

    Files are byte-identical for the same seed (deterministic generation and Parquet writer).

    Example:
        >>> write_editions(editions=[2025])                              # doctest: +SKIP
        [PosixPath('.../data/waves/2025.parquet')]
    """
    from survey.io.write import write_wave
    from survey.paths import waves_dir

    out = Path(out_dir) if out_dir is not None else waves_dir()
    cb = Codebook.load()
    figures, contrasts = load_published()
    eds = list(editions) if editions is not None else editions_with_sample(figures)
    paths = []
    for ed in eds:
        wave = synthesize(ed, seed=seed, codebook=cb, figures=figures, contrasts=contrasts)
        meta = {"synthetic": True, "seed": seed, "generator": "survey.synth"}
        paths.append(write_wave(wave, out / f"{ed}.parquet", edition=ed, metadata=meta))
    return paths
