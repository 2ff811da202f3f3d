"""``hover sim-robot``: a MuJoCo H1 speaking the robot's DDS topics for ``hover run`` (:mod:`hover.deploy.sim_robot`)."""

from __future__ import annotations

import json
import signal
import sys
import threading

import tyro

from hover.deploy import sim_robot
from hover.deploy.sim_robot import SimRobotConfig, run_sim_robot


def main(argv: list[str], prog: str) -> int:
    cfg = tyro.cli(SimRobotConfig, args=argv, prog=prog, description=sim_robot.__doc__.split("\n\n")[0])
    stop = threading.Event()  # SIGTERM ends the loop at the next step (no exception inside DDS calls)
    release = threading.Event()  # SIGUSR1 releases the elastic band
    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, lambda signum, frame: stop.set()),
        signal.SIGUSR1: signal.signal(signal.SIGUSR1, lambda signum, frame: release.set()),
    }
    try:
        report = run_sim_robot(cfg, stop, release)
    except (ValueError, FileNotFoundError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(
        json.dumps({k: v for k, v in report.items() if k not in ("last_command", "pelvis_trace")}, indent=1),
        flush=True,
    )
    return 0
