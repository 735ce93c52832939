"""Cross-account evidence: copies under other accounts, self re-posts, windows, clusters, reasons."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skimage_data

from model.evidence import Evidence, EvidenceConfig, EvidenceFinder
from model.hamming_index import HammingIndex
from model.normalize import normalize
from model.pdq import PdqHash, codes_to_hexes, hash_bytes
from model.text_sketch import TextSketchIndex

T0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
COPY = "姐妹们这款补水面膜真的太好用了，敷完第二天皮肤水嫩嫩的，今天活动价九十九元三盒，名额有限先到先得，需要的私我"
OTHER = "今天带孩子去公园放风筝，天气特别好，晚上回家包了饺子，一家人边吃边聊，平平淡淡才是真"

_RNG = np.random.default_rng(11)
SCREENSHOT, PHOTO = codes_to_hexes(_RNG.integers(0, 256, (2, 32), dtype=np.uint8))


def edited(hex_value: str, seed: int, bits: int = 8) -> PdqHash:
    """The template with a few bits changed (an amount / name edit), quality known."""
    value = int(hex_value, 16)
    for bit in np.random.default_rng(seed).choice(256, bits, replace=False):
        value ^= 1 << int(bit)
    return PdqHash(f"{value:064x}", 100)


def pasted(seed: int) -> str:
    """The copy with a small edit, normalized as the Scorer does."""
    return normalize(COPY.replace("九十九", ["八十九", "七十九", "六十九", "九十九"][seed % 4])).text


@pytest.fixture
def network() -> EvidenceFinder:
    """An upline and six downline agents share one screenshot (edited) and one copy; a bystander posts a photo."""
    finder = EvidenceFinder()
    finder.add_post("up-1", "upline", T0, pasted(0), [PdqHash(SCREENSHOT, 100)])
    for k in range(1, 7):
        finder.add_post(
            f"down-{k}", f"agent-{k}", T0 + timedelta(hours=6 * k), pasted(k), [edited(SCREENSHOT, k)]
        )
    finder.add_post(
        "family-1", "bystander", T0 + timedelta(hours=2), normalize(OTHER).text, [PdqHash(PHOTO, 100)]
    )
    return finder


def test_a_new_agent_post_counts_the_other_accounts_and_says_so(network: EvidenceFinder) -> None:
    evidence = network.evidence_for(
        "down-7", "agent-7", T0 + timedelta(days=2), pasted(7), [edited(SCREENSHOT, 7)]
    )
    assert evidence.dup_accounts_image == 7 and evidence.dup_posts_image == 7
    assert evidence.dup_accounts_text == 7
    assert evidence.other_accounts == 7
    assert evidence.first_seen == T0 and evidence.last_seen == T0 + timedelta(hours=36)
    assert evidence.image_min_distance is not None and 0 < evidence.image_min_distance <= 31
    assert evidence.text_max_similarity is not None and evidence.text_max_similarity > 0.8
    joined = " ".join(evidence.reasons)
    assert "under 7 other accounts since 2026-11-17" in joined
    assert "7 edited" in joined
    assert "copywriting" in joined and "7 other accounts" in joined
    features = evidence.features()
    assert features["dup_accounts_image"] == 7.0 and features["window_days"] == 1.5
    json.dumps(evidence.to_dict())  # JSON-ready for the API and the review page


def test_copies_share_one_cluster_named_after_the_earliest_post(network: EvidenceFinder) -> None:
    ids = {
        network.evidence_for(
            f"down-{k}", f"agent-{k}", T0 + timedelta(hours=6 * k), pasted(k), [edited(SCREENSHOT, k)]
        ).cluster_id
        for k in range(1, 7)
    }
    assert len(ids) == 1 and next(iter(ids)) is not None
    unrelated = network.evidence_for(
        "new", "someone", T0, normalize("完全不同的一段文字内容，没有人发过").text, []
    )
    assert unrelated.cluster_id is None and unrelated.other_accounts == 0 and unrelated.reasons == []


def test_the_post_itself_never_counts(network: EvidenceFinder) -> None:
    evidence = network.evidence_for(
        "family-1", "bystander", T0 + timedelta(hours=2), normalize(OTHER).text, [PdqHash(PHOTO, 100)]
    )
    assert evidence.image_matches == [] and evidence.text_matches == [] and evidence.other_accounts == 0


def test_self_reposts_are_counted_apart_from_other_accounts() -> None:
    finder = EvidenceFinder()
    for k in range(3):
        finder.add_post(f"ad-{k}", "lone-seller", T0 + timedelta(hours=k), pasted(k), [PdqHash(PHOTO, 100)])
    evidence = finder.evidence_for(
        "ad-3", "lone-seller", T0 + timedelta(hours=3), pasted(3), [PdqHash(PHOTO, 100)]
    )
    assert evidence.other_accounts == 0 and evidence.dup_accounts_image == 0
    assert evidence.self_copies_image == 3 and evidence.self_copies_text == 3
    assert any("also posted this image in 3 other posts" in r for r in evidence.reasons)


def test_low_quality_images_are_neither_indexed_nor_matched() -> None:
    finder = EvidenceFinder()
    blank = PdqHash(SCREENSHOT, 10)
    assert finder.add_post("p1", "a", T0, "", [blank]) == 0
    evidence = finder.evidence_for("p2", "b", T0, "", [blank, PdqHash(SCREENSHOT, None)])
    assert evidence.skipped_images == 1 and evidence.image_matches == []
    assert EvidenceFinder(config=EvidenceConfig(pdq_min_quality=5)).add_post("p1", "a", T0, "", [blank]) == 1


def test_window_days_limits_which_copies_count(network: EvidenceFinder) -> None:
    narrow = EvidenceFinder(network.image_index, network.text_index, EvidenceConfig(window_days=1.0))
    evidence = narrow.evidence_for(
        "down-9", "agent-9", T0 + timedelta(days=2), pasted(9), [edited(SCREENSHOT, 9)]
    )
    # only the agents who posted within a day before (hours 24, 30, 36) count
    assert evidence.dup_accounts_image == 3 and evidence.first_seen == T0 + timedelta(hours=24)


def test_observe_looks_up_then_records_and_readding_replaces() -> None:
    finder = EvidenceFinder()
    first = finder.observe("p1", "u1", T0, pasted(0), [PdqHash(SCREENSHOT, 100)])
    assert first.other_accounts == 0
    second = finder.observe("p2", "u2", T0 + timedelta(hours=1), pasted(1), [edited(SCREENSHOT, 1)])
    assert second.other_accounts == 1 and second.cluster_id is not None
    # scoring p2 again (content changed: image removed) must not duplicate or keep the old image
    finder.observe("p2", "u2", T0 + timedelta(hours=1), pasted(1), [])
    assert len(finder.image_index) == 1 and len(finder.text_index) == 2
    assert finder.remove_post("p1") == 2
    assert finder.evidence_for("p3", "u3", T0, pasted(2), [PdqHash(SCREENSHOT, 100)]).dup_accounts_image == 0


def test_save_and_load_keep_the_evidence(network: EvidenceFinder, tmp_path: Path) -> None:
    network.save(tmp_path / "dups")
    loaded = EvidenceFinder.load(tmp_path / "dups")
    args = ("down-8", "agent-8", T0 + timedelta(days=3), pasted(8), [edited(SCREENSHOT, 8)])
    assert loaded.evidence_for(*args).to_dict() == network.evidence_for(*args).to_dict()
    empty = EvidenceFinder.load(tmp_path / "does-not-exist")
    assert len(empty.image_index) == 0 and len(empty.text_index) == 0


def test_real_photo_reposts_end_to_end() -> None:
    """Pixels to evidence: a re-encoded, resized, mirrored photo under other accounts is found."""
    photo = Image.fromarray(skimage_data.coffee())

    def jpeg(image: Image.Image, quality: int) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        return buffer.getvalue()

    finder = EvidenceFinder()
    finder.add_post("orig", "upline", T0, "", [hash_bytes(jpeg(photo, 95), dihedral=True)])
    finder.add_post(
        "small", "agent-1", T0 + timedelta(hours=1), "", [hash_bytes(jpeg(photo.resize((300, 200)), 40))]
    )
    mirrored = hash_bytes(jpeg(photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 80), dihedral=True)
    evidence = finder.evidence_for("mirror", "agent-2", T0 + timedelta(hours=2), "", [mirrored])
    assert evidence.dup_accounts_image == 2
    other = hash_bytes(jpeg(Image.fromarray(skimage_data.astronaut()), 90), dihedral=True)
    assert finder.evidence_for("x", "agent-3", T0, "", [other]).image_matches == []


def test_inputs_are_validated() -> None:
    finder = EvidenceFinder()
    with pytest.raises(ValueError, match=r"'created_at' parameter of EvidenceFinder\.evidence_for"):
        finder.evidence_for("p", "a", datetime(2026, 1, 1), "")  # naive
    with pytest.raises(ValueError, match="'image_hashes' parameter"):
        finder.evidence_for("p", "a", T0, "", [SCREENSHOT])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="'image_ids' parameter"):
        finder.add_post("p", "a", T0, "", [PdqHash(SCREENSHOT)], image_ids=["one", "two"])
    with pytest.raises(ValueError, match="unknown keys"):
        EvidenceConfig.from_mapping({"pdq_radius": 31, "pdq_raduis": 20})
    assert EvidenceConfig.from_mapping({"pdq_radius": 24}).pdq_radius == 24
    with pytest.raises(ValueError, match="'text_min_similarity' parameter"):
        EvidenceConfig(text_min_similarity=1.5)
    with pytest.raises(ValueError, match="'image_index' parameter"):
        EvidenceFinder(image_index="nope")  # type: ignore[arg-type]


def test_config_reaches_fresh_indexes() -> None:
    finder = EvidenceFinder(config=EvidenceConfig(pdq_radius=20, text_min_similarity=0.7))
    assert isinstance(finder.image_index, HammingIndex) and finder.image_index.radius == 20
    assert isinstance(finder.text_index, TextSketchIndex) and finder.text_index.min_similarity == 0.7
    assert isinstance(Evidence(post_id="p").features()["dup_accounts"], float)


def test_crop_tolerant_window_finds_cropped_copies_and_survives_save(tmp_path: Path) -> None:
    from model.image_verify import VerifiedImageMatcher, fingerprint

    photo = Image.fromarray(skimage_data.coffee())
    w, h = photo.size
    cropped = photo.crop((int(0.11 * w), int(0.04 * h), int(0.97 * w), int(0.87 * h)))
    original_print, cropped_print = fingerprint(photo), fingerprint(cropped)

    plain = EvidenceFinder()
    plain.add_post("orig", "upline", T0, "", [original_print.pdq])
    assert plain.evidence_for("crop", "agent", T0, "", [cropped_print.pdq]).image_matches == []

    windowed = EvidenceFinder(local_matcher=VerifiedImageMatcher())
    windowed.add_post("orig", "upline", T0, "", [original_print.pdq], images=[original_print])
    evidence = windowed.evidence_for("crop", "agent", T0, "", [cropped_print.pdq], images=[cropped_print])
    assert evidence.dup_accounts_image == 1
    assert evidence.image_matches[0].item.variant == "local"
    assert "cropped or reframed" in " ".join(evidence.reasons)
    windowed.save(tmp_path)
    again = EvidenceFinder.load(tmp_path, local=True)
    assert (
        again.evidence_for(
            "crop", "agent", T0, "", [cropped_print.pdq], images=[cropped_print]
        ).dup_accounts_image
        == 1
    )
    with pytest.raises(ValueError, match="one image per hash"):
        windowed.evidence_for("x", "a", T0, "", [cropped_print.pdq], images=[])
