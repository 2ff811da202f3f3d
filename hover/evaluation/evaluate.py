"""Batched evaluation rollouts: every clip played once from t = 0 and scored with the paper's metrics.

Protocol (HOVER): flat ground, no domain randomisation, control delay 2 steps (the policy's
``env_cfg.eval_config()``), auto-reset off. Clips are assigned to envs in waves (longest first,
so a wave's clips have similar lengths); a wave ends when all its envs have finished. A clip
*succeeds* when it reaches its end (the env's ``motion_end`` time-out) with no failure termination;
besides the env's own terms, the paper's test criterion (mean body distance > 0.5 m) is checked on
the recorded frames. Metrics are computed over the frames up to and including the failure frame.

Frames are policy steps (``control_dt``, 0.02 s for H1): frame 0 is the state right after
``reset_to`` (reference state initialisation, not scored, but part of videos), frame k the state
after k steps. Report means follow HOVER's evaluator (see ``metrics.summarize``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from hover.evaluation.metrics import (
    FAILURE_MEAN_DISTANCE_M,
    Trajectory,
    body_distances,
    clip_metrics,
    first_failure_frame,
    summarize,
)
from hover.video import ClipRecording, qpos_rows

#: env termination terms that end a clip without failing it
TIME_OUT_TERMS = ("motion_end", "episode_length", "time_out")
TEST_CRITERION = "mean_body_distance"
#: failure terms of the protocol (``envs.tracking.config.eval_terminations``) that mean a fall: the
#: pelvis tilted, or a body other than the feet/hands touched the ground
FALL_TERMS = ("gravity_tilt", "undesired_contacts")
#: envs used when ``num_envs`` is not given (one per clip up to this many)
DEFAULT_MAX_ENVS = 64


@dataclass
class ClipResult:
    """Outcome of one clip. Distances in m; times in s from the clip start."""

    clip_id: int
    name: str
    success: bool
    duration_s: float
    frames: int  # frames scored: the states after policy steps 1..end (or 1..failure)
    fail_time_s: float | None
    fail_reason: str | None  # env termination terms that fired, or "mean_body_distance"
    max_body_dev_m: float  # largest distance of any tracked body to the reference over the scored frames
    max_mean_body_dev_m: float  # largest mean (over bodies) distance over the scored frames
    metrics: dict[str, float] = field(default_factory=dict)
    recording: ClipRecording | None = None
    env_fail_reason: str | None = None  # the env's own failure terms that ended the rollout (None: none)
    env_fail_time_s: float | None = (
        None  # when they fired (s), even where the test criterion failed it earlier
    )

    def row(self) -> dict[str, Any]:
        """Flat dict for the CSV / JSON ``per_clip`` list (no recording)."""
        base = {k: getattr(self, k) for k in ("name", "clip_id", "success", "duration_s", "frames", "fail_time_s",
                                                "fail_reason", "max_body_dev_m", "max_mean_body_dev_m")}  # fmt: skip
        return base | self.metrics


@dataclass
class EvalReport:
    clips: list[ClipResult]
    summary: dict[str, Any]  # summarize() of the per-clip metrics
    control_dt: float
    policy_source: str = ""

    def to_json(self, per_clip: bool = False) -> dict[str, Any]:
        """The report as JSON-ready data: NaN becomes None, ``per_clip`` optional."""
        out = dict(self.summary)
        out["frame_dt_s"] = self.control_dt
        out["policy"] = self.policy_source
        if per_clip:
            out["per_clip"] = [c.row() for c in self.clips]
        return _json_safe(out)


def _json_safe(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def is_fall(fail_reason: str | None) -> bool:
    """A clip's ``fail_reason`` (terms joined by commas) names a fall term (:data:`FALL_TERMS`)."""
    return fail_reason is not None and any(t in FALL_TERMS for t in fail_reason.split(","))


def clip_num_steps(durations: Tensor, control_dt: float) -> Tensor:
    """Policy steps until the env's ``motion_end`` fires (motion time >= duration - dt/2), long [C]."""
    return torch.ceil(durations.to(torch.float64) / control_dt - 0.5 - 1e-9).clamp(min=1).long()


def plan_waves(num_steps: Sequence[int], clip_ids: Sequence[int], num_envs: int) -> list[list[int]]:
    """Split ``clip_ids`` into waves of at most ``num_envs`` clips, longest clips first."""
    if num_envs < 1:
        raise ValueError("num_envs must be at least 1")
    order = sorted(clip_ids, key=lambda c: (-num_steps[c], c))
    return [order[i : i + num_envs] for i in range(0, len(order), num_envs)]


