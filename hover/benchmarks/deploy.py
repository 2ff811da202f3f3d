"""``hover bench deploy``: the onboard runner's timing, measured on this machine.

- ``inference_p50_ms`` / ``inference_p99_ms``: one student observation [1, 1782] through ONNX
  Runtime (one intra-op and one inter-op thread, ``hover.deploy.policy.OnnxPolicy``);
- ``loop_period_p99_error_ms``: p99 of |actual - nominal| period of the 50 Hz runner loop over
  ``--seconds`` against ``hover sim-robot`` started as a subprocess (DDS on ``lo``), robot held by the
  sim's elastic band, ``idle`` input, policy running (fall check off: this measures timing, not control);
  per-stage latencies (read_state, build_obs, inference, publish) come with it;
- ``sim2sim_realtime_factor``: ``hover.evaluation.sim2sim.benchmark_sim2sim`` (simulated s / wall s, all
  workers), when that module is present.

The policy is an exported student ONNX, a student checkpoint/``builtin:student`` (exported to a
temporary file), or ``random``: an untrained network of the student's size (same cost per inference).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hover.robots import DEFAULT_ROBOT, RobotSpec, get_robot


@dataclass
class DeployBenchConfig:
    """Options of ``hover bench deploy``."""

    policy: str = "builtin:student"
    """student ONNX file, student checkpoint / builtin:student (exported), or random (untrained, student-sized)"""
    seconds: float = 60.0
    """seconds of the 50 Hz runner loop against sim-robot"""
    inference_iters: int = 3000
    """timed single-observation inferences"""
    rt_priority: int = 0
    """SCHED_FIFO priority of the runner's threads (0 = normal scheduling)"""
    sim2sim: bool = True
    """also measure sim2sim throughput (needs hover.evaluation.sim2sim)"""
    sim2sim_clips: int = 4
    """clips rolled out by the sim2sim measurement"""
    sim2sim_workers: int = 2
    """sim2sim worker processes"""
    sim2sim_seconds: float = 4.0
    """simulated seconds per sim2sim clip (at most)"""
    domain: int | None = None
    """DDS domain for the runner <-> sim-robot link (default: random in 100..199)"""
    robot: str = DEFAULT_ROBOT
    """robot name"""
    json: bool = False
    """print exactly one JSON object"""


def _student_metadata(robot: RobotSpec, obs_dim: int) -> dict[str, Any]:
    """The metadata ``hover export`` writes for a student, for an untrained stand-in model."""
    from types import SimpleNamespace

    from hover.policy_metadata import policy_metadata

    stand_in = SimpleNamespace(
        kind="student", source="hover.benchmarks.deploy.write_student_onnx", iteration=0, env_cfg=None
    )
    return policy_metadata(stand_in, robot, obs_dim, robot.num_joints)


def write_student_onnx(
    path: str | os.PathLike,
    module: Any = None,
    robot: RobotSpec | str = DEFAULT_ROBOT,
    hidden_dims: tuple[int, ...] = (640, 384, 256),
    seed: int = 0,
) -> Path:
    """Write a torch module [N, obs_dim] -> [N, J] as a student ONNX with hover metadata.

    ``module`` None = an untrained ELU MLP of ``hidden_dims`` (the student's default size). For
    benchmarks and tests of the deploy path when no trained student is at hand; a trained student is
    exported with ``hover export``.
    """
    import onnx
    import torch

    from hover.io import atomic_open
    from hover.student import HISTORY_LENGTH, student_obs_layout

    robot = get_robot(robot) if isinstance(robot, str) else robot
    obs_dim = student_obs_layout(robot, HISTORY_LENGTH).obs_dim
    if module is None:
        torch.manual_seed(seed)
        dims, layers = (obs_dim, *hidden_dims), []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [torch.nn.Linear(a, b), torch.nn.ELU()]
        module = torch.nn.Sequential(*layers, torch.nn.Linear(dims[-1], robot.num_joints))
        with torch.no_grad():
            module[-1].weight.mul_(0.01)  # small actions: the untrained robot stays near the default pose
    module = module.eval()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                module,
                (torch.zeros(1, obs_dim),),
                str(raw),
                input_names=["obs"],
                output_names=["actions"],
                dynamic_axes={"obs": {0: "batch"}, "actions": {0: "batch"}},
                opset_version=18,
                dynamo=False,
            )
        model = onnx.load(str(raw))
    entry = model.metadata_props.add()
    entry.key, entry.value = "hover", json.dumps(_student_metadata(robot, obs_dim))
    out = Path(path)
    with atomic_open(out, "wb") as f:
        f.write(model.SerializeToString())
    return out


def resolve_policy(spec: str, tmp: Path, robot: RobotSpec) -> tuple[Path, str]:
    """(ONNX path, note) for ``spec``: an .onnx file, ``random``, or a checkpoint spec exported with hover.training.export."""
    if spec.endswith(".onnx"):
        return Path(spec), "given ONNX"
    if spec == "random":
        return write_student_onnx(tmp / "random_student.onnx", robot=robot), "untrained student-sized MLP"
    from hover.training.export import export_onnx
    from hover.training.policies import load_policy

    try:
        loaded = load_policy(spec)
        return export_onnx(loaded, tmp / "student.onnx"), f"{spec} exported"
    except (FileNotFoundError, ValueError) as e:
        note = f"{spec} unavailable ({e}); untrained student-sized MLP used"
        return write_student_onnx(tmp / "random_student.onnx", robot=robot), note


