"""``hover motion builtin``: write the built-in motion set to a folder (:mod:`hover.motion.builtin`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tyro

from hover.motion.format import load_motion_sources
from hover.robots import DEFAULT_ROBOT, get_robot


@dataclass
class BuiltinConfig:
    """Write the built-in motion set to a folder (as builtin.npz)."""

    out: Path = Path("motions")
    """output folder, or a path ending in .npz"""
    generate: bool = False
    """regenerate the synthetic joint-space set from code instead of copying the shipped file"""
    robot: str = DEFAULT_ROBOT
    """robot the motions are for"""


def main(argv: list[str], prog: str) -> int:
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
