"""MinHash text sketches and their LSH index: pasted copywriting with small edits is found."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from test_hamming_index import NearDupIndexContract, write_format_1_index

from model.normalize import normalize
from model.signals import IndexedItem
from model.text_sketch import (
    TextSketch,
    TextSketcher,
    TextSketchIndex,
    TextSketchSignal,
    lsh_bands,
)

T0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)

BASES = (
    "姐妹们这款补水面膜真的太好用了，敷完第二天皮肤水嫩嫩的，今天活动价九十九元三盒，名额有限先到先得，需要的私我",
    "招募代理啦，零门槛一件代发，在家带娃也能做，每天只需要两个小时，团队手把手培训，月入过万不是梦，感兴趣的姐妹留言",
    "今天带孩子去公园放风筝，天气特别好，晚上回家包了饺子，一家人边吃边聊，平平淡淡才是真，周末就该这样过",
    "单位楼下新开了一家兰州拉面，牛肉给得很足，汤头也清爽，就是中午排队的人太多，建议大家错峰去吃",
)
EDITS = ("", "八十九元", "！！", "宝宝们", "限时", "明天")


def variant_text(family: int, variant: int) -> str:
    """A small edit of one base text: an inserted or replaced phrase, as copy-pasters do."""
    base = BASES[family]
    edit = EDITS[variant % len(EDITS)]
    cut = 10 + 7 * (variant % 5)
    return base[:cut] + edit + base[cut + (2 if variant % 2 else 0) :]


SKETCHER = TextSketcher()


class TestTextSketchIndexContract(NearDupIndexContract):
    def make_index(self) -> TextSketchIndex:
        return TextSketchIndex()

    def key(self, family: int, variant: int) -> str:
        sketch = SKETCHER.sketch(variant_text(family, variant))
        assert sketch is not None
        return sketch.to_key()

    def query_signal(self, family: int, variant: int) -> str:
        return variant_text(family, variant)


class TestTextSketchIndexContractStatic(TestTextSketchIndexContract):
    """The same contract with the sorted band tables in use from the first item."""

    def make_index(self) -> TextSketchIndex:
        return TextSketchIndex(static_min_size=1)


def test_sketch_similarity_tracks_true_jaccard() -> None:
    a, b = variant_text(0, 0), variant_text(0, 1)
    ids_a, ids_b = set(SKETCHER.shingle_ids(a).tolist()), set(SKETCHER.shingle_ids(b).tolist())
    true = len(ids_a & ids_b) / len(ids_a | ids_b)
    estimate = SKETCHER.sketch(a).similarity(SKETCHER.sketch(b))
    assert abs(estimate - true) < 0.12  # about 3 standard errors at 128 permutations
    assert SKETCHER.sketch(a).similarity(SKETCHER.sketch(BASES[2])) < 0.1


def test_punctuation_emoji_and_spacing_do_not_change_the_sketch() -> None:
    plain = "今天活动价九十九元三盒名额有限先到先得需要的私我"
    decorated = "今天活动价 九十九元 三盒！！名额有限～先到先得😀😀 需要的私我。"
    assert np.array_equal(SKETCHER.sketch(plain).signature, SKETCHER.sketch(decorated).signature)


def test_evasion_spellings_match_after_the_shared_normalizer() -> None:
    """The index sees normalized text, so a traditional-character copy still matches the original."""
    original = normalize("招募代理，零门槛一件代发，在家带娃也能做，团队手把手培训，月入过万不是梦").text
    evaded = normalize("招募代理，零門檻一件代發，在家帶娃也能做，團隊手把手培訓，月入過萬不是夢").text
    index = TextSketchIndex()
    index.add([IndexedItem(SKETCHER.sketch(original).to_key(), "p1", "upline", T0)])
    matches = index.query(evaded)
    assert [m.item.post_id for m in matches] == ["p1"]
    assert matches[0].distance < 0.2


def test_short_texts_are_not_sketched() -> None:
    assert SKETCHER.sketch("早安") is None
    assert SKETCHER.sketch("好的好的！！😀😀😀") is None
    assert TextSketchIndex().query("早安") == []


def test_sketch_is_deterministic_across_instances_and_key_roundtrips() -> None:
    text = BASES[1]
    first, second = TextSketcher().sketch(text), TextSketcher().sketch(text)
    assert np.array_equal(first.signature, second.signature)
    assert not np.array_equal(first.signature, TextSketcher(seed=2).sketch(text).signature)
    assert np.array_equal(TextSketch.from_key(first.to_key()).signature, first.signature)
    with pytest.raises(ValueError, match=r"'key' parameter of TextSketch\.from_key"):
        TextSketch.from_key("xx:abc")
    with pytest.raises(ValueError, match=r"'key' parameter of TextSketch\.from_key"):
        TextSketch.from_key("mh1:AAA")


def test_threshold_is_configurable() -> None:
    a, b = variant_text(1, 0), variant_text(1, 3)
    similarity = SKETCHER.sketch(a).similarity(SKETCHER.sketch(b))
    loose = TextSketchIndex(min_similarity=max(0.05, similarity - 0.1))
    strict = TextSketchIndex(min_similarity=min(1.0, similarity + 0.1))
    for index in (loose, strict):
        index.add([IndexedItem(SKETCHER.sketch(a).to_key(), "p1", "u", T0)])
    assert len(loose.query(b)) == 1 and strict.query(b) == []
    assert TextSketchSignal.compare(
        SKETCHER.sketch(a).to_key(), SKETCHER.sketch(b).to_key(), threshold=similarity
    )[0]
    with pytest.raises(ValueError, match="'min_similarity' parameter"):
        TextSketchIndex(min_similarity=0)


def test_lsh_bands_fit_the_signature_and_favour_recall() -> None:
    for threshold in (0.3, 0.5, 0.7, 0.9):
        bands, rows = lsh_bands(threshold, 128)
        assert bands * rows <= 128
        # probability that a pair at / just above the threshold becomes a candidate
        assert 1 - (1 - threshold**rows) ** bands >= 0.95
        assert 1 - (1 - min(1.0, threshold + 0.1) ** rows) ** bands > 0.99
        # and it is still a filter: a pair at a third of the threshold rarely becomes a candidate
        assert 1 - (1 - (threshold / 3) ** rows) ** bands < 0.5


def test_many_posts_static_tables_and_tail_agree(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    alphabet = np.array(list("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可也你"))
    texts = ["".join(rng.choice(alphabet, 40)) for _ in range(600)]
    items = [
        IndexedItem(SKETCHER.sketch(t).to_key(), f"p{i}", f"a{i}", T0 + timedelta(minutes=i))
        for i, t in enumerate(texts)
    ]
    incremental = TextSketchIndex(static_min_size=100)
    for start in range(0, 600, 50):
        incremental.add(items[start : start + 50])
    flat = TextSketchIndex(static_min_size=10_000)
    flat.add(items)
    assert incremental.stats()["items"] == 600
    for i in (0, 123, 599):
        query = texts[i][:30] + "改了几个字" + texts[i][33:]
        expected = flat.query(query)
        assert f"p{i}" in {m.item.post_id for m in expected}
        assert incremental.query(query) == expected
    incremental.save(tmp_path)
    assert TextSketchIndex.load(tmp_path).query(texts[5]) == incremental.query(texts[5])


@pytest.mark.parametrize("static_min_size", [1, 20_000])
def test_an_index_saved_in_the_format_1_layout_still_loads(tmp_path: Path, static_min_size: int) -> None:
    """Indexes already on disk must keep loading, so the files are written here by hand, not by save()."""
    sketches = [SKETCHER.sketch(BASES[i]) for i in range(3)]
    signatures = ("signatures.npy", np.stack([s.signature for s in sketches]))
    own = {"kind": "text-minhash", "min_similarity": 0.5, "static_min_size": static_min_size}
    ids = {"posts": ["p1", "p2"], "authors": ["amy", "bob"]}
    meta = write_format_1_index(
        tmp_path, signatures, [(1, 0, 0), (0, 0, 0), (1, 1, 1)], {**own, "sketcher": SKETCHER.params(), **ids}
    )
    index = TextSketchIndex.load(tmp_path)
    late = T0 + timedelta(minutes=1)
    assert list(index.items()) == [
        IndexedItem(sketches[0].to_key(), "p2", "amy", T0),
        IndexedItem(sketches[1].to_key(), "p1", "amy", T0),
        IndexedItem(sketches[2].to_key(), "p2", "bob", late),
    ]
    assert index.stats()["posts"] == 2 and index.stats()["authors"] == 2
    assert [m.item.post_id for m in index.query(variant_text(1, 1))] == ["p1"]
    assert index.query(BASES[1], exclude_post_id="p1") == []
    assert index.remove_post("p2") == 2 and len(index) == 1
    # saving writes the same layout back, without the removed post's rows or ids
    index.save(tmp_path / "again")
    names = sorted(path.name for path in (tmp_path / "again").iterdir())
    assert names == ["author_idx.npy", "created_us.npy", "meta.json", "post_idx.npy", "signatures.npy"]
    saved = json.loads((tmp_path / "again" / "meta.json").read_text(encoding="utf-8"))
    assert saved == {**meta, "count": 1, "posts": ["p1"], "authors": ["amy"]}
    assert np.load(tmp_path / "again" / "author_idx.npy").tolist() == [0]
    assert np.array_equal(np.load(tmp_path / "again" / "signatures.npy"), sketches[1].signature[None, :])


def test_add_refuses_a_sketch_of_another_size() -> None:
    other = TextSketcher(num_perm=64).sketch(BASES[0])
    with pytest.raises(ValueError, match="64 permutations"):
        TextSketchIndex().add([IndexedItem(other.to_key(), "p", "a", T0)])
