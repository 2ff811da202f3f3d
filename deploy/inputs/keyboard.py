"""Terminal keyboard: operator events and velocity increments, read without blocking.

:class:`KeyReader` reads whatever keys are waiting on a file descriptor (default: stdin, switched to
cbreak mode while open when it is a terminal; any readable fd or file object works, e.g. a pipe in
tests). :class:`KeyboardInput` maps keys (:class:`KeyboardMapping`, defaults below) to events and to a
locomotion command with :func:`hover.commands.command_from_joystick`:

====================  ===================================================
key                   effect
====================  ===================================================
``o``                 Event.START (soft start to the default pose)
``p``                 Event.POLICY
space                 Event.STOP (damping)
``m``                 Event.NEXT_MODE
``n``                 Event.NEXT_SOURCE (run-time source switch)
``w`` / ``s``         forward velocity +/- ``lin_vel_step`` (m/s)
``a`` / ``d``         sideways velocity left/right by ``lin_vel_step``
``q`` / ``e``         yaw rate left/right by ``yaw_rate_step`` (rad/s), integrated into a target heading
``r`` / ``f``         pelvis height +/- ``height_step`` (m)
``x``                 zero velocity and yaw rate
====================  ===================================================

Velocities are clipped to the :class:`GamepadConfig`-style limits of :class:`KeyboardConfig`. The
stamp is the time of the last poll while the stream is open; after end-of-file it stays and ``lost`` is set
(the runner then stops: damping, report, exit 1).
"""

from __future__ import annotations

import os
import select
import sys
from dataclasses import dataclass, field
from typing import IO

from hover.commands.layout import CommandLayout
from hover.deploy.inputs.base import CommandSample, Event, RobotView
from hover.deploy.inputs.common import default_height, resolve_robot, row
from hover.deploy.inputs.gamepad import HeadingTarget, locomotion_sample
from hover.robots import RobotSpec


class KeyReader:
    """Non-blocking key reader on a file descriptor (cbreak mode on a terminal; restored by ``close``)."""

    def __init__(self, stream: IO | int | None = None) -> None:
        stream = sys.stdin if stream is None else stream
        try:
            self.fd = stream if isinstance(stream, int) else stream.fileno()
        except (AttributeError, OSError, ValueError) as exc:
            raise ValueError(f"keyboard input: {stream!r} has no file descriptor to read keys from") from exc
        self.eof = False
        self._saved = None
        if os.isatty(self.fd):
            import termios
            import tty

            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)

    def read(self) -> str:
        """All characters waiting now ('' if none); never blocks."""
        chunks: list[bytes] = []
        while not self.eof and select.select([self.fd], [], [], 0)[0]:
            data = os.read(self.fd, 1024)
            if not data:
                self.eof = True
                break
            chunks.append(data)
        return b"".join(chunks).decode("utf-8", errors="replace")

    def close(self) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None


@dataclass
class KeyboardMapping:
    start: str = "o"
    policy: str = "p"
    stop: str = " "
    next_mode: str = "m"
    next_source: str = "n"
    forward: str = "w"
    backward: str = "s"
    left: str = "a"
    right: str = "d"
    turn_left: str = "q"
    turn_right: str = "e"
    height_up: str = "r"
    height_down: str = "f"
    zero: str = "x"


@dataclass
class KeyboardConfig:
    lin_vel_step: float = 0.1
    """m/s per key press"""
    yaw_rate_step: float = 0.1
    """rad/s per key press"""
    height_step: float = 0.02
    """m per key press"""
    max_lin_vel_x: float = 1.0
    max_lin_vel_x_back: float = 0.5
    max_lin_vel_y: float = 0.5
    max_yaw_rate: float = 1.0
    max_yaw_error: float = 0.5
    """the target heading stays within this of the measured yaw (rad)"""
    height: float | None = None
    """initial pelvis height (m); None = the robot's standing root height"""
    min_height: float = 0.75
    max_height: float = 1.05
    max_dt: float = 0.1
    mapping: KeyboardMapping = field(default_factory=KeyboardMapping)


def _clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


class KeyboardInput:
    """Keys -> events and a locomotion command (see the module docstring for the keys)."""

    name = "keyboard"

    def __init__(
        self,
        robot: RobotSpec | str | None = None,
        layout: CommandLayout | None = None,
        config: KeyboardConfig | None = None,
        stream: IO | int | None = None,
    ) -> None:
        self.robot, self.layout = resolve_robot(robot, layout)
        self.config = config or KeyboardConfig()
        self.reader = KeyReader(stream)
        self.vx = self.vy = self.yaw_rate = 0.0
        self.height = default_height(self.robot, self.config.height)
        self._heading = HeadingTarget(self.config.max_yaw_error)
        self._pending: list[Event] = []
        self._polled_at: float | None = None
        self._stamp: float | None = None
        self._last_now: float | None = None

    def _poll(self, now: float) -> None:
        if self._polled_at == now:
            return
        self._polled_at = now
        keys = self.reader.read()
        for key in keys:
            self.press(key)
        if keys or not self.reader.eof:  # the stream was alive at this poll
            self._stamp = now

    def press(self, key: str) -> None:
        """Apply one key (also usable directly, e.g. from a GUI)."""
        c, k = self.config, self.config.mapping
        events = {
            k.start: Event.START,
            k.policy: Event.POLICY,
            k.stop: Event.STOP,
            k.next_mode: Event.NEXT_MODE,
            k.next_source: Event.NEXT_SOURCE,
        }
        if key in events:
            self._pending.append(events[key])
        elif key in (k.forward, k.backward):
            self.vx = _clip(
                self.vx + (c.lin_vel_step if key == k.forward else -c.lin_vel_step),
                -c.max_lin_vel_x_back,
                c.max_lin_vel_x,
            )
        elif key in (k.left, k.right):
            self.vy = _clip(
                self.vy + (c.lin_vel_step if key == k.left else -c.lin_vel_step),
                -c.max_lin_vel_y,
                c.max_lin_vel_y,
            )
        elif key in (k.turn_left, k.turn_right):
            self.yaw_rate = _clip(
                self.yaw_rate + (c.yaw_rate_step if key == k.turn_left else -c.yaw_rate_step),
                -c.max_yaw_rate,
                c.max_yaw_rate,
            )
        elif key in (k.height_up, k.height_down):
            self.height = _clip(
                self.height + (c.height_step if key == k.height_up else -c.height_step),
                c.min_height,
                c.max_height,
            )
        elif key == k.zero:
            self.vx = self.vy = self.yaw_rate = 0.0

    def events(self, view: RobotView, now: float) -> list[Event]:
        self._poll(now)
        out, self._pending = self._pending, []
        return out

    @property
    def lost(self) -> str | None:
        """Set once the key stream has ended (end of file: the terminal or pipe is gone)."""
        return "keyboard input ended (end of file on its stream)" if self.reader.eof else None

    def command(self, view: RobotView, now: float) -> CommandSample | None:
        self._poll(now)
        if self._stamp is None:
            return None
        dt = 0.0 if self._last_now is None else _clip(now - self._last_now, 0.0, self.config.max_dt)
        self._last_now = now
        yaw_delta = self._heading.step(row(view.root_quat), self.yaw_rate, dt)
        return locomotion_sample(self.vx, self.vy, self.height, yaw_delta, self.layout, self._stamp)

    def reset(self) -> None:
        """Stop (zero velocities) and re-take the heading from the robot (called when made active)."""
        self.vx = self.vy = self.yaw_rate = 0.0
        self._heading.reset()
        self._last_now = None

    def close(self) -> None:
        self.reader.close()
