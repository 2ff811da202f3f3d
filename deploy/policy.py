"""An exported hover policy under ONNX Runtime, with its metadata checked against the robot.

``OnnxPolicy(path, robot)`` refuses (:class:`PolicyMetadataError`, naming the file and the field)
a model without hover metadata, of another schema version, for another robot, with another
joint order, or whose graph does not take ``obs_dim`` inputs to ``action_dim`` outputs. The
session runs with one intra-op and one inter-op thread (a thread per core starves a control loop).

Observations and actions are float32 numpy arrays, [obs_dim] or [N, obs_dim] -> [J] or [N, J],
joints in the policy order of the metadata (= ``robot.joint_names``). The metadata schema and its checks
are :mod:`hover.policy_metadata`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from hover.policy_metadata import (
    PolicyMetadataError,
    check_metadata,
    check_student_layout,
    parse_metadata,
    policy_kind,
)
from hover.robots import RobotSpec, get_robot
from hover.student import StudentObsLayout


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = threads
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - re-raised with the file name
        first = next((line.strip() for line in str(e).splitlines() if line.strip()), type(e).__name__)
        raise PolicyMetadataError(f"{path}: not a loadable ONNX model ({first[:300]})") from e


def require_onnx_file(path: Path) -> None:
    """FileNotFoundError/IsADirectoryError naming ``path`` unless it is a file."""
    if path.is_dir():
        raise IsADirectoryError(
            f"{path}: is a folder, not an ONNX file; pass the .onnx file that "
            "`hover export --policy RUN --out policy.onnx` writes"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ONNX file")


GAIN_RATIO = 2.0
"""kp/kd in a model's metadata may differ from the robot description's by at most this factor"""


def check_gains(meta: dict[str, Any], robot: RobotSpec, where: str = "model") -> None:
    """PolicyMetadataError unless every metadata kp/kd is within x1/GAIN_RATIO..xGAIN_RATIO of the robot
    description's (``hover.robots``); the message names the joints and the ``--allow-gains`` way out."""
    bad = []
    for key in ("kp", "kd"):
        spec = np.array([getattr(j, key) for j in robot.joints], dtype=np.float64)
        got = np.asarray(meta[key], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(spec > 0, got / spec, np.where(got == 0, 1.0, np.inf))
        for i in np.flatnonzero(~np.isfinite(got) | ~(ratio >= 1 / GAIN_RATIO) | ~(ratio <= GAIN_RATIO)):
            bad.append(f"{key} {robot.joint_names[i]} {got[i]:g} (robot: {spec[i]:g})")
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise PolicyMetadataError(
            f"{where}: gains far from the {robot.name} description's (beyond x{1 / GAIN_RATIO:g}..x{GAIN_RATIO:g}): "
            f"{', '.join(bad[:3])}{more}; pass --allow-gains to run them anyway"
        )


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The ``hover`` metadata JSON of an exported model (PolicyMetadataError when absent/invalid)."""
    path = Path(path)
    require_onnx_file(path)
    return parse_metadata(_session(path, 1).get_modelmeta().custom_metadata_map, str(path))


def student_layout(policy: OnnxPolicy) -> StudentObsLayout:
    """The :class:`hover.student.StudentObsLayout` of a student model, after checking that the exported
    ``student_observation`` equals hover's layout for the robot and history length (PolicyMetadataError
    otherwise, e.g. a model exported by another hover version with another observation; a teacher is
    refused, see :func:`hover.policy_metadata.require_student`)."""
    return check_student_layout(policy.metadata, policy.robot, policy.obs_dim, str(policy.path))


class OnnxPolicy:
    """ONNX Runtime inference of an exported policy (see the module docstring).

    ``robot``: the robot this runner drives (a RobotSpec or a name); None = the robot the file
    names, which still checks the joint order and sizes against that robot's description.
    """

    def __init__(self, path: str | os.PathLike, robot: RobotSpec | str | None = None, threads: int = 1):
        self.path = Path(path)
        require_onnx_file(self.path)
        self.session = _session(self.path, threads)
        self.metadata = parse_metadata(self.session.get_modelmeta().custom_metadata_map, str(self.path))
        if robot is None:
            name = self.metadata.get("robot")
            try:
                robot = get_robot(str(name))
            except Exception as e:  # noqa: BLE001 - re-raised with the file name
                raise PolicyMetadataError(f"{self.path}: unknown robot {name!r} in the metadata ({e})") from e
        elif isinstance(robot, str):
            robot = get_robot(robot)
        self.robot = robot
        check_metadata(self.metadata, robot, str(self.path))
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise PolicyMetadataError(
                f"{self.path}: expected one input and one output, got {len(inputs)} and {len(outputs)}"
            )
        self.input_name, self.output_name = inputs[0].name, outputs[0].name
        width = inputs[0].shape[-1]
        if width != int(self.metadata["obs_dim"]):
            raise PolicyMetadataError(
                f"{self.path}: the graph takes {width} observations, metadata says {self.metadata['obs_dim']}"
            )
        m = self.metadata
        self.obs_dim = int(m["obs_dim"])
        self.action_dim = int(m["action_dim"])
        self.joint_names: list[str] = list(m["joint_names"])
        self.default_joint_pos = np.asarray(m["default_joint_pos"], dtype=np.float64)
        self.action_scale = float(m["action_scale"])
        self.action_clip = float(m.get("action_clip", np.inf))
        self.kp = np.asarray(m["kp"], dtype=np.float64)
        self.kd = np.asarray(m["kd"], dtype=np.float64)
        self.control_dt = float(m["control_dt"])
        self.kind: str = policy_kind(m)
        self.student_layout: StudentObsLayout | None = None  # set once checked (load_student_policy)
        self.effort_limit = np.asarray(m.get("effort_limit", [np.inf] * self.action_dim), dtype=np.float64)
        self.joint_pos_lower = np.asarray(
            m.get("joint_pos_lower", [-np.inf] * self.action_dim), dtype=np.float64
        )
        self.joint_pos_upper = np.asarray(
            m.get("joint_pos_upper", [np.inf] * self.action_dim), dtype=np.float64
        )

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Actions [J] or [N, J] for observations [obs_dim] or [N, obs_dim] (float32)."""
        x = np.asarray(obs, dtype=np.float32)
        single = x.ndim == 1
        if single:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != self.obs_dim:
            raise ValueError(
                f"{self.path}: observations must be [{self.obs_dim}] or [N, {self.obs_dim}], "
                f"got {list(np.shape(obs))}"
            )
        out = self.session.run([self.output_name], {self.input_name: x})[0]
        return out[0] if single else out

    def joint_targets(self, actions: np.ndarray) -> np.ndarray:
        """Joint position targets (rad): default + action_scale * clip(actions, -action_clip, action_clip)."""
        a = np.clip(np.asarray(actions, dtype=np.float64), -self.action_clip, self.action_clip)
        return self.default_joint_pos + self.action_scale * a


def load_student_policy(path: str | os.PathLike, robot: RobotSpec, allow_gains: bool = False) -> OnnxPolicy:
    """An :class:`OnnxPolicy` for a student model; PolicyMetadataError for a teacher, a layout mismatch
    (:func:`student_layout`) or, unless ``allow_gains``, kp/kd far from the robot's
    (:func:`check_gains`)."""
    policy = OnnxPolicy(path, robot)
    if not allow_gains:
        check_gains(policy.metadata, robot, str(policy.path))
    policy.student_layout = student_layout(policy)
    return policy
