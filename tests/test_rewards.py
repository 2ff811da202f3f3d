"""HOVER reward terms on hand-made states (envs/tracking/rewards.py)."""

from __future__ import annotations

import math

import pytest
import torch

from hover.envs.tracking import rewards as W
from hover.envs.tracking.bodies import BodyState
from hover.envs.tracking.config import CurriculumConfig, RewardConfig
from hover.envs.tracking.curriculum import update_penalty_scale
from hover.rotations import quat_from_euler_xyz

CFG = RewardConfig()


def _bodies(pos: torch.Tensor) -> BodyState:
    n, b = pos.shape[:2]
    quat = torch.zeros(n, b, 4)
    quat[..., 0] = 1.0
    return BodyState(pos, quat, torch.zeros(n, b, 3), torch.zeros(n, b, 3))


def test_joint_pos_tracking_is_one_when_exact_and_matches_kernel():
    q = torch.randn(2, 19)
    assert torch.allclose(W.joint_pos_tracking(q, q, 0.5), torch.ones(2))
    off = q + 0.1  # mean squared error 0.01
    assert torch.allclose(W.joint_pos_tracking(off, q, 0.5), torch.full((2,), math.exp(-0.01 / 0.5)))


def test_joint_vel_and_body_vel_tracking_decrease_with_error():
    v = torch.zeros(3, 23, 3)
    err = torch.tensor([0.0, 1.0, 3.0]).view(3, 1, 1).expand(3, 23, 3)
    r = W.body_vel_tracking(v + err, v, 10.0)
    assert torch.allclose(r, torch.exp(-torch.tensor([0.0, 1.0, 9.0]) / 10.0))
    assert r[0] > r[1] > r[2]
    assert torch.allclose(
        W.joint_vel_tracking(torch.ones(1, 19), torch.zeros(1, 19), 1.0), torch.tensor([math.exp(-1.0)])
    )


def test_body_pos_tracking_splits_lower_and_upper():
    ref = torch.zeros(1, 4, 3)
    lower, upper = torch.tensor([0, 1]), torch.tensor([2, 3])
    assert torch.allclose(W.body_pos_tracking(ref, ref, lower, upper, CFG), torch.tensor([1.5]))
    moved = ref.clone()
    moved[:, 2:, 0] = 0.3  # upper bodies 0.3 m off in x: mean sq = 0.09 / 3 = 0.03
    expected = 0.5 + 1.0 * math.exp(-0.03 / 0.03)
    assert torch.allclose(W.body_pos_tracking(moved, ref, lower, upper, CFG), torch.tensor([expected]))


def test_torque_limit_and_joint_limit_penalties():
    lim = torch.tensor([100.0, 10.0])
    tau = torch.tensor([[90.0, -5.0]])  # 5 N m above 85 % of the first limit
    assert torch.allclose(W.torque_limits(tau, lim, 0.85), torch.tensor([5.0]))
    lo, hi = torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 1.0])
    q = torch.tensor([[1.2, -1.5], [0.0, 0.5]])
    assert torch.allclose(W.joint_pos_limits(q, lo, hi), torch.tensor([0.7, 0.0]))
    qd = torch.tensor([[12.0, -30.0]])
    assert torch.allclose(W.joint_vel_limits(qd, torch.tensor([11.5, 10.0])), torch.tensor([0.5 + 1.0]))
    s_lo, s_hi = W.soft_joint_limits(torch.tensor([-1.0]), torch.tensor([3.0]), 0.9)
    assert torch.allclose(s_lo, torch.tensor([-0.8])) and torch.allclose(s_hi, torch.tensor([2.8]))


def test_contact_penalties():
    forces = torch.tensor([[[0.0, 0.0, 700.0], [0.0, 0.0, 100.0]], [[60.0, 0.0, 10.0], [0.0, 0.0, 0.0]]])
    assert torch.allclose(W.feet_contact_force(forces, 500.0), torch.tensor([200.0, 0.0]))
    assert torch.equal(W.stumble(forces), torch.tensor([0.0, 1.0]))
    contact = forces[..., 2] > 1.0
    vel = torch.tensor([[[0.3, 0.4, 0.0], [1.0, 0.0, 0.0]], [[2.0, 0.0, 0.0], [5.0, 0.0, 0.0]]])
    assert torch.allclose(W.slippage(vel, contact), torch.tensor([0.5 + 1.0, 2.0]))
    assert torch.equal(
        W.both_feet_in_air(torch.tensor([[False, False], [True, False]])), torch.tensor([1.0, 0.0])
    )


def test_orientation_penalties():
    level = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    tilted = quat_from_euler_xyz(torch.tensor([[0.3, 0.0, 0.0]]))
    assert torch.allclose(W.base_orientation(level), torch.zeros(1), atol=1e-7)
    assert torch.allclose(W.base_orientation(tilted), torch.tensor([math.sin(0.3) ** 2]), atol=1e-6)
    feet = torch.stack((level, tilted), dim=1)  # [1, 2, 4]
    both = torch.tensor([[True, True]])
    assert torch.allclose(W.feet_orientation(feet, both), torch.tensor([math.sin(0.3)]), atol=1e-6)
    assert torch.allclose(W.feet_orientation(feet, torch.tensor([[True, False]])), torch.zeros(1), atol=1e-6)


