"""The tracking env end to end on the MuJoCo backend and the built-in motions (envs/tracking/env.py)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hover.envs.backends import make_backend
from hover.envs.tracking.config import TrackingEnvConfig
from hover.envs.tracking.env import NonFiniteError, TrackingEnv
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
    return (env.reference_state().joint_pos - env.default_joint_pos) / env.action_scale


def test_observation_groups_and_sizes(motions):
    env = make_env(motions, TrackingEnvConfig())
    obs = env.get_observations()
    assert obs["policy"].shape == (4, 913)
    assert obs["critic"].shape == (4, 913 + 76)
    assert env.num_actions == 19 and env.max_episode_length == 1000
    obs, rew, dones, extras = env.step(torch.zeros(4, 19))
    assert rew.shape == (4,) and dones.dtype == torch.bool
    assert set(extras) >= {"time_outs", "terminations", "log"}
    assert torch.isfinite(obs["policy"]).all() and torch.isfinite(rew).all()


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
    assert obs[:, 342:411].abs().max() < 1e-3  # ref_pos_diff: on the reference


def test_following_the_reference_earns_more_than_a_bad_action(motions):
    env = make_env(motions, TrackingEnvConfig().eval_config(), n=2)
    env.reset_to(torch.arange(2), torch.tensor([0, 0]), torch.tensor([1.0, 1.0]))
    total = torch.zeros(2)
    for _ in range(25):
        a = tracking_action(env)
        a[1] = 2.0  # every joint 0.5 rad off its default
        _, rew, dones, _ = env.step(a)
        total += rew
        assert not dones[0]
    assert total[0] > total[1] + 100.0
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
    assert other.penalty_scale == env.penalty_scale
    assert torch.equal(other.sampler.failure_ema, env.sampler.failure_ema)


def test_non_finite_reward_names_the_term(motions):
    cfg = TrackingEnvConfig()
    cfg.rewards = dataclasses.replace(cfg.rewards, torques=float("nan"))
    env = make_env(motions, cfg, n=2)
    with pytest.raises(NonFiniteError, match="torques"):
        env.step(torch.zeros(2, 19))
