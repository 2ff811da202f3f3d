"""Deploy input sources: idle, gamepad logic, Unitree remote, keyboard, playback, switching, make_input.

The pygame joystick (virtual SDL pad) is in test_deploy_inputs_joystick.py and the VR source (real
avp-stream client against a local gRPC server) in test_deploy_inputs_vr.py.
"""

from __future__ import annotations

import math
import os
import re
import sys

import numpy as np
import pytest
import torch

from hover.commands import (
    apply_mask,
    command_from_joystick,
    command_from_reference,
    command_layout,
    mask_for_mode,
)
from hover.commands.modes import MODE_NAMES
from hover.deploy.inputs import Event, GamepadCommander, GamepadConfig, PadState, RobotView, make_input
from hover.deploy.inputs.idle import IdleInput
from hover.deploy.inputs.keyboard import KeyboardInput
from hover.deploy.inputs.playback import PlaybackConfig, PlaybackInput
from hover.deploy.inputs.unitree_remote import UnitreeRemoteInput
from hover.deploy.unitree.remote import RemoteState, pack_remote
from hover.robots import get_robot
from hover.rotations import quat_from_euler_xyz

ROBOT = get_robot("h1")
LAYOUT = command_layout(ROBOT)


def view(yaw: float = 0.0, joint_pos: np.ndarray | None = None, remote: bytes | None = None) -> RobotView:
    quat = np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])
    jp = np.array([j.default_pos for j in ROBOT.joints]) if joint_pos is None else joint_pos
    return RobotView(jp, np.zeros(19), quat, np.zeros(3), wireless_remote=remote)


def expected_locomotion(vx: float, vy: float, height: float, yaw_delta: float) -> np.ndarray:
    cmd, _ = command_from_joystick(
        torch.tensor([[vx, vy]], dtype=torch.float64),
        torch.tensor([height], dtype=torch.float64),
        torch.tensor([yaw_delta], dtype=torch.float64),
        layout=LAYOUT,
    )
    return cmd[0].float().numpy()


def assert_masked_zero(sample) -> None:
    keep = np.concatenate((np.repeat(sample.mask[: LAYOUT.num_bodies], 3), sample.mask[LAYOUT.num_bodies :]))
    assert np.all(sample.command[keep == 0] == 0.0)
    assert sample.command.dtype == np.float32 and sample.mask.dtype == np.float32


def test_idle_stands_still_at_default_height_and_current_heading():
    src = IdleInput(ROBOT, LAYOUT)
    s = src.command(view(yaw=2.0), now=12.5)
    assert s.mode == "locomotion" and s.stamp == 12.5 and src.events(view(), 12.5) == []
    np.testing.assert_array_equal(s.mask, mask_for_mode("locomotion", LAYOUT).numpy())
    root = s.command[LAYOUT.root_columns]
    np.testing.assert_allclose(root, [0, 0, 0, 0, 0, 0, ROBOT.root_init_height], atol=1e-7)
    assert_masked_zero(s)


def test_gamepad_sticks_dead_zone_limits_and_button_edges():
    cfg = GamepadConfig(max_lin_vel_x=1.0, max_lin_vel_x_back=0.4, max_lin_vel_y=0.5, dead_zone=0.1)
    pad = GamepadCommander(ROBOT, LAYOUT, cfg)
    assert pad.command(view(), 0.0) is None  # no reading yet
    pad.update(PadState(lx=0.05, ly=1.0, buttons=frozenset({"A"})), now=1.0)
    s = pad.command(view(), 1.0)
    np.testing.assert_allclose(
        s.command, expected_locomotion(1.0, 0.0, ROBOT.root_init_height, 0.0), atol=1e-6
    )
    assert pad.events() == [Event.POLICY] and pad.events() == []
    pad.update(PadState(lx=1.0, ly=-0.55, buttons=frozenset({"A"})), now=1.02)  # A still held: no new event
    assert pad.events() == []
    s = pad.command(view(), 1.02)
    np.testing.assert_allclose(s.command[LAYOUT.root_columns][:2], [-0.4 * 0.5, -0.5], atol=1e-6)
    pad.update(PadState(buttons=frozenset({"start", "select", "X", "Y"})), now=1.04)
    assert pad.events() == [Event.START, Event.STOP, Event.NEXT_MODE, Event.NEXT_SOURCE]
    assert_masked_zero(s)


