"""Generate the seeded fixture CSVs that ``make_golden.R`` reads (run from the repo root).

Example:
    python tests/oracle/make_fixtures.py   # writes tests/oracle/fixture.csv
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
N = 400
SEED = 20240917


def make_fixture(n: int = N, seed: int = SEED) -> pl.DataFrame:
    """A respondent-level frame with segments, binary items, a numeric variable and a design."""
    rng = np.random.default_rng(seed)
    stratum = np.repeat(np.arange(1, 5), n // 4)
    psu = stratum * 100 + rng.integers(1, 11, size=n)  # 10 PSUs per stratum, nested ids
    seg2 = np.where(rng.random(n) < 0.45, "f", "m")
    # age4 correlated with seg2 so that raking margins are not orthogonal
    p_age = np.where(seg2[:, None] == "f", [0.4, 0.3, 0.2, 0.1], [0.15, 0.25, 0.3, 0.3])
    age4 = np.array(["a1", "a2", "a3", "a4"])[(rng.random(n)[:, None] > p_age.cumsum(1)).sum(1)]
    seg6 = np.array([f"s{k}" for k in range(1, 7)])[rng.integers(0, 6, size=n)]
    x = rng.normal(0.0, 1.0, size=n) + (seg2 == "m") * 0.5
    w = np.exp(rng.normal(0.0, 0.5, size=n)) * (1.0 + (stratum == 2))
    lin = -0.3 + 0.8 * x[:, None] + (age4 == "a1")[:, None] * 0.7 + rng.normal(size=(n, 1)) * 0.3
    items = (rng.random((n, 4)) < 1 / (1 + np.exp(-(lin + np.array([0.0, -1.0, 1.0, -2.0])))))
    brand = np.array(["b1", "b2", "b3", "b4"])[
        np.clip((rng.random(n) * 4 + (seg2 == "m") * 0.8).astype(int), 0, 3)
    ]
    spend = 50 + 10 * x + 5 * items[:, 0] + rng.normal(0, 8, size=n)
    spend[rng.random(n) < 0.05] = np.nan
    ms = rng.random((n, 3)) < np.array([0.5, 0.3, 0.15])
    return pl.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "stratum": stratum,
            "psu": psu,
            "fpc": np.full(n, 60),
            "w": w,
            "seg2": seg2,
            "seg6": seg6,
            "age4": age4,
            "brand": brand,
            "x": x,
            "spend": spend,
            **{f"q{j + 1}": items[:, j].astype(np.int64) for j in range(4)},
            **{f"ms__{c}": ms[:, k].astype(np.int64) for k, c in enumerate("abc")},
        }
    ).with_columns(pl.col("spend").fill_nan(None))


def load_fixture(path: Path = HERE / "fixture.csv") -> pl.DataFrame:
    """Read the fixture back with Enum segments and Boolean items, as a wave would have them."""
    df = pl.read_csv(path, null_values="NA")
    enums = {"seg2": ["f", "m"], "seg6": [f"s{k}" for k in range(1, 7)],
             "age4": ["a1", "a2", "a3", "a4"], "brand": ["b1", "b2", "b3", "b4"]}
    bools = [c for c in df.columns if c.startswith(("q", "ms__"))]
    return df.with_columns(
        *[pl.col(c).cast(pl.Enum(lv)) for c, lv in enums.items()],
        *[pl.col(c).cast(pl.Boolean) for c in bools],
    )


if __name__ == "__main__":
    make_fixture().write_csv(HERE / "fixture.csv", null_value="NA")
    print(f"wrote {HERE / 'fixture.csv'}")
