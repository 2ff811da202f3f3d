"""``hover run``: the onboard runner on a Unitree H1 (or ``hover sim-robot``) over DDS.

Typical use::

    hover sim-robot --band-s 4 &                         # simulated H1 on domain 1, interface lo
    hover run --policy student.onnx --input remote --net lo --domain 1
    hover run --policy student.onnx --input joystick --net eth0 --domain 0   # the real robot

Operator events come from the input source (remote/joystick buttons, keys): START = soft start to
the default pose, POLICY = hand over to the policy, STOP = damping (held). ``--runner.auto-start`` does
START and POLICY by itself (`--runner.auto-start`) and is meant for simulation only.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field

from hover.deploy.runner import RunnerConfig


@dataclass
class RunConfig:
    """Run an exported student policy on the robot: 50 Hz policy loop, command publisher, safety."""

    policy: str = "none"
    """exported student ONNX file (hover export), or none (state machine only: passive, soft start, hold)"""
    input: str = "idle"
    """input source: idle, remote, joystick, keyboard, vr:IP, playback:FILE[:CLIP]; a+b switches at run time"""
    net: str | None = "lo"
    """network interface of the robot link (eth0 on the robot's network; lo for hover sim-robot)"""
    domain: int = 1
    """DDS domain id (0 = the real robot, 1 = hover sim-robot's default)"""
    robot: str = "h1"
    """robot name (the model's metadata must match it)"""
    duration_s: float = 0.0
    """stop after this many seconds (0 = until Ctrl-C); the robot is left in damping"""
    json: bool = False
    """print the final report (latencies, transitions, safety events) as one JSON object"""
    runner: RunnerConfig = field(default_factory=RunnerConfig)


def run(cfg: RunConfig) -> dict:
    """Build robot I/O, policy and input from ``cfg`` and run; returns the runner's report."""
    from hover.deploy.robot_io import DdsRobot
    from hover.deploy.runner import Runner, load_student_policy
    from hover.robots import get_robot

    robot = get_robot(cfg.robot)
    policy = None if cfg.policy.lower() == "none" else load_student_policy(cfg.policy, robot)
    source = None
    if cfg.input.lower() != "none":
        from hover.commands import command_layout
        from hover.deploy.inputs import make_input

        source = make_input(cfg.input, robot, command_layout(robot))
    io = DdsRobot(robot, cfg.domain, cfg.net)
    runner = Runner(robot, io, policy, source, cfg.runner)
    logging.getLogger("hover.deploy").info(
        "runner: %s, input %s, %s domain %d, %.0f Hz policy, %.0f Hz publisher",
        cfg.policy, cfg.input, cfg.net, cfg.domain, 1 / runner.period, cfg.runner.publish_hz,
    )
    return runner.run(cfg.duration_s)


def main(argv: list[str], prog: str) -> int:
    import tyro

    cfg = tyro.cli(RunConfig, args=argv, prog=prog, description=__doc__)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        report = run(cfg)
    except (FileNotFoundError, ValueError, ImportError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    if cfg.json:
        print(json.dumps(report))
    return 0
