"""The H1's joint-space test motions (:func:`hover.motion.builtin.generate_builtin_clips`), by joint name.

Each motion is a function of time (s, [T]) returning joint offsets from the default pose (joint name ->
[T] rad), plus an optional root pitch (rad, [T]) under the key ``"root_pitch"``. Squats keep the soles
parallel to the ground (hip -d, knee +2d, ankle -d); in ``bow`` the hip pitch cancels the root pitch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

MotionFn = Callable[[np.ndarray], dict[str, np.ndarray]]


def _sin(t: np.ndarray, freq: float, phase: float = 0.0) -> np.ndarray:
    return np.sin(2 * math.pi * freq * t + phase)


def _bump(t: np.ndarray, freq: float, start: float, count: int = 1) -> np.ndarray:
    """``count`` raised-cosine bumps 0 -> 1 -> 0 of ``freq`` Hz from ``start`` s; 0 elsewhere (C1)."""
    inside = (t >= start) & (t <= start + count / freq)
    return np.where(inside, 0.5 * (1.0 - np.cos(2 * math.pi * freq * (t - start))), 0.0)


def _squat_depth(d: np.ndarray) -> dict[str, np.ndarray]:
    """Symmetric knee bend by d (rad) around the default stance: hip -d, knee +2d, ankle -d."""
    out = {}
    for s in ("left", "right"):
        out[f"{s}_hip_pitch"] = -d
        out[f"{s}_knee"] = 2 * d
        out[f"{s}_ankle"] = -d
    return out


def _arm(side: str, pitch=0.0, roll=0.0, yaw=0.0, elbow=0.0) -> dict[str, np.ndarray]:
    """Arm offsets; ``roll`` > 0 lifts the arm sideways on either side (mirrored for the right)."""
    m = 1.0 if side == "left" else -1.0
    return {
        f"{side}_shoulder_pitch": pitch,
        f"{side}_shoulder_roll": m * roll,
        f"{side}_shoulder_yaw": m * yaw,
        f"{side}_elbow": elbow,
    }


def motions(ease_s: float) -> list[tuple[str, float, MotionFn]]:
    """(name, duration s, offsets function) of each joint-space clip. Offsets are added to the default pose;
    the clips ease in over ``ease_s`` seconds, so their movements start after that."""

    def bump(t: np.ndarray, freq: float, count: int = 1) -> np.ndarray:
        return _bump(t, freq, ease_s, count)

    def stand(t):
        return {"torso": 0.03 * _sin(t, 0.2)}  # nearly still, a slow small sway

    def squat(t):
        return _squat_depth(0.35 * bump(t, 0.25, count=2))

    def wave(sides):
        def fn(t):
            out = {}
            for s in sides:
                out.update(_arm(s, roll=1.35, yaw=1.5, elbow=0.45 * _sin(t, 1.2)))
            return out

        return fn

    def reach_forward(t):
        lift = bump(t, 0.25)
        out = _arm("left", pitch=-1.35 * lift, roll=0.3 * lift, elbow=1.4 * lift)
        out.update(_arm("right", pitch=-1.35 * lift, roll=0.3 * lift, elbow=1.4 * lift))
        return out

    def reach_up(t):
        lift = bump(t, 0.2)
        out = _arm("left", pitch=-2.5 * lift, roll=0.7 * lift, elbow=1.2 * lift)
        out.update(_arm("right", pitch=-2.5 * lift, roll=0.7 * lift, elbow=1.2 * lift))
        return out

    def torso_turn(t):
        turn = _sin(t, 0.25)
        out = {"torso": 0.8 * turn}
        out.update(_arm("left", pitch=0.3 * turn, elbow=0.5))
        out.update(_arm("right", pitch=-0.3 * turn, elbow=0.5))
        return out

    def bow(t):
        lean = 0.35 * bump(t, 0.25)
        out = {"root_pitch": lean, "left_hip_pitch": -lean, "right_hip_pitch": -lean}
        out.update(_arm("left", pitch=-0.5 * lean / 0.35, elbow=0.8))
        out.update(_arm("right", pitch=-0.5 * lean / 0.35, elbow=0.8))
        return out

    def squat_reach(t):
        depth = bump(t, 0.25)
        out = _squat_depth(0.3 * depth)
        out.update(_arm("left", pitch=-1.3 * depth, roll=0.3 * depth, elbow=1.3 * depth))
        out.update(_arm("right", pitch=-1.3 * depth, roll=0.3 * depth, elbow=1.3 * depth))
        return out

    def arm_swing(t):
        swing = _sin(t, 0.9)
        out = _arm("left", pitch=0.5 * swing, roll=0.15, elbow=0.3)
        out.update(_arm("right", pitch=-0.5 * swing, roll=0.15, elbow=0.3))
        out["torso"] = 0.15 * swing
        return out

    return [
        ("stand_still", 5.0, stand),
        ("squat", 10.0, squat),
        ("wave_left", 6.0, wave(("left",))),
        ("wave_right", 6.0, wave(("right",))),
        ("wave_both", 6.0, wave(("left", "right"))),
        ("reach_forward", 6.0, reach_forward),
        ("reach_up", 7.0, reach_up),
        ("torso_turn", 10.0, torso_turn),
        ("bow", 6.0, bow),
        ("squat_reach", 6.0, squat_reach),
        ("arm_swing", 6.0, arm_swing),
    ]
