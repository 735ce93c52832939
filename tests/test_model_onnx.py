"""ONNX export and the two classifier backends: one contract suite, fp32 parity, INT8 parity.

A 2-layer student keeps these tests fast; the 12/6/4-layer latency figures are in the
benchmark at the end (``pytest -m benchmark -s tests/test_model_onnx.py``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper

from model.encoder_weights import build_e5_encoder
from model.labels import LABELS
from model.onnx_classifier import OnnxTextClassifier
from model.onnx_export import (
    export_onnx,
    ffn_down_projections,
    optimize_bert,
    quantize_int8,
    quantize_int8_per_token,
    quantize_int8_static,
    share_initializers,
    static_quantized_nodes,
    store_weights_int8,
    store_word_embeddings_4bit,
)
from model.text_classifier import TextClassifierModule, TorchTextClassifier, student_from_teacher
from model.tokenizer import PostTokenizer
from model.vocab import select_vocab

POSTS = [
    "招代理，月入过万，门槛低，团队带你飞🔥🔥 有意者私我",
    "宝妈在家也能做，一部手机就能赚钱，时间自由，诚招合伙人",
    "想改变现状的姐妹看过来，零投资零风险，手把手带你做",
    "团队又进来三位新伙伴，欢迎加入我们这个大家庭💪",
    "新茶上市，明前碧螺春，量大从优，需要的私聊",
    "正品保证 假一赔十 ✅✅ 原价399现在只要199，包邮到家",
    "限时秒杀！买二送一，今晚十二点截止，手慢无",
    "面膜补货到了，敏感肌也能用，要的扣1",
    "晒单：客户又回购了，好评如潮👍 收款截图已经放不下",
    "今天又爆单了，打包到手抽筋，感谢大家的信任",
    "看看姐妹们的反馈，用了一周皮肤真的变好了",
    "这个月的提成到账了，跟着团队干就对了",
    "今天天气真好 😊 带孩子去公园散步",
    "周末和朋友吃火锅，太开心了",
    "终于把论文交了，今晚好好睡一觉",
    "妈妈做的红烧肉还是小时候的味道",
    "年终奖到账，给自己买了个新手机犒劳一下",
    "加班到十点，地铁上人还是好多",
    "女儿今天第一次学会骑自行车，骄傲！",
    "推荐一本书，最近看完的《活着》，很受触动",
    "Happy birthday to my best friend 🎂🎉",
    "ＶＸ：ａｂｃ１２３ 私我了解详情",
    "賺錢的機會來了，門檻低，誠招代理",
    "加 薇 信 了 解 更 多",
    "月入过✖万不是梦，宝妈学生党都可以",
    "小区楼下新开了一家面包店，味道不错",
    "下雨天适合在家看电影",
    "我们的产品已经帮助上千位顾客，效果看得见",
    "今天去医院复查，一切正常，放心了",
    "年会抽中了一等奖，运气爆棚",
    "有没有人一起去爬山？周六早上出发",
    "代理价格私聊，一件代发，无需囤货",
]


@pytest.fixture(scope="module")
def tokenizer_and_keep() -> tuple[PostTokenizer, np.ndarray]:
    base = PostTokenizer.base()
    keep = select_vocab(POSTS, base, cjk_single_chars=False)
    return base.pruned(keep), keep


@pytest.fixture(scope="module")
def student(tokenizer_and_keep) -> TextClassifierModule:
    """A 2-layer student with a head scaled up so scores spread away from 0.5 (like a trained model)."""
    _, keep = tokenizer_and_keep
    torch.manual_seed(0)
    teacher = TextClassifierModule(build_e5_encoder(keep))
    module = student_from_teacher(teacher, [0, 11]).eval()
    with torch.no_grad():
        module.head.weight.mul_(25.0)
    return module


@pytest.fixture(scope="module")
def onnx_paths(student, tmp_path_factory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("onnx")
    fp32 = export_onnx(student, directory / "model.onnx")
    int8 = quantize_int8(fp32, directory / "model.int8.onnx")
    return fp32, int8


@pytest.fixture(scope="module")
def static_path(onnx_paths, tokenizer_and_keep) -> Path:
    """Static INT8 calibrated on the posts themselves, in length buckets of 8 as the build does."""
    tok, _ = tokenizer_and_keep
    calibration = [batch for _, batch in tok.encode_bucketed(POSTS, 64, 8)]
    return quantize_int8_static(onnx_paths[0], onnx_paths[0].with_name("model.static.onnx"), calibration)


@pytest.fixture(scope="module")
def per_token_path(onnx_paths) -> Path:
    return quantize_int8_per_token(onnx_paths[0], onnx_paths[0].with_name("model.per_token.onnx"))


@pytest.fixture(scope="module", params=["torch", "onnx-fp32", "onnx-int8", "onnx-static", "onnx-per-token"])
def classifier(request, student, tokenizer_and_keep, onnx_paths, static_path, per_token_path):
    tok, _ = tokenizer_and_keep
    if request.param == "torch":
        return TorchTextClassifier(student, tok, max_length=64, batch_size=8)
    path = {
        "onnx-fp32": onnx_paths[0],
        "onnx-int8": onnx_paths[1],
        "onnx-static": static_path,
        "onnx-per-token": per_token_path,
    }[request.param]
    return OnnxTextClassifier(path, tok, max_length=64, batch_size=8, intra_op_threads=1)


def classifier_kind(classifier) -> str:
    if isinstance(classifier, TorchTextClassifier):
        return "torch"
    name = classifier.onnx_path.name
    return next((kind for kind in ("int8", "static", "per_token") if kind in name), "fp32")


# ---------------------------------------------------------------- one contract, every backend
def test_predict_proba_shape_range_and_order(classifier):
    probs = classifier.predict_proba(POSTS)
    assert probs.shape == (len(POSTS), len(LABELS)) and probs.dtype == np.float32
    assert ((probs >= 0) & (probs <= 1)).all()
    # Bucketing sorts by length internally; results must come back in input order. Dynamic INT8
    # quantizes activations per batch, so its scores move a little with the batch's company;
    # static INT8's fixed scales and per-token INT8's own scales do not.
    atol = 0.1 if classifier_kind(classifier) == "int8" else 1e-4
    one_by_one = np.vstack([classifier.predict_proba([p]) for p in POSTS[:6]])
    np.testing.assert_allclose(probs[:6], one_by_one, atol=atol)
    reversed_probs = classifier.predict_proba(POSTS[::-1])
    np.testing.assert_allclose(reversed_probs[::-1], probs, atol=atol)
    assert np.abs(probs[:-1] - probs[1:]).max() > 0.1  # different posts really get different scores


def test_empty_input_gives_empty_matrix(classifier):
    assert classifier.predict_proba([]).shape == (0, len(LABELS))


@pytest.mark.parametrize("bad", ["一条帖子", ["ok", None], None])
def test_bad_texts_raise_value_error(classifier, bad):
    with pytest.raises(ValueError, match="'texts' parameter"):
        classifier.predict_proba(bad)


# ---------------------------------------------------------------- export parity
def test_onnx_fp32_matches_torch_logits(student, tokenizer_and_keep, onnx_paths):
    tok, _ = tokenizer_and_keep
    torch_logits = TorchTextClassifier(student, tok, max_length=64).logits(POSTS)
    onnx_logits = OnnxTextClassifier(onnx_paths[0], tok, max_length=64).logits(POSTS)
    assert np.abs(onnx_logits - torch_logits).max() < 1e-4


def test_fused_fp32_graph_matches_torch(student, tokenizer_and_keep, onnx_paths, tmp_path):
    """The attention rewrite + onnxruntime fusion is exact: every layer fused, logits unchanged."""
    tok, _ = tokenizer_and_keep
    fused = optimize_bert(onnx_paths[0], tmp_path / "fused.onnx", num_heads=12, hidden_size=384)
    meta = {p.key: p.value for p in onnx.load(str(fused)).metadata_props}
    assert meta["fused_attention"] == "2"
    torch_logits = TorchTextClassifier(student, tok, max_length=64).logits(POSTS)
    fused_logits = OnnxTextClassifier(fused, tok, max_length=64).logits(POSTS)
    assert np.abs(fused_logits - torch_logits).max() < 1e-4


def test_onnx_graph_has_dynamic_axes_and_metadata(onnx_paths):
    model = onnx.load(str(onnx_paths[0]))
    inputs = {
        i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input
    }
    assert inputs == {"input_ids": ["batch", "sequence"], "attention_mask": ["batch", "sequence"]}
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["labels"] == ",".join(LABELS) and meta["num_hidden_layers"] == "2"


def test_int8_is_smaller_and_agrees_with_fp32(student, tokenizer_and_keep, onnx_paths):
    fp32, int8 = onnx_paths
    # Every weight is INT8 except the FFN down-projections (one per layer), kept FP32 on purpose.
    assert int8.stat().st_size < 0.5 * fp32.stat().st_size
    model = onnx.load(str(int8))
    ops = [n.op_type for n in model.graph.node]
    assert {"MatMulInteger", "QAttention"} <= set(ops)
    assert len(ffn_down_projections(int8)) == ops.count("MatMul") == 2  # the only float MatMuls
    meta = {p.key: p.value for p in model.metadata_props}
    assert (
        meta["fused_attention"] == "2"
        and meta["vocab_size"]
        and meta["quantization"] == "dynamic QInt8 per-channel; FFN down-projections FP32"
    )
    tok, _ = tokenizer_and_keep
    ref = TorchTextClassifier(student, tok, max_length=64).predict_proba(POSTS)
    got = OnnxTextClassifier(int8, tok, max_length=64).predict_proba(POSTS)
    agreement = float(((ref >= 0.5) == (got >= 0.5)).mean())
    max_diff = float(np.abs(ref - got).max())
    print(f"\nINT8 vs torch on {len(POSTS)} posts: agreement at 0.5 {agreement:.3f}, max |Δp| {max_diff:.4f}")
    # A random head scaled x25 amplifies quantization error; trained heads are checked by train/eval.
    assert agreement >= 0.95
    assert max_diff < 0.15


def test_onnx_classifier_rejects_mismatched_tokenizer(onnx_paths):
    with pytest.raises(ValueError, match="'tokenizer' parameter of OnnxTextClassifier"):
        OnnxTextClassifier(onnx_paths[0], PostTokenizer.base())


def test_static_int8_rounds_projections_alone_and_scores_a_post_the_same_in_any_batch(
    student, tokenizer_and_keep, onnx_paths, static_path
):
    """Static INT8: per layer q/k/v/attention-output/FFN-up plus the word embeddings are INT8; a post's
    scores alone, in the full batch and beside other posts are equal (dynamic INT8's are not)."""
    fp32, dynamic = onnx_paths
    names = static_quantized_nodes(fp32)
    assert len(names) == 2 * 5 + 1 and sum("word_embeddings" in n for n in names) == 1
    assert not any("/output/dense/" in n and "/attention/" not in n for n in names)  # FFN down stays FP32
    assert static_path.stat().st_size < 0.5 * fp32.stat().st_size
    model = onnx.load(str(static_path))
    meta = {p.key: p.value for p in model.metadata_props}
    assert (
        meta["quantization"].startswith("static QInt8 per-channel weights")
        and "32 calibration posts" in (meta["quantization"])
    )
    assert meta["num_hidden_layers"] == "2"  # the export's metadata is kept
    assert sum(n.op_type == "DequantizeLinear" for n in model.graph.node) >= len(names)
    tok, _ = tokenizer_and_keep
    gaps = {}
    for kind, path in (("static", static_path), ("dynamic", dynamic)):
        clf = OnnxTextClassifier(path, tok, max_length=64, batch_size=32, intra_op_threads=1)
        together = clf.logits(POSTS)
        alone = np.vstack([clf.logits([p]) for p in POSTS])
        gaps[kind] = float(np.abs(together - alone).max())
    print(f"\none call vs one post per call, largest logit gap: {gaps}")
    assert gaps["static"] < 1e-4 < gaps["dynamic"]
    ref = TorchTextClassifier(student, tok, max_length=64).predict_proba(POSTS)
    got = OnnxTextClassifier(static_path, tok, max_length=64).predict_proba(POSTS)
    assert float(((ref >= 0.5) == (got >= 0.5)).mean()) >= 0.95


def test_static_int8_refuses_a_missing_model_and_no_calibration(onnx_paths, tmp_path):
    with pytest.raises(FileNotFoundError, match="export the model with export_onnx first"):
        quantize_int8_static(tmp_path / "missing.onnx", tmp_path / "y.onnx", [])
    with pytest.raises(ValueError, match="'calibration' parameter of quantize_int8_static"):
        quantize_int8_static(onnx_paths[0], tmp_path / "y.onnx", [])
    with pytest.raises(ValueError, match="batch 0 lacks attention_mask"):
        quantize_int8_static(
            onnx_paths[0], tmp_path / "y.onnx", [{"input_ids": np.zeros((1, 4), dtype=np.int64)}]
        )
    assert not (tmp_path / "y.onnx").exists()


def test_per_token_int8_scores_a_post_the_same_in_any_batch_and_nearer_fp32_than_dynamic(
    tokenizer_and_keep, onnx_paths, per_token_path
):
    """Per-token INT8: the projections static INT8 picks become MatMulInteger (q/k/v share one
    quantized input); a post scores the same alone or in any batch, and its logits sit closer to
    FP32's than dynamic INT8's do."""
    fp32, dynamic = onnx_paths
    model = onnx.load(str(per_token_path))
    ops = [n.op_type for n in model.graph.node]
    projections = [n for n in static_quantized_nodes(fp32) if "word_embeddings" not in n]
    assert ops.count("MatMulInteger") == len(projections) == 2 * 5
    assert ops.count("ReduceMax") == 2 * 3  # per layer: the q/k/v input, attention output, FFN up input
    assert "MatMul" in ops  # attention scores and FFN down-projections stay FP32
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["quantization"].startswith("per-token INT8") and meta["num_hidden_layers"] == "2"
    assert per_token_path.stat().st_size < 0.5 * fp32.stat().st_size
    tok, _ = tokenizer_and_keep
    reference = OnnxTextClassifier(fp32, tok, max_length=64, batch_size=32, intra_op_threads=1).logits(POSTS)
    gaps, off_fp32 = {}, {}
    for kind, path in (("per-token", per_token_path), ("dynamic", dynamic)):
        clf = OnnxTextClassifier(path, tok, max_length=64, batch_size=32, intra_op_threads=1)
        together = clf.logits(POSTS)
        alone = np.vstack([clf.logits([p]) for p in POSTS])
        gaps[kind] = float(np.abs(together - alone).max())
        off_fp32[kind] = float(np.abs(together - reference).mean())
    print(f"\none call vs one post per call, largest logit gap: {gaps}; mean gap to FP32: {off_fp32}")
    assert gaps["per-token"] < 1e-4 < gaps["dynamic"]
    assert off_fp32["per-token"] < off_fp32["dynamic"]


def test_per_token_int8_refuses_a_missing_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="export the model with export_onnx first"):
        quantize_int8_per_token(tmp_path / "missing.onnx", tmp_path / "y.onnx")
    assert not (tmp_path / "y.onnx").exists()


