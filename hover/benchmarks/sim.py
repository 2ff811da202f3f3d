"""``hover bench sim``: simulation throughput of a backend against the machine's physics limit.

Two measurements of the same compiled model, robot standing on PD to the default pose:
- ``physics_steps_per_s_single_core``: raw ``mujoco.mj_step`` rate, one thread, one MjData;
- ``env_steps_per_s``: policy steps of all envs per second through the backend (``step`` then
  ``get_state``, so the state read-out is included).

``physics_limit_ratio = env_steps_per_s * decimation / (raw rate * threads used)``: 1.0 means the
backend adds no overhead over perfectly parallel raw stepping.

With ``--side-by-side`` (MuJoCo) the same envs are then split over N single-thread ``hover bench
sim`` processes run at the same time (N = the threads used), and ``multicore_efficiency =
env_steps_per_s / (sum of their rates)`` says how close one process with all cores comes to N
independent processes (1.0 = no loss from parallelising inside one process). In both measurements the robots are
reset to the default standing pose every ``episode_s`` seconds of simulated time (the H1 tips over
after ~1.5 s on PD alone), so they are always standing and in contact; resets are not timed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass

import mujoco
import numpy as np
import torch

from hover.robots import DEFAULT_ROBOT, get_robot


@dataclass
class SimBenchConfig:
    """Options of ``hover bench sim``."""

    backend: str = "mujoco"
    """simulator backend: mujoco (CPU) or mjwarp (MuJoCo Warp; --device cuda, or cpu for a slow check)"""
    device: str = "cpu"
    """torch/Warp device of the backend's state (mjwarp: cuda or cpu)"""
    num_envs: int = 64
    """parallel environments"""
    seconds: float = 3.0
    """wall-clock seconds of backend stepping (raw single-core stepping, interleaved, takes half as long)"""
    threads: int | None = None
    """parallel chunks of envs (default: all cores)"""
    processes: bool = True
    """MuJoCo: chunks in worker processes with shared-memory read-out (else threads in this process)"""
    side_by_side: bool = False
    """MuJoCo: also run N single-thread bench processes side by side and report multicore_efficiency"""
    robot: str = DEFAULT_ROBOT
    """robot name"""
    episode_s: float = 1.0
    """simulated seconds between resets to the standing pose"""
    json: bool = False
    """print exactly one JSON object instead of a readable summary"""


class RawStepper:
    """Plain ``mj_step`` on one MjData (one thread) of ``model``, robot standing on PD to the default pose."""

    def __init__(self, model: mujoco.MjModel) -> None:
        self.model, self.data = model, mujoco.MjData(model)
        self.steps, self.elapsed = 0, 0.0

    def episode(self, nstep: int) -> None:
        """Reset to the standing keyframe and time ``nstep`` physics steps."""
        mujoco.mj_resetDataKeyframe(self.model, self.data, 0)
        mujoco.mj_forward(self.model, self.data)
        t0 = time.perf_counter()
        mujoco.mj_step(self.model, self.data, nstep=nstep)
        self.elapsed += time.perf_counter() - t0
        self.steps += nstep

    @property
    def rate(self) -> float:
        return self.steps / self.elapsed if self.elapsed > 0 else float("nan")


