"""Helpers for the tests that talk to a cyclonedds 0.10.2 peer (``tests/dds010/peer.py``): finding the
second environment, starting processes (optionally in a network namespace), and a two-host network.

The 0.10 environment is ``.dds010/`` in the repository (``bash scripts/build_dds010.sh``) or the one
named by ``HOVER_DDS010_PYTHON`` and ``CYCLONEDDS_HOME``. Without it the tests skip, saying how to
build it -- unless ``HOVER_REQUIRE_ROBOT_LINK=1`` (set by ``.ci/run``), where they fail: CI must not
pass without the cross-version check.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PEER = REPO / "tests" / "dds010" / "peer.py"
REQUIRED = os.environ.get("HOVER_REQUIRE_ROBOT_LINK") == "1"

# H1 hardware slots (h1.md) and gains per joint kind: the tests' own copy of the published figures
SLOT_JOINTS = ["right_hip_roll", "right_hip_pitch", "right_knee", "left_hip_roll", "left_hip_pitch", "left_knee",
               "torso", "left_hip_yaw", "right_hip_yaw", None, "left_ankle", "right_ankle",
               "right_shoulder_pitch", "right_shoulder_roll", "right_shoulder_yaw", "right_elbow",
               "left_shoulder_pitch", "left_shoulder_roll", "left_shoulder_yaw", "left_elbow"]  # fmt: skip
GAINS = {
    "hip_yaw": (200, 5),
    "hip_roll": (200, 5),
    "hip_pitch": (200, 5),
    "knee": (300, 6),
    "ankle": (40, 2),
    "torso": (300, 6),
    "shoulder_pitch": (100, 2),
    "shoulder_roll": (100, 2),
    "shoulder_yaw": (100, 2),
    "elbow": (100, 2),
}
DEFAULT_POSE = {"hip_pitch": -0.4, "knee": 0.8, "ankle": -0.4}


def gains_of(joint: str) -> tuple[float, float]:
    return next(g for key, g in GAINS.items() if joint.endswith(key))


def default_of(joint: str) -> float:
    return next((v for key, v in DEFAULT_POSE.items() if joint.endswith(key)), 0.0)


def unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"HOVER_REQUIRE_ROBOT_LINK=1 but {reason}")
    pytest.skip(reason)


def dds010_env() -> dict[str, str]:
    """Environment variables for the 0.10 peer (PYTHON, CYCLONEDDS_HOME); skips/fails when absent."""
    python = os.environ.get("HOVER_DDS010_PYTHON", str(REPO / ".dds010" / "venv" / "bin" / "python"))
    home = os.environ.get("CYCLONEDDS_HOME", str(REPO / ".dds010" / "home"))
    missing = [p for p in (python, f"{home}/bin/idlc", f"{home}/include/dds/dds.h") if not os.path.exists(p)]
    if missing or not list(Path(home, "lib").glob("libddsc*")):
        unavailable(
            f"no cyclonedds 0.10 environment ({', '.join(missing) or home + '/lib/libddsc*'} missing); "
            "build it with `bash scripts/build_dds010.sh` (apt-get cyclonedds-dev 0.10.2)"
        )
    return {"PYTHON": python, "CYCLONEDDS_HOME": home}


def start(
    argv: list[str],
    ready: str | None,
    env: dict[str, str] | None = None,
    timeout_s: float = 60.0,
    netns: str | None = None,
) -> subprocess.Popen:
    """Start ``argv`` (in ``netns`` if given); with ``ready``, wait until a stdout line starts with it."""
    if netns is not None:
        argv = ["ip", "netns", "exec", netns, *argv]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )
    if ready is None:
        return proc
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(ready):
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    out, err = proc.communicate()
    raise RuntimeError(f"{' '.join(argv)} did not get ready: {err[-3000:]}")


def start_peer(
    role: str,
    domain: int,
    net: str,
    report: Path,
    *args: str,
    config: str = "unitree",
    netns: str | None = None,
) -> subprocess.Popen:
    env = dds010_env()
    argv = [env["PYTHON"], str(PEER), role, "--domain", str(domain), "--net", net, "--config", config,
            "--report", str(report), *args]  # fmt: skip
    return start(argv, "peer ready", {"CYCLONEDDS_HOME": env["CYCLONEDDS_HOME"]}, netns=netns)


def stop(proc: subprocess.Popen, timeout_s: float = 20.0) -> tuple[int, str, str]:
    """SIGTERM and wait (kill after ``timeout_s``): (exit code, stdout, stderr)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out, err


def hover(*args: str) -> list[str]:
    return [sys.executable, "-m", "hover", *args]


def read_json(path: Path, what: str, stderr: str = "") -> dict:
    if not path.exists():
        raise AssertionError(f"{what} wrote no report {path}: {stderr[-3000:]}")
    return json.loads(path.read_text())


@contextlib.contextmanager
def two_hosts(robot_if: str = "eth0", pc_if: str = "hover0") -> Iterator[tuple[str, str]]:
    """Two network namespaces joined by a veth pair, like a robot and its PC on 192.168.123.0/24
    (multicast on; robot .161, PC .99): yields (robot netns, pc netns). Skips (fails under
    HOVER_REQUIRE_ROBOT_LINK=1) when namespaces cannot be made (needs root / CAP_NET_ADMIN)."""
    tag = uuid.uuid4().hex[:6]
    robot, pc = f"hover-robot-{tag}", f"hover-pc-{tag}"
    steps = [
        ["ip", "netns", "add", robot],
        ["ip", "netns", "add", pc],
        ["ip", "link", "add", f"hvr{tag}", "type", "veth", "peer", "name", f"hvp{tag}"],
        ["ip", "link", "set", f"hvr{tag}", "netns", robot],
        ["ip", "link", "set", f"hvp{tag}", "netns", pc],
        ["ip", "-n", robot, "link", "set", f"hvr{tag}", "name", robot_if],
        ["ip", "-n", pc, "link", "set", f"hvp{tag}", "name", pc_if],
        ["ip", "-n", robot, "addr", "add", "192.168.123.161/24", "dev", robot_if],
        ["ip", "-n", pc, "addr", "add", "192.168.123.99/24", "dev", pc_if],
        ["ip", "-n", robot, "link", "set", robot_if, "multicast", "on", "up"],
        ["ip", "-n", pc, "link", "set", pc_if, "multicast", "on", "up"],
        ["ip", "-n", robot, "link", "set", "lo", "up"],
        ["ip", "-n", pc, "link", "set", "lo", "up"],
    ]
    try:
        for step in steps:
            r = subprocess.run(step, capture_output=True, text=True)
            if r.returncode != 0:
                unavailable(f"cannot make the two-host test network ({' '.join(step)}: {r.stderr.strip()})")
        yield robot, pc
    finally:
        for ns in (robot, pc):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
