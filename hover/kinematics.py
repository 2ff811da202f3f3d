"""Batched, differentiable forward kinematics of a RobotSpec (bodies + extended bodies) in torch.

Frames: inputs and outputs are in the world frame; quaternions (w, x, y, z).
Output body order is ``RobotSpec.tracked_body_names`` (real bodies, then extended bodies).
Extended bodies carry their parent's orientation.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from hover.robots.spec import RobotSpec
from hover.rotations import quat_from_axis_angle, quat_mul, quat_normalize, quat_rotate


class BodyPoses(NamedTuple):
    pos: Tensor  # [..., num_tracked, 3] world positions (m)
    quat: Tensor  # [..., num_tracked, 4] world orientations (wxyz)


class ForwardKinematics:
    """FK of one robot; tensors live on ``device`` with ``dtype``."""

    def __init__(
        self, robot: RobotSpec, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
    ):
        self.robot = robot
        self.device = torch.device(device)
        self.dtype = dtype
        kw: dict[str, Any] = {"device": self.device, "dtype": dtype}
        self.parents = robot.parent_indices()
        self.local_pos = torch.tensor([b.pos for b in robot.bodies], **kw)
        # MuJoCo normalises the (rounded) quaternions of the description when compiling: do the same.
        self.local_quat = quat_normalize(torch.tensor([b.quat for b in robot.bodies], **kw))
        joint_of_body = []
        axes = []
        j = 0
        for b in robot.bodies:
            if b.joint is None:
                joint_of_body.append(-1)
                axes.append((0.0, 0.0, 1.0))
            else:
                joint_of_body.append(j)
                axes.append(b.joint.axis)
                j += 1
        self.joint_of_body = joint_of_body
        self.axes = torch.tensor(axes, **kw)
        names = robot.body_names
        self.ext_parent = [names.index(e.parent) for e in robot.extended_bodies]
        self.ext_offset = torch.tensor([e.pos for e in robot.extended_bodies], **kw).reshape(-1, 3)

    def to(self, device: str | torch.device, dtype: torch.dtype | None = None) -> ForwardKinematics:
        return ForwardKinematics(self.robot, device, dtype or self.dtype)

    def __call__(self, root_pos: Tensor, root_quat: Tensor, joint_pos: Tensor) -> BodyPoses:
        """Body poses for root position [..., 3], root quaternion [..., 4] and joint angles [..., J] (rad)."""
        batch = joint_pos.shape[:-1]
        pos: list[Tensor] = []
        quat: list[Tensor] = []
        for i, parent in enumerate(self.parents):
            if parent < 0:
                p, q = root_pos, root_quat
            else:
                pq = quat[parent]
                p = pos[parent] + quat_rotate(pq, self.local_pos[i].expand(*batch, 3))
                q = quat_mul(pq, self.local_quat[i].expand(*batch, 4))
                j = self.joint_of_body[i]
                if j >= 0:
                    q = quat_mul(q, quat_from_axis_angle(self.axes[i].expand(*batch, 3), joint_pos[..., j]))
            pos.append(p)
            quat.append(q)
        for parent, offset in zip(self.ext_parent, self.ext_offset, strict=True):
            pos.append(pos[parent] + quat_rotate(quat[parent], offset.expand(*batch, 3)))
            quat.append(quat[parent])
        return BodyPoses(torch.stack(pos, dim=-2), torch.stack(quat, dim=-2))
