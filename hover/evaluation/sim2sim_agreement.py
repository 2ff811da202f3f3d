"""``hover sim2sim --against-eval``: sim2sim and ``hover eval`` success per mode side by side.

The same policy, clips and modes are played twice: by ``hover sim2sim`` (the exported ONNX in the
differently configured MuJoCo, :mod:`hover.evaluation.sim2sim`) and by ``hover eval --mode``
(:func:`hover.evaluation.per_mode.evaluate_modes`: the training env's evaluation protocol, from t = 0,
no randomisation, delay 2). With ``--seconds`` both play only the first seconds of each clip. The
report lists per mode both success rates and their difference (sim2sim - eval) and the largest
absolute difference, which must not exceed ``max_success_gap`` (issue 12: 0.05).
"""

from __future__ import annotations

import time
from typing import Any

from hover.evaluation.sim2sim import Sim2SimConfig, load_clips, run_sim2sim, truncated


def run_agreement(cfg: Sim2SimConfig, max_success_gap: float = 0.05, log: Any = None) -> dict[str, Any]:
    """Both evaluations and the per-mode comparison (see the module docstring)."""
    from hover.evaluation.per_mode import evaluate_modes
    from hover.motion.library import MotionLibrary
    from hover.robots import get_robot
    from hover.training.policies import load_policy

    if str(cfg.policy).endswith(".onnx"):
        raise ValueError(
            f"--against-eval: {cfg.policy} is an ONNX file, which hover eval cannot run; give the "
            "checkpoint, run folder or builtin:NAME it was exported from"
        )
    policy = load_policy(cfg.policy)
    if policy.kind != "student":
        raise ValueError(f"--against-eval: {cfg.policy} is a {policy.kind}; sim2sim runs students only")
    say = log or (lambda _m: None)
    t0 = time.perf_counter()
    say(f"sim2sim: {cfg.policy}, modes {cfg.mode}")
    sim_report, _ = run_sim2sim(cfg)
    t1 = time.perf_counter()
    robot = get_robot()  # the robot of hover eval's motion sets (the default robot)
    clips = truncated(load_clips(cfg, robot), cfg.seconds)
    motions = MotionLibrary(clips, robot=robot)
    say(f"hover eval --mode {cfg.mode}: {len(clips)} clips")
    modes = evaluate_modes(policy, motions, cfg.mode)
    t2 = time.perf_counter()
    rows = {}
    for name, block in sim_report["modes"].items():
        ev = modes.mode(name).report.summary["success_rate"]
        s2s = block["success_rate"]
        rows[name] = {
            "eval_success": ev,
            "sim2sim_success": s2s,
            "diff": s2s - ev,
            "sim2sim_falls": block["falls"],
        }
    gap = max(abs(r["diff"]) for r in rows.values())
    return {
        "check": "sim2sim_vs_eval",
        "policy": str(cfg.policy),
        "num_clips": len(clips),
        "seconds": cfg.seconds,
        "modes": rows,
        "max_abs_diff": gap,
        "max_success_gap": max_success_gap,
        "passed": gap <= max_success_gap,
        "sim2sim_wall_s": t1 - t0,
        "eval_wall_s": t2 - t1,
        "sim2sim": sim_report,
    }


def format_agreement(report: dict[str, Any]) -> str:
    """One row per mode: eval success, sim2sim success, difference; then the largest difference."""
    head = f"{'mode':<12} {'eval':>6} {'sim2sim':>8} {'diff':>7} {'sim2sim falls':>14}"
    rows = [f"sim2sim vs hover eval: {report['policy']}, {report['num_clips']} clips", head, "-" * len(head)]
    for m, r in report["modes"].items():
        rows.append(
            f"{m:<12} {r['eval_success']:>6.3f} {r['sim2sim_success']:>8.3f} {r['diff']:>+7.3f} "
            f"{r['sim2sim_falls']:>14}"
        )
    verdict = "PASSED" if report["passed"] else "FAILED"
    rows.append(f"max |diff| {report['max_abs_diff']:.3f} (bar <= {report['max_success_gap']:g}): {verdict}")
    return "\n".join(rows)


__all__ = ["format_agreement", "run_agreement"]
