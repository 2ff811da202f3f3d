"""``make_input(spec, robot, layout, **options)``: input sources from a spec string.

====================================  ===========================================================
spec                                  source
====================================  ===========================================================
``idle``                              :class:`IdleInput` (stand still; fallback, tests)
``joystick``                          :class:`JoystickInput` (pygame gamepad)
``remote``                            :class:`UnitreeRemoteInput` (bytes in the robot state)
``keyboard``                          :class:`KeyboardInput` (terminal; option ``stream``)
``vr:<ip>``                           :class:`VRInput` (avp-stream, headset at ``ip``)
``playback[:<file>[:<clip>]]``        :class:`PlaybackInput` (no file or ``builtin``: built-in set)
``a+b+...``                           all of them, switchable at run time (Event.NEXT_SOURCE)
====================================  ===========================================================

The result is always a :class:`SwitchingInput` (one source or several), so the runner only sees
START/POLICY/STOP/NEXT_MODE. ``options`` set fields of the sources' config dataclasses (top level or,
for gamepad-like sources, their ``gamepad`` config), e.g. ``mode="h2o"``, ``loop=False``,
``max_lin_vel_x=0.5``; an option that no chosen source has is an error.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hover.commands.layout import CommandLayout
from hover.deploy.inputs.base import InputSource
from hover.deploy.inputs.common import resolve_robot
from hover.deploy.inputs.switching import SwitchingInput
from hover.robots import RobotSpec

KINDS = ("idle", "joystick", "remote", "keyboard", "vr", "playback")


def _configure(config: Any, options: dict[str, Any], used: set[str]) -> Any:
    """Set the fields of ``config`` (and of a nested ``gamepad`` config) named in ``options``."""
    names = {f.name for f in dataclasses.fields(config)}
    for key, value in options.items():
        if key in names:
            setattr(config, key, value)
            used.add(key)
    if "gamepad" in names:
        _configure(config.gamepad, options, used)
    return config


def make_input(
    spec: str, robot: RobotSpec | str | None = None, layout: CommandLayout | None = None, **options: Any
) -> SwitchingInput:
    """Build an input source from a spec string (see the module docstring); an option no chosen source
    knows is an error."""
    robot, layout = resolve_robot(robot, layout)
    stream = options.pop("stream", None)
    used: set[str] = set()
    sources: list[InputSource] = []
    for part in spec.split("+"):
        kind, _, arg = part.strip().partition(":")
        kind = kind.lower()
        if kind == "idle":
            from hover.deploy.inputs.idle import IdleConfig, IdleInput

            sources.append(IdleInput(robot, layout, _configure(IdleConfig(), options, used)))
        elif kind == "joystick":
            from hover.deploy.inputs.joystick import JoystickConfig, JoystickInput

            sources.append(JoystickInput(robot, layout, _configure(JoystickConfig(), options, used)))
        elif kind == "remote":
            from hover.deploy.inputs.unitree_remote import RemoteConfig, UnitreeRemoteInput

            sources.append(UnitreeRemoteInput(robot, layout, _configure(RemoteConfig(), options, used)))
        elif kind == "keyboard":
            from hover.deploy.inputs.keyboard import KeyboardConfig, KeyboardInput

            sources.append(
                KeyboardInput(robot, layout, _configure(KeyboardConfig(), options, used), stream=stream)
            )
        elif kind == "vr":
            from hover.deploy.inputs.vr import VRConfig, VRInput

            cfg = _configure(VRConfig(), options, used)
            cfg.ip = arg or cfg.ip
            sources.append(VRInput(robot, layout, cfg))
        elif kind == "playback":
            from hover.deploy.inputs.playback import PlaybackConfig, PlaybackInput

            cfg = _configure(PlaybackConfig(), options, used)
            file, _, clip = arg.partition(":")
            if file and file != "builtin":
                cfg.file = file
            if clip:
                cfg.clip = clip
            sources.append(PlaybackInput(robot, layout, cfg))
        else:
            for s in sources:
                s.close()
            raise ValueError(
                f"unknown input source {part!r} in {spec!r}; choose from {', '.join(KINDS)} (join with +)"
            )
    unknown = set(options) - used
    if unknown:
        for s in sources:
            s.close()
        raise ValueError(
            f"input option(s) {', '.join(sorted(unknown))} not known by the source(s) of {spec!r}"
        )
    return SwitchingInput(sources)
