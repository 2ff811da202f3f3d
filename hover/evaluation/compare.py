"""``hover compare``: policies side by side on one command mode, paper Table III style.

The 12 metrics of the paper's Table III (HOVER vs the specialists, per mode), all over all tracked
bodies and all clips (the ``hover eval`` summary):

====  =======================  ======================================  ==============
 #    key                      meaning                                 better
====  =======================  ======================================  ==============
 1    success_rate             clips finished without failure          higher
 2    mpjpe_g_mm               E_g-mpjpe, world frame (mm)             lower
 3    mpjpe_l_mm               E_mpjpe, root-relative (mm)             lower
 4    vel_mm_per_frame         E_vel (mm/frame)                        lower
 5    acc_mm_per_frame2        E_acc (mm/frame^2)                      lower
 6    upper_joint_err_rad      upper-body joint error (rad)            lower
 7    lower_joint_err_rad      lower-body joint error (rad)            lower
 8    root_vel_err_m_per_s     root linear velocity error (m/s)        lower
 9    root_roll_err_rad        root roll error (rad)                   lower
10    root_pitch_err_rad       root pitch error (rad)                  lower
11    root_yaw_err_rad         root yaw error (rad)                    lower
12    root_height_err_m        root height error (m)                   lower
====  =======================  ======================================  ==============

Winning: on each metric the best value wins (highest success, lowest error). Values within
``rel_tol`` (relative, default 1e-9) of the best are tied with it. A policy *wins* a metric when it
alone is best and *ties* it when it shares the best; a metric that no policy has a value for is not
counted. The issue's quality bar ("the generalist beats a specialist on >= 7 of the 12 metrics")
counts strict wins only. The masked-body variants (bodies the mode switches on) are shown beside
the 12 but do not count.

``hover compare --policies A B [...] --mode NAME|all [--json] [--out DIR]``: each policy is
evaluated per mode (:mod:`hover.evaluation.per_mode`; a teacher ignores the mode) on the same motion set;
``--out`` writes ``compare.json``, ``compare.csv`` (one row per mode x metric) and ``radar.png``
(Fig. 4 normalisation, :mod:`hover.evaluation.plots`).
"""

from __future__ import annotations

import csv as csvlib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hover.evaluation.metrics import BODY_METRIC_NAMES
from hover.io import atomic_open

#: (key, label) of the paper's Table III metrics in table order.
TABLE3_METRICS: tuple[tuple[str, str], ...] = (
    ("success_rate", "success"),
    ("mpjpe_g_mm", "E_g-mpjpe (mm)"),
    ("mpjpe_l_mm", "E_mpjpe (mm)"),
    ("vel_mm_per_frame", "E_vel (mm/frame)"),
    ("acc_mm_per_frame2", "E_acc (mm/frame^2)"),
    ("upper_joint_err_rad", "upper joint (rad)"),
    ("lower_joint_err_rad", "lower joint (rad)"),
    ("root_vel_err_m_per_s", "root vel (m/s)"),
    ("root_roll_err_rad", "root roll (rad)"),
    ("root_pitch_err_rad", "root pitch (rad)"),
    ("root_yaw_err_rad", "root yaw (rad)"),
    ("root_height_err_m", "root height (m)"),
)
TABLE3_KEYS: tuple[str, ...] = tuple(k for k, _ in TABLE3_METRICS)
#: metrics where a larger value is better; every other metric is an error
HIGHER_IS_BETTER: frozenset[str] = frozenset({"success_rate"})
#: masked-body rows shown (not counted): "masked/<body metric>"
MASKED_KEYS: tuple[str, ...] = tuple(f"masked/{k}" for k in BODY_METRIC_NAMES)
#: the four metrics of the paper's Fig. 4 radar panels (one panel per metric, axes = modes)
RADAR_METRICS: tuple[str, ...] = ("mpjpe_g_mm", "mpjpe_l_mm", "vel_mm_per_frame", "acc_mm_per_frame2")


