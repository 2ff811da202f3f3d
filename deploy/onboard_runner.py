"""The onboard runner: a 50 Hz student-policy loop, a 500 Hz command publisher, states and safety.

Per policy tick (:meth:`Runner.tick`), stages timed for the latency statistics:

1. ``read_state``: newest LowState_ (``DdsRobot.read``), operator events from the input source;
   safety: state finite, state not stale (tick advancing), not fallen;
2. ``build_obs``: the input's :class:`CommandSample` (finite, not stale), proprioception and the
   student observation (``hover.student.StudentObservation``; history reset on entering POLICY);
3. ``inference``: ONNX Runtime (one thread), action finite;
4. ``publish``: the state machine's joint command (targets clipped to the joint limits, never
   non-finite) written once and handed to the publishing thread, which re-sends the newest one at
   ``publish_hz`` so the robot's motor driver never starves between policy ticks.

Operator (:mod:`hover.deploy.operator`): every transition, safety warning and hint ("PASSIVE: press
START ...") is printed at once with the wall-clock time; when no valid robot state arrives for 2 s the
runner says why (nothing received, or refused: CRC, stale tick, non-finite) naming domain and interface.

Exits (:meth:`Runner.request_stop`): the duration, Ctrl-C (SIGINT) or :meth:`stop` are normal stops;
SIGTERM, SIGHUP, an exception in the loop, the input device lost and the robot state lost for
``safety.state_lost_s`` while active are not. Every exit publishes damping (kp = 0, kd =
``damping_kd``) for ``damping_s`` seconds, then the report is made; :func:`exit_code` is 0 for a normal
stop after valid state, 1 otherwise.

Timing: absolute deadlines ``t0 + k * period`` (a late tick does not shift the next one; missed
ticks are skipped and counted as overruns), sleep until ~0.3 ms before the deadline then a short spin.
Per-stage p50/p99 latencies are logged every ``stats_every_s`` and on exit (:mod:`hover.deploy.loop_timing`).

The runner drives only *student* models (:func:`hover.deploy.policy.load_student_policy`): a teacher
needs privileged simulator state that a robot does not have and is refused. ``policy="none"`` runs
the state machine without a policy (passive, soft start, hold, damping).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hover.deploy.console import Console
from hover.deploy.loop_timing import LatencyStats, set_realtime_priority, sleep_until
from hover.deploy.operator import OperatorWatch, exit_code, exit_summary  # noqa: F401 - exit_code for callers
from hover.deploy.policy import load_student_policy  # noqa: F401 - for callers
from hover.deploy.safety import (
    SafetyConfig,
    SafetyEvent,
    check_action_finite,
    check_command_finite,
    check_fall,
    check_input_stale,
    check_state_finite,
    check_state_stale,
    clip_targets,
    projected_gravity_np,
)
from hover.deploy.state_machine import MotorTargets, State, StateMachine, StateMachineConfig
from hover.robots import RobotSpec

logger = logging.getLogger("hover.deploy.onboard_runner")
NORMAL_EXITS = ("duration", "SIGINT", "stop")


@dataclass(frozen=True)
class TickRecord:
    """One policy tick, for reports and tests: when, the state after it, the robot tick read, state finite."""

    time: float
    state: str
    robot_tick: int | None
    state_finite: bool
    max_kp: float


@dataclass
class RunnerConfig:
    """Runner behaviour: loop and publisher rates, real-time priority, operator states, safety."""

    rate_hz: float | None = None
    """policy rate (Hz); None = 1 / the model's control_dt (50 Hz), or 50 without a policy"""
    publish_hz: float = 200.0
    """rate of the thread re-sending the newest joint command (Hz; 0 = no thread; HOVER uses 200)"""
    rt_priority: int = 0
    """SCHED_FIFO priority (1-99) of the policy loop and the publisher threads; 0 = normal scheduling"""
    stats_every_s: float = 10.0
    """log the latency table this often (s; 0 = only on exit)"""
    auto_start: bool = False
    """simulation only: START as soon as the robot state arrives, POLICY once the soft start is done"""
    damping_s: float = 2.0
    """on every exit (duration, Ctrl-C, SIGTERM, SIGHUP, error, lost input or state): publish damping
    (kp = 0, kd = machine.damping-kd) for this long (s) before the runner exits"""
    machine: StateMachineConfig = field(default_factory=StateMachineConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)


