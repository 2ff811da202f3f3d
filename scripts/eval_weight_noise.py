"""How much of a policy's evaluation is luck: the protocol's metrics under tiny weight perturbations.

Usage::

    python scripts/eval_weight_noise.py POLICY [--noise 1e-3] [--repeats 3] [--motions builtin F.npz ...]

Each repeat multiplies every weight of the policy's MLP by ``1 + noise * N(0, 1)`` (seeded by the
repeat index; normaliser and action std untouched), writes the copy to a temporary file and runs the
evaluation protocol (``hover eval``: every clip from t = 0, no DR, delay 2) on each motion set. Prints
JSON: per set the unperturbed result, each repeat's and their mean and standard deviation of success
and E_g-mpjpe (mm). A benchmark diagnostic (BENCHMARKS, teacher section), not part of the package.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch

from hover.checkpoints import resolve_policy
from hover.evaluation.evaluate import evaluate
from hover.motion.library import MotionLibrary
from hover.robots import get_robot
from hover.training.averaging import WEIGHTS_KEYS
from hover.training.periodic_eval import load_motion_set
from hover.training.policies import load_policy


def perturbed(ckpt: dict, key: str, noise: float, seed: int) -> dict:
    """A copy of ``ckpt`` whose MLP weights under ``key`` are scaled by ``1 + noise * N(0, 1)``."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, t in ckpt[key].items():
        if t.is_floating_point() and ".mlp." in f".{name}":
            t = t * (1 + noise * torch.randn(t.shape, generator=g, dtype=t.dtype))
        state[name] = t
    return {**ckpt, key: state}


def result(policy_file: str, motions: MotionLibrary) -> dict[str, float]:
    s = evaluate(load_policy(policy_file), motions, num_threads=1).summary
    return {"success": float(s["success_rate"]), "mpjpe_g_mm": float(s["mpjpe_g_mm"])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("policy")
    p.add_argument("--noise", type=float, default=1e-3, help="relative std of the weight noise")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--motions", nargs="+", default=["builtin"], help="'builtin' or motion files")
    a = p.parse_args()
    path = resolve_policy(a.policy)
    ckpt = torch.load(path, weights_only=True, map_location="cpu")
    key = next(k for k in WEIGHTS_KEYS if k in ckpt)
    out: dict = {"policy": str(path), "noise": a.noise, "repeats": a.repeats, "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for r in range(a.repeats):
            f = Path(tmp) / f"perturbed_{r}.pt"
            torch.save(perturbed(ckpt, key, a.noise, r), f)
            files.append(str(f))
        robot = get_robot(load_policy(str(path)).train_cfg.robot)
        for motions in a.motions:
            lib = load_motion_set(motions, robot)  # loaded once per set, shared by every repeat
            base = result(str(path), lib)
            reps = [result(f, lib) for f in files]
            out["sets"][motions] = {
                "unperturbed": base,
                "repeats": reps,
                **{
                    f"{m}_{stat.__name__}": stat([r[m] for r in reps])
                    for m in ("success", "mpjpe_g_mm")
                    for stat in (statistics.mean, statistics.stdev)
                    if a.repeats > 1 or stat is statistics.mean
                },
            }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
