"""Torch forward kinematics agrees with MuJoCo's own and is differentiable."""

import mujoco
import numpy as np
import pytest
import torch

from hover.kinematics import ForwardKinematics
from hover.robots import get_robot
from hover.robots.mjcf import build_model


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-9), (torch.float32, 1e-5)])
def test_fk_matches_mujoco_on_random_configurations(dtype, tol):
    robot = get_robot()
    model = build_model(robot)
    data = mujoco.MjData(model)
    fk = ForwardKinematics(robot, dtype=dtype)
    rng = np.random.default_rng(0)
    n = 64
    lo, hi = model.jnt_range[1:, 0], model.jnt_range[1:, 1]
    q = rng.uniform(lo, hi, size=(n, robot.num_joints))
    root_quat = rng.normal(size=(n, 4))
    root_quat /= np.linalg.norm(root_quat, axis=1, keepdims=True)
    root_pos = rng.uniform(-2, 2, size=(n, 3))
    out = fk(
        torch.tensor(root_pos, dtype=dtype),
        torch.tensor(root_quat, dtype=dtype),
        torch.tensor(q, dtype=dtype),
    )
    assert out.pos.shape == (n, 23, 3) and out.quat.shape == (n, 23, 4)
    site_ids = [model.site(e.name).id for e in robot.extended_bodies]
    for i in range(n):
        data.qpos[:] = np.concatenate([root_pos[i], root_quat[i], q[i]])
        mujoco.mj_kinematics(model, data)
        np.testing.assert_allclose(out.pos[i, :20].double().numpy(), data.xpos[1:], atol=tol)
        np.testing.assert_allclose(out.pos[i, 20:].double().numpy(), data.site_xpos[site_ids], atol=tol)
        qa, qb = out.quat[i, :20].double().numpy(), data.xquat[1:]
        sign = np.sign((qa * qb).sum(-1, keepdims=True))
        np.testing.assert_allclose(qa * sign, qb, atol=tol * 10)


def test_fk_is_differentiable_and_batched_over_leading_dims():
    robot = get_robot()
    fk = ForwardKinematics(robot)
    q = torch.zeros(2, 3, robot.num_joints, requires_grad=True)
    root_pos = torch.zeros(2, 3, 3)
    root_quat = torch.tensor([1.0, 0, 0, 0]).expand(2, 3, 4)
    out = fk(root_pos, root_quat, q)
    assert out.pos.shape == (2, 3, 23, 3)
    hand = robot.body_index("left_hand_link")
    out.pos[..., hand, 2].sum().backward()
    elbow = robot.joint_index("left_elbow")
    assert q.grad[..., elbow].abs().min() > 0.1  # elbow flexion moves the hand vertically
    assert q.grad[..., robot.joint_index("right_knee")].abs().max() == 0  # right knee cannot
