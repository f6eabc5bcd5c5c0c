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

The report's HTML text (tables, headings) is drawn by the browser: :func:`cjk_font_face_css`
embeds the same font in ``report.html``, subset to the CJK characters the page holds, so the
page needs no installed CJK font either.
"""

from __future__ import annotations

import base64
import importlib.util
import io
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


# ----------------------------------------------------------------------------------------------
# the same font in report.html

CSS_FAMILY = "covkit-cjk"
"""CSS family name of the CJK font embedded in report.html."""
_CJK_RANGES = ((0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F),
               (0xFF00, 0xFFEF), (0x20000, 0x3FFFF))
"""CJK radicals, symbols and punctuation, kana, ideographs (and extensions), Hangul,
compatibility ideographs and forms, full-width forms."""


def is_cjk(char: str) -> bool:
    """True for a CJK character (:data:`_CJK_RANGES`)."""
    cp = ord(char)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def cjk_font_face_css(text: str) -> str:
    """A CSS ``@font-face`` rule (family :data:`CSS_FAMILY`) that embeds the CJK font, subset to
    the CJK characters of ``text``, as a WOFF ``data:`` URL: a page with Chinese names shows
    them on a computer without any CJK font too, and stays self-contained (about 1 kB per
    character). ``""`` when ``text`` has no CJK character or the font is missing.

    The rule's ``unicode-range`` is the CJK ranges, so the family can stand first in a
    ``font-family`` list: Latin text keeps the fonts after it, CJK text gets this one (as the
    first family, Chromium also draws the first CJK text of the page with it once it is
    loaded; as a later fallback it drew that text as boxes).
    """
    chars = sorted(c for c in set(text) if is_cjk(c))  # each distinct character once
    path = cjk_font_path() if chars else None
    if path is None:
        return ""
    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff"
    options.notdef_outline = True
    font = subset.load_font(str(path), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in chars])
    subsetter.subset(font)
    buf = io.BytesIO()
    subset.save_font(font, buf, options)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    ranges = ", ".join(f"U+{lo:X}-{hi:X}" for lo, hi in _CJK_RANGES)
    return (f'@font-face {{ font-family: "{CSS_FAMILY}"; '
            f'src: url(data:font/woff;base64,{data}) format("woff"); unicode-range: {ranges}; }}')