def test_gamepad_heading_integrates_and_cannot_wind_up():
    pad = GamepadCommander(ROBOT, LAYOUT, GamepadConfig(max_yaw_rate=1.0, max_yaw_error=0.3, dead_zone=0.0))
    yaw_col = LAYOUT.root_columns.start + 5
    pad.update(PadState(rx=-1.0), now=0.0)  # stick left = turn left (+yaw)
    assert pad.command(view(yaw=0.4), 0.0).command[yaw_col] == pytest.approx(0.0, abs=1e-7)
    pad.update(PadState(rx=-1.0), now=0.05)
    assert pad.command(view(yaw=0.4), 0.05).command[yaw_col] == pytest.approx(0.05, abs=1e-6)
    for k in range(2, 40):  # robot does not turn: the target stops max_yaw_error ahead
        pad.update(PadState(rx=-1.0), now=0.05 * k)
        s = pad.command(view(yaw=0.4), 0.05 * k)
    assert s.command[yaw_col] == pytest.approx(0.3, abs=1e-6)
    pad.update(PadState(), now=3.0)  # release: the target holds, so the robot still turns to it
    assert pad.command(view(yaw=0.5), 3.0).command[yaw_col] == pytest.approx(0.2, abs=1e-6)
    pad.reset()  # re-take the robot heading
    assert pad.command(view(yaw=0.5), 3.1).command[yaw_col] == pytest.approx(0.0, abs=1e-7)


def test_gamepad_height_follows_dpad_within_limits():
    pad = GamepadCommander(ROBOT, LAYOUT, GamepadConfig(height=1.0, height_rate=0.1, max_height=1.02))
    h_col = LAYOUT.root_columns.stop - 1
    pad.update(PadState(buttons=frozenset({"down"})), 0.0)
    pad.command(view(), 0.0)
    pad.update(PadState(buttons=frozenset({"down"})), 0.1)
    assert pad.command(view(), 0.1).command[h_col] == pytest.approx(0.99, abs=1e-6)
    for k in range(2, 10):
        pad.update(PadState(buttons=frozenset({"up"})), 0.1 * k)
        s = pad.command(view(), 0.1 * k)
    assert s.command[h_col] == pytest.approx(1.02, abs=1e-6)


def test_remote_bytes_give_the_same_commands_and_events_as_the_gamepad_mapping():
    remote = UnitreeRemoteInput(ROBOT, LAYOUT)
    pad = GamepadCommander(ROBOT, LAYOUT)
    readings = [
        RemoteState(frozenset({"start"}), lx=0.3, ly=0.8, rx=-0.5),
        RemoteState(frozenset({"start", "A"}), ly=-0.9, rx=0.7),
        RemoteState(frozenset({"up", "B"}), lx=-1.0, ry=0.2),
    ]
    for k, st in enumerate(readings):
        now, v = 10.0 + 0.02 * k, view(yaw=0.1 * k, remote=pack_remote(st))
        ev_remote = remote.events(v, now)
        s_remote = remote.command(v, now)
        pad.update(PadState(st.lx, st.ly, st.rx, st.ry, st.buttons), now)
        assert ev_remote == pad.events()
        s_pad = pad.command(v, now)
        np.testing.assert_allclose(s_remote.command, s_pad.command, atol=1e-6)
        assert s_remote.stamp == now
    assert [e for e in remote.events(view(remote=pack_remote(RemoteState())), 11.0)] == []


def test_remote_loss_and_garbage_keep_the_last_command_and_stamp():
    remote = UnitreeRemoteInput(ROBOT, LAYOUT)
    assert remote.command(view(), 1.0) is None  # no bytes yet
    good = remote.command(view(remote=pack_remote(RemoteState(ly=0.5))), 2.0)
    assert good.stamp == 2.0
    for k, bad in enumerate((None, b"\x00" * 10, pack_remote(RemoteState(ly=float("nan"))))):
        s = remote.command(view(remote=bad), 3.0 + k)
        assert s.stamp == 2.0 and np.all(np.isfinite(s.command))
        np.testing.assert_array_equal(s.command, good.command)
    assert remote.bad_samples == 2


