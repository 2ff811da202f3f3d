"""The built-in motion set shipped with hover, and a joint-space generator for tests.

The shipped file ``hover/assets/motions/builtin.npz`` holds robot motion retargeted from the
project's synthetic human clips (walking, turning, squatting, waving, reaching, punching, bending,
standing, side steps), made by ``hover retarget --builtin --fps 50 --out hover/assets/motions
--single-file builtin.npz``. It is what the demo, training and evaluation use by default.

``generate_builtin_clips`` makes a small, deterministic joint-space set (the foundation's original
built-in set), still used by tests that need simple, known motions. Those clips are smooth
(sinusoids under a quintic ease-in/ease-out envelope, so each clip starts and ends in the default
pose at rest), stay inside the joint limits with a margin, and keep both feet flat and fixed:

- the pelvis stays level (pitch only in ``bow``, where the hip pitch compensates so the legs keep
  their world orientation) and the ankle pitch cancels hip pitch + knee (``ankle = -(hip + knee)``),
  so each sole stays parallel to the ground;
- the root position is solved from the FK in every frame: x/y so the left ankle stays over its
  standing spot, z so the lowest point of the foot capsules (capsule endpoint z minus radius)
  sits exactly at z = 0.

Code must not rely on particular clip names or counts of the shipped set (only "at least 4 clips").
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from hover.kinematics import ForwardKinematics
from hover.motion.format import MotionClip, load_motions, save_motions
from hover.robots import RobotSpec, get_robot
from hover.rotations import quat_from_euler_xyz, quat_rotate

BUILTIN_MOTIONS_PATH: Path = Path(__file__).resolve().parent.parent / "assets" / "motions" / "builtin.npz"
FPS = 50.0
LIMIT_MARGIN = 0.05  # rad kept free from each joint limit
EASE_S = 1.0  # seconds of ease-in and ease-out

# A motion is a function of time (s, [T]) returning joint offsets from the default pose (name -> [T]),
# plus an optional pelvis pitch (rad, [T]) under the key "pelvis_pitch".
MotionFn = Callable[[np.ndarray], dict[str, np.ndarray]]


def _ease(t: np.ndarray, duration: float) -> np.ndarray:
    """Envelope in [0, 1]: quintic smoothstep up over EASE_S, 1, then down over the last EASE_S."""

    def smooth(x: np.ndarray) -> np.ndarray:
        x = np.clip(x, 0.0, 1.0)
        return x * x * x * (x * (6 * x - 15) + 10)

    return smooth(t / EASE_S) * smooth((duration - t) / EASE_S)


def _sin(t: np.ndarray, freq: float, phase: float = 0.0) -> np.ndarray:
    return np.sin(2 * math.pi * freq * t + phase)


def _bump(t: np.ndarray, freq: float, start: float = EASE_S, count: int = 1) -> np.ndarray:
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


def _motions() -> list[tuple[str, float, MotionFn]]:
    """(name, duration s, offsets function) of each built-in clip. Offsets are added to the default pose."""

    def stand(t):
        return {"torso": 0.03 * _sin(t, 0.2)}  # nearly still, a slow small sway

    def squat(t):
        return _squat_depth(0.35 * _bump(t, 0.25, count=2))

    def wave(sides):
        def fn(t):
            out = {}
            for s in sides:
                out.update(_arm(s, roll=1.35, yaw=1.5, elbow=0.45 * _sin(t, 1.2)))
            return out

        return fn

    def reach_forward(t):
        lift = _bump(t, 0.25)
        out = _arm("left", pitch=-1.35 * lift, roll=0.3 * lift, elbow=1.4 * lift)
        out.update(_arm("right", pitch=-1.35 * lift, roll=0.3 * lift, elbow=1.4 * lift))
        return out

    def reach_up(t):
        lift = _bump(t, 0.2)
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
        lean = 0.35 * _bump(t, 0.25)
        out = {"pelvis_pitch": lean, "left_hip_pitch": -lean, "right_hip_pitch": -lean}
        out.update(_arm("left", pitch=-0.5 * lean / 0.35, elbow=0.8))
        out.update(_arm("right", pitch=-0.5 * lean / 0.35, elbow=0.8))
        return out

    def squat_reach(t):
        depth = _bump(t, 0.25)
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


def _foot_points(robot: RobotSpec) -> list[tuple[int, np.ndarray, float]]:
    """(tracked-body index, capsule endpoints [2, 3] in the body frame, radius) of the feet's capsules."""
    out = []
    for name in robot.feet:
        body = next(b for b in robot.bodies if b.name == name)
        for g in body.geoms:
            if g.type == "capsule" and g.fromto is not None:
                out.append(
                    (robot.body_index(name), np.array(g.fromto, dtype=np.float64).reshape(2, 3), g.size[0])
                )
    if not out:
        raise ValueError(f"{robot.name}: feet {robot.feet} have no capsule geoms to place on the ground")
    return out


