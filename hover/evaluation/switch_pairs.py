"""``hover eval --switch-pairs``: every ordered pair of named modes switched mid-clip, as a matrix.

For each clip (default: a walking and a standing clip) and each ordered pair (A, B) of the named
modes (``hover.commands.MODE_NAMES``; A = B is the no-switch baseline of mode A), the student plays
the clip from t = 0 in mode A and switches to mode B at ``switch_at`` of the clip (policy step
``round(switch_at * steps)``): the mask it sees is replaced, nothing else
(:func:`hover.evaluation.mode_switching.per_clip_scheduled_actor`). Rollouts are the evaluator's
(:func:`hover.evaluation.evaluate.rollout_clips`: the protocol, from t = 0, no randomisation, delay
2), all pairs of a clip in one batch of envs (the clip copied once per pair).

The protocol's tracking termination (``ref_distance``) is left out here, so a rollout goes on past a
tracking loss until a fall or the clip end; success is still the protocol's (its test criterion,
mean body distance over 0.5 m, on the recorded frames). Each cell: ``ok`` (success), ``fell`` (a
fall term of the protocol fired: pelvis tilt, or a body other than the feet/hands touched the
ground; ``fall_time_s``) or ``lost`` (tracking lost, no fall); ``before_switch`` when the first
failure came before the switch (then the cell says nothing about switching). The check passes when
every cell is ``ok``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from hover.commands import MaskSchedule, resolve_modes
from hover.evaluation.evaluate import clip_num_steps, is_fall, make_eval_env, rollout_clips
from hover.evaluation.mode_switching import per_clip_scheduled_actor

DEFAULT_CLIPS = ("walk_forward", "stand_idle")
STATUS = ("ok", "fell", "lost")


def ordered_pairs(modes: Sequence[str]) -> list[tuple[str, str]]:
    """Every (from, to) pair of ``modes``, from-major (A = B included)."""
    return [(a, b) for a in modes for b in modes]


def pair_schedule(a: str, b: str, switch_step: int) -> MaskSchedule:
    """Mode ``a`` from step 0, ``b`` from ``switch_step`` on (one event when a == b)."""
    return MaskSchedule(((0, a),) if a == b else ((0, a), (switch_step, b)))


def select_clips(clips: Sequence[Any], names: Sequence[str]) -> list[Any]:
    """The MotionClips named ``names`` (in that order); ValueError naming unknown ones."""
    known = [c.name for c in clips]
    missing = [n for n in names if n not in known]
    if missing:
        raise ValueError(f"--switch-clips: unknown clips {missing}; the motion set has {known}")
    return [clips[known.index(n)] for n in names]


def run_switch_pairs(
    policy: Any,
    clips: Sequence[Any],
    robot: Any,
    modes: str = "all",
    switch_at: float = 0.5,
    seconds: float | None = None,
    num_envs: int | None = None,
    backend: str = "mujoco",
    num_threads: int | None = None,
    log: Any = None,
) -> dict[str, Any]:
    """The matrix report for ``clips`` (MotionClips of ``robot``; see the module docstring);
    ``seconds``: play only the first seconds of each clip."""
    from hover.evaluation.per_mode import mode_env_config
    from hover.evaluation.sim2sim import truncated
    from hover.motion.library import MotionLibrary

    if getattr(policy, "kind", None) != "student":
        raise ValueError(f"{getattr(policy, 'source', policy)}: --switch-pairs needs a student policy")
    if not 0.0 < switch_at < 1.0:
        raise ValueError(f"--switch-at must lie in (0, 1) (a fraction of the clip), got {switch_at}")
    names = list(resolve_modes(modes))
    pairs = ordered_pairs(names)
    dt = robot.control_dt
    say = log or (lambda _m: None)
    start = time.perf_counter()
    cells: list[dict[str, Any]] = []
    matrices: dict[str, Any] = {}
    for original in clips:
        clip_name = original.name
        (clip,) = truncated([original], seconds)
        steps = int(clip_num_steps(MotionLibrary([clip], robot=robot).clip_durations, dt)[0])
        switch_step = max(1, int(round(switch_at * steps)))
        copies = [dataclasses.replace(clip, name=f"{clip_name}:{a}>{b}") for a, b in pairs]
        lib = MotionLibrary(copies, robot=robot)
        schedules = [pair_schedule(a, b, switch_step) for a, b in pairs]
        say(f"{clip_name}: {len(pairs)} mode pairs, switch at step {switch_step} of {steps}")
        mode_policy = dataclasses.replace(policy, env_cfg=mode_env_config(policy.env_cfg, names[0]))
        n = min(num_envs or len(pairs), len(pairs))
        env = make_eval_env(
            mode_policy, lib, n, backend=backend, num_threads=num_threads, drop_terminations=("ref_distance",)
        )
        try:
            results = rollout_clips(env, per_clip_scheduled_actor(env, policy.act, schedules), lib)
        finally:
            close = getattr(env, "close", None)
            if close is not None:
                close()
        status = [[""] * len(names) for _ in names]
        for (a, b), r in zip(pairs, results, strict=True):
            fell = is_fall(r.env_fail_reason)
            state = "ok" if r.success else "fell" if fell else "lost"
            status[names.index(a)][names.index(b)] = state
            first = r.fail_time_s  # the first failure: a fall or the tracking criterion
            cells.append(
                {
                    "clip": clip_name,
                    "from": a,
                    "to": b,
                    "switch": a != b,
                    "switch_time_s": switch_step * dt if a != b else None,
                    "status": state,
                    "fall_time_s": r.env_fail_time_s if fell else None,
                    "fall_reason": r.env_fail_reason if fell else None,
                    "fail_time_s": first,
                    "fail_reason": r.fail_reason,
                    "before_switch": bool(a != b and first is not None and first < switch_step * dt - 1e-9),
                    "mpjpe_g_mm": r.metrics.get("mpjpe_g_mm"),
                }
            )
        mine = [c for c in cells if c["clip"] == clip_name]
        matrices[clip_name] = {
            "duration_s": steps * dt,
            "switch_time_s": switch_step * dt,
            "status": status,  # rows: from-mode, columns: to-mode (``modes`` order)
            "falls": sum(c["status"] == "fell" for c in mine),
            "lost": sum(c["status"] == "lost" for c in mine),
            "failed_before_switch": sum(c["before_switch"] for c in mine),
        }
    return {
        "check": "switch_pairs",
        "policy": getattr(policy, "source", ""),
        "modes": names,
        "clips": [c.name for c in clips],
        "switch_at": switch_at,
        "seconds": seconds,
        "pairs_per_clip": len(pairs),
        "matrix": matrices,
        "falls": sum(c["status"] == "fell" for c in cells),
        "not_ok": sum(c["status"] != "ok" for c in cells),
        "passed": all(c["status"] == "ok" for c in cells),
        "wall_s": time.perf_counter() - start,
        "cells": cells,
    }


def format_switch_pairs(report: dict[str, Any]) -> str:
    """Per clip, the from x to matrix (. ok, F fell, L lost tracking; lower case: before the switch)."""
    names = report["modes"]
    short = [n[:6] for n in names]
    lines = []
    by_cell = {(c["clip"], c["from"], c["to"]): c for c in report["cells"]}
    for clip, m in report["matrix"].items():
        lines.append(
            f"{clip}: switch at {m['switch_time_s']:.2f} s of {m['duration_s']:.2f} s; rows from, columns to "
            f"(. ok, F fell, L lost tracking, lower case: failed before the switch)"
        )
        lines.append(f"{'':<12}" + "".join(f"{s:>7}" for s in short))
        for a in names:
            marks = []
            for b in names:
                c = by_cell[(clip, a, b)]
                mark = {"ok": ".", "fell": "F", "lost": "L"}[c["status"]]
                marks.append(mark.lower() if c["before_switch"] else mark)
            lines.append(f"{a:<12}" + "".join(f"{x:>7}" for x in marks))
        lines.append(
            f"  falls {m['falls']}, lost {m['lost']}, failed before the switch {m['failed_before_switch']}"
        )
    verdict = "PASSED" if report["passed"] else "FAILED"
    lines.append(
        f"{report['not_ok']} of {len(report['cells'])} cells not ok ({report['falls']} falls): {verdict}"
    )
    return "\n".join(lines)


__all__ = [
    "DEFAULT_CLIPS",
    "format_switch_pairs",
    "ordered_pairs",
    "pair_schedule",
    "run_switch_pairs",
    "select_clips",
]
