"""Safety layer: the pure checks, and every safety case end to end over real DDS on loopback.

End-to-end cases run the real runner (``hover.deploy.onboard_runner``) with a real ONNX Runtime policy against
``hover sim-robot`` in a subprocess (real MuJoCo), and read what the simulated robot actually received
from its report. Faults are injected where they arise on a robot: the sim-robot's state (NaN, frozen
tick), the input source's samples (NaN, no longer refreshed), the policy's output (an ONNX whose
output is NaN or far outside the joint limits), the robot tipping over.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

pytest.importorskip("cyclonedds")

from hover.commands import command_layout  # noqa: E402
from hover.deploy.inputs import make_input  # noqa: E402
from hover.deploy.onboard_runner import Runner, RunnerConfig, load_student_policy  # noqa: E402
from hover.deploy.robot_io import DdsRobot  # noqa: E402
from hover.deploy.safety import (  # noqa: E402
    SafetyConfig,
    check_action_finite,
    check_command_finite,
    check_fall,
    check_input_stale,
    check_state_finite,
    check_state_stale,
    clip_targets,
    projected_gravity_np,
)
from hover.deploy.sim_robot import spawn_sim_robot, stop_sim_robot, wait_sim_robot_ready  # noqa: E402
from hover.deploy.state_machine import StateMachineConfig  # noqa: E402
from hover.robots import get_robot  # noqa: E402
from hover.rotations import projected_gravity, quat_from_rotvec  # noqa: E402

ROBOT = get_robot("h1")
_DOMAINS = iter(range(208 + random.randrange(4), 232))  # this file's DDS domains (no clash within a process)


# ----- pure checks ------------------------------------------------------------------------------------
def test_finite_checks_name_the_array_and_index():
    ok = np.zeros(19)
    assert check_state_finite(ok, ok, np.array([1.0, 0, 0, 0]), np.zeros(3)) is None
    bad = ok.copy()
    bad[7] = np.nan
    assert "joint_vel at index [7]" in check_state_finite(ok, bad, np.array([1.0, 0, 0, 0]), np.zeros(3))
    assert "root_quat" in check_state_finite(ok, ok, np.array([np.inf, 0, 0, 0]), np.zeros(3))
    assert "command" in check_command_finite(np.array([0.0, np.nan]), np.ones(2))
    assert "mask" in check_command_finite(np.zeros(2), np.array([1.0, -np.inf]))
    assert check_action_finite(np.ones(19)) is None and check_action_finite(np.full(19, np.nan)) is not None


def test_staleness_checks_use_age_against_the_limit():
    assert check_state_stale(None, 5.0, 0.1) == "no robot state received yet"
    assert check_state_stale(4.95, 5.0, 0.1) is None
    assert "tick not advancing for 150 ms" in check_state_stale(4.85, 5.0, 0.1)
    assert check_input_stale(None, 5.0, 0.2) == "no input sample yet"
    assert check_input_stale(4.81, 5.0, 0.2) is None
    assert "250 ms old" in check_input_stale(4.75, 5.0, 0.2)


def test_fall_check_and_projected_gravity_match_the_torch_helper():
    for rotvec in ([0.0, 0.0, 0.0], [0.3, -0.2, 1.0], [1.2, 0.0, 0.0], [0.0, 2.0, 0.5]):
        q = quat_from_rotvec(torch.tensor([rotvec], dtype=torch.float64))[0]
        np.testing.assert_allclose(
            projected_gravity_np(q.numpy()), projected_gravity(q[None])[0].numpy(), atol=1e-12
        )
    upright = np.array([1.0, 0.0, 0.0, 0.0])
    assert check_fall(projected_gravity_np(upright), -0.5) is None
    tilt_50 = quat_from_rotvec(torch.tensor([[np.radians(50), 0.0, 0.0]]))[0].numpy()
    tilt_70 = quat_from_rotvec(torch.tensor([[0.0, np.radians(70), 0.0]]))[0].numpy()
    assert check_fall(projected_gravity_np(tilt_50), -0.5) is None  # 50 deg: cos 0.64 > 0.5
    assert "tilted 70 deg" in check_fall(projected_gravity_np(tilt_70), -0.5)
    assert "not finite" in check_fall(np.array([0.0, 0.0, np.nan]), -0.5)


def test_clip_targets_to_joint_limits():
    lo = np.array([j.range[0] for j in ROBOT.joints])
    hi = np.array([j.range[1] for j in ROBOT.joints])
    q = np.zeros(19)
    out, reason = clip_targets(q, lo, hi)
    assert reason is None and np.array_equal(out, q)
    q[3], q[12] = 5.0, -9.0  # left knee above 2.05, left shoulder roll below -0.34
    out, reason = clip_targets(q, lo, hi)
    assert out[3] == hi[3] and out[12] == lo[12] and np.all((out >= lo) & (out <= hi))
    assert "[3, 12]" in reason and "worst joint 12" in reason


# ----- end to end over DDS ---------------------------------------------------------------------------------
class ConstantPolicy(torch.nn.Module):
    """Ignores the observation and outputs ``value`` for every joint (an exported 'broken' network)."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(1782, 19)
        with torch.no_grad():
            self.lin.weight.zero_()
            self.lin.bias.fill_(value)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.lin(obs)


