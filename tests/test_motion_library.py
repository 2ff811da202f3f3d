"""MotionLibrary: interpolation, velocities, clip boundaries, sampling, FK consistency."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hover.kinematics import ForwardKinematics
from hover.motion.format import MotionClip, save_motions
from hover.motion.library import MotionLibrary, MotionState
from hover.robots import get_robot
from hover.rotations import quat_angle_between, quat_from_euler_xyz

ROBOT = get_robot("h1")
J = ROBOT.num_joints
B = len(ROBOT.tracked_body_names)
DEFAULT = np.array([j.default_pos for j in ROBOT.joints])


def _wavy_clip(name: str, n: int, fps: float, seed: int) -> MotionClip:
    """Smooth random motion: root drifting and turning, joints oscillating around the default pose."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    freq = rng.uniform(0.3, 1.0, size=J)
    phase = rng.uniform(0, 2 * math.pi, size=J)
    joint_pos = DEFAULT + 0.3 * np.sin(2 * math.pi * freq * t[:, None] + phase)
    root_pos = np.stack([0.2 * t + seed, 0.1 * np.sin(t), 1.0 + 0.02 * np.cos(2 * t)], -1)
    euler = np.stack([0.1 * np.sin(t), 0.05 * np.cos(t), 0.8 * t + seed], -1)
    root_quat = quat_from_euler_xyz(torch.as_tensor(euler)).numpy()
    return MotionClip(name, fps, root_pos, root_quat, joint_pos)


def _const_vel_clip(
    n: int, fps: float, lin: np.ndarray, yaw_rate: float, joint_rate: np.ndarray
) -> MotionClip:
    t = np.arange(n) / fps
    root_pos = np.array([0.0, 0.0, 1.0]) + t[:, None] * lin
    yaw = yaw_rate * t
    root_quat = np.stack([np.cos(yaw / 2), 0 * yaw, 0 * yaw, np.sin(yaw / 2)], -1)
    joint_pos = DEFAULT + t[:, None] * joint_rate
    return MotionClip("const", fps, root_pos, root_quat, joint_pos)


@pytest.fixture(scope="module")
def lib() -> MotionLibrary:
    clips = [_wavy_clip("a", 60, 30.0, 0), _wavy_clip("b", 101, 50.0, 1), _wavy_clip("c", 2, 20.0, 2)]
    return MotionLibrary(clips, ROBOT, dtype=torch.float64)


def test_metadata(lib):
    assert lib.num_clips == 3 and lib.clip_names == ["a", "b", "c"]
    assert lib.clip_num_frames.tolist() == [60, 101, 2]
    assert lib.clip_num_frames.dtype == torch.long
    torch.testing.assert_close(lib.clip_durations, torch.tensor([59 / 30, 2.0, 0.05], dtype=torch.float64))
    assert lib.total_duration == pytest.approx(59 / 30 + 2.0 + 0.05)
    assert lib.clip_starts.tolist() == [0, 60, 161]


def test_state_shapes_and_frame_times(lib):
    ids = torch.tensor([0, 0, 1, 1, 2])
    frames = torch.tensor([0, 17, 0, 100, 1])
    times = frames / lib.clip_fps[ids]
    s = lib.get_state(ids, times)
    assert isinstance(s, MotionState)
    assert s.body_pos.shape == (5, B, 3) and s.body_quat.shape == (5, B, 4)
    assert s.joint_pos.shape == (5, J) and s.root_ang_vel.shape == (5, 3)
    idx = lib.clip_starts[ids] + frames
    torch.testing.assert_close(s.joint_pos, lib.joint_pos[idx], atol=1e-9, rtol=0)
    torch.testing.assert_close(s.body_pos, lib.body_pos[idx], atol=1e-9, rtol=0)
    ang = quat_angle_between(s.body_quat, lib.body_quat[idx])
    assert ang.max() < 1e-6
    torch.testing.assert_close(s.root_pos, s.body_pos[:, 0])


def test_interpolation_is_continuous_and_unit(lib):
    ids = lib.sample_clips(400, generator=torch.Generator().manual_seed(0))
    times = lib.sample_times(ids, generator=torch.Generator().manual_seed(1))
    eps = 1e-4
    s0, s1 = lib.get_state(ids, times), lib.get_state(ids, times + eps)
    # Changes over eps seconds stay within a generous bound of velocity * eps.
    assert (s1.body_pos - s0.body_pos).norm(dim=-1).max() < 5.0 * eps
    assert (s1.joint_pos - s0.joint_pos).abs().max() < 5.0 * eps
    assert quat_angle_between(s1.body_quat, s0.body_quat).max() < 10.0 * eps
    torch.testing.assert_close(s0.body_quat.norm(dim=-1), torch.ones(400, B, dtype=torch.float64))
    # Half way between two frames: the joint angles are the mean of the two frames.
    mid = lib.get_state(torch.tensor([1]), torch.tensor([10.5 / 50.0]))
    i = int(lib.clip_starts[1]) + 10
    torch.testing.assert_close(mid.joint_pos[0], 0.5 * (lib.joint_pos[i] + lib.joint_pos[i + 1]))


