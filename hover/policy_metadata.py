"""The policy artefact's metadata: the schema ``hover export`` writes and every reader checks.

An exported policy is an ONNX graph mapping ``obs`` [batch, obs_dim] (float32) to ``actions``
[batch, J] (float32): the observation normaliser, the MLP and the deterministic output (Gaussian mean)
of the rsl-rl actor. The joint target a runner applies is ``default_joint_pos + action_scale * clip(actions)``.

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
  state; only a student runs on a robot (:func:`require_student`);
- ``hover_train_config``: the full resolved training config (JSON) the policy was trained with.

Writing: :func:`policy_metadata` (``hover.training.export`` puts it into the ONNX file). Reading:
:func:`parse_metadata`, :func:`check_metadata` (robot, joint order, sizes), :func:`require_student` and
:func:`check_student_layout` raise :class:`PolicyMetadataError` naming the file and the field
(``hover.deploy.policy.OnnxPolicy`` runs them on every model it loads).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hover.robots import RobotSpec
from hover.student import HISTORY_LENGTH, StudentObsLayout, student_obs_layout

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = (1,)
METADATA_KEY = "hover"
TRAIN_CONFIG_KEY = "hover_train_config"
INPUT_NAME = "obs"
OUTPUT_NAME = "actions"

# teacher actor terms (hover.envs.tracking.observations.POLICY_TERMS) and their size per body/joint
#: per teacher observation term: what it counts (a body, a non-root body, a joint or one) and the size
#: of each; the paper preset's actor and the tracking recipe's terms (``hover.envs.tracking.observations``)
_TEACHER_TERM_SIZES: dict[str, tuple[str, int]] = {
    "body_pos": ("non-root body", 3), "body_rot": ("body", 6), "body_lin_vel": ("body", 3),
    "body_ang_vel": ("body", 3), "ref_pos_diff": ("body", 3), "ref_rot_diff": ("body", 6),
    "ref_lin_vel_diff": ("body", 3), "ref_ang_vel_diff": ("body", 3), "ref_body_pos": ("body", 3),
    "ref_body_rot": ("body", 6), "last_action": ("joint", 1),
    "ref_joint_pos": ("joint", 1), "ref_joint_vel": ("joint", 1), "ref_anchor_pos": ("one", 3),
    "ref_anchor_rot": ("one", 6), "ref_body_pos_local": ("body", 3), "root_lin_vel_local": ("one", 3),
    "root_ang_vel_local": ("one", 3), "projected_gravity": ("one", 3), "joint_pos_rel": ("joint", 1),
    "joint_vel": ("joint", 1), "body_pos_local": ("body", 3), "body_rot_local": ("body", 6),
}  # fmt: skip
#: the paper preset's actor observation, in order (913 dims for the H1)
PAPER_TEACHER_TERMS: tuple[str, ...] = (
    "body_pos", "body_rot", "body_lin_vel", "body_ang_vel", "ref_pos_diff", "ref_rot_diff",
    "ref_lin_vel_diff", "ref_ang_vel_diff", "ref_body_pos", "ref_body_rot", "last_action",
)  # fmt: skip
_FRAMES = {
    "paper": "robot pelvis heading (yaw-only) frame; rotations 6D tan-norm; quaternions wxyz",
    "tracking": "root velocities and gravity in the robot pelvis frame; the reference in the robot anchor "
    "(torso) frame or its heading frame; rotations 6D tan-norm; quaternions wxyz",
}


def teacher_observation_layout(robot: RobotSpec, terms: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The teacher actor observation as ordered ``{name, start, dim}`` terms: ``terms`` (the run's
    ``env.observations.policy``) or the paper preset's (913 dims for the H1; the tracking recipe's
    default is 182). ValueError naming a term this layout does not know."""
    bodies = len(robot.tracked_body_names)
    count = {"body": bodies, "non-root body": bodies - 1, "joint": robot.num_joints, "one": 1}
    layout, start = [], 0
    for name in PAPER_TEACHER_TERMS if terms is None else terms:
        if name not in _TEACHER_TERM_SIZES:
            raise ValueError(f"teacher observation term {name!r} has no known size in the policy metadata")
        per, size = _TEACHER_TERM_SIZES[name]
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
            {
                "index": e.index,
                "name": e.name,
                "kind": e.kind,
                "region": e.region,
                "start": e.start,
                "stop": e.stop,
                "unit": e.unit,
                "frame": e.frame,
            }
            for e in layout.elements
        ],
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
        observations = getattr(getattr(loaded, "env_cfg", None), "observations", None)
        terms = getattr(observations, "policy", None)
        layout = teacher_observation_layout(robot, None if terms is None else list(terms))
        if sum(t["dim"] for t in layout) != obs_dim:
            raise ValueError(
                f"{loaded.source}: the actor takes {obs_dim} observations but the {robot.name} teacher layout "
                f"has {sum(t['dim'] for t in layout)}"
            )
        observation: dict[str, Any] = {
            "layout": layout,
            "frame": _FRAMES["tracking" if "ref_anchor_pos" in {t["name"] for t in layout} else "paper"],
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
        }
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


