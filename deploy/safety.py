"""Safety checks run on every runner tick: small pure functions returning a reason or None.

Each check looks at one thing and says what is wrong in words (None = fine). The runner maps a
failed check to an action from :class:`SafetyConfig` -- ``"damping"`` (kp = 0, kd held: the
robot goes limp slowly) or ``"hold"`` (hold the last safe joint targets with full gains) -- and
logs a :class:`SafetyEvent`. Targets are always clipped to the joint limits before publishing and
nothing non-finite is ever published (``hover.deploy.unitree.h1_io`` refuses to encode it too).

Frames/units: projected gravity is the unit gravity direction in the pelvis frame (upright =
(0, 0, -1)); times are seconds of ``time.monotonic()``; joint values rad.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np

logger = logging.getLogger("hover.deploy.safety")

Action = Literal["damping", "hold", "last_command"]


@dataclass
class SafetyConfig:
    """Thresholds and the action taken when each check fails."""

    state_timeout_s: float = 0.1
    """robot state is stale when LowState.tick has not advanced for this long (s)"""
    input_timeout_s: float = 0.2
    """an input sample older than this (s, by its receipt stamp) is stale"""
    fall_gravity_z: float = -0.5
    """fall when projected gravity z (pelvis frame, upright -1) exceeds this (-0.5 = tilted 60 deg)"""
    on_stale_state: Action = "hold"
    """action when the robot state is stale"""
    state_lost_s: float = 1.0
    """no valid robot state for this long (s) while active: damping and the runner stops (exit 1)"""
    on_stale_input: Action = "last_command"
    """action when the input is stale (in POLICY): last_command = the policy keeps running on the newest
    good command (a frozen VR stream or joystick holds its targets) for up to input_lost_s, then hold"""
    input_lost_s: float = 3.0
    """with on_stale_input = last_command: stale for this long (s) -> hold (the last policy targets on PD)"""
    clip_margin: float = 0.0
    """targets are clipped to [lower - margin, upper + margin] (rad)"""


@dataclass(frozen=True)
class SafetyEvent:
    """One failed check: when, which, why and what was done."""

    time: float
    check: str
    reason: str
    action: str


def _bad(x: np.ndarray) -> np.ndarray:
    return ~np.isfinite(np.asarray(x, dtype=np.float64))


def check_finite(name: str, **arrays: np.ndarray | None) -> str | None:
    """A reason naming the first array (and indices) holding NaN/inf, else None. None arrays are skipped."""
    for key, value in arrays.items():
        if value is None:
            continue
        bad = _bad(value)
        if bad.any():
            idx = np.flatnonzero(bad.reshape(-1))[:5].tolist()
            return f"non-finite {name} {key} at index {idx}"
    return None


def check_state_finite(
    joint_pos: np.ndarray, joint_vel: np.ndarray, root_quat: np.ndarray, base_ang_vel: np.ndarray
) -> str | None:
    """NaN/inf anywhere in the robot state the policy reads."""
    return check_finite(
        "state", joint_pos=joint_pos, joint_vel=joint_vel, root_quat=root_quat, base_ang_vel=base_ang_vel
    )


def check_command_finite(command: np.ndarray, mask: np.ndarray) -> str | None:
    """NaN/inf in an input command or mask."""
    return check_finite("input", command=command, mask=mask)


def check_action_finite(action: np.ndarray) -> str | None:
    """NaN/inf in the policy output."""
    return check_finite("policy", action=action)


def check_state_stale(last_advance: float | None, now: float, timeout_s: float) -> str | None:
    """Robot state stale: the LowState tick last advanced at ``last_advance`` (None = never)."""
    if last_advance is None:
        return "no robot state received yet"
    age = now - last_advance
    if age > timeout_s:
        return (
            f"robot state stale: tick not advancing for {age * 1e3:.0f} ms (limit {timeout_s * 1e3:.0f} ms)"
        )
    return None


def check_input_stale(stamp: float | None, now: float, timeout_s: float) -> str | None:
    """Input stale: the newest sample was received at ``stamp`` (None = no sample yet)."""
    if stamp is None:
        return "no input sample yet"
    age = now - stamp
    if age > timeout_s:
        return f"input stale: newest sample {age * 1e3:.0f} ms old (limit {timeout_s * 1e3:.0f} ms)"
    return None


def check_fall(projected_gravity: np.ndarray, threshold_z: float) -> str | None:
    """Fallen/tilted: projected gravity z (pelvis frame, upright -1) above ``threshold_z``."""
    gz = float(np.asarray(projected_gravity, dtype=np.float64).reshape(-1)[2])
    if not np.isfinite(gz):
        return "fall check: projected gravity is not finite"
    if gz > threshold_z:
        tilt = float(np.degrees(np.arccos(np.clip(-gz, -1.0, 1.0))))
        return f"pelvis tilted {tilt:.0f} deg (projected gravity z {gz:.2f} > {threshold_z:.2f})"
    return None


def clip_targets(
    q: np.ndarray, lower: np.ndarray, upper: np.ndarray, margin: float = 0.0
) -> tuple[np.ndarray, str | None]:
    """(q clipped to [lower - margin, upper + margin], reason naming clipped joints or None).

    Non-finite entries are not clipped (np.clip passes NaN through): check finiteness first.
    """
    q = np.asarray(q, dtype=np.float64)
    lo, hi = np.asarray(lower) - margin, np.asarray(upper) + margin
    out = np.clip(q, lo, hi)
    over = np.flatnonzero((q < lo) | (q > hi))
    if over.size == 0:
        return out, None
    worst = over[np.argmax(np.abs(q - out)[over])]
    return out, (
        f"targets out of joint limits at {over[:5].tolist()} clipped "
        f"(worst joint {worst}: {q[worst]:.3f} -> {out[worst]:.3f} rad)"
    )


def projected_gravity_np(quat_wxyz: np.ndarray) -> np.ndarray:
    """Unit gravity (0, 0, -1) in the body frame of ``quat_wxyz`` (world <- body), numpy [3]."""
    w, x, y, z = np.asarray(quat_wxyz, dtype=np.float64)
    n = w * w + x * x + y * y + z * z
    if not np.isfinite(n) or n <= 0:
        return np.full(3, np.nan)
    w, x, y, z = np.array([w, x, y, z]) / np.sqrt(n)
    # R^T (0, 0, -1) = -(third row of R)
    return -np.array([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)])


def log_event(event: SafetyEvent) -> None:
    logger.warning("safety %s at t=%.3f: %s -> %s", event.check, event.time, event.reason, event.action)