def test_times_clamp_to_clip(lib):
    ids = torch.tensor([0, 0, 2, 2])
    s = lib.get_state(ids, torch.tensor([-3.0, 100.0, -1.0, 5.0], dtype=torch.float64))
    first, last = lib.clip_starts[ids], lib.clip_starts[ids] + lib.clip_num_frames[ids] - 1
    expected = torch.stack([first[0], last[1], first[2], last[3]])
    torch.testing.assert_close(s.joint_pos, lib.joint_pos[expected], atol=1e-12, rtol=0)
    torch.testing.assert_close(s.body_pos, lib.body_pos[expected], atol=1e-12, rtol=0)


def test_no_blending_across_clip_boundaries():
    # Two constant clips far apart: nothing from one may leak into the other, at any time.
    a = _const_vel_clip(10, 10.0, np.zeros(3), 0.0, np.zeros(J))
    b = _const_vel_clip(10, 10.0, np.zeros(3), 0.0, np.zeros(J))
    b.root_pos = b.root_pos + np.array([100.0, 0.0, 0.0])
    b.joint_pos = b.joint_pos + 0.2
    lib = MotionLibrary([a, b], ROBOT, dtype=torch.float64)
    times = torch.linspace(-0.5, 1.5, 81, dtype=torch.float64)
    sa = lib.get_state(torch.zeros(81, dtype=torch.long), times)
    sb = lib.get_state(torch.ones(81, dtype=torch.long), times)
    torch.testing.assert_close(sa.root_pos, torch.tensor([[0.0, 0.0, 1.0]] * 81, dtype=torch.float64))
    torch.testing.assert_close(sb.root_pos[:, 0], torch.full((81,), 100.0, dtype=torch.float64))
    torch.testing.assert_close(sb.joint_pos, torch.as_tensor(DEFAULT + 0.2).expand(81, J))
    # Velocities at the clip ends are one-sided: a jump between clips gives no velocity spike.
    for s in (sa, sb):
        assert s.body_lin_vel.abs().max() < 1e-9 and s.joint_vel.abs().max() < 1e-9
        assert s.body_ang_vel.abs().max() < 1e-9


def test_constant_velocity_clip():
    lin = np.array([0.5, -0.2, 0.1])
    yaw_rate = 0.7
    joint_rate = np.linspace(-0.3, 0.3, J)
    lib = MotionLibrary([_const_vel_clip(40, 50.0, lin, yaw_rate, joint_rate)], ROBOT, dtype=torch.float64)
    n = 50
    ids = torch.zeros(n, dtype=torch.long)
    times = torch.linspace(0.0, float(lib.clip_durations[0]), n, dtype=torch.float64)  # includes both ends
    s = lib.get_state(ids, times)
    torch.testing.assert_close(s.root_lin_vel, torch.as_tensor(lin).expand(n, 3))
    torch.testing.assert_close(
        s.root_ang_vel, torch.tensor([0.0, 0.0, yaw_rate], dtype=torch.float64).expand(n, 3)
    )
    torch.testing.assert_close(s.joint_vel, torch.as_tensor(joint_rate).expand(n, J))
    # Every body shares the root's angular velocity only when joints are still; here check the pelvis-fixed
    # head point, whose velocity is v + w x r.
    head = ROBOT.body_index("head_link")
    r = s.body_pos[:, head] - s.root_pos
    w = s.root_ang_vel
    expected = torch.as_tensor(lin) + torch.cross(w, r, dim=-1)
    torch.testing.assert_close(s.body_lin_vel[:, head], expected, atol=2e-3, rtol=0)


def test_body_poses_match_fk(lib):
    ids = torch.tensor([0, 1, 1, 2])
    times = torch.tensor([0.5, 0.0, 1.24, 0.05], dtype=torch.float64)
    frames = torch.tensor([15, 0, 62, 1])  # exact frame times
    s = lib.get_state(ids, times)
    fk = ForwardKinematics(ROBOT, dtype=torch.float64)
    poses = fk(s.root_pos, s.root_quat, s.joint_pos)
    torch.testing.assert_close(s.body_pos, poses.pos, atol=1e-9, rtol=0)
    assert quat_angle_between(s.body_quat, poses.quat).max() < 1e-6
    torch.testing.assert_close(s.joint_pos, lib.joint_pos[lib.clip_starts[ids] + frames], atol=1e-9, rtol=0)


