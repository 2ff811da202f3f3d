"""Human clips as keypoints (from BVH files or joint positions), resampling, units and up-axis detection,
and body frames derived from points.

A :class:`KeypointClip` holds the world positions of the fit keypoints (:data:`.human_skeletons.KEYPOINTS`)
in metres, world z up, and optionally three orientations in *robot convention*: for the pelvis, the
robot pelvis orientation matching the human's (identity = upright, facing +x); for each ankle, the
rotation that takes the robot's zero-pose foot orientation to the target (identity = foot flat,
pointing +x). Quaternions are (w, x, y, z). Clips without orientations (joint positions) get them from
points (:func:`complete_frames`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from hover.retarget.contacts import foot_contacts_from_points
from hover.retarget.human_skeletons import KEYPOINTS
from hover.rotations import matrix_to_quat, quat_slerp, quat_to_matrix

K = {name: i for i, name in enumerate(KEYPOINTS)}
_STICK = {
    "L_Hip": "Pelvis",
    "L_Knee": "L_Hip",
    "L_Ankle": "L_Knee",
    "L_Foot": "L_Ankle",
    "Head": "Pelvis",
    "L_Shoulder": "Head",
    "L_Elbow": "L_Shoulder",
    "L_Hand": "L_Elbow",
}
KEYPOINT_PARENTS: tuple[int, ...] = tuple(
    -1 if n == "Pelvis" else K[_STICK.get(n) or _STICK[n.replace("R_", "L_")].replace("L_", "R_")]
    for n in KEYPOINTS
)
"""A stick figure over :data:`KEYPOINTS` (for drawing joint-position clips)."""
FRAME_NAMES = ("Pelvis", "L_Ankle", "R_Ankle")
UNITS: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45}
"""Metres per file unit. ``cmu``: the CMU ASF length unit (1/0.45 inch) of the CMU BVH conversions."""
UP_AXES = ("z", "y", "x", "-z", "-y", "-x")
HUMAN_HEIGHT_RANGE_M = (0.7, 2.3)  # keypoint height (legs + trunk + neck) of people, m
_TYPICAL_HEIGHT_M = 1.45


class KeypointError(ValueError):
    """Keypoint data cannot be used (units, up axis, mirrored skeleton, bad values); the message says why."""


@dataclass
class KeypointClip:
    """One human clip as keypoints. ``points`` [T, len(KEYPOINTS), 3] (m, world z up; NaN for an absent
    optional keypoint), ``frames`` [T, 3, 4] wxyz for :data:`FRAME_NAMES` in robot convention or None.
    ``skeleton`` [T, J, 3] / ``parents``: every joint of the source (for the preview), optional."""

    name: str
    fps: float
    points: np.ndarray
    frames: np.ndarray | None = None
    source: str = ""
    skeleton: np.ndarray | None = None
    parents: list[int] | None = None

    @property
    def num_frames(self) -> int:
        return int(self.points.shape[0])

    @property
    def duration(self) -> float:
        return (self.num_frames - 1) / self.fps

    def has(self, keypoint: str) -> bool:
        return bool(np.isfinite(self.points[:, K[keypoint]]).all())

    def point(self, keypoint: str) -> np.ndarray:
        return self.points[:, K[keypoint]]


def resample_keypoints(clip: KeypointClip, fps: float) -> KeypointClip:
    """Resample to ``fps`` keeping the duration (frames at k / fps): lerp positions, slerp orientations."""
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    if abs(clip.fps - fps) < 1e-9:
        return clip
    n_out = int(np.floor(clip.duration * fps + 1e-6)) + 1
    s = np.clip(np.arange(n_out) / fps * clip.fps, 0.0, clip.num_frames - 1)
    i0 = np.floor(s).astype(np.int64)
    i1 = np.minimum(i0 + 1, clip.num_frames - 1)
    a = (s - i0)[:, None, None]

    def lerp(x: np.ndarray | None) -> np.ndarray | None:
        return None if x is None else (1 - a) * x[i0] + a * x[i1]

    frames = None
    if clip.frames is not None:
        q = torch.from_numpy(clip.frames)
        w = torch.from_numpy(a[:, :, 0]).expand(-1, q.shape[1])
        frames = quat_slerp(q[torch.from_numpy(i0)], q[torch.from_numpy(i1)], w).numpy()
    points = lerp(clip.points)
    assert points is not None
    return replace(clip, fps=float(fps), points=points, frames=frames, skeleton=lerp(clip.skeleton))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def frames_from_axes(y_dir: np.ndarray, z_dir: np.ndarray) -> np.ndarray:
    """Rotation matrices [..., 3, 3] with columns (x, y, z): y along ``y_dir``, z along ``z_dir`` made
    orthogonal to y, x = y x z (robot convention: x forward, y left, z up)."""
    y = _unit(y_dir)
    z = _unit(z_dir - (z_dir * y).sum(-1, keepdims=True) * y)
    return np.stack((np.cross(y, z), y, z), -1)


def frames_from_x_up(x_dir: np.ndarray) -> np.ndarray:
    """Flat frames [..., 3, 3]: z = world up, x = the horizontal part of ``x_dir``."""
    up = np.broadcast_to(np.array([0.0, 0.0, 1.0]), x_dir.shape)
    x = _unit(x_dir * np.array([1.0, 1.0, 0.0]))
    return np.stack((x, np.cross(up, x), up), -1)


def average_rotation(mats: np.ndarray) -> np.ndarray:
    """The rotation [3, 3] nearest (Frobenius) to the mean of rotation matrices [N, 3, 3]."""
    u, _, vt = np.linalg.svd(mats.sum(0))
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def hip_center(clip_points: np.ndarray) -> np.ndarray:
    return 0.5 * (clip_points[..., K["L_Hip"], :] + clip_points[..., K["R_Hip"], :])


def shoulder_center(clip_points: np.ndarray) -> np.ndarray:
    return 0.5 * (clip_points[..., K["L_Shoulder"], :] + clip_points[..., K["R_Shoulder"], :])


def trunk_frames(points: np.ndarray) -> np.ndarray:
    """Pelvis-like frames [T, 3, 3] from points: left = left hip - right hip, up = hip centre -> shoulder centre."""
    return frames_from_axes(
        points[:, K["L_Hip"]] - points[:, K["R_Hip"]], shoulder_center(points) - hip_center(points)
    )


def contacts_of(points: np.ndarray, fps: float) -> np.ndarray:
    """Source foot contact flags [T, 2] (left, right) from keypoints (m, z up)."""
    ankles = torch.from_numpy(points[:, [K["L_Ankle"], K["R_Ankle"]]])
    toes = points[:, [K["L_Foot"], K["R_Foot"]]]
    toes_t = torch.from_numpy(toes) if np.isfinite(toes).all() else None
    return foot_contacts_from_points(ankles, toes_t, fps).numpy()


def flat_foot_frames(points: np.ndarray, side: str, pelvis: np.ndarray) -> np.ndarray:
    """Flat foot frames [T, 3, 3]: pointing along the horizontal ankle -> toe direction (or the pelvis
    heading without toes), z up."""
    toe, ankle = points[:, K[f"{side}_Foot"]], points[:, K[f"{side}_Ankle"]]
    direction = toe - ankle if np.isfinite(toe).all() else pelvis[:, :, 0]
    return frames_from_x_up(direction)


def foot_neutral(joint_frames: np.ndarray, flat: np.ndarray, contact: np.ndarray) -> np.ndarray:
    """Constant offset O [3, 3] with joint_frames @ O ~ flat while the foot is in contact (all frames if never)."""
    mask = contact if contact.any() else np.ones(len(contact), dtype=bool)
    return average_rotation(np.swapaxes(joint_frames[mask], -1, -2) @ flat[mask])


def to_quats(mats: np.ndarray) -> np.ndarray:
    return matrix_to_quat(torch.from_numpy(np.ascontiguousarray(mats))).numpy()


def to_mats(quats: np.ndarray) -> np.ndarray:
    return quat_to_matrix(torch.from_numpy(quats)).numpy()


def complete_frames(clip: KeypointClip) -> KeypointClip:
    """A clip with orientations: unchanged when it has them, otherwise from points: the pelvis from the
    hips and the trunk (:func:`trunk_frames`); each foot from its ankle -> toe direction, made flat while
    the foot is in contact (or flat along the pelvis heading without toes)."""
    if clip.frames is not None:
        return clip
    pts = clip.points
    pelvis = trunk_frames(pts)
    contact = contacts_of(pts, clip.fps)
    feet = []
    for k, side in enumerate("LR"):
        toe, ankle = pts[:, K[f"{side}_Foot"]], pts[:, K[f"{side}_Ankle"]]
        flat = flat_foot_frames(pts, side, pelvis)
        if np.isfinite(toe).all():
            foot = frames_from_axes(pelvis[:, :, 1], np.cross(toe - ankle, pelvis[:, :, 1]))
            feet.append(foot @ foot_neutral(foot, flat, contact[:, k]))
        else:
            feet.append(flat)
    frames = np.stack([pelvis, feet[0], feet[1]], 1)
    return replace(clip, frames=to_quats(frames))


def segment_lengths(points: np.ndarray) -> dict[str, float]:
    """Median lengths (in the points' unit) of thigh, shin, upper arm, forearm (sides averaged), spine (hip
    centre -> shoulder centre) and neck (shoulder centre -> head)."""

    def med(a: str, b: str) -> float:
        return float(np.median(np.linalg.norm(points[:, K[a]] - points[:, K[b]], axis=-1)))

    out = {}
    for seg, (a, b) in {
        "thigh": ("Hip", "Knee"),
        "shin": ("Knee", "Ankle"),
        "upper_arm": ("Shoulder", "Elbow"),
        "forearm": ("Elbow", "Hand"),
    }.items():
        out[seg] = 0.5 * (med(f"L_{a}", f"L_{b}") + med(f"R_{a}", f"R_{b}"))
    hc, sc = hip_center(points), shoulder_center(points)
    out["spine"] = float(np.median(np.linalg.norm(sc - hc, axis=-1)))
    out["neck"] = float(np.median(np.linalg.norm(points[:, K["Head"]] - sc, axis=-1)))
    return out


def keypoint_height(lengths: dict[str, float]) -> float:
    """Standing keypoint height: legs (thigh + shin) + spine + neck (same unit as ``lengths``)."""
    return lengths["thigh"] + lengths["shin"] + lengths["spine"] + lengths["neck"]


def detect_units(height: float, option: str = "auto", convention: str = "") -> tuple[str, float]:
    """(unit name, metres per unit): ``option`` unless "auto"; else the unit that makes the keypoint
    ``height`` a human one (0.7-2.3 m), preferring the CMU unit for CMU skeletons and otherwise the
    height nearest 1.45 m."""
    if option != "auto":
        if option not in UNITS:
            raise KeypointError(f"--units {option!r}: expected auto or one of {', '.join(UNITS)}")
        return option, UNITS[option]
    lo, hi = HUMAN_HEIGHT_RANGE_M
    fits = [u for u, m in UNITS.items() if lo <= height * m <= hi]
    if not fits:
        raise KeypointError(
            f"cannot tell the length unit: the skeleton is {height:.4g} units tall (legs + trunk + "
            f"neck), which is no human height in {', '.join(UNITS)}; pass --units"
        )
    if convention == "cmu" and "cmu" in fits:
        return "cmu", UNITS["cmu"]
    best = min(fits, key=lambda u: abs(math.log(height * UNITS[u] / _TYPICAL_HEIGHT_M)))
    return best, UNITS[best]


def up_rotation(axis: str) -> np.ndarray:
    """Rotation [3, 3] taking the file's ``axis`` ("y", "-z", ...) to world +z (a proper rotation)."""
    c = {
        "z": np.eye(3),
        "y": np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]),
        "-y": np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]),
        "-z": np.diag([1.0, -1.0, -1.0]),
        "x": np.array([[0.0, 0, -1], [0, 1, 0], [1, 0, 0]]),
        "-x": np.array([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]]),
    }
    if axis not in c:
        raise KeypointError(f"--up {axis!r}: expected auto or one of {', '.join(UP_AXES)}")
    return c[axis]


