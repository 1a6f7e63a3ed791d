"""Replicate-weight multipliers that ``make_golden_estimators.R`` feeds to R's ``svrepdesign``
(bootstrap with a seeded generator, BRR and Fay half-samples), so that R computes its
variances from the very replicates ``survey.design`` draws. Run from the repo root after
``make_fixtures.py``:

    python tests/oracle/make_fixture_replicates.py   # writes tests/oracle/fixture_replicates.csv
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from survey.design import Design

HERE = Path(__file__).resolve().parent
SEED = 20241201
N_BOOT = 50
FAY_RHO = 0.3


def multipliers(frame: pl.DataFrame) -> pl.DataFrame:
    """id, boot_1.., brr_1.., fay_1..: replicate weights divided by the design weights."""
    d = Design(frame, weights="w", ids="psu", strata="stratum")
    w = d.weights[:, None]
    parts = {"boot": d.replicates("bootstrap", replicates=N_BOOT, seed=SEED),
             "brr": d.replicates("BRR"), "fay": d.replicates("Fay", rho=FAY_RHO)}
    cols = {"id": frame["id"].to_numpy()}
    for name, rep in parts.items():
        m = np.asarray(rep.repweights) / w
        cols.update({f"{name}_{k + 1}": m[:, k] for k in range(m.shape[1])})
    return pl.DataFrame(cols)


if __name__ == "__main__":
    frame = pl.read_csv(HERE / "fixture.csv", null_values="NA")
    multipliers(frame).write_csv(HERE / "fixture_replicates.csv")
    print(f"wrote {HERE / 'fixture_replicates.csv'}")
