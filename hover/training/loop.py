"""The learning loop shared by ``hover train teacher`` and ``hover train student``.

:func:`learn_until` runs an rsl-rl runner up to a *total* iteration count and turns SIGINT/SIGTERM
into a final checkpoint of the last completed iteration (weights, optimiser, normalisers, env state).
"""

from __future__ import annotations

import signal
from pathlib import Path

from hover.training.runner import latest_checkpoint


def resolve_resume(resume: str) -> tuple[Path, Path]:
    """(run folder, checkpoint) of ``--resume`` (a run folder or a ``model_<it>.pt`` file)."""
    p = Path(resume)
    if p.is_dir():
        return p, latest_checkpoint(p)
    if p.is_file():
        return p.parent, p
    raise FileNotFoundError(f"--resume {resume}: no such run folder or checkpoint")


def resume_argument(argv: list[str]) -> str | None:
    """The value of ``--resume`` in a raw argument list (None when absent or "None")."""
    resume = None
    for i, a in enumerate(argv):
        if a == "--resume" and i + 1 < len(argv):
            resume = argv[i + 1]
        elif a.startswith("--resume="):
            resume = a.split("=", 1)[1]
    return None if not resume or resume == "None" else resume


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def learn_until(runner, max_iterations: int, run_dir: Path) -> None:
    """Learn until iteration ``max_iterations`` (a total); on SIGINT/SIGTERM save and return."""
    remaining = max_iterations - runner.current_learning_iteration
    steps_at_start = runner.logger.tot_timesteps
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        if remaining > 0:
            runner.learn(remaining, init_at_random_ep_len=False)
        else:
            print(f"nothing to do: the run is at iteration {runner.current_learning_iteration} >= {max_iterations}")
    except KeyboardInterrupt:
        if runner.logger.tot_timesteps > steps_at_start:
            path = Path(run_dir) / f"model_{runner.current_learning_iteration}.pt"
            runner.save(str(path))
            print(f"interrupted: saved {path}", flush=True)
        else:
            print("interrupted before the first iteration completed: nothing saved", flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
