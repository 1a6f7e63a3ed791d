"""The standard weights: each edition's wave raked to its population margins, or unweighted.

Margins live in ``data/weighting.yaml`` as ``{edition: {variable: {level code: share}}}``; they
are checked against the codebook (segment variables and option codes the edition asked, shares
summing to 1) before any raking, so an impossible target fails with a message naming the file,
the edition, the variable and the level.

Weighting is optional per edition: an edition may say ``none`` (``2026: none``), and an edition
without an entry has no margins. Both are reported unweighted (equal weights): the standard path
(:func:`standard_design`, :func:`standard_margins`) never raises for missing margins, and the
design says so (``design.weighting == "none"``, one sentence from ``design.weighting_note(lang)``).

Example:
    >>> import survey
    >>> from survey.weighting import standard_design
    >>> design = standard_design(survey.load_wave(2025))
    >>> round(design.diagnostics.max_margin_error, 8) <= 1e-8
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl
import yaml

from survey.errors import WeightingError
from survey.paths import data_dir
from survey.present.text import Raw, catalog, mid_sentence

if TYPE_CHECKING:
    from survey.codebook import Codebook
    from survey.design import Design
    from survey.wave import Wave

Margins = dict[str, dict[str, float]]
NONE = "none"
"""What ``data/weighting.yaml`` says for an edition reported unweighted (``2026: none``)."""
TEXTS_FILE = Path(__file__).with_name("weighting.yml")


def weighting_file() -> Path:
    """The margins file, ``data/weighting.yaml``."""
    return data_dir() / "weighting.yaml"


def _read(path: str | Path | None) -> tuple[Path, dict]:
    p = Path(path) if path is not None else weighting_file()
    if path is None and not p.exists():
        return p, {}  # a project without a margins file: every edition is unweighted
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as e:
        raise WeightingError(
            f"cannot read weighting margins {p}: not UTF-8 (byte {e.start})",
            file=str(p),
            expected="a UTF-8 encoded YAML file",
        ) from None
    except (OSError, yaml.YAMLError) as e:
        raise WeightingError(f"cannot read weighting margins {p}: {e}", file=str(p)) from None
    if not isinstance(raw, dict):
        raise WeightingError(
            f"{p}: expected a mapping of editions to margins",
            file=str(p),
            value=type(raw).__name__,
            expected="{edition: {variable: {level: share}}} or {edition: none}",
        )
    return p, raw


def _is_none(entry: object) -> bool:
    """Whether an edition's entry says "unweighted": ``none`` (any case), null or ``{}``."""
    return (
        entry is None or entry == {} or (isinstance(entry, str) and entry.strip().lower() == NONE)
    )


def margin_editions(*, path: str | Path | None = None) -> list[int]:
    """The editions that have margins in the file (integer keys not set to ``none``), oldest first.

    Example:
        >>> 2025 in margin_editions()
        True
    """
    _, raw = _read(path)
    return sorted(k for k, v in raw.items() if isinstance(k, int) and not _is_none(v))


