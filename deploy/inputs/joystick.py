"""A USB/Bluetooth gamepad through pygame (SDL's joystick API), with the shared gamepad mapping.

The device's axes, buttons and d-pad hat are read each tick into a :class:`PadState` with the
Unitree remote's names (:class:`JoystickMapping` says which raw index is which; defaults: the Linux
``xpad`` layout of Xbox-style pads), then :class:`GamepadCommander` makes the events and the
locomotion command (limits, dead zone, heading integration: :mod:`deploy.inputs.gamepad`).

Headless use (the robot's computer): pygame needs its video subsystem to pump events; with no
``DISPLAY``/``WAYLAND_DISPLAY`` the SDL ``dummy`` video driver is chosen, and
``SDL_JOYSTICK_ALLOW_BACKGROUND_EVENTS=1`` is set so the pad is read without a focused window
(both only if not already set). Hot-plug: until a pad is connected ``command`` returns None and
``problems()`` says so ("no joystick found ..."); when it is unplugged the last command is kept with its
old stamp and ``lost`` says "joystick disconnected" (the runner then stops: damping, report, exit 1).
Call ``events``/``command`` from one thread (SDL event pumping is not thread-safe).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hover.commands.layout import CommandLayout
from hover.deploy.inputs.base import CommandSample, Event, RobotView, require
from hover.deploy.inputs.common import resolve_robot
from hover.deploy.inputs.gamepad import GamepadCommander, GamepadConfig, PadState
from hover.robots import RobotSpec


def _xpad_buttons() -> dict[str, int]:
    return {"A": 0, "B": 1, "X": 2, "Y": 3, "L1": 4, "R1": 5, "select": 6, "start": 7}


@dataclass
class JoystickMapping:
    """Raw pygame indices of one pad model -> the Unitree remote names used by :class:`GamepadMapping`.

    pygame axes are in [-1, 1] with y *down* positive, hence ``invert_ly``/``invert_ry``.
    The d-pad is either a hat (``hat`` index; up/down/left/right) or buttons in ``buttons``.
    """

    axis_lx: int = 0
    axis_ly: int = 1
    axis_rx: int = 3
    axis_ry: int = 4
    invert_ly: bool = True
    invert_ry: bool = True
    buttons: dict[str, int] = field(default_factory=_xpad_buttons)
    """remote button name -> pygame button index"""
    hat: int = 0
    """pygame hat index of the d-pad (-1: none)"""


@dataclass
class JoystickConfig:
    device_index: int = 0
    """which pygame joystick (0 = the first one found)"""
    mapping: JoystickMapping = field(default_factory=JoystickMapping)
    gamepad: GamepadConfig = field(default_factory=GamepadConfig)


class JoystickInput:
    """Gamepad via pygame: locomotion commands and operator events (see the module docstring)."""

    name = "joystick"

    def __init__(
        self,
        robot: RobotSpec | str | None = None,
        layout: CommandLayout | None = None,
        config: JoystickConfig | None = None,
    ) -> None:
        self.robot, self.layout = resolve_robot(robot, layout)
        self.config = config or JoystickConfig()
        os.environ.setdefault("SDL_JOYSTICK_ALLOW_BACKGROUND_EVENTS", "1")
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        self._pg = require("pygame", "pygame", "the joystick input")
        self._pg.display.init()
        self._pg.joystick.init()
        self.commander = GamepadCommander(self.robot, self.layout, self.config.gamepad)
        self._joy = None
        self._polled_at: float | None = None
        self._was_connected = False
        self.lost: str | None = None  # set when a connected pad is unplugged (the runner stops safely)
        self._open()

    @property
    def connected(self) -> bool:
        return self._joy is not None

    def _open(self) -> None:
        pg = self._pg
        if self._joy is None and pg.joystick.get_count() > self.config.device_index:
            self._joy = pg.joystick.Joystick(self.config.device_index)
            self._was_connected = True

    def problems(self) -> list[str]:
        """What the operator must know now (no pad found yet)."""
        if self._joy is None and not self._was_connected:
            return [
                f"no joystick found (pygame sees {self._pg.joystick.get_count()} pads, device index "
                f"{self.config.device_index}): plug one in, or use --input keyboard or remote"
            ]
        return []

    def _poll(self, now: float) -> None:
        """Pump SDL once per tick, follow hot-plug, and feed the reading to the commander."""
        if self._polled_at == now:
            return
        self._polled_at = now
        pg = self._pg
        for ev in pg.event.get():
            if (
                ev.type == pg.JOYDEVICEREMOVED
                and self._joy is not None
                and ev.instance_id == self._joy.get_instance_id()
            ):
                self._joy = None
                self.lost = "joystick disconnected"
            elif ev.type == pg.JOYDEVICEADDED:
                self._open()
        if self._joy is not None:
            self.commander.update(self.read(), now)

    def read(self) -> PadState:
        """The pad's current state as a :class:`PadState` (after the last event pump)."""
        j, m = self._joy, self.config.mapping
        if j is None:
            raise RuntimeError("joystick input: no pad connected")
        ly, ry = j.get_axis(m.axis_ly), j.get_axis(m.axis_ry)
        pressed = {name for name, idx in m.buttons.items() if idx < j.get_numbuttons() and j.get_button(idx)}
        if 0 <= m.hat < j.get_numhats():
            hx, hy = j.get_hat(m.hat)
            pressed |= {
                n for n, on in (("up", hy > 0), ("down", hy < 0), ("right", hx > 0), ("left", hx < 0)) if on
            }
        return PadState(
            lx=float(j.get_axis(m.axis_lx)),
            ly=float(-ly if m.invert_ly else ly),
            rx=float(j.get_axis(m.axis_rx)),
            ry=float(-ry if m.invert_ry else ry),
            buttons=frozenset(pressed),
        )

    def events(self, view: RobotView, now: float) -> list[Event]:
        self._poll(now)
        return self.commander.events()

    def command(self, view: RobotView, now: float) -> CommandSample | None:
        self._poll(now)
        return self.commander.command(view, now)

    def reset(self) -> None:
        """Re-take the heading from the robot and the default height (called when made active)."""
        self.commander.reset()

    def close(self) -> None:
        self._joy = None
        self._pg.joystick.quit()
