"""The Unitree wireless remote: the 40 bytes carried in ``LowState_.wireless_remote``.

Layout (little-endian): bytes 0-1 header (kept as is), bytes 2-3 uint16 button bits, then float32
sticks and trigger: ``lx`` @4, ``rx`` @8, ``ry`` @12, ``l2`` @16, ``ly`` @20; bytes 24-39 unused.
Sticks are in [-1, 1] (x right, y up/forward), the analogue L2 in [0, 1].
Button bits: 0 R1, 1 L1, 2 start, 3 select, 4 R2, 5 L2, 6 F1, 7 F2, 8 A, 9 B, 10 X, 11 Y,
12 up, 13 right, 14 down, 15 left.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

REMOTE_BYTES = 40
BUTTONS: tuple[str, ...] = (
    "R1", "L1", "start", "select", "R2", "L2", "F1", "F2",
    "A", "B", "X", "Y", "up", "right", "down", "left",
)  # fmt: skip
_STICKS = struct.Struct("<ffff f")  # lx, rx, ry, l2, ly at offsets 4..23


@dataclass
class RemoteState:
    """Decoded remote: pressed button names and stick/trigger values (floats as sent)."""

    buttons: frozenset[str] = field(default_factory=frozenset)
    lx: float = 0.0
    rx: float = 0.0
    ry: float = 0.0
    ly: float = 0.0
    l2: float = 0.0

    def pressed(self, name: str) -> bool:
        if name not in BUTTONS:
            raise ValueError(f"unknown remote button {name!r}; known: {', '.join(BUTTONS)}")
        return name in self.buttons


def buttons_to_bits(buttons: frozenset[str] | set[str] | tuple[str, ...]) -> int:
    bits = 0
    for name in buttons:
        if name not in BUTTONS:
            raise ValueError(f"unknown remote button {name!r}; known: {', '.join(BUTTONS)}")
        bits |= 1 << BUTTONS.index(name)
    return bits


def bits_to_buttons(bits: int) -> frozenset[str]:
    return frozenset(name for i, name in enumerate(BUTTONS) if bits >> i & 1)


def parse_remote(data: bytes | bytearray | list[int]) -> RemoteState:
    """Decode the 40 remote bytes (ValueError when the length is wrong)."""
    raw = bytes(data)
    if len(raw) != REMOTE_BYTES:
        raise ValueError(f"wireless_remote must be {REMOTE_BYTES} bytes, got {len(raw)}")
    (bits,) = struct.unpack_from("<H", raw, 2)
    lx, rx, ry, l2, ly = _STICKS.unpack_from(raw, 4)
    return RemoteState(bits_to_buttons(bits), lx=lx, rx=rx, ry=ry, ly=ly, l2=l2)


def pack_remote(state: RemoteState, header: bytes = b"\x00\x00") -> bytes:
    """Encode a RemoteState into the 40-byte layout (inverse of :func:`parse_remote` up to float32)."""
    out = bytearray(REMOTE_BYTES)
    out[0:2] = header[:2]
    struct.pack_into("<H", out, 2, buttons_to_bits(state.buttons))
    _STICKS.pack_into(out, 4, state.lx, state.rx, state.ry, state.l2, state.ly)
    return bytes(out)
