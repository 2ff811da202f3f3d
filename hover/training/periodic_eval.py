"""The evaluation protocol during training: the metric that matters, every N iterations.

:class:`PeriodicEval` plays every clip of each ``eval_motions`` set once from t = 0 with the current
policy's mean action (``hover.evaluation.evaluate``: no DR, delay 2, mean body distance > 0.5 m =
failure), logs ``Eval/<set>/success_rate``, ``Eval/<set>/mpjpe_g_mm`` and ``Eval/<set>/mpjpe_l_mm`` to
TensorBoard (x axis: iteration) and the console, and appends one row per set to ``eval.csv`` in the
run folder with the env steps and the wall-clock training time, so curves can be drawn against
samples and against time. The eval envs run in this process on one thread, between iterations. A
student run evaluates each set in each of its ``eval_modes`` (``Eval/omnih2o/builtin/success_rate``).
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tensordict import TensorDict
from torch import Tensor

from hover.envs.tracking.config import TrackingEnvConfig
from hover.evaluation.evaluate import make_eval_env, report_from_results, rollout_clips
from hover.evaluation.per_mode import mode_env_config
from hover.motion.library import MotionLibrary
from hover.robots import RobotSpec

CSV_FIELDS = ("iteration", "env_steps", "train_time_s", "wall_time_s", "motions", "num_clips", "success_rate",
              "mpjpe_g_mm", "mpjpe_l_mm", "eval_s")  # fmt: skip


def load_motion_set(spec: str, robot: RobotSpec) -> MotionLibrary:
    """``builtin`` or a motion file / folder."""
    return (
        MotionLibrary.builtin(robot) if spec == "builtin" else MotionLibrary.from_sources(spec, robot=robot)
    )


def set_name(spec: str) -> str:
    return "builtin" if spec == "builtin" else Path(spec).stem


@dataclass
class _PolicyView:
    """The interface ``make_eval_env`` reads (``hover.checkpoints.LoadedPolicy``-like)."""

    env_cfg: TrackingEnvConfig
    source: str = "training"


class PeriodicEval:
    """Evaluate ``act(obs) -> actions`` on each motion set; see the module docstring."""

    def __init__(
        self,
        env_cfg: TrackingEnvConfig,
        sets: Sequence[str],
        robot: RobotSpec,
        interval: int,
        run_dir: str | os.PathLike | None,
        max_envs: int = 64,
        modes: Sequence[str] = (),
    ) -> None:
        """``modes``: a student's named command modes, each set evaluated in each (``omnih2o/builtin``)."""
        self.interval = interval
        self.run_dir = Path(run_dir) if run_dir else None
        loaded = [(set_name(s), load_motion_set(s, robot)) for s in sets] if interval > 0 else []
        variants = [(f"{m}/", mode_env_config(env_cfg, m)) for m in modes] or [("", env_cfg)]
        self.sets = [(prefix + name, m) for prefix, _ in variants for name, m in loaded]
        self.envs = [
            make_eval_env(_PolicyView(cfg), m, min(max_envs, m.num_clips), num_threads=1)
            for _, cfg in variants
            for _, m in loaded
        ]
        self.last: dict[str, dict[str, float]] = {}
        self.start = time.time()

    def due(self, iteration: int) -> bool:
        return self.interval > 0 and iteration % self.interval == 0

    def run(self, act: Callable[[TensorDict], Tensor]) -> dict[str, dict[str, Any]]:
        """{set name: summary} with ``success_rate``, ``mpjpe_g_mm``, ``mpjpe_l_mm``, ``eval_s``."""
        out = {}
        for (name, motions), env in zip(self.sets, self.envs, strict=True):
            t0 = time.perf_counter()
            results = rollout_clips(env, act, motions)
            summary = report_from_results(results, motions.robot.control_dt).summary
            out[name] = {
                "num_clips": motions.num_clips,
                "success_rate": summary["success_rate"],
                "mpjpe_g_mm": summary["mpjpe_g_mm"],
                "mpjpe_l_mm": summary["mpjpe_l_mm"],
                "eval_s": time.perf_counter() - t0,
            }
        self.last = out
        return out

    def log(
        self,
        results: dict[str, dict[str, Any]],
        iteration: int,
        env_steps: int,
        train_time_s: float,
        writer: Any = None,
    ) -> None:
        """TensorBoard scalars, one console line, rows of ``eval.csv``."""
        parts = []
        for name, r in results.items():
            for key in ("success_rate", "mpjpe_g_mm", "mpjpe_l_mm"):
                if writer is not None and r[key] is not None:
                    writer.add_scalar(f"Eval/{name}/{key}", r[key], iteration)
            parts.append(
                f"{name}: success {r['success_rate']:.2f} ({round(r['success_rate'] * r['num_clips'])}/"
                f"{r['num_clips']}), E_g-mpjpe {r['mpjpe_g_mm']:.1f} mm"
            )
        print(
            f"[eval] iteration {iteration} ({env_steps / 1e6:.2f} M env steps): " + "; ".join(parts),
            flush=True,
        )
        if self.run_dir is None:
            return
        path = self.run_dir / "eval.csv"
        new = not path.exists()
        with path.open("a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
            if new:
                w.writeheader()
            for name, r in results.items():
                w.writerow(
                    {
                        "iteration": iteration,
                        "env_steps": env_steps,
                        "train_time_s": round(train_time_s, 1),
                        "wall_time_s": round(time.time() - self.start, 1),
                        "motions": name,
                        **{k: r[k] for k in ("num_clips", "success_rate", "mpjpe_g_mm", "mpjpe_l_mm")},
                        "eval_s": round(r["eval_s"], 2),
                    }
                )

    def close(self) -> None:
        for env in self.envs:
            env.backend.close()
        self.envs = []


def policy_act(model: torch.nn.Module) -> Callable[[TensorDict], Tensor]:
    """Deterministic (mean) action of an rsl-rl actor model, without touching its training mode."""

    def act(obs: TensorDict) -> Tensor:
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                return model(obs)
        finally:
            model.train(was_training)

    return act
