"""Take a wave as a fieldwork agency delivers it into ``data/waves/YEAR.parquet``.

An agency delivers Excel with Chinese question headers and Chinese answer labels, SPSS ``.sav``
with value labels, or CSV. :func:`ingest` maps the headers onto the codebook's columns (by the
codebook's own wording and labels, plus an optional mapping file for renamed questions and
options), suggests matches for whatever it cannot map, validates the result and writes the wave and
a validation log. It refuses to overwrite an existing wave without ``force`` and never leaves a
half-written file.

Mapping file (YAML)::

    columns:                      # delivered header -> codebook column (or "ignore")
      "Q1 贵公司所属行业": industry
      "提交时间": ignore
    options:                      # question id -> {delivered label: option code}
      industry: {"美妆": beauty}

Example:
    >>> from survey.ingest import ingest
    >>> result = ingest("交付/2026年广告主调研.xlsx", edition=2026)       # doctest: +SKIP
    >>> print(result.to_text())                                          # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml

from survey.codebook import Codebook, Question
from survey.errors import CodebookError, Problem, SurveyError
from survey.io.write import FILE_MODE
from survey.paths import waves_dir

IGNORE = "ignore"
_PUNCT = re.compile(r"[\s\-_:：|/\\()（）【】\[\]<>《》.,，。、?？!！\"'“”‘’·—–]+")


def normalize(text: str) -> str:
    """Fold a header or label for matching: NFKC, lower case, no spaces or punctuation.

    >>> normalize("Q1. 行业 - 美妆（个护）") == normalize("q1行业美妆(个护)")
    True
    """
    return _PUNCT.sub("", unicodedata.normalize("NFKC", str(text)).lower())


def header_forms(codebook: Codebook) -> dict[str, str]:
    """Every header under which a codebook column may be delivered, normalized -> column.

    A column is recognised by its own name, by its question's wording or short label (single and
    numeric questions), or by wording/short label joined to the option or item label (multi, grid
    and constant-sum questions), in Chinese or English.
    """
    forms: dict[str, str] = {}

    def add(text: str, column: str) -> None:
        key = normalize(text)
        if key:
            forms.setdefault(key, column)

    for column in (codebook.id_column, codebook.weight_column):
        add(column, column)
    add(codebook.id_label_zh, codebook.id_column)
    add(codebook.id_label_en, codebook.id_column)
    for q in codebook:
        stems = [s for s in (q.text_zh, q.short_zh, q.text_en, q.short_en) if s]
        parts = q.options if q.type == "multi" else q.items
        for column in q.columns():
            add(column, column)
        if q.type in ("single", "numeric"):
            for stem in stems:
                add(stem, q.id)
            continue
        for part in parts:
            column = f"{q.id}__{part.code}"
            for stem in stems:
                add(stem + part.zh, column)
                add(stem + part.en, column)
    return forms


@dataclass(frozen=True)
class Suggestion:
    """A likely match for something the ingest could not map."""

    what: str  # "header" or "label"
    found: str
    question: str | None
    candidates: tuple[tuple[str, float], ...]

    def __str__(self) -> str:
        cands = ", ".join(f"{c} ({s:.0%})" for c, s in self.candidates) or "no close match"
        where = f" of question '{self.question}'" if self.question else ""
        return f"{self.what}{where} {self.found!r}: did you mean {cands}?"


@dataclass(frozen=True)
class IngestResult:
    """What :func:`ingest` did: the mapping, problems, suggestions and files written."""

    file: Path
    edition: int
    mapping: Mapping[str, str]
    problems: tuple[Problem, ...]
    suggestions: tuple[Suggestion, ...]
    n_rows: int
    wave_path: Path | None = None
    log_path: Path | None = None
    ignored: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether the wave was written (no problems)."""
        return not self.problems and self.wave_path is not None

    def mapping_frame(self) -> pl.DataFrame:
        """The header -> column mapping as a frame (renamed headers only)."""
        rows = [(h, c) for h, c in self.mapping.items() if h != c]
        return pl.DataFrame(rows, schema=["header", "column"], orient="row")

    def to_text(self) -> str:
        """A readable log: summary, mapping, suggestions and every problem."""
        lines = [
            f"ingest {self.file.name} as edition {self.edition}: {self.n_rows} respondents, "
            f"{len(self.mapping)} columns mapped, {len(self.ignored)} ignored, "
            f"{len(self.problems)} problem(s)",
        ]
        if self.wave_path:
            lines.append(f"wrote {self.wave_path}")
        renamed = [(h, c) for h, c in self.mapping.items() if h != c]
        if renamed:
            lines.append("\nmapped headers:")
            lines += [f"  {h!r} -> {c}" for h, c in renamed]
        if self.ignored:
            lines.append("\nignored headers (mapping file): " + ", ".join(map(repr, self.ignored)))
        if self.suggestions:
            lines.append("\nsuggestions:")
            lines += [f"  {s}" for s in self.suggestions]
        if self.problems:
            lines.append("\nproblems:")
            lines += [f"  - {p}" for p in self.problems]
        if self.warnings:
            lines.append("\nwarnings:")
            lines += [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)


