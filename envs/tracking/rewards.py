"""HOVER teacher reward terms: small pure functions of batched tensors, one value per env [N].

Task terms return ``exp(-error / sigma)`` in (0, 1]; penalty terms return a non-negative
magnitude (the config's negative weight makes them penalties), except ``feet_air_time`` which is
signed. All positions/velocities are world frame (errors are frame-independent), quaternions
(w, x, y, z). :func:`compute_terms` evaluates every term from a :class:`RewardInputs`;
:func:`weighted_sum` applies weights and the penalty curriculum scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from hover.envs.tracking.bodies import BodyState
from hover.envs.tracking.config import RewardConfig
from hover.rotations import projected_gravity

TASK_TERMS = ("joint_pos", "joint_vel", "body_lin_vel", "body_ang_vel", "body_pos", "vr_keypoints")


# ----- task terms -----
def exp_kernel(error: Tensor, sigma: float) -> Tensor:
    return torch.exp(-error / sigma)


def mean_sq(diff: Tensor) -> Tensor:
    """Mean of squared components over all but the first dimension: [N, ...] -> [N]."""
    return diff.reshape(diff.shape[0], -1).square().mean(dim=1)


def joint_pos_tracking(q: Tensor, q_ref: Tensor, sigma: float) -> Tensor:
    """exp(-mean_j (q - q_ref)^2 / sigma); q [N, J] rad."""
    return exp_kernel(mean_sq(q - q_ref), sigma)


def joint_vel_tracking(qd: Tensor, qd_ref: Tensor, sigma: float) -> Tensor:
    return exp_kernel(mean_sq(qd - qd_ref), sigma)


def body_vel_tracking(v: Tensor, v_ref: Tensor, sigma: float) -> Tensor:
    """exp(-mean over bodies and axes of squared velocity error / sigma); v [N, B, 3]."""
    return exp_kernel(mean_sq(v - v_ref), sigma)


def body_pos_tracking(
    pos: Tensor, pos_ref: Tensor, lower_ids: Tensor, upper_ids: Tensor, cfg: RewardConfig
) -> Tensor:
    """w_l exp(-e_lower / s_l) + w_u exp(-e_upper / s_u); e = mean squared position error (m^2)."""
    diff = pos - pos_ref
    lower = exp_kernel(mean_sq(diff[:, lower_ids]), cfg.body_pos_lower_sigma)
    upper = exp_kernel(mean_sq(diff[:, upper_ids]), cfg.body_pos_upper_sigma)
    return cfg.body_pos_lower_weight * lower + cfg.body_pos_upper_weight * upper


# ----- penalties and regularisers (magnitudes >= 0) -----
def sum_sq(x: Tensor) -> Tensor:
    return x.reshape(x.shape[0], -1).square().sum(dim=1)


def torque_limits(torque: Tensor, effort_limit: Tensor, fraction: float) -> Tensor:
    """Sum of |tau| above ``fraction`` of the effort limit (N m)."""
    return (torque.abs() - fraction * effort_limit).clamp_min(0.0).sum(dim=1)


def joint_pos_limits(q: Tensor, lower: Tensor, upper: Tensor) -> Tensor:
    """Sum of the distances (rad) by which q leaves the (soft) range [lower, upper]."""
    return ((lower - q).clamp_min(0.0) + (q - upper).clamp_min(0.0)).sum(dim=1)


def joint_vel_limits(qd: Tensor, limit: Tensor) -> Tensor:
    """Sum over joints of (|qd| - limit) clipped to [0, 1] (rad/s)."""
    return (qd.abs() - limit).clamp(0.0, 1.0).sum(dim=1)


def feet_contact_force(forces: Tensor, max_force: float) -> Tensor:
    """Sum over feet of the contact force norm above ``max_force`` (N); forces [N, F, 3]."""
    return (forces.norm(dim=-1) - max_force).clamp_min(0.0).sum(dim=1)


def stumble(forces: Tensor) -> Tensor:
    """1 when any foot's horizontal contact force exceeds 5x its vertical force."""
    return (forces[..., :2].norm(dim=-1) > 5.0 * forces[..., 2].abs()).any(dim=1).float()


