"""``hover bench sim``: a fraction of a second of real stepping; JSON keys, types and consistency."""

from __future__ import annotations

import json

from hover.benchmarks.sim import SimBenchConfig, run_bench
from hover.cli import main as hover_main


def test_bench_sim_json(capsys) -> None:
    rc = hover_main(
        [
            "bench",
            "sim",
            "--backend",
            "mujoco",
            "--num-envs",
            "4",
            "--seconds",
            "0.2",
            "--threads",
            "2",
            "--json",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out.strip()
    r = json.loads(out)  # exactly one JSON object on stdout
    assert r["backend"] == "mujoco" and r["num_envs"] == 4 and r["threads"] == 2 and r["decimation"] == 4
    for key in ("env_steps_per_s", "physics_steps_per_s_single_core", "physics_limit_ratio", "seconds"):
        assert isinstance(r[key], float) and r[key] > 0, key
    assert isinstance(r["env_steps"], int) and r["env_steps"] >= 4 * 50  # at least one 1 s episode of 4 envs
    ratio = r["env_steps_per_s"] * r["decimation"] / (r["physics_steps_per_s_single_core"] * r["threads"])
    assert abs(ratio - r["physics_limit_ratio"]) < 1e-9
    assert 0.02 < r["physics_limit_ratio"] < 3.0  # loose: shared machine, but not absurd


def test_bench_sim_summary_and_errors(capsys) -> None:
    assert hover_main(["bench", "sim", "--num-envs", "2", "--seconds", "0.05", "--threads", "1"]) == 0
    assert "physics limit ratio" in capsys.readouterr().out
    assert hover_main(["bench", "sim", "--backend", "nope", "--seconds", "0.05"]) == 2
    assert "unknown backend" in capsys.readouterr().err


def test_run_bench_threads_capped_by_envs() -> None:
    r = run_bench(SimBenchConfig(num_envs=1, seconds=0.05, threads=2))
    assert r["threads"] == 1
