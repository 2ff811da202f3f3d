"""``hover bench deploy``: the onboard runner's timing on this machine (:mod:`hover.benchmarks.deploy`)."""

from __future__ import annotations

import json
import sys

import tyro

from hover.benchmarks import deploy
from hover.benchmarks.deploy import DeployBenchConfig, run_bench


def main(argv: list[str], prog: str) -> int:
    cfg = tyro.cli(DeployBenchConfig, args=argv, prog=prog, description=deploy.__doc__.split("\n\n")[0])
    try:
        result = run_bench(cfg)
    except (ValueError, FileNotFoundError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    if cfg.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
    return 0
