"""The table model shared by the exporters: ``Banner.table(lang)`` -> :class:`Table`."""

from survey.tables.model import (
    Cell,
    Column,
    Spanner,
    StubRow,
    Table,
    TableBlock,
    build_table,
    table_frame,
)

__all__ = ["Cell", "Column", "Spanner", "StubRow", "Table", "TableBlock", "build_table",
           "table_frame"]