def lowest_foot_point(robot: RobotSpec, body_pos: torch.Tensor, body_quat: torch.Tensor) -> torch.Tensor:
    """World z (m) of the lowest point of the feet's collision capsules [...], from tracked-body poses
    ``body_pos`` [..., B, 3] and ``body_quat`` [..., B, 4] (world, wxyz). A capsule's lowest point is
    one of its segment endpoints minus its radius."""
    zs = []
    for idx, ends, radius in _foot_points(robot):
        pos, quat = body_pos[..., idx, :], body_quat[..., idx, :]
        for end in ends:
            e = torch.as_tensor(end, dtype=pos.dtype, device=pos.device).expand_as(pos)
            zs.append(pos[..., 2] + quat_rotate(quat, e)[..., 2] - radius)
    return torch.stack(zs, -1).amin(-1)


def _clip_from_offsets(
    name: str, duration: float, fn: MotionFn, robot: RobotSpec, fk: ForwardKinematics
) -> MotionClip:
    n = int(round(duration * FPS)) + 1
    t = np.arange(n) / FPS
    env = _ease(t, duration)
    offsets = fn(t)
    joint_pos = np.tile(np.array([j.default_pos for j in robot.joints]), (n, 1))
    pelvis_pitch = np.zeros(n)
    for key, value in offsets.items():
        value = env * np.broadcast_to(np.asarray(value, dtype=np.float64), (n,))
        if key == "pelvis_pitch":
            pelvis_pitch = value
        else:
            joint_pos[:, robot.joint_index(key)] += value
    euler = np.stack([np.zeros(n), pelvis_pitch, np.zeros(n)], -1)
    root_quat = quat_from_euler_xyz(torch.as_tensor(euler)).numpy()
    root_pos = _solve_root(robot, fk, root_quat, joint_pos)
    return MotionClip(name=name, fps=FPS, root_pos=root_pos, root_quat=root_quat, joint_pos=joint_pos)


def _solve_root(
    robot: RobotSpec, fk: ForwardKinematics, root_quat: np.ndarray, joint_pos: np.ndarray
) -> np.ndarray:
    """Root positions [T, 3] placing the left ankle over its default-stance spot and the feet on z = 0."""
    q = torch.as_tensor(joint_pos)
    rq = torch.as_tensor(root_quat)
    poses = fk(torch.zeros(q.shape[0], 3, dtype=q.dtype), rq, q)
    default = torch.tensor([[j.default_pos for j in robot.joints]], dtype=q.dtype)
    ref = fk(torch.zeros(1, 3, dtype=q.dtype), torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=q.dtype), default)
    ankle = robot.body_index(robot.feet[0])
    xy = ref.pos[:, ankle, :2] - poses.pos[:, ankle, :2]
    z = -lowest_foot_point(robot, poses.pos, poses.quat)
    return torch.cat([xy, z[:, None]], -1).numpy()


def generate_builtin_clips(robot: RobotSpec | None = None) -> list[MotionClip]:
    """The built-in clips (deterministic), at 50 fps, checked against the joint limits with a margin."""
    robot = robot or get_robot()
    fk = ForwardKinematics(robot, "cpu", torch.float64)
    clips = [_clip_from_offsets(name, dur, fn, robot, fk) for name, dur, fn in _motions()]
    lo = np.array([j.range[0] for j in robot.joints]) + LIMIT_MARGIN
    hi = np.array([j.range[1] for j in robot.joints]) - LIMIT_MARGIN
    for c in clips:
        bad = (c.joint_pos < lo) | (c.joint_pos > hi)
        if bad.any():
            j = int(np.argwhere(bad)[0, 1])
            raise AssertionError(f"built-in clip {c.name!r}: joint {robot.joint_names[j]} leaves its limits")
    return clips


def write_builtin_motions(
    path: str | os.PathLike = BUILTIN_MOTIONS_PATH, robot: RobotSpec | None = None
) -> Path:
    """Generate the built-in clips and write them to ``path`` (a ``.npz`` file, or a folder for builtin.npz)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path / BUILTIN_MOTIONS_PATH.name
    robot = robot or get_robot()
    return save_motions(path, generate_builtin_clips(robot), robot)


def load_builtin_motions(robot: RobotSpec | None = None) -> list[MotionClip]:
    """Clips of the shipped built-in motion file (validated like any motion file)."""
    return load_motions(BUILTIN_MOTIONS_PATH, robot or get_robot())
