"""``hover sim2sim --joystick random|idle``: the student under joystick commands, as ``hover run`` drives it.

Each seed draws a *schedule*: segments of forward velocity ``vx``, sideways velocity ``vy`` (m/s,
heading frame: x forward, y left), yaw rate (rad/s, + = turn left) and pelvis height (m), each held
for a random duration (uniform in ``hold_s``). Values are uniform within the ranges of the gamepad
source of ``hover run --input joystick`` (:class:`hover.deploy.inputs.gamepad.GamepadConfig`, the one
source of truth: ``[-max_lin_vel_x_back, max_lin_vel_x]``, ``[-max_lin_vel_y, max_lin_vel_y]``,
``[-max_yaw_rate, max_yaw_rate]``, ``[min_height, max_height]``); with probability ``zero_prob`` a
value is instead at rest (stick released: 0, or the default height). Same seed, same schedule.

The schedule is played as *stick and d-pad positions* into the runner's own
:class:`~hover.deploy.inputs.gamepad.GamepadCommander` (dead zone, heading integration with its wind-up
limit, height by d-pad at ``height_rate``), which builds the locomotion command with
``hover.commands.command_from_joystick``; the onboard runner (:mod:`hover.evaluation.sim2sim_runner`)
runs the student on it in the sim2sim physics for ``seconds``. ``idle``: one segment at rest (sticks
released, default height) = stand still.

Per seed: ``fell`` (pelvis below 0.4 m or tilted more than 60 degrees), ``fall_time_s``, and over the
policy ticks up to the fall (transients after each change included): ``vel_err_m_s`` = mean
|commanded - achieved| horizontal velocity (heading frame), ``yaw_rate_err_rad_s`` = mean |commanded
stick yaw rate - measured yaw rate about world z|, ``height_err_m`` = mean |commanded height - pelvis
height|; the runner's transitions and safety events. ``fall_rate`` = fraction of seeds that fell.
"""

from __future__ import annotations

import bisect
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from hover.commands.layout import ROOT_NAMES, CommandLayout, command_layout
from hover.deploy.inputs.base import CommandSample, Event, RobotView
from hover.deploy.inputs.common import default_height
from hover.deploy.inputs.gamepad import GamepadCommander, GamepadConfig, PadState
from hover.evaluation.sim2sim_physics import MujocoRobot, PhysicsConfig
from hover.robots import RobotSpec

KINDS = ("random", "idle")


@dataclass(frozen=True)
class Segment:
    """One held joystick command: from ``start_s`` for ``duration_s`` (s)."""

    start_s: float
    duration_s: float
    vx: float  # m/s forward (heading frame)
    vy: float  # m/s left
    yaw_rate: float  # rad/s, + = counter-clockwise seen from above
    height: float  # m, pelvis height


def command_ranges(gamepad: GamepadConfig) -> dict[str, tuple[float, float]]:
    """(low, high) of each schedule value, from the gamepad source's limits."""
    return {
        "vx": (-gamepad.max_lin_vel_x_back, gamepad.max_lin_vel_x),
        "vy": (-gamepad.max_lin_vel_y, gamepad.max_lin_vel_y),
        "yaw_rate": (-gamepad.max_yaw_rate, gamepad.max_yaw_rate),
        "height": (gamepad.min_height, gamepad.max_height),
    }


def random_schedule(
    seed: int,
    seconds: float,
    gamepad: GamepadConfig,
    rest_height: float,
    hold_s: tuple[float, float] = (1.0, 4.0),
    zero_prob: float = 0.25,
) -> list[Segment]:
    """Segments covering ``[0, seconds)``, deterministic per ``seed`` (see the module docstring);
    ``rest_height``: the height of a released d-pad (the source's default height, m)."""
    lo_h, hi_h = hold_s
    if not 0 < lo_h <= hi_h:
        raise ValueError(f"--joystick-hold-s must be 0 < MIN <= MAX, got {hold_s}")
    if not 0.0 <= zero_prob <= 1.0:
        raise ValueError(f"--joystick-zero-prob must lie in [0, 1], got {zero_prob}")
    rng = np.random.default_rng(seed)
    ranges = command_ranges(gamepad)
    rest = {"vx": 0.0, "vy": 0.0, "yaw_rate": 0.0, "height": rest_height}
    out: list[Segment] = []
    t = 0.0
    while t < seconds - 1e-9:
        duration = min(float(rng.uniform(lo_h, hi_h)), seconds - t)
        values = {}
        for key, (lo, hi) in ranges.items():
            drawn, at_rest = float(rng.uniform(lo, hi)), bool(rng.random() < zero_prob)
            values[key] = rest[key] if at_rest else drawn
        out.append(Segment(t, duration, **values))
        t += duration
    return out


