"""Joint-position clips (e.g. from vision-based capture) as keypoint clips.

File format (``.npz``, read with ``allow_pickle=False``):

- ``positions``: float array (T, J, 3), world positions of J joints per frame (any unit, any up axis);
- ``joint_names``: string array (J,), the joints' names (recognised like BVH joint names, or mapped
  with ``--skeleton map.json``, see :mod:`.human_skeletons`);
- ``fps``: scalar frame rate (Hz).

Units and the up axis are detected as for BVH files (:mod:`.keypoints`) unless given. Without joint
rotations the pelvis orientation comes from the hips and the trunk, the feet from ankle -> toe
(:func:`.keypoints.complete_frames`). Used joints must be finite in every frame.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hover.io import atomic_open, read_npz
from hover.retarget.bvh_input import BvhInfo, BvhOptions
from hover.retarget.human_skeletons import KEYPOINTS, SkeletonError, resolve_skeleton
from hover.retarget.keypoints import (
    K,
    KeypointClip,
    KeypointError,
    check_handedness,
    complete_frames,
    detect_units,
    detect_up,
    keypoint_height,
    segment_lengths,
    up_rotation,
)


class PositionsError(ValueError):
    """A joint-position file is malformed or unusable; the message names the file and the problem."""


def load_positions_clip(
    path: str | os.PathLike,
    options: BvhOptions | None = None,
    name: str | None = None,
    keep_skeleton: bool = False,
) -> tuple[KeypointClip, BvhInfo]:
    """Read a joint-position ``.npz`` as a keypoint clip (world z up, m) and what was decided about it."""
    path = Path(path)
    options = options or BvhOptions()
    where = str(path)
    if not path.is_file():
        raise PositionsError(f"{where}: no such file")
    a = read_npz(path, PositionsError, "joint-position .npz")
    missing = [k for k in ("positions", "joint_names", "fps") if k not in a]
    if missing:
        raise PositionsError(
            f"{where}: missing keys {missing} (expected positions (T, J, 3), joint_names (J,), fps)"
        )
    pos = a["positions"]
    names_arr = a["joint_names"]
    if pos.ndim != 3 or pos.shape[-1] != 3 or not np.issubdtype(pos.dtype, np.number):
        raise PositionsError(
            f"{where}: positions has shape {pos.shape} ({pos.dtype}), expected numbers (T, J, 3)"
        )
    if pos.shape[0] == 0:
        raise PositionsError(f"{where}: zero frames")
    if names_arr.ndim != 1 or names_arr.dtype.kind not in "US" or len(names_arr) != pos.shape[1]:
        raise PositionsError(
            f"{where}: joint_names must be {pos.shape[1]} strings, got {names_arr.dtype} {names_arr.shape}"
        )
    names = [str(n) for n in names_arr.astype(str)]
    if len(set(names)) != len(names):
        raise PositionsError(f"{where}: duplicate joint names")
    try:
        fps = float(np.asarray(a["fps"]))
    except (TypeError, ValueError):
        raise PositionsError(f"{where}: fps is not a number") from None
    if not (np.isfinite(fps) and fps > 0):
        raise PositionsError(f"{where}: fps must be > 0, got {fps}")
    try:
        smap = resolve_skeleton(names, options.skeleton, where)
    except SkeletonError as e:
        raise PositionsError(str(e)) from None
    raw = np.full((pos.shape[0], len(KEYPOINTS), 3), np.nan)
    for kp, joint in smap.joints.items():
        col = pos[:, names.index(joint)].astype(np.float64)
        bad = ~np.isfinite(col).all(-1)
        if bad.any():
            raise PositionsError(
                f"{where}: joint {joint!r} ({kp}) is not finite at frame {int(np.argmax(bad))}"
            )
        raw[:, K[kp]] = col
    try:
        up = detect_up(raw, options.up)
        unit, m_per_unit = detect_units(keypoint_height(segment_lengths(raw)), options.units, smap.convention)
        u = up_rotation(up) * m_per_unit
        points = raw @ u.T
        check_handedness(points, where)
    except KeypointError as e:
        raise PositionsError(f"{where}: {e}" if not str(e).startswith(where) else str(e)) from None
    clip = KeypointClip(
        name=name or path.stem,
        fps=fps,
        points=points,
        source=smap.convention,
        skeleton=(pos.astype(np.float64) @ u.T) if keep_skeleton else None,
    )
    info = BvhInfo(path=where, joints=len(names), frames=int(pos.shape[0]), fps=fps, convention=smap.convention,
                   keypoints=dict(smap.joints), unit=unit, metres_per_unit=m_per_unit, up=up,
                   height_m=keypoint_height(segment_lengths(points)), rest_is_stance=False)  # fmt: skip
    return complete_frames(clip), info


def save_positions(
    path: str | os.PathLike, positions: np.ndarray, joint_names: list[str], fps: float
) -> Path:
    """Write a joint-position ``.npz`` (atomic): positions (T, J, 3), joint_names (J,), fps."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as f:
        np.savez(
            f,
            positions=np.asarray(positions, dtype=np.float64),
            joint_names=np.array(joint_names, dtype=str),
            fps=np.array(float(fps)),
        )
    return path
