"""Reward terms on hand-made states (envs/tracking/rewards.py), both recipes' terms and their composition."""

from __future__ import annotations

import math

import pytest
import torch

from hover.envs.tracking import rewards as W
from hover.envs.tracking.config import CurriculumConfig, RewardTerm, tracking_rewards
from hover.envs.tracking.curriculum import update_penalty_scale, update_termination_scale
from hover.envs.tracking.recipes import hover_paper_rewards
from hover.envs.tracking.step import FeetData
from hover.rotations import quat_from_euler_xyz


def _rotate_about_z(step, yaw: float) -> None:
    """Rotate the robot's whole body about world z through the anchor (a heading change)."""
    from hover.rotations import quat_mul, quat_rotate

    q = quat_from_euler_xyz(torch.tensor([[0.0, 0.0, yaw]]))
    a = step.idx.anchor
    n, b = step.robot.pos.shape[:2]
    qq = q.expand(n, b, 4)
    pivot = step.robot.pos[:, a : a + 1].clone()
    step.robot.pos = pivot + quat_rotate(qq, step.robot.pos - pivot)
    step.robot.quat = quat_mul(qq, step.robot.quat)


# ----------------------------------------------------------------------------- tracking recipe terms
def test_tracking_terms_are_one_on_the_reference(make_step):
    s = make_step()
    for name, term in tracking_rewards().items():
        value = W.REWARD_FUNCTIONS[term.func](s, **term.params)
        expected = 1.0 if term.weight > 0 else 0.0
        torch.testing.assert_close(value, torch.full((2,), expected), msg=name)