class PolicyMetadataError(ValueError):
    """The model's metadata is missing, malformed or does not match the robot."""


def parse_metadata(props: Mapping[str, str], where: str = "model") -> dict[str, Any]:
    """The ``hover`` metadata dict from a model's metadata properties (PolicyMetadataError when absent/invalid)."""
    if METADATA_KEY not in props:
        raise PolicyMetadataError(
            f"{where}: no '{METADATA_KEY}' metadata; export the policy with `hover export`"
        )
    try:
        meta = json.loads(props[METADATA_KEY])
    except json.JSONDecodeError as e:
        raise PolicyMetadataError(f"{where}: '{METADATA_KEY}' metadata is not valid JSON ({e})") from e
    if not isinstance(meta, dict):
        raise PolicyMetadataError(f"{where}: '{METADATA_KEY}' metadata must be a JSON object")
    return meta


def check_metadata(meta: Mapping[str, Any], robot: RobotSpec, where: str = "model") -> None:
    """Raise PolicyMetadataError unless ``meta`` describes a policy for ``robot`` in its joint order."""
    version = meta.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise PolicyMetadataError(
            f"{where}: metadata schema_version {version!r} not supported "
            f"(supported: {SUPPORTED_SCHEMA_VERSIONS})"
        )
    required = (
        "robot",
        "joint_names",
        "default_joint_pos",
        "action_scale",
        "kp",
        "kd",
        "control_dt",
        "obs_dim",
        "action_dim",
    )
    missing = [k for k in required if k not in meta]
    if missing:
        raise PolicyMetadataError(f"{where}: metadata lacks {', '.join(missing)}")
    if meta["robot"] != robot.name:
        raise PolicyMetadataError(f"{where}: the policy is for robot {meta['robot']!r}, not {robot.name!r}")
    names = list(meta["joint_names"])
    if names != robot.joint_names:
        if sorted(names) == sorted(robot.joint_names):
            first = next(i for i, (a, b) in enumerate(zip(names, robot.joint_names, strict=True)) if a != b)
            raise PolicyMetadataError(
                f"{where}: joint order differs from {robot.name}'s at index {first} "
                f"({names[first]!r} in the model, {robot.joint_names[first]!r} expected)"
            )
        extra, lacking = (
            sorted(set(names) - set(robot.joint_names)),
            sorted(set(robot.joint_names) - set(names)),
        )
        raise PolicyMetadataError(
            f"{where}: joint names differ from {robot.name}'s (unknown: {extra}, missing: {lacking})"
        )
    j = robot.num_joints
    for key in ("default_joint_pos", "kp", "kd"):
        if len(meta[key]) != j:
            raise PolicyMetadataError(f"{where}: metadata {key} has {len(meta[key])} values for {j} joints")
    if int(meta["action_dim"]) != j:
        raise PolicyMetadataError(f"{where}: action_dim {meta['action_dim']} but {robot.name} has {j} joints")
    if not float(meta["control_dt"]) > 0.0:
        raise PolicyMetadataError(f"{where}: control_dt must be positive, got {meta['control_dt']}")


def policy_kind(meta: Mapping[str, Any]) -> str:
    """``"student"``, ``"teacher"`` (``kind``, or ``policy_kind`` of older exports) or ``"unknown"``."""
    return str(meta.get("kind", meta.get("policy_kind", "unknown")))


def require_student(meta: Mapping[str, Any], where: str = "model") -> None:
    """Raise PolicyMetadataError unless the model is a student (its observation is computable on a
    robot). A teacher reads privileged simulator state (reference body poses, velocities) that a
    robot does not have, so runners and sim2sim refuse it with this message."""
    kind = policy_kind(meta)
    if kind == "student":
        if "student_observation" not in meta:
            raise PolicyMetadataError(
                f"{where}: student model without 'student_observation' metadata; "
                "re-export it with `hover export`"
            )
        return
    if kind == "teacher":
        raise PolicyMetadataError(
            f"{where}: this is a teacher policy; it observes privileged simulator state (body poses and "
            "velocities of the robot and the reference) that a robot cannot measure, so it cannot be "
            "deployed. Export a student instead: `hover export --policy builtin:student --out student.onnx`"
        )
    raise PolicyMetadataError(
        f"{where}: policy kind {kind!r} is not a student; only student models can be deployed"
    )


def check_student_layout(
    meta: Mapping[str, Any], robot: RobotSpec, obs_dim: int, where: str = "model"
) -> StudentObsLayout:
    """The :class:`hover.student.StudentObsLayout` of a student model, after checking that the exported
    ``student_observation`` equals hover's layout for the robot and history length (PolicyMetadataError
    otherwise, e.g. a model exported by another hover version with another observation)."""
    require_student(meta, where)
    layout = student_obs_layout(robot, int(meta.get("history_length", -1)))
    if meta["student_observation"] != layout.to_dict() or layout.obs_dim != obs_dim:
        raise PolicyMetadataError(
            f"{where}: the exported student observation ({meta['student_observation'].get('obs_dim')} dims, "
            f"history {meta.get('history_length')}) differs from this hover's {robot.name} layout "
            f"({layout.obs_dim} dims); re-export the policy with this version"
        )
    return layout
