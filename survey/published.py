"""Published figures of every edition, segment contrasts, context figures, and their checks.

The tables live in ``data/published/`` (format in ``docs/codebook-format.md``): one CSV of published
aggregates per edition (``2025.csv`` …), ``contrasts.csv`` (segment differences told in words) and
``context.csv`` (figures that are not about the advertisers, such as DeepSeek's users). Every loader
checks its file and raises :class:`~survey.errors.CodebookError` naming the file, the row as a
spreadsheet counts it (the header is row 1) and the column.

:func:`check_figures` finds figures that do not resolve to the codebook and contradictions between
sources by rules over the data (never by listing figure ids). Its messages come in Chinese and
English (``message_zh``, ``message_en``) from the catalog ``survey/published.yml``, read through
:func:`say`; :func:`format_findings` prints them in either language.

Example:
    >>> from survey.published import load_figures
    >>> f = load_figures(editions=[2025])
    >>> f.filter(f["figure_id"] == "confidence_net_decrease")["value"].item()
    54.0
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from survey.codebook import Codebook, Question
from survey.errors import CodebookError, Problem
from survey.paths import published_dir
from survey.present.text import catalog

__all__ = [
    "CONTEXT_COLUMNS",
    "CONTRAST_COLUMNS",
    "FIGURE_COLUMNS",
    "MEASURES",
    "check_context",
    "check_figures",
    "format_findings",
    "load_context",
    "load_contrasts",
    "load_figures",
]

#: Columns of an edition's figures table and their polars dtypes (in file order).
FIGURE_COLUMNS: dict[str, pl.DataType] = {
    "edition": pl.Int32(),
    "figure_id": pl.String(),
    "question_id": pl.String(),
    "option_code": pl.String(),
    "measure": pl.String(),
    "value": pl.Float64(),
    "unit": pl.String(),
    "base": pl.String(),
    "segment": pl.String(),
    "compare_edition": pl.Int32(),
    "stated_edition": pl.Int32(),
    "source_file": pl.String(),
    "episode": pl.String(),
    "shownote_time": pl.String(),
    "quote": pl.String(),
    "note": pl.String(),
}
_FIGURE_OPTIONAL = {"stated_edition"}

#: Columns of ``contrasts.csv``.
CONTRAST_COLUMNS: dict[str, pl.DataType] = {
    "edition": pl.Int32(),
    "contrast_id": pl.String(),
    "question_id": pl.String(),
    "measure": pl.String(),
    "option_code": pl.String(),
    "segment_variable": pl.String(),
    "level": pl.String(),
    "direction": pl.String(),
    "reference": pl.String(),
    "source_file": pl.String(),
    "episode": pl.String(),
    "shownote_time": pl.String(),
    "quote": pl.String(),
    "note": pl.String(),
}

#: Columns of ``context.csv``.
CONTEXT_COLUMNS: dict[str, pl.DataType] = {
    "figure_id": pl.String(),
    "subject": pl.String(),
    "metric": pl.String(),
    "value": pl.Float64(),
    "unit": pl.String(),
    "as_of": pl.String(),
    "scope": pl.String(),
    "source_file": pl.String(),
    "quote": pl.String(),
    "note": pl.String(),
    "relation": pl.String(),
}
_CONTEXT_OPTIONAL = {"relation"}

MEASURES = ("share", "mean", "rank", "change", "count", "ratio", "optimum", "reference")
UNITS = ("pct_respondents", "pp", "pct_growth", "rank", "ratio", "count", "percent", "months")
CONTEXT_UNITS = ("persons", "usd", "cny", "count", "gpus", "ratio", "weeks", "months")
_LEVEL_MEASURES = ("share", "mean")
_REQUIRED_VALUE = {"edition", "figure_id", "measure", "value", "unit", "source_file", "quote"}
_TIME_RE = re.compile(r"^\d{1,2}(:\d{2}){1,2}$")
_EDITION_FILE_RE = re.compile(r"^(\d{4})\.csv$")
_AS_OF_RE = re.compile(r"^\d{4}-\d{2}(-\d{2})?(/\d{4}-\d{2}-\d{2})?$")
_RELATION_RE = re.compile(r"^(sum:[a-z0-9_]+(\+[a-z0-9_]+)+|ratio:[a-z0-9_]+/[a-z0-9_]+)$")
_FINDINGS_SCHEMA: dict[str, pl.DataType] = {
    "edition": pl.Int32(),
    "figure_id": pl.String(),
    "kind": pl.String(),
    "message": pl.String(),  # = message_en, kept for callers that predate the bilingual columns
    "message_zh": pl.String(),
    "message_en": pl.String(),
}
# notations shared by both languages, filled into the catalog's messages
_RANGE_FORM = "range:LO:HI"
_CELL_FORM = "item:option"

TEXTS_FILE = Path(__file__).resolve().parent / "published.yml"


def say(key: str, lang: str = "zh", /, **values: Any) -> str:
    """The catalog text ``key`` of ``survey/published.yml`` in ``lang`` with ``values`` filled in.

    Example:
        >>> say("kinds.note", "en")
        'not an error, worth a look'
    """
    return catalog(TEXTS_FILE).say(key, lang, **values)


#: A message not yet in a language: called with "zh" or "en", it gives the text.
Text = Callable[[str], str]


def _msg(key: str, /, **values: Any) -> Text:
    """The catalog message ``key`` with ``values``; values that are :data:`Text` are rendered in
    the message's language."""

    def render(lang: str) -> str:
        return say(key, lang, **{k: v(lang) if callable(v) else v for k, v in values.items()})

    return render


