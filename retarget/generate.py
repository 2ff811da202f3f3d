"""``hover motion generate``: varied synthetic robot motions, deterministic per seed.

Draws ``num_clips`` clip specifications (:mod:`.random_motions`), makes their SMPL human motion, and
retargets all of them to the robot in batches with the same pipeline, body model and fitted shape as
``hover retarget --builtin`` (:func:`.pipeline.run_retarget`). A clip whose retargeted motion fails the
quality gate (:class:`QualityGate`: self-penetration, joint-limit contact, foot sliding, keypoint error)
is redrawn with the next attempt number, up to ``max_attempts`` times.

Determinism: clip ``i``'s kind, parameters and attempts depend only on (seed, i, kinds), so the first 40
clips of ``--num-clips 80`` are those of ``--num-clips 40`` for the same seed and kinds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from hover.motion.format import MotionClip
from hover.retarget.motion_fit import RetargetConfig, RetargetResult
from hover.retarget.pipeline import builtin_body_and_shape, run_retarget
from hover.retarget.quality import ClipQuality
from hover.retarget.random_motions import (
    ALL_KINDS,
    KINDS,
    ClipSpec,
    GaitCalibration,
    draw_spec,
    human_clip,
    kind_of,
)
from hover.retarget.shape_fit import shape_rest_joints
from hover.robots import RobotSpec, get_robot


@dataclass
class QualityGate:
    """Limits a retargeted clip must meet, else it is redrawn (m, m/s, fractions)."""

    self_penetration_frames: int = 0  # frames with a robot self-penetration deeper than 2 mm
    joint_limit_hit_fraction: float = 0.01  # joint-frames within 1e-3 rad of a limit
    foot_sliding_mean_m_s: float = 0.08  # built-in set: 1.6 cm/s on average, 5.1 cm/s in its worst clip
    max_keypoint_error_m: float = 0.15  # built-in set: 0.099 m at most
    joint_velocity_ratio: float = 0.9  # fastest joint / its velocity limit (built-in set: 0.63)

    def failures(self, q: ClipQuality, velocity_ratio: float = 0.0) -> list[str]:
        out = []
        if velocity_ratio > self.joint_velocity_ratio:
            out.append("joint_velocity")
        if q.self_penetration_frames > self.self_penetration_frames:
            out.append("self_penetration")
        if q.joint_limit_hit_fraction > self.joint_limit_hit_fraction:
            out.append("joint_limits")
        if q.foot_sliding_mean_m_s > self.foot_sliding_mean_m_s:
            out.append("foot_sliding")
        if q.max_keypoint_error_m > self.max_keypoint_error_m:
            out.append("keypoint_error")
        return out


@dataclass
class GenerateConfig:
    fps: float = 50.0  # output frame rate (Hz); human clips are made at this rate
    kinds: tuple[str, ...] = KINDS  # clip kinds, cycled in a random order per block of len(kinds) clips
    max_attempts: int = 4  # draws per clip before the last one is kept despite failing the gate
    gate: QualityGate = field(default_factory=QualityGate)
    batch_clips: int = 16  # clips per retargeting batch (one optimisation; the progress bar moves per batch)
    iterations: int = 10  # Gauss-Newton iterations of the retargeting (as hover retarget)


@dataclass
class GeneratedMotions:
    """Result of :func:`generate`: robot clips, their specifications, quality and wall time (s)."""

    clips: list[MotionClip]
    specs: list[ClipSpec]
    quality: list[ClipQuality]
    failures: list[list[str]]  # gate failures of the kept draw of each clip (empty = passed)
    velocity_ratio: list[float]  # fastest joint of each clip / its velocity limit
    redrawn: int  # clips that needed more than one draw
    seconds: float


def check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """Validated, de-duplicated kinds in the given order; ValueError naming unknown ones."""
    unknown = [k for k in kinds if k not in ALL_KINDS]
    if unknown:
        raise ValueError(f"unknown motion kind(s) {', '.join(unknown)}; known: {', '.join(ALL_KINDS)}")
    if not kinds:
        raise ValueError("no motion kinds given")
    return tuple(dict.fromkeys(kinds))


def draw_specs(num_clips: int, seed: int, kinds: Sequence[str] = KINDS) -> list[ClipSpec]:
    """First-attempt specifications of clips 0..num_clips-1."""
    kinds = check_kinds(kinds)
    return [draw_spec(kind_of(i, seed, kinds), i, seed) for i in range(num_clips)]


def generate(
    num_clips: int,
    seed: int,
    config: GenerateConfig | None = None,
    robot: RobotSpec | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GeneratedMotions:
    """Make ``num_clips`` robot motion clips for ``seed`` (>= 0).

    ``progress(n, total)`` after each retargeting batch: ``n`` more clips retargeted, ``total`` clips to
    retarget so far (grows when clips are redrawn)."""
    cfg = config or GenerateConfig()
    if num_clips < 1:
        raise ValueError(f"num_clips must be >= 1, got {num_clips}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return retarget_specs(draw_specs(num_clips, seed, cfg.kinds), seed, cfg, robot, progress)


def retarget_specs(
    specs: Sequence[ClipSpec],
    seed: int,
    config: GenerateConfig | None = None,
    robot: RobotSpec | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GeneratedMotions:
    """Make and retarget the clips of ``specs`` (their ``index`` fields must be 0..len-1); a clip failing
    the quality gate is redrawn (``draw_spec(kind, index, seed, attempt + 1)``)."""
    cfg = config or GenerateConfig()
    robot = robot or get_robot()
    t0 = time.perf_counter()
    model, shape = builtin_body_and_shape(robot)
    rest = model.rest_joints(torch.zeros(1, 10))[0].to(torch.float64)
    gait = GaitCalibration(rest, shape_rest_joints(model, shape))
    rcfg = RetargetConfig(fps=cfg.fps, iterations=cfg.iterations)
    n = len(specs)
    kept: list[tuple[ClipSpec, MotionClip, ClipQuality, list[str], float] | None] = [None] * n
    todo = list(specs)
    total = len(todo)
    for attempt in range(cfg.max_attempts):
        retry = []
        for b in range(0, len(todo), cfg.batch_clips):
            batch = todo[b : b + cfg.batch_clips]
            humans = [human_clip(s, cfg.fps, rest, gait) for s in batch]
            result: RetargetResult = run_retarget(humans, model, shape, rcfg, robot, batch_frames=10**9)
            if result.skipped:
                raise RuntimeError(f"clips skipped by the retargeting: {result.skipped}")
            for s, clip, q in zip(batch, result.clips, result.quality, strict=True):
                vel = velocity_ratio(clip, robot)
                bad = cfg.gate.failures(q, vel)
                kept[s.index] = (s, clip, q, bad, vel)
                if bad and attempt + 1 < cfg.max_attempts:
                    retry.append(draw_spec(s.kind, s.index, seed, s.attempt + 1))
            if progress:
                progress(len(batch), total)
        todo = retry
        total += len(retry)
        if not todo:
            break
    done = [k for k in kept if k is not None]
    assert len(done) == len(kept), "spec indices must be 0..len(specs)-1"
    return GeneratedMotions(
        clips=[k[1] for k in done],
        specs=[k[0] for k in done],
        quality=[k[2] for k in done],
        failures=[k[3] for k in done],
        velocity_ratio=[k[4] for k in done],
        redrawn=sum(k[0].attempt > 0 for k in done),
        seconds=time.perf_counter() - t0,
    )


def generate_motions(
    num_clips: int, seed: int, fps: float = 50.0, kinds: Sequence[str] = KINDS, robot: RobotSpec | None = None
) -> list[MotionClip]:
    """``num_clips`` robot motion clips (names ``KIND_INDEX``, e.g. ``walk_0007``), deterministic per seed."""
    return generate(num_clips, seed, GenerateConfig(fps=fps, kinds=tuple(kinds)), robot).clips


def velocity_ratio(clip: MotionClip, robot: RobotSpec) -> float:
    """Fastest joint speed of a clip (finite differences) over that joint's velocity limit."""
    vmax = np.array([j.velocity_limit for j in robot.joints])
    return float((np.abs(np.diff(clip.joint_pos, axis=0)) * clip.fps / vmax).max())


