"""hover bench deploy: one JSON object with inference and loop timing from a real (short) run against sim-robot."""

from __future__ import annotations

import json
import random

import pytest

pytest.importorskip("cyclonedds")


def _run(capsys, *extra: str) -> dict:
    from hover.cli import main

    domain = str(90 + random.randrange(6))  # 90-95: no other test file uses these (ids go up to 232)
    argv = ["bench", "deploy", "--policy", "random", "--seconds", "2", "--inference-iters", "300",
            "--domain", domain, "--json", *extra]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1])


def test_bench_deploy_json_fields_from_a_short_run(capsys):
    r = _run(capsys, "--no-sim2sim")
    assert r["policy_note"] == "untrained student-sized MLP"
    assert 0 < r["inference_p50_ms"] <= r["inference_p99_ms"] <= r["inference_max_ms"]
    assert r["inference_p50_ms"] < 20.0  # a 1782 -> 640 -> 384 -> 256 -> 19 MLP, one thread
    assert (
        0 <= r["loop_period_p50_error_ms"] <= r["loop_period_p99_error_ms"] <= r["loop_period_max_error_ms"]
    )
    # 2 s at 50 Hz: absolute deadlines skip ticks on a loaded machine, never add
    assert 50 <= r["loop_ticks"] <= 101
    assert r["loop_policy_ticks"] > 15  # the policy ran in the loop (after the 1 s soft start)
    assert set(r["stage_latency_ms"]) == {"read_state", "build_obs", "inference", "publish"}
    assert "sim2sim_realtime_factor" not in r


@pytest.mark.slow
def test_bench_deploy_reports_sim2sim_speed(capsys):
    pytest.importorskip("hover.evaluation.sim2sim")
    r = _run(capsys, "--sim2sim-clips", "2", "--sim2sim-workers", "1", "--sim2sim-seconds", "2")
    assert "sim2sim_note" not in r, r.get("sim2sim_note")
    assert r["sim2sim_realtime_factor"] > 0 and r["sim2sim"]["simulated_s"] > 0
