"""Human motion clips in AMASS (SMPL+H G) ``.npz`` form: reading, validation, resampling.

An AMASS file holds ``poses`` (T, 156) axis-angle (rad; [:, :66] = root + 21 body joints, the rest
hands), ``trans`` (T, 3) root translation (m), ``betas`` (16 or 10), ``gender`` and
``mocap_framerate`` (Hz). World frame z up. Only the 22 body joints are used; SMPL's joints 22/23
(hands) are set to zero. Files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from hover.io import read_npz
from hover.retarget.skeleton import NUM_SMPL_JOINTS
from hover.rotations import quat_from_rotvec, quat_slerp, quat_to_rotvec

MIN_FRAMES = 10


class AmassFormatError(ValueError):
    """An AMASS file is malformed; the message names the file and the problem."""


@dataclass
class HumanClip:
    """One human clip. ``pose_aa`` [T, 24, 3] local axis-angle (rad), ``trans`` [T, 3] (m, world z up)."""

    name: str
    fps: float
    pose_aa: np.ndarray
    trans: np.ndarray
    betas: np.ndarray = field(default_factory=lambda: np.zeros(10))
    gender: str = "neutral"

    @property
    def num_frames(self) -> int:
        return int(self.trans.shape[0])

    @property
    def duration(self) -> float:
        return (self.num_frames - 1) / self.fps


def clip_from_arrays(arrays: dict[str, np.ndarray], name: str, where: str) -> HumanClip:
    """Validate AMASS arrays and build a :class:`HumanClip`; raise AmassFormatError naming ``where``."""
    missing = [k for k in ("poses", "trans") if k not in arrays]
    if missing:
        raise AmassFormatError(
            f"{where}: missing keys {missing} (an AMASS SMPL+H npz has poses, trans, betas, "
            f"gender, mocap_framerate)"
        )
    fps_key = next((k for k in ("mocap_framerate", "mocap_frame_rate", "fps") if k in arrays), None)
    if fps_key is None:
        raise AmassFormatError(f"{where}: no frame rate (mocap_framerate); clip skipped")
    poses = np.asarray(arrays["poses"], dtype=np.float64)
    trans = np.asarray(arrays["trans"], dtype=np.float64)
    if poses.ndim != 2 or poses.shape[1] < 66:
        raise AmassFormatError(f"{where}: poses has shape {poses.shape}, expected (T, 156) or (T, >=66)")
    if trans.shape != (poses.shape[0], 3):
        raise AmassFormatError(f"{where}: trans has shape {trans.shape}, expected ({poses.shape[0]}, 3)")
    try:
        fps = float(np.asarray(arrays[fps_key]))
    except (TypeError, ValueError) as e:
        raise AmassFormatError(f"{where}: {fps_key} is not a number") from e
    if not (np.isfinite(fps) and fps > 0):
        raise AmassFormatError(f"{where}: {fps_key} must be > 0, got {fps}")
    for key, arr in (("poses", poses), ("trans", trans)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise AmassFormatError(
                f"{where}: {key} has non-finite values (first at frame {int(np.argwhere(bad)[0, 0])})"
            )
    if poses.shape[0] < MIN_FRAMES:
        raise AmassFormatError(f"{where}: only {poses.shape[0]} frames (< {MIN_FRAMES}); clip skipped")
    pose_aa = np.zeros((poses.shape[0], NUM_SMPL_JOINTS, 3))
    pose_aa[:, :22] = poses[:, :66].reshape(-1, 22, 3)
    betas = np.zeros(10)
    if "betas" in arrays:
        b = np.asarray(arrays["betas"], dtype=np.float64).reshape(-1)[:10]
        if not np.isfinite(b).all():
            raise AmassFormatError(f"{where}: betas has non-finite values")
        betas[: len(b)] = b
    gender = str(np.asarray(arrays.get("gender", "neutral"))).strip().lower() or "neutral"
    if gender.startswith("b'"):  # bytes saved as a string
        gender = gender[2:-1]
    return HumanClip(name=name, fps=fps, pose_aa=pose_aa, trans=trans, betas=betas, gender=gender)


def read_amass_file(path: str | os.PathLike, name: str | None = None) -> HumanClip:
    """Read one AMASS ``.npz`` (``allow_pickle=False``)."""
    path = Path(path)
    if not path.is_file():
        raise AmassFormatError(f"{path}: no such file")
    arrays = read_npz(path, AmassFormatError, ".npz without pickled objects")
    return clip_from_arrays(arrays, name or path.stem, where=str(path))


def find_amass_files(sources: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """``.npz`` files from a file, a folder tree (recursive) or a list of either (sorted per folder)."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    files: list[Path] = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            files.extend(f for f in sorted(p.rglob("*.npz")) if f.name != "shape.npz")
        elif p.is_file():
            files.append(p)
        else:
            raise AmassFormatError(f"{p}: no such file or folder")
    return files


def read_amass_sources(
    sources: str | os.PathLike | Iterable[str | os.PathLike],
) -> tuple[list[HumanClip], list[tuple[str, str]]]:
    """All readable clips under ``sources`` and the skipped ones as (path, reason)."""
    clips: list[HumanClip] = []
    skipped: list[tuple[str, str]] = []
    roots = [Path(s) for s in ([sources] if isinstance(sources, (str, os.PathLike)) else sources)]
    for f in find_amass_files(roots):
        root = next((r for r in roots if r.is_dir() and r in f.parents), None)
        name = str(f.relative_to(root).with_suffix("")) if root else f.stem
        try:
            clips.append(read_amass_file(f, name=name.replace(os.sep, "/")))
        except AmassFormatError as e:
            skipped.append((str(f), str(e)))
    return clips, skipped


def resample(clip: HumanClip, fps: float = 30.0) -> HumanClip:
    """Resample to ``fps`` keeping the duration: slerp joint rotations, lerp translation.

    Output frames are at t = k / fps for k = 0 .. floor(duration * fps); the last source frame is kept
    when the duration is a whole number of output periods.
    """
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    n_out = int(np.floor(clip.duration * fps + 1e-6)) + 1
    t = np.arange(n_out) / fps
    s = np.clip(t * clip.fps, 0.0, clip.num_frames - 1)
    i0 = np.floor(s).astype(np.int64)
    i1 = np.minimum(i0 + 1, clip.num_frames - 1)
    a = s - i0
    trans = (1 - a)[:, None] * clip.trans[i0] + a[:, None] * clip.trans[i1]
    q = quat_from_rotvec(torch.from_numpy(clip.pose_aa))
    w = torch.from_numpy(a)[:, None].expand(-1, NUM_SMPL_JOINTS)
    qi = quat_slerp(q[torch.from_numpy(i0)], q[torch.from_numpy(i1)], w)
    pose = quat_to_rotvec(qi).numpy()
    return HumanClip(
        name=clip.name, fps=float(fps), pose_aa=pose, trans=trans, betas=clip.betas.copy(), gender=clip.gender
    )


def save_amass(path: str | os.PathLike, clip: HumanClip) -> Path:
    """Write a clip as an AMASS-style npz (poses (T,156), trans, betas (16), gender, mocap_framerate)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    poses = np.zeros((clip.num_frames, 156))
    poses[:, :66] = clip.pose_aa[:, :22].reshape(-1, 66)
    betas = np.zeros(16)
    betas[: len(clip.betas)] = clip.betas
    np.savez(
        path,
        poses=poses,
        trans=clip.trans,
        betas=betas,
        gender=np.array(clip.gender),
        mocap_framerate=np.array(float(clip.fps)),
    )
    return path
