"""The ``steer`` motion kind: joystick-like walking in every direction, at the commanded velocities."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hover.deploy.inputs.gamepad import GamepadConfig
from hover.retarget.generate import GenerateConfig, draw_specs, generate
from hover.retarget.random_motions import KINDS
from hover.retarget.steer import (
    GAIT_HEIGHT,
    HEIGHT_RATE,
    MAX_STEER_ACCEL,
    MAX_YAW_ACCEL,
    STEER_RANGES,
    held,
    slew,
    steer_commands,
    steer_targets,
)

SEED = 3


def test_slew_limits_the_change_per_step_and_reaches_the_target():
    target = torch.zeros(200, 2, dtype=torch.float64)
    target[10:] = torch.tensor([0.6, -0.8])  # a step of norm 1
    out = slew(target, 0.01, 2.0)
    steps = (out[1:] - out[:-1]).norm(dim=-1)
    assert steps.max().item() <= 0.02 + 1e-12
    assert torch.allclose(out[-1], target[-1])
    assert out[:10].abs().max().item() == 0.0
    # in norm: both components arrive together, along the straight line to the target
    assert torch.allclose(out[60, 0] / out[60, 1], torch.tensor(-0.75, dtype=torch.float64))


def test_held_is_zero_before_the_first_target_and_piecewise_constant():
    t = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.5])
    out = held(t, [(0.5, 1.0, 2.0), (2.0, -1.0, 0.0)])
    assert out.tolist() == [[0.0, 0.0], [1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [-1.0, 0.0]]


def test_commands_start_and_end_at_rest_within_the_ranges_and_the_acceleration_caps():
    dt = 0.01
    t = torch.arange(0.0, 12.0, dt, dtype=torch.float64)
    seen_back = False
    for seed in range(6):
        vel, rate, drop = steer_commands(np.random.default_rng(seed), t, 0.8, 10.0)
        assert vel[0].abs().max().item() < 1e-3 and vel[-1].abs().max().item() < 1e-3
        assert drop[0].item() < 1e-3 and drop[-1].item() < 1e-3 and drop.min().item() >= 0.0
        assert GAIT_HEIGHT - drop.max().item() >= STEER_RANGES["height"][0] - 1e-9
        assert (drop[1:] - drop[:-1]).abs().max().item() / dt <= HEIGHT_RATE * 1.01
        assert rate[0].abs().item() < 1e-3 and rate[-1].abs().item() < 1e-3
        accel = (vel[1:] - vel[:-1]).norm(dim=-1).max().item() / dt
        assert accel <= MAX_STEER_ACCEL * 1.01
        assert (rate[1:] - rate[:-1]).abs().max().item() / dt <= MAX_YAW_ACCEL * 1.01
        lo, hi = STEER_RANGES["vx"]
        assert lo - 1e-9 <= vel[:, 1].min().item() and vel[:, 1].max().item() <= hi + 1e-9
        seen_back |= vel[:, 1].min().item() < -0.2
    assert seen_back  # walking backwards is in it


def test_targets_cover_the_time_and_end_with_a_stop():
    rng = np.random.default_rng(0)
    targets = steer_targets(rng, 1.0, 9.0)
    starts = [x[0] for x in targets]
    assert starts[0] == 1.0 and starts == sorted(starts)
    assert targets[-1] == (9.0 - 1.2, 0.0, 0.0, 0.0, 0.0)


def test_steer_ranges_are_the_joysticks():
    """The clips cover what ``hover run --input joystick`` can command (its gamepad defaults)."""
    pad = GamepadConfig()
    assert STEER_RANGES["vx"] == (-pad.max_lin_vel_x_back, pad.max_lin_vel_x)
    assert STEER_RANGES["vy"] == (-pad.max_lin_vel_y, pad.max_lin_vel_y)
    assert STEER_RANGES["yaw_rate"] == (-pad.max_yaw_rate, pad.max_yaw_rate)
    assert STEER_RANGES["height"] == (pad.min_height, pad.max_height) and HEIGHT_RATE == pad.height_rate


def test_steer_is_asked_for_not_in_the_default_mix():
    assert "steer" not in KINDS
    assert [s.kind for s in draw_specs(3, SEED, ("steer",))] == ["steer"] * 3


@pytest.fixture(scope="module")
def steer_clips():
    return generate(3, SEED, GenerateConfig(kinds=("steer",)))


def _body_frame_velocity(clip, period_frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pelvis vx, vy (heading frame, m/s) and yaw rate (rad/s) averaged over a gait cycle."""
    w, x, y, z = clip.root_quat.T  # wxyz
    yaw = np.unwrap(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))
    n = period_frames
    v = (clip.root_pos[n:, :2] - clip.root_pos[:-n, :2]) * clip.fps / n
    mid = yaw[np.arange(len(v)) + n // 2]
    vx = np.cos(mid) * v[:, 0] + np.sin(mid) * v[:, 1]
    vy = -np.sin(mid) * v[:, 0] + np.cos(mid) * v[:, 1]
    return vx, vy, (yaw[n:] - yaw[:-n]) * clip.fps / n


def test_the_robot_pelvis_moves_at_the_commanded_velocity(steer_clips):
    """Retargeted to the robot, the pelvis follows the schedule's body-frame velocity, yaw rate and
    height (averaged over one gait cycle) to within a few cm/s and cm, and the gate passes."""
    gen = steer_clips
    for clip, spec, failures in zip(gen.clips, gen.specs, gen.failures, strict=True):
        assert not failures, (clip.name, failures)
        t = torch.arange(clip.num_frames, dtype=torch.float64) / clip.fps
        vel, rate, drop = steer_commands(np.random.default_rng(int(spec.params["seed"])), t, *spec.window)
        n = int(round(clip.fps / spec.params["freq"]))
        box = np.ones(n) / n
        vx, vy, yaw_rate = _body_frame_velocity(clip, n)
        for measured, commanded in ((vx, vel[:, 1]), (vy, vel[:, 0]), (yaw_rate, rate)):
            averaged = np.convolve(commanded.numpy(), box, "valid")[: len(measured)]
            assert np.abs(measured - averaged).mean() < 0.06, clip.name
            assert np.ptp(averaged) > 0.1  # it did move
        height = np.convolve(clip.root_pos[:, 2], box, "valid")
        commanded = np.convolve(GAIT_HEIGHT - drop.numpy(), box, "valid")
        assert np.abs(height - commanded).mean() < 0.03, clip.name
        assert np.ptp(commanded) > 0.05, clip.name  # it did crouch
