"""Timing of the onboard loop: per-stage latency statistics, absolute-deadline sleeping and real-time
scheduling (used by :class:`hover.deploy.onboard_runner.Runner` and ``hover bench deploy``).

:func:`sleep_until` sleeps until ~0.3 ms before a deadline (``time.monotonic()`` s) and spins the rest,
because ``time.sleep`` wakes up too late for a 1 ms period error; :class:`LatencyStats` keeps a rolling
window of each stage's durations and reports p50/p99/max in ms.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque

import numpy as np

logger = logging.getLogger("hover.deploy.onboard_runner")  # the runner's log, where these messages belong
STAGES = ("read_state", "build_obs", "inference", "publish")
"""the timed stages of one policy tick, in order"""


class LatencyStats:
    """Rolling per-stage durations (s) -> p50/p99/max in ms."""

    def __init__(self, stages: tuple[str, ...] = STAGES, window: int = 30000) -> None:
        self.samples: dict[str, deque[float]] = {s: deque(maxlen=window) for s in stages}

    def record(self, stage: str, seconds: float) -> None:
        self.samples[stage].append(seconds)

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for stage, values in self.samples.items():
            if values:
                a = np.asarray(values) * 1e3
                out[stage] = {
                    "p50_ms": float(np.percentile(a, 50)),
                    "p99_ms": float(np.percentile(a, 99)),
                    "max_ms": float(a.max()),
                    "n": int(a.size),
                }
        return out

    def format(self) -> str:
        rows = [
            f"{s:<10} p50 {v['p50_ms']:7.3f} ms  p99 {v['p99_ms']:7.3f} ms  max {v['max_ms']:7.3f} ms  (n={v['n']})"
            for s, v in self.summary().items()
        ]
        return "latency per stage:\n  " + "\n  ".join(rows) if rows else "latency per stage: no samples"


def sleep_until(deadline: float, spin_s: float = 3e-4) -> float:
    """Sleep until ``deadline`` (time.monotonic() s): coarse sleep, then a short spin. Returns the wake time."""
    now = time.monotonic()
    if deadline - now > spin_s:
        time.sleep(deadline - now - spin_s)
    while (now := time.monotonic()) < deadline:
        continue  # spin the last ``spin_s``: sleep() wakes up too late for a 1 ms period error
    return now


def set_realtime_priority(priority: int) -> bool:
    """Put the calling thread under SCHED_FIFO at ``priority`` (Linux; needs CAP_SYS_NICE). False if refused."""
    if priority <= 0:
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(min(int(priority), 99)))
        return True
    except (AttributeError, PermissionError, OSError) as e:
        logger.warning("real-time priority %d refused (%s); running with normal scheduling", priority, e)
        return False
