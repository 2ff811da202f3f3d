"""``hover sim-robot``: a MuJoCo H1 that speaks the robot's DDS topics, so the runner's code path is the real one.

The model is ``hover.robots.mjcf.build_model`` with its position servos turned into plain torque
motors (gain 1, no bias; the force range still clips to the effort limits): the torque is
recomputed here at every physics step (1 kHz by default) from the newest ``rt/lowcmd`` exactly as
a Unitree motor does, ``tau = tau_ff + kp (q_cmd - q) + kd (dq_cmd - dq)`` with the command's own
kp/kd, so the gains a runner sends are the gains that act. A motor slot in mode 0 exerts nothing.
Commands with a wrong CRC or a non-finite value are dropped (and counted) like the robot's motor
driver would, keeping the previous command.

``rt/lowstate`` is published at ``state_hz`` with ``tick`` = simulated milliseconds, the joints in
motor slots, the IMU of the torso link (quaternion wxyz world, gyroscope in the torso frame,
accelerometer = gravity reaction in the torso frame, a static approximation), the 40
``wireless_remote`` bytes, and the CRC.

Scripted events (``--events``, simulated seconds) exercise the runner's safety layer and its
remote-driven state machine: ``nan_state@T`` (joint angles published as NaN), ``stale_state@T``
(the state is frozen: tick stops advancing), ``silent@T`` (nothing published), ``push@T`` (a 0.2 s
lateral push of 600 N on the pelvis), ``press:BUTTON@T`` (a remote button held for 0.2 s), ``band_off@T``.
Elastic band (on by default, like Unitree's simulator): a spring (2000 N/m, 200 N s/m) pulls the
pelvis to 1.06 m so the robot hangs safely while a runner soft-starts it, holds it and hands over to
its policy, however long that takes. It holds until the operator releases it: ``kill -USR1 PID`` (in
the README recipe ``kill -USR1 %1``), ``--band-s T`` (released at T simulated seconds) or the event
``band_off@T``; ``--no-band`` starts without it. On exit a JSON report of what was received is written
(``--report``), with the pelvis height and tilt every 20 ms of simulated time (``pelvis_trace``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any  # the unitree_go messages: cyclonedds IDL fields carry no static types

import mujoco
import numpy as np

from hover.deploy.unitree.motors import MotorMap
from hover.deploy.unitree.remote import RemoteState, pack_remote
from hover.robots import DEFAULT_ROBOT, SIM2SIM_PHYSICS_DT, RobotSpec, get_robot
from hover.robots.mjcf import ModelOptions, build_model

EVENT_KINDS = ("nan_state", "stale_state", "silent", "push", "press", "band_off")


@dataclass
class SimRobotConfig:
    """Options of ``hover sim-robot`` (a MuJoCo H1 on the Unitree DDS topics)."""

    domain: int = 1
    """DDS domain id (the real robot uses 0; simulators conventionally 1)"""
    net: str = "lo"
    """network interface for DDS (lo = this machine only)"""
    robot: str = DEFAULT_ROBOT
    """robot name"""
    physics_dt: float = SIM2SIM_PHYSICS_DT
    """physics time step (s); PD torque is recomputed every step"""
    state_hz: float = 500.0
    """rt/lowstate publishing rate (Hz)"""
    duration_s: float = 0.0
    """stop after this many simulated seconds (0 = run until interrupted)"""
    realtime: bool = True
    """pace the simulation to the wall clock (off: as fast as possible)"""
    viewer: bool = False
    """open the MuJoCo viewer (needs a display)"""
    band: bool = True
    """hold the pelvis in an elastic band until released (kill -USR1 PID, --band-s, band_off@T)"""
    band_s: float = 0.0
    """release the band after this many simulated seconds (0 = hold until released)"""
    wait_for_command: bool = True
    """keep the physics paused (robot standing in the default pose, state published, tick 0) until the
    first rt/lowcmd arrives, so the robot does not collapse before a runner connects (state at 20 Hz
    while it waits)"""
    events: tuple[str, ...] = ()
    """scripted events KIND@SECONDS: nan_state, stale_state, silent, push, press:BUTTON, band_off"""
    report: str | None = None
    """write a JSON report of the received commands and the robot's motion here on exit"""


@dataclass(frozen=True)
class ScriptEvent:
    kind: str
    time: float
    arg: str = ""


