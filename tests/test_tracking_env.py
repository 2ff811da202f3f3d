"""The tracking env end to end on the MuJoCo backend and the built-in motions (envs/tracking/env.py)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hover.envs.backends import make_backend
from hover.envs.tracking.config import ActionConfig, RewardTerm, TrackingEnvConfig
from hover.envs.tracking.env import NonFiniteError, TrackingEnv, action_scales
from hover.envs.tracking.recipes import hover_paper
from hover.motion.library import MotionLibrary
from hover.robots import get_robot

ROBOT = get_robot("h1")


@pytest.fixture(scope="module")
def motions() -> MotionLibrary:
    return MotionLibrary.builtin(ROBOT)


def make_env(motions: MotionLibrary, cfg: TrackingEnvConfig, n: int = 4) -> TrackingEnv:
    return TrackingEnv(cfg, motions, make_backend("mujoco", ROBOT, n, num_threads=1))


def tracking_action(env: TrackingEnv) -> torch.Tensor:
    """Action whose joint target is the current reference pose."""
    return env.actions_for_targets(env.reference_state().joint_pos)


@pytest.mark.parametrize(
    ("recipe", "policy_dim", "critic_dim", "episode"),
    [(TrackingEnvConfig, 182, 182 + 69 + 76, 500), (hover_paper, 913, 913 + 76, 1000)],
)
def test_observation_groups_and_sizes(motions, recipe, policy_dim, critic_dim, episode):
    env = make_env(motions, recipe())
    obs = env.get_observations()
    assert obs["policy"].shape == (4, policy_dim)
    assert obs["critic"].shape == (4, critic_dim)
    assert env.num_actions == 19 and env.max_episode_length == episode
    obs, rew, dones, extras = env.step(torch.zeros(4, 19))
    assert rew.shape == (4,) and dones.dtype == torch.bool
    assert set(extras) >= {"time_outs", "terminations", "log"}
    assert torch.isfinite(obs["policy"]).all() and torch.isfinite(rew).all()


def test_zero_residual_action_targets_the_reference_joints(motions):
    """Residual actions: a zero action's PD targets are the reference joints (extrapolated by the
    lookahead); the per-joint scales follow the effort limits; conversions round-trip."""
    cfg = TrackingEnvConfig().eval_config()
    env = make_env(motions, cfg, n=3)
    env.reset_to(torch.arange(3), torch.tensor([2, 10, 12]), torch.tensor([1.0, 2.5, 3.0]))
    ref = env.reference_state()
    targets = env.absolute_targets(torch.zeros(3, 19))
    torch.testing.assert_close(targets, ref.joint_pos + cfg.actions.lookahead_s * ref.joint_vel)
    scale = action_scales(cfg.actions, env.idx)
    hip, elbow = ROBOT.joint_index("left_hip_pitch"), ROBOT.joint_index("left_elbow")
    assert scale[hip] == pytest.approx(0.25 * 200 / 200) and scale[elbow] == pytest.approx(0.25 * 18 / 100)
    a = torch.randn(3, 19)
    torch.testing.assert_close(env.actions_for_targets(env.absolute_targets(a)), a)
    # the same targets in another convention (absolute around the default pose, the student's)
    absolute = ActionConfig(residual=False, scale=0.25, scale_mode="uniform")
    b = (env.absolute_targets(a) - env.default_joint_pos) / 0.25
    torch.testing.assert_close(env.absolute_targets(b, absolute), env.absolute_targets(a), atol=1e-5, rtol=0)
    # the PD targets really sent after the control delay are those of the zero action
    sent = []
    step = env.backend.step
    env.backend.step = lambda t: (sent.append(t.clone()), step(t))[1]
    env.step(torch.zeros(3, 19))
    torch.testing.assert_close(sent[0], targets)  # delay 2: the reset's own targets are held


def test_reset_to_places_the_robot_on_the_reference_without_dr(motions):
    env = make_env(motions, TrackingEnvConfig().eval_config())
    clips = torch.tensor([1, 3, 7, 9])
    times = torch.tensor([0.0, 1.3, 2.7, 4.0])
    env.reset_to(torch.arange(4), clips, times)
    assert torch.equal(env.motion_ids, clips) and torch.allclose(env.motion_times, times)
    pos, quat = env.robot_body_poses()
    ref = env.reference_state()
    assert torch.allclose(pos, ref.body_pos, atol=1e-4)
    assert torch.allclose((quat * ref.body_quat).sum(-1).abs(), torch.ones(4, 23), atol=1e-4)
    assert torch.equal(env.delays, torch.full((4,), 2))
    assert torch.equal(env.physics_params.kp_scale, torch.ones(4, 19))
    obs = env.get_observations()["policy"]
    assert obs[:, 47:116].abs().max() < 1e-3  # ref_body_pos_local: on the reference
    assert obs[:, 38:41].abs().max() < 1e-4  # ref_anchor_pos


@pytest.mark.parametrize("recipe", [TrackingEnvConfig, hover_paper])
def test_following_the_reference_earns_more_than_a_bad_action(motions, recipe):
    cfg = recipe().eval_config()
    cfg.rewards = recipe().rewards  # eval_config keeps the recipe's rewards
    env = make_env(motions, cfg, n=2)
    env.reset_to(torch.arange(2), torch.tensor([0, 0]), torch.tensor([1.0, 1.0]))
    total = torch.zeros(2)
    for _ in range(25):
        a = tracking_action(env)
        a[1] = env.actions_for_targets(env.default_joint_pos + 0.5).squeeze(0)[1]  # every joint 0.5 rad off
        _, rew, dones, _ = env.step(a)
        total += rew
        assert not dones[0]
    assert total[0] > 1.5 * total[1]
    pos, _ = env.robot_body_poses()
    assert (pos[0] - env.reference_state().body_pos[0]).norm(dim=-1).mean() < 0.1


def test_motion_end_is_a_time_out_and_frozen_without_auto_reset(motions):
    env = make_env(motions, TrackingEnvConfig().eval_config(), n=2)
    env.set_auto_reset(False)
    dur = float(motions.clip_durations[0])
    env.reset_to(torch.arange(2), torch.tensor([0, 0]), torch.tensor([dur - 3 * env.dt, 0.0]))
    seen = []
    for _ in range(4):
        _, rew, dones, extras = env.step(tracking_action(env))
        seen.append(
            (bool(dones[0]), bool(extras["time_outs"][0]), bool(extras["terminations"]["motion_end"][0]))
        )
    assert seen[:3] == [(False, False, False), (False, False, False), (True, True, True)]
    assert seen[3] == (True, False, False)  # frozen: still done, no new event
    assert rew[0] == 0.0 and not dones[1]
    t_end = env.motion_times[0].item()
    env.step(torch.zeros(2, 19))
    assert env.motion_times[0].item() == t_end
    env.reset_to(torch.tensor([0]), torch.tensor([2]), torch.tensor([0.5]))
    _, _, dones, _ = env.step(tracking_action(env))
    assert not dones[0]


def test_domain_randomisation_draws_within_ranges_and_state_round_trips(motions):
    cfg = TrackingEnvConfig()
    env = make_env(motions, cfg, n=8)
    p, dr = env.physics_params, cfg.domain_rand
    assert (p.friction >= dr.friction_range[0]).all() and (p.friction <= dr.friction_range[1]).all()
    assert p.friction.std() > 0.01 and p.kp_scale.std() > 0.01
    assert (p.torso_com_offset.abs() <= dr.torso_com_offset).all()
    masses = p.body_mass_scale[:, env.mass_body_ids]
    assert (masses >= 0.7).all() and (masses <= 1.3).all()
    others = [i for i in range(ROBOT.num_bodies) if i not in env.mass_body_ids.tolist()]
    assert torch.equal(p.body_mass_scale[:, others], torch.ones(8, len(others)))
    assert ((env.delays >= 0) & (env.delays <= 3)).all()
    for _ in range(3):
        env.step(torch.zeros(8, 19))
    state = env.state_dict()
    other = make_env(motions, cfg, n=2)
    other.load_state_dict(state)
    assert other.penalty_scale == env.penalty_scale and other.termination_scale == env.termination_scale
    assert torch.equal(other.sampler.failure_ema, env.sampler.failure_ema)


def test_non_finite_reward_names_the_term(motions):
    cfg = TrackingEnvConfig()
    cfg.rewards["body_pos"] = dataclasses.replace(cfg.rewards["body_pos"], weight=float("nan"))
    env = make_env(motions, cfg, n=2)
    with pytest.raises(NonFiniteError, match="body_pos"):
        env.step(torch.zeros(2, 19))


def test_unknown_term_names_are_refused(motions):
    cfg = TrackingEnvConfig()
    cfg.rewards["typo"] = RewardTerm("anchor_pos_eror_exp", 1.0)
    with pytest.raises(ValueError, match="reward term 'typo'"):
        make_env(motions, cfg, n=1)
    cfg = TrackingEnvConfig()
    cfg.observations.policy = (*cfg.observations.policy, "nope")
    with pytest.raises(ValueError, match="observation group 'policy': unknown term 'nope'"):
        make_env(motions, cfg, n=1)


def test_default_pose_resets_start_clips_from_where_the_runner_leaves_the_robot(motions):
    """With default_pose_prob = 1 every sampled reset starts at a clip's first frame with the robot at
    rest in its default pose, upright on the floor, facing the reference's heading."""
    cfg = TrackingEnvConfig()
    cfg.reset.default_pose_prob = 1.0
    cfg.domain_rand.enabled = False
    env = make_env(motions, cfg, n=6)
    state = env.robot_state()
    assert torch.equal(env.motion_times, torch.zeros(6))
    torch.testing.assert_close(state.joint_pos, env.default_joint_pos.expand(6, -1), atol=1e-6, rtol=0)
    assert state.joint_vel.abs().max() < 1e-6 and state.root_lin_vel.abs().max() < 1e-6
    feet = state.body_pos[:, env.idx.sim_feet, 2]
    assert (feet.amin(1) > 0.03).all() and (feet.amin(1) < 0.12).all()  # ankle joints just above the soles
    from hover.rotations import projected_gravity, yaw_from_quat

    torch.testing.assert_close(projected_gravity(state.root_quat)[:, 2], -torch.ones(6), atol=1e-6, rtol=0)
    ref_yaw = yaw_from_quat(env.reference_state().root_quat)
    torch.testing.assert_close(yaw_from_quat(state.root_quat), ref_yaw, atol=1e-5, rtol=0)
    env.reset_to(torch.arange(6), torch.zeros(6, dtype=torch.long), torch.full((6,), 1.0))  # explicit: exact
    assert torch.allclose(env.motion_times, torch.ones(6))