def load_margins(
    edition: int, codebook: Codebook, *, path: str | Path | None = None, strict: bool = False
) -> Margins:
    """The raking margins of ``edition``, checked against ``codebook``.

    ``{}`` when the edition is unweighted: the file says ``none``, or has no entry for it (with
    ``strict=True`` a missing entry raises :class:`WeightingError`: use it to insist on margins).
    Raises :class:`WeightingError` when the margins name a variable that is not a segment
    question asked in the edition, a level that is not one of its options asked in the edition,
    or shares that do not sum to 1 (±1e-9).

    Example:
        >>> from survey.codebook import Codebook
        >>> load_margins(2025, Codebook.load())["brand_type"]
        {'mature': 0.7, 'emerging': 0.3}
        >>> load_margins(2031, Codebook.load())
        {}
    """
    p, raw = _read(path)
    editions = sorted(k for k in raw if isinstance(k, int))
    if edition not in raw:
        if not strict:
            return {}
        raise WeightingError(
            f"{p} has no margins for edition {edition}; add them (see docs/adding-a-wave.md), "
            f"or '{edition}: {NONE}' to report it unweighted",
            file=str(p),
            value=edition,
            expected=f"one of the editions with margins: {editions}",
        )
    entry = raw[edition]
    if _is_none(entry):
        return {}
    if not isinstance(entry, dict):
        raise WeightingError(
            f"{p}, edition {edition}: {entry!r} is neither margins nor '{NONE}'",
            file=str(p),
            value=entry,
            expected=f"{{variable: {{level: share}}}} or {NONE}",
        )
    margins: Margins = {}
    segments = [q.id for q in codebook.segments() if q.asked_in(edition)]
    for var, levels in entry.items():
        where = f"{p}, edition {edition}, variable '{var}'"
        if var not in segments or codebook[var].type != "single":
            raise WeightingError(
                f"{where}: not a single-select segment question of the codebook asked in {edition}",
                file=str(p),
                column=str(var),
                value=var,
                expected=f"one of {segments}",
            )
        if not isinstance(levels, dict):
            raise WeightingError(
                f"{where}: {levels!r} is not a mapping of levels to shares",
                file=str(p),
                column=str(var),
                value=levels,
                expected="{level code: share}",
            )
        codes = codebook[var].codes(edition)
        unknown = [lv for lv in levels if lv not in codes]
        if unknown:
            not_asked = [lv for lv in unknown if lv in codebook[var].codes()]
            what = (
                f"level(s) {not_asked} not asked in {edition}" if not_asked else "unknown level(s)"
            )
            raise WeightingError(
                f"{where}: {what} {unknown}" if not not_asked else f"{where}: {what}",
                file=str(p),
                column=var,
                value=unknown,
                expected=f"option codes of '{var}' asked in {edition}: {codes}",
            )
        try:
            shares = [float(v) for v in levels.values()]
        except (TypeError, ValueError):
            raise WeightingError(
                f"{where}: shares {list(levels.values())} are not all numbers",
                file=str(p),
                column=str(var),
                value=list(levels.values()),
                expected="non-negative shares summing to 1",
            ) from None
        total = sum(shares)
        if abs(total - 1.0) > 1e-9 or any(v < 0 for v in shares):
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


@dataclass(frozen=True)
class Weighting:
    """How an edition is weighted: ``kind`` ``"raked"`` (to ``margins``), ``"given"`` (the
    weights delivered with the wave, for an edition without margins) or ``"none"``.

    ``reason`` says why an edition is not raked: ``"declared"`` (the file says ``none``) or
    ``"missing"`` (no entry for the edition); ``None`` when raked.
    """

    edition: int
    kind: Literal["raked", "given", "none"]
    margins: Margins
    reason: Literal["declared", "missing"] | None = None

    def note(self, lang: str = "zh", codebook: Codebook | None = None) -> str:
        """One sentence for the report saying how the edition's results are weighted.

        Plain text (escape it for markdown or HTML where it is shown). Variables are named by
        their short labels when ``codebook`` is given, else by their ids.

        Example:
            >>> Weighting(2026, "none", {}, "missing").note("en")  # doctest: +NORMALIZE_WHITESPACE
            "The 2026 edition's results are unweighted: no population shares are available to
            weight it to, so every respondent counts equally."
        """
        texts = catalog(TEXTS_FILE)
        if self.kind == "given":
            return texts.say("note.given", lang, escape=False, edition=self.edition)
        if self.kind == "none":
            key = f"note.none_{self.reason or 'declared'}"
            return texts.say(key, lang, escape=False, edition=self.edition)
        names = [
            codebook[v].short_label("zh" if lang == "zh" else "en", self.edition)
            if codebook is not None and v in codebook
            else v
            for v in self.margins
        ]
        if lang == "en":  # labels inside a sentence: "brand type and budget size"
            names = [mid_sentence(n) for n in names]
        sep = texts.say("list.sep", lang, escape=False)
        last = texts.say("list.last", lang, escape=False)
        joined = sep.join(names[:-1]) + last + names[-1] if len(names) > 1 else "".join(names)
        return texts.say(
            "note.raked", lang, escape=False, edition=self.edition, variables=Raw(joined)
        )


