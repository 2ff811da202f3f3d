"""Apple Vision Pro teleoperation through avp-stream: head and both wrists -> OmniH2O keypoint commands.

Data path: the headset runs the gRPC server (port 12345); avp-stream's ``VisionProStreamer(ip,
record=False)`` is the client, created in this source's own thread (its constructor blocks until the
first sample). The thread polls the streamer's latest sample every ``poll_period`` and stamps each new
sample with ``time.monotonic()`` on receipt (the stream carries no time stamps).

Frames (all right-handed, metres):

- avp-stream frame (what ``latest["head"|"left_wrist"|"right_wrist"]`` hold, 4x4 world poses): x
  right, y forward, z up, origin where the headset's session started (its ARKit Y-up frame turned
  z-up by the library; the head pose is turned so an upright head looking forward has identity).
- robot axes: x forward, y left, z up: ``p_robot = (p_avp.y, -p_avp.x, p_avp.z)``.
- operator frame: the robot command frame *at calibration*, i.e. relative to the robot's root (pelvis)
  in its heading frame (x forward, y left, z up) as it stood when the operator calibrated.
- command frame: relative to the robot's *current* root in its *current* heading frame (what
  :func:`hover.commands.command_from_vr` takes without a root pose, and what training's body commands
  are: :func:`hover.commands.builders.body_commands`, the reference's world point minus the robot's
  current root, in its heading frame).

Calibration (first valid sample, and again after :meth:`VRInput.calibrate`): the operator's head
position ``h0`` and heading ``psi0`` (yaw of the head's forward axis) are stored; then each point
``p`` maps to ``q = head_default + scale * Rz(-psi0) (p - h0)`` (operator frame) where
``head_default`` is the robot's ``head_link`` relative to its pelvis in the default pose. So the
operator's head at calibration is the robot's head (height and position relative to the pelvis), and
hands keep their offsets from the head, scaled human -> robot. ``scale``: the config value, else the
``scale`` entry of the shape-fit file (``hover/assets/retarget/h1_synthetic_shape.npz``: the global
scale fitted to SMPL with that file's betas), else ``fallback_scale``; ``scale_from_height=True``
instead sets it at calibration to robot head height / operator head height (useful for a real operator).
The receiving thread only computes these operator-frame points.

Anchoring (``VRConfig.anchor``), applied per runner tick in :meth:`VRInput.command`:

- ``"world"`` (default): the operator frame is tied to the robot's estimated root pose at the first
  command after a calibration, and follows it for ``anchor_settle_s`` (1 s) while the policy rises
  from the soft start's default pose to its own stance: position ``P0`` and heading ``yaw0`` from leg
  odometry (:class:`hover.deploy.odometry.LegOdometry`, updated from every tick's :class:`RobotView`
  in both ``events`` and ``command``: joint angles and IMU orientation; odometry world = the IMU's
  axes, yaw drifting with it). A point's world position
  is ``W = P0 + Rz(yaw0) q``; each tick's command is ``Rz(-yaw) (W - P)`` with the current estimate
  ``(P, yaw)``. An operator who steps 0.1 m sideways asks the robot to move its head (and so its
  pelvis) 0.1 m sideways in the world, as in training, not to lean 0.1 m over a pelvis that stays put;
  with the robot standing still the command is ``q`` (the root anchoring's). :meth:`VRInput.reset`
  (called when a :class:`~hover.deploy.inputs.switching.SwitchingInput` makes this the command source
  again) re-ties the operator frame to the robot's pose at the next command, keeping the operator's
  calibration, so the robot is not sent back to where it stood before.
- ``"root"``: the operator frame *is* the command frame (``q`` goes to the policy unchanged), the
  behaviour before leg odometry, kept for comparison.

Tracking loss: a pose with a non-finite entry or a rotation whose determinant is not ~1 (the app sends
zeros when a hand is lost) keeps that point's last good position; the sample's ``stamp`` is the receipt
time of the *oldest* of the three points' last good poses, so losing any one of them (or the whole
stream: no new sample) lets the stamp go stale and the runner's staleness check stops/holds.
avp-stream does not reconnect once the headset ends its stream: the source then stays stale (make
a new one to reconnect). Without a headset the receiving thread waits and ``command`` returns None.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

import hover
from hover.commands.builders import command_from_vr
from hover.commands.layout import CommandLayout
from hover.deploy.inputs.base import CommandSample, Event, RobotView, require
from hover.deploy.inputs.common import resolve_robot, to_sample
from hover.deploy.odometry import LegOdometry, RootEstimator, usable_reading
from hover.io import read_npz
from hover.kinematics import ForwardKinematics
from hover.robots import RobotSpec

SHAPE_PATH = Path(hover.__file__).resolve().parent / "assets" / "retarget" / "h1_synthetic_shape.npz"
AVP_TO_ROBOT = np.array(
    [[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
)  # p_robot = AVP_TO_ROBOT @ p_avp
POINTS = ("head", "left_wrist", "right_wrist")
ANCHORS = ("world", "root")


@dataclass
class VRConfig:
    ip: str = ""
    """the headset's IP address (its gRPC server listens on port 12345)"""
    scale: float | None = None
    """human -> robot length scale; None = the shape file's ``scale``, else ``fallback_scale``"""
    shape_path: str | None = None
    """shape-fit .npz holding ``scale``; None = the bundled H1 synthetic shape"""
    fallback_scale: float = 1.0
    scale_from_height: bool = False
    """set the scale at calibration from robot head height / operator head height"""
    poll_period: float = 0.002
    """how often the receiving thread looks for a new sample (s)"""
    det_tolerance: float = 0.1
    """a pose is valid when |det(R) - 1| is below this"""
    info_server: bool = False
    """let avp-stream open its WebRTC info HTTP server on port 8888 (not needed for gRPC hand tracking)"""
    anchor: Literal["world", "root"] = "world"
    """world: the operator's frame tied to the robot's pose (leg odometry) at calibration; root: the
    calibrated points taken as relative to the robot's current root (the behaviour before odometry)"""
    anchor_settle_s: float = 1.0
    """world anchor: the operator frame follows the robot this long after a calibration (s), then stays"""


