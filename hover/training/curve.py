"""Learning curve of a training run, read back from its TensorBoard event files.

:func:`learning_curve` gives one row per iteration (default tags: mean reward, mean episode length,
penalty scale, value loss, collection/learning seconds; as CSV: ``python -m hover.cli.curve RUN_DIR [TAG ...]``).
:func:`plot_learning_curves` draws several runs' tags side by side (PNG).
"""

from __future__ import annotations

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
