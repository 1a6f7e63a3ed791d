"""Banner books: crosstabs of row questions by segment columns with column-proportion letters.

``banner(design, rows, cols)`` tabulates every option (and net) of each row question — a mean for
numeric questions and constant-sum parts, one block per item of a grid — in a total column and
one column per level of each segment variable, and marks with letters (A, B, C … restarting for
each segment variable, as SPSS Custom Tables does) the columns a cell is significantly higher than.

Two tests, chosen with ``test=`` (details and formulas in ``docs/banner-tests.md``):

``"design"`` (default)
    Design-based test of ``p_a - p_b``. Both domain estimates come from the one (calibrated)
    design, so they are correlated in general; ``Var(p_a - p_b) = V_aa + V_bb - 2 V_ab`` where V is
    the covariance of the estimated totals of the joint influence functions
    ``z_c = 1[c] w (y - p_c) / N_c``, as the design's variance primitive ``_vcov_totals``
    computes it (strata, PSUs and raking included; evaluated from cell sums, see ``banner``).
    ``t = (p_a - p_b) / se`` against Student's t with the design's degrees of freedom.
    Reported ``se`` is the design SE.
``"effective_base"``
    The classic Dimensions/Quantum z-test on effective bases: with ``n_a, n_b`` the Kish effective
    bases ``(Σw)²/Σw²`` of the two columns and ``p = (n_a p_a + n_b p_b)/(n_a + n_b)`` pooled,
    ``z = (p_a - p_b) / sqrt(p (1-p) (1/n_a + 1/n_b))`` (means: ``(m_a - m_b)/sqrt(s_a²/n_a +
    s_b²/n_b)``). Assumes independent columns (overlap ignored), simple random sampling apart
    from the Kish design effect of the weights. Reported ``se`` is ``sqrt(p(1-p)/n_eff)``.

Either way the test is two-sided at ``alpha``; the letter goes to the higher column. ``adjust``
("bonferroni" or "holm") corrects for the pairs tested within a segment variable and a row.
Columns whose base is below ``suppress_below`` show "*" and are not tested; below ``flag_below``
they carry "†". An empty segment level is *kept* as a column with ``n = 0`` and suppressed (a book
keeps a stable layout); a segment variable that is not in the data raises ``EstimationError``.

Example:
    >>> import survey
    >>> wave = survey.load_wave(2025)
    >>> d = survey.Design(wave.frame, weights="weight", codebook=wave.codebook)
    >>> b = banner(d, ["confidence"], ["position", "industry"])
    >>> b.to_polars().columns[:3]
    ['question_id', 'item', 'row_code']
    >>> "<table" in b.to_gt().as_raw_html()
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from survey.banners._blocks import Labels, RowSpec, _blocks
from survey.banners._columns import ColSpec, _columns
from survey.banners._columns import _letters as _letters
from survey.banners._parts import _parts
from survey.banners._tabulate import (
    _PAIR_SCHEMA,
    _SCHEMA,
    PUBLIC_COLUMNS,
    _stack,
    _Strings,
    _tabulate,
    z_effective_base,
)
from survey.banners._tabulate import _adjust as _adjust
from survey.banners._text import TEXTS_FILE, TOTAL, Adjust, Test, say
from survey.banners._where import Filter, Where, resolve
from survey.errors import EstimationError

__all__ = ["TEXTS_FILE", "TOTAL", "Banner", "banner", "say", "z_effective_base"]

@dataclass(frozen=True)
class Banner:
    """A banner book: one tidy frame of cells plus the settings that produced it."""

    cells: pl.DataFrame = field(repr=False)
    pairs: pl.DataFrame = field(repr=False)
    test: Test
    alpha: float
    adjust: Adjust
    suppress_below: int
    flag_below: int
    lang: str = "zh"
    base_zh: str = ""
    base_en: str = ""
    vs_total: bool = False
    filtered: bool = False
    col_titles: dict = field(default_factory=dict, repr=False)  # var -> (zh, en, overlapping)
    synthetic: bool = False  # a synthetic wave: every note and slide footer says so
    design_zh: str = ""  # what the design-based test accounts for (from the design)
    design_en: str = ""
    weighting_zh: str = ""  # the design's weighting sentence (Design.weighting_note)
    weighting_en: str = ""
    dropped_empty: int = 0  # columns of a filtered book with no respondent in the filter
    hidden: dict = field(default_factory=dict, repr=False)  # var -> (columns, respondents) hidden

    def design_text(self, lang: str | None = None) -> str:
        """What the design-based test accounts for, worded from the design: its weights
        (raked, given or none) and strata or clusters only when it has them.

        Example:
            >>> w = survey.load_wave(2025)
            >>> given = survey.Design(w.frame, "weight", codebook=w.codebook)
            >>> banner(given, ["confidence"], ["brand_type"]).design_text("en")
            'weights, no strata or clusters'
        """
        return self.design_en if (lang or self.lang) == "en" else self.design_zh

    def base_text(self, lang: str | None = None) -> str:
        """The book's base: "Base: all respondents, n = 228" or, filtered, "Base: Beauty &
        personal care + Food & beverage, n = 72" in ``lang`` (each block's own base, the
        respondents who answered, is in its base rows).

        Example:
            >>> b.base_text("en")
            'Base: all respondents, n = 228'
        """
        return self.base_en if (lang or self.lang) == "en" else self.base_zh

    def to_polars(self, lang: str | None = None) -> pl.DataFrame:
        """Tidy cells: one row per (row, column) with estimate, se, bases and letters.

        Example:
            >>> b.to_polars().filter(pl.col("col_variable") == "position").height
            95
        """
        lg = lang or self.lang
        return self.cells.with_columns(
            pl.col(f"row_label_{lg}").alias("row_label"),
            pl.col(f"col_label_{lg}").alias("col_label"),
        ).select(PUBLIC_COLUMNS)

    def tests(self) -> pl.DataFrame:
        """Every pairwise test: columns ``col_a``/``col_b`` (levels), ``diff``, ``se_diff``,
        ``stat`` (t or z), ``p_value``, ``p_adjusted`` and ``significant``.

        Example:
            >>> b.tests().columns[-3:]
            ['p_value', 'p_adjusted', 'significant']
        """
        return self.pairs

    def table(self, lang: str | None = None) -> Any:
        """The frozen :class:`survey.tables.Table` of the book in ``lang``: what the Excel,
        PowerPoint and other exporters read (numbers stay numbers).

        Example:
            >>> b.table("en").columns[0].label
            'Total'
        """
        from survey.tables import build_table

        return build_table(self, lang)

    def to_excel(self, path: str | Path, lang: str | None = None, **kwargs: Any) -> Path:
        """Write the book as Excel tabs (:func:`survey.export.xlsx.to_xlsx`): an index sheet
        linking to one sheet per question, numbers as numbers with percent formats, letters
        beside the percentages, bases, effective bases, marks and the note.

        Example:
            >>> b.to_excel(tmp / "tabs.xlsx", lang="en").name
            'tabs.xlsx'
        """
        from survey.export.xlsx import to_xlsx

        return to_xlsx(self.table(lang), path, **kwargs)

    def to_pptx(self, path: str | Path, lang: str | None = None, **kwargs: Any) -> Path:
        """Write the book as slides (:class:`survey.export.pptx.Deck`): per question a native
        chart of the Total and a native table of the book.

        Example:
            >>> b.to_pptx(tmp / "book.pptx").name
            'book.pptx'
        """
        from survey.export.pptx import Deck

        deck = Deck(lang=lang or self.lang)
        deck.add_banner(self, **kwargs)
        return deck.save(path)

    def to_gt(self, lang: str | None = None, *, decimals: int = 0) -> Any:
        """A great-tables rendering (row groups per question block, bases per block).

        Example:
            >>> say("total", "zh") in b.to_gt().as_raw_html()
            True
        """
        from survey.export.html import _to_gt

        return _to_gt(self, lang or self.lang, decimals)

    def to_html(self, lang: str | None = None, *, decimals: int = 0,
                engine: Literal["fast", "great_tables"] = "fast",
                path: str | Path | None = None, full: bool | None = None) -> str:
        """The HTML of :meth:`to_gt` (``to_gt(...).as_raw_html()``), a fragment to embed.

        With ``path`` (or ``full=True``) a complete document — doctype, ``<meta
        charset="utf-8">``, ``lang`` and a title — is returned and, with ``path``, written
        there (UTF-8, through a temporary file). Every label is escaped.

        ``engine="fast"`` (default) gives the same HTML, byte for byte, in a fraction of the
        time for a whole book: great-tables renders the styles, header and notes, and the body
        rows are written in its markup (see ``_fast_html``); ``"great_tables"`` renders it all
        through great-tables.

        Example:
            >>> doc = b.to_html(path=tmp / "book.html")
            >>> doc.startswith("<!DOCTYPE html>"), (tmp / "book.html").exists()
            (True, True)
        """
        lg = lang or self.lang
        if engine == "great_tables":
            html = self.to_gt(lg, decimals=decimals).as_raw_html()
        elif engine == "fast":
            from survey.export.html import _fast_html

            html = _fast_html(self, lg, decimals)
        else:
            raise EstimationError(f"unknown engine {engine!r}", value=engine,
                                  expected="'fast' or 'great_tables'")
        if not (full or (full is None and path is not None)):
            return html
        from survey.export.html import html_document

        first = self.cells["block_label_en" if lg == "en" else "block_label_zh"]
        title = first[0] if first.len() else say("xlsx.title", lg)
        doc = html_document(html, title=title, lang=lg)
        if path is not None:
            import os
            import tempfile

            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmpname = tempfile.mkstemp(suffix=".html", dir=target.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(doc)
                from survey.export._files import publish

                publish(tmpname, target)
            finally:
                if os.path.exists(tmpname):
                    os.unlink(tmpname)
        return doc


# ---------------------------------------------------------------------------------------------
# The computation
# ---------------------------------------------------------------------------------------------
def banner(
    design: Any,
    rows: Sequence[str],
    cols: Sequence[ColSpec],
    *,
    test: Test = "design",
    alpha: float = 0.05,
    adjust: Adjust = None,
    suppress_below: int = 30,
    flag_below: int = 50,
    lang: str = "zh",
    include_total: bool = True,
    nets: bool | Mapping[str, Any] = True,
    where: Where = None,
    where_label: str | None = None,
    labels: Labels | None = None,
    collapse: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    scores: bool = False,
    vs_total: bool = False,
    hide_suppressed: bool = False,
    synthetic: bool | None = None,
    _variance: str = "auto",
) -> Banner:
    """Tabulate ``rows`` by ``cols`` with significance letters.

    ``rows``: question ids, single grid items (``"media_intent:mobile"`` or the column
    ``"media_intent__mobile"``) or derived columns of the design (Boolean, Enum, String:
    one row per level; numbers: a mean, unless ``labels`` names their levels).
    ``cols``: segment variables (single-select questions or derived columns), multi-select
    questions (one overlapping column per option) and ``(outer, inner)`` pairs for nested
    columns (letters and tests within each outer level).

    Cells hold the weighted share of the column's base (respondents of the column who
    answered), its SE, the unweighted base ``n``, Kish's effective base ``n_eff = (Σw)²/Σw²``,
    the weighted ``count``, the weighted base and the ``row_pct`` (share of the row's weighted
    count across the levels of a variable); means for numeric questions and, from the
    codebook's option scores, a ``score_mean`` row (``scores=True``). Shares are 0-1 fractions.

    Options: ``nets`` — ``False`` for none, or ad-hoc nets added to the codebook's:
    ``{"any_decrease": [...]}`` (every row question with those codes) or
    ``{qid: {code: [...]}}``; ``where`` — a filter (polars expression, ``{var: levels}`` or
    ``"var=a,b"``), a domain of the full design as R's ``subset.survey.design``, named in the
    base note (:meth:`Banner.base_text`); ``labels`` — ``{var: title}`` or
    ``{var: {level: label, "_title": title}}``, labels as text or ``{"zh":…, "en":…}``;
    ``collapse`` — ``{var: {new_level: [levels]}}`` combines small columns;
    ``vs_total`` — test each column against the Total (``vs_total`` cell mark ``+``/``-``);
    ``hide_suppressed`` — drop columns suppressed in every block; ``adjust`` — "bonferroni",
    "holm" or "BH" within a row's family of pairs; ``synthetic`` — the wave is synthetic
    (``Wave.is_synthetic``; ``None``: the design's ``is_synthetic`` if it has one), so every
    note and slide footer carries the synthetic-data tag. A filtered book leaves out the
    columns no respondent of the filter is in, and its note says how many.

    Tests (``docs/banner-tests.md``): ``"design"`` uses the design covariance of the columns
    (the design primitive ``Design._vcov_totals``, R's ``svyrecvar``, applied to the joint
    influence columns, evaluated from cell sums; ``_variance="primitive"`` uses the dense
    matrix); overlapping columns (multi-select) use the dense covariance, so their tests
    account for the shared respondents.

    Example:
        >>> b = banner(design, ["confidence", "challenges"], ["position"], adjust="holm")
        >>> b.to_polars().filter(pl.col("col_variable") == "position")["col_level"].n_unique()
        5
        >>> sub = banner(design, ["confidence"], ["brand_type"],
        ...              where={"industry": ["beauty", "food_bev"]})
        >>> sub.base_text("en")
        'Base: Beauty & personal care + Food & beverage, n = ...'
    """
    if test not in ("design", "effective_base"):
        raise EstimationError(f"unknown test {test!r}", value=test,
                              expected="'design' or 'effective_base'")
    if adjust not in (None, "bonferroni", "holm", "BH"):
        raise EstimationError(f"unknown adjustment {adjust!r}", value=adjust,
                              expected="None, 'bonferroni', 'holm' or 'BH'")
    filt = None
    if where is not None and isinstance(getattr(design, "frame", None), pl.DataFrame):
        try:
            filt = resolve(design.frame, getattr(design, "codebook", None), where, where_label)
        except EstimationError:
            if not (isinstance(where, str) and callable(getattr(design, "subset", None))) \
                    or _is_mapping_text(where):  # 'var=a,b': its own message, not SQL's
                raise
            design = design.subset(where)  # a SQL condition: the design reads it
            filt = Filter(design._subset, where_label or where, where_label or where)
    if filt is not None and callable(getattr(design, "subset", None)) and \
            getattr(design, "_subset", None) is not filt.mask:
        design = design.subset(filt.mask)  # R's subset.survey.design: a domain of the design
    parts = _parts(design)
    frame, w = parts.frame, parts.w
    mask = parts.subset if parts.subset is not None else (None if filt is None else filt.mask)
    if filt is None and parts.subset is not None:  # a design subset before the call
        label = where_label or str(getattr(design, "where", None) or "")
        filt = Filter(parts.subset, label, label)
    titles: dict[str, tuple[str, str, bool]] = {}
    spec, groups = _columns(frame, parts.codebook, cols, include_total, labels=labels,
                            collapse=collapse, mask=mask, titles=titles)
    if _variance not in ("auto", "aggregated", "primitive"):
        raise EstimationError(f"unknown variance path {_variance!r}",
                              expected="'auto', 'aggregated' or 'primitive'")
    path = "aggregated" if _variance == "auto" else _variance
    if _variance == "auto" and parts.cal is not None and not parts.cal.same_weights(w):
        path = "primitive"  # trimmed after raking: the cell sums assume raking weights = w
    if _variance == "auto" and not getattr(parts.st, "one_stage", True):
        path = "primitive"  # later stages or lonely-PSU rules: the cell sums are one-stage
    rowspec = RowSpec(nets=nets, labels=labels or {}, scores=scores,
                      edition=getattr(design, "edition", None), mask=mask)
    cache: dict[int, dict[str, Any]] = {}
    strings = _Strings()
    out: list[dict[str, list]] = []
    tests: list[dict[str, list]] = []
    block_no = 0
    for qid in rows:
        for blk in _blocks(frame, parts.codebook, qid, rowspec):
            cells_b, tests_b = _tabulate(blk, block_no, spec, groups, w, parts, test, alpha,
                                         adjust, suppress_below, flag_below, path, cache,
                                         strings, vs_total)
            out.append(cells_b)
            tests.append(tests_b)
            block_no += 1
    cols_df = pl.DataFrame({
        "col_variable": [c.variable for c in spec], "col_var_zh": [c.var_zh for c in spec],
        "col_var_en": [c.var_en for c in spec], "col_level": [c.level for c in spec],
        "col_label_zh": [c.zh for c in spec], "col_label_en": [c.en for c in spec],
        "letter": pl.Series([c.letter for c in spec], dtype=pl.String),
    })
    if out:  # one frame for the whole book (per-block frames cost more than the statistics)
        row_keys = [k for k in _SCHEMA if k in out[0][0]]
        rows_all = pl.DataFrame({k: pl.Series(k, [x for r, _ in out for x in r[k]],
                                              dtype=_SCHEMA[k]) for k in row_keys})
        rows_all = rows_all.join(cols_df, how="cross", maintain_order="left")
        obj = ("sig_higher_than", "vs_total")
        nums = {k: np.concatenate([np.asarray(o[k]) for _, o in out]) if k not in obj
                else [x for _, o in out for x in o[k]] for k in out[0][1]}
        cells = rows_all.with_columns(
            pl.Series(k, v, dtype=_SCHEMA[k]) for k, v in nums.items()
        ).with_columns(pl.col("estimate", "se", "count", "row_pct", "deff").fill_nan(None)
                       ).select(list(_SCHEMA))
    else:
        cells = pl.DataFrame(schema=_SCHEMA)
    pairs = pl.DataFrame({k: _stack(k, [t[k] for t in tests], dt, strings)
                          for k, dt in _PAIR_SCHEMA.items()})
    pairs = pairs.with_columns(pl.col("diff", "se_diff", "stat", "p_value", "p_adjusted")
                               .fill_nan(None))
    dropped = 0
    if filt is not None and cells.height:  # a filtered book: no empty columns
        empty = cells.group_by("col_variable", "col_level").agg(
            (pl.col("n") == 0).all().alias("_empty")).filter("_empty")
        dropped = empty.height
        if dropped:
            cells = cells.join(empty, on=["col_variable", "col_level"], how="anti",
                               maintain_order="left")
    hidden: dict[str, tuple[int, int]] = {}
    if hide_suppressed and cells.height:
        keep = cells.group_by("col_variable", "col_level").agg(
            (~pl.col("suppressed")).any().alias("_keep"),
            pl.col("n").filter(pl.col("block") == cells["block"][0]).max().alias("_n"))
        gone = keep.filter(~pl.col("_keep")).group_by("col_variable").agg(
            pl.len().alias("cols"), pl.col("_n").sum().alias("resp"))
        hidden = {v: (int(c), int(r or 0)) for v, c, r in gone.iter_rows()}
        cells = cells.join(keep.drop("_n"), on=["col_variable", "col_level"], how="left",
                           maintain_order="left").filter("_keep").drop("_keep")
    n_base = int(mask.sum()) if mask is not None else frame.height
    base = {lg: (filt.base_text(n_base, lg) if filt is not None
                 else say("base_all", lg, n=n_base)) for lg in ("zh", "en")}
    if synthetic is None:
        synthetic = bool(getattr(design, "is_synthetic", False))
    dz, de = _design_parts(design, parts)
    note = getattr(design, "weighting_note", None)
    wz, we = (note("zh"), note("en")) if callable(note) else ("", "")
    return Banner(cells, pairs, test, alpha, adjust, suppress_below, flag_below, lang,
                  base_zh=base["zh"], base_en=base["en"], vs_total=vs_total,
                  filtered=filt is not None, col_titles=titles, synthetic=bool(synthetic),
                  design_zh=dz, design_en=de, weighting_zh=wz, weighting_en=we,
                  dropped_empty=dropped, hidden=hidden)


def _is_mapping_text(where: str) -> bool:
    """Whether a textual filter reads as ``var=a,b; var2=c`` (not a SQL condition)."""
    from survey.banners._where import parse_where

    if any(op in where for op in ("<", ">", "!=", "==", "(", " and ", " or ", " AND ", " OR ")):
        return False
    try:
        parse_where(where)
    except EstimationError:
        return False
    return True


def _design_parts(design: Any, parts: Any) -> tuple[str, str]:
    """What the design-based test accounts for, in zh and en: the weighting (``raked``,
    ``given`` or ``none``: ``Design.weighting``, else read from the weights), and strata or
    clusters only when the design has them."""
    kind = getattr(design, "weighting", None)
    if kind not in ("raked", "given", "none"):
        w = np.asarray(parts.w, dtype=float)
        kind = "raked" if parts.cal is not None else (
            "none" if w.size == 0 or np.all(w == w[0]) else "given")
    n = parts.frame.height
    strata = int(getattr(parts.st, "n_strata", 1)) > 1
    clusters = int(getattr(parts.st, "n_psus", n)) < n
    keys = [kind] + (["strata"] if strata else []) + (["clusters"] if clusters else [])
    if not strata and not clusters:
        keys.append("srs")
    return tuple(say("design_part.sep", lg).join(say(f"design_part.{k}", lg) for k in keys)
                 for lg in ("zh", "en"))  # type: ignore[return-value]
