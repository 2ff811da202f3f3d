"""Shared test helpers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from hover.envs.tracking.bodies import BodyState
from hover.envs.tracking.step import StepData, TrackingIndices
from hover.robots import get_robot


def identity_bodies(pos: torch.Tensor) -> BodyState:
    """Bodies at ``pos`` [N, B, 3], identity orientation, at rest."""
    n, b = pos.shape[:2]
    quat = torch.zeros(n, b, 4)
    quat[..., 0] = 1.0
    return BodyState(pos, quat, torch.zeros(n, b, 3), torch.zeros(n, b, 3))


def build_step(n: int = 2, **overrides) -> StepData:
    """A hand-made H1 StepData: robot and reference on the standing pose of random-free zeros
    (bodies at the origin offsets of a column, identity orientations, joints at 0, at rest);
    any field can be overridden by keyword."""
    robot = get_robot("h1")
    b, j, bs = len(robot.tracked_body_names), robot.num_joints, robot.num_bodies
    pos = torch.zeros(n, b, 3)
    pos[..., 2] = torch.linspace(0.1, 1.7, b)
    zeros = torch.zeros(n, j)
    fields = dict(
        robot=identity_bodies(pos.clone()),
        ref=identity_bodies(pos.clone()),
        joint_pos=zeros.clone(),
        joint_vel=zeros.clone(),
        prev_joint_vel=zeros.clone(),
        ref_joint_pos=zeros.clone(),
        ref_joint_vel=zeros.clone(),
        joint_torque=zeros.clone(),
        actions=zeros.clone(),
        prev_actions=zeros.clone(),
        contact_forces=torch.zeros(n, bs, 3),
        idx=TrackingIndices.from_robot(robot),
        dt=0.02,
    )
    fields.update(overrides)
    return StepData(**fields)


@pytest.fixture
def make_step() -> Callable[..., StepData]:
    return build_step
