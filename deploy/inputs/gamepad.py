"""Gamepad logic shared by the pygame joystick and the Unitree wireless remote: one mapping for both.

A device is read into a :class:`PadState` named like the Unitree remote (``deploy.unitree.remote``):
sticks ``lx``, ``ly``, ``rx``, ``ry`` in [-1, 1] with x right and y up (pushed forward = +1), and
the held button names (``A``, ``B``, ``X``, ``Y``, ``start``, ``select``, ``L1``, ``R1``, ``up``,
``down``, ...). :class:`GamepadCommander` turns a stream of pad states into operator events and a
locomotion command with :func:`hover.commands.command_from_joystick`:

- left stick: forward velocity ``vx = ly * max_lin_vel_x`` (backwards limited to ``max_lin_vel_x_back``),
  sideways ``vy = -lx * max_lin_vel_y`` (stick right = walk right = -y), in the heading frame (m/s);
- right stick x: yaw rate ``-rx * max_yaw_rate`` (stick right = turn right, rad/s), integrated into a
  target heading with :func:`integrate_heading`; the command's ``yaw_delta`` is
  :func:`yaw_delta_to_target` (target - measured yaw), and the target is kept within
  ``max_yaw_error`` of the measured yaw so it cannot wind up while the robot lags;
- d-pad up/down (``height_up``/``height_down``): pelvis height +/- ``height_rate`` m/s while held,
  within [``min_height``, ``max_height``];
- buttons -> :class:`Event` on the press (rising edge), see :class:`GamepadMapping`.

Sticks pass a dead zone (``|x| < dead_zone`` -> 0, the rest rescaled to reach 1 at full tilt).
A pad state with a non-finite value is rejected: the command and its stamp stay as they were.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from hover.commands.builders import command_from_joystick, integrate_heading, yaw_delta_to_target
from hover.commands.layout import CommandLayout
from hover.deploy.inputs.base import CommandSample, Event, RobotView
from hover.deploy.inputs.common import default_height, row, to_sample
from hover.robots import RobotSpec
from hover.rotations import wrap_to_pi, yaw_from_quat


@dataclass(frozen=True)
class PadState:
    """One reading of a gamepad: sticks in [-1, 1] (x right, y forward/up) and held button names."""

    lx: float = 0.0
    ly: float = 0.0
    rx: float = 0.0
    ry: float = 0.0
    buttons: frozenset[str] = frozenset()


@dataclass
class GamepadMapping:
    """Which button (Unitree remote names; the joystick maps its buttons to these) triggers what.

    Each action lists buttons, any one of which triggers it. Defaults follow the Unitree examples:
    ``start`` soft-starts, ``A`` starts the policy, ``select`` or ``B`` stops (damping), ``X`` cycles
    the command mode, ``Y`` switches the command source, d-pad up/down raises/lowers the pelvis.
    """

    start: tuple[str, ...] = ("start",)
    policy: tuple[str, ...] = ("A",)
    stop: tuple[str, ...] = ("select", "B")
    next_mode: tuple[str, ...] = ("X",)
    next_source: tuple[str, ...] = ("Y",)
    height_up: tuple[str, ...] = ("up",)
    height_down: tuple[str, ...] = ("down",)

    def events_of(self, pressed: frozenset[str]) -> list[Event]:
        """Events of newly pressed buttons, in START, POLICY, STOP, NEXT_MODE, NEXT_SOURCE order."""
        table = (
            (self.start, Event.START),
            (self.policy, Event.POLICY),
            (self.stop, Event.STOP),
            (self.next_mode, Event.NEXT_MODE),
            (self.next_source, Event.NEXT_SOURCE),
        )
        return [ev for names, ev in table if pressed.intersection(names)]


@dataclass
class GamepadConfig:
    """Locomotion limits and the button mapping of a gamepad-like source."""

    max_lin_vel_x: float = 1.0
    """forward speed at full stick (m/s)"""
    max_lin_vel_x_back: float = 0.5
    """backward speed at full stick (m/s)"""
    max_lin_vel_y: float = 0.5
    """sideways speed at full stick (m/s)"""
    max_yaw_rate: float = 1.0
    """turn rate at full stick (rad/s)"""
    max_yaw_error: float = 0.5
    """the target heading stays within this of the measured yaw (rad)"""
    dead_zone: float = 0.1
    """stick dead zone (fraction of full tilt)"""
    height: float | None = None
    """initial pelvis height command (m); None = the robot's standing root height"""
    min_height: float = 0.75
    max_height: float = 1.05
    height_rate: float = 0.1
    """pelvis height change while the d-pad is held (m/s)"""
    max_dt: float = 0.1
    """longest integration step (s), so a pause does not make a jump in heading or height"""
    mapping: GamepadMapping = field(default_factory=GamepadMapping)