def test_feet_timers_air_time_and_max_height():
    state = W.FeetState.zeros(1, 2, "cpu")
    dt = 0.02
    swing = torch.tensor([[False, True]])
    touch = torch.tensor([[True, True]])
    for k in range(20):  # left foot swings for 20 steps, rising to 0.1 m
        z = torch.tensor([[0.1 * (k + 1) / 20, 0.0]])
        state, first, at, mh = W.update_feet(state, swing, z, dt)
        assert not first.any()
    state, first, at, mh = W.update_feet(state, touch, torch.tensor([[0.05, 0.0]]), dt)
    assert first.tolist() == [[True, False]]
    ref_vel = torch.tensor([[0.5, 0.0, 0.0]])
    # the filtered contact counts the first airborne step as contact: 20 steps in the air -> 0.40 s
    expect_air = at[0, 0].item()
    assert expect_air == pytest.approx(0.40, abs=1e-5)
    r = W.feet_air_time(at, first, ref_vel, CFG)
    assert r.item() == pytest.approx(expect_air - CFG.feet_air_time_target, abs=1e-5)
    assert W.feet_air_time(at, first, torch.zeros(1, 3), CFG).item() == 0.0  # reference standing still
    h = W.feet_max_height(mh, first, 0.25)
    assert h.item() == pytest.approx(0.25 - 0.1, abs=1e-6)
    assert state.air_time[0, 0] == 0.0 and state.max_height[0, 0] == 0.0


def test_compute_terms_and_weighted_sum_with_curriculum():
    n, b, j = 2, 23, 19
    pos = torch.randn(n, b, 3)
    robot = _bodies(pos)
    ref = _bodies(pos.clone())
    zeros = torch.zeros(n, j)
    x = W.RewardInputs(
        robot=robot, ref=ref, joint_pos=zeros, joint_vel=zeros, prev_joint_vel=zeros, ref_joint_pos=zeros,
        ref_joint_vel=zeros, ref_root_lin_vel=torch.zeros(n, 3), joint_torque=zeros, actions=zeros,
        prev_actions=zeros, feet_forces=torch.tensor([[0.0, 0.0, 200.0]]).expand(n, 2, 3),
        feet_quat=robot.quat[:, :2], feet_lin_vel=torch.zeros(n, 2, 3), contact=torch.ones(n, 2, dtype=torch.bool),
        first_contact=torch.zeros(n, 2, dtype=torch.bool), air_time_at_contact=torch.zeros(n, 2),
        max_height_at_contact=torch.zeros(n, 2), terminated=torch.tensor([False, True]), dt=0.02,
    )  # fmt: skip
    idx = W.RewardIndices(
        lower_bodies=torch.arange(11), upper_bodies=torch.arange(11, 23), vr_bodies=torch.tensor([20, 21, 22]),
        lower_joints=torch.arange(10), upper_joints=torch.arange(10, 19), effort_limit=torch.full((j,), 100.0),
        soft_pos_lower=torch.full((j,), -1.0), soft_pos_upper=torch.full((j,), 1.0), soft_vel_limit=torch.full((j,), 10.0),
    )  # fmt: skip
    terms = W.compute_terms(x, idx, CFG)
    for name in W.TASK_TERMS:
        expected = 1.5 if name == "body_pos" else 1.0
        assert torch.allclose(terms[name], torch.full((n,), expected)), name
    total, weighted = W.weighted_sum(terms, CFG, penalty_scale=0.5)
    task = (
        CFG.joint_pos
        + CFG.joint_vel
        + CFG.body_lin_vel
        + CFG.body_ang_vel
        + 1.5 * CFG.body_pos
        + CFG.vr_keypoints
    )
    assert total[0].item() == pytest.approx(task, rel=1e-6)
    assert total[1].item() == pytest.approx(task + 0.5 * CFG.termination, rel=1e-6)
    assert weighted["termination"][1].item() == pytest.approx(-125.0)


def test_penalty_curriculum_moves_with_episode_length():
    cfg = CurriculumConfig()
    scale, ema = update_penalty_scale(0.5, -1.0, torch.tensor([10, 20]), cfg)
    assert ema == 15.0 and scale == pytest.approx(0.5 * (1 - cfg.degree))
    scale, ema = update_penalty_scale(0.5, 200.0, torch.tensor([300]), cfg)
    assert scale == pytest.approx(0.5 * (1 + cfg.degree))
    scale, _ = update_penalty_scale(1.0, 200.0, torch.tensor([300]), cfg)
    assert scale == 1.0  # clipped at max_scale
    scale, ema = update_penalty_scale(0.5, 100.0, torch.tensor([100]), cfg)
    assert scale == 0.5 and ema == 100.0  # between thresholds: unchanged


def test_reward_scale_multiplies_every_weighted_term():
    terms = {"joint_pos": torch.tensor([1.0]), "termination": torch.tensor([1.0])}
    total, _ = W.weighted_sum(terms, RewardConfig(scale=0.02), penalty_scale=0.5)
    assert total.item() == pytest.approx(0.02 * (32.0 - 0.5 * 250.0))
