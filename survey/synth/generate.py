"""Generate a respondent-level wave that reproduces an edition's published figures.

Steps (all driven by the codebook, the published figures, the contrasts and the weighting margins):

1. **Profile**: segment questions drawn near the raking margins (a realistic, imperfect sample)
   or from the priors, then the standard raking weights (``survey.weighting.raked_design``).
2. **Latent traits** per respondent (``optimism``, ``ai``, ``brand``), N(0, 1).
3. **Answers** question by question from latent propensities
   ``y = loading * trait + contrast shifts + noise``: integer assignment gives the top-k respondents
   (by propensity) an option, with k solved (small MILP) so that every published share rounds to
   the published whole percent; ordered scales and numeric bands are cut at thresholds.
4. **Calibration**: swaps of answers between respondents (counts unchanged) until the raked shares
   round to the published percent too; means are matched unweighted and raked by a linear fix.
5. **Contrasts**: each published segment contrast shifts the question's propensity for that level;
   shifts grow (x1.2) until every contrast holds in direction with p < 0.02, both in the fidelity
   test and in the weighted shares a banner shows, and shrink when a banner share differs by
   more than 25 points between the level and the rest (a survey's size, not a caricature).

Modules by job: ``_counts`` (integer counts, assignment, calibration), ``_latent`` (profile,
weights, traits, propensities, contrast shifts), ``_answers`` (one function per question type),
``_contrasts`` (what a code means on a wave, the contrast test, the quadratic outcome). The only
question-specific knowledge is the latent model (``_latent.LATENT``: which questions share a
trait; ``_contrasts.QUADRATIC``: which outcome has an inverted U in which constant-sum item);
every number comes from data files.

Example:
    >>> from survey.synth import synthesize
    >>> wave = synthesize(2025)
    >>> wave.n
    228
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from survey.codebook import Codebook
from survey.errors import SurveyError
from survey.synth._answers import _assemble, parse_range
from survey.synth._contrasts import ALPHA as FIDELITY_P
from survey.synth._contrasts import QUADRATIC
from survey.synth._counts import calibrate, solve_counts
from survey.synth._latent import (
    CONTRAST_GROWTH,
    CONTRAST_MAX_GAP,
    CONTRAST_P,
    CONTRAST_ROUNDS,
    CONTRAST_SHIFT,
    LATENT,
    TRAITS,
    _contrast_shifts,
    _contrast_stats,
    _Ctx,
    _profile,
    _weights,
)
from survey.synth.targets import Targets, stream

__all__ = [
    "DEFAULT_SEED",
    "LATENT",
    "QUADRATIC",
    "TRAITS",
    "calibrate",
    "generate",
    "parse_range",
    "solve_counts",
]

DEFAULT_SEED = 20251226


def generate(
    targets: Targets, codebook: Codebook, *, n: int | None = None, seed: int = DEFAULT_SEED
) -> pl.DataFrame:
    """A typed wave frame for ``targets`` (ids, profile, answers, ``weight``).

    Example:
        >>> from survey.codebook import Codebook
        >>> from survey.synth import build_targets, load_published
        >>> from survey.synth._edition import edition_view
        >>> figures, contrasts = load_published()
        >>> cb = edition_view(Codebook.load(), 2023)
        >>> frame = generate(build_targets(2023, cb, figures, contrasts), cb, n=50)
        >>> frame.height, frame["resp_id"][0]
        (50, '2023-0001')
    """
    size = int(n or targets.n)
    if size <= 0:
        raise SurveyError(
            f"edition {targets.edition} has no published sample size",
            value=targets.edition,
            expected="a count figure 'sample_size' in data/published/<edition>.csv, or a "
            "sample size (n= in Python, --n on the command line)",
        )
    profile = _profile(targets, codebook, size, seed)
    weights = _weights(profile, targets.margins, size)
    traits = {t: stream(seed, targets.edition, "trait", t).standard_normal(size) for t in TRAITS}
    scale = {i: CONTRAST_SHIFT for i in range(targets.contrasts.height)}
    best: tuple[tuple[int, int, int], pl.DataFrame] | None = None
    cache: dict[str, dict[str, np.ndarray]] = {}
    for _ in range(CONTRAST_ROUNDS):
        ctx = _Ctx(targets, codebook, size, seed, profile, weights, traits)
        _contrast_shifts(ctx, scale)
        frame = _assemble(ctx, cache)
        res = _contrast_stats(frame, targets, codebook)
        failing = [i for i, (p, _) in res.items() if p >= CONTRAST_P]
        too_big = [i for i, (p, gap) in res.items() if p < CONTRAST_P and gap > CONTRAST_MAX_GAP]
        missed = [i for i, (p, _) in res.items() if p >= FIDELITY_P]  # what the fidelity checks
        score = (len(missed), len(too_big), len(failing))
        if best is None or score < best[0]:
            best = (score, frame)
        if not failing and not too_big:
            break
        for i in failing:  # grow the shifts of the contrasts that do not hold yet
            scale[i] *= CONTRAST_GROWTH
        for i in too_big:  # and shrink, more gently, those larger than a survey would show
            scale[i] /= math.sqrt(CONTRAST_GROWTH)
    assert best is not None
    return best[1]
