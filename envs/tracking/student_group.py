"""The student's observation group of the tracking env: episode masks, masked command, history.

The env owns one :class:`StudentObsGroup` when ``cfg.student.enabled``. Per env step:
``compute(state, ref)`` after the physics step (it also starts the history of envs reset since the
last call), and ``record(actions)`` when the policy's actions arrive. Everything is built with the
same pieces a robot uses: :mod:`hover.commands` for the command and mask, and
:class:`hover.student.StudentObservation` for proprioception + history.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hover.commands import EpisodeMasks, MaskSamplerConfig, apply_mask, command_from_reference, command_layout
from hover.envs.backends.base import SimState
from hover.envs.tracking.config import StudentObsConfig
from hover.motion.library import MotionState
from hover.robots import RobotSpec
from hover.rotations import projected_gravity, quat_rotate_inverse
from hover.student import StudentObservation, proprioception, student_obs_layout


class StudentObsGroup:
    """Masks (fixed per episode, switchable), commands and the history of every env."""

    def __init__(
        self,
        cfg: StudentObsConfig,
        robot: RobotSpec,
        num_envs: int,
        generator: torch.Generator,
        device: torch.device,
    ) -> None:
        self.cfg = cfg
        self.layout = command_layout(robot)
        self.obs_layout = student_obs_layout(robot, cfg.history_length)
        sampler = MaskSamplerConfig(modes=tuple(cfg.modes), sparsity=cfg.sparsity)
        self.masks = EpisodeMasks(num_envs, self.layout, generator, sampler, device)
        self.history = StudentObservation(num_envs, self.obs_layout, device)
        self.default_joint_pos = torch.tensor([j.default_pos for j in robot.joints], device=device)
        self._pending = torch.ones(num_envs, dtype=torch.bool, device=device)
        self._proprio = torch.zeros(num_envs, self.obs_layout.proprio_dim, device=device)

    def reset(self, env_ids: Tensor) -> None:
        """New episodes: draw masks now; the history restarts at the next :meth:`compute`."""
        self.masks.reset(env_ids)
        self._pending[env_ids] = True

    def set_mode(self, env_ids: Tensor, mode: str) -> None:
        """Run-time mode switch: only the mask of ``env_ids`` changes."""
        self.masks.set_mode(env_ids, mode)

    def proprio(self, state: SimState) -> Tensor:
        """[N, 44] from the simulator state, as a robot would measure it (pelvis-frame IMU)."""
        ang_vel = quat_rotate_inverse(state.root_quat, state.root_ang_vel)
        return proprioception(
            state.joint_pos,
            state.joint_vel,
            self.default_joint_pos,
            ang_vel,
            projected_gravity(state.root_quat),
        )

    def command(self, state: SimState, ref: MotionState) -> Tensor:
        """Masked command [N, 95] tracking ``ref`` from the robot's current state."""
        full = command_from_reference(ref, state.root_pos, state.root_quat, state.joint_pos, self.layout)
        return apply_mask(full, self.masks.masks, self.layout)

    def compute(self, state: SimState, ref: MotionState) -> Tensor:
        """The observation [N, obs_dim] at the current state; restarts histories of reset envs."""
        proprio = self.proprio(state)
        if bool(self._pending.any()):
            ids = self._pending.nonzero().flatten()
            self.history.reset(ids, proprio)
            self._pending[ids] = False
        self._proprio = proprio
        return self.history.compute(proprio, self.command(state, ref), self.masks.masks)

    def record(self, actions: Tensor) -> None:
        """Push (proprio of the last observation, the actions taken on it) into the history."""
        self.history.record(self._proprio, actions)
