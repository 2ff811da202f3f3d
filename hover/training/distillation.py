"""``hover train student``: DAgger distillation (rsl-rl ``Distillation``) of the masked multi-mode student.

The student acts from the first iteration; the frozen teacher labels every visited state with its
mean action computed from its privileged observation (the env's ``policy`` group), and the student
(observation group ``student``: proprioception, masked command, mask, 25-step history; see
:mod:`hover.student`) regresses those labels. Each episode draws its mask from ``--modes``:
``all`` (the generalist: the paper's random per-region masks mixed with every named mode) or a
comma-separated list of names (``--modes omnih2o`` trains a single-mode specialist).

Run folders, TensorBoard logs, atomic checkpoints and ``--resume`` behave as for the teacher
(:mod:`hover.training.teacher`). The student MLP is [640, 384, 256] ELU: 1.49 M parameters for the
H1's 1782-dim observation (the paper: about 1.5 M); Adam, lr 5e-4, MSE loss.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from hover.checkpoints import latest_checkpoint
from hover.commands.modes import RANDOM, canonical_mode
from hover.envs.tracking.config import ActionConfig, StudentObsConfig, TrackingEnvConfig
from hover.io import atomic_write_text
from hover.robots import DEFAULT_ROBOT
from hover.training.configs import (
    BUILTIN_TEACHER,
    DistillationConfig,
    StudentModelConfig,
    StudentTrainConfig,
    TeacherTrainConfig,
    student_config_from_json,
    teacher_config_from_json,
)
from hover.training.loop import bundle_checkpoint, learn_until, resolve_resume
from hover.training.runner import HoverDistillationRunner
from hover.training.teacher import add_periodic_eval, make_env, native_bfloat16
from hover.training.teacher import rsl_rl_config as teacher_rsl_rl_config

config_from_json = student_config_from_json
__all__ = [
    "BUILTIN_TEACHER",
    "DistillationConfig",
    "StudentModelConfig",
    "StudentTrainConfig",
    "config_from_json",
    "prepare",
    "train",
]


def student_modes(spec: str) -> tuple[str, ...]:
    """``--modes`` -> the episode mask options of the env (see :class:`StudentObsConfig`)."""
    if spec.strip() == "all":
        return StudentObsConfig().modes
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise ValueError("--modes is empty; use 'all' or mode names like 'omnih2o,h2o'")
    return tuple(RANDOM if n == RANDOM else canonical_mode(n) for n in names)


def teacher_checkpoint(spec: str) -> Path:
    """Path of the teacher weights for ``--teacher`` (bundle, checkpoint or run folder)."""
    from hover.checkpoints import resolve_policy

    path = resolve_policy(spec)
    return latest_checkpoint(path) if path.is_dir() else path


def teacher_train_config(path: Path) -> TeacherTrainConfig:
    """The teacher's training config, saved inside its checkpoint (its network, observations, actions)."""
    ckpt = torch.load(path, weights_only=True, map_location="cpu")
    if ckpt.get("kind", "teacher") != "teacher" or "actor_state_dict" not in ckpt:
        raise ValueError(f"{path}: a {ckpt.get('kind', 'student')} checkpoint, not a teacher")
    text = ckpt.get("config") or ""
    if not text:
        raise ValueError(f"{path}: teacher checkpoint has no saved config; cannot rebuild its network")
    return teacher_config_from_json(text, str(path))


def teacher_model_config(path: Path) -> dict[str, Any]:
    """rsl-rl model config of the teacher actor, from the config saved inside its checkpoint."""
    return teacher_rsl_rl_config(teacher_train_config(path))["actor"]


def label_transform(env: Any, teacher_actions: ActionConfig) -> Callable[[Tensor], Tensor] | None:
    """Teacher actions -> the student's actions with the same PD targets, in the env's current state
    (None when both use the same action convention). A residual teacher's action ``a`` means the
    target ``q_ref + s_t a``; the student is labelled with ``(q_ref + s_t a - default) / s_s``."""
    if teacher_actions == env.cfg.actions:
        return None

    def transform(actions: Tensor) -> Tensor:
        return env.actions_for_targets(env.absolute_targets(actions, teacher_actions))

    return transform


def rsl_rl_config(cfg: StudentTrainConfig, teacher_actor: dict[str, Any]) -> dict[str, Any]:
    """The train_cfg dict of rsl-rl-lib 5.x's DistillationRunner."""
    d, m = cfg.distillation, cfg.model
    algorithm = {k: v for k, v in dataclasses.asdict(d).items() if k != "num_steps_per_env"}
    algorithm["use_mixed_precision"] = d.use_mixed_precision and native_bfloat16(cfg.device)
    return {
        "num_steps_per_env": d.num_steps_per_env,
        "save_interval": cfg.save_interval,
        "obs_groups": {"student": ["student"], "teacher": ["policy"]},
        "algorithm": {
            "class_name": "hover.training.runner:GuardedDistillation",
            "update_threads": cfg.update_threads or os.cpu_count() or 1,
            **algorithm,
        },
        "student": {
            "class_name": "MLPModel",
            "hidden_dims": list(m.hidden_dims),
            "activation": m.activation,
            "obs_normalization": m.obs_normalization,
            "distribution_cfg": {
                "class_name": "GaussianDistribution",
                "init_std": m.action_noise_std,
                "std_type": "scalar",
            },
        },
        "teacher": dict(teacher_actor),
        "logger": "tensorboard",
        "check_for_nan": True,
        "run_name": "student",
    }


