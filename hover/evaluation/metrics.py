"""Tracking metrics of the HOVER paper as pure functions of batched tensors.

Shapes: every function takes a robot quantity and the matching reference quantity with a leading
``[N, T]`` (N clips, T frames) or just ``[T]``, plus an optional boolean ``mask`` of the same
leading shape marking valid frames (clips of different lengths padded into one batch, or frames
after a failure). Each returns one value per clip (``[N]`` or a scalar): the mean over the valid
frames (and bodies/joints) of that clip, or NaN when the clip has no valid frame (pair, triple).

Definitions (as in PHC/OmniH2O/HOVER; a *frame* is one sample of the trajectory, in ``hover eval``
one policy step of ``control_dt`` = 0.02 s):

- ``mpjpe_g_mm``: mean Euclidean distance of the tracked bodies to the reference, world frame (mm).
- ``mpjpe_l_mm``: the same after subtracting each skeleton's own root (pelvis) position (mm);
  orientation is not removed (root-relative translation, as in PHC).
- ``vel_mm_per_frame``: distance between robot and reference body velocities, both as
  first differences of world positions (mm/frame).
- ``acc_mm_per_frame2``: the same with second differences (mm/frame^2).
- ``upper_joint_err_rad`` / ``lower_joint_err_rad``: mean absolute joint-angle error (rad) over the
  robot's upper-body (arms, torso) and lower-body (legs) joints.
- ``root_height_err_m``: absolute pelvis height error (m).
- ``root_vel_err_m_per_s``: norm of the difference of the root linear velocities, each expressed in
  its own root (pelvis) frame, i.e. the frame of HOVER's root velocity command (m/s).
- ``root_roll_err_rad`` / ``root_pitch_err_rad`` / ``root_yaw_err_rad``: absolute difference of the
  root Euler angles (Rz(yaw) Ry(pitch) Rx(roll), world frame), wrapped to [-pi, pi] (rad).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from hover.robots.spec import RobotSpec
from hover.rotations import quat_rotate_inverse, quat_to_euler_xyz, wrap_to_pi

#: Top-level metric names in the order they are reported (units in the name).
METRIC_NAMES: tuple[str, ...] = (
    "mpjpe_g_mm",
    "mpjpe_l_mm",
    "vel_mm_per_frame",
    "acc_mm_per_frame2",
    "upper_joint_err_rad",
    "lower_joint_err_rad",
    "root_height_err_m",
    "root_vel_err_m_per_s",
    "root_roll_err_rad",
    "root_pitch_err_rad",
    "root_yaw_err_rad",
)
#: Metrics that depend on the body set and are also reported per body subset.
BODY_METRIC_NAMES: tuple[str, ...] = METRIC_NAMES[:4]

#: The test-time failure criterion of the paper: mean body distance to the reference above this (m).
FAILURE_MEAN_DISTANCE_M = 0.5


@dataclass
class Trajectory:
    """A robot or reference trajectory, leading shape ``[N, T]`` or ``[T]``; world frame, wxyz.

    ``body_pos`` is over ``RobotSpec.tracked_body_names`` (index 0 is the root/pelvis).
    """

    body_pos: Tensor  # [..., T, B, 3] (m)
    root_quat: Tensor  # [..., T, 4] wxyz
    root_lin_vel: Tensor  # [..., T, 3] world (m/s)
    joint_pos: Tensor  # [..., T, J] (rad)

    @property
    def root_pos(self) -> Tensor:
        return self.body_pos[..., 0, :]


# ----------------------------------------------------------------------------- helpers


def _full_mask(lead: torch.Size, device: torch.device) -> Tensor:
    return torch.ones(lead, dtype=torch.bool, device=device)


def _check_mask(mask: Tensor | None, lead: torch.Size, device: torch.device) -> Tensor:
    if mask is None:
        return _full_mask(lead, device)
    if mask.shape != lead:
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match the frame shape {tuple(lead)}")
    return mask.to(torch.bool)


def masked_time_mean(per_frame: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``per_frame`` [..., T] over the frames where ``mask`` is true; NaN where none is."""
    count = mask.sum(-1)
    total = torch.where(mask, per_frame, torch.zeros_like(per_frame)).sum(-1)
    nan = torch.full_like(total, math.nan)
    return torch.where(count > 0, total / count.clamp(min=1).to(total.dtype), nan)