def default_scale(config: VRConfig) -> float:
    """The configured scale, else the shape file's ``scale``, else ``fallback_scale``."""
    if config.scale is not None:
        return float(config.scale)
    path = Path(config.shape_path) if config.shape_path else SHAPE_PATH
    if not path.exists():
        if config.shape_path:
            raise FileNotFoundError(f"VR input: shape file {path} does not exist")
        return float(config.fallback_scale)
    data = read_npz(path, what="shape-fit .npz")
    if "scale" not in data:
        return float(config.fallback_scale)
    scale = float(data["scale"])
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"VR input: {path} holds a bad scale {scale}")
    return scale


def valid_pose(m: np.ndarray, tol: float = 0.1) -> bool:
    """A 4x4 pose is usable: finite, with a proper rotation (det ~ 1)."""
    return bool(np.all(np.isfinite(m)) and abs(np.linalg.det(m[:3, :3]) - 1.0) < tol)


def rot_z(yaw: float) -> np.ndarray:
    """Rotation matrix [3, 3] about z by ``yaw`` (rad)."""
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def head_yaw(head: np.ndarray) -> float:
    """Heading (rad, robot axes) of an avp-stream head pose: yaw of its forward (+y) axis."""
    fwd = AVP_TO_ROBOT @ head[:3, 1]
    return math.atan2(fwd[1], fwd[0])


