"""``hover bench sim``: simulation throughput (env steps/s, physics limit ratio) as JSON (:mod:`hover.benchmarks.sim`)."""

from __future__ import annotations

import json
import sys

import tyro

from hover.benchmarks import sim
from hover.benchmarks.sim import SimBenchConfig, format_summary, run_bench


def main(argv: list[str], prog: str) -> int:
    cfg = tyro.cli(SimBenchConfig, args=argv, prog=prog, description=sim.__doc__.split("\n\n")[0])
    try:
        result = run_bench(cfg)
    except (ValueError, NotImplementedError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result) if cfg.json else format_summary(result))
    return 0