def _warnings(raw: pl.DataFrame, codebook: Codebook, edition: int) -> list[str]:
    """What will stop the report or looks like a mix-up, though the wave itself is valid."""
    from survey.weighting import load_margins

    out = []
    try:
        load_margins(edition, codebook)
    except SurveyError as e:
        out.append(
            f"{e} — add the edition's margins to data/weighting.yaml before `survey report`"
        )
    ids = raw[codebook.id_column].cast(pl.String) if codebook.id_column in raw.columns else None
    if ids is not None:
        years = ids.str.extract(r"((?:19|20)\d\d)").drop_nulls()
        other = years.filter(years != str(edition))
        if other.len() and other.len() > ids.len() / 2:
            year = other.mode().sort()[0]
            out.append(
                f"most respondent ids name the year {year}, not {edition}: is --edition right?"
            )
    return out


def load_mapping(path: str | Path | None) -> dict:
    """Read a mapping file (``columns`` and ``options`` sections); ``{}`` when ``path`` is None."""
    if path is None:
        return {}
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise CodebookError(f"cannot read mapping file {p}: {e}", file=str(p)) from None
    if not isinstance(raw, dict) or set(raw) - {"columns", "options"}:
        raise CodebookError(
            f"mapping file {p} has unexpected keys {sorted(set(raw) - {'columns', 'options'})}",
            file=str(p),
            expected="top-level keys 'columns' and 'options'",
        )
    return raw


def map_headers(
    headers: list[str], codebook: Codebook, mapping: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str], list[Suggestion]]:
    """Map delivered headers to codebook columns.

    Returns ``(header -> column, ignored headers, suggestions for unmapped headers)``. Unmapped
    headers stay unmapped (validation then reports them as unknown columns); nothing is dropped
    unless the mapping file says ``ignore``.
    """
    mapping = dict(mapping or {})
    forms = header_forms(codebook)
    known = set(codebook.columns()) | {codebook.weight_column}
    out: dict[str, str] = {}
    ignored: list[str] = []
    suggestions: list[Suggestion] = []
    for h in headers:
        target = mapping.get(h)
        if target == IGNORE:
            ignored.append(h)
            continue
        if target is not None:
            if target not in known:
                raise CodebookError(
                    f"mapping sends header {h!r} to unknown column {target!r}",
                    column=h,
                    value=target,
                    expected="a codebook column or 'ignore'",
                )
            out[h] = target
            continue
        column = forms.get(normalize(h))
        if column is not None:
            out[h] = column
        else:
            suggestions.append(Suggestion("header", h, None, _closest(h, forms)))
    taken: dict[str, list[str]] = {}
    for h, c in out.items():
        taken.setdefault(c, []).append(h)
    clashes = {c: hs for c, hs in taken.items() if len(hs) > 1}
    if clashes:
        c, hs = next(iter(clashes.items()))
        raise SurveyError(
            f"headers {hs} all map to column '{c}'",
            column=c,
            value=hs,
            expected="one header per codebook column (fix the mapping file)",
        )
    return out, ignored, suggestions


def _closest(found: str, forms: Mapping[str, str], k: int = 3) -> tuple[tuple[str, float], ...]:
    key = normalize(found)
    scored: dict[str, float] = {}
    for form, column in forms.items():
        score = difflib.SequenceMatcher(None, key, form).ratio()
        if score > scored.get(column, 0.0):
            scored[column] = score
    best = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return tuple((c, round(s, 2)) for c, s in best if s >= 0.4)


def relabel_options(
    raw: pl.DataFrame, codebook: Codebook, options: Mapping[str, Mapping[str, str]]
) -> pl.DataFrame:
    """Replace delivered answer labels by option codes as the mapping file says.

    ``options`` maps a question id to ``{delivered label: option code}``; it applies to every
    column of that question (for multi-select questions a delivered label marks "selected").
    """
    exprs = []
    for qid, table in options.items():
        q = codebook[qid]
        unknown = [code for code in table.values() if code not in q.codes()]
        if unknown:
            raise CodebookError(
                f"mapping gives question '{qid}' unknown option codes {unknown}",
                column=qid,
                value=unknown,
                expected=f"codes among {q.codes()}",
            )
        for column in q.columns():
            if column in raw.columns:
                exprs.append(pl.col(column).replace(dict(table)))
    return raw.with_columns(exprs) if exprs else raw


