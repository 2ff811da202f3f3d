"""``hover retarget preview``: the human skeleton and the retargeted robot side by side (offscreen MuJoCo).

The human (the scaled, shaped SMPL skeleton the robot was fitted to; for a BVH file its own skeleton,
every joint and End Site, scaled by the human-to-robot scale; for joint positions the keypoints; drawn
as orange capsules) is placed ``gap`` metres to the robot's left, in the robot's heading at the clip start. Output: an MP4 (GIF when
ffmpeg is missing) or, for a ``.png`` path, a strip of ``strip_frames`` evenly spaced frames.
Rendering needs EGL or OSMesa (see :mod:`hover.video`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import mujoco
import numpy as np
import tyro

from hover.retarget.skeleton import SMPL_PARENTS

HUMAN_RGBA = np.array([0.95, 0.55, 0.15, 1.0], dtype=np.float32)


@dataclass
class PreviewArgs:
    """Render a clip's human skeleton and retargeted robot side by side (MP4, GIF or a PNG strip)."""

    clip: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="CLIP")]
    """a built-in synthetic clip name (e.g. walk_forward), an AMASS .npz file, a .bvh file or a joint-position .npz"""
    out: Path = Path("preview.mp4")
    """.mp4 (or .gif) video, or .png for a strip of frames"""
    body: Literal["smpl", "synthetic"] = "synthetic"
    """body model for AMASS files (built-in clips always use the synthetic one)"""
    smpl_dir: Path | None = None
    shape: Path | None = None
    """fitted shape file for AMASS files (default: fit now)"""
    fps: float = 30.0
    seconds: float | None = None
    """only the first SECONDS of the clip"""
    width: int = 640
    height: int = 360
    strip_frames: int = 6
    gap: float = 1.2
    """m between the robot and the human, to the robot's left"""
    skeleton: str = "auto"
    """BVH / joint-position input: auto, a convention name or a JSON map file (see hover retarget bvh --help)"""
    units: str = "auto"
    """BVH / joint-position input: length unit (auto, m, cm, mm, inch, cmu)"""
    up: str = "auto"
    """BVH / joint-position input: up axis (auto, z, y, x, -z, -y, -x)"""


def _gl_context(width: int, height: int):
    errors = []
    choice = os.environ.get("MUJOCO_GL", "").lower()
    for name in [choice] if choice in ("egl", "osmesa", "glfw") else ["egl", "osmesa"]:
        try:
            module = __import__(f"mujoco.{name}", fromlist=["GLContext"])
            ctx = module.GLContext(width, height)
            ctx.make_current()
            return ctx
        except Exception as e:  # noqa: BLE001 - try the next backend
            errors.append(f"{name}: {e}")
    raise RuntimeError(
        "offscreen rendering needs EGL (libegl1) or OSMesa (libosmesa6); set MUJOCO_GL=egl or "
        f"osmesa (tried {'; '.join(errors)})"
    )


def render_side_by_side(
    robot,
    qpos: np.ndarray,
    human: np.ndarray,
    frames: list[int],
    width: int,
    height: int,
    title: str = "",
    parents: list[int] | tuple[int, ...] = SMPL_PARENTS,
) -> list[np.ndarray]:
    """RGB frames [H, W, 3] for ``frames``: robot at ``qpos[i]`` (MuJoCo qpos rows), human joints ``human[i]``
    [J, 3] (world, already offset; joint 0 the root, non-finite joints not drawn) with ``parents``, camera
    following the midpoint."""
    from hover.video import render_model

    model = render_model(robot)
    if width > model.vis.global_.offwidth or height > model.vis.global_.offheight:
        raise ValueError(
            f"size {width}x{height} exceeds the offscreen buffer "
            f"{model.vis.global_.offwidth}x{model.vis.global_.offheight}"
        )
    ctx = _gl_context(width, height)
    con = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_150)
    mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, con)
    scene = mujoco.MjvScene(model, maxgeom=model.ngeom + 2 * len(parents) + 10)
    data = mujoco.MjData(model)
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.distance, cam.elevation = 4.5, -12.0
    rect = mujoco.MjrRect(0, 0, width, height)
    out = []
    try:
        for i in frames:
            data.qpos[:] = qpos[i]
            mujoco.mj_kinematics(model, data)
            mid = 0.5 * (qpos[i, :3] + human[i, 0])
            cam.lookat[:] = (mid[0], mid[1], 0.9)
            cam.azimuth = (
                float(np.degrees(np.arctan2(human[i, 0, 1] - qpos[i, 1], human[i, 0, 0] - qpos[i, 0]))) - 90
            )
            mujoco.mjv_updateScene(
                model, data, mujoco.MjvOption(), mujoco.MjvPerturb(), cam, mujoco.mjtCatBit.mjCAT_ALL, scene
            )
            for j, p in enumerate(parents):
                if not np.isfinite(human[i, j]).all() or (p >= 0 and not np.isfinite(human[i, p]).all()):
                    continue
                for kind, a, b, size in (
                    (mujoco.mjtGeom.mjGEOM_SPHERE, human[i, j], None, 0.035),
                    (mujoco.mjtGeom.mjGEOM_CAPSULE, human[i, p], human[i, j], 0.022),
                ):
                    if (b is not None and p < 0) or scene.ngeom >= scene.maxgeom:
                        continue
                    g = scene.geoms[scene.ngeom]
                    mujoco.mjv_initGeom(
                        g, kind, np.array([size, 0, 0]), np.zeros(3), np.eye(3).ravel(), HUMAN_RGBA
                    )
                    if b is None:
                        g.pos[:] = a
                    else:
                        mujoco.mjv_connector(g, kind, size, a, b)
                    scene.ngeom += 1
            mujoco.mjr_render(rect, scene, con)
            if title:
                mujoco.mjr_overlay(
                    mujoco.mjtFont.mjFONT_NORMAL, mujoco.mjtGridPos.mjGRID_TOPLEFT, rect, title, f"{i}", con
                )
            rgb = np.empty((height, width, 3), dtype=np.uint8)
            mujoco.mjr_readPixels(rgb, None, rect, con)
            out.append(np.flipud(rgb).copy())
    finally:
        con.free()
        ctx.free()
    return out


