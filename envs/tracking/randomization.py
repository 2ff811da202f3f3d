"""Domain randomisation draws (pure functions of a config, sizes and a torch.Generator).

Reset noise (:func:`perturb_reset`): the reference state a reset starts from, perturbed.
Per episode: friction, link mass scales, torso COM offset (torso body frame, m), kp/kd scales,
a constant torque offset per joint (N m, random sign), control delay (policy steps), reference
offset (world, m). During the episode: root pushes (world xy velocity change, m/s). With
``cfg.enabled=False`` every draw returns the nominal value.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hover.envs.backends.base import PhysicsParams
from hover.envs.tracking.config import DomainRandConfig, ResetConfig
from hover.rotations import quat_from_euler_xyz, quat_mul


def uniform(
    shape: tuple[int, ...], lo: float, hi: float, generator: torch.Generator | None, device: torch.device
) -> Tensor:
    return lo + (hi - lo) * torch.rand(shape, generator=generator, device=device)


def sample_physics_params(
    cfg: DomainRandConfig,
    n: int,
    num_bodies: int,
    effort_limits: Tensor,
    mass_body_ids: Tensor,
    generator: torch.Generator | None,
    device: torch.device,
) -> PhysicsParams:
    """Draw ``n`` envs' physical parameters (nominal when DR is off)."""
    j = effort_limits.shape[0]
    params = PhysicsParams.nominal(n, num_bodies, j, device)
    if not cfg.enabled:
        return params
    params.friction = uniform((n,), *cfg.friction_range, generator, device)
    params.body_mass_scale[:, mass_body_ids] = uniform(
        (n, len(mass_body_ids)), *cfg.mass_scale_range, generator, device
    )
    params.torso_com_offset = uniform((n, 3), -cfg.torso_com_offset, cfg.torso_com_offset, generator, device)
    params.kp_scale = uniform((n, j), *cfg.kp_scale_range, generator, device)
    params.kd_scale = uniform((n, j), *cfg.kd_scale_range, generator, device)
    scale = uniform((n, 1), *cfg.torque_noise_scale_range, generator, device)
    sign = uniform((n, j), -1.0, 1.0, generator, device)
    params.torque_noise = cfg.torque_noise_fraction * scale * sign * effort_limits
    return params


def sample_delays(
    delay_range: tuple[int, int], n: int, generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """Control delay in policy steps, uniform over the inclusive range [lo, hi]."""
    lo, hi = delay_range
    if lo < 0 or hi < lo:
        raise ValueError(f"control_delay_steps must satisfy 0 <= lo <= hi, got {delay_range}")
    return torch.randint(lo, hi + 1, (n,), generator=generator, device=device)


def sample_pushes(
    cfg: DomainRandConfig, n: int, generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """World-frame root velocity changes [n, 3]: xy uniform in +-push_vel_xy, z = 0."""
    v = torch.zeros(n, 3, device=device)
    v[:, :2] = uniform((n, 2), -cfg.push_vel_xy, cfg.push_vel_xy, generator, device)
    return v


def sample_ref_offset(
    half_range: tuple[float, float, float], n: int, generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """Per-episode offset [n, 3] (m) added to the reference seen by the actor."""
    r = torch.tensor(half_range, device=device)
    return (2.0 * torch.rand(n, 3, generator=generator, device=device) - 1.0) * r


def perturb_reset(
    cfg: ResetConfig,
    root_pos: Tensor,
    root_quat: Tensor,
    lin_vel: Tensor,
    ang_vel: Tensor,
    joint_pos: Tensor,
    generator: torch.Generator | None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Reset state (world frame, wxyz) with uniform noise (see ``ResetConfig``); unchanged if
    ``cfg.noise`` is off. Root height is only lifted (0..pos_z), never lowered into the floor."""
    if not cfg.noise:
        return root_pos, root_quat, lin_vel, ang_vel, joint_pos
    n, dev = root_pos.shape[0], root_pos.device

    def u(shape: tuple[int, ...], half: float) -> Tensor:
        return uniform(shape, -half, half, generator, dev)

    pos = root_pos.clone()
    pos[:, :2] += u((n, 2), cfg.pos_xy)
    pos[:, 2] += uniform((n,), 0.0, cfg.pos_z, generator, dev)
    euler = torch.cat((u((n, 2), cfg.roll_pitch), u((n, 1), cfg.yaw)), dim=1)
    quat = quat_mul(quat_from_euler_xyz(euler), root_quat)  # world-frame perturbation about the root
    return (
        pos,
        quat,
        lin_vel + u((n, 3), cfg.lin_vel),
        ang_vel + u((n, 3), cfg.ang_vel),
        joint_pos + u(tuple(joint_pos.shape), cfg.joint_pos),
    )
