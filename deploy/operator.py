"""The runner's operator messages: state transitions, what it waits for, the link's health, lost devices.

:class:`OperatorWatch` is called once per policy tick by :class:`hover.deploy.onboard_runner.Runner` and says,
through a :class:`hover.deploy.console.Console`:

- every state transition as it happens (``PASSIVE -> SOFT_START (start event)``), with the hint of the
  new state: PASSIVE "press START ... to soft-start", HOLD "press POLICY ... for the policy" and so on,
  repeated every ``hint_every_s`` while the state lasts;
- within ``link_warn_s`` (2 s) of the last accepted robot state, why nothing usable arrives: nothing on
  the topic, or everything refused and why (:func:`hover.deploy.link.diagnose`), naming the domain and
  the interface; and once the state is back;
- input-source problems (``problems()``: "no joystick found ...") at start and when they change.

It never changes the runner's state; the runner acts on :meth:`state_lost_for` and
:meth:`input_lost`. Times are ``time.monotonic()`` s.
"""

from __future__ import annotations

from typing import Any

from hover.deploy.console import Console
from hover.deploy.inputs.base import Event
from hover.deploy.state_machine import State


def source_names(source: Any) -> list[str]:
    if source is None:
        return []
    inner = getattr(source, "sources", None)
    return [s.name for s in inner] if inner else [source.name]


class OperatorWatch:
    """See the module docstring."""

    def __init__(
        self,
        console: Console,
        io: Any,
        source: Any,
        has_policy: bool,
        auto_start: bool,
        link_warn_s: float = 2.0,
        hint_every_s: float = 10.0,
    ) -> None:
        self.console, self.io, self.source = console, io, source
        self.has_policy, self.auto_start = has_policy, auto_start
        self.link_warn_s, self.hint_every_s = link_warn_s, hint_every_s
        self.names = source_names(source)
        self._printed = 0
        self._snap = None
        self._snap_t: float | None = None
        self._link_bad = False
        self._had_state = False
        self._problems: tuple[str, ...] = ()

    # ----- hints -----------------------------------------------------------------------------------
    def _how(self, event: Event) -> str:
        from hover.deploy.inputs.buttons import how_to

        return how_to(event, self.names)

    def hint(self, state: State) -> str:
        if self.auto_start and state in (State.PASSIVE, State.HOLD):
            return f"{state.value.upper()}: --runner.auto-start goes on by itself (simulation only)"
        stop = f"{self._how(Event.STOP)} for damping, Ctrl-C to exit"
        if state is State.PASSIVE:
            return f"PASSIVE (zero torque): press {self._how(Event.START)} to soft-start"
        if state is State.SOFT_START:
            return "SOFT_START: moving to the default pose; HOLD follows"
        if state is State.HOLD:
            if not self.has_policy:
                return f"HOLD (default pose): no policy loaded (--policy none); {stop}"
            return f"HOLD: press {self._how(Event.POLICY)} to start the policy; {stop}"
        if state is State.POLICY:
            return f"POLICY: the policy drives the robot; {stop}"
        return "DAMPING (kp = 0): held until the runner exits; Ctrl-C to exit"

    # ----- per tick ----------------------------------------------------------------------------------
    def start(self, now: float) -> None:
        where = self.io.describe() if hasattr(self.io, "describe") else "the robot interface"
        self.console.say(
            f"waiting for robot state on rt/lowstate ({where}); input: {'+'.join(self.names) or 'none'}"
        )
        self._check_problems()
        counts = getattr(self.io, "counts", None)
        self._snap, self._snap_t = (counts.snapshot() if counts is not None else None), now

    def _check_problems(self) -> None:
        fn = getattr(self.source, "problems", None)
        problems = tuple(fn()) if callable(fn) else ()
        for p in problems:
            if p not in self._problems:
                self.console.warn(p)
        self._problems = problems

    def update(self, now: float, machine: Any, state_ok: bool) -> None:
        for t in machine.history[self._printed :]:
            self.console.say(f"{t.src.value.upper()} -> {t.dst.value.upper()} ({t.reason})")
            self.console.forget("hint")
        self._printed = len(machine.history)
        if state_ok:
            self.console.every("hint", self.hint_every_s, self.hint(machine.state), now)
        self._watch_link(now)
        self._check_problems()

    def _watch_link(self, now: float) -> None:
        counts = getattr(self.io, "counts", None)
        if counts is None or self._snap is None:
            return
        from hover.deploy.link import diagnose

        if counts.accepted > self._snap.accepted:
            if not self._had_state:
                tick = self.io.latest.view.tick if getattr(self.io, "latest", None) is not None else "?"
                self.console.say(f"robot state: first LowState_ accepted (tick {tick}, {self.io.describe()})")
                self._had_state = True
            elif self._link_bad:
                self.console.say(f"robot state back ({self.io.describe()})")
            self._link_bad = False
            self.console.forget("link")
            self._snap, self._snap_t = counts.snapshot(), now
            return
        if now - self._snap_t >= self.link_warn_s:
            msg = diagnose(counts, self._snap, now - self._snap_t, self.io.domain_id, self.io.interface)
            if msg is not None:
                self._link_bad = True
                self.console.every("link", 5.0, msg, now, warn=True)

    def state_lost_for(self, now: float) -> float:
        """Seconds since the last accepted robot state (0 before any came: that is not a loss)."""
        counts = getattr(self.io, "counts", None)
        if counts is None or counts.last_accepted is None:
            return 0.0
        return now - counts.last_accepted

    def input_lost(self) -> str | None:
        """Why the input device is gone (the source's ``lost``), or None."""
        return getattr(self.source, "lost", None) if self.source is not None else None


def exit_code(report: dict) -> int:
    """The runner's exit code from its report: 0 for a normal stop (duration, Ctrl-C) after valid robot state arrived; 1 otherwise."""
    link = report.get("link")
    no_state = link is not None and link["accepted"] == 0
    return 0 if report.get("normal_exit") and not no_state else 1


def exit_summary(report: dict) -> str:
    """One line: why the runner stopped, the state counts, and the exit code it implies."""
    link = report.get("link")
    counts = ""
    if link is not None:
        refused = ", ".join(f"{k} {v}" for k, v in link["refused"].items() if v) or "none"
        counts = (
            f"; robot state: {link['received']} received, {link['accepted']} accepted, refused: {refused}"
        )
        if link["accepted"] == 0:
            counts += f" -- no valid robot state ever came ({link['where']})"
    detail = f" ({report['exit_detail']})" if report.get("exit_detail") else ""
    return f"exit: {report.get('exit_reason')}{detail}{counts}; exit code {exit_code(report)}"
