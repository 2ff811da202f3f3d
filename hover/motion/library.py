"""Motion library: many clips in flat device tensors, sampled and interpolated in batches.

On construction all clips' frames are concatenated into flat tensors with per-clip start offsets.
Per-frame poses of every tracked body (``RobotSpec.tracked_body_names``: real bodies then extended
bodies) come from the torch forward kinematics; per-frame velocities come from finite differences
computed inside each clip (central differences, one-sided at the clip's first and last frame, never
across clip boundaries), then lightly smoothed with one pass of a 3-tap binomial filter
``[1/4, 1/2, 1/4]`` (edge frames repeat themselves, again never crossing a boundary). The filter keeps
constant and linear velocity profiles exact.

Frames: everything is in the world frame, z up; quaternions are (w, x, y, z); angular velocities
are world-frame (rad/s); linear velocities m/s; joint velocities rad/s; times in seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hover.kinematics import ForwardKinematics
from hover.motion.format import MotionClip, _check_clip, load_motion_sources
from hover.robots import RobotSpec, get_robot
from hover.rotations import angular_velocity_from_quats, quat_normalize, quat_slerp

# Frames per FK/velocity chunk (whole clips are grouped up to this size; a longer clip is its own chunk).
_CHUNK_FRAMES = 32768


@dataclass
class MotionState:
    """Reference state of ``n`` samples; all tensors on the library device, world frame, wxyz."""

    root_pos: Tensor  # [n, 3] m
    root_quat: Tensor  # [n, 4] wxyz
    root_lin_vel: Tensor  # [n, 3] m/s, world
    root_ang_vel: Tensor  # [n, 3] rad/s, world
    joint_pos: Tensor  # [n, J] rad
    joint_vel: Tensor  # [n, J] rad/s
    body_pos: Tensor  # [n, B, 3] m, B = len(robot.tracked_body_names)
    body_quat: Tensor  # [n, B, 4] wxyz
    body_lin_vel: Tensor  # [n, B, 3] m/s, world
    body_ang_vel: Tensor  # [n, B, 3] rad/s, world

    def translated(self, offset: Tensor) -> MotionState:
        """The same state moved by ``offset`` [n, 3] (m, world): positions shift, nothing else changes."""
        return MotionState(
            root_pos=self.root_pos + offset,
            root_quat=self.root_quat,
            root_lin_vel=self.root_lin_vel,
            root_ang_vel=self.root_ang_vel,
            joint_pos=self.joint_pos,
            joint_vel=self.joint_vel,
            body_pos=self.body_pos + offset[:, None, :],
            body_quat=self.body_quat,
            body_lin_vel=self.body_lin_vel,
            body_ang_vel=self.body_ang_vel,
        )


class MotionLibrary:
    """Clips of one robot on one device, with batched sampling and interpolation.

    Attributes: ``num_clips``, ``clip_names``, ``clip_fps`` [C], ``clip_num_frames`` [C] (long),
    ``clip_durations`` [C] (s), ``clip_starts`` [C] (long, offset of each clip's first frame in the
    flat frame tensors), ``total_duration`` (s), ``num_frames`` (all clips).

    Per-frame tensors over all clips' frames F (world frame): ``body_pos`` [F, B, 3], ``body_quat``
    [F, B, 4], ``body_lin_vel`` [F, B, 3], ``body_ang_vel`` [F, B, 3], ``joint_pos`` [F, J],
    ``joint_vel`` [F, J]; B = ``len(robot.tracked_body_names)``, body 0 is the root. All but
    ``body_quat`` are (non-contiguous) views into one packed tensor; treat them as read-only.
    Precision: poses and velocities are computed in float64 and stored in ``dtype``.
    """

    def __init__(
        self,
        clips: list[MotionClip],
        robot: RobotSpec | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ):
        self.robot = robot or get_robot()
        self.device = torch.device(device)
        self.dtype = dtype
        clips = list(clips)
        if not clips:
            raise ValueError("MotionLibrary needs at least one clip")
        for i, c in enumerate(clips):
            _check_clip(c, self.robot, where=f"MotionLibrary: clip {i} ({c.name!r})")

        self.num_clips = len(clips)
        self.clip_names = [c.name for c in clips]
        lengths = np.array([c.num_frames for c in clips], dtype=np.int64)
        fps = np.array([c.fps for c in clips], dtype=np.float64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        self.num_frames = int(lengths.sum())
        self.clip_num_frames = torch.as_tensor(lengths, device=self.device)
        self.clip_starts = torch.as_tensor(starts, device=self.device)
        self.clip_fps = torch.as_tensor(fps, device=self.device, dtype=dtype)
        self.clip_durations = torch.as_tensor((lengths - 1) / fps, device=self.device, dtype=dtype)
        self.total_duration = float(((lengths - 1) / fps).sum())
        # float64 copies for exact frame arithmetic in get_state.
        self._fps64 = torch.as_tensor(fps, device=self.device)
        self._dur64 = torch.as_tensor((lengths - 1) / fps, device=self.device)

        nb = len(self.robot.tracked_body_names)
        nj = self.robot.num_joints
        kw: dict[str, Any] = {"device": self.device, "dtype": dtype}
        # Everything that is blended linearly lives in one packed [F, K] tensor, so get_state gathers
        # two rows per sample once; body_pos, body_lin_vel, ... are views into it.
        self._layout = {
            "body_pos": (nb, 3),
            "body_lin_vel": (nb, 3),
            "body_ang_vel": (nb, 3),
            "joint_pos": (nj,),
            "joint_vel": (nj,),
        }
        width = sum(int(np.prod(shape)) for shape in self._layout.values())
        self._linear = torch.empty(self.num_frames, width, **kw)
        self.body_pos, self.body_lin_vel, self.body_ang_vel, self.joint_pos, self.joint_vel = self._unpack(
            self._linear
        )
        self.body_quat = torch.empty(self.num_frames, nb, 4, **kw)
        fk = ForwardKinematics(self.robot, self.device, torch.float64)
        for group in _chunk_clips(lengths, _CHUNK_FRAMES):
            self._fill_chunk([clips[i] for i in group], fk, int(starts[group[0]]))

    # ----- construction helpers -----
    @classmethod
    def from_sources(
        cls,
        sources: str | os.PathLike | Iterable[str | os.PathLike],
        robot: RobotSpec | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> MotionLibrary:
        """Library of all clips in a motion file, a folder of them (recursive), or a list of either."""
        robot = robot or get_robot()
        return cls(load_motion_sources(sources, robot), robot=robot, device=device, dtype=dtype)

    @classmethod
    def builtin(
        cls,
        robot: RobotSpec | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> MotionLibrary:
        """Library of the motion set shipped with hover (``hover/assets/motions/builtin.npz``)."""
        from hover.motion.builtin import load_builtin_motions

        robot = robot or get_robot()
        return cls(load_builtin_motions(robot), robot=robot, device=device, dtype=dtype)

    def _fill_chunk(self, clips: list[MotionClip], fk: ForwardKinematics, offset: int) -> None:
        """FK and finite-difference velocities of whole clips, in float64, written at ``offset``."""
        dev = self.device
        root_pos = torch.as_tensor(
            np.concatenate([c.root_pos for c in clips]), device=dev, dtype=torch.float64
        )
        root_quat = torch.as_tensor(
            np.concatenate([c.root_quat for c in clips]), device=dev, dtype=torch.float64
        )
        joint_pos = torch.as_tensor(
            np.concatenate([c.joint_pos for c in clips]), device=dev, dtype=torch.float64
        )
        root_quat = quat_normalize(root_quat)
        poses = fk(root_pos, root_quat, joint_pos)
        # Per-frame neighbours inside the frame's own clip (one-sided at the clip's ends).
        lengths = torch.tensor([c.num_frames for c in clips], device=dev)
        first = torch.repeat_interleave(torch.cumsum(lengths, 0) - lengths, lengths)
        last = first + torch.repeat_interleave(lengths, lengths) - 1
        i = torch.arange(joint_pos.shape[0], device=dev)
        prev, nxt = torch.maximum(i - 1, first), torch.minimum(i + 1, last)
        frame_dt = torch.repeat_interleave(
            torch.tensor([1.0 / c.fps for c in clips], device=dev, dtype=torch.float64), lengths
        )
        span = (nxt - prev).to(torch.float64) * frame_dt  # seconds between the two neighbours

        def smooth(v: Tensor) -> Tensor:
            return 0.25 * v[prev] + 0.5 * v + 0.25 * v[nxt]

        s2 = span.view(-1, 1)
        s3 = span.view(-1, 1, 1)
        lin = smooth((poses.pos[nxt] - poses.pos[prev]) / s3)
        ang = smooth(angular_velocity_from_quats(poses.quat[prev], poses.quat[nxt], s3))
        jvel = smooth((joint_pos[nxt] - joint_pos[prev]) / s2)
        sl = slice(offset, offset + joint_pos.shape[0])
        self.body_pos[sl] = poses.pos.to(self.dtype)
        self.body_quat[sl] = poses.quat.to(self.dtype)
        self.body_lin_vel[sl] = lin.to(self.dtype)
        self.body_ang_vel[sl] = ang.to(self.dtype)
        self.joint_pos[sl] = joint_pos.to(self.dtype)
        self.joint_vel[sl] = jvel.to(self.dtype)

    # ----- sampling -----
    def sample_clips(
        self, n: int, weights: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """``n`` clip ids [n] (long): uniform, or proportional to ``weights`` [C] (>= 0, not all 0).

        A ``generator`` must live on the library device.
        """
        if weights is None:
            return torch.randint(0, self.num_clips, (n,), generator=generator, device=self.device)
        w = torch.as_tensor(weights, device=self.device, dtype=torch.float64)
        if w.shape != (self.num_clips,):
            raise ValueError(
                f"sample_clips: weights have shape {tuple(w.shape)}, expected ({self.num_clips},)"
            )
        if not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError("sample_clips: weights must be finite, >= 0 and not all zero")
        return torch.multinomial(w, n, replacement=True, generator=generator)

    def sample_times(self, clip_ids: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Times [n] (s), uniform in [0, duration] of each clip."""
        clip_ids = self._check_ids(clip_ids)
        u = torch.rand(clip_ids.shape, generator=generator, device=self.device, dtype=self.dtype)
        return u * self.clip_durations[clip_ids]

    # ----- interpolation -----
    def frame_index(self, clip_ids: Tensor, times: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Flat indices of the two frames around ``times`` (s, clamped to the clip) and the blend [n].

        f0 = floor(t * fps), f1 = min(f0 + 1, N - 1), blend = t * fps - f0 in [0, 1].
        """
        clip_ids = self._check_ids(clip_ids)
        times = torch.as_tensor(times, device=self.device)
        if times.shape != clip_ids.shape:
            raise ValueError(f"times have shape {tuple(times.shape)}, clip ids {tuple(clip_ids.shape)}")
        t = torch.minimum(times.to(torch.float64).clamp(min=0.0), self._dur64[clip_ids])
        f = t * self._fps64[clip_ids]
        last = self.clip_num_frames[clip_ids] - 1
        f0 = torch.minimum(f.floor().long(), last)
        f1 = torch.minimum(f0 + 1, last)
        blend = (f - f0.to(torch.float64)).clamp(0.0, 1.0).to(self.dtype)
        start = self.clip_starts[clip_ids]
        return start + f0, start + f1, blend

    def get_state(self, clip_ids: Tensor, times: Tensor) -> MotionState:
        """Reference state of clips ``clip_ids`` [n] at ``times`` [n] (s, clamped to [0, duration]).

        Positions, joint angles and velocities are blended linearly; quaternions by slerp.
        """
        i0, i1, a = self.frame_index(clip_ids, times)
        n = i0.shape[0]
        both = torch.cat((i0, i1))
        lin = self._linear[both]
        quat = self.body_quat[both]
        body_pos, body_lin_vel, body_ang_vel, joint_pos, joint_vel = self._unpack(
            torch.lerp(lin[:n], lin[n:], a.unsqueeze(-1))
        )
        body_quat = quat_slerp(quat[:n], quat[n:], a.view(n, 1, 1))
        return MotionState(
            root_pos=body_pos[:, 0],
            root_quat=body_quat[:, 0],
            root_lin_vel=body_lin_vel[:, 0],
            root_ang_vel=body_ang_vel[:, 0],
            joint_pos=joint_pos,
            joint_vel=joint_vel,
            body_pos=body_pos,
            body_quat=body_quat,
            body_lin_vel=body_lin_vel,
            body_ang_vel=body_ang_vel,
        )

    def _unpack(self, packed: Tensor) -> list[Tensor]:
        """Views of a packed [n, K] tensor as body_pos, body_lin_vel, body_ang_vel, joint_pos, joint_vel."""
        out, col = [], 0
        for shape in self._layout.values():
            size = int(np.prod(shape))
            out.append(packed[:, col : col + size].unflatten(1, shape))
            col += size
        return out

    def _check_ids(self, clip_ids: Tensor) -> Tensor:
        clip_ids = torch.as_tensor(clip_ids, device=self.device)
        if clip_ids.dtype.is_floating_point or clip_ids.dtype == torch.bool:
            raise TypeError(f"clip ids must be an integer tensor, got {clip_ids.dtype}")
        if clip_ids.numel() and (int(clip_ids.min()) < 0 or int(clip_ids.max()) >= self.num_clips):
            raise IndexError(
                f"clip ids must be in [0, {self.num_clips}), got range "
                f"[{int(clip_ids.min())}, {int(clip_ids.max())}]"
            )
        return clip_ids.long()

    def __repr__(self) -> str:
        return (
            f"MotionLibrary({self.num_clips} clips, {self.num_frames} frames, "
            f"{self.total_duration:.1f} s, robot={self.robot.name}, device={self.device})"
        )


def _chunk_clips(lengths: np.ndarray, max_frames: int) -> list[list[int]]:
    """Group consecutive clip indices so each group holds at most ``max_frames`` frames (or one clip)."""
    groups: list[list[int]] = []
    current: list[int] = []
    size = 0
    for i, n in enumerate(lengths):
        if current and size + n > max_frames:
            groups.append(current)
            current, size = [], 0
        current.append(i)
        size += int(n)
    if current:
        groups.append(current)
    return groups
