"""Take a wave as a fieldwork agency delivers it into ``data/waves/YEAR.parquet``.

An agency delivers Excel with Chinese question headers and Chinese answer labels (often numbered:
``Q1. 贵公司所属行业【单选】``), SPSS ``.sav`` with variable and value labels, or CSV (UTF-8, GBK or
UTF-16). :func:`ingest` reads it (:func:`survey.io.delivery.read_delivery`: data sheet, headers
matched by the codebook's wording and labels plus an optional mapping file, multi-select markers
such as 选中/未选中), validates it against the edition's questions, and only when there is no
problem publishes the wave and its validation log together. It holds a lock per edition (a second
ingest of the same edition refuses, or waits ``wait`` seconds), refuses to overwrite an existing
wave without ``force``, never leaves a half-written file and, when the delivery has problems,
writes its log to ``YEAR.rejected.log`` (the existing wave's log stays as it is).
:func:`write_draft` saves the matches and best suggestions as an editable mapping file.

Mapping file (YAML)::

    columns:                      # delivered header -> codebook column, "ignore" or "keep"
      "Q1 贵公司所属行业": industry
      "提交时间": ignore
    options:                      # question id -> {delivered label: option code}
      industry: {"美妆": beauty}

Example:
    >>> import tempfile, pathlib
    >>> from survey.io import load_wave, write_table
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> wave = load_wave(2025)
    >>> src = write_table(delivery_frame(wave.frame, wave.codebook), tmp / "delivery_2026.xlsx")
    >>> result = ingest(src, edition=2026, out_dir=tmp / "waves")
    >>> result.ok, result.wave_path.name, result.log_path.name
    (True, '2026.parquet', '2026.validation.log')
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from survey.codebook import Codebook, Question
from survey.errors import Problem, SurveyError
from survey.io.headers import (
    IGNORE,
    KEEP,
    HeaderMatch,
    Suggestion,
    closest_many,
    header_forms,
    map_headers,
    normalize,
    shown,
)
from survey.io.mapping import load_mapping, relabel_options, write_mapping_draft
from survey.paths import waves_dir

__all__ = [
    "IGNORE",
    "KEEP",
    "IngestResult",
    "Suggestion",
    "delivery_frame",
    "header_forms",
    "ingest",
    "load_mapping",
    "map_headers",
    "normalize",
    "relabel_options",
    "write_draft",
]

_ID_YEAR = re.compile(r"(?:^|\D)((?:19|20)\d\d)(?:\D|$)")


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
    kept: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = field(default=())
    report: object = None  # the ValidationReport of the delivery
    how: Mapping[str, str] = field(default_factory=dict)  # header -> exact / numbered / mapping

    @property
    def ok(self) -> bool:
        """Whether the wave was written (no problems)."""
        return not self.problems and self.wave_path is not None

    def mapping_frame(self) -> pl.DataFrame:
        """The header -> column mapping as a frame (renamed headers only)."""
        rows = [(h, c) for h, c in self.mapping.items() if h != c]
        return pl.DataFrame(rows, schema=["header", "column"], orient="row")

    def to_text(self, lang: str = "en") -> str:
        """A readable log: summary, mapping, then the problems grouped as ``survey validate``
        groups them (count per kind, then by kind and column), suggestions and warnings."""
        lines = [
            f"ingest {self.file.name} as edition {self.edition}: {self.n_rows} respondents, "
            f"{len(self.mapping)} columns mapped, {len(self.kept)} kept as text, "
            f"{len(self.ignored)} ignored, {len(self.problems)} problem(s)",
        ]
        if self.wave_path:
            lines.append(f"wrote {self.wave_path} and {self.log_path}")
        elif self.problems:
            lines.append("no wave written: fix the problems below (or the mapping) and run again")
        how = self.how
        renamed = [(h, c) for h, c in self.mapping.items() if h != c]
        worded = [(h, c) for h, c in renamed if how.get(h, "exact") == "exact"]
        other = [(h, c) for h, c in renamed if how.get(h, "exact") != "exact"]
        if worded:
            lines.append(f"\n{len(worded)} header(s) matched by the codebook's wording")
        if other:
            lines.append("\nheaders matched without their question numbers or by the mapping file:")
            lines += [f"  {shown(h)} -> {c}" for h, c in other]
        if self.kept:
            lines.append("\nkept as text columns (open answers, mapping 'keep'):")
            lines += [f"  {shown(h)} -> {c}" for h, c in self.kept.items()]
        if self.ignored:
            lines.append("\nignored headers (mapping file): " + ", ".join(map(shown, self.ignored)))
        if self.report is not None and self.problems:
            lines += ["", self.report.to_text(lang)]  # type: ignore[attr-defined]
        elif self.notes:
            lines.append("\nnotes:")
            lines += [f"  - {n}" for n in self.notes]
        labels = [s for s in self.suggestions if s.what == "label"]
        headers = [s for s in self.suggestions if s.what == "header"]
        if (headers and self.report is None) or labels:
            lines.append("\nsuggestions:")
            lines += [f"  {s}" for s in (headers if self.report is None else []) + labels]
        if self.warnings:
            lines.append("\nwarnings:")
            lines += [f"  - {w}" for w in self.warnings]
        if self.problems and (headers or labels):
            lines.append(
                f"\nto save these suggestions as a mapping file to edit: survey ingest {self.file} "
                f"--edition {self.edition} --write-mapping mapping.yaml"
            )
        return "\n".join(lines)


def edition_warnings(raw: pl.DataFrame, codebook: Codebook, edition: int, file: Path) -> list[str]:
    """Signs that ``--edition`` may be wrong: the file name or most respondent ids name another
    year (a year in an id or a name that is part of a date does not count).

    >>> cb = Codebook.load()
    >>> ids = pl.DataFrame({"resp_id": ["BJ2025-001", "SH2025-002", "GZ2025-003"]})
    >>> for w in edition_warnings(ids, cb, 2026, Path("delivery_2025_revised_2024-12-15.xlsx")):
    ...     print(w)
    the file name delivery_2025_revised_2024-12-15.xlsx names the edition 2025, not 2026: is --edition right?
    3 of 3 respondent ids name the year 2025 (e.g. 'BJ2025-001'), not 2026: is --edition right?
    """
    from survey.io import edition_from_name

    out = []
    named = edition_from_name(file)
    if named is not None and named != edition:
        out.append(
            f"the file name {file.name} names the edition {named}, not {edition}: "
            "is --edition right?"
        )
    if codebook.id_column in raw.columns:
        ids = raw[codebook.id_column].cast(pl.String).drop_nulls()
        years = ids.str.extract(_ID_YEAR.pattern, 1)
        counted = years.drop_nulls()
        other = counted.filter(counted != str(edition))
        if other.len() and other.len() > ids.len() / 2 and (counted == str(edition)).sum() == 0:
            year = other.mode().sort()[0]
            example = ids.filter(years == year)[0]
            out.append(
                f"{other.len()} of {ids.len()} respondent ids name the year {year} "
                f"(e.g. {example!r}), not {edition}: is --edition right?"
            )
    return out


def _margin_warnings(codebook: Codebook, edition: int) -> list[str]:
    """The report of an edition without margins is unweighted: say so; wrong margins too."""
    from survey import weighting

    try:
        found = weighting.edition_weighting(edition, codebook)
    except SurveyError as e:
        return [f"{e} — fix the edition's margins in data/weighting.yaml before `survey report`"]
    if getattr(found, "reason", None) == "missing":
        return [
            f"no weighting margins for edition {edition} in data/weighting.yaml: it will be "
            f"reported unweighted (add its margins, or '{edition}: none' to say so)"
        ]
    return []


def _label_suggestions(codebook: Codebook, problems: list[Problem]) -> list[Suggestion]:
    seen: dict[tuple[str, str], None] = {}
    for p in problems:
        if p.kind != "unknown_code" or p.column is None or not codebook.is_column(p.column):
            continue
        q, _ = codebook.owner(p.column)
        seen.setdefault((q.id, str(p.value)), None)
    out = []
    by_question: dict[str, list[str]] = {}
    for qid, value in seen:
        by_question.setdefault(qid, []).append(value)
    for qid, values in by_question.items():
        found = closest_many(values, _option_forms(codebook[qid]))
        out += [Suggestion("label", v, qid, c) for v, c in zip(values, found, strict=True)]
    return out


def _option_forms(q: Question) -> dict[str, list[str]]:
    forms: dict[str, list[str]] = {}
    for o in q.options:
        forms[o.code] = [normalize(t) for t in (o.code, o.zh, o.en) if normalize(t)]
    return forms


def _out_folder(out_dir: str | Path | None) -> Path:
    out = Path(out_dir) if out_dir is not None else waves_dir()
    for parent in [out, *out.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise SurveyError(
                    f"cannot use {out} as the output folder: {parent} is a file",
                    file=str(out),
                    expected="--out naming a folder (or a path below a folder)",
                )
            break
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SurveyError(
            f"cannot create the output folder {out} ({e.strerror or e})",
            file=str(out),
            expected="a writable folder (check its permissions, or pass --out)",
        ) from None
    return out


def _read_and_check(
    path: Path, codebook: Codebook, edition: int, spec: Mapping, sheet: str | int | None
) -> tuple:
    from survey.io import ValidationReport, validate
    from survey.io.delivery import read_delivery
    from survey.io.read import ROW_COLUMN, row_convention

    delivery = read_delivery(path, codebook, sheet=sheet, mapping=spec)
    frame, problems = validate(delivery.frame, codebook, edition=edition, file=str(path))
    header_row = delivery.info.header_row
    report = ValidationReport(
        file=str(path),
        n_rows=delivery.frame.height,
        problems=tuple(problems),
        rows=row_convention(path, header_row=header_row),
        edition=edition,
        notes=delivery.notes,
        suggestions=tuple(delivery.match.suggestions),
        header_row=header_row,
    )
    del ROW_COLUMN
    return delivery, frame, problems, report


def ingest(
    file: str | Path,
    *,
    edition: int,
    mapping: str | Path | None = None,
    codebook: Codebook | None = None,
    out_dir: str | Path | None = None,
    force: bool = False,
    sheet: str | int | None = None,
    wait: float = 0.0,
) -> IngestResult:
    """Map, validate and publish one delivered wave; see the module docstring.

    Writes ``<out_dir>/<edition>.parquet`` and ``<edition>.validation.log`` together (only when
    there is no problem), else ``<edition>.rejected.log``. Raises :class:`SurveyError` when the
    wave exists and ``force`` is false, when another ingest of the edition holds the lock, and
    for an unusable output folder (with the problems of the delivery, when there are any, in
    :attr:`IngestResult` form: they are never lost).
    """
    from survey.io._publish import clean_stale, edition_lock, publish
    from survey.io.write import write_wave

    path = Path(file)
    codebook = codebook or Codebook.load()
    spec = load_mapping(mapping)
    out = _out_folder(out_dir)
    wave_path = out / f"{edition}.parquet"
    log_path = out / f"{edition}.validation.log"
    rejected = out / f"{edition}.rejected.log"
    try:
        lock = edition_lock(out, edition, wait)
        lock.__enter__()
    except OSError as e:
        raise SurveyError(
            f"cannot write in the output folder {out} ({e.strerror or e})",
            file=str(out),
            expected="a writable folder (check its permissions, or pass --out)",
        ) from None
    try:
        if wave_path.exists() and not force:
            raise SurveyError(
                f"{wave_path} exists; pass --force to replace it",
                file=str(wave_path),
                expected="a new edition, or --force",
            )
        clean_stale(out, [wave_path.name, log_path.name, rejected.name])
        delivery, frame, problems, report = _read_and_check(path, codebook, edition, spec, sheet)
        suggestions = [*delivery.match.suggestions, *_label_suggestions(codebook, problems)]
        warnings = [
            *edition_warnings(delivery.frame, codebook, edition, path),
            *_margin_warnings(codebook, edition),
        ]
        base = dict(
            file=path,
            edition=edition,
            mapping=delivery.match.mapping,
            problems=tuple(problems),
            suggestions=tuple(suggestions),
            n_rows=delivery.frame.height,
            ignored=tuple(delivery.match.ignored),
            kept=dict(delivery.match.kept),
            notes=delivery.notes,
            report=report,
            how=dict(delivery.match.how),
        )
        if frame is None or problems:
            result = IngestResult(**base, warnings=tuple(warnings), log_path=rejected)
            try:
                publish(
                    {rejected: lambda p: p.write_text(result.to_text() + "\n", encoding="utf-8")}
                )
            except OSError as e:
                result = IngestResult(
                    **base,
                    warnings=(*warnings, f"could not write {rejected} ({e.strerror or e})"),
                )
            return result
        if delivery.extras.width:
            frame = pl.concat([frame, delivery.extras], how="horizontal")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        result = IngestResult(
            **base, warnings=tuple(warnings), wave_path=wave_path, log_path=log_path
        )
        log_text = result.to_text() + "\n"
        meta = {
            "synthetic": "false",
            "ingested": "true",
            "source_file": path.name,
            "source_sha256": digest,
            "validation_log_sha256": hashlib.sha256(log_text.encode("utf-8")).hexdigest(),
            "kept_columns": "\t".join(delivery.extras.columns),
        }
        try:
            publish(
                {
                    wave_path: lambda p: write_wave(frame, p, edition=edition, metadata=meta),
                    log_path: lambda p: p.write_text(log_text, encoding="utf-8"),
                }
            )
        except OSError as e:
            raise SurveyError(
                f"could not write the wave into {out} ({e.strerror or e}); nothing was replaced",
                file=str(wave_path),
                expected="a writable output folder with free disk space",
            ) from None
        rejected.unlink(missing_ok=True)
        return result
    finally:
        lock.__exit__(None, None, None)


def write_draft(
    file: str | Path,
    draft: str | Path,
    *,
    edition: int | None = None,
    mapping: str | Path | None = None,
    codebook: Codebook | None = None,
    sheet: str | int | None = None,
) -> Path:
    """Save the current matches and best suggestions of a delivery as an editable mapping file.

    Starts from ``mapping`` when given (its entries are kept). Nothing else is written.

    >>> import tempfile, pathlib
    >>> from survey.io import load_wave, write_table
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> wave = load_wave(2025)
    >>> d = delivery_frame(wave.frame.head(5), wave.codebook).rename({"贵公司所属行业": "所属行业类别"})
    >>> src = write_table(d, tmp / "d.csv")
    >>> text = write_draft(src, tmp / "m.yaml").read_text(encoding="utf-8")
    >>> print(next(line for line in text.splitlines() if "所属行业类别" in line))
      "所属行业类别": industry  # SUGGESTED ...
    """
    from survey.io.delivery import read_delivery
    from survey.io.validate import validate

    path = Path(file)
    codebook = codebook or Codebook.load()
    spec = load_mapping(mapping)
    delivery = read_delivery(path, codebook, sheet=sheet, mapping=spec)
    _, problems = validate(delivery.frame, codebook, edition=edition, file=str(path))
    labels = _label_suggestions(codebook, problems)
    match: HeaderMatch = delivery.match
    return write_mapping_draft(draft, match, source=path.name, labels=labels)


def delivery_frame(frame: pl.DataFrame, codebook: Codebook, lang: str = "zh") -> pl.DataFrame:
    """A typed wave as an agency would deliver it: worded headers and answer labels as text.

    The inverse of what :func:`ingest` reads: single/grid cells carry the option label, a selected
    multi-select option its label (blank when not selected), numbers stay numbers. Useful to hand
    a wave to colleagues in Excel and to test the ingest end to end.

    >>> from survey.io import load_wave
    >>> wave = load_wave(2025)
    >>> delivery_frame(wave.frame, wave.codebook).columns[:2]
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