def _label_suggestions(
    raw: pl.DataFrame, codebook: Codebook, problems: list[Problem]
) -> list[Suggestion]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        if p.kind != "unknown_code" or p.column is None or not codebook.is_column(p.column):
            continue
        q, _ = codebook.owner(p.column)
        key = (q.id, str(p.value))
        if key in seen:
            continue
        seen.add(key)
        out.append(
            Suggestion("label", str(p.value), q.id, _closest(str(p.value), _option_forms(q)))
        )
    return out


def _option_forms(q: Question) -> dict[str, str]:
    forms: dict[str, str] = {}
    for o in q.options:
        for text in (o.code, o.zh, o.en):
            forms.setdefault(normalize(text), o.code)
    return forms


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ingest(
    file: str | Path,
    *,
    edition: int,
    mapping: str | Path | None = None,
    codebook: Codebook | None = None,
    out_dir: str | Path | None = None,
    force: bool = False,
    sheet: str | int | None = None,
) -> IngestResult:
    """Map, validate and store one delivered wave; see the module docstring.

    Writes ``<out_dir>/<edition>.parquet`` (only when there is no problem) and always
    ``<out_dir>/<edition>.validation.log``. Raises :class:`SurveyError` when the wave exists and
    ``force`` is false.
    """
    from survey.io import read_table, validate, write_wave
    from survey.io.read import ROW_COLUMN

    path = Path(file)
    codebook = codebook or Codebook.load()
    out = Path(out_dir) if out_dir is not None else waves_dir()
    wave_path = out / f"{edition}.parquet"
    log_path = out / f"{edition}.validation.log"
    if wave_path.exists() and not force:
        raise SurveyError(
            f"{wave_path} exists; pass --force to replace it",
            file=str(wave_path),
            expected="a new edition, or --force",
        )
    spec = load_mapping(mapping)
    raw = read_table(path, sheet=sheet)
    headers = [c for c in raw.columns if c != ROW_COLUMN]
    header_map, ignored, suggestions = map_headers(headers, codebook, spec.get("columns"))
    renamed = raw.drop(ignored).rename(header_map)
    renamed = relabel_options(renamed, codebook, spec.get("options") or {})
    frame, problems = validate(renamed, codebook, edition=edition, file=str(path))
    suggestions += _label_suggestions(renamed, codebook, problems)

    written = None
    out.mkdir(parents=True, exist_ok=True)
    if frame is not None and not problems:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        written = write_wave(
            frame,
            wave_path,
            edition=edition,
            metadata={"synthetic": "false", "source_file": path.name, "source_sha256": digest},
        )
    result = IngestResult(
        warnings=tuple(_warnings(raw, codebook, edition)),
        file=path,
        edition=edition,
        mapping=header_map,
        problems=tuple(problems),
        suggestions=tuple(suggestions),
        n_rows=raw.height,
        wave_path=written,
        log_path=log_path,
        ignored=tuple(ignored),
    )
    _atomic_write_text(log_path, result.to_text() + "\n")
    return result


def delivery_frame(frame: pl.DataFrame, codebook: Codebook, lang: str = "zh") -> pl.DataFrame:
    """A typed wave as an agency would deliver it: worded headers and answer labels as text.

    The inverse of what :func:`ingest` reads: single/grid cells carry the option label, a selected
    multi-select option its label (blank when not selected), numbers stay numbers. Useful to hand
    a wave to colleagues in Excel and to test the ingest end to end.

    >>> from survey.io import load_wave                      # doctest: +SKIP
    >>> delivery_frame(load_wave(2025).frame, load_wave(2025).codebook).columns[:2]  # doctest: +SKIP
    ['受访者编号', '贵公司所属行业']
    """
    zh = lang == "zh"
    exprs: list[pl.Expr] = []
    id_label = codebook.id_label_zh if zh else codebook.id_label_en
    for column in frame.columns:
        if column == codebook.id_column:
            exprs.append(pl.col(column).alias(id_label))
            continue
        if column == codebook.weight_column or not codebook.is_column(column):
            exprs.append(pl.col(column))
            continue
        q, sub = codebook.owner(column)
        stem = q.text(lang) if sub is None else q.short_label(lang)
        header = stem if sub is None else f"{stem}-{q.label(sub, lang)}"
        if q.type in ("single", "grid"):
            labels = {o.code: o.label(lang) for o in q.options}
            expr = pl.col(column).cast(pl.String).replace_strict(labels, default=None)
        elif q.type == "multi":
            expr = pl.when(pl.col(column)).then(pl.lit(q.label(sub, lang))).otherwise(pl.lit(None))
        else:
            expr = pl.col(column)
        exprs.append(expr.alias(header))
    return frame.select(exprs)
