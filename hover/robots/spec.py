"""Robot description as plain data: the one source of truth for robot facts.

Conventions used everywhere in hover:
- lengths in metres, masses in kg, angles in rad, torques in N m;
- quaternions are (w, x, y, z);
- a body's ``pos``/``quat`` place its frame in its parent's frame (MuJoCo convention);
- bodies are listed parent-before-child in depth-first order, which is also
  MuJoCo's body order and (for single-hinge bodies) the joint order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]

IDENTITY_QUAT: Quat = (1.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Inertial:
    """Mass properties of a body: com position and principal-axes frame in the body frame."""

    mass: float
    com: Vec3
    quat: Quat
    diaginertia: Vec3


@dataclass(frozen=True)
class Geom:
    """A collision primitive. ``fromto`` (capsules/cylinders) or ``pos``/``quat`` + ``size``.

    ``size`` follows MuJoCo: sphere (r,), capsule/cylinder (r,) with fromto or (r, half_length),
    box (half_x, half_y, half_z).
    """

    type: Literal["sphere", "capsule", "cylinder", "box"]
    size: tuple[float, ...]
    pos: Vec3 = (0.0, 0.0, 0.0)
    quat: Quat = IDENTITY_QUAT
    fromto: tuple[float, float, float, float, float, float] | None = None
    name: str = ""


@dataclass(frozen=True)
class Joint:
    """A single-axis hinge with its actuator and control figures."""

    name: str
    axis: Vec3
    range: tuple[float, float]
    effort_limit: float
    velocity_limit: float
    kp: float
    kd: float
    default_pos: float = 0.0
    motor_index: int = -1
    strong_motor: bool = True
    damping: float = 1.0
    armature: float = 0.1


@dataclass(frozen=True)
class Body:
    """A rigid body; ``joint`` is None for the floating root and for welded bodies."""

    name: str
    parent: str | None
    pos: Vec3
    inertial: Inertial
    quat: Quat = IDENTITY_QUAT
    joint: Joint | None = None
    geoms: tuple[Geom, ...] = ()


@dataclass(frozen=True)
class ExtendedBody:
    """A massless point rigidly attached to a body (hands, head), with the parent's orientation."""

    name: str
    parent: str
    pos: Vec3


@dataclass(frozen=True)
class Site:
    name: str
    body: str
    pos: Vec3


