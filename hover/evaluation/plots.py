"""Radar charts of evaluation results, normalised as the HOVER paper's Fig. 4.

Normalisation (paper Fig. 4): for each axis (one metric, or one mode of one metric), over the
compared series (modes or policies), an error ``E`` becomes ``(E_max - E) / (E_max - E_min)`` and a
higher-is-better value ``S`` (success rate) becomes ``(S - S_min) / (S_max - S_min)``; so 1 is the
best of the compared series and 0 the worst, higher = better on every axis. Conventions:

- all series equal on an axis (``max == min``): every series scores 1.0 (nobody is worse);
- a missing value (None/NaN, e.g. a masked-body metric of a joint-only mode) scores NaN and is
  left out of that axis's min/max; the chart draws NaN at 0 and marks the axis label with "(n/a)"
  when no series has a value.

Charts are written with matplotlib's Agg backend (no display needed), atomically.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TypeGuard

from hover.io import atomic_path

Scores = Mapping[str, Mapping[str, float | None]]  # {series: {axis: value}}


def _finite(v: float | None) -> TypeGuard[float]:
    return v is not None and isinstance(v, int | float) and math.isfinite(v)


def normalize_scores(
    values: Scores, higher_is_better: Collection[str] = (), axes: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """Fig. 4 normalisation of ``values[series][axis]`` per axis across the series (module docstring).

    ``higher_is_better``: axes where a larger raw value is better (e.g. ``success_rate``); every
    other axis is an error (lower is better). ``axes`` default: the union of all series' axes in
    first-seen order. Returns ``{series: {axis: score in [0, 1] or NaN}}``.
    """
    if axes is None:
        axes = list(dict.fromkeys(a for s in values.values() for a in s))
    out: dict[str, dict[str, float]] = {s: {} for s in values}
    for axis in axes:
        raw = {s: values[s].get(axis) for s in values}
        present = [float(v) for v in raw.values() if _finite(v)]
        lo, hi = (min(present), max(present)) if present else (math.nan, math.nan)
        for s, v in raw.items():
            if not _finite(v):
                out[s][axis] = math.nan
            elif hi == lo:
                out[s][axis] = 1.0
            elif axis in higher_is_better:
                out[s][axis] = (float(v) - lo) / (hi - lo)
            else:
                out[s][axis] = (hi - float(v)) / (hi - lo)
    return out


def plot_radar(
    panels: Mapping[str, Mapping[str, Mapping[str, float]]],
    path: str | os.PathLike,
    title: str | None = None,
    axis_labels: Mapping[str, str] | None = None,
) -> Path:
    """Write a PNG with one radar panel per entry of ``panels`` = ``{panel: {series: {axis: score}}}``.

    Scores are already normalised (:func:`normalize_scores`, 0..1, higher = better); every series of
    a panel is drawn as a closed polygon over that panel's axes (first series' axis order). Returns
    the path written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if not panels:
        raise ValueError("plot_radar: nothing to plot (no panels)")
    labels = dict(axis_labels or {})
    n = len(panels)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig = plt.figure(figsize=(4.8 * cols, 4.4 * rows + 0.8 + (0.4 if title else 0.0)))
    handles: list = []
    names: list[str] = []
    try:
        for k, (panel, series) in enumerate(panels.items()):
            if not series:
                raise ValueError(f"plot_radar: panel {panel!r} has no series")
            axes = list(next(iter(series.values())))
            if len(axes) < 3:
                raise ValueError(f"plot_radar: panel {panel!r} needs at least 3 axes, got {axes}")
            ax = fig.add_subplot(rows, cols, k + 1, projection="polar")
            angles = [2 * math.pi * i / len(axes) for i in range(len(axes))]
            for name, scores in series.items():
                r = [scores.get(a, math.nan) for a in axes]
                r = [v if _finite(v) else 0.0 for v in r]
                ax.plot(angles + angles[:1], r + r[:1], linewidth=1.6, label=name)
                ax.fill(angles + angles[:1], r + r[:1], alpha=0.12)
            missing = {a for a in axes if not any(_finite(s.get(a)) for s in series.values())}
            ax.set_xticks(angles)
            ax.set_xticklabels(
                [labels.get(a, a) + (" (n/a)" if a in missing else "") for a in axes], fontsize=8
            )
            ax.set_ylim(0.0, 1.05)
            ax.set_yticks([0.25, 0.5, 0.75, 1.0])
            ax.set_yticklabels(["", "0.5", "", "1"], fontsize=7)
            ax.set_title(panel, fontsize=10, pad=14)
            if k == 0:
                handles, names = ax.get_legend_handles_labels()
        ncol = max(1, min(len(names), 3 * cols))
        legend_rows = math.ceil(len(names) / ncol)
        fig.legend(handles, names, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
        if title:
            fig.suptitle(title + "  (1 = best of the compared, 0 = worst)", fontsize=10)
        fig.tight_layout(rect=(0.0, 0.04 + 0.035 * legend_rows, 1.0, 0.95 if title else 1.0))
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)
    return Path(path)


__all__ = ["normalize_scores", "plot_radar"]
