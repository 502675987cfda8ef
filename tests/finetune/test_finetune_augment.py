"""Tests for hyperstar.finetune.augment: seeded, in range, and the same random stream whatever is used."""

import pytest
import torch

from hyperstar.finetune.augment import augment


def _batch():
    return torch.rand(6, 3, 16, 16, generator=torch.Generator().manual_seed(1))


def test_same_generator_state_same_augmentation():
    config = {"augment": 0.8, "hflip": "yes"}
    a = augment(_batch(), config, torch.Generator().manual_seed(0))
    b = augment(_batch(), config, torch.Generator().manual_seed(0))
    c = augment(_batch(), config, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (6, 3, 16, 16) and a.min() >= 0 and a.max() <= 1


def test_no_augmentation_is_the_identity():
    x = _batch()
    assert torch.equal(augment(x, {"augment": 0.0, "hflip": "no"}, torch.Generator().manual_seed(0)), x)


@pytest.mark.parametrize("config", [{}, {"augment": 1.0}, {"hflip": "yes"}])
def test_the_random_stream_does_not_depend_on_the_config(config):
    gen = torch.Generator().manual_seed(0)
    augment(_batch(), config, gen)
    ref = torch.Generator().manual_seed(0)
    augment(_batch(), {"augment": 0.5, "hflip": "yes"}, ref)
    assert torch.equal(gen.get_state(), ref.get_state())