def test_keyboard_reads_a_pipe_without_blocking():
    r, w = os.pipe()
    kb = KeyboardInput(ROBOT, LAYOUT, stream=r)
    try:
        assert (
            kb.events(view(), 0.0) == [] and kb.command(view(), 0.0).stamp == 0.0
        )  # nothing typed: no block
        os.write(w, b"o")
        assert kb.events(view(), 0.02) == [Event.START]
        os.write(w, b"wwwad" + b"rr" + b"p m")
        assert kb.events(view(), 0.04) == [Event.POLICY, Event.STOP, Event.NEXT_MODE]
        s = kb.command(view(), 0.04)
        np.testing.assert_allclose(
            s.command, expected_locomotion(0.3, 0.0, ROBOT.root_init_height + 0.04, 0.0), atol=1e-6
        )
        os.write(w, b"s" * 20 + b"q")  # clipped at the backward limit; turn left at 0.1 rad/s
        kb.events(view(), 0.06)
        s = kb.command(view(), 0.14)
        assert s.command[LAYOUT.root_columns.start] == pytest.approx(-0.5)
        assert s.command[LAYOUT.root_columns.start + 5] == pytest.approx(
            0.1 * 0.1, abs=1e-6
        )  # dt clipped to max_dt
        os.write(w, b"x")
        kb.events(view(), 0.2)
        assert np.all(kb.command(view(), 0.2).command[LAYOUT.root_columns][:3] == 0)
        os.close(w)  # end of input: the stamp stops advancing (stale)
        kb.events(view(), 0.3)
        assert kb.command(view(), 0.5).stamp == 0.2
    finally:
        kb.close()
        os.close(r)


@pytest.fixture(scope="module")
def playback() -> PlaybackInput:
    return PlaybackInput(ROBOT, LAYOUT, PlaybackConfig(mode="humanplus", loop=True))


def robot_view_from_ref(src: PlaybackInput, t: float, yaw_offset: float) -> tuple[RobotView, torch.Tensor]:
    """A robot state near the reference at clip time t, its heading turned by yaw_offset."""
    ref = src.reference(t)
    turn = quat_from_euler_xyz(torch.tensor([[0.0, 0.0, yaw_offset]], dtype=torch.float64))
    from hover.rotations import quat_mul

    quat = quat_mul(turn, ref.root_quat)
    jp = ref.joint_pos[0].numpy() + 0.05 * np.sin(np.arange(19))
    return RobotView(jp, np.zeros(19), quat[0].numpy(), np.zeros(3)), ref.root_quat


@pytest.mark.parametrize("yaw_offset", [0.0, 0.9])
def test_playback_reproduces_command_from_reference_at_the_robot_state(playback, yaw_offset):
    playback.reset()
    playback.set_mode("humanplus")
    v0, _ = robot_view_from_ref(playback, 0.0, yaw_offset)
    first = playback.command(v0, now=50.0)  # clock starts; heading aligned here
    assert first.command[LAYOUT.root_columns.start + 5] == pytest.approx(0.0, abs=1e-6)
    t = min(0.7, playback.duration / 2)
    v, _ = robot_view_from_ref(playback, t, yaw_offset)
    for mode in MODE_NAMES:
        playback.set_mode(mode)
        s = playback.command(v, now=50.0 + t)
        ref = playback.reference(t)
        # robot root = reference root; the robot's measured orientation, turned back by the start offset
        quat = torch.as_tensor(v.root_quat)[None]
        back = quat_from_euler_xyz(torch.tensor([[0.0, 0.0, -yaw_offset]], dtype=torch.float64))
        from hover.rotations import quat_mul

        full = command_from_reference(
            ref, ref.root_pos, quat_mul(back, quat), torch.as_tensor(v.joint_pos)[None], LAYOUT
        )
        mask = mask_for_mode(mode, LAYOUT, dtype=torch.float64)[None]
        np.testing.assert_allclose(s.command, apply_mask(full, mask, LAYOUT)[0].numpy(), atol=1e-5)
        assert s.mode == mode and s.stamp == 50.0 + t
        assert_masked_zero(s)
        assert np.count_nonzero(s.command) > 0


