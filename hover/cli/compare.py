"""``hover compare``: policies side by side per command mode (paper Table III; :mod:`hover.evaluation.compare`)."""

from __future__ import annotations

import inspect
import json as jsonlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import tyro

from hover.evaluation.compare import (
    HIGHER_IS_BETTER,
    TABLE3_METRICS,
    comparison,
    format_comparison,
    plot_comparison_radar,
    policy_labels,
    write_comparison_csv,
)
from hover.evaluation.per_mode import evaluate_modes
from hover.io import atomic_write_json
from hover.motion.library import MotionLibrary
from hover.training.policies import load_policy


@dataclass
class CompareConfig:
    """Compare policies side by side on named command modes (paper Table III): the 12 metrics
    (success, E_g-mpjpe, E_mpjpe, E_vel, E_acc, upper/lower joint error, root velocity, roll, pitch,
    yaw and height errors), which policy wins each, and a count of wins. Students are evaluated
    with their mask fixed to each mode; a teacher ignores the mode (it sees the full reference)."""

    policies: tuple[str, ...]  # two or more: checkpoint .pt, run folder, builtin:teacher, builtin:student
    mode: str = "omnih2o"  # a named command mode, a comma list, or "all" (every named mode)
    motions: str | None = None  # motion file or folder; default: the built-in motion set
    labels: tuple[str, ...] | None = None  # column names, one per policy (default: from the specs)
    json: bool = False  # print the comparison as JSON on stdout (progress goes to stderr)
    out: str | None = None  # write compare.json, compare.csv and radar.png to this folder
    num_envs: int | None = None  # parallel envs; default: one per clip, at most 64
    num_threads: int | None = None  # simulator threads (MuJoCo backend); default: all cores
    backend: str = "mujoco"
    device: str = "cpu"


def main(argv: list[str], prog: str) -> int:
    cfg = tyro.cli(
        CompareConfig, args=argv, prog=prog, description=inspect.cleandoc(CompareConfig.__doc__ or "")
    )
    log = sys.stderr if cfg.json else sys.stdout
    labels = list(cfg.labels) if cfg.labels else policy_labels(cfg.policies)
    try:
        if len(cfg.policies) < 2:
            raise ValueError("--policies needs at least two policies to compare")
        if len(labels) != len(cfg.policies) or len(set(labels)) != len(labels):
            raise ValueError(f"--labels must be {len(cfg.policies)} distinct names, got {labels}")
        policies = [load_policy(p, device=cfg.device) for p in cfg.policies]
        motions = (
            MotionLibrary.from_sources(cfg.motions, device=cfg.device)
            if cfg.motions
            else MotionLibrary.builtin(device=cfg.device)
        )
        t0 = time.perf_counter()
        reports = {}
        for label, policy in zip(labels, policies, strict=True):
            print(f"evaluating {label} ({policy.kind}, {policy.source}) ...", file=log, flush=True)
            reports[label] = evaluate_modes(
                policy,
                motions,
                cfg.mode,
                num_envs=cfg.num_envs,
                backend=cfg.backend,
                num_threads=cfg.num_threads,
                log=lambda m: print("  " + m, file=log),
            )
    except (FileNotFoundError, ValueError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return 2
    print(f"done in {time.perf_counter() - t0:.1f} s", file=log, flush=True)
    result = comparison(reports)
    result["policies"] = {
        p: {"source": r.policy_source, "kind": r.policy_kind, "notes": r.notes} for p, r in reports.items()
    }
    result["metrics"] = [
        {"key": k, "label": n, "higher_is_better": k in HIGHER_IS_BETTER} for k, n in TABLE3_METRICS
    ]
    result["motions"] = {"num_clips": motions.num_clips, "duration_s": float(motions.total_duration)}
    if cfg.out:
        out = Path(cfg.out)
        for path in (
            atomic_write_json(out / "compare.json", result),
            write_comparison_csv(out / "compare.csv", result, labels),
            plot_comparison_radar(out / "radar.png", result, labels),
        ):
            print(f"wrote {path}", file=log)
    if cfg.json:
        print(jsonlib.dumps(result, indent=2))
    else:
        for m in result["modes"]:
            print(format_comparison(m, result["per_mode"][m]["values"]))
            print()
        if len(result["modes"]) > 1:
            print(
                "all modes: "
                + "; ".join(
                    f"{p} wins {c['wins']} of {c['counted']}, ties {c['ties']}"
                    for p, c in result["total"].items()
                )
            )
    return 0
