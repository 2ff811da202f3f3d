"""Tracked-body states: the robot's simulated bodies plus its extended bodies (hands, head).

Frames: world frame, quaternions (w, x, y, z). Body order = ``RobotSpec.tracked_body_names``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from hover.robots import RobotSpec
from hover.rotations import quat_rotate


@dataclass
class BodyState:
    """Poses and velocities of tracked bodies, [N, B, ...], world frame."""

    pos: Tensor  # [N, B, 3] (m)
    quat: Tensor  # [N, B, 4] wxyz
    lin_vel: Tensor  # [N, B, 3] (m/s)
    ang_vel: Tensor  # [N, B, 3] (rad/s)

    def index(self, ids: Tensor | list[int] | slice) -> BodyState:
        """Select bodies (second dimension)."""
        return BodyState(self.pos[:, ids], self.quat[:, ids], self.lin_vel[:, ids], self.ang_vel[:, ids])


class ExtendedBodies:
    """Adds the robot's extended bodies (rigid offsets from a parent body) to simulated body states."""

    def __init__(
        self, robot: RobotSpec, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
    ):
        names = robot.body_names
        self.parents = torch.tensor([names.index(e.parent) for e in robot.extended_bodies], device=device)
        self.offsets = torch.tensor(
            [e.pos for e in robot.extended_bodies], device=device, dtype=dtype
        ).reshape(-1, 3)

    def __call__(self, pos: Tensor, quat: Tensor, lin_vel: Tensor, ang_vel: Tensor) -> BodyState:
        """Extend simulated bodies [N, B, ...] to [N, B + E, ...]: p = p_parent + R r, v = v_parent + w x R r."""
        pq = quat[:, self.parents]
        w = ang_vel[:, self.parents]
        r = quat_rotate(pq, self.offsets.expand(pq.shape[0], -1, -1))
        return BodyState(
            pos=torch.cat((pos, pos[:, self.parents] + r), dim=1),
            quat=torch.cat((quat, pq), dim=1),
            lin_vel=torch.cat((lin_vel, lin_vel[:, self.parents] + torch.cross(w, r, dim=-1)), dim=1),
            ang_vel=torch.cat((ang_vel, w), dim=1),
        )
