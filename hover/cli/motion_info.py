"""``hover motion info``: clips, durations, fps and joint ranges of motion files (or the built-in set)."""

from __future__ import annotations

import json as jsonlib
import sys
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import tyro

from hover.motion.format import MotionClip, MotionFormatError, load_motion_sources
from hover.robots import DEFAULT_ROBOT, RobotSpec, get_robot

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
    robot: str = DEFAULT_ROBOT
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
        joints.append(
            {
                "name": j.name,
                "min": float(lo[i]),
                "max": float(hi[i]),
                "limit_min": j.range[0],
                "limit_max": j.range[1],
                "out_of_limits": out,
            }
        )
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
        lines.append(
            f"  {j['name']:<{width}}  {j['min']:>7.3f}  {j['max']:>7.3f}  "
            f"{j['limit_min']:>9.3f}  {j['limit_max']:>9.3f}{flag}"
        )
    n = s["num_joints_out_of_limits"]
    lines.append("")
    lines.append(f"{n} joint(s) out of limits" if n else "all joints within limits")
    return "\n".join(lines)


def main(argv: list[str], prog: str) -> int:
    """``hover motion info FILE_OR_DIR... [--json]``; exit 2 (bad input) when a file is unreadable."""
    cfg = tyro.cli(InfoConfig, args=argv, prog=prog, description=InfoConfig.__doc__)
    robot = get_robot(cfg.robot)
    try:
        clips = load_sources(cfg.sources, robot)
    except MotionFormatError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    s = summarize(clips, robot)
    print(jsonlib.dumps(s, indent=2) if cfg.json else format_summary(s))
    return 0