class _WaveBuffer:
    """Per-frame tensors of one wave, [n, T, ...] on the CPU."""

    def __init__(self, n: int, frames: int, num_bodies: int, num_joints: int, qpos: bool):
        z = torch.zeros
        self.pos, self.ref_pos = z(n, frames, num_bodies, 3), z(n, frames, num_bodies, 3)
        self.quat, self.ref_quat = z(n, frames, 4), z(n, frames, 4)
        self.vel, self.ref_vel = z(n, frames, 3), z(n, frames, 3)
        self.q, self.ref_q = z(n, frames, num_joints), z(n, frames, num_joints)
        self.qpos = qpos

    def record(self, env: Any, k: int, n: int) -> None:
        pos, _ = env.robot_body_poses()
        state = env.robot_state()
        ref = env.reference_state()
        self.pos[:, k] = pos[:n].cpu()
        self.quat[:, k] = state.root_quat[:n].cpu()
        self.vel[:, k] = state.root_lin_vel[:n].cpu()
        self.q[:, k] = state.joint_pos[:n].cpu()
        self.ref_pos[:, k] = ref.body_pos[:n].cpu()
        self.ref_quat[:, k] = ref.root_quat[:n].cpu()
        self.ref_vel[:, k] = ref.root_lin_vel[:n].cpu()
        self.ref_q[:, k] = ref.joint_pos[:n].cpu()

    def trajectories(self) -> tuple[Trajectory, Trajectory]:
        return (
            Trajectory(self.pos, self.quat, self.vel, self.q),
            Trajectory(self.ref_pos, self.ref_quat, self.ref_vel, self.ref_q),
        )


def _fired_failures(extras: dict, dones: Tensor, n: int) -> tuple[Tensor, list[list[str]]]:
    """Failure flags [n] and, per env, the names of the failure terms that fired this step."""
    time_outs = extras.get("time_outs")
    failed = dones[:n].bool().clone()
    if time_outs is not None:
        failed &= ~time_outs[:n].bool()
    names: list[list[str]] = [[] for _ in range(n)]
    for name, fired in (extras.get("terminations") or {}).items():
        if name in TIME_OUT_TERMS:
            continue
        fired = fired[:n].bool().cpu()
        failed |= fired.to(failed.device)
        for i in torch.nonzero(fired).flatten().tolist():
            names[i].append(name)
    return failed.cpu(), names