def _join(parts: Sequence[Text], sep: str) -> Text:
    """``parts`` joined with the catalog separator ``join.<sep>``."""
    return lambda lang: say(f"join.{sep}", lang).join(p(lang) for p in parts)


def _seq(items: Iterable[Any], style: str = "code") -> Text:
    """A list for a message: ``style`` is the catalog entry of an item (``list.code``: quoted
    codes, ``list.value``: numbers that English quotes, ``list.number``); numbers as published."""
    items = [_fmt(x) if isinstance(x, int | float) else x for x in items]

    def render(lang: str) -> str:
        if not items:
            return say("list.empty", lang)
        sep = say("list.sep", lang)
        return say(
            "list.wrap", lang, items=sep.join(say(f"list.{style}", lang, x=x) for x in items)
        )

    return render


# ------------------------------------------------------------------------------------ reading
def _fail(file: Path, row: int, column: str | None, value: object, expected: str) -> CodebookError:
    problem = Problem(expected=expected, file=str(file), row=row, column=column, value=value)
    return CodebookError(
        str(problem), file=str(file), row=row, column=column, value=value, expected=expected
    )


def _read_rows(
    file: Path, columns: dict[str, pl.DataType], optional: set[str]
) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV as ``(spreadsheet row number, {column: text})``; checks the header."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CodebookError(f"published table not found: {file}", file=str(file)) from None
    except UnicodeDecodeError as e:
        raise CodebookError(
            f"{file}: not UTF-8 ({e})", file=str(file), expected="a UTF-8 CSV file"
        ) from None
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = next(reader)
    except StopIteration:
        raise _fail(file, 1, None, "", "a header row") from None
    header = [h.strip() for h in header]
    for col in columns:
        if col not in header and col not in optional:
            raise _fail(file, 1, col, None, f"a column '{col}' in the header")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise _fail(file, 1, dup[0], dup[0], "each column once")
    out = []
    for i, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise _fail(
                file, i, None, f"{len(cells)} fields", f"{len(header)} fields as in the header"
            )
        out.append((i, {h: c.strip() for h, c in zip(header, cells, strict=True)}))
    return out


def _to_int(file: Path, row: int, column: str, text: str) -> int | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise _fail(file, row, column, text, "a whole number such as 2024") from None


