"""``hover eval``: the paper's evaluation of a policy on a motion set, as JSON/CSV and a video."""

from __future__ import annotations

import csv as csvlib
import inspect
import json as jsonlib
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hover.evaluation.evaluate import DEFAULT_MAX_ENVS, ClipResult, EvalReport
from hover.evaluation.metrics import BODY_METRIC_NAMES, METRIC_NAMES
from hover.evaluation.switch_pairs import DEFAULT_CLIPS
from hover.io import atomic_open


@dataclass
class EvalConfig:
    """Evaluate a policy on every clip of a motion set: each clip played once from t = 0 on flat
    ground, no domain randomisation, control delay 2 steps, batched across envs. Reports the HOVER
    paper's metrics (success rate, E_g-mpjpe, E_mpjpe, E_vel, E_acc, joint and root errors) for all
    tracked bodies and each body subset, over all clips and over successful clips.

    A student with ``--mode NAME|all`` is evaluated once per named command mode (its mask fixed to
    that mode), with the metrics also over the mode's masked bodies: a modes x metrics table, and
    with ``--out DIR`` modes.json, modes.csv, per_clip.csv and (two or more modes) radar.png. A
    teacher sees the full reference and ignores ``--mode`` (a note says so). ``--switch-pairs``: a
    student switches between every ordered pair of named modes mid-clip on a walking and a standing
    clip; a matrix of ok / fell / lost tracking, exit 1 unless every cell is ok."""

    policy: str  # checkpoint .pt, run folder (latest checkpoint), builtin:teacher or builtin:student
    mode: str | None = None  # student only: a named command mode, a comma list, or "all" (every named mode)
    out: str | None = None  # with --mode: write modes.json, modes.csv, per_clip.csv, radar.png here
    motions: str | None = None  # motion file or folder; default: the built-in motion set
    json: bool = False  # print the report as JSON on stdout (progress goes to stderr)
    per_clip: bool = False  # include the per-clip rows in the JSON report
    csv: str | None = None  # write one row per clip to this CSV file
    video: str | None = None  # write a rollout video (MP4; GIF when ffmpeg is missing)
    video_clips: str | None = None  # comma-separated clip names for the video; default: the worst clip
    video_width: int = 960
    video_height: int = 540
    num_envs: int | None = None  # parallel envs; default: one per clip, at most 64
    num_threads: int | None = None  # simulator threads (MuJoCo backend); default: all cores
    backend: str = "mujoco"
    device: str = "cpu"
    domain_rand: bool = False  # evaluate with the training domain randomisation on
    reference_follows_robot: bool = False
    """drag each reference along horizontally once the robot's root strays more than --follow-slack-m
    from it: local tracking without a global position to return to, as a joystick commands it (not the
    protocol)"""
    follow_slack_m: float | None = None  # with --reference-follows-robot (m); default: the policy config's
    switch_pairs: bool = False
    """student: switch between every ordered pair of the --switch-modes mid-clip on each --switch-clips
    clip; a from x to matrix of ok / fell / lost tracking; exit 1 unless every cell is ok"""
    switch_clips: str = ",".join(DEFAULT_CLIPS)  # --switch-pairs: comma list of clips (walking, standing)
    switch_modes: str = "all"  # --switch-pairs: the modes paired (a comma list or all)
    switch_at: float = 0.5  # --switch-pairs: when the mode switches, as a fraction of the clip
    switch_seconds: float | None = None  # --switch-pairs: play only the first N s of each clip


def write_csv(path: str | os.PathLike, clips: list[ClipResult]) -> Path:
    """One row per clip (name, success, failure, deviations, every metric); written atomically."""
    path = Path(path)
    rows = [c.row() for c in clips]
    fields = list(rows[0]) if rows else ["name"]
    with atomic_open(path, "w", newline="") as f:
        writer = csvlib.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return path


def _fmt(v: float | None, digits: int = 3) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{digits}f}"