def slippage(feet_lin_vel: Tensor, contact: Tensor) -> Tensor:
    """Sum over feet in contact of the foot speed (m/s); contact [N, F] bool."""
    return (feet_lin_vel.norm(dim=-1) * contact).sum(dim=1)


def feet_orientation(feet_quat: Tensor, contact: Tensor) -> Tensor:
    """Sum over feet in contact of |projected gravity xy| (0 when the sole is flat)."""
    return (projected_gravity(feet_quat)[..., :2].norm(dim=-1) * contact).sum(dim=1)


def feet_air_time(
    air_time_at_contact: Tensor, first_contact: Tensor, ref_root_lin_vel: Tensor, cfg: RewardConfig
) -> Tensor:
    """Sum over feet touching down of (air time - target) (s); 0 when the reference pelvis is slower
    than ``feet_air_time_min_ref_speed`` in xy (standing still needs no steps)."""
    moving = ref_root_lin_vel[:, :2].norm(dim=-1) > cfg.feet_air_time_min_ref_speed
    return ((air_time_at_contact - cfg.feet_air_time_target) * first_contact).sum(dim=1) * moving


def both_feet_in_air(contact: Tensor) -> Tensor:
    return (~contact).all(dim=1).float()


def base_orientation(root_quat: Tensor) -> Tensor:
    """Squared norm of the projected gravity's xy components (0 when the pelvis is level)."""
    return projected_gravity(root_quat)[:, :2].square().sum(dim=1)


def feet_max_height(max_height_at_contact: Tensor, first_contact: Tensor, target: float) -> Tensor:
    """At touchdown, how far (m) the swing foot stayed below ``target`` height."""
    return ((target - max_height_at_contact).clamp_min(0.0) * first_contact).sum(dim=1)


# ----- feet bookkeeping (pure state update) -----
@dataclass
class FeetState:
    air_time: Tensor  # [N, F] s since the last contact
    max_height: Tensor  # [N, F] highest foot z (m) during the current swing
    last_contact: Tensor  # [N, F] bool

    @staticmethod
    def zeros(n: int, f: int, device: str | torch.device) -> FeetState:
        z = torch.zeros(n, f, device=device)
        return FeetState(z, z.clone(), torch.ones(n, f, dtype=torch.bool, device=device))


def update_feet(
    state: FeetState, contact: Tensor, feet_z: Tensor, dt: float
) -> tuple[FeetState, Tensor, Tensor, Tensor]:
    """Advance feet timers by dt. Returns (new state, first_contact [N,F] bool, air time at contact,
    max swing height at contact). Contact is filtered with the previous step (legged_gym style)."""
    filt = contact | state.last_contact
    air_time = state.air_time + dt
    max_height = torch.maximum(state.max_height, feet_z)
    first_contact = (state.air_time > 0.0) & filt
    new = FeetState(air_time * ~filt, max_height * ~filt, contact)
    return new, first_contact, air_time, max_height


# ----- composition -----
@dataclass
class RewardInputs:
    """Everything the reward terms read, for one policy step (world frame)."""

    robot: BodyState  # tracked bodies [N, B]
    ref: BodyState  # reference tracked bodies [N, B]
    joint_pos: Tensor  # [N, J]
    joint_vel: Tensor  # [N, J]
    prev_joint_vel: Tensor  # [N, J]
    ref_joint_pos: Tensor  # [N, J]
    ref_joint_vel: Tensor  # [N, J]
    ref_root_lin_vel: Tensor  # [N, 3]
    joint_torque: Tensor  # [N, J]
    actions: Tensor  # [N, J]
    prev_actions: Tensor  # [N, J]
    feet_forces: Tensor  # [N, F, 3]
    feet_quat: Tensor  # [N, F, 4]
    feet_lin_vel: Tensor  # [N, F, 3]
    contact: Tensor  # [N, F] bool
    first_contact: Tensor  # [N, F] bool
    air_time_at_contact: Tensor  # [N, F]
    max_height_at_contact: Tensor  # [N, F]
    terminated: Tensor  # [N] bool (failures, not time-outs)
    dt: float  # policy step (s)


