"""Shape fit and motion fit: pair error goes down, robot motions round-trip, grounding, batching."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest
import torch

from hover.kinematics import ForwardKinematics
from hover.retarget.body_model import load_synthetic_body_model
from hover.retarget.motion_fit import FitTargets, RetargetConfig, fit_frames, retarget_clips
from hover.retarget.quality import GeomPoints
from hover.retarget.shape_fit import (
    ShapeFitConfig,
    builtin_shape_path,
    fit_shape,
    load_shape,
    pair_indices,
    save_shape,
)
from hover.retarget.synthetic import synthetic_clips
from hover.robots import get_robot
from hover.robots.mjcf import ModelOptions, build_model


@pytest.fixture(scope="module")
def robot():
    return get_robot()


@pytest.fixture(scope="module")
def model():
    return load_synthetic_body_model()


def test_shape_fit_reduces_pair_error_and_round_trips(tmp_path, model, robot):
    shape = fit_shape(model, robot, ShapeFitConfig(iterations=100))
    assert shape.pair_error_after < 0.5 * shape.pair_error_before
    assert shape.pair_error_after < 0.035  # m, mean over the 14 pairs
    assert shape.scale > 1.0  # the H1 (pelvis ~1.05 m high) is bigger than the synthetic adult
    plain = fit_shape(model, robot, ShapeFitConfig(iterations=100, per_chain_scales=False))
    assert shape.pair_error_after <= plain.pair_error_after + 1e-4  # chain scales can only help
    back = load_shape(save_shape(tmp_path / "s.npz", shape), robot)
    np.testing.assert_allclose(back.betas, shape.betas)
    assert back.scale == shape.scale and back.chain_names == shape.chain_names
    shipped = load_shape(builtin_shape_path(), robot)
    assert shipped.pair_error_after < shipped.pair_error_before


def _robot_motion(robot, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Smooth joint trajectories inside the limits (10% margin), a walking-like root."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(n, dtype=torch.float64) / 30.0
    lo = torch.tensor([j.range[0] for j in robot.joints], dtype=torch.float64)
    hi = torch.tensor([j.range[1] for j in robot.joints], dtype=torch.float64)
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    center = torch.zeros_like(mid).clamp(lo + 0.2 * half, hi - 0.2 * half)
    amp = torch.minimum(0.5 * half, torch.full_like(half, 0.6))
    phase = 2 * math.pi * torch.rand(len(lo), generator=gen, dtype=torch.float64)
    freq = 0.3 + 0.5 * torch.rand(len(lo), generator=gen, dtype=torch.float64)
    q = (center + amp * torch.sin(2 * math.pi * freq * t[:, None] + phase)).clamp(lo + 0.05, hi - 0.05)
    yaw = 0.4 * t
    rq = torch.stack([torch.cos(yaw / 2), 0 * t, 0 * t, torch.sin(yaw / 2)], -1)
    rp = torch.stack([0.5 * t, 0.1 * t, 1.0 + 0.02 * torch.sin(3 * t)], -1)
    return rp, rq, q


def test_robot_motion_round_trip_recovers_joint_angles(robot):
    """Keypoints of a known robot motion, fitted back from a perturbed root and q = 0.

    Tolerance: the keypoints are exact, so the optimum differs from the truth only by the priors'
    bias: the pose prior (1e-4 per rad^2) against keypoint residuals with lever arms of 0.1-0.6 m
    gives up to ~1e-4 / 0.1^2 = 1e-2 rad on the weakly observed hip yaw (lever 0.1 m), and the
    smoothing prior is negligible on a smooth trajectory. Measured: mean 0.002 rad, max 0.014 rad."""
    fk = ForwardKinematics(robot, dtype=torch.float64)
    ri, _ = pair_indices(robot)
    cfg = RetargetConfig(iterations=15, dtype="float64")  # default priors
    clips = [_robot_motion(robot, 60, 0), _robot_motion(robot, 45, 1)]
    rp, rq, q = (torch.cat(x) for x in zip(*clips, strict=True))
    poses = fk(rp, rq, q)
    feet = [robot.body_index(b) for b, _ in robot.retarget_orientation_pairs]
    lengths = [60, 45]
    tilt = torch.tensor([math.cos(0.05), math.sin(0.05), 0.0, 0.0], dtype=torch.float64)
    from hover.rotations import quat_mul

    targets = FitTargets(
        keypoints=poses.pos[:, ri],
        root_pos=rp + torch.tensor([0.03, -0.02, 0.04], dtype=torch.float64),
        root_quat=quat_mul(tilt.expand_as(rq), rq),
        orient=poses.quat[:, feet],
        clip_id=torch.repeat_interleave(torch.arange(2), torch.tensor(lengths)),
        starts=[0, 60],
        lengths=lengths,
        contact=torch.ones(105, dtype=torch.float64),
    )
    rp_fit, rq_fit, q_fit, err = fit_frames(targets, robot, cfg, feet)
    assert float(err.mean()) < 0.002 and float(err.max()) < 0.01  # m
    dq = (q_fit - q).abs()
    assert float(dq.mean()) < 0.01, dq.mean(0)
    assert float(dq.max()) < 0.05, dq.max(0)
    assert float((rp_fit - rp).norm(dim=-1).max()) < 0.01


def _mujoco_lowest(mj_model, data, root_pos, root_quat, joint_pos) -> float:
    """Lowest point of all robot collision geoms (not the floor) computed by MuJoCo's kinematics."""
    data.qpos[:3], data.qpos[3:7], data.qpos[7:] = root_pos, root_quat, joint_pos
    mujoco.mj_kinematics(mj_model, data)
    low = np.inf
    for g in range(mj_model.ngeom):
        t = mj_model.geom_type[g]
        if t == mujoco.mjtGeom.mjGEOM_PLANE or mj_model.geom_bodyid[g] == 0:
            continue
        z, r = data.geom_xpos[g, 2], mj_model.geom_size[g]
        axis = data.geom_xmat[g].reshape(3, 3)
        if t == mujoco.mjtGeom.mjGEOM_SPHERE:
            low = min(low, z - r[0])
        elif t == mujoco.mjtGeom.mjGEOM_CAPSULE:
            low = min(low, z - r[1] * abs(axis[2, 2]) - r[0])
        elif t == mujoco.mjtGeom.mjGEOM_CYLINDER:
            low = min(low, z - r[1] * abs(axis[2, 2]) - r[0] * math.sqrt(max(0.0, 1 - axis[2, 2] ** 2)))
        elif t == mujoco.mjtGeom.mjGEOM_BOX:
            low = min(low, z - float(np.abs(axis[2]) @ r))
    return low


