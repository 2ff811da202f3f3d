"""End-to-end retargeting: sources -> batched fit -> robot motion files + per-clip quality report.

Used by ``hover retarget`` and ``hover bench retarget``. Clips are processed in batches of at most
``batch_frames`` frames (after resampling); each batch is one optimisation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np
import torch

from hover.io import atomic_write_json
from hover.motion.format import MotionClip, save_motions
from hover.retarget.amass import HumanClip
from hover.retarget.body_model import BodyModel, load_synthetic_body_model
from hover.retarget.motion_fit import RetargetConfig, RetargetResult, retarget_clips
from hover.retarget.shape_fit import (
    BodyShape,
    builtin_shape_path,
    fit_shape,
    load_shape,
    save_shape,
    shape_rest_joints,
)
from hover.robots import RobotSpec, get_robot


def builtin_body_and_shape(robot: RobotSpec | None = None) -> tuple[BodyModel, BodyShape]:
    """The synthetic body model and its shape fitted to the robot (shipped file; fitted if absent)."""
    robot = robot or get_robot()
    model = load_synthetic_body_model()
    path = builtin_shape_path()
    if path.is_file():
        shape = load_shape(path, robot)
    else:
        shape = fit_shape(model, robot)
        save_shape(path, shape)
    return model, shape


def builtin_human_clips(
    seed: int | None = None, kinds: Sequence[str] = (), robot: RobotSpec | None = None
) -> list[HumanClip]:
    """The synthetic human clips (AMASS form, mixed source frame rates), fixed seed by default;
    ``kinds`` keeps only those motion kinds (e.g. ("walk", "squat")).

    The locomotion clips use the foot-space gait calibrated to the body shape fitted to ``robot`` (as
    ``hover motion generate`` does), so the retargeted stance feet stay planted."""
    from hover.retarget.random_motions import GaitCalibration, step_gait_clip
    from hover.retarget.synthetic import DEFAULT_SEED, KINDS, synthetic_clips

    known = {k[0] for k in KINDS}
    unknown = set(kinds) - known
    if unknown:
        raise ValueError(f"unknown synthetic motion kinds {sorted(unknown)}; known: {sorted(known)}")
    chosen = tuple(k for k in KINDS if not kinds or k[0] in kinds)
    model, shape = builtin_body_and_shape(robot)
    rest = model.rest_joints(torch.zeros(1, 10))[0].to(torch.float64)
    gait = GaitCalibration(rest, shape_rest_joints(model, shape))
    return synthetic_clips(
        seed=DEFAULT_SEED if seed is None else seed,
        rest_joints=rest,
        kinds=chosen,
        locomotion=partial(step_gait_clip, gait=gait),
    )


def clip_batches(clips: Sequence, fps: float, batch_frames: int) -> list[list]:
    """Consecutive groups of clips (anything with ``duration`` in s) of at most ``batch_frames`` frames at
    ``fps`` (a longer clip is a batch of its own)."""
    out: list[list] = []
    cur: list = []
    size = 0
    for c in clips:
        n = int(c.duration * fps) + 1
        if cur and size + n > batch_frames:
            out.append(cur)
            cur, size = [], 0
        cur.append(c)
        size += n
    if cur:
        out.append(cur)
    return out


def run_retarget(
    clips: Sequence[HumanClip],
    model: BodyModel,
    shape: BodyShape,
    config: RetargetConfig,
    robot: RobotSpec | None = None,
    batch_frames: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> RetargetResult:
    """Retarget ``clips`` in batches; ``progress(n_clips_done)`` after each batch."""
    robot = robot or get_robot()
    merged = RetargetResult([], [], [], 0.0, 0)
    for batch in clip_batches(clips, config.fps, batch_frames):
        r = retarget_clips(batch, shape, model, robot, config)
        merged.clips += r.clips
        merged.quality += r.quality
        merged.skipped += r.skipped
        merged.seconds += r.seconds
        merged.frames += r.frames
        if progress:
            progress(len(batch))
    return merged


def write_motion_files(
    clips: Sequence[MotionClip], out: Path, single_file: str | None = None, robot: RobotSpec | None = None
) -> list[Path]:
    """One ``.npz`` per clip under ``out`` (clip names with '/' become folders), or all in ``out/single_file``."""
    if not clips:
        return []
    if single_file:
        return [save_motions(Path(out) / single_file, list(clips), robot)]
    paths = []
    for c in clips:
        paths.append(save_motions(Path(out) / f"{c.name}.npz", [c], robot))
    return paths


def summary(result: RetargetResult) -> dict:
    """Aggregate figures over all clips (frame-weighted means)."""
    q = result.quality
    frames = np.array([x.frames for x in q], dtype=np.float64)
    if not len(q):
        return {"clips": 0, "frames": 0, "skipped": len(result.skipped)}

    def wmean(key: str) -> float:
        return float(np.sum(frames * np.array([getattr(x, key) for x in q])) / frames.sum())

    return {
        "clips": len(q),
        "frames": int(frames.sum()),
        "skipped": len(result.skipped),
        "seconds": result.seconds,
        "frames_per_s": result.frames / max(result.seconds, 1e-9),
        "mean_keypoint_error_m": wmean("mean_keypoint_error_m"),
        "max_keypoint_error_m": max(x.max_keypoint_error_m for x in q),
        "joint_limit_hit_fraction": wmean("joint_limit_hit_fraction"),
        "lowest_point_range_m": [min(x.lowest_point_min_m for x in q), max(x.lowest_point_max_m for x in q)],
        "foot_penetration_max_m": max(x.foot_penetration_max_m for x in q),
        "foot_sliding_mean_m_s": wmean("foot_sliding_mean_m_s"),
        "self_penetration_frames": sum(max(x.self_penetration_frames, 0) for x in q),
        "joint_velocity_max_ratio": max(x.joint_velocity_max_ratio for x in q),
        "joint_velocity_over_limit_frames": sum(x.joint_velocity_over_limit_frames for x in q),
    }


def write_report(path: Path, result: RetargetResult, extra: dict | None = None) -> Path:
    """JSON report: summary, per-clip quality, skipped clips with reasons (atomic write)."""
    data = {
        "summary": summary(result),
        "clips": [asdict(q) for q in result.quality],
        "skipped": [{"clip": n, "reason": r} for n, r in result.skipped],
        **(extra or {}),
    }
    return atomic_write_json(path, data)


def format_table(result: RetargetResult) -> str:
    """Per-clip quality table plus a total line (errors in cm, sliding in cm/s)."""
    head = (
        f"{'clip':<28} {'frames':>6} {'err mean':>8} {'err max':>8} {'limits':>7} {'lowest':>13} {'slide':>9} "
        f"{'self-pen':>8}"
    )
    lines = [head, "-" * len(head)]
    for q in result.quality:
        lines.append(
            f"{q.name[:28]:<28} {q.frames:>6} {100 * q.mean_keypoint_error_m:>6.2f}cm "
            f"{100 * q.max_keypoint_error_m:>6.2f}cm {100 * q.joint_limit_hit_fraction:>6.2f}% "
            f"{1000 * q.lowest_point_min_m:>5.1f}/{1000 * q.lowest_point_max_m:<5.1f}mm "
            f"{100 * q.foot_sliding_mean_m_s:>4.1f}cm/s {q.self_penetration_frames:>8}"
        )
    s = summary(result)
    if s["clips"]:
        lines.append("-" * len(head))
        lines.append(
            f"{'total':<28} {s['frames']:>6} {100 * s['mean_keypoint_error_m']:>6.2f}cm "
            f"{100 * s['max_keypoint_error_m']:>6.2f}cm   {s['frames_per_s']:.0f} frames/s"
        )
    for name, reason in result.skipped:
        lines.append(f"skipped {name}: {reason}")
    return "\n".join(lines)
