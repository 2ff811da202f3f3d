"""The tracking env's student observation group: masks, exact zeros, run-time mode switch, history."""

import torch

from hover.commands import apply_mask, command_from_reference, command_layout, expand_mask, mask_for_mode
from hover.student import student_obs_layout
from hover.training.teacher import TeacherTrainConfig, make_env

LAYOUT = command_layout("h1")
SLICES = student_obs_layout("h1").slices()


def _env(modes=("random",), n=6):
    cfg = TeacherTrainConfig(num_envs=n, num_threads=1)
    cfg.env.student.enabled = True
    cfg.env.student.modes = modes
    cfg.env.domain_rand.enabled = False
    return make_env(cfg)


def test_masked_out_command_columns_are_exactly_zero_and_command_matches_builder():
    env = _env()
    try:
        for _ in range(3):
            obs, *_ = env.step(torch.randn(env.num_envs, 19) * 0.1)
        s = obs["student"]
        mask = s[:, SLICES["mask"]]
        assert torch.equal(mask, env.masks)
        cmd = s[:, SLICES["command"]]
        off = expand_mask(mask, LAYOUT) == 0
        assert off.any() and torch.all(cmd[off] == 0.0)
        state, ref = env.robot_state(), env.reference_state()
        full = command_from_reference(ref, state.root_pos, state.root_quat, state.joint_pos, LAYOUT)
        assert torch.allclose(cmd, apply_mask(full, mask, LAYOUT), atol=1e-6)
    finally:
        env.backend.close()


def test_mode_switch_changes_the_mask_and_nothing_else():
    env = _env(modes=("omnih2o",))
    try:
        obs, *_ = env.step(torch.zeros(env.num_envs, 19))
        before = obs["student"].clone()
        assert torch.equal(
            before[:, SLICES["mask"]], mask_for_mode("omnih2o", LAYOUT).expand(env.num_envs, -1)
        )
        env.set_mode(torch.tensor([1, 3]), "humanplus")
        after = env.get_observations()["student"]
        changed = (after != before).any(0)
        allowed = torch.zeros_like(changed)
        allowed[SLICES["mask"]] = True
        allowed[SLICES["command"]] = True
        assert not changed[~allowed].any()  # proprio, last action and history untouched
        assert torch.equal(after[[0, 2, 4, 5]], before[[0, 2, 4, 5]])  # other envs untouched
        m = mask_for_mode("humanplus", LAYOUT)
        assert torch.equal(after[1, SLICES["mask"]], m)
        # the command is the same unmasked command, seen through the new mask
        state, ref = env.robot_state(), env.reference_state()
        full = command_from_reference(ref, state.root_pos, state.root_quat, state.joint_pos, LAYOUT)
        assert torch.allclose(
            after[1, SLICES["command"]], apply_mask(full[1:2], m[None], LAYOUT)[0], atol=1e-6
        )
        # it sticks through the next step and is redrawn from the episode modes only at a reset
        obs, *_ = env.step(torch.zeros(env.num_envs, 19))
        assert torch.equal(obs["student"][3, SLICES["mask"]], m)
    finally:
        env.backend.close()


def test_history_holds_the_last_proprio_and_action_newest_first():
    env = _env(n=2)
    lay = student_obs_layout("h1")
    try:
        obs0 = env.get_observations()["student"].clone()
        a1 = torch.full((2, 19), 0.1)
        obs1, *_ = env.step(a1)
        a2 = torch.full((2, 19), -0.2)
        obs2, _, dones, _ = env.step(a2)
        assert not dones.any()
        hist = obs2["student"][:, SLICES["history"]].reshape(2, lay.history_length, lay.frame_dim)
        p = lay.proprio_dim
        assert torch.allclose(hist[:, 0, :p], obs1["student"][:, SLICES["proprio"]])
        assert torch.allclose(hist[:, 0, p:], a2) and torch.allclose(hist[:, 1, p:], a1)
        assert torch.allclose(hist[:, 1, :p], obs0[:, SLICES["proprio"]])
        assert torch.allclose(obs2["student"][:, SLICES["last_action"]], a2)
        # after the reset, the history is the initial proprio repeated with zero actions
        assert torch.allclose(hist[:, 2:, :p], obs0[:, SLICES["proprio"]].unsqueeze(1).expand(-1, 23, -1))
        assert torch.all(hist[:, 2:, p:] == 0)
    finally:
        env.backend.close()