def is_positions_file(path: Path) -> bool:
    """A joint-position .npz (has ``positions`` and ``joint_names``), as opposed to an AMASS one."""
    if path.suffix.lower() != ".npz" or not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            return "positions" in data.files and "joint_names" in data.files
    except (ValueError, OSError):
        return False


def _load(a: PreviewArgs):
    from hover.retarget.amass import read_amass_file
    from hover.retarget.body_model import load_body_model, load_synthetic_body_model
    from hover.retarget.pipeline import builtin_body_and_shape
    from hover.retarget.shape_fit import fit_shape, load_shape

    path = Path(a.clip)
    if path.suffix == ".npz" and path.is_file():
        model = load_synthetic_body_model() if a.body == "synthetic" else load_body_model(a.smpl_dir)
        shape = load_shape(a.shape) if a.shape else fit_shape(model)
        return read_amass_file(path), model, shape
    model, shape = builtin_body_and_shape()
    from hover.retarget.synthetic import KINDS, synthetic_clips

    names = [k[2] for k in KINDS]
    if a.clip not in names:
        raise ValueError(f"{a.clip!r} is neither an AMASS .npz file nor a built-in clip ({', '.join(names)})")
    entry = next(k for k in KINDS if k[2] == a.clip)
    return synthetic_clips(kinds=(entry,))[0], model, shape


def smpl_human(a: PreviewArgs, robot):
    """(retarget result, human joints [T, 24, 3] on the floor, parents, name) of an SMPL / built-in clip."""
    from hover.retarget.amass import resample
    from hover.retarget.motion_fit import RetargetConfig, human_joints, retarget_clips

    clip, model, shape = _load(a)
    clip = resample(clip, a.fps)
    if a.seconds is not None:
        n = min(clip.num_frames, int(a.seconds * a.fps) + 1)
        clip.pose_aa, clip.trans = clip.pose_aa[:n], clip.trans[:n]
    res = retarget_clips([clip], shape, model, robot, RetargetConfig(fps=a.fps))
    joints = human_joints([clip], shape, model)[0].numpy()
    # put the human on the floor (ankles ~ 8 cm up)
    joints[..., 2] -= joints[:, [7, 8], 2].min() - 0.08 * shape.scale
    return res, joints, SMPL_PARENTS, clip.name


def keypoint_human(a: PreviewArgs, robot):
    """The same for a BVH file (its whole skeleton) or a joint-position .npz (the keypoints): drawn at the
    human-to-robot scale, lowest point 2 cm above the floor."""
    from dataclasses import replace

    from hover.retarget.bvh_input import BvhOptions, load_bvh_clip
    from hover.retarget.keypoint_fit import RobotKeypoints, retarget_keypoint_clips
    from hover.retarget.keypoints import (
        KEYPOINT_PARENTS,
        keypoint_height,
        resample_keypoints,
        segment_lengths,
    )
    from hover.retarget.motion_fit import RetargetConfig
    from hover.retarget.positions import load_positions_clip

    path = Path(a.clip)
    options = BvhOptions(skeleton=a.skeleton, units=a.units, up=a.up)
    loader = load_bvh_clip if path.suffix.lower() == ".bvh" else load_positions_clip
    clip, _ = loader(path, options, path.stem, keep_skeleton=True)
    cfg = RetargetConfig(fps=a.fps)
    clip = resample_keypoints(clip, a.fps)
    if a.seconds is not None:
        n = min(clip.num_frames, int(a.seconds * a.fps) + 1)
        clip = replace(
            clip,
            points=clip.points[:n],
            frames=None if clip.frames is None else clip.frames[:n],
            skeleton=None if clip.skeleton is None else clip.skeleton[:n],
        )
    res = retarget_keypoint_clips([clip], robot, cfg)
    parents: Sequence[int]
    if clip.parents is not None and clip.skeleton is not None:
        joints, parents = clip.skeleton.copy(), clip.parents
    else:
        joints, parents = clip.points.copy(), KEYPOINT_PARENTS
    scale = RobotKeypoints(robot, cfg).height / keypoint_height(segment_lengths(clip.points))
    joints = joints * scale
    joints[..., 2] -= np.nanmin(joints[..., 2]) - 0.02
    return res, joints, parents, clip.name
