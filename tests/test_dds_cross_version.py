"""Wire compatibility with the robot's DDS stack: hover (cyclonedds 11) against a peer on cyclonedds 0.10.2.

The peer (``tests/dds010/peer.py``) runs in the second environment that ``scripts/build_dds010.sh``
builds (cyclonedds-python 0.10.2 on Debian's cyclonedds-dev 0.10.2), with types generated from
``tests/dds010/unitree_go.idl`` and its own C layout and CRC. Both directions, both hover programs:

- ``hover run`` <-> the peer as the robot: LowState_ in (CRC accepted), LowCmd_ out (CRC, header, motor
  slots, modes, gains, rate checked by the peer), the robot pressing its remote's START and A;
- ``hover sim-robot`` <-> the peer as a Unitree SDK controller: LowState_ out (CRC, slot order, tick and
  rate checked by the peer), LowCmd_ in (CRC, slots and gains checked in the sim's report).

On loopback (hover's forced-unicast configuration, the peer with the Unitree SDKs' own configuration)
and on a two-host network (network namespaces + veth, multicast discovery, domain 0, hover's NIC
configuration): the robot's usual set-up. A 0.10 peer that met hover's old TK_UINT8 type objects
segfaulted within a second; the peer's clean exit is part of every check. DDS domains 60-69.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

pytest.importorskip("cyclonedds")

from dds_peer import (  # noqa: E402
    SLOT_JOINTS,
    dds010_env,
    default_of,
    gains_of,
    hover,
    read_json,
    start,
    start_peer,
    stop,
    two_hosts,
)

_DOMAINS = iter(range(60 + random.randrange(3), 70))
USED = [s for s, j in enumerate(SLOT_JOINTS) if j is not None]


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    from hover.benchmarks.deploy import write_student_onnx

    return write_student_onnx(tmp_path_factory.mktemp("onnx") / "student.onnx", hidden_dims=(64,))


def _presses() -> list[str]:
    """START then A every second (START counts only in PASSIVE, A only in HOLD), so whenever hover run
    is up, it is soft-started and then handed to its policy."""
    out = []
    for t in range(1, 12):
        out += ["--press", f"start@{t}", "--press", f"A@{t + 0.5}"]
    return out


def exchange_with_robot_peer(
    tmp_path,
    policy,
    domain: int,
    peer_net: str,
    hover_net: str,
    robot_ns: str | None = None,
    pc_ns: str | None = None,
) -> tuple[dict, dict, str]:
    """``hover run --input remote`` against the 0.10 robot peer for 5 s: (peer report, hover report, stderr)."""
    peer_report, run_report = tmp_path / f"peer{domain}.json", tmp_path / f"run{domain}.json"
    peer = start_peer("robot", domain, peer_net, peer_report, "--seconds", "40", *_presses(), netns=robot_ns)
    try:
        run = start(hover("run", "--policy", str(policy), "--input", "remote", "--net", hover_net, "--domain",
                          str(domain), "--duration-s", "5", "--report", str(run_report),
                          "--runner.machine.soft-start-s", "0.3", "--runner.damping-s", "0.5"),
                    None, netns=pc_ns)  # fmt: skip
        out, err = run.communicate(timeout=120)
    finally:
        code, _, peer_err = stop(peer)
    assert code == 0, f"the 0.10 peer died ({code}): {peer_err[-2000:]}"
    assert run.returncode == 0, err[-3000:]
    return read_json(peer_report, "peer", peer_err), read_json(run_report, "hover run", err), err


def check_robot_exchange(peer: dict, run: dict) -> None:
    assert peer["cyclonedds_python"] == "0.10.2" and peer["layout_sizes"] == {
        "LowCmd_": 812,
        "LowState_": 1180,
    }
    # LowState_ 0.10 -> 11: every sample accepted (the peer's CRC is hover's CRC)
    link = run["link"]
    assert link["accepted"] > 100 and link["refused"]["crc"] == 0 and link["refused"]["non_finite"] == 0
    states = [t[2] for t in run["transitions"]]
    assert states[:3] == ["soft_start", "hold", "policy"], run["transitions"]  # driven by the peer's remote
    # LowCmd_ 11 -> 0.10: CRC, header, slots, modes, gains
    assert peer["cmd_crc_bad"] == 0 and peer["cmd_crc_ok"] == peer["cmd_received"] > 500
    assert peer["cmd_bad_header"] == 0
    first = peer["first_active"]["slots"]  # the first soft-start command targets the measured pose
    for s in USED:
        assert first[s]["q"] == pytest.approx(0.01 * s, abs=1e-6), (s, SLOT_JOINTS[s], first[s])
    last = peer["last_position"]["slots"]
    for s, joint in enumerate(SLOT_JOINTS):
        if joint is None:
            assert last[s]["mode"] == 0 and last[s]["kp"] == last[s]["kd"] == 0 and last[s]["q"] > 2e9
            continue
        kp, kd = gains_of(joint)
        assert (last[s]["kp"], last[s]["kd"]) == pytest.approx((kp, kd)), (s, joint, last[s])
        assert last[s]["mode"] == (0x01 if s >= 10 else 0x0A), (s, joint)
        assert np.isfinite(last[s]["q"])
    assert peer["last"]["slots"][0]["kp"] == 0 and peer["last"]["slots"][0]["kd"] > 0  # ends in damping
    assert peer["kinds"]["damping"] >= 50  # 0.5 s of exit damping at 200 Hz, seen by the peer
    # rates: the 200 Hz publisher plus the 50 Hz policy ticks, as received by the peer
    assert 150 < peer["cmd_rate"]["hz"] < 320 and peer["cmd_rate"]["max_gap_ms"] < 250  # loaded 2-core CI


def exchange_with_controller_peer(
    tmp_path, domain: int, peer_net: str, sim_net: str, robot_ns: str | None = None, pc_ns: str | None = None
) -> tuple[dict, dict]:
    """The 0.10 controller peer holding ``hover sim-robot`` (band on) for 3 s: (peer report, sim report)."""
    sim_report, peer_report = tmp_path / f"sim{domain}.json", tmp_path / f"ctl{domain}.json"
    sim = start(
        hover("sim-robot", "--domain", str(domain), "--net", sim_net, "--report", str(sim_report)),
        "sim-robot ready",
        netns=robot_ns,
    )
    try:
        peer = start_peer("controller", domain, peer_net, peer_report, "--seconds", "3", netns=pc_ns)
        _, peer_err = peer.communicate(timeout=60)  # ends by itself after 3 s
        assert peer.returncode == 0, f"the 0.10 peer died ({peer.returncode}): {peer_err[-2000:]}"
    finally:
        code, _, sim_err = stop(sim)
    assert code == 0, sim_err[-3000:]
    return read_json(peer_report, "peer", peer_err), read_json(sim_report, "sim-robot", sim_err)


def check_controller_exchange(peer: dict, sim: dict) -> None:
    from hover.robots import get_robot

    robot = get_robot("h1")
    # LowState_ 11 -> 0.10: CRC, slot order (the sim starts in the default pose), tick and rate
    assert peer["state_crc_bad"] == 0 and peer["state_crc_ok"] == peer["state_received"] > 200
    q = peer["first_state"]["q"]
    for s, joint in enumerate(SLOT_JOINTS):
        assert q[s] == pytest.approx(0.0 if joint is None else default_of(joint), abs=1e-4), (s, joint)
    assert 0.4 < peer["tick_advance_ms"] / peer["tick_wall_ms"] < 1.2  # tick = simulated ms, about real time
    # published at 500 Hz, read every 2 ms by the peer (less on a loaded machine)
    assert peer["state_rate"]["hz"] > 150
    # LowCmd_ 0.10 -> 11: CRC accepted, gains and targets land on the right joints
    assert sim["bad_crc"] == 0 and sim["non_finite_commands"] == 0 and sim["commands_received"] > 500
    last = sim["last_command"]
    assert last["kp"] == pytest.approx([gains_of(n)[0] for n in robot.joint_names])
    assert last["kd"] == pytest.approx([gains_of(n)[1] for n in robot.joint_names])
    assert last["q"] == pytest.approx([default_of(n) for n in robot.joint_names], abs=0.05)
    assert last["mode"] == [1 if j.motor_index >= 10 else 10 for j in robot.joints]
    assert sim["min_pelvis_height"] > 0.9  # held by the peer's PD and the band


def test_hover_run_with_a_0_10_robot_on_loopback(tmp_path, student):
    dds010_env()
    peer, run, err = exchange_with_robot_peer(tmp_path, student, next(_DOMAINS), "lo", "lo")
    check_robot_exchange(peer, run)
    assert "PASSIVE -> SOFT_START" in err and "HOLD -> POLICY" in err


def test_a_0_10_controller_with_hover_sim_robot_on_loopback(tmp_path):
    dds010_env()
    check_controller_exchange(*exchange_with_controller_peer(tmp_path, next(_DOMAINS), "lo", "lo"))


def test_both_directions_on_the_robots_network_setup(tmp_path, student):
    """Robot and PC on one subnet (veth between two network namespaces), multicast discovery on domain 0,
    the peer with the Unitree SDKs' configuration on its eth0, hover on its NIC by name."""
    dds010_env()
    with two_hosts() as (robot_ns, pc_ns):
        peer, run, _ = exchange_with_robot_peer(tmp_path, student, 0, "eth0", "hover0", robot_ns, pc_ns)
        check_robot_exchange(peer, run)
        check_controller_exchange(
            *exchange_with_controller_peer(tmp_path, 0, "hover0", "eth0", robot_ns, pc_ns)
        )
