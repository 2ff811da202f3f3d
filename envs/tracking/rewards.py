"""Reward terms: pure functions of one step's tensors, one value per env [N].

Two layers. Kernels (``joint_pos_limits(q, lower, upper)``, ...) take plain tensors. Terms take a
:class:`~hover.envs.tracking.step.StepData` and keyword parameters and are registered by name in
:data:`REWARD_FUNCTIONS`; a recipe (``config.RewardTerm`` entries) names them. Tracking terms return
values in (0, 1]; penalties return non-negative magnitudes (a negative weight makes them penalties),
except the paper's ``feet_air_time``, which is signed. Frames: world (errors are frame-independent),
quaternions (w, x, y, z). :func:`compute_reward` applies weights, ``reward_scale`` and the penalty
curriculum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from hover.envs.tracking.config import RewardTerm
from hover.envs.tracking.step import StepData
from hover.rotations import projected_gravity, quat_angle_between


# ----------------------------------------------------------------------------- kernels
def exp_kernel(error: Tensor, sigma: float) -> Tensor:
    """exp(-error / sigma) (the paper's form: ``error`` is already a squared error)."""
    return torch.exp(-error / sigma)


def mean_sq(diff: Tensor) -> Tensor:
    """Mean of squared components over all but the first dimension: [N, ...] -> [N]."""
    return diff.reshape(diff.shape[0], -1).square().mean(dim=1)


def sum_sq(x: Tensor) -> Tensor:
    return x.reshape(x.shape[0], -1).square().sum(dim=1)


def mean_body_sq_norm(diff: Tensor) -> Tensor:
    """Mean over bodies of the squared norm of [N, B, 3] differences -> [N]."""
    return diff.square().sum(dim=-1).mean(dim=1)


def joint_pos_limits_kernel(q: Tensor, lower: Tensor, upper: Tensor) -> Tensor:
    """Sum of the distances (rad) by which q leaves the range [lower, upper]."""
    return ((lower - q).clamp_min(0.0) + (q - upper).clamp_min(0.0)).sum(dim=1)


def soft_joint_limits(lower: Tensor, upper: Tensor, fraction: float) -> tuple[Tensor, Tensor]:
    """Range shrunk about its centre to ``fraction`` of its width."""
    mid, half = 0.5 * (lower + upper), 0.5 * (upper - lower) * fraction
    return mid - half, mid + half


# ----------------------------------------------------------------------------- tracking recipe terms
def anchor_pos_error_exp(s: StepData, std: float) -> Tensor:
    """exp(-|p_anchor - p_ref_anchor|^2 / std^2): the anchor (torso) position in the world (m)."""
    a = s.idx.anchor
    return torch.exp(-(s.robot.pos[:, a] - s.ref.pos[:, a]).square().sum(-1) / std**2)


def anchor_ori_error_exp(s: StepData, std: float) -> Tensor:
    """exp(-angle^2 / std^2), angle (rad) between the anchor's and the reference anchor's orientation."""
    a = s.idx.anchor
    return torch.exp(-quat_angle_between(s.robot.quat[:, a], s.ref.quat[:, a]).square() / std**2)


def feet_pos_error_exp(s: StepData, std: float) -> Tensor:
    """exp(-mean_f |p_f - p_ref_f|^2 / std^2) over the feet, world positions (m): feet placed where
    the reference places them, so a standing clip is not tracked by stepping away and back."""
    f = s.idx.feet
    return torch.exp(-mean_body_sq_norm(s.robot.pos[:, f] - s.ref.pos[:, f]) / std**2)


def relative_body_pos_error_exp(s: StepData, std: float) -> Tensor:
    """exp(-mean_b |p_b - p'_ref_b|^2 / std^2) against the re-anchored reference (posture, not drift)."""
    return torch.exp(-mean_body_sq_norm(s.robot.pos - s.ref_anchored.pos) / std**2)


def relative_body_ori_error_exp(s: StepData, std: float) -> Tensor:
    """exp(-mean_b angle_b^2 / std^2) against the re-anchored reference orientations (rad)."""
    angle = quat_angle_between(s.robot.quat, s.ref_anchored.quat)
    return torch.exp(-angle.square().mean(dim=1) / std**2)


def body_lin_vel_error_exp(s: StepData, std: float) -> Tensor:
    """exp(-mean_b |v_b - v'_ref_b|^2 / std^2), velocities (m/s) of the re-anchored reference."""
    return torch.exp(-mean_body_sq_norm(s.robot.lin_vel - s.ref_anchored.lin_vel) / std**2)


def body_ang_vel_error_exp(s: StepData, std: float) -> Tensor:
    """exp(-mean_b |w_b - w'_ref_b|^2 / std^2) (rad/s)."""
    return torch.exp(-mean_body_sq_norm(s.robot.ang_vel - s.ref_anchored.ang_vel) / std**2)


def action_rate_l2(s: StepData) -> Tensor:
    """Sum of squared action changes between consecutive policy steps."""
    return sum_sq(s.actions - s.prev_actions)


def joint_pos_limits(s: StepData, soft_fraction: float) -> Tensor:
    """Distance (rad, summed) outside the joint range shrunk to ``soft_fraction`` of its width."""
    lo, hi = soft_joint_limits(s.idx.joint_lower, s.idx.joint_upper, soft_fraction)
    return joint_pos_limits_kernel(s.joint_pos, lo, hi)


def undesired_contacts(s: StepData, threshold: float) -> Tensor:
    """Number of non-foot contact bodies (``RobotSpec.termination_contact_bodies``) pushed > threshold N."""
    forces = s.contact_forces[:, s.idx.sim_contact_bodies]
    return (forces.norm(dim=-1) > threshold).float().sum(dim=1)


# ----------------------------------------------------------------------------- HOVER paper terms
def joint_pos_exp(s: StepData, sigma: float) -> Tensor:
    """exp(-mean_j (q - q_ref)^2 / sigma)."""
    return exp_kernel(mean_sq(s.joint_pos - s.ref_joint_pos), sigma)


def joint_vel_exp(s: StepData, sigma: float) -> Tensor:
    return exp_kernel(mean_sq(s.joint_vel - s.ref_joint_vel), sigma)


def body_lin_vel_exp(s: StepData, sigma: float) -> Tensor:
    """exp(-mean over bodies and axes of the squared world-frame velocity error / sigma)."""
    return exp_kernel(mean_sq(s.robot.lin_vel - s.ref.lin_vel), sigma)


def body_ang_vel_exp(s: StepData, sigma: float) -> Tensor:
    return exp_kernel(mean_sq(s.robot.ang_vel - s.ref.ang_vel), sigma)


def body_pos_split_exp(
    s: StepData, lower_sigma: float, upper_sigma: float, lower_weight: float, upper_weight: float
) -> Tensor:
    """w_l exp(-e_lower / s_l) + w_u exp(-e_upper / s_u), e = mean squared GLOBAL position error (m^2)."""
    diff = s.robot.pos - s.ref.pos
    lower = exp_kernel(mean_sq(diff[:, s.idx.lower_bodies]), lower_sigma)
    upper = exp_kernel(mean_sq(diff[:, s.idx.upper_bodies]), upper_sigma)
    return lower_weight * lower + upper_weight * upper


def vr_keypoints_exp(s: StepData, sigma: float) -> Tensor:
    ids = s.idx.vr_bodies
    return exp_kernel(mean_sq(s.robot.pos[:, ids] - s.ref.pos[:, ids]), sigma)


def torques_l2(s: StepData) -> Tensor:
    return sum_sq(s.joint_torque)


def torque_limits(s: StepData, fraction: float) -> Tensor:
    """Sum of |tau| above ``fraction`` of the effort limit (N m)."""
    return (s.joint_torque.abs() - fraction * s.idx.effort_limit).clamp_min(0.0).sum(dim=1)


def joint_acc_l2(s: StepData) -> Tensor:
    return sum_sq((s.joint_vel - s.prev_joint_vel) / s.dt)


def joint_vel_l2(s: StepData) -> Tensor:
    return sum_sq(s.joint_vel)


def lower_action_rate_l2(s: StepData) -> Tensor:
    return sum_sq((s.actions - s.prev_actions)[:, s.idx.lower_joints])


def upper_action_rate_l2(s: StepData) -> Tensor:
    return sum_sq((s.actions - s.prev_actions)[:, s.idx.upper_joints])


def joint_vel_limits(s: StepData, soft_fraction: float) -> Tensor:
    """Sum over joints of (|qd| - soft limit) clipped to [0, 1] (rad/s)."""
    return (s.joint_vel.abs() - soft_fraction * s.idx.velocity_limit).clamp(0.0, 1.0).sum(dim=1)


def termination(s: StepData) -> Tensor:
    """1 on the step an episode fails (not on time-outs)."""
    assert s.terminated is not None, "termination term needs StepData.terminated"
    return s.terminated.float()


def _feet(s: StepData):
    assert s.feet is not None, "feet terms need StepData.feet"
    return s.feet


def feet_contact_force(s: StepData, max_force: float) -> Tensor:
    """Sum over feet of the contact force norm above ``max_force`` (N)."""
    return (_feet(s).forces.norm(dim=-1) - max_force).clamp_min(0.0).sum(dim=1)


def stumble(s: StepData) -> Tensor:
    """1 when any foot's horizontal contact force exceeds 5x its vertical force."""
    f = _feet(s).forces
    return (f[..., :2].norm(dim=-1) > 5.0 * f[..., 2].abs()).any(dim=1).float()


def slippage(s: StepData) -> Tensor:
    """Sum over feet in contact of the foot speed (m/s)."""
    f = _feet(s)
    return (f.lin_vel.norm(dim=-1) * f.contact).sum(dim=1)


def feet_orientation(s: StepData) -> Tensor:
    """Sum over feet in contact of |projected gravity xy| (0 when the sole is flat)."""
    f = _feet(s)
    return (projected_gravity(f.quat)[..., :2].norm(dim=-1) * f.contact).sum(dim=1)


def feet_air_time(s: StepData, target: float, min_ref_speed: float) -> Tensor:
    """Sum over feet touching down of (air time - target) (s); 0 while the reference root moves slower
    than ``min_ref_speed`` (m/s) in xy (standing still needs no steps)."""
    f = _feet(s)
    moving = s.ref.lin_vel[:, 0, :2].norm(dim=-1) > min_ref_speed
    return ((f.air_time_at_contact - target) * f.first_contact).sum(dim=1) * moving


def both_feet_in_air(s: StepData) -> Tensor:
    return (~_feet(s).contact).all(dim=1).float()


def base_orientation(s: StepData) -> Tensor:
    """Squared norm of the projected gravity's xy components in the root frame (0 when level)."""
    return projected_gravity(s.robot.quat[:, 0])[:, :2].square().sum(dim=1)


def feet_max_height(s: StepData, target: float) -> Tensor:
    """At touchdown, how far (m) the swing foot stayed below ``target`` height."""
    f = _feet(s)
    return ((target - f.max_height_at_contact).clamp_min(0.0) * f.first_contact).sum(dim=1)


RewardFunction = Callable[..., Tensor]
REWARD_FUNCTIONS: dict[str, RewardFunction] = {
    f.__name__: f
    for f in (
        anchor_pos_error_exp, anchor_ori_error_exp, feet_pos_error_exp, relative_body_pos_error_exp, relative_body_ori_error_exp,
        body_lin_vel_error_exp, body_ang_vel_error_exp, action_rate_l2, joint_pos_limits, undesired_contacts,
        joint_pos_exp, joint_vel_exp, body_lin_vel_exp, body_ang_vel_exp, body_pos_split_exp, vr_keypoints_exp,
        torques_l2, torque_limits, joint_acc_l2, joint_vel_l2, lower_action_rate_l2, upper_action_rate_l2,
        joint_vel_limits, termination, feet_contact_force, stumble, slippage, feet_orientation, feet_air_time,
        both_feet_in_air, base_orientation, feet_max_height,
    )
}  # fmt: skip
#: terms that need per-foot bookkeeping (StepData.feet)
FEET_FUNCTIONS = frozenset(
    {
        "feet_contact_force",
        "stumble",
        "slippage",
        "feet_orientation",
        "feet_air_time",
        "both_feet_in_air",
        "feet_max_height",
    }
)


def check_reward_terms(terms: dict[str, RewardTerm]) -> None:
    """ValueError naming the term whose function is unknown."""
    for name, t in terms.items():
        if t.func not in REWARD_FUNCTIONS:
            raise ValueError(
                f"reward term {name!r}: unknown function {t.func!r}; known: {sorted(REWARD_FUNCTIONS)}"
            )


def compute_reward(
    step: StepData, terms: dict[str, RewardTerm], reward_scale: float, penalty_scale: float
) -> tuple[Tensor, dict[str, Tensor]]:
    """Total reward [N] and each weighted term: ``weight * reward_scale * func(step, **params)``,
    x ``penalty_scale`` for penalty terms. Terms with weight 0 are skipped."""
    weighted: dict[str, Tensor] = {}
    for name, t in terms.items():
        if t.weight == 0.0:
            continue
        w = t.weight * reward_scale * (penalty_scale if t.penalty else 1.0)
        weighted[name] = w * REWARD_FUNCTIONS[t.func](step, **t.params)
    if not weighted:
        return torch.zeros(step.num_envs, device=step.joint_pos.device), weighted
    return torch.stack(list(weighted.values())).sum(dim=0), weighted


# ----------------------------------------------------------------------------- feet bookkeeping
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
