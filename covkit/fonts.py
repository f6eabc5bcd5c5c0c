"""Fonts for the report's figures: a CJK font that ships with covkit's dependencies.

matplotlib's own font (DejaVu Sans) has no Chinese, Japanese or Korean glyphs, so township and
county names such as 臺北市 or 鳳林鎮 would be drawn as empty boxes. covkit depends on the PyPI
package ``pylopdf-fonts-zh-tw`` (SIL Open Font License 1.1), which holds Noto Sans TC Regular
(the Traditional Chinese subset of Noto Sans CJK as ``notofonts/noto-cjk`` publishes it, Taiwan
glyph forms). :func:`register_cjk_font` adds that file to matplotlib's font manager (once per
process; nothing is downloaded and no system font is needed) and :func:`figure_font_family` is the
family list figures are drawn with: matplotlib's default sans-serif font first, so Latin text
looks as it always did, and Noto Sans TC as the fallback for every character the first font
lacks (matplotlib >= 3.6 picks the font per glyph). Without the package (a broken install) the
list is the default alone and figures still draw, with boxes for CJK text.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

CJK_FONT_PACKAGE = "pylopdf_fonts_zh_tw"
"""Import name of the package that ships the CJK font (PyPI: ``pylopdf-fonts-zh-tw``)."""
CJK_FONT_FILE = "NotoSansTC-Regular.otf"
CJK_FONT_FAMILY = "Noto Sans TC"
"""Family name of the CJK font in matplotlib's font manager."""
BASE_FAMILY = "sans-serif"
"""The first family of every figure: matplotlib's default sans-serif list (DejaVu Sans)."""

_lock = threading.Lock()
_registered: list[str | None] = []


def cjk_font_path() -> Path | None:
    """The CJK font file shipped by the dependency, or None when the package is missing.

    Found without importing the package (its location from the import system).
    """
    try:
        spec = importlib.util.find_spec(CJK_FONT_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / CJK_FONT_FILE
        if path.is_file():
            return path
    return None


def register_cjk_font() -> str | None:
    """Add the CJK font to matplotlib's font manager (once per process).

    Returns
    -------
    str or None
        The family name to ask for (``"Noto Sans TC"``), or None when the font file is missing
        or matplotlib cannot read it.
    """
    with _lock:
        if _registered:
            return _registered[0]
        from matplotlib import font_manager

        family = None
        path = cjk_font_path()
        if path is not None:
            try:
                font_manager.fontManager.addfont(str(path))
                family = font_manager.FontProperties(fname=str(path)).get_name()
            except (OSError, RuntimeError, ValueError):
                family = None
        _registered.append(family)
        return family


def figure_font_family() -> list[str]:
    """The ``font.family`` of covkit's figures: the default sans-serif font, then the CJK font
    as the fallback for glyphs the first lacks (the default alone without the CJK font)."""
    family = register_cjk_font()
    return [BASE_FAMILY] if family is None else [BASE_FAMILY, family]


def figure_rc() -> dict:
    """matplotlib rc settings for covkit's figures (``matplotlib.rc_context(figure_rc())``)."""
    return {"font.family": figure_font_family()}
