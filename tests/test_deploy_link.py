"""The robot link as the operator sees it: refused state is never silent, every exit path ends in damping,
the hand-over from hold to policy never drops the robot, and the README's robot recipe as written.

Real processes throughout: ``hover run`` and ``hover sim-robot`` over DDS on loopback (domains 70-89;
the README recipe uses its own domain 1), signals sent to the real runner, the simulator's report
telling what it received. In-process runners where a fault must be injected (a policy that raises).
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cyclonedds")

from hover.commands import command_layout  # noqa: E402
from hover.deploy.console import Console  # noqa: E402
from hover.deploy.inputs import Event, make_input  # noqa: E402
from hover.deploy.onboard_runner import Runner, RunnerConfig, exit_code, load_student_policy  # noqa: E402
from hover.deploy.robot_io import DdsRobot  # noqa: E402
from hover.deploy.sim_robot import spawn_sim_robot, stop_sim_robot, wait_sim_robot_ready  # noqa: E402
from hover.deploy.state_machine import StateMachineConfig  # noqa: E402
from hover.robots import get_robot  # noqa: E402

ROBOT = get_robot("h1")
REPO = Path(__file__).resolve().parents[1]
_DOMAINS = iter(range(70 + random.randrange(2), 90))
STAMP = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) ")


def _seconds(line: str) -> float:
    h, m, s, ms = map(int, STAMP.match(line).groups())
    return h * 3600 + m * 60 + s + ms / 1e3


class Lines:
    """Collects a process's stderr lines in a thread; :meth:`wait_for` blocks until one matches."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._cv = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            with self._cv:
                self.lines.append(line.rstrip("\n"))
                self._cv.notify_all()
        with self._cv:
            self.lines.append("<eof>")
            self._cv.notify_all()

    def wait_for(self, text: str, timeout_s: float = 60.0) -> str:
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while True:
                hit = next((ln for ln in self.lines if text in ln), None)
                if hit is not None:
                    return hit
                if "<eof>" in self.lines or time.monotonic() > deadline:
                    raise AssertionError(f"{text!r} never printed:\n" + "\n".join(self.lines[-40:]))
                self._cv.wait(timeout=0.5)

    def text(self) -> str:
        with self._cv:
            return "\n".join(self.lines)


def _hover_run(*args: str, stdin=subprocess.DEVNULL) -> tuple[subprocess.Popen, Lines]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hover", "run", *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, Lines(proc.stderr)


def _sim_report(sim: subprocess.Popen, path: Path) -> dict:
    assert stop_sim_robot(sim) == 0
    return json.loads(path.read_text())


def _damped(sim: dict, at_least: int) -> None:
    assert sim["damping_commands"] >= at_least, sim["damping_commands"]
    last = sim["last_command"]
    assert last["kp"] == [0.0] * 19 and last["kd"] == [8.0] * 19  # the exit's damping is the last word


# ----- 2. refused state is never silent ------------------------------------------------------------------
def test_no_robot_says_why_within_2_s_and_exits_1(tmp_path):
    domain = next(_DOMAINS)
    report = tmp_path / "run.json"
    proc, err = _hover_run(
        "--domain", str(domain), "--duration-s", "2.6", "--runner.damping-s", "0.1", "--report", str(report)
    )
    assert proc.wait(timeout=120) == 1
    start = err.wait_for("waiting for robot state on rt/lowstate")
    warn = err.wait_for("no robot state: nothing received on rt/lowstate")
    assert f"domain {domain}, interface lo" in warn and "WARNING" in warn
    assert 1.9 <= _seconds(warn) - _seconds(start) <= 2.5
    assert "no valid robot state ever came" in err.wait_for("exit code 1")
    rep = json.loads(report.read_text())
    assert rep["link"]["received"] == 0 and rep["exit_reason"] == "duration"


class ZeroCrcPeer:
    """A simulator that does not fill the CRC: LowState_ at 200 Hz, tick advancing, crc = 0."""

    def __init__(self, domain: int) -> None:
        from hover.deploy.unitree.dds import open_domain
        from hover.deploy.unitree.messages import TOPIC_LOWSTATE, LowState_, new_low_state

        self.dds = open_domain(domain, "lo")
        self.writer = self.dds.writer(TOPIC_LOWSTATE, LowState_)
        self.msg = new_low_state()
        for j in ROBOT.joints:
            self.msg.motor_state[j.motor_index].q = j.default_pos
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        t0 = time.monotonic()
        while not self.stop.is_set():
            self.msg.tick = int((time.monotonic() - t0) * 1000)
            self.msg.crc = 0
            self.writer.write(self.msg)
            time.sleep(0.005)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