class FaultyInput:
    """Wraps the real ``idle`` source; from ``after`` s on its samples are NaN or stop being refreshed."""

    def __init__(self, fault: str, after: float) -> None:
        self.inner = make_input("idle", ROBOT, command_layout(ROBOT))
        self.name, self.fault, self.after = "faulty-idle", fault, after
        self.t0: float | None = None
        self.fault_time: float | None = None
        self.frozen = None

    def events(self, view, now):
        return self.inner.events(view, now)

    def command(self, view, now):
        self.t0 = now if self.t0 is None else self.t0
        sample = self.inner.command(view, now)
        if now - self.t0 < self.after:
            self.frozen = sample
            return sample
        if self.fault_time is None:
            self.fault_time = now
        if self.fault == "nan":
            sample.command = sample.command.copy()
            sample.command[-1] = np.nan
            return sample
        return self.frozen  # "stale": the last sample, its receipt stamp getting old

    def close(self):
        self.inner.close()


@pytest.fixture(scope="module")
def policies(tmp_path_factory):
    from hover.benchmarks.deploy import write_student_onnx

    d = tmp_path_factory.mktemp("onnx")
    return {
        "small": write_student_onnx(d / "small.onnx", hidden_dims=(64,)),
        "nan": write_student_onnx(d / "nan.onnx", ConstantPolicy(float("nan"))),
        "huge": write_student_onnx(d / "huge.onnx", ConstantPolicy(100.0)),
    }


# sim-robot arguments per case; all are started at once (their start-up overlaps) and each waits,
# physics paused, for its runner's first command
SIM_ARGS = {
    "nan_command": ["--band-s", "100"],
    "stale_input": ["--band-s", "100"],
    "stale_input_last": ["--band-s", "100"],
    "nan_action": ["--band-s", "100"],
    "out_of_range": ["--band-s", "100"],
    "nan_state": ["--band-s", "100", "--events", "nan_state@0.6"],
    "stale_state": ["--band-s", "100", "--events", "stale_state@0.6"],
    "fall": ["--no-band"],
}


@pytest.fixture(scope="module")
def sims(tmp_path_factory):
    d = tmp_path_factory.mktemp("sims")
    procs = {}
    for case, args in SIM_ARGS.items():
        domain = next(_DOMAINS)
        report = d / f"{case}.json"
        procs[case] = (
            domain,
            spawn_sim_robot(domain, "lo", ["--report", str(report), *args], wait=False),
            report,
        )
    yield procs
    for _, proc, _ in procs.values():
        stop_sim_robot(proc)


def _run_case(sims, case, policy, source, seconds=1.2, safety=None):
    """Runner (auto start, 0.3 s soft start) against the case's sim-robot; returns (runner, report, sim report)."""
    domain, sim, report_path = sims[case]
    wait_sim_robot_ready(sim)
    try:
        cfg = RunnerConfig(
            auto_start=True,
            stats_every_s=0.0,
            damping_s=0.2,
            machine=StateMachineConfig(soft_start_s=0.3),
            safety=safety or SafetyConfig(),
        )
        runner = Runner(
            ROBOT,
            DdsRobot(ROBOT, domain, "lo"),
            None if policy is None else load_student_policy(str(policy), ROBOT),
            source,
            cfg,
        )
        report = runner.run(seconds)
    finally:
        stop_sim_robot(sim)
    sim_report = json.loads(report_path.read_text())
    assert sim_report["commands_received"] > 50
    assert (
        sim_report["non_finite_commands"] == 0 and sim_report["bad_crc"] == 0
    )  # nothing non-finite published
    return runner, report, sim_report


def _transition(runner, dst, reason=""):
    return next(t for t in runner.machine.history if t.dst.value == dst and t.reason.startswith(reason))


def _tick_period(runner):
    return runner.period * 1.5


def test_nan_command_goes_to_damping_in_the_same_tick(sims, policies):
    source = FaultyInput("nan", after=0.5)
    runner, report, sim = _run_case(sims, "nan_command", policies["small"], source)
    ev = next(e for e in runner.events if e.check == "command_finite")
    assert ev.action == "damping" and "non-finite input command" in ev.reason
    assert _transition(runner, "damping").time == ev.time == source.fault_time  # the tick that saw it
    assert report["state_before_exit"] == "damping"
    assert sim["damping_commands"] > 0 and sim["last_command"]["kp"] == [0.0] * 19


def test_stale_input_holds_the_last_safe_targets_within_one_tick(sims, policies):
    """on_stale_input = hold: the first tick past the input limit holds the last safe targets."""
    source = FaultyInput("stale", after=0.5)
    runner, report, sim = _run_case(
        sims, "stale_input", policies["small"], source, safety=SafetyConfig(on_stale_input="hold")
    )
    ev = next(e for e in runner.events if e.check == "input_stale")
    assert ev.action == "hold" and "input stale" in ev.reason
    age = ev.time - source.frozen.stamp
    assert 0.2 < age <= 0.2 + _tick_period(runner)  # first tick past the 0.2 s limit
    hold = _transition(runner, "hold", "input_stale")
    assert hold.time == ev.time and hold.src.value == "policy"
    assert report["state_before_exit"] == "hold"  # held (no automatic return to the policy)
    assert sim["damping_commands"] <= runner.damping_published  # only the exit's damping