def _select_bodies(pos: Tensor, body_ids: Sequence[int] | None) -> Tensor:
    return pos if body_ids is None else pos[..., list(body_ids), :]


def _diff(x: Tensor, order: int, time_dim: int) -> Tensor:
    for _ in range(order):
        n = x.shape[time_dim]
        x = x.narrow(time_dim, 1, n - 1) - x.narrow(time_dim, 0, n - 1)
    return x


def _window_mask(mask: Tensor, size: int) -> Tensor:
    """True at t where frames t..t+size-1 are all valid; shape [..., T - size + 1]."""
    t = mask.shape[-1]
    out = mask[..., : t - size + 1].clone()
    for k in range(1, size):
        out &= mask[..., k : t - size + 1 + k]
    return out


# ----------------------------------------------------------------------------- body position metrics


def body_distances(pos: Tensor, ref_pos: Tensor) -> Tensor:
    """Per-body Euclidean distance (m) [..., T, B] between robot and reference positions [..., T, B, 3]."""
    if pos.shape != ref_pos.shape:
        raise ValueError(
            f"robot body positions {tuple(pos.shape)} and reference {tuple(ref_pos.shape)} differ"
        )
    return torch.linalg.vector_norm(pos - ref_pos, dim=-1)


def mpjpe_global(
    pos: Tensor, ref_pos: Tensor, mask: Tensor | None = None, body_ids: Sequence[int] | None = None
) -> Tensor:
    """E_g-mpjpe (mm): mean world-frame body distance per clip. ``pos`` [..., T, B, 3] (m)."""
    mask = _check_mask(mask, pos.shape[:-2], pos.device)
    d = body_distances(_select_bodies(pos, body_ids), _select_bodies(ref_pos, body_ids)).mean(-1)
    return 1000.0 * masked_time_mean(d, mask)


def mpjpe_local(
    pos: Tensor,
    ref_pos: Tensor,
    mask: Tensor | None = None,
    body_ids: Sequence[int] | None = None,
    root_index: int = 0,
) -> Tensor:
    """E_mpjpe (mm): mean body distance after removing each skeleton's root position (index ``root_index``)."""
    rel = pos - pos[..., root_index : root_index + 1, :]
    ref_rel = ref_pos - ref_pos[..., root_index : root_index + 1, :]
    return mpjpe_global(rel, ref_rel, mask, body_ids)


def velocity_error(
    pos: Tensor, ref_pos: Tensor, mask: Tensor | None = None, body_ids: Sequence[int] | None = None
) -> Tensor:
    """E_vel (mm/frame): distance between first differences of body positions, pairs of valid frames."""
    mask = _check_mask(mask, pos.shape[:-2], pos.device)
    p, r = _select_bodies(pos, body_ids), _select_bodies(ref_pos, body_ids)
    if p.shape[-3] < 2:
        return torch.full(p.shape[:-3], math.nan, dtype=p.dtype, device=p.device)
    d = body_distances(_diff(p, 1, -3), _diff(r, 1, -3)).mean(-1)
    return 1000.0 * masked_time_mean(d, _window_mask(mask, 2))


def acceleration_error(
    pos: Tensor, ref_pos: Tensor, mask: Tensor | None = None, body_ids: Sequence[int] | None = None
) -> Tensor:
    """E_acc (mm/frame^2): distance between second differences of body positions, triples of valid frames."""
    mask = _check_mask(mask, pos.shape[:-2], pos.device)
    p, r = _select_bodies(pos, body_ids), _select_bodies(ref_pos, body_ids)
    if p.shape[-3] < 3:
        return torch.full(p.shape[:-3], math.nan, dtype=p.dtype, device=p.device)
    d = body_distances(_diff(p, 2, -3), _diff(r, 2, -3)).mean(-1)
    return 1000.0 * masked_time_mean(d, _window_mask(mask, 3))


# ----------------------------------------------------------------------------- joint and root metrics


def joint_error(
    joint_pos: Tensor,
    ref_joint_pos: Tensor,
    mask: Tensor | None = None,
    joint_ids: Sequence[int] | None = None,
) -> Tensor:
    """Mean absolute joint-angle error (rad) over ``joint_ids`` (all when None). ``joint_pos`` [..., T, J]."""
    mask = _check_mask(mask, joint_pos.shape[:-1], joint_pos.device)
    err = (joint_pos - ref_joint_pos).abs()
    if joint_ids is not None:
        err = err[..., list(joint_ids)]
    return masked_time_mean(err.mean(-1), mask)


