"""The built-in motion set: limits, feet on the ground, no foot sliding, the shipped file, the CLI."""

from __future__ import annotations

import json

import mujoco
import numpy as np
import pytest
import torch

from hover.cli import main as hover_main
from hover.kinematics import ForwardKinematics
from hover.motion.builtin import (
    BUILTIN_MOTIONS_PATH,
    LIMIT_MARGIN,
    generate_builtin_clips,
    load_builtin_motions,
    lowest_foot_point,
    stance_foot_slide,
    write_builtin_motions,
)
from hover.motion.format import MotionClip, load_motions, save_motions
from hover.motion.library import MotionLibrary
from hover.robots import get_robot
from hover.robots.mjcf import ModelOptions, build_model
from hover.rotations import quat_rotate

ROBOT = get_robot("h1")


@pytest.fixture(scope="module")
def generated():
    return generate_builtin_clips(ROBOT)


@pytest.fixture(scope="module")
def shipped():
    return load_builtin_motions(ROBOT)


def _poses(clip):
    fk = ForwardKinematics(ROBOT, dtype=torch.float64)
    return fk(
        torch.as_tensor(clip.root_pos), torch.as_tensor(clip.root_quat), torch.as_tensor(clip.joint_pos)
    )


def test_generated_set_is_deterministic_and_smooth(generated):
    again = generate_builtin_clips(ROBOT)
    assert 8 <= len(generated) <= 12
    assert len({c.name for c in generated}) == len(generated)
    for a, b in zip(generated, again, strict=True):
        np.testing.assert_array_equal(a.joint_pos, b.joint_pos)
        np.testing.assert_array_equal(a.root_pos, b.root_pos)
    default = np.array([j.default_pos for j in ROBOT.joints])
    vel_limit = np.array([j.velocity_limit for j in ROBOT.joints])
    for c in generated:
        assert c.fps == 50.0 and 4.0 <= c.duration <= 10.0
        # starts and ends at rest in the default pose
        np.testing.assert_allclose(c.joint_pos[[0, -1]], default[None].repeat(2, 0), atol=1e-9)
        qd = np.diff(c.joint_pos, axis=0) * c.fps
        np.testing.assert_allclose(qd[[0, -1]], 0.0, atol=1e-2)
        assert (np.abs(qd) < 0.5 * vel_limit).all(), c.name
        # no jumps in acceleration either (smooth sinusoids)
        assert np.abs(np.diff(qd, axis=0) * c.fps).max() < 30.0, c.name
    # the set actually moves: squat-like root height change and arm motion somewhere
    heights = np.concatenate([c.root_pos[:, 2] for c in generated])
    assert heights.max() - heights.min() > 0.1


def test_within_joint_limits(shipped, generated):
    lo = np.array([j.range[0] for j in ROBOT.joints])
    hi = np.array([j.range[1] for j in ROBOT.joints])
    for c in generated:
        assert (c.joint_pos >= lo + LIMIT_MARGIN - 1e-9).all() and (
            c.joint_pos <= hi - LIMIT_MARGIN + 1e-9
        ).all()
    for c in shipped:
        assert (c.joint_pos >= lo).all() and (c.joint_pos <= hi).all(), c.name


