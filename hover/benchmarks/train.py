"""``hover bench train``: training throughput on the tracking env (PPO teacher or DAgger student), against the physics alone.

Runs ``warmup`` + ``iterations`` PPO iterations of a recipe (rollout of ``num_steps_per_env`` steps
per env, then the PPO update) without writing a run folder, then, in the same process, steps the same
backend alone (same envs, same decimation, targets on the reference, state read-out included) for
``physics_seconds``, and reports (JSON with ``--json``):

- ``physics_only_steps_per_s`` and ``training_to_physics_ratio`` = env_steps_per_s / physics_only:
  how close training comes to the rate of its own simulator;

- ``env_steps_per_s``: env steps per second of *training* (collection + learning), the number
  comparable to HOVER's ~117k/s at 4096 envs on an RTX 4090;
- ``collection_steps_per_s``: env steps per second during rollouts only (physics + task + policy);
- ``iteration_s``, ``collection_s``, ``learning_s``: mean seconds per iteration;
- ``profile_s``: after the timed iterations, ``profile_iterations`` more with every stage timed
  exclusively (physics, state read-out, resets, observations, rewards, other task logic, policy,
  storage, returns, PPO update; CUDA synchronised per call), mean seconds per iteration, slowest first.

``--backend mjwarp --device cuda`` measures the MuJoCo Warp backend on a GPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class BenchTrainConfig:
    """Measure PPO training throughput on the tracking env."""

    kind: str = "teacher"  # teacher (PPO on a recipe) or student (DAgger distillation from --teacher)
    recipe: str = "tracking"  # training recipe (hover.training.recipes) whose settings are measured
    teacher: str = "builtin:teacher"  # --kind student: the teacher that labels
    backend: str = "mujoco"
    num_envs: int | None = None  # None = the recipe's
    iterations: int = 3
    warmup: int = 1
    num_steps_per_env: int | None = None  # None = the recipe's
    num_threads: int | None = None  # simulator chunks (None = all cores)
    sim_workers: bool = True  # MuJoCo: chunks in worker processes (else threads)
    torch_threads: int | None = 1  # during rollouts
    update_threads: int | None = None  # during PPO updates (None = all cores)
    device: str = "cpu"
    profile_iterations: int = 1  # extra iterations with per-stage timers (0 = no profile)
    physics_seconds: float = 3.0  # wall-clock seconds of physics-only stepping (0 = skip)
    json: bool = False  # print one JSON object instead of a table


def physics_only_rate(env, seconds: float, episode_steps: int = 50) -> float:
    """Env steps/s of the env's backend alone: ``step`` + ``get_state`` with the PD targets of a zero
    action, from states sampled as in training (reset every ``episode_steps``; resets not timed)."""
    backend, n = env.backend, env.num_envs
    ids = torch.arange(n, device=env.device)
    steps, elapsed = 0, 0.0
    while elapsed < seconds or steps == 0:
        env._reset_envs(ids)
        env._refresh()
        targets = env.absolute_targets(torch.zeros(n, env.num_actions, device=env.device))
        t0 = time.perf_counter()
        for _ in range(episode_steps):
            backend.step(targets)
            backend.get_state()
        elapsed += time.perf_counter() - t0
        steps += episode_steps
    return steps * n / elapsed


def _runner(cfg: BenchTrainConfig):
    """(env, runner, steps per env, total envs) of a teacher recipe or of a student distillation."""
    from hover.training import distillation as S
    from hover.training.recipes import teacher_recipe
    from hover.training.runner import HoverDistillationRunner, HoverRunner
    from hover.training.teacher import make_env, rsl_rl_config

    common: dict[str, Any] = dict(
        backend=cfg.backend,
        num_threads=cfg.num_threads,
        device=cfg.device,
        update_threads=cfg.update_threads,
        sim_workers=cfg.sim_workers,
    )
    if cfg.kind == "teacher":
        tcfg = teacher_recipe(cfg.recipe)
        tcfg = dataclasses.replace(tcfg, **common, num_envs=cfg.num_envs or tcfg.num_envs)
        if cfg.num_steps_per_env:
            tcfg.ppo.num_steps_per_env = cfg.num_steps_per_env
        env = make_env(tcfg)
        with contextlib.redirect_stdout(sys.stderr):  # rsl-rl prints the models; keep stdout for the JSON
            runner = HoverRunner(env, rsl_rl_config(tcfg), log_dir=None, device=cfg.device)
        return env, runner, tcfg.ppo.num_steps_per_env
    if cfg.kind != "student":
        raise ValueError(f"--kind must be teacher or student, got {cfg.kind!r}")
    teacher_path = S.teacher_checkpoint(cfg.teacher)
    teacher_cfg = S.teacher_train_config(teacher_path)
    scfg = S.StudentTrainConfig(teacher=cfg.teacher, **common)
    scfg = dataclasses.replace(scfg, num_envs=cfg.num_envs or scfg.num_envs)
    if cfg.num_steps_per_env:
        scfg.distillation.num_steps_per_env = cfg.num_steps_per_env
    scfg = S.prepare(scfg, teacher_cfg.env)
    env = make_env(scfg)
    actor = S.teacher_rsl_rl_config(teacher_cfg)["actor"]
    with contextlib.redirect_stdout(sys.stderr):
        runner = HoverDistillationRunner(env, S.rsl_rl_config(scfg, actor), log_dir=None, device=cfg.device)
        runner.load_teacher(str(teacher_path))
    runner.alg.label_transform = S.label_transform(env, teacher_cfg.env.actions)
    return env, runner, scfg.distillation.num_steps_per_env


def bench_train(cfg: BenchTrainConfig) -> dict:
    from hover.benchmarks.profile import StageProfiler, wrap_training

    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    env, runner, steps_per_env = _runner(cfg)
    alg = runner.alg
    alg.train_mode()
    obs = env.get_observations()
    times = []
    cuda = torch.device(cfg.device).type == "cuda"

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    def iteration(obs):
        with torch.inference_mode():
            for _ in range(steps_per_env):
                actions = alg.act(obs)
                obs, rewards, dones, extras = env.step(actions)
                alg.process_env_step(obs, rewards, dones, extras)
            alg.compute_returns(obs)
        return obs

    profiler = StageProfiler(sync_cuda=cuda)
    physics = float("nan")
    try:
        for it in range(cfg.warmup + cfg.iterations):
            sync()
            t0 = time.perf_counter()
            obs = iteration(obs)
            sync()
            t1 = time.perf_counter()
            alg.update()
            sync()
            t2 = time.perf_counter()
            if it >= cfg.warmup:
                times.append((t1 - t0, t2 - t1))
        if cfg.physics_seconds > 0:
            with torch.inference_mode():  # the env's buffers were made in the rollout's inference mode
                physics = physics_only_rate(env, cfg.physics_seconds)
        if cfg.profile_iterations > 0:
            wrap_training(profiler, env, alg)
            for _ in range(cfg.profile_iterations):
                obs = iteration(obs)
                alg.update()
            profiler.restore()
    finally:
        env.backend.close()
    collect = sum(t[0] for t in times) / len(times)
    learn = sum(t[1] for t in times) / len(times)
    steps = env.num_envs * steps_per_env
    rate = steps / (collect + learn)
    return {
        "kind": cfg.kind,
        "recipe": cfg.recipe if cfg.kind == "teacher" else None,
        "backend": cfg.backend,
        "num_envs": env.num_envs,
        "num_steps_per_env": steps_per_env,
        "iterations": cfg.iterations,
        "cpu_count": os.cpu_count() or 0,
        "sim_workers": bool(getattr(env.backend, "processes", False)),
        "torch_threads": torch.get_num_threads(),
        "update_threads": getattr(alg, "update_threads", None),
        "env_steps_per_s": rate,
        "collection_steps_per_s": steps / collect,
        "physics_only_steps_per_s": physics,
        "training_to_physics_ratio": rate / physics,
        "iteration_s": collect + learn,
        "collection_s": collect,
        "learning_s": learn,
        "learning_share": learn / (collect + learn),
        "device": cfg.device,
        "load_avg_1min": os.getloadavg()[0],
        "profile_s": profiler.report(cfg.profile_iterations) if cfg.profile_iterations > 0 else {},
    }
