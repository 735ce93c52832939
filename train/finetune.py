"""Fine-tuning loop for the text classifier (teacher), reused by distillation (student).

A plain torch loop, because every piece the issue asks for is a few lines here and
none of them fights a framework: AdamW with linear warmup/decay, multi-label BCE,
dynamic padding with length bucketing (batches of similar length, so a batch of short
posts is not padded to the longest post of the epoch), early stopping on the
selection sets' macro-F1, checkpoints every N steps that a killed run resumes from
exactly (model, optimizer, RNG, position in the epoch, the step plan), a log file and a
seed. No pickle: checkpoints are safetensors + JSON.

Time budget: on 2 CPU cores the step count is what can be afforded, not what converges.
With ``time_budget_s`` the loop times its first ``probe_steps`` steps and fixes the
total step count (and so the LR schedule) from the measured step time, then re-plans
after every evaluation from the pace of the interval just finished (steps, evaluation
and checkpoints together). The probe alone was not enough: on the 12-layer teacher it
measured 0.59 s/step and the run went at ~1.1 s/step, so the learning rate had not
decayed when the budget ran out. The plan is stored in the checkpoint so a resumed
run keeps it.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from model.labels import LABELS
from train.dataset import TextSplit, check_source_repeat, repeat_sources

log = logging.getLogger("feedguard.train")

CHECKPOINT_FORMAT = "feedguard-checkpoint/1"


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one training run (it is hashed into the run's fingerprint)."""

    max_length: int = 128
    batch_size: int = 16
    learning_rate: float = 5e-5
    #: The freshly initialised head learns faster than the pretrained encoder.
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    #: Upper bound on training length, in passes over the training split.
    epochs: float = 2.0
    #: Hard cap on optimizer steps (None: from ``epochs``, and ``time_budget_s`` if set).
    max_steps: int | None = None
    #: Wall-clock budget for the whole run (training + its evaluations), in seconds.
    time_budget_s: float | None = None
    probe_steps: int = 8
    eval_every: int = 200
    checkpoint_every: int = 100
    #: Stop after this many evaluations without a better selection score.
    patience: int = 4
    #: Evaluate on at most this many rows of each selection split (the dev set is small and kept whole).
    eval_max_rows: int | None = 2000
    seed: int = 13
    #: Frozen word embeddings keep pieces never seen in training consistent with the ones that were.
    freeze_embeddings: bool = True
    grad_clip: float = 1.0
    #: Length bucketing: sort within windows of this many batches, then shuffle the batches.
    bucket_batches: int = 50
    #: Distillation: weight of the teacher's soft labels vs the hard labels, and the softening temperature.
    distill_alpha: float = 0.7
    distill_temperature: float = 2.0
    #: Distillation: spliced posts (train.augment) added to each batch, as a share of the batch size;
    #: they train on the teacher's soft labels only. 0 adds none.
    distill_splice: float = 0.0
    #: Distillation: weight of matching the teacher's post embedding (the pooled vector the head
    #: reads; mean squared error relative to the teacher vectors' mean square). 0 leaves it out.
    distill_embed: float = 0.0
    #: Decay of a moving average of the weights (train.averaging) that is evaluated, selected and
    #: saved in place of the raw weights. 0 keeps the raw weights.
    ema_decay: float = 0.0
    #: Rows of these sources appear this many times per pass over train, ``(("handwritten", 4),)``:
    #: a source that is a small share of train but the register the model must read gets more of
    #: the steps. () trains on each row once.
    source_repeat: tuple[tuple[str, int], ...] = ()
    #: Weight of each label's term of the loss (hard and soft labels alike), in ``LABELS`` order, scaled
    #: to mean 1 so the loss keeps its size. Why: ``fake_proof`` is the label the held-out families
    #: rank worst (session 41, r23's teacher: average precision 0.90 on test against 0.94 and 0.99), and with equal terms
    #: the shared encoder spends its gradient on the two labels it already gets right. () weighs all the same.
    label_weights: tuple[float, ...] = ()
    keep_checkpoints: int = 2
    #: CPU threads for torch: a number fixes it; None tunes it while training (see ThreadTuner).
    threads: int | None = None

    def __post_init__(self) -> None:
        positive = ("max_length", "batch_size", "eval_every", "checkpoint_every", "patience", "probe_steps")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"The {name!r} parameter of TrainConfig must be a positive int; got {value!r} instead."
                )
        if self.max_steps is not None and self.max_steps <= 0:
            raise ValueError(
                f"The 'max_steps' parameter of TrainConfig must be > 0; got {self.max_steps!r} instead."
            )
        if self.time_budget_s is not None and self.time_budget_s <= 0:
            raise ValueError(
                f"The 'time_budget_s' parameter of TrainConfig must be > 0; got {self.time_budget_s!r} instead."
            )
        if not 0.0 <= self.distill_alpha <= 1.0:
            raise ValueError(
                f"The 'distill_alpha' parameter of TrainConfig must be in [0, 1]; got {self.distill_alpha!r} instead."
            )
        if not 0.0 <= self.distill_embed <= 100.0:
            raise ValueError(
                f"The 'distill_embed' parameter of TrainConfig must be in [0, 100]; got {self.distill_embed!r} instead."
            )
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(
                f"The 'ema_decay' parameter of TrainConfig must be in [0, 1); got {self.ema_decay!r} instead."
            )
        if not 0.0 <= self.distill_splice <= 4.0:
            raise ValueError(
                f"The 'distill_splice' parameter of TrainConfig must be in [0, 4]; got {self.distill_splice!r} instead."
            )
        check_source_repeat(self.source_repeat, "TrainConfig")
        weights = self.label_weights
        if weights != () and not (
            isinstance(weights, tuple)
            and len(weights) == len(LABELS)
            and all(isinstance(w, int | float) and not isinstance(w, bool) and 0 < w <= 10 for w in weights)
        ):
            raise ValueError(
                f"The 'label_weights' parameter of TrainConfig must be () or {len(LABELS)} numbers in (0, 10]"
                f" ({', '.join(LABELS)}); got {weights!r} instead."
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """What a run produced; ``best_dir`` holds the selected module (``model.text_classifier.save_module``)."""

    best_dir: Path
    best_step: int
    best_score: float
    steps: int
    total_steps: int
    step_time_s: float
    elapsed_s: float
    stopped: str
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["best_dir"] = str(self.best_dir)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainResult:
        return cls(**{**d, "best_dir": Path(d["best_dir"])})


# ---------------------------------------------------------------------------- helpers
def label_loss_weights(config: TrainConfig) -> np.ndarray:
    """``config.label_weights`` scaled to mean 1 (float32, one per label; all 1 when none are set)."""
    weights = np.asarray(config.label_weights or (1.0,) * len(LABELS), dtype=np.float32)
    return weights / weights.mean()


def device_for_training() -> str:
    """``cuda`` when a GPU is visible (a lent machine), else ``cpu``: the same code runs on both."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def macro_f1(y: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> float:
    """Macro-F1 over LABELS at one threshold (labels with no positives and no predictions count as 1)."""
    from sklearn.metrics import f1_score

    if len(y) == 0:
        return float("nan")
    return float(
        f1_score(y.astype(int), (probs >= threshold).astype(int), average="macro", zero_division=1.0)
    )


def bucketed_batches(
    lengths: np.ndarray, batch_size: int, seed: int, epoch: int, window: int
) -> list[np.ndarray]:
    """One epoch's batches: shuffled, sorted by length inside windows, batch order shuffled.

    Deterministic in (seed, epoch), so a resumed run rebuilds the same epoch and skips
    to its position instead of storing the order.
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    span = batch_size * max(1, window)
    batches: list[np.ndarray] = []
    for start in range(0, len(order), span):
        chunk = order[start : start + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    perm = rng.permutation(len(batches))
    return [batches[i] for i in perm]


def pace_note(step: int, total: int, elapsed_s: float) -> str:
    """The run's mean pace so far and the minutes left at it, for the log of a long run without bars
    (a step-capped build on a slow host outlasts a session; its operator needs the finish time)."""
    if step <= 0:
        return ""
    pace = elapsed_s / step
    return f"; {pace:.2f} s/step, ~{max(0, total - step) * pace / 60:.0f} min to step {total}"


def plan_steps(step: int, elapsed_s: float, budget_s: float, pace_s: float, cap: int) -> int:
    """Total steps the rest of the budget affords at ``pace_s`` seconds a step, within ``[step, cap]``."""
    if pace_s <= 0:
        return max(step, cap)
    afford = step + int(max(0.0, budget_s - elapsed_s) / pace_s)
    return max(step, min(cap, afford))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _bert_parameters(module) -> set[int]:
    from transformers import BertModel

    ids: set[int] = set()
    for sub in module.modules():
        if isinstance(sub, BertModel):
            ids.update(id(p) for p in sub.parameters())
    return ids


def _param_groups(module, config: TrainConfig) -> list[dict[str, Any]]:
    encoder_ids = _bert_parameters(module)
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        is_head = id(p) not in encoder_ids
        no_decay = name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name or p.ndim == 1
        groups.setdefault((is_head, no_decay), []).append(p)
    return [
        {
            "params": params,
            "lr": config.head_learning_rate if is_head else config.learning_rate,
            "weight_decay": 0.0 if no_decay else config.weight_decay,
        }
        for (is_head, no_decay), params in sorted(groups.items())
    ]


def _freeze_word_embeddings(module) -> int:
    frozen = 0
    for name, p in module.named_parameters():
        if name.endswith("word_embeddings.weight"):
            p.requires_grad_(False)
            frozen += p.numel()
    return frozen


class ThreadTuner:
    """Chooses torch's CPU thread count while training, by measurement, again and again.

    On this 2-core machine shared with other jobs, two OpenMP threads that must wait for a
    busy core are far slower than one (measured here under load: 12-layer step 22.9 s with 2
    threads vs 2.0 s with 1; on an idle machine 2 threads win). Which is faster changes as
    other jobs come and go, so every ``every`` steps the loop runs ``trial`` steps with the
    other thread count and keeps whichever did more tokens per second. Thread count changes
    float summation order, so a tuned run is not bit-reproducible; fix ``threads`` for that.
    """

    def __init__(self, torch, fixed: int | None, *, every: int = 200, trial: int = 3) -> None:
        import os
        from collections import deque

        self.torch = torch
        self.every, self.trial = every, trial
        most = max(1, os.cpu_count() or 1)
        if fixed is not None:
            torch.set_num_threads(fixed)
            self.candidates = [fixed]
        else:
            self.candidates = sorted({1, most})
        self.incumbent = torch.get_num_threads() if fixed is None else fixed
        if self.incumbent not in self.candidates:
            self.incumbent = self.candidates[-1]
        self.samples = {c: deque(maxlen=8) for c in self.candidates}
        self.enabled = len(self.candidates) > 1
        self.t0 = 0.0

    def _trial_step(self, local_step: int) -> bool:
        """Steps run on the other thread count: 1..trial at once, then the last ``trial`` of every ``every``.

        Local steps count from 0 in this process; step 0 pays one-off warm-up costs and is never
        timed. Steps trial+1..2*trial time the incumbent, so the first choice is made early.
        """
        if not self.enabled or local_step < 1:
            return False
        if local_step <= self.trial:
            return True
        late = local_step - 2 * self.trial - 1
        return late >= 0 and late % self.every >= self.every - self.trial

    def _decide_after(self, local_step: int) -> bool:
        if local_step == 2 * self.trial:
            return True
        return (
            self._trial_step(local_step) and not self._trial_step(local_step + 1) and local_step > self.trial
        )

    def before(self, local_step: int) -> None:
        if not self.enabled:
            return
        other = next(c for c in self.candidates if c != self.incumbent)
        self.torch.set_num_threads(other if self._trial_step(local_step) else self.incumbent)
        self.t0 = time.perf_counter()

    def after(self, local_step: int, tokens: int) -> None:
        if not self.enabled or local_step == 0:
            return
        self.samples[self.torch.get_num_threads()].append((time.perf_counter() - self.t0) / max(1, tokens))
        if self._decide_after(local_step) and all(self.samples[c] for c in self.candidates):
            best = min(self.candidates, key=lambda c: float(np.median(self.samples[c])))
            if best != self.incumbent:
                log.info(
                    "thread tuner: %d threads are faster now (%s); switching from %d",
                    best,
                    {c: f"{np.median(v) * 1e3:.3f} ms/token" for c, v in self.samples.items()},
                    self.incumbent,
                )
                self.incumbent = best
            self.torch.set_num_threads(self.incumbent)

    @property
    def first_untimed_steps(self) -> int:
        """Steps of this process the step-time probe skips: warm-up, then the first comparison."""
        return 1 + (2 * self.trial if self.enabled else 0)


# ------------------------------------------------------------------------ checkpoints
def _save_checkpoint(
    directory: Path, module, optimizer, state: dict[str, Any], teacher_logits, average=None
) -> None:
    import torch
    from safetensors.torch import save_file

    tmp = directory.with_name(directory.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    save_file(
        {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()},
        str(tmp / "model.safetensors"),
    )
    opt = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for idx, pstate in opt["state"].items():
        for key, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{key}"] = value
    tensors["__rng_cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        tensors["__rng_cuda"] = torch.cuda.get_rng_state()
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in opt["param_groups"]
    ]
    (tmp / "optimizer.json").write_text(
        json.dumps({"param_groups": groups, "scalars": scalars}), encoding="utf-8"
    )
    if teacher_logits is not None:
        np.save(tmp / "teacher_logits.npy", teacher_logits, allow_pickle=False)
    if average is not None:
        save_file(average.state_dict(), str(tmp / "average.safetensors"))
    (tmp / "state.json").write_text(
        json.dumps({"format": CHECKPOINT_FORMAT, **state}, indent=1), encoding="utf-8"
    )
    if directory.exists():
        shutil.rmtree(directory)
    tmp.rename(directory)


def _load_checkpoint(
    directory: Path, module, optimizer, average=None
) -> tuple[dict[str, Any], np.ndarray | None]:
    import torch
    from safetensors.torch import load_file

    device = next(module.parameters()).device
    module.load_state_dict(load_file(str(directory / "model.safetensors"), device=str(device)))
    tensors = load_file(str(directory / "optimizer.safetensors"))
    meta = json.loads((directory / "optimizer.json").read_text(encoding="utf-8"))
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("__rng"):
            continue
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    for key, value in meta["scalars"].items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    torch.set_rng_state(tensors["__rng_cpu"])
    if "__rng_cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["__rng_cuda"])
    if average is not None:
        average_path = directory / "average.safetensors"
        if not average_path.is_file():
            raise ValueError(f"Checkpoint {directory} has no weight average; delete it to restart the run.")
        average.load_state_dict(load_file(str(average_path)))
    teacher_path = directory / "teacher_logits.npy"
    teacher_logits = np.load(teacher_path, allow_pickle=False) if teacher_path.is_file() else None
    return json.loads((directory / "state.json").read_text(encoding="utf-8")), teacher_logits


def _checkpoints(run_dir: Path) -> list[Path]:
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and p.name.startswith("step-") and (p / "state.json").is_file()
    )


def latest_checkpoint(run_dir: Path, fingerprint: str) -> Path | None:
    """The newest checkpoint written by a run with this fingerprint, if any."""
    for path in reversed(_checkpoints(run_dir)):
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        if state.get("fingerprint") == fingerprint:
            return path
    return None


#: Knobs added after builds were cached, with the value that leaves training as it was: at that
#: value they stay out of the fingerprint, so adding one does not retrain every finished run.
_FINGERPRINT_NEUTRAL = {
    "distill_splice": 0.0,
    "distill_embed": 0.0,
    "ema_decay": 0.0,
    "source_repeat": (),
    "label_weights": (),
}


def run_fingerprint(config: TrainConfig, **inputs: Any) -> str:
    """A short hash naming a run's config and inputs: a checkpoint resumes only the run that wrote it."""
    import hashlib

    knobs = {
        k: v
        for k, v in config.to_dict().items()
        if k not in _FINGERPRINT_NEUTRAL or v != _FINGERPRINT_NEUTRAL[k]
    }
    blob = json.dumps({"config": knobs, **inputs}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------- loop
def train_classifier(
    module,
    tokenizer,
    train: TextSplit,
    selection: Mapping[str, TextSplit],
    config: TrainConfig,
    out_dir: Path,
    *,
    teacher=None,
    resume: bool = True,
    fingerprint: str = "",
    progress: bool = True,
    on_step: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Train ``module`` on ``train``; keep the best on ``selection`` in ``out_dir/best``.

    ``selection`` maps names to splits (validation, dev); the selection score is the mean
    of their macro-F1 at 0.5, so the small hand-written dev set weighs as much as the large
    synthetic validation split (ties broken by lower loss). With ``teacher`` the loss mixes
    the teacher's temperature-softened probabilities (computed lazily per batch, cached and
    checkpointed) with the hard labels: that is distillation. With ``resume`` a run picks up
    from its newest checkpoint of the same ``fingerprint``; otherwise old checkpoints are removed.
    """
    import torch
    from tqdm.auto import tqdm

    from model.text_classifier import save_module

    if len(train) == 0:
        raise ValueError(
            "The 'train' parameter of train_classifier must have rows; got an empty split instead."
        )
    if not selection or any(len(s) == 0 for s in selection.values()):
        raise ValueError("The 'selection' parameter of train_classifier must map names to non-empty splits.")
    train = repeat_sources(train, config.source_repeat)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)  # the run's own log file always gets the progress lines
    handler = logging.FileHandler(out_dir / "train.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    try:
        return _train(
            module,
            tokenizer,
            train,
            selection,
            config,
            out_dir,
            teacher,
            resume,
            fingerprint,
            progress,
            on_step,
            torch,
            tqdm,
            save_module,
        )
    finally:
        log.removeHandler(handler)
        handler.close()


def _train(
    module,
    tokenizer,
    train,
    selection,
    config,
    out_dir,
    teacher,
    resume,
    fingerprint,
    progress,
    on_step,
    torch,
    tqdm,
    save_module,
) -> TrainResult:
    from model.text_classifier import module_logits, module_pooled
    from train.augment import splice_posts
    from train.averaging import WeightAverage

    torch.manual_seed(config.seed)
    device = device_for_training()
    module.to(device)
    module.train()
    if teacher is not None:
        teacher.to(device)
        teacher.eval()
    if config.freeze_embeddings:
        log.info("froze %d word-embedding parameters", _freeze_word_embeddings(module))
    optimizer = torch.optim.AdamW(_param_groups(module, config))
    average = WeightAverage(module, config.ema_decay) if config.ema_decay else None
    base_lrs = [g["lr"] for g in optimizer.param_groups]

    n = len(train)
    lengths = np.minimum(np.asarray(tokenizer.token_lengths(train.texts)), config.max_length)
    steps_per_epoch = math.ceil(n / config.batch_size)
    cap = config.max_steps or max(1, math.ceil(config.epochs * steps_per_epoch))
    sel = {name: split.sample(config.eval_max_rows, config.seed) for name, split in selection.items()}
    sel_rows = sum(len(s) for s in sel.values())

    state: dict[str, Any] = {
        "fingerprint": fingerprint,
        "step": 0,
        "epoch": 0,
        "position": 0,
        "total_steps": None if config.time_budget_s else cap,
        "step_time_s": None,
        #: [step, elapsed_s] where the step plan was last fixed (the budgeted runs' re-planning).
        "plan_from": None,
        "elapsed_s": 0.0,
        "best_score": None,
        "best_loss": None,
        "best_step": 0,
        "bad_evals": 0,
        "history": [],
        "config": config.to_dict(),
    }
    teacher_logits = np.full((n, len(LABELS)), np.nan, dtype=np.float32) if teacher is not None else None
    # Not checkpointed (hidden-size floats per row): a resumed run recomputes the rows it needs.
    embed = teacher is not None and config.distill_embed > 0
    teacher_pooled = (
        np.full((n, teacher.encoder.config.hidden_size), np.nan, dtype=np.float32) if embed else None
    )
    checkpoint = latest_checkpoint(out_dir, fingerprint) if resume else None
    if not resume and (out_dir / "checkpoints").exists():
        shutil.rmtree(out_dir / "checkpoints")
    if checkpoint is not None:
        state, cached = _load_checkpoint(checkpoint, module, optimizer, average)
        if teacher is not None and cached is not None and cached.shape == teacher_logits.shape:
            teacher_logits = cached
        log.info("resumed from %s (step %d)", checkpoint, state["step"])

    def lr_factor(step: int) -> float:
        total = state["total_steps"] or cap
        warm = max(1, math.ceil(config.warmup_ratio * total))
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total - step) / max(1, total - warm))

    def set_lr(step: int) -> None:
        f = lr_factor(step)
        for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
            group["lr"] = base * f

    bce = torch.nn.BCEWithLogitsLoss()
    # Evaluation keeps the plain loss, so a weighted run's selection log reads like any other's.
    train_bce = (
        torch.nn.BCEWithLogitsLoss(weight=torch.as_tensor(label_loss_weights(config), device=device))
        if config.label_weights
        else bce
    )
    temp = config.distill_temperature

    def on_teacher(predict, rows: np.ndarray) -> np.ndarray:
        """``predict`` (module_logits or module_pooled) of the teacher on training ``rows``."""
        return predict(teacher, tokenizer, [train.texts[i] for i in rows], config.max_length, device=device)

    def evaluate() -> dict[str, Any]:
        t0 = time.perf_counter()
        scores, losses, parts = [], [], {}
        for name, split in sel.items():
            logits = module_logits(module, tokenizer, split.texts, config.max_length, device=device)
            probs = _sigmoid(logits)
            f1 = macro_f1(split.y, probs)
            loss = float(bce(torch.as_tensor(logits), torch.as_tensor(split.y)).item())
            parts[name] = {"macro_f1": round(f1, 4), "loss": round(loss, 4)}
            scores.append(f1)
            losses.append(loss)
        module.train()
        return {
            "score": float(np.mean(scores)),
            "loss": float(np.mean(losses)),
            "parts": parts,
            "eval_s": round(time.perf_counter() - t0, 2),
        }

    def save_checkpoint() -> None:
        path = out_dir / "checkpoints" / f"step-{state['step']:07d}"
        _save_checkpoint(path, module, optimizer, state, teacher_logits, average)
        for old in _checkpoints(out_dir)[: -config.keep_checkpoints]:
            shutil.rmtree(old)

    start = time.perf_counter()
    elapsed_before = float(state["elapsed_s"])
    probe_t0: float | None = None
    probe_from: int | None = None
    first_step = state["step"]
    tuner = ThreadTuner(torch, config.threads, every=max(config.eval_every, 50)) if device == "cpu" else None
    if tuner is None:
        tuner = ThreadTuner(torch, torch.get_num_threads())
    stopped = ""
    bar = tqdm(
        total=state["total_steps"] or cap,
        initial=state["step"],
        desc=out_dir.name,
        disable=not progress,
        unit="step",
    )
    log.info(
        "training %d rows, %d steps/epoch, cap %d steps, device %s, selection %s (%d rows)",
        n,
        steps_per_epoch,
        cap,
        device,
        ",".join(sel),
        sel_rows,
    )
    while not stopped:
        batches = bucketed_batches(
            lengths, config.batch_size, config.seed, state["epoch"], config.bucket_batches
        )
        while state["position"] < len(batches):
            idx = batches[state["position"]]
            step = state["step"]
            if probe_from is None:
                # Skip this process's warm-up step and the tuner's first trial when timing steps.
                probe_from = step + tuner.first_untimed_steps
            elif probe_t0 is None and step == probe_from:
                probe_t0 = time.perf_counter()
            set_lr(step)
            local_step = step - first_step
            tuner.before(local_step)
            spliced: list[str] = []
            if teacher is not None and config.distill_splice > 0:
                # Seeded by step, so a resumed run splices the same posts.
                spliced = splice_posts(
                    train.texts,
                    round(config.batch_size * config.distill_splice),
                    np.random.default_rng((config.seed, state["step"])),
                )
            enc = tokenizer.encode([train.texts[i] for i in idx], config.max_length)
            y = torch.as_tensor(train.y[idx], device=device)
            logits, pooled = module.logits_and_pooled(
                torch.as_tensor(enc["input_ids"], device=device),
                torch.as_tensor(enc["attention_mask"], device=device),
            )
            loss = train_bce(logits, y)
            tokens = int(enc["attention_mask"].sum())
            if spliced:
                # A pass of their own: padded with the length-bucketed batch, every post would
                # cost as much as the longest splice.
                enc_spliced = tokenizer.encode(spliced, config.max_length)
                logits = torch.cat(
                    [
                        logits,
                        module(
                            torch.as_tensor(enc_spliced["input_ids"], device=device),
                            torch.as_tensor(enc_spliced["attention_mask"], device=device),
                        ),
                    ]
                )
                tokens += int(enc_spliced["attention_mask"].sum())
            if embed:
                missing = idx[np.isnan(teacher_pooled[idx, 0])]
                if len(missing):
                    # One teacher pass gives both targets: the head reads the pooled vector.
                    teacher_pooled[missing] = on_teacher(module_pooled, missing)
                    with torch.inference_mode():
                        teacher_logits[missing] = (
                            teacher.head(torch.as_tensor(teacher_pooled[missing], device=device))
                            .cpu()
                            .numpy()
                        )
            if teacher is not None:
                missing = idx[np.isnan(teacher_logits[idx, 0])]
                if len(missing):
                    teacher_logits[missing] = on_teacher(module_logits, missing)
                targets = teacher_logits[idx]
                if spliced:
                    spliced_logits = module_logits(
                        teacher, tokenizer, spliced, config.max_length, device=device
                    )
                    targets = np.concatenate([targets, spliced_logits])
                soft = torch.sigmoid(torch.as_tensor(targets, device=device) / temp)
                soft_loss = train_bce(logits / temp, soft) * temp * temp
                loss = config.distill_alpha * soft_loss + (1.0 - config.distill_alpha) * loss
            if embed:
                target = torch.as_tensor(teacher_pooled[idx], device=device)
                embed_loss = ((pooled - target) ** 2).mean() / (target**2).mean().clamp(min=1e-8)
                loss = loss + config.distill_embed * embed_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(
                    [p for g in optimizer.param_groups for p in g["params"]], config.grad_clip
                )
            optimizer.step()
            if average is not None:
                average.update()
            tuner.after(local_step, tokens)
            state["step"] += 1
            state["position"] += 1
            state["elapsed_s"] = elapsed_before + (time.perf_counter() - start)
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if on_step is not None:
                on_step(state["step"], state["total_steps"] or cap)
            if state["step"] % 20 == 0:
                log.info(
                    "step %d loss %.4f lr %.2e%s",
                    state["step"],
                    loss.item(),
                    optimizer.param_groups[0]["lr"],
                    pace_note(state["step"], state["total_steps"] or cap, state["elapsed_s"]),
                )

            if (
                state["total_steps"] is None
                and probe_t0 is not None
                and state["step"] - probe_from >= config.probe_steps
            ):
                step_time = (time.perf_counter() - probe_t0) / (state["step"] - probe_from)
                # An evaluation is a forward pass (about a third of a training step per row).
                eval_per_step = (sel_rows / config.batch_size) * step_time * 0.4 / config.eval_every
                state["total_steps"] = plan_steps(
                    state["step"], state["elapsed_s"], config.time_budget_s, step_time + eval_per_step, cap
                )
                state["step_time_s"] = round(step_time, 4)
                state["plan_from"] = [state["step"], state["elapsed_s"]]
                bar.total = state["total_steps"]
                log.info(
                    "measured %.3f s/step; budget %.0f s -> %d steps (cap %d)",
                    step_time,
                    config.time_budget_s,
                    state["total_steps"],
                    cap,
                )

            total = state["total_steps"] or cap
            done = state["step"] >= total
            over_budget = (
                config.time_budget_s is not None and state["elapsed_s"] > config.time_budget_s * 1.05
            )
            if state["step"] % config.eval_every == 0 or done or over_budget:
                with _selected_weights(average):
                    ev = evaluate()
                record = {"step": state["step"], **ev}
                state["elapsed_s"] = elapsed_before + (time.perf_counter() - start)
                if config.time_budget_s is not None and state.get("plan_from"):
                    total = _replan(state, config.time_budget_s, cap)
                    record["planned_steps"] = total
                    bar.total = total
                    done = state["step"] >= total
                state["history"].append(record)
                better = (
                    state["best_score"] is None
                    or ev["score"] > state["best_score"]
                    or (ev["score"] == state["best_score"] and ev["loss"] < state["best_loss"])
                )
                log.info(
                    "eval step %d: score %.4f loss %.4f %s%s",
                    state["step"],
                    ev["score"],
                    ev["loss"],
                    json.dumps(ev["parts"]),
                    " (best)" if better else "",
                )
                if better:
                    state.update(
                        best_score=ev["score"], best_loss=ev["loss"], best_step=state["step"], bad_evals=0
                    )
                    with _selected_weights(average):
                        save_module(module, out_dir / "best")
                else:
                    state["bad_evals"] += 1
                if state["bad_evals"] >= config.patience:
                    stopped = f"early stop: {config.patience} evaluations without improvement"
                elif done:
                    stopped = f"reached {total} steps"
                elif over_budget:
                    stopped = "time budget spent"
            if state["step"] % config.checkpoint_every == 0 or stopped:
                save_checkpoint()
            if stopped:
                break
        if not stopped:
            state["epoch"] += 1
            state["position"] = 0
    bar.close()
    step_time = state["step_time_s"] or (state["elapsed_s"] / max(1, state["step"]))
    result = TrainResult(
        best_dir=out_dir / "best",
        best_step=state["best_step"],
        best_score=float(state["best_score"]),
        steps=state["step"],
        total_steps=state["total_steps"] or cap,
        step_time_s=float(step_time),
        elapsed_s=round(float(state["elapsed_s"]), 1),
        stopped=stopped,
        history=state["history"],
    )
    (out_dir / "result.json").write_text(
        json.dumps({"fingerprint": fingerprint, **result.to_dict()}, indent=1), encoding="utf-8"
    )
    log.info("done: %s; best step %d score %.4f", stopped, result.best_step, result.best_score)
    return result


def _selected_weights(average):
    """The weights a run evaluates and keeps: the moving average when there is one, else the module's."""
    from contextlib import nullcontext

    return average.applied() if average is not None else nullcontext()


def _replan(state: dict[str, Any], budget_s: float, cap: int) -> int:
    """Re-fix ``state["total_steps"]`` from the pace since the last plan; return the new total.

    The pace covers training steps, the evaluation just run and any checkpoints, so what the
    probe could not see (evaluations, longer batches later, a busier machine) is priced in.
    """
    from_step, from_elapsed = state["plan_from"]
    steps = state["step"] - from_step
    if steps <= 0:
        return int(state["total_steps"])
    pace = (state["elapsed_s"] - from_elapsed) / steps
    total = plan_steps(state["step"], state["elapsed_s"], budget_s, pace, cap)
    if total != state["total_steps"]:
        log.info(
            "re-planned at step %d: %.3f s/step since step %d -> %d steps (was %d)",
            state["step"],
            pace,
            from_step,
            total,
            state["total_steps"],
        )
    state["total_steps"] = total
    state["plan_from"] = [state["step"], state["elapsed_s"]]
    return total


def load_result(run_dir: Path, fingerprint: str) -> TrainResult | None:
    """The finished result of a run with this fingerprint, if it completed (used for stage caching)."""
    path = Path(run_dir) / "result.json"
    if not path.is_file():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.pop("fingerprint", None) != fingerprint or not (Path(raw["best_dir"]) / "config.json").exists():
        return None
    return TrainResult.from_dict(raw)


# ------------------------------------------------------------------- the teacher stage
def build_teacher(keep_ids: np.ndarray, layers: int | None = None, *, seed: int):
    """A fresh classifier on the pruned e5 encoder, optionally cut to its first ``layers`` layers.

    The encoder's weights are e5's; the head's starting weights are random, drawn from ``seed``
    so that a rebuild with the same seed starts from the same model (torch's own generator is
    seeded differently in every process). Fewer layers is for tests and quick trials; the
    released teacher keeps all 12.
    """
    import torch

    from model.encoder_weights import build_e5_encoder
    from model.text_classifier import TextClassifierModule, student_from_teacher

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = TextClassifierModule(build_e5_encoder(keep_ids))
        if layers is not None:
            total = module_layer_count(module)
            if not 0 < layers <= total:
                raise ValueError(
                    f"The 'layers' parameter of build_teacher must be in 1..{total}; got {layers!r} instead."
                )
            if layers < total:
                module = student_from_teacher(module, list(range(layers)))
    return module


def module_layer_count(module) -> int:
    """Number of transformer layers in a classifier module's encoder."""
    from transformers import BertModel

    for sub in module.modules():
        if isinstance(sub, BertModel):
            return int(sub.config.num_hidden_layers)
    raise ValueError("The module has no BertModel encoder.")
