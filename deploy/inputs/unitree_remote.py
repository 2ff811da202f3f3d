"""The Unitree wireless remote (40 bytes in ``LowState_.wireless_remote``), same mapping as the joystick.

The bytes arrive with every robot state (``RobotView.wireless_remote``) and are decoded with
:func:`deploy.unitree.remote.parse_remote` into a :class:`PadState` (sticks and button names are the
remote's own), then :class:`GamepadCommander` makes events and the locomotion command exactly as for a
pygame pad. ``stamp`` is the tick at which bytes were present; a view without bytes (None) or with
bytes of the wrong length is no new sample (the old stamp stays, so the input goes stale).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hover.commands.layout import CommandLayout
from hover.deploy.inputs.base import CommandSample, Event, RobotView
from hover.deploy.inputs.common import resolve_robot
from hover.deploy.inputs.gamepad import GamepadCommander, GamepadConfig, PadState
from hover.deploy.unitree.remote import RemoteState, parse_remote
from hover.robots import RobotSpec


def pad_from_remote(state: RemoteState) -> PadState:
    """Decoded remote -> pad state (the remote already uses x right, y forward, names as PadState)."""
    return PadState(lx=state.lx, ly=state.ly, rx=state.rx, ry=state.ry, buttons=frozenset(state.buttons))


@dataclass
class RemoteConfig:
    gamepad: GamepadConfig = field(default_factory=GamepadConfig)


class UnitreeRemoteInput:
    """Locomotion commands and operator events from the Unitree remote bytes in the robot state."""

    name = "remote"

    def __init__(
        self,
        robot: RobotSpec | str | None = None,
        layout: CommandLayout | None = None,
        config: RemoteConfig | None = None,
    ) -> None:
        self.robot, self.layout = resolve_robot(robot, layout)
        self.config = config or RemoteConfig()
        self.commander = GamepadCommander(self.robot, self.layout, self.config.gamepad)
        self._polled_at: float | None = None
        self.bad_samples = 0  # remote byte blocks rejected (wrong length or non-finite)

    def _poll(self, view: RobotView, now: float) -> None:
        if self._polled_at == now or view.wireless_remote is None:
            return
        self._polled_at = now
        try:
            pad = pad_from_remote(parse_remote(view.wireless_remote))
        except ValueError:
            self.bad_samples += 1
            return
        if not self.commander.update(pad, now):
            self.bad_samples += 1

    def events(self, view: RobotView, now: float) -> list[Event]:
        self._poll(view, now)
        return self.commander.events()

    def command(self, view: RobotView, now: float) -> CommandSample | None:
        self._poll(view, now)
        return self.commander.command(view, now)

    def reset(self) -> None:
        self.commander.reset()

    def close(self) -> None:
        """Nothing to release: this source holds no device, thread or socket."""