def parse_events(specs: tuple[str, ...] | list[str]) -> list[ScriptEvent]:
    """``KIND@SECONDS`` / ``press:BUTTON@SECONDS`` strings -> events sorted by time (ValueError when malformed)."""
    out = []
    for spec in specs:
        head, sep, t = spec.partition("@")
        kind, _, arg = head.partition(":")
        try:
            when = float(t)
        except ValueError:
            when = float("nan")
        if not sep or kind not in EVENT_KINDS or not np.isfinite(when) or (kind == "press") != bool(arg):
            raise ValueError(
                f"bad sim-robot event {spec!r}: expected KIND@SECONDS with KIND in "
                f"{', '.join(EVENT_KINDS)} (press:BUTTON@SECONDS)"
            )
        out.append(ScriptEvent(kind, when, arg))
    return sorted(out, key=lambda e: e.time)


@dataclass
class CommandStats:
    """What the simulated robot received on rt/lowcmd."""

    received: int = 0
    bad_crc: int = 0
    non_finite: int = 0
    out_of_limits: int = 0
    damping: int = 0  # commands with every driven kp == 0 and some kd > 0
    zero_torque: int = 0  # commands with every driven kp == kd == 0
    first_damping_time: float | None = None
    max_target_excess: float = 0.0  # rad beyond the joint limits (worst received)
    last: dict = field(default_factory=dict)


