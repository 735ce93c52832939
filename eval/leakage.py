"""Leakage checks on a dataset build: is the label guessable from where the text came from?

1. Within the normal label, a char n-gram classifier tries to tell generated posts from
   real text. If it can, "sounds generated" is a feature a model could learn, and since all
   spam is generated, it would then score real-world normal posts by style, not by purpose.
   We report its cross-validated accuracy next to the majority baseline.
2. A plain char n-gram label classifier (TF-IDF + one-vs-rest logistic regression) trained
   on ``train`` and scored on ``test`` (unseen families) and ``evasion``: a floor any
   fine-tuned model must beat, and a measure of how much surface n-grams already give away.
Both run on normalized text, which is what the models see.
"""

from __future__ import annotations

import importlib.util
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline

from data.build import load_build
from data.manifest import load_manifest
from model.labels import LABELS
from model.normalize import normalize

DEFAULT_REPORT = Path(__file__).resolve().parent / "reports" / "leakage.md"

#: At most this many normal posts go into the source classifier's cross-validation (keeps it fast).
MAX_SOURCE_ROWS = 12000
#: Cross-validation folds for the source classifier.
FOLDS = 5


@dataclass
class LeakageResult:
    """Figures from one leakage run; every score is in [0, 1]."""

    source_accuracy: float  # generated-vs-real within normal, cross-validated
    source_majority: float  # accuracy of always guessing the larger class
    source_auc: float
    source_rows: int
    folds: int
    label_macro_f1: dict[str, float] = field(default_factory=dict)  # split -> macro-F1 over LABELS
    label_f1: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> label -> F1
    real_normal_flagged: float = 0.0  # share of real_normal posts given any label
    devset_macro_f1: float | None = None  # on the hand-written dev set, when data/devset.py is present
    devset_rows: int = 0
    markdown: str = ""


def _norm(texts: list[str]) -> list[str]:
    return [normalize(t).text for t in texts]


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True, max_features=200_000
    )


def source_check(
    texts: list[str], is_real: list[bool], seed: int, folds: int = FOLDS
) -> tuple[float, float, float, int]:
    """Cross-validated (accuracy, majority baseline, ROC AUC, rows) of telling real from generated."""
    idx = list(range(len(texts)))
    random.Random(seed).shuffle(idx)
    idx = idx[:MAX_SOURCE_ROWS]
    x = [texts[i] for i in idx]
    y = np.array([is_real[i] for i in idx], dtype=int)
    n_pos = int(y.sum())
    if min(n_pos, len(y) - n_pos) < folds:
        raise ValueError(
            f"The build needs at least {folds} real and {folds} generated normal posts for the source check; "
            f"got {n_pos} real and {len(y) - n_pos} generated."
        )
    pipe = make_pipeline(_vectorizer(), LogisticRegression(max_iter=2000, C=4.0))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = cross_validate(pipe, x, y, cv=cv, scoring=("accuracy", "roc_auc"))
    majority = max(n_pos, len(y) - n_pos) / len(y)
    return float(scores["test_accuracy"].mean()), majority, float(scores["test_roc_auc"].mean()), len(y)


def _label_matrix(rows: dict[str, list[int]]) -> np.ndarray:
    return np.stack([np.asarray(rows[label], dtype=int) for label in LABELS], axis=1)