def test_stale_input_keeps_the_policy_on_the_last_command_then_holds(sims, policies):
    """Default on_stale_input = last_command: a frozen stream is reported at once, the policy keeps
    running on the newest good command, and only after input_lost_s does the runner hold."""
    source = FaultyInput("stale", after=0.5)
    safety = SafetyConfig(input_lost_s=0.4)
    runner, report, sim = _run_case(
        sims, "stale_input_last", policies["small"], source, seconds=1.6, safety=safety
    )
    first = next(e for e in runner.events if e.check == "input_stale")
    assert first.action == "last_command" and 0.2 < first.time - source.frozen.stamp <= 0.2 + _tick_period(
        runner
    )
    hold = _transition(runner, "hold", "input_stale")
    assert hold.src.value == "policy" and 0.4 < hold.time - source.frozen.stamp <= 0.4 + _tick_period(runner)
    assert report["state_before_exit"] == "hold"


def test_nan_action_goes_to_damping_and_nothing_non_finite_is_published(sims, policies):
    source = make_input("idle", ROBOT, command_layout(ROBOT))
    runner, report, sim = _run_case(sims, "nan_action", policies["nan"], source, seconds=0.8)
    ev = next(e for e in runner.events if e.check == "action_finite")
    policy_start = _transition(runner, "policy").time
    assert ev.action == "damping" and ev.time == policy_start  # the very first policy tick
    assert _transition(runner, "damping").time == ev.time
    assert report["publish_errors"] == 0 and sim["damping_commands"] > 10


def test_out_of_range_targets_are_clipped_before_publishing(sims, policies):
    source = make_input("idle", ROBOT, command_layout(ROBOT))
    runner, report, sim = _run_case(
        sims, "out_of_range", policies["huge"], source, seconds=1.5, safety=SafetyConfig(fall_gravity_z=2.0)
    )
    ev = next(e for e in runner.events if e.check == "target_limits")
    assert ev.action == "clip" and ev.time == _transition(runner, "policy").time
    assert report["state_before_exit"] == "policy"
    # default + 0.25 * 100 is far out of range; the robot received targets exactly at the limits
    hi = np.array([j.range[1] for j in ROBOT.joints])
    assert sim["out_of_limit_commands"] == 0 and sim["max_target_excess_rad"] == 0.0
    policy_ticks = [r for r in runner.trace if r.state == "policy"]
    assert len(policy_ticks) > 20 and all(r.max_kp > 0 for r in policy_ticks)  # 1.2 s: 60 at 50 Hz
    assert np.all(runner.last_safe_q <= hi) and np.any(runner.last_safe_q == hi)


def test_nan_state_goes_to_damping_in_the_first_tick_that_reads_it(sims, policies):
    source = make_input("idle", ROBOT, command_layout(ROBOT))
    runner, report, sim = _run_case(sims, "nan_state", policies["small"], source)
    ev = next(e for e in runner.events if e.check == "state_finite")
    assert ev.action == "damping" and "non-finite state joint_pos" in ev.reason
    first_nan = next(r for r in runner.trace if r.robot_tick is not None and not r.state_finite)
    assert first_nan.time == ev.time and first_nan.state == "damping"
    assert sim["damping_commands"] > 10


def test_stale_state_holds_when_the_tick_stops_advancing(sims, policies):
    source = make_input("idle", ROBOT, command_layout(ROBOT))
    runner, report, sim = _run_case(sims, "stale_state", policies["small"], source)
    ev = next(e for e in runner.events if e.check == "state_stale")
    assert ev.action == "hold" and "tick not advancing" in ev.reason
    ticks = [r for r in runner.trace if r.robot_tick is not None]
    frozen_tick = ticks[-1].robot_tick
    last_advance = next(r.time for r in ticks if r.robot_tick == frozen_tick)
    assert 0.1 < ev.time - last_advance <= 0.1 + 2 * runner.period  # state arrives at 500 Hz, read at 50 Hz
    assert _transition(runner, "hold", "state_stale").time == ev.time
    assert report["state_before_exit"] == "hold"


def test_fall_goes_to_damping(sims):
    """No policy: soft start then hold on PD alone; the H1 cannot stand on PD alone and tips over."""
    runner, report, sim = _run_case(sims, "fall", None, None, seconds=3.0)
    ev = next(e for e in runner.events if e.check == "fall")
    assert ev.action == "damping" and "tilted" in ev.reason
    assert _transition(runner, "damping").time == ev.time
    assert [t.dst.value for t in runner.machine.history][:3] == ["soft_start", "hold", "damping"]
    assert sim["first_damping_time"] is not None and sim["max_gravity_z"] > -0.5  # it really tipped