def format_table(report: EvalReport) -> str:
    """Human-readable summary: the metrics over all/successful clips, subsets, then one line per clip."""
    s = report.summary
    ok = s["successful_only"]
    lines = [
        f"policy {report.policy_source}: {s['num_clips']} clips, success rate {_fmt(s['success_rate'])} "
        f"({s['num_successful']}/{s['num_clips']}); frame = {report.control_dt:g} s",
        "",
        f"{'metric':<24}{'all clips':>12}{'successful':>12}",
    ]
    for name in METRIC_NAMES:
        lines.append(f"{name:<24}{_fmt(s[name]):>12}{_fmt(ok[name]):>12}")
    for subset, vals in s["subset"].items():
        for name in BODY_METRIC_NAMES:
            key = f"{subset}/{name}"
            lines.append(f"{key:<24}{_fmt(vals[name]):>12}{_fmt(ok['subset'][subset][name]):>12}")
    lines += ["", f"{'clip':<24}{'ok':>4}{'mpjpe_g':>9}{'mpjpe_l':>9}{'fail_s':>8}  reason"]
    for c in report.clips:
        lines.append(
            f"{c.name:<24}{'yes' if c.success else 'no':>4}{_fmt(c.metrics['mpjpe_g_mm'], 1):>9}"
            f"{_fmt(c.metrics['mpjpe_l_mm'], 1):>9}{_fmt(c.fail_time_s, 2):>8}  {c.fail_reason or ''}"
        )
    return "\n".join(lines)


def _video_names(cfg: EvalConfig, names: list[str]) -> list[str] | None:
    if not cfg.video:
        return None
    if not cfg.video_clips:
        return []  # decided after the run: the worst clip
    wanted = [n.strip() for n in cfg.video_clips.split(",") if n.strip()]
    missing = [n for n in wanted if n not in names]
    if missing:
        raise ValueError(f"--video-clips: unknown clips {missing}; the motion set has {names}")
    return wanted


def _worst(report: EvalReport) -> ClipResult:
    """First failed clip, else the clip with the highest E_g-mpjpe."""
    failed = [c for c in report.clips if not c.success]
    if failed:
        return failed[0]
    return max(report.clips, key=lambda c: c.metrics["mpjpe_g_mm"])


