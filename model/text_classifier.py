"""The text classifier in PyTorch: e5 encoder + masked mean pooling + one linear head per label.

One module class serves the teacher, the distilled student and the ONNX export, so the
model is built in exactly one place. :class:`TorchTextClassifier` wraps it with the same
``predict_proba`` contract as :class:`model.onnx_classifier.OnnxTextClassifier`, so a
single test suite checks both backends and their parity.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertModel
from transformers.initialization import no_init_weights

from model.labels import LABELS
from model.normalize import PostText
from model.tokenizer import PostTokenizer, check_texts

MODULE_CONFIG = "config.json"
MODULE_WEIGHTS = "model.safetensors"
_FORMAT = 1


class TextClassifierModule(torch.nn.Module):
    """Encoder -> mean of the non-padding hidden states -> dropout -> ``Linear(hidden, n_labels)``.

    Mean pooling rather than ``<s>``: e5 was pretrained with mean pooling, so the pooled vector
    is meaningful before fine-tuning and the head starts from a good feature.
    ``forward`` returns logits; sigmoid gives the independent per-label probabilities.
    """

    def __init__(self, encoder: BertModel, n_labels: int = len(LABELS), dropout: float = 0.1) -> None:
        super().__init__()
        if not isinstance(n_labels, int) or n_labels < 1:
            raise ValueError(
                f"The 'n_labels' parameter of TextClassifierModule must be a positive int; got {n_labels!r} instead."
            )
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(
                f"The 'dropout' parameter of TextClassifierModule must be in [0, 1); got {dropout!r} instead."
            )
        self.encoder = encoder
        self.n_labels = n_labels
        self.dropout_p = float(dropout)
        self.dropout = torch.nn.Dropout(self.dropout_p)
        self.head = torch.nn.Linear(encoder.config.hidden_size, n_labels)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Masked mean of the last hidden states: the post embedding (also used by distillation)."""
        # A ready additive mask (0 keep, large negative drop) is used as-is by every attention
        # implementation; it exports to the plain pattern onnxruntime fuses into one Attention op.
        dtype = self.encoder.embeddings.word_embeddings.weight.dtype
        additive = (1.0 - attention_mask.unsqueeze(1).unsqueeze(2).to(dtype)) * torch.finfo(dtype).min
        hidden = self.encoder(input_ids=input_ids, attention_mask=additive).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.logits_and_pooled(input_ids, attention_mask)[0]

    def logits_and_pooled(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and the post embedding they were read from, from one pass (embedding distillation)."""
        pooled = self.pooled(input_ids, attention_mask)
        return self.head(self.dropout(pooled)), pooled


def _empty_encoder(config: BertConfig) -> BertModel:
    with no_init_weights():
        return BertModel(config, add_pooling_layer=False)


def student_from_teacher(teacher: TextClassifierModule, layers: Sequence[int]) -> TextClassifierModule:
    """A copy of ``teacher`` keeping only encoder ``layers`` (in the given order), embeddings and head.

    Initializing from the teacher's own layers (e.g. every other one) is the usual start
    for distillation; the teacher is left untouched.
    """
    n_teacher = teacher.encoder.config.num_hidden_layers
    chosen = list(layers)
    if (
        not chosen
        or len(set(chosen)) != len(chosen)
        or any(not isinstance(i, int) or not 0 <= i < n_teacher for i in chosen)
    ):
        raise ValueError(
            f"The 'layers' parameter of student_from_teacher must be distinct layer indices in "
            f"[0, {n_teacher}); got {chosen!r} instead."
        )
    config = copy.deepcopy(teacher.encoder.config)
    config.num_hidden_layers = len(chosen)
    encoder = _empty_encoder(config)
    state = {}
    for key, value in teacher.encoder.state_dict().items():
        if key.startswith("encoder.layer."):
            index, rest = key[len("encoder.layer.") :].split(".", 1)
            if int(index) in chosen:
                state[f"encoder.layer.{chosen.index(int(index))}.{rest}"] = value.detach().clone()
        else:
            state[key] = value.detach().clone()
    encoder.load_state_dict(state, strict=True, assign=True)
    student = TextClassifierModule(encoder, teacher.n_labels, teacher.dropout_p)
    student.head.load_state_dict(copy.deepcopy(teacher.head.state_dict()))
    return student


def save_module(module: TextClassifierModule, directory: Path) -> list[Path]:
    """Write ``config.json`` + ``model.safetensors`` (no pickle); return both paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "format": _FORMAT,
        "labels": list(LABELS),
        "n_labels": module.n_labels,
        "dropout": module.dropout_p,
        "encoder": json.loads(module.encoder.config.to_json_string()),
    }
    config_path = directory / MODULE_CONFIG
    weights_path = directory / MODULE_WEIGHTS
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    state = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(weights_path), metadata={"format": str(_FORMAT)})
    return [config_path, weights_path]


