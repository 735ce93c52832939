"""Export a :class:`TextClassifierModule` to ONNX and quantize it to INT8 (dynamic, static or per-token).

The service runs onnxruntime without torch; this is the one bridge. Batch and sequence
axes stay dynamic so length-bucketed batches of any size run on one graph. Dynamic INT8
comes after onnxruntime's BERT graph fusion (attention, layer norm, GELU), which is what
lets the quantizer turn the fused ops into integer kernels. Static INT8 fixes every
activation scale from calibration posts instead, so a post's score no longer depends on
the posts it is batched with; per-token INT8 gets the same independence by giving every
token row its own scale, with no calibration.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx
import onnx.external_data_helper
import onnxruntime as ort
import torch
from onnx import numpy_helper
from onnxruntime.quantization import CalibrationDataReader

from model.labels import LABELS
from model.text_classifier import TextClassifierModule

INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "logits"


def export_onnx(module: TextClassifierModule, path: Path, *, opset: int = 17) -> Path:
    """Write ``module`` (eval mode, logits output) to ``path``; inputs ``input_ids``, ``attention_mask`` (int64)."""
    if not isinstance(module, TextClassifierModule):
        raise ValueError(
            f"The 'module' parameter of export_onnx must be a TextClassifierModule; got {type(module).__name__} instead."
        )
    if not isinstance(opset, int) or not 14 <= opset <= 21:
        raise ValueError(
            f"The 'opset' parameter of export_onnx must be an int in [14, 21]; got {opset!r} instead."
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = module.training
    attention = module.encoder.config._attn_implementation
    module.eval()
    # Eager attention exports as plain MatMul/Softmax ops that onnxruntime fuses into Attention;
    # the math is the same as sdpa, which training keeps using.
    module.encoder.config._attn_implementation = "eager"
    # Two rows of different lengths so the tracer cannot specialize on a mask of all ones.
    input_ids = torch.tensor([[0, 5, 6, 7, 8, 9, 10, 2], [0, 5, 6, 2, 1, 1, 1, 1]], dtype=torch.int64)
    attention_mask = (input_ids != 1).to(torch.int64)
    dynamic = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            # The TorchScript exporter announces its deprecation and tracer details on every call.
            warnings.simplefilter(
                "ignore", category=(DeprecationWarning, FutureWarning, torch.jit.TracerWarning)
            )
            torch.onnx.export(
                module,
                (input_ids, attention_mask),
                str(path),
                input_names=list(INPUT_NAMES),
                output_names=[OUTPUT_NAME],
                dynamic_axes={**dynamic, OUTPUT_NAME: {0: "batch"}},
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
    finally:
        module.train(was_training)
        module.encoder.config._attn_implementation = attention
    model = onnx.load(str(path))
    config = module.encoder.config
    meta = {
        "num_attention_heads": str(config.num_attention_heads),
        "hidden_size": str(config.hidden_size),
        "num_hidden_layers": str(config.num_hidden_layers),
        "vocab_size": str(config.vocab_size),
        "labels": ",".join(LABELS),
    }
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _constant(name: str, producer: dict, initializers: dict) -> np.ndarray | None:
    if name in initializers:
        return numpy_helper.to_array(initializers[name])
    node = producer.get(name)
    if node is not None and node.op_type == "Constant" and node.attribute:
        return numpy_helper.to_array(node.attribute[0].t)
    return None


def prepare_attention_for_fusion(model: onnx.ModelProto, *, num_heads: int, head_size: int) -> int:
    """Rewrite each exported attention block into the shape onnxruntime's BERT fusion recognizes.

    transformers 5 computes the head reshapes from runtime shapes (``[b, s, -1, d]``) and scales
    scores with a ``Mul``; the fusion wants constant ``[0, 0, heads, d]`` reshapes and a ``Div``
    (with ``Mul`` it confuses the scaling with the mask's ``Mul``). Both rewrites are exact up to
    float rounding. Returns how many attention blocks were rewritten (0 leaves the model unfused
    but correct).
    """
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    initializers = {init.name: init for init in graph.initializer}

    def parent(node, index: int, op_type: str):
        found = producer.get(node.input[index]) if node is not None and len(node.input) > index else None
        return found if found is not None and found.op_type == op_type else None

    def child(node, op_type: str):
        found = (
            [c for c in consumers.get(node.output[0], []) if c.op_type == op_type] if node is not None else []
        )
        return found[0] if len(found) == 1 else None

    def shape_input(shape: list[int]) -> str:
        name = "feedguard_reshape_" + "_".join(str(v) for v in shape)
        if name not in initializers:
            initializers[name] = numpy_helper.from_array(np.array(shape, dtype=np.int64), name=name)
            graph.initializer.append(initializers[name])
        return name

    rewritten = 0
    for softmax in [n for n in graph.node if n.op_type == "Softmax"]:
        add = parent(softmax, 0, "Add")
        if add is None:
            continue
        scale = next(
            (
                producer[i]
                for i in add.input
                if i in producer
                and producer[i].op_type == "Mul"
                and parent(producer[i], 0, "MatMul") is not None
            ),
            None,
        )
        if scale is None:
            continue
        factor = _constant(scale.input[1], producer, initializers)
        qk = parent(scale, 0, "MatMul")
        q_reshape = parent(parent(qk, 0, "Transpose"), 0, "Reshape")
        k_reshape = parent(parent(qk, 1, "Transpose"), 0, "Reshape")
        context = child(softmax, "MatMul")
        v_reshape = parent(parent(context, 1, "Transpose"), 0, "Reshape")
        merge = child(child(context, "Transpose"), "Reshape")
        if factor is None or factor.size != 1 or None in (q_reshape, k_reshape, v_reshape, merge):
            continue
        for reshape in (q_reshape, k_reshape, v_reshape):
            reshape.input[1] = shape_input([0, 0, num_heads, head_size])
        merge.input[1] = shape_input([0, 0, num_heads * head_size])
        divisor = numpy_helper.from_array(
            np.array(1.0 / float(factor.reshape(())), dtype=np.float32), name=f"{scale.name}_divisor"
        )
        graph.initializer.append(divisor)
        scale.op_type = "Div"
        scale.input[1] = divisor.name
        rewritten += 1
    return rewritten


def optimize_bert(src: Path, dst: Path, *, num_heads: int, hidden_size: int) -> Path:
    """onnxruntime's BERT fusion (Attention, SkipLayerNormalization, BiasGelu, EmbedLayerNorm), fp32.

    Writes the count of fused attention blocks into the model metadata (``fused_attention``)
    so a silent fusion failure shows up in tests and the model card.
    """
    from onnxruntime.transformers.optimizer import optimize_model

    model = onnx.load(str(src))
    prepare_attention_for_fusion(model, num_heads=num_heads, head_size=hidden_size // num_heads)
    prepared = Path(dst).with_suffix(".prepared.onnx")
    onnx.save(model, str(prepared))
    # onnxruntime logs every initializer the fusion leaves unused; only errors are worth showing.
    ort.set_default_logger_severity(3)
    try:
        optimized = optimize_model(
            str(prepared),
            model_type="bert",
            num_heads=num_heads,
            hidden_size=hidden_size,
            opt_level=1,
            use_gpu=False,
        )
    finally:
        ort.set_default_logger_severity(2)
        prepared.unlink(missing_ok=True)
    fused = optimized.get_fused_operator_statistics().get("Attention", 0)
    entry = optimized.model.metadata_props.add()
    entry.key, entry.value = "fused_attention", str(fused)
    optimized.save_model_to_file(str(dst))
    return Path(dst)


_GELU_OPS = frozenset({"Gelu", "FastGelu", "BiasGelu"})


def ffn_down_projections(path: Path) -> list[str]:
    """Names of the MatMuls that read a GELU's output: the feed-forward down-projections.

    Dynamic quantization scales activations per batch; GELU outputs are long-tailed, so one
    outlier coarsens the step for every other value in the batch. On the 4-layer e5 student
    (test split, 5,635 posts) keeping these four MatMuls in FP32 raised per-post agreement with
    PyTorch from 97.3 % to 98.5 % and halved the mean score gap (0.0096 -> 0.0051) for +7 MB.
    """
    graph = onnx.load(str(path), load_external_data=False).graph
    gelu_outputs = {out for node in graph.node if node.op_type in _GELU_OPS for out in node.output}
    return [node.name for node in graph.node if node.op_type == "MatMul" and node.input[0] in gelu_outputs]


def quantize_int8(
    src: Path, dst: Path, *, weight_type: str = "QInt8", per_channel: bool = True, optimize: bool = True
) -> Path:
    """Dynamic INT8 quantization of ``src`` into ``dst`` (weights INT8, activations quantized per batch).

    Measured on e5 students (tests/test_model_onnx.py benchmark): per-channel weight scales halve
    the score error of per-tensor ones. ``"QInt8"`` weights use 7-bit range (``reduce_range``):
    AVX2 without VNNI saturates int16 sums of full-range u8*s8 products. ``"QUInt8"`` is the
    alternative. With ``optimize`` the BERT fusion runs first (Attention -> QAttention).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if weight_type not in ("QInt8", "QUInt8"):
        raise ValueError(
            f"The 'weight_type' parameter of quantize_int8 must be 'QInt8' or 'QUInt8'; got {weight_type!r} instead."
        )
    src, dst = _exported(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    meta = _metadata(src)
    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        source = src
        if optimize:
            heads, hidden = _attention_shape(src)
            source = optimize_bert(src, Path(tmp) / "optimized.onnx", num_heads=heads, hidden_size=hidden)
        quantize_dynamic(
            str(source),
            str(dst),
            weight_type=QuantType[weight_type],
            per_channel=per_channel,
            reduce_range=weight_type == "QInt8",
            nodes_to_exclude=ffn_down_projections(source),
            # Fused contrib ops hide tensor types from ONNX shape inference; they are all float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        meta.update(_metadata(source))
    meta["quantization"] = (
        f"dynamic {weight_type} "
        + ("per-channel" if per_channel else "per-tensor")
        + "; FFN down-projections FP32"
    )
    _write_metadata(dst, meta)
    return dst


#: Input rows that share one scale per output column when :func:`store_weights_int8` rounds a weight.
WEIGHT_BLOCK = 32


def store_weights_int8(path: Path, nodes: Sequence[str], *, block: int = WEIGHT_BLOCK) -> Path:
    """Store the FP32 weight of each MatMul in ``nodes`` as INT8, in place; the compute stays FP32.

    Why: every quantizer here keeps the FFN down-projections FP32 (:func:`ffn_down_projections`),
    and in the 12-layer teacher those weights are 28 MB of a 50 MB file. Stored as INT8 blocks
    behind Cast, Mul and Reshape, they are folded back into one FP32 tensor by onnxruntime's
    constant folding when a session loads, so serving computes exactly as before with weights
    rounded. One scale per ``block`` input rows of each output column (not one per column, as
    session 26's r15w did) keeps a large weight from coarsening the rest of its column.
    """
    if block < 1:
        raise ValueError(f"The 'block' parameter of store_weights_int8 must be >= 1; got {block!r} instead.")
    path = Path(path)
    model = onnx.load(str(path))
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    by_name = {node.name: node for node in graph.node}
    added_nodes: list[onnx.NodeProto] = []
    stored: set[str] = set()
    for name in nodes:
        node = by_name.get(name)
        if node is None or node.op_type != "MatMul" or node.input[1] not in initializers:
            raise ValueError(f"{path}: {name!r} is not a MatMul with a stored weight.")
        weight_name = node.input[1]
        if weight_name in stored:  # a node named twice, or a weight two MatMuls share
            continue
        stored.add(weight_name)
        weight = numpy_helper.to_array(initializers[weight_name]).astype(np.float32)
        if weight.ndim != 2 or weight.shape[0] % block:
            raise ValueError(
                f"{path}: {name!r}'s weight {weight.shape} does not split into blocks of {block} input rows."
            )
        rows, cols = weight.shape
        blocks = weight.reshape(rows // block, block, cols)
        scale = np.abs(blocks).max(axis=1, keepdims=True) / 127.0
        scale[scale == 0] = 1.0
        quantized = np.clip(np.rint(blocks / scale), -127, 127).astype(np.int8)
        graph.initializer.remove(initializers[weight_name])
        graph.initializer.extend(
            [
                numpy_helper.from_array(quantized, f"{weight_name}_int8"),
                numpy_helper.from_array(scale.astype(np.float32), f"{weight_name}_scale"),
                numpy_helper.from_array(np.array([rows, cols], dtype=np.int64), f"{weight_name}_shape"),
            ]
        )
        added_nodes += [
            onnx.helper.make_node(
                "Cast", [f"{weight_name}_int8"], [f"{weight_name}_float"], to=onnx.TensorProto.FLOAT
            ),
            onnx.helper.make_node(
                "Mul", [f"{weight_name}_float", f"{weight_name}_scale"], [f"{weight_name}_blocks"]
            ),
            onnx.helper.make_node(
                "Reshape", [f"{weight_name}_blocks", f"{weight_name}_shape"], [weight_name]
            ),
        ]
    kept = list(graph.node)
    del graph.node[:]
    graph.node.extend(added_nodes + kept)
    meta = {p.key: p.value for p in model.metadata_props}
    if "quantization" in meta:
        meta["quantization"] = meta["quantization"].replace(
            "FFN down-projections FP32",
            f"FFN down-projections FP32 compute, INT8 storage (blocks of {block})",
        )
    _save_with_metadata(model, path, meta)
    return path


def _same_tensor(a: onnx.TensorProto, b: onnx.TensorProto) -> bool:
    return (a.data_type, list(a.dims), a.raw_data) == (b.data_type, list(b.dims), b.raw_data)


#: Offsets in a shared weights file are multiples of this, so onnxruntime can map the tensors from disk.
SHARED_ALIGNMENT = 4096


def share_initializers(paths: Sequence[Path], shared_file: str, *, min_bytes: int = 1 << 20) -> list[str]:
    """Move the initializers every model in ``paths`` holds byte for byte into one file, in place.

    Why: a cascade ships two models that both carry the same quantized word-embedding table (7.3 MB
    over 18,909 pieces in r20: every build trains with the word embeddings frozen), so the release
    held it twice. Each model now points at ``shared_file`` (ONNX external data, beside the models) for
    those tensors; onnxruntime reads the same bytes, so scores do not move. Only tensors of at
    least ``min_bytes`` are moved. Returns their names (none: the files are untouched).
    """
    paths = [Path(p) for p in paths]
    if len(paths) < 2 or len({p.parent.resolve() for p in paths}) != 1:
        raise ValueError(
            f"The 'paths' parameter of share_initializers must name two or more models in one folder; got {paths}."
        )
    if not shared_file or Path(shared_file).name != shared_file:
        raise ValueError(
            f"The 'shared_file' parameter of share_initializers must be a bare file name; got {shared_file!r}."
        )
    models = [onnx.load(str(p)) for p in paths]
    by_name = [{init.name: init for init in model.graph.initializer} for model in models]
    first = by_name[0]
    names = [
        name
        for name, init in first.items()
        if len(init.raw_data) >= min_bytes
        and all(name in other and _same_tensor(init, other[name]) for other in by_name[1:])
    ]
    if not names:
        return []
    placed: dict[str, tuple[int, int]] = {}
    with (paths[0].parent / shared_file).open("wb") as handle:
        for name in names:
            handle.write(b"\0" * (-handle.tell() % SHARED_ALIGNMENT))
            placed[name] = (handle.tell(), len(first[name].raw_data))
            handle.write(first[name].raw_data)
    for path, model, initializers in zip(paths, models, by_name, strict=True):
        for name, (offset, length) in placed.items():
            init = initializers[name]
            onnx.external_data_helper.set_external_data(init, shared_file, offset, length)
            init.data_location = onnx.TensorProto.EXTERNAL
            init.ClearField("raw_data")
        onnx.save(model, str(path))
        onnx.checker.check_model(str(path))  # by path, so the shared file's references are checked too
    return names


#: Hidden values per 4-bit block of a word-embedding row (one float16 scale and minimum each).
EMBEDDING_BLOCK = 32
_QEMBED_TABLES = 5  # word, position, segment, LayerNorm gamma, LayerNorm beta
#: Where QEmbedLayerNormalization's inputs for the five tables start: quantized values, scales, zero points.
_QEMBED_GROUPS = (2, 8, 13)
_QEMBED_MASK = 7


def store_word_embeddings_4bit(path: Path, *, block: int = EMBEDDING_BLOCK) -> Path:
    """Store the word-embedding table in 4 bits per value, in blocks of ``block`` per row, in place.

    Why: the table is 7.3 of a cascade's MB (18,909 pieces x 384, one byte each, one scale for
    the whole table). In 4 bits with a float16 scale and minimum per block of 32 values it is
    4.5 MB, and its error stays small against the values' spread (RMS 7 % of their standard
    deviation, measured on r20's table; the 8-bit table's is 3 %). The fused
    QEmbedLayerNormalization reads only 8-bit tables, so it becomes EmbedLayerNormalization over
    float tables: the other four (position, segment, LayerNorm) stay 8-bit behind
    DequantizeLinear, and the word table is unpacked by Cast, Floor and Mul nodes; onnxruntime's
    constant folding turns both into float32 tables when a session loads, so serving computes as
    before with the word table rounded.
    """
    if block < 2 or block % 2:
        raise ValueError(
            f"The 'block' parameter of store_word_embeddings_4bit must be an even number >= 2; got {block!r}."
        )
    path = Path(path)
    model = onnx.load(str(path))
    graph = model.graph
    fused = [node for node in graph.node if node.op_type == "QEmbedLayerNormalization"]
    if len(fused) != 1:
        raise ValueError(
            f"{path} has {len(fused)} QEmbedLayerNormalization nodes; expected one (an INT8 export)."
        )
    node = fused[0]
    initializers = {init.name: init for init in graph.initializer}
    quantized, scale, zero = (initializers[node.input[first]] for first in _QEMBED_GROUPS)
    word = (
        numpy_helper.to_array(quantized).astype(np.float32) - numpy_helper.to_array(zero).astype(np.float32)
    ) * numpy_helper.to_array(scale).astype(np.float32)
    rows, width = word.shape
    if width % block:
        raise ValueError(f"{path}: the word table's width {width} does not split into blocks of {block}.")
    blocks = word.reshape(rows, width // block, block)
    low = blocks.min(axis=2, keepdims=True).astype(np.float16)
    step = ((blocks.max(axis=2, keepdims=True) - low.astype(np.float32)) / 15).astype(np.float16)
    step[step == 0] = 1
    levels = np.clip(np.rint((blocks - low.astype(np.float32)) / step.astype(np.float32)), 0, 15).astype(
        np.uint8
    )
    levels = levels.reshape(rows, width)
    packed = levels[:, 0::2] | (levels[:, 1::2] << 4)  # even positions in the low nibble
    name = "word_embeddings_4bit"
    used_elsewhere = {n for other in graph.node if other is not node for n in other.input}
    small_tables = {node.input[first + j] for first in _QEMBED_GROUPS for j in range(1, _QEMBED_TABLES)}
    dropped = {node.input[first] for first in _QEMBED_GROUPS} - used_elsewhere - small_tables
    kept = [init for init in graph.initializer if init.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    float_names = [f"{name}_table", *(f"{node.input[2 + j]}_float" for j in range(1, _QEMBED_TABLES))]
    graph.initializer.extend(
        [
            numpy_helper.from_array(packed, f"{name}_packed"),
            numpy_helper.from_array(step, f"{name}_step"),
            numpy_helper.from_array(low, f"{name}_low"),
            numpy_helper.from_array(np.array(16, np.float32), f"{name}_sixteen"),
            numpy_helper.from_array(
                np.array([rows, width // block, block], np.int64), f"{name}_blocks_shape"
            ),
            numpy_helper.from_array(np.array([rows, width], np.int64), f"{name}_shape"),
        ]
    )
    make = onnx.helper.make_node
    unpack = [
        make("Cast", [f"{name}_packed"], [f"{name}_bytes"], to=onnx.TensorProto.FLOAT),
        make("Div", [f"{name}_bytes", f"{name}_sixteen"], [f"{name}_div"]),
        make("Floor", [f"{name}_div"], [f"{name}_odd"]),
        make("Mul", [f"{name}_odd", f"{name}_sixteen"], [f"{name}_odd16"]),
        make("Sub", [f"{name}_bytes", f"{name}_odd16"], [f"{name}_even"]),
        make("Unsqueeze", [f"{name}_even", f"{name}_axis"], [f"{name}_even3"]),
        make("Unsqueeze", [f"{name}_odd", f"{name}_axis"], [f"{name}_odd3"]),
        make("Concat", [f"{name}_even3", f"{name}_odd3"], [f"{name}_pairs"], axis=2),
        make("Reshape", [f"{name}_pairs", f"{name}_blocks_shape"], [f"{name}_levels"]),
        make("Cast", [f"{name}_step"], [f"{name}_step32"], to=onnx.TensorProto.FLOAT),
        make("Cast", [f"{name}_low"], [f"{name}_low32"], to=onnx.TensorProto.FLOAT),
        make("Mul", [f"{name}_levels", f"{name}_step32"], [f"{name}_scaled"]),
        make("Add", [f"{name}_scaled", f"{name}_low32"], [f"{name}_values"]),
        make("Reshape", [f"{name}_values", f"{name}_shape"], [float_names[0]]),
    ] + [  # the four small tables stay 8-bit, dequantized as the fused node did
        make("DequantizeLinear", [node.input[first + j] for first in _QEMBED_GROUPS], [float_names[j]])
        for j in range(1, _QEMBED_TABLES)
    ]
    graph.initializer.append(numpy_helper.from_array(np.array([2], np.int64), f"{name}_axis"))
    embed = make(
        "EmbedLayerNormalization",
        [node.input[0], node.input[1], *float_names, node.input[_QEMBED_MASK]],
        list(node.output),
        name=node.name.replace("_quant", ""),
        domain="com.microsoft",
        epsilon=next(a.f for a in node.attribute if a.name == "epsilon"),
    )
    nodes = list(graph.node)
    at = nodes.index(node)
    del graph.node[:]
    graph.node.extend(unpack + nodes[:at] + [embed] + nodes[at + 1 :])
    meta = {p.key: p.value for p in model.metadata_props}
    meta["word_embeddings"] = f"4-bit, blocks of {block} with a float16 scale and minimum"
    _save_with_metadata(model, path, meta)
    return path


def static_quantized_nodes(path: Path) -> list[str]:
    """The nodes static INT8 rounds: the word-embedding Gather and the projection MatMuls, less two kinds.

    Left in FP32: the attention-score MatMuls (both inputs are activations, whose fixed scales
    would have to cover every query/key product seen in calibration) and the FFN
    down-projections, which read GELU's long-tailed output (the same choice as dynamic INT8's,
    :func:`ffn_down_projections`). Found by shape, as the unfused export has no Gelu node: a
    down-projection's weight is taller (intermediate size) than wide (hidden size).
    """
    graph = onnx.load(str(path), load_external_data=False).graph
    weights = {init.name: tuple(init.dims) for init in graph.initializer}
    names = []
    for node in graph.node:
        if node.op_type not in ("MatMul", "Gather"):
            continue
        shape = weights.get(node.input[1] if node.op_type == "MatMul" else node.input[0], ())
        projection = node.op_type == "MatMul" and len(shape) == 2 and shape[0] <= shape[1]
        embedding = node.op_type == "Gather" and len(shape) == 2 and "word_embeddings" in node.name
        if projection or embedding:
            names.append(node.name)
    return names


@contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """Mute onnxruntime's quantizer for one call.

    It warns (root logger) on every call that the model was not pre-processed: the unfused graph
    is what static and per-token INT8 should see (fused Attention hides the projections).
    """
    ort.set_default_logger_severity(3)
    muted = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(muted)
        ort.set_default_logger_severity(2)


class _Batches(CalibrationDataReader):
    """Hands onnxruntime's calibrator the calibration batches one at a time."""

    def __init__(self, batches: list[dict[str, np.ndarray]]) -> None:
        self._batches = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def quantize_int8_static(src: Path, dst: Path, calibration: Iterable[Mapping[str, np.ndarray]]) -> Path:
    """Static INT8 of ``src`` into ``dst``: activation scales fixed from the ``calibration`` batches.

    Dynamic INT8 scales each MatMul's input over the whole call, so a post's rounding (and on
    r13 up to 2.2 logits of its score) depends on its batch-mates and padding; with fixed
    scales a post scores the same alone or in any batch. QDQ format, per-channel symmetric
    INT8 weights, asymmetric UINT8 activations, min/max calibration on the unfused graph
    (onnxruntime fuses the Q/DQ pairs into integer kernels when the session loads).
    ``calibration`` yields ``{"input_ids", "attention_mask"}`` int64 batches of real posts.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    src, dst = _exported(src), Path(dst)
    batches = []
    for batch in calibration:
        missing = [name for name in INPUT_NAMES if name not in batch]
        if missing:
            raise ValueError(
                f"The 'calibration' parameter of quantize_int8_static must yield batches with {', '.join(INPUT_NAMES)};"
                f" batch {len(batches)} lacks {', '.join(missing)}."
            )
        batches.append({name: np.asarray(batch[name], dtype=np.int64) for name in INPUT_NAMES})
    if not batches:
        raise ValueError("The 'calibration' parameter of quantize_int8_static must yield at least one batch.")
    dst.parent.mkdir(parents=True, exist_ok=True)
    meta = _metadata(src)
    nodes = static_quantized_nodes(src)
    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        # The calibrator writes its augmented copy beside the model it reads: keep it in tmp.
        source = Path(tmp) / "source.onnx"
        shutil.copyfile(src, source)
        with _quiet_quantizer():
            quantize_static(
                str(source),
                str(dst),
                _Batches(batches),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=["MatMul", "Gather"],
                nodes_to_quantize=nodes,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
                extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
            )
    meta["quantization"] = (
        f"static QInt8 per-channel weights, QUInt8 activations (min/max over {sum(len(b['input_ids']) for b in batches)}"
        " calibration posts); attention scores and FFN down-projections FP32"
    )
    _write_metadata(dst, meta)
    return dst


#: Largest integer a per-token INT8 weight takes: 7 bits, as dynamic INT8's ``reduce_range``, so
#: integer kernels without VNNI cannot saturate their 16-bit partial sums.
PER_TOKEN_WEIGHT_MAX = 63


def quantize_int8_per_token(src: Path, dst: Path) -> Path:
    """Per-token INT8 of ``src`` into ``dst``: every token row of a projection's input gets its own scale.

    Dynamic INT8 scales each MatMul's input over the whole call, so a post's score depends on
    its batch-mates and padding (r13: up to 2.2 logits); static INT8 fixes the scales but is
    coarser and runs slower. Here each token's activations are divided by their own absolute
    maximum (symmetric INT8), so no post shares a scale with another, and the rounding is finer
    than one scale over the call: a row without outlier channels keeps its resolution. The
    projections become ``MatMulInteger`` on per-channel INT8 weights; attention scores and FFN
    down-projections stay FP32 (the nodes :func:`static_quantized_nodes` picks), the embedding
    tables INT8 (weights only). Plain ONNX ops only, no calibration.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src, dst = _exported(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    meta = _metadata(src)
    projections = {name for name in static_quantized_nodes(src) if "word_embeddings" not in name}
    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        # Embedding lookups: weight-only INT8 (a Gather has no activation to scale).
        embedded = Path(tmp) / "embeddings_int8.onnx"
        with _quiet_quantizer():
            quantize_dynamic(
                str(src), str(embedded), op_types_to_quantize=["Gather"], weight_type=QuantType.QInt8
            )
        model = onnx.load(str(embedded))
    _rewrite_per_token(model.graph, projections)
    onnx.save(model, str(dst))
    meta["quantization"] = (
        f"per-token INT8: per-channel weights (±{PER_TOKEN_WEIGHT_MAX}), each token's activations scaled by"
        " their own absolute maximum; attention scores and FFN down-projections FP32; embeddings INT8"
    )
    _write_metadata(dst, meta)
    return dst


def _rewrite_per_token(graph: onnx.GraphProto, projections: set[str]) -> None:
    """Replace each MatMul named in ``projections`` by its per-token integer form, in place.

    ``Y = Cast(MatMulInteger(round(A / s) + 128, Wq, 128)) * w_scale * s`` with ``s`` = each
    row's ``max|A| / 127``: symmetric per row, stored as UINT8 around one zero point of 128,
    because onnxruntime's UINT8 x INT8 kernel is the fast one (INT8 x INT8 ran 11x slower on
    the 2-core machine) and it takes no per-row zero points.

    The two scales multiply the output one after the other on purpose: onnxruntime fuses
    ``Cast -> Mul(a_scale * b_scale)`` into MatMulIntegerToFloat, whose kernel reads a per-row
    ``a_scale`` as one number (its scalar-only guard, onnxruntime PR 6008, was reverted in PR
    6169); fused that way, r21tr's student scored 1.2 logits off FP32 on average. Inputs read by
    several projections (query, key, value) are quantized once.
    """
    from onnx import TensorProto, helper

    weights = {init.name: init for init in graph.initializer}
    constants = [
        numpy_helper.from_array(np.array(1 / 127, dtype=np.float32), "per_token/inv127"),
        numpy_helper.from_array(np.array(1e-12, dtype=np.float32), "per_token/tiny"),
        numpy_helper.from_array(np.array(128, dtype=np.float32), "per_token/offset"),
        numpy_helper.from_array(np.array(128, dtype=np.uint8), "per_token/zero_point"),
    ]
    quantized: dict[str, tuple[str, str]] = {}
    nodes = []
    for node in graph.node:
        if node.name not in projections:
            nodes.append(node)
            continue
        source, weight = node.input[0], weights[node.input[1]]
        if source not in quantized:
            p = f"per_token/{len(quantized)}"
            nodes += [
                helper.make_node("Abs", [source], [f"{p}/abs"], name=f"{p}/Abs"),
                helper.make_node(
                    "ReduceMax", [f"{p}/abs"], [f"{p}/absmax"], name=f"{p}/ReduceMax", axes=[-1]
                ),
                helper.make_node(
                    "Mul", [f"{p}/absmax", "per_token/inv127"], [f"{p}/raw_scale"], name=f"{p}/Step"
                ),
                helper.make_node(
                    "Max", [f"{p}/raw_scale", "per_token/tiny"], [f"{p}/scale"], name=f"{p}/Floor"
                ),
                helper.make_node("Div", [source, f"{p}/scale"], [f"{p}/scaled"], name=f"{p}/Div"),
                helper.make_node("Round", [f"{p}/scaled"], [f"{p}/rounded"], name=f"{p}/Round"),
                helper.make_node(
                    "Add", [f"{p}/rounded", "per_token/offset"], [f"{p}/shifted"], name=f"{p}/Shift"
                ),
                helper.make_node(
                    "Cast", [f"{p}/shifted"], [f"{p}/uint8"], name=f"{p}/Cast", to=TensorProto.UINT8
                ),
            ]
            quantized[source] = (f"{p}/uint8", f"{p}/scale")
        source_uint8, source_scale = quantized[source]
        w = numpy_helper.to_array(weight).astype(np.float32)
        w_scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / PER_TOKEN_WEIGHT_MAX
        w_int8 = np.round(w / w_scale).astype(np.int8)
        q = f"{node.name}/per_token"
        constants += [
            numpy_helper.from_array(w_int8, f"{q}/weight_int8"),
            numpy_helper.from_array(w_scale.astype(np.float32), f"{q}/weight_scale"),
        ]
        nodes += [
            helper.make_node(
                "MatMulInteger",
                [source_uint8, f"{q}/weight_int8", "per_token/zero_point"],
                [f"{q}/int32"],
                name=f"{q}/MatMul",
            ),
            helper.make_node("Cast", [f"{q}/int32"], [f"{q}/float"], name=f"{q}/Cast", to=TensorProto.FLOAT),
            helper.make_node(
                "Mul", [f"{q}/float", f"{q}/weight_scale"], [f"{q}/channels"], name=f"{q}/Channels"
            ),
            helper.make_node("Mul", [f"{q}/channels", source_scale], [node.output[0]], name=f"{q}/Tokens"),
        ]
    replaced = {n.input[1] for n in graph.node if n.name in projections}
    still_read = {i for n in nodes for i in n.input}
    kept = [init for init in graph.initializer if init.name not in replaced or init.name in still_read]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + constants)


def _exported(src: Path) -> Path:
    """``src`` as a Path, refused unless it exists: every quantizer starts from :func:`export_onnx`'s file."""
    src = Path(src)
    if not src.is_file():
        raise FileNotFoundError(f"{src} is missing; export the model with export_onnx first.")
    return src


def _write_metadata(path: Path, meta: dict[str, str]) -> None:
    """Replace ``path``'s metadata with ``meta`` (sorted), check the graph and save it."""
    _save_with_metadata(onnx.load(str(path)), path, meta)


def _save_with_metadata(model: onnx.ModelProto, path: Path, meta: dict[str, str]) -> None:
    """Replace ``model``'s metadata with ``meta`` (sorted), check the graph and save it to ``path``."""
    del model.metadata_props[:]
    for key, value in sorted(meta.items()):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _metadata(path: Path) -> dict[str, str]:
    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


def _attention_shape(path: Path) -> tuple[int, int]:
    """Heads and hidden size, from the metadata :func:`export_onnx` writes into the graph."""
    meta = _metadata(path)
    if "num_attention_heads" not in meta or "hidden_size" not in meta:
        raise ValueError(
            f"{path} lacks the num_attention_heads/hidden_size metadata; export it with export_onnx."
        )
    return int(meta["num_attention_heads"]), int(meta["hidden_size"])
