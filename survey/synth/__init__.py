"""Synthetic respondent-level waves generated from the codebook and the published figures.

* :func:`synthesize` — one edition's wave (a :class:`~survey.Wave`, ``synthetic=true``);
* :func:`write_editions` — every edition with a published sample size to ``data/waves/``,
  never over a wave that is not synthetic (:func:`wave_status`);
* :func:`fidelity_report` — every published figure and contrast, published vs a wave.

A synthetic wave holds only what its edition asked: options and grid items the edition did not
ask are null columns (``survey.synth._edition``). Method and tolerances:
``docs/methods-synthetic.md`` ("Synthetic waves").

Example:
    >>> from survey.synth import synthesize, wave_status
    >>> wave = synthesize(2023)
    >>> wave.n, wave.is_synthetic, wave_status("data/waves/2023.parquet")
    (160, True, 'synthetic')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from survey.codebook import Codebook
from survey.errors import SurveyError
from survey.synth._edition import conform, edition_view
from survey.synth.fidelity import fidelity_report, report_weights
from survey.synth.generate import DEFAULT_SEED, generate
from survey.synth.targets import build_targets, normalize_figures, sample_size

__all__ = [
    "DEFAULT_SEED",
    "build_targets",
    "editions_with_sample",
    "fidelity_report",
    "load_published",
    "report_weights",
    "synthesize",
    "wave_status",
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
        >>> synthesize(2025).n
        228
        >>> synthesize(2023, n=500, seed=1).n
        500
    """
    from survey.wave import Wave

    cb = codebook or Codebook.load()
    if not cb.questions_in(edition):
        raise SurveyError(
            f"the codebook asks no question in edition {edition}",
            value=edition,
            expected=f"an edition the codebook covers ({', '.join(map(str, cb.editions))})",
        )
    if figures is None:
        figures, default_contrasts = load_published()
        contrasts = default_contrasts if contrasts is None else contrasts
    if margins is None:  # the standard margins (survey.weighting), when the edition has some
        from survey.weighting import load_margins, margin_editions

        margins = load_margins(edition, cb) if edition in margin_editions() else {}
    view = edition_view(cb, edition)  # only what the edition asked is generated
    targets = build_targets(edition, view, figures, contrasts, margins, seed=seed)
    frame = conform(generate(targets, view, n=n, seed=seed), cb, edition)
    meta = {"synthetic": "true", "seed": str(seed), "generator": "survey.synth"}
    return Wave(frame, edition, cb, None, meta)


def wave_status(path: str | Path) -> str:
    """What the wave file at ``path`` is: ``"absent"``, ``"synthetic"`` (its metadata says
    ``synthetic: true``), ``"ingested"`` (its metadata says it is not synthetic: a delivery
    written by ``survey ingest``) or ``"unknown"`` (no such metadata, or not a readable Parquet
    file). Only absent and synthetic waves may be (re)generated.

    Example:
        >>> wave_status("data/waves/2025.parquet"), wave_status("no/such/2031.parquet")
        ('synthetic', 'absent')
    """
    from survey.io import read_metadata

    p = Path(path)
    if not p.exists():
        return "absent"
    try:
        meta = read_metadata(p)
    except SurveyError:
        return "unknown"
    flag = meta.get("synthetic", "").strip().lower()
    if flag in ("true", "1", "yes"):
        return "synthetic"
    if flag in ("false", "0", "no") or "source_file" in meta:
        return "ingested"
    return "unknown"


def _refusal(path: Path, status: str) -> SurveyError:
    from survey.io import read_metadata

    meta = read_metadata(path) if status == "ingested" else {}
    src = f" from {meta['source_file']}" if meta.get("source_file") else ""
    what = (
        f"an ingested (real) wave{src}"
        if status == "ingested"
        else "not marked as synthetic (no 'synthetic: true' in its metadata)"
    )
    return SurveyError(
        f"{path} is {what}: survey synth regenerates only synthetic or absent waves; "
        "nothing was written",
        file=str(path),
        value=status,
        expected="a synthetic wave file, or no file (move the real wave away, or pass --out DIR)",
    )


def editions_with_sample(figures: pl.DataFrame) -> list[int]:
    """Editions whose published figures include a sample size, newest first."""
    eds = sorted({int(e) for e in normalize_figures(figures)["edition"].drop_nulls()}, reverse=True)
    return [e for e in eds if sample_size(normalize_figures(figures), e)]


def write_editions(
    out_dir: str | Path | None = None,
    editions: Iterable[int] | None = None,
    seed: int = DEFAULT_SEED,
    *,
    keep_real: bool = False,
    n: int | None = None,
) -> list[Path]:
    """Synthesize and write ``<out_dir>/<edition>.parquet`` (default ``data/waves/``).

    ``editions`` default to every edition with a published sample size; ``n`` overrides the
    published sample size (and is needed for an edition without one). A file that is not
    synthetic (:func:`wave_status`: an ingested delivery, or a file of unknown origin) is never
    replaced: with ``keep_real`` such editions are left out, else a :class:`SurveyError` names
    the file and nothing is written (every edition is checked before any is generated). Files
    are byte-identical for the same seed (deterministic generation and Parquet writer).

    Example:
        >>> import pathlib, tempfile
        >>> tmp = pathlib.Path(tempfile.mkdtemp())
        >>> [p.name for p in write_editions(tmp, editions=[2023])]
        ['2023.parquet']
        >>> (tmp / "2023.parquet").read_bytes() == open("data/waves/2023.parquet", "rb").read()
        True
    """
    from survey.io.write import write_wave
    from survey.paths import waves_dir

    out = Path(out_dir) if out_dir is not None else waves_dir()
    cb = Codebook.load()
    figures, contrasts = load_published()
    eds = list(editions) if editions is not None else editions_with_sample(figures)
    targets = {ed: out / f"{ed}.parquet" for ed in eds}
    real = {ed: wave_status(p) for ed, p in targets.items()}
    real = {ed: st for ed, st in real.items() if st not in ("absent", "synthetic")}
    if real and not keep_real:
        ed = min(real)
        raise _refusal(targets[ed], real[ed])
    waves = [
        synthesize(ed, n=n, seed=seed, codebook=cb, figures=figures, contrasts=contrasts)
        for ed in eds
        if ed not in real
    ]
    meta = {"synthetic": True, "seed": seed, "generator": "survey.synth"}
    return [write_wave(w, targets[w.edition], edition=w.edition, metadata=meta) for w in waves]
