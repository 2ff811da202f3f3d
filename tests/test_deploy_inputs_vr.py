"""VR input: calibration and frames (pure), and the real avp-stream client against a local gRPC server.

The server implements avp-stream's ``handtracking.HandTrackingService`` with the generated modules that
ship in the avp_stream wheel and streams ARKit-frame (y up, -z forward) poses like the headset does.
avp-stream is a heavy optional dependency (opencv, av, aiortc): that test is skipped without it.
"""

from __future__ import annotations

import math
import queue
import random
import signal
import time
from concurrent import futures

import numpy as np
import pytest

from hover.commands import command_layout, mask_for_mode
from hover.deploy.inputs import RobotView
from hover.deploy.inputs.vr import VRConfig, VRKeypoints, default_scale
from hover.robots import get_robot

ROBOT = get_robot("h1")
LAYOUT = command_layout(ROBOT)
HEAD, LEFT, RIGHT = (3 * LAYOUT.body_index(n) for n in ("head_link", "left_hand_link", "right_hand_link"))


def arkit_pose(robot_pos, yaw: float = 0.0) -> np.ndarray:
    """4x4 ARKit pose (x right, y up, z backward) of a point given in robot axes, turned ``yaw`` left."""
    x, y, z = robot_pos
    c, s = math.cos(yaw), math.sin(yaw)
    m = np.eye(4)
    m[:3, :3] = [[c, 0, s], [0, 1, 0], [-s, 0, c]]
    m[:3, 3] = (-y, z, -x)
    return m


def avp_pose(robot_pos, yaw: float = 0.0, head: bool = False) -> np.ndarray:
    """The same pose as avp-stream hands it out (z up; head turned -90 deg about x)."""
    yup2zup = np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1.0]])
    m = yup2zup @ arkit_pose(robot_pos, yaw)
    if head:
        rx = np.eye(4)
        rx[1:3, 1:3] = [[0, 1], [-1, 0]]  # rotation by -90 deg about x
        m = m @ rx
    return m


