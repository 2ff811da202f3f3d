"""``hover retarget filter``: keep the clips a trained teacher can track (:mod:`hover.evaluation.feasibility`)."""

from __future__ import annotations

import json
import sys

import tyro

from hover.evaluation import feasibility
from hover.evaluation.feasibility import NEEDS_TEACHER, FilterArgs, filter_clips
from hover.motion.format import MotionFormatError, load_motion_sources, save_motions
from hover.training.policies import load_policy


def main(argv: list[str], prog: str = "hover retarget filter") -> int:
    a = tyro.cli(FilterArgs, args=argv, prog=prog, description=feasibility.__doc__)
    if not a.policy:
        print(f"{prog}: {NEEDS_TEACHER}", file=sys.stderr)
        return 2
    if not a.motions:
        print(f"{prog}: give the motion files or folders to filter", file=sys.stderr)
        return 2
    try:
        policy = load_policy(a.policy, device=a.device)
    except (FileNotFoundError, ValueError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    try:
        clips = load_motion_sources(list(a.motions))
    except MotionFormatError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    kept, records = filter_clips(clips, policy, a.threshold, a.num_envs, a.device)
    a.out.mkdir(parents=True, exist_ok=True)
    if kept:
        save_motions(a.out / "kept.npz", kept)
    (a.out / "filter_report.json").write_text(
        json.dumps(
            {
                "policy": a.policy,
                "threshold_m": a.threshold,
                "kept": len(kept),
                "total": len(clips),
                "clips": records,
            },
            indent=2,
        )
    )
    print(f"kept {len(kept)} of {len(clips)} clips (max body deviation <= {a.threshold} m); wrote {a.out}")
    return 0
