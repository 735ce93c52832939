"""Tiny real releases for the tests of commands that make a release from released ones (shrink, cascade)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.bundle import NGRAM_DIR_FIELD, NGRAM_WEIGHT_FIELD, read_manifest, write_manifest
from model.labels import LABELS
from model.policy import Policy
from train.baseline import NgramBaseline
from train.release import build_untrained_release

SELLING = [
    "招代理，零门槛，私我",
    "晒单！客户又回购了",
    "买二送一，包邮到家，加薇信",
    "宝妈在家也能做，带团队",
]
ORDINARY = ["周末和家人去爬山", "今天下雨了，好好休息", "和朋友吃火锅太开心了", "孩子考试考得不错"]
POSTS = SELLING + ORDINARY
#: Every pair of POSTS joined: enough text for a vocabulary and an n-gram fit, labelled by whether a seller line is in it.
PAIRED = [f"{a}。{b}" for a in POSTS for b in POSTS]
PAIRED_Y = np.array([[int(any(s in t for s in SELLING))] * len(LABELS) for t in PAIRED])


def blended_release(
    directory: Path,
    *,
    layers: int,
    hidden: int,
    weight: float,
    seed: int = 13,
    policy: Policy | None = None,
) -> Path:
    """An untrained release blended at ``weight`` with the n-gram model fitted on PAIRED, as a build writes one.

    Every release made here from the same PAIRED shares one tokenizer and one n-gram fit.
    """
    build_untrained_release(directory, PAIRED, layers=layers, hidden=hidden, seed=seed, policy=policy)
    NgramBaseline().fit(PAIRED, PAIRED_Y).save(directory / "ngram")
    manifest = read_manifest(directory)
    fields = {k: v for k, v in manifest.items() if k not in ("files", "format", "labels")}
    write_manifest(directory, **fields, **{NGRAM_DIR_FIELD: "ngram", NGRAM_WEIGHT_FIELD: weight})
    return directory
