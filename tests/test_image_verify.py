"""The crop-tolerant verified matcher: crops and frames are found, same-template look-alikes are not."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image
from skimage import data as skimage_data

from model.image_verify import (
    Fingerprint,
    VerifiedImageMatcher,
    VerifyConfig,
    fingerprint,
    verify_pair,
)
from model.pdq import hamming_distance
from model.signals import IndexedItem

T0 = datetime(2026, 11, 17, tzinfo=UTC)


def _crop(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = image.size
    return image.crop((int(w * left), int(h * top), int(w * (1 - right)), int(h * (1 - bottom))))


def _frame(image: Image.Image, pad: float = 0.08) -> Image.Image:
    """A screenshot of the image: padded with a dark frame and a light status bar."""
    w, h = image.size
    out = Image.new("RGB", (int(w * (1 + 2 * pad)), int(h * (1 + 3 * pad))), (20, 20, 20))
    out.paste((235, 235, 235), (0, 0, out.width, int(h * pad)))
    out.paste(image, (int(w * pad), int(h * 2 * pad)))
    return out


@pytest.fixture(scope="module")
def coffee() -> Image.Image:
    return Image.fromarray(skimage_data.coffee())


@pytest.fixture(scope="module")
def screenshots() -> dict[str, Image.Image]:
    from data.images.screenshots import render_screenshot

    return {
        "original": render_screenshot("payment", 4242, style_seed=5, size=(540, 960)),
        "edited": render_screenshot(
            "payment", 4242, style_seed=5, size=(540, 960), edits={"amount": "6,666.00"}
        ),
        "distractor": render_screenshot("payment", 4243, style_seed=5, size=(540, 960)),
    }


def test_fingerprint_holds_hash_features_and_thumbnail(coffee: Image.Image) -> None:
    print_ = fingerprint(coffee)
    assert isinstance(print_, Fingerprint)
    assert len(print_.pdq.variants) == 7
    assert print_.descriptors.dtype == np.uint8 and print_.descriptors.shape[1] == 32
    assert len(print_.points) == len(print_.descriptors) > 50
    assert max(print_.thumb.shape) <= 256
    assert 5_000 < print_.nbytes < 80_000
    with pytest.raises(ValueError, match="'image' parameter of fingerprint"):
        fingerprint("not an image")  # type: ignore[arg-type]


def test_crop_and_frame_are_accepted_where_pdq_alone_fails(coffee: Image.Image) -> None:
    original = fingerprint(coffee, dihedral=False)
    for edited in (_crop(coffee, 0.12, 0.03, 0.02, 0.14), _frame(coffee)):
        query = fingerprint(edited)
        assert min(hamming_distance(h, original.pdq.hex) for h in query.pdq.query_hexes()) > 31
        result = verify_pair(query, original)
        assert result.accepted and result.route == "local", result


def test_unrelated_photo_is_rejected(coffee: Image.Image) -> None:
    other = fingerprint(Image.fromarray(skimage_data.astronaut()))
    assert not verify_pair(other, fingerprint(coffee, dihedral=False)).accepted


def test_template_lookalike_is_rejected_but_an_edited_amount_is_accepted(
    screenshots: dict[str, Image.Image],
) -> None:
    original = fingerprint(screenshots["original"], dihedral=False)
    edited = verify_pair(fingerprint(screenshots["edited"]), original)
    assert edited.accepted and edited.changed <= 0.05
    distractor = verify_pair(fingerprint(screenshots["distractor"]), original)
    assert not distractor.accepted


def test_mirrored_copy_is_aligned_through_the_dihedral_hash(screenshots: dict[str, Image.Image]) -> None:
    original = fingerprint(screenshots["original"], dihedral=False)
    mirrored = screenshots["original"].transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    result = verify_pair(fingerprint(mirrored), original)
    assert result.accepted and result.route == "pdq" and result.changed <= 0.02


def test_matcher_index_query_remove(coffee: Image.Image, screenshots: dict[str, Image.Image]) -> None:
    matcher = VerifiedImageMatcher()
    matcher.add(IndexedItem("0" * 64, "p-coffee", "upline", T0), coffee)
    matcher.add(IndexedItem("0" * 64, "p-pay", "upline", T0), screenshots["original"])
    assert len(matcher) == 2 and matcher.bytes_per_image() > 0
    rng = random.Random(0)
    crop = _crop(coffee, *(rng.uniform(0, 0.15) for _ in range(4)))
    matches = matcher.query(crop)
    assert [m.item.post_id for m in matches] == ["p-coffee"]
    assert matches[0].item.key == fingerprint(coffee).pdq.hex  # the stored key is the image's own PDQ
    assert [m.item.post_id for m in matcher.query(screenshots["edited"])] == ["p-pay"]
    assert matcher.query(screenshots["distractor"]) == []
    assert matcher.query(crop, exclude_post_id="p-coffee") == []
    assert matcher.remove_post("p-coffee") == 1 and matcher.query(crop) == []
    assert len(matcher) == 1


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="'max_changed' parameter of VerifyConfig"):
        VerifyConfig(max_changed=2.0)
    with pytest.raises(ValueError, match="'min_votes' parameter of VerifyConfig"):
        VerifyConfig(min_votes=-1)


def test_window_save_load_and_eviction(coffee: Image.Image, tmp_path) -> None:
    matcher = VerifiedImageMatcher(max_images=2)
    astronaut = Image.fromarray(skimage_data.astronaut())
    rocket = Image.fromarray(skimage_data.rocket())
    matcher.add(IndexedItem("0" * 64, "p1", "a", T0), coffee)
    matcher.add(IndexedItem("0" * 64, "p2", "b", T0), astronaut)
    matcher.save(tmp_path)
    loaded = VerifiedImageMatcher.load(tmp_path)
    crop = _crop(coffee, 0.1, 0.1, 0.05, 0.05)
    assert (
        [m.item.post_id for m in loaded.query(crop)]
        == [m.item.post_id for m in matcher.query(crop)]
        == ["p1"]
    )
    matcher.add(IndexedItem("0" * 64, "p3", "c", T0), rocket)  # the oldest image leaves the window
    assert len(matcher) == 2 and not matcher.holds("p1", "p1") and matcher.holds("p3", "p3")
    assert matcher.query(crop) == []
