"""The label list, the actions and the evasion-trick names: one place for all of them.

Every other module (generator, trainer, scorer, service, review page) imports these
names rather than spelling them again, so a renamed label cannot drift between
training and serving.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import numpy as np

#: Multi-label heads of the text model, in the column order of every score matrix.
LABELS: Final[tuple[str, ...]] = ("hard_sell", "recruitment", "fake_proof")

#: What the feed does with a post, mildest first. The policy file maps scores to one.
ACTIONS: Final[tuple[str, ...]] = ("allow", "label", "review", "hide")

#: Evasion tricks sellers use; the generator applies them and the normalizer undoes them.
#:  fullwidth   full-width letters and digits (ＶＸ, １３８)
#:  traditional traditional characters (賺錢, 門檻)
#:  separator   spaces, symbols, emoji or zero-width characters between characters (招 代 理, 月入过✖万)
#:  homophone   variant spellings of contact words (薇信, V信, 威❤, 扣扣, 徽)
#:  pinyin      pinyin and initials (daili, zdl, weixin)
#:  digits      numbers split or spelled out (一三八, ①③⑧, 1 3 8)
EVASION_TRICKS: Final[tuple[str, ...]] = (
    "fullwidth",
    "traditional",
    "separator",
    "homophone",
    "pinyin",
    "digits",
)

#: The aggregate label that drives the users' hide-sellers preference.
SELLER: Final[str] = "seller"


def check_label(name: str) -> str:
    """Return ``name`` if it is a known label; raise ``ValueError`` naming it otherwise."""
    if name not in LABELS:
        raise ValueError(f"The label {name!r} is not one of {', '.join(LABELS)}.")
    return name


def labels_to_matrix(label_lists: Sequence[Sequence[str]]) -> np.ndarray:
    """``[["hard_sell"], [], ...]`` -> 0/1 float32 matrix in :data:`LABELS` column order.

    The one conversion from label names to targets: training, evaluation and the dev set read
    the same columns, and an unknown name is refused here rather than dropped.
    """
    import numpy as np

    y = np.zeros((len(label_lists), len(LABELS)), dtype=np.float32)
    for i, labels in enumerate(label_lists):
        for label in labels:
            if label not in LABELS:
                raise ValueError(f"Row {i} has label {label!r}, which is not one of {', '.join(LABELS)}.")
            y[i, LABELS.index(label)] = 1.0
    return y