def idle_schedule(seconds: float, rest_height: float) -> list[Segment]:
    """The joystick at rest for ``seconds``: zero velocity and yaw rate, the default height."""
    return [Segment(0.0, seconds, 0.0, 0.0, 0.0, rest_height)]


def stick(value: float, max_pos: float, max_neg: float, zone: float) -> float:
    """The stick deflection in [-1, 1] that the gamepad's dead zone and limits turn into ``value``."""
    if value == 0.0:
        return 0.0
    limit = max_pos if value > 0 else max_neg
    frac = min(abs(value) / limit, 1.0) if limit > 0 else 0.0
    return math.copysign(zone + frac * (1.0 - zone), value)


class ScriptedGamepad:
    """An input source playing a schedule through the gamepad commander of ``hover run``.

    Each tick the segment at ``now`` becomes a :class:`PadState`: left stick for ``vx``/``vy``, right
    stick x for the yaw rate (mapped back through the commander's dead zone and limits), d-pad up/down
    held while the commanded height is more than half a d-pad step from the segment's height.
    """

    name = "joystick"

    def __init__(
        self,
        robot: RobotSpec,
        layout: CommandLayout,
        schedule: list[Segment],
        control_dt: float,
        gamepad: GamepadConfig | None = None,
    ) -> None:
        self.config = gamepad or GamepadConfig()
        self.commander = GamepadCommander(robot, layout, self.config)
        self.schedule = schedule
        self._starts = [s.start_s for s in schedule]
        self._half_step = 0.5 * self.config.height_rate * control_dt
        root = layout.root_columns.start
        self.columns = {n: root + ROOT_NAMES.index(n) for n in ("lin_vel_x", "lin_vel_y", "height")}
        self.height = default_height(robot, self.config.height)  # the commanded height so far (m)
        self.last: CommandSample | None = None
        self._polled: float | None = None

    def segment(self, t: float) -> Segment:
        return self.schedule[max(bisect.bisect_right(self._starts, t + 1e-9) - 1, 0)]

    def pad(self, t: float) -> PadState:
        c, seg = self.config, self.segment(t)
        zone = c.dead_zone
        buttons: set[str] = set()
        if seg.height - self.height > self._half_step:
            buttons.add(c.mapping.height_up[0])
        elif self.height - seg.height > self._half_step:
            buttons.add(c.mapping.height_down[0])
        return PadState(
            lx=-stick(seg.vy, c.max_lin_vel_y, c.max_lin_vel_y, zone),
            ly=stick(seg.vx, c.max_lin_vel_x, c.max_lin_vel_x_back, zone),
            rx=-stick(seg.yaw_rate, c.max_yaw_rate, c.max_yaw_rate, zone),
            buttons=frozenset(buttons),
        )

    def _poll(self, now: float) -> None:
        if self._polled != now:
            self._polled = now
            self.commander.update(self.pad(now), now)

    def events(self, view: RobotView, now: float) -> list[Event]:
        self._poll(now)
        return self.commander.events()

    def command(self, view: RobotView, now: float) -> CommandSample | None:
        self._poll(now)
        sample = self.commander.command(view, now)
        if sample is not None:
            self.height = float(sample.command[self.columns["height"]])
            self.last = sample
        return sample

    def reset(self) -> None:
        self.commander.reset()

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class SeedJob:
    """Seeds played in one process (one MuJoCo model, seeds one after another)."""

    policy_path: str
    physics: PhysicsConfig
    seconds: float
    seeds: list[int]
    schedules: list[list[Segment]]
    gamepad: GamepadConfig = field(default_factory=GamepadConfig)


