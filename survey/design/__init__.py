"""Design-based estimation for survey data (Taylor linearization, raking, calibration,
replicate weights, Rao-Scott and Wald tests, svyglm, quantiles, ratios, contrasts).

Example:
    >>> import polars as pl
    >>> from survey.design import Design
    >>> d = Design(pl.DataFrame({"q": [True, False, True, True]}))
    >>> round(d.proportion(["q"])["estimate"][0], 2)
    0.75
"""

from survey.design.contrast import Estimates
from survey.design.design import Design, DesignBy, Diagnostics
from survey.design.replicate import ReplicateDesign

__all__ = ["Design", "DesignBy", "Diagnostics", "Estimates", "ReplicateDesign"]