def main(argv: list[str], prog: str) -> int:
    import tyro

    cfg = tyro.cli(EvalConfig, args=argv, prog=prog, description=inspect.cleandoc(EvalConfig.__doc__ or ""))
    from hover.evaluation.evaluate import evaluate
    from hover.motion.library import MotionLibrary
    from hover.training.policies import load_policy

    log = sys.stderr if cfg.json else sys.stdout
    try:
        policy = load_policy(cfg.policy, device=cfg.device)
        motions = (
            MotionLibrary.from_sources(cfg.motions, device=cfg.device)
            if cfg.motions
            else MotionLibrary.builtin(device=cfg.device)
        )
        video_names = _video_names(cfg, list(motions.clip_names))
    except (FileNotFoundError, ValueError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return 2
    num_envs = min(cfg.num_envs or DEFAULT_MAX_ENVS, motions.num_clips)
    if cfg.switch_pairs:
        if cfg.reference_follows_robot:
            print(f"{prog}: --reference-follows-robot is not supported with --switch-pairs", file=sys.stderr)
            return 2
        return _eval_switch_pairs(cfg, policy, log, prog)
    if cfg.mode is not None and policy.kind == "student":
        return _eval_modes(cfg, policy, motions, num_envs, log, prog)
    if cfg.mode is not None:
        print(
            f"note: --mode {cfg.mode} ignored: {policy.source} is a {policy.kind} policy, which sees the "
            "full reference (modes are student masks)"
            + ("; --out is for per-mode results, nothing written there" if cfg.out else ""),
            file=sys.stderr,
        )
    elif policy.kind == "student":
        print(
            "note: no --mode: the student's episode masks are drawn from its training mix "
            f"{tuple(policy.env_cfg.student.modes)}; use --mode NAME|all for per-mode results",
            file=sys.stderr,
        )
    print(
        f"evaluating {policy.source} on {motions.num_clips} clips ({motions.total_duration:.1f} s of motion) "
        f"with {num_envs} envs ...",
        file=log,
        flush=True,
    )
    t0 = time.perf_counter()
    report = evaluate(
        policy,
        motions,
        num_envs=num_envs,
        record=(True if video_names == [] else (video_names or False)),
        domain_rand=cfg.domain_rand,
        backend=cfg.backend,
        num_threads=cfg.num_threads,
        reference_follows_robot=cfg.reference_follows_robot,
        follow_slack_m=cfg.follow_slack_m,
    )
    wall = time.perf_counter() - t0
    simulated = sum(c.frames - 1 for c in report.clips) * report.control_dt
    print(
        f"done in {wall:.1f} s: {simulated:.1f} s simulated ({simulated / wall:.1f}x real time)",
        file=log,
        flush=True,
    )

    if cfg.csv:
        print(f"wrote {write_csv(cfg.csv, report.clips)}", file=log)
    status = 0
    if cfg.video:
        status = _write_video(cfg, report, motions, video_names or [], log, prog)
    if cfg.json:
        print(jsonlib.dumps(report.to_json(per_clip=cfg.per_clip), indent=2))
    else:
        print(format_table(report))
    return status


def _eval_modes(cfg: EvalConfig, policy, motions, num_envs: int, log, prog: str) -> int:
    """``--mode`` for a student: per-mode evaluation, table or JSON, optional files."""
    from hover.evaluation.per_mode import (
        evaluate_modes,
        format_modes_table,
        write_mode_files,
        write_per_clip_csv,
    )

    if cfg.video:
        print(
            f"{prog}: --video is not supported with --mode; evaluate one mode without --video first, "
            "or use `hover demo`",
            file=sys.stderr,
        )
        return 2
    assert cfg.mode is not None  # called for --mode only
    t0 = time.perf_counter()
    try:
        report = evaluate_modes(
            policy,
            motions,
            cfg.mode,
            num_envs=num_envs,
            backend=cfg.backend,
            num_threads=cfg.num_threads,
            log=lambda m: print(m, file=log, flush=True),
            reference_follows_robot=cfg.reference_follows_robot,
            follow_slack_m=cfg.follow_slack_m,
        )
    except ValueError as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return 2
    print(
        f"done in {time.perf_counter() - t0:.1f} s: {len(report.results)} mode(s) x {motions.num_clips} clips",
        file=log,
        flush=True,
    )
    if cfg.csv:
        print(f"wrote {write_per_clip_csv(cfg.csv, report)}", file=log)
    if cfg.out:
        for path in write_mode_files(report, cfg.out, per_clip=cfg.per_clip):
            print(f"wrote {path}", file=log)
    if cfg.json:
        print(jsonlib.dumps(report.to_json(per_clip=cfg.per_clip), indent=2))
    else:
        print(format_modes_table(report))
    return 0


def _eval_switch_pairs(cfg: EvalConfig, policy, log, prog: str) -> int:
    """``--switch-pairs``: the mode-switching matrix (:mod:`hover.evaluation.switch_pairs`)."""
    from hover.evaluation.switch_pairs import format_switch_pairs, run_switch_pairs, select_clips
    from hover.motion.builtin import load_builtin_motions
    from hover.motion.format import load_motion_sources
    from hover.robots import get_robot

    if cfg.mode is not None or cfg.video or cfg.csv or cfg.out:
        print(f"{prog}: --switch-pairs takes none of --mode, --video, --csv, --out", file=sys.stderr)
        return 2
    robot = get_robot()
    try:
        clips = load_motion_sources(cfg.motions, robot) if cfg.motions else load_builtin_motions(robot)
        names = [n.strip() for n in cfg.switch_clips.split(",") if n.strip()]
        report = run_switch_pairs(
            policy,
            select_clips(clips, names),
            robot,
            cfg.switch_modes,
            cfg.switch_at,
            cfg.switch_seconds,
            cfg.num_envs,
            cfg.backend,
            cfg.num_threads,
            log=lambda m: print(m, file=log, flush=True),
        )
    except ValueError as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return 2
    print(jsonlib.dumps(report, indent=2) if cfg.json else format_switch_pairs(report))
    return 0 if report["passed"] else 1


def _write_video(cfg: EvalConfig, report: EvalReport, motions, names: list[str], log, prog: str) -> int:
    """Render the named clips (default: the worst one); 0, or 1 with a message when rendering fails."""
    from hover.video import render_recordings, write_video

    chosen = [report.clips[motions.clip_names.index(n)] for n in names] if names else [_worst(report)]
    recordings = [c.recording for c in chosen if c.recording is not None]  # every clip was recorded
    assert cfg.video is not None and len(recordings) == len(chosen)
    try:
        frames = render_recordings(recordings, motions.robot, width=cfg.video_width, height=cfg.video_height)
        path = write_video(cfg.video, frames, fps=30.0)
    except (RuntimeError, ValueError, OSError) as err:  # no OpenGL library, bad size, unwritable path
        print(f"{prog}: no video: {err}", file=sys.stderr)
        return 1
    note = "" if str(path) == cfg.video else " (no ffmpeg: GIF instead of MP4)"
    print(
        f"wrote {path}{note}: {', '.join(c.name for c in chosen)}, {len(frames)} frames at 30 fps", file=log
    )
    return 0