class SimRobot:
    """The simulated robot (see the module docstring). Call :meth:`open_dds` then :meth:`run`, or drive
    :meth:`step` / :meth:`apply_command` / :meth:`make_state` yourself."""

    def __init__(
        self,
        robot: RobotSpec | str = DEFAULT_ROBOT,
        physics_dt: float = SIM2SIM_PHYSICS_DT,
        band_s: float = 0.0,
        events: list[ScriptEvent] | None = None,
        band: bool = False,
        release: threading.Event | None = None,
    ) -> None:
        """``band``: elastic band until :meth:`release_band` (or ``release`` is set, e.g. by a signal
        handler); ``band_s`` > 0: a band released at that simulated time (either one turns it on)."""
        self.robot = get_robot(robot) if isinstance(robot, str) else robot
        self.model = build_model(self.robot, ModelOptions(physics_dt=physics_dt))
        m = self.model
        # position servos -> torque motors: ctrl is the torque (N m), still clipped to forcerange
        m.actuator_gaintype[:] = mujoco.mjtGain.mjGAIN_FIXED
        m.actuator_biastype[:] = mujoco.mjtBias.mjBIAS_NONE
        m.actuator_gainprm[:] = 0.0
        m.actuator_gainprm[:, 0] = 1.0
        m.actuator_biasprm[:] = 0.0
        self.data = mujoco.MjData(m)
        mujoco.mj_resetDataKeyframe(m, self.data, 0)
        self.data.ctrl[:] = 0.0
        mujoco.mj_forward(m, self.data)
        self.motor_map = MotorMap.from_robot(self.robot)
        j = self.robot.num_joints
        self.effort = np.array([jt.effort_limit for jt in self.robot.joints])
        self.lower = np.array([jt.range[0] for jt in self.robot.joints])
        self.upper = np.array([jt.range[1] for jt in self.robot.joints])
        # newest accepted command (policy order); starts as zero torque
        self.cmd_q, self.cmd_dq, self.cmd_tau = np.zeros(j), np.zeros(j), np.zeros(j)
        self.cmd_kp, self.cmd_kd, self.cmd_on = np.zeros(j), np.zeros(j), np.zeros(j)
        self.imu_body = m.body(self.robot.imu_body or self.robot.root.name).id
        self.pelvis = m.body(self.robot.root.name).id
        self.band_on = band or band_s > 0
        self.band_until = band_s if band_s > 0 else float("inf")
        self.band_released_at: float | None = None
        self._release = release or threading.Event()
        self.events = list(events or [])
        self.stats = CommandStats()
        self.remote = RemoteState()
        self.nan_state = self.stale_state = self.silent = False
        self.push_until = -1.0
        self.pressed: dict[str, float] = {}
        self.min_height = float(self.data.qpos[2])
        self.max_tilt_gz = -1.0
        self.trace: list[tuple[float, float, float]] = []  # (sim s, pelvis z m, gravity z) every 20 ms
        self._next_trace = 0.0
        self._frozen: Any = None
        self._msg: Any = None  # the reused LowState_ message
        self._vel = np.zeros(6)

    # ----- physics -------------------------------------------------------------------------------
    @property
    def sim_time(self) -> float:
        return float(self.data.time)

    def _fire_events(self) -> None:
        t = self.sim_time
        while self.events and self.events[0].time <= t:
            e = self.events.pop(0)
            if e.kind == "nan_state":
                self.nan_state = True
            elif e.kind == "stale_state":
                self.stale_state = True
            elif e.kind == "silent":
                self.silent = True
            elif e.kind == "push":
                self.push_until = t + 0.2
            elif e.kind == "press":
                self.pressed[e.arg] = t + 0.2
            elif e.kind == "band_off":
                self.release_band()
        held = frozenset(b for b, until in self.pressed.items() if until > t)
        if held != self.remote.buttons:
            self.remote = RemoteState(buttons=held)

    def step(self) -> None:
        """One physics step with the PD torque of the newest accepted command."""
        d = self.data
        self._fire_events()
        q, dq = d.qpos[7:], d.qvel[6:]
        tau = self.cmd_tau + self.cmd_kp * (self.cmd_q - q) + self.cmd_kd * (self.cmd_dq - dq)
        d.ctrl[:] = np.clip(tau * self.cmd_on, -self.effort, self.effort)
        d.xfrc_applied[self.pelvis] = 0.0
        if self.band_on and (self._release.is_set() or self.sim_time >= self.band_until):
            self.band_on = False
            self.band_released_at = self.sim_time
        if self.band_on:
            d.xfrc_applied[self.pelvis, :3] = (
                2000.0 * (np.array([0.0, 0.0, 1.06]) - d.qpos[:3]) - 200.0 * d.qvel[:3]
            )
        if self.sim_time < self.push_until:
            d.xfrc_applied[self.pelvis, 1] += 600.0
        mujoco.mj_step(self.model, d)
        self.min_height = min(self.min_height, float(d.qpos[2]))
        w, x, y, _ = d.qpos[3:7]
        gz = float(-(1 - 2 * (x * x + y * y)))
        self.max_tilt_gz = max(self.max_tilt_gz, gz)
        if self.sim_time >= self._next_trace and len(self.trace) < 30000:  # 10 min at 50 Hz
            self.trace.append((round(self.sim_time, 4), round(float(d.qpos[2]), 4), round(gz, 4)))
            self._next_trace += 0.02

    def release_band(self) -> None:
        """Let go of the pelvis at the next physics step (safe to call from a signal handler)."""
        self._release.set()

    def apply_command(self, msg: Any) -> bool:
        """Accept a LowCmd_ (True) or drop it for a bad CRC or a non-finite value (False)."""
        from hover.deploy.unitree.packing import crc_ok

        s = self.stats
        s.received += 1
        if not crc_ok(msg):
            s.bad_crc += 1
            return False
        arr = np.array([(c.mode, c.q, c.dq, c.tau, c.kp, c.kd) for c in msg.motor_cmd], dtype=np.float64)
        a = arr[self.motor_map.slot_of_joint]
        if not np.all(np.isfinite(a)):
            s.non_finite += 1
            return False
        mode, q, dq, tau, kp, kd = a.T
        self.cmd_on = (mode != 0).astype(np.float64)
        self.cmd_q, self.cmd_dq, self.cmd_tau, self.cmd_kp, self.cmd_kd = q, dq, tau, kp, kd
        excess = float(np.max(np.maximum(self.lower - q, q - self.upper)))
        if kp.any() and excess > 1e-6:
            s.out_of_limits += 1
            s.max_target_excess = max(s.max_target_excess, excess)
        if not kp.any() and kd.any():
            s.damping += 1
            if s.first_damping_time is None:
                s.first_damping_time = self.sim_time
        elif not kp.any() and not kd.any():
            s.zero_torque += 1
        s.last = {"q": q.tolist(), "kp": kp.tolist(), "kd": kd.tolist(), "mode": mode.astype(int).tolist()}
        return True

    # ----- state ---------------------------------------------------------------------------------
    def make_state(self, msg: Any) -> Any:
        """Fill ``msg`` (a LowState_) from the simulation; None when ``silent``. Sets the CRC."""
        from hover.deploy.unitree.packing import set_crc

        if self.silent:
            return None
        if self.stale_state and self._frozen is not None:
            return self._frozen
        d, m = self.data, self.model
        q, dq, tau = d.qpos[7:].copy(), d.qvel[6:].copy(), d.actuator_force.copy()
        if self.nan_state:
            q[:] = np.nan
        slots = self.motor_map.slot_of_joint.tolist()
        for j, s in enumerate(slots):
            ms = msg.motor_state[s]
            ms.q, ms.dq, ms.tau_est = float(q[j]), float(dq[j]), float(tau[j])
        mujoco.mj_kinematics(m, d)  # body poses/velocities of the current qpos/qvel (mj_step leaves the
        mujoco.mj_comPos(m, d)  # previous step's)
        mujoco.mj_comVel(m, d)
        quat = d.xquat[self.imu_body]
        mujoco.mj_objectVelocity(m, d, mujoco.mjtObj.mjOBJ_XBODY, self.imu_body, self._vel, 1)
        rot = d.xmat[self.imu_body].reshape(3, 3)
        imu = msg.imu_state
        imu.quaternion = [float(v) for v in quat]
        imu.gyroscope = [float(v) for v in self._vel[:3]]
        imu.accelerometer = [float(v) for v in rot.T @ np.array([0.0, 0.0, 9.81])]
        msg.tick = int(round(self.sim_time * 1000.0)) & 0xFFFFFFFF
        msg.wireless_remote = list(pack_remote(self.remote))
        set_crc(msg)
        if self.stale_state:
            self._frozen = msg
        return msg

    def summary(self) -> dict:
        s = self.stats
        d = self.data
        return {
            "sim_time": self.sim_time,
            "commands_received": s.received,
            "bad_crc": s.bad_crc,
            "non_finite_commands": s.non_finite,
            "out_of_limit_commands": s.out_of_limits,
            "max_target_excess_rad": s.max_target_excess,
            "damping_commands": s.damping,
            "zero_torque_commands": s.zero_torque,
            "first_damping_time": s.first_damping_time,
            "pelvis_height": float(d.qpos[2]),
            "min_pelvis_height": self.min_height,
            "max_gravity_z": self.max_tilt_gz,
            "band_released_at": self.band_released_at,
            "pelvis_trace": self.trace,
            "last_command": s.last,
        }

    # ----- DDS loop --------------------------------------------------------------------------------
    def run(
        self,
        domain: int,
        net: str | None,
        duration_s: float = 0.0,
        state_hz: float = 500.0,
        realtime: bool = True,
        viewer: bool = False,
        ready: bool = True,
        wait_for_command: bool = False,
        stop: threading.Event | None = None,
    ) -> dict:
        """Serve rt/lowstate and rt/lowcmd until ``duration_s`` simulated seconds (0 = forever), ``stop``
        is set (``hover sim-robot`` sets it on SIGTERM) or SIGINT."""
        stop = stop or threading.Event()
        from hover.deploy.unitree.dds import open_domain
        from hover.deploy.unitree.messages import TOPIC_LOWCMD, TOPIC_LOWSTATE, LowCmd_, LowState_

        dds = open_domain(domain, net)
        reader, writer = dds.reader(TOPIC_LOWCMD, LowCmd_), dds.writer(TOPIC_LOWSTATE, LowState_)
        state_every = max(1, round(1.0 / (state_hz * self.model.opt.timestep)))
        handle = None
        if viewer:
            import mujoco.viewer

            handle = mujoco.viewer.launch_passive(self.model, self.data)
        if ready:
            print(
                f"sim-robot ready: domain {domain} on {net}, physics {1 / self.model.opt.timestep:.0f} Hz, "
                f"state {1 / (state_every * self.model.opt.timestep):.0f} Hz",
                flush=True,
            )
            if self.band_on:
                until = f"at {self.band_until:g} s simulated or " if np.isfinite(self.band_until) else ""
                print(
                    f"sim-robot: elastic band holds the pelvis at 1.06 m until released ({until}"
                    f"kill -USR1 {os.getpid()})",
                    flush=True,
                )
        wall_start = time.monotonic()
        physics_start, sim_start = None, self.sim_time
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the simulation normally; summarised below
            try:
                while wait_for_command and self.stats.received == 0 and not stop.is_set():
                    for msg in reader.take(N=8):
                        if isinstance(msg, LowCmd_):
                            self.apply_command(msg)
                    out = self.make_state(self._state_msg())
                    if out is not None:
                        writer.write(out)
                    time.sleep(0.05)  # 20 Hz while idle: a LowState_ costs ~1 ms to build and serialise
                t0 = physics_start = time.monotonic()
                sim_start, steps = self.sim_time, 0
                while (duration_s <= 0 or self.sim_time < duration_s) and not stop.is_set():
                    for msg in reader.take(N=8):
                        if isinstance(msg, LowCmd_):  # skip InvalidSample (a writer went away)
                            self.apply_command(msg)
                    self.step()
                    steps += 1
                    if steps % state_every == 0:
                        out = self.make_state(self._state_msg())
                        if out is not None:
                            writer.write(out)
                    if handle is not None and steps % 16 == 0:
                        if not handle.is_running():
                            break
                        handle.sync()
                    if realtime:
                        ahead = (self.sim_time - sim_start) - (time.monotonic() - t0)
                        if ahead > 0.002:
                            time.sleep(ahead - 0.001)
                        elif ahead < -0.1:  # too slow: do not try to catch up more than 100 ms
                            t0 = time.monotonic() - (self.sim_time - sim_start) - 0.1
            finally:
                if handle is not None:
                    handle.close()
        out = self.summary()
        out["wall_time"] = time.monotonic() - wall_start  # from start-up, including the wait for a command
        physics_wall = time.monotonic() - physics_start if physics_start is not None else 0.0
        out["realtime_factor"] = (self.sim_time - sim_start) / max(physics_wall, 1e-9)
        return out

    def _state_msg(self) -> Any:
        if self._msg is None:
            from hover.deploy.unitree.messages import new_low_state

            self._msg = new_low_state()
        return self._msg


