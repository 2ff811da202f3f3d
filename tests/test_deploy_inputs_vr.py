"""VR input: calibration and frames (pure), the world anchoring through leg odometry (robot views from
the built-in clips' joint angles and pelvis orientations), and the real avp-stream client against a
local gRPC server.

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
from hover.deploy.inputs import RobotView, make_input
from hover.deploy.inputs.vr import (
    VRConfig,
    VRKeypoints,
    WorldAnchor,
    command_points,
    default_scale,
    keypoints_sample,
)
from hover.deploy.odometry import yaw_of
from hover.motion.builtin import load_builtin_motions
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


DEFAULT = np.array([j.default_pos for j in ROBOT.joints])
UPRIGHT = RobotView(DEFAULT, np.zeros(19), np.array([1.0, 0.0, 0.0, 0.0]), np.zeros(3))


@pytest.fixture(scope="module")
def clips():
    return {c.name: c for c in load_builtin_motions(ROBOT)}


def clip_view(clip, k: int) -> RobotView:
    """The runner's view of a robot in frame ``k`` of a clip: its joint angles and pelvis orientation."""
    return RobotView(clip.joint_pos[k], np.zeros(19), clip.root_quat[k], np.zeros(3))


def operator(head, left, right, psi: float = 0.0) -> dict[str, np.ndarray]:
    """avp-stream poses of an operator's head and wrists (robot axes, m), head turned ``psi``."""
    return {
        "head": avp_pose(head, psi, head=True),
        "left_wrist": avp_pose(left),
        "right_wrist": avp_pose(right),
    }


def test_world_anchor_is_the_root_anchor_while_the_robot_stands_still():
    rng = np.random.default_rng(1)
    kp, anchor = VRKeypoints(ROBOT, scale=1.1), WorldAnchor(ROBOT)
    h0 = np.array([1.0, 2.0, 1.6])
    for k in range(20):
        head = h0 + rng.uniform(-0.2, 0.2, 3) * (k > 0)
        kp.update(
            operator(head, head + rng.uniform(-0.5, 0.5, 3), head + rng.uniform(-0.5, 0.5, 3), 0.3), k * 0.02
        )
        anchor.observe(UPRIGHT, k * 0.02)
        np.testing.assert_allclose(command_points(kp, anchor), command_points(kp), atol=1e-12)
        world, root = keypoints_sample(kp, LAYOUT, anchor), keypoints_sample(kp, LAYOUT)
        np.testing.assert_allclose(world.command, root.command, atol=1e-6)
        assert world.stamp == root.stamp == k * 0.02 and world.mode == "omnih2o"
    assert anchor.odometry.updates == 20


def test_anchor_needs_a_robot_view():
    kp, anchor = VRKeypoints(ROBOT, scale=1.0), WorldAnchor(ROBOT)
    kp.update(operator([0, 0, 1.6], [0.3, 0.2, 1.2], [0.3, -0.2, 1.2]), 0.0)
    assert keypoints_sample(kp, LAYOUT, anchor) is None  # no view yet
    anchor.observe(RobotView(np.full(19, np.nan), np.zeros(19), np.array([1.0, 0, 0, 0]), np.zeros(3)), 0.0)
    assert not anchor.ready  # an unusable view is skipped
    anchor.observe(UPRIGHT, 0.0)
    assert anchor.ready and keypoints_sample(kp, LAYOUT, anchor) is not None
    anchor.observe(UPRIGHT, 0.0)  # events and command in one tick: one update
    assert anchor.odometry.updates == 1


def test_operator_and_robot_shifting_together_keep_the_command(clips):
    """stand_idle: the robot's pelvis moves 0.107 m sideways over its feet. An operator who shifts the
    same way: world anchoring keeps the head target (up to the odometry's error and the robot's small
    turn); root anchoring would ask for a 0.1 m lean over the pelvis. (``settle_s=0``: tied at once.)"""
    clip = clips["stand_idle"]
    k = int(np.argmax(np.abs(clip.root_pos[:, 1] - clip.root_pos[0, 1])))
    yaw0 = yaw_of(clip.root_quat[0])
    # the pelvis shift, in the heading frame at calibration
    shift = rz(-yaw0) @ (clip.root_pos[k] - clip.root_pos[0])
    assert abs(shift[1]) > 0.1
    kp, anchor = VRKeypoints(ROBOT, scale=1.0), WorldAnchor(ROBOT, settle_s=0.0)
    psi, h0 = 0.4, np.array([0.5, -1.0, 1.7])
    d_left, d_right = np.array([0.3, 0.2, -0.4]), np.array([0.3, -0.2, -0.4])
    for i in range(k + 1):  # the operator moves like the robot's pelvis, 50 Hz
        d = rz(-yaw0) @ (clip.root_pos[i] - clip.root_pos[0])
        head = h0 + rz(psi) @ d
        kp.update(operator(head, head + rz(psi) @ d_left, head + rz(psi) @ d_right, psi), i * 0.02)
        anchor.observe(clip_view(clip, i), i * 0.02)
        world = command_points(kp, anchor)
        if i == 0:
            np.testing.assert_allclose(world, command_points(kp), atol=1e-12)  # tied at calibration
    root = command_points(kp)
    turn = rz(yaw0 - yaw_of(clip.root_quat[k]))
    expected = kp.head_default + np.stack([np.zeros(3), d_left, d_right])  # what it was at calibration
    np.testing.assert_allclose(world, expected @ turn.T, atol=0.01)
    np.testing.assert_allclose(root, expected + shift, atol=1e-9)  # the lean the root anchoring asks for
    assert np.linalg.norm(root[0] - world[0]) > 0.09


