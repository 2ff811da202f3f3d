"""``hover train teacher``: PPO (rsl-rl) on the tracking env, with recipes, run folders and resume
(:mod:`hover.training.teacher`)."""

from __future__ import annotations

import tyro

from hover.training.checks import check_config, check_resume
from hover.training.loop import resume_defaults
from hover.training.recipes import recipe_argument, teacher_recipe
from hover.training.teacher import TeacherTrainConfig, config_from_json, train


def main(argv: list[str], prog: str) -> int:
    check_resume(argv, "teacher")  # bad input: one line, exit 2, before anything is read or written
    default = resume_defaults(argv, teacher_recipe(recipe_argument(argv) or "tracking"), config_from_json)
    cfg = tyro.cli(
        TeacherTrainConfig,
        args=argv,
        prog=prog,
        default=default,
        description="Train the oracle teacher (PPO, rsl-rl) on the tracking env. --recipe NAME "
        "(tracking | hover-paper) sets every default below; any of them can be overridden.",
    )
    if cfg.recipe != default.recipe:
        raise SystemExit(
            f"{prog}: --recipe {cfg.recipe} must come with a fresh run, not --resume of a "
            f"{default.recipe} run"
        )
    check_config(cfg)
    run_dir = train(cfg)
    print(f"run folder: {run_dir}")
    return 0