def bench_inference(path: Path, robot: RobotSpec, iters: int, rt_priority: int = 0) -> dict[str, float]:
    """Single-observation ONNX Runtime latency (one thread), under SCHED_FIFO when ``rt_priority`` > 0."""
    from hover.deploy.onboard_runner import set_realtime_priority
    from hover.deploy.policy import OnnxPolicy

    policy = OnnxPolicy(path, robot, threads=1)
    raised = set_realtime_priority(rt_priority)
    try:
        return _time_inference(policy, iters)
    finally:
        if raised:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def _time_inference(policy: Any, iters: int) -> dict[str, float]:
    obs = np.random.default_rng(0).standard_normal((1, policy.obs_dim)).astype(np.float32)
    for _ in range(100):
        policy(obs)
    times = np.empty(iters)
    for i in range(iters):
        t0 = time.perf_counter()
        policy(obs)
        times[i] = time.perf_counter() - t0
    t = times * 1e3
    return {
        "inference_p50_ms": float(np.percentile(t, 50)),
        "inference_p99_ms": float(np.percentile(t, 99)),
        "inference_max_ms": float(t.max()),
    }


def bench_loop(path: Path, robot: RobotSpec, seconds: float, domain: int, rt_priority: int) -> dict[str, Any]:
    """The runner against a sim-robot subprocess for ``seconds``; period error and stage latencies."""
    from hover.commands import command_layout
    from hover.deploy.inputs import make_input
    from hover.deploy.onboard_runner import Runner, RunnerConfig, load_student_policy
    from hover.deploy.robot_io import DdsRobot
    from hover.deploy.safety import SafetyConfig
    from hover.deploy.state_machine import StateMachineConfig

    cmd = [sys.executable, "-m", "hover", "sim-robot", "--domain", str(domain), "--net", "lo",
           "--duration-s", str(seconds + 30.0), "--band-s", "1e9", "--robot", robot.name]  # fmt: skip
    sim = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert sim.stdout is not None  # a pipe
    try:
        sim.stdout.readline()  # "sim-robot ready"
        policy = load_student_policy(str(path), robot)
        source = make_input("idle", robot, command_layout(robot))
        cfg = RunnerConfig(
            auto_start=True,
            stats_every_s=0.0,
            rt_priority=rt_priority,
            damping_s=0.5,
            machine=StateMachineConfig(soft_start_s=1.0),
            safety=SafetyConfig(fall_gravity_z=2.0),
        )
        runner = Runner(robot, DdsRobot(robot, domain, "lo"), policy, source, cfg)
        report = runner.run(seconds)
    finally:
        sim.terminate()
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()
    lat = report["latency"]
    policy_ticks = lat.get("inference", {}).get("n", 0)
    return {
        "loop_period_p99_error_ms": report["period_error_p99_ms"],
        "loop_period_p50_error_ms": report["period_error_p50_ms"],
        "loop_period_max_error_ms": report["period_error_max_ms"],
        "loop_ticks": report["ticks"],
        "loop_overruns": report["overruns"],
        "loop_policy_ticks": policy_ticks,
        "loop_final_state": report["state"],
        "loop_safety_events": len(report["safety_events"]),
        "stage_latency_ms": {k: {"p50": v["p50_ms"], "p99": v["p99_ms"]} for k, v in lat.items()},
    }


def run_bench(cfg: DeployBenchConfig) -> dict[str, Any]:
    if cfg.seconds <= 0 or cfg.inference_iters < 1:
        raise ValueError("seconds and inference_iters must be positive")
    robot = get_robot(cfg.robot)
    domain = cfg.domain if cfg.domain is not None else random.randrange(100, 200)
    out: dict[str, Any] = {"robot": robot.name, "load_avg_1min": os.getloadavg()[0], "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        path, note = resolve_policy(cfg.policy, Path(tmp), robot)
        out["policy"], out["policy_note"] = cfg.policy, note
        out.update(bench_inference(path, robot, cfg.inference_iters, cfg.rt_priority))
        out.update(bench_loop(path, robot, cfg.seconds, domain, cfg.rt_priority))
        out["loop_seconds"], out["rt_priority"] = cfg.seconds, cfg.rt_priority
        if cfg.sim2sim:
            try:
                from hover.evaluation.sim2sim import benchmark_sim2sim
            except ImportError as e:
                out["sim2sim_note"] = f"skipped: hover.evaluation.sim2sim unavailable ({e})"
            else:
                try:
                    res = benchmark_sim2sim(
                        str(path), cfg.sim2sim_clips, cfg.sim2sim_workers, cfg.sim2sim_seconds
                    )
                    out["sim2sim_realtime_factor"] = res.get("realtime_factor")
                    out["sim2sim"] = res
                except Exception as e:  # noqa: BLE001 - another module's failure must not lose the timings
                    out["sim2sim_note"] = f"failed: {e!r}"
    return out