def config_to_json(cfg: StudentTrainConfig, teacher_actor: dict[str, Any]) -> str:
    return json.dumps(
        {"kind": "student", "train": dataclasses.asdict(cfg), "rsl_rl": rsl_rl_config(cfg, teacher_actor)},
        indent=2,
    )


def prepare(cfg: StudentTrainConfig, teacher_env: TrackingEnvConfig | None = None) -> StudentTrainConfig:
    """The config with the student observation group switched on and ``modes`` resolved; with
    ``teacher_env``, the env's ``policy`` group is the teacher's observation (without noise) and its PD
    gains are the teacher's (``env.gains``: the teacher's labels are PD targets for those gains), and
    its ``last_action`` is the student's action in the teacher's convention (a residual teacher sees
    ``(target - q_ref) / s_t``, as in its own training, not the student's absolute action)."""
    cfg = dataclasses.replace(cfg, env=dataclasses.replace(cfg.env))
    cfg.env.student = dataclasses.replace(cfg.env.student, enabled=True, modes=student_modes(cfg.modes))
    if teacher_env is not None:
        cfg.env.observations = dataclasses.replace(
            teacher_env.observations,
            noise=False,
            ref_offset=(0.0, 0.0, 0.0),
            last_action_actions=dataclasses.replace(teacher_env.actions),
        )
        cfg.env.gains = dataclasses.replace(teacher_env.gains)
    return cfg


def train(cfg: StudentTrainConfig) -> Path:
    """Distil (or resume) and return the run folder."""
    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    torch.manual_seed(cfg.seed)
    teacher_path = teacher_checkpoint(cfg.teacher)
    teacher_cfg = teacher_train_config(teacher_path)
    cfg = prepare(cfg, teacher_cfg.env)
    ckpt = None
    if cfg.resume:
        run_dir, ckpt = resolve_resume(cfg.resume)
        if cfg.run_dir and Path(cfg.run_dir).resolve() != run_dir.resolve():
            run_dir = Path(cfg.run_dir)
    else:
        run_dir = Path(cfg.run_dir or Path("runs") / "student" / time.strftime("%Y%m%d-%H%M%S"))
    teacher_actor = teacher_rsl_rl_config(teacher_cfg)["actor"]
    run_dir.mkdir(parents=True, exist_ok=True)
    text = config_to_json(dataclasses.replace(cfg, reset_sampler=False), teacher_actor)  # one-shot option
    atomic_write_text(run_dir / "config.json", text)

    env = make_env(cfg)
    runner = HoverDistillationRunner(
        env,
        rsl_rl_config(cfg, teacher_actor),
        log_dir=str(run_dir),
        device=cfg.device,
        config_json=text,
        keep_checkpoints=cfg.keep_checkpoints,
    )
    runner.add_git_repo_to_log(str(Path(__file__).resolve()))
    runner.alg.label_transform = label_transform(env, teacher_cfg.env.actions)
    modes = [canonical_mode(m) for m in cfg.eval_modes]
    evaluator = add_periodic_eval(runner, cfg, run_dir, modes) if modes else None
    if ckpt is not None:
        runner.load(str(ckpt), reset_sampler=cfg.reset_sampler)
        print(f"resumed {ckpt} at iteration {runner.current_learning_iteration}", flush=True)
        set_learning_rate(runner.alg.optimizer, cfg.distillation.learning_rate)
    else:
        it = runner.load_teacher(str(teacher_path))
        print(f"teacher: {teacher_path} (iteration {it})", flush=True)
    try:
        learn_until(runner, cfg.max_iterations, run_dir)
    finally:
        env.backend.close()
        if evaluator is not None:
            evaluator.close()
    return run_dir


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """The configured rate over the one restored with the optimiser state (``--distillation.learning-rate``
    on ``--resume`` takes effect; without it the run's own rate is set again)."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def export_bundled(
    run_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None, name: str = "student"
) -> Path:
    """Newest checkpoint's student weights (+ normaliser) and config -> ``<out_dir>/<name>.pt`` and ``.json``
    (``out_dir`` defaults to ``hover/assets/policies``; see :func:`hover.training.loop.bundle_checkpoint`)."""
    return bundle_checkpoint(run_dir, out_dir, name, "student", "student_state_dict", _with_layouts)


def _with_layouts(config_text: str) -> str:
    """The run config plus the observation, command/mask layout and named modes (for readers of the bundle)."""
    from hover.policy_metadata import command_layout_metadata, mode_metadata
    from hover.robots import get_robot
    from hover.student import student_obs_layout

    data = json.loads(config_text)
    train = data.get("train", {})
    robot = get_robot(train.get("robot", DEFAULT_ROBOT))
    history = train.get("env", {}).get("student", {}).get("history_length", 25)
    data["student_observation"] = student_obs_layout(robot, history).to_dict()
    data["command_layout"] = command_layout_metadata(robot)
    data["modes"] = mode_metadata(robot)
    return json.dumps(data, indent=2)
