"""What a report chapter or a notebook needs, loaded once: :class:`ReportContext`.

A context holds an edition's wave with its standard design, the previous edition's, the published
figures, the codebook and the report's text catalog. Its methods are thin, labelled accessors
over the statistics engine (``Design``, ``banner``, ``compare_waves``).

Example:
    >>> from survey.reporting import ReportContext
    >>> ctx = ReportContext.load()                 # the newest wave, Chinese labels
    >>> ctx.edition, ctx.n
    (2025, 228)
    >>> round(ctx.share("confidence", "net_decrease"), 2)
    0.54
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from survey.errors import EstimationError, SurveyError
from survey.paths import report_dir, waves_dir

if TYPE_CHECKING:
    from survey.banners import Banner
    from survey.codebook import Codebook
    from survey.design import Design
    from survey.present.text import Texts
    from survey.wave import Wave


def available_editions(directory: str | Path | None = None) -> list[int]:
    """Editions with a wave file ``YEAR.parquet`` in the waves folder, oldest first."""
    folder = Path(directory) if directory is not None else waves_dir()
    return sorted(int(p.stem) for p in folder.glob("*.parquet") if p.stem.isdigit())


@dataclass(frozen=True, eq=False)
class ReportContext:
    """An edition's wave, design, previous edition, figures and texts (see module docstring)."""

    edition: int
    lang: str
    wave: Wave
    design: Design
    figures: pl.DataFrame
    texts: Texts
    previous: ReportContext | None = None

    # -- construction -----------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        edition: int | None = None,
        lang: str = "zh",
        *,
        texts: str | Path | None = None,
        with_previous: bool = True,
    ) -> ReportContext:
        """Load ``edition`` (default: the newest wave) and, when present, the previous edition."""
        from survey.io import load_wave
        from survey.present.text import Texts
        from survey.published import load_figures
        from survey.weighting import standard_design

        editions = available_editions()
        if not editions:
            raise SurveyError(
                f"no wave files in {waves_dir()}",
                file=str(waves_dir()),
                expected="data/waves/YEAR.parquet (survey synth, or survey ingest)",
            )
        edition = editions[-1] if edition is None else int(edition)
        if edition not in editions:
            raise SurveyError(
                f"no wave for edition {edition}",
                value=edition,
                expected=f"one of the editions with a wave: {editions}",
            )
        wave = load_wave(edition)
        catalog = Texts.load(texts if texts is not None else report_dir() / "strings.yml")
        figures = load_figures()
        previous = None
        earlier = [e for e in editions if e < edition]
        if with_previous and earlier:
            prev_wave = load_wave(earlier[-1])
            previous = cls(
                earlier[-1], lang, prev_wave, standard_design(prev_wave), figures, catalog
            )
        return cls(edition, lang, wave, standard_design(wave), figures, catalog, previous)

    # -- basics -----------------------------------------------------------------------------------
    @property
    def codebook(self) -> Codebook:
        """The codebook the wave was read with."""
        return self.wave.codebook

    @property
    def n(self) -> int:
        """Number of respondents."""
        return self.wave.frame.height

    @property
    def is_synthetic(self) -> bool:
        """Whether the wave is a synthetic one (from its file metadata)."""
        return str(self.wave.metadata.get("synthetic", "false")).lower() == "true"

    def asks(self, qid: str) -> bool:
        """Whether this edition asked ``qid`` (codebook) and the wave carries its columns."""
        if qid not in self.codebook:
            return False
        q = self.codebook[qid]
        return q.asked_in(self.edition) and set(self._columns(q)) <= set(self.wave.frame.columns)

    def _columns(self, q: Any) -> list[str]:  # the columns of ``q`` this edition asked
        return list(q.columns(self.edition))

    def weighted_frame(self) -> pl.DataFrame:
        """The wave with the standard (raked) weights in the codebook's weight column."""
        return self.wave.frame.with_columns(
            pl.Series(self.codebook.weight_column, self.design.weights)
        )

    def industries(self) -> int:
        """Number of industries with at least one respondent (the residual "other" not counted)."""
        from survey.codebook import RESIDUAL_CODES

        codes = self.wave.frame["industry"].drop_nulls().cast(pl.String).unique()
        return int((~codes.is_in(list(RESIDUAL_CODES))).sum())

    def sample_composition(self) -> pl.DataFrame:
        """Respondents by each segment variable: count, unweighted and weighted share, target.

        Columns ``variable, level, question, option, n, unweighted, weighted, target``
        (shares in [0, 1]; ``target`` is the raking margin, null for variables not raked).

        Example:
            >>> ctx = ReportContext.load(2025, with_previous=False)
            >>> ctx.sample_composition().filter(pl.col("variable") == "brand_type")["target"].to_list()
            [0.7, 0.3]
        """
        from survey.weighting import load_margins

        margins = load_margins(self.edition, self.codebook)
        frame = self.wave.frame
        parts = []
        for q in self.codebook.segments():
            if q.id not in frame.columns or not q.asked_in(self.edition):
                continue
            counts = dict(frame[q.id].cast(pl.String).value_counts().iter_rows())
            weighted = self.design.proportion(q.id)
            shares = dict(zip(weighted["level"], weighted["estimate"], strict=True))
            target = margins.get(q.id, {})
            parts.append(
                pl.DataFrame(
                    {
                        "variable": q.id,
                        "level": [o.code for o in q.options],
                        "question": q.short_label(self.lang),
                        "option": [q.label(o.code, self.lang) for o in q.options],
                        "n": [counts.get(o.code, 0) for o in q.options],
                        "unweighted": [counts.get(o.code, 0) / self.n for o in q.options],
                        "weighted": [shares.get(o.code, 0.0) for o in q.options],
                        "target": [target.get(o.code) for o in q.options],
                    },
                    schema_overrides={"target": pl.Float64, "n": pl.Int64},
                )
            )
        return pl.concat(parts)

    def provenance(self) -> pl.DataFrame:
        """Published figures up to this edition with a short source reference, newest first.

        Columns ``edition, figure_id, value, unit, source, quote``; ``unit`` in the report's
        language (catalog ``units.*``); ``source`` is the seed file (``seed 001`` for
        ``001_<hash>.txt``) or the web site's host, then the episode and shownote time.
        """
        import re
        from urllib.parse import urlparse

        def short(source: str) -> str:
            if source.startswith("http"):
                return urlparse(source).netloc or source
            seed = re.fullmatch(r"(\d{3})_[0-9a-f]+\.txt", source)
            return f"seed {seed[1]}" if seed else source

        figures = self.figures.filter(pl.col("edition") <= self.edition)
        host = pl.col("source_file").map_elements(short, return_dtype=pl.String)
        units = {u: self.say(f"units.{u}") for u in figures["unit"].unique() if u}
        source = pl.concat_str(
            [host, pl.col("episode").fill_null(""), pl.col("shownote_time").fill_null("")],
            separator=" ",
        ).str.strip_chars()
        return figures.sort("edition", "figure_id", descending=[True, False]).select(
            "edition",
            "figure_id",
            "value",
            pl.col("unit").replace_strict(units, default=pl.col("unit")),
            source.alias("source"),
            "quote",
        )

    def source_files(self) -> list[str]:
        """The seed files and web pages the published figures of this edition and earlier cite."""
        figures = self.figures.filter(pl.col("edition") <= self.edition)
        return sorted(figures["source_file"].unique().to_list())

    def margin_of_error(self, n: float | None = None, p: float = 0.5, level: float = 0.95) -> float:
        """Half-width of the ``level`` interval of a share ``p`` on a base of ``n`` respondents.

        Uses the design's Kish design effect: ``z * sqrt(deff * p (1 - p) / n)``; ``n``
        defaults to the whole sample.
        """
        from scipy.stats import norm

        base = self.n if n is None else n
        z = float(norm.ppf(0.5 + level / 2))
        return z * (self.design.diagnostics.deff_kish * p * (1 - p) / base) ** 0.5

    @staticmethod
    def banner_thresholds() -> dict[str, int]:
        """The banner's default low-base thresholds: ``suppress_below`` and ``flag_below``."""
        import inspect

        from survey.banners import banner

        params = inspect.signature(banner).parameters
        return {k: params[k].default for k in ("suppress_below", "flag_below")}

    def say(self, key: str, /, **values: Any) -> str:
        """A sentence of the text catalog in the context's language, filled with ``values``."""
        return self.texts.say(key, self.lang, **values)

    def label(self, qid: str, code: str | None = None) -> str:
        """The short label of a question, or the label of one of its codes."""
        q = self.codebook[qid]
        return q.short_label(self.lang) if code is None else q.label(code, self.lang)

    # -- estimates --------------------------------------------------------------------------------
    def topline(self, qid: str) -> pl.DataFrame:
        """Weighted shares (or the mean) of every option and net of ``qid`` on the whole sample.

        Columns ``item, row_code, row_label, row_kind, estimate, se, n``; the banner's total
        column, so nets and top-2 boxes come from the codebook.
        """
        return self._toplines.filter(pl.col("question_id") == qid).drop("question_id")

    @cached_property
    def _toplines(self) -> pl.DataFrame:
        from survey.banners import banner

        asked = [q.id for q in self.codebook if q.asked_in(self.edition) and not q.segment]
        present = [
            qid
            for qid in asked
            if set(self._columns(self.codebook[qid])) <= set(self.wave.frame.columns)
        ]
        cells = banner(self.design, rows=present, cols=[], lang=self.lang).to_polars(self.lang)
        return cells.select(
            "question_id", "item", "row_code", "row_label", "row_kind", "estimate", "se", "n"
        )

    def share(self, qid: str, code: str, item: str | None = None) -> float:
        """The weighted share of an option or net (of a grid ``item`` when given)."""
        wanted = code if item is None else f"{item}:{code}"
        rows = self.topline(qid).filter(pl.col("row_code") == wanted)
        if rows.height != 1:
            raise EstimationError(
                f"no single estimate for {qid}={code}" + (f" (item {item})" if item else ""),
                column=qid,
                value=code,
                expected=f"an option or net code of '{qid}'"
                + (" and a grid item" if item is None else ""),
            )
        return float(rows["estimate"][0])

    def proportion(self, qid: str, **kwargs: Any) -> pl.DataFrame:
        """``Design.proportion`` of ``qid`` with labels in the context's language (CIs included)."""
        return self.design.proportion(qid, lang=self.lang, **kwargs)

    def mean(self, qid: str) -> dict[str, float]:
        """The weighted mean of a numeric question: ``estimate, se, ci_low, ci_high, n``."""
        row = self.design.mean(qid).row(0, named=True)
        return {k: row[k] for k in ("estimate", "se", "ci_low", "ci_high", "n")}

    def by_net(self, qid: str, nets: list[str] | None = None) -> Design:
        """The design with a column ``<qid>__net`` grouping respondents by the nets of ``qid``.

        Respondents in no net (e.g. "flat") form their own group named by their option code, so
        domain estimates by this column (``.by(f"{qid}__net")``) cover the whole sample.
        """
        q = self.codebook[qid]
        chosen = [n for n in q.nets if nets is None or n.code in nets]
        expr = pl.col(qid).cast(pl.String)
        for net in reversed(chosen):
            expr = (
                pl.when(pl.col(qid).cast(pl.String).is_in(list(net.of)))
                .then(pl.lit(net.code))
                .otherwise(expr)
            )
        return self.design.with_columns(expr.alias(f"{qid}__net"))

    def ranked(self, qid: str) -> pl.DataFrame:
        """The options of a multi-select question by share, highest first, with their rank.

        Residual options (``other`` …) come last whatever their share.
        """
        from survey.codebook import RESIDUAL_CODES

        return (
            self.topline(qid)
            .filter(pl.col("row_kind") == "option")
            .sort(pl.col("row_code").is_in(list(RESIDUAL_CODES)), -pl.col("estimate"))
            .with_row_index("rank", offset=1)
        )

    def ranked_items(self, qid: str, code: str) -> pl.DataFrame:
        """The items of grid ``qid`` by the share answering ``code``, highest first.

        Columns of :meth:`topline` plus ``item_label`` and ``rank``.
        """
        items = {o.code: o.label(self.lang) for o in self.codebook[qid].items}
        return (
            self.topline(qid)
            .filter(pl.col("row_code").str.ends_with(f":{code}"))
            .with_columns(pl.col("item").replace_strict(items).alias("item_label"))
            .sort("estimate", descending=True)
            .with_row_index("rank", offset=1)
        )

    def rank_of(self, qid: str, code: str) -> int:
        """Rank of an option among the options of ``qid`` by share (1 = most chosen)."""
        return int(self.ranked(qid).filter(pl.col("row_code") == code)["rank"][0])

    #: the segment variables the report's confidence analysis shows (banner and findings)
    CONFIDENCE_SEGMENTS = ("job_level", "business_model", "position", "brand_type")

    def banner(self, rows: list[str], cols: list[str] | None = None, **kwargs: Any) -> Banner:
        """A banner book of ``rows`` by ``cols`` (default: every segment question)."""
        from survey.banners import banner

        cols = (
            cols
            if cols is not None
            else [q.id for q in self.codebook.segments() if q.id != "industry"]
        )
        return banner(self.design, rows=rows, cols=cols, lang=self.lang, **kwargs)

    def change(self, qid: str) -> pl.DataFrame | None:
        """Change since the previous edition for every option/net (pp) or the mean of ``qid``.

        ``None`` when there is no previous wave or the question is not comparable between the
        two editions (the codebook's ``history`` says so).
        """
        from survey.trends import compare_waves

        prev = self.previous
        if prev is None or not self.codebook[qid].comparable(prev.edition, self.edition):
            return None
        return compare_waves(
            prev.design, self.design, qid, lang=self.lang, editions=(prev.edition, self.edition)
        )

    def change_of(self, qid: str, code: str | None = None) -> dict[str, float] | None:
        """The change since the previous edition of one option/net (or of the mean).

        A dict with ``change`` (share points as a fraction, or the mean's unit), ``se``,
        ``p_value`` and ``edition_a``; ``None`` when there is nothing comparable.
        """
        ch = self.change(qid)
        if ch is None:
            return None
        rows = ch if code is None else ch.filter(pl.col("row_code") == code)
        if rows.height != 1:
            return None
        row = rows.row(0, named=True)
        scale = 100.0 if row.get("row_kind") != "mean" else 1.0
        return {
            "change": row["change"] / scale,
            "se": row["se"] / scale,
            "p_value": row["p_value"],
            "edition_a": float(self.previous.edition if self.previous else 0),
        }

    def _vs_previous(self, key: str, qid: str, code: str | None) -> str:
        """Catalog text ``key`` about the change of ``qid`` since the previous edition, or ``""``."""
        ch = self.change_of(qid, code)
        if ch is None:
            return ""
        sig = self.say("common.sig" if ch["p_value"] < 0.05 else "common.not_sig", p=ch["p_value"])
        return self.say(key, edition=ch["edition_a"], diff=ch["change"], sig=sig)

    def change_clause(self, qid: str, code: str | None = None) -> str:
        """A parenthesised "(+11 points on the 2024 edition, significant)" clause, or ``""``.

        Uses the catalog's ``common.vs_previous``, ``common.sig`` and ``common.not_sig``; empty
        when there is no comparable previous edition.
        """
        text = self._vs_previous("common.vs_previous", qid, code)
        if not text:
            return ""
        return f"（{text}）" if self.lang == "zh" else f" ({text})"

    def mean_change_clause(self, qid: str) -> str:
        """"；较 2024 版 −3.1 个百分点，差异显著，p < 0.001" for a mean, or ``""``."""
        return self._vs_previous("common.mean_vs_previous", qid, None)

    def direction(self, qid: str, code: str | None = None, alpha: float = 0.05) -> str:
        """``"up"``/``"down"`` when ``qid`` (option/net ``code``, or the mean) changed
        significantly since the previous edition, else ``"level"`` (also without a previous)."""
        ch = self.change_of(qid, code)
        if ch is None or ch["p_value"] >= alpha:
            return "level"
        return "up" if ch["change"] > 0 else "down"

    def significant_levels(
        self, qid: str, code: str, cols: list[str] | None = None
    ) -> tuple[list[str], list[str]]:
        """Segment levels significantly higher / lower than another level of their segment.

        From the banner's column-proportion tests of option/net ``code`` of ``qid``: a level is
        *higher* when its cell carries a letter, *lower* when another level's letter names it.
        Residual levels (``other`` …) and suppressed cells are not findings and are left out.
        Returns two lists of labels, in banner order.
        """
        from survey.codebook import RESIDUAL_CODES

        cells = self._segment_cells(qid, code, cols)
        residual = dict.fromkeys(
            cells.filter(pl.col("col_level").is_in(list(RESIDUAL_CODES)) | pl.col("suppressed"))[
                "col_label"
            ].to_list()
        )
        higher, lower = [], []
        for var in cells["col_variable"].unique(maintain_order=True):
            block = cells.filter(pl.col("col_variable") == var)
            by_letter = dict(zip(block["letter"], block["col_label"], strict=True))
            named = {
                ch
                for sig in block["sig_higher_than"].fill_null("")
                for ch in sig
                if ch in by_letter
            }
            higher += [
                lab
                for lab, sig in zip(
                    block["col_label"], block["sig_higher_than"].fill_null(""), strict=True
                )
                if sig
            ]
            lower += [by_letter[ch] for ch in sorted(named)]
        return (
            [lab for lab in higher if lab not in residual],
            [lab for lab in lower if lab not in higher and lab not in residual],
        )

    def _segment_cells(self, qid: str, code: str, cols: list[str] | None) -> pl.DataFrame:
        """The banner cells of option/net ``code`` of ``qid`` by ``cols`` (Total left out).

        Banners are computed once per (question, segment variables) and kept: the chapters
        ask several questions of the same banner (shares, tests, findings).
        """
        key = (qid, None if cols is None else tuple(cols))
        if key not in self._banner_cells:
            self._banner_cells[key] = self.banner([qid], cols).to_polars(self.lang)
        cells = self._banner_cells[key]
        return cells.filter((pl.col("row_code") == code) & (pl.col("col_variable") != "total"))

    @cached_property
    def _banner_cells(self) -> dict[tuple[str, tuple[str, ...] | None], pl.DataFrame]:
        return {}

    def segment_shares(self, qid: str, code: str, segment: str) -> dict[str, float]:
        """Weighted share of option/net ``code`` of ``qid`` in each level of ``segment``."""
        cells = self._segment_cells(qid, code, [segment])
        return dict(zip(cells["col_level"], cells["estimate"], strict=True))

    def higher(self, qid: str, code: str, segment: str, level: str, than: str) -> bool:
        """Whether ``level`` of ``segment`` is significantly higher than ``than`` on ``code``.

        Read from the banner's column test (the letter of ``than`` in ``level``'s cell).
        """
        cells = self._segment_cells(qid, code, [segment])
        letters = dict(zip(cells["col_level"], cells["letter"], strict=True))
        sig = dict(zip(cells["col_level"], cells["sig_higher_than"].fill_null(""), strict=True))
        return bool(letters.get(than)) and letters[than] in sig.get(level, "")

    def mean_gap(self, qid: str, by: str, high: str, low: str) -> dict[str, float]:
        """Difference of the mean of ``qid`` between two groups of ``by`` (options or nets).

        A design-based regression on the group indicator (``Design.glm``, sandwich SE):
        returns ``high, low`` (the two domain means), ``diff`` and its ``p_value``.
        """
        q = self.codebook[by]
        nets = {n.code for n in q.nets}
        design, column = (
            (self.by_net(by), f"{by}__net") if {high, low} & nets else (self.design, by)
        )
        fit = design.glm(f"{qid} ~ C({column}, Treatment('{low}'))").to_polars()
        row = fit.filter(pl.col("term").str.ends_with(f"[T.{high}]")).row(0, named=True)
        base = fit.filter(pl.col("term") == "Intercept")["estimate"][0]
        return {
            "high": base + row["estimate"],
            "low": base,
            "diff": row["estimate"],
            "p_value": row["p_value"],
        }

    # -- models, fitted once with the report's settings (seeded by the edition) -----------------
    @cached_property
    def brand_split(self) -> Any:
        """The brand/performance optimum model (``survey.models.brand_split.fit``) of this wave."""
        from survey.models import brand_split

        return brand_split.fit(self.design, bootstrap=2000, seed=self.edition)

    @cached_property
    def budget_scenarios(self) -> Any:
        """The budget-growth scenarios (``survey.models.scenarios.budget.run``) of this wave."""
        from survey.models.scenarios import budget

        return budget.run(self.design, bootstrap=2000, draws=5000, seed=self.edition)

    def designs(self) -> dict[int, Design]:
        """Standard designs of every edition with a wave up to this one, oldest first."""
        return dict(self._designs)

    @cached_property
    def _designs(self) -> dict[int, Design]:
        from survey.io import load_wave
        from survey.weighting import standard_design

        out: dict[int, Design] = {}
        for ed in available_editions():
            if ed == self.edition:
                out[ed] = self.design
            elif self.previous is not None and ed == self.previous.edition:
                out[ed] = self.previous.design
            elif ed < self.edition:
                out[ed] = standard_design(load_wave(ed))
        return out

    def comparison(self) -> tuple[pl.DataFrame, list[str]]:
        """Changes since the previous edition for every comparable question.

        Returns the stacked ``compare_waves`` rows (options, nets and means) and the ids of the
        questions left out because they were not asked in both editions or are not comparable.
        """
        if self.previous is None:
            return pl.DataFrame(), []
        rows, skipped = [], []
        for q in self.codebook:
            if q.segment or q.type == "constant_sum":
                continue
            if not (self.asks(q.id) and self.previous.asks(q.id)):
                if self.asks(q.id) or self.previous.asks(q.id):
                    skipped.append(q.id)
                continue
            ch = self.change(q.id)
            if ch is None:
                skipped.append(q.id)
            else:
                ch = ch.with_columns(pl.lit(q.id).alias("question_id"))
                if q.type == "grid":  # "移动互联网：增加投资"
                    sep = "：" if self.lang == "zh" else ": "
                    items = {o.code: o.label(self.lang) for o in q.items}
                    item = pl.col("row_code").str.split(":").list.first().replace_strict(items)
                    label = pl.concat_str([item, pl.col("row_label")], separator=sep)
                    ch = ch.with_columns(label.alias("row_label"))
                rows.append(ch)
        frame = pl.concat(rows, how="diagonal_relaxed") if rows else pl.DataFrame()
        return frame, skipped

    # -- published figures ------------------------------------------------------------------------
    def published(self, figure_id: str, edition: int | None = None) -> float:
        """The published value of ``figure_id`` in ``edition`` (default: this edition)."""
        ed = self.edition if edition is None else edition
        rows = self.figures.filter((pl.col("edition") == ed) & (pl.col("figure_id") == figure_id))
        if rows.height != 1:
            raise SurveyError(
                f"no published figure '{figure_id}' for edition {ed}",
                value=figure_id,
                expected="a figure_id of data/published/<edition>.csv",
            )
        return float(rows["value"][0])

    def has_published(self, figure_id: str, edition: int | None = None) -> bool:
        """Whether ``figure_id`` is published for ``edition`` (default: this edition)."""
        ed = self.edition if edition is None else edition
        return (
            self.figures.filter(
                (pl.col("edition") == ed) & (pl.col("figure_id") == figure_id)
            ).height
            == 1
        )
