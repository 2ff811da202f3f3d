"""Offscreen MuJoCo videos of rollouts: the robot, a translucent green reference ghost, a floor grid.

Rendering needs an offscreen OpenGL context: EGL (``libegl1``, GPU or Mesa) or OSMesa
(``libosmesa6``, software). The backend is ``MUJOCO_GL`` when that names ``egl``/``osmesa``/``glfw``,
else EGL, then OSMesa. Videos are MP4 (H.264 through ``imageio-ffmpeg``); without ffmpeg the
frames are written as an animated GIF next to the requested path, and the returned path says so.

A recording holds MuJoCo ``qpos`` rows ``[root_pos (3, world, m), root_quat (4, wxyz), joint_pos (J, rad)]``
sampled at ``fps`` (the policy rate in ``hover eval``); videos are resampled to 30 frames per second.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from hover.io import atomic_path
from hover.motion.format import MotionClip
from hover.robots.mjcf import build_spec
from hover.robots.spec import RobotSpec

GHOST_RGBA = (0.25, 0.9, 0.35, 0.3)
_INSTALL_HINT = (
    "offscreen rendering needs an OpenGL library: install EGL (`apt-get install -y libegl1`, with a GPU "
    "driver or Mesa) or OSMesa (`apt-get install -y libosmesa6`) and set MUJOCO_GL=egl or MUJOCO_GL=osmesa"
)


@dataclass
class ClipRecording:
    """Robot and reference configurations of one clip, ``[T, 7 + J]`` qpos rows sampled at ``fps``."""

    name: str
    fps: float
    robot_qpos: np.ndarray
    ref_qpos: np.ndarray | None = None
    failed_frame: int | None = None  # first frame of failure; None when the clip succeeded
    label: Callable[[int], str] | None = None  # extra overlay line for frame i (e.g. the command mode)

    @property
    def num_frames(self) -> int:
        return int(self.robot_qpos.shape[0])


def qpos_rows(root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray) -> np.ndarray:
    """Stack [T,3] world root positions, [T,4] wxyz root quaternions and [T,J] joints into qpos rows."""
    return np.concatenate([root_pos, root_quat, joint_pos], axis=-1).astype(np.float64)


def kinematic_recording(clip: MotionClip) -> ClipRecording:
    """A recording that plays a motion clip kinematically (robot = reference, no ghost)."""
    return ClipRecording(clip.name, clip.fps, qpos_rows(clip.root_pos, clip.root_quat, clip.joint_pos))


def render_model(robot: RobotSpec) -> mujoco.MjModel:
    """The robot's simulation model dressed for pictures: sky gradient, brighter light, lighter floor."""
    spec = build_spec(robot)
    spec.add_texture(
        name="sky",
        type=mujoco.mjtTexture.mjTEXTURE_SKYBOX,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT,
        rgb1=[0.55, 0.7, 0.85],
        rgb2=[0.95, 0.97, 1.0],
        width=512,
        height=3072,
    )
    for tex in spec.textures:
        if tex.name == "grid":
            tex.rgb1, tex.rgb2 = [0.55, 0.6, 0.65], [0.42, 0.47, 0.52]
    for mat in spec.materials:
        mat.reflectance = 0.0  # a mirror floor doubles the render cost and confuses robot and ghost
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    spec.visual.headlight.diffuse = [0.55, 0.55, 0.55]
    return spec.compile()


def _make_gl_context(width: int, height: int):
    choice = os.environ.get("MUJOCO_GL", "").lower().strip()
    order = [choice] if choice in ("egl", "osmesa", "glfw") else ["egl", "osmesa"]
    errors = []
    for name in order:
        try:
            if name == "egl":
                from mujoco.egl import GLContext
            elif name == "osmesa":
                from mujoco.osmesa import GLContext
            else:
                from mujoco.glfw import GLContext
            ctx = GLContext(width, height)
            ctx.make_current()
            return ctx
        except Exception as err:  # noqa: BLE001 - any failure means: try the next backend
            errors.append(f"{name}: {type(err).__name__}: {err}")
    raise RuntimeError(f"{_INSTALL_HINT} (tried {'; '.join(errors)})")


