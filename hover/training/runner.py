"""rsl-rl glue: an ``OnPolicyRunner`` with atomic, weights-only checkpoints that resume exactly.

Checkpoint (``model_<it>.pt``, a plain dict readable with ``torch.load(weights_only=True)``):
``actor_state_dict`` (incl. the observation normaliser), ``critic_state_dict``,
``optimizer_state_dict``, ``iter`` (the last *completed* iteration), ``env_state`` (penalty
curriculum, sampler failure counts), ``logger`` (total steps and time), ``config`` (the run's
resolved config as a JSON string). Files are written to a temporary name and renamed into place,
so a crash never leaves a truncated checkpoint; only the newest ``keep_checkpoints`` are kept.

:class:`GuardedPPO` and :class:`GuardedDistillation` raise :class:`NonFiniteLossError` naming the loss
when an update produces NaN/inf. :class:`HoverDistillationRunner` is the same for the student (DAgger):
its checkpoints hold ``student_state_dict`` and ``teacher_state_dict`` instead of actor/critic.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from rsl_rl.algorithms import PPO, Distillation
from rsl_rl.runners import DistillationRunner, OnPolicyRunner

from hover.checkpoints import list_checkpoints
from hover.io import atomic_open


class NonFiniteLossError(FloatingPointError):
    """A PPO update produced a NaN/inf loss."""


def _check_update(losses: dict[str, float], model: torch.nn.Module, what: str) -> None:
    bad = {k: v for k, v in losses.items() if v is not None and not math.isfinite(v)}
    if bad:
        raise NonFiniteLossError(f"{what} update produced non-finite losses {bad}; lower the learning rate")
    for name, p in model.named_parameters():
        if not torch.isfinite(p).all():
            raise NonFiniteLossError(f"{what} parameter {name!r} became non-finite after the update")


def _update_with_threads(update, threads: int | None) -> dict[str, float]:
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return update()
    finally:
        torch.set_num_threads(before)


class GuardedPPO(PPO):
    """rsl-rl PPO that refuses to continue after a non-finite loss (before the weights spread NaN).

    ``update_threads``: torch threads for the update only (the rollout keeps the caller's setting,
    so small per-step tensor ops do not fight the simulator's threads); None = unchanged. With
    ``use_mixed_precision`` the rollout's actor and critic also run in bfloat16 autocast (the update
    recomputes the log-probabilities the same way); actions and values are stored as float32.
    """

    def __init__(self, *args, update_threads: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.update_threads = update_threads

    def act(self, obs):
        device_type = torch.device(self.device).type
        with torch.amp.autocast(
            device_type=device_type, enabled=self.use_mixed_precision, dtype=torch.bfloat16
        ):
            super().act(obs)
        t = self.transition
        t.actions = t.actions.float()
        t.values = t.values.float()
        t.actions_log_prob = t.actions_log_prob.float()
        t.distribution_params = tuple(p.float() for p in t.distribution_params)
        return t.actions

    def update(self) -> dict[str, float]:
        losses = _update_with_threads(super().update, self.update_threads)
        _check_update(losses, self._raw_actor, "actor")
        return losses


class GuardedDistillation(Distillation):
    """rsl-rl Distillation (DAgger) with the same non-finite guard and update threads as GuardedPPO.

    ``label_transform`` (set by the caller, None = identity) maps the teacher's actions to the student's
    action convention before they are stored as labels (a residual teacher's absolute targets).
    """

    def __init__(self, *args, update_threads: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.update_threads = update_threads
        self.label_transform: Callable[[torch.Tensor], torch.Tensor] | None = None

    def act(self, obs):
        actions = super().act(obs)
        if self.label_transform is not None:
            self.transition.privileged_actions = self.label_transform(self.transition.privileged_actions)
        return actions

    def update(self) -> dict[str, float]:
        losses = _update_with_threads(super().update, self.update_threads)
        _check_update(losses, self._raw_student, "student")
        return losses


def atomic_torch_save(obj: object, path: str | os.PathLike) -> None:
    """torch.save to a temporary file in the same folder, then os.replace (atomic on POSIX)."""
    with atomic_open(path, "wb") as f:
        torch.save(obj, f)


if TYPE_CHECKING:  # the mixin's attributes and __init__ are the rsl-rl runner's (no type hints: Any)
    from rsl_rl.runners import OnPolicyRunner as _RunnerBase
else:
    _RunnerBase = object


class _HoverCheckpoints(_RunnerBase):
    """Mixin for rsl-rl runners: env state in checkpoints, atomic saves, weights-only loads, exact resume."""

    def __init__(
        self,
        env,
        train_cfg: dict,
        log_dir: str | None = None,
        device: str = "cpu",
        config_json: str = "",
        keep_checkpoints: int = 5,
    ):
        super().__init__(env, train_cfg, log_dir=log_dir, device=device)
        self.config_json = config_json
        self.keep_checkpoints = keep_checkpoints
        #: called as ``hook(runner, iteration)`` after each iteration's update and log line
        self.iteration_hooks: list[Callable[[Any, int], None]] = []
        log = self.logger.log

        def log_then_hooks(*args, **kwargs):
            log(*args, **kwargs)
            for hook in self.iteration_hooks:
                hook(self, int(kwargs["it"] if "it" in kwargs else args[0]))

        self.logger.log = log_then_hooks

    def save(self, path: str, infos: dict | None = None) -> None:
        ckpt = self.alg.save()
        ckpt["iter"] = self.current_learning_iteration
        ckpt["env_state"] = self.env.state_dict() if hasattr(self.env, "state_dict") else {}
        ckpt["logger"] = {
            "tot_timesteps": int(self.logger.tot_timesteps),
            "tot_time": float(self.logger.tot_time),
        }
        ckpt["config"] = self.config_json
        atomic_torch_save(ckpt, path)
        if self.keep_checkpoints > 0:
            for old in list_checkpoints(Path(path).parent)[: -self.keep_checkpoints]:
                old.unlink(missing_ok=True)

    def load(
        self,
        path: str,
        load_cfg: dict | None = None,
        strict: bool = True,
        map_location: str | None = None,
        reset_sampler: bool = False,
    ) -> dict:
        """Restore weights, optimiser, normalisers, env state and the iteration counter.
        ``reset_sampler``: keep the env's fresh clip sampler (the motion set changed since the save)."""
        ckpt = torch.load(path, weights_only=True, map_location=map_location or self.device)
        self.alg.load(ckpt, load_cfg, strict)
        self.current_learning_iteration = int(ckpt["iter"]) + 1  # the saved iteration was completed
        env_state = dict(ckpt.get("env_state") or {})
        if reset_sampler:
            env_state.pop("sampler_failure_ema", None)
        if env_state and hasattr(self.env, "load_state_dict"):
            self.env.load_state_dict(env_state)
        log = ckpt.get("logger") or {}
        self.logger.tot_timesteps = int(log.get("tot_timesteps", 0))
        self.logger.tot_time = float(log.get("tot_time", 0.0))
        return ckpt


class HoverRunner(_HoverCheckpoints, OnPolicyRunner):
    """OnPolicyRunner (PPO) with hover's checkpoints."""


class HoverDistillationRunner(_HoverCheckpoints, DistillationRunner):
    """DistillationRunner (DAgger student) with hover's checkpoints; load the teacher with :meth:`load_teacher`."""

    def load_teacher(self, path: str) -> int:
        """Teacher weights from a teacher checkpoint or bundle (``actor_state_dict``); returns its iteration."""
        ckpt = torch.load(path, weights_only=True, map_location=self.device)
        if "actor_state_dict" not in ckpt:
            raise ValueError(f"{path}: not a teacher checkpoint (no actor_state_dict)")
        self.alg.load(ckpt, {"teacher": True}, strict=True)
        return int(ckpt.get("iter", -1))
