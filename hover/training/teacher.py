"""``hover train teacher``: PPO (rsl-rl) on the tracking env, with recipes, run folders and resume.

``--recipe NAME`` picks the task and training preset (``hover.training.recipes``): ``tracking``
(the default; anchor-relative rewards, residual actions, compact observations, CPU-sized PPO) or
``hover-paper`` (the paper's formulation). Every field of the recipe can still be overridden on the
command line (``--env.rewards.body_pos.weight 2.0``, ``--ppo.num-learning-epochs 3``, ...).
``--env.gains.mode natural-frequency`` (with ``--env.gains.frequency-hz`` and
``--env.gains.damping-ratio``) simulates BeyondMimic's PD gains from a natural frequency instead of
the robot's own (:class:`~hover.envs.tracking.config.GainsConfig`); the ``effort`` action scale follows.

A run folder holds ``config.json`` (the full resolved :class:`TeacherTrainConfig`, recipe included,
and the rsl-rl config dict), TensorBoard event files, ``eval.csv`` (the evaluation protocol's success
rate and errors every ``eval_interval`` iterations, against env steps and wall-clock time), ``git/``
(code state) and the newest checkpoints ``model_<iteration>.pt`` (see ``runner.py``). ``--resume RUN``
(a run folder or a checkpoint) reloads that run's config (command-line options still override it),
weights, optimiser, normalisers, curricula and sampler state, then continues the same curve in the
same folder until iteration ``--max-iterations`` (a total, not a count of extra iterations).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from hover.envs.backends import make_backend
from hover.envs.tracking.env import TrackingEnv
from hover.io import atomic_write_text
from hover.motion.library import MotionLibrary
from hover.robots import get_robot
from hover.training.configs import (
    ModelConfig,
    PPOConfig,
    RunConfig,
    StudentTrainConfig,
    TeacherTrainConfig,
    teacher_config_from_json,
)
from hover.training.loop import bundle_checkpoint, learn_until, resolve_resume
from hover.training.periodic_eval import PeriodicEval, policy_act
from hover.training.runner import HoverDistillationRunner, HoverRunner

config_from_json = teacher_config_from_json
__all__ = [
    "ModelConfig",
    "PPOConfig",
    "TeacherTrainConfig",
    "config_from_json",
    "make_env",
    "rsl_rl_config",
    "train",
]


def native_bfloat16(device: str) -> bool:
    """Whether ``device`` computes bfloat16 matmuls natively (CUDA with bf16, or a CPU with AVX512-BF16/AMX);
    elsewhere bfloat16 autocast is emulated and slower than float32."""
    if torch.device(device).type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def rsl_rl_config(cfg: TeacherTrainConfig) -> dict[str, Any]:
    """The train_cfg dict that rsl-rl-lib 5.x's OnPolicyRunner expects. ``ppo.use_mixed_precision`` is
    applied only where bfloat16 is native (:func:`native_bfloat16`)."""
    p, m = cfg.ppo, cfg.model
    algorithm = {k: v for k, v in dataclasses.asdict(p).items() if k != "num_steps_per_env"}
    algorithm["use_mixed_precision"] = p.use_mixed_precision and native_bfloat16(cfg.device)
    return {
        "num_steps_per_env": p.num_steps_per_env,
        "save_interval": cfg.save_interval,
        "obs_groups": {"actor": ["policy"], "critic": ["critic"]},
        "algorithm": {
            "class_name": "hover.training.runner:GuardedPPO",
            "update_threads": cfg.update_threads or os.cpu_count() or 1,
            **algorithm,
        },
        "actor": {
            "class_name": "MLPModel",
            "hidden_dims": list(m.actor_hidden_dims),
            "activation": m.activation,
            "obs_normalization": m.obs_normalization,
            "distribution_cfg": {
                "class_name": "GaussianDistribution",
                "init_std": m.init_noise_std,
                "std_type": "scalar",
                "std_range": list(m.std_range),
                "learn_std": m.learn_std,
            },
        },
        "critic": {
            "class_name": "MLPModel",
            "hidden_dims": list(m.critic_hidden_dims),
            "activation": m.activation,
            "obs_normalization": m.obs_normalization,
        },
        "logger": "tensorboard",
        "check_for_nan": True,
        "run_name": "teacher",
    }


def config_to_json(cfg: TeacherTrainConfig) -> str:
    return json.dumps({"train": dataclasses.asdict(cfg), "rsl_rl": rsl_rl_config(cfg)}, indent=2)


def make_env(cfg: RunConfig) -> TrackingEnv:
    """Motion library + backend + TrackingEnv for a training config."""
    robot = get_robot(cfg.robot)
    if cfg.motions:
        motions = MotionLibrary.from_sources(cfg.motions, robot=robot, device=cfg.device)
    else:
        motions = MotionLibrary.builtin(robot=robot, device=cfg.device)
    options = (
        {"num_threads": cfg.num_threads, "processes": cfg.sim_workers} if cfg.backend == "mujoco" else {}
    )
    # the simulated actuators get the env's PD gains (cfg.env.gains; the robot's own by default)
    backend = make_backend(
        cfg.backend, cfg.env.gains.apply(robot), cfg.num_envs, device=cfg.device, **options
    )
    env_cfg = dataclasses.replace(cfg.env, seed=cfg.seed)
    return TrackingEnv(env_cfg, motions, backend)


def train(cfg: TeacherTrainConfig) -> Path:
    """Train (or resume) and return the run folder.

    Under torchrun (``WORLD_SIZE`` > 1) each process is one rank with its own device and seed;
    rsl-rl all-reduces the gradients and only rank 0 writes the run folder (``hover.training.distributed``).
    """
    from hover.training import distributed as dist

    info = dist.dist_info()
    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    rank_cfg = dist.rank_config(cfg, info)
    torch.manual_seed(rank_cfg.seed)
    ckpt = None
    if cfg.resume:
        run_dir, ckpt = resolve_resume(cfg.resume)
        if cfg.run_dir and Path(cfg.run_dir).resolve() != run_dir.resolve():
            run_dir = Path(cfg.run_dir)
    else:
        run_dir = Path(cfg.run_dir or Path("runs") / "teacher" / time.strftime("%Y%m%d-%H%M%S"))
    text = config_to_json(dataclasses.replace(cfg, reset_sampler=False, reset_action_std=None))  # one-shot
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.json", text)

    env = make_env(rank_cfg)
    runner_cls = dist.DistributedHoverRunner if info.is_distributed else HoverRunner
    runner = runner_cls(
        env,
        rsl_rl_config(cfg),
        log_dir=str(run_dir) if info.is_main else None,
        device=rank_cfg.device,
        config_json=text,
        keep_checkpoints=cfg.keep_checkpoints,
    )
    runner.add_git_repo_to_log(str(Path(__file__).resolve()))
    evaluator = add_periodic_eval(runner, cfg, run_dir if info.is_main else None) if info.is_main else None
    if ckpt is not None:
        runner.load(str(ckpt), reset_sampler=cfg.reset_sampler)
        print(f"resumed {ckpt} at iteration {runner.current_learning_iteration}", flush=True)
        if cfg.reset_action_std is not None:
            set_action_std(runner.alg.actor, cfg.reset_action_std)
            print(f"action noise std set to {cfg.reset_action_std}", flush=True)
    elif cfg.model.actor_output_gain != 1.0:
        scale_output_layer(runner.alg.actor, cfg.model.actor_output_gain)
    try:
        learn_until(runner, cfg.max_iterations, run_dir)
        dist.report_sync(runner, info)
    finally:
        env.backend.close()
        if evaluator is not None:
            evaluator.close()
        dist.shutdown()
    return run_dir


def add_periodic_eval(
    runner: HoverRunner | HoverDistillationRunner,
    cfg: TeacherTrainConfig | StudentTrainConfig,
    run_dir: Path | None,
    modes: Sequence[str] = (),
) -> PeriodicEval | None:
    """Evaluate the current policy every ``cfg.eval_interval`` iterations (see ``periodic_eval``); a
    student in each of the named command ``modes``."""
    if cfg.eval_interval <= 0 or not cfg.eval_motions:
        return None
    robot = get_robot(cfg.robot)
    evaluator = PeriodicEval(cfg.env, cfg.eval_motions, robot, cfg.eval_interval, run_dir, modes=modes)

    def hook(r: HoverRunner | HoverDistillationRunner, iteration: int) -> None:
        if evaluator.due(iteration):
            results = evaluator.run(policy_act(r.alg.get_policy()))
            evaluator.log(
                results, iteration, int(r.logger.tot_timesteps), float(r.logger.tot_time), r.logger.writer
            )

    runner.iteration_hooks.append(hook)
    return evaluator


def scale_output_layer(actor: torch.nn.Module, gain: float) -> None:
    """Multiply the weights and bias of the actor's last linear layer by ``gain``: with a small gain
    a fresh residual policy starts at (nearly) zero actions, i.e. PD tracking of the reference."""
    last = [m for m in actor.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.mul_(gain)
        last.bias.mul_(gain)


def set_action_std(actor: torch.nn.Module, std: float) -> None:
    """Set the Gaussian action noise of an rsl-rl actor (scalar or log std parameter) to ``std``."""
    if std <= 0:
        raise ValueError(f"action std must be > 0, got {std}")
    dist: Any = actor.distribution  # an rsl-rl distribution module
    with torch.no_grad():
        if hasattr(dist, "std_param"):
            dist.std_param.fill_(std)
        elif hasattr(dist, "log_std_param"):
            dist.log_std_param.fill_(math.log(std))
        else:
            raise ValueError(f"{type(dist).__name__}: no std parameter to set")


def export_bundled(
    run_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None, name: str = "teacher"
) -> Path:
    """Newest checkpoint's actor weights (+ normaliser) and config -> ``<out_dir>/<name>.pt`` and ``.json``
    (``out_dir`` defaults to ``hover/assets/policies``; see :func:`hover.training.loop.bundle_checkpoint`)."""
    return bundle_checkpoint(run_dir, out_dir, name, "teacher", "actor_state_dict")
