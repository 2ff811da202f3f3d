"""The onboard runner of ``hover run`` in the sim2sim physics, on a simulated clock.

``hover sim2sim --joystick`` and ``--vr-stream`` drive the student exactly as ``hover run`` does: the
same :class:`hover.deploy.onboard_runner.Runner` (state machine; safety checks: input staleness by
the sample's receipt stamp, fall, finite values; targets clipped to the joint limits), the same
student observation and the same input sources' command builders. Only the robot differs: one world
of a :class:`~hover.evaluation.sim2sim_physics.MujocoRobot` (1 kHz explicit PD by default, CG
solver, Euler) driven by the runner's motor commands with *their* gains (POLICY/HOLD: the policy's
kp/kd; DAMPING: kp = 0), and time is simulated: tick ``k`` runs at ``t = k * control_dt`` (s), then the
physics advances one control period (``latency_ms``: the previous command acts for that long first).

The robot is placed (the checks: :func:`standing_qpos`, the default pose the soft start reaches,
feet on the floor), then put straight into POLICY at t = 0 (soft start skipped). Times are simulated seconds from that start.
Frames: world z up, quaternions wxyz, pelvis angular velocity in the pelvis frame (as the IMU path
of ``hover run`` delivers it).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from hover.deploy.console import Console
from hover.deploy.onboard_runner import Runner, RunnerConfig, load_student_policy
from hover.deploy.safety import SafetyConfig
from hover.deploy.state_machine import MotorTargets, State, StateMachineConfig
from hover.evaluation.sim2sim_physics import MujocoRobot, PhysicsConfig
from hover.evaluation.sim2sim_worker import fell


@dataclass
class SimView:
    """The fields of a decoded LowState_ the runner reads (policy joint order)."""

    joint_pos: np.ndarray  # [J] rad
    joint_vel: np.ndarray  # [J] rad/s
    pelvis_quat: np.ndarray  # [4] wxyz, world
    pelvis_ang_vel: np.ndarray  # [3] rad/s, pelvis frame
    tick: int  # ms of simulated time


@dataclass
class SimReading:
    """What ``DdsRobot.read`` returns, from the simulator (always fresh: the tick advances every read)."""

    view: SimView
    received: float
    tick_advanced: float
    remote_bytes: bytes | None = None
    finite: bool = True


class SimRobotIO:
    """The runner's robot interface (``read``/``write``) over world ``world`` of a MujocoRobot."""

    def __init__(self, sim: MujocoRobot, world: int = 0) -> None:
        self.sim, self.world = sim, world
        self.now = 0.0
        self.latest: MotorTargets | None = None

    def read(self) -> SimReading:
        s = self.sim.state(self.world)
        view = SimView(
            s["joint_pos"], s["joint_vel"], s["root_quat"], s["base_ang_vel"], int(round(self.now * 1e3))
        )
        ok = bool(all(np.all(np.isfinite(v)) for v in s.values()))
        return SimReading(view, self.now, self.now, None, ok)

    def write(self, targets: MotorTargets) -> None:
        self.latest = targets

    def describe(self) -> str:
        return "sim2sim physics (in process)"


def load_policy_for_runner(path: str) -> Any:
    """The exported student as ``hover run`` loads it (:func:`load_student_policy`: kind, layout, gains)."""
    from hover.deploy.policy import OnnxPolicy

    return load_student_policy(path, OnnxPolicy(path).robot)


def standing_qpos(robot: Any) -> np.ndarray:
    """qpos [7 + J] of the robot standing in its default pose (where ``hover run``'s soft start leaves
    it), upright, heading 0, at the origin, the root lowered so the feet's lowest point is on the floor."""
    import torch

    from hover.kinematics import ForwardKinematics
    from hover.motion.builtin import lowest_foot_point
    from hover.robots.mjcf import default_qpos

    q = default_qpos(robot)
    t = torch.as_tensor(q, dtype=torch.float64)[None]
    poses = ForwardKinematics(robot, dtype=torch.float64)(t[:, :3], t[:, 3:7], t[:, 7:])
    q[2] -= float(lowest_foot_point(robot, poses.pos, poses.quat)[0])
    return q


