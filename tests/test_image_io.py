"""Guarded decoding: every malformed or odd image gives a clear ImageRejected or a correct hash."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from skimage import data as skimage_data

from model.image_io import DecodeLimits, ImageRejected, decode_image, read_image_bytes
from model.pdq import hash_bytes, hash_image


def _photo(size: tuple[int, int] = (320, 240), seed: int = 0) -> Image.Image:
    """A real photograph (scikit-image's bundled samples), resized: textures a PDQ hash can rely on."""
    samples = (skimage_data.coffee, skimage_data.astronaut, skimage_data.chelsea, skimage_data.rocket)
    return (
        Image.fromarray(samples[seed % len(samples)]()).convert("RGB").resize(size, Image.Resampling.LANCZOS)
    )


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _png_with_header_size(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims ``width`` x ``height`` (a decompression bomb's header)."""
    data = bytearray(_encode(Image.new("L", (8, 8)), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def _reason(data: bytes, limits: DecodeLimits | None = None) -> str:
    with pytest.raises(ImageRejected) as caught:
        decode_image(data, limits)
    assert isinstance(caught.value, ValueError)
    return caught.value.reason


# ---- rejections -----------------------------------------------------------------------------
def test_empty_bytes_are_rejected() -> None:
    assert _reason(b"") == "empty"


def test_too_many_bytes_are_rejected_before_decoding() -> None:
    data = _encode(_photo(), "PNG")
    assert _reason(data, DecodeLimits(max_bytes=len(data) - 1)) == "too_many_bytes"


def test_file_over_the_byte_limit_is_refused_before_reading(tmp_path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(_encode(_photo(), "PNG"))
    with pytest.raises(ImageRejected, match="too_many_bytes"):
        read_image_bytes(path, DecodeLimits(max_bytes=100))


def test_decompression_bomb_header_is_rejected_by_our_pixel_limit() -> None:
    assert _reason(_png_with_header_size(50_000, 50_000)) == "too_many_pixels"


def test_pillow_bomb_warning_is_an_error_not_a_warning() -> None:
    # With our own limit lifted, Pillow's MAX_IMAGE_PIXELS check is what fires: both its
    # warning band and its error band must end as a rejection, never a decode.
    limits = DecodeLimits(max_pixels=10**12)
    pixels = Image.MAX_IMAGE_PIXELS or 89_478_485
    side_warn = int((pixels * 1.5) ** 0.5)
    side_error = int((pixels * 3) ** 0.5)
    assert _reason(_png_with_header_size(side_warn, side_warn), limits) == "too_many_pixels"
    assert _reason(_png_with_header_size(side_error, side_error), limits) == "too_many_pixels"


def test_truncated_jpeg_is_rejected_as_truncated() -> None:
    data = _encode(_photo((640, 480)), "JPEG", quality=90)
    assert _reason(data[: len(data) // 2]) == "truncated"


def test_truncated_png_is_rejected() -> None:
    data = _encode(_photo((640, 480)), "PNG")
    assert _reason(data[: len(data) // 2]) in {"truncated", "corrupt"}


def test_corrupt_bytes_behind_a_valid_signature_are_rejected() -> None:
    png = _encode(_photo(), "PNG")
    garbage = png[:40] + bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8))
    assert _reason(garbage) in {"corrupt", "truncated"}
    jpeg = bytearray(_encode(_photo(), "JPEG"))
    jpeg[200:1200] = bytes(1000)  # wipe tables and scan data
    with pytest.raises(ImageRejected):
        decode_image(bytes(jpeg[:1300]))


def test_unknown_and_refused_formats_are_unsupported() -> None:
    assert _reason(b"this is not an image at all") == "unsupported_format"
    assert _reason(_encode(_photo(), "TIFF")) == "unsupported_format"  # decodable, but refused
    assert _reason(_encode(_photo((64, 64)), "ICO")) == "unsupported_format"


def test_rejection_reason_is_validated() -> None:
    with pytest.raises(ValueError, match="'reason' parameter"):
        ImageRejected("bogus", "x")


def test_hash_bytes_propagates_the_rejection() -> None:
    with pytest.raises(ImageRejected, match="truncated"):
        hash_bytes(_encode(_photo((640, 480)), "JPEG")[:3000])


# ---- odd modes hash like the plain RGB image ----------------------------------------------
@pytest.fixture(scope="module")
def reference() -> tuple[Image.Image, str]:
    image = _photo((400, 300), seed=3)
    return image, hash_image(image).hex


def _distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def test_cmyk_jpeg_hashes_like_the_rgb_original(reference: tuple[Image.Image, str]) -> None:
    image, expected = reference
    decoded = decode_image(_encode(image.convert("CMYK"), "JPEG", quality=95))
    assert decoded.mode == "RGB" and decoded.size == image.size
    assert _distance(hash_image(decoded).hex, expected) <= 10


def test_palette_png_hashes_like_the_rgb_original(reference: tuple[Image.Image, str]) -> None:
    image, expected = reference
    decoded = decode_image(_encode(image.quantize(256), "PNG"))
    assert decoded.mode == "RGB"
    assert _distance(hash_image(decoded).hex, expected) <= 16


def test_sixteen_bit_grayscale_is_scaled_not_clipped(reference: tuple[Image.Image, str]) -> None:
    image, _ = reference
    gray8 = np.asarray(image.convert("L"), dtype=np.uint16)
    deep = Image.fromarray(gray8 * 257)  # uint16 -> mode I;16
    assert deep.mode == "I;16"
    decoded = decode_image(_encode(deep, "PNG"))
    assert decoded.mode == "RGB"
    # A clipping conversion would turn nearly everything white (>255 -> 255).
    assert np.abs(np.asarray(decoded)[:, :, 0].astype(int) - gray8).max() <= 1
    assert _distance(hash_image(decoded).hex, hash_image(image.convert("L").convert("RGB")).hex) <= 4


def test_alpha_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (100, 80), (0, 0, 0, 0))  # fully transparent black
    rgba.paste((255, 0, 0, 255), (0, 0, 50, 80))  # opaque red left half
    decoded = np.asarray(decode_image(_encode(rgba, "PNG")))
    assert tuple(decoded[40, 10]) == (255, 0, 0)
    assert tuple(decoded[40, 90]) == (255, 255, 255)  # transparent -> white, not black
    la = Image.new("LA", (50, 50), (0, 0))
    assert tuple(np.asarray(decode_image(_encode(la, "PNG")))[25, 25]) == (255, 255, 255)


def test_palette_with_transparency_is_composited_on_white() -> None:
    image = Image.new("P", (60, 60), 0)
    image.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (0, 0, 30, 60))
    data = _encode(image, "PNG", transparency=0)
    decoded = np.asarray(decode_image(data))
    assert tuple(decoded[30, 10]) == (0, 0, 255)
    assert tuple(decoded[30, 50]) == (255, 255, 255)


def test_one_bit_and_gif_and_bmp_and_webp_decode(reference: tuple[Image.Image, str]) -> None:
    image, expected = reference
    assert decode_image(_encode(image.convert("1"), "PNG")).mode == "RGB"
    assert _distance(hash_image(decode_image(_encode(image, "BMP"))).hex, expected) == 0
    assert _distance(hash_image(decode_image(_encode(image, "WEBP", quality=90))).hex, expected) <= 16
    frames = [image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    assert _distance(hash_image(decode_image(gif.getvalue())).hex, expected) <= 24  # first frame, 256 colours


def test_exif_orientation_is_applied(reference: tuple[Image.Image, str]) -> None:
    image, expected = reference
    # A camera stores the pixels sideways and says "rotate 90 CW to display" (orientation 6).
    stored = image.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    decoded = decode_image(_encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert decoded.size == image.size
    assert _distance(hash_image(decoded).hex, expected) <= 10


def test_large_jpeg_is_shrunk_to_max_side_while_decoding() -> None:
    big = _photo((2400, 1600), seed=5)
    decoded = decode_image(_encode(big, "JPEG", quality=90))
    assert max(decoded.size) == 512 and decoded.size == (512, 341)
    full = decode_image(_encode(big, "JPEG", quality=90), DecodeLimits(max_side=None))
    assert full.size == (2400, 1600)
    assert _distance(hash_image(decoded).hex, hash_image(full).hex) <= 16


def test_decode_limits_validate() -> None:
    with pytest.raises(ValueError, match="'max_bytes' parameter of DecodeLimits"):
        DecodeLimits(max_bytes=0)
    with pytest.raises(ValueError, match="'max_side' parameter of DecodeLimits"):
        DecodeLimits(max_side=4)
    with pytest.raises(ValueError, match="'data' parameter of decode_image"):
        decode_image("not bytes")  # type: ignore[arg-type]
