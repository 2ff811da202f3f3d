"""``hover sim2sim``: an exported student ONNX driven by the deploy code path in a differently
configured MuJoCo, over many clips in parallel processes, scored with ``hover eval``'s metrics.

Not the training env: each process builds its own model (:mod:`hover.evaluation.sim2sim_physics`:
explicit 1 kHz PD from the exported kp/kd/effort limits, CG solver, Euler integrator by default,
optionally another MJCF of the robot with ``--model``) and runs the student with
:class:`hover.deploy.policy.OnnxPolicy`, :class:`hover.student.StudentObservation` and commands from
``hover.commands.command_from_reference`` under the mask of each named mode (``--mode all`` = every
named mode, one run each). Joint targets are clipped to the joint limits, as on the robot.

Per clip (as ``hover eval``): the robot starts on the reference at t = 0, the policy steps at the
exported ``control_dt`` until the clip ends; a clip fails on a *fall* (pelvis below 0.4 m or tilted
more than 60 degrees; the rollout stops) or on the paper's criterion (mean body distance > 0.5 m);
metrics are over the frames up to the failure. The report per mode: ``success_rate``,
``mpjpe_g_mm`` (E_g-mpjpe), ``mpjpe_l_mm`` (E_mpjpe), ``falls`` and the rest of
``hover.evaluation.metrics.summarize``.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing as mp
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from hover.evaluation.sim2sim_physics import MujocoRobot, PhysicsConfig
from hover.evaluation.sim2sim_worker import ClipOutcome, Job, JobResult, run_job
from hover.robots import SIM2SIM_PHYSICS_DT


@dataclass
class Sim2SimConfig:
    """Check an exported student policy in a differently configured MuJoCo (see ``hover.evaluation.sim2sim``)."""

    policy: str = (
        "builtin:student"  # exported student .onnx, or a checkpoint/run folder/builtin:NAME (exported first)
    )
    motions: str | None = None  # motion file or folder; default: the built-in motion set
    clips: tuple[str, ...] = ()  # clip names to play; default: all
    num_clips: int | None = None  # only the first N clips
    mode: str = "all"  # command mode(s): a name, a comma list, or all
    seconds: float | None = None  # play at most this many seconds of each clip; --joystick: run length (60)
    workers: int = 2  # parallel processes (spawn), one MuJoCo model each
    batch: int = 8  # clips stepped together in one process (batched inference)
    physics_dt: float = SIM2SIM_PHYSICS_DT  # s (training: 0.005)
    solver: Literal["newton", "cg", "pgs"] = "cg"  # constraint solver (training: newton)
    iterations: int = 50  # solver iterations (training: 10)
    ls_iterations: int = 50  # line-search iterations (training: 20)
    integrator: Literal["euler", "implicitfast", "implicit", "rk4"] = "euler"  # (training: implicitfast)
    latency_ms: float = 0.0  # observation -> new targets delay
    model: str | None = None  # another MJCF of the robot (joints mapped by name)
    video: str | None = None  # write an MP4 of one clip here
    video_clip: str | None = None  # clip of the video (default: the first); mode: the first
    video_width: int = 960  # pixels
    video_height: int = 540  # pixels
    json: bool = False  # print the report as JSON instead of a table
    out: str | None = None  # folder for report.json (and the video when --video is a bare name)
    per_clip: bool = field(default=False)  # include per-clip rows in the JSON
    # --- checks of issue 12, one at a time instead of the clips; exit code 1 when the bar is missed ---
    joystick: Literal["random", "idle"] | None = None
    """joystick test through hover run's gamepad path: random = per seed random commands (velocity, yaw
    rate, height) held for random durations within the gamepad limits; idle = sticks released (stand)"""
    seeds: int = 20  # --joystick random: schedules (seed 0..N-1), each run for --seconds (default 60)
    joystick_hold_s: tuple[float, float] = (1.0, 4.0)  # --joystick: each command held U(MIN, MAX) s
    joystick_zero_prob: float = 0.25  # --joystick random: chance that a value is at rest (stick released)
    max_fall_rate: float = 0.05  # --joystick: bar, exit 1 when the fraction of seeds that fell is above it
    vr_stream: str | None = None
    """VR check (OmniH2O): stream this clip's head and hands as VR targets, then freeze, then jump"""
    vr_rate: tuple[float, ...] = (30.0, 60.0, 90.0)  # --vr-stream: stream rates (Hz), one run each
    vr_live_s: float | None = None  # --vr-stream: seconds of live stream (default: the clip's duration)
    vr_freeze_s: float = 1.0  # --vr-stream: then this long without samples (the runner sees them go stale)
    vr_jump_s: float = 3.0  # --vr-stream: then the stream is back with the targets jumped, this long
    vr_jump_m: tuple[float, float, float] = (0.3, 0.0, 0.0)  # --vr-stream: the jump (m): x fwd, y left, z up
    vr_resume: bool = True  # --vr-stream: the operator presses POLICY when the stream is back
    vr_max_error_m: float = 0.1  # --vr-stream: bar on the mean head/hand error while the stream is live (m)
    vr_on_stale: str = (
        "last_command"  # --vr-stream: the runner's on_stale_input (last_command | hold | damping)
    )
    vr_anchor: Literal["world", "root", "truth"] = "world"
    """--vr-stream: the VR source's anchoring: world = the operator frame tied to the robot's pose from leg
    odometry at calibration (hover run's default); root = the points taken as relative to the robot's
    current root (the behaviour before odometry); truth = world anchoring on the simulator's true pelvis
    pose instead of odometry (a diagnostic)"""
    against_eval: bool = False
    """also run hover eval --mode on the same clips and modes; report success side by side"""
    max_success_gap: float = 0.05  # --against-eval: bar on max |sim2sim - eval| success over the modes


