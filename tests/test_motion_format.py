"""The motion .npz format: round trips, joint reordering, and every malformed-file case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hover.motion.format import MotionClip, MotionFormatError, load_motion_sources, load_motions, save_motions
from hover.robots import get_robot

ROBOT = get_robot("h1")


def _clip(name: str, n: int, fps: float = 30.0, seed: int = 0) -> MotionClip:
    rng = np.random.default_rng(seed)
    quat = rng.normal(size=(n, 4))
    quat /= np.linalg.norm(quat, axis=-1, keepdims=True)
    return MotionClip(
        name=name,
        fps=fps,
        root_pos=rng.normal(size=(n, 3)),
        root_quat=quat,
        joint_pos=rng.uniform(-0.4, 0.4, size=(n, ROBOT.num_joints)),
    )


def _valid_arrays(tmp_path: Path) -> dict[str, np.ndarray]:
    path = save_motions(tmp_path / "valid.npz", [_clip("a", 5), _clip("b", 7, seed=1)], ROBOT)
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _write(tmp_path: Path, arrays: dict[str, np.ndarray], name: str = "bad.npz") -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def _expect_error(path: Path, *fragments: str) -> None:
    with pytest.raises(MotionFormatError) as info:
        load_motions(path, ROBOT)
    msg = str(info.value)
    assert str(path) in msg, msg
    for frag in fragments:
        assert frag in msg, msg


def test_round_trip(tmp_path):
    clips = [_clip("a", 5, fps=30.0), _clip("b", 9, fps=50.0, seed=3)]
    path = save_motions(tmp_path / "sub" / "m.npz", clips, ROBOT)
    assert path.is_file() and not list(path.parent.glob("*.tmp"))
    loaded = load_motions(path, ROBOT)
    assert [c.name for c in loaded] == ["a", "b"]
    for c, got in zip(clips, loaded, strict=True):
        assert got.fps == c.fps and got.num_frames == c.num_frames
        # stored as float32
        np.testing.assert_allclose(got.root_pos, c.root_pos, atol=1e-6)
        np.testing.assert_allclose(got.root_quat, c.root_quat, atol=1e-6)
        np.testing.assert_allclose(got.joint_pos, c.joint_pos, atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(got.root_quat, axis=-1), 1.0, atol=1e-12)
    assert loaded[1].duration == pytest.approx(8 / 50.0)


def test_joint_names_in_another_order_are_reordered(tmp_path):
    arrays = _valid_arrays(tmp_path)
    perm = np.random.default_rng(0).permutation(ROBOT.num_joints)
    original = load_motions(tmp_path / "valid.npz", ROBOT)
    arrays["joint_names"] = arrays["joint_names"][perm]
    arrays["joint_pos"] = arrays["joint_pos"][:, perm]
    loaded = load_motions(_write(tmp_path, arrays, "perm.npz"), ROBOT)
    for a, b in zip(original, loaded, strict=True):
        np.testing.assert_array_equal(a.joint_pos, b.joint_pos)


def test_sources_folder_and_list(tmp_path):
    save_motions(tmp_path / "d" / "one.npz", [_clip("a", 4)], ROBOT)
    save_motions(tmp_path / "d" / "deep" / "two.npz", [_clip("b", 4), _clip("c", 4)], ROBOT)
    assert len(load_motion_sources(tmp_path / "d", ROBOT)) == 3
    assert len(load_motion_sources([tmp_path / "d" / "one.npz"], ROBOT)) == 1
    with pytest.raises(MotionFormatError, match="no such file"):
        load_motion_sources(tmp_path / "missing", ROBOT)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MotionFormatError, match="no .npz motion files"):
        load_motion_sources(tmp_path / "empty", ROBOT)


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nope.npz", "no such motion file")


def test_missing_key(tmp_path):
    arrays = _valid_arrays(tmp_path)
    del arrays["fps"]
    _expect_error(_write(tmp_path, arrays), "missing keys", "fps")


def test_wrong_shape(tmp_path):
    arrays = _valid_arrays(tmp_path)
    arrays["root_pos"] = arrays["root_pos"][:, :2]
    _expect_error(_write(tmp_path, arrays), "root_pos has shape")


def test_clip_lengths_do_not_add_up(tmp_path):
    arrays = _valid_arrays(tmp_path)
    arrays["clip_lengths"] = arrays["clip_lengths"] + 1
    _expect_error(_write(tmp_path, arrays), "has shape")


def test_nan(tmp_path):
    arrays = _valid_arrays(tmp_path)
    arrays["joint_pos"][7, 3] = np.nan  # frame 2 of clip "b"
    _expect_error(_write(tmp_path, arrays), "clip 'b'", "joint_pos has non-finite values", "frame 2")


def test_non_unit_quaternion(tmp_path):
    arrays = _valid_arrays(tmp_path)
    arrays["root_quat"][1] *= 1.5
    _expect_error(_write(tmp_path, arrays), "root_quat is not unit length", "frame 1")


def test_wrong_joint_names(tmp_path):
    arrays = _valid_arrays(tmp_path)
    names = arrays["joint_names"].copy()
    names[0] = "left_tail"
    arrays["joint_names"] = names
    _expect_error(_write(tmp_path, arrays), "joint names do not match", "left_tail", ROBOT.joint_names[0])


def test_wrong_robot(tmp_path):
    arrays = _valid_arrays(tmp_path)
    arrays["robot"] = np.array("g1")
    _expect_error(_write(tmp_path, arrays), "for robot 'g1'", "expected 'h1'")


@pytest.mark.parametrize("fps", [0.0, -30.0, np.inf])
def test_bad_fps(tmp_path, fps):
    arrays = _valid_arrays(tmp_path)
    arrays["fps"] = np.array([30.0, fps])
    _expect_error(_write(tmp_path, arrays), "fps must be > 0")


def test_too_few_frames(tmp_path):
    arrays = _valid_arrays(tmp_path)
    arrays["clip_lengths"] = np.array([1, 11])
    _expect_error(_write(tmp_path, arrays), "at least 2 frames")


def test_not_an_npz(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("this is not a zip archive\n")
    _expect_error(path, "not a readable motion .npz")
    valid = save_motions(tmp_path / "valid.npz", [_clip("a", 5)], ROBOT)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(valid.read_bytes()[:100])
    _expect_error(truncated, "not a readable motion .npz")
    npy = tmp_path / "array.npy"
    np.save(npy, np.zeros(3))
    _expect_error(npy, "not a readable motion .npz")


def test_object_arrays_are_refused(tmp_path):
    arrays = _valid_arrays(tmp_path)
    arrays["clip_names"] = np.array(["a", {"evil": 1}], dtype=object)  # needs pickle to load
    _expect_error(_write(tmp_path, arrays), "not a readable motion .npz")


def test_save_refuses_bad_clips(tmp_path):
    bad = _clip("a", 5)
    bad.joint_pos = bad.joint_pos[:, :-1]
    with pytest.raises(ValueError, match="joint_pos has shape"):
        save_motions(tmp_path / "x.npz", [bad], ROBOT)
    with pytest.raises(ValueError, match="at least one clip"):
        save_motions(tmp_path / "x.npz", [], ROBOT)
    assert not (tmp_path / "x.npz").exists()
