"""Export a trained policy as ONNX with the metadata a robot runner needs (``hover export``).

The graph and its metadata follow :mod:`hover.policy_metadata`; the metadata's ``kp``/``kd`` are the
gains the policy was trained with (:func:`trained_robot`). Files are written atomically
(temporary file + rename).
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from hover.envs.tracking.config import GainsConfig
from hover.io import atomic_open
from hover.policy_metadata import INPUT_NAME, METADATA_KEY, OUTPUT_NAME, TRAIN_CONFIG_KEY, policy_metadata
from hover.robots import DEFAULT_ROBOT, RobotSpec, get_robot


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def trained_robot(loaded: Any) -> RobotSpec:
    """The robot a loaded policy was trained on, with the PD gains it was trained with (its env's
    ``gains``; the robot's own for configs without them), as the exported metadata records them."""
    robot = get_robot(getattr(loaded.train_cfg, "robot", DEFAULT_ROBOT))
    gains = getattr(getattr(loaded, "env_cfg", None), "gains", None)
    return gains.apply(robot) if isinstance(gains, GainsConfig) else robot


def export_onnx(
    loaded: Any,
    out: str | os.PathLike,
    opset: int = 18,
    exporter: Literal["torchscript", "dynamo"] = "torchscript",
) -> Path:
    """Write ``loaded`` (a :class:`hover.checkpoints.LoadedPolicy`) as ONNX with metadata; returns the path.

    ``exporter``: torch's TorchScript-based exporter (0.1 s; deprecated by torch but present in 2.x)
    or the torch.export-based one (a few seconds). Both give a graph with a dynamic batch size.
    """
    import onnx

    if loaded.model is None:
        raise ValueError(f"{loaded.source}: the loaded policy carries no model to export")
    robot = trained_robot(loaded)
    wrapper = loaded.model.as_onnx(verbose=False).to("cpu").eval()
    obs_dim = int(wrapper.input_size)
    with torch.no_grad():
        action_dim = int(wrapper(torch.zeros(1, obs_dim)).shape[-1])
    meta = policy_metadata(loaded, robot, obs_dim, action_dim)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        names: dict[str, Any] = {
            "input_names": [INPUT_NAME],
            "output_names": [OUTPUT_NAME],
            "opset_version": opset,
        }
        if exporter == "dynamo":
            batch = torch.export.Dim("batch")
            torch.onnx.export(
                wrapper,
                (torch.zeros(2, obs_dim),),
                str(raw),
                dynamic_shapes=({0: batch},),
                dynamo=True,
                verbose=False,
                **names,
            )
        elif exporter == "torchscript":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.onnx.export(
                    wrapper,
                    (torch.zeros(1, obs_dim),),
                    str(raw),
                    dynamo=False,
                    dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                    **names,
                )
        else:
            raise ValueError(f"unknown exporter {exporter!r} (torchscript or dynamo)")
        model = onnx.load(str(raw))
    model.producer_name = "hover"
    del model.metadata_props[:]
    train_cfg = loaded.train_cfg
    cfg_json = json.dumps(
        asdict(train_cfg) if is_dataclass(train_cfg) and not isinstance(train_cfg, type) else {},
        sort_keys=True,
    )
    for key, value in ((METADATA_KEY, json.dumps(meta, sort_keys=True)), (TRAIN_CONFIG_KEY, cfg_json)):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    path = Path(out)
    _atomic_write_bytes(path, model.SerializeToString())
    return path


def parity_error(loaded: Any, path: str | os.PathLike, num: int = 64, seed: int = 0) -> float:
    """Max |ONNX Runtime - torch| over ``num`` random observations (N(0, 1), float32)."""
    from tensordict import TensorDict

    from hover.deploy.policy import OnnxPolicy

    policy = OnnxPolicy(path)
    gen = torch.Generator().manual_seed(seed)
    obs = torch.randn(num, policy.obs_dim, generator=gen)
    group = "student" if loaded.kind == "student" else "policy"
    expected = loaded.act(TensorDict({group: obs}, batch_size=[num])).cpu().numpy()
    return float(abs(policy(obs.numpy()) - expected).max())
