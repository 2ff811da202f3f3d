"""The pygame joystick source against a real SDL virtual joystick (SDL's dummy video driver, no hardware).

pygame 2.6 does not wrap SDL_JoystickAttachVirtual, so the test calls it with ctypes in the SDL library
that pygame itself loaded; pygame then sees an ordinary joystick, and everything from event pumping to
``Joystick.get_axis`` is the real code path of :class:`JoystickInput`.
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np
import pytest

from hover.commands import command_layout
from hover.deploy.inputs import Event, GamepadCommander, RobotView
from hover.deploy.inputs.joystick import JoystickConfig, JoystickInput
from hover.deploy.inputs.unitree_remote import UnitreeRemoteInput
from hover.deploy.unitree.remote import RemoteState, pack_remote
from hover.robots import get_robot

pygame = pytest.importorskip("pygame")

ROBOT = get_robot("h1")
LAYOUT = command_layout(ROBOT)
HAT_UP, HAT_DOWN = 1, 4
XPAD = {"A": 0, "B": 1, "X": 2, "Y": 3, "select": 6, "start": 7}


def _sdl() -> ctypes.CDLL:
    libs = glob.glob(os.path.join(os.path.dirname(pygame.__file__), "..", "pygame.libs", "libSDL2-2*.so*"))
    if not libs:
        pytest.skip("pygame's bundled SDL2 library not found (virtual joystick needs SDL >= 2.0.14)")
    sdl = ctypes.CDLL(libs[0])
    sdl.SDL_JoystickAttachVirtual.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    sdl.SDL_JoystickFromInstanceID.restype = ctypes.c_void_p
    sdl.SDL_JoystickFromInstanceID.argtypes = [ctypes.c_int32]
    sdl.SDL_JoystickSetVirtualAxis.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int16]
    sdl.SDL_JoystickSetVirtualButton.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint8]
    sdl.SDL_JoystickSetVirtualHat.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint8]
    sdl.SDL_JoystickDetachVirtual.argtypes = [ctypes.c_int]
    return sdl


class VirtualPad:
    """An SDL virtual joystick with the xpad layout: 6 axes, 11 buttons, 1 hat."""

    def __init__(self, sdl: ctypes.CDLL):
        self.sdl = sdl
        self.index = sdl.SDL_JoystickAttachVirtual(0, 6, 11, 1)
        if self.index < 0:
            pytest.skip("SDL_JoystickAttachVirtual failed")
        self.handle = None

    def bind(self, joystick) -> None:
        self.handle = self.sdl.SDL_JoystickFromInstanceID(joystick.get_instance_id())
        assert self.handle

    def axis(self, i: int, value: float) -> None:
        self.sdl.SDL_JoystickSetVirtualAxis(self.handle, i, int(np.clip(round(value * 32767), -32768, 32767)))

    def button(self, name: str, down: bool) -> None:
        self.sdl.SDL_JoystickSetVirtualButton(self.handle, XPAD[name], int(down))

    def hat(self, value: int) -> None:
        self.sdl.SDL_JoystickSetVirtualHat(self.handle, 0, value)

    def detach(self) -> None:
        if self.index >= 0:
            self.sdl.SDL_JoystickDetachVirtual(self.index)
            self.index = -1


@pytest.fixture
def pad_and_input(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_JOYSTICK_ALLOW_BACKGROUND_EVENTS", "1")
    sdl = _sdl()
    pygame.display.init()
    pygame.joystick.init()
    pad = VirtualPad(sdl)
    src = JoystickInput(ROBOT, LAYOUT, JoystickConfig())
    try:
        assert src.connected
        pad.bind(src._joy)
        yield pad, src
    finally:
        pad.detach()
        src.close()
        pygame.display.quit()


def view(yaw: float = 0.0, remote: bytes | None = None) -> RobotView:
    quat = np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])
    return RobotView(np.zeros(19), np.zeros(19), quat, np.zeros(3), wireless_remote=remote)


def test_virtual_pad_drives_locomotion_and_events(pad_and_input):
    pad, src = pad_and_input
    cfg = src.config.gamepad
    pad.axis(1, -1.0)  # left stick fully forward (pygame y is down-positive)
    pad.axis(3, 1.0)  # right stick right: turn right
    pad.button("A", True)
    v = view(yaw=0.3)
    assert src.events(v, 1.0) == [Event.POLICY]
    s = src.command(v, 1.0)
    root = s.command[LAYOUT.root_columns]
    assert root[0] == pytest.approx(cfg.max_lin_vel_x, abs=1e-4) and root[1] == pytest.approx(0.0, abs=1e-6)
    assert s.mode == "locomotion" and s.stamp == 1.0
    assert src.events(v, 1.02) == []  # A held: no repeat
    s = src.command(v, 1.02)
    assert s.command[LAYOUT.root_columns.start + 5] == pytest.approx(-cfg.max_yaw_rate * 0.02, abs=1e-5)
    pad.button("A", False)
    pad.button("select", True)
    pad.hat(HAT_UP)
    assert src.events(v, 1.04) == [Event.STOP]
    src.command(v, 1.04)
    assert src.read().buttons == frozenset({"select", "up"})
    h = src.command(v, 1.14).command[LAYOUT.root_columns.stop - 1]
    assert h == pytest.approx(ROBOT.root_init_height + cfg.height_rate * 0.12, abs=1e-5)
    body_and_joint = s.command[: LAYOUT.root_columns.start]
    assert np.all(body_and_joint == 0.0)


def test_unplugged_pad_goes_stale(pad_and_input):
    pad, src = pad_and_input
    pad.axis(0, 0.5)
    v = view()
    src.events(v, 2.0)
    before = src.command(v, 2.0)
    pad.detach()
    src.events(v, 2.5)
    after = src.command(v, 2.5)
    assert not src.connected
    assert after.stamp == 2.0  # the runner's staleness check sees the loss
    np.testing.assert_allclose(after.command[:2], before.command[:2])


def test_joystick_and_remote_give_the_same_commands(pad_and_input):
    """The same stick/button state through pygame and through the 40 remote bytes: same commands."""
    pad, src = pad_and_input
    remote = UnitreeRemoteInput(ROBOT, LAYOUT)
    ref = GamepadCommander(ROBOT, LAYOUT)
    steps = [
        ((0.5, -0.7, 0.3, 0.0), {"start"}, 0),
        ((-0.2, 0.9, -1.0, 0.4), {"A"}, HAT_DOWN),
        ((0, 0, 0, 0), {"B", "X"}, 0),
    ]
    for k, ((lx, ly, rx, ry), held, hat) in enumerate(steps):
        now = 5.0 + 0.02 * k
        for i, value in zip((0, 1, 3, 4), (lx, -ly, rx, -ry), strict=True):
            pad.axis(i, value)
        for name in XPAD:
            pad.button(name, name in held)
        pad.hat(hat)
        ev_joy = src.events(view(0.2), now)
        s_joy = src.command(view(0.2), now)
        st = src.read()  # what pygame reported, sent through the remote byte layout
        rb = pack_remote(RemoteState(st.buttons, lx=st.lx, rx=st.rx, ry=st.ry, ly=st.ly))
        assert remote.events(view(0.2, rb), now) == ev_joy
        np.testing.assert_allclose(remote.command(view(0.2, rb), now).command, s_joy.command, atol=1e-6)
        ref.update(st, now)
        assert ref.events() == ev_joy
    assert ev_joy == [Event.STOP, Event.NEXT_MODE]
