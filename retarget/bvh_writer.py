"""Writing BVH files: a skeleton (:class:`.bvh.BvhSkeleton`) and channel values, plus the Euler
decomposition that turns local rotation matrices into any channel order.

Used by the tests and ``hover bench retarget --source bvh`` (the synthetic human set written in each
supported convention, :mod:`.bvh_export`); usable for any exporter. Line endings, indentation and
number precision are options so the tests can write what real exporters write.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from hover.io import atomic_open
from hover.retarget.bvh import BvhSkeleton


def euler_degrees(rot: np.ndarray, order: str) -> np.ndarray:
    """Angles [..., 3] (degrees) with ``rot`` [..., 3, 3] = R_order[0] @ R_order[1] @ R_order[2]
    (``order`` e.g. "ZXY": BVH's ``Zrotation Xrotation Yrotation``)."""
    flat = rot.reshape(-1, 3, 3)
    ang = Rotation.from_matrix(flat).as_euler(order.upper(), degrees=True)
    return ang.reshape(rot.shape[:-2] + (3,))


def rotation_order(channels: tuple[str, ...]) -> str:
    """The rotation axes of a channel list in order, e.g. ("Xposition", ..., "Zrotation", "Xrotation",
    "Yrotation") -> "ZXY"."""
    return "".join(c[0] for c in channels if c.endswith("rotation"))


def _hierarchy_lines(skeleton: BvhSkeleton, indent: str, precision: int) -> list[str]:
    lines = ["HIERARCHY"]
    children: list[list[int]] = [[] for _ in skeleton.joints]
    for i, j in enumerate(skeleton.joints):
        if j.parent >= 0:
            children[j.parent].append(i)

    def emit(i: int, depth: int) -> None:
        j = skeleton.joints[i]
        pad = indent * depth
        if j.end_site:
            lines.append(f"{pad}End Site")
        else:
            lines.append(f"{pad}{'ROOT' if j.parent < 0 else 'JOINT'} {j.name}")
        lines.append(f"{pad}{{")
        off = " ".join(f"{v:.{precision}f}" for v in j.offset)
        lines.append(f"{pad}{indent}OFFSET {off}")
        if not j.end_site:
            lines.append(f"{pad}{indent}CHANNELS {len(j.channels)} {' '.join(j.channels)}".rstrip())
        for c in children[i]:
            emit(c, depth + 1)
        lines.append(f"{pad}}}")

    for i, j in enumerate(skeleton.joints):
        if j.parent < 0:
            emit(i, 0)
    return lines


def write_bvh(
    path: str | os.PathLike,
    skeleton: BvhSkeleton,
    values: np.ndarray,
    frame_time: float,
    newline: str = "\n",
    indent: str = "\t",
    precision: int = 6,
) -> Path:
    """Write a BVH file (atomic). ``values`` [T, C]: channel values in the skeleton's column order
    (degrees, file units). ``skeleton.joints`` must list parents before children (file order)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != skeleton.num_channels:
        raise ValueError(
            f"values has shape {values.shape}, the skeleton has {skeleton.num_channels} channels"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = _hierarchy_lines(skeleton, indent, precision)
    lines += ["MOTION", f"Frames: {values.shape[0]}", f"Frame Time: {frame_time:.7f}"]
    fmt = " ".join([f"%.{precision}f"] * values.shape[1])
    with atomic_open(path, "w", newline="") as f:
        f.write(newline.join(lines) + newline)
        for row in values:
            f.write(fmt % tuple(row) + newline)
    return path