class OffscreenRenderer:
    """Renders one model with an optional ghost configuration; a free camera follows the robot root.

    ``azimuth``/``elevation`` in degrees (world frame), ``distance`` in m.
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        width: int = 960,
        height: int = 540,
        *,
        distance: float = 4.0,
        azimuth: float = 150.0,
        elevation: float = -15.0,
    ):
        if width > model.vis.global_.offwidth or height > model.vis.global_.offheight:
            raise ValueError(
                f"video size {width}x{height} exceeds the model's offscreen buffer "
                f"{model.vis.global_.offwidth}x{model.vis.global_.offheight}"
            )
        self.model = model
        self.width, self.height = width, height
        self._ctx = _make_gl_context(width, height)
        self._con = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_150)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._con)
        self._scene = mujoco.MjvScene(model, maxgeom=4 * model.ngeom + 100)
        self._opt = mujoco.MjvOption()
        self._pert = mujoco.MjvPerturb()
        self._cam = mujoco.MjvCamera()
        self._cam.type = mujoco.mjtCamera.mjCAMERA_FREE
        self._cam.distance, self._cam.azimuth, self._cam.elevation = distance, azimuth, elevation
        self._rect = mujoco.MjrRect(0, 0, width, height)
        self._data = mujoco.MjData(model)
        self._ghost = mujoco.MjData(model)
        self._lookat: np.ndarray | None = None

    def reset_camera(self) -> None:
        self._lookat = None

    def render(
        self, qpos: np.ndarray, ghost_qpos: np.ndarray | None = None, text: tuple[str, str] | None = None
    ) -> np.ndarray:
        """One RGB frame [H, W, 3] uint8 of the robot at ``qpos`` and the ghost at ``ghost_qpos``."""
        self._ctx.make_current()
        self._data.qpos[:] = qpos
        mujoco.mj_kinematics(self.model, self._data)
        target = np.array([qpos[0], qpos[1], 0.9])
        # smoothed follow camera: steady enough to judge motion, never loses the robot
        self._lookat = target if self._lookat is None else self._lookat + 0.15 * (target - self._lookat)
        self._cam.lookat[:] = self._lookat
        mujoco.mjv_updateScene(
            self.model, self._data, self._opt, self._pert, self._cam, mujoco.mjtCatBit.mjCAT_ALL, self._scene
        )
        if ghost_qpos is not None:
            self._ghost.qpos[:] = ghost_qpos
            mujoco.mj_kinematics(self.model, self._ghost)
            first = self._scene.ngeom
            mujoco.mjv_addGeoms(
                self.model, self._ghost, self._opt, self._pert, mujoco.mjtCatBit.mjCAT_DYNAMIC, self._scene
            )
            for i in range(first, self._scene.ngeom):
                self._scene.geoms[i].rgba[:] = GHOST_RGBA
        mujoco.mjr_render(self._rect, self._scene, self._con)
        if text is not None:
            mujoco.mjr_overlay(
                mujoco.mjtFont.mjFONT_NORMAL,
                mujoco.mjtGridPos.mjGRID_TOPLEFT,
                self._rect,
                text[0],
                text[1],
                self._con,
            )
        rgb = np.empty((self.height, self.width, 3), dtype=np.uint8)
        mujoco.mjr_readPixels(rgb, None, self._rect, self._con)
        return np.flipud(rgb).copy()

    def close(self) -> None:
        if self._ctx is not None:
            self._con.free()
            self._ctx.free()
            self._ctx = None

    def __enter__(self) -> OffscreenRenderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def resample_indices(num_frames: int, src_fps: float, fps: float, hold_s: float = 0.0) -> np.ndarray:
    """Indices of the source frames nearest to times 0, 1/fps, ...; the last source frame is always
    included and then repeated for ``hold_s`` seconds (so the end of a clip, or its failure, stays visible)."""
    duration = (num_frames - 1) / src_fps
    times = np.arange(int(math.floor(duration * fps + 1e-9)) + 1) / fps
    idx = np.clip(np.rint(times * src_fps).astype(np.int64), 0, num_frames - 1)
    if idx[-1] != num_frames - 1:
        idx = np.append(idx, num_frames - 1)
    return np.concatenate([idx, np.full(int(round(hold_s * fps)), num_frames - 1, dtype=np.int64)])


def render_recordings(
    recordings: Sequence[ClipRecording],
    robot: RobotSpec,
    *,
    fps: float = 30.0,
    width: int = 960,
    height: int = 540,
    hold_s: float = 0.5,
) -> np.ndarray:
    """Frames [F, H, W, 3] uint8 of all recordings one after another, resampled to ``fps``; each
    clip's last frame is held ``hold_s`` seconds. The overlay names the clip and the time; from the
    failure frame on it says ``FAILED``.
    """
    if not recordings:
        raise ValueError("render_recordings needs at least one recording")
    model = render_model(robot)
    frames = []
    with OffscreenRenderer(model, width, height) as renderer:
        for rec in recordings:
            if rec.robot_qpos.ndim != 2 or rec.robot_qpos.shape[1] != model.nq:
                raise ValueError(f"recording {rec.name!r}: qpos rows must have {model.nq} columns")
            renderer.reset_camera()
            for i in resample_indices(rec.num_frames, rec.fps, fps, hold_s):
                status = "reference: green ghost" if rec.ref_qpos is not None else "kinematic playback"
                if rec.failed_frame is not None and i >= rec.failed_frame:
                    status = f"FAILED at {rec.failed_frame / rec.fps:.2f} s"
                if rec.label is not None:
                    status = f"{rec.label(int(i))}\n{status}"
                text = (f"{rec.name}\n{i / rec.fps:6.2f} s", status)
                ghost = None if rec.ref_qpos is None else rec.ref_qpos[i]
                frames.append(renderer.render(rec.robot_qpos[i], ghost, text))
    return np.stack(frames)


def _ffmpeg_available() -> bool:
    try:
        import imageio_ffmpeg

        return Path(imageio_ffmpeg.get_ffmpeg_exe()).exists()
    except Exception:  # noqa: BLE001 - missing package or binary
        return False


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float = 30.0) -> Path:
    """Write frames [F, H, W, 3] uint8 atomically; returns the path written.

    ``.mp4`` (H.264) needs ``imageio-ffmpeg``; without it the frames go to ``<path>.gif`` instead.
    ``.gif`` paths are written as GIF directly.
    """
    import imageio.v2 as imageio

    path = Path(path)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be [F, H, W, 3] uint8, got {frames.shape} {frames.dtype}")
    gif = path.suffix.lower() == ".gif" or not _ffmpeg_available()
    if gif and path.suffix.lower() != ".gif":
        path = path.with_suffix(path.suffix + ".gif")
    with atomic_path(path, suffix=path.suffix) as tmp:
        if gif:
            imageio.mimsave(tmp, list(frames), format="GIF", duration=1000.0 / fps, loop=0)
        else:
            h, w = frames.shape[1:3]
            if h % 2 or w % 2:  # yuv420p needs even sizes
                frames = frames[:, : h - h % 2, : w - w % 2]
            writer = imageio.get_writer(
                tmp,
                format="FFMPEG",
                mode="I",
                fps=fps,
                codec="libx264",
                quality=7,
                pixelformat="yuv420p",
                macro_block_size=1,
            )
            try:
                for f in frames:
                    writer.append_data(f)
            finally:
                writer.close()
    return path
