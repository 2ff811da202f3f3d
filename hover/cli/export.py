"""``hover export``: a trained policy as ONNX with robot/observation metadata (:mod:`hover.training.export`)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, Literal

import tyro

from hover.training.export import export_onnx, parity_error
from hover.training.policies import load_policy


@dataclass
class ExportConfig:
    """Export a trained policy to ONNX with hover metadata."""

    policy: str = "builtin:student"  # checkpoint file, run folder or builtin:NAME
    out: str = "policy.onnx"  # output file
    opset: int = 18  # ONNX opset
    exporter: Literal["torchscript", "dynamo"] = (
        "torchscript"  # torch's exporter (torchscript: fast, deprecated)
    )
    check: bool = True  # compare ONNX Runtime with torch on random observations after writing


def main(argv: list[str], prog: str) -> int:
    cfg = tyro.cli(
        ExportConfig,
        args=argv,
        prog=prog,
        description="Export a trained policy (student or teacher) to ONNX with robot/observation metadata.",
    )
    try:
        loaded = load_policy(cfg.policy)
        path = export_onnx(loaded, cfg.out, opset=cfg.opset, exporter=cfg.exporter)
    except (FileNotFoundError, ValueError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return 2
    report: dict[str, Any] = {"out": str(path), "bytes": path.stat().st_size, "policy_kind": loaded.kind}
    if cfg.check:
        report["max_abs_error_vs_torch"] = parity_error(loaded, path)
    print(json.dumps(report))
    return 0
