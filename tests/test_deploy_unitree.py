"""Unitree low-level messages: CRC32, C layout, motor mapping, remote bytes, IMU transform, real DDS on lo."""

from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
import time

import mujoco
import numpy as np
import pytest

pytest.importorskip("cyclonedds")

from hover.deploy.unitree.crc import crc32_mpeg2, crc32_words_reference, unitree_crc  # noqa: E402
from hover.deploy.unitree.dds import open_domain  # noqa: E402
from hover.deploy.unitree.h1_io import H1LowLevel  # noqa: E402
from hover.deploy.unitree.imu import torso_imu_to_pelvis  # noqa: E402
from hover.deploy.unitree.messages import (  # noqa: E402
    TOPIC_LOWCMD,
    TOPIC_LOWSTATE,
    LowCmd_,
    LowState_,
    new_low_cmd,
    new_low_state,
)
from hover.deploy.unitree.motors import POS_STOP_F, VEL_STOP_F, MotorMap, fill_low_cmd, read_motor_state  # noqa: E402
from hover.deploy.unitree.packing import (  # noqa: E402
    LOW_CMD_SIZE,
    LOW_STATE_SIZE,
    compute_crc,
    crc_ok,
    pack_c_struct,
    set_crc,
)
from hover.deploy.unitree.remote import BUTTONS, RemoteState, pack_remote, parse_remote  # noqa: E402
from hover.robots import get_robot  # noqa: E402
from hover.robots.mjcf import build_model  # noqa: E402


def _f32(rng: np.random.Generator, *shape: int) -> list[float]:
    return rng.standard_normal(shape).astype(np.float32).astype(float).tolist()


def _random_low_cmd(seed: int) -> LowCmd_:
    rng = np.random.default_rng(seed)
    msg = new_low_cmd()
    msg.sn = [int(x) for x in rng.integers(0, 2**32, 2)]
    msg.bandwidth = 0x1234
    for m, (q, dq, tau, kp, kd) in zip(msg.motor_cmd, _f32(rng, 20, 5), strict=True):
        m.mode, m.q, m.dq, m.tau, m.kp, m.kd = 0x0A, q, dq, tau, kp, kd
    msg.wireless_remote = [int(x) for x in rng.integers(0, 256, 40)]
    msg.led = list(range(12))
    msg.gpio = 3
    msg.reserve = 77
    return set_crc(msg)


def _random_low_state(seed: int) -> LowState_:
    rng = np.random.default_rng(seed)
    msg = new_low_state()
    msg.imu_state.quaternion = _f32(rng, 4)
    msg.imu_state.gyroscope = _f32(rng, 3)
    msg.imu_state.temperature = 251  # -5 as int8
    for i, m in enumerate(msg.motor_state):
        m.mode, m.temperature, m.lost = 1, 30 + i, i
        m.q, m.dq, m.ddq, m.tau_est, m.q_raw, m.dq_raw, m.ddq_raw = _f32(rng, 7)
    msg.bms_state.current = -1200
    msg.bms_state.cell_vol = list(range(3000, 3015))
    msg.foot_force = [1, -2, 3, -4]
    msg.tick = 123456
    msg.wireless_remote = list(pack_remote(RemoteState(frozenset({"A", "L1"}), lx=0.25, ly=-0.5)))
    msg.power_v = 52.5
    msg.temperature_ntc1 = 253
    msg.fan_frequency = [1, 2, 3, 4]
    return set_crc(msg)


# ----- CRC ---------------------------------------------------------------------------------------


def test_crc32_check_value_and_agreement_with_the_bitwise_word_loop():
    assert crc32_mpeg2(b"123456789") == 0x0376E6E7  # CRC-32/MPEG-2 catalogue check value
    rng = random.Random(0)
    for n in (1, 2, 7, 203):
        words = [rng.getrandbits(32) for _ in range(n + 1)]
        packed = struct.pack(f"<{n + 1}I", *words)
        assert unitree_crc(packed) == crc32_words_reference(words[:-1])
    with pytest.raises(ValueError, match="32-bit words"):
        unitree_crc(b"\x00" * 6)


def test_crc_covers_every_byte_but_the_crc_field():
    msg = _random_low_cmd(1)
    assert crc_ok(msg)
    base = pack_c_struct(msg)
    assert len(base) == LOW_CMD_SIZE and struct.unpack_from("<I", base, LOW_CMD_SIZE - 4)[0] == msg.crc
    msg.motor_cmd[19].kd += 1.0
    assert not crc_ok(msg)
    set_crc(msg)
    assert crc_ok(msg)
    msg.crc ^= 1
    assert not crc_ok(msg)
    # numpy arrays and scalars in the fields pack to the same bytes as lists and Python numbers
    as_numpy = _random_low_cmd(1)
    as_numpy.motor_cmd[0].q = np.float32(as_numpy.motor_cmd[0].q)
    as_numpy.wireless_remote = np.asarray(as_numpy.wireless_remote, dtype=np.uint8)
    assert pack_c_struct(as_numpy) == pack_c_struct(_random_low_cmd(1))


