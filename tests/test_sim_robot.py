"""hover sim-robot: PD from the command's own gains at every physics step, the LowState it publishes, DDS."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import mujoco
import numpy as np
import pytest

pytest.importorskip("cyclonedds")

from hover.deploy.robot_io import DdsRobot  # noqa: E402
from hover.deploy.sim_robot import SimRobot, parse_events, spawn_sim_robot, stop_sim_robot  # noqa: E402
from hover.deploy.state_machine import MotorTargets  # noqa: E402
from hover.deploy.unitree.h1_io import H1LowLevel  # noqa: E402
from hover.deploy.unitree.messages import new_low_cmd, new_low_state  # noqa: E402
from hover.robots import get_robot  # noqa: E402

ROBOT = get_robot("h1")
DEFAULT = np.array([j.default_pos for j in ROBOT.joints])
_DOMAINS = iter(range(220 + random.randrange(3), 232))


def _cmd(q, kp, kd, dq=None, tau=None):
    return H1LowLevel(ROBOT).encode_low_cmd(new_low_cmd(), q, kp, kd, dq, tau)


def test_torque_is_the_commands_pd_not_the_models_servo():
    sim = SimRobot(ROBOT)
    rng = np.random.default_rng(0)
    q_cmd = DEFAULT + rng.uniform(-0.1, 0.1, 19)
    kp, kd = rng.uniform(5, 60, 19), rng.uniform(0.5, 3, 19)  # not the spec's gains
    tau_ff = rng.uniform(-2, 2, 19)
    assert sim.apply_command(_cmd(q_cmd, kp, kd, tau=tau_ff))
    for _ in range(3):
        q, dq = sim.data.qpos[7:].copy(), sim.data.qvel[6:].copy()
        sim.step()
        expected = np.clip(
            tau_ff + kp * (q_cmd.astype(np.float32) - q) + kd * (0 - dq), -sim.effort, sim.effort
        )
        np.testing.assert_allclose(sim.data.actuator_force, expected, rtol=1e-5, atol=1e-4)
    # zero gains = zero torque: the servo gains of the model never act
    assert sim.apply_command(_cmd(DEFAULT, np.zeros(19), np.zeros(19)))
    sim.step()
    assert np.all(sim.data.actuator_force == 0.0)


def test_torque_is_clipped_to_the_effort_limits():
    sim = SimRobot(ROBOT)
    assert sim.apply_command(_cmd(DEFAULT + 1.0, np.full(19, 1e4), np.zeros(19)))
    sim.step()
    effort = np.array([j.effort_limit for j in ROBOT.joints])
    np.testing.assert_allclose(np.abs(sim.data.actuator_force), effort)


def test_bad_crc_and_non_finite_commands_are_dropped():
    sim = SimRobot(ROBOT)
    good = _cmd(DEFAULT, np.full(19, 50.0), np.ones(19))
    assert sim.apply_command(good)
    bad_crc = _cmd(DEFAULT + 0.2, np.full(19, 50.0), np.ones(19))
    bad_crc.crc ^= 1
    assert not sim.apply_command(bad_crc)
    nan = _cmd(DEFAULT, np.full(19, 50.0), np.ones(19))
    nan.motor_cmd[4].q = float("nan")  # left knee slot, CRC set after
    from hover.deploy.unitree.packing import set_crc

    assert not sim.apply_command(set_crc(nan))
    np.testing.assert_allclose(sim.cmd_q, DEFAULT.astype(np.float32))  # the good command is kept
    assert (sim.stats.received, sim.stats.bad_crc, sim.stats.non_finite) == (3, 1, 1)


def test_low_state_holds_joints_imu_tick_and_remote():
    sim = SimRobot(ROBOT, events=parse_events(["press:start@0.01"]))
    assert sim.apply_command(
        _cmd(DEFAULT, np.array([j.kp for j in ROBOT.joints]), np.array([j.kd for j in ROBOT.joints]))
    )
    sim.data.qvel[3:6] = [0.3, -0.2, 0.5]  # some pelvis rotation to check the gyro path
    for _ in range(25):
        sim.step()
    msg = sim.make_state(new_low_state())
    view = H1LowLevel(ROBOT).decode_low_state(msg)
    assert view.tick == 25  # ms of simulated time
    np.testing.assert_allclose(view.joint_pos, sim.data.qpos[7:], atol=1e-6)
    np.testing.assert_allclose(view.joint_vel, sim.data.qvel[6:], atol=1e-4)
    q = view.pelvis_quat * np.sign(view.pelvis_quat[0])
    np.testing.assert_allclose(q, sim.data.qpos[3:7] * np.sign(sim.data.qpos[3]), atol=1e-5)
    np.testing.assert_allclose(view.pelvis_ang_vel, sim.data.qvel[3:6], atol=1e-4)  # free joint: local frame
    assert view.remote.pressed("start")
    from hover.deploy.unitree.packing import crc_ok

    assert crc_ok(msg)
    for _ in range(300):
        sim.step()
    assert not H1LowLevel(ROBOT).decode_low_state(sim.make_state(new_low_state())).remote.pressed("start")


def test_event_parsing_rejects_bad_specs():
    ev = parse_events(["push@2", "nan_state@1.5", "press:A@0.5"])
    assert [(e.kind, e.time, e.arg) for e in ev] == [
        ("press", 0.5, "A"),
        ("nan_state", 1.5, ""),
        ("push", 2.0, ""),
    ]
    for bad in ("nan_state", "explode@1", "press@1", "push@x"):
        with pytest.raises(ValueError, match="bad sim-robot event"):
            parse_events([bad])


def test_model_is_plain_torque_motors():
    sim = SimRobot(ROBOT)
    m = sim.model
    assert np.all(m.actuator_biastype == mujoco.mjtBias.mjBIAS_NONE)
    assert np.all(m.actuator_gainprm[:, 0] == 1.0) and np.all(m.actuator_biasprm == 0.0)


def test_over_dds_tick_advances_in_real_time_and_commands_arrive(tmp_path):
    domain = next(_DOMAINS)
    report = tmp_path / "sim.json"
    proc = spawn_sim_robot(domain, "lo", ["--report", str(report), "--band-s", "100"])
    try:
        robot = DdsRobot(ROBOT, domain, "lo")
        targets = MotorTargets(
            DEFAULT,
            np.zeros(19),
            np.array([j.kp for j in ROBOT.joints]),
            np.array([j.kd for j in ROBOT.joints]),
            np.zeros(19),
        )
        first = None
        t_end = time.monotonic() + 1.5
        while time.monotonic() < t_end:
            robot.write(targets)
            r = robot.read()
            if r is not None and first is None and r.view.tick > 0:
                first = (r.view.tick, time.monotonic())
            time.sleep(0.005)
        last = robot.read()
        assert first is not None and robot.bad_crc == 0
        sim_ms = last.view.tick - first[0]
        wall_ms = (last.received - first[1]) * 1e3
        assert (
            sim_ms > 0 and 0.6 < sim_ms / wall_ms < 1.2
        )  # paced to the wall clock (loaded machine: some lag)
        np.testing.assert_allclose(last.view.joint_pos, DEFAULT, atol=0.1)  # PD on the band holds the pose
        # a second participant writing, then going away (its samples' instance becomes invalid):
        # the sim-robot keeps running; and the runner side survives the sim going away
        code = (
            "import sys, time, numpy as np; from hover.deploy.robot_io import DdsRobot, zero_torque; "
            "r = DdsRobot('h1', int(sys.argv[1]), 'lo'); [(r.write(zero_torque(r.robot)), time.sleep(0.01)) for _ in range(30)]"
        )
        subprocess.run([sys.executable, "-c", code, str(domain)], check=True, timeout=60)
        time.sleep(0.3)
        assert proc.poll() is None, proc.stderr.read()
    finally:
        stop_sim_robot(proc)
    time.sleep(0.2)
    robot.read()  # the publisher is gone: nothing to read, no error
    rep = json.loads(report.read_text())
    assert rep["commands_received"] > 100 and rep["bad_crc"] == 0 and rep["non_finite_commands"] == 0
    assert rep["zero_torque_commands"] > 0  # the second writer's commands arrived too
