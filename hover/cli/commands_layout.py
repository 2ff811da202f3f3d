"""``hover commands layout``: the command and mask layout table of a robot and its named modes (:mod:`hover.commands`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import tyro

from hover.commands.layout import command_layout, format_layout_table
from hover.commands.modes import MODE_NAMES, mode_elements
from hover.robots import DEFAULT_ROBOT


@dataclass
class LayoutCommandConfig:
    """Print the command and mask layout table of a robot (and the named modes)."""

    robot: str = DEFAULT_ROBOT
    """registered robot name"""
    json: bool = False
    """print JSON (elements and modes) instead of the table"""


def main(argv: list[str], prog: str) -> int:
    cfg = tyro.cli(
        LayoutCommandConfig, args=argv, prog=prog, description="Print the command and mask layout."
    )
    layout = command_layout(cfg.robot)
    modes = {m: list(mode_elements(m, layout)) for m in MODE_NAMES}
    if cfg.json:
        out = {
            "robot": layout.robot_name,
            "command_dim": layout.command_dim,
            "mask_dim": layout.mask_dim,
            "elements": [asdict(e) for e in layout.elements],
            "modes": modes,
        }
        print(json.dumps(out, indent=2))
        return 0
    print(format_layout_table(layout))
    print("\nnamed modes (mask elements on):")
    for m, names in modes.items():
        print(f"  {m:<11} {len(names):>2}: {', '.join(n.split(':', 1)[1] for n in names)}")
    return 0