def test_c_struct_layout_offsets():
    cmd = new_low_cmd()
    cmd.motor_cmd[5].q = 1.5
    cmd.motor_cmd[5].kd = -2.0
    cmd.gpio = 9
    b = pack_c_struct(cmd)
    assert b[:4] == bytes([0xFE, 0xEF, 0xFF, 0])
    off = 24 + 36 * 5  # 24-byte header, 36-byte MotorCmd_
    assert struct.unpack_from("<f", b, off + 4)[0] == 1.5 and struct.unpack_from("<f", b, off + 20)[0] == -2.0
    assert b[24 + 36 * 20 + 4 + 40 + 12 + 2] == 9  # gpio after bms_cmd, remote, led, fan

    st = _random_low_state(2)
    b = pack_c_struct(st)
    assert len(b) == LOW_STATE_SIZE
    assert struct.unpack_from("<I", b, 24 + 56 + 48 * 20 + 44 + 16)[0] == 123456  # tick
    assert struct.unpack_from("<b", b, 24 + 52)[0] == -5  # IMU temperature: the C struct reads int8
    m7 = 24 + 56 + 48 * 7
    assert struct.unpack_from("<f", b, m7 + 4)[0] == st.motor_state[7].q
    assert struct.unpack_from("<bxxxI", b, m7 + 32)[0:2] == (37, 7)  # temperature, lost
    assert compute_crc(st) == st.crc


# ----- motor mapping, remote, IMU ----------------------------------------------------------------


def test_motor_map_h1_slots_modes_and_placeholders():
    robot = get_robot("h1")
    mm = MotorMap.from_robot(robot)
    assert mm.unused_slots.tolist() == [9]
    names = robot.joint_names
    assert (
        mm.slot_of_joint[names.index("right_hip_roll")] == 0
        and mm.slot_of_joint[names.index("left_elbow")] == 19
    )
    weak = {names[j] for j in range(len(names)) if mm.mode_of_slot[mm.slot_of_joint[j]] == 0x01}
    assert weak == {n for n in names if "ankle" in n or "shoulder" in n or "elbow" in n}
    assert all(mm.mode_of_slot[mm.slot_of_joint[j]] == 0x0A for j, n in enumerate(names) if n not in weak)

    q = np.linspace(-1.0, 1.0, 19)
    kp = np.array([j.kp for j in robot.joints])
    kd = np.array([j.kd for j in robot.joints])
    msg = fill_low_cmd(new_low_cmd(), mm, q, kp, kd)
    assert (
        msg.motor_cmd[9].q == POS_STOP_F and msg.motor_cmd[9].dq == VEL_STOP_F and msg.motor_cmd[9].kp == 0.0
    )
    assert msg.motor_cmd[0].q == q[names.index("right_hip_roll")] and msg.motor_cmd[0].kp == 200.0
    assert msg.motor_cmd[2].kp == 300.0 and msg.motor_cmd[10].kp == 40.0 and msg.motor_cmd[10].mode == 0x01
    # the same slot order read back from a LowState_ gives the policy order again
    state = new_low_state()
    for s, c in enumerate(msg.motor_cmd):
        state.motor_state[s].q = c.q
    q_back, _, _ = read_motor_state(state, mm)
    np.testing.assert_array_equal(q_back, q)


def test_remote_round_trip_and_byte_positions():
    state = RemoteState(frozenset({"A", "R1", "left", "select"}), lx=0.5, rx=-0.25, ry=1.0, ly=-1.0, l2=0.75)
    raw = pack_remote(state)
    assert len(raw) == 40
    assert struct.unpack_from("<H", raw, 2)[0] == (1 << 8) | (1 << 0) | (1 << 15) | (1 << 3)
    assert struct.unpack_from("<5f", raw, 4) == (0.5, -0.25, 1.0, 0.75, -1.0)  # lx rx ry L2 ly
    assert parse_remote(raw) == state
    every = RemoteState(frozenset(BUTTONS))
    assert parse_remote(pack_remote(every)).buttons == frozenset(BUTTONS)
    assert struct.unpack_from("<H", pack_remote(every), 2)[0] == 0xFFFF
    with pytest.raises(ValueError, match="40 bytes"):
        parse_remote(b"\x00" * 39)
    with pytest.raises(ValueError, match="unknown remote button"):
        pack_remote(RemoteState(frozenset({"Z"})))


def test_torso_imu_to_pelvis_matches_mujoco():
    robot = get_robot("h1")
    model = build_model(robot)
    data = mujoco.MjData(model)
    torso = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "torso_link")
    torso_qpos = 7 + robot.joint_index("torso")
    torso_dof = 6 + robot.joint_index("torso")
    rng = np.random.default_rng(3)
    for _ in range(5):
        data.qpos[:] = model.qpos0
        q = rng.standard_normal(4)
        data.qpos[3:7] = q / np.linalg.norm(q)
        data.qpos[torso_qpos] = rng.uniform(-2.0, 2.0)
        data.qvel[:] = rng.standard_normal(model.nv)
        mujoco.mj_forward(model, data)
        vel = np.zeros(6)
        mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_XBODY, torso, vel, 1)  # torso frame
        quat, gyro = torso_imu_to_pelvis(
            data.xquat[torso], vel[:3], data.qpos[torso_qpos], data.qvel[torso_dof]
        )
        np.testing.assert_allclose(
            quat * np.sign(quat[0]), data.qpos[3:7] * np.sign(data.qpos[3]), atol=1e-12
        )
        np.testing.assert_allclose(gyro, data.qvel[3:6], atol=1e-12)  # free joint: local angular velocity


