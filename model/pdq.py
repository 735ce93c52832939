"""PDQ image hashes (Meta's 256-bit perceptual hash) with quality and the 8 dihedral variants.

A fabricated payment screenshot is re-posted re-encoded, resized, bordered, stamped with a
sticker, sometimes rotated or mirrored; PDQ maps all of those to hashes a few bits apart, while
different screenshots of the same app template land far apart. Meta's recommended operating
point is a Hamming distance of at most 31 of 256 bits, and hashes of quality below 50 (flat or
nearly blank images: a white square, a solid colour) are too uninformative to match: every
blank image hashes alike. Both numbers are defaults here; the policy file overrides them.

Speed: the ``pdqhash`` binding hashes at whatever resolution it is given (45 ms for 1024x1024,
4 ms for 512x512). We decode JPEGs at reduced scale and shrink to 512 on the longest side first
(:mod:`model.image_io`), which is what Meta's C++ tool does and reproduces its reference hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pdqhash
from PIL import Image

from model.image_io import DecodeLimits, decode_image, image_to_array, read_image_bytes

if TYPE_CHECKING:
    from model.signals import NearDupIndex

#: Meta's recommended match threshold for PDQ (ThreatExchange ``PDQ_CONFIDENT_MATCH_THRESHOLD``).
DEFAULT_MATCH_RADIUS = 31
#: Meta's recommended minimum quality; below it the hash describes blankness, not content.
DEFAULT_MIN_QUALITY = 50

HASH_BITS = 256
HASH_BYTES = HASH_BITS // 8
HEX_DIGITS = HASH_BITS // 4

#: Order of the 8 dihedral hashes, as Meta's reference and ``pdqhash.compute_dihedral`` return them.
DIHEDRAL_NAMES: tuple[str, ...] = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip_plus1",
    "flip_minus1",
)

_HEX_CHARS = frozenset("0123456789abcdef")


def validate_hex(value: object, parameter: str = "hex", owner: str = "PdqHash") -> str:
    """Return the lower-case 64-digit hex form of a PDQ hash or raise ``ValueError`` naming it."""
    if not isinstance(value, str):
        raise ValueError(
            f"The {parameter!r} parameter of {owner} must be a 64-digit hex str; got {value!r} instead."
        )
    text = value.strip().lower()
    if len(text) != HEX_DIGITS or not set(text) <= _HEX_CHARS:
        raise ValueError(
            f"The {parameter!r} parameter of {owner} must be a {HEX_DIGITS}-digit hex str (a 256-bit PDQ hash); "
            f"got {value!r} instead."
        )
    return text


@dataclass(frozen=True)
class PdqHash:
    """One image's PDQ hash.

    ``quality`` is PDQ's 0-100 gradient score, or ``None`` when only the hex is known (a
    precomputed hash sent by the feed service): such hashes are trusted, not gated.
    ``variants`` are extra hashes to *query* with — the 7 other dihedral hashes when computed
    from pixels — so a rotated or mirrored re-post finds the original without indexing 8x.
    """

    hex: str
    quality: int | None = None
    variants: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "hex", validate_hex(self.hex))
        if self.quality is not None and (
            not isinstance(self.quality, int)
            or isinstance(self.quality, bool)
            or not 0 <= self.quality <= 100
        ):
            raise ValueError(
                f"The 'quality' parameter of PdqHash must be None or an int in 0..100; got {self.quality!r} instead."
            )
        object.__setattr__(
            self, "variants", tuple(validate_hex(v, "variants", "PdqHash") for v in self.variants)
        )

    def passes_quality(self, min_quality: int = DEFAULT_MIN_QUALITY) -> bool:
        """Whether this hash is informative enough to index and match (unknown quality passes)."""
        return self.quality is None or self.quality >= min_quality

    def query_hexes(self) -> tuple[str, ...]:
        """The hash and its variants, without repeats (what an index searches for)."""
        return tuple(dict.fromkeys((self.hex, *self.variants)))

    def distance(self, other: PdqHash | str) -> int:
        """Hamming distance in bits to ``other`` (its main hash)."""
        return hamming_distance(self.hex, other.hex if isinstance(other, PdqHash) else other)


def bits_to_hex(bits: np.ndarray) -> str:
    """Hex of a 256-element 0/1 vector, most significant bit first (Meta's hex convention)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def hex_to_bytes(value: str) -> np.ndarray:
    """The 32 bytes of a hash hex as a uint8 array (FAISS binary-code layout)."""
    return np.frombuffer(bytes.fromhex(validate_hex(value)), dtype=np.uint8)


def hamming_distance(a: str, b: str) -> int:
    """Bits that differ between two PDQ hex strings."""
    return (
        int(validate_hex(a, "a", "hamming_distance"), 16) ^ int(validate_hex(b, "b", "hamming_distance"), 16)
    ).bit_count()


def _checked_rgb(image: Image.Image) -> np.ndarray:
    if not isinstance(image, Image.Image):
        raise ValueError(f"The 'image' parameter must be a PIL image; got {type(image).__name__} instead.")
    if image.mode != "RGB":
        image = image.convert("RGB")
    return image_to_array(image)


def hash_image(image: Image.Image, *, dihedral: bool = False) -> PdqHash:
    """PDQ hash of an already-decoded image (shrink it to ~512 px first for speed; see module doc).

    With ``dihedral=True`` the 7 rotated / mirrored hashes are returned as ``variants`` (same cost:
    the DCT is computed once).
    """
    array = _checked_rgb(image)
    if dihedral:
        vectors, quality = pdqhash.compute_dihedral(array)
        hexes = [bits_to_hex(v) for v in vectors]
        return PdqHash(hexes[0], int(quality), tuple(hexes[1:]))
    vector, quality = pdqhash.compute(array)
    return PdqHash(bits_to_hex(vector), int(quality))


def dihedral_hashes(image: Image.Image) -> dict[str, str]:
    """The 8 dihedral hashes by name (see :data:`DIHEDRAL_NAMES`)."""
    vectors, _quality = pdqhash.compute_dihedral(_checked_rgb(image))
    return {name: bits_to_hex(v) for name, v in zip(DIHEDRAL_NAMES, vectors, strict=True)}


def hash_bytes(data: bytes, *, dihedral: bool = False, limits: DecodeLimits | None = None) -> PdqHash:
    """Decode (guarded, shrunk to 512) and hash image bytes; raises ``ImageRejected`` for bad input."""
    return hash_image(decode_image(data, limits), dihedral=dihedral)


def hash_file(path: Path | str, *, dihedral: bool = False, limits: DecodeLimits | None = None) -> PdqHash:
    """Hash an image file; raises ``ImageRejected`` for bad input and ``OSError`` if unreadable."""
    return hash_bytes(read_image_bytes(path, limits), dihedral=dihedral, limits=limits)


class PdqSignal:
    """The PDQ signal type (see :class:`model.signals.SignalType`): validate, compare, index class."""

    name: ClassVar[str] = "pdq"

    @classmethod
    def validate(cls, signal: str) -> str:
        return validate_hex(signal, "signal", "PdqSignal")

    @classmethod
    def compare(cls, a: str, b: str, *, threshold: float | None = None) -> tuple[bool, float]:
        radius = DEFAULT_MATCH_RADIUS if threshold is None else threshold
        distance = hamming_distance(a, b)
        return distance <= radius, float(distance)

    @classmethod
    def index_cls(cls) -> type[NearDupIndex]:
        from model.hamming_index import HammingIndex

        return HammingIndex


def hashes_to_codes(hexes: Sequence[str]) -> np.ndarray:
    """``(n, 32)`` uint8 codes of many hex hashes (validated)."""
    if len(hexes) == 0:
        return np.zeros((0, HASH_BYTES), dtype=np.uint8)
    joined = "".join(validate_hex(h) for h in hexes)
    return np.frombuffer(bytes.fromhex(joined), dtype=np.uint8).reshape(len(hexes), HASH_BYTES)


def codes_to_hexes(codes: np.ndarray) -> list[str]:
    """Inverse of :func:`hashes_to_codes`."""
    return [bytes(row).hex() for row in np.asarray(codes, dtype=np.uint8)]
