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

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from hover.kinematics import ForwardKinematics
from hover.motion.format import MotionClip, load_motions, save_motions
from hover.robots import RobotSpec, get_robot, joint_space_motions
from hover.rotations import quat_from_euler_xyz, quat_rotate

BUILTIN_MOTIONS_PATH: Path = Path(__file__).resolve().parent.parent / "assets" / "motions" / "builtin.npz"
FPS = 50.0
LIMIT_MARGIN = 0.05  # rad kept free from each joint limit
EASE_S = 1.0  # seconds of ease-in and ease-out

# A motion is a function of time (s, [T]) returning joint offsets from the default pose (name -> [T]),
# plus an optional root pitch (rad, [T]) under the key "root_pitch" (hover.robots.joint_space_motions).
MotionFn = Callable[[np.ndarray], dict[str, np.ndarray]]


def _ease(t: np.ndarray, duration: float) -> np.ndarray:
    """Envelope in [0, 1]: quintic smoothstep up over EASE_S, 1, then down over the last EASE_S."""

    def smooth(x: np.ndarray) -> np.ndarray:
        x = np.clip(x, 0.0, 1.0)
        return x * x * x * (x * (6 * x - 15) + 10)

    return smooth(t / EASE_S) * smooth((duration - t) / EASE_S)


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


def default_standing_height(robot: RobotSpec) -> float:
    """Root height (m) at which the robot in its default pose, upright, has its lowest foot point on the floor."""
    q = torch.tensor([[j.default_pos for j in robot.joints]], dtype=torch.float64)
    root = torch.tensor([[0.0, 0.0, robot.root_init_height]], dtype=torch.float64)
    poses = ForwardKinematics(robot, dtype=torch.float64)(
        root, torch.tensor([[1.0, 0, 0, 0]], dtype=torch.float64), q
    )
    return float(robot.root_init_height - lowest_foot_point(robot, poses.pos, poses.quat)[0])


def stance_foot_slide(
    clip: MotionClip,
    robot: RobotSpec | None = None,
    contact_height: float = 0.02,
    fk: ForwardKinematics | None = None,
) -> dict[str, float]:
    """Mean horizontal speed (m/s) of each foot over its stance frames, per foot body name.

    The feet are the robot's ``feet`` bodies (the H1's ankle links); a foot's stance frames are those where
    its body height is below its minimum over the clip plus ``contact_height`` (m); speeds are finite
    differences of its horizontal position times the clip's frame rate. A physically trackable clip keeps
    this near 0 (a planted foot does not skate over the ground); 0.0 for a clip of fewer than 2 frames."""
    robot = robot or get_robot()
    fk = fk or ForwardKinematics(robot, "cpu", torch.float64)
    poses = fk(
        torch.as_tensor(clip.root_pos, dtype=fk.dtype, device=fk.device),
        torch.as_tensor(clip.root_quat, dtype=fk.dtype, device=fk.device),
        torch.as_tensor(clip.joint_pos, dtype=fk.dtype, device=fk.device),
    )
    out = {}
    for name in robot.feet:
        pos = poses.pos[:, robot.body_index(name)].cpu().numpy().astype(np.float64)
        if len(pos) < 2:
            out[name] = 0.0
            continue
        stance = pos[:-1, 2] < pos[:, 2].min() + contact_height
        speed = np.linalg.norm(np.diff(pos[:, :2], axis=0), axis=-1) * clip.fps
        out[name] = float(speed[stance].mean()) if stance.any() else 0.0
    return out


def _clip_from_offsets(
    name: str, duration: float, fn: MotionFn, robot: RobotSpec, fk: ForwardKinematics
) -> MotionClip:
    n = int(round(duration * FPS)) + 1
    t = np.arange(n) / FPS
    env = _ease(t, duration)
    offsets = fn(t)
    joint_pos = np.tile(np.array([j.default_pos for j in robot.joints]), (n, 1))
    root_pitch = np.zeros(n)
    for key, value in offsets.items():
        value = env * np.broadcast_to(np.asarray(value, dtype=np.float64), (n,))
        if key == "root_pitch":
            root_pitch = value
        else:
            joint_pos[:, robot.joint_index(key)] += value
    euler = np.stack([np.zeros(n), root_pitch, np.zeros(n)], -1)
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
    clips = [
        _clip_from_offsets(name, dur, fn, robot, fk)
        for name, dur, fn in joint_space_motions(robot.name, EASE_S)
    ]
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
