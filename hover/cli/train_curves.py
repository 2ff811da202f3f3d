"""``hover train curves RUNS_DIR [--motions NAME] [--out PNG]``: compare training runs by the evaluation
protocol's success (a markdown table, and success against env steps and training time as a PNG)."""

from __future__ import annotations

import argparse

from hover.training.ablation import compare_runs


def main(argv: list[str], prog: str) -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0].split(": ", 1)[1])
    p.add_argument("runs_dir", help="folder whose sub-folders are training runs with an eval.csv")
    p.add_argument(
        "--motions", default=None, help="motion set name in eval.csv (default: the first one found)"
    )
    p.add_argument("--out", default=None, help="write the success curves to this PNG")
    a = p.parse_args(argv)
    print(compare_runs(a.runs_dir, a.motions, a.out))
    if a.out:
        print(f"wrote {a.out}")
    return 0