def rz(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def test_shape_file_scale_is_the_default():
    assert default_scale(VRConfig()) == pytest.approx(1.3176710298170042)
    assert default_scale(VRConfig(scale=0.8)) == 0.8


def test_keypoints_calibrate_to_the_robot_head_and_keep_lost_points():
    kp = VRKeypoints(ROBOT, scale=0.9)
    psi, h0 = 0.6, np.array([2.0, -1.0, 1.65])
    d_left = np.array([0.35, 0.25, -0.4])  # in the operator's own heading frame
    poses = {
        "head": avp_pose(h0, psi, head=True),
        "left_wrist": avp_pose(h0 + rz(psi) @ d_left),
        "right_wrist": avp_pose(h0 + rz(psi) @ (d_left * [1, -1, 1])),
    }
    kp.update(poses, now=1.0)
    np.testing.assert_allclose(kp.points["head"], kp.head_default, atol=1e-12)
    np.testing.assert_allclose(kp.points["left_wrist"], kp.head_default + 0.9 * d_left, atol=1e-12)
    assert kp.head_default[2] == pytest.approx(0.75) and kp.stamp() == 1.0
    lost = dict(poses, left_wrist=np.zeros((4, 4)), head=avp_pose(h0 + [0, 0, 0.1], psi, head=True))
    kp.update(lost, now=2.0)
    np.testing.assert_allclose(kp.points["left_wrist"], kp.head_default + 0.9 * d_left, atol=1e-12)
    assert kp.points["head"][2] == pytest.approx(kp.head_default[2] + 0.09)
    assert kp.stamp() == 1.0  # the lost hand holds the stamp back: the sample goes stale
    kp.update(dict(poses, right_wrist=np.full((4, 4), np.nan)), now=3.0)
    assert kp.good_at == {"head": 3.0, "left_wrist": 3.0, "right_wrist": 2.0}


def test_scale_from_operator_height():
    kp = VRKeypoints(ROBOT, scale=1.0, scale_from_height=True)
    kp.update(
        {
            "head": avp_pose([0, 0, 1.5], head=True),
            "left_wrist": avp_pose([0.3, 0.2, 1.5]),
            "right_wrist": avp_pose([0.3, -0.2, 1.5]),
        },
        now=0.0,
    )
    assert kp.scale == pytest.approx((ROBOT.root_init_height + 0.75) / 1.5)


# ---------------------------------------------------------------- real avp-stream over gRPC


def _matrix(msg, m: np.ndarray) -> None:
    for i in range(4):
        for j in range(4):
            setattr(msg, f"m{i}{j}", float(m[i, j]))


def hand_update(pb2, head, left, right):
    up = pb2.HandUpdate()
    _matrix(up.Head, head)
    for hand, wrist in ((up.left_hand, left), (up.right_hand, right)):
        _matrix(hand.wristMatrix, wrist)
        for _ in range(25):
            _matrix(hand.skeleton.jointMatrices.add(), np.eye(4))
    return up


def wait_until(pred, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.01)


@pytest.fixture
def headset():
    """A local gRPC server speaking avp-stream's handtracking proto on <random 127.x.y.z>:12345."""
    pytest.importorskip("avp_stream", reason="avp-stream not installed (pip install 'hover[deploy]')")
    grpc = pytest.importorskip("grpc")
    from avp_stream.grpc_msg import handtracking_pb2, handtracking_pb2_grpc

    class Headset(handtracking_pb2_grpc.HandTrackingServiceServicer):
        def __init__(self):
            self.queue: queue.Queue = queue.Queue()
            self.requests: list = []

        def StreamHandUpdates(self, request, context):  # noqa: N802 - the proto's name
            self.requests.append(request)
            while context.is_active():
                try:
                    msg = self.queue.get(timeout=0.02)
                except queue.Empty:
                    continue
                if msg is None:
                    return
                yield msg

    headset = Headset()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handtracking_pb2_grpc.add_HandTrackingServiceServicer_to_server(headset, server)
    for _ in range(20):
        ip = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
        if server.add_insecure_port(f"{ip}:12345"):
            break
    else:
        pytest.skip("no free loopback address for port 12345")
    server.start()
    headset.ip, headset.pb2 = ip, handtracking_pb2
    try:
        yield headset
    finally:
        headset.queue.put(None)
        server.stop(0)


def test_vr_through_the_real_avp_stream_client(headset):
    from hover.deploy.inputs.vr import VRInput

    pb2, h0, psi = headset.pb2, np.array([0.5, 0.2, 1.6]), -0.4
    d_left, d_right = np.array([0.3, 0.25, -0.35]), np.array([0.45, -0.2, -0.1])

    def update(head_pos, left, right):
        return hand_update(pb2, arkit_pose(head_pos, psi), left, right)

    left_ok, right_ok = arkit_pose(h0 + rz(psi) @ d_left, psi), arkit_pose(h0 + rz(psi) @ d_right, psi)
    headset.queue.put(update(h0, left_ok, right_ok))
    handler = signal.getsignal(signal.SIGINT)
    src = VRInput(ROBOT, LAYOUT, VRConfig(ip=headset.ip, scale=0.8))
    try:
        assert signal.getsignal(signal.SIGINT) is handler  # avp_stream's handlers are not kept
        view = RobotView(np.zeros(19), np.zeros(19), np.array([1.0, 0, 0, 0]), np.zeros(3))
        wait_until(lambda: src.command(view, time.monotonic()) is not None)
        assert headset.requests[0].Head.m00 == 888.0  # the client's discovery request
        s = src.command(view, time.monotonic())
        hd = src.keypoints.head_default
        assert s.mode == "omnih2o"
        np.testing.assert_array_equal(s.mask, mask_for_mode("omnih2o", LAYOUT).numpy())
        np.testing.assert_allclose(s.command[HEAD : HEAD + 3], hd, atol=1e-5)
        np.testing.assert_allclose(s.command[LEFT : LEFT + 3], hd + 0.8 * d_left, atol=1e-5)
        np.testing.assert_allclose(s.command[RIGHT : RIGHT + 3], hd + 0.8 * d_right, atol=1e-5)
        others = np.ones(LAYOUT.command_dim, bool)
        others[[*range(HEAD, HEAD + 3), *range(LEFT, LEFT + 3), *range(RIGHT, RIGHT + 3)]] = False
        assert np.all(s.command[others] == 0.0)

        # left hand lost (zero matrix) while the head moves up 0.1 m: left kept, stamp held back
        n = src.samples
        headset.queue.put(update(h0 + [0, 0, 0.1], np.zeros((4, 4)), right_ok))
        wait_until(lambda: src.samples > n)
        lost = src.command(view, time.monotonic())
        np.testing.assert_allclose(lost.command[HEAD + 2], hd[2] + 0.08, atol=1e-5)
        np.testing.assert_allclose(lost.command[LEFT : LEFT + 3], s.command[LEFT : LEFT + 3], atol=0)
        assert lost.stamp == s.stamp

        # back in view: fresh again
        n = src.samples
        headset.queue.put(update(h0, left_ok, right_ok))
        wait_until(lambda: src.samples > n)
        back = src.command(view, time.monotonic())
        assert back.stamp > s.stamp

        # stream goes quiet: no new sample, the stamp ages past the runner's 0.2 s limit
        time.sleep(0.3)
        quiet = src.command(view, time.monotonic())
        assert quiet.stamp == back.stamp and time.monotonic() - quiet.stamp > 0.2
    finally:
        src.close()
