"""A student rollout whose command mode changes mid-clip (the paper's run-time mode switching demo).

Switching modes is switching the mask the student sees: the env's :meth:`TrackingEnv.set_mode` at the
steps of a :class:`hover.commands.MaskSchedule`. The rollout itself is the evaluator's
(:func:`hover.evaluation.evaluate.rollout_clips`), so metrics and recordings are the usual ones.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def per_clip_scheduled_actor(env: Any, act: Any, schedules: Sequence[MaskSchedule]) -> Any:
    """``act(obs)`` wrapper: every env follows the schedule of the clip it plays (``schedules[clip
    id]``) at its own episode step (``env.episode_length_buf``: policy steps since its reset).

    Before each action, envs whose mask differs from their schedule's mode are switched and the
    observation is rebuilt (so a reset that drew another mask is overridden before the first action).
    """
    from hover.commands import command_layout, mask_for_mode

    layout = command_layout(env.robot)
    masks = {m: mask_for_mode(m, layout, device=env.device) for s in schedules for _, m in s.events}

    def scheduled(obs: Any) -> Tensor:
        clips = env.motion_ids.tolist()
        steps = env.episode_length_buf.tolist()
        want: dict[str, list[int]] = {}
        for i, (c, k) in enumerate(zip(clips, steps, strict=True)):
            want.setdefault(schedules[c].mode_at(k), []).append(i)
        current = env.masks
        switched = False
        for mode, ids in want.items():
            idx = torch.tensor(ids, device=env.device)
            stale = idx[(current[idx] != masks[mode]).any(-1)]
            if stale.numel():
                env.set_mode(stale, mode)
                switched = True
        return act(env.get_observations() if switched else obs)

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
