"""``hover demo``: the built-in default, end to end, with nothing but the installed package.

1. loads the built-in robot motion set;
2. loads the bundled policy (``builtin:student`` by default, ``builtin:teacher`` when no student is
   bundled) and evaluates it on every built-in clip in the MuJoCo backend with the paper's protocol
   (from t = 0, no DR, delay 2 steps); a student is evaluated in each of ``--modes``;
3. a student plays the demo clips (``--video-clips``, by default one of each kind: standing with
   arm motions, walking, turning) in ``--video-mode``, and tracks ``--switch-clip`` while its command
   mode changes mid-clip (``--schedule MODE@STEP,...``: the student sees the new mask, nothing else
   changes; the video names the active mode on every frame); the report says per clip whether it
   tracked to the end or failed (when, why), and the video marks a failure with FAILED;
4. writes a rollout video (robot + green reference ghost) and ``report.json``.
Without a bundled policy (or with ``--kinematic``) it plays the clips kinematically instead.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hover.io import atomic_write_json

#: the demo's clips, one of each kind: standing with arm motions, walking, turning
DEMO_CLIPS: tuple[str, ...] = ("wave_both", "walk_forward", "turn_in_place")


@dataclass
class DemoConfig:
    """Run the built-in default: the bundled policy tracking the built-in motions in MuJoCo,
    with a video and a JSON report."""

    out: Path = Path("out/demo")  # folder for report.json and the video
    policy: str = "builtin:student"  # builtin:student|teacher, a checkpoint .pt or a run folder
    modes: str = "humanplus,omnih2o,locomotion"  # modes a student is evaluated in ("all" = every named mode)
    switch_clip: str = "stand_idle"  # clip a student tracks while switching modes (shown in the video)
    schedule: str = "humanplus@0,omnih2o@100,h2o@200"  # mode switches: MODE@POLICY_STEP (50 Hz)
    video_clips: tuple[str, ...] = DEMO_CLIPS  # clips shown: standing with arm motions, walking, turning
    video_mode: str = "omnih2o"  # command mode a student plays the --video-clips in (the VR mode)
    video: bool = True  # write a video (MP4, GIF when ffmpeg is missing)
    kinematic: bool = False  # only play the reference motions kinematically (no physics, no policy)
    num_threads: int | None = None  # simulator threads; default: all cores


def _video(recordings: list, robot: Any, path: Path) -> str | None:
    from hover.video import render_recordings, write_video

    try:
        frames = render_recordings(recordings, robot, width=640, height=360)
    except RuntimeError as e:  # no OpenGL: say so, keep the rest of the demo
        print(f"  video skipped: {e}", file=sys.stderr)
        return None
    return str(write_video(path, frames))


def run_demo(cfg: DemoConfig) -> dict[str, Any]:
    """Run the demo and return the report (also written to ``cfg.out / 'report.json'``)."""
    from hover.motion.library import MotionLibrary

    t0 = time.perf_counter()
    motions = MotionLibrary.builtin()
    robot = motions.robot
    names = list(motions.clip_names)
    chosen = list(cfg.video_clips) or names[:3]
    unknown = [c for c in chosen if c not in names]
    if unknown:
        raise SystemExit(f"hover demo: unknown clips {unknown}; built-in clips: {', '.join(names)}")
    print(
        f"built-in motion set: {motions.num_clips} clips, {motions.total_duration:.1f} s, robot {robot.name}"
    )
    config = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()}
    report: dict[str, Any] = {
        "config": config,
        "robot": robot.name,
        "clips": names,
        "total_motion_s": motions.total_duration,
    }

    policy = None
    if not cfg.kinematic:
        from hover.training.policies import load_policy

        try:
            policy = load_policy(cfg.policy)
        except FileNotFoundError as e:
            if cfg.policy == "builtin:student":
                print(f"no bundled student ({e}); running builtin:teacher")
                try:
                    policy = load_policy("builtin:teacher")
                except FileNotFoundError as e2:
                    print(f"no policy to run ({e2}); playing the motions kinematically instead")
            else:
                print(f"no policy to run ({e}); playing the motions kinematically instead")
    if policy is None:
        from hover.motion.builtin import load_builtin_motions
        from hover.video import kinematic_recording

        clips = {c.name: c for c in load_builtin_motions(robot)}
        recordings = [kinematic_recording(clips[n]) for n in chosen]
        report["mode"] = "kinematic"
    elif policy.kind == "student":
        recordings = _student_demo(cfg, policy, motions, report)
    else:
        from hover.evaluation.evaluate import evaluate
        from hover.evaluation.evaluate import recordings as eval_recordings

        print(f"policy {policy.source} ({policy.kind}, iteration {policy.iteration}): evaluating every clip")
        result = evaluate(policy, motions, record=chosen, num_threads=cfg.num_threads)
        summary = result.to_json(per_clip=True)
        report["mode"] = "policy"
        report["policy"] = policy.source
        report["metrics"] = summary
        s = result.summary
        print(
            f"  success rate {s['success_rate']:.2f} ({s['num_successful']}/{s['num_clips']}), "
            f"E_g-mpjpe {s['mpjpe_g_mm']:.1f} mm, E_mpjpe {s['mpjpe_l_mm']:.1f} mm"
        )
        for c in result.clips:
            status = "ok" if c.success else f"failed at {c.fail_time_s:.2f} s ({c.fail_reason})"
            print(f"  {c.name:<16} {status}")
        recordings = eval_recordings(result)
    if cfg.video:
        written = _video(recordings, robot, cfg.out / "demo.mp4")
        report["video"] = written
        if written:
            print(f"video: {written} ({', '.join(r.name for r in recordings)})")
    report["wall_s"] = round(time.perf_counter() - t0, 2)
    atomic_write_json(cfg.out / "report.json", report)
    print(f"report: {cfg.out / 'report.json'} ({report['wall_s']} s)")
    return report


def _student_demo(cfg: DemoConfig, policy: Any, motions: Any, report: dict[str, Any]) -> list:
    """Per-mode metrics on every clip, then one clip with run-time mode switches; returns recordings."""
    from hover.commands import MaskSchedule, canonical_mode
    from hover.evaluation.mode_switching import rollout_with_schedule
    from hover.evaluation.per_mode import evaluate_modes, format_modes_table

    schedule = MaskSchedule.parse(cfg.schedule)
    canonical_mode(cfg.video_mode)  # a bad --video-mode fails before the evaluations
    if cfg.switch_clip not in motions.clip_names:
        raise SystemExit(
            f"hover demo: unknown --switch-clip {cfg.switch_clip!r}; built-in clips: "
            f"{', '.join(motions.clip_names)}"
        )
    print(f"policy {policy.source} (student, iteration {policy.iteration}): evaluating modes {cfg.modes}")
    modes = evaluate_modes(policy, motions, cfg.modes, num_threads=cfg.num_threads)
    print(format_modes_table(modes))
    report["mode"] = "student"
    report["policy"] = policy.source
    report["modes"] = modes.to_json(per_clip=False)
    shown = _shown_clips(cfg, policy, motions)
    report["shown"] = [
        {"clip": c.name, "mode": cfg.video_mode, "success": c.success, "status": _status(c),
         "fail_time_s": c.fail_time_s, "fail_reason": c.fail_reason, "mpjpe_g_mm": c.metrics["mpjpe_g_mm"]}
        for c in shown
    ]  # fmt: skip
    for row in report["shown"]:
        print(f"  {row['clip']:<16} [{cfg.video_mode}] {row['status']}")
    result = rollout_with_schedule(policy, motions, cfg.switch_clip, schedule, num_threads=cfg.num_threads)
    dt = motions.robot.control_dt
    switches = [{"step": s, "time_s": round(s * dt, 2), "mode": m} for s, m in schedule.events]
    status = _status(result)
    print(
        f"mode switching on {cfg.switch_clip}: "
        + " -> ".join(
            f"{m}@{s['time_s']}s" for s, m in zip(switches, (e["mode"] for e in switches), strict=True)
        )
        + f": {status}"
    )
    report["switching"] = {
        "clip": cfg.switch_clip,
        "schedule": switches,
        "success": result.success,
        "status": status,
        "fail_time_s": result.fail_time_s,
        "metrics": result.metrics,
    }
    rec = result.recording
    assert rec is not None  # rollout_with_schedule records its clip
    rec.label = lambda i: f"mode: {schedule.mode_at(max(i - 1, 0))}"  # frame i is the state after step i - 1
    recordings = []
    for c in shown:
        assert c.recording is not None  # recorded by _shown_clips
        c.recording.label = lambda i, m=cfg.video_mode: f"mode: {m}"
        recordings.append(c.recording)
    return [*recordings, rec]


def _status(result: Any) -> str:
    """OK or FAILED (when, why) of one clip's result, as the report and console say it."""
    if result.success:
        return "OK: tracked to the end"
    return f"FAILED at {result.fail_time_s:.2f} s ({result.fail_reason})"


def _shown_clips(cfg: DemoConfig, policy: Any, motions: Any) -> list:
    """The student on ``cfg.video_clips`` in ``cfg.video_mode``, recorded (the evaluation protocol)."""
    import dataclasses

    from hover.commands import canonical_mode
    from hover.evaluation.evaluate import evaluate
    from hover.evaluation.per_mode import mode_env_config

    if not cfg.video_clips:
        return []
    mode = canonical_mode(cfg.video_mode)
    mode_policy = dataclasses.replace(policy, env_cfg=mode_env_config(policy.env_cfg, mode))
    clips = list(cfg.video_clips)
    return evaluate(mode_policy, motions, clip_names=clips, record=clips, num_threads=cfg.num_threads).clips