def test_a_turning_robot_gets_the_points_in_its_new_heading_frame(clips):
    """turn_in_place: the robot turns 0.9 rad while the operator stands still; the world points stay, so
    the command is them relative to the robot's new root and heading (truth: the clip's pelvis)."""
    clip = clips["turn_in_place"]
    kp, anchor = VRKeypoints(ROBOT, scale=1.0), WorldAnchor(ROBOT, settle_s=0.0)
    poses = operator([0, 0, 1.6], [0.35, 0.25, 1.2], [0.35, -0.25, 1.2])
    for i in range(len(clip.root_pos)):
        kp.update(poses, i * 0.02)
        anchor.observe(clip_view(clip, i), i * 0.02)
        world = command_points(kp, anchor)
    q = command_points(kp)  # operator frame (= the root anchoring's command)
    yaw0, yaw1 = yaw_of(clip.root_quat[0]), yaw_of(clip.root_quat[-1])
    assert abs(math.remainder(yaw1 - yaw0, 2 * math.pi)) > 0.8
    w = clip.root_pos[0] + q @ rz(yaw0).T  # world points (clip frame) tied at the start
    truth = (w - clip.root_pos[-1]) @ rz(yaw1)
    np.testing.assert_allclose(world, truth, atol=0.01)
    assert np.linalg.norm(world[1:] - q[1:], axis=-1).min() > 0.2  # the hands turned away


def test_recalibration_and_retie_take_the_robot_where_it_is(clips):
    clip = clips["stand_idle"]
    k = int(np.argmax(np.abs(clip.root_pos[:, 1] - clip.root_pos[0, 1])))
    kp, anchor = VRKeypoints(ROBOT, scale=1.0), WorldAnchor(ROBOT, settle_s=0.0)
    poses = operator([0, 0, 1.6], [0.35, 0.25, 1.2], [0.35, -0.25, 1.2])
    kp.update(poses, 0.0)
    anchor.observe(clip_view(clip, 0), 0.0)
    command_points(kp, anchor)
    anchor.observe(clip_view(clip, k), 1.0)
    assert np.linalg.norm(command_points(kp, anchor) - command_points(kp)) > 0.1  # the robot moved away
    anchor.retie()  # e.g. this source selected again: tied to the robot's pose now
    np.testing.assert_allclose(command_points(kp, anchor), command_points(kp), atol=1e-12)
    anchor.observe(clip_view(clip, 0), 2.0)
    assert np.linalg.norm(command_points(kp, anchor) - command_points(kp)) > 0.1
    kp.calibrate()
    kp.update(poses, 2.0)
    assert kp.calibration == 2
    np.testing.assert_allclose(command_points(kp, anchor), command_points(kp), atol=1e-12)


def test_the_anchor_follows_the_robot_while_it_settles(clips):
    """For ``settle_s`` after the tie the operator frame moves with the robot (the command is the
    operator-frame point, as with root anchoring), then it stays where the robot was at that moment."""
    clip = clips["stand_idle"]
    kp, anchor = VRKeypoints(ROBOT, scale=1.0), WorldAnchor(ROBOT, settle_s=1.0)
    kp.update(operator([0, 0, 1.6], [0.35, 0.25, 1.2], [0.35, -0.25, 1.2]), 0.0)
    for i in range(len(clip.root_pos)):
        anchor.observe(clip_view(clip, i), i * 0.02)
        world = command_points(kp, anchor)
        if i * 0.02 < 1.0 - 1e-9:
            assert not anchor.settled
            np.testing.assert_allclose(world, command_points(kp), atol=1e-12)
            last_followed = anchor.odometry.position.copy()
        else:
            assert anchor.settled
    np.testing.assert_allclose(anchor.tie[0], last_followed, atol=1e-12)
    assert np.linalg.norm(world[0] - command_points(kp)[0]) > 0.05  # the robot swayed away since
    with pytest.raises(ValueError, match="settle_s"):
        WorldAnchor(ROBOT, settle_s=-1.0)


def test_vr_anchor_option():
    assert VRConfig().anchor == "world"
    with pytest.raises(ValueError, match="anchor"):
        make_input("vr:127.0.0.1", ROBOT, LAYOUT, anchor="pelvis")  # checked before any connection


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


def test_vr_through_the_real_avp_stream_client(headset, clips):
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
        view = clip_view(clips["stand_idle"], 0)  # the robot standing; world anchoring ties to it
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

        # world anchoring (the default): events alone keep the odometry going; the robot's pelvis moves
        # over its feet (stand_idle, 0.1 m sideways) -> the head target stays in the world
        assert src.anchor is not None and src.config.anchor == "world"
        clip = clips["stand_idle"]
        t0 = time.monotonic() + src.config.anchor_settle_s  # the tie has settled by then
        for i in range(len(clip.root_pos)):
            src.events(clip_view(clip, i), t0 + i * 0.02)
        assert src.anchor.odometry.updates >= len(clip.root_pos)
        end = clip_view(clip, len(clip.root_pos) - 1)
        shifted = src.command(end, t0 + len(clip.root_pos) * 0.02)
        assert src.anchor.settled
        yaw0, yaw1 = yaw_of(view.root_quat), yaw_of(end.root_quat)
        truth = rz(-yaw1) @ (rz(yaw0) @ hd - (clip.root_pos[-1] - clip.root_pos[0]))
        np.testing.assert_allclose(shifted.command[HEAD : HEAD + 3], truth, atol=0.01)
    finally:
        src.close()
