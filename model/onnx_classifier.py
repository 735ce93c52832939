"""The text classifier on onnxruntime: what the feed service and the batch job run.

Same contract as :class:`model.text_classifier.TorchTextClassifier` (raw text in,
``(n, len(LABELS))`` sigmoid scores out), without torch. Posts are sorted by token
length and batched so a batch pads only to its own longest post; most feed posts are
short, and attention cost grows with the padded length.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from model.labels import LABELS
from model.normalize import PostText
from model.tokenizer import PostTokenizer, check_texts

#: Posts per ONNX run when scoring, the default of every OnnxTextClassifier: the service, the release
#: build's predictions, calibration and `feedguard eval` must all score alike, because dynamic INT8
#: makes a post's score depend on its batch-mates. Posts are sorted by length and run in groups this
#: size, so short posts are not padded to the longest one in the request. Measured on release r2,
#: a 4-layer student (2 cores, requests of 32 random test posts, over `model.bundle`): 112
#: posts/s with groups of 32, 193 with 16, 253 with 8, 273 with 4. Dynamic INT8 also scales
#: activations per run, so smaller length-matched groups move scores less from a post's batch-1
#: score (mean logit gap 0.14 with 32, 0.12 with 8).
SCORING_BATCH = 8


class OnnxTextClassifier:
    """``predict_proba`` / ``logits`` over an exported classifier (fp32 or INT8)."""

    def __init__(
        self,
        onnx_path: Path,
        tokenizer: PostTokenizer,
        max_length: int = 128,
        *,
        intra_op_threads: int | None = None,
        batch_size: int = SCORING_BATCH,
        external_files: Mapping[str, bytes] | None = None,
    ) -> None:
        """``external_files``: the contents of external-data files the model reads, by the name it gives
        them, for files not on disk beside it (``model.packed_weights``); onnxruntime copies what it needs."""
        onnx_path = Path(onnx_path)
        if not onnx_path.is_file():
            raise FileNotFoundError(f"{onnx_path} is missing; export the classifier with export_onnx first.")
        if intra_op_threads is not None and (not isinstance(intra_op_threads, int) or intra_op_threads < 1):
            raise ValueError(
                f"The 'intra_op_threads' parameter of OnnxTextClassifier must be a positive int or None; "
                f"got {intra_op_threads!r} instead."
            )
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(
                f"The 'batch_size' parameter of OnnxTextClassifier must be a positive int; got {batch_size!r} instead."
            )
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if intra_op_threads is not None:
            options.intra_op_num_threads = intra_op_threads
        if external_files:
            names, contents = list(external_files), list(external_files.values())
            options.add_external_initializers_from_files_in_memory(
                names, contents, [len(c) for c in contents]
            )
        try:
            self.session_ = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own types; this one is a file the user can fix
            if "External data path" not in str(err):
                raise
            raise FileNotFoundError(
                f"{onnx_path} reads weights from an external-data file that is not beside it"
                f" ({' '.join(str(err).split())}). A release"
                " stores that file packed (shared_weights.bin.xz): load the release with model.bundle.load_bundle,"
                " or unpack the file beside the model first (xz -dk shared_weights.bin.xz)."
            ) from err
        meta = self.session_.get_modelmeta().custom_metadata_map
        vocab = int(meta.get("vocab_size", tokenizer.vocab_size))
        if vocab != tokenizer.vocab_size:
            raise ValueError(
                f"The 'tokenizer' parameter of OnnxTextClassifier must have the model's vocabulary of {vocab} "
                f"pieces; got {tokenizer.vocab_size} instead."
            )
        if "labels" in meta and tuple(meta["labels"].split(",")) != LABELS:
            raise ValueError(
                f"{onnx_path} was exported for labels {meta['labels']}; this code expects {LABELS}."
            )
        width = self.session_.get_outputs()[0].shape[-1]
        self.n_labels_ = width if isinstance(width, int) else len(LABELS)
        self.onnx_path = onnx_path
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.intra_op_threads = intra_op_threads

    def logits(self, texts: Sequence[PostText]) -> np.ndarray:
        """Raw logits, shape ``(n, n_labels)``, in the order of ``texts``."""
        check_texts(texts, "OnnxTextClassifier.logits")
        out = np.zeros((len(texts), self.n_labels_), dtype=np.float32)
        for positions, batch in self.tokenizer.encode_bucketed(texts, self.max_length, self.batch_size):
            out[positions] = self.session_.run(None, batch)[0]
        return out

    def predict_proba(self, texts: Sequence[PostText]) -> np.ndarray:
        """Per-label probabilities, shape ``(n, len(LABELS))``, columns in ``LABELS`` order."""
        return 1.0 / (1.0 + np.exp(-self.logits(texts)))