def physics_of(cfg: Sim2SimConfig) -> PhysicsConfig:
    return PhysicsConfig(
        physics_dt=cfg.physics_dt,
        solver=cfg.solver,
        iterations=cfg.iterations,
        ls_iterations=cfg.ls_iterations,
        integrator=cfg.integrator,
        latency_ms=cfg.latency_ms,
        model=None if cfg.model is None else str(Path(cfg.model).resolve()),
    )


def load_clips(cfg: Sim2SimConfig, robot: Any) -> list:
    """The MotionClips to play (ValueError naming unknown clips)."""
    from hover.motion.builtin import load_builtin_motions
    from hover.motion.format import load_motion_sources

    clips = load_motion_sources(cfg.motions, robot) if cfg.motions else load_builtin_motions(robot)
    if cfg.clips:
        names = [c.name for c in clips]
        missing = [n for n in cfg.clips if n not in names]
        if missing:
            raise ValueError(f"unknown clip names {missing}; the motion set has {names}")
        clips = [clips[names.index(n)] for n in cfg.clips]
    if cfg.num_clips is not None:
        clips = clips[: cfg.num_clips]
    if not clips:
        raise ValueError("no clips to play")
    return clips


def truncated(clips: list, seconds: float | None) -> list:
    """The clips cut to their first ``seconds`` (all of a clip when it is shorter; None: unchanged)."""
    if seconds is None:
        return list(clips)
    out = []
    for c in clips:
        n = min(c.num_frames, max(2, int(round(seconds * c.fps)) + 1))
        out.append(
            dataclasses.replace(
                c, root_pos=c.root_pos[:n], root_quat=c.root_quat[:n], joint_pos=c.joint_pos[:n]
            )
        )
    return out


def plan_jobs(cfg: Sim2SimConfig, clips: list, modes: tuple[str, ...]) -> list[Job]:
    """(mode, clip) items split over ``cfg.workers`` jobs, balanced by clip duration (longest first)."""
    durations = [
        c.num_frames / c.fps if cfg.seconds is None else min(cfg.seconds, c.num_frames / c.fps) for c in clips
    ]
    items = sorted(((m, i) for m in modes for i in range(len(clips))), key=lambda it: -durations[it[1]])
    workers = max(1, min(cfg.workers, len(items)))
    loads = [0.0] * workers
    groups: list[list[tuple[str, int]]] = [[] for _ in range(workers)]
    for item in items:
        w = loads.index(min(loads))
        groups[w].append(item)
        loads[w] += durations[item[1]]
    record = None
    if cfg.video:
        names = [c.name for c in clips]
        if cfg.video_clip is not None and cfg.video_clip not in names:
            raise ValueError(f"--video-clip {cfg.video_clip!r} is not among the clips played {names}")
        record = (modes[0], names.index(cfg.video_clip) if cfg.video_clip else 0)
    jobs = []
    for g in (g for g in groups if g):  # each job carries only its own clips, re-indexed
        own = sorted({i for _, i in g})
        local = {i: k for k, i in enumerate(own)}
        rec = (record[0], local[record[1]]) if record is not None and record in g else None
        jobs.append(
            Job(
                str(Path(cfg.policy).resolve()),
                [clips[i] for i in own],
                sorted((m, local[i]) for m, i in g),
                physics_of(cfg),
                cfg.seconds,
                cfg.batch,
                rec,
            )
        )
    return jobs


