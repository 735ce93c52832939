"""The synthetic post generator: determinism, coverage of families and labels, variety, real text."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from data.generator import GeneratedPost, family_label, generate_posts, list_families, proof
from data.generator.registry import IMAGE_KINDS, Draft
from model.labels import EVASION_TRICKS, LABELS

REAL = [
    "这个手机壳质量很好，颜色也正",
    "物流太慢了，等了一个星期",
    "今天晚上吃什么呢",
    "人民群众的生活水平不断提高",
    "你好，很高兴认识你",
    "酒店位置不错，早餐一般",
] * 3


@pytest.fixture(scope="module")
def batch() -> list[GeneratedPost]:
    return generate_posts(2000, seed=11, real_sentences=REAL)


def test_deterministic_for_a_seed():
    a = generate_posts(300, seed=5, real_sentences=REAL)
    b = generate_posts(300, seed=5, real_sentences=REAL)
    c = generate_posts(300, seed=6, real_sentences=REAL)
    assert a == b
    assert [p.text for p in a] != [p.text for p in c]


def test_family_counts_per_group():
    fams = list_families()
    assert len(fams) == len(set(fams)) >= 60
    groups = collections.Counter(family_label(f) for f in fams)
    for label in LABELS:
        assert groups[label] >= 10, label
    assert groups["hard_negative"] >= 15
    assert groups["normal"] >= 15
    assert set(groups) == {*LABELS, "hard_negative", "normal"}


def test_every_family_reachable(batch):
    assert {p.family for p in batch} == set(list_families())


def test_fields_are_valid(batch):
    for p in batch:
        assert isinstance(p.text, str) and p.text.strip()
        assert set(p.labels) <= set(LABELS) and len(set(p.labels)) == len(p.labels)
        assert set(p.tricks) <= set(EVASION_TRICKS)
        assert p.source in ("generated", "generated+real")
        assert p.image_kind is None or p.image_kind in IMAGE_KINDS
        group = family_label(p.family)
        if group in LABELS:
            assert group in p.labels, p
        else:
            assert p.labels == (), p
        assert p.kind.split("/")[0] == group


def test_variety_and_lengths(batch):
    assert len({p.text for p in batch}) >= 1500
    lengths = sorted(len(p.text) for p in batch)
    assert lengths[0] <= 12 and lengths[-1] >= 100
    assert any(len(p.labels) > 1 for p in batch), "no multi-label posts"


def test_evasion_rates(batch):
    pos = [p for p in batch if p.labels]
    neg = [p for p in batch if not p.labels]
    pos_rate = sum(bool(p.tricks) for p in pos) / len(pos)
    neg_rate = sum(bool(p.tricks) for p in neg) / len(neg)
    assert 0.3 < pos_rate < 0.5
    assert neg_rate < 0.1
    assert {t for p in pos for t in p.tricks} == set(EVASION_TRICKS)
    none = generate_posts(300, seed=1, evasion_rate=0.0, normal_evasion_rate=0.0)
    assert not any(p.tricks for p in none)


def test_real_text_is_used_inside_every_group(batch):
    groups_with_real = {family_label(p.family) for p in batch if p.source == "generated+real"}
    assert {"fake_proof", "hard_negative", "normal"} <= groups_with_real
    assert any(s in p.text for p in batch if p.labels for s in REAL)
    assert all(p.source == "generated" for p in generate_posts(300, seed=2))


def test_copy_groups_share_copywriting(batch):
    groups = collections.defaultdict(list)
    for p in batch:
        if p.copy_group is not None:
            groups[p.copy_group].append(p)
    assert groups
    for members in groups.values():
        assert len(members) >= 2
        assert len({m.family for m in members}) == 1
        assert all(m.labels for m in members)


def test_family_label_rejects_unknown():
    with pytest.raises(ValueError, match="'family'"):
        family_label("nope/none")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": -1, "seed": 0},
        {"n": 1.5, "seed": 0},
        {"n": 1, "seed": "x"},
        {"n": 1, "seed": 0, "evasion_rate": 1.5},
        {"n": 1, "seed": 0, "normal_evasion_rate": -0.1},
        {"n": 1, "seed": 0, "real_sentences": "一个字符串"},
    ],
)
def test_bad_input_raises_value_error(kwargs):
    with pytest.raises(ValueError, match="generate_posts"):
        generate_posts(**kwargs)


def test_zero_posts():
    assert generate_posts(0, seed=0) == []


def test_every_proof_claim_is_a_phrase_some_recipe_draws():
    """A reworded bank phrase would silently drop out of the fake-proof rule; each listed one must exist."""
    sources = "".join(
        p.read_text(encoding="utf-8")
        for p in Path(proof.__file__).parent.glob("*.py")
        if p.name != "proof.py"
    )
    missing = sorted(t for t in proof.PROOF_CLAIMS if f'"{t}"' not in sources)
    assert not missing


def test_a_seller_post_claiming_a_result_is_fake_proof_whatever_its_family():
    """The seller's diary draws sold-out and sales-count lines among others: only those posts get fake_proof."""
    posts = generate_posts(6000, seed=3, evasion_rate=0.0)
    diary = [p for p in posts if p.family == "hard_sell/seller_diary" and p.copy_group is None]
    claims = [p for p in diary if "基本都被老顾客订完了" in p.text or "今天又走了" in p.text]
    others = [p for p in diary if p not in claims]
    assert claims and others
    assert all("fake_proof" in p.labels and "hard_sell" in p.labels for p in claims)
    assert all(p.labels == ("hard_sell",) for p in others)


