"""The operator's button map in one place: which remote/joystick button or key triggers which event.

Built from the defaults of :class:`~deploy.inputs.gamepad.GamepadMapping` (Unitree remote and pygame
pads share it) and :class:`~deploy.inputs.keyboard.KeyboardMapping`, so ``hover run --help``, ``hover
inputs show``, the README and the runner's hints ("PASSIVE: press START ...") can never disagree with
what the sources do. Ctrl-C (SIGINT) is not an input event: it stops the runner (damping, report, exit).
"""

from __future__ import annotations

from collections.abc import Iterable

from hover.deploy.inputs.base import Event
from hover.deploy.inputs.gamepad import GamepadMapping
from hover.deploy.inputs.keyboard import KeyboardMapping

EFFECTS = {
    Event.START: "PASSIVE -> SOFT_START: move to the default pose, then HOLD it",
    Event.POLICY: "HOLD -> POLICY: hand over to the policy",
    Event.STOP: "any state -> DAMPING (kp = 0, kd held) until the runner exits",
    Event.NEXT_MODE: "next command mode of the active source (playback)",
    Event.NEXT_SOURCE: "next input source (with --input a+b)",
}
PAD_SOURCES = ("joystick", "remote")
KEY_SOURCES = ("keyboard",)


def _key_name(key: str) -> str:
    return "space" if key == " " else key


def button_map(
    pad: GamepadMapping | None = None, keys: KeyboardMapping | None = None
) -> list[tuple[str, str, str, str]]:
    """Rows (event, remote/joystick buttons, keyboard key, effect) in START, POLICY, STOP, ... order."""
    pad, keys = pad or GamepadMapping(), keys or KeyboardMapping()
    pads = {
        Event.START: pad.start,
        Event.POLICY: pad.policy,
        Event.STOP: pad.stop,
        Event.NEXT_MODE: pad.next_mode,
        Event.NEXT_SOURCE: pad.next_source,
    }
    keyed = {
        Event.START: keys.start,
        Event.POLICY: keys.policy,
        Event.STOP: keys.stop,
        Event.NEXT_MODE: keys.next_mode,
        Event.NEXT_SOURCE: keys.next_source,
    }
    return [(ev.value.upper(), " or ".join(pads[ev]), _key_name(keyed[ev]), EFFECTS[ev]) for ev in EFFECTS]


def button_map_text() -> str:
    """The button map as a plain-text table (for --help, ``hover inputs show`` and the README)."""
    rows = [("event", "remote / joystick", "keyboard", "effect"), *button_map()]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows]
    lines.append("  Ctrl-C stops the runner: damping for --runner.damping-s, report, exit")
    lines.append("  (remote/joystick: left stick walks, right stick x turns, d-pad up/down sets the height;")
    lines.append("   keyboard: w/s a/d q/e r/f, x zeroes the velocity)")
    return "\n".join(lines)


def button_map_markdown() -> str:
    """The button map as the README's markdown table."""
    rows = ["| event | remote / joystick | keyboard | effect |", "|---|---|---|---|"]
    rows += [f"| {ev} | `{pad}` | `{key}` | {effect} |" for ev, pad, key, effect in button_map()]
    return "\n".join(rows)


def how_to(event: Event, source_names: Iterable[str]) -> str:
    """How to send ``event`` with these sources, e.g. ``START (remote/joystick: start; keyboard: o)``."""
    names = set(source_names)
    row = next(r for r in button_map() if r[0] == event.value.upper())
    ways = []
    if names & set(PAD_SOURCES):
        ways.append(f"{'/'.join(n for n in PAD_SOURCES if n in names)}: {row[1]}")
    if names & set(KEY_SOURCES):
        ways.append(f"keyboard: {row[2]}")
    if not ways:
        return (
            f"{row[0]} (input {'+'.join(sorted(names)) or 'none'} has no buttons: use --input keyboard, "
            "remote or joystick, or --runner.auto-start in simulation)"
        )
    return f"{row[0]} ({'; '.join(ways)})"
