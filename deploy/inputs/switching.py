"""Run-time switching between input sources: one active command source, events from all of them.

``SwitchingInput([joystick, playback, vr])`` polls every source's ``events`` each tick, so the
buttons of any device work whatever the command source. ``Event.NEXT_SOURCE`` (joystick ``Y``,
remote ``Y``, keyboard ``n``) makes the next source active and is consumed here; ``Event.NEXT_MODE``
is applied to the active source when it has modes (``next_mode()``, e.g. playback) and passed on.
The newly active source's ``reset()`` (if any) is called, so e.g. a joystick re-takes the robot's
heading instead of commanding a turn to an old target. Commands come from the active source only;
``select(name)`` switches programmatically.
"""

from __future__ import annotations

from collections.abc import Sequence

from hover.deploy.inputs.base import CommandSample, Event, InputSource, RobotView


class SwitchingInput:
    """Several sources behind one interface (see the module docstring)."""

    def __init__(self, sources: Sequence[InputSource], active: int = 0) -> None:
        if not sources:
            raise ValueError("SwitchingInput needs at least one source")
        self.sources = list(sources)
        self.active = active % len(self.sources)
        self.switches: list[tuple[str, str]] = []  # (from, to) names, for logging

    @property
    def name(self) -> str:
        return "+".join(s.name for s in self.sources)

    @property
    def current(self) -> InputSource:
        return self.sources[self.active]

    def select(self, which: int | str) -> InputSource:
        """Make a source active by index or name; returns it."""
        if isinstance(which, str):
            names = [s.name for s in self.sources]
            if which not in names:
                raise ValueError(f"no input source {which!r}; have {', '.join(names)}")
            which = names.index(which)
        old = self.current.name
        self.active = which % len(self.sources)
        reset = getattr(self.current, "reset", None)
        if callable(reset):
            reset()
        self.switches.append((old, self.current.name))
        return self.current

    def events(self, view: RobotView, now: float) -> list[Event]:
        out: list[Event] = []
        for src in list(self.sources):
            for ev in src.events(view, now):
                if ev == Event.NEXT_SOURCE:
                    self.select(self.active + 1)
                    continue
                if ev == Event.NEXT_MODE:
                    next_mode = getattr(self.current, "next_mode", None)
                    if callable(next_mode):
                        next_mode()
                out.append(ev)
        return out

    def command(self, view: RobotView, now: float) -> CommandSample | None:
        return self.current.command(view, now)

    @property
    def lost(self) -> str | None:
        """The first source's reason for a lost device (``lost`` attribute), or None."""
        return next((r for s in self.sources if (r := getattr(s, "lost", None))), None)

    def problems(self) -> list[str]:
        """Every source's current problems (``problems()``, e.g. no joystick found)."""
        return [p for s in self.sources if callable(fn := getattr(s, "problems", None)) for p in fn()]

    def close(self) -> None:
        for src in self.sources:
            src.close()
