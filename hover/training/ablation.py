"""Compare training runs by the evaluation protocol's success (the ablation table and curves).

:func:`compare_runs` (``hover train curves RUNS_DIR [--motions NAME] [--out PNG]``) reads the
``eval.csv`` of every run folder under ``RUNS_DIR`` (written by the periodic evaluation of ``hover
train teacher``), returns a markdown table (final and best success, the env steps and training time at which a run first
reached half and full success, final E_g-mpjpe) and draws success against env steps and against
training time (:func:`hover.training.curve.plot_eval_curves`).
"""

from __future__ import annotations

import os
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


def compare_runs(runs_dir: str | os.PathLike, motions: str | None = None, out: str | None = None) -> str:
    """The markdown table of every run under ``runs_dir`` with an ``eval.csv`` (motion set ``motions``,
    default: the first one found); with ``out`` also the success curves as a PNG. FileNotFoundError if
    no run has an ``eval.csv``."""
    runs = (
        sorted(d for d in Path(runs_dir).iterdir() if (d / "eval.csv").is_file())
        if Path(runs_dir).is_dir()
        else []
    )
    if not runs:
        raise FileNotFoundError(f"{runs_dir}: no run folder with an eval.csv")
    if motions is None:
        motions = (runs[0] / "eval.csv").read_text().splitlines()[1].split(",")[4]
    table = [summary_row(r.name, rows) for r in runs if (rows := eval_curve(r, motions))]
    if out:
        plot_eval_curves({r.name: str(r) for r in runs}, out, motions=motions)
    return markdown_table(table)