class VRKeypoints:
    """Calibrated head/hand keypoints in the operator frame (module docstring) from avp-stream poses (no I/O).

    ``points``: name (``POINTS``) -> [3] m; ``good_at``: name -> receipt time of its last good pose (s);
    ``calibration``: how many calibrations happened (0 = none yet; a change re-ties a world anchor).
    """

    def __init__(
        self, robot: RobotSpec, scale: float, det_tolerance: float = 0.1, scale_from_height: bool = False
    ):
        self.scale = scale
        self.det_tolerance = det_tolerance
        self.scale_from_height = scale_from_height
        fk = ForwardKinematics(robot, dtype=torch.float64)
        joints = torch.tensor([[j.default_pos for j in robot.joints]], dtype=torch.float64)
        poses = fk(
            torch.zeros(1, 3, dtype=torch.float64),
            torch.tensor([[1.0, 0, 0, 0]], dtype=torch.float64),
            joints,
        )
        head = robot.mode_bodies["omnih2o"][0]  # head, left hand, right hand: the VR command's points
        self.head_default = (
            poses.pos[0, robot.body_index(head)].numpy().copy()
        )  # rel. the root, heading frame
        self.robot_head_height = float(robot.root_init_height + self.head_default[2])
        self.points: dict[str, np.ndarray] = {}
        self.good_at: dict[str, float] = {}
        self._calib: tuple[np.ndarray, float] | None = None
        self._want_calib = True
        self.calibration = 0

    def calibrate(self) -> None:
        """Re-calibrate on the next sample with a valid head pose."""
        self._want_calib = True

    @property
    def calibrated(self) -> bool:
        return self._calib is not None

    def update(self, poses: dict[str, np.ndarray], now: float) -> None:
        """New 4x4 poses (avp-stream frame; keys ``head``, ``left_wrist``, ``right_wrist``) received at ``now``."""
        head = np.asarray(poses["head"], dtype=np.float64).reshape(4, 4)
        if self._want_calib and valid_pose(head, self.det_tolerance):
            h0 = AVP_TO_ROBOT @ head[:3, 3]
            if self.scale_from_height and h0[2] > 0.5:
                self.scale = self.robot_head_height / float(h0[2])
            self._calib = (h0, head_yaw(head))
            self._want_calib = False
            self.calibration += 1
        if self._calib is None:
            return
        h0, psi = self._calib
        rz = rot_z(-psi)
        for name in POINTS:
            m = np.asarray(poses[name], dtype=np.float64).reshape(4, 4)
            if valid_pose(m, self.det_tolerance):
                self.points[name] = self.head_default + self.scale * (rz @ (AVP_TO_ROBOT @ m[:3, 3] - h0))
                self.good_at[name] = now

    def stamp(self) -> float | None:
        """Receipt time of the oldest of the three points' last good poses (None until all were seen)."""
        if len(self.good_at) < len(POINTS):
            return None
        return min(self.good_at.values())


