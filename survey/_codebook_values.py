"""Checked values of a codebook file: lists, yes/no flags, ``{zh, en}`` pairs, edition years and
per-edition wordings, each a :class:`~survey.errors.CodebookError` naming the file, the question,
the value and what was expected when wrong. Private to :mod:`survey._codebook_parse`.

Example:
    >>> edition_year("2026", "cb.yaml", "q", "added"), flag({"required": True}, "required", False, "cb.yaml", "q")
    (2026, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from survey._codebook_model import Wording
from survey.errors import CodebookError


def as_list(value: Any, where: str, qid: str, what: str) -> list:
    """``value`` as a list (``None``: empty); anything else is a :class:`CodebookError`."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise CodebookError(
            f"{where}: {qid}: '{what}' must be a list, not {value!r}",
            file=where,
            column=qid,
            value=value,
            expected=f"{what}: [ … ]",
        )
    return value


def flag(node: Mapping[str, Any], name: str, default: bool, where: str, qid: str) -> bool:
    """A yes/no key: YAML ``true``/``false`` only (a quoted "no" would otherwise be true)."""
    value = node.get(name, default)
    if not isinstance(value, bool):
        raise CodebookError(
            f"{where}: question '{qid}' has {name}: {value!r}",
            file=where,
            column=qid,
            value=value,
            expected=f"{name}: true or {name}: false",
        )
    return value


def pair(node: Any, key: str, where: str) -> dict:
    """An optional top-level ``{zh, en}`` mapping."""
    if node is None:
        return {}
    if not isinstance(node, dict):
        raise CodebookError(
            f"{where}: '{key}' must be {{zh: …, en: …}}, not {node!r}",
            file=where,
            value=node,
            expected=f"{key}: {{zh: …, en: …}}",
        )
    return node


def edition_year(value: Any, where: str, qid: str, what: str) -> int:
    """An edition year: an integer (or all-digit string) from 1900 to 2999."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok and isinstance(value, str) and value.strip().isdigit():
        value, ok = int(value), True
    if not ok or not 1900 <= int(value) <= 2999:
        raise CodebookError(
            f"{where}: question '{qid}' has {what} {value!r}",
            file=where,
            column=qid,
            value=value,
            expected=f"{what} as an edition year such as 2026",
        )
    return int(value)


def bilingual(node: Any, key: str, where: str, qid: str) -> tuple[str, str]:
    if not isinstance(node, dict) or not node.get("zh") or not node.get("en"):
        raise CodebookError(
            f"{where}: question '{qid}' needs '{key}' with both 'zh' and 'en'",
            file=where,
            column=qid,
            expected=f"{key}: {{zh: …, en: …}}",
        )
    return str(node["zh"]), str(node["en"])


def wordings(raw: Any, where: str, qid: str, what: str) -> tuple[Wording, ...]:
    """Per-edition wordings ``{2026: {zh, en, comparable}}`` sorted by edition."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise CodebookError(
            f"{where}: question '{qid}': {what} must map editions to wordings",
            file=where,
            column=qid,
            value=raw,
            expected=f"{what}: {{2026: {{zh: …, en: …}}}}",
        )
    out = []
    for ed, node in raw.items():
        edition = edition_year(ed, where, qid, f"{what} edition")
        zh, en = bilingual(node, f"{what} {edition}", where, qid)
        out.append(Wording(edition, zh, en, flag(node, "comparable", True, where, qid)))
    return tuple(sorted(out, key=lambda w: w.edition))
