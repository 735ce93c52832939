"""A moving average of a module's trainable weights, evaluated and kept in place of the raw ones.

Why: a student's selection score swings by ~0.03 between evaluations 200 steps apart (r10's
student: 0.846, 0.863, 0.866, 0.865 from step 3,600 to 4,200), so the checkpoint the build keeps
is partly the luck of where an evaluation fell. An exponential moving average of the weights
(Polyak averaging; SWA and SWAD are its cousins) sits in the middle of the region those
checkpoints wander over, which is steadier and, in the domain-generalization literature (SWAD),
better on data from new sources: the held-out families here. Measured on r10's student (train/EXPERIMENTS.md,
"Averaging the student's weights"): steadier selection scores, but lower on the unseen families, so the
build leaves it off (``TrainConfig.ema_decay`` 0).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Key of the update count in ``WeightAverage.state_dict``; a parameter name never starts with "__".
UPDATES_KEY = "__updates"


class WeightAverage:
    """Exponential moving average of ``module``'s parameters that require gradients.

    The ``t``-th update (from 1) uses ``min(decay, (1 + t) / (10 + t))``, so the first
    steps (the freshly initialised head) do not linger in the average for thousands of steps.
    """

    def __init__(self, module: Any, decay: float) -> None:
        import torch

        if not 0.0 < decay < 1.0:
            raise ValueError(
                f"The 'decay' parameter of WeightAverage must be in (0, 1); got {decay!r} instead."
            )
        self.decay = decay
        self.updates = 0
        self._params = {name: p for name, p in module.named_parameters() if p.requires_grad}
        with torch.no_grad():
            self._shadow = {name: p.detach().clone() for name, p in self._params.items()}

    def current_decay(self) -> float:
        """The decay the next update uses."""
        t = self.updates + 1
        return min(self.decay, (1 + t) / (10 + t))

    def update(self) -> None:
        """Move the average toward the module's current weights (call after each optimizer step)."""
        import torch

        weight = 1.0 - self.current_decay()
        with torch.no_grad():
            for name, param in self._params.items():
                self._shadow[name].lerp_(param.detach(), weight)
        self.updates += 1

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Inside the block the module holds the averaged weights; its own come back after."""
        import torch

        with torch.no_grad():
            saved = {name: p.detach().clone() for name, p in self._params.items()}
            for name, param in self._params.items():
                param.copy_(self._shadow[name])
        try:
            yield
        finally:
            with torch.no_grad():
                for name, param in self._params.items():
                    param.copy_(saved[name])

    def state_dict(self) -> dict[str, Any]:
        """Tensors to checkpoint (the averages and the update count), so a resumed run continues it."""
        import torch

        tensors = {name: t.detach().cpu().contiguous() for name, t in self._shadow.items()}
        tensors[UPDATES_KEY] = torch.tensor([self.updates], dtype=torch.int64)
        return tensors

    def load_state_dict(self, tensors: dict[str, Any]) -> None:
        """Restore what ``state_dict`` saved; refuses averages of another module."""
        import torch

        names = set(tensors) - {UPDATES_KEY}
        if names != set(self._shadow):
            raise ValueError(
                "The weight average in this checkpoint is of another module: "
                f"{len(names ^ set(self._shadow))} parameter names differ."
            )
        with torch.no_grad():
            for name, shadow in self._shadow.items():
                shadow.copy_(tensors[name].to(shadow.device))
        self.updates = int(tensors[UPDATES_KEY][0])