def run_seed(policy: Any, sim: MujocoRobot, schedule: list[Segment], job: SeedJob) -> dict[str, Any]:
    """One seed: the robot standing in the default pose, the runner in POLICY at t = 0, ``job.seconds``."""
    from hover.evaluation.sim2sim_runner import RunnerSim, standing_qpos
    from hover.rotations import heading_quat_inverse, quat_rotate

    robot = policy.robot
    source = ScriptedGamepad(robot, command_layout(robot), schedule, policy.control_dt, job.gamepad)
    rs = RunnerSim(policy, sim, source, job.physics)
    rs.place(standing_qpos(robot))
    rs.start()
    steps = int(round(job.seconds / rs.dt))
    cmd, quat, vel, ang, z = [], [], [], [], []
    while rs.k < steps and not rs.done:
        t = rs.t
        rs.step()
        s = sim.state(0)
        if rs.in_policy and source.last is not None and not rs.diverged:
            c = source.last.command
            col = source.columns
            cmd.append(
                (c[col["lin_vel_x"]], c[col["lin_vel_y"]], source.segment(t).yaw_rate, c[col["height"]])
            )
            quat.append(s["root_quat"])
            vel.append(s["root_lin_vel"])
            ang.append(s["base_ang_vel"])
            z.append(s["root_pos"][2])
    errors: dict[str, float | None] = {"vel_err_m_s": None, "yaw_rate_err_rad_s": None, "height_err_m": None}
    if cmd:
        want = torch.as_tensor(np.array(cmd), dtype=torch.float64)
        q = torch.as_tensor(np.array(quat), dtype=torch.float64)
        v_heading = quat_rotate(heading_quat_inverse(q), torch.as_tensor(np.array(vel)))
        yaw_rate = quat_rotate(q, torch.as_tensor(np.array(ang)))[:, 2]
        errors = {
            "vel_err_m_s": float((want[:, :2] - v_heading[:, :2]).norm(dim=-1).mean()),
            "yaw_rate_err_rad_s": float((want[:, 2] - yaw_rate).abs().mean()),
            "height_err_m": float((want[:, 3] - torch.as_tensor(np.array(z))).abs().mean()),
        }
    return {
        "fell": rs.fell_at is not None,
        "fall_time_s": rs.fell_at,
        "diverged": rs.diverged,
        "simulated_s": rs.t,
        "policy_ticks": len(cmd),
        **errors,
        "runner_state": rs.state,
        "transitions": rs.transitions(),
        "safety_events": rs.safety_events(),
    }


def run_seed_job(job: SeedJob) -> list[dict[str, Any]]:
    """Entry point of a worker process: every seed of ``job``, in order."""
    from hover.evaluation.sim2sim_runner import load_policy_for_runner

    torch.set_num_threads(1)
    policy = load_policy_for_runner(job.policy_path)
    sim = MujocoRobot(
        policy.robot, policy.joint_names, policy.kp, policy.kd, policy.effort_limit, job.physics
    )
    out = []
    for seed, schedule in zip(job.seeds, job.schedules, strict=True):
        start = time.perf_counter()
        result = run_seed(policy, sim, schedule, job)
        out.append({"seed": seed, **result, "wall_s": time.perf_counter() - start})
    return out


