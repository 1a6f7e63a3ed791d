"""One table model for every export: a frozen :class:`Table` built from a banner book.

Exporters (``survey.export.xlsx``, ``survey.export.pptx``) read numbers, not text: each
:class:`Cell` keeps its value (a 0-1 share, a mean or a base), its letters, its Total mark and
its flags, and each format decides how to show them (a ``0%`` number format in Excel, "54% BC"
in a slide table).

Example:
    >>> t = b.table("en")
    >>> t.columns[0].label, t.blocks[0].rows[0].kind
    ('Total', 'option')
    >>> cell = t.blocks[0].rows[0].cells[0]
    >>> 0 <= cell.value <= 1
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from survey.banners._text import TOTAL, say
from survey.errors import EstimationError

if TYPE_CHECKING:
    from survey.banners import Banner

#: marks shared by both languages: a suppressed cell, a low base, the Total test
SUPPRESSED, LOW_BASE, ABOVE, BELOW = "*", "†", "▲", "▼"


@dataclass(frozen=True)
class Column:
    """A banner column: its variable (``total`` for the Total), level, labels and letter."""

    variable: str
    level: str
    label: str
    letter: str | None
    var_label: str


@dataclass(frozen=True)
class Spanner:
    """Consecutive columns of one banner variable (or one outer level of nested columns)."""

    label: str
    start: int
    stop: int  # exclusive


@dataclass(frozen=True)
class Cell:
    """One number of the table: ``value`` is a 0-1 share (``kind="share"``), a mean, or a
    base (``"base"``: unweighted count; ``"base_eff"``: Kish's effective base); ``None`` when
    suppressed or not asked."""

    value: float | None
    kind: str
    se: float | None = None
    letters: str = ""
    vs_total: str = ""  # "+" / "-" when significantly above / below the Total
    suppressed: bool = False
    low_base: bool = False
    not_asked: bool = False
    count: float | None = None  # weighted count of the cell (shares)
    row_pct: float | None = None  # share of the row's weighted count across the variable


@dataclass(frozen=True)
class StubRow:
    """A row of a block: ``kind`` is ``option``, ``net``, ``mean``, ``base`` or ``base_eff``."""

    code: str
    label: str
    kind: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class TableBlock:
    """The rows of one question (or one grid item)."""

    question_id: str
    item: str | None
    title: str
    rows: tuple[StubRow, ...]


@dataclass(frozen=True)
class Table:
    """A banner book ready for export: columns, spanners, blocks and notes in one language."""

    lang: str
    columns: tuple[Column, ...]
    spanners: tuple[Spanner, ...]
    blocks: tuple[TableBlock, ...]
    base: str
    note: str

    def questions(self) -> list[str]:
        """Question ids in book order (a grid's items share their question).

        Example:
            >>> b.table().questions()
            ['confidence', 'challenges']
        """
        return list(dict.fromkeys(blk.question_id for blk in self.blocks))

    def blocks_of(self, qid: str) -> list[TableBlock]:
        """The blocks of question ``qid``."""
        return [blk for blk in self.blocks if blk.question_id == qid]

    def text(self, cell: Cell, decimals: int = 0) -> str:
        """A cell as text: "54%† BC▲", "3.2", "*" or the "not asked" label.

        Example:
            >>> t = b.table("en")
            >>> t.text(Cell(0.536, "share", letters="BC", vs_total="+"))
            '54% BC▲'
            >>> t.text(Cell(None, "share", not_asked=True))
            'not asked'
        """
        if cell.not_asked:
            return say("not_asked", self.lang)
        if cell.suppressed or cell.value is None:
            return SUPPRESSED
        if cell.kind == "share":
            val = f"{cell.value * 100:.{decimals}f}%"
        elif cell.kind == "base" or cell.kind == "base_eff":
            val = f"{cell.value:,.0f}"
        else:
            val = f"{cell.value:.{max(decimals, 1)}f}"
        if cell.low_base and cell.kind not in ("base", "base_eff"):
            val += LOW_BASE
        mark = {"+": ABOVE, "-": BELOW}.get(cell.vs_total, "")
        tail = f"{cell.letters}{mark}"
        return f"{val} {tail}" if tail else val


def _missing_note(cells: pl.DataFrame, lg: str, titles: dict | None = None,
                  hidden: dict | None = None) -> str:
    """Say how many respondents of the first block have no value on each segment variable
    (they count in the Total column only), so that no one leaves a banner silently. Columns of
    a multi-select question overlap (a respondent may be in none or several): not counted."""
    titles = titles or {}
    first = cells.filter(pl.col("block") == cells["block"][0])
    bases = first.group_by("col_variable", "col_level", f"col_var_{lg}", maintain_order=True).agg(
        pl.col("n").max())
    total = bases.filter(pl.col("col_variable") == "total")["n"]
    if total.is_empty():
        return ""
    parts = []
    for (var,), sub in bases.filter(pl.col("col_variable") != "total").group_by(
            "col_variable", maintain_order=True):
        zh, en, overlapping = titles.get(var, (sub[f"col_var_{lg}"][0],) * 2 + (False,))
        if overlapping:
            continue
        label = en if lg == "en" else zh
        missing = int(total[0] - sub["n"].sum() - (hidden or {}).get(var, (0, 0))[1])
        if missing > 0:
            parts.append(say("missing", lg, segment=label, n=missing))
    return "".join(parts)


def _note(b: Banner, lg: str) -> str:
    adj = say(f"adjust.{b.adjust}", lg) if b.adjust else ""
    note = say("note", lg, test=say(f"test.{b.test}", lg), alpha=b.alpha, adj=adj,
               sup=b.suppress_below, flag=b.flag_below)
    parts = getattr(b, "design_zh" if lg == "zh" else "design_en", "")
    if b.test == "design" and parts:  # worded from the design: strata/clusters if it has them
        note += say("design_basis", lg, parts=parts)
    weighting = getattr(b, "weighting_zh" if lg == "zh" else "weighting_en", "")
    if weighting:
        note += weighting if lg == "zh" else f" {weighting}"
    if b.vs_total:
        note += say("vs_total", lg, alpha=b.alpha)
    if getattr(b, "dropped_empty", 0):
        note += say("dropped_empty", lg, n=b.dropped_empty)
    hidden = getattr(b, "hidden", {})
    if hidden:
        note += say("hidden_suppressed", lg, n=sum(c for c, _r in hidden.values()),
                    sup=b.suppress_below)
    note += _missing_note(b.cells, lg, b.col_titles, hidden)
    if getattr(b, "synthetic", False):
        note = say("synthetic_note", lg) + note
    return note


def build_table(b: Banner, lang: str | None = None) -> Table:
    """The :class:`Table` of banner ``b`` in ``lang`` (``Banner.table``)."""
    lg = "en" if (lang or b.lang) == "en" else "zh"
    cells = b.cells
    if cells.height == 0:
        raise EstimationError("the banner has no cells to export",
                              expected="at least one row question")
    keys = cells.select("col_variable", "col_level", f"col_label_{lg}", "letter",
                        f"col_var_{lg}").unique(maintain_order=True).rows()
    columns = tuple(Column(v, lv, label, letter, var) for v, lv, label, letter, var in keys)
    spanners: list[Spanner] = []
    for i, c in enumerate(columns):
        if c.variable == TOTAL:
            continue
        if spanners and spanners[-1].label == c.var_label and spanners[-1].stop == i:
            spanners[-1] = Spanner(c.var_label, spanners[-1].start, i + 1)
        else:
            spanners.append(Spanner(c.var_label, i, i + 1))
    C = len(columns)
    blocks = []
    for (_blk,), sub in cells.group_by("block", maintain_order=True):
        rows = []
        first = sub.row(0, named=True)
        n_row = sub.height // C
        data = sub.select("row_code", f"row_label_{lg}", "row_kind", "estimate", "se",
                          "sig_higher_than", "vs_total", "suppressed", "low_base", "not_asked",
                          "n", "n_eff", "count", "row_pct").rows()
        for r in range(n_row):
            chunk = data[r * C:(r + 1) * C]
            code, label, kind = chunk[0][:3]
            ck = "mean" if kind == "mean" else "share"
            rows.append(StubRow(code, label, kind, tuple(
                Cell(est, ck, se, sig or "", vt or "", bool(sup), bool(low), bool(na), cnt, rp)
                for _c, _l, _k, est, se, sig, vt, sup, low, na, _n, _e, cnt, rp in chunk)))
        base = data[:C]
        rows.append(StubRow("__base", say("base", lg), "base",
                            tuple(Cell(float(x[10]), "base") for x in base)))
        rows.append(StubRow("__base_eff", say("base_eff", lg), "base_eff",
                            tuple(Cell(float(x[11]), "base_eff") for x in base)))
        blocks.append(TableBlock(first["question_id"], first["item"],
                                 first[f"block_label_{lg}"], tuple(rows)))
    return Table(lg, columns, tuple(spanners), tuple(blocks), b.base_text(lg), _note(b, lg))


def table_frame(t: Table) -> pl.DataFrame:
    """The table as a long frame (one row per cell) — what exporters are tested against.

    Example:
        >>> table_frame(b.table()).columns[:4]
        ['question_id', 'item', 'block_title', 'row_code']
    """
    recs = []
    for blk in t.blocks:
        for row in blk.rows:
            for j, cell in enumerate(row.cells):
                recs.append((blk.question_id, blk.item, blk.title, row.code, row.label,
                             row.kind, j, cell.value, cell.letters, cell.vs_total))
    return pl.DataFrame(recs, orient="row", schema={
        "question_id": pl.String, "item": pl.String, "block_title": pl.String,
        "row_code": pl.String, "row_label": pl.String, "row_kind": pl.String,
        "column": pl.Int64, "value": pl.Float64, "letters": pl.String, "vs_total": pl.String})
