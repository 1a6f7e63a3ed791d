"""Design-based generalized linear models, as R's ``svyglm``.

Point estimates: statsmodels GLM with the design weights (rescaled to mean 1, as R) as
``var_weights``. Covariance: the sandwich ``A^-1 B A^-1`` where B is the design covariance of the
totals of the estimating functions (``Design._vcov_totals`` of ``U A^-1``, calibration-aware when
raked). Degrees of freedom as R: ``df_resid = degf + 1 - p`` for t tests and intervals.
Rows with missing values in the model are dropped as a domain (R's ``na.action`` on the design).

Example:
    >>> import polars as pl
    >>> from survey.design import Design
    >>> f = pl.DataFrame({"y": [1.0, 2.0, 2.5, 4.0, 5.5], "x": [0.0, 1.0, 2.0, 3.0, 4.0]})
    >>> round(float(Design(f).glm("y ~ x").params["x"]), 3)
    1.1
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import polars as pl
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from survey.errors import EstimationError

if TYPE_CHECKING:
    from survey.design.design import Design

FAMILIES = {"gaussian": sm.families.Gaussian, "binomial": sm.families.Binomial}


@dataclass(frozen=True)
class GlmResult:
    """svyglm-style fit: coefficients, design-based covariance and R's residual df."""

    formula: str
    family: str
    params: pd.Series
    vcov: pd.DataFrame
    df_resid: int
    level: float = 0.95

    @property
    def se(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.vcov)), index=self.params.index)

    def to_polars(self) -> pl.DataFrame:
        """term, estimate, se, t, p_value, ci_low, ci_high (t with ``df_resid``)."""
        est, se = self.params.to_numpy(), self.se.to_numpy()
        t = est / se
        q = stats.t.ppf(0.5 + self.level / 2, self.df_resid)
        return pl.DataFrame({"term": list(self.params.index), "estimate": est, "se": se, "t": t,
                             "p_value": 2 * stats.t.sf(np.abs(t), self.df_resid),
                             "ci_low": est - q * se, "ci_high": est + q * se})


def svyglm(design: Design, formula: str, family: str = "gaussian") -> GlmResult:
    """Fit ``formula`` on the design's frame with design-based standard errors."""
    if family not in FAMILIES:
        raise EstimationError(f"family={family!r}; expected one of {sorted(FAMILIES)}")
    frame = design.frame.with_columns(
        [pl.col(c).cast(pl.Float64) for c, t in design.frame.schema.items() if t == pl.Boolean])
    pdf = frame.to_pandas()
    pdf["_w"] = design.weights / design.weights.mean()
    pdf["_row"] = np.arange(design.n)
    model = smf.glm(formula, data=pdf, family=FAMILIES[family](), var_weights=pdf["_w"])
    fit = model.fit(tol=1e-12, maxiter=200)
    rows = pdf["_row"].to_numpy()[model.data.row_labels] if model.data.row_labels is not None \
        else np.arange(design.n)
    x = model.exog
    mu = fit.fittedvalues.to_numpy()
    w = pdf["_w"].to_numpy()[rows]
    y = model.endog
    info_w = w if family == "gaussian" else w * mu * (1 - mu)  # canonical links
    ainv = np.linalg.inv(x.T @ (info_w[:, None] * x))
    infl = np.zeros((design.n, x.shape[1]))
    infl[rows] = (x * (w * (y - mu))[:, None]) @ ainv
    vc = design._vcov_totals(infl)
    st = design._st
    keep = np.zeros(design.n, bool)
    keep[rows] = True
    unit = np.arange(design.n) if st.psu is None else st.psu
    degf = len(np.unique(unit[keep])) - len(np.unique(st.stratum[keep]))
    names = list(model.exog_names)
    return GlmResult(formula, family, pd.Series(fit.params.to_numpy(), index=names),
                     pd.DataFrame(vc, index=names, columns=names), degf + 1 - len(names))
