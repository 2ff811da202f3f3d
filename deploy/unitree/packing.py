"""The C struct layout of the unitree_go low-level messages, used to compute their CRC.

The CRC is taken over the message as the robot's C++ code holds it in memory: a packed
little-endian C struct with natural alignment (each member aligned to its own size, a nested
struct to its widest member, trailing padding to that alignment). This is *not* the XCDR wire
format (CDR pads relative to the stream, not to nested struct sizes). Layouts (bytes):

``LowCmd_`` (812): head[2] u8, level_flag u8, frame_reserve u8, sn[2] u32, version[2] u32,
bandwidth u16, 2 pad | 20 x MotorCmd_ (36: mode u8, 3 pad, q dq tau kp kd f32, reserve[3] u32) |
BmsCmd_ (4: off u8, reserve[3] u8) | wireless_remote[40] u8, led[12] u8, fan[2] u8, gpio u8, 1 pad |
reserve u32 | crc u32.

``LowState_`` (1180): the same 24-byte header | IMUState_ (56: quaternion[4], gyroscope[3],
accelerometer[3], rpy[3] f32, temperature u8, 3 pad) | 20 x MotorState_ (48: mode u8, 3 pad,
q dq ddq tau_est q_raw dq_raw ddq_raw f32, temperature u8, 3 pad, lost u32, reserve[2] u32) |
BmsState_ (44: version_high version_low status soc u8, current i32, cycle u16, bq_ntc[2] u8,
mcu_ntc[2] u8, cell_vol[15] u16) | foot_force[4] i16, foot_force_est[4] i16, tick u32,
wireless_remote[40] u8, bit_flag u8, 3 pad, adc_reel f32, temperature_ntc1 u8, temperature_ntc2 u8,
2 pad, power_v f32, power_a f32, fan_frequency[4] u16, reserve u32 | crc u32.

Temperatures are int8 in the robot's C struct and uint8 in the DDS type (see ``messages.py``): the
same byte, packed here as unsigned. Values are flattened in dataclass field order (= IDL order),
so the formats below list the members in that order.
"""

from __future__ import annotations

import dataclasses
import operator
import struct
from collections.abc import Callable
from typing import Any

from hover.deploy.unitree.crc import unitree_crc

_HEADER = "2B B B 2I 2I H 2x"
_MOTOR_CMD = "B 3x 5f 3I"
_BMS_CMD = "B 3B"
_IMU = "4f 3f 3f 3f B 3x"
_MOTOR_STATE = "B 3x 7f B 3x I 2I"
_BMS_STATE = "4B i H 2B 2B 15H"

LOW_CMD_FORMAT = "<" + " ".join([_HEADER, *[_MOTOR_CMD] * 20, _BMS_CMD, "40B 12B 2B B x", "I", "I"])
LOW_STATE_FORMAT = "<" + " ".join(
    [_HEADER, _IMU, *[_MOTOR_STATE] * 20, _BMS_STATE, "4h 4h I 40B B 3x f B B 2x f f 4H I", "I"]
)
LOW_CMD_SIZE = 812
LOW_STATE_SIZE = 1180
assert struct.calcsize(LOW_CMD_FORMAT) == LOW_CMD_SIZE
assert struct.calcsize(LOW_STATE_FORMAT) == LOW_STATE_SIZE

_FORMATS = {
    "unitree_go.msg.dds_.LowCmd_": struct.Struct(LOW_CMD_FORMAT),
    "unitree_go.msg.dds_.LowState_": struct.Struct(LOW_STATE_FORMAT),
}


_SCALAR, _SEQUENCE, _STRUCT, _STRUCTS = range(4)
_FLATTENERS: dict[type, Callable[[Any, list], None]] = {}


def _is_sequence(v: Any) -> bool:
    return isinstance(v, list | tuple | bytes | bytearray) or (
        hasattr(v, "tolist") and getattr(v, "ndim", 0) > 0
    )


def _flattener(sample: Any) -> Callable[[Any, list], None]:
    """A flattening function for ``type(sample)`` (field kinds taken from ``sample``), cached per type."""
    cls = type(sample)
    cached = _FLATTENERS.get(cls)
    if cached is not None:
        return cached
    names = tuple(f.name for f in dataclasses.fields(cls))
    getter = operator.attrgetter(*names)
    plan: list[tuple[int, Any]] = []
    for name in names:
        v = getattr(sample, name)
        if dataclasses.is_dataclass(v):
            plan.append((_STRUCT, _flattener(v)))
        elif _is_sequence(v) and len(v) and dataclasses.is_dataclass(v[0]):
            plan.append((_STRUCTS, _flattener(v[0])))
        elif _is_sequence(v):
            plan.append((_SEQUENCE, None))
        else:
            plan.append((_SCALAR, None))

    def flatten(obj: Any, out: list) -> None:
        for (kind, sub), v in zip(plan, getter(obj)):  # noqa: B905 - same length by construction
            if kind == _SCALAR:
                out.append(v)
            elif kind == _SEQUENCE:
                out.extend(v.tolist() if hasattr(v, "tolist") else v)  # bytes from DDS iterate as ints
            elif kind == _STRUCT:
                sub(v, out)
            else:
                for x in v:
                    sub(x, out)

    _FLATTENERS[cls] = flatten
    return flatten


def _flatten(msg: Any, out: list) -> None:
    _flattener(msg)(msg, out)


def _struct_for(msg: Any) -> struct.Struct:
    name = getattr(msg, "__idl_typename__", type(msg).__name__)
    try:
        return _FORMATS[name]
    except KeyError:
        raise TypeError(
            f"no C layout known for message type {name!r} (known: {', '.join(_FORMATS)})"
        ) from None


def pack_c_struct(msg: Any) -> bytes:
    """The message's bytes as the robot's C struct (see the module docstring); ``crc`` included last.

    Raises TypeError for an unknown message type and struct.error for a field of the wrong length
    or out of range for its C type.
    """
    values: list = []
    _flatten(msg, values)
    return _struct_for(msg).pack(*values)


def compute_crc(msg: Any) -> int:
    """Unitree CRC32 of a LowCmd_/LowState_ (the ``crc`` field itself is not covered)."""
    return unitree_crc(pack_c_struct(msg))


def set_crc(msg: Any) -> Any:
    """Set ``msg.crc`` in place (call right before every write) and return the message."""
    msg.crc = compute_crc(msg)
    return msg


def crc_ok(msg: Any) -> bool:
    """True when ``msg.crc`` matches its content."""
    return int(msg.crc) == compute_crc(msg)
