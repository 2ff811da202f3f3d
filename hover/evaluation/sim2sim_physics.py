"""The physics of ``hover sim2sim``: one MuJoCo model, N worlds, explicit PD from the policy's gains.

:class:`MujocoRobot` holds one ``MjModel`` (hover's H1 built by ``hover.robots.mjcf.build_model``, or
any MJCF of the robot given by path) and ``N`` ``MjData``. Its physics deliberately differs from the
training backend: the model's own actuators are switched off (``mjDSBL_ACTUATION``) and the PD law
``tau = clip(kp (target - q) - kd qdot, -effort_limit, effort_limit)`` with the *policy's* exported
kp/kd/effort limits is computed before every physics step and applied as ``qfrc_applied`` on the
joint's DoF; timestep, solver, iterations and integrator come from :class:`PhysicsConfig` (default
1 kHz, CG, Euler; training uses 200 Hz, Newton, implicitfast and position servos). Joints are found
by name (``<name>`` or ``<name>_joint``) and mapped to the policy's joint order, so an MJCF whose
joints/actuators are listed in another order drives the same joints. The floating base is the
model's first free joint.

Frames: world z up; quaternions wxyz; MuJoCo's free-joint linear velocity is world-frame and its
angular velocity is pelvis-frame (what the student's proprioception wants).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import mujoco
import numpy as np

from hover.robots import SIM2SIM_PHYSICS_DT, RobotSpec


@dataclass(frozen=True)
class PhysicsConfig:
    """Simulation settings of sim2sim (defaults differ from training on purpose)."""

    physics_dt: float = SIM2SIM_PHYSICS_DT  # s; 1 kHz PD (training: 0.005)
    solver: Literal["newton", "cg", "pgs"] = "cg"  # training: newton
    iterations: int = 50  # solver iterations (training: 10)
    ls_iterations: int = 50  # line-search iterations (training: 20)
    integrator: Literal["euler", "implicitfast", "implicit", "rk4"] = "euler"  # training: implicitfast
    latency_ms: float = (
        0.0  # delay from observation to the new targets taking effect (rounded to physics steps)
    )
    model: str | None = None  # another MJCF of the robot (joints mapped by name); None = hover's own


_INTEGRATORS = {"euler": "EULER", "implicitfast": "IMPLICITFAST", "implicit": "IMPLICIT", "rk4": "RK4"}


def load_model(robot: RobotSpec, cfg: PhysicsConfig) -> mujoco.MjModel:
    """The MjModel (hover's or ``cfg.model``) with ``cfg``'s timestep/solver/integrator, actuation off."""
    if cfg.model is None:
        from hover.robots.mjcf import build_model

        model = build_model(robot)
    else:
        try:
            model = mujoco.MjModel.from_xml_path(str(cfg.model))
        except Exception as e:  # noqa: BLE001 - re-raised with the file name
            raise ValueError(f"{cfg.model}: not a loadable MJCF model ({e})") from e
    if not cfg.physics_dt > 0:
        raise ValueError(f"physics_dt must be positive, got {cfg.physics_dt}")
    model.opt.timestep = cfg.physics_dt
    model.opt.solver = getattr(mujoco.mjtSolver, f"mjSOL_{cfg.solver.upper()}")
    model.opt.iterations = cfg.iterations
    model.opt.ls_iterations = cfg.ls_iterations
    model.opt.integrator = getattr(mujoco.mjtIntegrator, f"mjINT_{_INTEGRATORS[cfg.integrator]}")
    model.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_ACTUATION)
    return model


def joint_addresses(
    model: mujoco.MjModel, joint_names: list[str], where: str
) -> tuple[np.ndarray, np.ndarray]:
    """qpos and dof addresses of ``joint_names`` (policy order) in ``model``; ValueError naming the missing ones."""
    qadr, dadr, missing = [], [], []
    for name in joint_names:
        jid = -1
        for candidate in (name, f"{name}_joint"):
            jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, candidate)
            if jid >= 0:
                break
        if jid < 0:
            missing.append(name)
            continue
        if int(model.jnt_type[jid]) not in (
            int(mujoco.mjtJoint.mjJNT_HINGE),
            int(mujoco.mjtJoint.mjJNT_SLIDE),
        ):
            raise ValueError(f"{where}: joint {name!r} is not a hinge/slide joint")
        qadr.append(int(model.jnt_qposadr[jid]))
        dadr.append(int(model.jnt_dofadr[jid]))
    if missing:
        raise ValueError(
            f"{where}: no joint named {missing} (or <name>_joint); the policy needs {joint_names}"
        )
    return np.asarray(qadr), np.asarray(dadr)


class MujocoRobot:
    """``num_envs`` copies of one robot model with explicit PD (see the module docstring).

    ``kp``, ``kd``, ``effort_limit`` [J] in the policy joint order ``joint_names``.
    """

    def __init__(
        self,
        robot: RobotSpec,
        joint_names: list[str],
        kp: np.ndarray,
        kd: np.ndarray,
        effort_limit: np.ndarray,
        cfg: PhysicsConfig,
        num_envs: int = 1,
    ):
        self.cfg = cfg
        self.model = load_model(robot, cfg)
        where = cfg.model or f"hover {robot.name} model"
        free = [
            j
            for j in range(self.model.njnt)
            if int(self.model.jnt_type[j]) == int(mujoco.mjtJoint.mjJNT_FREE)
        ]
        if not free:
            raise ValueError(f"{where}: no free joint (the robot needs a floating base)")
        self.root_q = int(self.model.jnt_qposadr[free[0]])
        self.root_d = int(self.model.jnt_dofadr[free[0]])
        self.qadr, self.dadr = joint_addresses(self.model, joint_names, where)
        self.kp, self.kd = np.asarray(kp, np.float64), np.asarray(kd, np.float64)
        self.effort_limit = np.asarray(effort_limit, np.float64)
        self.data = [mujoco.MjData(self.model) for _ in range(num_envs)]

    @property
    def physics_dt(self) -> float:
        return float(self.model.opt.timestep)

    def reset(
        self,
        i: int,
        root_pos: np.ndarray,
        root_quat: np.ndarray,
        root_lin_vel: np.ndarray,
        root_ang_vel: np.ndarray,
        joint_pos: np.ndarray,
        joint_vel: np.ndarray,
    ) -> None:
        """Place env ``i``: root pose/velocities world frame (wxyz), joints in policy order (rad, rad/s)."""
        d = self.data[i]
        mujoco.mj_resetData(self.model, d)
        d.qpos[self.root_q : self.root_q + 3] = root_pos
        d.qpos[self.root_q + 3 : self.root_q + 7] = root_quat / np.linalg.norm(root_quat)
        d.qpos[self.qadr] = joint_pos
        d.qvel[self.root_d : self.root_d + 3] = root_lin_vel
        rot = np.zeros(9)
        mujoco.mju_quat2Mat(rot, d.qpos[self.root_q + 3 : self.root_q + 7])
        d.qvel[self.root_d + 3 : self.root_d + 6] = rot.reshape(3, 3).T @ root_ang_vel  # world -> pelvis
        d.qvel[self.dadr] = joint_vel
        mujoco.mj_forward(self.model, d)

    def torques(self, i: int, targets: np.ndarray) -> np.ndarray:
        """PD torques (N m) [J] of env ``i`` towards ``targets`` (rad), clipped to the effort limits."""
        d = self.data[i]
        tau = self.kp * (targets - d.qpos[self.qadr]) - self.kd * d.qvel[self.dadr]
        return np.clip(tau, -self.effort_limit, self.effort_limit)

    def step(self, i: int, targets: np.ndarray, steps: int = 1) -> None:
        """``steps`` physics steps of env ``i``, the PD torques recomputed before each."""
        d, m = self.data[i], self.model
        for _ in range(steps):
            d.qfrc_applied[self.dadr] = self.torques(i, targets)
            mujoco.mj_step(m, d)

    def step_command(
        self,
        i: int,
        q: np.ndarray,
        dq: np.ndarray,
        kp: np.ndarray,
        kd: np.ndarray,
        tau: np.ndarray,
        steps: int = 1,
    ) -> None:
        """``steps`` physics steps of env ``i`` under a motor command with its own gains (the onboard
        runner's ``MotorTargets``, policy joint order): ``tau_ff + kp (q - q_meas) + kd (dq - dq_meas)``,
        recomputed before each step and clipped to the effort limits (N m)."""
        d, m = self.data[i], self.model
        for _ in range(steps):
            t = tau + kp * (q - d.qpos[self.qadr]) + kd * (dq - d.qvel[self.dadr])
            d.qfrc_applied[self.dadr] = np.clip(t, -self.effort_limit, self.effort_limit)
            mujoco.mj_step(m, d)

    def diverged(self, i: int) -> bool:
        """MuJoCo flagged a bad state of env ``i`` (it then resets the data to qpos0) or it is non-finite."""
        d = self.data[i]
        bad = (
            mujoco.mjtWarning.mjWARN_BADQACC,
            mujoco.mjtWarning.mjWARN_BADQPOS,
            mujoco.mjtWarning.mjWARN_BADQVEL,
        )
        return any(d.warning[int(w)].number > 0 for w in bad) or not np.isfinite(d.qpos).all()

    def state(self, i: int) -> dict[str, np.ndarray]:
        """Root pos/quat (world, wxyz), root linear velocity (world), angular velocity (pelvis frame),
        joint pos/vel (policy order) of env ``i``."""
        d = self.data[i]
        q, v = d.qpos, d.qvel
        return {
            "root_pos": q[self.root_q : self.root_q + 3].copy(),
            "root_quat": q[self.root_q + 3 : self.root_q + 7].copy(),
            "root_lin_vel": v[self.root_d : self.root_d + 3].copy(),
            "base_ang_vel": v[self.root_d + 3 : self.root_d + 6].copy(),
            "joint_pos": q[self.qadr].copy(),
            "joint_vel": v[self.dadr].copy(),
        }