def pelvis_speed(clip: MotionClip, window: tuple[float, float], period: float) -> float:
    """Mean horizontal pelvis speed (m/s) in ``window`` (s), from displacements over ``period`` s (one
    gait cycle, so the in-cycle speed variation averages out)."""
    n = max(1, int(round(period * clip.fps)))
    a, b = int(round(window[0] * clip.fps)), int(round(window[1] * clip.fps))
    b = min(b, clip.num_frames - 1)
    if b - a <= n:
        return float("nan")
    xy = clip.root_pos[:, :2]
    return float(np.linalg.norm(xy[a + n : b + 1] - xy[a : b + 1 - n], axis=-1).mean() / (n / clip.fps))


def measured_speeds(gen: GeneratedMotions) -> list[float]:
    """Steady pelvis speed (m/s) of each walking clip (nan for other kinds)."""
    out = []
    for c, s in zip(gen.clips, gen.specs, strict=True):
        out.append(pelvis_speed(c, s.steady, 1.0 / s.params["freq"]) if "speed" in s.params else float("nan"))
    return out


def kind_summary(gen: GeneratedMotions) -> dict[str, dict]:
    """Per kind (and ``"all"``): clips, duration range (s), drawn / measured walking speed range (m/s),
    frame-weighted mean keypoint error and foot sliding, worst figures, redraws and gate failures."""
    speeds = measured_speeds(gen)
    groups: dict[str, list[int]] = {}
    for i, s in sorted(enumerate(gen.specs), key=lambda x: (ALL_KINDS.index(x[1].kind), x[0])):
        groups.setdefault(s.kind, []).append(i)
    groups["all"] = list(range(len(gen.specs)))
    out = {}
    for kind, idx in groups.items():
        q = [gen.quality[i] for i in idx]
        frames = np.array([x.frames for x in q], dtype=np.float64)

        def wmean(key: str, q=q, frames=frames) -> float:
            return float(np.sum(frames * np.array([getattr(x, key) for x in q])) / frames.sum())

        drawn = [abs(gen.specs[i].params["speed"]) for i in idx if "speed" in gen.specs[i].params]
        measured = [speeds[i] for i in idx if np.isfinite(speeds[i])]
        out[kind] = {
            "clips": len(idx),
            "frames": int(frames.sum()),
            "duration_s": [min(gen.specs[i].duration for i in idx), max(gen.specs[i].duration for i in idx)],
            "speed_drawn_m_s": [min(drawn), max(drawn)] if drawn else None,
            "speed_measured_m_s": [min(measured), max(measured)] if measured else None,
            "mean_keypoint_error_m": wmean("mean_keypoint_error_m"),
            "max_keypoint_error_m": max(x.max_keypoint_error_m for x in q),
            "joint_limit_hit_fraction": wmean("joint_limit_hit_fraction"),
            "foot_sliding_mean_m_s": wmean("foot_sliding_mean_m_s"),
            "foot_penetration_max_m": max(x.foot_penetration_max_m for x in q),
            "lowest_point_range_m": [
                min(x.lowest_point_min_m for x in q),
                max(x.lowest_point_max_m for x in q),
            ],
            "self_penetration_frames": sum(max(x.self_penetration_frames, 0) for x in q),
            "joint_velocity_ratio_max": max(gen.velocity_ratio[i] for i in idx),
            "redrawn": sum(gen.specs[i].attempt > 0 for i in idx),
            "failing_gate": sum(bool(gen.failures[i]) for i in idx),
        }
    return out


