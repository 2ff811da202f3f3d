"""Loading trained policies: checkpoints, run folders and the policies bundled with hover.

``load_policy(spec)`` accepts
- ``"builtin:teacher"`` / ``"builtin:student"``: ``hover/assets/policies/<name>.pt`` (+ ``<name>.json``);
- a run folder: its newest ``model_<it>.pt``;
- a checkpoint file (``.pt``) written by ``hover train teacher|student`` or ``export_bundled``.

A teacher (``kind == "teacher"``) acts on the env's ``policy`` group, a student (``kind == "student"``,
a checkpoint holding ``student_state_dict``) on its ``student`` group.

Files are read with ``torch.load(weights_only=True)``; the training config is taken from the
checkpoint's ``config`` JSON (or a ``config.json`` / ``<name>.json`` beside it). The returned
``act`` maps the env's observation TensorDict to the deterministic action (mean of the Gaussian,
observation normaliser applied), [N, J].
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tensordict import TensorDict
from torch import Tensor

from hover.envs.tracking.config import TrackingEnvConfig

ASSET_DIR = Path(__file__).resolve().parent / "assets" / "policies"
BUILTIN = {"teacher": "teacher.pt", "student": "student.pt"}


@dataclass
class LoadedPolicy:
    kind: str  # "teacher" or "student"
    env_cfg: TrackingEnvConfig  # the config it was trained with
    act: Callable[[TensorDict], Tensor]  # deterministic action [N, J] (normaliser applied)
    source: str  # file it came from
    train_cfg: object = None  # the full TeacherTrainConfig / StudentTrainConfig
    iteration: int = -1
    model: torch.nn.Module | None = None  # the rsl-rl actor (MLPModel), for export


def _resolve(spec: str) -> Path:
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
                "(train one with `hover train teacher`, then `python -m hover.training.teacher RUN_DIR`)"
            )
        return path
    path = Path(spec)
    if path.is_dir():
        from hover.training.runner import latest_checkpoint

        return latest_checkpoint(path)
    if not path.is_file():
        raise FileNotFoundError(f"{spec}: no such checkpoint, run folder or built-in policy")
    return path


def _config_text(ckpt: dict, path: Path) -> str:
    if ckpt.get("config"):
        return ckpt["config"]
    for side in (path.parent / "config.json", path.with_suffix(".json")):
        if side.is_file():
            return side.read_text()
    raise ValueError(f"{path}: checkpoint has no embedded config and no config.json beside it")


def load_policy(spec: str, device: str | torch.device = "cpu") -> LoadedPolicy:
    """Load a policy (see the module docstring); raises FileNotFoundError/ValueError naming the file."""
    from rsl_rl.models import MLPModel

    from hover.training.teacher import config_from_json, rsl_rl_config

    path = _resolve(spec)
    if path.suffix.lower() == ".onnx":
        raise ValueError(f"{path}: an exported ONNX model, not a checkpoint; this command needs a checkpoint "
                         "(.pt), a run folder or builtin:NAME (ONNX models run in hover sim2sim and hover run)")  # fmt: skip
    try:
        ckpt = torch.load(path, weights_only=True, map_location=device)
    except Exception as e:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f"{path}: not a readable hover checkpoint (expected a torch .pt file written by "
                         f"hover train; loading failed with {type(e).__name__})") from e  # fmt: skip
    if not isinstance(ckpt, dict) or not ({"actor_state_dict", "student_state_dict"} & set(ckpt)):
        raise ValueError(f"{path}: not a hover checkpoint (no actor_state_dict or student_state_dict)")
    text = _config_text(ckpt, path)
    if "student_state_dict" in ckpt:
        from hover.training import distillation as S

        kind, group, state = "student", "student", ckpt["student_state_dict"]
        train_cfg = S.config_from_json(text, str(path))
        model_cfg = dict(json.loads(text)["rsl_rl"]["student"])
    else:
        kind, group, state = ckpt.get("kind", "teacher"), "policy", ckpt["actor_state_dict"]
        train_cfg = config_from_json(text, str(path))
        model_cfg = dict(rsl_rl_config(train_cfg)["actor"])
    model_cfg.pop("class_name")
    first = next(k for k in state if k.startswith("mlp.") and k.endswith(".weight"))
    obs_dim = state[first].shape[1]
    dummy = TensorDict({group: torch.zeros(1, obs_dim, device=device)}, batch_size=[1], device=device)
    model = MLPModel(dummy, {"actor": [group]}, "actor", _num_actions(state), **model_cfg)
    model.load_state_dict(state)
    model.to(device).eval()

    @torch.inference_mode()
    def act(obs: TensorDict) -> Tensor:
        return model(obs.to(device))

    return LoadedPolicy(kind=kind, env_cfg=train_cfg.env, act=act, source=str(path),
                        train_cfg=train_cfg, iteration=int(ckpt.get("iter", -1)), model=model)  # fmt: skip


def _num_actions(state: dict[str, Tensor]) -> int:
    for k in ("distribution.std_param", "distribution.log_std_param"):
        if k in state:
            return int(state[k].shape[0])
    last = [k for k in state if k.startswith("mlp.") and k.endswith(".weight")][-1]
    return int(state[last].shape[0])


def describe(spec: str) -> str:
    """One-line summary of a policy file (for CLIs)."""
    p = load_policy(spec)
    return json.dumps({"kind": p.kind, "source": p.source, "iteration": p.iteration})
