"""Helpers shared by the commands: printing frames."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


def print_frame(frame: pl.DataFrame, fmt: str) -> None:
    """Print ``frame`` whole as a table, or as CSV when ``fmt == "csv"``.

    Example:
        >>> import polars as pl
        >>> print_frame(pl.DataFrame({"a": [1]}), "csv")
        a
        1
    """
    import polars as pl

    if fmt == "csv":
        sys.stdout.write(frame.write_csv())
        return
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        fmt_str_lengths=60,
        tbl_width_chars=200,
        tbl_hide_dataframe_shape=True,
    ):
        print(frame)
