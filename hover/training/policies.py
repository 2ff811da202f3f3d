"""Trained policies for the application: a checkpoint, run folder or bundle with its typed training config.

``load_policy(spec)`` reads the file with :func:`hover.checkpoints.read_checkpoint` (specs:
``builtin:teacher|student``, a run folder, a ``.pt`` file), decodes the saved config into a
:class:`~hover.training.configs.TeacherTrainConfig` or :class:`~hover.training.configs.StudentTrainConfig`
and rebuilds the actor with the rsl-rl model config it was trained with.
"""

from __future__ import annotations

import json

import torch

from hover.checkpoints import LoadedPolicy, loaded_policy, read_checkpoint
from hover.training.configs import (
    StudentTrainConfig,
    TeacherTrainConfig,
    student_config_from_json,
    teacher_config_from_json,
)
from hover.training.teacher import rsl_rl_config


def load_policy(spec: str, device: str | torch.device = "cpu") -> LoadedPolicy:
    """Load a policy (see the module docstring); raises FileNotFoundError/ValueError naming the file."""
    ckpt = read_checkpoint(spec, device)
    where = str(ckpt.path)
    if ckpt.obs_group == "student":
        train_cfg: StudentTrainConfig | TeacherTrainConfig = student_config_from_json(ckpt.config_text, where)
        model_cfg = dict(json.loads(ckpt.config_text)["rsl_rl"]["student"])
    else:
        teacher_cfg = teacher_config_from_json(ckpt.config_text, where)
        train_cfg, model_cfg = teacher_cfg, dict(rsl_rl_config(teacher_cfg)["actor"])
    return loaded_policy(ckpt, train_cfg, model_cfg, device)


def describe(spec: str) -> str:
    """One-line summary of a policy file (for CLIs)."""
    p = load_policy(spec)
    return json.dumps({"kind": p.kind, "source": p.source, "iteration": p.iteration})
