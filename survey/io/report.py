"""The readable report of a validation: counts per kind, problems grouped by kind and column.

:class:`ValidationReport` is what ``survey validate`` and ``survey ingest`` print (text in English
or Chinese, or one CSV row per problem). Row numbers are those of the file's own convention
(:func:`~survey.io.read.row_convention`), column names with invisible characters are shown
escaped, long values are cut at a word boundary with their length.

Example:
    >>> from survey.errors import Problem
    >>> r = ValidationReport("w.csv", 4, (Problem("a code", "w.csv", 4, "industry", "汽车行业", "unknown_code"),),
    ...                      rows="rows as numbered in the spreadsheet (header = row 1)")
    >>> print(r.to_text())
    w.csv: 4 rows, 1 problem(s)
    rows as numbered in the spreadsheet (header = row 1)
    <BLANKLINE>
      unknown_code  1
    <BLANKLINE>
    [unknown_code] 1 problem(s)
      column 'industry': expected a code
        row 4: found '汽车行业'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from survey.errors import Problem
from survey.io.headers import Suggestion, shown
from survey.io.read import row_convention
from survey.io.validate import KINDS

LIMIT = 20
"""Problems listed one by one per (kind, column) in :meth:`ValidationReport.to_text`."""

_WORDS = {
    "en": {
        "ok": "{file}: {n} rows, no problems",
        "head": "{file}: {n} rows, {k} problem(s)",
        "edition": "checked against the questions of edition {edition}",
        "no_edition": "checked against every question of the codebook (edition unknown)",
        "skipped": "note: {k} blank row(s) between respondents skipped (not respondents): {rows}",
        "kind": "[{kind}] {k} problem(s)",
        "column": "column '{column}'",
        "file_level": "the file",
        "expected": "expected {expected}",
        "row": "row {row}",
        "found": "found {value}",
        "in_rows": "{value} in {k} row(s): {rows}",
        "more_values": "… and {k} more distinct value(s) in {r} row(s)",
        "notes": "notes:",
        "suggestions": "suggestions:",
    },
    "zh": {
        "ok": "{file}: {n} 行，未发现问题",
        "head": "{file}: {n} 行，发现 {k} 个问题",
        "edition": "按 {edition} 年版问卷检查",
        "no_edition": "按问卷全部题目检查（未知年份）",
        "skipped": "注意：受访者之间的 {k} 个空行已跳过（不是受访者）：{rows}",
        "kind": "[{kind}] {k} 个问题",
        "column": "列 '{column}'",
        "file_level": "文件",
        "expected": "应为 {expected}",
        "row": "第 {row} 行",
        "found": "发现 {value}",
        "in_rows": "{value} 出现在 {k} 行：{rows}",
        "more_values": "… 另有 {k} 个不同取值，共 {r} 行",
        "notes": "说明：",
        "suggestions": "建议：",
    },
}


_BREAK = re.compile(r"[\s,;，；、。:：)）\]/|-]")


def cut(text: str, width: int) -> str:
    """``text`` cut to about ``width`` characters at a word or punctuation boundary.

    >>> cut("a code or label of 'industry': food_bev, beauty, auto", 30)
    "a code or label of 'industry':…"
    """
    if len(text) <= width:
        return text
    head = text[:width]
    breaks = [m.end() for m in _BREAK.finditer(head)]
    at = breaks[-1] if breaks and breaks[-1] > width // 2 else width
    return head[:at].rstrip() + "…"


def _shown(value: object, width: int = 60) -> str:
    text = repr(value) if not isinstance(value, str) else shown(value).replace("\\'", "'")
    if len(text) <= width:
        return text
    return f"{cut(text, width - 14)} ({len(str(value))} chars)"


def _column_words(w: dict[str, str], column: str) -> str:
    """``column 'x'``; a name with invisible characters escaped (``column 'x\\u200b'``)."""
    quoted = shown(column)
    if quoted == f"'{column}'":
        return w["column"].format(column=column)
    return w["column"].replace("'{column}'", "{column}").format(column=quoted)


def _rows_text(rows: list[int], limit: int = 8) -> str:
    listed = ", ".join(map(str, rows[:limit]))
    return listed + (f", … (+{len(rows) - limit})" if len(rows) > limit else "")


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_file` found in one file.

    ``skipped_rows`` are the blank rows between respondents that were not read (they are not
    respondents); ``rows`` says how row numbers are counted in this file's format; ``edition`` is
    the edition whose questions were expected (``None``: every question of the codebook).
    """

    file: str
    n_rows: int
    problems: tuple[Problem, ...]
    skipped_rows: tuple[int, ...] = ()
    rows: str = ""
    edition: int | None = None
    notes: tuple[str, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    header_row: int = 1

    @property
    def ok(self) -> bool:
        """True when there is no problem at all."""
        return not self.problems

    def to_polars(self) -> pl.DataFrame:
        """One row per problem: ``kind, file, row, column, value, expected``."""
        return pl.DataFrame(
            {
                "kind": [p.kind for p in self.problems],
                "file": [p.file for p in self.problems],
                "row": [p.row for p in self.problems],
                "column": [p.column for p in self.problems],
                "value": [None if p.value is None else str(p.value) for p in self.problems],
                "expected": [p.expected for p in self.problems],
            },
            schema={
                "kind": pl.String,
                "file": pl.String,
                "row": pl.Int64,
                "column": pl.String,
                "value": pl.String,
                "expected": pl.String,
            },
        )

    def to_text(self, lang: str = "en", limit: int | None = LIMIT) -> str:
        """A readable report: a count per kind, then the problems grouped by kind and column.

        A group of at most ``limit`` problems is listed row by row; a larger one is summarised by
        distinct value (count and first rows), so 10,000 problems stay readable while every
        problem is counted. ``limit=None`` lists every problem.

        """
        w = _WORDS["zh" if lang == "zh" else "en"]
        lines: list[str] = []
        if self.ok:
            lines.append(w["ok"].format(file=self.file, n=self.n_rows))
        else:
            lines.append(w["head"].format(file=self.file, n=self.n_rows, k=len(self.problems)))
        if not self.ok:
            if self.edition is not None:
                lines.append(w["edition"].format(edition=self.edition))
            elif any(p.kind == "missing_column" for p in self.problems):
                lines.append(w["no_edition"])
        if self.rows and (not self.ok or self.skipped_rows):
            lines.append(
                row_convention(self.file, "zh", self.header_row) if lang == "zh" else self.rows
            )
        if self.notes:
            lines += [w["notes"], *(f"  - {n}" for n in self.notes)]
        if self.skipped_rows:
            rows = _rows_text(list(self.skipped_rows))
            lines.append(w["skipped"].format(k=len(self.skipped_rows), rows=rows))
        if self.ok:
            return "\n".join(lines)
        if self.suggestions:
            lines += ["", w["suggestions"], *(f"  {s}" for s in self.suggestions)]
        by_kind: dict[str, list[Problem]] = {}
        for p in self.problems:
            by_kind.setdefault(p.kind, []).append(p)
        order = [k for k in dict.fromkeys((*KINDS, *sorted(by_kind))) if k in by_kind]
        width = max(len(k) for k in order)
        lines.append("")
        lines += [f"  {k:<{width}}  {len(by_kind[k])}" for k in order]
        for kind in order:
            lines += ["", w["kind"].format(kind=kind, k=len(by_kind[kind]))]
            by_column: dict[str | None, list[Problem]] = {}
            for p in by_kind[kind]:
                by_column.setdefault(p.column, []).append(p)
            for column, group in by_column.items():
                lines += _group_lines(w, column, group, limit)
        return "\n".join(lines)


def _group_lines(
    w: dict[str, str], column: str | None, group: list[Problem], limit: int | None
) -> list[str]:
    """Lines for the problems of one kind in one column (one expectation stated once if shared)."""
    where = _column_words(w, column) if column else w["file_level"]
    expectations = list(dict.fromkeys(p.expected for p in group))
    shared = len(expectations) == 1
    head = (
        f"  {where}: {w['expected'].format(expected=expectations[0])}" if shared else f"  {where}:"
    )
    out = [head]

    def found(p: Problem) -> str:
        if p.value is None:
            return ""
        if p.kind == "unreadable":  # the reason itself: never cut
            return str(p.value)
        return w["found"].format(value=_shown(p.value))

    if limit is None or len(group) <= limit:
        for p in group:
            text = found(p)
            if not shared:
                text = "; ".join(t for t in (text, w["expected"].format(expected=p.expected)) if t)
            if p.row is not None:
                text = w["row"].format(row=p.row) + (f": {text}" if text else "")
            if text:
                out.append("    " + text)
        return out
    by_value: dict[str, list[Problem]] = {}
    for p in group:
        by_value.setdefault(_shown(p.value), []).append(p)
    values = sorted(by_value.items(), key=lambda kv: -len(kv[1]))
    for value, ps in values[:limit]:
        rows = [p.row for p in ps if p.row is not None]
        line = w["in_rows"].format(value=value, k=len(ps), rows=_rows_text(rows))
        if not shared:
            line += "; " + w["expected"].format(expected=ps[0].expected)
        out.append("    " + line)
    rest = values[limit:]
    if rest:
        n_rest = sum(len(ps) for _, ps in rest)
        out.append("    " + w["more_values"].format(k=len(rest), r=n_rest))
    return out
