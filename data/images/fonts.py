"""Find and cache the CJK fonts used to render screenshots.

Screenshots must show real Chinese glyphs (no tofu boxes), so we use Debian's ``fonts-noto-cjk``. Fonts are cached
per (weight, size) because loading a 20 MB collection for every text run would dominate render time.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from PIL import ImageFont

_FONT_DIRS = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
    Path("/usr/local/share/fonts"),
)
_FILES = {"regular": "NotoSansCJK-Regular.ttc", "bold": "NotoSansCJK-Bold.ttc"}
# Face index of "Noto Sans CJK SC" (simplified Chinese glyph shapes) inside the .ttc collection.
_SC_NAME = "Noto Sans CJK SC"
WEIGHTS = tuple(_FILES)


def _fc_list_path(filename: str) -> Path | None:
    """Ask fontconfig where the collection lives, for distributions that install it elsewhere."""
    if shutil.which("fc-list") is None:
        return None
    out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        path = Path(line.split(":")[0].strip())
        if path.name == filename and path.is_file():
            return path
    return None


@functools.cache
def font_path(weight: str = "regular") -> Path:
    """Return the Noto Sans CJK collection file for ``weight`` ("regular" or "bold").

    Raises FileNotFoundError naming the Debian package to install when the font is missing.
    """
    if weight not in _FILES:
        raise ValueError(
            f"The 'weight' parameter of font_path must be one of {WEIGHTS}; got {weight!r} instead."
        )
    filename = _FILES[weight]
    for directory in _FONT_DIRS:
        candidate = directory / filename
        if candidate.is_file():
            return candidate
    found = _fc_list_path(filename)
    if found is not None:
        return found
    raise FileNotFoundError(
        f"CJK font {filename} not found; install the Debian package 'fonts-noto-cjk' "
        "(sudo apt-get install fonts-noto-cjk) to render screenshots."
    )


@functools.cache
def _sc_index(weight: str) -> int:
    path = font_path(weight)
    for index in range(8):
        try:
            face = ImageFont.truetype(str(path), 12, index=index)
        except OSError:
            break
        if face.getname()[0] == _SC_NAME:
            return index
    return 0


@functools.cache
def get_font(size: int, weight: str = "regular") -> ImageFont.FreeTypeFont:
    """Return the simplified-Chinese Noto Sans face at ``size`` pixels (cached)."""
    if size < 1:
        raise ValueError(f"The 'size' parameter of get_font must be >= 1; got {size!r} instead.")
    return ImageFont.truetype(str(font_path(weight)), size, index=_sc_index(weight))


@functools.cache
def supported_codepoints(weight: str = "regular") -> frozenset[int]:
    """Code points the font can draw; tests use it to prove no text renders as tofu."""
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(font_path(weight)), lazy=True)
    return frozenset(collection.fonts[_sc_index(weight)].getBestCmap())
