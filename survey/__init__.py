"""survey — the advertiser survey behind the 中国数字营销趋势报告 (China Digital Marketing Trends Report).

One entry point per concept; heavy modules load on first use so that ``import survey`` and the CLI
start fast.

Example:
    >>> import survey
    >>> wave = survey.load_wave(2025)                      # the shipped (synthetic) 2025 wave
    >>> design = survey.Design(wave.frame, weights="weight", codebook=wave.codebook)
    >>> design.proportion("confidence").select("level", "estimate").height
    5
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Codebook": "survey.codebook",
    "Question": "survey.codebook",
    "Wave": "survey.wave",
    "load_wave": "survey.io",
    "validate_file": "survey.io",
    "write_wave": "survey.io",
    "Design": "survey.design",
    "standard_design": "survey.weighting",
    "ReportContext": "survey.reporting",
    "banner": "survey.banners",
    "compare_waves": "survey.trends",
    "trend": "survey.trends",
    "load_figures": "survey.published",
    "check_figures": "survey.published",
    "synthesize": "survey.synth",
    "SurveyError": "survey.errors",
    "ValidationError": "survey.errors",
}

__all__ = [
    "Codebook",
    "Design",
    "Question",
    "ReportContext",
    "SurveyError",
    "ValidationError",
    "Wave",
    "banner",
    "check_figures",
    "compare_waves",
    "load_figures",
    "load_wave",
    "standard_design",
    "synthesize",
    "trend",
    "validate_file",
    "write_wave",
]

if TYPE_CHECKING:  # pragma: no cover
    from survey.banners import banner
    from survey.codebook import Codebook, Question
    from survey.design import Design
    from survey.errors import SurveyError, ValidationError
    from survey.io import load_wave, validate_file, write_wave
    from survey.published import check_figures, load_figures
    from survey.synth import synthesize
    from survey.trends import compare_waves, trend
    from survey.wave import Wave


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'survey' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