def run_bench(cfg: SimBenchConfig) -> dict:
    """Run both measurements and return the result dictionary (see the module docstring)."""
    from hover.envs.backends import make_backend

    if cfg.num_envs < 1 or cfg.seconds <= 0 or cfg.episode_s <= 0:
        raise ValueError("num_envs, seconds and episode_s must be positive")
    robot = get_robot(cfg.robot)
    load = os.getloadavg()[0]
    options = {}
    if cfg.backend == "mujoco":
        options = {"num_threads": cfg.threads, "processes": cfg.processes}
    backend = make_backend(cfg.backend, robot, cfg.num_envs, device=cfg.device, **options)
    cuda = torch.device(cfg.device).type == "cuda"
    try:
        n = cfg.num_envs
        episode_steps = max(1, round(cfg.episode_s / backend.control_dt))
        target = torch.tensor([j.default_pos for j in robot.joints], dtype=torch.float32, device=cfg.device)
        target = target.expand(n, -1)
        start = backend.get_state().clone()
        ids = torch.arange(n, device=cfg.device)

        def reset() -> None:
            backend.reset_envs(
                ids,
                start.root_pos,
                start.root_quat,
                start.root_lin_vel,
                start.root_ang_vel,
                start.joint_pos,
                start.joint_vel,
            )

        for _ in range(2):  # warm-up: thread pool, allocations
            backend.step(target)
            backend.get_state()
        # Backend episodes interleaved with raw single-core episodes (half the wall time), so that a
        # change of machine load during the run affects both rates alike.
        model = getattr(backend, "model", None)
        raw = RawStepper(model) if isinstance(model, mujoco.MjModel) else None
        steps, elapsed, physics_s = 0, 0.0, 0.0
        while elapsed < cfg.seconds or steps == 0:
            reset()
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(episode_steps):
                backend.step(target)
                backend.get_state()
            if cuda:
                torch.cuda.synchronize()
            elapsed += time.perf_counter() - t0
            # one more episode, timing physics alone (the rest of a step is the state read-out)
            if physics_s == 0.0:
                reset()
                t1 = time.perf_counter()
                for _ in range(episode_steps):
                    backend.step(target)
                if cuda:
                    torch.cuda.synchronize()
                physics_s = (time.perf_counter() - t1) / episode_steps
            steps += episode_steps
            while raw is not None and raw.elapsed < elapsed / 2:
                raw.episode(episode_steps * backend.decimation)
        env_rate = steps * n / elapsed
        threads = int(getattr(backend, "num_threads", 1))
        raw_rate = raw.rate if raw is not None else float("nan")
        step_s = elapsed / steps
        result = {
            "backend": cfg.backend,
            "device": cfg.device,
            "processes": bool(getattr(backend, "processes", False)),
            "profile_s_per_step": {"physics": physics_s, "state_readout": max(step_s - physics_s, 0.0)},
            "robot": robot.name,
            "num_envs": n,
            "threads": threads,
            "decimation": backend.decimation,
            "physics_dt": backend.physics_dt,
            "seconds": elapsed,
            "env_steps": steps * n,
            "env_steps_per_s": env_rate,
            "physics_steps_per_s": env_rate * backend.decimation,
            "physics_steps_per_s_single_core": raw_rate,
            "physics_limit_ratio": env_rate * backend.decimation / (raw_rate * threads),
            "cpu_count": os.cpu_count(),
            "load_avg_1min_before": load,
            "mujoco_version": mujoco.__version__,
            **_warp_versions(cfg.backend),
            "numpy_version": np.__version__,
        }
    finally:
        backend.close()
    if cfg.side_by_side and cfg.backend == "mujoco" and result["threads"] > 1:
        result.update(side_by_side(cfg, result["threads"], result["env_steps_per_s"]))
    return result


def side_by_side(cfg: SimBenchConfig, processes: int, env_steps_per_s: float) -> dict:
    """Run ``processes`` single-thread bench processes at once over the same envs; sum their rates."""
    import subprocess

    sizes = [len(c) for c in np.array_split(np.arange(cfg.num_envs), processes)]
    cmd = [sys.executable, "-m", "hover", "bench", "sim", "--json", "--threads", "1", "--seconds", str(cfg.seconds),
           "--episode-s", str(cfg.episode_s), "--robot", cfg.robot]  # fmt: skip
    procs = [subprocess.Popen([*cmd, "--num-envs", str(k)], stdout=subprocess.PIPE, text=True) for k in sizes]
    rates = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"side-by-side bench process failed (exit {p.returncode})")
        rates.append(json.loads(out.strip().splitlines()[-1])["env_steps_per_s"])
    total = float(sum(rates))
    return {
        "side_by_side_processes": processes,
        "side_by_side_env_steps_per_s": total,
        "side_by_side_rates": rates,
        "multicore_efficiency": env_steps_per_s / total,
    }


def _warp_versions(backend: str) -> dict[str, str]:
    if backend != "mjwarp":
        return {}
    import mujoco_warp
    import warp

    return {"mujoco_warp_version": mujoco_warp.__version__, "warp_version": warp.config.version}


def format_summary(r: dict) -> str:
    return "\n".join(
        [
            f"backend {r['backend']} on {r['device']} ({r['robot']}), {r['num_envs']} envs, {r['threads']} threads, "
            f"decimation {r['decimation']} (physics dt {r['physics_dt'] * 1e3:.1f} ms)",
            f"  env steps/s (incl. state read-out): {r['env_steps_per_s']:,.0f}",
            f"  physics steps/s through the backend: {r['physics_steps_per_s']:,.0f}",
            f"  raw mj_step/s, one core:            {r['physics_steps_per_s_single_core']:,.0f}",
            f"  physics limit ratio:                {r['physics_limit_ratio']:.2f}",
            f"  per policy step: physics {r['profile_s_per_step']['physics'] * 1e3:.3f} ms, "
            f"state read-out {r['profile_s_per_step']['state_readout'] * 1e3:.3f} ms",
            f"  (1-min load average before the run: {r['load_avg_1min_before']:.2f} on {r['cpu_count']} cores)",
        ]
        + (
            [
                f"  {r['side_by_side_processes']} single-thread processes side by side: "
                f"{r['side_by_side_env_steps_per_s']:,.0f} env steps/s; multicore efficiency "
                f"{r['multicore_efficiency']:.2f}"
            ]
            if "multicore_efficiency" in r
            else []
        )
    )
