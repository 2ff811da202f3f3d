"""``hover demo``: the built-in default end to end (:mod:`hover.demo`): evaluation, mode switching, a video."""

from __future__ import annotations

import tyro

from hover.demo import DemoConfig, run_demo


def main(argv: list[str], prog: str = "hover demo") -> int:
    cfg = tyro.cli(DemoConfig, args=argv, prog=prog)
    run_demo(cfg)
    return 0
