"""``python -m hover.cli.curve RUN_DIR [TAG ...] > curve.csv``: a run's learning curve as CSV
(:func:`hover.training.curve.learning_curve`; default tags: mean reward, mean episode length, penalty
scale, value loss, collection/learning seconds)."""

from __future__ import annotations

import csv
import sys

from hover.training.curve import DEFAULT_TAGS, learning_curve


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m hover.cli.curve RUN_DIR [TAG ...]", file=sys.stderr)
        return 2
    tags = tuple(argv[1:]) or DEFAULT_TAGS
    writer = csv.DictWriter(sys.stdout, fieldnames=["iteration", *tags], restval="")
    writer.writeheader()
    writer.writerows(learning_curve(argv[0], tags))
    return 0


if __name__ == "__main__":
    sys.exit(main())
