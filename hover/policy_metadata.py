"""``hover export``: a trained policy as ONNX with the metadata a robot runner needs.

The graph maps ``obs`` [batch, obs_dim] (float32) to ``actions`` [batch, J] (float32): the
observation normaliser, the MLP and the deterministic output (Gaussian mean) of the rsl-rl actor.
The joint target a runner applies is ``default_joint_pos + action_scale * clip(actions)``.

Metadata (``ModelProto.metadata_props``):

- ``hover``: JSON, schema :data:`SCHEMA_VERSION`: ``robot``, ``joint_names`` (policy order),
  ``default_joint_pos`` (rad), ``action_scale``, ``action_clip``, ``kp`` (N m/rad), ``kd``
  (N m s/rad), ``effort_limit`` (N m), ``joint_pos_lower``/``joint_pos_upper`` (rad),
  ``control_dt``/``physics_dt`` (s), ``decimation``, ``obs_dim``, ``action_dim``,
  ``observation`` (``layout``: ordered ``{name, start, dim}`` terms, ``frame``,
  ``tracked_bodies``), ``input_name``/``output_name``, ``policy_kind``, ``source``,
  ``iteration``, ``hover_version``, ``kind`` (``"teacher"`` or ``"student"``; ``policy_kind`` is the
  same, kept for older readers); a student adds ``student_observation``
  (``hover.student.StudentObsLayout.to_dict()``), ``history_length``, ``command_layout``
  (``command_dim``, ``mask_dim``, ``element_names``, per element its mask index and command
  columns) and ``modes`` (``{mode: [mask element names]}``). A teacher needs privileged simulator
  state; only a student runs on a robot (``hover.deploy.policy.require_student``);
- ``hover_train_config``: the full resolved training config (JSON) the policy was trained with.

Files are written atomically (temporary file + rename).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import warnings
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from hover.io import atomic_open
from hover.robots import RobotSpec, get_robot

SCHEMA_VERSION = 1
METADATA_KEY = "hover"
TRAIN_CONFIG_KEY = "hover_train_config"
INPUT_NAME = "obs"
OUTPUT_NAME = "actions"

# teacher actor terms (hover.envs.tracking.observations.POLICY_TERMS) and their size per body/joint
_TEACHER_TERMS: tuple[tuple[str, str, int], ...] = (
    ("body_pos", "non-root body", 3), ("body_rot", "body", 6), ("body_lin_vel", "body", 3),
    ("body_ang_vel", "body", 3), ("ref_pos_diff", "body", 3), ("ref_rot_diff", "body", 6),
    ("ref_lin_vel_diff", "body", 3), ("ref_ang_vel_diff", "body", 3), ("ref_body_pos", "body", 3),
    ("ref_body_rot", "body", 6), ("last_action", "joint", 1),
)  # fmt: skip


@dataclass
class ExportConfig:
    """Export a trained policy to ONNX with hover metadata."""

    policy: str = "builtin:student"  # checkpoint file, run folder or builtin:NAME
    out: str = "policy.onnx"  # output file
    opset: int = 18  # ONNX opset
    exporter: Literal["torchscript", "dynamo"] = (
        "torchscript"  # torch's exporter (torchscript: fast, deprecated)
    )
    check: bool = True  # compare ONNX Runtime with torch on random observations after writing


def teacher_observation_layout(robot: RobotSpec) -> list[dict[str, Any]]:
    """The teacher actor observation as ordered ``{name, start, dim}`` terms (913 dims for the H1)."""
    bodies = len(robot.tracked_body_names)
    count = {"body": bodies, "non-root body": bodies - 1, "joint": robot.num_joints}
    layout, start = [], 0
    for name, per, size in _TEACHER_TERMS:
        dim = count[per] * size
        layout.append({"name": name, "start": start, "dim": dim})
        start += dim
    return layout


def command_layout_metadata(robot: RobotSpec) -> dict[str, Any]:
    """The command/mask layout as JSON-ready data: dims, and per element its mask index, command
    columns ``[start, stop)``, kind, region, unit and frame (see :mod:`hover.commands.layout`)."""
    from hover.commands import command_layout

    layout = command_layout(robot)
    return {
        "command_dim": layout.command_dim,
        "mask_dim": layout.mask_dim,
        "element_names": layout.element_names,
        "elements": [
            {"index": e.index, "name": e.name, "kind": e.kind, "region": e.region, "start": e.start,
             "stop": e.stop, "unit": e.unit, "frame": e.frame}
            for e in layout.elements
        ],  # fmt: skip
    }


def mode_metadata(robot: RobotSpec) -> dict[str, list[str]]:
    """Named command modes -> the mask element names they switch on."""
    from hover.commands import MODE_NAMES, command_layout, mode_elements

    layout = command_layout(robot)
    return {m: list(mode_elements(m, layout)) for m in MODE_NAMES}


def student_layout_for(loaded: Any, robot: RobotSpec, obs_dim: int) -> Any:
    """The :class:`hover.student.StudentObsLayout` of a student policy taking ``obs_dim`` inputs.

    The history length is the env config's (``env_cfg.student.history_length``) when given, else
    the one that makes the layout ``obs_dim`` wide; ValueError naming the file when none fits.
    """
    from hover.student import HISTORY_LENGTH, student_obs_layout

    student_cfg = getattr(getattr(loaded, "env_cfg", None), "student", None)
    history = int(getattr(student_cfg, "history_length", HISTORY_LENGTH))
    layout = student_obs_layout(robot, history)
    if layout.obs_dim != obs_dim:
        base = student_obs_layout(robot, 0)
        extra = obs_dim - base.obs_dim
        if extra > 0 and extra % base.frame_dim == 0:
            layout = student_obs_layout(robot, extra // base.frame_dim)
        else:
            raise ValueError(
                f"{loaded.source}: the student takes {obs_dim} observations but the {robot.name} student "
                f"layout has {layout.obs_dim} (history {history}); no history length fits"
            )
    return layout


def _observation_terms(slices: dict[str, slice]) -> list[dict[str, Any]]:
    return [{"name": k, "start": s.start, "dim": s.stop - s.start} for k, s in slices.items()]


def policy_metadata(loaded: Any, robot: RobotSpec, obs_dim: int, action_dim: int) -> dict[str, Any]:
    """The ``hover`` metadata dict of a loaded policy (see the module docstring)."""
    from hover import __version__

    if loaded.kind == "teacher":
        layout = teacher_observation_layout(robot)
        if sum(t["dim"] for t in layout) != obs_dim:
            raise ValueError(
                f"{loaded.source}: the actor takes {obs_dim} observations but the {robot.name} teacher layout "
                f"has {sum(t['dim'] for t in layout)}"
            )
        observation: dict[str, Any] = {
            "layout": layout,
            "frame": "robot pelvis heading (yaw-only) frame; rotations 6D tan-norm; quaternions wxyz",
            "tracked_bodies": robot.tracked_body_names,
            "normalized_in_graph": True,
        }
        extra: dict[str, Any] = {}
    elif loaded.kind == "student":
        student = student_layout_for(loaded, robot, obs_dim)
        observation = {
            "layout": _observation_terms(student.slices()),
            "frame": "proprioception in the pelvis frame; commands as hover.commands.layout; masked command "
                     "columns are 0; history newest first, frames (proprio, action)",
            "tracked_bodies": robot.tracked_body_names,
            "normalized_in_graph": True,
        }  # fmt: skip
        extra = {
            "student_observation": student.to_dict(),
            "history_length": student.history_length,
            "command_layout": command_layout_metadata(robot),
            "modes": mode_metadata(robot),
        }
    else:
        raise ValueError(f"{loaded.source}: cannot export a {loaded.kind!r} policy (teacher or student)")
    if action_dim != robot.num_joints:
        raise ValueError(
            f"{loaded.source}: {action_dim} actions but {robot.name} has {robot.num_joints} joints"
        )
    joints = robot.joints
    env_cfg = getattr(loaded, "env_cfg", None)
    return {
        "schema_version": SCHEMA_VERSION,
        "hover_version": __version__,
        "kind": loaded.kind,
        "policy_kind": loaded.kind,
        "source": str(loaded.source),
        "iteration": int(loaded.iteration),
        "robot": robot.name,
        "joint_names": robot.joint_names,
        "default_joint_pos": [j.default_pos for j in joints],
        "action_scale": robot.action_scale,
        "action_clip": float(getattr(env_cfg, "clip_actions", 100.0)),
        "kp": [j.kp for j in joints],
        "kd": [j.kd for j in joints],
        "effort_limit": [j.effort_limit for j in joints],
        "joint_pos_lower": [j.range[0] for j in joints],
        "joint_pos_upper": [j.range[1] for j in joints],
        "control_dt": robot.control_dt,
        "physics_dt": robot.physics_dt,
        "decimation": robot.decimation,
        "obs_dim": obs_dim,
        "action_dim": action_dim,
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "observation": observation,
    } | extra


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


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
    robot_name = getattr(loaded.train_cfg, "robot", "h1")
    robot = get_robot(robot_name)
    wrapper = loaded.model.as_onnx(verbose=False).to("cpu").eval()
    obs_dim = int(wrapper.input_size)
    with torch.no_grad():
        action_dim = int(wrapper(torch.zeros(1, obs_dim)).shape[-1])
    meta = policy_metadata(loaded, robot, obs_dim, action_dim)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        names = {"input_names": [INPUT_NAME], "output_names": [OUTPUT_NAME], "opset_version": opset}
        if exporter == "dynamo":
            batch = torch.export.Dim("batch")
            torch.onnx.export(wrapper, (torch.zeros(2, obs_dim),), str(raw), dynamic_shapes=({0: batch},),
                              dynamo=True, verbose=False, **names)  # fmt: skip
        elif exporter == "torchscript":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.onnx.export(wrapper, (torch.zeros(1, obs_dim),), str(raw), dynamo=False,
                                  dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}, **names)  # fmt: skip
        else:
            raise ValueError(f"unknown exporter {exporter!r} (torchscript or dynamo)")
        model = onnx.load(str(raw))
    model.producer_name = "hover"
    del model.metadata_props[:]
    train_cfg = loaded.train_cfg
    cfg_json = json.dumps(asdict(train_cfg) if is_dataclass(train_cfg) else {}, sort_keys=True)
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


def main(argv: list[str], prog: str) -> int:
    import tyro

    from hover.checkpoints import load_policy

    cfg = tyro.cli(ExportConfig, args=argv, prog=prog,
                   description="Export a trained policy (student or teacher) to ONNX with robot/observation metadata.")  # fmt: skip
    try:
        loaded = load_policy(cfg.policy)
        path = export_onnx(loaded, cfg.out, opset=cfg.opset, exporter=cfg.exporter)
    except (FileNotFoundError, ValueError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return 2
    report: dict[str, Any] = {"out": str(path), "bytes": path.stat().st_size, "policy_kind": loaded.kind}
    if cfg.check:
        report["max_abs_error_vs_torch"] = parity_error(loaded, path)
    print(json.dumps(report))
    return 0