def rollout_clips(
    env: Any,
    act: Callable[[Any], Tensor],
    motions: Any,
    clip_ids: Iterable[int] | None = None,
    *,
    control_dt: float | None = None,
    record: bool | Iterable[int] = False,
    subsets: dict[str, Sequence[str]] | None = None,
) -> list[ClipResult]:
    """Play each clip (default: all) of ``motions`` (the env's MotionLibrary) once from t = 0 with
    actions ``act(obs)``.

    ``env`` is a TrackingEnv with auto-reset off; ``control_dt`` (s) defaults to the robot's.
    ``record`` keeps robot/reference qpos of all (True) or the listed clips for videos.
    Returns one ClipResult per clip, in ``clip_ids`` order.
    """
    robot = motions.robot
    clip_ids = list(range(motions.num_clips) if clip_ids is None else clip_ids)
    dt = float(control_dt or robot.control_dt)
    steps_all = clip_num_steps(motions.clip_durations, dt).tolist()
    recorded = set(clip_ids) if record is True else set(record or ())
    nb, nj = len(robot.tracked_body_names), robot.num_joints
    results: dict[int, ClipResult] = {}
    for wave in plan_waves(steps_all, clip_ids, env.num_envs):
        n = len(wave)
        steps = torch.tensor([steps_all[c] for c in wave])
        frames = int(steps.max()) + 1
        # idle envs beyond the wave replay the wave's first clip; their data is ignored
        assign = torch.tensor(wave + [wave[0]] * (env.num_envs - n), dtype=torch.long, device=env.device)
        env.reset_to(
            torch.arange(env.num_envs, device=env.device),
            assign,
            torch.zeros(env.num_envs, device=env.device),
        )
        obs = env.get_observations()
        buf = _WaveBuffer(n, frames, nb, nj, qpos=bool(recorded))
        buf.record(env, 0, n)
        end = steps.clone()  # last scored frame per clip
        alive = torch.ones(n, dtype=torch.bool)
        env_failed = torch.zeros(n, dtype=torch.bool)
        reasons: list[str | None] = [None] * n
        for k in range(1, frames):
            with torch.inference_mode():
                actions = act(obs)
            obs, _, dones, extras = env.step(actions)
            buf.record(env, k, n)
            failed, names = _fired_failures(extras, dones, n)
            newly = alive & failed
            for i in torch.nonzero(newly).flatten().tolist():
                reasons[i] = ",".join(names[i]) or "terminated"
            env_failed |= newly
            # the clip ends at its step count or when the env reports its motion end, whichever is first
            time_outs = extras.get("time_outs")
            timed = (
                alive
                & ~failed
                & (torch.zeros_like(alive) if time_outs is None else time_outs[:n].bool().cpu())
            )
            # a time-out more than a step before the clip end (an episode limit shorter than the clip)
            # leaves the clip unfinished: a failure
            early = timed & (k < steps - 1)
            for i in torch.nonzero(early).flatten().tolist():
                reasons[i] = "time_out_before_clip_end"
            env_failed |= early
            end = torch.where(newly | timed, torch.full_like(end, k), end)
            alive &= ~failed & ~timed & (k < steps)
            if not alive.any():
                break
        mask = torch.arange(frames)[None, :] <= end[:, None]
        robot_traj, ref_traj = buf.trajectories()
        # the paper's test criterion, also when the env's own termination differs
        crit = first_failure_frame(robot_traj.body_pos, ref_traj.body_pos, mask, FAILURE_MEAN_DISTANCE_M)
        crit_hit = crit >= 0
        env_reasons, env_end = list(reasons), end.clone()
        for i in torch.nonzero(crit_hit & (crit < end)).flatten().tolist():
            reasons[i] = TEST_CRITERION
            end[i] = crit[i]
        failed_clip = env_failed | crit_hit
        # scored frames: 1..end, the states after each policy step (as HOVER's evaluator); frame 0 is
        # the reference state initialisation itself and would only dilute the errors
        mask = (torch.arange(frames)[None, :] <= end[:, None]) & (torch.arange(frames)[None, :] >= 1)
        per_clip = clip_metrics(robot_traj, ref_traj, robot, mask, subsets)
        dist = body_distances(robot_traj.body_pos, ref_traj.body_pos)  # [n, T, B]
        dist = torch.where(mask[..., None], dist, torch.zeros_like(dist))
        for i, c in enumerate(wave):
            last = int(end[i])
            rec = None
            if c in recorded:
                rec = ClipRecording(
                    name=motions.clip_names[c],
                    fps=1.0 / dt,
                    robot_qpos=qpos_rows(
                        robot_traj.root_pos[i, : last + 1].numpy(),
                        robot_traj.root_quat[i, : last + 1].numpy(),
                        robot_traj.joint_pos[i, : last + 1].numpy(),
                    ),
                    ref_qpos=qpos_rows(
                        ref_traj.root_pos[i, : last + 1].numpy(),
                        ref_traj.root_quat[i, : last + 1].numpy(),
                        ref_traj.joint_pos[i, : last + 1].numpy(),
                    ),
                    failed_frame=last if bool(failed_clip[i]) else None,
                )
            results[c] = ClipResult(
                clip_id=c,
                name=motions.clip_names[c],
                success=not bool(failed_clip[i]),
                duration_s=float(motions.clip_durations[c]),
                frames=last,
                fail_time_s=last * dt if bool(failed_clip[i]) else None,
                fail_reason=reasons[i] if bool(failed_clip[i]) else None,
                max_body_dev_m=float(dist[i].max()),
                max_mean_body_dev_m=float(dist[i, 1 : last + 1].mean(-1).max()),
                metrics={k: float(v[i]) for k, v in per_clip.items()},
                recording=rec,
                env_fail_reason=env_reasons[i] if bool(env_failed[i]) else None,
                env_fail_time_s=float(env_end[i]) * dt if bool(env_failed[i]) else None,
            )
    return [results[c] for c in clip_ids]


def report_from_results(
    results: Sequence[ClipResult], control_dt: float, policy_source: str = ""
) -> EvalReport:
    summary = summarize(
        [r.metrics for r in results], [r.success for r in results], [r.frames for r in results]
    )
    return EvalReport(
        clips=list(results), summary=summary, control_dt=control_dt, policy_source=policy_source
    )


# ----------------------------------------------------------------------------- with a loaded policy