def dead_zone(x: float, zone: float) -> float:
    """Stick value after the dead zone: 0 inside, rescaled to [-1, 1] outside."""
    mag = abs(x)
    if mag <= zone:
        return 0.0
    return math.copysign(min((mag - zone) / (1.0 - zone), 1.0), x)


class GamepadCommander:
    """Pad states -> events and locomotion commands (one robot; call from one thread)."""

    def __init__(self, robot: RobotSpec, layout: CommandLayout, config: GamepadConfig | None = None) -> None:
        self.robot, self.layout = robot, layout
        self.config = config or GamepadConfig()
        self._held: frozenset[str] = frozenset()
        self._pending: list[Event] = []
        self._pad: PadState | None = None
        self._stamp: float | None = None
        self.reset()

    def reset(self) -> None:
        """Re-take the target heading from the robot and restart the height command at its default.

        Held buttons are kept (a button still held from before is no new press).
        """
        self._last_now: float | None = None
        self._heading = HeadingTarget(self.config.max_yaw_error)
        self._height = default_height(self.robot, self.config.height)

    def update(self, pad: PadState, now: float) -> bool:
        """Take a new reading received at ``now`` (s); False (and ignored) if it holds a non-finite value."""
        if not all(math.isfinite(v) for v in (pad.lx, pad.ly, pad.rx, pad.ry)):
            return False
        pressed = pad.buttons - self._held
        self._held = pad.buttons
        self._pending += self.config.mapping.events_of(pressed)
        self._pad, self._stamp = pad, now
        return True

    def events(self) -> list[Event]:
        out, self._pending = self._pending, []
        return out

    def command(self, view: RobotView, now: float) -> CommandSample | None:
        """Integrate heading/height to ``now`` and build the locomotion command (None before a reading)."""
        if self._pad is None or self._stamp is None:
            return None
        c, pad = self.config, self._pad
        dt = 0.0 if self._last_now is None else min(max(now - self._last_now, 0.0), c.max_dt)
        self._last_now = now
        quat = row(view.root_quat)
        vx = dead_zone(pad.ly, c.dead_zone)
        vx *= c.max_lin_vel_x if vx >= 0 else c.max_lin_vel_x_back
        vy = -dead_zone(pad.lx, c.dead_zone) * c.max_lin_vel_y
        yaw_rate = -dead_zone(pad.rx, c.dead_zone) * c.max_yaw_rate
        held = pad.buttons
        dh = float(bool(held.intersection(c.mapping.height_up))) - float(
            bool(held.intersection(c.mapping.height_down))
        )
        self._height = min(max(self._height + dh * c.height_rate * dt, c.min_height), c.max_height)

        yaw_delta = self._heading.step(quat, yaw_rate, dt)
        return locomotion_sample(vx, vy, self._height, yaw_delta, self.layout, self._stamp)


class HeadingTarget:
    """A target heading driven by a yaw rate, kept within ``max_error`` of the measured yaw (rad, IMU frame)."""

    def __init__(self, max_error: float) -> None:
        self.max_error = max_error
        self.target: float | None = None  # None: take the robot's yaw at the next step

    def reset(self) -> None:
        self.target = None

    def step(self, root_quat: Tensor, yaw_rate: float, dt: float) -> Tensor:
        """Integrate ``yaw_rate`` (rad/s) over ``dt`` (s); return the [1] yaw_delta command (rad)."""
        robot_yaw = float(yaw_from_quat(root_quat)[0])
        start = robot_yaw if self.target is None else self.target
        target = integrate_heading(
            torch.tensor([start], dtype=torch.float64), torch.tensor([yaw_rate], dtype=torch.float64), dt
        )
        err = float(wrap_to_pi(target - robot_yaw)[0])
        if abs(err) > self.max_error:  # keep the target near the robot (no wind-up)
            target = wrap_to_pi(
                torch.tensor([robot_yaw + math.copysign(self.max_error, err)], dtype=torch.float64)
            )
        self.target = float(target[0])
        return yaw_delta_to_target(target, root_quat.to(torch.float64))


def locomotion_sample(
    vx: float, vy: float, height: float, yaw_delta: Tensor, layout: CommandLayout, stamp: float
) -> CommandSample:
    """Locomotion CommandSample from velocities (m/s, heading frame), height (m), yaw_delta [1] (rad)."""
    command, mask = command_from_joystick(
        torch.tensor([[vx, vy]], dtype=torch.float64),
        torch.tensor([height], dtype=torch.float64),
        yaw_delta.to(torch.float64),
        layout=layout,
    )
    return to_sample(command, mask, "locomotion", stamp)
