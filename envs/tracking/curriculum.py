"""Curricula as pure update rules, driven by the EMA of finished episode lengths (policy steps).

Penalty curriculum (HOVER): ``penalty_scale`` multiplies every penalty reward term. It starts at
``initial_penalty_scale``; whenever episodes finish it shrinks by ``(1 - degree)`` while the length
EMA is below ``level_down_threshold`` (the robot falls early: ease the penalties) and grows by
``(1 + degree)`` above ``level_up_threshold``, within [min_scale, max_scale].

Termination curriculum (ASAP/PBHC): ``termination_scale`` multiplies the thresholds of the
``curriculum`` termination terms. It starts loose (``initial_termination_scale``), grows by
``(1 + termination_degree)`` while the EMA is below ``termination_down_threshold`` and shrinks towards
1 (the recipe's thresholds) above ``termination_up_threshold``.
"""

from __future__ import annotations

from torch import Tensor

from hover.envs.tracking.config import CurriculumConfig


def update_length_ema(ema_length: float, finished_lengths: Tensor, rate: float) -> float:
    """EMA of episode lengths; a negative ``ema_length`` means none seen yet (the first mean starts it)."""
    if finished_lengths.numel() == 0:
        return ema_length
    mean = float(finished_lengths.float().mean())
    return mean if ema_length < 0 else (1.0 - rate) * ema_length + rate * mean


def update_penalty_scale(
    scale: float, ema_length: float, finished_lengths: Tensor, cfg: CurriculumConfig
) -> tuple[float, float]:
    """New (penalty_scale, episode-length EMA) after episodes of ``finished_lengths`` steps ended."""
    if not cfg.enabled or finished_lengths.numel() == 0:
        return scale, ema_length
    ema_length = update_length_ema(ema_length, finished_lengths, cfg.ema)
    return step_penalty_scale(scale, ema_length, cfg), ema_length


def step_penalty_scale(scale: float, ema_length: float, cfg: CurriculumConfig) -> float:
    """One penalty-curriculum step for the current episode-length EMA."""
    if not cfg.enabled:
        return scale
    if ema_length < cfg.level_down_threshold:
        scale *= 1.0 - cfg.degree
    elif ema_length > cfg.level_up_threshold:
        scale *= 1.0 + cfg.degree
    return min(max(scale, cfg.min_scale), cfg.max_scale)


def update_termination_scale(scale: float, ema_length: float, cfg: CurriculumConfig) -> float:
    """New termination-threshold scale for the current episode-length EMA (see the module docstring)."""
    if not cfg.termination or ema_length < 0:
        return scale
    if ema_length < cfg.termination_down_threshold:
        scale *= 1.0 + cfg.termination_degree
    elif ema_length > cfg.termination_up_threshold:
        scale *= 1.0 - cfg.termination_degree
    return min(max(scale, 1.0), cfg.termination_max_scale)