def _value(v: float | None) -> float | None:
    return float(v) if v is not None and isinstance(v, int | float) and math.isfinite(v) else None


def winners(
    values: Mapping[str, Mapping[str, float | None]],
    metrics: Sequence[str] = TABLE3_KEYS,
    higher_is_better: frozenset[str] | set[str] = HIGHER_IS_BETTER,
    rel_tol: float = 1e-9,
) -> dict[str, list[str]]:
    """Best policies per metric: ``{metric: [policy, ...]}`` from ``values[policy][metric]``.

    One name = a win, several = a tie, empty = nobody has a finite value. Policies keep the
    order of ``values``.
    """
    out: dict[str, list[str]] = {}
    for m in metrics:
        raw = {p: _value(v.get(m)) for p, v in values.items()}
        have = {p: v for p, v in raw.items() if v is not None}
        if not have:
            out[m] = []
            continue
        best = max(have.values()) if m in higher_is_better else min(have.values())
        out[m] = [p for p, v in have.items() if math.isclose(v, best, rel_tol=rel_tol, abs_tol=0.0)]
    return out


@dataclass
class WinCount:
    """Per policy: metrics won alone, metrics tied for best, metrics with a value at all."""

    wins: int = 0
    ties: int = 0
    counted: int = 0


def count_wins(best: Mapping[str, Sequence[str]], policies: Sequence[str]) -> dict[str, WinCount]:
    """Strict wins and ties per policy from :func:`winners`' output (metrics with no value skipped)."""
    out = {p: WinCount() for p in policies}
    for names in best.values():
        if not names:
            continue
        for p in policies:
            out[p].counted += 1
        if len(names) == 1:
            out[names[0]].wins += 1
        else:
            for p in names:
                out[p].ties += 1
    return out


def _fmt(v: float | None, key: str) -> str:
    if v is None:
        return "n/a"
    if key == "success_rate":
        return f"{v:.3f}"
    return f"{v:.1f}" if key.endswith("mm") or "_mm_" in key else f"{v:.4f}"