def map_processes(fn: Callable[[Any], Any], jobs: list) -> list:
    """``[fn(job) for job in jobs]``: in this process for one job, else one spawned process per job
    (``fn`` and the jobs must be picklable: module-level functions and dataclasses)."""
    if len(jobs) == 1:
        return [fn(jobs[0])]
    with ProcessPoolExecutor(max_workers=len(jobs), mp_context=mp.get_context("spawn")) as pool:
        return list(pool.map(fn, jobs))


def run_jobs(jobs: list[Job]) -> list[JobResult]:
    """Run the jobs: in this process for one job, else one spawned process per job."""
    return map_processes(run_job, jobs)


@contextmanager
def exported_policy(policy: str) -> Iterator[str]:
    """The path of ``policy`` as an exported ONNX: itself for a ``.onnx`` file, else a checkpoint /
    run folder / ``builtin:NAME`` exported (``hover.training.export``) into a temporary folder."""
    if str(policy).endswith(".onnx"):
        yield str(policy)
        return
    from hover.training.export import export_onnx
    from hover.training.policies import load_policy

    loaded = load_policy(policy)
    with tempfile.TemporaryDirectory() as tmp:
        yield str(export_onnx(loaded, Path(tmp) / "policy.onnx"))


def _mode_block(outcomes: list[ClipOutcome]) -> dict[str, Any]:
    from hover.evaluation.metrics import summarize

    summary = summarize(
        [o.metrics for o in outcomes], [o.success for o in outcomes], [o.frames for o in outcomes]
    )
    summary.pop("successful_only", None)
    return {
        "num_clips": len(outcomes),
        "success_rate": summary.pop("success_rate"),
        "mpjpe_g_mm": summary.pop("mpjpe_g_mm"),
        "mpjpe_l_mm": summary.pop("mpjpe_l_mm"),
        "falls": sum(o.fell for o in outcomes),
        "diverged": sum(o.diverged for o in outcomes),
        "simulated_s": sum(o.simulated_s for o in outcomes),
    } | summary


def build_report(cfg: Sim2SimConfig, modes: tuple[str, ...], results: list[JobResult], wall_s: float) -> dict:
    from hover.evaluation.evaluate import _json_safe

    outcomes = [o for r in results for o in r.outcomes]
    simulated = sum(o.simulated_s for o in outcomes)
    loop_wall = max(r.loop_end for r in results) - min(r.loop_start for r in results)
    report: dict[str, Any] = {
        "policy": str(cfg.policy),
        "model": cfg.model or "hover h1 (hover.robots.mjcf)",
        "physics": asdict(physics_of(cfg)),
        "modes": {m: _mode_block([o for o in outcomes if o.mode == m]) for m in modes},
        "simulated_s": simulated,
        "wall_s": wall_s,
        "rollout_wall_s": loop_wall,
        "workers": len(results),
        "realtime_factor": simulated / loop_wall if loop_wall > 0 else None,
        "realtime_factor_with_startup": simulated / wall_s if wall_s > 0 else None,
    }
    if cfg.per_clip:
        report["per_clip"] = [
            {k: v for k, v in asdict(o).items() if k not in ("robot_qpos", "ref_qpos")} for o in outcomes
        ]
    return _json_safe(report)


def format_table(report: dict) -> str:
    """One row per mode: clips, success, E_g-mpjpe, E_mpjpe, falls."""

    def num(x: float | None, fmt: str) -> str:
        return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, fmt)

    header = f"{'mode':<12} {'clips':>5} {'success':>8} {'E_g-mpjpe mm':>13} {'E_mpjpe mm':>11} {'falls':>6}"
    rows = [header, "-" * len(header)]
    for m, b in report["modes"].items():
        rows.append(
            f"{m:<12} {b['num_clips']:>5} {num(b['success_rate'], '8.1%')} {num(b['mpjpe_g_mm'], '13.1f')} "
            f"{num(b['mpjpe_l_mm'], '11.1f')} {b['falls']:>6}"
        )
    rt = report.get("realtime_factor")
    rows.append(
        f"{report['simulated_s']:.1f} s simulated in {report['rollout_wall_s']:.1f} s with "
        f"{report['workers']} process(es): {num(rt, '.1f')}x real time"
    )
    return "\n".join(rows)


