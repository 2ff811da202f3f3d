"""HOVER penalty curriculum as a pure update rule.

``penalty_scale`` multiplies every non-task reward term. It starts at ``initial_penalty_scale``;
whenever episodes finish, the exponential moving average of their lengths (policy steps) is
updated, and the scale shrinks by ``(1 - degree)`` when that average is below
``level_down_threshold`` (the robot falls early: ease the penalties) or grows by ``(1 + degree)``
when it is above ``level_up_threshold``; it stays within [min_scale, max_scale].
"""

from __future__ import annotations

from torch import Tensor

from hover.envs.tracking.config import CurriculumConfig


def update_penalty_scale(
    scale: float, ema_length: float, finished_lengths: Tensor, cfg: CurriculumConfig
) -> tuple[float, float]:
    """New (penalty_scale, episode-length EMA) after episodes of ``finished_lengths`` steps ended.

    A negative ``ema_length`` means "no episode seen yet": the first batch's mean initialises it.
    """
    if not cfg.enabled or finished_lengths.numel() == 0:
        return scale, ema_length
    mean = float(finished_lengths.float().mean())
    ema_length = mean if ema_length < 0 else (1.0 - cfg.ema) * ema_length + cfg.ema * mean
    if ema_length < cfg.level_down_threshold:
        scale *= 1.0 - cfg.degree
    elif ema_length > cfg.level_up_threshold:
        scale *= 1.0 + cfg.degree
    return min(max(scale, cfg.min_scale), cfg.max_scale), ema_length
