"""Several fine-tuned teachers answering as one: the mean of their logits, as a distillation target.

Why: two teachers of the same recipe trained from different seeds land points apart on the
held-out template families (build seeds 13 and 14: 0.868 and 0.833 macro-F1 on test), so each
one's soft labels carry its own run's errors into the student. The mean of independently trained
teachers keeps what they agree on and damps what one run invented; the student still starts from
the first teacher's layers and only its targets change. Measured once (train/EXPERIMENTS.md, "How much
the teacher's seed moves"): no gain for the student, which lands near the same test figure whichever
teacher taught it; kept as an opt-in build option for builds with more time.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from model.text_classifier import TextClassifierModule


class TeacherMean(torch.nn.Module):
    """The mean logits of ``members`` (all with the same label list), in eval mode like any teacher."""

    def __init__(self, members: Sequence[TextClassifierModule]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError(
                f"The 'members' parameter of TeacherMean must hold at least 2 teachers; got {len(members)}."
            )
        widths = {member.n_labels for member in members}
        if len(widths) != 1:
            raise ValueError(
                f"The 'members' parameter of TeacherMean must share one label count; got {sorted(widths)}."
            )
        self.members = torch.nn.ModuleList(members)
        self.n_labels = widths.pop()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(input_ids, attention_mask) for member in self.members]).mean(dim=0)