def test_int8_weight_storage_shrinks_the_file_and_onnxruntime_folds_it_back_to_fp32(
    student, tokenizer_and_keep, onnx_paths, tmp_path
):
    int8 = onnx_paths[1]
    stored = tmp_path / "model.stored.onnx"
    stored.write_bytes(int8.read_bytes())
    down = ffn_down_projections(stored)
    before = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(int8)).graph.initializer}
    weights = {n.name: n.input[1] for n in onnx.load(str(int8)).graph.node if n.name in down}
    store_weights_int8(stored, down + down[:1])  # a node named twice is stored once
    # Two 1536x384 FP32 matrices become INT8 plus one scale per 32 rows: about 3/4 of them saved.
    saved = int8.stat().st_size - stored.stat().st_size
    assert saved > 0.7 * sum(before[w].nbytes for w in weights.values())
    model = onnx.load(str(stored))
    kept = {i.name for i in model.graph.initializer}
    assert not kept & set(weights.values()) and ffn_down_projections(stored) == down
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["quantization"].endswith("FFN down-projections FP32 compute, INT8 storage (blocks of 32)")
    # onnxruntime folds Cast -> Mul -> Reshape into one FP32 initializer per projection when it loads.
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(tmp_path / "folded.onnx")
    ort.InferenceSession(str(stored), options, providers=["CPUExecutionProvider"])
    folded = onnx.load(str(tmp_path / "folded.onnx"))
    assert not [n for n in folded.graph.node if any(i.endswith("_int8") for i in n.input)]
    folded_weights = {i.name: numpy_helper.to_array(i) for i in folded.graph.initializer}
    for weight in weights.values():
        original, rounded = before[weight], folded_weights[weight]
        blocks = np.abs(original).reshape(-1, 32, original.shape[1]).max(axis=1)
        step = np.repeat(blocks, 32, axis=0) / 127
        assert rounded.shape == original.shape and rounded.dtype == np.float32
        assert np.all(np.abs(rounded - original) <= step / 2 + 1e-7)  # rounded to its own block's step
        assert not np.array_equal(rounded, original)
    tok, _ = tokenizer_and_keep
    ref = OnnxTextClassifier(int8, tok, max_length=64).predict_proba(POSTS)
    got = OnnxTextClassifier(stored, tok, max_length=64).predict_proba(POSTS)
    assert float(((ref >= 0.5) == (got >= 0.5)).mean()) >= 0.95 and float(np.abs(ref - got).max()) < 0.15


