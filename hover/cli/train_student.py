"""``hover train student``: DAgger distillation of the masked multi-mode student (:mod:`hover.training.distillation`)."""

from __future__ import annotations

import tyro

from hover.training.checks import check_config, check_resume
from hover.training.distillation import StudentTrainConfig, config_from_json, train
from hover.training.loop import resume_defaults


def main(argv: list[str], prog: str) -> int:
    check_resume(argv, "student")  # bad input: one line, exit 2, before anything is read or written
    default = resume_defaults(argv, StudentTrainConfig(), config_from_json)
    cfg = tyro.cli(
        StudentTrainConfig,
        args=argv,
        prog=prog,
        default=default,
        description="Distil the HOVER teacher into the masked multi-mode student (DAgger, rsl-rl).",
    )
    check_config(cfg)
    run_dir = train(cfg)
    print(f"run folder: {run_dir}")
    return 0
