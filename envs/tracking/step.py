"""What reward, termination and observation terms read: one policy step of every env, as tensors.

:class:`StepData` bundles the robot and reference states of one step (world frame, z up, quaternions
wxyz) with the robot's index sets (:class:`TrackingIndices`). Derived quantities several terms share
(the re-anchored reference, anchor frames) are computed once, on first use. Terms are pure functions
``term(step, **params) -> Tensor [N]``; tests build a StepData by hand.

Re-anchoring (BeyondMimic): the reference bodies are rotated about z and translated so that the
reference anchor (``RobotSpec.anchor``, the H1's torso) sits at the robot anchor's xy position and
heading; the reference heights are kept. Errors against the re-anchored reference measure posture,
not horizontal drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import Tensor

from hover.envs.tracking.bodies import BodyState
from hover.robots import RobotSpec
from hover.rotations import heading_quat, quat_conjugate, quat_mul, quat_rotate


@dataclass
class TrackingIndices:
    """Robot-dependent index sets and limits (built once from a RobotSpec by :meth:`from_robot`).

    Body indices into the tracked bodies (real then extended) unless named ``sim_``; joints in
    policy order.
    """

    anchor: int
    lower_bodies: Tensor
    upper_bodies: Tensor
    vr_bodies: Tensor
    end_effectors: Tensor
    feet: Tensor  # the feet among the tracked bodies
    lower_joints: Tensor
    upper_joints: Tensor
    sim_feet: Tensor
    sim_contact_bodies: Tensor  # bodies whose contact is a failure / an undesired contact
    effort_limit: Tensor  # [J] N m
    joint_lower: Tensor  # [J] rad
    joint_upper: Tensor  # [J] rad
    velocity_limit: Tensor  # [J] rad/s
    default_joint_pos: Tensor  # [J] rad
    kp: Tensor  # [J] N m / rad

    @staticmethod
    def from_robot(robot: RobotSpec, device: str | torch.device = "cpu") -> TrackingIndices:
        tracked, names = robot.tracked_body_names, robot.body_names
        lower = [b for b in tracked if b == robot.root.name or any(k in b for k in ("hip", "knee", "ankle"))]

        def ids(pool: list[str], wanted: list[str] | tuple[str, ...]) -> Tensor:
            return torch.tensor([pool.index(n) for n in wanted], dtype=torch.long, device=device)

        def per_joint(attr: str) -> Tensor:
            return torch.tensor([getattr(j, attr) for j in robot.joints], dtype=torch.float32, device=device)

        joints = robot.joints
        return TrackingIndices(
            anchor=tracked.index(robot.anchor),
            lower_bodies=ids(tracked, lower),
            upper_bodies=ids(tracked, [b for b in tracked if b not in lower]),
            vr_bodies=ids(tracked, robot.subsets.get("vr", ())),
            end_effectors=ids(tracked, robot.end_effectors or robot.feet),
            feet=ids(tracked, robot.feet),
            lower_joints=ids(robot.joint_names, robot.lower_body_joints),
            upper_joints=ids(robot.joint_names, robot.upper_body_joints),
            sim_feet=ids(names, robot.feet),
            sim_contact_bodies=ids(names, robot.termination_contact_bodies),
            effort_limit=per_joint("effort_limit"),
            joint_lower=torch.tensor([j.range[0] for j in joints], device=device),
            joint_upper=torch.tensor([j.range[1] for j in joints], device=device),
            velocity_limit=per_joint("velocity_limit"),
            default_joint_pos=per_joint("default_pos"),
            kp=per_joint("kp"),
        )


@dataclass
class FeetData:
    """Feet of every env at this step (world frame); contact from the normal force."""

    forces: Tensor  # [N, F, 3] N
    quat: Tensor  # [N, F, 4]
    lin_vel: Tensor  # [N, F, 3]
    contact: Tensor  # [N, F] bool
    first_contact: Tensor  # [N, F] bool: touchdown at this step
    air_time_at_contact: Tensor  # [N, F] s
    max_height_at_contact: Tensor  # [N, F] m


@dataclass
class StepData:
    """One step of every env (see the module docstring). ``terminated``: failures of this step
    (read by the paper's termination penalty); ``steps_since_push`` [N] long."""

    robot: BodyState
    ref: BodyState
    joint_pos: Tensor  # [N, J]
    joint_vel: Tensor
    prev_joint_vel: Tensor
    ref_joint_pos: Tensor
    ref_joint_vel: Tensor
    joint_torque: Tensor  # [N, J] N m
    actions: Tensor  # [N, J] policy actions
    prev_actions: Tensor
    contact_forces: Tensor  # [N, B_sim, 3] N, world
    idx: TrackingIndices
    dt: float  # policy step, s
    feet: FeetData | None = None
    terminated: Tensor | None = None
    diverged: Tensor | None = None
    obs_actions: Tensor | None = None  # [N, J] ``last_action`` as observed (default: ``actions``)

    @property
    def observed_last_action(self) -> Tensor:
        return self.actions if self.obs_actions is None else self.obs_actions

    @property
    def num_envs(self) -> int:
        return self.joint_pos.shape[0]

    @cached_property
    def anchor_heading_delta(self) -> Tensor:
        """[N, 4] yaw rotation taking the reference anchor's heading to the robot anchor's."""
        a = self.idx.anchor
        return quat_mul(
            heading_quat(self.robot.quat[:, a]), quat_conjugate(heading_quat(self.ref.quat[:, a]))
        )

    @cached_property
    def ref_anchored(self) -> BodyState:
        """Reference bodies re-anchored at the robot anchor (xy and heading; heights kept), world frame."""
        a = self.idx.anchor
        delta = self.anchor_heading_delta.unsqueeze(1)
        ref_anchor = self.ref.pos[:, a : a + 1]
        origin = ref_anchor.clone()
        origin[..., :2] = self.robot.pos[:, a : a + 1, :2]
        rel = self.ref.pos - ref_anchor
        d = delta.expand(*rel.shape[:-1], 4)
        return BodyState(
            pos=origin + quat_rotate(d, rel),
            quat=quat_mul(d, self.ref.quat),
            lin_vel=quat_rotate(d, self.ref.lin_vel),
            ang_vel=quat_rotate(d, self.ref.ang_vel),
        )
