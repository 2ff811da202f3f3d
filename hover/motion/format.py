"""Robot motion files: a documented ``.npz`` schema, validated on load.

A motion file holds one or more clips of one robot, frames of all clips concatenated:

==================  =============  =====================================================
key                 shape / dtype  meaning
==================  =============  =====================================================
``format_version``  () int         1
``robot``           () str         robot name, e.g. ``"h1"``
``joint_names``     (J,) str       joint order of ``joint_pos`` (must be the robot's joints)
``clip_names``      (C,) str       one name per clip
``clip_lengths``    (C,) int       frames per clip (>= 2); sum = T
``fps``             (C,) float     frames per second per clip (> 0)
``root_pos``        (T, 3) float   pelvis position in the world frame (m), z up
``root_quat``       (T, 4) float   pelvis orientation, world frame, **(w, x, y, z)**, unit
``joint_pos``       (T, J) float   joint angles (rad) in ``joint_names`` order
==================  =============  =====================================================

Files are read with ``allow_pickle=False``; strings are numpy unicode arrays.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hover.io import atomic_open, read_npz
from hover.robots import RobotSpec, get_robot

FORMAT_VERSION = 1
REQUIRED_KEYS = (
    "robot",
    "joint_names",
    "clip_names",
    "clip_lengths",
    "fps",
    "root_pos",
    "root_quat",
    "joint_pos",
)


class MotionFormatError(ValueError):
    """A motion file is malformed; the message names the file and the problem."""


@dataclass
class MotionClip:
    """One clip in the robot's joint order. Arrays are float64 numpy."""

    name: str
    fps: float
    root_pos: np.ndarray  # [T, 3] world (m)
    root_quat: np.ndarray  # [T, 4] world, wxyz
    joint_pos: np.ndarray  # [T, J] rad, robot joint order

    @property
    def num_frames(self) -> int:
        return int(self.root_pos.shape[0])

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        return (self.num_frames - 1) / self.fps


def save_motions(
    path: str | os.PathLike, clips: Sequence[MotionClip], robot: RobotSpec | None = None
) -> Path:
    """Write ``clips`` to ``path`` (atomically: a temporary file renamed into place)."""
    robot = robot or get_robot()
    if not clips:
        raise ValueError("save_motions needs at least one clip")
    for c in clips:
        _check_clip(c, robot, where=f"clip {c.name!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {  # Any: numpy's stub types **kwds against its own allow_pickle flag
        "format_version": np.array(FORMAT_VERSION),
        "robot": np.array(robot.name),
        "joint_names": np.array(robot.joint_names),
        "clip_names": np.array([c.name for c in clips]),
        "clip_lengths": np.array([c.num_frames for c in clips], dtype=np.int64),
        "fps": np.array([c.fps for c in clips], dtype=np.float64),
        "root_pos": np.concatenate([c.root_pos for c in clips]).astype(np.float32),
        "root_quat": np.concatenate([c.root_quat for c in clips]).astype(np.float32),
        "joint_pos": np.concatenate([c.joint_pos for c in clips]).astype(np.float32),
    }
    with atomic_open(path, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


def load_motions(path: str | os.PathLike, robot: RobotSpec | None = None) -> list[MotionClip]:
    """Read and validate a motion file; raise MotionFormatError naming the file and the problem."""
    robot = robot or get_robot()
    path = Path(path)
    if not path.is_file():
        raise MotionFormatError(f"{path}: no such motion file")
    arrays = read_npz(path, MotionFormatError, "motion .npz")
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        raise MotionFormatError(f"{path}: missing keys {missing}")
    if str(arrays["robot"]) != robot.name:
        raise MotionFormatError(
            f"{path}: motion is for robot {str(arrays['robot'])!r}, expected {robot.name!r}"
        )
    names = [str(n) for n in np.atleast_1d(arrays["joint_names"])]
    if sorted(names) != sorted(robot.joint_names):
        extra, absent = set(names) - set(robot.joint_names), set(robot.joint_names) - set(names)
        raise MotionFormatError(
            f"{path}: joint names do not match {robot.name}: unknown {sorted(extra)}, "
            f"missing {sorted(absent)}"
        )
    order = [names.index(n) for n in robot.joint_names]
    lengths = np.atleast_1d(arrays["clip_lengths"]).astype(np.int64)
    clip_names = [str(n) for n in np.atleast_1d(arrays["clip_names"])]
    fps = np.atleast_1d(arrays["fps"]).astype(np.float64)
    if not (len(lengths) == len(clip_names) == len(fps)):
        raise MotionFormatError(f"{path}: clip_names, clip_lengths and fps have different lengths")
    total = int(lengths.sum())
    expected = {"root_pos": (total, 3), "root_quat": (total, 4), "joint_pos": (total, len(names))}
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise MotionFormatError(f"{path}: {key} has shape {arrays[key].shape}, expected {shape}")
    clips = []
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    for name, start, n, f in zip(clip_names, starts, lengths, fps, strict=True):
        sl = slice(int(start), int(start + n))
        clip = MotionClip(
            name=name,
            fps=float(f),
            root_pos=arrays["root_pos"][sl].astype(np.float64),
            root_quat=arrays["root_quat"][sl].astype(np.float64),
            joint_pos=arrays["joint_pos"][sl][:, order].astype(np.float64),
        )
        _check_clip(clip, robot, where=f"{path}: clip {name!r}", error=MotionFormatError)
        clip.root_quat /= np.linalg.norm(clip.root_quat, axis=-1, keepdims=True)
        clips.append(clip)
    return clips


def find_motion_files(sources: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Motion files from a file, a folder (searched recursively for ``*.npz``) or a list of either."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    files: list[Path] = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            files.extend(sorted(p.rglob("*.npz")))
        elif p.is_file():
            files.append(p)
        else:
            raise MotionFormatError(f"{p}: no such file or folder")
    if not files:
        raise MotionFormatError(f"no .npz motion files in {[str(s) for s in sources]}")
    return files


def load_motion_sources(
    sources: str | os.PathLike | Iterable[str | os.PathLike], robot: RobotSpec | None = None
) -> list[MotionClip]:
    """All clips of all motion files found in ``sources`` (see :func:`find_motion_files`)."""
    clips: list[MotionClip] = []
    for f in find_motion_files(sources):
        clips.extend(load_motions(f, robot))
    return clips


def _check_clip(clip: MotionClip, robot: RobotSpec, where: str, error: type[Exception] = ValueError) -> None:
    t = clip.root_pos.shape[0] if clip.root_pos.ndim == 2 else -1
    if not (np.isfinite(clip.fps) and clip.fps > 0):
        raise error(f"{where}: fps must be > 0, got {clip.fps}")
    if t < 2:
        raise error(f"{where}: needs at least 2 frames, got {max(t, 0)}")
    for key, width in (("root_pos", 3), ("root_quat", 4), ("joint_pos", robot.num_joints)):
        arr = getattr(clip, key)
        if arr.shape != (t, width):
            raise error(f"{where}: {key} has shape {arr.shape}, expected {(t, width)}")
        bad = ~np.isfinite(arr)
        if bad.any():
            frame = int(np.argwhere(bad)[0, 0])
            raise error(f"{where}: {key} has non-finite values (first at frame {frame})")
    norms = np.linalg.norm(clip.root_quat, axis=-1)
    if np.abs(norms - 1.0).max() > 1e-2:
        frame = int(np.argmax(np.abs(norms - 1.0)))
        raise error(f"{where}: root_quat is not unit length (norm {norms[frame]:.4f} at frame {frame})")
