"""``hover retarget filter``: the sim-to-data feasibility filter (H2O).

Replay every clip with a trained privileged teacher (evaluation protocol, no domain randomisation) and
keep the clips where no tracked body ever strays more than ``threshold`` (0.5 m) from the reference.
Needs a teacher policy (``--policy``: a checkpoint .pt, a run folder, or ``builtin:teacher``) and
hover's evaluation module (:func:`hover.evaluation.evaluate.replay_clips`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro

NEEDS_TEACHER = ("the feasibility filter needs a trained teacher policy: pass --policy with a checkpoint .pt, a "
                 "training run folder, or builtin:teacher (train one with `hover train teacher`)")  # fmt: skip


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


def _replay_function():
    """``replay_clips`` and ``load_policy`` if hover's evaluation and policy modules are available."""
    try:
        from hover.evaluation.evaluate import replay_clips
        from hover.checkpoints import load_policy
    except ImportError as e:
        raise RuntimeError(f"{NEEDS_TEACHER} (the evaluation module is unavailable: {e})") from e
    return replay_clips, load_policy


def filter_clips(clips, policy, threshold: float = 0.5, num_envs: int | None = None, device: str = "cpu"):
    """(kept clips, per-clip records) after replaying ``clips`` with ``policy`` (a LoadedPolicy)."""
    from hover.motion.library import MotionLibrary

    replay_clips, _ = _replay_function()
    results = replay_clips(policy, MotionLibrary(clips, device=device), num_envs=num_envs)
    records, kept = [], []
    for clip, r in zip(clips, results, strict=True):
        keep = bool(r.success and r.max_body_dev_m <= threshold)
        records.append({"clip": clip.name, "kept": keep, "max_body_dev_m": r.max_body_dev_m,
                        "success": r.success, "fail_time_s": r.fail_time_s})  # fmt: skip
        if keep:
            kept.append(clip)
    return kept, records


def main(argv: list[str], prog: str = "hover retarget filter") -> int:
    a = tyro.cli(FilterArgs, args=argv, prog=prog, description=__doc__)
    if not a.policy:
        print(f"{prog}: {NEEDS_TEACHER}", file=sys.stderr)
        return 2
    if not a.motions:
        print(f"{prog}: give the motion files or folders to filter", file=sys.stderr)
        return 2
    try:
        _, load_policy = _replay_function()
        policy = load_policy(a.policy, device=a.device)
    except (RuntimeError, FileNotFoundError, ValueError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    from hover.motion.format import MotionFormatError, load_motion_sources, save_motions

    try:
        clips = load_motion_sources(list(a.motions))
    except MotionFormatError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    kept, records = filter_clips(clips, policy, a.threshold, a.num_envs, a.device)
    a.out.mkdir(parents=True, exist_ok=True)
    if kept:
        save_motions(a.out / "kept.npz", kept)
    (a.out / "filter_report.json").write_text(json.dumps({"policy": a.policy, "threshold_m": a.threshold,
                                                          "kept": len(kept), "total": len(clips),
                                                          "clips": records}, indent=2))  # fmt: skip
    print(f"kept {len(kept)} of {len(clips)} clips (max body deviation <= {a.threshold} m); wrote {a.out}")
    return 0
