"""Per-stage wall-clock profile of a training iteration (physics, observations, rewards, PPO update).

:class:`StageProfiler` wraps methods of live objects (instance attributes, nothing is modified
for other users) with timers that record *exclusive* time: a stage called inside another one is
subtracted from its caller, so the stages add up to the measured total. On CUDA each timed call is
bracketed by ``torch.cuda.synchronize`` so that asynchronous kernels are charged to the stage that
launched them; that costs time, so profile in separate, un-timed iterations.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict

import torch


class StageProfiler:
    """Exclusive seconds per stage of wrapped methods; ``restore`` puts the originals back."""

    def __init__(self, sync_cuda: bool = False) -> None:
        self.sync = sync_cuda and torch.cuda.is_available()
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[float] = []  # child time accumulated per open call
        self._wrapped: list[tuple[object, str]] = []

    def wrap(self, obj: object, name: str, stage: str) -> None:
        """Time ``obj.name(...)`` as ``stage`` (skipped if ``obj`` has no such method)."""
        fn = getattr(obj, name, None)
        if fn is None:
            return

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if self.sync:
                torch.cuda.synchronize()
            self._stack.append(0.0)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                if self.sync:
                    torch.cuda.synchronize()
                total = time.perf_counter() - t0
                child = self._stack.pop()
                self.seconds[stage] += total - child
                self.calls[stage] += 1
                if self._stack:
                    self._stack[-1] += total

        setattr(obj, name, timed)
        self._wrapped.append((obj, name))

    def restore(self) -> None:
        for obj, name in reversed(self._wrapped):
            if name in vars(obj):
                delattr(obj, name)
        self._wrapped.clear()

    def report(self, iterations: int = 1) -> dict[str, float]:
        """Mean seconds per iteration per stage, slowest first, plus ``total``."""
        per_it = {k: v / max(iterations, 1) for k, v in sorted(self.seconds.items(), key=lambda kv: -kv[1])}
        per_it["total"] = sum(per_it.values())
        return per_it


def wrap_training(profiler: StageProfiler, env, alg) -> None:
    """The stages of one PPO iteration on the tracking env."""
    backend = env.backend
    profiler.wrap(backend, "step", "physics")
    profiler.wrap(backend, "get_state", "state_readout")
    for name in ("reset_envs", "set_physics_params", "push"):
        profiler.wrap(backend, name, "resets")
    profiler.wrap(env, "_reset_envs", "resets")
    profiler.wrap(env, "_refresh", "observations")
    profiler.wrap(env, "_rewards", "rewards")
    profiler.wrap(env, "step", "task_other")  # terminations, reference motion lookup, bookkeeping
    profiler.wrap(alg, "act", "policy")
    profiler.wrap(alg, "process_env_step", "storage")
    profiler.wrap(alg, "compute_returns", "returns")
    profiler.wrap(alg, "update", "ppo_update")
