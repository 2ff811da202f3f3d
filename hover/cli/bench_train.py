"""``hover bench train``: PPO training throughput (env steps/s, iteration time) (:mod:`hover.benchmarks.train`)."""

from __future__ import annotations

import json

import tyro

from hover.benchmarks import train
from hover.benchmarks.train import BenchTrainConfig, bench_train


def main(argv: list[str], prog: str) -> int:
    cfg = tyro.cli(BenchTrainConfig, args=argv, prog=prog, description=train.__doc__.splitlines()[0])
    if cfg.iterations < 1:
        raise SystemExit(f"{prog}: --iterations must be >= 1")
    res = bench_train(cfg)
    if cfg.json:
        print(json.dumps(res))
    else:
        profile = res.pop("profile_s")
        for k, v in res.items():
            print(f"{k:>24}: {v:.4g}" if isinstance(v, float) else f"{k:>24}: {v}")
        if profile:
            print("profile (s per iteration, exclusive, slowest first):")
            for k, v in profile.items():
                print(f"{k:>24}: {v:.4g}")
    return 0
