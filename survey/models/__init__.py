"""Statistical models on the advertiser survey: brand/performance split and scenarios.

Example:
    >>> from survey.models import brand_split
    >>> res = brand_split.fit(brand_split.simulate(228, seed=1), bootstrap=500, seed=1)
    >>> 0.3 < res.optimum < 0.8
    True
"""

from survey.models import brand_split

__all__ = ["brand_split"]
