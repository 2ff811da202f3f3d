"""``hover bench retarget``: retargeting throughput and keypoint error (:mod:`hover.benchmarks.retarget`)."""

from __future__ import annotations

import json
import sys

import tyro

from hover.benchmarks import retarget
from hover.benchmarks.retarget import RetargetBenchConfig, run


def main(argv: list[str], prog: str = "hover bench retarget") -> int:
    cfg = tyro.cli(RetargetBenchConfig, args=argv, prog=prog, description=retarget.__doc__)
    try:
        out = run(cfg)
    except ValueError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    if cfg.json:
        print(json.dumps(out))
    else:
        print(
            f"{out['frames']} frames ({out['clips']} clips) on {out['device']} ({out['threads']} thread(s)): "
            f"{out['frames_per_s']:.0f} frames/s; keypoint error mean {100 * out['mean_keypoint_error_m']:.2f} cm, "
            f"max {100 * out['max_keypoint_error_m']:.2f} cm; load average {out['load_avg_1min']:.2f}"
        )
    return 0