def run_joystick_check(
    policy_path: str,
    kind: str,
    seconds: float,
    seeds: int,
    physics: PhysicsConfig,
    workers: int = 2,
    hold_s: tuple[float, float] = (1.0, 4.0),
    zero_prob: float = 0.25,
    max_fall_rate: float = 0.05,
) -> dict[str, Any]:
    """Play ``seeds`` schedules (``kind`` random; ``idle``: one) for ``seconds`` each; the report."""
    from hover.deploy.policy import OnnxPolicy
    from hover.evaluation.sim2sim_runner import load_policy_for_runner

    if kind not in KINDS:
        raise ValueError(f"--joystick {kind!r}: choose one of {', '.join(KINDS)}")
    if not seconds > 0:
        raise ValueError(f"--seconds must be > 0 for --joystick, got {seconds}")
    if seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {seeds}")
    policy = load_policy_for_runner(policy_path)  # a bad model fails here, before any process starts
    assert isinstance(policy, OnnxPolicy)
    gamepad = GamepadConfig()
    rest = default_height(policy.robot, gamepad.height)
    seed_list = list(range(seeds)) if kind == "random" else [0]
    schedules = [
        random_schedule(s, seconds, gamepad, rest, hold_s, zero_prob)
        if kind == "random"
        else idle_schedule(seconds, rest)
        for s in seed_list
    ]
    n_jobs = max(1, min(workers, len(seed_list)))
    jobs = [
        SeedJob(policy_path, physics, seconds, seed_list[w::n_jobs], schedules[w::n_jobs], gamepad)
        for w in range(n_jobs)
    ]
    from hover.evaluation.sim2sim import map_processes

    start = time.perf_counter()
    results = sorted((r for rs in map_processes(run_seed_job, jobs) for r in rs), key=lambda r: r["seed"])
    wall = time.perf_counter() - start
    for r in results:
        r["schedule"] = [asdict(s) for s in schedules[seed_list.index(r["seed"])]]
    falls = sum(r["fell"] for r in results)
    fall_rate = falls / len(results)
    simulated = sum(r["simulated_s"] for r in results)

    def mean(key: str, rows: list[dict]) -> float | None:
        vals = [r[key] for r in rows if r[key] is not None]
        return float(np.mean(vals)) if vals else None

    fall_times = [r["fall_time_s"] for r in results if r["fall_time_s"] is not None]
    return {
        "check": "joystick",
        "joystick": kind,
        "seconds": seconds,
        "seeds": len(results),
        "fall_rate": fall_rate,
        "falls": falls,
        "max_fall_rate": max_fall_rate,
        "passed": fall_rate <= max_fall_rate,
        "mean_fall_time_s": float(np.mean(fall_times)) if fall_times else None,
        "vel_err_m_s": mean("vel_err_m_s", results),
        "yaw_rate_err_rad_s": mean("yaw_rate_err_rad_s", results),
        "height_err_m": mean("height_err_m", results),
        "ranges": command_ranges(gamepad),
        "hold_s": list(hold_s),
        "zero_prob": zero_prob if kind == "random" else None,
        "physics": asdict(physics),
        "simulated_s": simulated,
        "wall_s": wall,
        "workers": len(jobs),
        "realtime_factor": simulated / wall if wall > 0 else None,
        "per_seed": results,
    }


def format_joystick(report: dict[str, Any]) -> str:
    """One row per seed (fell, fall time, errors), then the fall rate against the bar."""

    def num(x: float | None, fmt: str) -> str:
        width = int(fmt.split(".")[0] or 0)
        return f"{'-':>{width}}" if x is None else format(x, fmt)

    head = f"{'seed':>4} {'fell':>5} {'fall s':>7} {'vel err m/s':>12} {'yaw err rad/s':>14} {'height err m':>13}"
    rows = [f"joystick {report['joystick']}: {report['seeds']} seed(s) x {report['seconds']:g} s", head]
    for r in report["per_seed"]:
        rows.append(
            f"{r['seed']:>4} {'yes' if r['fell'] else 'no':>5} {num(r['fall_time_s'], '7.2f')} "
            f"{num(r['vel_err_m_s'], '12.3f')} {num(r['yaw_rate_err_rad_s'], '14.3f')} "
            f"{num(r['height_err_m'], '13.3f')}"
        )
    verdict = "PASSED" if report["passed"] else "FAILED"
    rows.append(
        f"fall_rate {report['fall_rate']:.2f} (bar <= {report['max_fall_rate']:g}): {verdict}; "
        f"{report['simulated_s']:.1f} s simulated in {report['wall_s']:.1f} s"
    )
    return "\n".join(rows)


__all__ = [
    "KINDS",
    "ScriptedGamepad",
    "Segment",
    "command_ranges",
    "format_joystick",
    "idle_schedule",
    "random_schedule",
    "run_joystick_check",
    "stick",
]
