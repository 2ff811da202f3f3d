"""Decoding a unitree_go ``LowState_`` into what the policy side needs, and building a ``LowCmd_``.

:func:`decode_low_state` gives joint states in the policy order, the pelvis orientation and
angular velocity (the H1's IMU is on the torso: rotated into the pelvis frame with the torso joint,
see ``imu.py``), the remote and the robot tick. :func:`encode_low_cmd` fills motor slots, modes
and placeholders (``motors.py``) and sets the CRC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any  # the unitree_go messages: cyclonedds IDL fields carry no static types

import numpy as np

from hover.deploy.unitree.imu import torso_imu_to_pelvis
from hover.deploy.unitree.motors import MotorMap, fill_low_cmd, read_motor_state
from hover.deploy.unitree.packing import set_crc
from hover.deploy.unitree.remote import RemoteState, parse_remote
from hover.robots import RobotSpec


@dataclass
class LowStateView:
    """One decoded LowState_: joints in policy order, pelvis IMU, remote, tick."""

    joint_pos: np.ndarray  # [J] rad
    joint_vel: np.ndarray  # [J] rad/s
    joint_tau: np.ndarray  # [J] N m (estimated)
    pelvis_quat: np.ndarray  # [4] wxyz, world (IMU reference) frame
    pelvis_ang_vel: np.ndarray  # [3] rad/s, pelvis frame
    imu_quat: np.ndarray  # [4] wxyz as measured (IMU body)
    imu_gyro: np.ndarray  # [3] rad/s as measured (IMU body frame)
    accelerometer: np.ndarray  # [3] m/s^2, IMU body frame
    remote: RemoteState
    tick: int  # ms, robot clock


class H1LowLevel:
    """Policy order <-> Unitree messages for a robot whose IMU is on ``robot.imu_body``."""

    def __init__(self, robot: RobotSpec):
        self.robot = robot
        self.motor_map = MotorMap.from_robot(robot)
        imu = next((b for b in robot.bodies if b.name == robot.imu_body), None)
        # the joint that turns the IMU's body about the root's z axis (the H1's torso joint); None: IMU on the root
        self.imu_joint = None if imu is None or imu.joint is None else robot.joint_index(imu.joint.name)

    def decode_low_state(self, msg: Any) -> LowStateView:
        q, dq, tau = read_motor_state(msg, self.motor_map)
        imu = msg.imu_state
        quat = np.asarray(imu.quaternion, dtype=np.float64)
        gyro = np.asarray(imu.gyroscope, dtype=np.float64)
        if self.imu_joint is None:
            pelvis_quat, pelvis_gyro = quat, gyro
        else:
            pelvis_quat, pelvis_gyro = torso_imu_to_pelvis(quat, gyro, q[self.imu_joint], dq[self.imu_joint])
        return LowStateView(
            joint_pos=q,
            joint_vel=dq,
            joint_tau=tau,
            pelvis_quat=pelvis_quat,
            pelvis_ang_vel=pelvis_gyro,
            imu_quat=quat,
            imu_gyro=gyro,
            accelerometer=np.asarray(imu.accelerometer, dtype=np.float64),
            remote=parse_remote(bytes(msg.wireless_remote)),
            tick=int(msg.tick),
        )

    def encode_low_cmd(
        self,
        msg: Any,
        q: np.ndarray,
        kp: np.ndarray,
        kd: np.ndarray,
        dq: np.ndarray | None = None,
        tau: np.ndarray | None = None,
    ) -> Any:
        """Fill ``msg`` (a LowCmd_) from policy-order targets and gains and set its CRC.

        Raises ValueError when any value is NaN or infinite: nothing non-finite is ever encoded.
        """
        for name, v in (("q", q), ("kp", kp), ("kd", kd), ("dq", dq), ("tau", tau)):
            if v is not None and not np.all(np.isfinite(v)):
                raise ValueError(f"LowCmd_ {name} holds a non-finite value: {np.asarray(v).tolist()}")
        return set_crc(fill_low_cmd(msg, self.motor_map, q, kp, kd, dq, tau))
