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
- command frame: relative to the robot's root (pelvis) in its heading frame (what
  :func:`hover.commands.command_from_vr` takes without a root pose).

Calibration (first valid sample, and again after :meth:`VRInput.calibrate`): the operator's head
position ``h0`` and heading ``psi0`` (yaw of the head's forward axis) are stored; then each point
``p`` maps to ``head_default + scale * Rz(-psi0) (p - h0)`` where ``head_default`` is the robot's
``head_link`` relative to its pelvis in the default pose. So the operator's head at calibration is the
robot's head (height and position relative to the pelvis), and hands keep their offsets from the
head, scaled human -> robot. ``scale``: the config value, else the ``scale`` entry of the shape-fit
file (``hover/assets/retarget/h1_synthetic_shape.npz``: the global scale fitted to SMPL with that
file's betas), else ``fallback_scale``; ``scale_from_height=True`` instead sets it at calibration to
robot head height / operator head height (useful for a real operator).

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
from typing import Any

import numpy as np
import torch

import hover
from hover.commands.builders import command_from_vr
from hover.commands.layout import CommandLayout
from hover.deploy.inputs.base import CommandSample, Event, RobotView, require
from hover.deploy.inputs.common import resolve_robot, to_sample
from hover.io import read_npz
from hover.kinematics import ForwardKinematics
from hover.robots import RobotSpec

SHAPE_PATH = Path(hover.__file__).resolve().parent / "assets" / "retarget" / "h1_synthetic_shape.npz"
AVP_TO_ROBOT = np.array(
    [[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
)  # p_robot = AVP_TO_ROBOT @ p_avp
POINTS = ("head", "left_wrist", "right_wrist")


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


def head_yaw(head: np.ndarray) -> float:
    """Heading (rad, robot axes) of an avp-stream head pose: yaw of its forward (+y) axis."""
    fwd = AVP_TO_ROBOT @ head[:3, 1]
    return math.atan2(fwd[1], fwd[0])


class VRKeypoints:
    """Calibrated head/hand keypoints in the robot command frame from avp-stream poses (no I/O)."""

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
        if self._calib is None:
            return
        h0, psi = self._calib
        c, s = math.cos(-psi), math.sin(-psi)
        rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
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


def keypoints_sample(keypoints: VRKeypoints, layout: CommandLayout) -> CommandSample | None:
    """The OmniH2O command of the calibrated keypoints (head, left hand, right hand; robot command
    frame), stamped with the receipt time of the oldest point's last good pose; None until all three
    were seen. What :meth:`VRInput.command` returns (also used by simulated streams)."""
    stamp = keypoints.stamp()
    if stamp is None:
        return None
    head, left, right = (torch.from_numpy(keypoints.points[k].copy())[None] for k in POINTS)
    command, mask = command_from_vr(head, left, right, layout=layout)
    return to_sample(command, mask, "omnih2o", stamp)


def avp_pose(point: np.ndarray, yaw: float = 0.0) -> np.ndarray:
    """The avp-stream 4x4 pose (avp-stream frame) of a point given in robot axes (x forward, y left,
    z up; m) turned by ``yaw`` (rad) about z: the inverse of the frame change above, so
    ``head_yaw(avp_pose(p, yaw)) == yaw``. For simulated streams and tests."""
    c, s = math.cos(yaw), math.sin(yaw)
    m = np.eye(4)
    m[:3, :3] = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
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

    def events(self, view: RobotView, now: float) -> list[Event]:
        return []

    def command(self, view: RobotView, now: float) -> CommandSample | None:
        with self._lock:
            return keypoints_sample(self.keypoints, self.layout)

    def close(self) -> None:
        """Stop the receiving thread (the streamer's own gRPC thread is a daemon and ends with the stream)."""
        self._stop.set()
        self._thread.join(timeout=1.0)
        if self.streamer is not None:
            with contextlib.suppress(Exception):  # best effort on shutdown
                self.streamer.cleanup()
