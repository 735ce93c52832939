"""Release bundle: a tiny end-to-end build (prune, export, quantize, manifest) and its checks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from itertools import product
from pathlib import Path

import numpy as np
import pytest
import torch
from support.normalize_spy import count_normalize_calls

from model.bundle import (
    ESCALATION_FIELD,
    MANIFEST,
    NGRAM_DIR_FIELD,
    NGRAM_WEIGHT_FIELD,
    SHARED_WEIGHTS_FIELD,
    SHARED_WEIGHTS_FILE,
    describe_model,
    load_bundle,
    read_manifest,
    write_manifest,
)
from model.encoder_weights import build_e5_encoder
from model.labels import LABELS
from model.ngram_model import NgramModel
from model.normalize import normalize
from model.onnx_classifier import OnnxTextClassifier
from model.onnx_export import export_onnx, quantize_int8, share_initializers
from model.text_cascade import CascadeTextClassifier, escalated
from model.text_classifier import TextClassifierModule, student_from_teacher
from model.text_ensemble import BlendedTextClassifier
from model.tokenizer import PostTokenizer
from model.vocab import select_vocab
from train.baseline import NgramBaseline

MODEL_DIR = Path(__file__).resolve().parent.parent / "model"

OPENERS = ["招代理", "新品上市", "今天", "宝妈看过来", "晒单", "周末", "诚招合伙人", "好消息"]
MIDDLES = [
    "月入过万",
    "带孩子去公园",
    "买二送一",
    "零门槛",
    "客户又回购了",
    "和朋友吃火锅",
    "包邮到家",
    "下雨了",
]
ENDINGS = ["私我了解", "太开心了🎉", "✅✅ 正品保证", "有意者加微信", "感谢信任👍", "好好休息"]


def corpus() -> list[str]:
    """~500 varied posts from fragments (only the pipeline is under test, not the labels)."""
    return [f"{a}，{b}，{c}" for a, b, c in product(OPENERS, MIDDLES, ENDINGS)][:500]


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    texts = corpus()
    base = PostTokenizer.base()
    keep = select_vocab(texts, base)
    tokenizer = base.pruned(keep)
    torch.manual_seed(0)
    teacher = TextClassifierModule(build_e5_encoder(keep))
    student = student_from_teacher(teacher, [0, 6]).eval()
    directory = tmp_path_factory.mktemp("release")
    work = tmp_path_factory.mktemp("work")
    fp32 = export_onnx(student, work / "model.onnx")
    quantize_int8(fp32, directory / "model.int8.onnx")
    tokenizer.save(directory)
    (directory / "policy.json").write_text(json.dumps({"note": "test policy"}), encoding="utf-8")
    (directory / "MODEL_CARD.md").write_text("# test card\n", encoding="utf-8")
    write_manifest(
        directory,
        model_file="model.int8.onnx",
        policy_file="policy.json",
        max_length=64,
        data_manifest_hash="0" * 64,
        seed=0,
        code_version="test",
    )
    return directory


#: Fragments that decide each label of the corpus, so the n-gram model has something to learn.
CUES = {
    "hard_sell": ("买二送一", "包邮到家"),
    "recruitment": ("招代理", "诚招合伙人", "零门槛"),
    "fake_proof": ("晒单", "客户又回购了"),
}
BLEND_WEIGHT = 0.4


@pytest.fixture(scope="module")
def blended(release, tmp_path_factory) -> Path:
    """The release with an n-gram model beside it, as a build that chose a blend writes it."""
    directory = shutil.copytree(release, tmp_path_factory.mktemp("blended") / "release")
    texts = corpus()
    y = np.array([[any(cue in t for cue in CUES[label]) for label in LABELS] for t in texts], dtype=int)
    NgramBaseline().fit(texts, y).save(directory / "ngram")
    manifest = read_manifest(release)
    fields = {k: v for k, v in manifest.items() if k not in ("files", "format", "labels")}
    write_manifest(directory, **fields, **{NGRAM_DIR_FIELD: "ngram", NGRAM_WEIGHT_FIELD: BLEND_WEIGHT})
    return directory


def test_a_blended_release_scores_with_the_weighted_sum_of_both_models(blended):
    bundle = load_bundle(blended, intra_op_threads=1)
    assert isinstance(bundle.classifier, BlendedTextClassifier)
    assert describe_model(bundle.manifest) == "?, ? encoder layers + n-gram model at 0.4"
    assert {"ngram/baseline.json", "ngram/weights.npz"} <= set(bundle.manifest["files"])
    posts = ["招代理，月入过万，私我了解", "周末和家人去爬山", "晒单，客户又回购了，感谢信任👍"]
    encoder = OnnxTextClassifier(
        blended / "model.int8.onnx", PostTokenizer.load(blended), 64, intra_op_threads=1
    )
    expected = 0.6 * encoder.logits(posts) + 0.4 * NgramModel.load(blended / "ngram").decision_function(posts)
    np.testing.assert_allclose(bundle.classifier.logits(posts), expected, rtol=0, atol=1e-6)
    # The n-gram share moves the scores the way its cues say.
    ngram = NgramModel.load(blended / "ngram").predict_proba(posts)
    assert ngram[0, LABELS.index("recruitment")] > 0.5 > ngram[1, LABELS.index("recruitment")]


def test_the_blend_normalizes_each_post_once_for_both_models(blended, monkeypatch):
    bundle = load_bundle(blended, intra_op_threads=1)
    posts = ["加薇信了解，zhao dai li", "周末和家人去爬山", "晒单★客户★又回购了"]
    before = bundle.classifier.logits(posts)
    calls = count_normalize_calls(monkeypatch)
    np.testing.assert_array_equal(bundle.classifier.logits(posts), before)
    assert calls == posts
    calls.clear()
    # Posts the caller normalized (the Scorer's) are not normalized again, and score the same.
    np.testing.assert_array_equal(bundle.classifier.logits([normalize(p) for p in posts]), before)
    assert calls == []


def test_the_speed_benchmark_times_the_released_blend_even_when_the_teacher_is_released(blended, tmp_path):
    """A build releases the teacher when the student loses by more than the tolerance; the
    benchmark's "release as served" row must then time the teacher, not the student."""
    from eval.bench_text import backends
    from eval.text_report import BLEND_FILE

    work = tmp_path / "work"
    (work / "onnx").mkdir(parents=True)
    shutil.copytree(blended, work / "tokenizer")
    shutil.copy(blended / "model.int8.onnx", work / "onnx" / "teacher_int8.onnx")
    shutil.copytree(blended / "ngram", work / "baseline")
    (work / BLEND_FILE).write_text(json.dumps({"ngram_weight": BLEND_WEIGHT, "role": "teacher"}))
    timed = backends(work, 64, threads=1)
    assert set(timed) == {
        "ONNX INT8 teacher",
        "ONNX INT8 teacher, groups of 8 (as served)",
        "INT8 teacher + n-gram at 0.4, groups of 8 (release as served)",
    }
    posts = ["招代理，月入过万，私我了解", "周末和家人去爬山", "晒单，客户又回购了"]
    served = load_bundle(blended, intra_op_threads=1).classifier.predict_proba(posts)
    np.testing.assert_allclose(
        timed["INT8 teacher + n-gram at 0.4, groups of 8 (release as served)"](posts), served, atol=1e-6
    )


