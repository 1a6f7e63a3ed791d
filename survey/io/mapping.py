"""Mapping files: how a delivery's headers and answer labels map onto the codebook.

A mapping file (YAML, UTF-8 or GBK) has two optional sections::

    columns:                      # delivered header -> codebook column, "ignore" or "keep"
      "Q1 贵公司所属行业": industry
      "提交时间": ignore
      "备注": keep                 # kept as an unlabelled text column
    options:                      # question id -> {delivered label: option code}
      industry: {"美妆": beauty}

:func:`load_mapping` checks its shape and says what is wrong in one message;
:func:`write_mapping_draft` writes the draft that ``survey ingest --write-mapping`` saves: every
header with its current match, the best suggestion for the others, and suggested option codes
for unknown labels, each explained in a comment.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.yaml"
    >>> _ = path.write_text('columns: {"Q1 行业": industry}\\noptions: {industry: {美妆: beauty}}\\n')
    >>> load_mapping(path)
    {'columns': {'Q1 行业': 'industry'}, 'options': {'industry': {'美妆': 'beauty'}}}
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl
import yaml

from survey.codebook import Codebook
from survey.errors import CodebookError, WaveFormatError
from survey.io.headers import IGNORE, KEEP, HeaderMatch, Suggestion

SECTIONS = ("columns", "options")
_SHAPE = (
    "a YAML mapping with the sections 'columns' (header: column) and 'options' "
    "(question: {label: code}); see docs/adding-a-wave.md"
)


def _fail(p: Path, what: str, expected: str = _SHAPE, **kw: object) -> CodebookError:
    return CodebookError(f"mapping file {p}: {what}", file=str(p), expected=expected, **kw)  # type: ignore[arg-type]


def _scalar(value: object) -> str:
    """A YAML scalar as the text the user typed (YAML reads ``yes`` as True, ``1`` as 1)."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value).strip()


