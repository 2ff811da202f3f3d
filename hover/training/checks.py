"""Up-front checks of ``hover train teacher|student`` input, before anything is built or written.

Every problem raises FileNotFoundError or ValueError with one line naming the option and the file
(``hover.cli`` prints it and exits 2), and nothing is created: the ``main`` functions call
:func:`check_resume` before the resumed config is read and :func:`check_config` before ``train``
makes the run folder. Checked: ``--resume`` (exists, has ``config.json``, is a run of this kind),
``--teacher`` (exists, is a teacher and not a student), ``--motions`` (every file loads: shape,
finite values, a real ``.npz``), ``--modes`` (known mode names), ``--robot``, ``--env.gains.*``
(a positive frequency, a non-negative damping ratio).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hover.robots import DEFAULT_ROBOT

KINDS = ("teacher", "student")


def _option(argv: list[str], name: str) -> str | None:
    """The last value of ``--name VALUE`` / ``--name=VALUE`` in raw arguments (None when absent or "None")."""
    value = None
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            value = argv[i + 1]
        elif a.startswith(name + "="):
            value = a.split("=", 1)[1]
    return None if not value or value == "None" else value


def run_kind(config: dict[str, Any]) -> str:
    """``"teacher"`` or ``"student"``: the kind of run a saved ``config.json`` (or bundle JSON) describes."""
    if config.get("kind") in KINDS:
        return str(config["kind"])
    train = config.get("train", config)
    return "student" if isinstance(train, dict) and "teacher" in train and "modes" in train else "teacher"


def _saved_config(run_dir: Path, option: str) -> dict[str, Any]:
    path = run_dir / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{option} {run_dir}: no config.json in this folder (not a hover run folder)")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{option}: {path} is not valid JSON ({e})") from e
    if not isinstance(data, dict):
        raise ValueError(f"{option}: {path} does not hold a run configuration")
    return data


def check_resume(argv: list[str], kind: str) -> None:
    """``--resume RUN|CKPT`` exists, holds a config, and is a ``kind`` run (a student run cannot resume
    a teacher and vice versa)."""
    resume = _option(argv, "--resume")
    if resume is None:
        return
    p = Path(resume)
    if not p.exists():
        raise FileNotFoundError(f"--resume {resume}: no such run folder or checkpoint")
    run_dir = p if p.is_dir() else p.parent
    if p.is_dir() and not list(p.glob("model_*.pt")):
        raise FileNotFoundError(f"--resume {resume}: no checkpoint (model_<iteration>.pt) in this run folder")
    found = run_kind(_saved_config(run_dir, "--resume"))
    if found != kind:
        raise ValueError(
            f"--resume {resume}: a {found} run; resume it with `hover train {found} --resume {resume}`"
        )


def _checkpoint_kind(path: Path) -> str:
    import torch

    try:
        ckpt = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - re-raised as bad input, naming the file
        raise ValueError(f"--teacher {path}: not a readable torch checkpoint ({type(e).__name__})") from e
    if not isinstance(ckpt, dict):
        raise ValueError(f"--teacher {path}: not a hover checkpoint")
    if "student_state_dict" in ckpt or ckpt.get("kind") == "student":
        return "student"
    if "actor_state_dict" in ckpt:
        return "teacher"
    raise ValueError(f"--teacher {path}: neither a teacher nor a student checkpoint (no actor_state_dict)")


def check_teacher(spec: str) -> None:
    """``--teacher`` names a teacher: ``builtin:teacher``, a teacher run folder or a teacher checkpoint."""
    if spec.startswith("builtin:"):
        if spec != "builtin:teacher":
            raise ValueError(
                f"--teacher {spec}: not a teacher; use builtin:teacher, a teacher run or checkpoint"
            )
        return
    p = Path(spec)
    if not p.exists():
        raise FileNotFoundError(f"--teacher {spec}: no such teacher run folder or checkpoint")
    if p.is_dir():
        found = run_kind(_saved_config(p, "--teacher"))
        if found != "teacher":
            raise ValueError(f"--teacher {spec}: a {found} run, not a teacher run")
        ckpts = sorted(p.glob("model_*.pt"))
        if not ckpts:
            raise FileNotFoundError(
                f"--teacher {spec}: no checkpoint (model_<iteration>.pt) in this run folder"
            )
        p = ckpts[-1]
    found = _checkpoint_kind(p)
    if found != "teacher":
        raise ValueError(f"--teacher {spec}: a {found} checkpoint, not a teacher")


def check_motions(motions: str | None, robot: str) -> None:
    """Every clip of ``--motions`` loads for ``robot`` (the loader's message names the file and the problem)."""
    if motions is None:
        return
    from hover.motion.format import load_motion_sources
    from hover.robots import get_robot

    if not Path(motions).exists():
        raise FileNotFoundError(f"--motions {motions}: no such motion file or folder")
    clips = load_motion_sources(motions, get_robot(robot))
    if not clips:
        raise ValueError(f"--motions {motions}: no motion clips found")


def check_config(cfg: Any) -> None:
    """The parsed config of either command (fields ``robot``, ``motions`` and, for a student, ``teacher``
    and ``modes``); call before ``train`` so that a refused run leaves no folder behind."""
    from hover.robots import get_robot

    robot = getattr(cfg, "robot", DEFAULT_ROBOT)
    get_robot(robot)  # ValueError for an unknown robot
    check_motions(getattr(cfg, "motions", None), robot)
    gains = getattr(getattr(cfg, "env", None), "gains", None)
    if gains is not None:
        try:
            gains.apply(get_robot(robot))
        except ValueError as e:
            raise ValueError(f"--env.gains.mode {gains.mode}: {e}") from e
    if hasattr(cfg, "teacher"):
        check_teacher(cfg.teacher)
    if hasattr(cfg, "modes"):
        from hover.training.distillation import student_modes

        try:
            student_modes(cfg.modes)
        except (ValueError, KeyError) as e:
            raise ValueError(f"--modes {cfg.modes}: {e}") from e