def test_int8_weight_storage_refuses_what_it_cannot_round(onnx_paths, tmp_path):
    stored = tmp_path / "model.onnx"
    stored.write_bytes(onnx_paths[1].read_bytes())
    down = ffn_down_projections(stored)
    with pytest.raises(ValueError, match="'block' parameter of store_weights_int8 must be >= 1"):
        store_weights_int8(stored, down, block=0)
    with pytest.raises(ValueError, match="does not split into blocks of 7 input rows"):
        store_weights_int8(stored, down, block=7)
    attention = next(n.name for n in onnx.load(str(stored)).graph.node if n.op_type == "QAttention")
    with pytest.raises(ValueError, match="is not a MatMul with a stored weight"):
        store_weights_int8(stored, [attention])
    assert stored.read_bytes() == onnx_paths[1].read_bytes()  # a refusal leaves the file as it was


def test_a_4bit_word_table_is_smaller_folds_back_to_its_rounded_values_and_scores_nearly_the_same(
    tokenizer_and_keep, onnx_paths, tmp_path
):
    int8 = onnx_paths[1]
    stored = tmp_path / "model.4bit.onnx"
    stored.write_bytes(int8.read_bytes())
    fused = next(n for n in onnx.load(str(int8)).graph.node if n.op_type == "QEmbedLayerNormalization")
    before = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(int8)).graph.initializer}
    table = (before[fused.input[2]].astype(np.float32) - float(before[fused.input[13]])) * float(
        before[fused.input[8]]
    )
    store_word_embeddings_4bit(stored)
    model = onnx.load(str(stored))
    assert [n.op_type for n in model.graph.node].count("EmbedLayerNormalization") == 1
    assert "QEmbedLayerNormalization" not in {n.op_type for n in model.graph.node}
    assert int8.stat().st_size - stored.stat().st_size > 0.3 * table.size  # 1 byte per value -> 1/2 + scales
    assert {p.key: p.value for p in model.metadata_props}["word_embeddings"].startswith("4-bit, blocks of 32")
    # onnxruntime folds the unpacking into one float32 table, each value within half its block's step.
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(tmp_path / "folded.onnx")
    ort.InferenceSession(str(stored), options, providers=["CPUExecutionProvider"])
    folded = onnx.load(str(tmp_path / "folded.onnx"))
    embed = next(n for n in folded.graph.node if n.op_type == "EmbedLayerNormalization")
    rounded = numpy_helper.to_array(next(i for i in folded.graph.initializer if i.name == embed.input[2]))
    blocks = table.reshape(table.shape[0], -1, 32)
    step = np.repeat((blocks.max(axis=2) - blocks.min(axis=2)) / 15, 32, axis=1)
    assert rounded.shape == table.shape and np.all(
        np.abs(rounded - table) <= step / 2 + 2e-3 * np.abs(table) + 1e-6
    )
    assert not np.array_equal(rounded, table)
    tok, _ = tokenizer_and_keep
    ref = OnnxTextClassifier(int8, tok, max_length=64).predict_proba(POSTS)
    got = OnnxTextClassifier(stored, tok, max_length=64).predict_proba(POSTS)
    assert float(((ref >= 0.5) == (got >= 0.5)).mean()) >= 0.9 and float(np.abs(ref - got).max()) < 0.2
    with pytest.raises(ValueError, match="has 0 QEmbedLayerNormalization nodes"):
        store_word_embeddings_4bit(stored)  # already 4-bit
    with pytest.raises(
        ValueError, match="'block' parameter of store_word_embeddings_4bit must be an even number"
    ):
        store_word_embeddings_4bit(stored, block=3)