@dataclass(frozen=True)
class RobotSpec:
    """Everything hover knows about a robot.

    ``tracked_bodies`` is the order used by commands, masks, observations and metrics:
    real bodies (by name) followed by extended bodies.
    """

    name: str
    bodies: tuple[Body, ...]
    extended_bodies: tuple[ExtendedBody, ...]
    root_init_height: float
    action_scale: float
    physics_dt: float
    decimation: int
    feet: tuple[str, ...]
    upper_body_joints: tuple[str, ...]
    termination_contact_bodies: tuple[str, ...]
    contact_exclusions: tuple[tuple[str, str], ...] = ()
    sites: tuple[Site, ...] = ()
    imu_body: str = ""
    anchor_body: str = ""  # body that anchors motion tracking (re-anchored references); "" = the root
    end_effectors: tuple[str, ...] = ()  # tracked bodies whose height tracking terms check (feet, hands)
    mass_randomized_bodies: tuple[str, ...] = ()  # bodies whose mass domain randomisation scales
    # tracked bodies of each body-command mode (hover.commands.modes); "omnih2o" lists head, left hand,
    # right hand in this order: the points of the VR command (hover.commands.command_from_vr)
    mode_bodies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # retargeting (hover.retarget): (robot body, human keypoint = SMPL joint name) pairs whose positions are
    # matched, the root's first; pairs whose orientation is matched too (the feet); the extra orientation
    # pairs of ``--hand-orientation`` (the forearms)
    retarget_pairs: tuple[tuple[str, str], ...] = ()
    retarget_orientation_pairs: tuple[tuple[str, str], ...] = ()
    retarget_hand_pairs: tuple[tuple[str, str], ...] = ()
    num_motor_slots: int = 0
    weak_motor_mode: int = 0x01
    strong_motor_mode: int = 0x0A
    subsets: dict[str, tuple[str, ...]] = field(default_factory=dict)

    # ----- derived views (cheap; computed on demand) -----
    @property
    def root(self) -> Body:
        return self.bodies[0]

    @property
    def anchor(self) -> str:
        """Name of the tracking anchor body (``anchor_body``, else the root)."""
        return self.anchor_body or self.root.name

    @property
    def body_names(self) -> list[str]:
        return [b.name for b in self.bodies]

    @property
    def joints(self) -> list[Joint]:
        return [b.joint for b in self.bodies if b.joint is not None]

    @property
    def joint_names(self) -> list[str]:
        return [j.name for j in self.joints]

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def num_bodies(self) -> int:
        return len(self.bodies)

    @property
    def tracked_body_names(self) -> list[str]:
        return self.body_names + [e.name for e in self.extended_bodies]

    @property
    def lower_body_joints(self) -> tuple[str, ...]:
        return tuple(n for n in self.joint_names if n not in self.upper_body_joints)

    @property
    def total_mass(self) -> float:
        return sum(b.inertial.mass for b in self.bodies)

    @property
    def control_dt(self) -> float:
        return self.physics_dt * self.decimation

    def body_index(self, name: str) -> int:
        return self.tracked_body_names.index(name)

    def joint_index(self, name: str) -> int:
        return self.joint_names.index(name)

    def parent_indices(self) -> list[int]:
        """Index of each body's parent in ``bodies`` (-1 for the root)."""
        names = self.body_names
        return [-1 if b.parent is None else names.index(b.parent) for b in self.bodies]

    def validate(self) -> None:
        """Raise ValueError when the description is inconsistent."""
        names = self.body_names
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate body names")
        if self.bodies[0].parent is not None:
            raise ValueError(f"{self.name}: first body must be the floating root")
        for i, b in enumerate(self.bodies[1:], start=1):
            if b.parent not in names[:i]:
                raise ValueError(f"{self.name}: body {b.name} listed before its parent {b.parent}")
        for j in self.joints:
            lo, hi = j.range
            if not lo < hi:
                raise ValueError(f"{self.name}: joint {j.name} has empty range {j.range}")
            if not lo <= j.default_pos <= hi:
                raise ValueError(f"{self.name}: joint {j.name} default {j.default_pos} outside range")
        for e in self.extended_bodies:
            if e.parent not in names:
                raise ValueError(f"{self.name}: extended body {e.name} has unknown parent {e.parent}")
        for n in (
            *self.feet,
            *self.termination_contact_bodies,
            *self.mass_randomized_bodies,
            *([self.anchor_body] if self.anchor_body else []),
        ):
            if n not in names:
                raise ValueError(f"{self.name}: unknown body {n}")
        for n in self.upper_body_joints:
            if n not in self.joint_names:
                raise ValueError(f"{self.name}: unknown joint {n}")
        if self.num_motor_slots:
            idx = [j.motor_index for j in self.joints]
            if len(set(idx)) != len(idx) or min(idx) < 0 or max(idx) >= self.num_motor_slots:
                raise ValueError(f"{self.name}: motor indices must be unique in [0, {self.num_motor_slots})")
        for n in self.end_effectors:
            if n not in self.tracked_body_names:
                raise ValueError(f"{self.name}: unknown end effector {n}")
        for subset, members in self.subsets.items():
            for n in members:
                if n not in self.tracked_body_names:
                    raise ValueError(f"{self.name}: subset {subset} names unknown body {n}")
        for mode, members in self.mode_bodies.items():
            for n in members:
                if n not in self.tracked_body_names:
                    raise ValueError(f"{self.name}: mode {mode} names unknown body {n}")
        for n, _ in (*self.retarget_pairs, *self.retarget_orientation_pairs, *self.retarget_hand_pairs):
            if n not in self.tracked_body_names:
                raise ValueError(f"{self.name}: retarget pair names unknown body {n}")
