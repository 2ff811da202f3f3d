"""`hover motion generate`: varied synthetic robot motions, deterministic per seed, valid and plausible."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hover.cli import main as hover_main
from hover.motion.format import load_motions
from hover.motion.library import MotionLibrary
from hover.retarget.generate import (
    GenerateConfig,
    QualityGate,
    draw_specs,
    generate,
    measured_speeds,
    pelvis_speed,
    retarget_specs,
)
from hover.retarget.random_motions import KINDS, MAX_SIDE_SPEED, MAX_WALK_SPEED, draw_spec
from hover.robots import get_robot

ROBOT = get_robot("h1")
SEED = 5


@pytest.fixture(scope="module")
def one_of_each():
    """10 clips: every kind once (the first block of len(KINDS) clips holds each kind once)."""
    return generate(len(KINDS), SEED)


def _same(a, b) -> bool:
    return a.name == b.name and all(
        np.array_equal(getattr(a, k), getattr(b, k)) for k in ("root_pos", "root_quat", "joint_pos")
    )


def test_every_kind_appears_and_names_carry_it(one_of_each):
    assert sorted(s.kind for s in one_of_each.specs) == sorted(KINDS)
    for c, s in zip(one_of_each.clips, one_of_each.specs, strict=True):
        assert c.name == f"{s.kind}_{s.index:04d}"
        assert 4.0 <= s.duration <= 10.0
        assert c.fps == 50.0


def test_deterministic_per_seed_and_a_prefix_of_a_larger_set(one_of_each):
    small = generate(3, SEED)
    assert len(small.clips) == 3
    for a, b in zip(small.clips, one_of_each.clips[:3], strict=True):
        assert _same(a, b)  # identical arrays: same seed, and clip i depends only on (seed, i)


def test_different_seeds_differ(one_of_each):
    a, b = draw_specs(20, 1), draw_specs(20, 2)
    assert [s.kind for s in a] != [s.kind for s in b]
    assert [s.params for s in a] != [s.params for s in b]
    other = generate(1, SEED + 1)
    assert not _same(other.clips[0], one_of_each.clips[0])


def test_clips_start_and_end_calm_and_respect_the_robot(one_of_each):
    lo = np.array([j.range[0] for j in ROBOT.joints])
    hi = np.array([j.range[1] for j in ROBOT.joints])
    vmax = np.array([j.velocity_limit for j in ROBOT.joints])
    for c, q in zip(one_of_each.clips, one_of_each.quality, strict=True):
        assert (c.joint_pos >= lo - 1e-4).all() and (c.joint_pos <= hi + 1e-4).all(), c.name
        vel = np.abs(np.diff(c.joint_pos, axis=0)) * c.fps
        assert (vel < 0.8 * vmax).all(), c.name
        # the first and last 0.2 s are still (a calm standing pose a tracker can start from)
        k = int(0.2 * c.fps)
        assert vel[:k].max() < 0.05 and vel[-k:].max() < 0.05, c.name
        assert q.self_penetration_frames == 0, c.name
        assert abs(q.lowest_point_min_m) < 1e-3 and q.foot_penetration_max_m < 1e-3, c.name
        assert q.foot_sliding_mean_m_s < 0.08, c.name
    assert not any(one_of_each.failures)


def test_walk_and_side_step_speed_is_the_drawn_speed():
    specs = []
    for i, v in enumerate((0.0, 0.4, 0.8, 1.0, MAX_WALK_SPEED, -MAX_SIDE_SPEED)):
        s = draw_spec("walk" if v >= 0 else "sidestep", i, SEED)
        params = {**s.params, "speed": v, "turn_rate": 0.1 * (i % 2) if v >= 0 else 0.0}
        specs.append(dataclasses.replace(s, duration=9.0, params=params))
    gen = retarget_specs(specs, SEED, GenerateConfig(max_attempts=1))
    for c, s, v, q in zip(gen.clips, gen.specs, measured_speeds(gen), gen.quality, strict=True):
        drawn = abs(s.params["speed"])
        assert abs(v - drawn) <= 0.15 * drawn + 0.03, (c.name, drawn, v)
        assert q.foot_sliding_mean_m_s < 0.015, c.name  # planted feet stay planted (built-in walks: 1.5 cm/s)
    # the heading is random: the walking directions differ
    dirs = [c.root_pos[-1, :2] - c.root_pos[0, :2] for c in gen.clips[1:5]]
    angles = [np.arctan2(d[1], d[0]) for d in dirs]
    assert np.ptp(angles) > 0.5
    assert np.isnan(pelvis_speed(gen.clips[0], (0.0, 0.1), 1.0))


def test_a_clip_failing_the_quality_gate_is_redrawn_and_flagged():
    strict = QualityGate(max_keypoint_error_m=0.0)  # nothing passes
    gen = generate(2, SEED, GenerateConfig(kinds=("wave", "reach"), max_attempts=2, gate=strict))
    assert [s.attempt for s in gen.specs] == [1, 1] and gen.redrawn == 2
    assert all(f == ["keypoint_error"] for f in gen.failures)
    first = draw_specs(2, SEED, ("wave", "reach"))
    assert [s.name for s in gen.specs] == [s.name for s in first]  # same kind and index, new parameters
    assert [s.params for s in gen.specs] != [s.params for s in first]
    q = gen.quality[0]
    assert QualityGate().failures(q, velocity_ratio=0.95) == ["joint_velocity"]
    assert QualityGate().failures(dataclasses.replace(q, self_penetration_frames=3)) == ["self_penetration"]


def test_speeds_cover_zero_to_1_2_uniformly():
    walks = [s.params["speed"] for s in draw_specs(300, 3, ("walk",))]
    assert min(walks) >= 0.0 and max(walks) <= MAX_WALK_SPEED
    assert np.mean(np.array(walks) >= 1.0) > 0.1  # uniform on [0, 1.2]: 1/6 of the walks
    assert np.mean(np.array(walks) < 0.2) > 0.1


def test_cli_writes_a_valid_motion_file(tmp_path, capsys):
    out = tmp_path / "gen" / "m.npz"
    rc = hover_main(["motion", "generate", "--num-clips", "2", "--seed", "9", "--kinds", "squat,walk", "--out",
                     str(out), "--report", str(tmp_path / "r.json")])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert "squat" in text and "walk" in text and "wrote 2 clips" in text
    clips = load_motions(out, ROBOT)
    assert sorted(c.name.split("_")[0] for c in clips) == ["squat", "walk"]
    lib = MotionLibrary(clips, ROBOT)
    assert lib.num_clips == 2
    assert (tmp_path / "r.json").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--num-clips", "0"], "--num-clips must be >= 1"),
        (["--kinds", "walk,moonwalk"], "unknown kind(s) moonwalk"),
        (["--out", "x.txt"], "must be a .npz file"),
        (["--seed", "-1"], "--seed must be >= 0"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(args, message, capsys):
    assert hover_main(["motion", "generate", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_cli_unwritable_out_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert hover_main(["motion", "generate", "--out", str(blocker / "m.npz")]) == 2
    assert "cannot write there" in capsys.readouterr().err


def _pelvis_lateral_offsets(clip) -> tuple[np.ndarray, np.ndarray]:
    """Pelvis offset (m, + to its left) from the ankles' midpoint, in frames where the left / the right
    ankle is the swinging one (> 2 cm above the other)."""
    import torch

    from hover.kinematics import ForwardKinematics
    from hover.rotations import heading_quat_inverse, quat_rotate

    fk = ForwardKinematics(ROBOT, dtype=torch.float64)
    pos, _ = fk(
        torch.as_tensor(clip.root_pos, dtype=torch.float64),
        torch.as_tensor(clip.root_quat, dtype=torch.float64),
        torch.as_tensor(clip.joint_pos, dtype=torch.float64),
    )
    names = list(ROBOT.tracked_body_names)
    left, right = names.index("left_ankle_link"), names.index("right_ankle_link")
    h_inv = heading_quat_inverse(torch.as_tensor(clip.root_quat, dtype=torch.float64))
    mid = 0.5 * (pos[:, left] + pos[:, right])
    offset = quat_rotate(h_inv, pos[:, 0] - mid)[:, 1].numpy()
    lift = (pos[:, left, 2] - pos[:, right, 2]).numpy()
    return offset[lift > 0.02], offset[lift < -0.02]


@pytest.mark.parametrize("kind", ["walk", "sidestep"])
def test_the_pelvis_sways_over_the_supporting_foot(kind):
    """While one foot swings, the pelvis is shifted towards the other (the supporting) foot, as a
    walking body's centre of mass is; a reference without it asks the robot to balance on one foot
    with its weight between the feet."""
    s = draw_spec(kind, 0, SEED)
    speed = 0.5 if kind == "walk" else 0.2
    params = {**s.params, "speed": speed, "turn_rate": 0.0, "turn_var": 0.0, "free_arms": 0.0}
    gen = retarget_specs(
        [dataclasses.replace(s, duration=8.0, params=params)], SEED, GenerateConfig(max_attempts=1)
    )
    left_swing, right_swing = _pelvis_lateral_offsets(gen.clips[0])
    assert len(left_swing) > 20 and len(right_swing) > 20
    assert left_swing.mean() < -0.015, left_swing.mean()  # over the right foot
    assert right_swing.mean() > 0.015, right_swing.mean()  # over the left foot


def test_lateral_sway_is_the_inverted_pendulums():
    from hover.retarget.gait import lateral_sway

    # omega = sqrt(9.81 / 0.9) = 3.30 /s, half a cycle at 0.8 Hz: 0.625 s; 0.1 * (1 - 1 / cosh(1.03))
    assert lateral_sway(0.1, 0.9, 0.8) == pytest.approx(0.1 * (1 - 1 / np.cosh(np.sqrt(9.81 / 0.9) * 0.3125)))
    assert 0.03 < lateral_sway(0.1, 0.9, 0.8) < 0.04
    assert lateral_sway(0.1, 0.9, 1.2) < lateral_sway(0.1, 0.9, 0.8)  # quicker steps sway less
    with pytest.raises(ValueError, match="positive"):
        lateral_sway(0.0, 0.9, 0.8)


@pytest.mark.parametrize("seed", [0, 5])
def test_gait_starts_stay_within_the_acceleration_cap(seed):
    """The drawn speed envelope of every stepping clip (the pelvis speed it commands, m/s) never
    accelerates faster than MAX_GAIT_ACCEL, and fast walks still reach their full speed."""
    import torch

    from hover.retarget.random_motions import MAX_GAIT_ACCEL, envelope

    dt = 0.005
    for index in range(12):
        spec = draw_spec("walk", index, seed)
        t = torch.arange(0.0, spec.duration, dt, dtype=torch.float64)
        speed = spec.params["speed"] * envelope(t, *spec.window, spec.params["ramp"])
        accel = (speed[1:] - speed[:-1]).abs().max().item() / dt
        assert accel <= MAX_GAIT_ACCEL * 1.01, (spec.params["speed"], spec.params["ramp"], accel)
        assert speed.max().item() == pytest.approx(spec.params["speed"], rel=1e-3)
