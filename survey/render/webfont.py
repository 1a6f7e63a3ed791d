"""Embed subsets of the shipped CJK font in the HTML, so it never shows empty boxes.

Only the characters the page uses are kept, from the regular and the bold face (a few
hundred KB each for a full report), plus the full fallback font for characters outside the
shipped subset; written as WOFF (zlib, no extra dependency) with fixed timestamps, so the
output is deterministic.

Example:
    >>> page = "<html><head></head><body><p>中国数字营销</p></body></html>"
    >>> out = embed_cjk_font(page)
    >>> "@font-face" in out and "data:font/woff;base64," in out
    True
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

from survey.present.theme import cjk_font_path, fallback_font_path

#: CSS family name of the embedded subset (first in the HTML font stack).
EMBEDDED_FAMILY = "Survey CJK"
#: CSS family of the fallback subset (characters outside the shipped font)
FALLBACK_FAMILY = "Survey CJK Fallback"

_TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)


def page_characters(page: str) -> set[str]:
    """Characters shown by ``page``: its text outside tags, styles and scripts, unescaped."""
    chars = set(html.unescape(_TAG.sub(" ", page)))
    chars.update("0123456789%.,:;()-–—+·/ ")  # cheap insurance for generated numbers
    return {c for c in chars if c.isprintable()}


def _cmap(path: Path) -> set[int]:
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), lazy=True, fontNumber=0)
    return set(font.getBestCmap())


def subset_woff(chars: set[str], path: Path | None = None) -> bytes:
    """WOFF bytes of the font at ``path`` (default: the shipped regular face) for ``chars``."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(path or cjk_font_path()), recalcTimestamp=False, lazy=True, fontNumber=0)
    options = subset.Options()
    options.layout_features = ["*"]
    options.notdef_outline = True
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars))
    subsetter.subset(font)
    font.flavor = "woff"
    buffer = io.BytesIO()
    font.save(buffer, reorderTables=True)
    return buffer.getvalue()


def _face(family: str, weight: int, woff: bytes) -> str:
    data = base64.b64encode(woff).decode("ascii")
    return (
        f'@font-face {{ font-family: "{family}"; font-style: normal; font-weight: {weight}; '
        f'src: url(data:font/woff;base64,{data}) format("woff"); }}'
    )


def embed_cjk_font(page: str) -> str:
    """Insert ``@font-face`` rules (regular, bold, fallback) before ``</head>`` of ``page``."""
    chars = page_characters(page)
    regular, bold = cjk_font_path("regular"), cjk_font_path("bold")
    faces = [_face(EMBEDDED_FAMILY, 400, subset_woff(chars, regular))]
    if bold != regular:
        faces.append(_face(EMBEDDED_FAMILY, 700, subset_woff(chars, bold)))
        covered = _cmap(regular)
        missing = {c for c in chars if ord(c) not in covered and not c.isspace()}
        fallback = fallback_font_path()
        if missing and fallback != regular:
            faces.append(_face(FALLBACK_FAMILY, 400, subset_woff(missing, fallback)))
    face = "<style>" + " ".join(faces) + "</style>\n"
    head_end = page.find("</head>")
    if head_end < 0:
        return face + page
    return page[:head_end] + face + page[head_end:]
