"""Teacher observations: dimensions and heading-frame invariance (envs/tracking/observations.py)."""

from __future__ import annotations

import math

import pytest
import torch

from hover.envs.backends.base import PhysicsParams
from hover.envs.tracking import observations as O
from hover.envs.tracking.bodies import BodyState, ExtendedBodies
from hover.kinematics import ForwardKinematics
from hover.robots import get_robot
from hover.rotations import quat_from_axis_angle, quat_mul, quat_normalize, quat_rotate

ROBOT = get_robot("h1")


def _random_bodies(n: int, gen: torch.Generator) -> BodyState:
    fk = ForwardKinematics(ROBOT)
    root_pos = torch.randn(n, 3, generator=gen) + torch.tensor([0.0, 0.0, 1.0])
    root_quat = quat_normalize(torch.randn(n, 4, generator=gen))
    joints = 0.3 * torch.randn(n, ROBOT.num_joints, generator=gen)
    poses = fk(root_pos, root_quat, joints)
    b = poses.pos.shape[1]
    return BodyState(
        poses.pos, poses.quat, torch.randn(n, b, 3, generator=gen), torch.randn(n, b, 3, generator=gen)
    )


def _transform(s: BodyState, yaw: float, shift: torch.Tensor) -> BodyState:
    """The same state in a world rotated by ``yaw`` about z and translated by ``shift``."""
    q = quat_from_axis_angle(torch.tensor([0.0, 0.0, 1.0]), torch.tensor(yaw))
    qv = q.expand(*s.pos.shape[:-1], 4)
    return BodyState(
        quat_rotate(qv, s.pos) + shift,
        quat_mul(q.expand_as(s.quat), s.quat),
        quat_rotate(qv, s.lin_vel),
        quat_rotate(qv, s.ang_vel),
    )


def test_policy_observation_dims_match_the_paper():
    gen = torch.Generator().manual_seed(0)
    robot, ref = _random_bodies(3, gen), _random_bodies(3, gen)
    terms = O.policy_terms(robot, ref, torch.zeros(3, 19))
    dims = {k: v.shape[1] for k, v in terms.items()}
    assert dims == {
        "body_pos": 66,
        "body_rot": 138,
        "body_lin_vel": 69,
        "body_ang_vel": 69,
        "ref_pos_diff": 69,
        "ref_rot_diff": 138,
        "ref_lin_vel_diff": 69,
        "ref_ang_vel_diff": 69,
        "ref_body_pos": 69,
        "ref_body_rot": 138,
        "last_action": 19,
    }
    assert O.concat(terms, O.POLICY_TERMS).shape == (3, 913)


def test_rotated_and_translated_world_gives_the_same_observation():
    gen = torch.Generator().manual_seed(1)
    robot, ref = _random_bodies(4, gen), _random_bodies(4, gen)
    action = torch.randn(4, 19, generator=gen)
    a = O.concat(O.policy_terms(robot, ref, action), O.POLICY_TERMS)
    shift = torch.tensor([3.0, -2.0, 0.5])
    b = O.concat(
        O.policy_terms(_transform(robot, 1.1, shift), _transform(ref, 1.1, shift), action), O.POLICY_TERMS
    )
    assert torch.allclose(a, b, atol=2e-5)
    # a rotation about x is not a heading change: the observation must differ
    q = quat_from_axis_angle(torch.tensor([1.0, 0.0, 0.0]), torch.tensor(0.5))
    tilted = BodyState(robot.pos, quat_mul(q.expand_as(robot.quat), robot.quat), robot.lin_vel, robot.ang_vel)
    c = O.concat(O.policy_terms(tilted, ref, action), O.POLICY_TERMS)
    assert not torch.allclose(a, c, atol=1e-3)


