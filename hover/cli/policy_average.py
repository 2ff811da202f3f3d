"""``hover policy average CKPT [CKPT ...] --out FILE.pt``: the mean of several checkpoints' weights
(:mod:`hover.training.averaging`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated

import tyro

from hover.training.averaging import average_checkpoints


@dataclass
class AverageConfig:
    """Average the policy weights of checkpoints of one run (e.g. its last few) into one policy file."""

    checkpoints: Annotated[tuple[str, ...], tyro.conf.Positional, tyro.conf.arg(metavar="CKPT")] = ()
    out: str = "averaged.pt"  # output policy file (loads in hover eval / export / bundle; not resumable)


def main(argv: list[str], prog: str) -> int:
    cfg = tyro.cli(
        AverageConfig,
        args=argv,
        prog=prog,
        description=(
            "Average the policy networks (weights, action noise, observation normaliser) of checkpoints "
            "of the same run into one policy file, e.g. `hover policy average runs/t/model_5100.pt "
            "runs/t/model_5150.pt runs/t/model_5200.pt --out avg.pt`, then `hover eval --policy avg.pt`."
        ),
    )
    path = average_checkpoints(cfg.checkpoints, cfg.out)
    print(json.dumps({"out": str(path), "averaged": len(cfg.checkpoints)}))
    return 0