def test_playback_loops_or_holds_the_last_frame():
    once = PlaybackInput(ROBOT, LAYOUT, PlaybackConfig(loop=False, mode="humanplus"))
    v = view()
    once.command(v, 0.0)
    end = once.command(v, once.duration + 5.0)
    assert once.finished
    np.testing.assert_allclose(end.command, once.command(v, once.duration + 9.0).command)
    looped = PlaybackInput(ROBOT, LAYOUT, PlaybackConfig(loop=True, mode="humanplus"))
    a = looped.command(v, 0.0)
    b = looped.command(v, 0.0 + looped.duration * 2)  # back at the clip start
    np.testing.assert_allclose(a.command, b.command, atol=1e-5)
    assert looped.next_mode() != "humanplus"


def test_playback_errors_name_the_file_and_clip(tmp_path):
    with pytest.raises(ValueError, match="no clip 'nope'"):
        PlaybackInput(ROBOT, LAYOUT, PlaybackConfig(clip="nope"))
    with pytest.raises(Exception, match="missing.npz"):
        PlaybackInput(ROBOT, LAYOUT, PlaybackConfig(file=str(tmp_path / "missing.npz")))


def test_switching_by_events_keyboard_plus_playback():
    r, w = os.pipe()
    try:
        src = make_input(
            "keyboard+playback", ROBOT, LAYOUT, stream=r, mode="omnih2o", modes=("omnih2o", "h2o")
        )
        assert src.name == "keyboard+playback" and src.current.name == "keyboard"
        v = view()
        assert src.command(v, 0.0).mode == "locomotion"
        os.write(w, b"n")
        assert src.events(v, 0.02) == []  # NEXT_SOURCE is consumed by the switch
        assert src.current.name == "playback" and src.command(v, 0.02).mode == "omnih2o"
        os.write(w, b"m")
        assert src.events(v, 0.04) == [Event.NEXT_MODE]
        s = src.command(v, 0.04)
        assert s.mode == "h2o" and s.mask.sum() == 12
        os.write(w, b"n")
        src.events(v, 0.06)
        assert src.current.name == "keyboard" and src.switches == [
            ("keyboard", "playback"),
            ("playback", "keyboard"),
        ]
        src.close()
    finally:
        os.close(w)
        os.close(r)


def test_make_input_specs_and_errors():
    src = make_input("idle")
    assert src.command(view(), 1.0).mode == "locomotion" and src.events(view(), 1.0) == []
    assert make_input("playback::1", clip=None).current.clip.name  # built-in set, clip by index
    with pytest.raises(ValueError, match="unknown input source"):
        make_input("telepathy")
    with pytest.raises(ValueError, match="max_speed"):
        make_input("idle", max_speed=3.0)
    with pytest.raises(ValueError, match="headset"):
        make_input("vr:")


def test_missing_optional_packages_give_a_clear_error(monkeypatch):
    from hover.deploy.inputs import OptionalDependencyError

    monkeypatch.setitem(sys.modules, "pygame", None)
    with pytest.raises(OptionalDependencyError, match=r"pip install 'hover\[deploy\]'.*pygame"):
        make_input("joystick")
    monkeypatch.setitem(sys.modules, "avp_stream", None)
    with pytest.raises(OptionalDependencyError, match="avp-stream"):
        make_input("vr:10.0.0.2")


def test_inputs_show_cli_prints_the_active_columns(capsys, monkeypatch):
    from hover.cli.inputs_show import main

    r, w = os.pipe()
    os.write(w, b"ww")
    with os.fdopen(r) as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        assert (
            main(
                ["--input", "keyboard+playback::0", "--seconds", "0.12", "--rate", "20"], "hover inputs show"
            )
            == 0
        )
    os.close(w)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "button map (hover run):" and any(ln.split()[:2] == ["START", "start"] for ln in lines)
    out = [ln for ln in lines if re.match(r"^\s*\d+\.\d+s \[", ln)]  # the per-tick lines after the map
    assert len(out) >= 2 and all("[keyboard]" in line for line in out)
    assert "locomotion" in out[0] and "lin_vel_x=+0.200" in out[0] and "height=+1.000" in out[0]
    with pytest.raises(ValueError, match="no file descriptor"):
        KeyboardInput(ROBOT, LAYOUT, stream=object())