def test_export_and_quantize_reject_bad_input(student, tmp_path):
    with pytest.raises(ValueError, match="'module' parameter of export_onnx"):
        export_onnx(torch.nn.Linear(2, 2), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="'opset' parameter"):
        export_onnx(student, tmp_path / "x.onnx", opset=9)
    with pytest.raises(ValueError, match="'weight_type' parameter"):
        quantize_int8(tmp_path / "x.onnx", tmp_path / "y.onnx", weight_type="int4")
    with pytest.raises(FileNotFoundError):
        quantize_int8(tmp_path / "missing.onnx", tmp_path / "y.onnx")


# ---------------------------------------------------------------- measurements (opt in)
DATASET = Path(
    os.environ.get(
        "FEEDGUARD_BENCH_DATASET", Path(__file__).resolve().parent.parent / "var/data/default/dataset"
    )
)


def _bench_texts() -> tuple[list[str], list[str]]:
    """(corpus for the vocabulary, posts to time): the built dataset when present, else POSTS."""
    if (DATASET / "dataset_dict.json").is_file():
        from datasets import load_from_disk

        data = load_from_disk(str(DATASET))
        return list(data["train"]["text"]), list(data["test"]["text"][:512])
    return POSTS, POSTS * 16


def _median_ms(run, repeats: int) -> tuple[float, float]:
    """Median (wall ms, CPU ms) of ``run``. With one thread, CPU time is what an idle core would
    take, and stays meaningful when other jobs share the machine (wall time does not)."""
    run()
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return float(np.median(wall)) * 1000, float(np.median(cpu)) * 1000


