"""``hover bench retarget``: retargeting throughput and accuracy on the built-in synthetic human set.

Times :func:`hover.retarget.motion_fit.retarget_clips` (resampling, human FK, the batched Gauss-Newton
fit, grounding; not the generation of the synthetic clips or the quality figures' file writing) over
all clips at once, ``repeats`` times after one warm-up, and reports the median. ``--copies K`` batches
K copies of the set into one optimisation to show how the rate scales with batch size.
Prints ``frames_per_s``, ``mean_keypoint_error_m``, ``max_keypoint_error_m``, ``frames``, ``device``.

``--source bvh``: the same clips written as BVH files first (untimed; by default each clip in another of
the supported conventions, :data:`hover.retarget.bvh_export.STYLES`, with their units, up axes, channel
orders and frame rates), then timed end to end: reading and parsing the files, forward kinematics,
unit/up-axis detection, resampling, the keypoint targets, the fit and grounding
(:func:`hover.retarget.keypoint_fit.retarget_keypoint_clips`). ``frames_per_s`` counts output frames
over that whole time; ``read_frames_per_s`` counts source frames over the reading part.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, replace
from typing import Literal

import torch


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
    source: Literal["smpl", "bvh"] = "smpl"
    """smpl: the SMPL path on the synthetic clips; bvh: the clips written as BVH files, read and retargeted"""
    convention: str = "mixed"
    """--source bvh: the BVH convention of all files (cmu, lafan1, bandai_namco, mixamo, rigify, humanik, smpl), or
    mixed (clip i in the i-th convention, cycling)"""


def run_bvh(cfg: RetargetBenchConfig) -> dict:
    """The ``--source bvh`` benchmark (see the module docstring)."""
    import tempfile
    import time
    from pathlib import Path

    from hover.retarget.bvh_export import STYLES, write_style_bvh
    from hover.retarget.bvh_input import load_bvh_clip
    from hover.retarget.keypoint_fit import retarget_keypoint_clips
    from hover.retarget.motion_fit import RetargetConfig
    from hover.retarget.pipeline import builtin_body_and_shape, builtin_human_clips, summary

    if cfg.convention != "mixed" and cfg.convention not in STYLES:
        raise ValueError(f"--convention {cfg.convention!r}: expected mixed or one of {', '.join(STYLES)}")
    model, _ = builtin_body_and_shape()
    rest = model.rest_joints(torch.zeros(1, model.num_betas, dtype=torch.float64))[0]
    names = list(STYLES)
    rcfg = RetargetConfig(fps=cfg.fps, device=cfg.device, num_threads=cfg.threads, iterations=cfg.iterations)
    with tempfile.TemporaryDirectory(prefix="hover_bench_bvh_") as tmp:
        files, styles = [], []
        for k in range(cfg.copies):
            for i, c in enumerate(builtin_human_clips()):
                style = names[i % len(names)] if cfg.convention == "mixed" else cfg.convention
                path = Path(tmp) / f"{c.name}#{k}.bvh"
                write_style_bvh(path, c, rest, style)
                files.append(path)
                styles.append(style)
        retarget_keypoint_clips([load_bvh_clip(files[0])[0]], config=rcfg)  # warm-up
        runs = []
        for _ in range(max(1, cfg.repeats)):
            t0 = time.perf_counter()
            clips = [load_bvh_clip(f)[0] for f in files]
            read = time.perf_counter() - t0
            res = retarget_keypoint_clips(clips, config=rcfg)
            runs.append((read, res.seconds, sum(c.num_frames for c in clips), res))
    total = statistics.median(r[0] + r[1] for r in runs)
    read = statistics.median(r[0] for r in runs)
    res = runs[-1][3]
    s = summary(res)
    return {
        "source": "bvh",
        "convention": cfg.convention,
        "conventions": sorted(set(styles)),
        "frames_per_s": res.frames / total,
        "read_frames_per_s": runs[-1][2] / read,
        "fit_frames_per_s": res.frames / statistics.median(r[1] for r in runs),
        "mean_keypoint_error_m": s["mean_keypoint_error_m"],
        "max_keypoint_error_m": s["max_keypoint_error_m"],
        "frames": res.frames,
        "source_frames": runs[-1][2],
        "clips": len(files),
        "device": cfg.device,
        "threads": cfg.threads,
        "iterations": cfg.iterations,
        "seconds_median": total,
        "seconds_runs": [r[0] + r[1] for r in runs],
        "read_seconds_median": read,
        "foot_sliding_mean_m_s": s["foot_sliding_mean_m_s"],
        "lowest_point_range_m": s["lowest_point_range_m"],
        "load_avg_1min": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
    }


def run(cfg: RetargetBenchConfig) -> dict:
    if cfg.source == "bvh":
        return run_bvh(cfg)
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
