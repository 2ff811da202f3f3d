"""Bookkeeping of the robot-state link: what arrived, what was accepted, what was refused and why.

:class:`LinkCounts` is filled by the robot interface (``DdsRobot.read``) for every ``LowState_`` sample:
``received`` = ``accepted`` + the refused ones by reason:

- ``crc``: the CRC does not match the content (``zero_crc`` of them carried crc = 0, which peers that
  do not fill the CRC send; ``--accept-zero-crc`` accepts those);
- ``stale_tick``: the tick did not advance (the same tick again, or up to 1 s older than the newest:
  a duplicate or a late sample);
- ``non_finite``: NaN/inf in the joint state or the IMU (the runner never feeds it to a policy and
  goes to damping when active).

:func:`diagnose` turns two snapshots into the operator's message when nothing usable arrived in a
window: it names the domain, the interface and the reason. Times are ``time.monotonic()`` s.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

REFUSALS = ("crc", "stale_tick", "non_finite")


@dataclass
class LinkCounts:
    """Counts of ``LowState_`` samples since start (see the module docstring)."""

    received: int = 0
    accepted: int = 0
    refused: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REFUSALS, 0))
    zero_crc: int = 0  # refused for the CRC with crc == 0
    first_accepted: float | None = None
    last_accepted: float | None = None
    last_received: float | None = None

    def refuse(self, reason: str) -> None:
        self.refused[reason] += 1

    def snapshot(self) -> LinkCounts:
        return dataclasses.replace(self, refused=dict(self.refused))

    def to_dict(self) -> dict:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "refused": dict(self.refused),
            "refused_total": sum(self.refused.values()),
            "zero_crc": self.zero_crc,
        }


def _where(domain: int, interface: str | None) -> str:
    return f"domain {domain}, interface {interface or 'any'}"


def diagnose(
    now: LinkCounts,
    before: LinkCounts,
    window_s: float,
    domain: int,
    interface: str | None,
    topic: str = "rt/lowstate",
) -> str | None:
    """The operator's message when no sample was accepted between the snapshots ``before`` and ``now``
    (``window_s`` s apart), else None."""
    if now.accepted > before.accepted:
        return None
    got = now.received - before.received
    where = _where(domain, interface)
    if got == 0:
        return (
            f"no robot state: nothing received on {topic} for {window_s:.1f} s ({where}); is the robot "
            "(or hover sim-robot) running on this domain and interface?"
        )
    refused = {k: now.refused[k] - before.refused[k] for k in REFUSALS}
    parts = []
    if refused["crc"]:
        zero = now.zero_crc - before.zero_crc
        text = f"{refused['crc']} bad CRC"
        if zero == refused["crc"]:
            text += " (all with crc = 0: the peer does not fill the CRC; --accept-zero-crc accepts them)"
        parts.append(text)
    if refused["stale_tick"]:
        parts.append(
            f"{refused['stale_tick']} with a tick that did not advance (the peer's LowState_.tick is frozen)"
        )
    if refused["non_finite"]:
        parts.append(f"{refused['non_finite']} with NaN/inf joint or IMU values")
    return (
        f"no valid robot state: {got} LowState_ received on {topic} in {window_s:.1f} s ({where}), "
        f"all refused: {'; '.join(parts) or 'unknown reason'}"
    )
