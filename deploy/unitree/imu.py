"""IMU on the H1 torso -> pelvis (root) orientation and angular velocity.

The H1's IMU sits on ``torso_link``, which turns about the pelvis z axis by the torso joint angle
``theta`` (rad) at rate ``theta_dot`` (rad/s); the policy observes the pelvis. With R_t, R_p the
world orientations of torso and pelvis, R_t = R_p Rz(theta), so

- pelvis orientation: q_p = q_t * qz(-theta)                     (wxyz, world frame)
- pelvis angular velocity in the pelvis frame: w_p = Rz(theta) w_t - theta_dot * z
  (w_t = gyroscope, torso/IMU frame; from w_t = Rz(-theta) w_p + theta_dot z).

The IMU frame is taken as aligned with the torso_link frame.
"""

from __future__ import annotations

import numpy as np


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        (
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ),
        axis=-1,
    )


def torso_imu_to_pelvis(
    torso_quat: np.ndarray, torso_gyro: np.ndarray, theta: np.ndarray | float, theta_dot: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """(pelvis quat wxyz [..., 4] world, pelvis angular velocity [..., 3] in the pelvis frame).

    ``torso_quat`` [..., 4] wxyz (world), ``torso_gyro`` [..., 3] rad/s (torso frame), ``theta``
    and ``theta_dot`` the torso joint angle (rad) and velocity (rad/s), broadcastable to [...].
    """
    q = np.asarray(torso_quat, dtype=np.float64)
    w = np.asarray(torso_gyro, dtype=np.float64)
    th = np.asarray(theta, dtype=np.float64)
    th_dot = np.asarray(theta_dot, dtype=np.float64)
    half = -0.5 * th
    qz = np.stack((np.cos(half), np.zeros_like(half), np.zeros_like(half), np.sin(half)), axis=-1)
    pelvis_quat = _quat_mul(q, np.broadcast_to(qz, q.shape))
    c, s = np.cos(th), np.sin(th)
    wx, wy, wz = np.moveaxis(w, -1, 0)
    pelvis_gyro = np.stack((c * wx - s * wy, s * wx + c * wy, wz - th_dot), axis=-1)
    return pelvis_quat, pelvis_gyro
