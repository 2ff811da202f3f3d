"""Per-mode evaluation: a student policy played with its command mask fixed to one named mode.

For each mode (``hover.commands.MODE_NAMES``, or ``"all"`` = every one of them) the student is
evaluated with the paper's protocol (:mod:`hover.evaluation.evaluate`: every clip once from t = 0,
flat ground, no randomisation, delay 2) while every episode's mask is that mode's
(``mask_for_mode``): the env config's ``student.modes`` is set to just that mode. The mask the
student actually observed (the ``mask`` slice of its ``"student"`` observation) is checked on every
step and reported, so a table row cannot silently belong to another mask.

Metrics per mode (the teacher issue's, :mod:`hover.evaluation.metrics`):

- *all bodies*: every metric over all 23 tracked bodies (the ``hover eval`` summary);
- *masked bodies* (``masked/<metric>``): E_g-mpjpe, E_mpjpe, E_vel, E_acc over the tracked bodies
  whose mask bit the mode switches on (omnih2o: head + two hands; h2o: its 12 bodies). Modes that
  command no body position (exbody, humanplus, locomotion: joints and/or root only) have no masked
  bodies: their masked-body metrics are ``None`` in JSON and "n/a" in tables. Their commanded
  quantities are already in the all-body table (joint errors, root errors).

Both are given over all clips and over successful clips (``successful_only``), as the paper does.

A teacher has no mask (it sees the full reference): it is evaluated once, and each mode's row
repeats that evaluation with the masked-body metrics over that mode's bodies (useful as a reference
line in comparisons); the report carries a note saying so.
"""

from __future__ import annotations

import copy
import csv as csvlib
import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor

from hover.commands import MODE_NAMES, command_layout, mask_for_mode, mode_elements, resolve_modes
from hover.commands.layout import CommandLayout
from hover.evaluation.evaluate import (
    DEFAULT_MAX_ENVS,
    ClipResult,
    EvalReport,
    clip_ids,
    make_eval_env,
    report_from_results,
    rollout_clips,
)
from hover.evaluation.metrics import BODY_METRIC_NAMES, METRIC_NAMES
from hover.io import atomic_open, atomic_write_json

#: summary key of the masked-body subset in a mode's EvalReport
MASKED = "masked"
#: columns of the modes x metrics table (after "mode")
TABLE_COLUMNS: tuple[str, ...] = (
    "num_clips",
    "success_rate",
    *METRIC_NAMES,
    *(f"{MASKED}/{m}" for m in BODY_METRIC_NAMES),
)
TEACHER_NOTE = "teacher policy: it sees the full reference, so the mode does not change its actions"


def masked_bodies(mode: str, layout: CommandLayout) -> tuple[str, ...]:
    """Tracked bodies (layout order) whose mask bit the named ``mode`` switches on; may be empty."""
    return tuple(e.split(":", 1)[1] for e in mode_elements(mode, layout) if e.startswith("body:"))


@dataclass
class ModeResult:
    """One mode's evaluation. ``report.summary["subset"]["masked"]`` holds the masked-body metrics
    when the mode has masked bodies."""

    mode: str
    mask_elements: tuple[str, ...]  # layout element names switched on
    masked_bodies: tuple[str, ...]
    report: EvalReport
    observed_mask: list[float] | None = None  # the mask in the student's observation (None: teacher)
    subset_key: str = MASKED  # the report's subset holding the masked bodies

    def _masked(self, block: dict) -> dict[str, float | None] | None:
        sub = block.get("subset", {}).get(self.subset_key)
        return None if sub is None else {m: sub.get(m) for m in BODY_METRIC_NAMES}

    def row(self) -> dict[str, Any]:
        """Flat row of the modes x metrics table (:data:`TABLE_COLUMNS`), all clips; None = n/a."""
        s = self.report.summary
        masked = self._masked(s) or {}
        out: dict[str, Any] = {
            "mode": self.mode,
            "num_clips": s["num_clips"],
            "success_rate": s["success_rate"],
        }
        out |= {m: s[m] for m in METRIC_NAMES}
        out |= {f"{MASKED}/{m}": masked.get(m) for m in BODY_METRIC_NAMES}
        return _json_safe(out)

    def to_json(self, per_clip: bool = False) -> dict[str, Any]:
        """The mode's full report: the ``hover eval`` summary (all bodies, subsets, successful-only)
        plus ``mode``, ``mask_elements``, ``masked_bodies`` and ``masked`` / ``successful_only.masked``
        (None when the mode has no masked body)."""
        out = self.report.to_json(per_clip=per_clip)
        for block in (out["subset"], out["successful_only"]["subset"]):
            for key in [k for k in block if k == MASKED or k.startswith(MASKED + ":")]:
                block.pop(key)
        out["mode"] = self.mode
        out["mask_elements"] = list(self.mask_elements)
        out["masked_bodies"] = list(self.masked_bodies)
        out[MASKED] = _json_safe(self._masked(self.report.summary))
        out["successful_only"][MASKED] = _json_safe(self._masked(self.report.summary["successful_only"]))
        if self.observed_mask is not None:
            out["observed_mask"] = self.observed_mask
        return out