def test_a_blended_release_refuses_a_tampered_or_half_declared_ngram_model(blended, tmp_path):
    copy = shutil.copytree(blended, tmp_path / "tampered")
    (copy / "ngram" / "weights.npz").write_bytes(b"not an npz")
    with pytest.raises(ValueError, match="changed after the release was built"):
        load_bundle(copy)
    for name, edit, message in (
        (
            "half",
            lambda m: m.pop(NGRAM_WEIGHT_FIELD),
            "must carry both ngram_dir and ngram_weight or neither",
        ),
        ("whole", lambda m: m.update({NGRAM_WEIGHT_FIELD: 1.0}), r"must be a number in \[0, 1\)"),
        ("unhashed", lambda m: m["files"].pop("ngram/weights.npz"), "does not hash 'ngram/weights.npz'"),
    ):
        other = shutil.copytree(blended, tmp_path / name)
        manifest = json.loads((other / MANIFEST).read_text(encoding="utf-8"))
        edit(manifest)
        (other / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            load_bundle(other)


CASCADE_POSTS = [
    "招代理，月入过万，私我了解",
    "周末和家人去爬山",
    "晒单，客户又回购了，感谢信任👍",
    "新品上市，买二送一，有意者加微信",
    "今天，下雨了，好好休息",
    "好消息，包邮到家，私我了解",
]


@pytest.fixture(scope="module")
def cascade(blended, tmp_path_factory) -> Path:
    """The blended release with an escalation model: its own encoder under another name, unblended,
    and a band that sends about half of CASCADE_POSTS to it, as a build with --escalate-band writes it."""
    directory = shutil.copytree(blended, tmp_path_factory.mktemp("cascade") / "release")
    shutil.copy(directory / "model.int8.onnx", directory / "escalation.onnx")
    fast = load_bundle(blended, intra_op_threads=1).classifier.logits(CASCADE_POSTS)
    band = float(np.sort(np.abs(fast).min(axis=1))[len(CASCADE_POSTS) // 2])
    manifest = read_manifest(blended)
    fields = {k: v for k, v in manifest.items() if k not in ("files", "format", "labels")}
    escalation = {"model_file": "escalation.onnx", "band": band, "ngram_weight": 0.0, "model_role": "teacher"}
    write_manifest(directory, **fields, **{ESCALATION_FIELD: escalation})
    return directory


def test_a_cascade_release_rescores_unsure_posts_with_its_escalation_model(cascade, blended):
    bundle = load_bundle(cascade, intra_op_threads=1)
    assert isinstance(bundle.classifier, CascadeTextClassifier)
    band = bundle.manifest[ESCALATION_FIELD]["band"]
    assert describe_model(bundle.manifest) == (
        f"?, ? encoder layers + n-gram model at 0.4; posts within {band:g} of the boundary re-scored by the"
        " teacher (? layers)"
    )
    fast = load_bundle(blended, intra_op_threads=1).classifier.logits(CASCADE_POSTS)
    slow = OnnxTextClassifier(
        cascade / "escalation.onnx", PostTokenizer.load(cascade), 64, intra_op_threads=1
    )
    unsure = escalated(fast, band)
    assert 0 < unsure.sum() < len(CASCADE_POSTS)
    got = bundle.classifier.logits(CASCADE_POSTS)
    np.testing.assert_allclose(got[~unsure], fast[~unsure], rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        got[unsure], slow.logits([p for p, u in zip(CASCADE_POSTS, unsure, strict=True) if u]), atol=1e-6
    )


def test_the_cascade_normalizes_each_post_once_for_both_models(cascade, monkeypatch):
    bundle = load_bundle(cascade, intra_op_threads=1)
    before = bundle.classifier.logits(CASCADE_POSTS)
    calls = count_normalize_calls(monkeypatch)
    np.testing.assert_array_equal(bundle.classifier.logits(CASCADE_POSTS), before)
    assert calls == CASCADE_POSTS


def test_the_speed_benchmark_times_the_cascade_as_served(cascade, tmp_path):
    from eval.bench_text import backends
    from eval.text_report import BLEND_FILE

    work = tmp_path / "work"
    (work / "onnx").mkdir(parents=True)
    shutil.copytree(cascade, work / "tokenizer")
    shutil.copy(cascade / "model.int8.onnx", work / "onnx" / "student_int8.onnx")
    shutil.copy(cascade / "escalation.onnx", work / "onnx" / "teacher_int8.onnx")
    shutil.copytree(cascade / "ngram", work / "baseline")
    escalation = read_manifest(cascade)[ESCALATION_FIELD]
    record = {"band": escalation["band"], "role": "teacher", "ngram_weight": 0.0}
    (work / BLEND_FILE).write_text(
        json.dumps({"ngram_weight": BLEND_WEIGHT, "role": "student", "escalation": record})
    )
    timed = backends(work, 64, threads=1)
    row = f"cascade: the above, posts within {escalation['band']:g} re-scored by the INT8 teacher (release as served)"
    assert [name for name in timed if "release as served" in name] == [row]
    served = load_bundle(cascade, intra_op_threads=1).classifier.predict_proba(CASCADE_POSTS)
    np.testing.assert_allclose(timed[row](CASCADE_POSTS), served, atol=1e-6)


def test_a_cascade_release_refuses_a_bad_or_tampered_escalation(cascade, tmp_path):
    copy = shutil.copytree(cascade, tmp_path / "tampered")
    shutil.copy(copy / "ngram" / "weights.npz", copy / "escalation.onnx")
    with pytest.raises(ValueError, match="changed after the release was built"):
        load_bundle(copy)
    for name, edit, message in (
        (
            "no-band",
            lambda e, m: e.pop("band"),
            "must be an object with model_file, ngram_weight and one of band",
        ),
        (
            "band-and-window",
            lambda e, m: e.update(window={label: [-1.0, 1.0] for label in LABELS}),
            "must be an object with model_file, ngram_weight and one of band or window",
        ),
        ("zero-band", lambda e, m: e.update(band=0), "'band' of .* must be a positive number"),
        (
            "empty-window",
            lambda e, m: (e.pop("band"), e.update(window={label: [1.0, 1.0] for label in LABELS})),
            r"'window' of .* must be an object with hard_sell, recruitment, fake_proof, each \[low, high\]",
        ),
        (
            "window-missing-a-label",
            lambda e, m: (e.pop("band"), e.update(window={"hard_sell": [-1.0, 1.0]})),
            r"'window' of .* must be an object with hard_sell",
        ),
        ("weight", lambda e, m: e.update(ngram_weight=-0.5), r"must be a number in \[0, 1\)"),
        (
            "no-ngram",
            lambda e, m: (e.update(ngram_weight=0.5), m.pop(NGRAM_DIR_FIELD), m.pop(NGRAM_WEIGHT_FIELD)),
            "blends its escalation model with an n-gram model but has no ngram_dir",
        ),
        ("unhashed", lambda e, m: m["files"].pop("escalation.onnx"), "does not hash 'escalation.onnx'"),
    ):
        other = shutil.copytree(cascade, tmp_path / name)
        manifest = json.loads((other / MANIFEST).read_text(encoding="utf-8"))
        edit(manifest[ESCALATION_FIELD], manifest)
        (other / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            load_bundle(other)
    manifest = read_manifest(cascade)
    fields = {k: v for k, v in manifest.items() if k not in ("files", "format", "labels")}
    fields[ESCALATION_FIELD] = {**fields[ESCALATION_FIELD], "model_file": "missing.onnx"}
    with pytest.raises(ValueError, match="escalation 'model_file' of write_manifest must name a file"):
        write_manifest(tmp_path / "tampered", **fields)


def test_a_cascade_whose_models_share_weights_scores_as_before_and_hashes_the_shared_file(cascade, tmp_path):
    shared = shutil.copytree(cascade, tmp_path / "shared")
    moved = share_initializers(
        [shared / "model.int8.onnx", shared / "escalation.onnx"], SHARED_WEIGHTS_FILE, min_bytes=1024
    )
    sizes = {
        f: ((shared / f).stat().st_size, (cascade / f).stat().st_size)
        for f in ("model.int8.onnx", "escalation.onnx")
    }
    assert moved and all(now < before for now, before in sizes.values()), sizes
    fields = {k: v for k, v in read_manifest(cascade).items() if k not in ("files", "format", "labels")}
    write_manifest(shared, **fields, **{SHARED_WEIGHTS_FIELD: SHARED_WEIGHTS_FILE})
    np.testing.assert_array_equal(
        load_bundle(shared, intra_op_threads=1).classifier.logits(CASCADE_POSTS),
        load_bundle(cascade, intra_op_threads=1).classifier.logits(CASCADE_POSTS),
    )
    manifest = json.loads((shared / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"].pop(SHARED_WEIGHTS_FILE)
    (shared / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ValueError, match=f"does not hash '{SHARED_WEIGHTS_FILE}'"):
        load_bundle(shared)


def test_end_to_end_bundle_predicts(release):
    bundle = load_bundle(release, intra_op_threads=1)
    assert bundle.manifest["labels"] == list(LABELS) and bundle.manifest["seed"] == 0
    assert bundle.policy_path == release / "policy.json"
    assert set(bundle.manifest["files"]) == {
        "model.int8.onnx",
        "policy.json",
        "tokenizer.json",
        "char_map.json",
    }
    probs = bundle.classifier.predict_proba(["招代理，月入过万，私我了解", "周末和家人去爬山", "Hello 👋"])
    assert probs.shape == (3, len(LABELS)) and np.isfinite(probs).all()
    sizes = {p.name: p.stat().st_size for p in release.iterdir()}
    print(f"\nrelease sizes (bytes): {sizes}")


def test_model_card_edits_do_not_break_the_release(release, tmp_path):
    copy = shutil.copytree(release, tmp_path / "r")
    (copy / "MODEL_CARD.md").write_text("# edited\n", encoding="utf-8")
    read_manifest(copy)


def test_tampered_file_is_refused(release, tmp_path):
    copy = shutil.copytree(release, tmp_path / "r")
    (copy / "policy.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="changed after the release was built"):
        load_bundle(copy)


def test_missing_release_says_how_to_build(tmp_path):
    with pytest.raises(FileNotFoundError, match="feedguard model build"):
        load_bundle(tmp_path)


def test_missing_file_and_wrong_labels_are_refused(release, tmp_path):
    copy = shutil.copytree(release, tmp_path / "r")
    (copy / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"tokenizer\.json"):
        load_bundle(copy)
    other = shutil.copytree(release, tmp_path / "s")
    manifest = json.loads((other / MANIFEST).read_text(encoding="utf-8"))
    manifest["labels"] = ["spam"]
    (other / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ValueError, match="labels"):
        load_bundle(other)


def test_write_manifest_requires_fields(release, tmp_path):
    with pytest.raises(ValueError, match="max_length"):
        write_manifest(release, model_file="model.int8.onnx", policy_file="policy.json")
    with pytest.raises(ValueError, match="'model_file' field"):
        write_manifest(tmp_path, model_file="nope.onnx", policy_file="policy.json", max_length=64)


@pytest.mark.parametrize("which", ["release", "blended"])
def test_serving_path_does_not_import_torch(which, request):
    """The feed service embeds the bundle loader without torch: load and score in a fresh interpreter."""
    directory = request.getfixturevalue(which)
    code = (
        "import sys; from model.bundle import load_bundle; "
        f"b = load_bundle({str(directory)!r}); b.classifier.predict_proba(['招代理']); "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'torch imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=MODEL_DIR.parent, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