def test_relative_body_terms_ignore_drift_and_heading_but_anchor_terms_do_not(make_step):
    s = make_step()
    s.robot.pos[:, :, :2] += torch.tensor([0.4, -0.3])  # the whole robot drifted 0.5 m
    _rotate_about_z(s, 0.7)  # and turned
    for f in ("relative_body_pos_error_exp", "relative_body_ori_error_exp"):
        torch.testing.assert_close(W.REWARD_FUNCTIONS[f](s, std=0.3), torch.ones(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(W.anchor_pos_error_exp(s, 0.3), torch.full((2,), math.exp(-0.25 / 0.09)))
    angle = W.anchor_ori_error_exp(s, 0.4)
    torch.testing.assert_close(angle, torch.full((2,), math.exp(-(0.7**2) / 0.16)), atol=1e-4, rtol=0)


def test_relative_body_pos_measures_posture(make_step):
    s = make_step()
    hand = s.idx.vr_bodies[1]
    s.robot.pos[:, hand, 0] += 0.2  # one hand 0.2 m forward: mean over 23 bodies of 0.04 m^2
    expect = math.exp(-(0.04 / 23) / 0.3**2)
    torch.testing.assert_close(W.relative_body_pos_error_exp(s, 0.3), torch.full((2,), expect))
    # the re-anchored reference keeps the reference heights: a crouched robot is penalised
    s2 = make_step()
    s2.robot.pos[..., 2] -= 0.1
    assert (W.relative_body_pos_error_exp(s2, 0.3) < 0.95).all()


def test_velocity_terms_and_regularisers(make_step):
    s = make_step()
    s.robot.lin_vel[:] = torch.tensor([1.0, 0.0, 0.0])
    torch.testing.assert_close(W.body_lin_vel_error_exp(s, 1.0), torch.full((2,), math.exp(-1.0)))
    s.robot.ang_vel[:] = torch.tensor([0.0, 0.0, 3.14])
    torch.testing.assert_close(W.body_ang_vel_error_exp(s, 3.14), torch.full((2,), math.exp(-1.0)))
    s.actions[0, 3] = 0.5
    torch.testing.assert_close(W.action_rate_l2(s), torch.tensor([0.25, 0.0]))
    knee = s.idx.lower_joints[3]
    s.joint_pos[1, knee] = 2.05  # at the hard limit: 0.9-soft range ends 0.1155 earlier
    expect = 0.5 * (2.05 + 0.26) * 0.1
    torch.testing.assert_close(W.joint_pos_limits(s, 0.9), torch.tensor([0.0, expect]), atol=1e-5, rtol=0)
    s.contact_forces[0, s.idx.sim_contact_bodies[:2], 2] = 50.0
    torch.testing.assert_close(W.undesired_contacts(s, 1.0), torch.tensor([2.0, 0.0]))


def test_feet_pos_measures_world_foot_placement_not_the_hands(make_step):
    s = make_step()
    torch.testing.assert_close(W.feet_pos_error_exp(s, 0.1), torch.ones(2))
    s.robot.pos[:, s.idx.vr_bodies, 0] += 0.3  # head and hands elsewhere: feet still in place
    torch.testing.assert_close(W.feet_pos_error_exp(s, 0.1), torch.ones(2))
    left_foot = s.idx.feet[0]
    s.robot.pos[0, left_foot, 1] += 0.1  # env 0 stepped its left foot 0.1 m sideways
    expect = math.exp(-(0.01 / 2) / 0.1**2)  # mean over two feet of 0.01 m^2
    torch.testing.assert_close(W.feet_pos_error_exp(s, 0.1), torch.tensor([expect, 1.0]))
    s.robot.pos[1, :, :2] += 0.2  # env 1 drifted whole: the relative terms ignore it, this one does not
    assert W.feet_pos_error_exp(s, 0.1)[1] < 0.01


# ----------------------------------------------------------------------------- HOVER paper terms
def test_paper_joint_and_body_terms(make_step):
    s = make_step()
    torch.testing.assert_close(W.joint_pos_exp(s, 0.5), torch.ones(2))
    s.joint_pos += 0.1  # mean squared error 0.01
    torch.testing.assert_close(W.joint_pos_exp(s, 0.5), torch.full((2,), math.exp(-0.01 / 0.5)))
    s.joint_vel += 1.0
    torch.testing.assert_close(W.joint_vel_exp(s, 1.0), torch.full((2,), math.exp(-1.0)))
    params = {"lower_sigma": 0.5, "upper_sigma": 0.03, "lower_weight": 0.5, "upper_weight": 1.0}
    torch.testing.assert_close(W.body_pos_split_exp(s, **params), torch.full((2,), 1.5))
    s.robot.pos[:, s.idx.upper_bodies, 0] += 0.3  # upper bodies 0.3 m off in x: mean sq = 0.09 / 3
    torch.testing.assert_close(W.body_pos_split_exp(s, **params), torch.full((2,), 0.5 + math.exp(-1.0)))
    s.robot.lin_vel[:] = torch.tensor([3.0, 0.0, 0.0])  # mean over axes: 9 / 3
    torch.testing.assert_close(W.body_lin_vel_exp(s, 10.0), torch.full((2,), math.exp(-0.3)))


def test_paper_torque_limit_and_velocity_penalties(make_step):
    s = make_step(n=1)
    hip = 0  # effort 200 N m
    s.joint_torque[0, hip] = 180.0  # 10 N m above 85 %
    torch.testing.assert_close(W.torque_limits(s, 0.85), torch.tensor([10.0]))
    s.joint_vel[0, hip] = 22.0  # soft limit 0.9 * 23 = 20.7
    torch.testing.assert_close(W.joint_vel_limits(s, 0.9), torch.tensor([1.0]))
    s.joint_vel[0, hip] = 21.0
    torch.testing.assert_close(W.joint_vel_limits(s, 0.9), torch.tensor([0.3]), atol=1e-5, rtol=0)
    s_lo, s_hi = W.soft_joint_limits(torch.tensor([-1.0]), torch.tensor([3.0]), 0.9)
    assert torch.allclose(s_lo, torch.tensor([-0.8])) and torch.allclose(s_hi, torch.tensor([2.8]))


def _feet(forces, quat=None, vel=None, first=None, air=None, height=None) -> FeetData:
    n, f = forces.shape[:2]
    q = torch.tensor([1.0, 0.0, 0.0, 0.0]).expand(n, f, 4) if quat is None else quat
    z = torch.zeros(n, f)
    return FeetData(
        forces,
        q,
        torch.zeros(n, f, 3) if vel is None else vel,
        forces[..., 2] > 1.0,
        torch.zeros(n, f, dtype=torch.bool) if first is None else first,
        z if air is None else air,
        z if height is None else height,
    )


def test_paper_contact_penalties(make_step):
    forces = torch.tensor([[[0.0, 0.0, 700.0], [0.0, 0.0, 100.0]], [[60.0, 0.0, 10.0], [0.0, 0.0, 0.0]]])
    vel = torch.tensor([[[0.3, 0.4, 0.0], [1.0, 0.0, 0.0]], [[2.0, 0.0, 0.0], [5.0, 0.0, 0.0]]])
    s = make_step(feet=_feet(forces, vel=vel))
    torch.testing.assert_close(W.feet_contact_force(s, 500.0), torch.tensor([200.0, 0.0]))
    torch.testing.assert_close(W.stumble(s), torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(W.slippage(s), torch.tensor([0.5 + 1.0, 2.0]))
    torch.testing.assert_close(W.both_feet_in_air(s), torch.tensor([0.0, 0.0]))


def test_paper_orientation_penalties(make_step):
    s = make_step(n=1)
    assert torch.allclose(W.base_orientation(s), torch.zeros(1), atol=1e-7)
    tilted = quat_from_euler_xyz(torch.tensor([[0.3, 0.0, 0.0]]))
    s.robot.quat[:, 0] = tilted
    assert torch.allclose(W.base_orientation(s), torch.tensor([math.sin(0.3) ** 2]), atol=1e-6)
    level = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    feet_q = torch.stack((level, tilted), dim=1)
    s.feet = _feet(torch.tensor([[[0.0, 0.0, 50.0], [0.0, 0.0, 50.0]]]), quat=feet_q)
    assert torch.allclose(W.feet_orientation(s), torch.tensor([math.sin(0.3)]), atol=1e-6)


def test_feet_timers_air_time_and_max_height(make_step):
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
    # the filtered contact counts the first airborne step as contact: 20 steps in the air -> 0.40 s
    assert at[0, 0].item() == pytest.approx(0.40, abs=1e-5)
    s = make_step(n=1, feet=_feet(torch.zeros(1, 2, 3), first=first, air=at, height=mh))
    s.ref.lin_vel[:, 0] = torch.tensor([0.5, 0.0, 0.0])
    assert W.feet_air_time(s, 0.25, 0.1).item() == pytest.approx(0.40 - 0.25, abs=1e-5)
    s.ref.lin_vel[:, 0] = 0.0
    assert W.feet_air_time(s, 0.25, 0.1).item() == 0.0  # reference standing still
    assert W.feet_max_height(s, 0.25).item() == pytest.approx(0.25 - 0.1, abs=1e-6)
    assert state.air_time[0, 0] == 0.0 and state.max_height[0, 0] == 0.0


# ----------------------------------------------------------------------------- composition
def test_compute_reward_weights_scale_and_penalty_curriculum(make_step):
    s = make_step(terminated=torch.tensor([False, True]))
    s.actions[:, 0] = 1.0  # action rate 1
    terms = {
        "anchor": RewardTerm("anchor_pos_error_exp", 0.5, {"std": 0.3}),
        "rate": RewardTerm("action_rate_l2", -0.1, penalty=True),
        "fail": RewardTerm("termination", -200.0, penalty=True),
        "off": RewardTerm("stumble", 0.0, penalty=True),
    }
    total, weighted = W.compute_reward(s, terms, reward_scale=0.02, penalty_scale=0.5)
    assert set(weighted) == {"anchor", "rate", "fail"}  # zero weights are skipped (no feet needed)
    expected = 0.02 * (0.5 - 0.5 * 0.1) + torch.tensor([0.0, 0.02 * 0.5 * -200.0])
    torch.testing.assert_close(total, expected)


def test_every_recipe_term_is_registered():
    for terms in (tracking_rewards(), hover_paper_rewards()):
        W.check_reward_terms(terms)
    with pytest.raises(ValueError, match="reward term 'x': unknown function 'nope'"):
        W.check_reward_terms({"x": RewardTerm("nope", 1.0)})


def test_paper_recipe_on_the_reference_sums_the_task_weights(make_step):
    forces = torch.tensor([[0.0, 0.0, 200.0]]).expand(2, 2, 3)
    s = make_step(terminated=torch.tensor([False, True]), feet=_feet(forces))
    terms = hover_paper_rewards()
    total, weighted = W.compute_reward(s, terms, reward_scale=1.0, penalty_scale=0.5)
    task = sum(t.weight * (1.5 if k == "body_pos" else 1.0) for k, t in terms.items() if not t.penalty)
    assert total[0].item() == pytest.approx(task, rel=1e-6)
    assert weighted["termination"][1].item() == pytest.approx(-125.0)


def test_curricula_move_with_episode_length():
    cfg = CurriculumConfig(enabled=True, termination=True)
    scale, ema = update_penalty_scale(0.5, -1.0, torch.tensor([10, 20]), cfg)
    assert ema == 15.0 and scale == pytest.approx(0.5 * (1 - cfg.degree))
    scale, ema = update_penalty_scale(0.5, 200.0, torch.tensor([300]), cfg)
    assert scale == pytest.approx(0.5 * (1 + cfg.degree))
    scale, _ = update_penalty_scale(1.0, 200.0, torch.tensor([300]), cfg)
    assert scale == 1.0  # clipped at max_scale
    scale, ema = update_penalty_scale(0.5, 100.0, torch.tensor([100]), cfg)
    assert scale == 0.5 and ema == 100.0  # between thresholds: unchanged
    assert update_termination_scale(2.0, 10.0, cfg) == pytest.approx(2.0 * (1 + cfg.termination_degree))
    assert update_termination_scale(2.0, 100.0, cfg) == pytest.approx(2.0 * (1 - cfg.termination_degree))
    assert update_termination_scale(1.0, 100.0, cfg) == 1.0  # never tighter than the recipe
    assert update_termination_scale(2.0, 10.0, CurriculumConfig()) == 2.0  # off
