"""SMPL-skeleton human clips (the synthetic set, AMASS) written as BVH files in the supported conventions
(:data:`STYLES`, defined in :mod:`.bvh_styles`).

The written motion equals the SMPL clip joint for joint: a BVH joint placed at an SMPL joint moves
with that joint's frame, extra joints lie on SMPL bones or hang rigidly off SMPL joints, and where a
convention has fewer spine joints than SMPL, an SMPL joint's rotation is folded into its single-child
parent (the returned clip is the SMPL clip that the file encodes exactly).
Frames: SMPL body frame y up / facing +z; AMASS world z up; file coordinates per style.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hover.retarget.amass import HumanClip, resample
from hover.retarget.bvh import BvhJoint, BvhSkeleton
from hover.retarget.bvh_styles import STYLES, BvhStyle, Spec
from hover.retarget.bvh_writer import euler_degrees, rotation_order, write_bvh
from hover.retarget.keypoints import UNITS, up_rotation
from hover.retarget.skeleton import SMPL_PARENTS, joint_index, smpl_forward_kinematics
from hover.rotations import quat_from_rotvec, quat_mul, quat_to_rotvec

__all__ = ["STYLES", "BvhStyle", "EncodedBvh", "Spec", "encode", "write_style_bvh"]


def _fold(clip: HumanClip, style: BvhStyle) -> HumanClip:
    """The clip with each folded SMPL joint's local rotation composed into its parent's (and zeroed)."""
    pose = clip.pose_aa.copy()
    for s in style.joints:
        if not s.fold:
            continue
        q = quat_from_rotvec(torch.from_numpy(pose[:, joint_index(s.at)]))
        chain = [s.at, *s.fold]
        for a, b in zip(chain[:-1], chain[1:], strict=True):
            kids = [i for i, p in enumerate(SMPL_PARENTS) if p == joint_index(a)]
            if kids != [joint_index(b)]:
                raise ValueError(f"{style.name}: cannot fold {b} into {a} ({a} has children {kids})")
            q = quat_mul(q, quat_from_rotvec(torch.from_numpy(pose[:, joint_index(b)])))
            pose[:, joint_index(b)] = 0.0
        pose[:, joint_index(s.at)] = quat_to_rotvec(q).numpy()
    return HumanClip(clip.name, clip.fps, pose, clip.trans.copy(), clip.betas.copy(), clip.gender)


def _bone_frame(d: np.ndarray) -> np.ndarray:
    """A rotation whose first column is along ``d``."""
    x = d / np.linalg.norm(d)
    helper = np.array([0.0, 0.0, 1.0]) if abs(x[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    y = np.cross(helper, x)
    y /= np.linalg.norm(y)
    return np.stack((x, y, np.cross(x, y)), -1)


@dataclass
class EncodedBvh:
    """What :func:`encode` produced: the file's skeleton and values, and the SMPL clip it encodes exactly
    (resampled to the style's rate, folded) with the world positions [T, J, 3] (file units and axes) every
    joint must read back to."""

    skeleton: BvhSkeleton
    values: np.ndarray
    frame_time: float
    clip: HumanClip
    positions: np.ndarray


def encode(clip: HumanClip, rest_joints: torch.Tensor, style: BvhStyle | str) -> EncodedBvh:
    """Express an SMPL clip (rest joints [24, 3], SMPL body frame, m) in a BVH style."""
    style = STYLES[style] if isinstance(style, str) else style
    if abs(clip.fps - style.fps) > 1e-9:
        clip = resample(clip, style.fps)
    clip = _fold(clip, style)
    rest = rest_joints.to(torch.float64)
    pose = torch.from_numpy(clip.pose_aa)
    pos_t, glob_t = smpl_forward_kinematics(rest, pose, torch.from_numpy(clip.trans))
    pos, glob, rest_np = pos_t.numpy(), glob_t.numpy(), rest.numpy()
    unit = UNITS[style.unit]
    u = up_rotation(style.up)  # file -> z-up world
    b = u.T  # AMASS world (z up) -> file
    a = b @ up_rotation("y")  # SMPL body frame (y up) -> file rest frame (upright along the file's up)
    specs = _depth_first(style.joints)
    t = clip.num_frames
    rest_pos: dict[str, np.ndarray] = {}
    world: dict[str, np.ndarray] = {}
    frame: dict[str, np.ndarray | None] = {}
    for s in specs:
        if s.floor:
            rest_pos[s.name] = rest_np[0] * np.array([1.0, 0.0, 1.0]) + np.array(
                [0.0, rest_np[:, 1].min() - 0.08, 0.0]
            )
            world[s.name] = pos[:, 0] * np.array([1.0, 1.0, 0.0])
            frame[s.name] = None
        elif s.between is not None:
            ia, ib, f = joint_index(s.between[0]), joint_index(s.between[1]), s.between[2]
            rest_pos[s.name] = (1 - f) * rest_np[ia] + f * rest_np[ib]
            world[s.name] = (1 - f) * pos[:, ia] + f * pos[:, ib]
            frame[s.name] = glob[:, ia]
        elif s.leaf is not None:
            ia, off = joint_index(s.leaf[0]), np.array(s.leaf[1])
            rest_pos[s.name] = rest_np[ia] + off
            world[s.name] = pos[:, ia] + glob[:, ia] @ off
            frame[s.name] = glob[:, ia]
        else:
            i = joint_index(s.at)
            rest_pos[s.name] = rest_np[i]
            world[s.name] = pos[:, i]
            frame[s.name] = glob[:, i]
    # per-joint frame turn K (bone_x: the first child along local +x)
    turn = {}
    for s in specs:
        kids = [c for c in specs if c.parent == s.name]
        if style.rest == "bone_x" and kids:
            turn[s.name] = _bone_frame(a @ (rest_pos[kids[0].name] - rest_pos[s.name]))
        else:
            turn[s.name] = turn[s.parent] if (style.rest == "bone_x" and s.parent) else np.eye(3)
    joints: list[BvhJoint] = []
    index: dict[str, int] = {}
    g_file, p_file, columns = {}, {}, []
    for s in specs:
        k = turn[s.name]
        fr = frame[s.name]
        g_file[s.name] = (
            np.broadcast_to(k, (t, 3, 3)) if fr is None else np.einsum("ij,tjk,kl,lm->tim", b, fr, a.T, k)
        )
        p_file[s.name] = world[s.name] @ b.T / unit
        chans = s.channels or (style.root_channels if s.parent is None else style.joint_channels)
        if s.parent is None:
            offset, local_r, local_t = a @ rest_pos[s.name] / unit, g_file[s.name], p_file[s.name]
        else:
            kp, gp = turn[s.parent], g_file[s.parent]
            offset = kp.T @ a @ (rest_pos[s.name] - rest_pos[s.parent]) / unit
            local_r = np.swapaxes(gp, -1, -2) @ g_file[s.name]
            local_t = np.einsum("tji,tj->ti", gp, p_file[s.name] - p_file[s.parent])
            if any(c.floor for c in specs if c.name == s.parent) and not any(
                c.endswith("position") for c in chans
            ):
                raise ValueError(
                    f"{style.name}: {s.name} hangs off a floor joint and needs position channels"
                )
        ang = euler_degrees(local_r, rotation_order(chans))
        col = np.empty((t, len(chans)))
        r = 0
        for ci, c in enumerate(chans):
            if c.endswith("position"):
                col[:, ci] = local_t[:, "XYZ".index(c[0])]
            else:
                col[:, ci] = ang[:, r]
                r += 1
        columns.append(col)
        index[s.name] = len(joints)
        joints.append(
            BvhJoint(style.prefix + s.name, index[s.parent] if s.parent else -1, offset, tuple(chans))
        )
        if s.end is not None:
            end_off = k.T @ a @ np.array(s.end) / unit
            joints.append(BvhJoint(f"{style.prefix}{s.name}/End", index[s.name], end_off, (), end_site=True))
            p_file[f"{s.name}/End"] = p_file[s.name] + np.einsum("tij,j->ti", g_file[s.name], end_off)
    names = [j.name[len(style.prefix) :] for j in joints]
    return EncodedBvh(
        BvhSkeleton(joints),
        np.concatenate(columns, 1),
        1.0 / style.fps,
        clip,
        np.stack([p_file[n] for n in names], 1),
    )


def _depth_first(specs: tuple[Spec, ...]) -> list[Spec]:
    by_parent: dict[str | None, list[Spec]] = {}
    for s in specs:
        by_parent.setdefault(s.parent, []).append(s)
    out: list[Spec] = []

    def visit(s: Spec) -> None:
        out.append(s)
        for c in by_parent.get(s.name, []):
            visit(c)

    for r in by_parent.get(None, []):
        visit(r)
    if len(out) != len(specs):
        raise ValueError("style joints have unknown parents")
    return out


def write_style_bvh(
    path: str | os.PathLike,
    clip: HumanClip,
    rest_joints: torch.Tensor,
    style: BvhStyle | str,
    precision: int = 6,
) -> EncodedBvh:
    """Write ``clip`` as a BVH file in ``style`` (see :data:`STYLES`); returns what was encoded."""
    style = STYLES[style] if isinstance(style, str) else style
    enc = encode(clip, rest_joints, style)
    write_bvh(
        Path(path),
        enc.skeleton,
        enc.values,
        enc.frame_time,
        newline=style.newline,
        indent=style.indent,
        precision=precision,
    )
    return enc