def test_zero_crc_states_are_refused_loudly_unless_accepted_explicitly(tmp_path):
    domain = next(_DOMAINS)
    peer = ZeroCrcPeer(domain)
    refused_path, accepted_path = tmp_path / "refused.json", tmp_path / "accepted.json"
    try:
        args = ("--domain", str(domain), "--runner.auto-start", "--runner.damping-s", "0.05")
        proc, err = _hover_run(*args, "--duration-s", "2.5", "--report", str(refused_path))
        assert proc.wait(timeout=120) == 1, err.text()
        ok, ok_err = _hover_run(
            *args, "--duration-s", "1.0", "--report", str(accepted_path), "--accept-zero-crc"
        )
        assert ok.wait(timeout=120) == 0, ok_err.text()
    finally:
        peer.close()
    start = err.wait_for("waiting for robot state")
    line = err.wait_for("no valid robot state")
    assert f"domain {domain}, interface lo" in line and "all refused" in line and "WARNING" in line
    assert "bad CRC (all with crc = 0" in line and "--accept-zero-crc" in line
    assert 1.9 <= _seconds(line) - _seconds(start) <= 2.5
    report = json.loads(refused_path.read_text())
    link = report["link"]
    assert link["accepted"] == 0 and link["refused"]["crc"] == link["received"] > 50
    assert link["zero_crc"] == link["refused"]["crc"]
    assert [t[2] for t in report["transitions"]] == ["damping"]  # never started: no valid state
    accepted = json.loads(accepted_path.read_text())
    assert accepted["link"]["accepted"] > 20 and accepted["link"]["refused"]["crc"] == 0
    assert [t[2] for t in accepted["transitions"]][:1] == ["soft_start"]


# ----- 4. safe stops on every exit path ---------------------------------------------------------------
RUN_ARGS = (
    "--policy",
    "none",
    "--input",
    "idle",
    "--runner.auto-start",
    "--runner.machine.soft-start-s",
    "0.3",
    "--runner.damping-s",
    "0.5",
)


@pytest.mark.parametrize(("sig", "code"), [("SIGTERM", 1), ("SIGHUP", 1), ("SIGINT", 0)])
def test_each_signal_ends_hover_run_in_damping(tmp_path, sig, code):
    domain = next(_DOMAINS)
    sim_path, run_path = tmp_path / "sim.json", tmp_path / "run.json"
    sim = spawn_sim_robot(domain, "lo", ["--report", str(sim_path)], wait=False)
    proc, err = _hover_run("--domain", str(domain), "--report", str(run_path), *RUN_ARGS)
    try:
        wait_sim_robot_ready(sim)
        err.wait_for("SOFT_START -> HOLD")
        time.sleep(0.3)
        proc.send_signal(getattr(signal, sig))
        assert proc.wait(timeout=30) == code, err.text()
    finally:
        if proc.poll() is None:
            proc.kill()
        rep_sim = _sim_report(sim, sim_path)
    rep = json.loads(run_path.read_text())
    assert rep["exit_reason"] == sig and rep["state_before_exit"] == "hold"
    assert rep["damping_published"] >= 0.5 * 200 * 0.8
    _damped(rep_sim, at_least=50)
    assert f"{sig} received" in err.text() and "HOLD -> DAMPING (runner exit: " + sig in err.text()


def test_input_device_loss_ends_in_damping_and_exit_1(tmp_path):
    """The keyboard's stream ends (a closed terminal): damping, report, exit 1."""
    domain = next(_DOMAINS)
    sim_path, run_path = tmp_path / "sim.json", tmp_path / "run.json"
    sim = spawn_sim_robot(domain, "lo", ["--report", str(sim_path)], wait=False)
    proc, err = _hover_run("--domain", str(domain), "--report", str(run_path), "--policy", "none", "--input",
                           "keyboard", "--runner.machine.soft-start-s", "0.3", "--runner.damping-s", "0.5",
                           stdin=subprocess.PIPE)  # fmt: skip
    try:
        wait_sim_robot_ready(sim)
        err.wait_for("PASSIVE (zero torque): press START (keyboard: o)")
        proc.stdin.write("o")
        proc.stdin.flush()
        err.wait_for("SOFT_START -> HOLD")
        proc.stdin.close()
        assert proc.wait(timeout=30) == 1, err.text()
    finally:
        if proc.poll() is None:
            proc.kill()
        rep_sim = _sim_report(sim, sim_path)
    rep = json.loads(run_path.read_text())
    assert rep["exit_reason"] == "input_lost" and "keyboard input ended" in rep["exit_detail"]
    _damped(rep_sim, at_least=50)


