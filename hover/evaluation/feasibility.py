"""``hover retarget filter``: the sim-to-data feasibility filter (H2O).

Replay every clip with a trained privileged teacher (evaluation protocol, no domain randomisation) and
keep the clips where no tracked body ever strays more than ``threshold`` (0.5 m) from the reference.
Needs a teacher policy (``--policy``: a checkpoint .pt, a run folder, or ``builtin:teacher``) and
hover's evaluation module (:func:`hover.evaluation.evaluate.replay_clips`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro

from hover.evaluation.evaluate import replay_clips
from hover.motion.library import MotionLibrary

NEEDS_TEACHER = (
    "the feasibility filter needs a trained teacher policy: pass --policy with a checkpoint .pt, a "
    "training run folder, or builtin:teacher (train one with `hover train teacher`)"
)


@dataclass
class FilterArgs:
    """Keep the clips a trained teacher can track (max body deviation <= threshold)."""

    motions: Annotated[tuple[str, ...], tyro.conf.Positional, tyro.conf.arg(metavar="MOTIONS")] = ()
    """robot motion files or folders"""
    policy: str | None = None
    """teacher policy: checkpoint .pt, run folder, or builtin:teacher"""
    out: Path = Path("filtered")
    """output folder: kept.npz (kept clips) and filter_report.json"""
    threshold: float = 0.5
    """m; a clip is dropped when any tracked body is ever farther than this from the reference"""
    device: str = "cpu"
    num_envs: int | None = None
    """parallel environments for the replay (default: the evaluation's choice)"""


def filter_clips(clips, policy, threshold: float = 0.5, num_envs: int | None = None, device: str = "cpu"):
    """(kept clips, per-clip records) after replaying ``clips`` with ``policy`` (a LoadedPolicy)."""
    results = replay_clips(policy, MotionLibrary(clips, device=device), num_envs=num_envs)
    records, kept = [], []
    for clip, r in zip(clips, results, strict=True):
        keep = bool(r.success and r.max_body_dev_m <= threshold)
        records.append(
            {
                "clip": clip.name,
                "kept": keep,
                "max_body_dev_m": r.max_body_dev_m,
                "success": r.success,
                "fail_time_s": r.fail_time_s,
            }
        )
        if keep:
            kept.append(clip)
    return kept, records
