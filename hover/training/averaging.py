"""Checkpoint averaging: one policy whose weights are the mean of several checkpoints of a run.

Successive checkpoints of a long PPO run swing in evaluation success by ~0.1 (BENCHMARKS, teacher run);
the mean of a few late checkpoints' weights (a uniform "stochastic weight average" over iterations) is
often smoother than any one of them. The result is a slim policy file, like a bundle: ``kind``,
``iter`` (the newest source's), ``config`` (the newest source's JSON), ``source`` and the averaged
network under the sources' weights key (``actor_state_dict`` or ``student_state_dict``), plus
``averaged_from``: the iterations, oldest first. It loads wherever a checkpoint does (``hover eval``,
``hover export``, ``python -m hover.cli.bundle``), but it is not resumable (no critic, no optimiser).

Averaged per tensor: every floating-point weight and bias, the action-noise parameter, and the
observation normaliser's ``_mean`` and ``_var``; the normaliser's ``_std`` is recomputed as
``sqrt(_var)`` (as rsl-rl's ``EmpiricalNormalization`` keeps it); integer tensors (the normaliser's
``count``) are the newest source's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from hover.checkpoints import resolve_policy
from hover.training.runner import atomic_torch_save

WEIGHTS_KEYS = ("actor_state_dict", "student_state_dict")


def average_state_dicts(states: Sequence[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Mean of state dicts with the same keys and shapes (see the module docstring for which tensors).

    ValueError when the list is empty, keys or shapes differ, or a tensor is not finite.
    """
    if not states:
        raise ValueError("nothing to average: no checkpoints given")
    keys = list(states[0])
    out: dict[str, Tensor] = {}
    for i, state in enumerate(states[1:], start=1):
        if list(state) != keys:
            missing = sorted(set(keys) ^ set(state))
            raise ValueError(f"checkpoint {i} has other tensors than checkpoint 0 (differ: {missing[:5]})")
    for key in keys:
        tensors = [s[key] for s in states]
        shapes = {tuple(t.shape) for t in tensors}
        if len(shapes) > 1:
            raise ValueError(f"{key}: shapes differ between checkpoints {sorted(shapes)} (other networks?)")
        if not tensors[0].is_floating_point():
            out[key] = tensors[-1].clone()
            continue
        mean = torch.stack([t.double() for t in tensors]).mean(0)
        if not torch.isfinite(mean).all():
            raise ValueError(f"{key}: not finite in at least one checkpoint")
        out[key] = mean.to(tensors[0].dtype)
    for key in keys:
        if key.endswith("._std") and key[: -len("_std")] + "_var" in out:
            out[key] = torch.sqrt(out[key[: -len("_std")] + "_var"])
    return out


def average_checkpoints(specs: Sequence[str | os.PathLike], out: str | os.PathLike) -> Path:
    """Average the policy networks of checkpoint files (or run folders: their newest) into ``out``.

    All sources must be the same kind (teacher or student) with networks of the same shapes; the
    config, ``iter`` and the normaliser ``count`` come from the source with the highest iteration.
    """
    if not specs:
        raise ValueError("nothing to average: no checkpoints given")
    loaded = []
    for spec in specs:
        path = resolve_policy(str(spec))
        ckpt = torch.load(path, weights_only=True, map_location="cpu")
        key = next((k for k in WEIGHTS_KEYS if isinstance(ckpt, dict) and k in ckpt), None)
        if key is None:
            raise ValueError(f"{path}: not a hover checkpoint (no actor_state_dict or student_state_dict)")
        loaded.append((int(ckpt.get("iter", -1)), path, key, ckpt))
    kinds = {key for _, _, key, _ in loaded}
    if len(kinds) > 1:
        raise ValueError(
            "cannot average a teacher with a student: " + ", ".join(str(p) for _, p, _, _ in loaded)
        )
    loaded.sort(key=lambda item: item[0])
    newest_iter, newest_path, key, newest = loaded[-1]
    config = newest.get("config") or (newest_path.parent / "config.json").read_text()
    averaged = {
        "kind": newest.get("kind", "student" if key == "student_state_dict" else "teacher"),
        "iter": newest_iter,
        "config": config,
        "source": ", ".join(str(p) for _, p, _, _ in loaded),
        "averaged_from": [it for it, _, _, _ in loaded],
        key: average_state_dicts([c[key] for _, _, _, c in loaded]),
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_torch_save(averaged, out)
    return out
