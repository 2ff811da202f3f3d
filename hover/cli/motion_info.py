"""``hover motion info``, ``hover motion builtin`` and ``hover motion generate``: inspect motion files, write
the built-in set, make varied synthetic motion sets."""

from __future__ import annotations

import json as jsonlib
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import tyro

from hover.motion.format import MotionClip, MotionFormatError, load_motion_sources
from hover.robots import RobotSpec, get_robot

BUILTIN_SOURCE = "builtin"


@dataclass
class InfoConfig:
    """Print clip count, durations, fps and per-joint ranges (flagging those outside the robot's limits)."""

    sources: Annotated[tuple[str, ...], tyro.conf.Positional, tyro.conf.arg(metavar="FILE_OR_DIR")] = (
        BUILTIN_SOURCE,
    )
    """motion files or folders (searched recursively for *.npz); 'builtin' means the shipped set"""
    json: bool = False
    """print one JSON object instead of tables"""
    robot: str = "h1"
    """robot the motions are for"""


@dataclass
class BuiltinConfig:
    """Write the built-in motion set to a folder (as builtin.npz)."""

    out: Path = Path("motions")
    """output folder, or a path ending in .npz"""
    generate: bool = False
    """regenerate the synthetic joint-space set from code instead of copying the shipped file"""
    robot: str = "h1"
    """robot the motions are for"""


@dataclass
class GenerateConfig:
    """Make varied synthetic robot motions, deterministic per seed: synthetic human motion of random kind and parameters, retargeted to the robot like `hover retarget --builtin`, written as one motion file."""

    num_clips: int = 40
    """number of clips (>= 1)"""
    seed: int = 0
    """seed (>= 0); clip i depends only on (seed, i, kinds), so a smaller --num-clips gives a prefix"""
    out: Path = Path("generated.npz")
    """output motion file (.npz)"""
    fps: float = 50.0
    """frame rate of the clips (Hz)"""
    kinds: tuple[str, ...] = ()
    """motion kinds, comma- or space-separated (default: all of walk, walk_turn, turn, sidestep, arms, squat, bend, reach, punch, wave)"""
    max_attempts: int = 4
    """draws per clip until it passes the quality gate (self-penetration, joint limits and velocities, foot sliding, keypoint error); the last draw is kept and counted as failing otherwise"""
    report: Path | None = None
    """also write a JSON report: per-kind summary, per-clip parameters and quality"""
    quiet: bool = False
    """no progress bar or table"""
    robot: str = "h1"
    """robot the motions are for"""


def load_sources(sources: tuple[str, ...], robot: RobotSpec) -> list[MotionClip]:
    """Clips of all sources; the source name 'builtin' stands for the shipped motion set."""
    from hover.motion.builtin import load_builtin_motions

    clips: list[MotionClip] = []
    files = [s for s in sources if s != BUILTIN_SOURCE]
    if len(files) != len(sources):
        clips.extend(load_builtin_motions(robot))
    if files:
        clips.extend(load_motion_sources(files, robot))
    return clips


def summarize(clips: list[MotionClip], robot: RobotSpec) -> dict:
    """Plain-data summary: clips (name, fps, frames, duration s) and joint ranges vs limits (rad)."""
    joint_pos = np.concatenate([c.joint_pos for c in clips])
    lo, hi = joint_pos.min(0), joint_pos.max(0)
    joints = []
    for i, j in enumerate(robot.joints):
        out = bool(lo[i] < j.range[0] or hi[i] > j.range[1])
        joints.append({"name": j.name, "min": float(lo[i]), "max": float(hi[i]),
                       "limit_min": j.range[0], "limit_max": j.range[1], "out_of_limits": out})  # fmt: skip
    return {
        "robot": robot.name,
        "num_clips": len(clips),
        "num_frames": int(sum(c.num_frames for c in clips)),
        "total_duration_s": float(sum(c.duration for c in clips)),
        "fps": sorted({float(c.fps) for c in clips}),
        "clips": [
            {"name": c.name, "fps": c.fps, "frames": c.num_frames, "duration_s": c.duration} for c in clips
        ],
        "joints": joints,
        "num_joints_out_of_limits": sum(j["out_of_limits"] for j in joints),
    }


def format_summary(s: dict) -> str:
    """Readable tables of :func:`summarize`'s output."""
    fps = ", ".join(f"{f:g}" for f in s["fps"])
    lines = [
        f"robot {s['robot']}: {s['num_clips']} clips, {s['num_frames']} frames, "
        f"{s['total_duration_s']:.1f} s total, fps {fps}",
        "",
    ]
    width = max(len("clip"), *(len(c["name"]) for c in s["clips"]))
    lines.append(f"  {'clip':<{width}}  {'fps':>6}  {'frames':>7}  {'duration s':>10}")
    for c in s["clips"]:
        lines.append(f"  {c['name']:<{width}}  {c['fps']:>6g}  {c['frames']:>7d}  {c['duration_s']:>10.2f}")
    lines.append("")
    width = max(len(j["name"]) for j in s["joints"])
    lines.append(f"  {'joint':<{width}}  {'min':>7}  {'max':>7}  {'limit min':>9}  {'limit max':>9}")
    for j in s["joints"]:
        flag = "  OUT OF LIMITS" if j["out_of_limits"] else ""
        lines.append(f"  {j['name']:<{width}}  {j['min']:>7.3f}  {j['max']:>7.3f}  "
                     f"{j['limit_min']:>9.3f}  {j['limit_max']:>9.3f}{flag}")  # fmt: skip
    n = s["num_joints_out_of_limits"]
    lines.append("")
    lines.append(f"{n} joint(s) out of limits" if n else "all joints within limits")
    return "\n".join(lines)