def format_summary(gen: GeneratedMotions) -> str:
    """Table of :func:`kind_summary` (errors in cm, sliding in cm/s, speeds in m/s)."""
    s = kind_summary(gen)
    head = (
        f"{'kind':<10} {'clips':>5} {'duration s':>10} {'speed m/s (drawn->measured)':>27} {'err mean/max':>13} "
        f"{'limits':>6} {'vel':>4} {'slide':>9} {'self-pen':>8} {'redrawn':>7} {'failing':>7}"
    )
    lines = [head, "-" * len(head)]
    for kind, r in s.items():
        if kind == "all":
            lines.append("-" * len(head))
        d = f"{r['duration_s'][0]:.1f}-{r['duration_s'][1]:.1f}"
        sp = (
            (
                f"{r['speed_drawn_m_s'][0]:.2f}-{r['speed_drawn_m_s'][1]:.2f} -> "
                f"{r['speed_measured_m_s'][0]:.2f}-{r['speed_measured_m_s'][1]:.2f}"
            )
            if r["speed_measured_m_s"]
            else "-"
        )
        lines.append(
            f"{kind:<10} {r['clips']:>5} {d:>10} {sp:>27} {100 * r['mean_keypoint_error_m']:>5.2f}/"
            f"{100 * r['max_keypoint_error_m']:<5.2f}cm {100 * r['joint_limit_hit_fraction']:>5.2f}% "
            f"{r['joint_velocity_ratio_max']:>4.2f} "
            f"{100 * r['foot_sliding_mean_m_s']:>4.1f}cm/s {r['self_penetration_frames']:>8} "
            f"{r['redrawn']:>7} {r['failing_gate']:>7}"
        )
    lines.append(
        "err: keypoint error (robot bodies vs scaled human joints); limits: joint-frames at a joint limit; "
        "vel: fastest joint / its velocity limit;"
    )
    lines.append(
        "slide: supporting-foot speed; self-pen: frames with a self-penetration > 2 mm; redrawn / failing: "
        "clips redrawn for / still failing the quality gate"
    )
    return "\n".join(lines)
