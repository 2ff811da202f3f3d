"""Failure-weighted motion sampling (envs/tracking/sampling.py)."""

from __future__ import annotations

import pytest
import torch

from hover.envs.tracking.config import SamplingConfig
from hover.envs.tracking.sampling import AdaptiveSampler


def test_bins_cover_every_clip_and_uniform_probability_follows_time():
    s = AdaptiveSampler(torch.tensor([2.5, 1.0]), SamplingConfig())
    assert s.num_bins == 4
    assert s.clip_of_bin.tolist() == [0, 0, 0, 1]
    assert torch.allclose(s.bin_length, torch.tensor([1.0, 1.0, 0.5, 1.0]))
    assert torch.allclose(s.probabilities(), torch.tensor([1.0, 1.0, 0.5, 1.0]) / 3.5)
    clips, times = s.sample(2000, torch.Generator().manual_seed(0))
    assert (times >= 0).all() and (times <= torch.tensor([2.5, 1.0])[clips]).all()
    assert abs((clips == 1).float().mean().item() - 1.0 / 3.5) < 0.04


def test_failures_shift_probability_to_the_failing_bin_and_the_bins_before():
    cfg = SamplingConfig(alpha=0.5, uniform_ratio=0.1, kernel_size=2, kernel_decay=0.5)
    s = AdaptiveSampler(torch.tensor([4.0, 4.0]), cfg)
    s.update(torch.tensor([0, 1]), torch.tensor([2.5, 1.0]), torch.tensor([True, False]))
    p = s.probabilities()
    assert p.argmax().item() == 2  # clip 0, bin [2, 3)
    assert p[1] > p[0] and p[1] > p[3]  # the bin before the failure gets the kernel share
    assert p[4:].sum().item() == pytest.approx(0.1 * 0.5, abs=1e-6)  # clip 1: uniform floor only
    assert s.bin_of(torch.tensor([0, 1]), torch.tensor([2.5, 9.0])).tolist() == [2, 7]
    clips, times = s.sample(4000, torch.Generator().manual_seed(1))
    in_bin = (clips == 0) & (times >= 2.0) & (times < 3.0)
    assert in_bin.float().mean().item() == pytest.approx(p[2].item(), abs=0.03)


def test_non_adaptive_ignores_failures_and_state_round_trips():
    s = AdaptiveSampler(torch.tensor([3.0]), SamplingConfig(adaptive=False))
    s.update(torch.tensor([0]), torch.tensor([1.5]), torch.tensor([True]))
    assert torch.allclose(s.probabilities(), torch.full((3,), 1 / 3))
    a = AdaptiveSampler(torch.tensor([3.0]), SamplingConfig(alpha=0.1))
    a.update(torch.tensor([0]), torch.tensor([1.5]), torch.tensor([True]))
    b = AdaptiveSampler(torch.tensor([3.0]), SamplingConfig(alpha=0.1))
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.probabilities(), b.probabilities())
    assert a.entropy() < 1.0 and b.entropy() == a.entropy()
    with pytest.raises(ValueError, match="bins"):
        AdaptiveSampler(torch.tensor([5.0]), SamplingConfig()).load_state_dict(a.state_dict())
