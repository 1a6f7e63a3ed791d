"""A CJK-capable chart theme: Noto Sans CJK SC from pip (mplfonts) or Debian, plus seaborn.

Charts with Chinese labels need a font that has the glyphs; a fresh machine only has what
pip installed. ``cjk_font_path`` finds one, ``use_cjk_theme`` registers it with matplotlib
and sets a clean, deterministic seaborn theme. The typst PDF step reuses ``cjk_font_path``.

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

#: Family name of the bundled font, as matplotlib, typst and CSS see it.
CJK_FAMILY = "Noto Sans CJK SC"

#: CSS font stack used by HTML output and great-tables.
#: ("Survey CJK" is the glyph subset survey.render embeds in its HTML output.)
CJK_CSS_STACK = (
    '"Survey CJK", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", '
    '"Microsoft YaHei", "Hiragino Sans GB", "WenQuanYi Micro Hei", sans-serif'
)

_MPLFONTS_NAME = "NotoSansCJKsc-Regular.otf"
_DEBIAN_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)


@cache
def cjk_font_path() -> Path:
    """Path of a Noto Sans CJK SC font file: mplfonts' copy first, then Debian's.

    Raises:
        RenderError: no CJK font is installed; the message names the packages that provide one.

    Example:
        >>> cjk_font_path().name
        'NotoSansCJKsc-Regular.otf'
    """
    spec = importlib.util.find_spec("mplfonts")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidate = Path(folder) / "fonts" / _MPLFONTS_NAME
            if candidate.is_file():
                return candidate
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
def _register_font() -> str:
    from matplotlib import font_manager

    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def use_cjk_theme(*, context: str = "notebook", palette: str = "deep") -> None:
    """Register the CJK font with matplotlib and set a clean seaborn theme.

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
            "font.sans-serif": [family, "DejaVu Sans"],
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