class Runner:
    """Policy loop + publisher over a robot interface (``read() -> RobotReading | None``, ``write(MotorTargets)``).

    ``policy``: an OnnxPolicy of a student (from :func:`load_student_policy`) or None;
    ``source``: an ``InputSource`` (``hover.deploy.inputs``) or None (no operator events/commands).
    """

    def __init__(
        self,
        robot: RobotSpec,
        io: Any,
        policy: Any = None,
        source: Any = None,
        config: RunnerConfig | None = None,
        console: Console | None = None,
    ) -> None:
        self.robot, self.io, self.policy, self.source = robot, io, policy, source
        self.cfg = config or RunnerConfig()
        if self.cfg.damping_s < 0:
            raise ValueError(f"--runner.damping-s must be >= 0, got {self.cfg.damping_s}")
        self.console = console or Console()
        self.watch = OperatorWatch(self.console, io, source, policy is not None, self.cfg.auto_start)
        self.exit_reason: str | None = None
        self.exit_detail = ""
        self.exit_traceback: str | None = None
        self.damping_published = 0
        joints = robot.joints
        if policy is not None:
            default, kp, kd = policy.default_joint_pos, policy.kp, policy.kd
        else:
            default = np.array([j.default_pos for j in joints])
            kp, kd = np.array([j.kp for j in joints]), np.array([j.kd for j in joints])
        self.lower = np.array([j.range[0] for j in joints])
        self.upper = np.array([j.range[1] for j in joints])
        self.default_q = np.asarray(default, dtype=np.float64)
        self.machine = StateMachine(self.default_q, kp, kd, self.cfg.machine)
        rate = self.cfg.rate_hz or (1.0 / policy.control_dt if policy is not None else 50.0)
        self.period = 1.0 / rate
        self.stats = LatencyStats()
        self.events: list[SafetyEvent] = []
        self.latest: MotorTargets | None = None
        self.last_safe_q = self.default_q.copy()
        self.ticks = 0
        self.overruns = 0
        self.period_errors: list[float] = []
        self.publish_count = 0
        self.publish_errors = 0
        self._obs = None
        self._fresh_policy = True
        self._stop = threading.Event()
        self._last_command = None
        self._last_sample: Any = None  # newest good input sample (kept for on_stale_input = last_command)
        self._seen: dict[str, float] = {}
        self.trace: deque[TickRecord] = deque(maxlen=100_000)
        self.state_before_exit: str | None = None
        if policy is not None:
            import torch

            from hover.student import StudentObservation

            self._torch = torch
            self._obs = StudentObservation(1, policy.student_layout)
            self._default_t = torch.as_tensor(self.default_q, dtype=torch.float32)[None]

    # ----- safety bookkeeping ----------------------------------------------------------------------
    def _fault(self, now: float, check: str, reason: str, action: str) -> None:
        self._record(SafetyEvent(now, check, reason, action))
        if action == "damping":
            self.machine.stop(now, f"{check}: {reason}")
        else:
            self.machine.hold(now, self.last_safe_q, f"{check}: {reason}")

    def _record(self, ev: SafetyEvent) -> None:
        """Print (at once) and keep ``ev`` unless the same check also failed on the previous tick (no flood)."""
        last = self._seen.get(ev.check)
        self._seen[ev.check] = ev.time
        if last is None or ev.time - last > 1.5 * self.period:
            self.console.warn(f"safety {ev.check}: {ev.reason} -> {ev.action}")
            self.events.append(ev)

    def request_stop(self, reason: str, detail: str = "") -> None:
        """End the loop at the next tick (thread- and signal-safe); the first reason given is kept.

        ``reason``: duration, SIGINT, stop (normal) or SIGTERM, SIGHUP, exception, input_lost, state_lost.
        """
        if self.exit_reason is None:
            self.exit_reason, self.exit_detail = reason, detail
        self._stop.set()

    @property
    def active(self) -> bool:
        return self.machine.state in (State.SOFT_START, State.HOLD, State.POLICY)

    # ----- one tick ----------------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> MotorTargets:
        """One policy step at ``now`` (time.monotonic() s): read, check, decide, infer, publish."""
        from hover.deploy.inputs.base import Event, RobotView

        t0 = time.monotonic()
        now = t0 if now is None else now
        sc, sm = self.cfg.safety, self.machine
        reading = self.io.read()
        view = None
        if reading is not None:
            v = reading.view
            view = RobotView(v.joint_pos, v.joint_vel, v.pelvis_quat, v.pelvis_ang_vel, reading.remote_bytes)
        if self.active:
            if view is not None and (
                reason := check_state_finite(
                    view.joint_pos, view.joint_vel, view.root_quat, view.base_ang_vel
                )
            ):
                self._fault(now, "state_finite", reason, "damping")
            elif reason := check_state_stale(
                None if reading is None else reading.tick_advanced, now, sc.state_timeout_s
            ):
                self._fault(now, "state_stale", reason, sc.on_stale_state)
        state_ok = (
            view is not None
            and getattr(reading, "finite", True)
            and check_state_finite(view.joint_pos, view.joint_vel, view.root_quat, view.base_ang_vel) is None
        )
        events: list = []
        if self.source is not None and view is not None:  # also with a bad state: STOP must always work
            try:
                events = list(self.source.events(view, now))
            except Exception as e:  # noqa: BLE001 - an input device error must not kill the loop
                self._fault(now, "input_error", f"{self.source.name}.events raised {e!r}", sc.on_stale_input)
        if self.cfg.auto_start and state_ok:
            if sm.state is State.PASSIVE:
                events.append(Event.START)
            elif sm.state is State.HOLD and sm.history[-1].reason == "soft start done":
                events.append(Event.POLICY)  # not after a safety hold: that needs the operator
        for ev in events:
            if ev == Event.STOP:
                sm.stop(now, "stop event")
            elif ev == Event.START and state_ok and view is not None:
                sm.start(now, view.joint_pos)
            elif ev == Event.POLICY and self.policy is not None:
                if sm.enter_policy(now):
                    self._fresh_policy = True
            elif ev == Event.NEXT_MODE and hasattr(self.source, "next_mode"):
                self.source.next_mode()
        if (
            self.active
            and state_ok
            and view is not None
            and (reason := check_fall(projected_gravity_np(view.root_quat), sc.fall_gravity_z))
        ):
            self._fault(now, "fall", reason, "damping")
        if self.active and (lost := self.watch.state_lost_for(now)) > sc.state_lost_s:
            reason = f"no valid robot state for {lost:.1f} s ({self._where()})"
            self._fault(now, "state_lost", reason, "damping")
            self.request_stop("state_lost", reason)
        if (gone := self.watch.input_lost()) is not None:
            self._fault(now, "input_lost", gone, "damping")
            self.request_stop("input_lost", gone)
        sm.update(now)
        self.watch.update(now, sm, state_ok)
        t1 = time.monotonic()
        self.stats.record("read_state", t1 - t0)

        policy_q = None
        if sm.state is State.POLICY:
            policy_q = self._policy_step(now, view, t1)
        targets = sm.targets(now, policy_q)
        t3 = time.monotonic()
        q, reason = clip_targets(targets.q, self.lower, self.upper, sc.clip_margin)
        if reason is not None and targets.kp.any():
            self._record(SafetyEvent(now, "target_limits", reason, "clip"))
        targets = MotorTargets(q, targets.dq, targets.kp, targets.kd, targets.tau)
        if not targets.is_finite():  # cannot happen by construction; never publish it anyway
            self._fault(now, "target_finite", "non-finite joint command", "damping")
            targets = sm.targets(now)
        if sm.state in (State.SOFT_START, State.HOLD, State.POLICY):
            self.last_safe_q = targets.q.copy()
        self.latest = targets
        self.trace.append(
            TickRecord(
                now,
                sm.state.value,
                None if reading is None else reading.view.tick,
                state_ok,
                float(np.max(np.abs(targets.kp))),
            )
        )
        self._write(targets)
        self.stats.record("publish", time.monotonic() - t3)
        self.ticks += 1
        return targets

    def _policy_step(self, now: float, view: Any, t1: float) -> np.ndarray | None:
        """build_obs + inference in POLICY; None (and a fault) when the command or action is bad."""
        sc = self.cfg.safety
        sample = None
        if self.source is not None:
            try:
                sample = self.source.command(view, now)
            except Exception as e:  # noqa: BLE001
                self._fault(now, "input_error", f"{self.source.name}.command raised {e!r}", sc.on_stale_input)
                return None
        if sample is not None and (reason := check_command_finite(sample.command, sample.mask)):
            self._fault(now, "command_finite", reason, "damping")
            return None
        if reason := check_input_stale(None if sample is None else sample.stamp, now, sc.input_timeout_s):
            last = self._last_sample
            if sc.on_stale_input != "last_command" or last is None or now - last.stamp > sc.input_lost_s:
                action = "hold" if sc.on_stale_input == "last_command" else sc.on_stale_input
                self._fault(now, "input_stale", reason, action)
                return None
            self._record(SafetyEvent(now, "input_stale", reason, "last_command"))
            sample = last
        else:
            self._last_sample = sample
        assert (
            sample is not None and self._obs is not None and self.policy is not None
        )  # checked above; POLICY has a policy
        torch = self._torch
        from hover.rotations import projected_gravity
        from hover.student import proprioception

        quat = torch.as_tensor(np.asarray(view.root_quat, dtype=np.float32))[None]
        proprio = proprioception(
            torch.as_tensor(np.asarray(view.joint_pos, dtype=np.float32))[None],
            torch.as_tensor(np.asarray(view.joint_vel, dtype=np.float32))[None],
            self._default_t,
            torch.as_tensor(np.asarray(view.base_ang_vel, dtype=np.float32))[None],
            projected_gravity(quat),
        )
        if self._fresh_policy:
            self._obs.reset(None, proprio)
            self._fresh_policy = False
        cmd = torch.as_tensor(np.asarray(sample.command, dtype=np.float32))[None]
        mask = torch.as_tensor(np.asarray(sample.mask, dtype=np.float32))[None]
        obs = self._obs.compute(proprio, cmd, mask).numpy()
        t2 = time.monotonic()
        self.stats.record("build_obs", t2 - t1)
        action = self.policy(obs[0])
        self.stats.record("inference", time.monotonic() - t2)
        if reason := check_action_finite(action):
            self._fault(now, "action_finite", reason, "damping")
            return None
        self._obs.record(proprio, torch.as_tensor(action, dtype=torch.float32)[None])
        self._last_command = sample
        return self.policy.joint_targets(action)

    def _write(self, targets: MotorTargets) -> None:
        try:
            self.io.write(targets)
            self.publish_count += 1
        except ValueError as e:  # the encoder refuses non-finite values
            self.publish_errors += 1
            logger.error("publish refused: %s", e)

    # ----- loops ---------------------------------------------------------------------------------------
    def _publisher(self, hz: float) -> None:
        set_realtime_priority(self.cfg.rt_priority)
        period, t0, k = 1.0 / hz, time.monotonic(), 1
        while not self._stop.is_set():
            sleep_until(t0 + k * period, spin_s=0.0)
            k += 1
            if (late := time.monotonic() - (t0 + k * period)) > 0:
                k += math.ceil(late / period)
            targets = self.latest
            if targets is not None:
                self._write(targets)

    def _where(self) -> str:
        return self.io.describe() if hasattr(self.io, "describe") else "robot interface"

    def run(self, duration_s: float = 0.0) -> dict:
        """Run until ``duration_s`` wall seconds (0 = until Ctrl-C, a signal handler's or a safety
        :meth:`request_stop`, or :meth:`stop`); always ends in damping for ``damping_s``. Returns the report."""
        pub = None
        set_realtime_priority(self.cfg.rt_priority)
        if self.cfg.publish_hz > 0:
            pub = threading.Thread(
                target=self._publisher, args=(self.cfg.publish_hz,), daemon=True, name="hover-publisher"
            )
            pub.start()
        t_start = time.monotonic()
        self.watch.start(t_start)
        next_stats = t_start + self.cfg.stats_every_s if self.cfg.stats_every_s > 0 else math.inf
        k, prev = 0, None
        try:
            while not self._stop.is_set():
                deadline = t_start + k * self.period
                if duration_s > 0 and deadline - t_start >= duration_s:
                    self.request_stop("duration", f"{duration_s:g} s")
                    break
                wake = sleep_until(deadline)
                if prev is not None:
                    self.period_errors.append(wake - prev - self.period)
                prev = wake
                self.tick(wake)
                k += 1
                behind = time.monotonic() - (t_start + k * self.period)
                if behind > 0:  # the tick overran its slot: skip the missed deadlines
                    skipped = math.ceil(behind / self.period)
                    self.overruns += 1
                    k += skipped
                    prev = None
                if time.monotonic() >= next_stats:
                    logger.info(self.stats.format())
                    if (link := self._link_report()) is not None:  # the state counts, live
                        refused = ", ".join(f"{k} {v}" for k, v in link["refused"].items() if v) or "none"
                        self.console.say(
                            f"robot state: {link['received']} received, {link['accepted']} "
                            f"accepted, refused: {refused} ({link['where']})"
                        )
                    next_stats += self.cfg.stats_every_s
        except KeyboardInterrupt:
            self.request_stop("SIGINT", "Ctrl-C")
        except Exception as e:  # noqa: BLE001 - any loop error: damping, report, non-zero exit
            self.exit_traceback = traceback.format_exc()
            self.console.warn(f"runner error: {type(e).__name__}: {e}")
            self.request_stop("exception", f"{type(e).__name__}: {e}")
        finally:
            self.request_stop("stop")  # no-op when a reason is already set
            if pub is not None:
                pub.join(timeout=1.0)
            self.shutdown()
            if self.cfg.rt_priority > 0:
                with contextlib.suppress(AttributeError, OSError):  # back to normal scheduling where allowed
                    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        report = self.report()
        self.console.say(self.stats.format())
        self.console.say(exit_summary(report))
        return report

    def stop(self) -> None:
        self.request_stop("stop")

    def shutdown(self) -> None:
        """Put the robot in damping (from any state) and publish that for ``damping_s``; close the input."""
        now = time.monotonic()
        self.state_before_exit = self.machine.state.value
        reason = self.exit_reason or "stop"
        self.machine.stop(now, f"runner exit: {reason}{': ' + self.exit_detail if self.exit_detail else ''}")
        self.watch.update(now, self.machine, False)
        final = self.machine.targets(now)
        self.latest = final
        hz = max(self.cfg.publish_hz, 1.0 / self.period)
        self.console.say(
            f"publishing damping (kp = 0, kd = {self.cfg.machine.damping_kd:g}) for "
            f"{self.cfg.damping_s:g} s at {hz:.0f} Hz before exiting"
        )
        t0, k = time.monotonic(), 0
        while True:
            self._write(final)
            self.damping_published += 1
            k += 1
            if k >= 3 and time.monotonic() - t0 >= self.cfg.damping_s:
                break
            sleep_until(t0 + k / hz, spin_s=0.0)
        if self.source is not None:
            try:
                self.source.close()
            except Exception as e:  # noqa: BLE001
                self.console.warn(f"closing the input source: {e}")

    def report(self) -> dict:
        err = np.abs(np.asarray(self.period_errors)) * 1e3 if self.period_errors else np.zeros(1)
        return {
            "ticks": self.ticks, "overruns": self.overruns, "period_ms": self.period * 1e3,
            "period_error_p50_ms": float(np.percentile(err, 50)), "period_error_p99_ms": float(np.percentile(err, 99)),
            "period_error_max_ms": float(err.max()), "published": self.publish_count,
            "publish_errors": self.publish_errors, "state": self.machine.state.value,
            "state_before_exit": self.state_before_exit,
            "transitions": [(round(t.time, 4), t.src.value, t.dst.value, t.reason) for t in self.machine.history],
            "safety_events": [(round(e.time, 4), e.check, e.reason, e.action) for e in self.events],
            "latency": self.stats.summary(),
            "link": self._link_report(), "exit_reason": self.exit_reason, "exit_detail": self.exit_detail,
            "normal_exit": self.exit_reason in NORMAL_EXITS, "exit_traceback": self.exit_traceback,
            "damping_s": self.cfg.damping_s, "damping_published": self.damping_published,
            "operator": list(self.console.lines),
        }  # fmt: skip

    def _link_report(self) -> dict | None:
        counts = getattr(self.io, "counts", None)
        if counts is None:
            return None
        return {**counts.to_dict(), "where": self._where()}
