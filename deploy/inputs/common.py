"""Small helpers shared by the input sources: robot/layout resolution and tensor <-> numpy glue."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from hover.commands.layout import CommandLayout, command_layout
from hover.deploy.inputs.base import CommandSample
from hover.robots import DEFAULT_ROBOT, RobotSpec, get_robot


def resolve_robot(
    robot: RobotSpec | str | None, layout: CommandLayout | None
) -> tuple[RobotSpec, CommandLayout]:
    """``robot`` (spec, registered name or None = DEFAULT_ROBOT) and its command layout (given or built)."""
    spec = get_robot(robot or DEFAULT_ROBOT) if not isinstance(robot, RobotSpec) else robot
    lay = layout or command_layout(spec)
    if tuple(lay.joint_names) != tuple(spec.joint_names):
        raise ValueError(f"command layout of {lay.robot_name!r} does not match robot {spec.name!r}")
    return spec, lay


def default_height(robot: RobotSpec, height: float | None) -> float:
    """Pelvis height command (m): ``height`` if given, else the robot's standing root height."""
    return float(robot.root_init_height if height is None else height)


def row(x: np.ndarray | list[float], dtype: torch.dtype = torch.float64) -> Tensor:
    """A numpy vector as a [1, n] tensor (one robot = a batch of one)."""
    return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype).reshape(1, -1)


def to_sample(command: Tensor, mask: Tensor, mode: str, stamp: float) -> CommandSample:
    """[1, C] command and [1, M] mask -> a CommandSample of float32 numpy vectors."""
    cmd = command.detach().reshape(-1).to(torch.float32).cpu().numpy().copy()
    m = mask.detach().reshape(-1).to(torch.float32).cpu().numpy().copy()
    return CommandSample(command=cmd, mask=m, mode=mode, stamp=float(stamp))


def finite(*values: float) -> bool:
    return all(math.isfinite(float(v)) for v in values)


def yaw_quat(yaw: float) -> np.ndarray:
    """wxyz quaternion of a rotation by ``yaw`` (rad) about z."""
    return np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])
