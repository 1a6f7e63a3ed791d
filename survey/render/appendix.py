"""Sections of the technical appendix (``report/appendix/``), built from library calls.

Each section is one function that emits its heading, prose and tables through
:mod:`survey.render.emit`: the methods in full (:class:`survey.reporting.ReportContext`),
weighting diagnostics (``design.diagnostics``, ``sample_composition()``), the models'
technical detail (their ``summary()`` and ``to_polars()``), the provenance of every published
figure (``provenance()``), the contradictions between sources
(:func:`survey.published.check_figures`) and the synthetic-data fidelity table
(:func:`survey.synth.fidelity_report`). Texts come from ``report/appendix/strings.yml``; no
number is computed here beyond selecting and labelling columns.

Example:
    >>> sorted(SECTIONS)
    ['fidelity', 'methods', 'models', 'provenance']
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from survey.models._base import BASE_COLUMNS
from survey.render.emit import escape_md, md, table

_CATALOG = Path(__file__).resolve().parents[2] / "report" / "appendix" / "strings.yml"


@cache
def _texts() -> Any:
    from survey.paths import report_dir
    from survey.present.text import Texts

    shipped = report_dir() / "appendix" / "strings.yml"
    return Texts.load(shipped if shipped.is_file() else _CATALOG)


def _say(key: str, lang: str, **values: Any) -> str:
    return str(_texts().say(key, lang, **values))


def _plain(key: str, lang: str, **values: Any) -> str:
    return str(_texts().say(key, lang, escape=False, **values))


def _heading(key: str, lang: str, ident: str) -> None:
    md(f"# {escape_md(_plain('titles.' + key, lang))} {{#{ident}}}")


def _context(edition: int | None, lang: str) -> Any:
    from survey.reporting import ReportContext

    return ReportContext.load(edition, lang, with_previous=False)


def methods(edition: int | None, lang: str) -> None:
    """Sample, weighting, variance, margins of error, significance; the sample table."""
    ctx = _context(edition, lang)
    _heading("methods", lang, "methods")
    md(_say("appendix.intro", lang, edition=ctx.edition))
    md(_say("methods.sample", lang, n=ctx.n, industries=ctx.industries()))
    diag = ctx.design.diagnostics
    if diag is not None and diag.iterations:
        md(_say("methods.weighting", lang, iterations=diag.iterations,
                err=max(diag.max_margin_error or 0.0, 1e-16), wmin=diag.weight_min,
                wmax=diag.weight_max, deff=diag.deff_kish, neff=diag.n_eff))
    else:
        md(_say("appendix.unweighted_note", lang))
    md(_say("methods.variance", lang))
    limits = ctx.banner_thresholds()
    seg_n = limits["flag_below"]
    md(_say("methods.moe", lang, moe_pp=100 * ctx.margin_of_error(), seg_n=seg_n,
            moe_seg_pp=100 * ctx.margin_of_error(seg_n)))
    md(_say("methods.significance", lang, suppress=limits["suppress_below"], flag=seg_n))
    md(f"## {escape_md(_plain('titles.weighting', lang))}")
    md(_say("appendix.diagnostics", lang))
    if diag is not None:
        rows = [("iterations", diag.iterations), ("max_error", diag.max_margin_error),
                ("weight_min", diag.weight_min), ("weight_max", diag.weight_max),
                ("weight_ratio", diag.weight_ratio), ("deff", diag.deff_kish),
                ("neff", diag.n_eff)]
        frame = pl.DataFrame({
            _plain("appendix.diag_item", lang): [_plain(f"appendix.{k}", lang) for k, _ in rows],
            _plain("appendix.diag_value", lang): [_number(v) for _, v in rows],
        })
        table(_gt(frame, lang))
    labels = {k: _plain(f"labels.{k}", lang) for k in
              ("level", "n", "unweighted", "weighted", "target", "question")}
    composition = ctx.sample_composition().select(
        pl.col("question").alias(labels["question"]),
        pl.col("option").alias(labels["level"]),
        pl.col("n").alias(labels["n"]),
        pl.col("unweighted").alias(labels["unweighted"]),
        pl.col("weighted").alias(labels["weighted"]),
        pl.col("target").alias(labels["target"]),
    )
    table(_gt(composition, lang, integers=[labels["n"]],
              percent=[labels["unweighted"], labels["weighted"], labels["target"]],
              source_note=_plain("methods.sample_note", lang)).sub_missing(missing_text="–"))


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    if abs(value) < 1e-3:
        return f"{value:.1e}"
    return f"{value:.3f}"


def _gt(frame: pl.DataFrame, lang: str, **kwargs: Any) -> Any:
    """A house-style table; missing values (null, NaN) show as a dash, never None/NaN."""
    from survey.present.tables import gt_table

    frame = frame.with_columns(pl.col(pl.Float32, pl.Float64).fill_nan(None))
    return gt_table(frame, lang=lang, **kwargs).sub_missing(missing_text="–")


def models(edition: int | None, lang: str) -> None:
    """Each model's technical summary and its estimates table."""
    ctx = _context(edition, lang)
    _heading("models", lang, "models")
    for key, attr in (("model_brand", "brand_split"), ("model_scenarios", "budget_scenarios")):
        md(f"## {escape_md(_plain('appendix.' + key, lang))}")
        try:
            result = getattr(ctx, attr)
        except Exception as exc:  # a model that cannot be fitted on this wave says why
            md(_say("appendix.model_missing", lang, reason=str(exc)))
            continue
        summary = result.summary(lang)
        for paragraph in str(summary).split("\n\n"):
            if paragraph.strip():
                md(escape_md(paragraph))
        frame = result.to_polars().drop(BASE_COLUMNS, strict=False)  # said in the summary
        if frame.height:
            table(_gt(_printable(frame), lang))


