"""Teacher observations (HOVER oracle teacher), as pure functions of batched tensors.

Everything is expressed in the robot's pelvis **heading frame**: the yaw-only rotation of the
pelvis about world z, with the origin at the pelvis. A world rotated about z and translated gives
the same observation. Quaternions (w, x, y, z); rotations in the 6D (tan-norm) form.

Actor ("policy" group, 913 dims for the H1 with 23 tracked bodies), in this order:

=================  ======  ===========================================================
term               dims    meaning
=================  ======  ===========================================================
body_pos           66      robot non-root body positions minus the pelvis
body_rot           138     robot body orientations, 6D
body_lin_vel       69      robot body linear velocities
body_ang_vel       69      robot body angular velocities
ref_pos_diff       69      reference minus robot body positions
ref_rot_diff       138     rotation taking robot body to reference body (q_ref q_robot^-1), 6D
ref_lin_vel_diff   69      reference minus robot body linear velocities
ref_ang_vel_diff   69      reference minus robot body angular velocities
ref_body_pos       69      reference body positions minus the robot pelvis
ref_body_rot       138     reference body orientations, 6D
last_action        19      the previous policy action
=================  ======  ===========================================================

Critic ("critic" group) = the actor terms without noise + privileged terms (see
:func:`privileged_terms`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from hover.envs.backends.base import PhysicsParams
from hover.envs.tracking.bodies import BodyState
from hover.rotations import heading_quat_inverse, quat_conjugate, quat_mul, quat_rotate, quat_to_tan_norm

POLICY_TERMS = (
    "body_pos", "body_rot", "body_lin_vel", "body_ang_vel",
    "ref_pos_diff", "ref_rot_diff", "ref_lin_vel_diff", "ref_ang_vel_diff",
    "ref_body_pos", "ref_body_rot", "last_action",
)  # fmt: skip
ROBOT_STATE_TERMS = ("body_pos", "body_rot", "body_lin_vel", "body_ang_vel")


def _to_heading(h_inv: Tensor, v: Tensor) -> Tensor:
    """Rotate world vectors [N, B, 3] by the inverse heading [N, 4]."""
    return quat_rotate(h_inv.unsqueeze(1).expand(*v.shape[:-1], 4), v)


def _rot_to_heading(h_inv: Tensor, q: Tensor) -> Tensor:
    """Express world orientations [N, B, 4] in the heading frame: h^-1 q."""
    return quat_mul(h_inv.unsqueeze(1).expand_as(q), q)


def policy_terms(robot: BodyState, ref: BodyState, last_action: Tensor) -> dict[str, Tensor]:
    """Named actor observation terms, each [N, k], in the robot pelvis heading frame.

    ``robot`` and ``ref`` hold the tracked bodies (pelvis first) in the world frame. All vectors are
    rotated in one batched call and all orientations converted in another (per-op overhead dominates
    at small batch sizes).
    """
    n, b = robot.pos.shape[:2]
    root_pos = robot.pos[:, :1]
    h_inv = heading_quat_inverse(robot.quat[:, 0])
    vectors = torch.cat(
        (
            robot.pos[:, 1:] - root_pos,  # body_pos (B - 1)
            robot.lin_vel,
            robot.ang_vel,
            ref.pos - robot.pos,
            ref.lin_vel - robot.lin_vel,
            ref.ang_vel - robot.ang_vel,
            ref.pos - root_pos,
        ),
        dim=1,
    )
    v = _to_heading(h_inv, vectors).reshape(n, -1)
    rot_diff = quat_mul(ref.quat, quat_conjugate(robot.quat))  # world-frame rotation robot -> ref
    h = quat_conjugate(h_inv).unsqueeze(1)
    rots = _rot_to_heading(h_inv, torch.cat((robot.quat, rot_diff, ref.quat), dim=1))
    rots[:, b : 2 * b] = quat_mul(rots[:, b : 2 * b], h.expand(n, b, 4))  # h^-1 D h
    r = quat_to_tan_norm(rots).reshape(n, -1)
    k3, k6 = 3 * b, 6 * b
    o = 3 * (b - 1)
    return {
        "body_pos": v[:, :o],
        "body_rot": r[:, :k6],
        "body_lin_vel": v[:, o : o + k3],
        "body_ang_vel": v[:, o + k3 : o + 2 * k3],
        "ref_pos_diff": v[:, o + 2 * k3 : o + 3 * k3],
        "ref_rot_diff": r[:, k6 : 2 * k6],
        "ref_lin_vel_diff": v[:, o + 3 * k3 : o + 4 * k3],
        "ref_ang_vel_diff": v[:, o + 4 * k3 : o + 5 * k3],
        "ref_body_pos": v[:, o + 5 * k3 : o + 6 * k3],
        "ref_body_rot": r[:, 2 * k6 :],
        "last_action": last_action,
    }


def privileged_terms(
    params: PhysicsParams,
    mass_body_ids: Tensor,
    effort_limits: Tensor,
    feet_contact_forces: Tensor,
    root_quat: Tensor,
    recovering: Tensor,
) -> dict[str, Tensor]:
    """Named critic-only terms, each [N, k].

    ``params``: the env's physical parameters; ``mass_body_ids``: bodies whose mass is randomised;
    ``effort_limits`` [J] (N m) normalises the torque noise; ``feet_contact_forces`` [N, F, 3] world
    (N), rotated into the heading frame and divided by 100; ``recovering`` [N] bool: a push happened
    within the grace period.
    """
    n = root_quat.shape[0]
    h_inv = heading_quat_inverse(root_quat)
    return {
        "torso_com_offset": params.torso_com_offset,
        "friction": params.friction.reshape(n, 1),
        "mass_scale": params.body_mass_scale[:, mass_body_ids],
        "kp_scale": params.kp_scale,
        "kd_scale": params.kd_scale,
        "torque_noise": params.torque_noise / effort_limits,
        "feet_contact_forces": (_to_heading(h_inv, feet_contact_forces) / 100.0).reshape(n, -1),
        "recovering": recovering.reshape(n, 1).to(root_quat.dtype),
    }


def shift_reference(terms: dict[str, Tensor], offset: Tensor, root_quat: Tensor) -> None:
    """In place: the terms as if every reference body were moved by ``offset`` [N, 3] (world, m)."""
    d = quat_rotate(heading_quat_inverse(root_quat), offset)
    for name in ("ref_pos_diff", "ref_body_pos"):
        t = terms[name]
        terms[name] = (t.reshape(t.shape[0], -1, 3) + d.unsqueeze(1)).reshape(t.shape)


def add_uniform_noise(
    terms: dict[str, Tensor], scales: dict[str, float], generator: torch.Generator | None
) -> None:
    """Add U(-s, s) noise in place to the terms named in ``scales``."""
    for name, s in scales.items():
        if s > 0.0:
            t = terms[name]
            noise = torch.rand(t.shape, generator=generator, device=t.device, dtype=t.dtype)
            terms[name] = t + (2.0 * noise - 1.0) * s


def concat(terms: dict[str, Tensor], order: tuple[str, ...] | list[str]) -> Tensor:
    return torch.cat([terms[k] for k in order], dim=-1)


def first_non_finite(terms: dict[str, Tensor]) -> tuple[str, Tensor] | None:
    """(name, env ids) of the first term holding NaN/inf, or None when all are finite."""
    for name, t in terms.items():
        bad = ~torch.isfinite(t)
        if bad.any():
            rows = bad.reshape(bad.shape[0], -1).any(dim=1) if bad.dim() > 0 else bad
            return name, rows.nonzero().flatten()
    return None
