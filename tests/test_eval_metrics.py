"""The paper's tracking metrics on synthetic trajectories with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from hover.evaluation import metrics as M
from hover.kinematics import ForwardKinematics
from hover.robots import get_robot
from hover.rotations import quat_from_euler_xyz, quat_mul, quat_rotate

ROBOT = get_robot("h1")
DT = 0.02
F64 = torch.float64


def reference(num_frames: int = 40, phase: float = 0.0) -> M.Trajectory:
    """A walking-like reference: root moving forward and turning, joints swinging (float64)."""
    t = torch.arange(num_frames, dtype=F64) * DT
    root_pos = torch.stack([0.8 * t, 0.1 * torch.sin(2 * t + phase), 1.0 + 0.03 * torch.sin(6 * t)], -1)
    euler = torch.stack([0.05 * torch.sin(3 * t), 0.08 * torch.cos(2 * t), 0.5 * t + phase], -1)
    root_quat = quat_from_euler_xyz(euler)
    j = ROBOT.num_joints
    joint_pos = torch.tensor([jt.default_pos for jt in ROBOT.joints], dtype=F64) + 0.3 * torch.sin(
        4 * t[:, None] + torch.arange(j, dtype=F64)[None] + phase
    )
    body = ForwardKinematics(ROBOT, dtype=F64)(root_pos, root_quat, joint_pos).pos
    root_vel = torch.gradient(root_pos, spacing=DT, dim=0)[0]
    return M.Trajectory(body_pos=body, root_quat=root_quat, root_lin_vel=root_vel, joint_pos=joint_pos)


def shifted(traj: M.Trajectory, offset: tuple[float, float, float]) -> M.Trajectory:
    off = torch.tensor(offset, dtype=F64)
    return M.Trajectory(
        traj.body_pos + off, traj.root_quat.clone(), traj.root_lin_vel.clone(), traj.joint_pos.clone()
    )


def test_perfect_tracker_is_exactly_zero():
    ref = reference()
    out = M.clip_metrics(ref, ref, ROBOT)
    assert set(M.METRIC_NAMES) <= set(out)
    assert {"vr/mpjpe_g_mm", "h2o/acc_mm_per_frame2"} <= set(out)
    for name, value in out.items():
        assert value.shape == (), name
        assert value.item() == 0.0, name


def test_constant_global_offset_shows_only_in_global_error():
    ref = reference()
    robot = shifted(ref, (0.06, -0.08, 0.0))  # 10 cm horizontal offset of every body
    out = M.clip_metrics(robot, ref, ROBOT)
    assert out["mpjpe_g_mm"].item() == pytest.approx(100.0, abs=1e-9)
    assert out["vr/mpjpe_g_mm"].item() == pytest.approx(100.0, abs=1e-9)
    for name in ("mpjpe_l_mm", "vel_mm_per_frame", "acc_mm_per_frame2", "vr/mpjpe_l_mm", "root_height_err_m"):
        assert out[name].item() == pytest.approx(0.0, abs=1e-9), name
    for name in ("upper_joint_err_rad", "lower_joint_err_rad", "root_vel_err_m_per_s", "root_yaw_err_rad"):
        assert out[name].item() == 0.0, name


def test_height_offset_is_root_height_error_in_metres():
    ref = reference()
    out = M.clip_metrics(shifted(ref, (0.0, 0.0, -0.05)), ref, ROBOT)
    assert out["root_height_err_m"].item() == pytest.approx(0.05, abs=1e-12)
    assert out["mpjpe_g_mm"].item() == pytest.approx(50.0, abs=1e-9)


def test_parabola_acceleration_and_velocity():
    ref = reference(num_frames=30)
    a = torch.tensor([0.003, -0.004, 0.0], dtype=F64)  # 5 mm/frame^2
    k = torch.arange(30, dtype=F64)
    drift = 0.5 * a * (k**2)[:, None]
    robot = M.Trajectory(ref.body_pos + drift[:, None, :], ref.root_quat, ref.root_lin_vel, ref.joint_pos)
    assert M.acceleration_error(robot.body_pos, ref.body_pos).item() == pytest.approx(5.0, rel=1e-9)
    # first difference of 0.5 a k^2 is a (k + 1/2): mean over k = 0..28 is a * 14.5
    assert M.velocity_error(robot.body_pos, ref.body_pos).item() == pytest.approx(5.0 * 14.5, rel=1e-9)


def test_padded_frames_are_ignored_and_batches_match_single_clips():
    long_ref, short_ref = reference(40), reference(25, phase=1.0)
    long_rob, short_rob = shifted(long_ref, (0.0, 0.02, 0.0)), reference(25, phase=1.1)
    pad = 15

    def padded(tr: M.Trajectory, garbage: float) -> M.Trajectory:
        def p(x):
            return torch.cat([x, torch.full((pad, *x.shape[1:]), garbage, dtype=x.dtype)])

        return M.Trajectory(p(tr.body_pos), p(tr.root_quat), p(tr.root_lin_vel), p(tr.joint_pos))

    def stack(a: M.Trajectory, b: M.Trajectory) -> M.Trajectory:
        return M.Trajectory(
            *(
                torch.stack([getattr(a, f), getattr(b, f)])
                for f in ("body_pos", "root_quat", "root_lin_vel", "joint_pos")
            )
        )

    robot = stack(long_rob, padded(short_rob, 7.0))
    ref = stack(long_ref, padded(short_ref, -3.0))
    mask = torch.ones(2, 40, dtype=torch.bool)
    mask[1, 25:] = False
    batched = M.clip_metrics(robot, ref, ROBOT, mask)
    single_long = M.clip_metrics(long_rob, long_ref, ROBOT)
    single_short = M.clip_metrics(short_rob, short_ref, ROBOT)
    for name, value in batched.items():
        assert value.shape == (2,)
        assert value[0].item() == pytest.approx(single_long[name].item(), abs=1e-9), name
        assert value[1].item() == pytest.approx(single_short[name].item(), abs=1e-9), name
        assert math.isfinite(value[1].item()), name


def test_empty_mask_gives_nan_and_short_clips_have_no_acceleration():
    ref = reference(10)
    assert math.isnan(M.mpjpe_global(ref.body_pos, ref.body_pos, torch.zeros(10, dtype=torch.bool)).item())
    two = ref.body_pos[:2]
    assert math.isnan(M.acceleration_error(two, two).item())
    assert M.velocity_error(two, two).item() == 0.0
    with pytest.raises(ValueError, match="mask shape"):
        M.mpjpe_global(ref.body_pos, ref.body_pos, torch.ones(9, dtype=torch.bool))


def test_joint_errors_split_upper_and_lower():
    ref = reference()
    q = ref.joint_pos.clone()
    upper = [ROBOT.joint_index(n) for n in ROBOT.upper_body_joints]
    q[:, upper] += 0.1
    out = M.clip_metrics(M.Trajectory(ref.body_pos, ref.root_quat, ref.root_lin_vel, q), ref, ROBOT)
    assert out["upper_joint_err_rad"].item() == pytest.approx(0.1, abs=1e-12)
    assert out["lower_joint_err_rad"].item() == 0.0


def test_root_orientation_errors_wrap_and_velocity_uses_root_frame():
    ref = reference()
    euler = torch.zeros(40, 3, dtype=F64)
    euler[:, 2] = 0.2
    turn = quat_from_euler_xyz(euler)  # 0.2 rad about world z

    quat = quat_mul(turn, ref.root_quat)
    # the same motion turned about z: root-frame velocity is unchanged, yaw differs by 0.2 rad
    robot = M.Trajectory(ref.body_pos, quat, quat_rotate(turn, ref.root_lin_vel), ref.joint_pos)
    out = M.clip_metrics(robot, ref, ROBOT)
    assert out["root_vel_err_m_per_s"].item() == pytest.approx(0.0, abs=1e-12)
    assert out["root_yaw_err_rad"].item() == pytest.approx(0.2, abs=1e-9)
    assert out["root_roll_err_rad"].item() < 0.02 and out["root_pitch_err_rad"].item() < 0.02
    # yaw across the +-pi seam: 3.1 vs -3.1 is 0.0832 rad apart, not 6.2
    a = quat_from_euler_xyz(torch.tensor([[0.0, 0.0, 3.1]], dtype=F64))
    b = quat_from_euler_xyz(torch.tensor([[0.0, 0.0, -3.1]], dtype=F64))
    assert M.root_rpy_error(a, b)[2].item() == pytest.approx(2 * math.pi - 6.2, abs=1e-9)


def test_first_failure_frame_uses_mean_body_distance():
    ref = reference(20)
    k = torch.arange(20, dtype=F64)
    drift = torch.zeros(20, 1, 3, dtype=F64)
    drift[:, 0, 0] = 0.06 * k  # every body drifts 6 cm per frame: mean distance > 0.5 m from frame 9
    pos = ref.body_pos + drift
    assert M.first_failure_frame(pos, ref.body_pos).item() == 9
    batch = torch.stack([pos, ref.body_pos])
    assert M.first_failure_frame(batch, torch.stack([ref.body_pos] * 2)).tolist() == [9, -1]
    mask = torch.ones(2, 20, dtype=torch.bool)
    mask[0, 5:] = False  # failure after the valid frames does not count
    assert M.first_failure_frame(batch, torch.stack([ref.body_pos] * 2), mask).tolist() == [-1, -1]
    # one body far away but the mean below 0.5 m is not a failure
    one = ref.body_pos.clone()
    one[:, 3, 2] += 2.0
    assert M.first_failure_frame(one, ref.body_pos).item() == -1


def test_summarize_all_and_successful_only():
    clips = [
        {name: 1.0 for name in M.METRIC_NAMES} | {"vr/mpjpe_g_mm": 10.0},
        {name: 3.0 for name in M.METRIC_NAMES} | {"vr/mpjpe_g_mm": 30.0},
        {name: math.nan for name in M.METRIC_NAMES} | {"vr/mpjpe_g_mm": math.nan},
    ]
    for c in clips:
        c.update({f"vr/{n}": c["vr/mpjpe_g_mm"] for n in M.BODY_METRIC_NAMES[1:]})
    rep = M.summarize(clips, [True, False, False])
    assert list(rep)[0] == "success_rate"
    assert rep["success_rate"] == pytest.approx(1 / 3)
    assert rep["mpjpe_g_mm"] == 2.0  # NaN clip skipped
    assert rep["subset"]["vr"]["mpjpe_g_mm"] == 20.0
    assert rep["successful_only"]["mpjpe_g_mm"] == 1.0
    assert rep["successful_only"]["subset"]["vr"]["mpjpe_g_mm"] == 10.0
    assert rep["num_clips"] == 3 and rep["num_successful"] == 1
    none_ok = M.summarize(clips[:1], [False])
    assert none_ok["successful_only"]["mpjpe_g_mm"] is None and none_ok["success_rate"] == 0.0
    assert none_ok["successful_only"]["subset"]["vr"]["mpjpe_g_mm"] is None


def test_summarize_pools_frames_like_hover():
    a = {name: 1.0 for name in M.METRIC_NAMES}
    b = {name: 3.0 for name in M.METRIC_NAMES}
    rep = M.summarize([a, b], [True, True], frames=[10, 30])
    assert rep["mpjpe_g_mm"] == pytest.approx((10 * 1 + 30 * 3) / 40)
    assert rep["root_height_err_m"] == pytest.approx(2.5)
    assert rep["vel_mm_per_frame"] == pytest.approx((9 * 1 + 29 * 3) / 38)  # frame pairs
    assert rep["acc_mm_per_frame2"] == pytest.approx((8 * 1 + 28 * 3) / 36)  # frame triples
    assert rep["upper_joint_err_rad"] == 2.0  # HOVER: mean of clip means
    with pytest.raises(ValueError, match="frame counts"):
        M.summarize([a, b], [True, True], frames=[10])
