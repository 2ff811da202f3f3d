"""Numbers of the robot link for BENCHMARKS.md: the cyclonedds 0.10.2 exchanges of
tests/test_dds_cross_version.py (loopback and the two-host network) and the SIGTERM stop of hover run.

Usage (needs .dds010/ from scripts/build_dds010.sh; the two-host part needs root):
    python scripts/bench_robot_link.py [--repeat N]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from dds_peer import hover, start, stop, two_hosts  # noqa: E402
from test_dds_cross_version import exchange_with_controller_peer, exchange_with_robot_peer  # noqa: E402


def robot_numbers(peer: dict, run: dict) -> dict:
    return {
        "lowcmd_hz_at_peer": round(peer["cmd_rate"]["hz"], 1),
        "lowcmd_max_gap_ms": round(peer["cmd_rate"]["max_gap_ms"], 1),
        "lowcmd_crc_ok": f"{peer['cmd_crc_ok']}/{peer['cmd_received']}",
        "lowstate_sent_hz": round(peer["state_hz"], 1),
        "lowstate_accepted_by_hover": f"{run['link']['accepted']}/{run['link']['received']}",
        "policy_period_error_p99_ms": round(run["period_error_p99_ms"], 2),
    }


def controller_numbers(peer: dict, sim: dict) -> dict:
    return {
        "lowstate_hz_at_peer": round(peer["state_rate"]["hz"], 1),
        "lowstate_max_gap_ms": round(peer["state_rate"]["max_gap_ms"], 1),
        "lowstate_crc_ok": f"{peer['state_crc_ok']}/{peer['state_received']}",
        "tick_ms_per_wall_ms": round(peer["tick_advance_ms"] / peer["tick_wall_ms"], 3),
        "lowcmd_sent_hz": round(peer["cmd_hz"], 1),
        "lowcmd_accepted_by_sim": f"{sim['commands_received'] - sim['bad_crc']}/{sim['commands_received']}",
    }


def sigterm_stop(tmp: Path, domain: int) -> dict:
    """Seconds from SIGTERM to hover run's exit (damping 2 s by default) and what the sim received."""
    sim_path, run_path = tmp / "sigsim.json", tmp / "sigrun.json"
    sim = start(hover("sim-robot", "--domain", str(domain), "--report", str(sim_path)), "sim-robot ready")
    run = start(hover("run", "--domain", str(domain), "--runner.auto-start", "--runner.machine.soft-start-s", "0.3",
                      "--report", str(run_path)), None)  # fmt: skip
    for line in run.stderr:
        if "SOFT_START -> HOLD" in line:
            break
    t0 = time.monotonic()
    run.send_signal(signal.SIGTERM)
    code = run.wait(timeout=60)
    took = time.monotonic() - t0
    stop(sim)
    rep, simrep = json.loads(run_path.read_text()), json.loads(sim_path.read_text())
    return {
        "exit_code": code,
        "signal_to_exit_s": round(took, 2),
        "damping_published": rep["damping_published"],
        "damping_commands_at_sim": simrep["damping_commands"],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()
    from hover.benchmarks.deploy import write_student_onnx

    out: dict = {"loopback": [], "two_hosts": []}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        student = write_student_onnx(tmp / "student.onnx", hidden_dims=(64,))
        for _ in range(args.repeat):
            peer, run, _ = exchange_with_robot_peer(tmp, student, 66, "lo", "lo")
            ctl = exchange_with_controller_peer(tmp, 67, "lo", "lo")
            out["loopback"].append(
                {"hover_run": robot_numbers(peer, run), "sim_robot": controller_numbers(*ctl)}
            )
            with two_hosts() as (robot_ns, pc_ns):
                peer, run, _ = exchange_with_robot_peer(tmp, student, 0, "eth0", "hover0", robot_ns, pc_ns)
                ctl = exchange_with_controller_peer(tmp, 0, "hover0", "eth0", robot_ns, pc_ns)
            out["two_hosts"].append(
                {"hover_run": robot_numbers(peer, run), "sim_robot": controller_numbers(*ctl)}
            )
        out["sigterm"] = sigterm_stop(tmp, 68)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
