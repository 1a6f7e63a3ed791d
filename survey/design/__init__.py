"""Design-based estimation for survey data (Taylor linearization, raking, Rao-Scott, svyglm).

Example:
    >>> import polars as pl
    >>> from survey.design import Design
    >>> d = Design(pl.DataFrame({"q": [True, False, True, True]}))
    >>> round(d.proportion(["q"])["estimate"][0], 2)
    0.75
"""

from survey.design.design import Design, DesignBy, Diagnostics

__all__ = ["Design", "DesignBy", "Diagnostics"]