@dataclass
class ModesReport:
    """Every evaluated mode of one policy, in evaluation order."""

    policy_source: str
    policy_kind: str
    results: list[ModeResult]
    control_dt: float
    notes: list[str] = field(default_factory=list)

    def mode(self, name: str) -> ModeResult:
        for r in self.results:
            if r.mode == name:
                return r
        raise KeyError(f"mode {name!r} was not evaluated; have {[r.mode for r in self.results]}")

    def rows(self) -> list[dict[str, Any]]:
        return [r.row() for r in self.results]

    def to_json(self, per_clip: bool = False) -> dict[str, Any]:
        return {
            "policy": self.policy_source,
            "kind": self.policy_kind,
            "frame_dt_s": self.control_dt,
            "notes": list(self.notes),
            "columns": ["mode", *TABLE_COLUMNS],
            "table": self.rows(),
            "modes": {r.mode: r.to_json(per_clip=per_clip) for r in self.results},
        }


def _json_safe(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def mode_env_config(env_cfg: Any, mode: str) -> Any:
    """Copy of a student's TrackingEnvConfig whose every episode mask is the named ``mode``."""
    cfg = copy.deepcopy(env_cfg)
    if not hasattr(cfg, "student"):
        raise ValueError("this TrackingEnvConfig has no student section: not a student config")
    cfg.student.enabled = True
    cfg.student.modes = (mode,)
    return cfg


class _MaskProbe:
    """Wraps a policy's ``act``: checks on every step that the student observation's mask equals
    the expected one (float 0/1 [mask_dim]) in every env."""

    def __init__(self, act: Callable[[Any], Tensor], mask_slice: slice, expected: Tensor) -> None:
        self.act, self.mask_slice, self.expected = act, mask_slice, expected
        self.first: Tensor | None = None
        self.mismatch_steps = 0
        self.steps = 0

    def __call__(self, obs: Any) -> Tensor:
        seen = obs["student"][:, self.mask_slice].detach().cpu().float()
        if self.first is None:
            self.first = seen[0].clone()
        self.steps += 1
        if not bool((seen == self.expected.to(seen)).all()):
            self.mismatch_steps += 1
        return self.act(obs)


def _student_mask_slice(policy: Any, robot: Any) -> slice:
    """Columns of the mask in the student observation of ``policy`` (its history length)."""
    from hover.student import student_obs_layout

    hist = policy.env_cfg.student.history_length
    return student_obs_layout(robot, hist).slices()["mask"]


def _run(
    policy: Any,
    motions: Any,
    ids: list[int],
    num_envs: int,
    subsets: dict[str, Sequence[str]],
    act: Callable[[Any], Tensor],
    backend: str,
    num_threads: int | None,
    follow: bool = False,
    follow_slack_m: float | None = None,
) -> list[ClipResult]:
    env = make_eval_env(
        policy,
        motions,
        num_envs,
        backend=backend,
        num_threads=num_threads,
        reference_follows_robot=follow,
        follow_slack_m=follow_slack_m,
    )
    try:
        return rollout_clips(env, act, motions, ids, subsets=subsets)
    finally:
        close = getattr(env, "close", None)
        if close is not None:
            close()


def evaluate_modes(
    policy: Any,
    motions: Any,
    modes: str | Sequence[str] = "all",
    *,
    num_envs: int | None = None,
    clip_names: Sequence[str] | None = None,
    backend: str = "mujoco",
    num_threads: int | None = None,
    log: Callable[[str], None] | None = None,
    reference_follows_robot: bool = False,
    follow_slack_m: float | None = None,
) -> ModesReport:
    """Evaluate ``policy`` (a ``hover.checkpoints.LoadedPolicy``) on ``motions`` once per mode.

    ``modes``: ``"all"``, a comma list (``"omnih2o,h2o"``) or a sequence of names (aliases accepted).
    ``num_envs`` default: one per clip, at most 64. Raises ValueError for an unknown mode or clip and
    RuntimeError when the student observed a mask other than the mode's. ``reference_follows_robot``,
    ``follow_slack_m``: local tracking (see :func:`hover.evaluation.evaluate.make_eval_env`).
    """
    names = list(resolve_modes(modes if isinstance(modes, str) else ",".join(modes)))
    robot = motions.robot
    layout = command_layout(robot)
    ids = clip_ids(motions, clip_names)
    n = min(num_envs or DEFAULT_MAX_ENVS, len(ids))
    kind = getattr(policy, "kind", "teacher")
    source = getattr(policy, "source", "")
    dt = robot.control_dt
    bodies = {m: masked_bodies(m, layout) for m in names}
    say = log or (lambda _msg: None)

    if kind != "student":
        subsets = dict(robot.subsets) | {f"{MASKED}:{m}": b for m, b in bodies.items() if b}
        say(f"{source}: {TEACHER_NOTE}; one evaluation for {len(names)} mode(s)")
        report = report_from_results(
            _run(
                policy,
                motions,
                ids,
                n,
                subsets,
                policy.act,
                backend,
                num_threads,
                reference_follows_robot,
                follow_slack_m,
            ),
            dt,
            source,
        )
        results = []
        for m in names:
            results.append(ModeResult(m, mode_elements(m, layout), bodies[m], report, None, f"{MASKED}:{m}"))
        return ModesReport(source, kind, results, dt, [TEACHER_NOTE])

    mask_slice = _student_mask_slice(policy, robot)
    results = []
    for m in names:
        say(
            f"mode {m}: {len(mode_elements(m, layout))} mask elements, masked bodies {list(bodies[m]) or 'n/a'}"
        )
        mode_policy = dataclasses.replace(policy, env_cfg=mode_env_config(policy.env_cfg, m))
        expected = mask_for_mode(m, layout)
        probe = _MaskProbe(policy.act, mask_slice, expected)
        subsets = dict(robot.subsets) | ({MASKED: bodies[m]} if bodies[m] else {})
        clips = _run(
            mode_policy, motions, ids, n, subsets, probe, backend, num_threads, reference_follows_robot
        )
        if probe.mismatch_steps or probe.first is None:
            raise RuntimeError(
                f"mode {m}: the student observed a mask other than mask_for_mode({m!r}) on "
                f"{probe.mismatch_steps} of {probe.steps} steps"
            )
        report = report_from_results(clips, dt, source)
        results.append(ModeResult(m, mode_elements(m, layout), bodies[m], report, probe.first.tolist()))
    return ModesReport(source, kind, results, dt)


def _fmt(v: float | None, key: str) -> str:
    if v is None:
        return "n/a"
    if key in ("num_clips",):
        return str(int(v))
    if key == "success_rate":
        return f"{v:.3f}"
    return f"{v:.1f}" if "_mm" in key else f"{v:.4f}"


#: short column headers of the text table
_SHORT = {
    "num_clips": "clips", "success_rate": "succ", "mpjpe_g_mm": "g-mpjpe", "mpjpe_l_mm": "mpjpe",
    "vel_mm_per_frame": "vel", "acc_mm_per_frame2": "acc", "upper_joint_err_rad": "upperJ",
    "lower_joint_err_rad": "lowerJ", "root_height_err_m": "rootZ", "root_vel_err_m_per_s": "rootV",
    "root_roll_err_rad": "roll", "root_pitch_err_rad": "pitch", "root_yaw_err_rad": "yaw",
    "masked/mpjpe_g_mm": "m:g-mpjpe", "masked/mpjpe_l_mm": "m:mpjpe", "masked/vel_mm_per_frame": "m:vel",
    "masked/acc_mm_per_frame2": "m:acc",
}  # fmt: skip


def format_modes_table(report: ModesReport) -> str:
    """Modes x metrics as text (all clips; ``m:`` = masked bodies; mm, rad, m, m/s as in the keys)."""
    w = 10
    head = f"{'mode':<12}" + "".join(f"{_SHORT[c]:>{w}}" for c in TABLE_COLUMNS)
    lines = [f"policy {report.policy_source} ({report.policy_kind})"] + [f"note: {n}" for n in report.notes]
    lines += [head, "-" * len(head)]
    for row in report.rows():
        lines.append(f"{row['mode']:<12}" + "".join(f"{_fmt(row[c], c):>{w}}" for c in TABLE_COLUMNS))
    lines.append(
        "units: g-mpjpe/mpjpe mm, vel mm/frame, acc mm/frame^2, joints/roll/pitch/yaw rad, rootZ m, "
        "rootV m/s; m: = the mode's masked bodies (n/a: the mode commands no body)"
    )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- files


def write_modes_csv(path: str | os.PathLike, report: ModesReport) -> Path:
    """The modes x metrics table (all clips), one row per mode, empty cell = n/a; written atomically."""
    with atomic_open(path, "w", newline="") as f:
        writer = csvlib.DictWriter(f, fieldnames=["mode", *TABLE_COLUMNS])
        writer.writeheader()
        for row in report.rows():
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return Path(path)


def write_per_clip_csv(path: str | os.PathLike, report: ModesReport) -> Path:
    """One row per (mode, clip): ``mode`` then the ``hover eval`` per-clip columns."""
    rows = [{"mode": r.mode} | c.row() for r in report.results for c in r.report.clips]
    fields = list(dict.fromkeys(k for row in rows for k in row)) or ["mode"]
    with atomic_open(path, "w", newline="") as f:
        writer = csvlib.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in fields})
    return Path(path)