@pytest.fixture(scope="module")
def retargeted(model, robot):
    from hover.retarget.pipeline import builtin_body_and_shape

    _, shape = builtin_body_and_shape(robot)
    clips = synthetic_clips(kinds=(("walk", 4.0), ("squat", 4.0), ("wave", 4.0)))
    return clips, shape, retarget_clips(clips, shape, model, robot, RetargetConfig(iterations=8))


def test_retarget_quality_grounding_and_limits(retargeted, robot):
    clips, _, res = retargeted
    assert [c.name for c in res.clips] == [c.name for c in clips] and not res.skipped
    mj_model = build_model(robot, ModelOptions())
    data = mujoco.MjData(mj_model)
    lo = np.array([j.range[0] for j in robot.joints])
    hi = np.array([j.range[1] for j in robot.joints])
    for clip, q in zip(res.clips, res.quality, strict=True):
        assert clip.fps == 30.0 and clip.num_frames == 121
        assert q.mean_keypoint_error_m < 0.03 and q.max_keypoint_error_m < 0.12
        lows = [
            _mujoco_lowest(mj_model, data, clip.root_pos[t], clip.root_quat[t], clip.joint_pos[t])
            for t in range(0, clip.num_frames, 5)
        ]
        assert min(lows) > -0.005 and max(lows) < 0.005, (clip.name, min(lows), max(lows))
        assert abs(q.lowest_point_min_m - min(lows)) < 0.005
        assert np.all(clip.joint_pos >= lo - 1e-6) and np.all(clip.joint_pos <= hi + 1e-6)
        assert q.foot_sliding_mean_m_s < 0.05, (clip.name, q.foot_sliding_mean_m_s)
        assert q.self_penetration_frames == 0, (clip.name, q.self_penetration_max_m)


