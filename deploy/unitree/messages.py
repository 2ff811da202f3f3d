"""unitree_go low-level DDS message types (H1, Go2, B2), declared here on ``cyclonedds.idl``.

Field order and types follow Unitree's published IDL (``unitree_go/msg``: LowCmd, LowState,
MotorCmd, MotorState, IMUState, BmsCmd, BmsState). Every 8-bit field is an IDL ``octet``, the XTypes
kind TK_BYTE, as in the robot's own stack (unitree_sdk2 / unitree_sdk2py on cyclonedds 0.10.x):

- cyclonedds-python 11 has ``types.uint8``/``types.int8`` as TK_UINT8/TK_INT8 (kinds new in 0.11).
  A 0.10 participant cannot parse a type object holding them and crashes (segfault) about 0.5 s
  after it discovers such a reader or writer (cyclonedds issue #1554); readers and writers of
  different kinds do not match either. ``types.byte`` is TK_BYTE in 11 and ``types.uint8`` is
  TK_BYTE in 0.10, so :data:`octet` picks whichever this cyclonedds has.
- Temperatures are ``octet`` too (Unitree's ROS 2 ``.msg`` files say ``int8``; the byte is the
  same): read one as signed with ``t - 256 if t > 127 else t``.

``tests/test_dds_cross_version.py`` exchanges these types with a peer on cyclonedds 0.10.2 built
from the IDL in ``tests/dds010/unitree_go.idl``. Topics: ``rt/lowcmd`` (LowCmd_) and ``rt/lowstate``
(LowState_). All structs are ``@final`` (plain XCDR, no member ids on the wire).

Units: joint angles rad, velocities rad/s, torques N m; IMU quaternion (w, x, y, z), gyroscope
rad/s and accelerometer m/s^2 in the IMU (torso on the H1) frame, rpy rad; ``tick`` ms.

Every field has a default, so ``LowCmd_()`` is a valid zero message; :func:`new_low_cmd` also
fills the header bytes the robot expects (head 0xFE 0xEF, level_flag 0xFF).
"""

# no `from __future__ import annotations`: cyclonedds resolves the annotations at run time
from dataclasses import dataclass, field

try:
    import cyclonedds.idl as idl
    import cyclonedds.idl.annotations as annotate
    import cyclonedds.idl.types as types
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "hover.deploy.unitree needs the cyclonedds package (pip install cyclonedds, or hover[deploy])"
    ) from e

# IDL ``octet``: the XTypes kind TK_BYTE. In cyclonedds-python 11 that is ``types.byte``
# (``types.uint8`` there is TK_UINT8, which a 0.10 peer cannot parse); in 0.10 ``types.uint8`` is TK_BYTE.
octet = getattr(types, "byte", types.uint8)

NUM_MOTOR_SLOTS = 20
REMOTE_BYTES = 40
TOPIC_LOWCMD = "rt/lowcmd"
TOPIC_LOWSTATE = "rt/lowstate"


def _zeros(n: int, value: float | int = 0):  # noqa: ANN202 - a dataclass field
    return field(default_factory=lambda: [value] * n)


@dataclass
@annotate.final
@annotate.autoid("sequential")
class MotorCmd_(idl.IdlStruct, typename="unitree_go.msg.dds_.MotorCmd_"):
    """One motor command: tau = tau_ff + kp (q - q_meas) + kd (dq - dq_meas) on the motor."""

    mode: octet = 0
    q: types.float32 = 0.0
    dq: types.float32 = 0.0
    tau: types.float32 = 0.0
    kp: types.float32 = 0.0
    kd: types.float32 = 0.0
    reserve: types.array[types.uint32, 3] = _zeros(3)


@dataclass
@annotate.final
@annotate.autoid("sequential")
class BmsCmd_(idl.IdlStruct, typename="unitree_go.msg.dds_.BmsCmd_"):
    off: octet = 0
    reserve: types.array[octet, 3] = _zeros(3)


