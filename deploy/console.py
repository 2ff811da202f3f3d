"""What the operator reads: one line per state change, warning or hint, stamped with the wall-clock time.

The runner says everything the operator must know through a :class:`Console`: each state transition as
it happens, safety warnings at once, and what it is waiting for ("PASSIVE: press START ..."). Lines go to
``stream`` (default: standard error, so standard output stays free for ``--json``) as
``HH:MM:SS.mmm TEXT`` in local time; warnings carry ``WARNING``. :meth:`Console.every` repeats a hint
at most once per interval (no flood at 50 Hz). Every line is also kept in :attr:`Console.lines` for the
report and for tests.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import TextIO


def wall_clock(t: float | None = None) -> str:
    """``HH:MM:SS.mmm`` (local time) of ``t`` (``time.time()`` s; None = now)."""
    t = time.time() if t is None else t
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int((t % 1) * 1000):03d}"


class Console:
    """Timestamped operator lines (see the module docstring)."""

    def __init__(self, stream: TextIO | None = None, keep: int = 1000) -> None:
        self.stream = stream
        self.lines: list[str] = []
        self._keep = keep
        self._last: dict[str, float] = {}

    def say(self, text: str, level: str = "") -> str:
        line = f"{wall_clock()} {level + ' ' if level else ''}{text}"
        if len(self.lines) < self._keep:
            self.lines.append(line)
        stream = self.stream if self.stream is not None else sys.stderr
        with contextlib.suppress(OSError, ValueError):  # a closed terminal must not stop the runner
            print(line, file=stream, flush=True)
        return line

    def warn(self, text: str) -> str:
        return self.say(text, "WARNING")

    def every(self, key: str, interval_s: float, text: str, now: float, warn: bool = False) -> bool:
        """Say ``text`` unless the line ``key`` was said less than ``interval_s`` ago (``now``: monotonic s)."""
        last = self._last.get(key)
        if last is not None and now - last < interval_s:
            return False
        self._last[key] = now
        (self.warn if warn else self.say)(text)
        return True

    def forget(self, key: str) -> None:
        """Let the line ``key`` be said again at once (its condition ended)."""
        self._last.pop(key, None)
