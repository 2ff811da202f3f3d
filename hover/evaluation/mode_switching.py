"""A student rollout whose command mode changes mid-clip (the paper's run-time mode switching demo).

Switching modes is switching the mask the student sees: the env's :meth:`TrackingEnv.set_mode` at the
steps of a :class:`hover.commands.MaskSchedule`. The rollout itself is the evaluator's
(:func:`hover.evaluation.evaluate.rollout_clips`), so metrics and recordings are the usual ones.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from hover.commands import MaskSchedule
from hover.evaluation.evaluate import ClipResult, clip_ids, make_eval_env, rollout_clips
from hover.evaluation.per_mode import mode_env_config


def scheduled_actor(env: Any, act: Any, schedule: MaskSchedule) -> Any:
    """``act(obs)`` wrapper that switches every env to ``schedule.mode_at(step)`` before acting.

    Steps count calls since the last reset; the observation is rebuilt after a switch, so the
    action at a switch step already sees the new mask.
    """
    state: dict[str, Any] = {"step": 0, "mode": None}

    def scheduled(obs: Any) -> Tensor:
        mode = schedule.mode_at(state["step"])
        if mode != state["mode"]:
            env.set_mode(torch.arange(env.num_envs, device=env.device), mode)
            obs = env.get_observations()
            state["mode"] = mode
        state["step"] += 1
        return act(obs)

    return scheduled


def rollout_with_schedule(
    policy: Any, motions: Any, clip_name: str, schedule: MaskSchedule, num_threads: int | None = None
) -> ClipResult:
    """Evaluate a student on one clip from t = 0 while its mode follows ``schedule``; recorded for video."""
    if policy.kind != "student":
        raise ValueError(f"{policy.source}: mode switching needs a student policy, not a {policy.kind}")
    ids = clip_ids(motions, [clip_name])
    first = schedule.events[0][1]
    student_policy = _with_env_cfg(policy, mode_env_config(policy.env_cfg, first))
    env = make_eval_env(student_policy, motions, 1, num_threads=num_threads)
    try:
        act = scheduled_actor(env, policy.act, schedule)
        return rollout_clips(env, act, motions, ids, record=True)[0]
    finally:
        env.backend.close()


def _with_env_cfg(policy: Any, env_cfg: Any) -> Any:
    import dataclasses

    return dataclasses.replace(policy, env_cfg=env_cfg)
