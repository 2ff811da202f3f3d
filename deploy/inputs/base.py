"""The input-source interface of the onboard runner: what a source sees, what it returns, its events.

A source turns an operator device (gamepad, Unitree remote, Vision Pro, keyboard) or a motion file
into the student's masked command, built only with the :mod:`hover.commands` builders. Per policy tick
the runner calls ``events(view, now)`` and then ``command(view, now)`` from one thread; ``now`` is
``time.monotonic()`` (s). Frames: joint angles in ``robot.joint_names`` order (rad); ``root_quat`` is
the pelvis orientation (w, x, y, z) in the IMU's yaw-drifting world frame; ``base_ang_vel`` in the
pelvis frame (rad/s). Commands are in the :mod:`hover.commands.layout` order, already masked.

Staleness: ``CommandSample.stamp`` is the ``time.monotonic()`` at which the underlying input sample
was *received* (not when the command was computed). A source that loses its device keeps returning
its last sample with the old stamp, so the runner's staleness check (e.g. 0.2 s) sees the loss.

Sources are switchable at run time with :class:`deploy.inputs.switching.SwitchingInput` (spec
``"a+b"`` in :func:`make_input`): every source's events are merged, ``Event.NEXT_SOURCE`` (consumed
there, never passed on) makes the next source the command source.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class RobotView:
    """What the runner knows this tick (numpy; float32 or float64)."""

    joint_pos: np.ndarray  # [J] rad, robot.joint_names order
    joint_vel: np.ndarray  # [J] rad/s
    root_quat: np.ndarray  # [4] wxyz pelvis orientation (IMU frame, yaw drifts)
    base_ang_vel: np.ndarray  # [3] pelvis frame, rad/s
    wireless_remote: bytes | None = None  # the 40 remote bytes of LowState (None in pure sim tests)


@dataclass
class CommandSample:
    """One command for the policy: masked command, its mask, the mode, and the input's receipt time."""

    command: np.ndarray  # [command_dim] float32, already masked (masked-out columns exactly 0)
    mask: np.ndarray  # [mask_dim] float32 0/1
    mode: str  # canonical mode name (hover.commands.modes)
    stamp: float  # time.monotonic() when the underlying input sample was received (s)


class Event(StrEnum):
    """Operator events for the runner's state machine."""

    START = "start"  # passive -> soft start to the default pose
    POLICY = "policy"  # hold -> policy
    STOP = "stop"  # any -> stop (damping)
    NEXT_MODE = "next_mode"  # cycle the command source's named mode (where it supports modes)
    NEXT_SOURCE = "next_source"  # SwitchingInput: next command source (consumed there, never passed on)


@runtime_checkable
class InputSource(Protocol):
    """One operator device or command generator (see the module docstring for the call order)."""

    name: str

    def events(self, view: RobotView, now: float) -> list[Event]:
        """Operator events since the last call (rising edges of buttons/keys)."""
        ...

    def command(self, view: RobotView, now: float) -> CommandSample | None:
        """The latest command, or None until a first input sample exists."""
        ...

    def close(self) -> None: ...


class OptionalDependencyError(ImportError):
    """An input source needs a package of the ``deploy`` extra that is not installed."""


def require(module: str, package: str, what: str):
    """Import ``module`` or raise :class:`OptionalDependencyError` naming the pip package and the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise OptionalDependencyError(
            f"{what} needs the {package!r} package: pip install 'hover[deploy]' (or pip install {package})"
        ) from exc
