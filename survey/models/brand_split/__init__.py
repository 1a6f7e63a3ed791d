"""The brand/performance budget split associated with market-share growth (the "53:47" optimum).

A weighted logistic regression of "gained market share" (``market_share_change == increase``) on the
brand share ``s`` of the budget (in [0, 1]) and ``s²`` plus controls (industry, budget size);
``outcome_model="ordinal"`` fits a proportional-odds logit of decrease < flat < increase instead
(all three answers; P(increase) peaks at the same ``s*``), and a numeric outcome a weighted linear
model. The optimum ``s* = -b1 / (2 b2)`` comes with

* a delta-method CI from the design-based sandwich covariance ``A⁻¹ V(Σ U) A⁻¹`` whose middle
  term is computed by the design engine (:mod:`survey.design`: strata, PSUs and, for a raked
  design, the calibration residuals, so it equals ``Design.glm``);
* a weighted bootstrap CI (Rao-Wu rescaling over the design's PSUs, replicates re-raked when the
  design is calibrated, 10,000 replicates by default) fitted by a batched Newton-Raphson over all
  replicates at once in numpy;
* Wald and bootstrap tests against reference splits: the published 53:47, Binet & Field's 60:40 for
  consumer brands (*The Long and the Short of It*, IPA 2013) and 46:54 for B2B (Binet & Field, *The
  5 Principles of Growth in B2B Marketing*, LinkedIn B2B Institute 2019).

``model="spline"`` replaces ``s, s²`` by a restricted cubic spline (Harrell) and finds the optimum
by grid argmax. Controls enter additively on the link scale, so the argmax of the curve of the
share of advertisers gaining share (marginal standardisation over the respondents' own controls) is
the argmax of the ``s`` part of the linear predictor.

The model lives in private modules by job: ``_prepare`` (model matrices, ``s`` basis),
``_likelihood`` (batched Newton fits, sandwich), ``_references``, ``_result``, ``_fit``,
``_segments`` and ``_simulate``; everything public is imported here.

Example:
    >>> res = fit(ctx.design, bootstrap=50, seed=1)
    >>> round(res.optimum, 2), res.interior, res.n
    (0.52, True, 228)
    >>> print(res.summary("zh"))
    品牌投入占比约为 52%（加权自助法 95% 置信区间 ...）时，广告主获得市场份额增长的比例最高。...基数：全体广告主，n = 228。
"""

from survey.models.brand_split._fit import fit
from survey.models.brand_split._likelihood import fit_batch, sandwich
from survey.models.brand_split._prepare import (
    CUT_BRAND_COLUMN,
    GAIN_CODE,
    OUTCOME_ORDER,
    Family,
    Prepared,
    basis,
    prepare,
    rcs_knots,
)
from survey.models.brand_split._references import (
    LITERATURE_REFERENCES,
    default_references,
    published_optimum,
    reference_label,
)
from survey.models.brand_split._result import BrandSplitResult, WhatIfResult
from survey.models.brand_split._segments import (
    SegmentOptima,
    SegmentRefused,
    fit_segment,
    optima_by_segment,
)
from survey.models.brand_split._simulate import simulate

__all__ = [
    "CUT_BRAND_COLUMN",
    "GAIN_CODE",
    "LITERATURE_REFERENCES",
    "OUTCOME_ORDER",
    "BrandSplitResult",
    "Family",
    "Prepared",
    "SegmentOptima",
    "SegmentRefused",
    "WhatIfResult",
    "basis",
    "default_references",
    "fit",
    "fit_batch",
    "fit_segment",
    "optima_by_segment",
    "prepare",
    "published_optimum",
    "rcs_knots",
    "reference_label",
    "sandwich",
    "simulate",
]
