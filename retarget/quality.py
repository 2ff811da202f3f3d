"""Grounding by the lowest collision-geometry point, and per-clip quality figures.

All positions are world frame (m), z up; quaternions wxyz. Geometry comes from ``RobotSpec.bodies[i].geoms``:
capsule end points and spheres carry their radius; boxes contribute their corners; cylinders points on
their end circles.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor

from hover.robots import RobotSpec
from hover.rotations import quat_normalize, quat_rotate


class GeomPoints:
    """Support points of the robot's collision geometry: body index, local position (m), radius (m)."""

    def __init__(
        self, robot: RobotSpec, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
    ):
        bodies, points, radii = [], [], []
        for bi, body in enumerate(robot.bodies):
            for g in body.geoms:
                for p, r in _support_points(g):
                    bodies.append(bi)
                    points.append(p)
                    radii.append(r)
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        self.body = torch.tensor(bodies, dtype=torch.long, device=device)
        self.local = torch.tensor(points, **kw)
        self.radius = torch.tensor(radii, **kw)
        feet = [robot.body_names.index(f) for f in robot.feet]
        self.foot_masks = [self.body == f for f in feet]

    def heights(self, body_pos: Tensor, body_quat: Tensor) -> Tensor:
        """Lowest z of each support point's geometry [..., P] for body poses [..., B, 3/4]."""
        pos = body_pos[..., self.body, :] + quat_rotate(
            body_quat[..., self.body, :], self.local.expand(body_pos.shape[:-2] + self.local.shape)
        )
        return pos[..., 2] - self.radius

    def lowest(self, body_pos: Tensor, body_quat: Tensor) -> Tensor:
        """Lowest point height [...] over all geometry (m)."""
        return self.heights(body_pos, body_quat).min(-1).values

    def foot_lowest(self, body_pos: Tensor, body_quat: Tensor) -> Tensor:
        """Lowest point height of each foot [..., num_feet] (m)."""
        h = self.heights(body_pos, body_quat)
        return torch.stack([h[..., m].min(-1).values for m in self.foot_masks], -1)


def _support_points(g) -> list[tuple[tuple[float, float, float], float]]:
    def rot(v: tuple[float, float, float]) -> tuple[float, float, float]:
        q = torch.tensor(g.quat, dtype=torch.float64)
        out = quat_rotate(quat_normalize(q), torch.tensor(v, dtype=torch.float64))
        x, y, z = (float(x) + float(c) for x, c in zip(out, g.pos, strict=True))
        return x, y, z

    if g.type == "sphere":
        return [(tuple(g.pos), g.size[0])]
    if g.type == "capsule":
        if g.fromto is not None:
            return [(tuple(g.fromto[:3]), g.size[0]), (tuple(g.fromto[3:]), g.size[0])]
        return [(rot((0, 0, -g.size[1])), g.size[0]), (rot((0, 0, g.size[1])), g.size[0])]
    if g.type == "box":
        hx, hy, hz = g.size
        return [(rot((sx * hx, sy * hy, sz * hz)), 0.0) for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]
    if g.type == "cylinder":
        r = g.size[0]
        if g.fromto is not None:
            a = torch.tensor(g.fromto[:3], dtype=torch.float64)
            b = torch.tensor(g.fromto[3:], dtype=torch.float64)
            axis = (b - a) / (b - a).norm()
            helper = (
                torch.tensor([1.0, 0, 0], dtype=torch.float64)
                if abs(axis[0]) < 0.9
                else torch.tensor([0, 1.0, 0], dtype=torch.float64)
            )
            u = torch.linalg.cross(axis, helper)
            u = u / u.norm()
            v = torch.linalg.cross(axis, u)
            return [
                (tuple((e + r * (math.cos(k) * u + math.sin(k) * v)).tolist()), 0.0)
                for e in (a, b)
                for k in [i * math.pi / 8 for i in range(16)]
            ]
        h = g.size[1]
        return [
            (rot((r * math.cos(k), r * math.sin(k), s * h)), 0.0)
            for s in (-1, 1)
            for k in [i * math.pi / 8 for i in range(16)]
        ]
    raise ValueError(f"unknown geom type {g.type!r}")


def soft_snap(height: Tensor, band: float) -> Tensor:
    """Vertical correction [...] that brings lowest-point heights ``height`` >= 0 inside ``band`` towards 0.

    New height = h - h * max(0, 1 - h / band) = h^2 / band for h < band: continuous, monotonic, exact at 0
    and at the band edge (a jump higher than ``band`` stays airborne)."""
    if band <= 0:
        return torch.zeros_like(height)
    return height * torch.clamp(1.0 - height / band, min=0.0)


@dataclass
class ClipQuality:
    """Quality figures of one retargeted clip (m, rad, m/s)."""

    name: str
    frames: int
    mean_keypoint_error_m: float
    max_keypoint_error_m: float
    joint_limit_hits: int  # frame x joint entries within 1e-3 rad of a limit
    joint_limit_hit_fraction: float
    lowest_point_min_m: float  # over frames, lowest collision point height (grounding: ~0)
    lowest_point_max_m: float
    foot_penetration_max_m: float  # deepest foot point below z = 0
    foot_sliding_mean_m_s: float  # mean horizontal speed of the supporting foot (lower foot, < 2 cm)
    foot_sliding_max_m_s: float
    self_penetration_frames: int = -1  # frames where two robot bodies interpenetrate > 2 mm (-1: not checked)
    self_penetration_max_m: float = 0.0
    joint_velocity_max_ratio: float = 0.0  # fastest joint speed (finite differences) / its velocity limit
    joint_velocity_over_limit_frames: int = 0  # frames where some joint is faster than its velocity limit

    def as_dict(self) -> dict:
        return asdict(self)