def root_height_error(root_pos: Tensor, ref_root_pos: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean absolute root (pelvis) height error (m); ``root_pos`` [..., T, 3] world."""
    mask = _check_mask(mask, root_pos.shape[:-1], root_pos.device)
    return masked_time_mean((root_pos[..., 2] - ref_root_pos[..., 2]).abs(), mask)


def root_velocity_error(
    root_lin_vel: Tensor,
    root_quat: Tensor,
    ref_root_lin_vel: Tensor,
    ref_root_quat: Tensor,
    mask: Tensor | None = None,
) -> Tensor:
    """Mean norm (m/s) of the root-velocity difference, each velocity in its own root frame.

    Velocities [..., T, 3] are world-frame; quaternions [..., T, 4] wxyz.
    """
    mask = _check_mask(mask, root_lin_vel.shape[:-1], root_lin_vel.device)
    v = quat_rotate_inverse(root_quat, root_lin_vel)
    v_ref = quat_rotate_inverse(ref_root_quat, ref_root_lin_vel)
    return masked_time_mean(torch.linalg.vector_norm(v - v_ref, dim=-1), mask)


def root_rpy_error(root_quat: Tensor, ref_root_quat: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean absolute (roll, pitch, yaw) errors (rad), wrapped to [-pi, pi]; returns [..., 3]."""
    mask = _check_mask(mask, root_quat.shape[:-1], root_quat.device)
    err = wrap_to_pi(quat_to_euler_xyz(root_quat) - quat_to_euler_xyz(ref_root_quat)).abs()
    return torch.stack([masked_time_mean(err[..., k], mask) for k in range(3)], dim=-1)


# ----------------------------------------------------------------------------- failure criterion


def mean_body_distance(pos: Tensor, ref_pos: Tensor) -> Tensor:
    """Mean over bodies of the world-frame body distance (m), [..., T]."""
    return body_distances(pos, ref_pos).mean(-1)


def first_failure_frame(
    pos: Tensor, ref_pos: Tensor, mask: Tensor | None = None, threshold: float = FAILURE_MEAN_DISTANCE_M
) -> Tensor:
    """Index of the first valid frame whose mean body distance exceeds ``threshold`` (m), -1 if none.

    This is the paper's test-time failure criterion; returns a long tensor of the leading shape.
    """
    mask = _check_mask(mask, pos.shape[:-2], pos.device)
    bad = (mean_body_distance(pos, ref_pos) > threshold) & mask
    t = bad.shape[-1]
    idx = torch.arange(t, device=pos.device).expand_as(bad)
    first = torch.where(bad, idx, torch.full_like(idx, t)).min(-1).values
    return torch.where(first < t, first, torch.full_like(first, -1))


# ----------------------------------------------------------------------------- all metrics at once


def clip_metrics(
    robot_traj: Trajectory,
    ref_traj: Trajectory,
    robot: RobotSpec,
    mask: Tensor | None = None,
    subsets: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Tensor]:
    """Every metric per clip: ``{name: [N]}`` for :data:`METRIC_NAMES`, plus ``"<subset>/<name>"``
    for the body metrics over each body subset (default ``robot.subsets``)."""
    pos, ref = robot_traj.body_pos, ref_traj.body_pos
    mask = _check_mask(mask, pos.shape[:-2], pos.device)
    joints = robot.joint_names
    upper = [joints.index(n) for n in robot.upper_body_joints]
    lower = [joints.index(n) for n in robot.lower_body_joints]
    rpy = root_rpy_error(robot_traj.root_quat, ref_traj.root_quat, mask)
    out = {
        "mpjpe_g_mm": mpjpe_global(pos, ref, mask),
        "mpjpe_l_mm": mpjpe_local(pos, ref, mask),
        "vel_mm_per_frame": velocity_error(pos, ref, mask),
        "acc_mm_per_frame2": acceleration_error(pos, ref, mask),
        "upper_joint_err_rad": joint_error(robot_traj.joint_pos, ref_traj.joint_pos, mask, upper),
        "lower_joint_err_rad": joint_error(robot_traj.joint_pos, ref_traj.joint_pos, mask, lower),
        "root_height_err_m": root_height_error(robot_traj.root_pos, ref_traj.root_pos, mask),
        "root_vel_err_m_per_s": root_velocity_error(
            robot_traj.root_lin_vel, robot_traj.root_quat, ref_traj.root_lin_vel, ref_traj.root_quat, mask
        ),
        "root_roll_err_rad": rpy[..., 0],
        "root_pitch_err_rad": rpy[..., 1],
        "root_yaw_err_rad": rpy[..., 2],
    }
    names = robot.tracked_body_names
    for subset, members in (robot.subsets if subsets is None else subsets).items():
        ids = [names.index(n) for n in members]
        out[f"{subset}/mpjpe_g_mm"] = mpjpe_global(pos, ref, mask, ids)
        # root-relative: the root is subtracted before the subset is selected
        out[f"{subset}/mpjpe_l_mm"] = mpjpe_local(pos, ref, mask, ids)
        out[f"{subset}/vel_mm_per_frame"] = velocity_error(pos, ref, mask, ids)
        out[f"{subset}/acc_mm_per_frame2"] = acceleration_error(pos, ref, mask, ids)
    return out


#: Metrics that HOVER averages per clip (each clip weighs the same); all others are pooled over frames.
CLIP_WEIGHTED_METRICS: tuple[str, ...] = ("upper_joint_err_rad", "lower_joint_err_rad")


def _weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float | None:
    pairs = [
        (v, w) for v, w in zip(values, weights, strict=True) if v is not None and math.isfinite(v) and w > 0
    ]
    total = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / total if total > 0 else None


def metric_weight(name: str, frames: int | None) -> float:
    """Weight of one clip's value of metric ``name`` in the pooled mean: its number of frames
    (velocity: frame pairs, acceleration: frame triples), 1 for clip-weighted metrics or when
    ``frames`` is None."""
    base = name.split("/")[-1]
    if frames is None or base in CLIP_WEIGHTED_METRICS:
        return 1.0
    if base == "vel_mm_per_frame":
        return float(max(frames - 1, 0))
    if base == "acc_mm_per_frame2":
        return float(max(frames - 2, 0))
    return float(frames)


def _summary_block(
    per_clip: Sequence[Mapping[str, float]],
    success: Sequence[bool],
    frames: Sequence[int | None],
    subsets: Sequence[str],
) -> dict:
    n = len(per_clip)

    def mean(key: str) -> float | None:
        return _weighted_mean([c[key] for c in per_clip], [metric_weight(key, f) for f in frames])

    block: dict = {"num_clips": n, "success_rate": (sum(success) / n) if n else None}
    for name in METRIC_NAMES:
        block[name] = mean(name)
    block["subset"] = {s: {name: mean(f"{s}/{name}") for name in BODY_METRIC_NAMES} for s in subsets}
    return block


def summarize(
    per_clip: Sequence[Mapping[str, float]], success: Sequence[bool], frames: Sequence[int] | None = None
) -> dict:
    """Aggregate per-clip metric dicts (as floats) into the report (NaN entries skipped; None when
    no clip has a value).

    As HOVER's evaluator (PHC's ``compute_metrics_lite`` pooled over all clips): with ``frames``
    (scored frames per clip) the body, velocity, acceleration and root metrics are pooled over all
    frames (frame pairs/triples for velocity/acceleration), so long clips weigh more; the joint
    errors are the mean of per-clip means. Without ``frames`` every metric is a mean over clips.

    Keys: ``success_rate``, the :data:`METRIC_NAMES`, ``subset`` ({subset: body metrics}),
    ``successful_only`` (the same block over successful clips), ``num_clips``, ``num_successful``.
    """
    if len(per_clip) != len(success):
        raise ValueError(f"{len(per_clip)} clips but {len(success)} success flags")
    counts: list[int | None] = [None] * len(per_clip) if frames is None else list(frames)
    if len(counts) != len(per_clip):
        raise ValueError(f"{len(per_clip)} clips but {len(counts)} frame counts")
    subsets = sorted({k.split("/")[0] for c in per_clip for k in c if "/" in k})
    report = _summary_block(per_clip, success, counts, subsets)
    num_clips = report.pop("num_clips")
    ok = [i for i, s in enumerate(success) if s]
    successful = _summary_block([per_clip[i] for i in ok], [True] * len(ok), [counts[i] for i in ok], subsets)
    successful.pop("success_rate")
    report["successful_only"] = successful
    report["num_clips"] = num_clips
    report["num_successful"] = len(ok)
    return report