def run_leakage(
    data_dir: Path, report_path: Path | None = DEFAULT_REPORT, seed: int = 13, folds: int = FOLDS
) -> LeakageResult:
    """Run both checks on the build in ``data_dir``; write the Markdown report to ``report_path`` if given."""
    if not isinstance(folds, int) or folds < 2:
        raise ValueError(f"The 'folds' parameter of run_leakage must be an int >= 2; got {folds!r} instead.")
    dd = load_build(Path(data_dir))
    manifest = load_manifest(Path(data_dir))

    # 1. generated vs real inside the normal label (evasion repeats test rows: leave it out).
    texts: list[str] = []
    is_real: list[bool] = []
    for split in ("train", "validation", "test", "real_normal"):
        ds = dd[split].select_columns(["text", "labels", "source"])
        for text, labels, source in zip(ds["text"], ds["labels"], ds["source"], strict=True):
            if not labels:
                texts.append(text)
                is_real.append(source.startswith("real:"))
    acc, majority, auc, n_rows = source_check(_norm(texts), is_real, seed, folds)

    # 2. char n-gram label classifier: train -> test, evasion.
    train = dd["train"].select_columns(["text", *LABELS])
    vec = _vectorizer()
    x_train = vec.fit_transform(_norm(train["text"]))
    y_train = _label_matrix(train.to_dict())
    clf = OneVsRestClassifier(LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced"))
    clf.fit(x_train, y_train)
    macro: dict[str, float] = {}
    per_label: dict[str, dict[str, float]] = {}
    for split in ("validation", "test", "evasion"):
        part = dd[split].select_columns(["text", *LABELS])
        if part.num_rows == 0:
            continue
        y_true = _label_matrix(part.to_dict())
        y_pred = clf.predict(vec.transform(_norm(part["text"])))
        macro[split] = float(f1_score(y_true, y_pred, average="macro", zero_division=0))
        per_label[split] = {
            label: float(f)
            for label, f in zip(LABELS, f1_score(y_true, y_pred, average=None, zero_division=0), strict=True)
        }
    real = dd["real_normal"]["text"]
    flagged = float(clf.predict(vec.transform(_norm(real))).any(axis=1).mean()) if real else 0.0

    dev_f1: float | None = None
    dev_rows = 0
    if importlib.util.find_spec("data.devset") is not None:  # the hand-written set: the figure that matters
        from data.devset import load_devset

        dev = load_devset()
        if dev:
            y_dev = np.array([[int(label in r["labels"]) for label in LABELS] for r in dev])
            y_hat = clf.predict(vec.transform(_norm([r["text"] for r in dev])))
            dev_f1 = float(f1_score(y_dev, y_hat, average="macro", zero_division=0))
            dev_rows = len(dev)

    result = LeakageResult(
        source_accuracy=acc,
        source_majority=majority,
        source_auc=auc,
        source_rows=n_rows,
        folds=folds,
        label_macro_f1=macro,
        label_f1=per_label,
        real_normal_flagged=flagged,
        devset_macro_f1=dev_f1,
        devset_rows=dev_rows,
    )
    result.markdown = _markdown(result, data_dir, manifest)
    if report_path is not None:
        Path(report_path).parent.mkdir(parents=True, exist_ok=True)
        Path(report_path).write_text(result.markdown, encoding="utf-8")
    return result


def _markdown(r: LeakageResult, data_dir: Path, manifest: dict) -> str:
    lines = [
        "# Leakage check",
        "",
        f"Build: `{data_dir}` (size {manifest['size']}, seed {manifest['seed']}, code {manifest['code_version']}, "
        f"train sha256 `{manifest['splits']['train']['sha256'][:12]}`).",
        f"Command: `feedguard data leakage --data {data_dir}`. Text is normalized first (model.normalize).",
        "",
        "## 1. Generated vs real text, within the normal label",
        "",
        f"Char 1-3-gram TF-IDF + logistic regression, {r.folds}-fold cross-validation on {r.source_rows} normal posts "
        "(real = standalone real text; generated = generator output, including posts that quote real text).",
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| accuracy | {r.source_accuracy:.3f} |",
        f"| majority baseline | {r.source_majority:.3f} |",
        f"| ROC AUC | {r.source_auc:.3f} |",
        "",
        "Accuracy well above the baseline means real and generated normal posts differ in style, so a",
        "model could lean on 'sounds generated' rather than on what a post is for.",
        "",
        "## 2. Char n-gram label classifier (train -> held-out families)",
        "",
        "TF-IDF char 1-3-grams + one-vs-rest logistic regression (balanced), threshold 0.5.",
        "",
        "| split | macro-F1 | " + " | ".join(LABELS) + " |",
        "| --- | --- | " + " | ".join("---" for _ in LABELS) + " |",
    ]
    for split, m in r.label_macro_f1.items():
        lines.append(
            f"| {split} | {m:.3f} | " + " | ".join(f"{r.label_f1[split][k]:.3f}" for k in LABELS) + " |"
        )
    lines += [
        "",
        f"real_normal posts given any label: {r.real_normal_flagged:.3f} (lower is better).",
        "",
    ]
    if r.devset_macro_f1 is not None:
        lines += [
            f"Hand-written dev set (data/devset, {r.devset_rows} posts, no generator involved): "
            f"macro-F1 {r.devset_macro_f1:.3f}. The gap to `test` is how much the n-grams learned the generator.",
            "",
        ]
    return "\n".join(lines)