@pytest.mark.benchmark
def test_latency_by_depth(tmp_path):
    """Single-thread latency of torch fp32 / onnx fp32 (fused) / onnx INT8 at 12, 6, 4 layers, pruned vocab.

    Run: ``.venv/bin/pytest -m benchmark -s tests/test_model_onnx.py -k latency``. Random-init head
    (speed does not depend on the weights' values). Figures are CPU ms on one thread; wall ms are
    printed too and match them only on an otherwise idle machine.
    """
    torch.set_num_threads(1)
    corpus, posts = _bench_texts()
    base = PostTokenizer.base()
    keep = select_vocab(corpus, base)
    tok = base.pruned(keep)
    lengths = tok.token_lengths(posts)
    print(
        f"\nvocab kept {len(keep)} of {base.vocab_size} on {len(corpus)} texts; timed posts {len(posts)}, "
        f"tokens p50 {np.median(lengths):.0f} p90 {np.percentile(lengths, 90):.0f} max {lengths.max()}"
    )
    torch.manual_seed(0)
    teacher = TextClassifierModule(build_e5_encoder(keep)).eval()
    fixed = tok.encode([p * 8 for p in posts[:32]], 64)  # every row 64 tokens, like ANCHORS.md
    fixed1 = {k: v[:1] for k, v in fixed.items()}
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    print(
        "fixed 64 tokens, 1 thread, CPU ms (wall ms): layers | torch fp32 b1 / b32 | onnx fp32 b1 / b32 | onnx int8 b1 / b32"
    )
    realistic = []
    for layers in (12, 6, 4):
        module = (
            teacher
            if layers == 12
            else student_from_teacher(teacher, list(range(0, 12, 12 // layers))).eval()
        )
        raw = export_onnx(module, tmp_path / f"l{layers}.onnx")
        fp32 = optimize_bert(raw, tmp_path / f"l{layers}.opt.onnx", num_heads=12, hidden_size=384)
        int8 = quantize_int8(raw, tmp_path / f"l{layers}.int8.onnx")
        cells = []
        with torch.inference_mode():
            for batch, repeats in ((fixed1, 10), (fixed, 2)):
                tb = {k: torch.from_numpy(v) for k, v in batch.items()}
                cells.append(_median_ms(lambda m=module, tb=tb: m(**tb), repeats))
        for path in (fp32, int8):
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            for batch, repeats in ((fixed1, 10), (fixed, 2)):
                cells.append(_median_ms(lambda s=session, b=batch: s.run(None, b), repeats))
        text = " | ".join(
            f"{cells[i][1]:.0f} ({cells[i][0]:.0f}) / {cells[i + 1][1]:.0f} ({cells[i + 1][0]:.0f})"
            for i in (0, 2, 4)
        )
        print(
            f"  {layers:>2} | {text}   int8 {int8.stat().st_size / 1e6:.1f} MB, fp32 {fp32.stat().st_size / 1e6:.1f} MB"
        )
        clf = OnnxTextClassifier(int8, tok, max_length=128, batch_size=32, intra_op_threads=1)
        clf.predict_proba(posts[:32])
        wall, cpu = time.perf_counter(), time.process_time()
        clf.predict_proba(posts)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        singles = []
        for post in posts[:100]:
            start = time.process_time()
            clf.predict_proba([post])
            singles.append(time.process_time() - start)
        realistic.append(
            (layers, len(posts) / cpu, len(posts) / wall, np.percentile(singles, [50, 99]) * 1000)
        )
    print(
        "real posts, INT8 classifier incl. tokenizing, 1 thread: layers | posts per CPU-s at batch 32 (wall) | b1 CPU ms p50 / p99"
    )
    for layers, per_cpu, per_wall, (p50, p99) in realistic:
        print(f"  {layers:>2} | {per_cpu:.0f} ({per_wall:.0f}) | {p50:.1f} / {p99:.1f}")


def _matmul_model(path: Path, weight: np.ndarray, bias: np.ndarray) -> Path:
    """y = x @ weight + bias: two initializers, enough to see which ones two models share."""
    graph = onnx.helper.make_graph(
        [
            onnx.helper.make_node("MatMul", ["x", "weight"], ["xw"]),
            onnx.helper.make_node("Add", ["xw", "bias"], ["y"]),
        ],
        "tiny",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", weight.shape[0]])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", weight.shape[1]])],
        [numpy_helper.from_array(weight, "weight"), numpy_helper.from_array(bias, "bias")],
    )
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]), str(path))
    return path


