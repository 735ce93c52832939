"""Guarded image decoding: every upload either becomes a clean RGB image or a clear rejection.

Images reach the scorer from the open internet (base64 in a score request, files in a batch
job). A decompression bomb, a truncated upload or an exotic format must not crash a worker, eat
its memory, or — worse — be hashed into garbage that then "matches" other garbage. So this
module checks bytes and pixels before decoding, turns every decoder failure into an
:class:`ImageRejected` with a machine-readable ``reason``, and normalizes what it accepts: EXIF
orientation applied, alpha composited on white (how a feed shows it), palette / CMYK / 16-bit
converted to 8-bit RGB. It also shrinks large images while decoding (JPEG ``draft`` decodes at
1/2, 1/4 or 1/8 scale directly), because PDQ only needs about 512 pixels per side and the
full-size decode is most of the hashing time.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Formats we decode. Everything else (EPS via Ghostscript, PSD, TIFF, ICO, ...) is refused up front:
#: a feed only carries photos and screenshots, and every extra decoder is extra attack surface.
ALLOWED_FORMATS: frozenset[str] = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "MPO"})

#: Default safety limits (not model thresholds): a 200 MP phone photo is ~60 MB as JPEG and the
#: largest feed uploads we expect are well under that; the service may pass tighter ones.
DEFAULT_MAX_BYTES = 40 * 1024 * 1024
DEFAULT_MAX_PIXELS = 100_000_000

#: Longest side the decoder hands to the hasher. PDQ reduces to 64x64 internally; Meta's own tool
#: shrinks to 512 first, and the reference hashes are reproduced exactly at this size.
DEFAULT_MAX_SIDE = 512

#: Reasons an image can be rejected (the ``reason`` attribute of :class:`ImageRejected`).
REJECT_REASONS: tuple[str, ...] = (
    "empty",
    "too_many_bytes",
    "too_many_pixels",
    "unsupported_format",
    "corrupt",
    "truncated",
)

# Errors Pillow's decoders raise on malformed input. Listed explicitly (no blanket except): any
# other exception is a bug in our code and must surface.
_DECODER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    zlib.error,
    IndexError,
    KeyError,
    TypeError,
)


class ImageRejected(ValueError):
    """An image that will not be hashed, and why (``reason`` is one of :data:`REJECT_REASONS`)."""

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in REJECT_REASONS:
            raise ValueError(
                f"The 'reason' parameter of ImageRejected must be one of {REJECT_REASONS}; got {reason!r}."
            )
        super().__init__(f"Image rejected ({reason}): {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class DecodeLimits:
    """Byte and pixel limits for one decode; ``max_side`` is the longest side handed back (None: full size)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_side: int | None = DEFAULT_MAX_SIDE

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"The {name!r} parameter of DecodeLimits must be a positive int; got {value!r} instead."
                )
        if self.max_side is not None and (
            not isinstance(self.max_side, int) or isinstance(self.max_side, bool) or self.max_side < 16
        ):
            raise ValueError(
                f"The 'max_side' parameter of DecodeLimits must be None or an int >= 16; got {self.max_side!r} instead."
            )


def read_image_bytes(path: Path | str, limits: DecodeLimits | None = None) -> bytes:
    """Read a file for :func:`decode_image`, refusing oversize files before reading them whole."""
    limits = limits or DecodeLimits()
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise ImageRejected("too_many_bytes", f"{path} is {size} bytes; the limit is {limits.max_bytes}.")
    return path.read_bytes()


def decode_image(data: bytes, limits: DecodeLimits | None = None) -> Image.Image:
    """Decode ``data`` into an 8-bit RGB image no larger than ``limits.max_side`` on its longest side.

    Raises :class:`ImageRejected` (a ``ValueError``) for anything that cannot be decoded safely.
    """
    limits = limits or DecodeLimits()
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(
            f"The 'data' parameter of decode_image must be bytes; got {type(data).__name__} instead."
        )
    if len(data) == 0:
        raise ImageRejected("empty", "no bytes.")
    if len(data) > limits.max_bytes:
        raise ImageRejected("too_many_bytes", f"{len(data)} bytes; the limit is {limits.max_bytes}.")
    with warnings.catch_warnings():
        # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; a bomb is an error here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = _open_checked(bytes(data), limits)
            return _to_rgb(image, limits)
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageRejected("too_many_pixels", str(error)) from error
        except MemoryError as error:
            raise ImageRejected("too_many_pixels", "decoding ran out of memory.") from error
        except _DECODER_ERRORS as error:
            message = str(error)
            reason = "truncated" if "truncated" in message.lower() else "corrupt"
            raise ImageRejected(reason, f"{type(error).__name__}: {message}") from error


def _open_checked(data: bytes, limits: DecodeLimits) -> Image.Image:
    """Open lazily, check format and pixel count from the header, then decode (shrunk if JPEG)."""
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as error:
        claimed = _claimed_format(data)
        if claimed is not None:
            raise ImageRejected("corrupt", f"starts like {claimed} but cannot be parsed.") from error
        raise ImageRejected("unsupported_format", "not a recognised image format.") from error
    if image.format not in ALLOWED_FORMATS:
        raise ImageRejected(
            "unsupported_format", f"format {image.format} is not one of {', '.join(sorted(ALLOWED_FORMATS))}."
        )
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageRejected("corrupt", f"image size {width}x{height}.")
    if width * height > limits.max_pixels:
        raise ImageRejected("too_many_pixels", f"{width}x{height} pixels; the limit is {limits.max_pixels}.")
    if limits.max_side is not None and image.format in {"JPEG", "MPO"}:
        scale = min(1.0, limits.max_side / max(width, height))
        # draft() picks the largest 1/2^k DCT scaling that still covers the requested size.
        image.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
    image.load()
    return image


def _claimed_format(data: bytes) -> str | None:
    """The allowed format whose signature ``data`` starts with (a broken file is corrupt, not unsupported)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:2] == b"BM":
        return "BMP"
    return None


def _to_rgb(image: Image.Image, limits: DecodeLimits) -> Image.Image:
    """EXIF-rotate, flatten alpha on white, bring every mode to 8-bit RGB, shrink to ``max_side``."""
    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}:
        image = _deep_gray_to_l(image)
    elif mode == "1":
        image = image.convert("L")
    elif mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    mode = image.mode
    if mode in {"RGBA", "LA", "RGBa", "La"}:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
    elif mode != "RGB":
        image = image.convert("RGB")
    if limits.max_side is not None and max(image.size) > limits.max_side:
        image.thumbnail((limits.max_side, limits.max_side))
    return image


def _deep_gray_to_l(image: Image.Image) -> Image.Image:
    """Scale 16/32-bit grayscale to 8 bits by its actual range (Pillow's convert would clip at 255)."""
    array = np.asarray(image, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ImageRejected("corrupt", "non-finite pixel values.")
    if image.mode.startswith("I;16"):
        scaled = array / 257.0
    else:
        low, high = float(array.min()), float(array.max())
        scaled = np.zeros_like(array) if high <= low else (array - low) * (255.0 / (high - low))
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))


def image_to_array(image: Image.Image) -> np.ndarray:
    """``(H, W, 3)`` uint8 C-contiguous array of an RGB image (what the PDQ binding expects)."""
    if image.mode != "RGB":
        raise ValueError(
            f"The 'image' parameter of image_to_array must be an RGB image; got mode {image.mode} instead."
        )
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