def plot_modes_radar(report: ModesReport, path: str | os.PathLike) -> Path:
    """Radar PNG of one policy's modes: axes = the 12 Table III metrics, one polygon per mode,
    each axis normalised across the modes as the paper's Fig. 4 (1 = best mode, 0 = worst)."""
    from hover.evaluation.compare import HIGHER_IS_BETTER, TABLE3_METRICS
    from hover.evaluation.plots import normalize_scores, plot_radar

    keys = [k for k, _ in TABLE3_METRICS]
    values = {r["mode"]: {k: r[k] for k in keys} for r in report.rows()}
    scores = normalize_scores(values, HIGHER_IS_BETTER, keys)
    title = f"{Path(report.policy_source).name or report.policy_source}: modes"
    return plot_radar({"all bodies, all clips": scores}, path, title=title, axis_labels=dict(TABLE3_METRICS))


def write_mode_files(report: ModesReport, out_dir: str | os.PathLike, per_clip: bool = False) -> list[Path]:
    """``modes.json`` (the full report), ``modes.csv`` (modes x metrics), ``per_clip.csv`` and, with
    at least two modes, ``radar.png`` in ``out_dir`` (created). Returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        atomic_write_json(out / "modes.json", report.to_json(per_clip=per_clip)),
        write_modes_csv(out / "modes.csv", report),
        write_per_clip_csv(out / "per_clip.csv", report),
    ]
    if len(report.results) >= 2:
        paths.append(plot_modes_radar(report, out / "radar.png"))
    return paths


__all__ = [
    "MASKED",
    "MODE_NAMES",
    "TABLE_COLUMNS",
    "TEACHER_NOTE",
    "ModeResult",
    "ModesReport",
    "evaluate_modes",
    "format_modes_table",
    "masked_bodies",
    "mode_env_config",
    "plot_modes_radar",
    "write_mode_files",
    "write_modes_csv",
    "write_per_clip_csv",
]
