"""Policy joint order <-> Unitree motor slots, motor modes and unused-slot placeholders.

The policy (and MuJoCo) order is ``robot.joint_names``; the hardware order is the 20 slots of
``LowCmd_.motor_cmd`` / ``LowState_.motor_state``, given per joint by ``Joint.motor_index``.
Strong motors (legs, torso on the H1) take mode ``robot.strong_motor_mode`` (0x0A), weak motors
(ankles, arms) ``robot.weak_motor_mode`` (0x01). A slot no joint uses gets mode 0, zero gains and
the SDK's stop placeholders q = PosStopF (2.146e9), dq = VelStopF (16000.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any  # the unitree_go messages: cyclonedds IDL fields carry no static types

import numpy as np

from hover.robots import RobotSpec

POS_STOP_F = 2.146e9
VEL_STOP_F = 16000.0


@dataclass(frozen=True)
class MotorMap:
    """Index arrays between the J policy joints and the S hardware slots."""

    joint_names: tuple[str, ...]
    slot_of_joint: np.ndarray  # [J] int: hardware slot of policy joint j
    joint_of_slot: np.ndarray  # [S] int: policy joint in slot s, -1 when unused
    mode_of_slot: np.ndarray  # [S] uint8: motor mode sent when the slot is driven (0 for unused)

    @property
    def num_slots(self) -> int:
        return int(self.joint_of_slot.shape[0])

    @property
    def unused_slots(self) -> np.ndarray:
        return np.flatnonzero(self.joint_of_slot < 0)

    @classmethod
    def from_robot(cls, robot: RobotSpec) -> MotorMap:
        if not robot.num_motor_slots:
            raise ValueError(f"{robot.name}: the robot description has no motor slots (num_motor_slots = 0)")
        slots = np.array([j.motor_index for j in robot.joints], dtype=np.int64)
        if (
            (slots < 0).any()
            or len(set(slots.tolist())) != len(slots)
            or slots.max() >= robot.num_motor_slots
        ):
            raise ValueError(f"{robot.name}: motor indices must be unique in [0, {robot.num_motor_slots})")
        joint_of_slot = np.full(robot.num_motor_slots, -1, dtype=np.int64)
        joint_of_slot[slots] = np.arange(len(slots))
        modes = np.zeros(robot.num_motor_slots, dtype=np.uint8)
        for j, joint in zip(slots, robot.joints, strict=True):
            modes[j] = robot.strong_motor_mode if joint.strong_motor else robot.weak_motor_mode
        return cls(tuple(robot.joint_names), slots, joint_of_slot, modes)

    def to_slots(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Policy-order [J] -> hardware-order [S] (unused slots = ``fill``)."""
        out = np.full(self.num_slots, fill, dtype=np.float64)
        out[self.slot_of_joint] = values
        return out

    def from_slots(self, values: np.ndarray) -> np.ndarray:
        """Hardware-order [S] -> policy-order [J]."""
        return np.asarray(values)[self.slot_of_joint]


def fill_low_cmd(
    msg: Any,
    motor_map: MotorMap,
    q: np.ndarray,
    kp: np.ndarray,
    kd: np.ndarray,
    dq: np.ndarray | None = None,
    tau: np.ndarray | None = None,
) -> Any:
    """Write policy-order targets [J] (rad, rad/s, N m; gains N m/rad, N m s/rad) into ``msg.motor_cmd``.

    Driven slots get their motor mode; unused slots the stop placeholders with zero gains. The CRC
    is not set here (set it right before writing). Returns ``msg``.
    """
    j = len(motor_map.joint_names)
    zeros = np.zeros(j)
    columns = [
        np.asarray(a, dtype=np.float64).reshape(j)
        for a in (q, zeros if dq is None else dq, zeros if tau is None else tau, kp, kd)
    ]
    q_s, dq_s, tau_s, kp_s, kd_s = (motor_map.to_slots(c).tolist() for c in columns)
    modes = motor_map.mode_of_slot.tolist()
    joint_of_slot = motor_map.joint_of_slot.tolist()
    for s, cmd in enumerate(msg.motor_cmd):
        if joint_of_slot[s] < 0:
            cmd.mode, cmd.q, cmd.dq, cmd.tau, cmd.kp, cmd.kd = 0, POS_STOP_F, VEL_STOP_F, 0.0, 0.0, 0.0
        else:
            cmd.mode, cmd.q, cmd.dq, cmd.tau, cmd.kp, cmd.kd = (
                modes[s],
                q_s[s],
                dq_s[s],
                tau_s[s],
                kp_s[s],
                kd_s[s],
            )
    return msg


def read_motor_state(msg: Any, motor_map: MotorMap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Policy-order joint angle, velocity and estimated torque [J] from ``msg.motor_state``."""
    states = msg.motor_state
    arr = np.array([(m.q, m.dq, m.tau_est) for m in states], dtype=np.float64)
    q, dq, tau = (motor_map.from_slots(arr[:, k]) for k in range(3))
    return q, dq, tau
