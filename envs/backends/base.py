"""The simulator-backend interface: physics only, no task logic.

A backend simulates ``num_envs`` independent copies (worlds) of one robot and exchanges torch
tensors with the task. Frames: positions and velocities in the world frame (z up); quaternions
(w, x, y, z); root angular velocity in the world frame. Body order = ``RobotSpec.body_names``;
joint order = ``RobotSpec.joint_names``.

Control: ``step(targets)`` runs ``decimation`` physics steps; at every physics step the joint
torque is ``kp * kp_scale * (target - q) - kd * kd_scale * qdot + torque_noise``, clipped to
the joint effort limit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields

import torch
from torch import Tensor

from hover.robots import RobotSpec


@dataclass
class SimState:
    """Batched robot state; every tensor has leading dimension num_envs."""

    root_pos: Tensor  # [N, 3] pelvis position, world (m)
    root_quat: Tensor  # [N, 4] pelvis orientation, world, wxyz
    root_lin_vel: Tensor  # [N, 3] world (m/s)
    root_ang_vel: Tensor  # [N, 3] world (rad/s)
    joint_pos: Tensor  # [N, J] (rad)
    joint_vel: Tensor  # [N, J] (rad/s)
    body_pos: Tensor  # [N, B, 3] body frame origins, world (m)
    body_quat: Tensor  # [N, B, 4] world, wxyz
    body_lin_vel: Tensor  # [N, B, 3] velocity of the body frame origin, world (m/s)
    body_ang_vel: Tensor  # [N, B, 3] world (rad/s)
    contact_forces: Tensor  # [N, B, 3] net contact force on each body, world (N)
    joint_torque: Tensor  # [N, J] torque applied by the actuators at the last physics step (N m)

    def clone(self) -> SimState:
        return SimState(**{f.name: getattr(self, f.name).clone() for f in fields(self)})


@dataclass
class PhysicsParams:
    """Per-env physical parameters (domain randomisation). Defaults mean 'as modelled'."""

    friction: Tensor  # [N] floor/foot sliding friction coefficient
    body_mass_scale: Tensor  # [N, B] multiplies each body's mass (and inertia)
    torso_com_offset: Tensor  # [N, 3] added to the torso centre of mass, body frame (m)
    kp_scale: Tensor  # [N, J]
    kd_scale: Tensor  # [N, J]
    torque_noise: Tensor  # [N, J] constant torque added to each actuator (N m)

    @staticmethod
    def nominal(
        num_envs: int, num_bodies: int, num_joints: int, device: str | torch.device = "cpu"
    ) -> PhysicsParams:
        ones = torch.ones
        return PhysicsParams(
            friction=ones(num_envs, device=device),
            body_mass_scale=ones(num_envs, num_bodies, device=device),
            torso_com_offset=torch.zeros(num_envs, 3, device=device),
            kp_scale=ones(num_envs, num_joints, device=device),
            kd_scale=ones(num_envs, num_joints, device=device),
            torque_noise=torch.zeros(num_envs, num_joints, device=device),
        )

    def index(self, env_ids: Tensor) -> PhysicsParams:
        return PhysicsParams(**{f.name: getattr(self, f.name)[env_ids] for f in fields(self)})


class SimBackend(ABC):
    """N worlds of one robot. Concrete backends: MuJoCo CPU (``mujoco``), MuJoCo Warp (``mjwarp``)."""

    robot: RobotSpec
    num_envs: int
    device: torch.device
    physics_dt: float
    decimation: int

    @property
    def control_dt(self) -> float:
        return self.physics_dt * self.decimation

    @abstractmethod
    def reset_envs(
        self,
        env_ids: Tensor,
        root_pos: Tensor,
        root_quat: Tensor,
        root_lin_vel: Tensor,
        root_ang_vel: Tensor,
        joint_pos: Tensor,
        joint_vel: Tensor,
    ) -> None:
        """Teleport envs ``env_ids`` [n] to the given state (shapes [n, ...], frames as in SimState)."""

    @abstractmethod
    def step(self, joint_targets: Tensor) -> None:
        """Hold PD targets [N, J] (rad) for ``decimation`` physics steps."""

    @abstractmethod
    def get_state(self) -> SimState:
        """Current state of all envs (tensors on ``device``; callers must not modify them)."""

    @abstractmethod
    def set_physics_params(self, env_ids: Tensor, params: PhysicsParams) -> None:
        """Set the physical parameters of envs ``env_ids`` (params indexed like env_ids)."""

    @abstractmethod
    def push(self, env_ids: Tensor, root_lin_vel_delta: Tensor) -> None:
        """Add a world-frame velocity change [n, 3] (m/s) to the root of envs ``env_ids``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release threads/devices. Safe to call twice."""
