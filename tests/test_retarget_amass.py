"""AMASS reading: validation errors, resampling to 30 Hz keeps the duration and interpolates properly."""

from __future__ import annotations

import numpy as np
import pytest

from hover.retarget.amass import (
    AmassFormatError,
    HumanClip,
    read_amass_file,
    read_amass_sources,
    resample,
    save_amass,
)


def _clip(fps: float, seconds: float = 2.0) -> HumanClip:
    t = np.arange(int(round(seconds * fps)) + 1) / fps
    pose = np.zeros((len(t), 24, 3))
    pose[:, 4, 0] = 0.5 * t  # left knee about x at 0.5 rad/s
    pose[:, 0, 2] = 1.0 * t  # root about z at 1 rad/s
    trans = np.stack([0.8 * t, 0.1 * t, 0.9 + 0 * t], -1)
    return HumanClip("c", fps, pose, trans)


@pytest.mark.parametrize("fps", [100.0, 120.0, 250.0])
def test_resample_keeps_duration_and_interpolates(fps):
    src = _clip(fps, seconds=2.0)
    out = resample(src, 30.0)
    assert out.fps == 30.0
    assert out.num_frames == 61
    assert out.duration == pytest.approx(src.duration, abs=1e-9)
    t = np.arange(61) / 30.0
    np.testing.assert_allclose(out.trans[:, 0], 0.8 * t, atol=1e-9)
    np.testing.assert_allclose(out.pose_aa[:, 4, 0], 0.5 * t, atol=1e-6)  # slerp of a constant-rate rotation
    np.testing.assert_allclose(out.pose_aa[:, 0, 2], 1.0 * t, atol=1e-6)


def test_resample_non_integer_ratio_is_not_decimation():
    src = _clip(100.0, seconds=3.0)
    out = resample(src, 30.0)
    assert out.num_frames == 91  # int(100 // 30) = 3 decimation would give 101 frames at 33.3 Hz
    np.testing.assert_allclose(np.diff(out.trans[:, 0]), 0.8 / 30.0, atol=1e-9)


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_bad_files_give_clear_errors(tmp_path):
    good = {
        "poses": np.zeros((20, 156)),
        "trans": np.zeros((20, 3)),
        "betas": np.zeros(16),
        "gender": np.array("neutral"),
        "mocap_framerate": np.array(120.0),
    }
    assert read_amass_file(_write(tmp_path / "good.npz", **good)).num_frames == 20
    missing = dict(good)
    del missing["trans"]
    with pytest.raises(AmassFormatError, match=r"missing keys \['trans'\]"):
        read_amass_file(_write(tmp_path / "missing.npz", **missing))
    no_fps = dict(good)
    del no_fps["mocap_framerate"]
    with pytest.raises(AmassFormatError, match="no frame rate"):
        read_amass_file(_write(tmp_path / "nofps.npz", **no_fps))
    nan = dict(good, poses=good["poses"].copy())
    nan["poses"][7, 5] = np.nan
    with pytest.raises(AmassFormatError, match="non-finite values \\(first at frame 7\\)"):
        read_amass_file(_write(tmp_path / "nan.npz", **nan))
    with pytest.raises(AmassFormatError, match="poses has shape"):
        read_amass_file(_write(tmp_path / "shape.npz", **dict(good, poses=np.zeros((20, 30)))))
    with pytest.raises(AmassFormatError, match="trans has shape"):
        read_amass_file(_write(tmp_path / "trans.npz", **dict(good, trans=np.zeros((19, 3)))))
    with pytest.raises(AmassFormatError, match="only 5 frames"):
        read_amass_file(
            _write(tmp_path / "short.npz", **dict(good, poses=np.zeros((5, 156)), trans=np.zeros((5, 3))))
        )
    obj = tmp_path / "obj.npz"
    np.savez(obj, poses=np.array([{"a": 1}], dtype=object), trans=np.zeros((1, 3)))
    with pytest.raises(AmassFormatError, match="without pickled objects"):
        read_amass_file(obj)
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(AmassFormatError, match="not a readable"):
        read_amass_file(tmp_path / "text.npz")


def test_folder_tree_reading_skips_and_reports(tmp_path):
    save_amass(tmp_path / "subj1" / "walk.npz", _clip(60.0))
    save_amass(tmp_path / "subj2" / "run.npz", _clip(120.0))
    np.savez(tmp_path / "subj2" / "broken.npz", poses=np.zeros((20, 156)), trans=np.zeros((20, 3)))
    clips, skipped = read_amass_sources(tmp_path)
    assert sorted(c.name for c in clips) == ["subj1/walk", "subj2/run"]
    assert len(skipped) == 1 and "broken.npz" in skipped[0][0] and "frame rate" in skipped[0][1]
    back = next(c for c in clips if c.name == "subj2/run")
    np.testing.assert_allclose(back.trans, _clip(120.0).trans)
    assert back.fps == 120.0
    with pytest.raises(AmassFormatError, match="no such file or folder"):
        read_amass_sources(tmp_path / "absent")
