"""Distillation: a student with fewer layers, initialised from the teacher's, trained on its soft labels.

Why: on 2 CPU cores the 12-layer encoder costs ~7 ms per post at best (ANCHORS.md), and
the feed scores every new post. A student keeping a few of the fine-tuned teacher's
layers starts close to the teacher and learns the rest from the teacher's softened
probabilities (which carry more than the 0/1 labels: how sure, and which labels go
together) mixed with the hard labels. The release picks the student only if it stays
within a stated margin of the teacher on the selection sets; figures decide, not hope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from train.dataset import TextSplit
from train.finetune import TrainConfig, TrainResult, module_layer_count, train_classifier


def spread_layers(teacher_layers: int, keep: int) -> list[int]:
    """``keep`` layer indices spread evenly over the teacher's, always including the last.

    The last layer is the one the head was trained on; the lower ones carry the
    lexical features. ``spread_layers(12, 4) == [0, 4, 7, 11]``.
    """
    if not 0 < keep <= teacher_layers:
        raise ValueError(
            f"The 'keep' parameter of spread_layers must be in 1..{teacher_layers}; got {keep!r} instead."
        )
    if keep == 1:
        return [teacher_layers - 1]
    return sorted(set(np.rint(np.linspace(0, teacher_layers - 1, keep)).astype(int).tolist()))


#: How a student keeps ``n`` of the teacher's layers: evenly spread, or the bottom ``n``.
STUDENT_PICKS = ("spread", "bottom")


def pick_layers(teacher_layers: int, keep: int, pick: str = "spread") -> list[int]:
    """The teacher layer indices a student keeps.

    ``"bottom"`` keeps layers ``0..keep-1``: each kept layer still reads the output of the
    layer it was trained on, where a spread pick feeds layer 4 what layer 0 made. Dropping
    the top layers is what Sajjad et al. (2020, "On the effect of dropping layers of
    pre-trained transformer models") found best for BERT-like encoders.
    """
    if pick not in STUDENT_PICKS:
        raise ValueError(
            f"The 'pick' parameter of pick_layers must be one of {', '.join(STUDENT_PICKS)}; got {pick!r} instead."
        )
    if pick == "spread":
        return spread_layers(teacher_layers, keep)
    if not 0 < keep <= teacher_layers:
        raise ValueError(
            f"The 'keep' parameter of pick_layers must be in 1..{teacher_layers}; got {keep!r} instead."
        )
    return list(range(keep))


def distill_student(
    teacher_dir: Path,
    tokenizer,
    train: TextSplit,
    selection: Mapping[str, TextSplit],
    layers: Sequence[int] | int,
    config: TrainConfig,
    out_dir: Path,
    *,
    resume: bool = True,
    fingerprint: str = "",
    progress: bool = True,
    extra_teacher_dirs: Sequence[Path] = (),
) -> TrainResult:
    """Train a student from the teacher saved in ``teacher_dir``; ``layers`` is a count or explicit indices.

    With ``extra_teacher_dirs`` the soft labels are the mean logits of all the teachers
    (train.teacher_mean); the student still starts from ``teacher_dir``'s layers.
    """
    from model.text_classifier import load_module, student_from_teacher

    if extra_teacher_dirs and config.distill_embed > 0:
        raise ValueError(
            "distill_student cannot match the post embedding (distill_embed > 0) of several teachers;"
            " pass no extra_teacher_dirs or set distill_embed to 0."
        )
    teacher = load_module(Path(teacher_dir))
    n_teacher = module_layer_count(teacher)
    chosen = spread_layers(n_teacher, layers) if isinstance(layers, int) else [int(i) for i in layers]
    if not chosen or any(not 0 <= i < n_teacher for i in chosen):
        raise ValueError(
            f"The 'layers' parameter of distill_student must pick layers in 0..{n_teacher - 1}; got {chosen} instead."
        )
    # A second copy for the student, so the teacher stays exactly as trained.
    student = student_from_teacher(load_module(Path(teacher_dir)), chosen)
    if extra_teacher_dirs:
        from train.teacher_mean import TeacherMean

        teacher = TeacherMean([teacher, *(load_module(Path(d)) for d in extra_teacher_dirs)])
    return train_classifier(
        student,
        tokenizer,
        train,
        selection,
        config,
        out_dir,
        teacher=teacher,
        resume=resume,
        fingerprint=fingerprint,
        progress=progress,
    )
