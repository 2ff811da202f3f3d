"""Teacher observation terms, as pure functions of batched tensors, looked up by name.

A recipe lists term names per group (``config.ObservationConfig``); :data:`OBSERVATION_TERMS` maps
each name to the provider that computes it (a provider computes a family of terms in few batched
calls). Providers:

``tracking`` (the default recipe's actor, 182 dims for the H1; frames: the robot's pelvis for root
velocities and gravity, the robot anchor (torso) for the reference):

=====================  ======  =====================================================================
term                   dims    meaning
=====================  ======  =====================================================================
ref_joint_pos          19      reference joint angles (rad)
ref_joint_vel          19      reference joint velocities (rad/s)
ref_anchor_pos         3       reference anchor position in the robot anchor's frame (m)
ref_anchor_rot         6       reference anchor orientation relative to the robot anchor, 6D
ref_body_pos_local     69      re-anchored reference minus robot body positions, robot anchor heading frame
root_lin_vel_local     3       pelvis linear velocity, pelvis frame (m/s)
root_ang_vel_local     3       pelvis angular velocity, pelvis frame (rad/s)
projected_gravity      3       gravity direction in the pelvis frame
joint_pos_rel          19      joint angles minus the default pose (rad)
joint_vel              19      joint velocities (rad/s)
last_action            19      the previous policy action
body_pos_local         69      (critic) robot bodies minus the anchor, anchor heading frame
body_rot_local         138     (critic) robot body orientations in the anchor heading frame, 6D
=====================  ======  =====================================================================

``hover_paper`` (the paper preset's actor, 913 dims; everything in the pelvis heading frame: the
yaw-only rotation of the pelvis about world z, origin at the pelvis):

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

``privileged`` (critic only): physics parameters, feet contact forces, push recovery flag (see
:func:`privileged_terms`). A world rotated about z and translated gives the same observations.
Quaternions (w, x, y, z); rotations in the 6D (tan-norm) form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from hover.envs.backends.base import PhysicsParams
from hover.envs.tracking.bodies import BodyState
from hover.envs.tracking.step import StepData
from hover.rotations import (
    heading_quat_inverse,
    projected_gravity,
    quat_conjugate,
    quat_mul,
    quat_rotate,
    quat_rotate_inverse,
    quat_to_tan_norm,
)

POLICY_TERMS = (
    "body_pos",
    "body_rot",
    "body_lin_vel",
    "body_ang_vel",
    "ref_pos_diff",
    "ref_rot_diff",
    "ref_lin_vel_diff",
    "ref_ang_vel_diff",
    "ref_body_pos",
    "ref_body_rot",
    "last_action",
)
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
        if name not in terms:
            continue
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


def tracking_terms(s: StepData) -> dict[str, Tensor]:
    """The ``tracking`` provider's terms (see the module docstring), each [N, k]."""
    n = s.num_envs
    a = s.idx.anchor
    anchor_pos, anchor_quat = s.robot.pos[:, a], s.robot.quat[:, a]
    ref_anchor_pos, ref_anchor_quat = s.ref.pos[:, a], s.ref.quat[:, a]
    h_inv = heading_quat_inverse(anchor_quat)
    root_quat = s.robot.quat[:, 0]
    return {
        "ref_joint_pos": s.ref_joint_pos,
        "ref_joint_vel": s.ref_joint_vel,
        "ref_anchor_pos": quat_rotate_inverse(anchor_quat, ref_anchor_pos - anchor_pos),
        "ref_anchor_rot": quat_to_tan_norm(quat_mul(quat_conjugate(anchor_quat), ref_anchor_quat)),
        "ref_body_pos_local": _to_heading(h_inv, s.ref_anchored.pos - s.robot.pos).reshape(n, -1),
        "root_lin_vel_local": quat_rotate_inverse(root_quat, s.robot.lin_vel[:, 0]),
        "root_ang_vel_local": quat_rotate_inverse(root_quat, s.robot.ang_vel[:, 0]),
        "projected_gravity": projected_gravity(root_quat),
        "joint_pos_rel": s.joint_pos - s.idx.default_joint_pos,
        "joint_vel": s.joint_vel,
        "last_action": s.observed_last_action,
        "body_pos_local": _to_heading(h_inv, s.robot.pos - anchor_pos.unsqueeze(1)).reshape(n, -1),
        "body_rot_local": quat_to_tan_norm(_rot_to_heading(h_inv, s.robot.quat)).reshape(n, -1),
    }


@dataclass
class ObsInputs:
    """What the providers read: the step plus the physics parameters and push state of every env."""

    step: StepData
    params: PhysicsParams
    mass_body_ids: Tensor
    recovering: Tensor  # [N] bool: a push happened within the grace period


def _paper(x: ObsInputs) -> dict[str, Tensor]:
    return policy_terms(x.step.robot, x.step.ref, x.step.observed_last_action)


def _privileged(x: ObsInputs) -> dict[str, Tensor]:
    s = x.step
    feet = s.contact_forces[:, s.idx.sim_feet]
    terms = privileged_terms(
        x.params, x.mass_body_ids, s.idx.effort_limit, feet, s.robot.quat[:, 0], x.recovering
    )
    return {"privileged": torch.cat(list(terms.values()), dim=-1)}


def _tracking(x: ObsInputs) -> dict[str, Tensor]:
    return tracking_terms(x.step)


Provider = Callable[[ObsInputs], dict[str, Tensor]]
PROVIDERS: dict[str, tuple[Provider, tuple[str, ...]]] = {
    "tracking": (_tracking, (
        "ref_joint_pos", "ref_joint_vel", "ref_anchor_pos", "ref_anchor_rot", "ref_body_pos_local",
        "root_lin_vel_local", "root_ang_vel_local", "projected_gravity", "joint_pos_rel", "joint_vel",
        "last_action", "body_pos_local", "body_rot_local")),
    "hover_paper": (_paper, POLICY_TERMS),
    "privileged": (_privileged, ("privileged",)),
}  # fmt: skip
#: term name -> provider name (``last_action`` comes from the first provider that has it)
OBSERVATION_TERMS: dict[str, str] = {}
for _name, (_, _terms) in PROVIDERS.items():
    for _t in _terms:
        OBSERVATION_TERMS.setdefault(_t, _name)


def check_observation_terms(names: tuple[str, ...] | list[str], group: str) -> None:
    """ValueError naming an unknown term of observation group ``group``."""
    for name in names:
        if name not in OBSERVATION_TERMS:
            raise ValueError(
                f"observation group {group!r}: unknown term {name!r}; known: {sorted(OBSERVATION_TERMS)}"
            )


def compute_terms(x: ObsInputs, names: set[str]) -> dict[str, Tensor]:
    """The named terms (each provider that serves one of them runs once)."""
    out: dict[str, Tensor] = {}
    for provider in {OBSERVATION_TERMS[n] for n in names}:
        fn, _ = PROVIDERS[provider]
        for k, v in fn(x).items():
            if k in names and k not in out:
                out[k] = v
    return out
