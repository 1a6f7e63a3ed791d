"""The report specification (``report/spec.yml``) resolved against an edition's codebook.

The specification lists chapters; each chapter names the codebook sections it covers and the
blocks it shows (``{kind: ranked_bars, question: challenges, …}``). :func:`resolve` turns it
into frozen :class:`Chapter`/:class:`Block` objects for one edition:

- a block whose ``question`` (or one of its ``needs``) the edition did not ask is dropped, and the
  question is listed once in :attr:`ReportSpec.not_asked`;
- every question of the edition that no block names gets its type's default block
  (``defaults:`` in the specification) in the chapter that covers its codebook section, or in
  the chapter marked ``rest: true`` when no chapter covers the section;
- a chapter left with no block is left out.

Example:
    >>> from survey.codebook import Codebook
    >>> spec = resolve(load_spec(), Codebook.load(), 2025)
    >>> [c.id for c in spec.chapters][:3]
    ['takeaways', 'outlook', 'challenges']
    >>> old = resolve(load_spec(), Codebook.load(), 2023)
    >>> "challenges" in old.not_asked
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from survey.errors import RenderError
from survey.paths import report_dir

SPEC_FILE = "spec.yml"


@dataclass(frozen=True)
class Block:
    """One block of a chapter: a ``kind`` (builder), its ``question`` and its parameters."""

    kind: str
    question: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    default: bool = False  # added by the resolver for a question no block names

    def get(self, key: str, default: Any = None) -> Any:
        """A parameter of the block (``default`` when absent)."""
        return self.params.get(key, default)

    @property
    def questions(self) -> tuple[str, ...]:
        """The questions the block needs: its ``question`` and its ``needs``."""
        needs = tuple(self.params.get("needs", ()) or ())
        return ((self.question,) if self.question else ()) + needs

    @property
    def named(self) -> tuple[str, ...]:
        """Every question the block shows: :attr:`questions` plus optional ones (``companion``,
        ``series``); a question named here gets no default block of its own."""
        extra = [self.params["companion"]] if self.params.get("companion") else []
        extra += [s[0] for s in self.params.get("series") or () if s]
        return self.questions + tuple(extra)


@dataclass(frozen=True)
class Chapter:
    """A chapter of the resolved report: id, title key, sections and blocks (in order)."""

    id: str
    title: str
    sections: tuple[str, ...]
    blocks: tuple[Block, ...]
    lead: str | None = None
    implications: tuple[Mapping[str, Any], ...] = ()
    rest: bool = False

    @property
    def questions(self) -> tuple[str, ...]:
        """Every question a block of the chapter shows, in order (no duplicates)."""
        return tuple(dict.fromkeys(q for b in self.blocks for q in b.questions))

    @property
    def named(self) -> tuple[str, ...]:
        """Every question the chapter's blocks name, optional ones included."""
        return tuple(dict.fromkeys(q for b in self.blocks for q in b.named))


@dataclass(frozen=True)
class ReportSpec:
    """The specification resolved for one edition (see :func:`resolve`)."""

    edition: int
    chapters: tuple[Chapter, ...]
    not_asked: tuple[str, ...] = ()
    defaults: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def chapter(self, chapter_id: str) -> Chapter | None:
        """The chapter ``chapter_id``, or ``None`` when the edition leaves it out."""
        return next((c for c in self.chapters if c.id == chapter_id), None)


def load_spec(path: str | Path | None = None) -> dict[str, Any]:
    """Read the specification YAML (default ``report/spec.yml``), checking its shape.

    Example:
        >>> raw = load_spec()
        >>> sorted(raw)[:2]
        ['chapters', 'defaults']
    """
    p = Path(path) if path is not None else report_dir() / SPEC_FILE
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise RenderError(f"cannot read the report specification {p}: {e}", file=str(p)) from None
    chapters = raw.get("chapters")
    if not isinstance(chapters, list) or not chapters:
        raise RenderError(
            f"{p}: no chapters", file=str(p), column="chapters", expected="a list of chapters"
        )
    for i, ch in enumerate(chapters):
        if not isinstance(ch, dict) or "id" not in ch:
            raise RenderError(
                f"{p}: chapter {i + 1} has no id", file=str(p), row=i + 1, column="id",
                expected="{id: …, title: …, blocks: […]}",
            )
        for j, b in enumerate(ch.get("blocks") or []):
            if not isinstance(b, dict) or "kind" not in b:
                raise RenderError(
                    f"{p}: chapter '{ch['id']}', block {j + 1} has no kind", file=str(p),
                    row=j + 1, column="kind", expected="{kind: …, question: …}",
                )
    return raw


def _block(raw: Mapping[str, Any], default: bool = False) -> Block:
    params = {k: v for k, v in raw.items() if k not in ("kind", "question")}
    return Block(str(raw["kind"]), raw.get("question"), MappingProxyType(params), default)


def _asked(codebook: Any, edition: int, qid: str) -> bool:
    return qid in codebook.questions and codebook[qid].asked_in(edition)


def resolve(raw: Mapping[str, Any], codebook: Any, edition: int) -> ReportSpec:
    """The specification ``raw`` (:func:`load_spec`) for ``edition`` of ``codebook``.

    Blocks naming questions the edition did not ask are dropped (listed in ``not_asked``);
    questions no block names get the default block of their type; empty chapters are left out.
    """
    defaults = dict(raw.get("defaults") or {})
    skip_sections = set(raw.get("skip_sections") or ())
    not_asked: list[str] = []
    kept: dict[str, list[Block]] = {}
    for ch in raw["chapters"]:
        kept[ch["id"]] = []
        for b in ch.get("blocks") or []:
            block = _block(b)
            missing = [qid for qid in block.questions if not _asked(codebook, edition, qid)]
            if missing:
                not_asked.extend(m for m in missing if m not in not_asked)
                continue
            kept[ch["id"]].append(block)
    # a question no kept block names (also one whose bespoke block lost an input) gets the
    # default block of its type, in the chapter covering its section (or the `rest` chapter)
    shown = {q for blocks in kept.values() for b in blocks for q in b.named}
    claimed = {s for ch in raw["chapters"] for s in ch.get("sections") or ()}
    rest_id = next((ch["id"] for ch in raw["chapters"] if ch.get("rest")), None)
    for q in codebook.questions.values():
        if q.id in shown or q.segment or q.section in skip_sections or not q.asked_in(edition):
            continue
        kind = defaults.get(q.type)
        if kind is None:
            continue
        owner = next(
            (ch["id"] for ch in raw["chapters"] if q.section in (ch.get("sections") or ())),
            None if q.section in claimed else rest_id,
        )
        if owner is not None:
            kept[owner].append(_block({"kind": kind, "question": q.id}, True))
    chapters = []
    for ch in raw["chapters"]:
        blocks = kept[ch["id"]]
        if not blocks:
            continue
        chapters.append(
            Chapter(
                id=str(ch["id"]),
                title=str(ch.get("title", f"titles.{ch['id']}")),
                sections=tuple(ch.get("sections") or ()),
                blocks=tuple(blocks),
                lead=ch.get("lead"),
                implications=tuple(MappingProxyType(dict(r)) for r in ch.get("implications") or ()),
                rest=bool(ch.get("rest")),
            )
        )
    return ReportSpec(edition, tuple(chapters), tuple(not_asked), MappingProxyType(defaults))
