"""Vocabulary pruning: keep only the e5 pieces FeedGuard can meet.

96M of e5-small's 118M parameters are the 250k-row word embedding, most of it for
scripts Chinese posts never use. Keeping the pieces the training corpus produces,
plus every single-character piece a spammer can type without the corpus having it
(ASCII, full-width forms, symbols and emoji, digits, and all CJK characters), cuts
fine-tuning time and the release size several-fold while leaving the hidden states
of in-vocabulary Chinese text bit-identical.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from model.tokenizer import PostTokenizer

_SPECIAL_PIECES = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
_CHUNK = 2048


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x2FFFF
        or 0x3000 <= code <= 0x303F  # CJK punctuation
    )


def always_kept_char(char: str, *, cjk: bool = True) -> bool:
    """Whether a single character's piece is kept regardless of the corpus.

    ASCII, full-width forms, symbols/emoji (with their variation selectors and joiners),
    punctuation and number forms are what evasion and decoration use; CJK characters (``cjk=True``) keep unseen words from turning into
    ``<unk>`` on real posts the generator never wrote, for ~7.7k rows.
    """
    code = ord(char)
    if code < 128 or 0xFF00 <= code <= 0xFFEF:
        return True
    if unicodedata.category(char)[0] in "SPNM" or code == 0x200D:  # marks: emoji variation selectors; ZWJ
        return True
    return cjk and _is_cjk(code)


def select_vocab(texts: Iterable[str], base: PostTokenizer, *, cjk_single_chars: bool = True) -> np.ndarray:
    """Sorted old ids to keep: specials, every piece ``base`` produces on the corpus, and fixed single chars.

    The corpus is tokenized with ``base``'s own pipeline (FeedGuard normalization first), so the
    pieces kept are exactly the ones training and serving will ask for.
    """
    if isinstance(texts, str):
        raise ValueError(
            "The 'texts' parameter of select_vocab must be an iterable of str; got a single str instead."
        )
    keep: set[int] = {i for i, piece in enumerate(base.pieces_) if piece in _SPECIAL_PIECES}
    chunk: list[str] = []

    def flush() -> None:
        for ids in base.content_ids(chunk):
            keep.update(ids)
        chunk.clear()

    for n, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(
                f"The 'texts' parameter of select_vocab must hold only str; item {n} is {type(text).__name__}."
            )
        chunk.append(text)
        if len(chunk) >= _CHUNK:
            flush()
    flush()
    for i, piece in enumerate(base.pieces_):
        bare = piece[1:] if piece.startswith("▁") else piece
        if piece == "▁" or (len(bare) == 1 and always_kept_char(bare, cjk=cjk_single_chars)):
            keep.add(i)
    return np.array(sorted(keep), dtype=np.int64)
