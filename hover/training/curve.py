"""Learning curve of a training run, read back from its TensorBoard event files.

:func:`learning_curve` gives one row per iteration (default tags: mean reward, mean episode length,
penalty scale, value loss, collection/learning seconds; as CSV: ``python -m hover.cli.curve RUN_DIR [TAG ...]``).
:func:`plot_learning_curves` draws several runs' tags side by side (PNG); :func:`eval_curve` and
:func:`plot_eval_curves` read and draw the evaluation protocol's success from each run's ``eval.csv``.
"""

from __future__ import annotations

import csv
import os

DEFAULT_TAGS = (
    "Train/mean_reward",
    "Train/mean_episode_length",
    "Curriculum/penalty_scale",
    "Loss/value",
    "Perf/collection_time",
    "Perf/learning_time",
)


def learning_curve(
    run_dir: str | os.PathLike, tags: tuple[str, ...] = DEFAULT_TAGS
) -> list[dict[str, float]]:
    """Rows ``{"iteration": it, tag: value, ...}`` sorted by iteration (missing values left out).

    When a run was resumed, the newest value of an iteration wins.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    available = set(acc.Tags().get("scalars", []))
    rows: dict[int, dict[str, float]] = {}
    for tag in tags:
        if tag not in available:
            continue
        for event in sorted(acc.Scalars(tag), key=lambda e: e.wall_time):
            rows.setdefault(event.step, {"iteration": event.step})[tag] = event.value
    return [rows[k] for k in sorted(rows)]


def plot_learning_curves(
    runs: dict[str, str | os.PathLike], tags: tuple[str, ...], path: str | os.PathLike, smooth: int = 10
) -> str:
    """One panel per tag, one line per run (``{label: run_dir}``), moving average over ``smooth`` iterations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(tags), figsize=(5 * len(tags), 3.6), squeeze=False)
    for label, run in runs.items():
        rows = learning_curve(run, tags)
        for ax, tag in zip(axes[0], tags, strict=True):
            pts = [(r["iteration"], r[tag]) for r in rows if tag in r]
            if not pts:
                continue
            it, val = np.array(pts).T
            k = max(1, min(smooth, len(val)))
            ax.plot(it[k - 1 :], np.convolve(val, np.ones(k) / k, mode="valid"), label=label)
    for ax, tag in zip(axes[0], tags, strict=True):
        ax.set_title(tag)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def eval_curve(run_dir: str | os.PathLike, motions: str = "builtin") -> list[dict[str, float]]:
    """Rows of a run's ``eval.csv`` (written by the periodic evaluation) for one motion set, as floats
    (``iteration``, ``env_steps``, ``train_time_s``, ``success_rate``, ``mpjpe_g_mm``, ...), by iteration."""
    path = os.path.join(run_dir, "eval.csv")
    if not os.path.isfile(path):
        return []
    rows: dict[int, dict[str, float]] = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r["motions"] != motions:
                continue
            row = {k: float(v) for k, v in r.items() if k != "motions" and v not in ("", "None")}
            rows[int(row["iteration"])] = row  # a resumed run's newest value wins
    return [rows[k] for k in sorted(rows)]


def plot_eval_curves(runs: dict[str, str | os.PathLike], path: str | os.PathLike, motions: str = "builtin",
                     metric: str = "success_rate") -> str:  # fmt: skip
    """Two panels: ``metric`` of the evaluation protocol against env steps and against training hours,
    one line per run (``{label: run_dir}``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), squeeze=False)
    for label, run in runs.items():
        rows = [r for r in eval_curve(run, motions) if metric in r]
        if not rows:
            continue
        y = [r[metric] for r in rows]
        axes[0][0].plot([r["env_steps"] / 1e6 for r in rows], y, label=label)
        axes[0][1].plot([r["train_time_s"] / 3600 for r in rows], y, label=label)
    for ax, xlabel in zip(axes[0], ("env steps (millions)", "training time (hours)"), strict=True):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"{metric} ({motions})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)
