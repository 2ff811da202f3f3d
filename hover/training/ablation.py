"""Compare training runs by the evaluation protocol's success (the ablation table and curves).

``python -m hover.training.ablation RUNS_DIR [--motions NAME] [--out PNG]`` reads the ``eval.csv`` of
every run folder under ``RUNS_DIR`` (written by the periodic evaluation of ``hover train teacher``),
prints a markdown table (final and best success, the env steps and training time at which a run first
reached half and full success, final E_g-mpjpe) and draws success against env steps and against
training time (:func:`hover.training.curve.plot_eval_curves`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hover.training.curve import eval_curve, plot_eval_curves


def first_reaching(rows: list[dict[str, float]], level: float) -> dict[str, float] | None:
    """The first evaluation row with ``success_rate >= level`` (None if never)."""
    return next((r for r in rows if r.get("success_rate", 0.0) >= level - 1e-9), None)


def summary_row(name: str, rows: list[dict[str, float]]) -> dict[str, str]:
    """One line of the table for a run's evaluation rows (sorted by iteration)."""

    def at(level: float) -> str:
        r = first_reaching(rows, level)
        return "never" if r is None else f"{r['env_steps'] / 1e6:.2f} M / {r['train_time_s'] / 60:.0f} min"

    last = rows[-1]
    return {
        "run": name,
        "env steps": f"{last['env_steps'] / 1e6:.2f} M",
        "final success": f"{last['success_rate']:.2f}",
        "best success": f"{max(r['success_rate'] for r in rows):.2f}",
        "first >= 0.5": at(0.5),
        "first 1.0": at(1.0),
        "final E_g-mpjpe mm": f"{last.get('mpjpe_g_mm', float('nan')):.1f}",
    }


def markdown_table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "(no runs with eval.csv)"
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(r[k] for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hover.training.ablation", description=__doc__.splitlines()[0])
    p.add_argument("runs_dir", help="folder whose sub-folders are training runs with eval.csv")
    p.add_argument("--motions", default=None, help="motion set name in eval.csv (default: the first one found)")
    p.add_argument("--out", default=None, help="PNG with the success curves")
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    runs = sorted(d for d in Path(a.runs_dir).iterdir() if (d / "eval.csv").is_file())
    if not runs:
        print(f"{a.runs_dir}: no run folder with an eval.csv", file=sys.stderr)
        return 2
    motions = a.motions
    if motions is None:
        first = (runs[0] / "eval.csv").read_text().splitlines()[1].split(",")
        motions = first[4]
    table = [summary_row(r.name, rows) for r in runs if (rows := eval_curve(r, motions))]
    print(markdown_table(table))
    if a.out:
        plot_eval_curves({r.name: str(r) for r in runs}, a.out, motions=motions)
        print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
