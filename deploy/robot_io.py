"""The runner's robot interface: Unitree H1 low-level state and commands over DDS.

:class:`DdsRobot` reads ``rt/lowstate`` (``LowState_``) and writes ``rt/lowcmd`` (``LowCmd_``) with
``hover.deploy.unitree``: CRC checked on receipt and set before every write, the H1 motor slot map
with weak/strong motor modes and stop placeholders, the torso IMU rotated into the pelvis frame.
The same class talks to the real robot (``--net eth0 --domain 0``) and to ``hover sim-robot``
(``--net lo --domain 1``).

Thread safety: :meth:`DdsRobot.read` is called by the policy loop, :meth:`DdsRobot.write` by the
policy loop and the publishing thread; writes are serialised by a lock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from hover.deploy.state_machine import MotorTargets
from hover.deploy.unitree.h1_io import H1LowLevel, LowStateView
from hover.robots import RobotSpec, get_robot


@dataclass
class RobotReading:
    """The newest decoded robot state and when it was received / last advanced (``time.monotonic()`` s)."""

    view: LowStateView
    received: float  # receipt time of this sample
    tick_advanced: float  # receipt time of the newest sample whose tick differed from its predecessor
    remote_bytes: bytes  # the 40 wireless_remote bytes as sent


class DdsRobot:
    """LowState_ in, LowCmd_ out over DDS on ``domain_id`` / ``interface`` (see the module docstring)."""

    def __init__(self, robot: RobotSpec | str = "h1", domain_id: int = 0, interface: str | None = None,
                 check_crc: bool = True) -> None:  # fmt: skip
        from hover.deploy.unitree.dds import open_domain
        from hover.deploy.unitree.messages import (
            TOPIC_LOWCMD,
            TOPIC_LOWSTATE,
            LowCmd_,
            LowState_,
            new_low_cmd,
        )

        self.robot = get_robot(robot) if isinstance(robot, str) else robot
        self.io = H1LowLevel(self.robot)
        self.dds = open_domain(domain_id, interface)
        self._reader = self.dds.reader(TOPIC_LOWSTATE, LowState_)
        self._state_type = LowState_
        self._writer = self.dds.writer(TOPIC_LOWCMD, LowCmd_)
        self._msg = new_low_cmd()
        self._lock = threading.Lock()
        self.check_crc = check_crc
        self.latest: RobotReading | None = None
        self.bad_crc = 0
        self.received = 0
        self.written = 0

    def read(self) -> RobotReading | None:
        """Take every pending LowState_ and return the newest (None before the first one arrives).

        Samples with a wrong CRC are dropped (counted in ``bad_crc``).
        """
        from hover.deploy.unitree.packing import crc_ok

        samples = self._reader.take(N=16)
        now = time.monotonic()
        for msg in samples:
            if not isinstance(msg, self._state_type):  # InvalidSample: the publisher went away
                continue
            if self.check_crc and not crc_ok(msg):
                self.bad_crc += 1
                continue
            self.received += 1
            prev = self.latest
            view = self.io.decode_low_state(msg)
            advanced = now if prev is None or view.tick != prev.view.tick else prev.tick_advanced
            self.latest = RobotReading(view, now, advanced, bytes(msg.wireless_remote))
        return self.latest

    def write(self, targets: MotorTargets) -> None:
        """Encode ``targets`` (policy order) into a LowCmd_ with CRC and publish it.

        Raises ValueError (from the encoder) if any value is non-finite: nothing non-finite is sent.
        """
        with self._lock:
            msg = self.io.encode_low_cmd(self._msg, targets.q, targets.kp, targets.kd, targets.dq, targets.tau)
            self._writer.write(msg)
            self.written += 1

    def close(self) -> None:
        """Release the DDS entities (the participant goes with the object)."""
        self._reader = self._writer = None  # type: ignore[assignment]


def zero_torque(robot: RobotSpec) -> MotorTargets:
    """kp = kd = tau = 0 (the robot's motors exert nothing), targets at the default pose."""
    j = robot.num_joints
    q = np.array([jt.default_pos for jt in robot.joints], dtype=np.float64)
    z = np.zeros(j)
    return MotorTargets(q, z, z.copy(), z.copy(), z.copy())