def test_feet_on_ground_and_not_sliding(shipped, generated):
    feet = [ROBOT.body_index(f) for f in ROBOT.feet]
    for c in generated:
        p = _poses(c)
        z = lowest_foot_point(ROBOT, p.pos, p.quat)
        assert z.abs().max() < 5e-3, c.name
        xy = p.pos[:, feet, :2]
        assert (xy - xy[:1]).norm(dim=-1).max() < 0.01, c.name
        # both feet flat: each capsule endpoint is as high above the ground as it is above the sole in
        # the foot's own frame (the sole is level), within 5 mm
        for idx in feet:
            geoms = next(b for b in ROBOT.bodies if b.name == ROBOT.tracked_body_names[idx]).geoms
            ends = torch.tensor([g.fromto for g in geoms], dtype=torch.float64).view(-1, 3)
            radius = torch.tensor([g.size[0] for g in geoms], dtype=torch.float64).repeat_interleave(2)
            local_height = ends[:, 2] - radius - (ends[:, 2] - radius).min()
            q = p.quat[:, idx, None].expand(-1, len(ends), 4)
            world = p.pos[:, idx, None] + quat_rotate(q, ends.expand(c.num_frames, -1, -1))
            assert (world[..., 2] - radius - local_height).abs().max() < 5e-3, c.name
    # The shipped file must satisfy the same ground contact test (whatever clips it holds).
    for c in shipped:
        p = _poses(c)
        assert lowest_foot_point(ROBOT, p.pos, p.quat).abs().max() < 5e-3, c.name


# The shipped set's clip names and frame counts: training runs resume on the set, so regenerating it
# must keep them.
SHIPPED_FRAMES = {
    "stand_still": 251, "stand_idle": 301, "wave_both": 251, "wave_one_arm": 251, "reach_1": 301,
    "reach_2": 251, "punch": 251, "bend_forward": 351, "squat_1": 301, "squat_2": 251, "walk_forward": 401,
    "walk_forward_short": 301, "walk_turn_1": 401, "walk_turn_2": 351, "turn_in_place": 301,
    "sidestep_1": 301, "sidestep_2": 251,
}  # fmt: skip


def test_shipped_stance_feet_do_not_slide(shipped):
    """Every shipped clip is trackable: each foot's stance (ankle within 2 cm of its lowest height) moves
    less than 8 cm/s horizontally on average (the old joint-space gait skated at 0.24-0.40 m/s)."""
    assert {c.name: c.num_frames for c in shipped} == SHIPPED_FRAMES
    assert [c.name for c in shipped] == list(SHIPPED_FRAMES)
    fk = ForwardKinematics(ROBOT, dtype=torch.float64)
    for c in shipped:
        slide = stance_foot_slide(c, ROBOT, fk=fk)
        assert set(slide) == set(ROBOT.feet)
        for foot, v in slide.items():
            assert v < 0.08, (c.name, foot, v)
    walk = next(c for c in shipped if c.name == "walk_forward")
    n = int(walk.fps)  # it still walks: > 0.4 m/s over a second at its steady speed
    assert np.linalg.norm(walk.root_pos[n:, :2] - walk.root_pos[:-n, :2], axis=-1).max() > 0.4


def test_stance_foot_slide_detects_a_skating_foot(generated):
    c = generated[0]
    assert max(stance_foot_slide(c, ROBOT).values()) < 1e-3  # feet fixed
    skate = MotionClip(
        name="skate",
        fps=c.fps,
        root_pos=c.root_pos + np.arange(c.num_frames)[:, None] * np.array([0.5, 0.0, 0.0]) / c.fps,
        root_quat=c.root_quat,
        joint_pos=c.joint_pos,
    )
    for v in stance_foot_slide(skate, ROBOT).values():
        assert v == pytest.approx(0.5, abs=1e-6)  # the whole body glides at 0.5 m/s


def test_lowest_foot_point_detects_hovering_and_sinking(generated):
    p = _poses(generated[0])
    for dz in (0.03, -0.02):
        moved = p.pos + torch.tensor([0.0, 0.0, dz], dtype=torch.float64)
        z = lowest_foot_point(ROBOT, moved, p.quat)
        torch.testing.assert_close(z, torch.full_like(z, dz), atol=1e-9, rtol=0)
    # tilting a foot by 0.2 rad about y lowers its toe or heel below the ground
    tilt = torch.tensor([np.cos(0.1), 0.0, np.sin(0.1), 0.0], dtype=torch.float64)
    quat = p.quat.clone()
    quat[:, ROBOT.body_index(ROBOT.feet[0])] = tilt
    assert (lowest_foot_point(ROBOT, p.pos, quat) < -0.005).all()


