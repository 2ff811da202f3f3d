"""Options shared by the ``hover retarget`` subcommands that fit motion (builtin, motions, bvh, positions)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class FitOptions:
    fps: float = 30.0
    """output frame rate (Hz); sources are resampled with slerp/lerp"""
    device: str = "cpu"
    """torch device of the optimisation (cpu, cuda, ...)"""
    workers: int = 1
    """CPU threads for the optimisation (all clips are batched into one optimisation per --batch-frames)"""
    iterations: int = 10
    """Gauss-Newton iterations"""
    batch_frames: int = 50_000
    """frames per optimisation batch (bounds memory: ~6 kB per frame in float32)"""
    hand_orientation: bool = False
    """also match forearm orientation (H1 has no wrist); feet orientation is always on"""
    single_file: str | None = None
    """write all clips into OUT/SINGLE_FILE (e.g. builtin.npz) instead of one file per clip"""
    report: Path | None = None
    """write the per-clip quality report as JSON (default OUT/report.json)"""
    quiet: bool = False
    """no progress bar or table"""


def retarget_config(a: FitOptions):
    from hover.retarget.motion_fit import RetargetConfig

    return RetargetConfig(
        fps=a.fps,
        device=a.device,
        num_threads=a.workers,
        iterations=a.iterations,
        extra_hand_orientation=a.hand_orientation,
    )