def edition_weighting(
    edition: int, codebook: Codebook, *, path: str | Path | None = None
) -> Weighting:
    """How ``edition`` is weighted by the standard path: raked to its margins, or not at all.

    Never raises for an edition without margins (that is ``kind="none"``, ``reason="missing"``);
    raises :class:`WeightingError` for margins that are there but wrong (:func:`load_margins`).

    Example:
        >>> from survey.codebook import Codebook
        >>> w = edition_weighting(2031, Codebook.load())
        >>> w.kind, w.reason, w.margins
        ('none', 'missing', {})
        >>> edition_weighting(2025, Codebook.load()).kind
        'raked'
    """
    p, raw = _read(path)
    if edition not in raw:
        return Weighting(edition, "none", {}, "missing")
    margins = load_margins(edition, codebook, path=p)
    if not margins:
        return Weighting(edition, "none", {}, "declared")
    return Weighting(edition, "raked", margins)


def standard_margins(
    edition: int, codebook: Codebook, *, path: str | Path | None = None
) -> Margins | None:
    """The margins the standard weights rake ``edition`` to, or ``None`` when it is unweighted.

    Example:
        >>> from survey.codebook import Codebook
        >>> standard_margins(2031, Codebook.load()) is None
        True
    """
    w = edition_weighting(edition, codebook, path=path)
    return w.margins if w.kind == "raked" else None


def standard_design(
    wave: Wave, *, variance: str = "calibrated", path: str | Path | None = None
) -> Design:
    """A :class:`~survey.design.Design` of ``wave`` with its edition's standard weights.

    Raked to the edition's margins when ``data/weighting.yaml`` has them (a weight column
    delivered with the wave is the starting weight); unweighted (equal weights) when the file
    says ``none`` for the edition, or has no entry for it and the wave brings no weights (or
    equal ones); with the delivered weights as they are (``"given"``) when the file has no entry
    and the wave brings unequal weights. ``design.weighting`` is ``"raked"``, ``"given"`` or
    ``"none"`` and ``design.weighting_note(lang)`` the sentence saying so
    (:meth:`Weighting.note`).

    ``variance="calibrated"`` (default) gives standard errors that account for the raking, as R's
    ``survey::rake``; ``"fixed"`` treats the raked weights as fixed, as most tabulation tools do.
    A weight column delivered with the wave is the starting weight of the raking.

    Example:
        >>> import pathlib, tempfile, survey
        >>> none = pathlib.Path(tempfile.mkdtemp()) / "weighting.yaml"
        >>> _ = none.write_text("2025: none", encoding="utf-8")
        >>> d = standard_design(survey.load_wave(2025), path=none)
        >>> d.n, float(d.weights.min()) == float(d.weights.max()) == 1.0, d.weighting
        (228, True, 'none')
        >>> d.weighting_note("en")
        "The 2025 edition's results are unweighted: its weighting is set to none, so every respondent counts equally."
    """
    from survey.design import Design

    if wave.edition is None:
        raise WeightingError(
            f"wave {wave.source or ''} has no edition; cannot pick its margins",
            file=None if wave.source is None else str(wave.source),
            expected="a wave with an edition (load_wave(..., edition=YEAR))",
        )
    how = edition_weighting(wave.edition, wave.codebook, path=path)
    w = wave.codebook.weight_column
    base_weights = w if w in wave.frame.columns else None  # a delivered weight is the start
    if how.kind == "none" and how.reason == "missing" and _unequal(wave.frame, base_weights):
        how = Weighting(how.edition, "given", {}, "missing")
    if how.kind != "raked":
        given = base_weights if how.kind == "given" else None
        design = Design(wave.frame, weights=given, codebook=wave.codebook, edition=wave.edition)
    else:
        design = raked_design(
            wave.frame,
            how.margins,
            codebook=wave.codebook,
            weights=base_weights,
            variance=variance,
            edition=wave.edition,
        )
    notes = {lang: how.note(lang, wave.codebook) for lang in ("zh", "en")}
    return design.with_weighting(how.kind, notes)


def _unequal(frame: pl.DataFrame, column: str | None) -> bool:
    """Whether ``column`` holds weights that are not all the same (null-free)."""
    if column is None:
        return False
    col = frame[column].drop_nulls()
    return col.len() > 0 and col.n_unique() > 1