def test_shipped_file_loads_and_round_trips(shipped, tmp_path):
    assert BUILTIN_MOTIONS_PATH.is_file()
    assert BUILTIN_MOTIONS_PATH.stat().st_size < 1_000_000
    assert len(shipped) >= 4
    path = write_builtin_motions(tmp_path)  # a folder: builtin.npz inside
    assert path == tmp_path / BUILTIN_MOTIONS_PATH.name
    reread = load_motions(path, ROBOT)
    for a, b in zip(generate_builtin_clips(ROBOT), reread, strict=True):
        assert a.name == b.name and a.fps == b.fps
        np.testing.assert_allclose(b.joint_pos, a.joint_pos, atol=1e-6)
        np.testing.assert_allclose(b.root_pos, a.root_pos, atol=1e-6)


def test_builtin_library(shipped):
    lib = MotionLibrary.builtin(ROBOT)
    assert lib.num_clips == len(shipped) >= 4
    assert lib.total_duration == pytest.approx(sum(c.duration for c in shipped), rel=1e-6)
    ids = lib.sample_clips(64, generator=torch.Generator().manual_seed(0))
    s = lib.get_state(ids, lib.sample_times(ids, generator=torch.Generator().manual_seed(1)))
    assert torch.isfinite(s.body_lin_vel).all() and s.body_pos.shape == (64, len(ROBOT.tracked_body_names), 3)


def test_cli_info_and_builtin(tmp_path, capsys):
    assert hover_main(["motion", "builtin", "--out", str(tmp_path / "out")]) == 0
    out_file = tmp_path / "out" / BUILTIN_MOTIONS_PATH.name
    assert out_file.is_file()
    capsys.readouterr()
    assert hover_main(["motion", "info", str(tmp_path / "out"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["num_clips"] == len(load_builtin_motions(ROBOT))
    assert info["num_joints_out_of_limits"] == 0
    assert len(info["joints"]) == ROBOT.num_joints
    assert hover_main(["motion", "info", "builtin"]) == 0
    text = capsys.readouterr().out
    assert "all joints within limits" in text and "left_knee" in text
    # a clip out of limits is flagged
    clips = load_builtin_motions(ROBOT)
    clips[0].joint_pos[5, ROBOT.joint_index("left_knee")] = 2.5
    save_motions(tmp_path / "bad.npz", clips, ROBOT)
    assert hover_main(["motion", "info", str(tmp_path / "bad.npz")]) == 0
    text = capsys.readouterr().out
    assert "OUT OF LIMITS" in text and "1 joint(s) out of limits" in text
    # an unreadable file is an error exit naming the file
    (tmp_path / "junk.npz").write_text("junk")
    assert hover_main(["motion", "info", str(tmp_path / "junk.npz")]) == 2
    assert "junk.npz" in capsys.readouterr().err


def test_generated_clips_are_statically_balanced(generated):
    # The whole-body centre of mass stays over the support area between the two feet, so the
    # set is physically plausible at these speeds (checked every 5th frame with MuJoCo).
    model = build_model(ROBOT, ModelOptions())
    data = mujoco.MjData(model)
    ankles = [model.body(f).id for f in ROBOT.feet]
    for c in generated:
        for i in range(0, c.num_frames, 5):
            data.qpos[:3], data.qpos[3:7], data.qpos[7:] = c.root_pos[i], c.root_quat[i], c.joint_pos[i]
            mujoco.mj_kinematics(model, data)
            mujoco.mj_comPos(model, data)
            com = data.subtree_com[1]
            feet = data.xpos[ankles]
            # foot soles span -0.035 - 0.014 .. 0.14 + 0.014 m along the ankle x axis (feet are level)
            assert feet[:, 0].max() - 0.04 < com[0] < feet[:, 0].min() + 0.14, (c.name, i)
            assert feet[:, 1].min() < com[1] < feet[:, 1].max(), (c.name, i)
