"""The ``hover`` command: one entry point, subcommands dispatched to their modules.

Each subcommand is ``module:function`` taking ``argv: list[str]`` and returning an exit code; its
options are parsed there (typed dataclass configs through tyro), so ``hover CMD --help`` explains
that command. Modules are imported only when their command runs, which keeps ``hover --help`` fast.

Exit codes, the same for every command: 0 ok, 1 a failed check (a run that did not succeed), 2 bad
input. Bad input is raised as FileNotFoundError/NotADirectoryError/IsADirectoryError/PermissionError,
ValueError (PolicyMetadataError, MotionFormatError, ...) or ImportError of an optional dependency; it is
printed here as one line ``hover CMD: MESSAGE`` (never a traceback; ``HOVER_DEBUG=1`` re-raises it).
Bad command-line syntax found by tyro (an unknown option, a missing value, a bad choice, a value that
does not parse) is one line too, ``hover CMD: unknown option --x (see hover CMD --help)``, exit 2
(:mod:`hover.cli.usage`; ``HOVER_DEBUG=1`` shows tyro's own message instead).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from hover.cli.usage import UsageError, one_line_usage_errors

# (words, "module:function", one-line help). Order = order shown in --help.
COMMANDS: list[tuple[tuple[str, ...], str, str]] = [
    (("demo",), "hover.cli.demo:main", "run the built-in default end to end and write a video + JSON report"),
    (
        ("retarget",),
        "hover.cli.retarget:main",
        "human motion (AMASS/SMPL or the built-in synthetic set) to robot motion files",
    ),
    (
        ("motion", "info"),
        "hover.cli.motion_info:main",
        "print clips, durations, fps and joint ranges of motion files",
    ),
    (("motion", "builtin"), "hover.cli.motion_builtin:main", "write the built-in motion set to a folder"),
    (
        ("motion", "generate"),
        "hover.cli.motion_generate:main",
        "make varied synthetic robot motions (walk 0-1.2 m/s, turns, side steps, arms, squats, ...), "
        "deterministic per seed",
    ),
    (
        ("train", "teacher"),
        "hover.cli.train_teacher:main",
        "train the oracle teacher with PPO (rsl-rl); run folders, resume",
    ),
    (
        ("train", "student"),
        "hover.cli.train_student:main",
        "distil the teacher into the masked multi-mode student (DAgger)",
    ),
    (
        ("train", "curves"),
        "hover.cli.train_curves:main",
        "compare training runs: the evaluation protocol's success as a table and curves (from eval.csv)",
    ),
    (
        ("eval",),
        "hover.cli.eval:main",
        "evaluate a policy on a motion set: the paper's metrics as JSON/CSV, a video",
    ),
    (
        ("compare",),
        "hover.cli.compare:main",
        "policies side by side per command mode: the paper's 12 metrics and who wins each",
    ),
    (
        ("policy", "average"),
        "hover.cli.policy_average:main",
        "average the weights of several checkpoints of a run into one policy (smoother than any one)",
    ),
    (("export",), "hover.cli.export:main", "export a trained policy to ONNX with robot/observation metadata"),
    (
        ("sim2sim",),
        "hover.cli.sim2sim:main",
        "run an exported student ONNX in a differently configured MuJoCo over many clips; metrics per mode",
    ),
    (
        ("sim-robot",),
        "hover.cli.sim_robot:main",
        "a MuJoCo H1 speaking the robot's DDS topics (rt/lowstate, rt/lowcmd) for hover run",
    ),
    (
        ("inputs", "show"),
        "hover.cli.inputs_show:main",
        "print the commands and events of an input source (joystick, remote, VR, playback, keyboard) to check a device",
    ),
    (
        ("run",),
        "hover.cli.run:main",
        "run an exported student on the robot (or sim-robot) over DDS: 50 Hz loop, states, safety",
    ),
    (("commands", "layout"), "hover.cli.commands_layout:main", "print the command and mask layout table"),
    (
        ("bench", "sim"),
        "hover.cli.bench_sim:main",
        "simulation throughput (env steps/s, physics limit ratio) as JSON",
    ),
    (
        ("bench", "retarget"),
        "hover.cli.bench_retarget:main",
        "retargeting throughput (frames/s) and keypoint error as JSON",
    ),
    (
        ("bench", "deploy"),
        "hover.cli.bench_deploy:main",
        "onboard runner: ONNX inference latency, 50 Hz loop period error, sim2sim speed as JSON",
    ),
    (
        ("bench", "train"),
        "hover.cli.bench_train:main",
        "PPO training throughput (env steps/s, iteration time) as JSON",
    ),
]


def _usage() -> str:
    width = max(len(" ".join(w)) for w, _, _ in COMMANDS)
    lines = [
        "usage: hover COMMAND [SUBCOMMAND] [OPTIONS]",
        "",
        "hover: versatile whole-body control for humanoid robots (HOVER, arXiv 2410.21229).",
        "",
        "commands:",
    ]
    lines += [f"  {' '.join(w):<{width}}  {h}" for w, _, h in COMMANDS]
    lines += ["", "Run `hover COMMAND --help` for the options of a command."]
    return "\n".join(lines)


def resolve(argv: Sequence[str]) -> tuple[tuple[str, ...], str, list[str]] | None:
    """Longest registered command that prefixes ``argv``: (words, target, remaining args)."""
    best = None
    for words, target, _ in COMMANDS:
        if tuple(argv[: len(words)]) == words and (best is None or len(words) > len(best[0])):
            best = (words, target, list(argv[len(words) :]))
    return best


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from hover import __version__

        print(f"hover {__version__}")
        return 0
    found = resolve(argv)
    if found is None:
        group = [w for w, _, _ in COMMANDS if w[0] == argv[0]]
        if group:
            print(
                f"hover {argv[0]}: choose one of: " + ", ".join(" ".join(w) for w in group), file=sys.stderr
            )
        else:
            print(f"hover: unknown command {argv[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    words, target, rest = found
    module_name, func_name = target.split(":")
    prog = "hover " + " ".join(words)
    debug = bool(os.environ.get("HOVER_DEBUG"))
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        with contextlib.nullcontext() if debug else one_line_usage_errors(prog, rest):
            return int(func(rest, prog=prog) or 0)
    except UsageError as e:
        print(e.line(), file=sys.stderr)
        return 2
    except BAD_INPUT as e:
        if debug:
            raise
        print(f"{prog}: {one_line(e)}", file=sys.stderr)
        return 2


BAD_INPUT = (
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    ValueError,
    ImportError,
)
"""Exceptions that mean bad input (a file, a folder, an option value, a missing optional package)."""


def one_line(error: BaseException) -> str:
    """The error's message on one line (whitespace runs, newlines included, become one space)."""
    text = " ".join(str(error).split())
    if isinstance(error, OSError) and error.filename is not None and str(error.filename) not in text:
        text = f"{error.filename}: {text}"
    return text or type(error).__name__