@dataclass
@annotate.final
@annotate.autoid("sequential")
class LowCmd_(idl.IdlStruct, typename="unitree_go.msg.dds_.LowCmd_"):
    head: types.array[octet, 2] = _zeros(2)
    level_flag: octet = 0
    frame_reserve: octet = 0
    sn: types.array[types.uint32, 2] = _zeros(2)
    version: types.array[types.uint32, 2] = _zeros(2)
    bandwidth: types.uint16 = 0
    motor_cmd: types.array[MotorCmd_, 20] = field(default_factory=lambda: [MotorCmd_() for _ in range(20)])
    bms_cmd: BmsCmd_ = field(default_factory=BmsCmd_)
    wireless_remote: types.array[octet, 40] = _zeros(40)
    led: types.array[octet, 12] = _zeros(12)
    fan: types.array[octet, 2] = _zeros(2)
    gpio: octet = 0
    reserve: types.uint32 = 0
    crc: types.uint32 = 0


@dataclass
@annotate.final
@annotate.autoid("sequential")
class MotorState_(idl.IdlStruct, typename="unitree_go.msg.dds_.MotorState_"):
    mode: octet = 0
    q: types.float32 = 0.0
    dq: types.float32 = 0.0
    ddq: types.float32 = 0.0
    tau_est: types.float32 = 0.0
    q_raw: types.float32 = 0.0
    dq_raw: types.float32 = 0.0
    ddq_raw: types.float32 = 0.0
    temperature: octet = 0
    lost: types.uint32 = 0
    reserve: types.array[types.uint32, 2] = _zeros(2)


@dataclass
@annotate.final
@annotate.autoid("sequential")
class IMUState_(idl.IdlStruct, typename="unitree_go.msg.dds_.IMUState_"):
    quaternion: types.array[types.float32, 4] = field(default_factory=lambda: [1.0, 0.0, 0.0, 0.0])  # wxyz
    gyroscope: types.array[types.float32, 3] = _zeros(3, 0.0)
    accelerometer: types.array[types.float32, 3] = _zeros(3, 0.0)
    rpy: types.array[types.float32, 3] = _zeros(3, 0.0)
    temperature: octet = 0


@dataclass
@annotate.final
@annotate.autoid("sequential")
class BmsState_(idl.IdlStruct, typename="unitree_go.msg.dds_.BmsState_"):
    version_high: octet = 0
    version_low: octet = 0
    status: octet = 0
    soc: octet = 0
    current: types.int32 = 0
    cycle: types.uint16 = 0
    bq_ntc: types.array[octet, 2] = _zeros(2)
    mcu_ntc: types.array[octet, 2] = _zeros(2)
    cell_vol: types.array[types.uint16, 15] = _zeros(15)


@dataclass
@annotate.final
@annotate.autoid("sequential")
class LowState_(idl.IdlStruct, typename="unitree_go.msg.dds_.LowState_"):
    head: types.array[octet, 2] = _zeros(2)
    level_flag: octet = 0
    frame_reserve: octet = 0
    sn: types.array[types.uint32, 2] = _zeros(2)
    version: types.array[types.uint32, 2] = _zeros(2)
    bandwidth: types.uint16 = 0
    imu_state: IMUState_ = field(default_factory=IMUState_)
    motor_state: types.array[MotorState_, 20] = field(
        default_factory=lambda: [MotorState_() for _ in range(20)]
    )
    bms_state: BmsState_ = field(default_factory=BmsState_)
    foot_force: types.array[types.int16, 4] = _zeros(4)
    foot_force_est: types.array[types.int16, 4] = _zeros(4)
    tick: types.uint32 = 0
    wireless_remote: types.array[octet, 40] = _zeros(40)
    bit_flag: octet = 0
    adc_reel: types.float32 = 0.0
    temperature_ntc1: octet = 0
    temperature_ntc2: octet = 0
    power_v: types.float32 = 0.0
    power_a: types.float32 = 0.0
    fan_frequency: types.array[types.uint16, 4] = _zeros(4)
    reserve: types.uint32 = 0
    crc: types.uint32 = 0


def new_low_cmd() -> LowCmd_:
    """A zero-torque LowCmd_ with the header the robot expects (head 0xFE 0xEF, level_flag 0xFF)."""
    return LowCmd_(head=[0xFE, 0xEF], level_flag=0xFF)


def new_low_state() -> LowState_:
    """A LowState_ with the same header bytes, identity IMU quaternion, everything else zero."""
    return LowState_(head=[0xFE, 0xEF], level_flag=0xFF)
