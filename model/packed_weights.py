"""ONNX external-data files stored xz-compressed in a release and handed to onnxruntime from memory.

Why: the word-embedding table a cascade's two models share (``model.onnx_export.share_initializers``;
18,909 pieces x 384 values, one byte each, 7.3 MB) carries about 4.9 bits of information per byte,
because most values sit near the table's zero point. xz stores it in 4.5 MB and gives back every
byte, so the release shrinks while the scores stay bit-identical; unpacking takes a fraction of a
second once per load. onnxruntime refuses a model whose external-data file is not on disk beside
it, so the unpacked bytes go to each session as that file's contents in memory
(``OnnxTextClassifier``'s ``external_files``); nothing is written at load time.
"""

from __future__ import annotations

import lzma
from pathlib import Path

#: What a packed external-data file's name ends with; without it, the name the ONNX files point at.
PACKED_SUFFIX = ".xz"
_XZ_PRESET = 9 | lzma.PRESET_EXTREME


def pack_file(path: Path) -> Path:
    """Replace ``path`` by ``path.xz`` (xz, SHA-256 check built in); return the packed file's path."""
    path = Path(path)
    if path.name.endswith(PACKED_SUFFIX):
        raise ValueError(f"The 'path' parameter of pack_file must not be packed already; got {path}.")
    packed = path.with_name(path.name + PACKED_SUFFIX)
    packed.write_bytes(
        lzma.compress(path.read_bytes(), format=lzma.FORMAT_XZ, check=lzma.CHECK_SHA256, preset=_XZ_PRESET)
    )
    path.unlink()
    return packed


def unpacked_name(name: str) -> str | None:
    """The external-data location a packed file holds (``shared_weights.bin`` for ``shared_weights.bin.xz``),
    or None when ``name`` is not packed."""
    if name.endswith(PACKED_SUFFIX) and len(name) > len(PACKED_SUFFIX):
        return name[: -len(PACKED_SUFFIX)]
    return None


def unpack_file(path: Path) -> bytes:
    """The bytes a packed file holds; a damaged file is refused (xz checks its own SHA-256)."""
    try:
        return lzma.decompress(Path(path).read_bytes(), format=lzma.FORMAT_XZ)
    except lzma.LZMAError as err:
        raise ValueError(f"{path} is not an intact xz file ({err}); rebuild the release.") from err