def run_sim2sim(cfg: Sim2SimConfig) -> tuple[dict, list[ClipOutcome]]:
    """Check the policy, plan and run the jobs, write the video; returns (report, outcomes).

    ``cfg.policy`` is an exported ``.onnx`` file, or a checkpoint / run folder / ``builtin:NAME``,
    which is first exported to ONNX (``hover.training.export``) in a temporary folder.
    """
    with exported_policy(cfg.policy) as path:
        report, outcomes = _run_onnx(dataclasses.replace(cfg, policy=path))
    report["policy"] = str(cfg.policy)
    return report, outcomes


def _run_onnx(cfg: Sim2SimConfig) -> tuple[dict, list[ClipOutcome]]:
    from hover.commands import resolve_modes
    from hover.deploy.policy import OnnxPolicy, student_layout

    policy = OnnxPolicy(cfg.policy)
    student_layout(policy)
    decimation = round(policy.control_dt / cfg.physics_dt) if cfg.physics_dt > 0 else 0
    if decimation < 1 or abs(decimation * cfg.physics_dt - policy.control_dt) > 1e-9:
        raise ValueError(
            f"--physics-dt {cfg.physics_dt} s must divide the policy's control dt {policy.control_dt} s"
        )
    if not 0.0 <= cfg.latency_ms * 1e-3 <= policy.control_dt:
        raise ValueError(f"--latency-ms {cfg.latency_ms} must lie in [0, {policy.control_dt * 1e3:g}] ms")
    modes = resolve_modes(cfg.mode)
    clips = load_clips(cfg, policy.robot)
    if cfg.model is not None:
        if not Path(cfg.model).is_file():
            raise FileNotFoundError(f"{cfg.model}: no such MJCF file")
        # loads the MJCF and maps the joints here, so a bad model fails before any process starts
        MujocoRobot(
            policy.robot, policy.joint_names, policy.kp, policy.kd, policy.effort_limit, physics_of(cfg)
        )
    jobs = plan_jobs(cfg, clips, modes)
    start = time.perf_counter()
    results = run_jobs(jobs)
    wall = time.perf_counter() - start
    report = build_report(cfg, modes, results, wall)
    outcomes = [o for r in results for o in r.outcomes]
    if cfg.video:
        path = Path(cfg.video)
        if cfg.out and path.parent == Path("."):
            path = Path(cfg.out) / path
        try:
            written = write_video(
                path, outcomes, policy.control_dt, policy.robot, cfg.video_width, cfg.video_height
            )
            report["video"] = str(written)
        except (RuntimeError, ValueError) as err:  # no OpenGL, size over the offscreen buffer
            report["video_error"] = str(err)
    return report, outcomes


def write_video(
    path: str | Path,
    outcomes: list[ClipOutcome],
    control_dt: float,
    robot: Any,
    width: int = 960,
    height: int = 540,
) -> Path:
    """MP4 of the recorded clip (robot + green reference ghost)."""
    from hover.video import ClipRecording, render_recordings
    from hover.video import write_video as write_frames

    rec = next(o for o in outcomes if o.robot_qpos is not None)
    assert rec.robot_qpos is not None
    recording = ClipRecording(
        f"{rec.name} [{rec.mode}] sim2sim",
        1.0 / control_dt,
        rec.robot_qpos,
        rec.ref_qpos,
        None if rec.success else rec.frames,
    )
    return write_frames(path, render_recordings([recording], robot, width=width, height=height))


def benchmark_sim2sim(policy_path: str, num_clips: int = 4, workers: int = 2, seconds: float = 2.0) -> dict:
    """sim2sim throughput: ``realtime_factor`` = simulated seconds (all clips) / wall seconds of the
    rollouts (all workers together, process start excluded; ``realtime_factor_with_startup`` includes it),
    on ``num_clips`` built-in clips in the ``humanplus`` mode with the default sim2sim physics."""
    cfg = Sim2SimConfig(
        policy=str(policy_path), num_clips=num_clips, workers=workers, seconds=seconds, mode="humanplus"
    )
    report, _ = run_sim2sim(cfg)
    keys = (
        "realtime_factor",
        "realtime_factor_with_startup",
        "simulated_s",
        "rollout_wall_s",
        "wall_s",
        "workers",
    )
    return {k: report[k] for k in keys} | {
        "num_clips": num_clips,
        "physics_dt": cfg.physics_dt,
        "success_rate": report["modes"]["humanplus"]["success_rate"],
    }


__all__ = [
    "Sim2SimConfig",
    "benchmark_sim2sim",
    "exported_policy",
    "format_table",
    "map_processes",
    "plan_jobs",
    "run_sim2sim",
    "truncated",
]
