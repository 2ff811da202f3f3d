"""The rollouts of ``hover sim2sim``: clips played with the deploy code path in one process.

:class:`ClipBatch` plays ``n`` clips together in one named mode on a
:class:`~hover.evaluation.sim2sim_physics.MujocoRobot`: ONNX Runtime inference
(:class:`hover.deploy.policy.OnnxPolicy`, 1 thread, batched over the clips), the student observation
from :class:`hover.student.StudentObservation` + ``proprioception`` (pelvis-frame IMU quantities from
the simulator, as a robot measures them) and commands from ``hover.commands.command_from_reference``
masked by the mode. Joint targets ``default + action_scale * clip(action)`` are clipped to the joint
limits, as on the robot.

Timeline (as ``hover eval``): frame 0 is the robot placed on the reference at t = 0; the policy acts on
frame k (reference at t = k * control_dt) and the physics runs one control period to frame k + 1.
A clip stops on a fall (pelvis below :data:`FALL_HEIGHT_M` or tilted more than :data:`FALL_TILT_RAD`)
or a MuJoCo bad-state warning (``sim_diverged``); afterwards the paper's criterion (mean body
distance > 0.5 m) may end it earlier. Body positions for the metrics come from hover's forward
kinematics of the measured root pose and joints (hover's body frames, whatever geometry the
simulated MJCF has).

:func:`run_job` is the entry point of a worker process (one MuJoCo model per process).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from hover.evaluation.sim2sim_physics import MujocoRobot, PhysicsConfig

#: a fall: pelvis below this height (m) or tilted more than FALL_TILT_RAD from upright
FALL_HEIGHT_M = 0.4
FALL_TILT_RAD = math.radians(60.0)
_RECORDED = ("root_pos", "root_quat", "root_lin_vel", "joint_pos")


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
    robot_qpos: np.ndarray | None = None  # [T, 7 + J] (root pos, wxyz, joints in policy order), for videos
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


class ClipBatch:
    """Clips ``lib`` (a MotionLibrary, one env per clip) in one mode on ``sim``; see the module docstring.

    Use :meth:`observation` and :meth:`advance` per policy step, or :meth:`run` for the whole clips.
    """

    def __init__(
        self,
        policy,
        sim: MujocoRobot,
        lib,
        mode: str,
        max_seconds: float | None = None,
        latency_ms: float = 0.0,
    ):
        from hover.commands import command_layout, mask_for_mode
        from hover.deploy.policy import student_layout
        from hover.evaluation.evaluate import clip_num_steps
        from hover.student import StudentObservation

        self.policy, self.sim, self.lib, self.mode = policy, sim, lib, mode
        n = self.n = lib.num_clips
        if len(sim.data) < n:
            raise ValueError(f"{n} clips but the simulator holds {len(sim.data)} worlds")
        self.dt = dt = policy.control_dt
        self.decimation = int(round(dt / sim.physics_dt))
        if self.decimation < 1 or abs(self.decimation * sim.physics_dt - dt) > 1e-9:
            raise ValueError(f"control dt {dt} s is not a multiple of the physics dt {sim.physics_dt} s")
        self.delay = min(int(round(latency_ms * 1e-3 / sim.physics_dt)), self.decimation)
        steps = clip_num_steps(lib.clip_durations, dt)
        if max_seconds is not None:
            steps = steps.clamp(max=max(1, int(round(max_seconds / dt))))
        self.steps = steps.numpy()
        self.frames = int(self.steps.max()) + 1
        self.layout = command_layout(policy.robot)
        self.mask = mask_for_mode(mode, self.layout).expand(n, -1).clone()
        self.history = StudentObservation(n, student_layout(policy))
        self.default = torch.as_tensor(policy.default_joint_pos, dtype=torch.float32)
        self.ids = torch.arange(n)
        self.rec = {
            k: np.zeros((n, self.frames, d))
            for k, d in zip(_RECORDED, (3, 4, 3, policy.robot.num_joints), strict=True)
        }
        self.targets = np.tile(policy.default_joint_pos, (n, 1))
        self.alive = np.ones(n, dtype=bool)
        self.end = self.steps.copy()  # last frame of each clip
        self.fell_at = np.full(n, -1)
        self.diverged_at = np.full(n, -1)
        self.k = 0
        ref = lib.get_state(self.ids, torch.zeros(n))
        for i in range(n):
            sim.reset(i, *(t[i].double().numpy() for t in (ref.root_pos, ref.root_quat, ref.root_lin_vel,
                                                              ref.root_ang_vel, ref.joint_pos, ref.joint_vel)))  # fmt: skip
        self._read()
        self.history.reset(None, self.proprio)

    @property
    def done(self) -> bool:
        return not self.alive.any() or self.k >= self.frames - 1

    def _read(self) -> None:
        from hover.rotations import projected_gravity
        from hover.student import proprioception

        st = [self.sim.state(i) for i in range(self.n)]
        s = {key: torch.as_tensor(np.stack([x[key] for x in st]), dtype=torch.float32) for key in st[0]}
        for key in _RECORDED:
            self.rec[key][self.alive, self.k] = s[key].double().numpy()[self.alive]
        self.state = s
        self.proprio = proprioception(
            s["joint_pos"], s["joint_vel"], self.default, s["base_ang_vel"], projected_gravity(s["root_quat"])
        )

    def observation(self) -> Tensor:
        """Student observation [n, obs_dim] at frame k (reference at t = k * control_dt)."""
        from hover.commands import apply_mask, command_from_reference

        s = self.state
        ref = self.lib.get_state(self.ids, torch.full((self.n,), self.k * self.dt))
        full = command_from_reference(ref, s["root_pos"], s["root_quat"], s["joint_pos"], self.layout)
        return self.history.compute(self.proprio, apply_mask(full, self.mask, self.layout), self.mask)

    def advance(self, actions: np.ndarray) -> None:
        """Act with ``actions`` [n, J] on frame k, run one control period, read frame k + 1."""
        p, sim = self.policy, self.sim
        self.history.record(self.proprio, torch.as_tensor(actions, dtype=torch.float32))
        new = np.clip(p.joint_targets(actions), p.joint_pos_lower, p.joint_pos_upper)
        for i in np.flatnonzero(self.alive).tolist():
            if self.delay:
                sim.step(i, self.targets[i], self.delay)
            sim.step(i, new[i], self.decimation - self.delay)
        self.targets = new
        self.k += 1
        k = self.k
        self._read()
        for i in np.flatnonzero(self.alive).tolist():
            if sim.diverged(i):  # the recorded frame k is MuJoCo's reset pose, not the robot's
                self.diverged_at[i], self.end[i], self.alive[i] = k, k - 1, False
            elif fell(self.rec["root_pos"][i, k], self.rec["root_quat"][i, k]):
                self.fell_at[i], self.end[i], self.alive[i] = k, k, False
            elif k >= self.end[i]:
                self.alive[i] = False

    def run(self) -> None:
        while not self.done:
            self.advance(self.policy(self.observation().numpy()))

    def outcomes(self, record: int | None = None) -> list[ClipOutcome]:
        """Score the clips (metrics as ``hover eval``); ``record``: clip whose qpos to keep."""
        from hover.evaluation.metrics import (
            FAILURE_MEAN_DISTANCE_M,
            Trajectory,
            clip_metrics,
            first_failure_frame,
        )
        from hover.kinematics import ForwardKinematics

        n, frames, end = self.n, self.frames, self.end.copy()
        arange = torch.arange(frames)[None, :]
        times = torch.arange(frames, dtype=torch.float32) * self.dt
        ref = self.lib.get_state(self.ids.repeat_interleave(frames), times.repeat(n))
        # frames after a clip's end hold zeros: repeat its last frame so FK stays well defined
        idx = torch.minimum(arange, torch.as_tensor(end)[:, None])
        t = {}
        for key, rec in self.rec.items():
            v = torch.as_tensor(rec, dtype=torch.float32)
            t[key] = torch.gather(v, 1, idx[..., None].expand(-1, -1, v.shape[-1]))
        pos = ForwardKinematics(self.policy.robot)(t["root_pos"], t["root_quat"], t["joint_pos"]).pos
        robot_traj = Trajectory(pos, t["root_quat"], t["root_lin_vel"], t["joint_pos"])
        ref_traj = Trajectory(
            ref.body_pos.reshape(n, frames, -1, 3),
            ref.root_quat.reshape(n, frames, 4),
            ref.root_lin_vel.reshape(n, frames, 3),
            ref.joint_pos.reshape(n, frames, -1),
        )
        valid = arange <= torch.as_tensor(end)[:, None]
        crit = first_failure_frame(
            robot_traj.body_pos, ref_traj.body_pos, valid, FAILURE_MEAN_DISTANCE_M
        ).numpy()
        stopped = np.where(
            self.fell_at >= 0, self.fell_at, np.where(self.diverged_at >= 0, self.diverged_at, self.steps)
        )
        reasons: list[str | None] = [
            "sim_diverged" if dv >= 0 else "fall" if f >= 0 else None
            for f, dv in zip(self.fell_at, self.diverged_at, strict=True)
        ]
        for i in range(n):
            if 1 <= crit[i] <= end[i] and (reasons[i] is None or crit[i] < end[i]):
                end[i], reasons[i] = crit[i], "mean_body_distance"
        scored = (arange <= torch.as_tensor(end)[:, None]) & (arange >= 1)
        per_clip = clip_metrics(robot_traj, ref_traj, self.policy.robot, scored)
        out = []
        for i in range(n):
            last = int(end[i])
            keep = record == i
            out.append(
                ClipOutcome(
                    mode=self.mode,
                    name=self.lib.clip_names[i],
                    success=reasons[i] is None,
                    fell=bool(self.fell_at[i] >= 0),
                    diverged=bool(self.diverged_at[i] >= 0),
                    frames=last,
                    simulated_s=float(stopped[i] * self.dt),
                    fail_time_s=None if reasons[i] is None else last * self.dt,
                    fail_reason=reasons[i],
                    metrics={key: float(v[i]) for key, v in per_clip.items()},
                    robot_qpos=_qpos(robot_traj, i, last) if keep else None,
                    ref_qpos=_qpos(ref_traj, i, last) if keep else None,
                )
            )
        return out


def _qpos(traj, i: int, last: int) -> np.ndarray:
    parts = (traj.root_pos[i, : last + 1], traj.root_quat[i, : last + 1], traj.joint_pos[i, : last + 1])
    return torch.cat(parts, -1).double().numpy()


def run_job(job: Job) -> JobResult:
    """Play every (mode, clip) item of ``job`` in batches of ``job.batch`` clips (one model per process)."""
    from hover.deploy.policy import OnnxPolicy, student_layout
    from hover.motion.library import MotionLibrary

    torch.set_num_threads(1)
    policy = OnnxPolicy(job.policy_path)
    student_layout(policy)  # a student with hover's observation layout, else PolicyMetadataError
    start = time.time()
    outcomes: list[ClipOutcome] = []
    by_mode: dict[str, list[int]] = {}
    for mode, c in job.items:
        by_mode.setdefault(mode, []).append(c)
    sim = MujocoRobot(
        policy.robot,
        policy.joint_names,
        policy.kp,
        policy.kd,
        policy.effort_limit,
        job.physics,
        num_envs=max(1, min(job.batch, len(job.items))),
    )
    for mode, ids in by_mode.items():
        for k in range(0, len(ids), job.batch):
            chunk = ids[k : k + job.batch]
            lib = MotionLibrary([job.clips[c] for c in chunk], robot=policy.robot)
            batch = ClipBatch(policy, sim, lib, mode, job.max_seconds, job.physics.latency_ms)
            batch.run()
            record = next((j for j, c in enumerate(chunk) if job.record == (mode, c)), None)
            outcomes += batch.outcomes(record)
    return JobResult(outcomes, start, time.time())
