"""The student's observation: what a real robot can compute, plus the masked command and its mask.

One class, :class:`StudentObservation`, builds it in the training env, in sim2sim and on the robot,
so the three cannot drift apart. Torch tensors, batched ``[N, ...]`` (a robot is ``N = 1``).

Layout (H1: J = 19, command 95, mask 49, history 25; 1782 dims in all), in this order:

==============  =====================  ============================================================
term            dims (H1)              meaning (units, frame)
==============  =====================  ============================================================
proprio         2J + 6 = 44            joint_pos - default (rad), joint_vel (rad/s), base angular
                                       velocity (rad/s, pelvis frame), projected gravity (unit
                                       vector of world -z in the pelvis frame)
command         95                     masked command (:mod:`hover.commands.layout`), masked-out
                                       columns exactly 0
mask            49                     the mask (0/1)
last_action     J = 19                 the previous policy action (unscaled, before ``action_scale``)
history         25 x (44 + 19) = 1575  the previous 25 steps' (proprio, action) frames, newest
                                       first: frame k = (proprio at t-k, action taken at t-k)
==============  =====================  ============================================================

Per control step: ``obs = so.compute(proprio_t, command_t, mask_t)``, act, then
``so.record(proprio_t, action_t)``. At a reset the history is filled with the current proprio and a
zero action (a robot standing still has a consistent past), and the last action is zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from hover.commands.layout import command_layout
from hover.robots import DEFAULT_ROBOT, RobotSpec, get_robot

HISTORY_LENGTH = 25
"""Steps of (proprio, action) history in the student observation (the paper's 25)."""


@dataclass(frozen=True)
class StudentObsLayout:
    """Sizes and order of the student observation (see the module docstring)."""

    num_joints: int
    command_dim: int
    mask_dim: int
    history_length: int = HISTORY_LENGTH
    root_frame: str = "root"  # name of the robot's root body: the frame of base_ang_vel and projected_gravity

    @property
    def proprio_dim(self) -> int:
        return 2 * self.num_joints + 6

    @property
    def frame_dim(self) -> int:
        """One history frame: proprio then the action taken in that step."""
        return self.proprio_dim + self.num_joints

    @property
    def obs_dim(self) -> int:
        return (
            self.proprio_dim
            + self.command_dim
            + self.mask_dim
            + self.num_joints
            + self.history_length * self.frame_dim
        )

    def sizes(self) -> dict[str, int]:
        """Term name -> size, in observation order."""
        return {
            "proprio": self.proprio_dim,
            "command": self.command_dim,
            "mask": self.mask_dim,
            "last_action": self.num_joints,
            "history": self.history_length * self.frame_dim,
        }

    def slices(self) -> dict[str, slice]:
        """Term name -> columns of the observation, in order."""
        out, start = {}, 0
        for name, size in self.sizes().items():
            out[name] = slice(start, start + size)
            start += size
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (export metadata)."""
        j = self.num_joints
        return {
            "obs_dim": self.obs_dim,
            "history_length": self.history_length,
            "frame_dim": self.frame_dim,
            "terms": [{"name": k, "start": s.start, "stop": s.stop} for k, s in self.slices().items()],
            "proprio_terms": [
                {"name": "joint_pos_minus_default", "size": j, "unit": "rad"},
                {"name": "joint_vel", "size": j, "unit": "rad/s"},
                {"name": "base_ang_vel", "size": 3, "unit": "rad/s", "frame": self.root_frame},
                {"name": "projected_gravity", "size": 3, "unit": "1", "frame": self.root_frame},
            ],
            "history_frame": "proprio then action, newest first",
        }


def student_obs_layout(
    robot: RobotSpec | str = DEFAULT_ROBOT, history_length: int = HISTORY_LENGTH
) -> StudentObsLayout:
    """The student observation layout of a robot (command and mask sizes from its command layout)."""
    robot = get_robot(robot) if isinstance(robot, str) else robot
    cl = command_layout(robot)
    return StudentObsLayout(robot.num_joints, cl.command_dim, cl.mask_dim, history_length, robot.root.name)


def proprioception(
    joint_pos: Tensor,
    joint_vel: Tensor,
    default_joint_pos: Tensor,
    base_ang_vel: Tensor,
    projected_gravity: Tensor,
) -> Tensor:
    """Proprio term [N, 2J + 6].

    ``joint_pos``, ``joint_vel`` [N, J] (rad, rad/s; ``robot.joint_names`` order); ``default_joint_pos``
    [J] or [N, J] rad; ``base_ang_vel`` [N, 3] rad/s and ``projected_gravity`` [N, 3], both in the pelvis
    frame (``hover.rotations.quat_rotate_inverse`` / ``projected_gravity`` of the pelvis quaternion).
    """
    return torch.cat((joint_pos - default_joint_pos, joint_vel, base_ang_vel, projected_gravity), dim=-1)


class StudentObservation:
    """Per-env history of (proprio, action) frames, newest first, and the last action.

    ``history`` [N, history_length, frame_dim]; ``last_action`` [N, J].
    """

    def __init__(
        self,
        num_envs: int,
        layout: StudentObsLayout,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.layout = layout
        self.num_envs = num_envs
        self.history = torch.zeros(
            num_envs, layout.history_length, layout.frame_dim, device=device, dtype=dtype
        )
        self.last_action = torch.zeros(num_envs, layout.num_joints, device=device, dtype=dtype)

    def _check(self, name: str, t: Tensor, size: int) -> None:
        if t.shape != (self.num_envs, size):
            raise ValueError(
                f"student observation: {name} has shape {tuple(t.shape)}, expected ({self.num_envs}, {size})"
            )

    def reset(self, env_ids: Tensor | None, proprio: Tensor) -> None:
        """Start ``env_ids`` (None = all) afresh: history = (current proprio, zero action), last action 0.

        ``proprio`` [N, proprio_dim] for all envs (only the rows of ``env_ids`` are used).
        """
        self._check("proprio", proprio, self.layout.proprio_dim)
        ids = slice(None) if env_ids is None else env_ids
        frame = torch.cat((proprio[ids], torch.zeros_like(self.last_action[ids])), dim=-1)
        self.history[ids] = frame.unsqueeze(1).to(self.history)
        self.last_action[ids] = 0.0

    def compute(self, proprio: Tensor, masked_command: Tensor, mask: Tensor) -> Tensor:
        """Observation [N, obs_dim]; the state is unchanged. ``masked_command`` must already be masked."""
        lay = self.layout
        self._check("proprio", proprio, lay.proprio_dim)
        self._check("command", masked_command, lay.command_dim)
        self._check("mask", mask, lay.mask_dim)
        parts = (proprio, masked_command, mask, self.last_action, self.history.flatten(1))
        return torch.cat([p.to(self.history) for p in parts], dim=-1)

    def record(self, proprio: Tensor, action: Tensor) -> None:
        """After acting at step t: push (proprio_t, action_t) as the newest frame; last action = action_t."""
        self._check("proprio", proprio, self.layout.proprio_dim)
        self._check("action", action, self.layout.num_joints)
        frame = torch.cat((proprio, action), dim=-1).to(self.history)
        self.history = torch.cat((frame.unsqueeze(1), self.history[:, :-1]), dim=1)
        self.last_action = action.to(self.last_action).clone()