def format_comparison(
    mode: str, values: Mapping[str, Mapping[str, float | None]], labels: Mapping[str, str] | None = None
) -> str:
    """Side-by-side text table of one mode: the 12 metrics, the winner column, masked-body rows,
    then the win counts. ``values[policy][metric]``; ``labels`` short column names per policy."""
    policies = list(values)
    labels = {p: (labels or {}).get(p, p) for p in policies}
    width = max(12, *(len(v) + 2 for v in labels.values()))
    best = winners(values)
    counts = count_wins(best, policies)
    head = f"{'metric':<27}" + "".join(f"{labels[p]:>{width}}" for p in policies) + "  best"
    lines = [f"mode {mode}", head, "-" * len(head)]
    names = dict(TABLE3_METRICS)
    for key in TABLE3_KEYS:
        arrow = "^" if key in HIGHER_IS_BETTER else "v"
        row = f"{names[key] + ' ' + arrow:<27}" + "".join(
            f"{_fmt(_value(values[p].get(key)), key):>{width}}" for p in policies
        )
        who = best[key]
        tag = (
            "-"
            if not who
            else (labels[who[0]] if len(who) == 1 else "tie: " + ", ".join(labels[p] for p in who))
        )
        lines.append(f"{row}  {tag}")
    for key in MASKED_KEYS:
        lines.append(
            f"{key + ' v':<27}"
            + "".join(f"{_fmt(_value(values[p].get(key)), key):>{width}}" for p in policies)
        )
    lines.append("")
    for p in policies:
        c = counts[p]
        lines.append(f"{labels[p]}: wins {c.wins} of {c.counted} metrics, ties {c.ties}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- several policies


def policy_labels(specs: Sequence[str]) -> list[str]:
    """Short unique column names: ``builtin:student`` -> ``student``, a file -> its stem, a folder ->
    its name; repeats get ``#2``, ``#3``."""
    out: list[str] = []
    for spec in specs:
        base = spec.split(":", 1)[1] if spec.startswith("builtin:") else (Path(spec).stem or spec)
        label, k = base, 2
        while label in out:
            label, k = f"{base}#{k}", k + 1
        out.append(label)
    return out


def comparison(reports: Mapping[str, Any]) -> dict[str, Any]:
    """Per-mode values, winners and win counts from ``{label: ModesReport}`` (same modes each).

    Returns ``{"modes": [...], "per_mode": {mode: {"values": {label: row}, "winners": {metric:
    [labels]}, "wins": {label: WinCount as dict}}}, "total": {label: WinCount as dict}}``.
    """
    labels = list(reports)
    modes = [r.mode for r in next(iter(reports.values())).results]
    per_mode: dict[str, Any] = {}
    total = {p: WinCount() for p in labels}
    for m in modes:
        values = {p: reports[p].mode(m).row() for p in labels}
        best = winners(values)
        counts = count_wins(best, labels)
        for p, c in counts.items():
            total[p].wins += c.wins
            total[p].ties += c.ties
            total[p].counted += c.counted
        per_mode[m] = {"values": values, "winners": best, "wins": {p: asdict(c) for p, c in counts.items()}}
    return {"modes": modes, "per_mode": per_mode, "total": {p: asdict(c) for p, c in total.items()}}


def write_comparison_csv(path: str | os.PathLike, result: Mapping[str, Any], labels: Sequence[str]) -> Path:
    """One row per (mode, metric): the values of each policy and the winner(s) ("a|b" = tie)."""
    with atomic_open(path, "w", newline="") as f:
        writer = csvlib.writer(f)
        writer.writerow(["mode", "metric", *labels, "best", "counted"])
        for m in result["modes"]:
            block = result["per_mode"][m]
            for key in (*TABLE3_KEYS, *MASKED_KEYS):
                vals = [_value(block["values"][p].get(key)) for p in labels]
                best = "|".join(block["winners"].get(key, [])) if key in TABLE3_KEYS else ""
                writer.writerow(
                    [m, key, *("" if v is None else v for v in vals), best, int(key in TABLE3_KEYS)]
                )
    return Path(path)


def plot_comparison_radar(path: str | os.PathLike, result: Mapping[str, Any], labels: Sequence[str]) -> Path:
    """Radar PNG, Fig. 4 normalisation across the policies. Three or more modes: one panel per
    :data:`RADAR_METRICS` metric with the modes as axes (the paper's figure); fewer: one panel per
    mode with the 12 Table III metrics as axes. With two policies every score is 0 or 1 (each axis
    has one best and one worst), so the chart shows who wins where; ties score 1 for both."""
    from hover.evaluation.plots import normalize_scores, plot_radar

    modes = result["modes"]
    vals = {m: result["per_mode"][m]["values"] for m in modes}
    panels: dict[str, dict[str, dict[str, float]]] = {}
    if len(modes) >= 3:
        names = dict(TABLE3_METRICS)
        for metric in RADAR_METRICS:
            per_mode = {
                m: normalize_scores({p: {metric: vals[m][p].get(metric)} for p in labels}) for m in modes
            }
            panels[names[metric]] = {p: {m: per_mode[m][p][metric] for m in modes} for p in labels}
        return plot_radar(panels, path, title="per mode")
    for m in modes:
        panels[m] = normalize_scores(
            {p: {k: vals[m][p].get(k) for k in TABLE3_KEYS} for p in labels}, HIGHER_IS_BETTER, TABLE3_KEYS
        )
    return plot_radar(panels, path, title="Table III metrics", axis_labels=dict(TABLE3_METRICS))


__all__ = [
    "HIGHER_IS_BETTER",
    "MASKED_KEYS",
    "RADAR_METRICS",
    "TABLE3_KEYS",
    "TABLE3_METRICS",
    "WinCount",
    "comparison",
    "count_wins",
    "format_comparison",
    "plot_comparison_radar",
    "policy_labels",
    "write_comparison_csv",
    "winners",
]
