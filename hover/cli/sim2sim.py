"""``hover sim2sim``: an exported student ONNX in a differently configured MuJoCo over many clips
(:mod:`hover.evaluation.sim2sim`); metrics per mode."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import tyro

from hover.evaluation.sim2sim import Sim2SimConfig, format_table, run_sim2sim
from hover.io import atomic_write_json
from hover.policy_metadata import PolicyMetadataError


def main(argv: list[str], prog: str) -> int:
    cfg = tyro.cli(
        Sim2SimConfig,
        args=argv,
        prog=prog,
        description="Run an exported student ONNX in a differently configured MuJoCo (1 kHz explicit PD, "
        "other solver, optional other MJCF) over many clips; report metrics per mode.",
    )
    try:
        report, _ = run_sim2sim(cfg)
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
    print(json.dumps(report, indent=2) if cfg.json else format_table(report))
    return 0