class WorldAnchor:
    """The operator frame tied to the robot's estimated root pose (``VRConfig.anchor = "world"``).

    :meth:`observe` feeds each tick's :class:`RobotView` to a :class:`LegOdometry` (or another
    ``odometry``, e.g. a simulator's true pose; once per ``now``; readings with non-finite values are
    skipped). :meth:`command_points` ties the operator frame to the
    current estimate (``P0`` m, ``yaw0`` rad; odometry world) when the keypoints' calibration number
    differs from the one it is tied to (a new calibration, or :meth:`retie`), and keeps re-tying it to
    the current estimate for ``settle_s`` s after that (the operator frame follows the robot while it
    settles: the policy's stance is ~5 cm higher than the soft start's default pose, which a tie at
    the first POLICY tick would turn into a standing 5 cm crouch command); then it maps operator-frame
    points ``q`` [K, 3] to the command frame: ``Rz(-yaw) (P0 + Rz(yaw0) q - P)``.
    """

    def __init__(
        self, robot: RobotSpec, odometry: RootEstimator | None = None, settle_s: float = 1.0
    ) -> None:
        if not settle_s >= 0:
            raise ValueError(f"WorldAnchor: settle_s must be >= 0, got {settle_s}")
        self.odometry: RootEstimator = odometry or LegOdometry(robot)
        self.settle_s = settle_s
        self.tie: tuple[np.ndarray, float] | None = None  # (P0 [3] m, yaw0 rad), odometry world
        self._tied_to: int | None = None
        self._tied_at = 0.0  # s, when the current calibration was first tied
        self._observed_at: float | None = None

    @property
    def ready(self) -> bool:
        """The odometry has an estimate (at least one usable view was observed)."""
        return self.odometry.position is not None and self._observed_at is not None

    def observe(self, view: RobotView, now: float) -> None:
        """Update the odometry from this tick's view (joint angles, IMU quaternion; ``now`` in s, the time
        since the last update is the odometry's ``dt``); a second call with the same ``now`` (``events``
        then ``command`` in one tick) does nothing."""
        if now == self._observed_at or not usable_reading(view.joint_pos, view.root_quat):
            return
        dt = None if self._observed_at is None else now - self._observed_at
        self.odometry.update(view.joint_pos, view.root_quat, dt)
        self._observed_at = now

    def retie(self) -> None:
        """Tie the operator frame to the robot's pose again from the next :meth:`command_points` on."""
        self._tied_to = None

    def pose(self) -> tuple[np.ndarray, float]:
        """The current root estimate: position [3] (m) and heading (rad), odometry world."""
        pos, yaw = self.odometry.position, self.odometry.yaw
        if pos is None or yaw is None:
            raise RuntimeError("WorldAnchor: no robot view observed yet")
        return pos, yaw

    @property
    def settled(self) -> bool:
        """The tie is fixed in the world (``settle_s`` has passed since it was made)."""
        now = self._observed_at
        return self._tied_to is not None and now is not None and now - self._tied_at >= self.settle_s

    def command_points(self, points: np.ndarray, calibration: int) -> np.ndarray:
        """Operator-frame points [K, 3] (m) -> command frame [K, 3] (m) with the current root estimate."""
        pos, yaw = self.pose()
        now = self._observed_at if self._observed_at is not None else 0.0
        if calibration != self._tied_to:
            self._tied_to, self._tied_at, self.tie = calibration, now, None
        if self.tie is None or not self.settled:
            self.tie = (pos.copy(), yaw)
        p0, yaw0 = self.tie
        world = p0 + points @ rot_z(yaw0).T
        return (world - pos) @ rot_z(yaw)  # rows: Rz(-yaw) (world - pos)


def command_points(keypoints: VRKeypoints, anchor: WorldAnchor | None = None) -> np.ndarray | None:
    """Head, left hand, right hand [3, 3] (m, command frame): the keypoints' operator-frame points,
    through ``anchor`` (None: root anchoring, unchanged). None until all three were seen, or while the
    anchor has no robot estimate."""
    if len(keypoints.points) < len(POINTS) or (anchor is not None and not anchor.ready):
        return None
    points = np.stack([keypoints.points[k] for k in POINTS])
    return points if anchor is None else anchor.command_points(points, keypoints.calibration)


def points_sample(points: np.ndarray, stamp: float, layout: CommandLayout) -> CommandSample:
    """The OmniH2O command of head, left hand, right hand ``points`` [3, 3] (m, command frame)."""
    head, left, right = (torch.from_numpy(np.array(p, dtype=np.float64))[None] for p in points)
    command, mask = command_from_vr(head, left, right, layout=layout)
    return to_sample(command, mask, "omnih2o", stamp)


def keypoints_sample(
    keypoints: VRKeypoints, layout: CommandLayout, anchor: WorldAnchor | None = None
) -> CommandSample | None:
    """The OmniH2O command of the calibrated keypoints (head, left hand, right hand; command frame
    through ``anchor``, which has observed this tick's robot view; None = root anchoring), stamped with
    the receipt time of the oldest point's last good pose; None until all three were seen. What
    :meth:`VRInput.command` returns (also used by simulated streams)."""
    stamp = keypoints.stamp()
    points = command_points(keypoints, anchor)
    if stamp is None or points is None:
        return None
    return points_sample(points, stamp, layout)


