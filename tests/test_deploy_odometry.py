"""Leg odometry (``hover.deploy.odometry``): its leg FK against the torch FK, and the pelvis estimate
against kinematic replays of the built-in clips (their joint angles and pelvis orientation in, their
pelvis trajectory relative to the start as the truth)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hover.deploy.odometry import LegChainFK, LegOdometry, OdometryConfig, yaw_of
from hover.kinematics import ForwardKinematics
from hover.motion.builtin import load_builtin_motions
from hover.robots import get_robot
from hover.rotations import quat_mul

ROBOT = get_robot("h1")
DEFAULT = np.array([j.default_pos for j in ROBOT.joints])


@pytest.fixture(scope="module")
def clips():
    return {c.name: c for c in load_builtin_motions(ROBOT)}


def replay(clip, quat: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list[tuple[str, ...]]]:
    """(estimate [T, 3], truth [T, 3] = clip pelvis minus its start xy, contact sets) of one replay."""
    odo = LegOdometry(ROBOT)
    quat = clip.root_quat if quat is None else quat
    est, contact = [], []
    for k in range(len(clip.root_pos)):
        est.append(odo.update(clip.joint_pos[k], quat[k]))
        contact.append(odo.contact)
    truth = clip.root_pos - np.array([clip.root_pos[0, 0], clip.root_pos[0, 1], 0.0])
    return np.array(est), truth, contact


def test_leg_fk_matches_the_torch_fk():
    fk, legs = ForwardKinematics(ROBOT, dtype=torch.float64), LegChainFK(ROBOT)
    rng = np.random.default_rng(0)
    joints = DEFAULT + rng.uniform(-0.6, 0.6, (16, ROBOT.num_joints))
    quat = rng.normal(size=(16, 4))
    quat /= np.linalg.norm(quat, axis=-1, keepdims=True)
    poses = fk(torch.zeros(16, 3, dtype=torch.float64), torch.as_tensor(quat), torch.as_tensor(joints))
    ids = [ROBOT.body_index(f) for f in ROBOT.feet]
    pos, rot = legs(joints, quat)
    np.testing.assert_allclose(pos, poses.pos[:, ids].numpy(), atol=1e-12)
    x_axis = np.einsum("nfij,j->nfi", rot, [1.0, 0.0, 0.0])
    q = poses.quat[:, ids].numpy()  # x axis of a quaternion's rotation
    w, x, y, z = np.moveaxis(q, -1, 0)
    np.testing.assert_allclose(
        x_axis, np.stack((1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)), -1), atol=1e-12
    )
    one_pos, _ = legs(joints[0], quat[0])  # unbatched too
    np.testing.assert_allclose(one_pos, pos[0], atol=1e-12)


def test_default_pose_standing_height_and_reset():
    odo = LegOdometry(ROBOT)
    p = odo.update(DEFAULT, np.array([1.0, 0, 0, 0]))
    assert p[:2] == pytest.approx([0.0, 0.0], abs=1e-12)
    assert p[2] == pytest.approx(0.9810488, abs=1e-6)  # where sim2sim places it: the soles on the floor
    assert odo.contact == ROBOT.feet and odo.yaw == 0.0
    p[0] = 5.0  # a copy
    assert odo.position[0] == 0.0
    odo.reset((1.0, -2.0))
    assert odo.position is None
    assert odo.update(DEFAULT, np.array([1.0, 0, 0, 0]))[:2] == pytest.approx([1.0, -2.0], abs=1e-12)


def test_a_bad_reading_keeps_the_estimate():
    odo = LegOdometry(ROBOT)
    with pytest.raises(ValueError):
        odo.update(np.full(19, np.nan), np.array([1.0, 0, 0, 0]))
    good = odo.update(DEFAULT, np.array([1.0, 0, 0, 0]))
    bad = DEFAULT.copy()
    bad[3] = np.nan
    np.testing.assert_array_equal(odo.update(bad, np.array([1.0, 0, 0, 0])), good)
    np.testing.assert_array_equal(odo.update(DEFAULT, np.zeros(4)), good)
    with pytest.raises(ValueError, match="joint_pos"):
        odo.update(DEFAULT[:10], np.array([1.0, 0, 0, 0]))


@pytest.mark.parametrize(
    ("name", "xy_tol"),
    [
        ("stand_idle", 0.005),  # weight shifts: the pelvis moves 0.107 m sideways
        ("bend_forward", 0.015),
        # the clip's right ankle slides 6.7 cm during the squat (retargeting) while both feet are down:
        # the mean of the two feet halves that
        ("squat_1", 0.04),
    ],
)
def test_standing_clips_follow_the_pelvis(clips, name, xy_tol):
    est, truth, _ = replay(clips[name])
    xy = np.linalg.norm(est[:, :2] - truth[:, :2], axis=-1)
    assert xy.max() < xy_tol
    assert np.abs(est[:, 2] - truth[:, 2]).max() < 1e-3  # the clips' lowest sole point is on the floor
    moved = np.linalg.norm(truth[:, :2], axis=-1).max()
    assert moved > 2 * xy.max()  # it tracks motion, not just standing still


@pytest.mark.parametrize(
    ("name", "tol"), [("walk_forward", 0.06), ("sidestep_1", 0.02), ("turn_in_place", 0.005)]
)
def test_walking_drift_is_bounded(clips, name, tol):
    """Dead reckoning: the clips' stance feet slide about 4 cm/s (retargeting), so the estimate drifts:
    walk_forward 5 cm over 2.6 m walked."""
    clip = clips[name]
    est, truth, contact = replay(clip)
    xy = np.linalg.norm(est[:, :2] - truth[:, :2], axis=-1)
    assert xy.max() < tol
    assert np.abs(est[:, 2] - truth[:, 2]).max() < 1e-3
    lifts = sum(len(a) == 2 and len(b) == 1 for a, b in zip(contact, contact[1:], strict=False))
    assert lifts >= 4  # the feet take turns
    jumps = np.linalg.norm(np.diff(est[:, :2] - truth[:, :2], axis=0), axis=-1)
    assert jumps.max() < 0.01  # per tick (a step is ~0.3 m): stance changes never make it jump


def test_stance_weights():
    odo = LegOdometry(ROBOT, OdometryConfig(height_full_m=0.003, height_zero_m=0.01))
    w = odo.stance_weights
    np.testing.assert_allclose(w(np.array([0.0, 0.002]), np.array([0.05, 0.1])), [0.5, 0.5])  # both down
    np.testing.assert_allclose(w(np.array([0.0, 0.02]), np.array([0.5, 0.0])), [1.0, 0.0])  # one lifted
    np.testing.assert_allclose(w(np.array([0.0, 0.0065]), np.array([0.0, 0.0])), [2 / 3, 1 / 3])  # ramp
    np.testing.assert_allclose(w(np.array([0.001, 0.0]), np.array([0.02, 0.9])), [1.0, 0.0])  # shuffle step
    np.testing.assert_allclose(w(np.array([0.0, 0.0]), np.array([0.2, 0.4])), [2 / 3, 1 / 3])  # slip ramp
    np.testing.assert_allclose(w(np.array([0.02, 0.0]), np.array([0.0, 0.9])), [0.0, 1.0])  # none: the lower
    with pytest.raises(ValueError, match="full < zero"):
        OdometryConfig(height_full_m=0.02, height_zero_m=0.01)


def test_a_shuffle_step_that_barely_lifts_keeps_the_pelvis():
    """A foot slid 0.1 m forward on the floor while the pelvis stays: the planted foot carries the
    estimate (mean of both feet would move it 5 cm)."""
    odo = LegOdometry(ROBOT)
    quat = np.array([1.0, 0, 0, 0])
    odo.update(DEFAULT, quat)
    fk = LegChainFK(ROBOT)
    moved = DEFAULT.copy()
    hip, knee = ROBOT.joint_names.index("left_hip_pitch"), ROBOT.joint_names.index("left_knee")
    for k in range(1, 11):  # hip flexes, knee follows: the left ankle swings forward, 50 Hz
        moved[hip], moved[knee] = DEFAULT[hip] - 0.02 * k, DEFAULT[knee] + 0.01 * k
        odo.update(moved, quat)
    ahead = fk(moved, quat)[0][0, 0] - fk(DEFAULT, quat)[0][0, 0]
    assert ahead > 0.05
    assert np.linalg.norm(odo.position[:2]) < 0.01


def test_the_estimate_turns_with_the_imu_frame(clips):
    """The odometry world is the IMU's: the same walk with the IMU yaw offset by 0.7 rad is the same
    trajectory turned 0.7 rad about the start."""
    clip = clips["walk_forward"]
    est, _, _ = replay(clip)
    turn = torch.tensor([[math.cos(0.35), 0.0, 0.0, math.sin(0.35)]], dtype=torch.float64)
    quat = quat_mul(turn.expand(len(clip.root_quat), 4), torch.as_tensor(clip.root_quat, dtype=torch.float64))
    turned, _, _ = replay(clip, quat.numpy())
    c, s = math.cos(0.7), math.sin(0.7)
    np.testing.assert_allclose(turned[:, :2], est[:, :2] @ np.array([[c, s], [-s, c]]), atol=1e-9)
    np.testing.assert_allclose(turned[:, 2], est[:, 2], atol=1e-9)
    assert yaw_of(quat[-1].numpy()) == pytest.approx(
        math.remainder(yaw_of(clip.root_quat[-1]) + 0.7, 2 * math.pi)
    )
