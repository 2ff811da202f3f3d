"""The learning loop shared by ``hover train teacher`` and ``hover train student``.

:func:`learn_until` runs an rsl-rl runner up to a *total* iteration count and turns SIGINT/SIGTERM
into a final checkpoint of the last completed iteration (weights, optimiser, normalisers, env state).
:func:`resume_defaults` reads a resumed run's config; :func:`bundle_checkpoint` writes the slim
policy files that ship in ``hover/assets/policies``.
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import torch

from hover.checkpoints import latest_checkpoint
from hover.io import atomic_write_text
from hover.training.runner import atomic_torch_save

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


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


class _StopRequested(BaseException):
    """Raised by the iteration hook once a stop signal has arrived (never escapes :func:`learn_until`)."""


class _GracefulStop:
    """SIGINT/SIGTERM handler: the first signal asks to stop after the current iteration (the env's worker
    processes are never cut off mid-step); a second one interrupts at once."""

    def __init__(self) -> None:
        self.requested = 0

    def on_signal(self, signum: int, frame: object) -> None:
        self.requested += 1
        if self.requested == 1:
            print(f"signal {signum}: stopping after this iteration (again to stop at once)", flush=True)
        else:
            raise KeyboardInterrupt(f"signal {signum}")

    def hook(self, runner: object, iteration: int) -> None:
        if self.requested:
            raise _StopRequested


def learn_until(runner, max_iterations: int, run_dir: Path) -> None:
    """Learn until iteration ``max_iterations`` (a total); on SIGINT/SIGTERM save and return.

    The handlers are installed explicitly, so a run started in the background (where the shell ignores
    SIGINT) stops on ``kill -INT`` as in a terminal."""
    remaining = max_iterations - runner.current_learning_iteration
    steps_at_start = runner.logger.tot_timesteps
    stop = _GracefulStop()
    previous = {sig: signal.signal(sig, stop.on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    runner.iteration_hooks.append(stop.hook)
    try:
        if remaining > 0:
            runner.learn(remaining, init_at_random_ep_len=False)
        else:
            print(
                f"nothing to do: the run is at iteration {runner.current_learning_iteration} >= {max_iterations}"
            )
    except (KeyboardInterrupt, _StopRequested):
        if runner.logger.tot_timesteps > steps_at_start:
            path = Path(run_dir) / f"model_{runner.current_learning_iteration}.pt"
            runner.save(str(path))
            print(f"interrupted: saved {path}", flush=True)
        else:
            print("interrupted before the first iteration completed: nothing saved", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        runner.iteration_hooks.remove(stop.hook)


def resume_defaults(argv: list[str], default: T, from_json: Callable[[str, str], T]) -> T:
    """The saved config of ``--resume RUN`` (if given) as the default for command-line parsing.

    The run continues in the folder it is resumed from (also a moved or copied one): the saved
    ``run_dir`` is dropped, so only an explicit ``--run-dir`` forks it into another folder.
    """
    resume = resume_argument(argv)
    if not resume:
        return default
    run_dir, _ = resolve_resume(resume)
    path = run_dir / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; cannot resume a run without its config")
    return dataclasses.replace(from_json(path.read_text(), str(path)), run_dir=None)


BUNDLE_DIR = Path(__file__).resolve().parents[1] / "assets" / "policies"


def bundle_checkpoint(
    run_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None,
    name: str,
    kind: str,
    weights_key: str,
    config_text: Callable[[str], str] = lambda t: t,
) -> Path:
    """Newest checkpoint of a run (or a checkpoint file) -> ``<out_dir>/<name>.pt`` + ``<name>.json``.

    The ``.pt`` keeps only ``weights_key`` (the policy network with its observation normaliser),
    ``iter``, ``kind``, ``config`` (JSON text, through ``config_text``) and ``source``: no optimiser,
    no critic. ``out_dir`` defaults to ``hover/assets/policies`` (the bundled policies).
    """
    run_dir = Path(run_dir)
    src = latest_checkpoint(run_dir) if run_dir.is_dir() else run_dir
    ckpt = torch.load(src, weights_only=True, map_location="cpu")
    if weights_key not in ckpt:
        raise ValueError(f"{src}: no {weights_key} (not a {kind} checkpoint)")
    text = config_text(ckpt.get("config") or (src.parent / "config.json").read_text())
    out = Path(out_dir) if out_dir else BUNDLE_DIR
    out.mkdir(parents=True, exist_ok=True)
    slim = {
        "kind": kind,
        "iter": int(ckpt["iter"]),
        "config": text,
        "source": str(src),
        weights_key: ckpt[weights_key],
    }
    atomic_torch_save(slim, out / f"{name}.pt")
    atomic_write_text(out / f"{name}.json", text)
    return out / f"{name}.pt"
