"""Rotation helpers on batched torch tensors. Quaternions are (w, x, y, z) and unit length.

All functions broadcast over leading dimensions; the last dimension holds the 4 (quat) or 3 (vector)
components. A "heading" frame is the yaw-only rotation of a body about world z.
"""

from __future__ import annotations

import torch
from torch import Tensor


def quat_mul(a: Tensor, b: Tensor) -> Tensor:
    """Hamilton product a * b (apply b first, then a)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        (
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ),
        dim=-1,
    )


def quat_conjugate(q: Tensor) -> Tensor:
    return torch.cat((q[..., :1], -q[..., 1:]), dim=-1)


def quat_normalize(q: Tensor, eps: float = 1e-9) -> Tensor:
    return q / q.norm(dim=-1, keepdim=True).clamp_min(eps)


def quat_rotate(q: Tensor, v: Tensor) -> Tensor:
    """Rotate vectors v by unit quaternions q."""
    w = q[..., :1]
    u = q[..., 1:]
    t = 2.0 * torch.cross(u, v, dim=-1)
    return v + w * t + torch.cross(u, t, dim=-1)


def quat_rotate_inverse(q: Tensor, v: Tensor) -> Tensor:
    """Rotate vectors v by the inverse of q (world -> body frame when q is body-to-world)."""
    return quat_rotate(quat_conjugate(q), v)


def quat_from_axis_angle(axis: Tensor, angle: Tensor) -> Tensor:
    """Quaternion of a rotation by ``angle`` (rad, shape [...]) about unit ``axis`` ([..., 3])."""
    half = 0.5 * angle.unsqueeze(-1)
    return torch.cat((torch.cos(half), torch.sin(half) * axis), dim=-1)


def quat_from_rotvec(rotvec: Tensor, eps: float = 1e-8) -> Tensor:
    """Quaternion from an axis-angle vector (angle = norm, rad)."""
    angle = rotvec.norm(dim=-1, keepdim=True)
    half = 0.5 * angle
    # sin(x/2)/x with a Taylor expansion near zero keeps gradients finite.
    k = torch.where(angle > eps, torch.sin(half) / angle.clamp_min(eps), 0.5 - angle**2 / 48.0)
    return torch.cat((torch.cos(half), k * rotvec), dim=-1)


def quat_to_rotvec(q: Tensor, eps: float = 1e-8) -> Tensor:
    """Axis-angle vector of q (angle in [0, pi])."""
    q = torch.where(q[..., :1] < 0, -q, q)
    s = q[..., 1:].norm(dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(s, q[..., :1])
    k = torch.where(s > eps, angle / s.clamp_min(eps), 2.0 + 0.0 * s)
    return k * q[..., 1:]


def quat_to_matrix(q: Tensor) -> Tensor:
    """Rotation matrices [..., 3, 3] of unit quaternions."""
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        (
            1 - 2 * (y * y + z * z),
            2 * (x * y - w * z),
            2 * (x * z + w * y),
            2 * (x * y + w * z),
            1 - 2 * (x * x + z * z),
            2 * (y * z - w * x),
            2 * (x * z - w * y),
            2 * (y * z + w * x),
            1 - 2 * (x * x + y * y),
        ),
        dim=-1,
    ).reshape(q.shape[:-1] + (3, 3))


def matrix_to_quat(m: Tensor) -> Tensor:
    """Unit quaternions (w >= 0) of rotation matrices [..., 3, 3] (numerically stable branch choice)."""
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    candidates = torch.stack(
        (
            torch.stack((1 + m00 + m11 + m22, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                         m[..., 1, 0] - m[..., 0, 1]), -1),
            torch.stack((m[..., 2, 1] - m[..., 1, 2], 1 + m00 - m11 - m22, m[..., 0, 1] + m[..., 1, 0],
                         m[..., 0, 2] + m[..., 2, 0]), -1),
            torch.stack((m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0], 1 - m00 + m11 - m22,
                         m[..., 1, 2] + m[..., 2, 1]), -1),
            torch.stack((m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1],
                         1 - m00 - m11 + m22), -1),
        ),
        dim=-2,
    )  # fmt: skip
    diag = torch.stack((m00 + m11 + m22, m00, m11, m22), dim=-1)
    best = diag.argmax(dim=-1, keepdim=True)
    q = torch.gather(candidates, -2, best.unsqueeze(-1).expand(*best.shape[:-1], 1, 4)).squeeze(-2)
    q = quat_normalize(q)
    return torch.where(q[..., :1] < 0, -q, q)


def quat_to_tan_norm(q: Tensor) -> Tensor:
    """6D rotation representation: the first two columns of the rotation matrix, [..., 6]."""
    m = quat_to_matrix(q)
    return torch.cat((m[..., :, 0], m[..., :, 1]), dim=-1)


def quat_slerp(q0: Tensor, q1: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation, t in [0, 1] with shape [...] or [..., 1]; shortest path."""
    if t.dim() == q0.dim() - 1:
        t = t.unsqueeze(-1)
    dot = (q0 * q1).sum(-1, keepdim=True)
    q1 = torch.where(dot < 0, -q1, q1)
    dot = dot.abs().clamp(max=1.0)
    theta = torch.acos(dot)
    sin_theta = torch.sin(theta)
    near = sin_theta < 1e-6
    safe = torch.where(near, torch.ones_like(sin_theta), sin_theta)
    w0 = torch.where(near, 1.0 - t, torch.sin((1.0 - t) * theta) / safe)
    w1 = torch.where(near, t, torch.sin(t * theta) / safe)
    return quat_normalize(w0 * q0 + w1 * q1)


