"""A CJK-capable chart theme: the package's own CJK font (regular and bold) plus seaborn.

Charts with Chinese labels need a font that has the glyphs; a fresh machine only has what
pip installed. The package ships "Survey Sans SC", a subset of Noto Sans CJK in a Regular
and a Bold face (GB2312 and punctuation; built by :mod:`survey.present.fontsubset`, SIL Open
Font License), and falls back to the full regular Noto Sans CJK SC of ``mplfonts`` (or
Debian's) for rarer characters. ``cjk_font_path(weight=...)`` finds a face,
``use_cjk_theme`` registers both weights and the fallback with matplotlib and sets a clean,
deterministic seaborn theme. The typst PDF and the HTML font embedding reuse them.

Example:
    >>> from survey.present.theme import use_cjk_theme, CJK_FAMILY
    >>> use_cjk_theme()  # returns nothing, so a notebook cell ending with it shows nothing
    >>> import matplotlib as mpl
    >>> mpl.rcParams["font.sans-serif"][0] == CJK_FAMILY
    True
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from survey.errors import RenderError

#: Family name of the shipped font (regular and bold), as matplotlib, typst and CSS see it.
CJK_FAMILY = "Survey Sans SC"
#: Family of the full regular font used for characters outside the shipped subset.
FALLBACK_FAMILY = "Noto Sans CJK SC"
_FONT_DIR = Path(__file__).with_name("fonts")
_SHIPPED = {"regular": "SurveySansSC-Regular.otf", "bold": "SurveySansSC-Bold.otf"}

#: CSS font stack used by HTML output and great-tables.
#: ("Survey CJK" is the glyph subset survey.render embeds in its HTML output.)
CJK_CSS_STACK = (
    '"Survey CJK", "Survey CJK Fallback", "Survey Sans SC", "Noto Sans CJK SC", "Noto Sans SC", '
    '"Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "Hiragino Sans GB", "WenQuanYi Micro Hei", sans-serif'
)

_MPLFONTS_NAME = "NotoSansCJKsc-Regular.otf"
_DEBIAN_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)


def _mplfonts_regular() -> Path | None:
    spec = importlib.util.find_spec("mplfonts")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidate = Path(folder) / "fonts" / _MPLFONTS_NAME
            if candidate.is_file():
                return candidate
    return None


@cache
def fallback_font_path() -> Path:
    """The full regular Noto Sans CJK SC (mplfonts' copy first, then Debian's).

    Raises:
        RenderError: no CJK font is installed; the message names the packages that provide one.

    Example:
        >>> fallback_font_path().suffix in (".otf", ".ttc")
        True
    """
    found = _mplfonts_regular()
    if found is not None:
        return found
    for name in _DEBIAN_CANDIDATES:
        if Path(name).is_file():
            return Path(name)
    raise RenderError(
        "no CJK font found: Chinese text would render as empty boxes. "
        "Install one with `pip install mplfonts` (ships Noto Sans CJK SC) "
        "or `apt-get install fonts-noto-cjk`.",
        expected="a Noto Sans CJK SC font file",
    )


@cache
def cjk_font_path(weight: str = "regular") -> Path:
    """Path of the shipped CJK face of ``weight`` (``"regular"`` or ``"bold"``).

    Falls back to the full regular Noto Sans CJK SC if the package's fonts are missing.

    Example:
        >>> cjk_font_path().name, cjk_font_path(weight="bold").name
        ('SurveySansSC-Regular.otf', 'SurveySansSC-Bold.otf')
    """
    if weight not in _SHIPPED:
        raise ValueError(f"weight {weight!r} is not one of {sorted(_SHIPPED)}")
    shipped = _FONT_DIR / _SHIPPED[weight]
    return shipped if shipped.is_file() else fallback_font_path()


def font_paths() -> list[Path]:
    """Every font file the outputs use: both shipped weights, then the full fallback.

    Example:
        >>> [p.name for p in font_paths()][:2]
        ['SurveySansSC-Regular.otf', 'SurveySansSC-Bold.otf']
    """
    paths = [cjk_font_path("regular"), cjk_font_path("bold"), fallback_font_path()]
    return list(dict.fromkeys(paths))


@cache
def _register_font() -> str:
    from matplotlib import font_manager

    for path in font_paths():
        font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(cjk_font_path())).get_name()


def use_cjk_theme(*, context: str = "notebook", palette: str = "deep") -> None:
    """Register the CJK fonts (regular, bold, fallback) with matplotlib; a clean seaborn theme.

    Returns ``None`` so that a report cell ending with this call displays nothing; the
    family name is :data:`CJK_FAMILY`.

    Output is deterministic: SVG ids use a fixed hash salt and no creation date is written.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> use_cjk_theme()
        >>> fig, ax = plt.subplots(); _ = ax.set_title("品牌建设")  # no tofu boxes
    """
    import matplotlib as mpl
    import seaborn as sns

    family = _register_font()
    sns.set_theme(
        context=context,
        style="whitegrid",
        palette=palette,
        font=family,
        rc={
            "font.sans-serif": [family, FALLBACK_FAMILY, "DejaVu Sans"],
            "axes.unicode_minus": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.dpi": 100,
            "savefig.dpi": 200,
            "svg.hashsalt": "survey-report",
            "svg.fonttype": "path",
        },
    )
    mpl.rcParams["axes.unicode_minus"] = False
    # per-glyph fallback: characters outside the shipped subset come from the full font
    mpl.rcParams["font.family"] = [family, FALLBACK_FAMILY, "DejaVu Sans"]