def test_self_collision_checker_sees_an_arm_in_the_thigh(robot):
    from hover.retarget.quality import SelfCollisionChecker

    checker = SelfCollisionChecker(robot)
    q = np.zeros((2, robot.num_joints))
    q[1, robot.joint_index("left_elbow")] = 1.5  # forearm straight down, into the thigh
    q[1, robot.joint_index("left_shoulder_roll")] = -0.2
    frames, depth = checker.check(np.array([[0, 0, 1.05]] * 2), np.array([[1.0, 0, 0, 0]] * 2), q)
    assert frames == 1 and depth > 0.01


def test_scale_is_applied_standing_knees_straight(retargeted, robot):
    """H2O's bug left the fitted scale unused, so the robot crouched; standing frames must be upright."""
    _, _, res = retargeted
    wave = next(c for c in res.clips if c.name.startswith("wave"))
    knees = wave.joint_pos[:, [robot.joint_index("left_knee"), robot.joint_index("right_knee")]]
    assert float(np.abs(knees).max()) < 0.35
    assert 0.95 < float(wave.root_pos[:, 2].mean()) < 1.1  # H1 pelvis height standing ~1.05 m


def test_batching_does_not_mix_clips(retargeted, model, robot):
    clips, shape, res = retargeted
    alone = retarget_clips(clips[1:2], shape, model, robot, RetargetConfig(iterations=8))
    np.testing.assert_allclose(alone.clips[0].joint_pos, res.clips[1].joint_pos, atol=2e-3)
    np.testing.assert_allclose(alone.clips[0].root_pos, res.clips[1].root_pos, atol=2e-3)


def test_geom_points_match_mujoco_lowest_point(robot):
    mj_model = build_model(robot, ModelOptions())
    data = mujoco.MjData(mj_model)
    rp, rq, q = _robot_motion(robot, 30, 3)
    fk = ForwardKinematics(robot, dtype=torch.float64)
    poses = fk(rp, rq, q)
    ours = GeomPoints(robot, dtype=torch.float64).lowest(poses.pos, poses.quat)
    for t in range(0, 30, 7):
        ref = _mujoco_lowest(mj_model, data, rp[t].numpy(), rq[t].numpy(), q[t].numpy())
        assert abs(float(ours[t]) - ref) < 2e-3  # cylinders are sampled at 16 rim points


@pytest.mark.slow
def test_shipped_builtin_motions_are_reproduced_by_the_retargeting(tmp_path):
    """`hover retarget --builtin --fps 50 --single-file builtin.npz` regenerates the shipped set."""
    from hover.cli.retarget import main
    from hover.motion.builtin import BUILTIN_MOTIONS_PATH
    from hover.motion.format import load_motions

    assert (
        main(
            ["--builtin", "--fps", "50", "--out", str(tmp_path), "--single-file", "builtin.npz", "--quiet"],
            "hover retarget",
        )
        == 0
    )
    fresh = load_motions(tmp_path / "builtin.npz")
    shipped = load_motions(BUILTIN_MOTIONS_PATH)
    assert [c.name for c in fresh] == [c.name for c in shipped]
    for a, b in zip(fresh, shipped, strict=True):
        np.testing.assert_allclose(a.joint_pos, b.joint_pos, atol=2e-3)
        np.testing.assert_allclose(a.root_pos, b.root_pos, atol=2e-3)


def test_too_short_after_resampling_is_skipped_and_reported(retargeted, model, robot):
    from hover.retarget.amass import HumanClip

    clips, shape, _ = retargeted
    src = clips[1]
    assert src.fps == 60.0
    n = int(0.2 * src.fps) + 1  # 0.2 s: 13 source frames at 60 Hz (readable), 7 frames at 30 Hz
    short = HumanClip("tiny", src.fps, src.pose_aa[:n], src.trans[:n])
    res = retarget_clips([short, clips[2]], shape, model, robot, RetargetConfig(iterations=4))
    assert [c.name for c in res.clips] == [clips[2].name]
    assert res.skipped[0][0] == "tiny" and "frames at 30 fps" in res.skipped[0][1]