def detect_up(points_raw: np.ndarray, option: str = "auto") -> str:
    """The file's up axis: ``option`` unless "auto"; else the signed axis along which the head is above the
    ankles on average over the clip (it must carry >= 70 % of that vector)."""
    if option != "auto":
        up_rotation(option)
        return option
    v = (points_raw[:, K["Head"]] - 0.5 * (points_raw[:, K["L_Ankle"]] + points_raw[:, K["R_Ankle"]])).mean(0)
    i = int(np.argmax(np.abs(v)))
    if abs(v[i]) < 0.7 * np.linalg.norm(v):
        raise KeypointError(
            f"cannot tell the up axis (mean ankle -> head direction {np.round(v / np.linalg.norm(v), 2)}); "
            "pass --up"
        )
    return ("" if v[i] > 0 else "-") + "xyz"[i]


def check_handedness(points: np.ndarray, where: str) -> None:
    """Raise when left and right look swapped (world z up, m): with toes, the feet point along
    left x up (forward) in a consistent skeleton; a mirrored world or swapped sides make them point back."""
    toes = points[:, [K["L_Foot"], K["R_Foot"]]]
    if not np.isfinite(toes).all():
        return
    left = points[:, K["L_Hip"]] - points[:, K["R_Hip"]]
    fwd = np.cross(left, np.array([0.0, 0.0, 1.0]))
    feet = toes - points[:, [K["L_Ankle"], K["R_Ankle"]]]
    score = float(np.mean((feet[..., :2] * fwd[:, None, :2]).sum(-1)))
    if score < 0:
        raise KeypointError(
            f"{where}: left and right look swapped (the toes point backwards relative to the hips): a "
            "mirrored (left-handed) file or swapped joint names; check --up or map the joints with "
            "--skeleton map.json"
        )
