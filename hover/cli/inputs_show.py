"""``hover inputs show``: print what an input source commands, to check a device and its mapping.

It first prints the button map (the same as ``hover run --help``) and any problem of the source (no
joystick found). No robot is needed: the view is the robot standing still in its default pose, heading 0. Per line:
time, the events of that tick, the mode, the input age (now - stamp, s) and the command's active
columns (locomotion: vx, vy, yaw_delta, height; body commands: x, y, z per active body).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy as np

from hover.deploy.inputs import CommandSample, RobotView, make_input
from hover.robots import DEFAULT_ROBOT


@dataclass
class ShowInputConfig:
    """Print the commands and events of an input source (joystick, remote, vr:<ip>, playback, keyboard, idle)."""

    input: str = "joystick"
    """input spec, e.g. joystick, keyboard, vr:192.168.1.20, playback::0, joystick+playback"""
    seconds: float = 10.0
    """how long to run (s)"""
    rate: float = 10.0
    """lines per second"""
    robot: str = DEFAULT_ROBOT


def describe(sample: CommandSample | None, layout, now: float) -> str:
    """One-line summary of a command sample's active columns."""
    if sample is None:
        return "no input yet"
    parts = [f"{sample.mode:<10} age {now - sample.stamp:6.3f}s"]
    for e in layout.elements:
        if sample.mask[e.index] == 0:
            continue
        values = sample.command[e.columns]
        parts.append(f"{e.name.split(':', 1)[1]}=" + ",".join(f"{v:+.3f}" for v in np.atleast_1d(values)))
    return "  ".join(parts)


def main(argv: list[str], prog: str) -> int:
    import tyro

    from hover.commands.layout import command_layout
    from hover.deploy.inputs.buttons import button_map_text
    from hover.robots import get_robot

    cfg = tyro.cli(ShowInputConfig, args=argv, prog=prog, description=__doc__.splitlines()[0])
    robot = get_robot(cfg.robot)
    layout = command_layout(robot)
    source = make_input(cfg.input, robot, layout)
    print(f"button map (hover run):\n{button_map_text()}", flush=True)
    for problem in source.problems():
        print(f"WARNING {problem}", flush=True)
    joints = np.array([j.default_pos for j in robot.joints])
    view = RobotView(joints, np.zeros_like(joints), np.array([1.0, 0.0, 0.0, 0.0]), np.zeros(3))
    start = time.monotonic()
    period = 1.0 / cfg.rate
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the display normally
        try:
            tick = 0
            while (now := time.monotonic()) - start < cfg.seconds:
                events = [e.value for e in source.events(view, now)]
                line = describe(source.command(view, now), layout, now)
                print(
                    f"{now - start:7.2f}s [{source.current.name}] {','.join(events) or '-':<12} {line}",
                    flush=True,
                )
                tick += 1
                time.sleep(max(start + tick * period - time.monotonic(), 0.0))
        finally:
            source.close()
    return 0
