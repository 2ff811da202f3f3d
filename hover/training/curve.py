"""Learning curve of a training run, read back from its TensorBoard event files.

``python -m hover.training.curve RUN_DIR [TAG ...] > curve.csv`` prints one CSV row per iteration
(default tags: mean reward, mean episode length, penalty scale, collection/learning seconds).
"""

from __future__ import annotations

import csv
import os
import sys

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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m hover.training.curve RUN_DIR [TAG ...]", file=sys.stderr)
        return 2
    tags = tuple(argv[1:]) or DEFAULT_TAGS
    writer = csv.DictWriter(sys.stdout, fieldnames=["iteration", *tags], restval="")
    writer.writeheader()
    writer.writerows(learning_curve(argv[0], tags))
    return 0


if __name__ == "__main__":
    sys.exit(main())
