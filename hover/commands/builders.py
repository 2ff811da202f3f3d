"""Command builders: a reference motion state, a joystick, or VR head/hand points -> command [N, command_dim].

All inputs are batched torch tensors with a leading env dimension N; quaternions (w, x, y, z);
world frame = z up, the frame of the simulator or motion library. The layout of the output is
:mod:`hover.commands.layout`. The robot's *heading frame* is the yaw-only rotation of its root
(pelvis) about world z, centred at the root: x forward, y left, z up. Nothing here needs the robot's
global position except :func:`command_from_reference` (a reference motion lives in world
coordinates; the simulator knows the robot's) and the optional world-frame input of
:func:`command_from_vr`.

- :func:`command_from_reference` returns the full (unmasked) command; mask it with
  :func:`hover.commands.layout.apply_mask`.
- :func:`command_from_joystick` and :func:`command_from_vr` return ``(masked command, mask)`` with the
  ``locomotion`` / ``omnih2o`` mask; the slots they do not fill are zero.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from hover.commands.layout import CommandLayout, apply_mask, command_layout
from hover.commands.modes import mask_for_mode
from hover.robots import DEFAULT_ROBOT, get_robot
from hover.rotations import (
    heading_quat_inverse,
    quat_from_euler_xyz,
    quat_rotate,
    quat_rotate_inverse,
    quat_to_euler_xyz,
    wrap_to_pi,
    yaw_from_quat,
)

if TYPE_CHECKING:
    from hover.motion.library import MotionState


def body_commands(ref_body_pos: Tensor, robot_root_pos: Tensor, robot_root_quat: Tensor) -> Tensor:
    """[N, B*3]: (ref body pos - robot root pos), world -> robot heading frame, body-major x, y, z (m).

    ``ref_body_pos`` [N, B, 3] world; ``robot_root_pos`` [N, 3] world; ``robot_root_quat`` [N, 4] world.
    """
    inv = heading_quat_inverse(robot_root_quat)[:, None, :].expand(-1, ref_body_pos.shape[1], -1)
    rel = quat_rotate(inv, ref_body_pos - robot_root_pos[:, None, :])
    return rel.reshape(rel.shape[0], -1)


def root_commands(
    ref_root_pos: Tensor, ref_root_quat: Tensor, ref_root_lin_vel: Tensor, robot_root_quat: Tensor
) -> Tensor:
    """[N, 7]: ref root lin. velocity in the ref root frame (m/s), ref roll, ref pitch (rad),
    wrap(ref yaw - robot yaw) (rad), ref root height z (m). Inputs world frame."""
    vel = quat_rotate_inverse(ref_root_quat, ref_root_lin_vel)
    rpy = quat_to_euler_xyz(ref_root_quat)
    yaw_delta = wrap_to_pi(yaw_from_quat(ref_root_quat) - yaw_from_quat(robot_root_quat))
    return torch.cat((vel, rpy[:, :2], yaw_delta[:, None], ref_root_pos[:, 2:3]), dim=-1)


def _check_layout(layout: CommandLayout, n_bodies: int, n_joints: int) -> None:
    if (n_bodies, n_joints) != (layout.num_bodies, layout.num_joints):
        raise ValueError(
            f"state has {n_bodies} bodies and {n_joints} joints; the {layout.robot_name} command layout expects "
            f"{layout.num_bodies} and {layout.num_joints}"
        )


def command_from_reference(
    ref: MotionState,
    robot_root_pos: Tensor,
    robot_root_quat: Tensor,
    robot_joint_pos: Tensor,
    layout: CommandLayout | None = None,
) -> Tensor:
    """Full command [N, command_dim] tracking a reference state (e.g. ``MotionLibrary`` samples).

    ``ref``: world frame (root_pos, root_quat, root_lin_vel, joint_pos, body_pos [N, B, 3] used);
    robot: ``robot_root_pos`` [N, 3] and ``robot_root_quat`` [N, 4] world, ``robot_joint_pos`` [N, J] rad.
    Bodies: ref - robot root in the robot heading frame; joints: ref - robot (rad); root: :func:`root_commands`.
    Invariant to a common world yaw rotation and horizontal translation of robot and reference.
    """
    layout = layout or command_layout(DEFAULT_ROBOT)
    _check_layout(layout, ref.body_pos.shape[1], ref.joint_pos.shape[-1])
    bodies = body_commands(ref.body_pos, robot_root_pos, robot_root_quat)
    joints = ref.joint_pos - robot_joint_pos
    root = root_commands(ref.root_pos, ref.root_quat, ref.root_lin_vel, robot_root_quat)
    return torch.cat((bodies, joints, root), dim=-1)


def integrate_heading(target_yaw: Tensor, yaw_rate: Tensor, dt: float) -> Tensor:
    """Joystick yaw rate (rad/s) -> new target heading (rad, world, wrapped): target + rate * dt."""
    return wrap_to_pi(target_yaw + yaw_rate * dt)


def yaw_delta_to_target(target_yaw: Tensor, robot_root_quat: Tensor) -> Tensor:
    """wrap(target yaw - robot yaw) (rad): the root ``yaw_delta`` slot for a target heading.

    ``target_yaw`` and ``robot_root_quat`` in the same frame (on a robot: the IMU's yaw-drifting frame).
    """
    return wrap_to_pi(target_yaw - yaw_from_quat(robot_root_quat))


def command_from_joystick(
    lin_vel: Tensor,
    height: Tensor,
    yaw_delta: Tensor | None = None,
    roll: Tensor | None = None,
    pitch: Tensor | None = None,
    layout: CommandLayout | None = None,
) -> tuple[Tensor, Tensor]:
    """Locomotion command from joystick figures: ``(masked command [N, command_dim], mask [N, mask_dim])``.

    ``lin_vel`` [N, 2] or [N, 3]: desired root velocity (m/s) in the desired heading frame (x forward,
    y left, z up), converted here to the root frame tilted by ``roll``/``pitch`` as the layout wants.
    ``height`` [N] desired pelvis height (m). ``yaw_delta`` [N] rad, wrap(target - current heading), 0 =
    keep heading (turn with :func:`integrate_heading` + :func:`yaw_delta_to_target`); ``roll``/``pitch``
    [N] desired pelvis roll/pitch (rad, default 0). Mask: the ``locomotion`` mode (all 7 root elements).
    """
    layout = layout or command_layout(DEFAULT_ROBOT)
    n = lin_vel.shape[0]
    zeros = torch.zeros(n, dtype=lin_vel.dtype, device=lin_vel.device)
    if lin_vel.shape[-1] == 2:
        lin_vel = torch.cat((lin_vel, zeros[:, None]), dim=-1)
    elif lin_vel.shape[-1] != 3:
        raise ValueError(f"joystick lin_vel must be [N, 2] or [N, 3], got {tuple(lin_vel.shape)}")
    roll = zeros if roll is None else roll
    pitch = zeros if pitch is None else pitch
    yaw_delta = zeros if yaw_delta is None else yaw_delta
    tilt = quat_from_euler_xyz(torch.stack((roll, pitch, zeros), dim=-1))
    vel_root = quat_rotate_inverse(tilt, lin_vel)
    command = torch.zeros(n, layout.command_dim, dtype=lin_vel.dtype, device=lin_vel.device)
    command[:, layout.root_columns] = torch.cat(
        (vel_root, roll[:, None], pitch[:, None], yaw_delta[:, None], height.to(lin_vel)[:, None]), dim=-1
    )
    mask = (
        mask_for_mode("locomotion", layout, dtype=lin_vel.dtype, device=lin_vel.device).expand(n, -1).clone()
    )
    return apply_mask(command, mask, layout), mask


def command_from_vr(
    head_pos: Tensor,
    left_hand_pos: Tensor,
    right_hand_pos: Tensor,
    robot_root_pos: Tensor | None = None,
    robot_root_quat: Tensor | None = None,
    layout: CommandLayout | None = None,
) -> tuple[Tensor, Tensor]:
    """OmniH2O (VR) command from head and hand points: ``(masked command, mask)`` with the ``omnih2o`` mask.

    Positions [N, 3] m. Without ``robot_root_pos``/``robot_root_quat`` they are already relative to the
    robot root in its heading frame (x forward, y left, z up; e.g. a headset calibrated to the robot) and
    go into the slots unchanged. With both given, the points and the root pose are in one common world
    frame and are converted: heading_inverse(root quat) * (point - root pos).
    """
    layout = layout or command_layout(DEFAULT_ROBOT)
    if (robot_root_pos is None) != (robot_root_quat is None):
        raise ValueError("command_from_vr: give both robot_root_pos and robot_root_quat, or neither")
    names = get_robot(layout.robot_name).mode_bodies["omnih2o"]  # head, left hand, right hand
    points = torch.stack((head_pos, left_hand_pos, right_hand_pos), dim=1)  # [N, 3, 3]
    if robot_root_pos is not None and robot_root_quat is not None:
        points = body_commands(points, robot_root_pos, robot_root_quat).reshape(points.shape)
    n = points.shape[0]
    command = torch.zeros(n, layout.command_dim, dtype=points.dtype, device=points.device)
    for k, name in enumerate(names):
        i = layout.body_index(name)
        command[:, 3 * i : 3 * i + 3] = points[:, k]
    mask = mask_for_mode("omnih2o", layout, dtype=points.dtype, device=points.device).expand(n, -1).clone()
    return apply_mask(command, mask, layout), mask
