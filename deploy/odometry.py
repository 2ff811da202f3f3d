"""Leg odometry: the pelvis position from joint angles and the IMU orientation, feet on flat ground.

What the onboard runner knows each tick is enough: joint positions (rad, ``robot.joint_names`` order)
and the pelvis orientation from the IMU (quaternion w, x, y, z; its world frame is z up, with a yaw
that drifts). Forward kinematics (the model of :class:`hover.kinematics.ForwardKinematics`, evaluated
along the root-to-foot chains only by :class:`LegChainFK`; root at the origin, root orientation = the
IMU's) gives each foot (``robot.feet``, the H1's ankle links) relative to the pelvis, in world axes.
Feet taken as fixed on a flat floor at z = 0 (stance) carry the pelvis:

- *stance weights*: each foot's weight is the product of two ramps, 1 -> 0: its sole height above the
  lower sole (``height_full_m`` -> ``height_zero_m``; a foot's sole is the lowest point of its
  collision capsules, ``robot`` geoms, so a foot rolling onto its toes still counts as down) and its
  horizontal speed relative to the pelvis in excess of the slower foot's (``slip_full_m_s`` ->
  ``slip_zero_m_s``: a quick shuffle step that lifts the foot a few mm, or a foot sliding, moves much
  faster than the planted one, while a pelvis swaying over two planted feet moves both alike).
  Weights are normalised to sum 1; when neither foot qualifies the lower foot alone stands. Both feet
  down: the mean of the two; one foot up: the other one. The weights change continuously (the ramps
  take the place of a hysteresis), so there is no hard stance switch to chatter and the estimate never
  jumps;
- *horizontal position*: the weighted stance feet stay put in the world, so each tick the pelvis xy
  moves by minus the weighted mean of the feet's xy displacement relative to the pelvis (one stance
  foot: pelvis = its fixed world position - its offset from the pelvis);
- *height*: pelvis z = minus the lowest sole point relative to the pelvis (the lower sole rests on the
  floor). In the H1's default pose that is 0.981 m (ankle links 0.070 m above the floor), where
  ``hover sim2sim`` places the robot; ``robot.root_init_height`` (1.0 m) is a spawn height 1.9 cm
  above that, so it is not used.

:meth:`LegOdometry.reset` puts the pelvis at the origin in x, y (or at a given point) on the next
update. Frames: *odometry world* = the IMU's world axes (yaw drifts with the IMU) with the origin on
the floor where the last reset put the pelvis; all positions in metres. Drift grows with every
step a foot slips; walking is dead reckoning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from hover.kinematics import ForwardKinematics
from hover.robots import RobotSpec
from hover.rotations import quat_to_matrix, yaw_from_quat


class RootEstimator(Protocol):
    """What a world anchor needs of a root estimate: :class:`LegOdometry`, or in simulation the true pose."""

    position: np.ndarray | None  # [3] pelvis (m, odometry world); None before the first update
    yaw: float | None  # rad, pelvis heading in the same frame

    def update(self, joint_pos: np.ndarray, root_quat: np.ndarray, dt: float | None = None) -> np.ndarray:
        """One tick's reading (joint angles rad, pelvis quaternion wxyz, s since the last); the position."""
        ...


def yaw_of(quat: np.ndarray) -> float:
    """Yaw (rad, about world z) of a quaternion (w, x, y, z) (:func:`hover.rotations.yaw_from_quat`)."""
    return float(yaw_from_quat(torch.as_tensor(np.asarray(quat, dtype=np.float64).reshape(4))))


def usable_reading(joint_pos: np.ndarray, root_quat: np.ndarray) -> bool:
    """Joint angles and IMU quaternion are finite and the quaternion is not ~0 (odometry can use them)."""
    q = np.asarray(root_quat, dtype=np.float64)
    return bool(np.all(np.isfinite(joint_pos)) and np.all(np.isfinite(q)) and float(q @ q) > 1e-6)


def foot_capsules(robot: RobotSpec) -> list[list[tuple[np.ndarray, float]]]:
    """Per foot of ``robot.feet``: its capsules as (endpoints [2, 3] in the foot body frame (m), radius (m))."""
    out = []
    for name in robot.feet:
        body = next(b for b in robot.bodies if b.name == name)
        caps = [
            (np.array(g.fromto, dtype=np.float64).reshape(2, 3), float(g.size[0]))
            for g in body.geoms
            if g.type == "capsule" and g.fromto is not None
        ]
        if not caps:
            raise ValueError(f"{robot.name}: foot {name} has no capsule geom to stand on")
        out.append(caps)
    return out


def rotation_matrix(quat: np.ndarray) -> np.ndarray:
    """Rotation matrices [..., 3, 3] (numpy float64) of unit quaternions [..., 4] (w, x, y, z)
    (:func:`hover.rotations.quat_to_matrix`)."""
    return quat_to_matrix(torch.as_tensor(np.asarray(quat, dtype=np.float64))).numpy()


