"""BVH files as keypoint clips: skeleton convention, length unit, up axis and body orientations.

Steps for one file (:func:`load_bvh_clip`): read (:mod:`.bvh`); map joints to the fit keypoints
(:mod:`.human_skeletons`: recognised by names, a named convention, or a JSON map); forward kinematics;
the up axis (the signed file axis along which the head is above the ankles over the clip, or
``--up``); the unit (the one that makes the skeleton's keypoint height human, or ``--units``);
everything turned into the world frame (z up, metres).

Orientations (robot convention, see :mod:`.keypoints`): the pelvis joint's and the ankles' global
rotations relative to a neutral pose. When the rest pose (all channels zero) is an upright stance
(most files: a T- or A-pose), the rest pose is the neutral pose, facing the direction of its hips and
shoulders. Files whose rest pose is not a stance (e.g. LAFAN1: bones along their local x axes) get the
neutral pelvis from the hips and trunk averaged over the clip, and neutral feet from the frames in
which a foot is planted (flat on the floor).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hover.retarget.bvh import BvhError, BvhMotion, forward_kinematics, read_bvh, rest_positions
from hover.retarget.human_skeletons import KEYPOINTS, SkeletonError, SkeletonMap, resolve_skeleton
from hover.retarget.keypoints import (
    FRAME_NAMES,
    K,
    KeypointClip,
    KeypointError,
    average_rotation,
    check_handedness,
    contacts_of,
    detect_units,
    detect_up,
    flat_foot_frames,
    foot_neutral,
    frames_from_axes,
    keypoint_height,
    segment_lengths,
    to_quats,
    trunk_frames,
    up_rotation,
)

_UPRIGHT_COS = np.cos(np.radians(25.0))


class BvhInputError(ValueError):
    """A BVH file cannot be retargeted; the message names the file and the problem (CLI: exit 2)."""


@dataclass
class BvhOptions:
    skeleton: str = "auto"  # auto, a convention name, or a JSON map file
    units: str = "auto"  # auto, m, cm, mm, inch, cmu
    up: str = "auto"  # auto, z, y, x, -z, -y, -x


@dataclass
class BvhInfo:
    """What was decided about a file (printed by ``--inspect``, stored in the report)."""

    path: str
    joints: int
    frames: int
    fps: float
    convention: str
    keypoints: dict[str, str]
    unit: str
    metres_per_unit: float
    up: str
    height_m: float  # keypoint height (legs + trunk + neck)
    rest_is_stance: bool

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _keypoint_array(pos: np.ndarray, motion: BvhMotion, smap: SkeletonMap) -> np.ndarray:
    idx = motion.skeleton.names
    out = np.full((pos.shape[0], len(KEYPOINTS), 3), np.nan)
    for kp, joint in smap.joints.items():
        out[:, K[kp]] = pos[:, idx.index(joint)]
    return out


def _rest_is_stance(rest: np.ndarray) -> bool:
    """Rest keypoints [1, K, 3] (z up): head above the hips and straight legs below them."""
    r = rest[0]
    hc = 0.5 * (r[K["L_Hip"]] + r[K["R_Hip"]])
    trunk = r[K["Head"]] - hc
    if trunk[2] < _UPRIGHT_COS * np.linalg.norm(trunk):
        return False
    for s in "LR":
        leg = r[K[f"{s}_Hip"]] - r[K[f"{s}_Ankle"]]
        length = np.linalg.norm(r[K[f"{s}_Knee"]] - r[K[f"{s}_Hip"]]) + np.linalg.norm(
            r[K[f"{s}_Ankle"]] - r[K[f"{s}_Knee"]]
        )
        if leg[2] < _UPRIGHT_COS * np.linalg.norm(leg) or np.linalg.norm(leg) < 0.95 * length:
            return False
    return True


def bvh_to_clip(
    motion: BvhMotion, options: BvhOptions, name: str, keep_skeleton: bool = False
) -> tuple[KeypointClip, BvhInfo]:
    """A parsed BVH file as a :class:`.keypoints.KeypointClip` (world z up, m) and what was decided."""
    where = motion.path
    try:
        smap = resolve_skeleton(motion.skeleton.joint_names(), options.skeleton, where)
    except SkeletonError as e:
        raise BvhInputError(str(e)) from None
    names = motion.skeleton.names
    rot_joints = [names.index(smap.joints[f]) for f in FRAME_NAMES]
    pos_raw, rots_raw = forward_kinematics(motion.skeleton, motion.values, keep_rotations=rot_joints)
    kp_raw = _keypoint_array(pos_raw, motion, smap)
    try:
        up = detect_up(kp_raw, options.up)
        unit, m_per_unit = detect_units(
            keypoint_height(segment_lengths(kp_raw)), options.units, smap.convention
        )
    except KeypointError as e:
        raise BvhInputError(f"{where}: {e}") from None
    u = up_rotation(up) * m_per_unit  # file -> world (z up, m)
    points = kp_raw @ u.T
    try:
        check_handedness(points, where)
    except KeypointError as e:
        raise BvhInputError(str(e)) from None
    rot = up_rotation(up)
    glob = [np.einsum("ij,tjk,lk->til", rot, rots_raw[j], rot) for j in rot_joints]  # world z up, per frame
    rest = _keypoint_array(rest_positions(motion.skeleton)[None], motion, smap) @ u.T
    stance = _rest_is_stance(rest)
    if stance:  # the rest pose is the neutral stance; it faces left x up of its hips + shoulders
        r = rest[0]
        left = (r[K["L_Hip"]] - r[K["R_Hip"]]) + (r[K["L_Shoulder"]] - r[K["R_Shoulder"]])
        neutral = frames_from_axes(left * np.array([1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]))
        frames = [g @ neutral for g in glob]
    else:
        trunk = trunk_frames(points)
        pelvis = glob[0] @ average_rotation(np.swapaxes(glob[0], -1, -2) @ trunk)
        contact = contacts_of(points, motion.fps)
        frames = [pelvis]
        for k, side in enumerate("LR"):
            flat = flat_foot_frames(points, side, pelvis)
            frames.append(glob[1 + k] @ foot_neutral(glob[1 + k], flat, contact[:, k]))
    clip = KeypointClip(
        name=name,
        fps=motion.fps,
        points=points,
        frames=to_quats(np.stack(frames, 1)),
        source=smap.convention,
        skeleton=(pos_raw @ u.T) if keep_skeleton else None,
        parents=motion.skeleton.parents if keep_skeleton else None,
    )
    info = BvhInfo(path=where, joints=len(motion.skeleton.joint_names()), frames=motion.num_frames, fps=motion.fps,
                   convention=smap.convention, keypoints=dict(smap.joints), unit=unit, metres_per_unit=m_per_unit,
                   up=up, height_m=keypoint_height(segment_lengths(points)), rest_is_stance=stance)  # fmt: skip
    return clip, info


def load_bvh_clip(
    path: str | os.PathLike,
    options: BvhOptions | None = None,
    name: str | None = None,
    keep_skeleton: bool = False,
) -> tuple[KeypointClip, BvhInfo]:
    """Read one BVH file as a keypoint clip; raises :class:`.bvh.BvhError` or :class:`BvhInputError`."""
    path = Path(path)
    motion = read_bvh(path)
    return bvh_to_clip(motion, options or BvhOptions(), name or path.stem, keep_skeleton)


def find_bvh_files(sources: list[str | os.PathLike]) -> list[tuple[Path, str, bool]]:
    """(file, clip name, given explicitly) for each source: a file, or every ``*.bvh`` under a folder
    (recursive, sorted; names mirror the tree)."""
    out = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix.lower() == ".bvh":
                    out.append((f, str(f.relative_to(p).with_suffix("")).replace(os.sep, "/"), False))
        elif p.is_file():
            out.append((p, p.stem, True))
        else:
            raise BvhError(f"{p}: no such file or folder")
    return out