def test_the_proof_rule_never_labels_normal_posts_or_hard_negatives():
    draft = Draft("今年给自己换了车", (), "normal/car", None)
    assert proof.with_proof_label(draft, "normal", claimed_result=True) is draft
    assert proof.with_proof_label(draft, "hard_negative", claimed_result=True) is draft
    seller = Draft("上个月业绩破3万", ("recruitment",), "recruitment/story", None)
    assert proof.with_proof_label(seller, "recruitment", claimed_result=False) is seller
    assert proof.with_proof_label(seller, "recruitment", claimed_result=True).labels == (
        "recruitment",
        "fake_proof",
    )


def test_supplement_families_are_training_only_and_labelled_by_their_group_alone() -> None:
    """Contrast families teach "a count or a purchase is not proof": none may carry fake_proof."""
    from data.generator import family_label, generate_posts, list_families

    supplement = set(list_families(pool="supplement"))
    assert supplement and not supplement & set(list_families())
    posts = generate_posts(len(supplement) * 20, 7, pool="supplement")
    assert {p.family for p in posts} == supplement
    labels_by_group: dict[str, set[tuple[str, ...]]] = {}
    for p in posts:
        labels_by_group.setdefault(family_label(p.family), set()).add(p.labels)
    assert labels_by_group == {"normal": {()}, "hard_negative": {()}, "hard_sell": {("hard_sell",)}}


def test_variety_families_are_their_own_opt_in_pool_with_labels_by_the_fake_proof_rule() -> None:
    """Counts and results claimed by sellers are fake proof; the same numbers at a job or in mockery are not."""
    from data.generator import family_label, generate_posts, list_families

    variety = set(list_families(pool="variety"))
    assert variety and not variety & (set(list_families()) | set(list_families(pool="supplement")))
    posts = generate_posts(len(variety) * 30, 11, pool="variety")
    assert {p.family for p in posts} == variety
    by_family: dict[str, set[tuple[str, ...]]] = {}
    for p in posts:
        by_family.setdefault(p.family, set()).add(p.labels)
    assert by_family["fake_proof/plain_tally"] == {("hard_sell", "fake_proof")}
    assert by_family["fake_proof/retold_result"] == {("fake_proof",), ("hard_sell", "fake_proof")}
    assert by_family["fake_proof/credited_success"] == {("fake_proof",), ("recruitment", "fake_proof")}
    assert by_family["hard_sell/bare_listing"] == by_family["hard_sell/story_offer"] == {("hard_sell",)}
    assert {family_label(f) for f in variety if not any(by_family[f] - {()})} == {"hard_negative"}


def test_family_pools_refuse_unknown_names() -> None:
    from data.generator import generate_posts, list_families
    from data.generator.registry import family

    with pytest.raises(ValueError, match="'pool' parameter must be one of main, supplement, variety"):
        list_families(pool="extra")
    with pytest.raises(ValueError, match="'pool' parameter"):
        generate_posts(3, 1, pool="nope")
    with pytest.raises(ValueError, match="family pool 'nope'"):
        family("normal/x", pool="nope")