def _to_float(file: Path, row: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _fail(
            file, row, column, text, "a number (no units or thousands separators)"
        ) from None
    if not math.isfinite(value):
        raise _fail(file, row, column, text, "a finite number")
    return value


def _frame(records: list[dict[str, Any]], columns: dict[str, pl.DataType]) -> pl.DataFrame:
    return (
        pl.DataFrame(records, schema=columns, orient="row")
        if records
        else pl.DataFrame(schema=columns)
    )


def _parse_figures(file: Path, edition: int | None) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row, cells in _read_rows(file, FIGURE_COLUMNS, _FIGURE_OPTIONAL):
        rec: dict[str, Any] = {}
        for col in FIGURE_COLUMNS:
            text = cells.get(col, "")
            if col in _REQUIRED_VALUE and text == "":
                raise _fail(file, row, col, text, f"a value in '{col}'")
            rec[col] = text or None
        ed = _to_int(file, row, "edition", cells["edition"])
        if edition is not None and ed != edition:
            raise _fail(file, row, "edition", cells["edition"], f"{edition} (the file's edition)")
        rec["edition"] = ed
        for col in ("compare_edition", "stated_edition"):
            rec[col] = _to_int(file, row, col, cells.get(col, ""))
        rec["value"] = _to_float(file, row, "value", cells["value"])
        if rec["measure"] not in MEASURES:
            raise _fail(file, row, "measure", rec["measure"], f"one of {', '.join(MEASURES)}")
        if rec["unit"] not in UNITS:
            raise _fail(file, row, "unit", rec["unit"], f"one of {', '.join(UNITS)}")
        if rec["measure"] == "change" and rec["compare_edition"] is None:
            raise _fail(file, row, "compare_edition", "", "the edition a change is measured from")
        t = rec["shownote_time"]
        if t is not None and not _TIME_RE.match(t):
            raise _fail(file, row, "shownote_time", t, "a time like 2:45 or 1:01:43")
        seg = rec["segment"]
        if seg is not None and not re.match(r"^[a-z0-9_]+=[a-z0-9_]+(\|[a-z0-9_]+)*$", seg):
            raise _fail(file, row, "segment", seg, "variable=code or variable=code|code")
        fid = rec["figure_id"]
        if fid in seen:
            raise _fail(file, row, "figure_id", fid, f"a unique id (also used in row {seen[fid]})")
        seen[fid] = row
        records.append(rec)
    return records


def _edition_files(directory: Path) -> dict[int, Path]:
    files = {}
    for p in sorted(directory.glob("*.csv")):
        m = _EDITION_FILE_RE.match(p.name)
        if m:
            files[int(m.group(1))] = p
    return files


def load_figures(
    editions: Iterable[int] | None = None, *, directory: str | Path | None = None
) -> pl.DataFrame:
    """All published figures of the given editions (default: every ``<edition>.csv``), typed.

    Columns as :data:`FIGURE_COLUMNS` (``edition`` Int32, ``value`` Float64, blanks as null).
    Raises :class:`CodebookError` for a malformed file (file, row, column) or a missing edition.

    Example:
        >>> f = load_figures([2025])
        >>> f.filter(f["figure_id"] == "budget_split_optimum_brand")["value"].item()
        53.0
    """
    folder = Path(directory) if directory is not None else published_dir()
    files = _edition_files(folder)
    wanted = sorted(files) if editions is None else sorted({int(e) for e in editions})
    records: list[dict[str, Any]] = []
    for ed in wanted:
        if ed not in files:
            raise CodebookError(
                f"no published figures for edition {ed} in {folder}",
                file=str(folder / f"{ed}.csv"),
                value=ed,
                expected=f"one of {sorted(files)}",
            )
        records.extend(_parse_figures(files[ed], ed))
    return _frame(records, FIGURE_COLUMNS)


def load_contrasts(path: str | Path | None = None) -> pl.DataFrame:
    """Segment contrasts told in words (``contrasts.csv``), typed as :data:`CONTRAST_COLUMNS`.

    Example:
        >>> c = load_contrasts()
        >>> sorted(c.filter(c["direction"] == "lower")["level"].to_list())[:2]
        ['auto', 'emerging']
    """
    file = Path(path) if path is not None else published_dir() / "contrasts.csv"
    records = []
    seen: set[str] = set()
    for row, cells in _read_rows(file, CONTRAST_COLUMNS, set()):
        rec: dict[str, Any] = {c: (cells.get(c) or None) for c in CONTRAST_COLUMNS}
        rec["edition"] = _to_int(file, row, "edition", cells["edition"])
        for col in ("edition", "contrast_id", "question_id", "segment_variable", "level", "quote"):
            if rec[col] is None:
                raise _fail(file, row, col, "", f"a value in '{col}'")
        if rec["direction"] not in ("higher", "lower"):
            raise _fail(file, row, "direction", rec["direction"], "higher or lower")
        if rec["reference"] not in ("rest", "total"):
            raise _fail(file, row, "reference", rec["reference"], "rest or total")
        if rec["measure"] not in MEASURES:
            raise _fail(file, row, "measure", rec["measure"], f"one of {', '.join(MEASURES)}")
        if rec["contrast_id"] in seen:
            raise _fail(file, row, "contrast_id", rec["contrast_id"], "a unique id")
        seen.add(rec["contrast_id"])
        records.append(rec)
    return _frame(records, CONTRAST_COLUMNS)


def load_context(path: str | Path | None = None) -> pl.DataFrame:
    """Context figures not about the advertisers (``context.csv``), typed as :data:`CONTEXT_COLUMNS`.

    Example:
        >>> c = load_context()
        >>> c.filter(c["figure_id"] == "deepseek_app_dau_20250131")["value"].item()
        22150000.0
    """
    file = Path(path) if path is not None else published_dir() / "context.csv"
    records = []
    seen: set[str] = set()
    for row, cells in _read_rows(file, CONTEXT_COLUMNS, _CONTEXT_OPTIONAL):
        rec: dict[str, Any] = {c: (cells.get(c) or None) for c in CONTEXT_COLUMNS}
        for col in ("figure_id", "subject", "metric", "value", "unit", "source_file", "quote"):
            if rec[col] is None:
                raise _fail(file, row, col, "", f"a value in '{col}'")
        rec["value"] = _to_float(file, row, "value", cells["value"])
        if rec["unit"] not in CONTEXT_UNITS:
            raise _fail(file, row, "unit", rec["unit"], f"one of {', '.join(CONTEXT_UNITS)}")
        if rec["as_of"] is not None and not _AS_OF_RE.match(rec["as_of"]):
            raise _fail(file, row, "as_of", rec["as_of"], "YYYY-MM-DD, YYYY-MM or a period A/B")
        if rec["relation"] is not None and not _RELATION_RE.match(rec["relation"]):
            raise _fail(file, row, "relation", rec["relation"], "sum:a+b+… or ratio:a/b")
        if rec["figure_id"] in seen:
            raise _fail(file, row, "figure_id", rec["figure_id"], "a unique id")
        seen.add(rec["figure_id"])
        records.append(rec)
    return _frame(records, CONTEXT_COLUMNS)


# ------------------------------------------------------------------------------------ checks
def _findings(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return _frame(rows, _FINDINGS_SCHEMA)


def _k(x: Any) -> Any:
    return "" if x is None else x


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.10g}"


def _where(r: dict[str, Any]) -> str:
    bits = [r["source_file"]]
    if r.get("episode"):
        bits.append(r["episode"])
    if r.get("shownote_time"):
        bits.append(r["shownote_time"])
    return " ".join(bits)


def _resolve_problem(r: dict[str, Any], cb: Codebook) -> Text | None:
    qid, opt, seg = r["question_id"], r["option_code"], r["segment"]
    if qid is None:
        if opt is not None:
            return _msg("unresolved.option_without_question", opt=opt)
    elif qid not in cb:
        return _msg("unresolved.no_question", qid=qid)
    else:
        q = cb[qid]
        if opt is not None:
            if opt.startswith("range:"):
                m = re.match(r"^range:(-?[\d.]*):(-?[\d.]*)$", opt)
                if q.type != "numeric" or not m or not (m.group(1) or m.group(2)):
                    return _msg("unresolved.bad_range", opt=opt, qid=qid, form=_RANGE_FORM)
            elif not q.resolves(opt):
                return _msg("unresolved.no_option", opt=opt, qid=qid, cell=_CELL_FORM)
    if seg is not None:
        var, _, levels = seg.partition("=")
        if var not in cb or not cb[var].segment:
            return _msg("unresolved.no_segment", var=var)
        unknown = [c for c in levels.split("|") if c not in cb[var].codes()]
        if unknown:
            return _msg("unresolved.bad_levels", levels=_seq(unknown), var=var)
    return None


def _asked(q: Question, edition: int) -> bool:
    return q.asked_in(edition) or edition in {h.edition for h in q.history}


def _rule_resolve(rows: list[dict[str, Any]], cb: Codebook) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        msg = _resolve_problem(r, cb)
        if msg:
            out.append(_finding(r, "unresolved", msg))
        elif r["question_id"] is not None and not _asked(cb[r["question_id"]], r["edition"]):
            q = cb[r["question_id"]]
            out.append(
                _finding(
                    r,
                    "edition",
                    _msg(
                        "edition",
                        qid=q.id,
                        edition=r["edition"],
                        editions=_seq(q.editions, "number"),
                        history=_seq([h.edition for h in q.history], "number"),
                    ),
                )
            )
    return out


def _finding(r: dict[str, Any], kind: str, message: Text) -> dict[str, Any]:
    en = message("en")
    return {
        "edition": r.get("edition"),
        "figure_id": r["figure_id"],
        "kind": kind,
        "message": en,
        "message_zh": message("zh"),
        "message_en": en,
    }


def _stem(figure_id: str) -> str:
    return figure_id.split("__", 1)[0]


def _rule_conflict(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Same figure told with different values (same key, or same id stem for question-less ones)."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["question_id"] is not None:
            key = (
                r["edition"],
                r["question_id"],
                _k(r["option_code"]),
                r["measure"],
                _k(r["segment"]),
                r["unit"],
                "",
            )
        else:
            key = (
                r["edition"],
                "",
                "",
                r["measure"],
                _k(r["segment"]),
                r["unit"],
                _stem(r["figure_id"]),
            )
        groups[key].append(r)
    out = []
    for members in groups.values():
        if len({m["value"] for m in members}) > 1:
            told = _join(
                [
                    _msg(
                        "conflict.told",
                        figure=m["figure_id"],
                        value=_fmt(m["value"]),
                        where=_where(m),
                    )
                    for m in members
                ],
                "semicolon",
            )
            for m in members[1:]:
                out.append(_finding(m, "conflict", _msg("conflict.message", told=told)))
    return out


def _levels(rows: list[dict[str, Any]]) -> dict[tuple, set[float]]:
    """Level values by (edition, question, option, measure, segment)."""
    out: dict[tuple, set[float]] = defaultdict(set)
    for r in rows:
        if r["question_id"] is not None and r["measure"] in _LEVEL_MEASURES:
            key = (
                r["edition"],
                r["question_id"],
                _k(r["option_code"]),
                r["measure"],
                _k(r["segment"]),
            )
            out[key].add(r["value"])
    return out


def _rule_change(
    rows: list[dict[str, Any]], levels: dict[tuple, set[float]]
) -> list[dict[str, Any]]:
    """A change must equal the difference of the two editions' levels (±1 for rounding)."""
    out = []
    for r in rows:
        if r["measure"] != "change" or r["question_id"] is None:
            continue
        level_measure = "mean" if r["option_code"] is None else "share"
        key = (r["question_id"], _k(r["option_code"]), level_measure, _k(r["segment"]))
        now = levels.get((r["edition"], *key), set())
        before = levels.get((r["compare_edition"], *key), set())
        if not now or not before:
            continue
        diffs = sorted({a - b for a in now for b in before})
        if all(abs(r["value"] - d) > 1.0 for d in diffs):
            out.append(
                _finding(
                    r,
                    "change",
                    _msg(
                        "change",
                        value=_fmt(r["value"]),
                        compare=r["compare_edition"],
                        edition=r["edition"],
                        now=_seq(sorted(now), "number"),
                        before=_seq(sorted(before), "number"),
                        diffs=_seq([_fmt(d) for d in diffs], "value"),
                        where=_where(r),
                    ),
                )
            )
    return out


def _rule_net_split(rows: list[dict[str, Any]], cb: Codebook) -> list[dict[str, Any]]:
    """Shares of a net's members must add up to the net (single questions and grid cells).

    Rounding allowance: ±0.5 per published number involved. Each differing value of the net is
    checked (and reported on its own figure); members told with several values are skipped.
    """
    shares: dict[tuple, dict[float, dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        if r["measure"] == "share" and r["question_id"] in cb and r["option_code"] is not None:
            key = (r["edition"], r["question_id"], _k(r["segment"]), r["option_code"])
            shares[key].setdefault(r["value"], r)
    out = []
    for (ed, qid, seg, code), values in shares.items():
        q = cb[qid]
        if q.type not in ("single", "grid"):
            continue
        prefix, _, net_code = code.rpartition(":") if q.type == "grid" else ("", "", code)
        if net_code not in {n.code for n in q.nets}:
            continue
        members = q.net_members(net_code)
        parts = [shares.get((ed, qid, seg, f"{prefix}:{m}" if prefix else m)) for m in members]
        if any(p is None or len(p) != 1 for p in parts):
            continue
        total = sum(next(iter(p)) for p in parts if p is not None)
        for net, fig in values.items():
            if abs(total - net) > 0.5 * (len(members) + 1):
                out.append(
                    _finding(
                        fig,
                        "net_split",
                        _msg(
                            "net_split",
                            code=code,
                            qid=qid,
                            net=_fmt(net),
                            where=_where(fig),
                            members=_seq(members),
                            total=_fmt(total),
                        ),
                    )
                )
    return out


def _rule_rank(rows: list[dict[str, Any]], cb: Codebook) -> list[dict[str, Any]]:
    """A stated rank cannot have more options above it than rank - 1 (by the published shares)."""
    shares: dict[tuple, dict[str, float]] = defaultdict(dict)
    for r in rows:
        if r["measure"] == "share" and r["question_id"] is not None and r["option_code"]:
            q = cb.questions.get(r["question_id"])
            if q is None or r["option_code"] in {n.code for n in q.nets}:
                continue
            item, _, opt = r["option_code"].rpartition(":")
            # grids rank items within one answer code; other questions rank options
            group = (r["edition"], r["question_id"], _k(r["segment"]), opt if item else "")
            shares[group][item or opt] = r["value"]
    out = []
    for r in rows:
        if r["measure"] != "rank" or not r["question_id"] or not r["option_code"]:
            continue
        item, _, opt = r["option_code"].rpartition(":")
        group = (r["edition"], r["question_id"], _k(r["segment"]), opt if item else "")
        known = shares.get(group, {})
        me = known.get(item or opt)
        if me is None:
            continue
        above = sorted(k for k, v in known.items() if v > me)
        if len(above) > r["value"] - 1:
            out.append(
                _finding(
                    r,
                    "rank",
                    _msg(
                        "rank",
                        rank=_fmt(r["value"]),
                        above=_seq(above),
                        share=_fmt(me),
                        where=_where(r),
                    ),
                )
            )
    return out


def _rule_option_count(rows: list[dict[str, Any]], cb: Codebook) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        if r["measure"] == "count" and r["question_id"] in cb and r["option_code"] is None:
            q = cb[r["question_id"]]
            n = len(q.items) if q.type in ("grid", "constant_sum") else len(q.options)
            if n != r["value"]:
                out.append(
                    _finding(
                        r,
                        "option_count",
                        _msg("option_count", qid=q.id, value=_fmt(r["value"]), n=n),
                    )
                )
    return out


def _rule_trend_and_year(
    rows: list[dict[str, Any]], levels: dict[tuple, set[float]]
) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        stated, ed, start = r["stated_edition"], r["edition"], r["compare_edition"]
        is_trend_end = r["measure"] in _LEVEL_MEASURES and start is not None
        if is_trend_end and r["question_id"] is not None:
            key = (r["question_id"], _k(r["option_code"]), r["measure"], _k(r["segment"]))
            between = {
                e: sorted(levels[(e, *key)]) for e in range(start + 1, ed) if (e, *key) in levels
            }
            skipped = _join(
                [
                    _msg("trend.skipped", edition=e, values=_seq([_fmt(v) for v in vs], "value"))
                    for e, vs in between.items()
                ],
                "comma",
            )
            if stated is not None and stated != ed:
                published = _msg("trend.published", skipped=skipped) if between else ""
                out.append(
                    _finding(
                        r,
                        "trend",
                        _msg(
                            "trend.stated",
                            where=_where(r),
                            start=start,
                            stated=stated,
                            value=_fmt(r["value"]),
                            edition=ed,
                            published=published,
                        ),
                    )
                )
            elif between:
                out.append(
                    _finding(
                        r,
                        "trend",
                        _msg(
                            "trend.skips", where=_where(r), edition=ed, start=start, skipped=skipped
                        ),
                    )
                )
        elif stated is not None and stated != ed:
            out.append(
                _finding(
                    r,
                    "year_label",
                    _msg(
                        "year_label",
                        where=_where(r),
                        stated=stated,
                        edition=ed,
                        quote=r["quote"][:60],
                    ),
                )
            )
    return out


def _source(r: dict[str, Any]) -> str:
    """A short name of a figure's source: the host of a URL, else the file; episode and time."""
    src = r["source_file"] or ""
    m = re.match(r"^https?://(?:www\.)?([^/]+)", src)
    bits = [m.group(1) if m else src]
    bits += [r[k] for k in ("episode", "shownote_time") if r.get(k)]
    return " ".join(bits)


def _rule_year_conflict(rows: list[dict[str, Any]], cb: Codebook) -> list[dict[str, Any]]:
    """One level told with different years by different sources (or episodes).

    Groups the level figures (share/mean) of a question by edition, option, segment and value; the
    year each source gives is its ``stated_edition`` (the edition itself when it names none). When
    the group holds more than one year, one finding lists every source with its year, so that, say,
    the same 54% read as 2023 (EP.32's trend), 2024 (EP.35) and 2025 (the report) shows as one line.
    """
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["question_id"] in cb and r["measure"] in _LEVEL_MEASURES:
            key = (
                r["edition"],
                r["question_id"],
                _k(r["option_code"]),
                r["measure"],
                _k(r["segment"]),
                r["value"],
            )
            groups[key].append(r)
    out = []
    for (ed, qid, opt, measure, seg, value), members in groups.items():
        by_year: dict[int, list[tuple[str, int | None, bool]]] = defaultdict(list)
        for m in members:
            year = m["stated_edition"] if m["stated_edition"] is not None else ed
            how = (_source(m), m["compare_edition"], m["stated_edition"] is None)
            if how not in by_year[year]:
                by_year[year].append(how)
        if len(by_year) < 2:
            continue
        told = _join(
            [
                _msg(
                    "year_conflict.told",
                    year=year,
                    hows=_join([_how(h, year) for h in hows], "and"),
                )
                for year, hows in sorted(by_year.items())
            ],
            "semicolon",
        )
        what = _msg(
            "year_conflict.what",
            qid=qid,
            option=_msg("year_conflict.option", opt=opt) if opt else "",
            segment=_msg("year_conflict.segment", seg=seg) if seg else "",
        )
        first = next(m for m in members if m["stated_edition"] not in (None, ed))
        out.append(
            _finding(
                first,
                "year_conflict",
                _msg(
                    "year_conflict.message",
                    what=what,
                    measure=_msg(f"measure.{measure}"),
                    value=_fmt(value),
                    edition=ed,
                    n=len(by_year),
                    told=told,
                ),
            )
        )
    return out


def _how(how: tuple[str, int | None, bool], year: int) -> Text:
    """How one source tells a year: the source, and the trend it ends or that it names no year."""
    source, start, no_year = how
    if start is not None:
        return _msg("year_conflict.trend_end", source=source, start=start, year=year)
    if no_year:
        return _msg("year_conflict.no_year", source=source)
    return lambda lang: source


def _rule_mirror(rows: list[dict[str, Any]], cb: Codebook) -> list[dict[str, Any]]:
    """Two-part constant-sum splits that mirror each other (a:b vs b:a) — a note, not an error."""
    splits: dict[tuple, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        qid = r["question_id"]
        if (
            qid in cb
            and cb[qid].type == "constant_sum"
            and len(cb[qid].items) == 2
            and r["option_code"] in cb[qid].item_codes()
            and r["measure"] in ("mean", "optimum")
        ):
            splits[(qid, r["edition"], r["measure"], _k(r["segment"]))][r["option_code"]] = r
    out = []
    keys = [k for k, v in splits.items() if len(v) == 2]
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if a[0] != b[0]:
                continue
            items = cb[a[0]].item_codes()
            va = [splits[a][c]["value"] for c in items]
            vb = [splits[b][c]["value"] for c in items]
            if va[0] != va[1] and va == vb[::-1]:
                later = splits[b][items[0]]
                out.append(
                    _finding(
                        later,
                        "note",
                        _msg(
                            "note.mirror",
                            qid=a[0],
                            measure=_msg(f"measure.{a[2]}"),
                            split=_split(va),
                            edition=a[1],
                            other_measure=_msg(f"measure.{b[2]}"),
                            other_split=_split(vb),
                            other_edition=b[1],
                            first=items[0],
                            second=items[1],
                        ),
                    )
                )
    return out


def _split(values: Sequence[float]) -> str:
    """A constant-sum split as both languages write it: ``47:53``."""
    return ":".join(map(_fmt, values))


def _period(as_of: str | None) -> tuple[date, date] | None:
    if not as_of:
        return None
    first, _, last = as_of.partition("/")
    parts = [int(x) for x in first.split("-")]
    if len(parts) == 2:
        start = date(parts[0], parts[1], 1)
        nxt = date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
        return start, nxt - timedelta(days=1)
    start = date(*parts)
    return start, (date(*[int(x) for x in last.split("-")]) if last else start)


def _precision(value: float) -> float:
    """The unit of the last published digit: 119000000 -> 1e6, 557.6 -> 0.1, 2 -> 1."""
    if float(value).is_integer():
        n, zeros = abs(int(value)), 0
        while n and n % 10 == 0:
            n, zeros = n // 10, zeros + 1
        return 10.0**zeros
    decimals = len(repr(float(value)).split(".")[1])
    return 10.0**-decimals


def check_context(context: pl.DataFrame) -> pl.DataFrame:
    """Contradictions inside the context table (``edition`` is null in the result).

    Rules: the same value of a subject told as two metrics (``metric_label``); the same subject and
    metric over overlapping dates from different sources more than 10% apart (``level_conflict``);
    a stated total or ratio that disagrees with its parts beyond the published rounding
    (``relation``).

    Example:
        >>> sorted(set(check_context(load_context())["kind"]))
        ['level_conflict', 'metric_label', 'relation']
    """
    rows = context.to_dicts()
    by_id = {r["figure_id"]: r for r in rows}
    out: list[dict[str, Any]] = []
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            if a["subject"] != b["subject"]:
                continue
            if a["metric"] != b["metric"] and a["value"] == b["value"] and a["unit"] == b["unit"]:
                out.append(
                    _finding(
                        b,
                        "metric_label",
                        _msg(
                            "context.metric_label",
                            value=_fmt(b["value"]),
                            metric=b["metric"],
                            scope=b["scope"],
                            as_of=b["as_of"],
                            other_metric=a["metric"],
                            other_scope=a["scope"],
                            other_as_of=a["as_of"],
                            other=a["figure_id"],
                        ),
                    )
                )
            pa, pb = _period(a["as_of"]), _period(b["as_of"])
            if (
                a["metric"] == b["metric"]
                and a["source_file"] != b["source_file"]
                and pa
                and pb
                and pa[0] <= pb[1]
                and pb[0] <= pa[1]
                and abs(a["value"] - b["value"]) > 0.10 * max(abs(a["value"]), abs(b["value"]))
            ):
                out.append(
                    _finding(
                        b,
                        "level_conflict",
                        _msg(
                            "context.level_conflict",
                            subject=b["subject"],
                            metric=b["metric"],
                            value=_fmt(b["value"]),
                            scope=b["scope"],
                            as_of=b["as_of"],
                            source=b["source_file"],
                            other_value=_fmt(a["value"]),
                            other_scope=a["scope"],
                            other_as_of=a["as_of"],
                            other_source=a["source_file"],
                        ),
                    )
                )
    for r in rows:
        rel = r.get("relation")
        if not rel:
            continue
        kind, _, spec = rel.partition(":")
        ids = re.split(r"[+/]", spec)
        missing = [x for x in ids if x not in by_id]
        if missing:
            out.append(
                _finding(r, "relation", _msg("context.relation_unknown", missing=_seq(missing)))
            )
            continue
        vals = [by_id[x]["value"] for x in ids]
        implied = sum(vals) if kind == "sum" else vals[0] / vals[1]
        tol = 0.5 * _precision(r["value"])
        shown = _fmt(implied) if float(implied).is_integer() else f"{implied:.3f}"
        if abs(implied - r["value"]) > tol:
            out.append(
                _finding(
                    r,
                    "relation",
                    _msg(
                        "context.relation_sum" if kind == "sum" else "context.relation_ratio",
                        value=_fmt(r["value"]),
                        ids=_seq(ids),
                        shown=shown,
                        tol=_fmt(tol),
                    ),
                )
            )
    return _findings(out)


def check_figures(
    figures: pl.DataFrame, codebook: Codebook, context: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Unresolved figures and contradictions between sources, found by rules over the data.

    Returns ``edition, figure_id, kind, message, message_zh, message_en``: the message in Chinese
    and English from the catalog ``survey/published.yml`` (``message`` is the English one, kept for
    compatibility). Kinds are described in
    ``docs/codebook-format.md`` (``unresolved``, ``edition``, ``conflict``, ``change``,
    ``net_split``, ``rank``, ``option_count``, ``trend``, ``year_label``, ``year_conflict``,
    ``note``, and with ``context`` given, the kinds of :func:`check_context`). Read them with
    :func:`format_findings`.

    Example:
        >>> from survey.codebook import Codebook
        >>> r = check_figures(load_figures(), Codebook.load())
        >>> "trend" in r["kind"].to_list()
        True
    """
    cols = set(figures.columns)
    missing = [c for c in FIGURE_COLUMNS if c not in cols and c not in _FIGURE_OPTIONAL]
    if missing:
        raise CodebookError(
            f"figures table lacks columns {missing}", column=missing[0], expected="load_figures()"
        )
    if "stated_edition" not in cols:
        figures = figures.with_columns(pl.lit(None, dtype=pl.Int32()).alias("stated_edition"))
    rows = figures.to_dicts()
    resolved = [r for r in rows if _resolve_problem(r, codebook) is None]
    levels = _levels(resolved)
    out = _rule_resolve(rows, codebook)
    out += _rule_conflict(rows)
    out += _rule_change(resolved, levels)
    out += _rule_net_split(resolved, codebook)
    out += _rule_rank(resolved, codebook)
    out += _rule_option_count(resolved, codebook)
    out += _rule_trend_and_year(rows, levels)
    out += _rule_year_conflict(resolved, codebook)
    out += _rule_mirror(resolved, codebook)
    result = _findings(out)
    if context is not None:
        result = pl.concat([result, check_context(context)])
    return result


#: The kinds of finding in the order :func:`format_findings` prints them (errors first, notes
#: last); what each means is the catalog entry ``kinds.<kind>``.
FINDING_KINDS: tuple[str, ...] = (
    "unresolved",
    "edition",
    "conflict",
    "year_conflict",
    "trend",
    "year_label",
    "change",
    "net_split",
    "rank",
    "option_count",
    "level_conflict",
    "metric_label",
    "relation",
    "note",
)


def _cell_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _wrap(text: str, width: int, indent: str = "", subsequent: str = "") -> list[str]:
    """``text`` in lines of at most ``width`` columns (CJK characters take two), broken at spaces
    and between CJK characters, never before closing punctuation nor after opening punctuation.
    """
    tokens: list[list[Any]] = []  # [text, space before it, ends with a wide character]
    space = False
    for ch in text:
        if ch.isspace():
            space = True
            continue
        wide = _cell_width(ch) == 2
        cat = unicodedata.category(ch)
        glue = (
            bool(tokens)
            and not space
            and (
                cat in ("Pe", "Pf", "Po")
                or unicodedata.category(tokens[-1][0][-1]) in ("Ps", "Pi")
                or (not wide and not tokens[-1][2])
            )
        )
        if glue:
            tokens[-1][0] += ch
            tokens[-1][2] = wide
        else:
            tokens.append([ch, space and bool(tokens), wide])
        space = False
    lines: list[str] = []
    line, used, empty = indent, sum(map(_cell_width, indent)), True
    for tok, spaced, _wide in tokens:
        gap = 1 if spaced and not empty else 0
        tw = sum(map(_cell_width, tok))
        if not empty and used + gap + tw > width:
            lines.append(line)
            line, used, empty, gap = subsequent, sum(map(_cell_width, subsequent)), True, 0
        while empty and used + tw > width and len(tok) > 1:  # longer than a line: cut it
            cut, w = 0, used
            while cut < len(tok) - 1 and w + _cell_width(tok[cut]) <= width:
                w += _cell_width(tok[cut])
                cut += 1
            lines.append(line + tok[: max(cut, 1)])
            tok = tok[max(cut, 1) :]
            tw = sum(map(_cell_width, tok))
            line, used = subsequent, sum(map(_cell_width, subsequent))
        line += " " * gap + tok
        used += gap + tw
        empty = False
    if not empty:
        lines.append(line)
    return lines


def format_findings(
    findings: pl.DataFrame, *, n_figures: int | None = None, width: int = 100, lang: str = "en"
) -> str:
    """:func:`check_figures` findings as text for people: grouped by kind, each message in full.

    Findings of one kind with the same message (one quote behind several figures) are printed
    once with all their figure ids. Errors come first, notes last. ``lang`` ("en" or "zh") picks
    the messages (``message_en`` / ``message_zh``) and the headings; kinds stay as their codes.
    Lines are at most ``width`` columns wide (a CJK character takes two).

    Example:
        >>> from survey.codebook import Codebook
        >>> text = format_findings(check_figures(load_figures(), Codebook.load()))
        >>> "[trend]" in text and "[year_conflict]" in text
        True
        >>> none = check_figures(load_figures().head(0), Codebook.load())
        >>> format_findings(none, lang="en"), format_findings(none, lang="zh") == say("format.none_plain")
        ('no findings', True)
    """
    lg = "zh" if lang == "zh" else "en"
    column = f"message_{lg}" if f"message_{lg}" in findings.columns else "message"
    rows = findings.to_dicts()
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["kind"]] += 1
    order = [k for k in FINDING_KINDS if k in counts] + sorted(set(counts) - set(FINDING_KINDS))
    if not rows:
        if n_figures is None:
            return say("format.none_plain", lg)
        return say("format.none", lg, n=n_figures)
    listed = say("join.comma", lg).join(say("format.count", lg, n=counts[k], kind=k) for k in order)
    summary = listed if n_figures is None else say("format.summary", lg, n=n_figures, counts=listed)
    lines = _wrap(summary, width, subsequent="  ")
    for kind in order:
        meaning = say(f"kinds.{kind}", lg) if f"kinds.{kind}" in catalog(TEXTS_FILE) else ""
        lines += [
            "",
            *_wrap(say("format.heading", lg, kind=kind, meaning=meaning), width, "", "  "),
        ]
        merged: dict[tuple, list[str]] = defaultdict(list)
        for r in rows:
            if r["kind"] == kind:
                merged[(r["edition"], r[column])].append(r["figure_id"])
        for (edition, message), ids in merged.items():
            listed = say("join.comma", lg).join(ids)
            if edition is None:
                head = say("format.context_figures", lg, ids=listed)
            else:
                head = say("format.figures", lg, edition=edition, ids=listed)
            lines += _wrap(head, width, "  - ", "    ")
            lines += _wrap(message, width, "    ", "    ")
    return "\n".join(lines)


def figures_for(
    figures: pl.DataFrame, question_id: str, editions: Sequence[int] | None = None
) -> pl.DataFrame:
    """The figures of one question, optionally of some editions, latest edition first.

    Example:
        >>> figures_for(load_figures(), "budget_growth_expected", [2025]).height >= 2
        True
    """
    out = figures.filter(pl.col("question_id") == question_id)
    if editions is not None:
        out = out.filter(pl.col("edition").is_in(list(editions)))
    return out.sort("edition", descending=True, maintain_order=True)