def test_h1_decode_and_encode_through_the_messages():
    robot = get_robot("h1")
    io = H1LowLevel(robot)
    q = np.linspace(-0.5, 0.5, 19).astype(np.float32).astype(float)
    kp = np.array([j.kp for j in robot.joints])
    kd = np.array([j.kd for j in robot.joints])
    cmd = io.encode_low_cmd(new_low_cmd(), q, kp, kd)
    assert crc_ok(cmd)
    state = new_low_state()
    for s, c in enumerate(cmd.motor_cmd):
        state.motor_state[s].q, state.motor_state[s].dq = c.q, 0.0
    torso = robot.joint_index("torso")
    state.motor_state[6].dq = 0.5  # slot 6 = torso
    state.imu_state.quaternion = [1.0, 0.0, 0.0, 0.0]
    state.imu_state.gyroscope = [0.0, 0.0, 0.5]
    state.tick = 42
    state.wireless_remote = list(pack_remote(RemoteState(frozenset({"start"}), ly=0.5)))
    view = io.decode_low_state(state)
    np.testing.assert_array_equal(view.joint_pos, q)
    # torso turned by q[torso] relative to the pelvis, turning at 0.5 rad/s: the pelvis is not turning
    np.testing.assert_allclose(view.pelvis_ang_vel, [0.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(
        view.pelvis_quat, [np.cos(q[torso] / 2), 0.0, 0.0, -np.sin(q[torso] / 2)], atol=1e-7
    )
    assert view.tick == 42 and view.remote.pressed("start") and view.remote.ly == 0.5
    with pytest.raises(ValueError, match="non-finite"):
        io.encode_low_cmd(new_low_cmd(), np.full(19, np.nan), kp, kd)


# ----- real DDS on loopback ----------------------------------------------------------------------


def _domain() -> int:
    return 100 + (os.getpid() + random.randrange(1000)) % 100


def _take_one(reader, writer, msg, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        writer.write(msg)
        time.sleep(0.01)
        got = reader.take()
        if got:
            return got[-1]
    raise AssertionError("no sample received over DDS")


def test_lowcmd_and_lowstate_round_trip_over_dds_loopback():
    dds = open_domain(_domain(), "lo")
    for topic, kind, msg in (
        (TOPIC_LOWCMD, LowCmd_, _random_low_cmd(4)),
        (TOPIC_LOWSTATE, LowState_, _random_low_state(5)),
    ):
        writer, reader = dds.writer(topic, kind), dds.reader(topic, kind)
        got = _take_one(reader, writer, msg)
        assert type(got) is kind
        assert pack_c_struct(got) == pack_c_struct(msg)  # every field, bit for bit
        assert got.crc == msg.crc and crc_ok(got)


_ECHO = """
import sys, time
from hover.deploy.unitree.dds import open_domain
from hover.deploy.unitree.messages import LowCmd_, LowState_, TOPIC_LOWCMD, TOPIC_LOWSTATE, new_low_state
from hover.deploy.unitree.packing import crc_ok, set_crc
dds = open_domain(int(sys.argv[1]), "lo")
reader, writer = dds.reader(TOPIC_LOWCMD, LowCmd_), dds.writer(TOPIC_LOWSTATE, LowState_)
print("ready", flush=True)
deadline = time.monotonic() + 8.0
tick = 0
while time.monotonic() < deadline:
    for cmd in reader.take():
        tick += 1
        valid = crc_ok(cmd)
        st = new_low_state()
        for s in range(20):
            st.motor_state[s].q = cmd.motor_cmd[s].q
        st.tick = tick
        st.wireless_remote = list(cmd.wireless_remote)
        st.bit_flag = 1 if valid else 0
        writer.write(set_crc(st))
    time.sleep(0.002)
"""


def test_lowcmd_to_lowstate_echo_across_processes():
    """A second process (its own participant) answers each LowCmd_ with a LowState_ over lo."""
    domain = _domain()
    proc = subprocess.Popen([sys.executable, "-c", _ECHO, str(domain)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        dds = open_domain(domain, "lo")
        writer, reader = dds.writer(TOPIC_LOWCMD, LowCmd_), dds.reader(TOPIC_LOWSTATE, LowState_)
        cmd = _random_low_cmd(6)
        state = _take_one(reader, writer, cmd, timeout=7.0)
        assert state.bit_flag == 1  # the other process found our CRC valid
        assert crc_ok(state) and state.tick >= 1
        assert [m.q for m in state.motor_state] == [m.q for m in cmd.motor_cmd]
        assert bytes(state.wireless_remote) == bytes(cmd.wireless_remote)
    finally:
        proc.kill()
        proc.wait()