def make_eval_env(
    policy: Any,
    motions: Any,
    num_envs: int,
    *,
    domain_rand: bool = False,
    backend: str = "mujoco",
    num_threads: int | None = None,
    drop_terminations: tuple[str, ...] = (),
    reference_follows_robot: bool = False,
    follow_slack_m: float | None = None,
) -> Any:
    """A TrackingEnv for evaluation: ``policy.env_cfg.eval_config()`` with the PD gains the policy was
    trained with (``env_cfg.gains``), auto-reset off. With
    ``domain_rand`` the training randomisation and control-delay range are switched back on;
    ``drop_terminations``: protocol failure terms left out (``ref_distance``: rollouts go on past a
    tracking loss until a fall or the clip end; ``rollout_clips`` still applies the test criterion);
    ``reference_follows_robot``: every reference dragged along horizontally once the robot's root strays
    more than ``follow_slack_m`` (default: the policy config's) from it (local tracking, as a joystick
    commands it; not the protocol, which tracks in the world)."""
    from hover.envs.backends import make_backend
    from hover.envs.tracking.env import TrackingEnv

    cfg = policy.env_cfg.eval_config()
    unknown = [t for t in drop_terminations if t not in cfg.terminations]
    if unknown:
        raise ValueError(f"drop_terminations {unknown}: the protocol's terms are {list(cfg.terminations)}")
    for t in drop_terminations:
        del cfg.terminations[t]
    cfg.reference_follows_robot = "always" if reference_follows_robot else "never"
    if follow_slack_m is not None:
        cfg.follow_slack_m = follow_slack_m
    if domain_rand:  # the training randomisation (physics, pushes, delays), still from t = 0 of every clip
        train = policy.env_cfg
        cfg = dataclasses.replace(
            cfg,
            domain_rand=dataclasses.replace(train.domain_rand, enabled=True),
            control_delay_steps=train.control_delay_steps,
        )
    options = {} if num_threads is None else {"num_threads": num_threads}
    sim = make_backend(backend, cfg.gains.apply(motions.robot), num_envs, device=motions.device, **options)
    env = TrackingEnv(cfg, motions, sim)
    env.set_auto_reset(False)
    return env


def clip_ids(motions: Any, clip_names: Sequence[str] | None = None) -> list[int]:
    """Indices of the named clips of ``motions`` (all clips for None); ValueError naming unknown ones."""
    names = list(motions.clip_names)
    if clip_names is None:
        return list(range(motions.num_clips))
    missing = [c for c in clip_names if c not in names]
    if missing:
        raise ValueError(f"unknown clip names {missing}; the motion set has {names}")
    return [names.index(c) for c in clip_names]


def evaluate(
    policy: Any,
    motions: Any,
    *,
    num_envs: int | None = None,
    clip_names: Sequence[str] | None = None,
    record: bool | Sequence[str] = False,
    domain_rand: bool = False,
    backend: str = "mujoco",
    num_threads: int | None = None,
    reference_follows_robot: bool = False,
    follow_slack_m: float | None = None,
) -> EvalReport:
    """Evaluate ``policy`` (a ``hover.checkpoints.LoadedPolicy``) on every clip of ``motions`` (or the
    named ones) with ``num_envs`` envs (default: one per clip, at most 64). ``record``: keep qpos
    of all (True) or the named clips for videos; ``reference_follows_robot``, ``follow_slack_m``: see :func:`make_eval_env`."""
    names = list(motions.clip_names)
    ids = clip_ids(motions, clip_names)
    rec_ids: bool | list[int] = record if isinstance(record, bool) else [names.index(c) for c in record]
    n = min(num_envs or DEFAULT_MAX_ENVS, len(ids))
    env = make_eval_env(
        policy,
        motions,
        n,
        domain_rand=domain_rand,
        backend=backend,
        num_threads=num_threads,
        reference_follows_robot=reference_follows_robot,
        follow_slack_m=follow_slack_m,
    )
    try:
        results = rollout_clips(env, policy.act, motions, ids, record=rec_ids)
        return report_from_results(results, motions.robot.control_dt, getattr(policy, "source", ""))
    finally:
        close = getattr(env, "close", None)
        if close is not None:
            close()


@dataclass
class ReplayResult:
    """Per-clip outcome for the feasibility filter."""

    name: str
    success: bool
    max_body_dev_m: float  # largest distance of any tracked body to the reference, up to the end/failure
    fail_time_s: float | None


def replay_clips(
    policy: Any, motions: Any, *, domain_rand: bool = False, num_envs: int | None = None
) -> list[ReplayResult]:
    """Play every clip of ``motions`` once with ``policy`` (evaluation protocol; DR optional) and
    return, per clip in library order, its success flag and maximum body deviation (m)."""
    report = evaluate(policy, motions, num_envs=num_envs, domain_rand=domain_rand)
    return [ReplayResult(c.name, c.success, c.max_body_dev_m, c.fail_time_s) for c in report.clips]


def recordings(report: EvalReport) -> list[ClipRecording]:
    return [c.recording for c in report.clips if c.recording is not None]


__all__ = [
    "ClipResult",
    "EvalReport",
    "ReplayResult",
    "clip_num_steps",
    "evaluate",
    "is_fall",
    "make_eval_env",
    "plan_waves",
    "recordings",
    "replay_clips",
    "report_from_results",
    "rollout_clips",
]