@dataclass
class RewardIndices:
    """Robot-dependent index sets and limits used by the terms."""

    lower_bodies: Tensor
    upper_bodies: Tensor
    vr_bodies: Tensor
    lower_joints: Tensor
    upper_joints: Tensor
    effort_limit: Tensor  # [J]
    soft_pos_lower: Tensor  # [J]
    soft_pos_upper: Tensor  # [J]
    soft_vel_limit: Tensor  # [J]


def compute_terms(x: RewardInputs, idx: RewardIndices, cfg: RewardConfig) -> dict[str, Tensor]:
    """Unweighted value [N] of every reward term."""
    da = x.actions - x.prev_actions
    return {
        "joint_pos": joint_pos_tracking(x.joint_pos, x.ref_joint_pos, cfg.joint_pos_sigma),
        "joint_vel": joint_vel_tracking(x.joint_vel, x.ref_joint_vel, cfg.joint_vel_sigma),
        "body_lin_vel": body_vel_tracking(x.robot.lin_vel, x.ref.lin_vel, cfg.body_lin_vel_sigma),
        "body_ang_vel": body_vel_tracking(x.robot.ang_vel, x.ref.ang_vel, cfg.body_ang_vel_sigma),
        "body_pos": body_pos_tracking(x.robot.pos, x.ref.pos, idx.lower_bodies, idx.upper_bodies, cfg),
        "vr_keypoints": exp_kernel(
            mean_sq(x.robot.pos[:, idx.vr_bodies] - x.ref.pos[:, idx.vr_bodies]), cfg.vr_keypoints_sigma
        ),
        "torques": sum_sq(x.joint_torque),
        "torque_limits": torque_limits(x.joint_torque, idx.effort_limit, cfg.torque_limit_fraction),
        "joint_acc": sum_sq((x.joint_vel - x.prev_joint_vel) / x.dt),
        "joint_vel_l2": sum_sq(x.joint_vel),
        "lower_action_rate": sum_sq(da[:, idx.lower_joints]),
        "upper_action_rate": sum_sq(da[:, idx.upper_joints]),
        "joint_pos_limits": joint_pos_limits(x.joint_pos, idx.soft_pos_lower, idx.soft_pos_upper),
        "joint_vel_limits": joint_vel_limits(x.joint_vel, idx.soft_vel_limit),
        "termination": x.terminated.float(),
        "feet_contact_force": feet_contact_force(x.feet_forces, cfg.max_contact_force),
        "stumble": stumble(x.feet_forces),
        "slippage": slippage(x.feet_lin_vel, x.contact),
        "feet_orientation": feet_orientation(x.feet_quat, x.contact),
        "feet_air_time": feet_air_time(x.air_time_at_contact, x.first_contact, x.ref_root_lin_vel, cfg),
        "both_feet_in_air": both_feet_in_air(x.contact),
        "base_orientation": base_orientation(x.robot.quat[:, 0]),
        "feet_max_height": feet_max_height(
            x.max_height_at_contact, x.first_contact, cfg.feet_max_height_target
        ),
    }


def weighted_sum(
    terms: dict[str, Tensor], cfg: RewardConfig, penalty_scale: float
) -> tuple[Tensor, dict[str, Tensor]]:
    """Total reward [N] and the weighted value of each term: weight x ``cfg.scale``, and non-task
    terms x ``penalty_scale``."""
    weighted = {}
    for name, value in terms.items():
        w = getattr(cfg, name) * cfg.scale
        if name not in TASK_TERMS:
            w = w * penalty_scale
        weighted[name] = w * value
    total = torch.stack(list(weighted.values())).sum(dim=0)
    return total, weighted


def soft_joint_limits(lower: Tensor, upper: Tensor, fraction: float) -> tuple[Tensor, Tensor]:
    """Range shrunk about its centre to ``fraction`` of its width."""
    mid, half = 0.5 * (lower + upper), 0.5 * (upper - lower) * fraction
    return mid - half, mid + half
