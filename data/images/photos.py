"""Real photographs from installed packages, standing in for product and lifestyle photos.

No photo data set can be downloaded here, so we use the sample images that ship inside scikit-image (only the ones
bundled in the wheel) and Debian's ``opencv-doc``. Near-identical pairs in those collections (stereo pairs, the
``box``/``box_in_scene`` pair) are left out on purpose: they would be unlabelled near-duplicates of each other and
would corrupt the ground truth of the duplicate clusters.
"""

from __future__ import annotations

import functools
import gzip
import io
import random
from pathlib import Path

from PIL import Image

OPENCV_DOC_DIR = Path("/usr/share/doc/opencv-doc/examples/data")

# name -> role. "product": something a seller could photograph and sell; "lifestyle": everyday snapshots.
_SKIMAGE_PHOTOS: dict[str, str] = {
    "astronaut": "lifestyle",
    "chelsea": "lifestyle",
    "coffee": "product",
    "rocket": "lifestyle",
    "camera": "lifestyle",
    "stereo_motorcycle": "lifestyle",
}
_OPENCV_PHOTOS: dict[str, str] = {
    "apple.jpg": "product",
    "orange.jpg": "product",
    "fruits.jpg": "product",
    "smarties.png": "product",
    "box.png": "product",
    "left.jpg": "product",
    "board.jpg": "product",
    "stuff.jpg": "product",
    "rubberwhale1.png": "product",
    "aero1.jpg": "lifestyle",
    "baboon.jpg": "lifestyle",
    "basketball1.png": "lifestyle",
    "building.jpg": "lifestyle",
    "butterfly.jpg": "lifestyle",
    "graf1.png": "lifestyle",
    "home.jpg": "lifestyle",
    "leuvenA.jpg": "lifestyle",
    "licenseplate_motion.jpg": "lifestyle",
    "messi5.jpg": "lifestyle",
    "squirrel_cls.jpg": "lifestyle",
    "starry_night.jpg": "lifestyle",
    "aloeL.jpg": "lifestyle",
}
PHOTO_ROLES = ("product", "lifestyle")


def _skimage_photos() -> list[tuple[str, Image.Image]]:
    try:
        from skimage import data as skdata
    except ImportError:
        return []
    photos = []
    for name in sorted(_SKIMAGE_PHOTOS):
        try:
            array = getattr(skdata, name)()
        except (ModuleNotFoundError, OSError, ValueError):
            # Not bundled in this wheel (would need pooch + network): skip, never download.
            continue
        if isinstance(array, tuple):  # stereo_motorcycle returns (left, right, disparity)
            array = array[0]
        photos.append((f"skimage/{name}", Image.fromarray(array).convert("RGB")))
    return photos


def _opencv_photos(directory: Path) -> list[tuple[str, Image.Image]]:
    photos = []
    for filename in sorted(_OPENCV_PHOTOS):
        path = directory / filename
        gz = directory / (filename + ".gz")
        if path.is_file():
            raw = path.read_bytes()
        elif gz.is_file():
            raw = gzip.decompress(gz.read_bytes())
        else:
            continue
        with Image.open(io.BytesIO(raw)) as image:
            photos.append((f"opencv/{Path(filename).stem}", image.convert("RGB")))
    return photos


@functools.cache
def _load_all() -> tuple[tuple[str, Image.Image], ...]:
    photos = _skimage_photos() + _opencv_photos(OPENCV_DOC_DIR)
    if not photos:
        raise FileNotFoundError(
            "No real photos found: install scikit-image (pip) and the Debian package 'opencv-doc' "
            f"(sample images expected under {OPENCV_DOC_DIR})."
        )
    return tuple(photos)


def load_real_photos() -> list[tuple[str, Image.Image]]:
    """Return every available real photo as ``(name, RGB image)`` in a deterministic order.

    Names look like ``"skimage/coffee"`` or ``"opencv/fruits"``. Images are copies, so callers may modify them.
    """
    return [(name, image.copy()) for name, image in _load_all()]


def real_photo_at(rng: random.Random) -> Image.Image:
    """A uniformly chosen real photo, shared (not copied): callers must only read it (crop, resize)."""
    photos = _load_all()
    return photos[rng.randrange(len(photos))][1]


def photo_role(name: str) -> str:
    """Return "product" or "lifestyle" for a photo name from :func:`load_real_photos`."""
    source, _, stem = name.partition("/")
    if source == "skimage" and stem in _SKIMAGE_PHOTOS:
        return _SKIMAGE_PHOTOS[stem]
    if source == "opencv":
        for filename, role in _OPENCV_PHOTOS.items():
            if Path(filename).stem == stem:
                return role
    raise ValueError(
        f"The 'name' parameter of photo_role must be a name from load_real_photos(); got {name!r} instead."
    )


def photos_by_role(role: str) -> list[str]:
    """Names of the available photos with ``role`` ("product" or "lifestyle"), deterministic order."""
    if role not in PHOTO_ROLES:
        raise ValueError(
            f"The 'role' parameter of photos_by_role must be one of {PHOTO_ROLES}; got {role!r} instead."
        )
    return list(_names_by_role(role))


@functools.cache
def _names_by_role(role: str) -> tuple[str, ...]:
    return tuple(name for name, _ in _load_all() if photo_role(name) == role)


def get_photo(name: str) -> Image.Image:
    """Return a copy of one real photo by name."""
    image = dict(_load_all()).get(name)
    if image is not None:
        return image.copy()
    raise ValueError(
        f"The 'name' parameter of get_photo must be a name from load_real_photos(); got {name!r} instead."
    )


def photo_view(name: str, view_seed: int, *, max_side: int = 720) -> Image.Image:
    """A distinct shot cut from one real photo: a window of 45-75% of its sides, possibly mirrored.

    The photo collections are small (a few dozen images), but a feed needs thousands of *different* photos. Different
    windows of one photo hash differently, so each ``(name, view_seed)`` acts as its own photo. ``view_seed`` 0 is the
    whole photo.
    """
    image = get_photo(name)
    if view_seed != 0:
        rng = random.Random(f"view:{name}:{view_seed}")
        width, height = image.size
        frac = rng.uniform(0.45, 0.75)
        w, h = max(1, int(width * frac)), max(1, int(height * frac * rng.uniform(0.85, 1.15)))
        h = min(h, height)
        left, top = rng.randint(0, width - w), rng.randint(0, height - h)
        image = image.crop((left, top, left + w, top + h))
        if rng.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    scale = max_side / max(image.size)
    if scale < 1:
        image = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.BILINEAR
        )
    return image
