"""Policy checkpoints and bundles: finding them, reading them safely, rebuilding the actor network.

A policy spec is
- ``"builtin:teacher"`` / ``"builtin:student"``: a bundle shipped in ``hover/assets/policies/<name>.pt``
  (+ ``<name>.json``);
- a run folder: its newest ``model_<it>.pt``;
- a checkpoint file (``.pt``) written by ``hover train teacher|student`` or ``export_bundled``.

A checkpoint is a plain dict, read with ``torch.load(weights_only=True)``. A teacher's holds
``actor_state_dict`` (the actor acts on the env's ``policy`` observation group), a student's
``student_state_dict`` (the ``student`` group); both hold ``iter`` and the run's config JSON under
``config`` (else a ``config.json`` / ``<name>.json`` beside the file).

Turning that JSON into typed training configs needs the training and env dataclasses, so it is the
application's part: :func:`hover.training.policies.load_policy` reads a :class:`Checkpoint` here,
decodes its config and builds the :class:`LoadedPolicy` with :func:`loaded_policy`. Its ``act`` maps
the env's observation TensorDict to the deterministic action (mean of the Gaussian, observation
normaliser applied), [N, J].
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tensordict import TensorDict
from torch import Tensor

ASSET_DIR = Path(__file__).resolve().parent / "assets" / "policies"
BUILTIN = {"teacher": "teacher.pt", "student": "student.pt"}
CHECKPOINT_RE = re.compile(r"^model_(\d+)\.pt$")


def list_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """``model_<it>.pt`` files of a run folder, oldest iteration first."""
    run_dir = Path(run_dir)
    found = [(int(m.group(1)), p) for p in run_dir.glob("model_*.pt") if (m := CHECKPOINT_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: str | os.PathLike) -> Path:
    ckpts = list_checkpoints(run_dir)
    if not ckpts:
        raise FileNotFoundError(f"{run_dir}: no checkpoint (model_<iteration>.pt) in this run folder")
    return ckpts[-1]


def resolve_policy(spec: str) -> Path:
    """The file a policy spec names (see the module docstring); FileNotFoundError/ValueError naming it."""
    if spec.startswith("builtin:"):
        name = spec.split(":", 1)[1]
        if name not in BUILTIN:
            raise ValueError(
                f"unknown built-in policy {spec!r}; known: {', '.join('builtin:' + k for k in BUILTIN)}"
            )
        path = ASSET_DIR / BUILTIN[name]
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: the bundled {name} policy has not been exported yet "
                "(train one with `hover train teacher`, then `python -m hover.cli.bundle teacher RUN_DIR`)"
            )
        return path
    path = Path(spec)
    if path.is_dir():
        return latest_checkpoint(path)
    if not path.is_file():
        raise FileNotFoundError(f"{spec}: no such checkpoint, run folder or built-in policy")
    return path


@dataclass
class Checkpoint:
    """The policy part of a checkpoint or bundle file."""

    path: Path
    kind: str  # "teacher" or "student"
    obs_group: str  # the env observation group the network reads: "policy" (teacher) or "student"
    state: dict[str, Tensor]  # the network's weights, observation normaliser included
    config_text: str  # the run's config JSON
    iteration: int  # the last completed training iteration (-1 when unknown)


def _config_text(ckpt: dict, path: Path) -> str:
    if ckpt.get("config"):
        return ckpt["config"]
    for side in (path.parent / "config.json", path.with_suffix(".json")):
        if side.is_file():
            return side.read_text()
    raise ValueError(f"{path}: checkpoint has no embedded config and no config.json beside it")


def read_checkpoint(spec: str, device: str | torch.device = "cpu") -> Checkpoint:
    """The policy network and config of a spec (see the module docstring); FileNotFoundError/ValueError
    naming the file for anything that is not a hover checkpoint (an ONNX export included)."""
    path = resolve_policy(spec)
    if path.suffix.lower() == ".onnx":
        raise ValueError(
            f"{path}: an exported ONNX model, not a checkpoint; this command needs a checkpoint "
            "(.pt), a run folder or builtin:NAME (ONNX models run in hover sim2sim and hover run)"
        )
    try:
        ckpt = torch.load(path, weights_only=True, map_location=device)
    except Exception as e:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(
            f"{path}: not a readable hover checkpoint (expected a torch .pt file written by "
            f"hover train; loading failed with {type(e).__name__})"
        ) from e
    if not isinstance(ckpt, dict) or not ({"actor_state_dict", "student_state_dict"} & set(ckpt)):
        raise ValueError(f"{path}: not a hover checkpoint (no actor_state_dict or student_state_dict)")
    text = _config_text(ckpt, path)
    if "student_state_dict" in ckpt:
        kind, group, state = "student", "student", ckpt["student_state_dict"]
    else:
        kind, group, state = ckpt.get("kind", "teacher"), "policy", ckpt["actor_state_dict"]
    return Checkpoint(path, kind, group, state, text, int(ckpt.get("iter", -1)))


def _num_actions(state: dict[str, Tensor]) -> int:
    for k in ("distribution.std_param", "distribution.log_std_param"):
        if k in state:
            return int(state[k].shape[0])
    last = [k for k in state if k.startswith("mlp.") and k.endswith(".weight")][-1]
    return int(state[last].shape[0])


def build_actor(
    ckpt: Checkpoint, model_cfg: dict[str, Any], device: str | torch.device = "cpu"
) -> torch.nn.Module:
    """The rsl-rl ``MLPModel`` of ``ckpt`` with its weights, in eval mode on ``device``.

    ``model_cfg``: the rsl-rl model config the network was trained with (``class_name`` is ignored).
    """
    from rsl_rl.models import MLPModel

    cfg = {k: v for k, v in model_cfg.items() if k != "class_name"}
    state = ckpt.state
    first = next(k for k in state if k.startswith("mlp.") and k.endswith(".weight"))
    obs_dim = state[first].shape[1]
    group = ckpt.obs_group
    dummy = TensorDict({group: torch.zeros(1, obs_dim, device=device)}, batch_size=[1], device=device)
    model = MLPModel(dummy, {"actor": [group]}, "actor", _num_actions(state), **cfg)
    model.load_state_dict(state)
    model.to(device).eval()
    return model


@dataclass
class LoadedPolicy:
    kind: str  # "teacher" or "student"
    env_cfg: Any  # the TrackingEnvConfig it was trained with
    act: Callable[[TensorDict], Tensor]  # deterministic action [N, J] (normaliser applied)
    source: str  # file it came from
    train_cfg: Any = None  # the full TeacherTrainConfig / StudentTrainConfig
    iteration: int = -1
    model: torch.nn.Module | None = None  # the rsl-rl actor (MLPModel), for export


def loaded_policy(
    ckpt: Checkpoint, train_cfg: Any, model_cfg: dict[str, Any], device: str | torch.device = "cpu"
) -> LoadedPolicy:
    """``ckpt`` as a :class:`LoadedPolicy`: its network (:func:`build_actor`) and its decoded training
    config ``train_cfg`` (whose ``env`` is the env config it was trained with)."""
    model = build_actor(ckpt, model_cfg, device)

    @torch.inference_mode()
    def act(obs: TensorDict) -> Tensor:
        return model(obs.to(device))

    return LoadedPolicy(
        kind=ckpt.kind,
        env_cfg=train_cfg.env,
        act=act,
        source=str(ckpt.path),
        train_cfg=train_cfg,
        iteration=ckpt.iteration,
        model=model,
    )
