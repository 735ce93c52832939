"""A stand-in model release: the real architecture and export path, without training.

The real release takes hours to build (``feedguard model build``). What the batch job's tests must
show (same answers as ``Scorer.score``, deterministic reruns) depends on the plumbing, and what
its benchmark measures depends on the architecture, not on the model's quality. So both can use a
student of the real pretrained encoder (untrained head), exported and INT8-quantized by the real
export code, with a real policy file whose thresholds sit at quantiles of the model's own scores
on the given texts, so that every action occurs. Its scores mean nothing; never ship it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from model.labels import LABELS

#: Fusion rules (train/policy_rules.json's values, with a lower duplicate count so that tests see it act).
STANDIN_RULES = {
    "duplicate_accounts_review": 3,
    "history_window": 20,
    "history_min_posts": 3,
    "history_seller_ratio": 0.6,
    "history_bump": 0.1,
}
#: Score quantiles used as the label / review / hide thresholds.
QUANTILES = {"label": 0.6, "review": 0.85, "hide": 0.95}


def build_standin_release(
    directory: Path, texts: Sequence[str], *, layers: Sequence[int] = (0, 6), max_length: int = 64
) -> Path:
    """Build a release in ``directory`` whose vocabulary covers ``texts``; returns ``directory``.

    ``layers`` are the encoder layers kept (the release's student keeps 4 of 12, see
    ``train/release.py``); ``max_length`` is the token limit (128 in the release).
    """
    import torch

    from model.bundle import write_manifest
    from model.encoder_weights import build_e5_encoder
    from model.onnx_classifier import OnnxTextClassifier
    from model.onnx_export import export_onnx, quantize_int8
    from model.policy import Policy
    from model.text_classifier import TextClassifierModule, student_from_teacher
    from model.tokenizer import PostTokenizer
    from model.vocab import select_vocab

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    base = PostTokenizer.base()
    keep = select_vocab(texts, base)
    torch.manual_seed(0)
    student = student_from_teacher(TextClassifierModule(build_e5_encoder(keep)), list(layers)).eval()
    with tempfile.TemporaryDirectory() as work:
        fp32 = export_onnx(student, Path(work) / "model.onnx")
        quantize_int8(fp32, directory / "model.int8.onnx")
    tokenizer = base.pruned(keep)
    tokenizer.save(directory)
    classifier = OnnxTextClassifier(directory / "model.int8.onnx", tokenizer, max_length, intra_op_threads=1)
    scores = classifier.predict_proba(list(texts))
    thresholds = {
        action: {
            label: round(float(np.quantile(scores[:, LABELS.index(label)], q)), 4)
            for label in (LABELS if action == "label" else ("recruitment", "fake_proof"))
        }
        for action, q in QUANTILES.items()
    }
    Policy(
        thresholds=thresholds,
        rules=dict(STANDIN_RULES),
        chosen_on={"data": "stand-in: quantiles of its own scores"},
    ).save(directory / "policy.json")
    write_manifest(
        directory,
        model_file="model.int8.onnx",
        policy_file="policy.json",
        max_length=max_length,
        version="standin-untrained",
    )
    return directory
