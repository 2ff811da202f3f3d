"""The physics and the rollout of ``hover sim2sim``: one MuJoCo model per process, explicit PD.

:class:`MujocoRobot` holds one ``MjModel`` (hover's H1 built by ``hover.robots.mjcf.build_model``, or
any MJCF of the robot given by path) and ``N`` ``MjData``. Its physics deliberately differs from the
training backend: the model's own actuators are switched off (``mjDSBL_ACTUATION``) and the PD law
``tau = clip(kp (target - q) - kd qdot, -effort_limit, effort_limit)`` with the *policy's* exported
kp/kd/effort limits is computed in Python before every physics step and applied as
``qfrc_applied`` on the joint's DoF; the timestep, solver, iterations and integrator come from
:class:`PhysicsConfig` (default 1 kHz, CG, Euler; training uses 200 Hz, Newton, implicitfast and
position servos). Joints are found by name (``<name>`` or ``<name>_joint``) and mapped to the
policy's joint order, so an MJCF whose joints/actuators are listed in another order drives the
same joints. The floating base is the model's first free joint.

Frames: world z up; quaternions wxyz; MuJoCo's free-joint linear velocity is world-frame and its
angular velocity is pelvis-frame (exactly what the student's proprioception wants).

:func:`run_job` plays (mode, clip) items with the deploy code path: :class:`hover.deploy.policy.OnnxPolicy`
(ONNX Runtime, 1 thread), :class:`hover.student.StudentObservation` + ``proprioception`` and commands
from ``hover.commands.command_from_reference`` masked by the mode. Body positions for the metrics
come from hover's forward kinematics of the measured root pose and joints (hover's body frames,
whatever geometry the simulated MJCF has).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal

import mujoco
import numpy as np
import torch

from hover.robots import RobotSpec

#: a fall: pelvis below this height (m) or tilted more than FALL_TILT_RAD from upright
FALL_HEIGHT_M = 0.4
FALL_TILT_RAD = math.radians(60.0)


@dataclass(frozen=True)
class PhysicsConfig:
    """Simulation settings of sim2sim (defaults differ from training on purpose)."""

    physics_dt: float = 0.001  # s; 1 kHz PD (training: 0.005)
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

    def __init__(self, robot: RobotSpec, joint_names: list[str], kp: np.ndarray, kd: np.ndarray,
                 effort_limit: np.ndarray, cfg: PhysicsConfig, num_envs: int = 1):  # fmt: skip
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

    def reset(self, i: int, root_pos: np.ndarray, root_quat: np.ndarray, root_lin_vel: np.ndarray,
              root_ang_vel: np.ndarray, joint_pos: np.ndarray, joint_vel: np.ndarray) -> None:  # fmt: skip
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


# ----------------------------------------------------------------------------- rollouts


@dataclass
class Job:
    """Work of one process: ``items`` are (mode, clip index) pairs over ``clips``."""

    policy_path: str
    clips: list  # list[hover.motion.format.MotionClip]
    items: list[tuple[str, int]]
    physics: PhysicsConfig
    max_seconds: float | None = None
    batch: int = 8
    record: tuple[str, int] | None = None  # (mode, clip index) whose qpos to keep for a video


@dataclass
class ClipOutcome:
    mode: str
    name: str
    success: bool
    fell: bool
    diverged: bool  # MuJoCo reported a bad state (the rollout stopped there)
    frames: int  # scored frames (1..end)
    simulated_s: float
    fail_time_s: float | None
    fail_reason: str | None  # "fall", "sim_diverged" or "mean_body_distance"
    metrics: dict[str, float] = field(default_factory=dict)
    robot_qpos: np.ndarray | None = None
    ref_qpos: np.ndarray | None = None


@dataclass
class JobResult:
    outcomes: list[ClipOutcome]
    loop_start: float  # time.time() around the rollouts (wall clock shared by processes)
    loop_end: float


def fell(root_pos: np.ndarray, root_quat: np.ndarray) -> bool:
    """Pelvis below FALL_HEIGHT_M or tilted more than FALL_TILT_RAD (root_quat wxyz, world)."""
    w, x, y, z = root_quat / np.linalg.norm(root_quat)
    up_z = 1.0 - 2.0 * (x * x + y * y)  # z component of the pelvis z axis in the world
    return bool(root_pos[2] < FALL_HEIGHT_M or up_z < math.cos(FALL_TILT_RAD))


def run_job(job: Job) -> JobResult:
    """Play every (mode, clip) item of ``job`` in batches of ``job.batch`` clips; see the module docstring."""
    from hover.deploy.policy import OnnxPolicy, student_layout

    torch.set_num_threads(1)
    policy = OnnxPolicy(job.policy_path)
    student_layout(policy)  # a student with hover's observation layout, else PolicyMetadataError
    start = time.time()
    outcomes: list[ClipOutcome] = []
    by_mode: dict[str, list[int]] = {}
    for mode, c in job.items:
        by_mode.setdefault(mode, []).append(c)
    sim = MujocoRobot(policy.robot, policy.joint_names, policy.kp, policy.kd, policy.effort_limit, job.physics,
                      num_envs=min(job.batch, len(job.items)) or 1)  # fmt: skip
    for mode, ids in by_mode.items():
        for k in range(0, len(ids), job.batch):
            outcomes += _rollout(policy, sim, job, mode, ids[k : k + job.batch])
    return JobResult(outcomes, start, time.time())


def _rollout(policy, sim: MujocoRobot, job: Job, mode: str, clip_ids: list[int]) -> list[ClipOutcome]:
    from hover.commands import apply_mask, command_from_reference, command_layout, mask_for_mode
    from hover.deploy.policy import student_layout
    from hover.evaluation.evaluate import clip_num_steps
    from hover.evaluation.metrics import (
        FAILURE_MEAN_DISTANCE_M,
        Trajectory,
        clip_metrics,
        first_failure_frame,
    )
    from hover.kinematics import ForwardKinematics
    from hover.motion.library import MotionLibrary
    from hover.rotations import projected_gravity
    from hover.student import StudentObservation, proprioception

    robot = policy.robot
    n = len(clip_ids)
    lib = MotionLibrary([job.clips[c] for c in clip_ids], robot=robot)
    dt = policy.control_dt
    decimation = int(round(dt / sim.physics_dt))
    if decimation < 1 or abs(decimation * sim.physics_dt - dt) > 1e-9:
        raise ValueError(f"control dt {dt} s is not a multiple of the physics dt {sim.physics_dt} s")
    delay = min(int(round(job.physics.latency_ms * 1e-3 / sim.physics_dt)), decimation)
    steps = clip_num_steps(lib.clip_durations, dt)
    if job.max_seconds is not None:
        steps = steps.clamp(max=max(1, int(round(job.max_seconds / dt))))
    frames = int(steps.max()) + 1
    cl = command_layout(robot)
    layout = student_layout(policy)
    mask = mask_for_mode(mode, cl).expand(n, -1).clone()
    obs_state = StudentObservation(n, layout)
    default = torch.as_tensor(policy.default_joint_pos, dtype=torch.float32)
    lower, upper = policy.joint_pos_lower, policy.joint_pos_upper
    ids_t = torch.arange(n)

    ref0 = lib.get_state(ids_t, torch.zeros(n))
    for i in range(n):
        sim.reset(i, *(t[i].double().numpy() for t in (ref0.root_pos, ref0.root_quat, ref0.root_lin_vel,
                                                          ref0.root_ang_vel, ref0.joint_pos, ref0.joint_vel)))  # fmt: skip
    rec = {k: np.zeros((n, frames, d)) for k, d in (("root_pos", 3), ("root_quat", 4), ("root_lin_vel", 3),
                                                      ("joint_pos", robot.num_joints))}  # fmt: skip
    targets = np.tile(policy.default_joint_pos, (n, 1))
    alive = np.ones(n, dtype=bool)
    end = steps.numpy().copy()
    fell_at = np.full(n, -1)
    diverged_at = np.full(n, -1)

    def read(k: int) -> dict[str, torch.Tensor]:
        st = [sim.state(i) for i in range(n)]
        out = {key: torch.as_tensor(np.stack([s[key] for s in st]), dtype=torch.float32) for key in st[0]}
        for key in rec:
            rec[key][alive, k] = np.stack([s[key] for s in st])[alive]
        return out

    s = read(0)
    proprio = proprioception(
        s["joint_pos"], s["joint_vel"], default, s["base_ang_vel"], projected_gravity(s["root_quat"])
    )
    obs_state.reset(None, proprio)
    for k in range(1, frames):
        ref = lib.get_state(ids_t, torch.full((n,), (k - 1) * dt))
        command = apply_mask(
            command_from_reference(ref, s["root_pos"], s["root_quat"], s["joint_pos"], cl), mask, cl
        )
        obs = obs_state.compute(proprio, command, mask)
        actions = policy(obs.numpy())
        obs_state.record(proprio, torch.from_numpy(actions))
        new = np.clip(policy.joint_targets(actions), lower, upper)
        for i in np.flatnonzero(alive):
            if delay:
                sim.step(i, targets[i], delay)
            sim.step(i, new[i], decimation - delay)
        targets = new
        s = read(k)
        proprio = proprioception(s["joint_pos"], s["joint_vel"], default, s["base_ang_vel"],
                                 projected_gravity(s["root_quat"]))  # fmt: skip
        for i in np.flatnonzero(alive):
            if sim.diverged(i):  # the recorded frame k is MuJoCo's reset pose, not the robot's
                diverged_at[i], end[i], alive[i] = k, k - 1, False
            elif fell(rec["root_pos"][i, k], rec["root_quat"][i, k]):
                fell_at[i], end[i], alive[i] = k, k, False
            elif k >= end[i]:
                alive[i] = False
        if not alive.any():
            break

    # metrics as hover eval: frames 1..end, the paper's mean-body-distance criterion
    times = torch.arange(frames, dtype=torch.float32) * dt
    ref = lib.get_state(ids_t.repeat_interleave(frames), times.repeat(n))
    fk = ForwardKinematics(robot)
    t = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in rec.items()}
    valid = torch.arange(frames)[None, :] <= torch.as_tensor(end)[:, None]
    # frames after the end hold zeros: repeat the last recorded frame so FK stays well defined
    idx = torch.minimum(torch.arange(frames)[None, :], torch.as_tensor(end)[:, None])
    for key in t:
        t[key] = torch.gather(t[key], 1, idx[..., None].expand(-1, -1, t[key].shape[-1]))
    pos = fk(t["root_pos"], t["root_quat"], t["joint_pos"]).pos
    shape = (n, frames)
    robot_traj = Trajectory(pos, t["root_quat"], t["root_lin_vel"], t["joint_pos"])
    ref_traj = Trajectory(ref.body_pos.reshape(*shape, -1, 3), ref.root_quat.reshape(*shape, 4),
                          ref.root_lin_vel.reshape(*shape, 3), ref.joint_pos.reshape(*shape, -1))  # fmt: skip
    crit = first_failure_frame(robot_traj.body_pos, ref_traj.body_pos, valid, FAILURE_MEAN_DISTANCE_M).numpy()
    stopped = np.where(fell_at >= 0, fell_at, np.where(diverged_at >= 0, diverged_at, steps.numpy()))
    reasons: list[str | None] = ["fall" if f >= 0 else None for f in fell_at]
    reasons = ["sim_diverged" if dv >= 0 else r for dv, r in zip(diverged_at, reasons, strict=True)]
    for i in range(n):
        if 1 <= crit[i] <= end[i] and (reasons[i] is None or crit[i] < end[i]):
            end[i], reasons[i] = crit[i], "mean_body_distance"
    scored = (torch.arange(frames)[None, :] <= torch.as_tensor(end)[:, None]) & (
        torch.arange(frames)[None, :] >= 1
    )
    per_clip = clip_metrics(robot_traj, ref_traj, robot, scored)
    out = []
    for i, c in enumerate(clip_ids):
        last = int(end[i])
        keep = job.record == (mode, c)
        out.append(ClipOutcome(
            mode=mode, name=lib.clip_names[i], success=reasons[i] is None, fell=bool(fell_at[i] >= 0), frames=last,
            diverged=bool(diverged_at[i] >= 0), simulated_s=float(stopped[i] * dt),
            fail_time_s=None if reasons[i] is None else last * dt, fail_reason=reasons[i],
            metrics={key: float(v[i]) for key, v in per_clip.items()},
            robot_qpos=_qpos(t, i, last) if keep else None,
            ref_qpos=np.concatenate([ref_traj.root_pos[i, : last + 1], ref_traj.root_quat[i, : last + 1],
                                     ref_traj.joint_pos[i, : last + 1]], -1).astype(np.float64) if keep else None,
        ))  # fmt: skip
    return out


def _qpos(t: dict[str, torch.Tensor], i: int, last: int) -> np.ndarray:
    return torch.cat([t["root_pos"][i, : last + 1], t["root_quat"][i, : last + 1], t["joint_pos"][i, : last + 1]],
                     -1).double().numpy()  # fmt: skip
