"""Termination conditions as pure functions of batched tensors; each returns bool [N].

Failures (the episode ends, no bootstrap): gravity tilt, undesired contacts, reference distance.
Time-outs (bootstrapped by PPO): motion end and the episode length limit.
Frames: world; quaternions (w, x, y, z).
"""

from __future__ import annotations

import torch
from torch import Tensor

from hover.envs.tracking.config import TerminationConfig
from hover.rotations import projected_gravity

FAILURE_TERMS = ("gravity_tilt", "undesired_contacts", "ref_distance")
TIME_OUT_TERMS = ("motion_end", "episode_length")


def gravity_tilt(root_quat: Tensor, limit: float) -> Tensor:
    """|g_x| or |g_y| of the gravity direction in the pelvis frame above ``limit``."""
    g = projected_gravity(root_quat)
    return (g[:, 0].abs() > limit) | (g[:, 1].abs() > limit)


def undesired_contacts(contact_forces: Tensor, body_ids: Tensor, limit: float) -> Tensor:
    """Any of ``body_ids`` has a net contact force above ``limit`` (N); forces [N, B, 3]."""
    return (contact_forces[:, body_ids].norm(dim=-1) > limit).any(dim=1)


def ref_distance(body_pos: Tensor, ref_pos: Tensor, limit: float, mode: str = "max") -> Tensor:
    """Tracked bodies too far from the reference (m): ``max`` = any body, ``mean`` = the mean distance."""
    d = (body_pos - ref_pos).norm(dim=-1)
    if mode == "max":
        return (d > limit).any(dim=1)
    if mode == "mean":
        return d.mean(dim=1) > limit
    raise ValueError(f"ref_distance mode must be 'max' or 'mean', got {mode!r}")


def motion_end(motion_times: Tensor, durations: Tensor, dt: float) -> Tensor:
    """The reference has reached its last frame (within half a policy step)."""
    return motion_times >= durations - 0.5 * dt


def episode_length(episode_length_buf: Tensor, max_episode_length: int) -> Tensor:
    return episode_length_buf >= max_episode_length


def compute_terminations(
    cfg: TerminationConfig,
    root_quat: Tensor,
    contact_forces: Tensor,
    contact_body_ids: Tensor,
    body_pos: Tensor,
    ref_pos: Tensor,
    steps_since_push: Tensor,
    motion_times: Tensor,
    durations: Tensor,
    episode_length_buf: Tensor,
    max_episode_length: int,
    dt: float,
) -> dict[str, Tensor]:
    """All terms, bool [N] each. Reference distance is ignored ``push_grace_steps`` after a push."""
    far = ref_distance(body_pos, ref_pos, cfg.ref_distance, cfg.ref_distance_mode)
    far = far & (steps_since_push >= cfg.push_grace_steps)
    contacts = undesired_contacts(contact_forces, contact_body_ids, cfg.contact_force_limit)
    if not cfg.undesired_contacts:
        contacts = torch.zeros_like(contacts)
    return {
        "gravity_tilt": gravity_tilt(root_quat, cfg.gravity_xy_limit),
        "undesired_contacts": contacts,
        "ref_distance": far,
        "motion_end": motion_end(motion_times, durations, dt),
        "episode_length": episode_length(episode_length_buf, max_episode_length),
    }
