"""Build the CJK font subsets the package ships (regular and bold), from Noto Sans CJK.

A fresh machine has no CJK font and pip offers Noto Sans CJK only in single weights
(``mplfonts`` ships the regular SC face, ``cvttf-notosanscjk-bold`` the bold TC face). This
maintainer tool turns both into one family, :data:`FAMILY`, with a Regular and a Bold face
restricted to the characters a Chinese report needs: GB2312 (all 6,763 hanzi), ASCII,
Latin-1, general and CJK punctuation, full-width forms and a few symbols. The bold face is
the Traditional-Chinese-default font: its ``locl`` substitutions for Simplified Chinese
(``hani``/``ZHS``) are baked into the character map, so every glyph has the mainland form.
Glyphs outside the subset fall back to the full regular Noto Sans CJK SC of ``mplfonts``.

Both faces are under the SIL Open Font License 1.1 (``survey/present/fonts/OFL.txt``); the
family is renamed as the licence asks of modified versions (no reserved name is used).

Usage (once, by a maintainer; the outputs are committed)::

    pip download --no-deps cvttf-notosanscjk-bold -d /tmp/fonts
    python -m survey.present.fontsubset --bold /tmp/fonts/cvttf_NotoSansCJK_Bold-1.0-py3-none-any.whl

Example:
    >>> chars = subset_characters()
    >>> "营" in chars and "销" in chars and "A" in chars and "％" in chars
    True
"""

from __future__ import annotations

import argparse
import tempfile
import zipfile
from pathlib import Path

#: family name of the shipped subsets (matplotlib, typst and CSS see this name)
FAMILY = "Survey Sans SC"
FONT_DIR = Path(__file__).with_name("fonts")
FILES = {"regular": "SurveySansSC-Regular.otf", "bold": "SurveySansSC-Bold.otf"}
_EXTRA_RANGES = (
    (0x20, 0x7E),
    (0xA0, 0xFF),
    (0x2000, 0x206F),  # general punctuation
    (0x2100, 0x215F),  # letterlike, number forms
    (0x2190, 0x21FF),  # arrows
    (0x2212, 0x2212),  # minus sign
    (0x2460, 0x24FF),  # enclosed numbers
    (0x25A0, 0x25FF),  # geometric shapes
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF00, 0xFFEF),  # full-width forms
)


def subset_characters() -> set[str]:
    """GB2312 plus the Latin, punctuation and symbol ranges listed in :data:`_EXTRA_RANGES`."""
    chars: set[str] = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    for start, end in _EXTRA_RANGES:
        chars.update(chr(c) for c in range(start, end + 1))
    return {c for c in chars if c.isprintable() or c == "\u3000"}


def _bake_locl(font: object, script: str = "hani", lang: str = "ZHS") -> int:
    """Point the character map at the ``locl`` glyphs of ``script``/``lang``; the count."""
    gsub = font["GSUB"].table  # type: ignore[index]
    lookups: list[int] = []
    for record in gsub.ScriptList.ScriptRecord:
        if record.ScriptTag != script:
            continue
        for ls in record.Script.LangSysRecord:
            if ls.LangSysTag.strip() != lang:
                continue
            for i in ls.LangSys.FeatureIndex:
                feature = gsub.FeatureList.FeatureRecord[i]
                if feature.FeatureTag == "locl":
                    lookups.extend(feature.Feature.LookupListIndex)
    mapping: dict[str, str] = {}
    for index in lookups:
        for sub in gsub.LookupList.Lookup[index].SubTable:
            sub = getattr(sub, "ExtSubTable", sub)
            mapping.update(getattr(sub, "mapping", {}) or {})
    changed = 0
    for table in font["cmap"].tables:  # type: ignore[index]
        for code, glyph in list(table.cmap.items()):
            if glyph in mapping:
                table.cmap[code] = mapping[glyph]
                changed += 1
    return changed


def _rename(font: object, weight: str) -> None:
    style = "Bold" if weight == "bold" else "Regular"
    ps = f"{FAMILY.replace(' ', '')}-{style}"
    name = font["name"]  # type: ignore[index]
    keep = {0, 5, 7, 8, 9, 10, 11, 12, 13, 14}
    name.names = [n for n in name.names if n.nameID in keep]
    for ident, text in ((1, FAMILY), (2, style), (3, f"{ps};subset"), (4, f"{FAMILY} {style}"),
                        (6, ps)):
        name.setName(text, ident, 3, 1, 0x409)
        name.setName(text, ident, 1, 0, 0)
    os2 = font["OS/2"]  # type: ignore[index]
    os2.usWeightClass = 700 if weight == "bold" else 400
    os2.fsSelection = (os2.fsSelection & ~0b1100001) | (0b100000 if weight == "bold" else 0b1000000)
    font["head"].macStyle = 1 if weight == "bold" else 0  # type: ignore[index]
    if "CFF " in font:  # type: ignore[operator]
        cff = font["CFF "].cff  # type: ignore[index]
        top = cff[cff.fontNames[0]]
        cff.fontNames = [ps]
        top.FamilyName, top.FullName = FAMILY, f"{FAMILY} {style}"


def build_face(source: Path, output: Path, *, weight: str, chars: set[str]) -> Path:
    """Subset ``source`` to ``chars`` (Simplified forms), rename it and write ``output``."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(source), recalcTimestamp=False)
    _bake_locl(font)
    options = subset.Options()
    options.layout_features = ["kern", "palt", "halt", "vert", "vrt2", "liga"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.desubroutinize = False
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars))
    subsetter.subset(font)
    _rename(font, weight)
    output.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(output), reorderTables=True)
    return output


def _otf_in(path: Path, tmp: Path) -> Path:
    if path.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(path) as archive:
            member = next(n for n in archive.namelist() if n.lower().endswith(".otf"))
            return Path(archive.extract(member, tmp))
    return path


def main(argv: list[str] | None = None) -> None:
    """Build both faces into ``survey/present/fonts/``."""
    from survey.present.theme import _mplfonts_regular

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bold", type=Path, required=True, help="NotoSansCJK*-Bold.otf or wheel")
    parser.add_argument("--regular", type=Path, default=None, help="default: mplfonts' SC Regular")
    args = parser.parse_args(argv)
    chars = subset_characters()
    with tempfile.TemporaryDirectory() as tmp:
        regular = args.regular or _mplfonts_regular()
        if regular is None:
            raise SystemExit("mplfonts is not installed: pass --regular")
        build_face(_otf_in(regular, Path(tmp)), FONT_DIR / FILES["regular"], weight="regular",
                   chars=chars)
        build_face(_otf_in(args.bold, Path(tmp)), FONT_DIR / FILES["bold"], weight="bold",
                   chars=chars)
    for f in FILES.values():
        print(FONT_DIR / f, (FONT_DIR / f).stat().st_size)


if __name__ == "__main__":
    main()