def test_reference_follows_the_robot_only_where_the_mask_commands_the_root_alone():
    """``root_only``: locomotion-mode envs get the reference moved onto the robot's root x, y (heading,
    height, posture and velocities untouched); envs in other modes keep the world reference."""
    import pytest

    env = _env(modes=("omnih2o",), n=4)
    env.cfg.reference_follows_robot = "root_only"
    env.cfg.follow_slack_m = 0.0  # exactly on the robot
    try:
        walk = env.motions.clip_names.index("walk_forward")
        env.reset_to(torch.arange(4), torch.full((4,), walk), torch.zeros(4))
        env.set_mode(torch.tensor([0, 1]), "locomotion")
        assert env.following_envs().tolist() == [True, True, False, False]
        env.set_auto_reset(False)  # a reset would redraw the masks
        for _ in range(20):
            _, _, dones, _ = env.step(torch.zeros(4, 19))  # residual: the reference's joint targets
            assert not dones.any()
        state, ref = env.robot_state(), env.reference_state()
        raw = env.motions.get_state(env.motion_ids, env.motion_times)
        on, off = [0, 1], [2, 3]
        assert torch.allclose(ref.root_pos[on, :2], state.root_pos[on, :2], atol=1e-6)
        assert (raw.root_pos[on, :2] - state.root_pos[on, :2]).norm(dim=1).min() > 0.01  # it did move
        assert torch.allclose(ref.root_pos[:, 2], raw.root_pos[:, 2])
        rel, raw_rel = ref.body_pos - ref.root_pos[:, None], raw.body_pos - raw.root_pos[:, None]
        assert torch.allclose(rel, raw_rel, atol=1e-6)
        for name in ("root_quat", "root_lin_vel", "joint_pos", "body_quat", "body_lin_vel"):
            assert torch.equal(getattr(ref, name), getattr(raw, name)), name
        assert torch.equal(ref.root_pos[off], raw.root_pos[off]) and torch.equal(
            ref.body_pos[off], raw.body_pos[off]
        )
    finally:
        env.backend.close()
    cfg = TeacherTrainConfig(num_envs=2, num_threads=1)
    cfg.env.reference_follows_robot = "root_only"  # needs the student's masks
    with pytest.raises(ValueError, match="root_only"):
        make_env(cfg)


def test_follow_offset_drags_the_reference_only_beyond_the_slack():
    from hover.envs.tracking.env import follow_offset

    ref = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    robot = torch.tensor([[0.05, 0.0, 0.9], [0.3, 0.4, 0.9], [0.3, 0.4, 0.9]])
    on = torch.tensor([True, True, False])
    out = follow_offset(torch.zeros(3, 3), ref, robot, on, slack_m=0.1)
    assert torch.equal(out[0], torch.zeros(3))  # within the slack: tracked in the world
    assert torch.allclose(out[1], torch.tensor([0.24, 0.32, 0.0]))  # 0.5 m away -> 0.1 m away, same direction
    assert torch.equal(out[2], torch.zeros(3))  # not following
    again = follow_offset(out, ref, robot, on, slack_m=0.1)
    assert torch.allclose(again, out)  # nothing more to drag: the robot is exactly at the slack
    back = follow_offset(
        out, ref, torch.tensor([[0.05, 0.0, 0.9], [0.3, 0.4, 0.9], [0.3, 0.4, 0.9]]) * 0, on, 0.1
    )
    assert torch.allclose(back[1], torch.tensor([0.06, 0.08, 0.0]))  # dragged back from the other side
