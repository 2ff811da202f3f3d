"""Operator input sources of the onboard runner (joystick, Unitree remote, VR, playback, keyboard, idle).

One interface (:mod:`.base`: :class:`RobotView` in, :class:`CommandSample` and :class:`Event` out),
one small class per source, commands built only with :mod:`hover.commands` builders, run-time
switching with :class:`SwitchingInput`, and :func:`make_input` for spec strings (:mod:`.factory`).
Optional packages (``pip install 'hover[deploy]'``): pygame (joystick), avp-stream (VR); the
modules that need them import them only when a source is created.
"""

from hover.deploy.inputs.base import (
    CommandSample,
    Event,
    InputSource,
    OptionalDependencyError,
    RobotView,
)
from hover.deploy.inputs.factory import make_input
from hover.deploy.inputs.gamepad import GamepadCommander, GamepadConfig, GamepadMapping, PadState
from hover.deploy.inputs.idle import IdleConfig, IdleInput
from hover.deploy.inputs.switching import SwitchingInput

__all__ = [
    "CommandSample", "Event", "GamepadCommander", "GamepadConfig", "GamepadMapping", "IdleConfig", "IdleInput",
    "InputSource", "OptionalDependencyError", "PadState", "RobotView", "SwitchingInput", "make_input",
]  # fmt: skip