def spawn_sim_robot(
    domain: int,
    net: str = "lo",
    args: tuple[str, ...] | list[str] = (),
    wait: bool = True,
    timeout_s: float = 60.0,
) -> subprocess.Popen:
    """Start ``python -m hover sim-robot`` (extra CLI ``args``); with ``wait``, wait for its ready line.

    Stop it with :func:`stop_sim_robot` (SIGTERM: it writes its ``--report`` and exits).
    """
    cmd = [sys.executable, "-m", "hover", "sim-robot", "--domain", str(domain), "--net", net, *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return wait_sim_robot_ready(proc, timeout_s) if wait else proc


def wait_sim_robot_ready(proc: subprocess.Popen, timeout_s: float = 60.0) -> subprocess.Popen:
    """Block until a spawned sim-robot prints its ready line (RuntimeError with its stderr if it dies)."""
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None and proc.stderr is not None  # spawned with pipes
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("sim-robot ready"):
            return proc
        if not line and proc.poll() is not None:
            break
    err = proc.stderr.read() if proc.poll() is not None else "timed out"
    proc.kill()
    args = [str(a) for a in proc.args] if isinstance(proc.args, list | tuple) else [str(proc.args)]
    raise RuntimeError(f"sim-robot did not start ({' '.join(args[4:])}): {err.strip()[-2000:]}")


def stop_sim_robot(proc: subprocess.Popen, timeout_s: float = 15.0) -> int:
    """SIGTERM ``proc`` (a spawned sim-robot) and wait; kill it after ``timeout_s``. Returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def run_sim_robot(
    cfg: SimRobotConfig, stop: threading.Event | None = None, release: threading.Event | None = None
) -> dict:
    """Build the simulated robot from ``cfg``, serve DDS until done, write the report; returns it."""
    if cfg.physics_dt <= 0 or cfg.state_hz <= 0:
        raise ValueError("physics_dt and state_hz must be positive")
    from hover.deploy.unitree.dds import check_interface

    check_interface(cfg.net, "--net")
    if not 0 <= cfg.domain <= 232:
        raise ValueError(f"--domain must be in [0, 232], got {cfg.domain}")
    if cfg.duration_s < 0 or cfg.band_s < 0:
        raise ValueError("--duration-s and --band-s must be >= 0")
    if cfg.report is not None and not Path(cfg.report).parent.is_dir():
        raise FileNotFoundError(f"--report {cfg.report}: folder {Path(cfg.report).parent} does not exist")
    sim = SimRobot(
        cfg.robot,
        cfg.physics_dt,
        cfg.band_s if cfg.band else 0.0,
        parse_events(cfg.events),
        band=cfg.band,
        release=release,
    )
    report = sim.run(
        cfg.domain,
        cfg.net,
        cfg.duration_s,
        cfg.state_hz,
        cfg.realtime,
        cfg.viewer,
        wait_for_command=cfg.wait_for_command,
        stop=stop,
    )
    if cfg.report:
        from hover.io import atomic_write_json

        atomic_write_json(Path(cfg.report), report)
    return report
