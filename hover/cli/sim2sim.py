"""``hover sim2sim``: an exported student ONNX in a differently configured MuJoCo over many clips
(:mod:`hover.evaluation.sim2sim`); metrics per mode. The checks of issue 12 run instead of the clips
with ``--joystick random|idle`` (:mod:`hover.evaluation.sim2sim_joystick`), ``--vr-stream CLIP``
(:mod:`hover.evaluation.sim2sim_vr`) or beside them with ``--against-eval``
(:mod:`hover.evaluation.sim2sim_agreement`); each exits 1 when its bar is missed."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import tyro

from hover.evaluation.sim2sim import Sim2SimConfig, format_table, physics_of, run_sim2sim
from hover.io import atomic_write_json
from hover.policy_metadata import PolicyMetadataError

DESCRIPTION = (
    "Run an exported student ONNX in a differently configured MuJoCo (1 kHz explicit PD, other solver, "
    "optional other MJCF) over many clips; report metrics per mode. Checks (exit 1 when the bar is "
    "missed): --joystick random|idle (hover run's joystick path, fall rate over --seeds), --vr-stream "
    "CLIP (OmniH2O from a VR stream at --vr-rate Hz, frozen, then jumping), --against-eval (success "
    "per mode beside hover eval's)."
)


def _check(cfg: Sim2SimConfig) -> tuple[dict[str, Any], str, bool]:
    """Run the one check asked for: (report, text, passed)."""
    chosen = [
        n
        for n, on in (
            ("--joystick", cfg.joystick),
            ("--vr-stream", cfg.vr_stream),
            ("--against-eval", cfg.against_eval),
        )
        if on
    ]
    if len(chosen) > 1:
        raise ValueError(f"choose one of {', '.join(chosen)} per run")
    if cfg.joystick is not None:
        from hover.evaluation.sim2sim import exported_policy
        from hover.evaluation.sim2sim_joystick import format_joystick, run_joystick_check

        with exported_policy(cfg.policy) as path:
            report = run_joystick_check(
                path,
                cfg.joystick,
                60.0 if cfg.seconds is None else cfg.seconds,
                cfg.seeds,
                physics_of(cfg),
                cfg.workers,
                cfg.joystick_hold_s,
                cfg.joystick_zero_prob,
                cfg.max_fall_rate,
            )
        report["policy"] = str(cfg.policy)
        return report, format_joystick(report), report["passed"]
    if cfg.vr_stream is not None:
        from hover.deploy.safety import SafetyConfig
        from hover.evaluation.sim2sim import exported_policy, load_clips
        from hover.evaluation.sim2sim_vr import format_vr, run_vr_check
        from hover.robots import get_robot

        if cfg.seconds is not None:
            raise ValueError(
                "--seconds is not used by --vr-stream; set the phases with --vr-live-s, --vr-freeze-s, --vr-jump-s"
            )
        (clip,) = load_clips(dataclasses.replace(cfg, clips=(cfg.vr_stream,), num_clips=None), get_robot())
        with exported_policy(cfg.policy) as path:
            report = run_vr_check(
                path,
                clip,
                cfg.vr_rate,
                physics_of(cfg),
                cfg.vr_live_s,
                cfg.vr_freeze_s,
                cfg.vr_jump_s,
                cfg.vr_jump_m,
                cfg.vr_resume,
                cfg.vr_max_error_m,
                cfg.workers,
                safety=SafetyConfig(on_stale_input=cfg.vr_on_stale),  # type: ignore[arg-type]
                anchor=cfg.vr_anchor,
            )
        report["policy"] = str(cfg.policy)
        return report, format_vr(report), report["passed"]
    from hover.evaluation.sim2sim_agreement import format_agreement, run_agreement

    report = run_agreement(cfg, cfg.max_success_gap, log=lambda m: print(m, file=sys.stderr, flush=True))
    return report, format_agreement(report), report["passed"]


def main(argv: list[str], prog: str) -> int:
    cfg = tyro.cli(Sim2SimConfig, args=argv, prog=prog, description=DESCRIPTION)
    try:
        if cfg.joystick is not None or cfg.vr_stream is not None or cfg.against_eval:
            report, text, passed = _check(cfg)
        else:
            report, _ = run_sim2sim(cfg)
            text, passed = format_table(report), True
    except (FileNotFoundError, ValueError, PolicyMetadataError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return 2
    if cfg.out:
        out = Path(cfg.out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "report.json", report)
    if "video" in report:
        print(f"video: {report['video']}", file=sys.stderr)
    if "video_error" in report:
        print(f"{prog}: no video: {report['video_error']}", file=sys.stderr)
    print(json.dumps(report, indent=2) if cfg.json else text)
    return 0 if passed else 1
