"""``hover run``: the onboard runner on a Unitree H1 (or ``hover sim-robot``) over DDS.

Typical use::

    hover sim-robot --domain 1 --net lo &             # simulated H1, held in an elastic band
    hover run --policy student.onnx --input keyboard --domain 1 --net lo
    hover run --policy student.onnx --input joystick --net eth0 --domain 0   # the real robot

States: PASSIVE (zero torque) -START-> SOFT_START (to the default pose) -> HOLD -POLICY-> POLICY;
STOP -> DAMPING. Every transition, warning and what the runner waits for is printed with the wall-clock
time. Every exit (the duration, Ctrl-C, SIGTERM, SIGHUP, an error, the input device or the robot state
lost) publishes damping for --runner.damping-s, prints (and with --report writes) the report, and exits
0 for a normal stop (duration, Ctrl-C) after valid robot state, 1 otherwise, 2 for bad input.
``--runner.auto-start`` does START and POLICY by itself and is meant for simulation only.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from pathlib import Path

from hover.deploy.onboard_runner import RunnerConfig
from hover.robots import DEFAULT_ROBOT


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
    robot: str = DEFAULT_ROBOT
    """robot name (the model's metadata must match it)"""
    duration_s: float = 0.0
    """stop after this many seconds (0 = until Ctrl-C); the robot is left in damping"""
    json: bool = False
    """print the final report (latencies, transitions, safety events, state counts) as one JSON object"""
    report: str | None = None
    """also write that report to this JSON file (atomically), on every exit path"""
    accept_zero_crc: bool = False
    """accept robot states whose crc field is 0 (peers that do not fill the CRC, e.g. some simulators);
    a real robot always fills it, so this stays off there"""
    allow_gains: bool = False
    """run a model whose kp/kd metadata are far (beyond x0.5..x2) from the robot description's gains"""
    runner: RunnerConfig = field(default_factory=RunnerConfig)


def build(cfg: RunConfig):  # noqa: ANN201 - a Runner
    """Check ``cfg`` and build robot I/O, policy and input; ValueError/FileNotFoundError for bad input."""
    from hover.deploy.onboard_runner import Runner, load_student_policy
    from hover.deploy.robot_io import DdsRobot
    from hover.deploy.unitree.dds import check_interface
    from hover.robots import get_robot

    if cfg.duration_s < 0:
        raise ValueError(f"--duration-s must be >= 0, got {cfg.duration_s}")
    if cfg.report is not None and not Path(cfg.report).parent.is_dir():
        raise FileNotFoundError(f"--report {cfg.report}: folder {Path(cfg.report).parent} does not exist")
    check_interface(cfg.net, "--net")
    robot = get_robot(cfg.robot)
    policy = None
    if cfg.policy.lower() != "none":
        policy = load_student_policy(cfg.policy, robot, allow_gains=cfg.allow_gains)
    source = None
    if cfg.input.lower() != "none":
        from hover.commands import command_layout
        from hover.deploy.inputs import make_input

        source = make_input(cfg.input, robot, command_layout(robot))
    try:
        io = DdsRobot(robot, cfg.domain, cfg.net, accept_zero_crc=cfg.accept_zero_crc)
        return Runner(robot, io, policy, source, cfg.runner)
    except BaseException:
        if source is not None:
            source.close()
        raise


def main(argv: list[str], prog: str) -> int:
    import tyro

    from hover.deploy.inputs.buttons import button_map_text
    from hover.deploy.operator import exit_code

    description = f"{__doc__}\nButton map (the same on every input that has buttons):\n{button_map_text()}"
    cfg = tyro.cli(RunConfig, args=argv, prog=prog, description=description)
    pending: list[str] = []  # a signal before the runner exists
    runner = None

    def on_signal(signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        if runner is None:
            pending.append(name)
        else:
            runner.console.warn(f"{name} received: stopping (damping for {cfg.runner.damping_s:g} s)")
            runner.request_stop(name, "signal")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    try:
        runner = build(cfg)  # bad input raises; hover.cli prints one line and returns 2
        if pending:
            runner.request_stop(pending[0], "signal during start-up")
        runner.console.say(
            f"hover run: policy {cfg.policy}, input {cfg.input}, {runner.io.describe()}, "
            f"{1 / runner.period:.0f} Hz policy, {cfg.runner.publish_hz:.0f} Hz publisher"
        )
        report = runner.run(cfg.duration_s)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if cfg.report:
        from hover.io import atomic_write_json

        atomic_write_json(Path(cfg.report), report)
    if cfg.json:
        print(json.dumps(report), flush=True)
    return exit_code(report)