def avp_pose(point: np.ndarray, yaw: float = 0.0) -> np.ndarray:
    """The avp-stream 4x4 pose (avp-stream frame) of a point given in robot axes (x forward, y left,
    z up; m) turned by ``yaw`` (rad) about z: the inverse of the frame change above, so
    ``head_yaw(avp_pose(p, yaw)) == yaw``. For simulated streams and tests."""
    m = np.eye(4)
    m[:3, :3] = rot_z(yaw)
    m[:3, 3] = AVP_TO_ROBOT.T @ np.asarray(point, dtype=np.float64)
    return m


def _import_streamer():
    """avp_stream.VisionProStreamer, importing without keeping the signal handlers avp_stream installs."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        require("avp_stream", "avp-stream", "the VR input")
        from avp_stream import VisionProStreamer
    finally:
        if threading.current_thread() is threading.main_thread():
            for s, h in saved.items():
                signal.signal(s, h)
    return VisionProStreamer


class VRInput:
    """Vision Pro head + wrists -> OmniH2O command (see the module docstring)."""

    name = "vr"

    def __init__(
        self,
        robot: RobotSpec | str | None = None,
        layout: CommandLayout | None = None,
        config: VRConfig | None = None,
    ) -> None:
        self.robot, self.layout = resolve_robot(robot, layout)
        self.config = config or VRConfig()
        if not self.config.ip:
            raise ValueError("VR input needs the headset's address: vr:<ip>")
        if self.config.anchor not in ANCHORS:
            raise ValueError(f"VR input: anchor {self.config.anchor!r}, choose from {', '.join(ANCHORS)}")
        self.anchor = (
            WorldAnchor(self.robot, settle_s=self.config.anchor_settle_s)
            if self.config.anchor == "world"
            else None
        )
        streamer_cls = _import_streamer()
        self.keypoints = VRKeypoints(
            self.robot, default_scale(self.config), self.config.det_tolerance, self.config.scale_from_height
        )
        self.samples = 0  # new samples received
        self.error: BaseException | None = None
        self.streamer: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._cls = self._streamer_class(streamer_cls)
        self._thread = threading.Thread(target=self._run, name="vr-input", daemon=True)
        self._thread.start()

    def _streamer_class(self, base):
        if self.config.info_server:
            return base

        class _Streamer(base):  # no WebRTC discovery HTTP server: hand tracking over gRPC only
            def _start_info_server(self, port=8888):
                """Not started: this input reads hand tracking over gRPC only."""

        return _Streamer

    def _run(self) -> None:
        try:
            self.streamer = self._cls(ip=self.config.ip, record=False)  # blocks until the first sample
        except BaseException as exc:  # noqa: BLE001 - reported through self.error
            self.error = exc
            return
        last = None
        while not self._stop.is_set():
            latest = self.streamer.latest
            if latest is not None and latest is not last:
                last = latest
                now = time.monotonic()
                poses = {k: np.asarray(latest[k], dtype=np.float64).reshape(4, 4) for k in POINTS}
                with self._lock:
                    self.keypoints.update(poses, now)
                    self.samples += 1
            self._stop.wait(self.config.poll_period)

    def calibrate(self) -> None:
        """Re-calibrate (operator standing upright, looking forward) on the next valid head pose."""
        with self._lock:
            self.keypoints.calibrate()

    def reset(self) -> None:
        """This source is the command source again: re-tie the world anchor at the next command (the
        operator's calibration is kept)."""
        if self.anchor is not None:
            self.anchor.retie()

    def events(self, view: RobotView, now: float) -> list[Event]:
        if self.anchor is not None:  # every tick, also while another source commands
            self.anchor.observe(view, now)
        return []

    def command(self, view: RobotView, now: float) -> CommandSample | None:
        if self.anchor is not None:
            self.anchor.observe(view, now)
        with self._lock:
            return keypoints_sample(self.keypoints, self.layout, self.anchor)

    def close(self) -> None:
        """Stop the receiving thread (the streamer's own gRPC thread is a daemon and ends with the stream)."""
        self._stop.set()
        self._thread.join(timeout=1.0)
        if self.streamer is not None:
            with contextlib.suppress(Exception):  # best effort on shutdown
                self.streamer.cleanup()