def _printable(frame: pl.DataFrame, max_rows: int = 40) -> pl.DataFrame:
    """A model table for print: floats rounded to 4 significant places, at most ``max_rows``."""
    exprs = [
        pl.col(c).round_sig_figs(4) if frame.schema[c].is_float() else pl.col(c)
        for c in frame.columns
    ]
    return frame.select(exprs).head(max_rows)


def provenance(edition: int | None, lang: str) -> None:
    """Every published figure with its source; the contradictions between sources."""
    from survey.published import check_figures, load_context
    from survey.published import say as published_say

    ctx = _context(edition, lang)
    _heading("provenance", lang, "provenance")
    md(_say("appendix.provenance_intro", lang))
    lab = {k: _plain(f"labels.{k}", lang) for k in
           ("edition", "figure", "value", "unit", "source", "quote", "kind", "message")}
    prov = ctx.provenance().select(
        pl.col("edition").alias(lab["edition"]),
        pl.col("figure_id").alias(lab["figure"]),
        pl.col("value").alias(lab["value"]),
        pl.col("unit").alias(lab["unit"]),
        pl.col("source").alias(lab["source"]),
        pl.col("quote").alias(lab["quote"]),
    )
    files = _plain("appendix.list_sep", lang).join(ctx.source_files())
    table(_gt(prov, lang, numbers=[lab["value"]], number_decimals=1,
              source_note=_plain("methods.provenance_files", lang, files=files)))
    md(f"## {escape_md(_plain('titles.findings', lang))}")
    figures = ctx.figures.filter(pl.col("edition") <= ctx.edition)
    findings = check_figures(figures, ctx.codebook, context=load_context())
    md(_say("appendix.findings_intro", lang, n=findings.height))
    if findings.height:
        message = f"message_{lang}" if f"message_{lang}" in findings.columns else "message"
        table(_gt(findings.select(
            pl.col("edition").alias(lab["edition"]),
            pl.col("figure_id").alias(lab["figure"]),
            pl.col("kind").map_elements(lambda k: published_say(f"kinds.{k}", lang),
                                        return_dtype=pl.String).alias(lab["kind"]),
            pl.col(message).alias(lab["message"]),
        ), lang))


def fidelity(edition: int | None, lang: str) -> None:
    """How the synthetic wave reproduces each published figure (or that the wave is real)."""
    from survey.synth import fidelity_report

    ctx = _context(edition, lang)
    _heading("fidelity", lang, "fidelity")
    if not ctx.is_synthetic:
        md(_say("appendix.fidelity_real", lang))
        return
    rep = fidelity_report(ctx.wave, codebook=ctx.codebook, edition=ctx.edition)
    tested = rep.filter(pl.col("passed").is_not_null())
    md(_say("methods.fidelity", lang, passed=tested.filter(pl.col("passed")).height,
            total=tested.height))
    lab = {k: _plain(f"labels.{k}", lang) for k in
           ("figure", "measure", "published", "unweighted", "raked", "passed")}
    yes, no = _plain("appendix.yes", lang), _plain("appendix.no", lang)
    frame = tested.select(
        pl.col("figure_id").alias(lab["figure"]),
        pl.col("measure").alias(lab["measure"]),
        pl.col("published").alias(lab["published"]),
        pl.col("unweighted").alias(lab["unweighted"]),
        pl.col("raked").alias(lab["raked"]),
        pl.col("rule").alias(_plain("appendix.rule", lang)),
        pl.when(pl.col("passed")).then(pl.lit(yes)).otherwise(pl.lit(no)).alias(lab["passed"]),
    )
    table(_gt(frame, lang, numbers=[lab["unweighted"], lab["raked"]], number_decimals=3))


SECTIONS: dict[str, Callable[[int | None, str], None]] = {
    "methods": methods,
    "models": models,
    "provenance": provenance,
    "fidelity": fidelity,
}


def render_section(name: str, edition: int | None, lang: str) -> None:
    """Emit the appendix section ``name`` (one of :data:`SECTIONS`)."""
    try:
        section = SECTIONS[name]
    except KeyError:
        raise ValueError(f"no appendix section {name!r}; expected one of {sorted(SECTIONS)}") from None
    section(edition, lang)