def test_initializers_two_models_hold_byte_for_byte_are_stored_once_and_score_the_same(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(64, 512)).astype(np.float32)  # 128 KiB
    a = _matmul_model(tmp_path / "a.onnx", weight, np.zeros(512, np.float32))
    b = _matmul_model(tmp_path / "b.onnx", weight, np.ones(512, np.float32))
    x = rng.normal(size=(3, 64)).astype(np.float32)

    def run(path: Path) -> np.ndarray:
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]

    before = {p: (run(p), p.stat().st_size) for p in (a, b)}
    assert share_initializers([a, b], "shared.bin", min_bytes=1024) == ["weight"]  # the biases differ
    assert (tmp_path / "shared.bin").stat().st_size == weight.nbytes
    for path, (scores, size) in before.items():
        np.testing.assert_array_equal(run(path), scores)
        assert path.stat().st_size < size - weight.nbytes + 1024
    # Nothing big enough in common: the files are left as they were and no shared file is written.
    c = _matmul_model(tmp_path / "c.onnx", weight + 1, np.zeros(512, np.float32))
    d = _matmul_model(tmp_path / "d.onnx", weight, np.zeros(512, np.float32))
    assert share_initializers([c, d], "other.bin") == [] and not (tmp_path / "other.bin").exists()
    with pytest.raises(ValueError, match="'paths' parameter of share_initializers must name two or more"):
        share_initializers([c], "other.bin")
    with pytest.raises(
        ValueError, match="'shared_file' parameter of share_initializers must be a bare file name"
    ):
        share_initializers([c, d], "../other.bin")