def info_main(argv: list[str], prog: str) -> int:
    """``hover motion info FILE_OR_DIR... [--json]``; exit 1 when a file is unreadable."""
    cfg = tyro.cli(InfoConfig, args=argv, prog=prog, description=InfoConfig.__doc__)
    robot = get_robot(cfg.robot)
    try:
        clips = load_sources(cfg.sources, robot)
    except MotionFormatError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 1
    s = summarize(clips, robot)
    print(jsonlib.dumps(s, indent=2) if cfg.json else format_summary(s))
    return 0


def builtin_main(argv: list[str], prog: str) -> int:
    """``hover motion builtin --out DIR [--generate]``: write the built-in set as DIR/builtin.npz."""
    from hover.motion.builtin import BUILTIN_MOTIONS_PATH, load_builtin_motions, write_builtin_motions
    from hover.motion.format import save_motions

    cfg = tyro.cli(BuiltinConfig, args=argv, prog=prog, description=BuiltinConfig.__doc__)
    robot = get_robot(cfg.robot)
    if cfg.generate:
        path = write_builtin_motions(cfg.out, robot)
    else:
        out = cfg.out if cfg.out.suffix == ".npz" else cfg.out / BUILTIN_MOTIONS_PATH.name
        path = save_motions(out, load_builtin_motions(robot), robot)
    clips = load_motion_sources(path, robot)
    print(f"wrote {len(clips)} clips ({sum(c.duration for c in clips):.1f} s) to {path}")
    return 0


def _generate_input_error(cfg: GenerateConfig) -> str | None:
    """The first problem with the options, or None."""
    from hover.retarget.random_motions import KINDS

    if cfg.num_clips < 1:
        return f"--num-clips must be >= 1, got {cfg.num_clips}"
    if cfg.seed < 0:
        return f"--seed must be >= 0, got {cfg.seed}"
    if not (cfg.fps > 0 and cfg.fps <= 1000):
        return f"--fps must be in (0, 1000], got {cfg.fps}"
    if cfg.max_attempts < 1:
        return f"--max-attempts must be >= 1, got {cfg.max_attempts}"
    unknown = [k for k in _split_kinds(cfg.kinds) if k not in KINDS]
    if unknown:
        return f"--kinds: unknown kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}"
    for path, opt in ((cfg.out, "--out"), (cfg.report, "--report")):
        if path is None:
            continue
        if opt == "--out" and path.suffix != ".npz":
            return f"--out {path}: must be a .npz file"
        if path.is_dir():
            return f"{opt} {path}: is a folder"
        try:  # create the folder and a scratch file now, not after minutes of work
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path.parent):
                pass
        except OSError as e:
            return f"{opt} {path}: cannot write there ({e.strerror or e})"
    return None


def _split_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(k for item in kinds for k in item.replace(",", " ").split())


def generate_main(argv: list[str], prog: str) -> int:
    """``hover motion generate --num-clips N --seed S --out FILE.npz``: exit 2 on bad options."""
    cfg = tyro.cli(GenerateConfig, args=argv, prog=prog, description=GenerateConfig.__doc__)
    problem = _generate_input_error(cfg)
    if problem:
        print(f"{prog}: {problem}", file=sys.stderr)
        return 2
    from dataclasses import asdict

    from tqdm import tqdm

    from hover.io import atomic_write_json
    from hover.motion.format import save_motions
    from hover.retarget import generate as gen_mod
    from hover.retarget.random_motions import KINDS

    robot = get_robot(cfg.robot)
    kinds = _split_kinds(cfg.kinds) or KINDS
    gcfg = gen_mod.GenerateConfig(fps=cfg.fps, kinds=kinds, max_attempts=cfg.max_attempts)
    with tqdm(total=cfg.num_clips, desc="generate", unit="clip", disable=cfg.quiet) as bar:

        def progress(n: int, total: int) -> None:
            bar.total = total
            bar.update(n)

        gen = gen_mod.generate(cfg.num_clips, cfg.seed, gcfg, robot, progress)
    try:
        path = save_motions(cfg.out, gen.clips, robot)
        if cfg.report:
            speeds = gen_mod.measured_speeds(gen)
            atomic_write_json(cfg.report, {
                "command": {"num_clips": cfg.num_clips, "seed": cfg.seed, "fps": cfg.fps, "kinds": list(kinds),
                            "max_attempts": cfg.max_attempts},
                "seconds": gen.seconds, "summary": gen_mod.kind_summary(gen),
                "clips": [{"spec": asdict(s), "quality": asdict(q), "gate_failures": f, "joint_velocity_ratio": r,
                           "speed_measured_m_s": None if v != v else v}
                          for s, q, f, v, r in zip(gen.specs, gen.quality, gen.failures, speeds, gen.velocity_ratio,
                                                   strict=True)],
            })  # fmt: skip
    except OSError as e:
        print(f"{prog}: cannot write {cfg.out}: {e}", file=sys.stderr)
        return 2
    if not cfg.quiet:
        print(gen_mod.format_summary(gen))
    failing = sum(bool(f) for f in gen.failures)
    note = f", {failing} failing the quality gate after {cfg.max_attempts} draws" if failing else ""
    print(f"wrote {len(gen.clips)} clips ({sum(c.duration for c in gen.clips):.1f} s, {gen.redrawn} redrawn{note}) "
          f"to {path} in {gen.seconds:.1f} s")  # fmt: skip
    return 0
