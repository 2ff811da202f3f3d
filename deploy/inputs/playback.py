"""Motion playback: a clip from a motion file (or the built-in set) as the command, in any named mode.

The real robot has no global position, so body commands are taken relative to the robot's own root:
the reference's root position stands in for the robot's root position, and the robot's measured
pelvis orientation gives the heading frame. The command is exactly
``apply_mask(command_from_reference(ref, ref.root_pos, q, view.joint_pos), mask_for_mode(mode))`` with
``q = yaw(-offset) * view.root_quat``: with ``align_heading`` the clip's heading is aligned to the
robot's measured heading at the start of each playback (and each loop), so the yaw command asks for
the clip's turns, not for a turn to the clip's arbitrary world yaw (``offset`` = robot yaw - clip yaw
there; 0 without alignment). Time runs from the first ``command`` call (or ``reset``) at ``speed``;
with ``loop`` the clip restarts, else it holds its last frame (``finished`` turns True).
The source is always fresh (``stamp = now``); ``next_mode``/``set_mode`` switch the mask at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hover.commands.builders import command_from_reference
from hover.commands.layout import CommandLayout, apply_mask
from hover.commands.modes import MODE_NAMES, canonical_mode, mask_for_mode
from hover.deploy.inputs.base import CommandSample, Event, RobotView
from hover.deploy.inputs.common import resolve_robot, row, to_sample, yaw_quat
from hover.motion.format import MotionClip, load_motion_sources
from hover.motion.library import MotionLibrary, MotionState
from hover.robots import RobotSpec
from hover.rotations import quat_mul, yaw_from_quat


@dataclass
class PlaybackConfig:
    file: str | None = None
    """motion .npz file or folder; None = the built-in set"""
    clip: str | None = None
    """clip name or index in the file; None = the first clip"""
    mode: str = "humanplus"
    """named command mode (hover.commands.modes)"""
    modes: tuple[str, ...] = MODE_NAMES
    """modes cycled by Event.NEXT_MODE"""
    loop: bool = True
    speed: float = 1.0
    align_heading: bool = True
    """align the clip's heading to the robot's measured heading at each (re)start"""


def load_clip(robot: RobotSpec, file: str | None, clip: str | None) -> MotionClip:
    """One clip of a motion source (None = built-in set) by name or index; ValueError names the file."""
    if file is None:
        from hover.motion.builtin import load_builtin_motions

        clips, where = load_builtin_motions(robot), "the built-in motion set"
    else:
        clips, where = load_motion_sources(file, robot), file
    if not clips:
        raise ValueError(f"playback: {where} holds no clips")
    if clip is None:
        return clips[0]
    names = [c.name for c in clips]
    if clip in names:
        return clips[names.index(clip)]
    if clip.isdigit() and int(clip) < len(clips):
        return clips[int(clip)]
    raise ValueError(f"playback: {where} has no clip {clip!r}; clips: {', '.join(names)}")


class PlaybackInput:
    """Plays one clip as the command (see the module docstring for frames and timing)."""

    name = "playback"

    def __init__(
        self,
        robot: RobotSpec | str | None = None,
        layout: CommandLayout | None = None,
        config: PlaybackConfig | None = None,
    ) -> None:
        self.robot, self.layout = resolve_robot(robot, layout)
        self.config = config or PlaybackConfig()
        if not self.config.speed > 0:
            raise ValueError(f"playback: speed must be > 0, got {self.config.speed}")
        self.modes = tuple(canonical_mode(m) for m in self.config.modes)
        self.clip = load_clip(self.robot, self.config.file, self.config.clip)
        self.library = MotionLibrary([self.clip], robot=self.robot, dtype=torch.float64)
        self.duration = float(self.library.clip_durations[0])
        self.set_mode(self.config.mode)
        self.reset()

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        self._mode = canonical_mode(mode)
        self._mask = mask_for_mode(self._mode, self.layout, dtype=torch.float64)[None]

    def next_mode(self) -> str:
        """Switch to the next mode of ``config.modes`` (the first one if the current is not listed)."""
        i = self.modes.index(self._mode) + 1 if self._mode in self.modes else 0
        self.set_mode(self.modes[i % len(self.modes)])
        return self._mode

    def reset(self) -> None:
        """Restart the clip at the next ``command`` call (heading re-aligned then)."""
        self._t0: float | None = None
        self._lap = -1
        self._yaw_offset = 0.0
        self.finished = False

    def reference(self, t: float) -> MotionState:
        """The clip's reference state at clip time ``t`` (s, world frame of the clip)."""
        return self.library.get_state(
            torch.zeros(1, dtype=torch.long), torch.tensor([t], dtype=torch.float64)
        )

    def clip_time(self, now: float) -> tuple[float, int]:
        """(clip time in s, lap number) at ``now``; starts the clock on the first call."""
        if self._t0 is None:
            self._t0 = now
        t = max(now - self._t0, 0.0) * self.config.speed
        if self.config.loop and self.duration > 0:
            lap = int(t // self.duration)
            return t - lap * self.duration, lap
        self.finished = t >= self.duration
        return min(t, self.duration), 0

    def events(self, view: RobotView, now: float) -> list[Event]:
        return []

    def command(self, view: RobotView, now: float) -> CommandSample:
        t, lap = self.clip_time(now)
        ref = self.reference(t)
        quat = row(view.root_quat)
        if lap != self._lap:
            self._lap = lap
            if self.config.align_heading:
                self._yaw_offset = float(yaw_from_quat(quat)[0] - yaw_from_quat(ref.root_quat)[0])
        if self._yaw_offset != 0.0:
            quat = quat_mul(row(yaw_quat(-self._yaw_offset)), quat)
        full = command_from_reference(ref, ref.root_pos, quat, row(view.joint_pos), layout=self.layout)
        command = apply_mask(full, self._mask, self.layout)
        return to_sample(command, self._mask, self._mode, now)

    def close(self) -> None:
        """Nothing to release: this source holds no device, thread or socket."""
