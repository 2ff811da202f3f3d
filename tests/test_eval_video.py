"""Offscreen rendering of rollouts (robot + reference ghost) and video files."""

from __future__ import annotations

import imageio.v2 as imageio
import numpy as np
import pytest

from hover import video as V
from hover.motion.builtin import load_builtin_motions
from hover.robots import get_robot
from hover.robots.mjcf import default_qpos

ROBOT = get_robot("h1")
W, H = 192, 108


@pytest.fixture(scope="module")
def renderer():
    try:
        r = V.OffscreenRenderer(V.render_model(ROBOT), W, H)
    except RuntimeError as err:  # no EGL/OSMesa on this machine: the message names the package
        assert "apt-get install" in str(err)
        pytest.skip(str(err))
    yield r
    r.close()


def _green(img: np.ndarray) -> int:
    r, g, b = (img[..., k].astype(int) for k in range(3))
    return int(((g > r + 40) & (g > b + 40)).sum())


def test_robot_and_ghost_render(renderer):
    q = default_qpos(ROBOT)
    alone = renderer.render(q)
    assert alone.shape == (H, W, 3) and alone.dtype == np.uint8
    assert alone.std() > 10  # sky, floor and robot, not a blank frame
    renderer.reset_camera()
    ghost = q.copy()
    ghost[1] += 0.4  # reference 40 cm to the side
    both = renderer.render(q, ghost)
    assert _green(both) > _green(alone) + 50
    renderer.reset_camera()
    same = renderer.render(q)
    assert np.array_equal(same, alone)  # rendering is deterministic


def test_camera_follows_the_robot(renderer):
    q = default_qpos(ROBOT)
    renderer.reset_camera()
    first = renderer.render(q)
    far = q.copy()
    far[0] += 20.0
    renderer.reset_camera()
    moved = renderer.render(far)  # the camera jumps to the robot on a reset: same view of the robot
    assert np.abs(first.astype(int) - moved.astype(int)).mean() < 20


def test_resample_to_30_fps():
    idx = V.resample_indices(101, 50.0, 30.0)  # 2 s at 50 Hz
    assert len(idx) == 61 and idx[0] == 0 and idx[-1] == 100
    assert np.all(np.diff(idx) >= 1)
    # 1.18 s: 30 fps samples stop at 1.167 s, the last (e.g. failure) frame is appended, then held
    idx = V.resample_indices(60, 50.0, 30.0, hold_s=0.5)
    assert list(idx[34:37]) == [57, 58, 59] and len(idx) == 36 + 1 + 15 and np.all(idx[36:] == 59)


def test_render_recordings_and_write_mp4_and_gif(tmp_path, renderer):
    clip = load_builtin_motions(ROBOT)[0]
    rec = V.kinematic_recording(clip)
    rec.robot_qpos = rec.robot_qpos[:26]  # 0.5 s
    ghost = V.ClipRecording("with_ghost", 50.0, rec.robot_qpos, rec.robot_qpos + 0.0, failed_frame=20)
    frames = V.render_recordings([rec, ghost], ROBOT, width=W, height=H)
    assert frames.shape == (2 * (16 + 15), H, W, 3)  # 0.5 s at 30 fps, then the last frame held 0.5 s
    path = V.write_video(tmp_path / "out.mp4", frames, fps=30)
    if path.suffix == ".mp4":
        back = imageio.mimread(path, memtest=False)
        assert len(back) == len(frames) and back[0].shape == (H, W, 3)
        assert np.abs(back[5].astype(int) - frames[5].astype(int)).mean() < 12  # lossy but close
    gif = V.write_video(tmp_path / "out.gif", frames[:4], fps=30)
    assert gif.suffix == ".gif" and len(imageio.mimread(gif)) == 4
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_bad_inputs_are_reported(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        V.write_video(tmp_path / "x.mp4", np.zeros((2, 8, 8, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="at least one"):
        V.render_recordings([], ROBOT)