def test_state_loss_ends_in_damping_and_exit_1(tmp_path):
    domain = next(_DOMAINS)
    sim_path, run_path = tmp_path / "sim.json", tmp_path / "run.json"
    sim = spawn_sim_robot(domain, "lo", ["--report", str(sim_path), "--events", "silent@1.0"], wait=False)
    proc, err = _hover_run("--domain", str(domain), "--report", str(run_path), *RUN_ARGS)
    try:
        wait_sim_robot_ready(sim)
        assert proc.wait(timeout=60) == 1, err.text()
    finally:
        if proc.poll() is None:
            proc.kill()
        rep_sim = _sim_report(sim, sim_path)
    rep = json.loads(run_path.read_text())
    assert rep["exit_reason"] == "state_lost" and "no valid robot state for" in rep["exit_detail"]
    checks = [e[1] for e in rep["safety_events"]]
    lost = checks.index("state_lost")  # a loaded machine may stall the simulator briefly before: stale, fresh
    assert checks[lost - 1 : lost + 1] == ["state_stale", "state_lost"], checks  # hold first, then stop
    _damped(rep_sim, at_least=50)


class RaisingPolicy:
    """The real small student, raising on its ``fail_at``-th call (a loop error)."""

    def __init__(self, policy, fail_at: int) -> None:
        self.policy, self.fail_at, self.calls = policy, fail_at, 0

    def __getattr__(self, name):
        return getattr(self.policy, name)

    def __call__(self, obs):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("injected inference failure")
        return self.policy(obs)


@pytest.fixture(scope="module")
def small_student(tmp_path_factory):
    from hover.benchmarks.deploy import write_student_onnx

    return write_student_onnx(tmp_path_factory.mktemp("onnx") / "student.onnx", hidden_dims=(64,))


def test_loop_exception_ends_in_damping_and_exit_1(tmp_path, small_student):
    domain = next(_DOMAINS)
    sim_path = tmp_path / "sim.json"
    sim = spawn_sim_robot(domain, "lo", ["--report", str(sim_path)])
    try:
        policy = RaisingPolicy(load_student_policy(str(small_student), ROBOT), fail_at=10)
        cfg = RunnerConfig(
            auto_start=True, stats_every_s=0.0, damping_s=0.5, machine=StateMachineConfig(soft_start_s=0.3)
        )
        out = io.StringIO()
        runner = Runner(
            ROBOT, DdsRobot(ROBOT, domain, "lo"), policy, make_input("idle", ROBOT), cfg, Console(out)
        )
        report = runner.run(5.0)
    finally:
        rep_sim = _sim_report(sim, sim_path)
    assert report["exit_reason"] == "exception" and "injected inference failure" in report["exit_detail"]
    assert "RuntimeError" in report["exit_traceback"] and report["state_before_exit"] == "policy"
    assert exit_code(report) == 1 and "runner error: RuntimeError" in out.getvalue()
    _damped(rep_sim, at_least=50)


# ----- 3. hand-over from hold to policy -----------------------------------------------------------------
class Operator:
    """START at once, POLICY ``delay_s`` after the soft start is done, stop ``policy_s`` later."""

    name = "operator"

    def __init__(self, runner_ref: list, delay_s: float, policy_s: float) -> None:
        self.runner_ref, self.delay_s, self.policy_s = runner_ref, delay_s, policy_s
        self.idle = make_input("idle", ROBOT, command_layout(ROBOT))
        self.started = False
        self.policy_at: float | None = None

    def events(self, view, now):
        sm = self.runner_ref[0].machine
        if not self.started:
            self.started = True
            return [Event.START]
        hold = next((t.time for t in sm.history if t.reason == "soft start done"), None)
        if self.policy_at is None and hold is not None and now - hold >= self.delay_s:
            self.policy_at = now
            return [Event.POLICY]
        if self.policy_at is not None and now - self.policy_at >= self.policy_s:
            self.runner_ref[0].stop()
        return []

    def command(self, view, now):
        return self.idle.command(view, now)

    def close(self):
        pass


@pytest.fixture(scope="module")
def bundled_student(tmp_path_factory):
    from hover.training.export import export_onnx
    from hover.training.policies import load_policy

    return export_onnx(load_policy("builtin:student"), tmp_path_factory.mktemp("bundled") / "student.onnx")


