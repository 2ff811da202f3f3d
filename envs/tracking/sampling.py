"""Failure-weighted motion sampling (BeyondMimic-style adaptive bins, extended to many clips).

Every clip is cut into bins of ``bin_s`` seconds (the last bin of a clip may be shorter); the
bins of all clips form one list. Each bin keeps an exponential moving average of how many
episodes *failed* (early termination, not time-out) while the reference was inside it:
``count <- alpha * failures_this_step + (1 - alpha) * count``, updated every env step.

Sampling a reset (clip, time):
1. score = failure EMA, smoothed backwards inside each clip with the kernel ``decay^k``
   (k = 0 .. kernel_size-1), so the bins just *before* a hard spot get sampled too and the
   policy practises the approach;
2. p = (1 - uniform_ratio) * score / sum(score) + uniform_ratio * bin_length / total_length
   (when no failure has been seen yet, p is uniform over time);
3. draw a bin from p, then a time uniformly inside it.

With ``adaptive=False`` p is uniform over time (every second of motion equally likely). The
sampler's state (the failure EMA) is saved with checkpoints via ``state_dict``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from hover.envs.tracking.config import SamplingConfig


class AdaptiveSampler:
    """Bins over the clips of a motion library; ``durations`` [C] in seconds."""

    def __init__(self, durations: Tensor, cfg: SamplingConfig, device: str | torch.device = "cpu"):
        if cfg.bin_s <= 0:
            raise ValueError(f"sampling.bin_s must be > 0, got {cfg.bin_s}")
        self.cfg = cfg
        self.device = torch.device(device)
        durations = durations.detach().to("cpu", torch.float64)
        clip_of_bin, start, length = [], [], []
        for c, d in enumerate(durations.tolist()):
            nb = max(1, math.ceil(d / cfg.bin_s - 1e-9))
            for b in range(nb):
                clip_of_bin.append(c)
                start.append(b * cfg.bin_s)
                length.append(max(0.0, min(cfg.bin_s, d - b * cfg.bin_s)))
        self.durations = durations.to(self.device, torch.float32)
        self.clip_of_bin = torch.tensor(clip_of_bin, device=self.device)
        self.bin_start = torch.tensor(start, device=self.device, dtype=torch.float32)
        self.bin_length = torch.tensor(length, device=self.device, dtype=torch.float32)
        first = torch.zeros(len(durations), dtype=torch.long)
        first[1:] = torch.cumsum(torch.bincount(self.clip_of_bin.cpu(), minlength=len(durations)), 0)[:-1]
        self.clip_first_bin = first.to(self.device)
        self.failure_ema = torch.zeros(self.num_bins, device=self.device)

    @property
    def num_bins(self) -> int:
        return int(self.clip_of_bin.numel())

    def bin_of(self, clip_ids: Tensor, times: Tensor) -> Tensor:
        """Global bin index of (clip, time in s)."""
        local = torch.floor(times / self.cfg.bin_s).long().clamp_min(0)
        last = torch.bincount(self.clip_of_bin, minlength=len(self.durations))[clip_ids] - 1
        return self.clip_first_bin[clip_ids] + torch.minimum(local, last)

    def probabilities(self) -> Tensor:
        """Sampling probability of each bin [num_bins]."""
        time_weight = self.bin_length.clamp_min(1e-6)
        uniform = time_weight / time_weight.sum()
        if not self.cfg.adaptive:
            return uniform
        score = torch.zeros_like(self.failure_ema)
        for k in range(max(1, self.cfg.kernel_size)):
            shifted = torch.zeros_like(score)
            if k == 0:
                shifted = self.failure_ema.clone()
            else:
                same_clip = self.clip_of_bin[k:] == self.clip_of_bin[:-k]
                shifted[:-k] = self.failure_ema[k:] * same_clip
            score += (self.cfg.kernel_decay**k) * shifted
        total = score.sum()
        if total <= 0:
            return uniform
        return (1.0 - self.cfg.uniform_ratio) * score / total + self.cfg.uniform_ratio * uniform

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """(clip_ids [n] long, start times [n] s)."""
        p = self.probabilities()
        bins = torch.multinomial(p, n, replacement=True, generator=generator)
        u = torch.rand(n, generator=generator, device=self.device)
        times = self.bin_start[bins] + u * self.bin_length[bins]
        clips = self.clip_of_bin[bins]
        return clips, torch.minimum(times, self.durations[clips])

    def update(self, clip_ids: Tensor, times: Tensor, failed: Tensor) -> None:
        """One env step: ``failed`` [N] bool marks envs that failed at (clip_ids, times)."""
        if not self.cfg.adaptive:
            return
        counts = torch.zeros_like(self.failure_ema)
        if failed.any():
            b = self.bin_of(clip_ids[failed], times[failed])
            counts.index_add_(0, b, torch.ones_like(b, dtype=counts.dtype))
        a = self.cfg.alpha
        self.failure_ema.mul_(1.0 - a).add_(a * counts)

    def entropy(self) -> float:
        """Normalised entropy of the bin distribution (1 = uniform over bins)."""
        p = self.probabilities().clamp_min(1e-12)
        h = -(p * p.log()).sum()
        return float(h / math.log(max(2, self.num_bins)))

    def state_dict(self) -> dict[str, Tensor]:
        return {"failure_ema": self.failure_ema.clone()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        ema = state["failure_ema"]
        if ema.shape != self.failure_ema.shape:
            raise ValueError(
                f"sampler state has {ema.numel()} bins but the motion set has {self.num_bins}: "
                "resume with the same motions and sampling.bin_s, or with --reset-sampler"
            )
        self.failure_ema.copy_(ema.to(self.device))