class LegChainFK:
    """Forward kinematics of the bodies from the root to ``robot.feet`` only, in numpy float64.

    The model (body offsets, orientations, joint axes) is that of :class:`hover.kinematics.ForwardKinematics`
    (same results, tested); only the bodies on the root-to-foot chains are computed, with rotation
    matrices, which keeps a 50 Hz update cheap. Root at the origin with orientation ``root_quat``: the
    outputs are relative to the pelvis in world axes.
    """

    def __init__(self, robot: RobotSpec) -> None:
        fk = ForwardKinematics(robot, dtype=torch.float64)
        self.parents = list(fk.parents)
        self.local_pos = fk.local_pos.numpy().copy()  # [B, 3] m, in the parent's frame
        self.local_rot = rotation_matrix(fk.local_quat.numpy())  # [B, 3, 3]
        self.joint_of_body = list(fk.joint_of_body)
        axes = fk.axes.numpy()
        # cross-product matrices of the joint axes: R(angle) = I + sin K + (1 - cos) K^2 (Rodrigues)
        k = np.zeros((len(axes), 3, 3))
        k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axes[:, 2], axes[:, 1], -axes[:, 0]
        k[:, 1, 0], k[:, 2, 0], k[:, 2, 1] = axes[:, 2], -axes[:, 1], axes[:, 0]
        self.axis_k, self.axis_k2 = k, k @ k
        names = robot.body_names
        self.foot_bodies = [names.index(f) for f in robot.feet]
        chain: set[int] = set()
        for body in self.foot_bodies:
            while body >= 0:
                chain.add(body)
                body = self.parents[body]
        self.chain = sorted(chain)  # parents come before children in robot.bodies

    def __call__(self, joint_pos: np.ndarray, root_quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feet positions [..., F, 3] (m) and rotation matrices [..., F, 3, 3] relative to the pelvis, world
        axes; ``joint_pos`` [..., J] rad (``robot.joint_names`` order), ``root_quat`` [..., 4] unit wxyz."""
        batch = np.shape(root_quat)[:-1]
        pos: dict[int, np.ndarray] = {}
        rot: dict[int, np.ndarray] = {}
        eye = np.eye(3)
        for i in self.chain:
            parent = self.parents[i]
            if parent < 0:
                pos[i], rot[i] = np.zeros((*batch, 3)), rotation_matrix(root_quat)
                continue
            pr = rot[parent]
            pos[i] = pos[parent] + pr @ self.local_pos[i]
            r = pr @ self.local_rot[i]
            j = self.joint_of_body[i]
            if j >= 0:
                angle = np.asarray(joint_pos[..., j])[..., None, None]
                r = r @ (eye + np.sin(angle) * self.axis_k[i] + (1.0 - np.cos(angle)) * self.axis_k2[i])
            rot[i] = r
        return (
            np.stack([pos[b] for b in self.foot_bodies], axis=-2),
            np.stack([rot[b] for b in self.foot_bodies], axis=-3),
        )


def ramp(x: np.ndarray, full: float, zero: float) -> np.ndarray:
    """1 for ``x <= full``, 0 for ``x >= zero``, linear in between (``full < zero``)."""
    return np.clip((zero - x) / (zero - full), 0.0, 1.0)


@dataclass(frozen=True)
class OdometryConfig:
    """How much each foot counts as fixed on the floor (module docstring): heights in m above the lower
    sole, speeds in m/s relative to the pelvis in excess of the slower foot's."""

    height_full_m: float = 0.003
    """a sole up to this above the lower one: full stance weight (both feet down; a few mm of noise)"""
    height_zero_m: float = 0.010
    """a sole this far above the lower one: no stance weight (the foot swings)"""
    slip_full_m_s: float = 0.1
    """a foot moving up to this much faster than the other (relative to the pelvis): full weight"""
    slip_zero_m_s: float = 0.3
    """this much faster: no weight (a shuffle step that barely lifts, or a foot sliding)"""
    nominal_dt: float = 0.02
    """s between updates when ``update`` is given no ``dt`` (the runner's 50 Hz)"""

    def __post_init__(self) -> None:
        if not (
            0.0 <= self.height_full_m < self.height_zero_m and 0.0 <= self.slip_full_m_s < self.slip_zero_m_s
        ):
            raise ValueError(f"odometry thresholds need full < zero: {self}")
        if not self.nominal_dt > 0:
            raise ValueError(f"odometry nominal_dt must be positive, got {self.nominal_dt}")


class LegOdometry:
    """The pelvis position in the odometry world frame (module docstring), updated once per tick."""

    def __init__(self, robot: RobotSpec, config: OdometryConfig | None = None) -> None:
        self.robot = robot
        self.config = config or OdometryConfig()
        self.fk = LegChainFK(robot)
        self.feet = tuple(robot.feet)
        self.capsules = foot_capsules(robot)
        self.reset()

    def reset(self, xy: tuple[float, float] = (0.0, 0.0)) -> None:
        """Forget the feet; the next :meth:`update` puts the pelvis at ``xy`` (m, odometry world)."""
        self._reset_xy = np.asarray(xy, dtype=np.float64).reshape(2)
        self._prev: np.ndarray | None = None  # [F, 2] ankle links rel. the pelvis at the last update (m)
        self.position: np.ndarray | None = None  # [3] pelvis (odometry world, m); None before an update
        self.yaw: float | None = None  # rad, of the last IMU orientation
        self.weights = np.zeros(len(self.feet))  # [F] stance weights of the last update, sum 1
        self.updates = 0

    @property
    def contact(self) -> tuple[str, ...]:
        """Names of the feet with stance weight >= 0.5 at the last update (those taken as fixed)."""
        return tuple(f for f, w in zip(self.feet, self.weights, strict=True) if w >= 0.5 - 1e-12)

    def feet_offsets(self, joint_pos: np.ndarray, root_quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feet relative to the pelvis in world axes: ankle link positions [..., F, 3] and sole heights
        [..., F] (the lowest capsule point's z), m. ``joint_pos`` [..., J] rad, ``root_quat`` [..., 4] wxyz."""
        q = np.asarray(root_quat, dtype=np.float64)
        q = q / np.linalg.norm(q, axis=-1, keepdims=True)
        pos, rot = self.fk(np.asarray(joint_pos, dtype=np.float64), q)
        soles = []
        for f, caps in enumerate(self.capsules):
            zs = [pos[..., f, 2] + rot[..., f, 2, :] @ end - radius for ends, radius in caps for end in ends]
            soles.append(np.min(np.stack(zs, axis=-1), axis=-1))
        return pos, np.stack(soles, axis=-1)

    def stance_weights(self, sole: np.ndarray, speed: np.ndarray) -> np.ndarray:
        """[F] weights (sum 1) of the feet taken as fixed, from sole heights [F] (m) and horizontal speeds
        relative to the pelvis [F] (m/s); the lower foot alone when no foot qualifies."""
        c = self.config
        w = ramp(sole - sole.min(), c.height_full_m, c.height_zero_m)
        w = w * ramp(speed - speed.min(), c.slip_full_m_s, c.slip_zero_m_s)
        if w.sum() < 1e-9:
            w = np.zeros_like(sole)
            w[int(np.argmin(sole))] = 1.0
        return w / w.sum()

    def update(self, joint_pos: np.ndarray, root_quat: np.ndarray, dt: float | None = None) -> np.ndarray:
        """One tick: ``joint_pos`` [J] (rad, ``robot.joint_names`` order), ``root_quat`` [4] (IMU pelvis
        orientation, w, x, y, z), ``dt`` s since the last update (None or <= 0: ``config.nominal_dt``).
        Returns the pelvis position [3] (m, odometry world; a copy).

        A reading with a non-finite value (or a zero quaternion) leaves the estimate as it was (before
        the first good one: ``ValueError``), so one bad IMU sample cannot poison the estimate."""
        joint_pos = np.asarray(joint_pos, dtype=np.float64)
        root_quat = np.asarray(root_quat, dtype=np.float64)
        if joint_pos.shape != (self.robot.num_joints,) or root_quat.shape != (4,):
            raise ValueError(
                f"odometry wants joint_pos [{self.robot.num_joints}] and root_quat [4], "
                f"got {joint_pos.shape} and {root_quat.shape}"
            )
        if not usable_reading(joint_pos, root_quat):
            if self.position is None:
                raise ValueError("odometry: the first reading is not finite")
            return self.position.copy()
        ankle, sole = self.feet_offsets(joint_pos, root_quat)
        offsets = ankle[:, :2]
        if self.position is None or self._prev is None:
            xy = self._reset_xy.copy()
            self.weights = self.stance_weights(sole, np.zeros(len(self.feet)))
        else:
            step = offsets - self._prev  # [F, 2] how each foot moved relative to the pelvis
            period = dt if dt is not None and dt > 0 else self.config.nominal_dt
            self.weights = self.stance_weights(sole, np.linalg.norm(step, axis=-1) / period)
            xy = self.position[:2] - self.weights @ step  # the weighted stance feet stay put
        self._prev = offsets
        self.position = np.array([xy[0], xy[1], -float(sole.min())])
        self.yaw = yaw_of(root_quat)
        self.updates += 1
        return self.position.copy()


__all__ = [
    "LegChainFK",
    "LegOdometry",
    "OdometryConfig",
    "RootEstimator",
    "foot_capsules",
    "ramp",
    "rotation_matrix",
    "usable_reading",
    "yaw_of",
]