def test_perfect_tracking_gives_zero_differences_and_identity_rotation():
    gen = torch.Generator().manual_seed(2)
    robot = _random_bodies(2, gen)
    terms = O.policy_terms(robot, robot, torch.zeros(2, 19))
    for k in ("ref_pos_diff", "ref_lin_vel_diff", "ref_ang_vel_diff"):
        assert torch.allclose(terms[k], torch.zeros_like(terms[k]), atol=1e-6)
    identity_6d = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]).repeat(23)
    assert torch.allclose(terms["ref_rot_diff"], identity_6d.expand(2, -1), atol=1e-5)
    assert torch.allclose(terms["ref_body_pos"][:, 3:], terms["body_pos"], atol=1e-6)


def test_shift_reference_equals_moving_the_reference():
    gen = torch.Generator().manual_seed(3)
    robot, ref = _random_bodies(3, gen), _random_bodies(3, gen)
    offset = torch.randn(3, 3, generator=gen) * 0.1
    moved = BodyState(ref.pos + offset.unsqueeze(1), ref.quat, ref.lin_vel, ref.ang_vel)
    expect = O.policy_terms(robot, moved, torch.zeros(3, 19))
    got = O.policy_terms(robot, ref, torch.zeros(3, 19))
    O.shift_reference(got, offset, robot.quat[:, 0])
    for k in expect:
        assert torch.allclose(got[k], expect[k], atol=1e-5), k


def test_extended_bodies_match_forward_kinematics_and_rigid_velocity():
    fk = ForwardKinematics(ROBOT)
    gen = torch.Generator().manual_seed(4)
    root_quat = quat_normalize(torch.randn(2, 4, generator=gen))
    poses = fk(torch.zeros(2, 3), root_quat, 0.3 * torch.randn(2, 19, generator=gen))
    nb = ROBOT.num_bodies
    w = torch.randn(2, nb, 3, generator=gen)
    ext = ExtendedBodies(ROBOT)(poses.pos[:, :nb], poses.quat[:, :nb], torch.zeros(2, nb, 3), w)
    assert torch.allclose(ext.pos, poses.pos, atol=1e-6)
    head = ROBOT.body_index("head_link")  # rigid on the pelvis: v = w x r
    r = ext.pos[:, head] - ext.pos[:, 0]
    assert torch.allclose(ext.lin_vel[:, head], torch.cross(w[:, 0], r, dim=-1), atol=1e-6)


def test_privileged_terms_dims_and_values():
    n = 2
    params = PhysicsParams.nominal(n, ROBOT.num_bodies, ROBOT.num_joints)
    params.torque_noise[:, 0] = 20.0
    effort = torch.full((ROBOT.num_joints,), 200.0)
    forces = torch.zeros(n, 2, 3)
    forces[:, 0, 2] = 300.0
    quat = quat_from_axis_angle(torch.tensor([0.0, 0.0, 1.0]), torch.tensor(math.pi / 2)).expand(n, 4)
    terms = O.privileged_terms(params, torch.arange(8), effort, forces, quat, torch.tensor([True, False]))
    dims = {k: v.shape[1] for k, v in terms.items()}
    assert dims == {
        "torso_com_offset": 3,
        "friction": 1,
        "mass_scale": 8,
        "kp_scale": 19,
        "kd_scale": 19,
        "torque_noise": 19,
        "feet_contact_forces": 6,
        "recovering": 1,
    }
    assert terms["torque_noise"][0, 0].item() == pytest.approx(0.1)
    assert torch.allclose(terms["feet_contact_forces"][0, :3], torch.tensor([0.0, 0.0, 3.0]), atol=1e-6)
    assert terms["recovering"].flatten().tolist() == [1.0, 0.0]


def test_first_non_finite_names_the_term_and_envs():
    terms = {"a": torch.zeros(4, 2), "b": torch.zeros(4, 3)}
    assert O.first_non_finite(terms) is None
    terms["b"][2, 1] = float("nan")
    name, ids = O.first_non_finite(terms)
    assert name == "b" and ids.tolist() == [2]
