"""``hover bench retarget``: retargeting throughput and accuracy on the built-in synthetic human set.

Times :func:`hover.retarget.motion_fit.retarget_clips` (resampling, human FK, the batched Gauss-Newton
fit, grounding; not the generation of the synthetic clips or the quality figures' file writing) over
all clips at once, ``repeats`` times after one warm-up, and reports the median. ``--copies K`` batches
K copies of the set into one optimisation to show how the rate scales with batch size.
Prints ``frames_per_s``, ``mean_keypoint_error_m``, ``max_keypoint_error_m``, ``frames``, ``device``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from dataclasses import dataclass, replace

import torch
import tyro


@dataclass
class RetargetBenchConfig:
    """Options of ``hover bench retarget``."""

    device: str = "cpu"
    """torch device of the optimisation"""
    threads: int = 1
    """torch CPU threads"""
    iterations: int = 10
    """Gauss-Newton iterations (the default of hover retarget)"""
    fps: float = 30.0
    """output frame rate"""
    repeats: int = 3
    """timed runs (median reported)"""
    copies: int = 1
    """copies of the built-in set batched together"""
    json: bool = False
    """print exactly one JSON object"""


def run(cfg: RetargetBenchConfig) -> dict:
    from hover.retarget.motion_fit import RetargetConfig, retarget_clips
    from hover.retarget.pipeline import builtin_body_and_shape, builtin_human_clips, summary

    model, shape = builtin_body_and_shape()
    base = builtin_human_clips()
    clips = [replace(c, name=f"{c.name}#{k}") for k in range(cfg.copies) for c in base]
    rcfg = RetargetConfig(fps=cfg.fps, device=cfg.device, num_threads=cfg.threads, iterations=cfg.iterations)
    retarget_clips(clips[:2], shape, model, config=rcfg)  # warm-up (allocator, lazy imports, kernels)
    runs = []
    for _ in range(max(1, cfg.repeats)):
        if cfg.device.startswith("cuda"):
            torch.cuda.synchronize()
        res = retarget_clips(clips, shape, model, config=rcfg)
        runs.append(res)
    seconds = statistics.median(r.seconds for r in runs)
    s = summary(runs[-1])
    return {
        "frames_per_s": res.frames / seconds,
        "mean_keypoint_error_m": s["mean_keypoint_error_m"],
        "max_keypoint_error_m": s["max_keypoint_error_m"],
        "frames": res.frames,
        "clips": len(clips),
        "device": cfg.device,
        "threads": cfg.threads,
        "iterations": cfg.iterations,
        "seconds_median": seconds,
        "seconds_runs": [r.seconds for r in runs],
        "foot_sliding_mean_m_s": s["foot_sliding_mean_m_s"],
        "lowest_point_range_m": s["lowest_point_range_m"],
        "load_avg_1min": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
    }


def main(argv: list[str], prog: str = "hover bench retarget") -> int:
    cfg = tyro.cli(RetargetBenchConfig, args=argv, prog=prog, description=__doc__)
    out = run(cfg)
    if cfg.json:
        print(json.dumps(out))
    else:
        print(f"{out['frames']} frames ({out['clips']} clips) on {out['device']} ({out['threads']} thread(s)): "
              f"{out['frames_per_s']:.0f} frames/s; keypoint error mean {100 * out['mean_keypoint_error_m']:.2f} cm, "
              f"max {100 * out['max_keypoint_error_m']:.2f} cm; load average {out['load_avg_1min']:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
