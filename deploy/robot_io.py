"""The runner's robot interface: Unitree H1 low-level state and commands over DDS.

:class:`DdsRobot` reads ``rt/lowstate`` (``LowState_``) and writes ``rt/lowcmd`` (``LowCmd_``) with
``hover.deploy.unitree``: CRC checked on receipt and set before every write, the H1 motor slot map
with weak/strong motor modes and stop placeholders, the torso IMU rotated into the pelvis frame.
The same class talks to the real robot (``--net eth0 --domain 0``) and to ``hover sim-robot``
(``--net lo --domain 1``).

Every sample is counted (:class:`hover.deploy.link.LinkCounts`): accepted, or refused for a bad CRC, a
tick that did not advance, or non-finite values. ``accept_zero_crc`` accepts samples whose ``crc`` is 0
(peers that do not fill it); off by default, a real robot always fills it.

Thread safety: :meth:`DdsRobot.read` is called by the policy loop, :meth:`DdsRobot.write` by the
policy loop and the publishing thread; writes are serialised by a lock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import cast

import numpy as np

from hover.deploy.state_machine import MotorTargets
from hover.deploy.unitree.h1_io import H1LowLevel, LowStateView
from hover.robots import DEFAULT_ROBOT, RobotSpec, get_robot


@dataclass
class RobotReading:
    """The newest decoded robot state and when it was received / last advanced (``time.monotonic()`` s)."""

    view: LowStateView
    received: float  # receipt time of this sample
    tick_advanced: float  # receipt time of the newest sample whose tick differed from its predecessor
    remote_bytes: bytes  # the 40 wireless_remote bytes as sent
    finite: bool = True  # False: NaN/inf in the joints or the IMU (counted as refused; the runner damps)


class DdsRobot:
    """LowState_ in, LowCmd_ out over DDS on ``domain_id`` / ``interface`` (see the module docstring)."""

    def __init__(
        self,
        robot: RobotSpec | str = DEFAULT_ROBOT,
        domain_id: int = 0,
        interface: str | None = None,
        check_crc: bool = True,
        accept_zero_crc: bool = False,
    ) -> None:
        from hover.deploy.link import LinkCounts
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
        self.accept_zero_crc = accept_zero_crc
        self.domain_id, self.interface = domain_id, interface
        self.latest: RobotReading | None = None
        self.counts = LinkCounts()
        self.written = 0

    @property
    def received(self) -> int:
        """Samples accepted (as before the refusal counts existed)."""
        return self.counts.accepted

    @property
    def bad_crc(self) -> int:
        return self.counts.refused["crc"]

    def read(self) -> RobotReading | None:
        """Take every pending LowState_ and return the newest accepted one (None before the first).

        Refused samples (bad CRC, tick not advancing) are counted in :attr:`counts` and dropped; a
        sample with non-finite values is counted as refused but returned with ``finite=False`` so the
        runner can go to damping at once.
        """
        from hover.deploy.unitree.packing import crc_ok

        samples = self._reader.take(N=16)
        now = time.monotonic()
        c = self.counts
        for msg in samples:
            if not isinstance(msg, self._state_type):  # InvalidSample: the publisher went away
                continue
            c.received += 1
            c.last_received = now
            if self.check_crc and not (self.accept_zero_crc and int(msg.crc) == 0) and not crc_ok(msg):
                c.refuse("crc")
                c.zero_crc += int(msg.crc) == 0
                continue
            prev = self.latest
            tick = int(msg.tick)
            if prev is not None and 0 <= (prev.view.tick - tick) % 2**32 < 1000:  # same or up to 1 s older
                c.refuse("stale_tick")
                continue
            view = self.io.decode_low_state(msg)
            finite = bool(
                np.all(
                    np.isfinite(
                        np.concatenate(
                            [view.joint_pos, view.joint_vel, view.pelvis_quat, view.pelvis_ang_vel]
                        )
                    )
                )
            )
            if finite:
                c.accepted += 1
                c.first_accepted = now if c.first_accepted is None else c.first_accepted
                c.last_accepted = now
            else:
                c.refuse("non_finite")
            self.latest = RobotReading(view, now, now, bytes(cast("list[int]", msg.wireless_remote)), finite)
        return self.latest

    def describe(self) -> str:
        return f"domain {self.domain_id}, interface {self.interface or 'any'}"

    def write(self, targets: MotorTargets) -> None:
        """Encode ``targets`` (policy order) into a LowCmd_ with CRC and publish it.

        Raises ValueError (from the encoder) if any value is non-finite: nothing non-finite is sent.
        """
        with self._lock:
            msg = self.io.encode_low_cmd(
                self._msg, targets.q, targets.kp, targets.kd, targets.dq, targets.tau
            )
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
