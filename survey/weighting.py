"""The standard weights: each edition's wave raked to its population margins.

Margins live in ``data/weighting.yaml`` as ``{edition: {variable: {level code: share}}}``; they
are checked against the codebook (known segment variables and option codes, shares summing to 1)
before any raking, so an impossible target fails with a message naming the file, the edition, the
variable and the level.

Example:
    >>> import survey
    >>> from survey.weighting import standard_design
    >>> design = standard_design(survey.load_wave(2025))
    >>> round(design.diagnostics.max_margin_error, 8) <= 1e-8
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import yaml

from survey.errors import WeightingError
from survey.paths import data_dir

if TYPE_CHECKING:
    from survey.codebook import Codebook
    from survey.design import Design
    from survey.wave import Wave

Margins = dict[str, dict[str, float]]


def weighting_file() -> Path:
    """The margins file, ``data/weighting.yaml``."""
    return data_dir() / "weighting.yaml"


def _read(path: str | Path | None) -> tuple[Path, dict]:
    p = Path(path) if path is not None else weighting_file()
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise WeightingError(f"cannot read weighting margins {p}: {e}", file=str(p)) from None
    return p, raw


def margin_editions(*, path: str | Path | None = None) -> list[int]:
    """The editions that have margins in the file (its integer keys), oldest first.

    Example:
        >>> 2025 in margin_editions()
        True
    """
    _, raw = _read(path)
    return sorted(k for k in raw if isinstance(k, int))


def load_margins(edition: int, codebook: Codebook, *, path: str | Path | None = None) -> Margins:
    """The raking margins of ``edition``, checked against ``codebook``.

    Raises :class:`WeightingError` when the file has no margins for the edition, names a variable
    that is not a segment question, a level that is not one of its options, or shares that do not
    sum to 1 (±1e-9).
    """
    p, raw = _read(path)
    editions = sorted(k for k in raw if isinstance(k, int))
    if edition not in raw:
        raise WeightingError(
            f"{p} has no margins for edition {edition}; add them (see docs/adding-a-wave.md)",
            file=str(p),
            value=edition,
            expected=f"one of the editions with margins: {editions}",
        )
    margins: Margins = {}
    for var, levels in (raw[edition] or {}).items():
        where = f"{p}, edition {edition}, variable '{var}'"
        if var not in codebook or not codebook[var].segment or codebook[var].type != "single":
            raise WeightingError(
                f"{where}: not a single-select segment question of the codebook",
                file=str(p),
                column=var,
                expected=f"one of {[q.id for q in codebook.segments()]}",
            )
        codes = codebook[var].codes()
        unknown = [lv for lv in levels if lv not in codes]
        if unknown:
            raise WeightingError(
                f"{where}: unknown level(s) {unknown}",
                file=str(p),
                column=var,
                value=unknown,
                expected=f"option codes of '{var}': {codes}",
            )
        total = sum(float(v) for v in levels.values())
        if abs(total - 1.0) > 1e-9 or any(float(v) < 0 for v in levels.values()):
            raise WeightingError(
                f"{where}: shares sum to {total:.6g}",
                file=str(p),
                column=var,
                value=total,
                expected="non-negative shares summing to 1",
            )
        margins[str(var)] = {str(k): float(v) for k, v in levels.items() if float(v) > 0}
    return margins


def raked_design(
    frame: pl.DataFrame,
    margins: Margins,
    *,
    codebook: Codebook | None = None,
    weights: str | None = None,
    variance: str = "calibrated",
    edition: int | None = None,
) -> Design:
    """A :class:`~survey.design.Design` of ``frame`` raked (IPF, ``Design.rake``) to ``margins``.

    ``weights`` names a starting-weight column (default: equal weights). The standard weights of
    a wave are this design with its edition's margins (:func:`standard_design`).

    Example:
        >>> f = pl.DataFrame({"g": ["a", "a", "b"]})
        >>> raked_design(f, {"g": {"a": 0.5, "b": 0.5}}).weights.round(2).tolist()
        [0.75, 0.75, 1.5]
    """
    from survey.design import Design

    design = Design(frame, weights=weights, codebook=codebook, edition=edition)
    return design.rake(margins, variance=variance)


def standard_design(
    wave: Wave, *, variance: str = "calibrated", path: str | Path | None = None
) -> Design:
    """A :class:`~survey.design.Design` of ``wave`` raked to its edition's standard margins.

    ``variance="calibrated"`` (default) gives standard errors that account for the raking, as R's
    ``survey::rake``; ``"fixed"`` treats the raked weights as fixed, as most tabulation tools do.
    A weight column delivered with the wave is the starting weight of the raking.
    """
    if wave.edition is None:
        raise WeightingError(
            f"wave {wave.source or ''} has no edition; cannot pick its margins",
            file=None if wave.source is None else str(wave.source),
            expected="a wave with an edition (load_wave(..., edition=YEAR))",
        )
    margins = load_margins(wave.edition, wave.codebook, path=path)
    w = wave.codebook.weight_column
    base_weights = w if w in wave.frame.columns else None  # a delivered weight is the start
    return raked_design(
        wave.frame,
        margins,
        codebook=wave.codebook,
        weights=base_weights,
        variance=variance,
        edition=wave.edition,
    )