def _kind(value: object) -> str:
    return {list: "a list", str: "a text", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def load_mapping(path: str | Path | None) -> dict:
    """Read and check a mapping file; ``{}`` when ``path`` is None.

    Raises :class:`CodebookError` with one message naming the file, the place and the expected
    shape: unreadable or undecodable file, bad YAML (with its line), a file that is not a mapping,
    unknown sections, ``columns`` or ``options`` (or a question's options) as a list.
    """
    if path is None:
        return {}
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise _fail(p, f"cannot be read ({e.strerror or e})", "a readable file") from None
    try:
        from survey.io._text import decode

        text = decode(data, p) if data else ""
    except WaveFormatError as e:
        raise _fail(p, str(e).removeprefix(f"{p}: "), "a text file (UTF-8 or GBK)") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = f" at line {line}" if line else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise _fail(p, f"is not valid YAML{where} ({problem})", row=line) from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(p, f"holds {_kind(raw)} ({_short(raw)}), not sections", value=_short(raw))
    unknown = [str(k) for k in raw if k not in SECTIONS]
    if unknown:
        raise _fail(p, f"has unknown section(s) {unknown}", value=unknown)
    out: dict = {}
    columns = raw.get("columns")
    if columns is not None:
        if not isinstance(columns, dict):
            raise _fail(
                p,
                f"'columns' is {_kind(columns)}, not a mapping",
                '"delivered header": column pairs under columns:, e.g. "Q1 行业": industry',
            )
        out["columns"] = {}
        for header, target in columns.items():
            if target is None or isinstance(target, list | dict):
                raise _fail(
                    p,
                    f"header {_scalar(header)!r} maps to {_kind(target) if target is not None else 'nothing'}",
                    f"a codebook column, '{IGNORE}' or '{KEEP}'",
                    column=_scalar(header),
                )
            out["columns"][_scalar(header)] = _scalar(target)
    options = raw.get("options")
    if options is not None:
        if not isinstance(options, dict):
            raise _fail(
                p,
                f"'options' is {_kind(options)}, not a mapping",
                "question ids under options:, each with {delivered label: option code}",
            )
        out["options"] = {}
        for qid, table in options.items():
            if not isinstance(table, dict):
                raise _fail(
                    p,
                    f"options of question {_scalar(qid)!r} are {_kind(table)}, not a mapping",
                    f"{_scalar(qid)}: {{delivered label: option code}}",
                    column=_scalar(qid),
                )
            out["options"][_scalar(qid)] = {_scalar(k): _scalar(v) for k, v in table.items()}
    return out


def _short(value: object, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def relabel_options(
    raw: pl.DataFrame, codebook: Codebook, options: Mapping[str, Mapping[str, str]]
) -> pl.DataFrame:
    """Replace delivered answer labels by option codes as the mapping file says.

    ``options`` maps a question id to ``{delivered label: option code}``; it applies to every
    column of that question (for multi-select questions a delivered label marks "selected").

    >>> cb = Codebook.load()
    >>> relabel_options(pl.DataFrame({"industry": ["美妆"]}), cb, {"industry": {"美妆": "beauty"}}).item()
    'beauty'
    """
    exprs = []
    for qid, table in options.items():
        if qid not in codebook:
            raise CodebookError(
                f"mapping names unknown question '{qid}' under options",
                column=qid,
                expected="a question id of the codebook",
            )
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


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def write_mapping_draft(
    path: str | Path,
    match: HeaderMatch,
    *,
    source: str,
    labels: Sequence[Suggestion] = (),
) -> Path:
    """Write an editable mapping draft: matches, suggestions and the open choices.

    Every delivered header appears once under ``columns``: matched headers with their column
    (so the draft documents the whole delivery), suggested ones with the best suggestion (the
    other candidates in the comment), the rest as ``keep`` with a comment to map or ignore them.
    Unknown answer labels appear under ``options`` with their best suggested code.

    >>> import pathlib, tempfile
    >>> from survey.io.headers import match_headers
    >>> m = match_headers(["Q1. 贵公司所属行业", "所属行业类别"], Codebook.load())
    >>> out = write_mapping_draft(pathlib.Path(tempfile.mkdtemp()) / "d.yaml", m, source="d.xlsx")
    >>> load_mapping(out)["columns"]["所属行业类别"]
    'industry'
    """
    p = Path(path)
    stamp = dt.date.today().isoformat()
    lines = [
        f"# Mapping draft for {source} (written {stamp} by survey ingest --write-mapping).",
        "# Check every SUGGESTED line, then run: survey ingest FILE --edition YEAR --mapping THIS_FILE",
        f"# Values: a codebook column, '{IGNORE}' (drop the column) or '{KEEP}' (keep it as text).",
        "columns:",
    ]
    suggested = {s.found: s for s in match.suggestions if s.what == "header"}
    for header, column in match.mapping.items():
        how = match.how.get(header, "exact")
        lines.append(f"  {_q(header)}: {column}  # matched ({how})")
    for header in match.ignored:
        lines.append(f"  {_q(header)}: {IGNORE}  # from the mapping file")
    for header, name in match.kept.items():
        lines.append(f"  {_q(header)}: {KEEP}  # open text, kept as column {name}")
    for header in match.unmatched:
        s = suggested.get(header)
        if s is not None and s.candidates:
            (best, score), *others = s.candidates
            also = "; also " + ", ".join(f"{c} ({v:.0%})" for c, v in others) if others else ""
            lines.append(f"  {_q(header)}: {best}  # SUGGESTED ({score:.0%}){also}")
        else:
            lines.append(
                f"  {_q(header)}: {KEEP}  # no close match: map it to a column or {IGNORE}"
            )
    by_question: dict[str, list[Suggestion]] = {}
    for s in labels:
        if s.question:
            by_question.setdefault(s.question, []).append(s)
    if by_question:
        lines.append("options:")
        for qid, items in by_question.items():
            open_only = not any(s.candidates for s in items)
            lines.append(f"  {'# ' if open_only else ''}{qid}:")
            for s in items:
                if s.candidates:
                    (best, score), *others = s.candidates
                    also = (
                        "; also " + ", ".join(f"{c} ({v:.0%})" for c, v in others) if others else ""
                    )
                    lines.append(f"    {_q(s.found)}: {best}  # SUGGESTED ({score:.0%}){also}")
                else:
                    lines.append(f"    # {_q(s.found)}: no close option; add its code here")
    from survey.io.write import atomic_write

    text = "\n".join(lines) + "\n"
    return atomic_write(p, lambda tmp: tmp.write_text(text, encoding="utf-8"))
