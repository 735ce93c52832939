"""The weight average a student is selected and released by (train.averaging)."""

from __future__ import annotations

import pytest
import torch

from train.averaging import UPDATES_KEY, WeightAverage


def _module(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    module = torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.Linear(3, 2))
    module[0].weight.requires_grad_(False)  # frozen, like the encoder's word embeddings
    return module


def test_the_average_follows_the_warmed_up_decay_and_skips_frozen_weights() -> None:
    module = _module()
    average = WeightAverage(module, decay=0.9)
    start = module[1].weight.detach().clone()
    expected = start.clone()
    for step in range(200):
        with torch.no_grad():
            module[1].weight.add_(1.0)
        decay = average.current_decay()
        assert decay == pytest.approx(min(0.9, (2 + step) / (11 + step)))
        expected = decay * expected + (1 - decay) * module[1].weight.detach()
        average.update()
    raw = module[1].weight.detach().clone()
    with average.applied():
        assert torch.allclose(module[1].weight, expected, atol=1e-5)
        # Once warmed up (t >= 80), behind the raw weights, which move by 1 a step, by
        # decay / (1 - decay) = 9 steps.
        lag = float((start + 200 - module[1].weight).mean())
        assert 8.9 < lag < 9.1
    assert torch.equal(module[1].weight, raw)  # the raw weights come back
    assert "0.weight" not in average.state_dict()


def test_the_raw_weights_come_back_even_when_the_block_fails() -> None:
    module = _module()
    average = WeightAverage(module, decay=0.5)
    with torch.no_grad():
        module[1].bias.fill_(7.0)
    with pytest.raises(RuntimeError), average.applied():
        raise RuntimeError("evaluation failed")
    assert torch.equal(module[1].bias, torch.full((2,), 7.0))


def test_state_round_trips_and_refuses_another_modules_average() -> None:
    module = _module()
    average = WeightAverage(module, decay=0.99)
    for _ in range(3):
        with torch.no_grad():
            module[1].weight.mul_(2.0)
        average.update()
    saved = average.state_dict()
    assert int(saved[UPDATES_KEY][0]) == 3
    restored = WeightAverage(_module(seed=1), decay=0.99)
    restored.load_state_dict(saved)
    assert restored.updates == 3 and restored.current_decay() == average.current_decay()
    for name, tensor in restored.state_dict().items():
        assert torch.equal(tensor, saved[name]), name
    other = WeightAverage(torch.nn.Linear(3, 2), decay=0.99)
    with pytest.raises(ValueError, match="weight average in this checkpoint is of another module"):
        other.load_state_dict(saved)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5])
def test_a_decay_outside_0_1_is_refused(decay: float) -> None:
    with pytest.raises(ValueError, match="'decay' parameter of WeightAverage must be in \\(0, 1\\)"):
        WeightAverage(_module(), decay=decay)
