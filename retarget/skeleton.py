"""The SMPL skeleton (24 joints); its correspondence with a robot's bodies is ``RobotSpec.retarget_pairs``.

Frames:
- SMPL body frame (the template's rest frame): y up, the body faces +z, its left is +x.
- AMASS world frame: z up. AMASS stores root orientations that already map the SMPL body frame into
  this z-up world, so a person standing upright and facing world +x has the root rotation
  ``SMPL_TO_ROBOT_AXES`` (a 120 deg turn about (1, 1, 1)).
- Robot frames: x forward, y left, z up. The robot pelvis orientation matching a human root rotation
  ``R`` is ``R * SMPL_TO_ROBOT_AXES^-1``.

Human forward kinematics here reproduces what ``smplx`` computes for the joints (``lbs`` rigid
transforms of the shaped rest joints), without the vertex skinning, so long clips stay cheap.
"""

from __future__ import annotations

import torch
from torch import Tensor

SMPL_JOINT_NAMES: tuple[str, ...] = (
    "Pelvis", "L_Hip", "R_Hip", "Spine1", "L_Knee", "R_Knee", "Spine2", "L_Ankle", "R_Ankle", "Spine3",
    "L_Foot", "R_Foot", "Neck", "L_Collar", "R_Collar", "Head", "L_Shoulder", "R_Shoulder", "L_Elbow",
    "R_Elbow", "L_Wrist", "R_Wrist", "L_Hand", "R_Hand",
)  # fmt: skip
SMPL_PARENTS: tuple[int, ...] = (
    -1,
    0,
    0,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    9,
    9,
    12,
    13,
    14,
    16,
    17,
    18,
    19,
    20,
    21,
)
NUM_SMPL_JOINTS = 24

# Bone chains that may get their own length scale in the shape fit: SMPL joints whose offset from
# their parent belongs to the chain.
BONE_CHAINS: dict[str, tuple[str, ...]] = {
    "legs": ("L_Knee", "R_Knee", "L_Ankle", "R_Ankle", "L_Foot", "R_Foot"),
    "hips": ("L_Hip", "R_Hip"),
    "spine": ("Spine1", "Spine2", "Spine3", "Neck", "Head", "L_Collar", "R_Collar"),
    "shoulders": ("L_Shoulder", "R_Shoulder"),
    "arms": ("L_Elbow", "R_Elbow", "L_Wrist", "R_Wrist", "L_Hand", "R_Hand"),
}

# wxyz rotation taking robot axes (x fwd, y left, z up) to SMPL body axes (z fwd, x left, y up).
SMPL_TO_ROBOT_AXES = (0.5, 0.5, 0.5, 0.5)


def joint_index(name: str) -> int:
    return SMPL_JOINT_NAMES.index(name)


def chain_of_joint() -> list[str | None]:
    """Chain name of each SMPL joint's parent bone (None for the root)."""
    out: list[str | None] = [None] * NUM_SMPL_JOINTS
    for chain, joints in BONE_CHAINS.items():
        for j in joints:
            out[joint_index(j)] = chain
    return out


def rotvec_to_matrix(rotvec: Tensor, eps: float = 1e-8) -> Tensor:
    """Rodrigues formula: axis-angle [..., 3] (rad) -> rotation matrices [..., 3, 3]; gradient-safe at 0."""
    angle2 = (rotvec * rotvec).sum(-1, keepdim=True)
    angle = torch.sqrt(angle2 + eps * eps)
    small = angle2 < 1e-6
    a = torch.where(small, 1.0 - angle2 / 6.0, torch.sin(angle) / angle).unsqueeze(-1)
    b = torch.where(small, 0.5 - angle2 / 24.0, (1.0 - torch.cos(angle)) / (angle * angle)).unsqueeze(-1)
    x, y, z = rotvec.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack((zero, -z, y, z, zero, -x, -y, x, zero), -1).reshape(rotvec.shape[:-1] + (3, 3))
    eye = torch.eye(3, dtype=rotvec.dtype, device=rotvec.device).expand_as(k)
    return eye + a * k + b * (k @ k)


def smpl_forward_kinematics(rest_joints: Tensor, pose_aa: Tensor, trans: Tensor) -> tuple[Tensor, Tensor]:
    """Posed SMPL joints: world positions [..., 24, 3] and global rotations [..., 24, 3, 3].

    ``rest_joints`` [24, 3] or [..., 24, 3]: shaped rest joints in the SMPL body frame (m);
    ``pose_aa`` [..., 24, 3]: local axis-angle rotations (root first, in the world frame);
    ``trans`` [..., 3]: root translation (m, world). Equal to ``smplx.SMPL(...).joints[:, :24]``.
    """
    rot = rotvec_to_matrix(pose_aa)
    rest = rest_joints.expand(pose_aa.shape[:-2] + (NUM_SMPL_JOINTS, 3))
    pos: list[Tensor] = []
    glob: list[Tensor] = []
    for i, parent in enumerate(SMPL_PARENTS):
        if parent < 0:
            glob.append(rot[..., 0, :, :])
            pos.append(rest[..., 0, :] + trans)
        else:
            offset = rest[..., i, :] - rest[..., parent, :]
            glob.append(glob[parent] @ rot[..., i, :, :])
            pos.append(pos[parent] + (glob[parent] @ offset.unsqueeze(-1)).squeeze(-1))
    return torch.stack(pos, -2), torch.stack(glob, -3)


def stand_pose() -> Tensor:
    """H2O's matching rest pose as SMPL axis-angle [24, 3]: upright, facing world +x, arms down, forearms
    forward (the H1 zero pose), in the z-up world frame."""
    from hover.rotations import quat_from_euler_xyz, quat_to_rotvec

    pose = torch.zeros(NUM_SMPL_JOINTS, 3, dtype=torch.float64)
    pose[0] = quat_to_rotvec(torch.tensor(SMPL_TO_ROBOT_AXES, dtype=torch.float64))
    half = torch.pi / 2
    for name, euler in (
        ("L_Shoulder", (0.0, 0.0, -half)),
        ("R_Shoulder", (0.0, 0.0, half)),
        ("L_Elbow", (0.0, -half, 0.0)),
        ("R_Elbow", (0.0, half, 0.0)),
    ):
        pose[joint_index(name)] = quat_to_rotvec(
            quat_from_euler_xyz(torch.tensor(euler, dtype=torch.float64))
        )
    return pose