@pytest.mark.parametrize("delay_s", [0.2, 1.5, 4.0])
def test_hand_over_from_hold_to_policy_never_drops_the_robot(tmp_path, bundled_student, delay_s):
    """sim-robot's default band holds the H1 while it is soft-started, held for ``delay_s`` (PD alone
    tips it over in ~1.5 s without the band) and handed to the bundled student for 1 s."""
    domain = next(_DOMAINS)
    sim_path = tmp_path / "sim.json"
    sim = spawn_sim_robot(domain, "lo", ["--report", str(sim_path)])
    try:
        ref: list = []
        source = Operator(ref, delay_s, policy_s=1.0)
        cfg = RunnerConfig(stats_every_s=0.0, damping_s=0.1, machine=StateMachineConfig(soft_start_s=1.0))
        runner = Runner(
            ROBOT,
            DdsRobot(ROBOT, domain, "lo"),
            load_student_policy(str(bundled_student), ROBOT),
            source,
            cfg,
            Console(io.StringIO()),
        )
        ref.append(runner)
        report = runner.run(20.0)
    finally:
        rep_sim = _sim_report(sim, sim_path)
    states = [t[2] for t in report["transitions"]]
    assert states == ["soft_start", "hold", "policy", "damping"], report["transitions"]
    hold_s = report["transitions"][2][0] - report["transitions"][1][0]
    assert hold_s == pytest.approx(delay_s, abs=0.1)
    trace = np.array(rep_sim["pelvis_trace"])
    before_damping = trace[trace[:, 0] < rep_sim["first_damping_time"]]
    # simulated time (the robot's tick, ms) of the policy's ticks: the simulator may run slower than the
    # wall clock on a loaded machine, so the trace is checked against the ticks the policy actually saw
    policy_ms = [r.robot_tick for r in runner.trace if r.state == "policy" and r.robot_tick is not None]
    assert (policy_ms[-1] - policy_ms[0]) / 1e3 > 0.6, policy_ms  # of the 1 s in policy
    assert before_damping[-1, 0] >= policy_ms[-1] / 1e3 - 0.03  # the trace covers soft start, hold and policy
    assert before_damping[:, 1].min() > 0.9, f"pelvis dropped to {before_damping[:, 1].min():.2f} m"
    assert before_damping[:, 2].max() < -0.9  # upright (tilt < 25 deg) throughout
    assert rep_sim["band_released_at"] is None


# ----- the README's robot recipe, exactly as written -------------------------------------------------------
def readme_robot_recipe() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"On the robot.*?```bash\n(.*?)```", text, re.S).group(1)
    return [ln for ln in block.splitlines() if ln.strip()]


def _hover_run_pid(shell_pid: int) -> int:
    """The ``hover run`` of the recipe: the shell itself (bash execs its last command) or its child."""
    if b"run" in Path(f"/proc/{shell_pid}/cmdline").read_bytes().split(b"\0"):
        return shell_pid
    out = subprocess.run(["pgrep", "-P", str(shell_pid), "-f", "hover run"], capture_output=True, text=True)
    return int(out.stdout.split()[0])


def test_readme_robot_recipe_goes_through_soft_start_into_policy(tmp_path):
    lines = readme_robot_recipe()
    assert any(ln.startswith("hover sim-robot") and "&" in ln for ln in lines) and lines[-1].startswith(
        "hover run"
    )
    script = "set -e\n" + "\n".join(lines) + "\n"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = Lines(proc.stdout), Lines(proc.stderr)
    sim_pid = None
    try:
        sim_pid = int(
            re.search(r"kill -USR1 (\d+)", out.wait_for("elastic band holds the pelvis", 180)).group(1)
        )
        err.wait_for("PASSIVE (zero torque): press START (keyboard: o)", 120)
        proc.stdin.write("o")
        proc.stdin.flush()
        err.wait_for("SOFT_START -> HOLD")
        err.wait_for("HOLD: press POLICY (keyboard: p)")
        proc.stdin.write("p")
        proc.stdin.flush()
        err.wait_for("HOLD -> POLICY")
        time.sleep(1.0)
        os.kill(_hover_run_pid(proc.pid), signal.SIGINT)  # Ctrl-C: the normal stop
        assert proc.wait(timeout=60) == 0, err.text()
    finally:
        if proc.poll() is None:
            proc.kill()
        if sim_pid is not None:
            os.kill(sim_pid, signal.SIGTERM)
    text = err.text()
    for step in (
        "PASSIVE -> SOFT_START",
        "SOFT_START -> HOLD",
        "HOLD -> POLICY",
        "POLICY -> DAMPING (runner exit: SIGINT",
    ):
        assert step in text, text
    assert "exit code 0" in text


def test_button_map_is_the_same_in_help_readme_and_inputs_show(capsys):
    from hover.cli import main
    from hover.deploy.inputs.buttons import button_map, button_map_markdown, button_map_text

    assert button_map_markdown() in (REPO / "README.md").read_text()
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    help_text = capsys.readouterr().out
    for event, pad, key, _ in button_map():
        assert re.search(rf"{event}\s+{re.escape(pad)}\s+{re.escape(key)}", help_text), (
            event,
            help_text[-3000:],
        )
    assert main(["inputs", "show", "--input", "idle", "--seconds", "0.1"]) == 0
    assert button_map_text() in capsys.readouterr().out