def foot_sliding(
    foot_pos: Tensor, foot_low: Tensor, fps: float, contact_height: float = 0.02
) -> tuple[float, float]:
    """Mean and max horizontal speed (m/s) of the supporting foot.

    ``foot_pos`` [T, F, 3] foot body positions, ``foot_low`` [T, F] their lowest point heights. The
    supporting foot of a frame is the lower one; it counts when it is the same foot in two consecutive
    frames and lower than ``contact_height`` (m) in both."""
    if foot_pos.shape[0] < 2:
        return 0.0, 0.0
    support = foot_low.argmin(-1)
    idx = torch.arange(foot_pos.shape[0] - 1, device=foot_pos.device)
    f = support[:-1]
    valid = (support[1:] == f) & (foot_low[idx, f] < contact_height) & (foot_low[idx + 1, f] < contact_height)
    if not valid.any():
        return 0.0, 0.0
    speed = (foot_pos[idx + 1, f, :2] - foot_pos[idx, f, :2]).norm(dim=-1) * fps
    return float(speed[valid].mean()), float(speed[valid].max())


def joint_velocity_check(robot: RobotSpec, joint_pos: Tensor, fps: float) -> tuple[float, int]:
    """(fastest joint speed / its velocity limit over the clip, frames where some joint exceeds its limit);
    speeds by finite differences of ``joint_pos`` [T, J] (rad) at ``fps``."""
    if joint_pos.shape[0] < 2:
        return 0.0, 0
    limit = torch.tensor(
        [j.velocity_limit for j in robot.joints], dtype=joint_pos.dtype, device=joint_pos.device
    )
    ratio = (joint_pos[1:] - joint_pos[:-1]).abs() * fps / limit
    return float(ratio.max()), int((ratio > 1.0).any(-1).sum())


def clip_quality(
    name: str,
    robot: RobotSpec,
    fps: float,
    joint_pos: Tensor,
    keypoint_err: Tensor,
    body_pos: Tensor,
    body_quat: Tensor,
    geoms: GeomPoints,
    heights: Tensor | None = None,
) -> ClipQuality:
    """Quality of one clip: ``keypoint_err`` [T, K] (m), FK poses [T, B, ...] after grounding;
    ``heights`` [T, P]: :meth:`GeomPoints.heights` of these poses if already computed."""
    lo = torch.tensor([j.range[0] for j in robot.joints], dtype=joint_pos.dtype, device=joint_pos.device)
    hi = torch.tensor([j.range[1] for j in robot.joints], dtype=joint_pos.dtype, device=joint_pos.device)
    hits = ((joint_pos - lo) < 1e-3) | ((hi - joint_pos) < 1e-3)
    h = geoms.heights(body_pos, body_quat) if heights is None else heights
    lowest = h.min(-1).values
    foot_low = torch.stack([h[..., m].min(-1).values for m in geoms.foot_masks], -1)
    feet = [robot.body_names.index(f) for f in robot.feet]
    slide_mean, slide_max = foot_sliding(body_pos[:, feet], foot_low, fps)
    vel_ratio, vel_over = joint_velocity_check(robot, joint_pos, fps)
    return ClipQuality(
        name=name,
        frames=int(joint_pos.shape[0]),
        mean_keypoint_error_m=float(keypoint_err.mean()),
        max_keypoint_error_m=float(keypoint_err.max()),
        joint_limit_hits=int(hits.sum()),
        joint_limit_hit_fraction=float(hits.float().mean()),
        lowest_point_min_m=float(lowest.min()),
        lowest_point_max_m=float(lowest.max()),
        foot_penetration_max_m=float(torch.clamp(-foot_low.min(), min=0.0)),
        foot_sliding_mean_m_s=slide_mean,
        foot_sliding_max_m_s=slide_max,
        joint_velocity_max_ratio=vel_ratio,
        joint_velocity_over_limit_frames=vel_over,
    )


class SelfCollisionChecker:
    """Robot self-penetration per frame with MuJoCo's collision detection (the simulation model, whose
    contact exclusions apply; floor contacts ignored)."""

    def __init__(self, robot: RobotSpec, tolerance: float = 0.002):
        import mujoco

        from hover.robots.mjcf import ModelOptions, build_model

        self.mujoco = mujoco
        self.model = build_model(robot, ModelOptions())
        self.data = mujoco.MjData(self.model)
        self.tolerance = tolerance

    def check(self, root_pos, root_quat, joint_pos) -> tuple[int, float]:
        """(frames with a self-penetration deeper than the tolerance, deepest penetration in m) of a clip
        given as numpy arrays [T, 3], [T, 4] (wxyz), [T, J]."""
        mj, m, d = self.mujoco, self.model, self.data
        frames, deepest = 0, 0.0
        for t in range(len(root_pos)):
            d.qpos[:3], d.qpos[3:7], d.qpos[7:] = root_pos[t], root_quat[t], joint_pos[t]
            mj.mj_kinematics(m, d)
            mj.mj_collision(m, d)
            worst = 0.0
            for i in range(d.ncon):
                c = d.contact[i]
                if m.geom_bodyid[c.geom1] == 0 or m.geom_bodyid[c.geom2] == 0:
                    continue  # floor
                worst = max(worst, -float(c.dist))
            frames += worst > self.tolerance
            deepest = max(deepest, worst)
        return int(frames), deepest