class RunnerSim:
    """One robot, the onboard runner and an input source on the simulated clock (module docstring).

    ``policy``: from :func:`load_policy_for_runner`; ``sim``: a MujocoRobot built from the policy's
    joints and gains; ``source``: an ``InputSource`` of ``hover.deploy.inputs`` (or one that behaves so).
    After :meth:`start`, each :meth:`step` is one runner tick plus one control period of physics.
    """

    def __init__(
        self,
        policy: Any,
        sim: MujocoRobot,
        source: Any,
        physics: PhysicsConfig,
        safety: SafetyConfig | None = None,
        world: int = 0,
    ) -> None:
        self.policy, self.sim, self.source, self.world = policy, sim, source, world
        self.dt = float(policy.control_dt)
        self.decimation = int(round(self.dt / sim.physics_dt))
        if self.decimation < 1 or abs(self.decimation * sim.physics_dt - self.dt) > 1e-9:
            raise ValueError(f"control dt {self.dt} s is not a multiple of the physics dt {sim.physics_dt} s")
        self.delay = min(int(round(physics.latency_ms * 1e-3 / sim.physics_dt)), self.decimation)
        self.io = SimRobotIO(sim, world)
        cfg = RunnerConfig(
            publish_hz=0.0,
            stats_every_s=0.0,
            damping_s=0.0,
            machine=StateMachineConfig(soft_start_s=0.0),
            safety=safety or SafetyConfig(),
        )
        self.console = Console(io.StringIO())  # the operator's lines, kept in console.lines
        self.runner = Runner(policy.robot, self.io, policy, source, cfg, self.console)
        self.k = 0
        self.fell_at: float | None = None
        self.diverged = False
        self._applied: MotorTargets | None = None

    @property
    def t(self) -> float:
        """Simulated time (s) of the next tick."""
        return self.k * self.dt

    @property
    def state(self) -> str:
        """The runner's state (passive, soft_start, hold, policy, damping)."""
        return self.runner.machine.state.value

    @property
    def done(self) -> bool:
        return self.fell_at is not None or self.diverged

    def place(self, qpos: np.ndarray, qvel: np.ndarray | None = None) -> None:
        """Put the robot at ``qpos`` = root pos (3), root quat wxyz (4), joints in policy order (J),
        world frame; ``qvel`` = root lin. vel. (world, 3), root ang. vel. (world, 3), joint vel. (J)."""
        j = self.policy.robot.num_joints
        v = np.zeros(6 + j) if qvel is None else np.asarray(qvel, dtype=np.float64)
        self.sim.reset(self.world, qpos[:3], qpos[3:7], v[:3], v[3:6], qpos[7:], v[6:])

    def start(self) -> None:
        """PASSIVE -> SOFT_START -> HOLD -> POLICY at t = 0 (no soft start: the robot is placed)."""
        m = self.runner.machine
        m.start(self.t, self.sim.state(self.world)["joint_pos"])
        m.update(self.t)
        if not m.enter_policy(self.t):
            raise RuntimeError(f"the runner did not enter POLICY (state {m.state.value})")

    def step(self) -> MotorTargets:
        """One runner tick at ``t``, then one control period of physics; updates ``fell_at``."""
        now = self.t
        self.io.now = now
        targets = self.runner.tick(now)
        prev = self._applied or targets
        if self.delay:
            self.sim.step_command(self.world, prev.q, prev.dq, prev.kp, prev.kd, prev.tau, self.delay)
        rest = self.decimation - self.delay
        self.sim.step_command(self.world, targets.q, targets.dq, targets.kp, targets.kd, targets.tau, rest)
        self._applied = targets
        self.k += 1
        if self.sim.diverged(self.world):
            self.diverged = True
        else:
            s = self.sim.state(self.world)
            if self.fell_at is None and fell(s["root_pos"], s["root_quat"]):
                self.fell_at = self.t
        return targets

    def transitions(self) -> list[dict[str, Any]]:
        """The runner's state changes: simulated time (s), from, to, reason."""
        return [
            {"time_s": round(tr.time, 4), "from": tr.src.value, "to": tr.dst.value, "reason": tr.reason}
            for tr in self.runner.machine.history
        ]

    def safety_events(self) -> list[dict[str, Any]]:
        """The runner's failed safety checks: simulated time (s), check, reason, action."""
        return [
            {"time_s": round(e.time, 4), "check": e.check, "reason": e.reason, "action": e.action}
            for e in self.runner.events
        ]

    @property
    def in_policy(self) -> bool:
        return self.runner.machine.state is State.POLICY


__all__ = [
    "RunnerSim",
    "standing_qpos",
    "SimReading",
    "SimRobotIO",
    "SimView",
    "load_policy_for_runner",
]
