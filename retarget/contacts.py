"""Foot contacts of a human clip, and a root trajectory that keeps them when the body shape changes.

Retargeting replaces the subject's body (its betas) by the shape fitted to the robot. Replaying the
subject's root translation on the new body makes planted feet slide (different leg lengths), so the root
is re-integrated instead: while a foot is in contact in the source clip, the root moves so that this
foot stays where it is horizontally; otherwise the root follows the (scaled) source translation. Heights
always follow the scaled source (the robot is grounded afterwards). World frame, z up, m.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from hover.retarget.skeleton import joint_index

FOOT_JOINTS = (("L_Ankle", "L_Foot"), ("R_Ankle", "R_Foot"))


def foot_contacts(joints: Tensor, fps: float, height: float = 0.05, speed: float = 0.3) -> Tensor:
    """Contact flags [T, 2] (left, right) of source SMPL joints [T, 24, 3] (world, z up); see
    :func:`foot_contacts_from_points`."""
    ankles = joints[:, [joint_index(a) for a, _ in FOOT_JOINTS]]
    toes = joints[:, [joint_index(t) for _, t in FOOT_JOINTS]]
    return foot_contacts_from_points(ankles, toes, fps, height, speed)


def foot_contacts_from_points(
    ankles: Tensor, toes: Tensor | None, fps: float, height: float = 0.05, speed: float = 0.3
) -> Tensor:
    """Contact flags [T, 2] (left, right) from ankle and toe positions [T, 2, 3] (world, z up, m).

    A foot is in contact when its ankle or toe point is within ``height`` (m) of the clip's lowest ankle /
    toe level and the ankle's horizontal speed is below ``speed`` (m/s). Without toes the ankles alone
    decide."""
    out = []
    floor_a = ankles[..., 2].min()
    floor_t = toes[..., 2].min() if toes is not None else None
    for side in range(2):
        a = ankles[:, side]
        low = (a[:, 2] - floor_a) < height
        if toes is not None and floor_t is not None:
            low = low | ((toes[:, side, 2] - floor_t) < height)
        v = torch.zeros(len(a), dtype=a.dtype)
        if len(a) > 1:
            step = (a[1:, :2] - a[:-1, :2]).norm(dim=-1) * fps
            v[1:] = step
            v[0] = step[0]
        out.append(low & (v < speed))
    return torch.stack(out, -1)


def contact_preserving_trans(
    rel_joints: Tensor, trans: Tensor, contacts: Tensor, src_joints: Tensor
) -> Tensor:
    """Root translation [T, 3] for a body whose joints with zero translation are ``rel_joints`` [T, 24, 3].

    ``trans`` [T, 3]: the (scaled) source translation used while no foot is in contact; ``contacts``
    [T, 2] from :func:`foot_contacts`; ``src_joints`` [T, 24, 3] picks the stiller foot when both touch.
    """
    ankles = [joint_index(a) for a, _ in FOOT_JOINTS]
    return contact_preserving_root(rel_joints[:, ankles], trans, contacts, src_joints[:, ankles])


def contact_preserving_root(
    rel_ankles: Tensor, trans: Tensor, contacts: Tensor, src_ankles: Tensor
) -> Tensor:
    """Root translation [T, 3] keeping planted feet in place, for a body whose ankles with zero root
    translation are ``rel_ankles`` [T, 2, 3]; ``trans`` [T, 3] the (scaled) source translation used
    while no foot is in contact; ``src_ankles`` [T, 2, 3] (source) pick the stiller foot when both touch."""
    n = rel_ankles.shape[0]
    rel = rel_ankles.numpy()  # [T, 2, 3]
    src = src_ankles.numpy()
    c = contacts.numpy()
    d = np.zeros((n, 3))
    if n > 1:
        tr = trans.numpy()
        d[1:] = tr[1:] - tr[:-1]
        both = c[1:] & c[:-1]  # [T-1, 2] foot in contact at t-1 and t
        speed = np.linalg.norm(src[1:] - src[:-1], axis=-1)  # [T-1, 2]
        speed = np.where(both, speed, np.inf)
        foot = speed.argmin(-1)
        has = both.any(-1)
        idx = np.arange(n - 1)
        planted = rel[idx, foot] - rel[idx + 1, foot]
        d[1:, :2][has] = planted[has, :2]  # horizontal only: heights follow the source (grounded later)
    out = np.cumsum(d, axis=0) + trans.numpy()[0]
    return torch.from_numpy(out)
