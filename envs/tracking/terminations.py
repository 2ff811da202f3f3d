"""Termination terms: pure functions of one step's tensors, each bool [N].

Failures (the episode ends, no bootstrap) are declared by a recipe (``config.TerminationTerm``
entries naming functions of :data:`TERMINATION_FUNCTIONS`); time-outs (bootstrapped by PPO) are
always the motion end and the episode length limit. Kernels take plain tensors; terms take a
:class:`~hover.envs.tracking.step.StepData` and keyword parameters. Frames: world; quaternions
(w, x, y, z).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from hover.envs.tracking.config import TerminationTerm
from hover.envs.tracking.step import StepData
from hover.rotations import projected_gravity

TIME_OUT_TERMS = ("motion_end", "episode_length")


# ----------------------------------------------------------------------------- kernels
def gravity_tilt_kernel(root_quat: Tensor, limit: float) -> Tensor:
    """|g_x| or |g_y| of the gravity direction in the root frame above ``limit``."""
    g = projected_gravity(root_quat)
    return (g[:, 0].abs() > limit) | (g[:, 1].abs() > limit)


def contact_kernel(contact_forces: Tensor, body_ids: Tensor, limit: float) -> Tensor:
    """Any of ``body_ids`` has a net contact force above ``limit`` (N); forces [N, B, 3]."""
    return (contact_forces[:, body_ids].norm(dim=-1) > limit).any(dim=1)


def ref_distance_kernel(body_pos: Tensor, ref_pos: Tensor, limit: float, mode: str = "max") -> Tensor:
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


# ----------------------------------------------------------------------------- terms
def gravity_tilt(s: StepData, limit: float) -> Tensor:
    """The root (pelvis) tilts: |g_x| or |g_y| of the projected gravity above ``limit``."""
    return gravity_tilt_kernel(s.robot.quat[:, 0], limit)


def pelvis_tilt_from_reference(s: StepData, limit: float) -> Tensor:
    """The pelvis tilts away from the reference pelvis: the distance between the two projected gravities
    (each in its own pelvis frame, so yaw does not count) above ``limit``. For an upright reference,
    0.76 = 2 sin(22.2 deg) is a tilt of 44.4 deg, where |g_x| or |g_y| of :func:`gravity_tilt` is 0.7;
    unlike that absolute test, a reference that bends forward itself (a bow) is not a fall."""
    g = projected_gravity(s.robot.quat[:, 0])
    g_ref = projected_gravity(s.ref.quat[:, 0])
    return (g - g_ref).norm(dim=-1) > limit


def undesired_contacts(s: StepData, threshold: float) -> Tensor:
    """A body of ``RobotSpec.termination_contact_bodies`` touches something with more than ``threshold`` N."""
    return contact_kernel(s.contact_forces, s.idx.sim_contact_bodies, threshold)


def max_body_distance(s: StepData, threshold: float) -> Tensor:
    """Any tracked body farther than ``threshold`` m from its (global) reference (HOVER's training term)."""
    return ref_distance_kernel(s.robot.pos, s.ref.pos, threshold, "max")


def mean_body_distance(s: StepData, threshold: float) -> Tensor:
    """Mean distance of the tracked bodies to their global reference above ``threshold`` m (the test)."""
    return ref_distance_kernel(s.robot.pos, s.ref.pos, threshold, "mean")


def anchor_height_error(s: StepData, threshold: float) -> Tensor:
    """|z_anchor - z_ref_anchor| above ``threshold`` m."""
    a = s.idx.anchor
    return (s.robot.pos[:, a, 2] - s.ref.pos[:, a, 2]).abs() > threshold


def anchor_gravity_z_error(s: StepData, threshold: float) -> Tensor:
    """|g_z(anchor) - g_z(reference anchor)| of the projected gravities above ``threshold`` (tilt)."""
    a = s.idx.anchor
    gz = projected_gravity(s.robot.quat[:, a])[:, 2]
    gz_ref = projected_gravity(s.ref.quat[:, a])[:, 2]
    return (gz - gz_ref).abs() > threshold


def end_effector_height_error(s: StepData, threshold: float) -> Tensor:
    """Any end effector (``subsets["end_effectors"]``) with |z - z_ref| above ``threshold`` m."""
    ids = s.idx.end_effectors
    return ((s.robot.pos[:, ids, 2] - s.ref.pos[:, ids, 2]).abs() > threshold).any(dim=1)


def sim_diverged(s: StepData) -> Tensor:
    """The simulator state became non-finite."""
    if s.diverged is None:
        return torch.zeros(s.num_envs, dtype=torch.bool, device=s.joint_pos.device)
    return s.diverged


TerminationFunction = Callable[..., Tensor]
TERMINATION_FUNCTIONS: dict[str, TerminationFunction] = {
    f.__name__: f
    for f in (
        gravity_tilt,
        pelvis_tilt_from_reference,
        undesired_contacts,
        max_body_distance,
        mean_body_distance,
        anchor_height_error,
        anchor_gravity_z_error,
        end_effector_height_error,
        sim_diverged,
    )
}


def check_termination_terms(terms: dict[str, TerminationTerm]) -> None:
    """ValueError naming the term whose function is unknown."""
    for name, t in terms.items():
        if t.func not in TERMINATION_FUNCTIONS:
            raise ValueError(
                f"termination term {name!r}: unknown function {t.func!r}; known: {sorted(TERMINATION_FUNCTIONS)}"
            )


def compute_failures(
    step: StepData,
    terms: dict[str, TerminationTerm],
    steps_since_push: Tensor,
    push_grace_steps: int,
    threshold_scale: float = 1.0,
) -> dict[str, Tensor]:
    """Every failure term, bool [N]. Terms with ``during_push_grace=False`` are off for
    ``push_grace_steps`` after a push; ``curriculum`` terms get ``threshold * threshold_scale``."""
    grace = steps_since_push < push_grace_steps
    out = {}
    for name, t in terms.items():
        params = dict(t.params)
        if t.curriculum and "threshold" in params:
            params["threshold"] = params["threshold"] * threshold_scale
        hit = TERMINATION_FUNCTIONS[t.func](step, **params)
        if not t.during_push_grace:
            hit = hit & ~grace
        out[name] = hit
    return out