def load_module(directory: Path) -> TextClassifierModule:
    """Rebuild a module saved by :func:`save_module`, in eval mode."""
    directory = Path(directory)
    config_path, weights_path = directory / MODULE_CONFIG, directory / MODULE_WEIGHTS
    for path in (config_path, weights_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; save the module with save_module first.")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if config.get("format") != _FORMAT:
        raise ValueError(f"{config_path} has format {config.get('format')!r}; expected {_FORMAT}.")
    if tuple(config["labels"]) != LABELS:
        raise ValueError(
            f"{config_path} was trained for labels {config['labels']}; this code expects {LABELS}."
        )
    encoder_config = {
        k: v for k, v in config["encoder"].items() if k not in ("architectures", "transformers_version")
    }
    encoder = _empty_encoder(BertConfig(**encoder_config))
    module = TextClassifierModule(encoder, int(config["n_labels"]), float(config["dropout"]))
    module.load_state_dict(load_file(str(weights_path)), strict=True, assign=True)
    module.eval()
    return module


def module_logits(
    module: TextClassifierModule,
    tokenizer: PostTokenizer,
    texts: Sequence[PostText],
    max_length: int,
    *,
    batch_size: int = 32,
    device: str | None = None,
) -> np.ndarray:
    """Logits ``(n, n_labels)`` in the order of ``texts``, batched by token length.

    The one PyTorch prediction path: serving's reference classifier and training's evaluation and
    teacher soft labels all go through it, so a parity or selection figure never compares two
    batching schemes. ``device`` defaults to the module's own (training may run on a GPU).
    """
    return _bucketed(module, module, module.n_labels, tokenizer, texts, max_length, batch_size, device)


def module_pooled(
    module: TextClassifierModule,
    tokenizer: PostTokenizer,
    texts: Sequence[PostText],
    max_length: int,
    *,
    batch_size: int = 32,
    device: str | None = None,
) -> np.ndarray:
    """Post embeddings ``(n, hidden)`` (:meth:`TextClassifierModule.pooled`), batched as :func:`module_logits`.

    The teacher's embeddings are a distillation target (``TrainConfig.distill_embed``).
    """
    width = module.encoder.config.hidden_size
    return _bucketed(module, module.pooled, width, tokenizer, texts, max_length, batch_size, device)


def _bucketed(
    module: TextClassifierModule,
    forward,
    width: int,
    tokenizer: PostTokenizer,
    texts: Sequence[PostText],
    max_length: int,
    batch_size: int,
    device: str | None,
) -> np.ndarray:
    """``forward(input_ids, attention_mask)`` over ``texts`` in eval mode, rows in the order of ``texts``."""
    out = np.zeros((len(texts), width), dtype=np.float32)
    if not len(texts):
        return out
    device = device or next(module.parameters()).device.type
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode():
            for positions, batch in tokenizer.encode_bucketed(list(texts), max_length, batch_size):
                values = forward(
                    torch.as_tensor(batch["input_ids"], device=device),
                    torch.as_tensor(batch["attention_mask"], device=device),
                )
                out[positions] = values.float().cpu().numpy()
    finally:
        module.train(was_training)
    return out


class TorchTextClassifier:
    """``predict_proba(texts)`` over a :class:`TextClassifierModule`: raw text in, sigmoid scores out.

    Posts are sorted by token length and batched, so a batch pads only to its own longest post.
    """

    def __init__(
        self,
        module: TextClassifierModule,
        tokenizer: PostTokenizer,
        max_length: int = 128,
        batch_size: int = 32,
    ) -> None:
        if module.encoder.config.vocab_size != tokenizer.vocab_size:
            raise ValueError(
                f"The 'tokenizer' parameter of TorchTextClassifier must have the encoder's vocabulary of "
                f"{module.encoder.config.vocab_size} pieces; got {tokenizer.vocab_size} instead."
            )
        self.module = module
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size

    def logits(self, texts: Sequence[PostText]) -> np.ndarray:
        """Raw logits, shape ``(n, n_labels)``, in the order of ``texts``."""
        check_texts(texts, "TorchTextClassifier.logits")
        return module_logits(self.module, self.tokenizer, texts, self.max_length, batch_size=self.batch_size)

    def predict_proba(self, texts: Sequence[PostText]) -> np.ndarray:
        """Per-label probabilities, shape ``(n, len(LABELS))``, columns in ``LABELS`` order."""
        return 1.0 / (1.0 + np.exp(-self.logits(texts)))
