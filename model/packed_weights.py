"""ONNX external-data files stored xz-compressed in a release and handed to onnxruntime from memory.

Why: the word-embedding table a cascade's two models share (``model.onnx_export.share_initializers``;
18,909 pieces x 384 values, one byte each, 7.3 MB) carries about 4.9 bits of information per byte,
because most values sit near the table's zero point. xz stores it in 4.5 MB and gives back every
byte, so the release shrinks while the scores stay bit-identical; unpacking takes a fraction of a
second once per load. onnxruntime refuses a model whose external-data file is not on disk beside
it, so the unpacked bytes go to the session as external initializers instead: nothing is written
at load time, and every model of the release reads the same buffer.
"""

from __future__ import annotations

import lzma
from math import prod
from pathlib import Path

import numpy as np
import onnx

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


def external_initializers(onnx_path: Path, location: str, data: bytes) -> dict[str, np.ndarray]:
    """The initializers ``onnx_path`` reads from the external-data file ``location``, as read-only
    arrays over ``data`` (that file's bytes), by name: what ``OnnxTextClassifier`` hands to onnxruntime."""
    model = onnx.load(str(onnx_path), load_external_data=False)
    out: dict[str, np.ndarray] = {}
    for init in model.graph.initializer:
        if init.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {entry.key: entry.value for entry in init.external_data}
        if info.get("location") != location:
            continue
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(init.data_type)).newbyteorder("<")
        offset = int(info.get("offset", 0))
        count = prod(init.dims)
        length = int(info.get("length", count * dtype.itemsize))
        if length != count * dtype.itemsize or offset + length > len(data):
            raise ValueError(
                f"{onnx_path} reads {init.name} as {length} bytes at offset {offset} of {location}, which holds"
                f" {len(data)} bytes for a tensor of {count * dtype.itemsize}; rebuild the release."
            )
        out[init.name] = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(
            tuple(init.dims)
        )
    return out