def test_velocities_match_numerical_derivative(lib):
    # Interior of a smooth clip: library velocities agree with a fine central difference of positions.
    ids = torch.ones(20, dtype=torch.long)
    times = torch.linspace(0.2, 1.8, 20, dtype=torch.float64)
    h = 0.02
    s = lib.get_state(ids, times)
    sp, sm = lib.get_state(ids, times + h), lib.get_state(ids, times - h)
    fd = (sp.body_pos - sm.body_pos) / (2 * h)
    assert (s.body_lin_vel - fd).norm(dim=-1).max() < 0.05 * fd.norm(dim=-1).max()
    assert (s.joint_vel - (sp.joint_pos - sm.joint_pos) / (2 * h)).abs().max() < 0.05


def test_uniform_and_weighted_sampling(lib):
    g = torch.Generator().manual_seed(0)
    ids = lib.sample_clips(30000, generator=g)
    counts = torch.bincount(ids, minlength=3).double() / 30000
    torch.testing.assert_close(counts, torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.02, rtol=0)
    ids = lib.sample_clips(30000, weights=torch.tensor([3.0, 0.0, 1.0]), generator=g)
    counts = torch.bincount(ids, minlength=3).double() / 30000
    assert counts[1] == 0
    assert counts[0] / counts[2] == pytest.approx(3.0, rel=0.08)
    with pytest.raises(ValueError, match="weights"):
        lib.sample_clips(5, weights=torch.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="weights"):
        lib.sample_clips(5, weights=torch.tensor([1.0, 1.0]))
    with pytest.raises(ValueError, match="weights"):
        lib.sample_clips(5, weights=torch.zeros(3))


def test_sample_times_within_duration(lib):
    ids = lib.sample_clips(5000, generator=torch.Generator().manual_seed(3))
    t = lib.sample_times(ids, generator=torch.Generator().manual_seed(4))
    assert (t >= 0).all() and (t <= lib.clip_durations[ids]).all()
    # uniform: mean fraction of the duration near 1/2
    assert (t / lib.clip_durations[ids]).mean() == pytest.approx(0.5, abs=0.03)


def test_bad_inputs(lib):
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        lib.get_state(torch.tensor([0, 3]), torch.tensor([0.0, 0.0]))
    with pytest.raises(IndexError):
        lib.get_state(torch.tensor([-1]), torch.tensor([0.0]))
    with pytest.raises(TypeError):
        lib.get_state(torch.tensor([0.0]), torch.tensor([0.0]))
    with pytest.raises(ValueError, match="shape"):
        lib.get_state(torch.tensor([0, 1]), torch.tensor([0.0]))
    with pytest.raises(ValueError, match="at least one clip"):
        MotionLibrary([], ROBOT)
    bad = _wavy_clip("x", 5, 30.0, 0)
    bad.joint_pos = bad.joint_pos[:, :-2]
    with pytest.raises(ValueError, match="'x'.*joint_pos has shape"):
        MotionLibrary([bad], ROBOT)


def test_from_sources_and_float32(tmp_path):
    clips = [_wavy_clip("a", 30, 30.0, 0), _wavy_clip("b", 40, 50.0, 1)]
    save_motions(tmp_path / "m" / "x.npz", clips[:1], ROBOT)
    save_motions(tmp_path / "m" / "y.npz", clips[1:], ROBOT)
    lib = MotionLibrary.from_sources(tmp_path / "m", ROBOT)
    assert lib.num_clips == 2 and lib.body_pos.dtype == torch.float32
    s = lib.get_state(torch.tensor([1]), torch.tensor([0.3]))
    assert s.body_pos.dtype == torch.float32
    ref = MotionLibrary(clips, ROBOT, dtype=torch.float64).get_state(torch.tensor([1]), torch.tensor([0.3]))
    torch.testing.assert_close(s.body_pos.double(), ref.body_pos, atol=1e-5, rtol=0)


def test_many_clips_are_chunked(monkeypatch):
    # Forcing tiny chunks must give the same tensors as one chunk.
    import hover.motion.library as library

    clips = [_wavy_clip(f"c{i}", 10 + i, 30.0, i) for i in range(12)]
    whole = MotionLibrary(clips, ROBOT, dtype=torch.float64)
    monkeypatch.setattr(library, "_CHUNK_FRAMES", 25)
    chunked = MotionLibrary(clips, ROBOT, dtype=torch.float64)
    for key in ("body_pos", "body_quat", "body_lin_vel", "body_ang_vel", "joint_vel"):
        torch.testing.assert_close(getattr(chunked, key), getattr(whole, key))
