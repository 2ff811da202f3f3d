"""Joystick-like locomotion commands for the ``steer`` kind of ``hover motion generate``.

A steer clip walks the way a person with a joystick drives the robot: a sequence of held targets of
forward velocity ``vx``, sideways velocity ``vy`` (m/s, body frame: x forward, y left), yaw rate
(rad/s, + = turn left) and pelvis height (m), each held for a random time, reached with bounded
acceleration (the height at the d-pad's rate); below the gait's own height the robot walks crouched.
Backwards, diagonal and turning-while-walking steps are all in it, which the other kinds (walking
always faces its direction of travel) never show. The foot-space gait (:mod:`.gait`) turns the
velocities into steps.

All functions are pure: the same generator state gives the same schedule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from hover.retarget.gait import _smooth

# The joystick's ranges (those of ``hover run --input joystick``, whose defaults a test compares).
STEER_RANGES: dict[str, tuple[float, float]] = {
    "vx": (-0.5, 1.0),
    "vy": (-0.5, 0.5),
    "yaw_rate": (-1.0, 1.0),
    "height": (0.75, 1.05),
}
GAIT_HEIGHT = 1.03  # m, the robot pelvis height of the generated gait; a lower target crouches
HEIGHT_RATE = 0.1  # m/s, the pelvis height change (the joystick d-pad's rate)
MAX_STEER_ACCEL = 1.0  # m/s^2, horizontal pelvis acceleration between targets
MAX_YAW_ACCEL = 1.5  # rad/s^2
SMOOTH_S = 0.1  # s, standard deviation of the blur of the slewed commands
STOP_S = 1.2  # s at rest (targets zero) before the end of the moving window: the time to stop


def steer_targets(
    rng: np.random.Generator,
    start: float,
    end: float,
    hold_s: tuple[float, float] = (1.0, 3.0),
    zero_prob: float = 0.25,
    ranges: dict[str, tuple[float, float]] = STEER_RANGES,
) -> list[tuple[float, float, float, float, float]]:
    """Held targets ``(from_s, vx, vy, yaw_rate, drop)`` covering ``[start, end - STOP_S)``; each value
    uniform in its range, or at rest (stick released: 0, the gait's own height) with probability
    ``zero_prob``; ``drop`` (m, >= 0) = how far the pelvis height target is below GAIT_HEIGHT. A final
    rest target at ``end - STOP_S``."""
    out = []
    t = start
    while t < end - STOP_S:
        values = []
        for key in ("vx", "vy", "yaw_rate", "height"):
            lo, hi = ranges[key]
            drawn, rest = float(rng.uniform(lo, hi)), bool(rng.random() < zero_prob)
            if key == "height":
                values.append(0.0 if rest else max(0.0, GAIT_HEIGHT - drawn))
            else:
                values.append(0.0 if rest else drawn)
        out.append((t, values[0], values[1], values[2], values[3]))
        t += float(rng.uniform(*hold_s))
    out.append((max(end - STOP_S, start), 0.0, 0.0, 0.0, 0.0))
    return out


def held(t: Tensor, targets: Sequence[tuple[float, ...]]) -> Tensor:
    """[T, D] the target held at each time of ``t`` [T] (s): zero before the first one."""
    starts = torch.tensor([x[0] for x in targets], dtype=t.dtype)
    values = torch.tensor([x[1:] for x in targets], dtype=t.dtype)
    k = torch.searchsorted(starts, t, right=True) - 1
    out = values[k.clamp(min=0)]
    out[k < 0] = 0.0
    return out


def slew(target: Tensor, dt: float, max_rate: float) -> Tensor:
    """[T, D] a signal following ``target`` [T, D] from zero, its change per step limited to
    ``max_rate * dt`` in norm (the D components together)."""
    out = torch.zeros_like(target)
    x = torch.zeros_like(target[0])
    step = max_rate * dt
    for i in range(target.shape[0]):
        d = target[i] - x
        n = float(d.norm())
        x = x + (d if n <= step else d * (step / n))
        out[i] = x
    return out


def steer_commands(
    rng: np.random.Generator, t: Tensor, start: float, end: float
) -> tuple[Tensor, Tensor, Tensor]:
    """Pelvis velocity [T, 2] (sideways + left, forward; m/s, body frame: the order of
    ``gait.step_leg_angles``), yaw rate [T] (rad/s) and pelvis drop below GAIT_HEIGHT [T] (m) of a
    steer clip moving in ``[start, end]`` (s)."""
    dt = float(t[1] - t[0])
    target = held(t, steer_targets(rng, start, end))  # [T, 4] vx, vy, yaw rate, drop
    sigma = SMOOTH_S / dt  # a Gaussian blur keeps the acceleration bound and removes its jumps
    vel = torch.stack([_smooth(x, sigma) for x in slew(target[:, :2], dt, MAX_STEER_ACCEL).T], -1)
    rate = _smooth(slew(target[:, 2:3], dt, MAX_YAW_ACCEL)[:, 0], sigma)
    drop = _smooth(slew(target[:, 3:4], dt, HEIGHT_RATE)[:, 0], sigma)
    return torch.stack((vel[:, 1], vel[:, 0]), -1), rate, drop


__all__ = [
    "GAIT_HEIGHT",
    "HEIGHT_RATE",
    "MAX_STEER_ACCEL",
    "MAX_YAW_ACCEL",
    "STEER_RANGES",
    "held",
    "slew",
    "steer_commands",
    "steer_targets",
]
