"""The idle source: stand still. Locomotion mode, zero velocity, the default height, current heading.

Used by tests and as the runner's fallback command; it never produces events and is always fresh
(``stamp = now``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hover.commands.builders import command_from_joystick
from hover.commands.layout import CommandLayout
from hover.deploy.inputs.base import CommandSample, Event, RobotView
from hover.deploy.inputs.common import default_height, resolve_robot, to_sample
from hover.robots import RobotSpec


@dataclass
class IdleConfig:
    height: float | None = None
    """pelvis height command (m); None = the robot's standing root height (``root_init_height``)"""


class IdleInput:
    """Zero-velocity locomotion command holding the current heading (yaw_delta = 0)."""

    name = "idle"

    def __init__(
        self,
        robot: RobotSpec | str | None = None,
        layout: CommandLayout | None = None,
        config: IdleConfig | None = None,
    ) -> None:
        self.robot, self.layout = resolve_robot(robot, layout)
        self.config = config or IdleConfig()
        height = torch.tensor([default_height(self.robot, self.config.height)], dtype=torch.float64)
        self._command, self._mask = command_from_joystick(
            torch.zeros(1, 2, dtype=torch.float64),
            height,
            torch.zeros(1, dtype=torch.float64),
            layout=self.layout,
        )

    def events(self, view: RobotView, now: float) -> list[Event]:
        return []

    def command(self, view: RobotView, now: float) -> CommandSample:
        return to_sample(self._command, self._mask, "locomotion", now)

    def close(self) -> None:
        """Nothing to release: this source holds no device, thread or socket."""