def quat_to_euler_xyz(q: Tensor) -> Tensor:
    """(roll, pitch, yaw) in rad of q = Rz(yaw) Ry(pitch) Rx(roll)."""
    w, x, y, z = q.unbind(-1)
    roll = torch.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = torch.asin((2 * (w * y - z * x)).clamp(-1.0, 1.0))
    yaw = torch.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return torch.stack((roll, pitch, yaw), dim=-1)


def quat_from_euler_xyz(euler: Tensor) -> Tensor:
    """Inverse of :func:`quat_to_euler_xyz`."""
    roll, pitch, yaw = euler.unbind(-1)
    cr, sr = torch.cos(roll / 2), torch.sin(roll / 2)
    cp, sp = torch.cos(pitch / 2), torch.sin(pitch / 2)
    cy, sy = torch.cos(yaw / 2), torch.sin(yaw / 2)
    return torch.stack(
        (
            cr * cp * cy + sr * sp * sy,
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
        ),
        dim=-1,
    )


def yaw_from_quat(q: Tensor) -> Tensor:
    """Heading angle (rad) of the body x axis projected on the world xy plane."""
    w, x, y, z = q.unbind(-1)
    return torch.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def heading_quat(q: Tensor) -> Tensor:
    """Yaw-only quaternion with the same heading as q."""
    yaw = yaw_from_quat(q)
    zero = torch.zeros_like(yaw)
    return torch.stack((torch.cos(yaw / 2), zero, zero, torch.sin(yaw / 2)), dim=-1)


def heading_quat_inverse(q: Tensor) -> Tensor:
    """Inverse heading rotation: maps world vectors into the body's heading frame."""
    return quat_conjugate(heading_quat(q))


def projected_gravity(q: Tensor) -> Tensor:
    """World gravity direction (0, 0, -1) expressed in the body frame of q."""
    g = torch.zeros(q.shape[:-1] + (3,), dtype=q.dtype, device=q.device)
    g[..., 2] = -1.0
    return quat_rotate_inverse(q, g)


def wrap_to_pi(angle: Tensor) -> Tensor:
    return torch.remainder(angle + torch.pi, 2 * torch.pi) - torch.pi


def quat_angle_between(a: Tensor, b: Tensor) -> Tensor:
    """Rotation angle (rad, in [0, pi]) of a^-1 b."""
    dot = (a * b).sum(-1).abs().clamp(max=1.0)
    return 2.0 * torch.acos(dot)


def angular_velocity_from_quats(q0: Tensor, q1: Tensor, dt: float | Tensor) -> Tensor:
    """World-frame angular velocity (rad/s) taking q0 to q1 in dt seconds (a number or a broadcastable tensor)."""
    dq = quat_mul(q1, quat_conjugate(q0))
    return quat_to_rotvec(dq) / dt
