"""``hover sim2sim --vr-stream CLIP --vr-rate HZ...``: OmniH2O (head + both hands) from a VR stream.

A simulated headset streams the clip's ``head_link``, ``left_hand_link`` and ``right_hand_link``
positions (and head heading) at ``rate`` Hz, as avp-stream poses (:func:`hover.deploy.inputs.vr.avp_pose`),
into the VR source's own calibration, frame change and stamping (:class:`~hover.deploy.inputs.vr.VRKeypoints`,
scale 1: the clip is robot-sized), its anchoring and its command builder
(:func:`~hover.deploy.inputs.vr.command_points`, :func:`~hover.deploy.inputs.vr.points_sample`). With
``anchor="world"`` (the default, as in ``hover run --input vr:IP``) the operator frame is tied to the
robot's pose from leg odometry (:class:`~hover.deploy.inputs.vr.WorldAnchor`, fed the runner's robot
view each tick), so the clip's pelvis motion becomes motion of the robot's pelvis; ``"root"`` takes
the calibrated points as relative to the robot's current root (the behaviour before odometry);
``"truth"`` (a diagnostic, simulation only) is world anchoring with the simulator's true pelvis pose
in place of leg odometry, which separates the odometry's share of the error from the policy's.
Samples are received at ``k / rate`` s and stamped then; the runner's 50 Hz tick takes the newest
(sample-and-hold). Three phases of simulated time:

1. *live* ``[0, live_s)``: the clip plays from t = 0;
2. *frozen* ``[live_s, live_s + freeze_s)``: no sample arrives (the stream stops); the command keeps
   its old stamp, so the runner's staleness check (``SafetyConfig.input_timeout_s``, 0.2 s) fires and
   the runner does what ``on_stale_input`` says (``hold``: the last policy targets, no policy);
3. *jump* ``[.., + jump_s)``: the stream is back, every point at its last live position plus ``jump_m``
   (operator frame: the robot's heading at calibration; x forward, y left, z up), held; with
   ``resume`` the operator presses POLICY at the first fresh sample (a robot in HOLD needs that; in
   POLICY it is ignored).

The robot starts standing in the default pose (as after ``hover run``'s soft start), the runner in
POLICY. Tracking error = |commanded point - achieved point| (m), both relative to the robot's root in
its heading frame (the command frame: what the policy was sent, with the odometry's root estimate; the
achieved point from forward kinematics of the simulated state relative to the simulated root), over
the ticks the runner spent in POLICY. With world anchoring the report's ``odometry`` holds the leg
odometry's error: |estimated - simulated| pelvis position (xy and z, relative to the start) over the
ticks of the rollout.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import torch

from hover.commands.layout import CommandLayout, command_layout
from hover.deploy.inputs.base import CommandSample, Event, RobotView
from hover.deploy.inputs.vr import (
    ANCHORS,
    POINTS,
    VRKeypoints,
    WorldAnchor,
    avp_pose,
    command_points,
    points_sample,
)
from hover.deploy.odometry import RootEstimator, yaw_of
from hover.deploy.safety import SafetyConfig
from hover.evaluation.sim2sim_physics import MujocoRobot, PhysicsConfig
from hover.robots import RobotSpec

PHASES = ("live", "frozen", "jump")
#: --vr-anchor choices: the VR source's two, and world anchoring on the simulator's true pelvis pose
SIM_ANCHORS = ("world", "root", "truth")
Anchor = Literal["world", "root", "truth"]
#: seconds at the start and at the end of the jump phase over which its errors are averaged
JUMP_WINDOW_S = 0.5


@dataclass(frozen=True)
class VRStream:
    """The stream's timing (s, simulated) and the jump (m, command frame)."""

    rate_hz: float
    live_s: float
    freeze_s: float = 1.0
    jump_s: float = 3.0
    jump_m: tuple[float, float, float] = (0.3, 0.0, 0.0)
    resume: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.rate_hz <= 1000:
            raise ValueError(f"--vr-rate {self.rate_hz} Hz must lie in (0, 1000]")
        if not (self.live_s > 0 and self.freeze_s >= 0 and self.jump_s >= 0):
            raise ValueError(
                f"VR phases need live > 0, frozen >= 0, jump >= 0 s; got {self.live_s}, {self.freeze_s}, {self.jump_s}"
            )

    @property
    def frozen_at(self) -> float:
        return self.live_s

    @property
    def jump_at(self) -> float:
        return self.live_s + self.freeze_s

    @property
    def end(self) -> float:
        return self.jump_at + self.jump_s

    def phase(self, t: float) -> str:
        return "live" if t < self.frozen_at else "frozen" if t < self.jump_at else "jump"

    @property
    def last_live_sample(self) -> int:
        """Index of the last sample sent before the stream stops."""
        return max(math.ceil(self.live_s * self.rate_hz - 1e-9) - 1, 0)


class StreamedVR:
    """An input source: a clip's head and hands as a VR stream (see the module docstring).

    ``library``: a MotionLibrary holding the one clip (world frame). Call ``events`` then ``command``
    per tick (the runner's order), with ``now`` in simulated seconds and the runner's robot view (the
    world anchor's odometry is updated from it). ``anchor``: ``"world"`` or ``"root"`` (module docstring);
    ``odometry``: the world anchor's root estimate (None: leg odometry).
    """

    name = "vr"

    def __init__(
        self,
        robot: RobotSpec,
        layout: CommandLayout,
        library: Any,
        stream: VRStream,
        anchor: Literal["world", "root"] = "world",
        odometry: RootEstimator | None = None,
    ) -> None:
        if anchor not in ANCHORS:
            raise ValueError(f"VR anchor {anchor!r}: choose from {', '.join(ANCHORS)}")
        self.robot, self.layout, self.library, self.stream = robot, layout, library, stream
        self.keypoints = VRKeypoints(robot, scale=1.0)
        self.anchor = WorldAnchor(robot, odometry) if anchor == "world" else None
        self._commanded: np.ndarray | None = None
        self.bodies = robot.mode_bodies["omnih2o"]  # head, left hand, right hand: POINTS order
        self.body_ids = [robot.body_index(b) for b in self.bodies]
        pos0, yaw0 = self.clip_points(0.0)
        c, s = math.cos(yaw0), math.sin(yaw0)
        jump = np.asarray(stream.jump_m, dtype=np.float64)
        self.jump_world = np.array([c * jump[0] - s * jump[1], s * jump[0] + c * jump[1], jump[2]])
        self.index = -1  # newest sample received
        self.samples = 0  # samples taken by the ticks (each tick takes only the newest one)
        self._policy_pressed = False
        self._pending: list[Event] = []

    def clip_points(self, t: float) -> tuple[np.ndarray, float]:
        """Head, left hand, right hand positions [3, 3] (world, m) of the clip at ``t`` s and the head's yaw."""
        from hover.rotations import yaw_from_quat

        ref = self.library.get_state(
            torch.zeros(1, dtype=torch.long), torch.tensor([t], dtype=self.library.body_pos.dtype)
        )
        pos = ref.body_pos[0, self.body_ids].double().numpy()
        yaw = float(yaw_from_quat(ref.body_quat[0, self.body_ids[0]].double()))
        return pos, yaw

    def sample_points(self, k: int) -> tuple[np.ndarray, float] | None:
        """World points and head yaw of sample ``k`` (sent at ``k / rate`` s), None while frozen."""
        st = self.stream
        t = k / st.rate_hz
        phase = st.phase(t)
        if phase == "frozen":
            return None
        if phase == "live":
            return self.clip_points(t)
        pos, yaw = self.clip_points(st.last_live_sample / st.rate_hz)
        return pos + self.jump_world[None], yaw

    def _poll(self, now: float) -> None:
        k = math.floor(now * self.stream.rate_hz + 1e-9)  # the newest sample sent at or before now
        if k <= self.index:
            return
        self.index = k
        got = self.sample_points(k)
        if got is None:
            return
        pos, yaw = got
        poses = {name: avp_pose(pos[i], yaw if name == "head" else 0.0) for i, name in enumerate(POINTS)}
        self.keypoints.update(poses, k / self.stream.rate_hz)
        self.samples += 1
        if self.stream.resume and self.stream.phase(k / self.stream.rate_hz) == "jump":
            if not self._policy_pressed:
                self._policy_pressed = True
                self._pending.append(Event.POLICY)

    def events(self, view: RobotView, now: float) -> list[Event]:
        self._poll(now)
        if self.anchor is not None:
            self.anchor.observe(view, now)
        out, self._pending = self._pending, []
        return out

    def command(self, view: RobotView, now: float) -> CommandSample | None:
        self._poll(now)
        if self.anchor is not None:
            self.anchor.observe(view, now)
        stamp = self.keypoints.stamp()
        points = command_points(self.keypoints, self.anchor)
        if stamp is None or points is None:
            return None
        self._commanded = points
        return points_sample(points, stamp, self.layout)

    def commanded_points(self) -> np.ndarray | None:
        """The head, left hand, right hand targets [3, 3] (m, command frame) of the last command, None before."""
        return None if self._commanded is None else self._commanded.copy()

    def estimated_root(self) -> np.ndarray | None:
        """The world anchor's pelvis estimate [3] (m, odometry world), None without one (root anchoring)."""
        if self.anchor is None or self.anchor.odometry.position is None:
            return None
        return self.anchor.odometry.position.copy()

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class VRJob:
    policy_path: str
    physics: PhysicsConfig
    clip: Any  # hover.motion.format.MotionClip
    stream: VRStream
    safety: SafetyConfig
    anchor: Anchor = "world"


class TrueRoot:
    """The simulator's pelvis pose as a root estimate (``--vr-anchor truth``): position [3] relative to
    the start in x, y (m, world) and heading (rad); the readings passed in are ignored."""

    def __init__(self, sim: MujocoRobot, world: int = 0) -> None:
        self.sim, self.world = sim, world
        self.start = sim.state(world)["root_pos"][:2].copy()
        self.position: np.ndarray | None = None
        self.yaw: float | None = None

    def update(self, joint_pos: np.ndarray, root_quat: np.ndarray, dt: float | None = None) -> np.ndarray:
        """The simulated pelvis now (the state the runner's view of this tick was read from)."""
        s = self.sim.state(self.world)
        self.position = s["root_pos"] - np.array([self.start[0], self.start[1], 0.0])
        self.yaw = yaw_of(s["root_quat"])
        return self.position.copy()


def _mean(x: np.ndarray) -> float | None:
    return float(x.mean()) if x.size else None


def run_vr_job(job: VRJob) -> dict[str, Any]:
    """One stream (one rate) in this process: the rollout and its per-phase report."""
    from hover.commands.builders import body_commands
    from hover.evaluation.sim2sim_runner import RunnerSim, load_policy_for_runner, standing_qpos
    from hover.kinematics import ForwardKinematics
    from hover.motion.library import MotionLibrary

    torch.set_num_threads(1)
    start = time.perf_counter()
    policy = load_policy_for_runner(job.policy_path)
    robot, st = policy.robot, job.stream
    sim = MujocoRobot(robot, policy.joint_names, policy.kp, policy.kd, policy.effort_limit, job.physics)
    source_anchor: Literal["world", "root"] = "root" if job.anchor == "root" else "world"
    truth = TrueRoot(sim) if job.anchor == "truth" else None
    library = MotionLibrary([job.clip], robot=robot)
    source = StreamedVR(robot, command_layout(robot), library, st, source_anchor, truth)
    rs = RunnerSim(policy, sim, source, job.physics, job.safety)
    rs.place(standing_qpos(robot))
    rs.start()
    times, phases, states, cmds, roots, quats, joints, ages = [], [], [], [], [], [], [], []
    odo_err: list[np.ndarray] = []  # [2]: |xy|, |z| of estimated - simulated pelvis (rel. the start), m
    root0 = sim.state(0)["root_pos"].copy()
    steps = int(round(st.end / rs.dt))
    while rs.k < steps and not rs.done:
        t = rs.t
        seen = sim.state(0)["root_pos"].copy()  # what the runner's view this tick comes from
        rs.step()
        est = source.estimated_root()
        if est is not None:
            d = est - (seen - np.array([root0[0], root0[1], 0.0]))
            odo_err.append(np.array([np.linalg.norm(d[:2]), abs(d[2])]))
        pts = source.commanded_points()
        s = sim.state(0)
        times.append(t)
        phases.append(st.phase(t))
        states.append(rs.state)  # what the runner published this tick
        cmds.append(np.full((3, 3), np.nan) if pts is None else pts)
        stamp = source.keypoints.stamp()
        ages.append(np.nan if stamp is None else t - stamp)
        roots.append(s["root_pos"])
        quats.append(s["root_quat"])
        joints.append(s["joint_pos"])
    fk = ForwardKinematics(robot, dtype=torch.float64)
    root = torch.as_tensor(np.array(roots))
    quat = torch.as_tensor(np.array(quats))
    pos = fk(root, quat, torch.as_tensor(np.array(joints))).pos[:, source.body_ids]
    achieved = body_commands(pos, root, quat).reshape(-1, 3, 3).numpy()
    err = np.linalg.norm(np.array(cmds) - achieved, axis=-1)  # [T, 3]
    t_arr, ph, policy_ticks = np.array(times), np.array(phases), np.array(states) == "policy"
    live = (ph == "live") & policy_ticks
    stale = [e for e in rs.safety_events() if e["check"] == "input_stale"]
    resumed = [tr["time_s"] for tr in rs.transitions() if tr["to"] == "policy" and tr["time_s"] >= st.jump_at]

    def state_at(t_start: float, t_end: float) -> str | None:
        """The runner's state on the last tick of [t_start, t_end), None when the rollout did not get there."""
        inside = [s for tt, s in zip(times, states, strict=True) if t_start <= tt < t_end]
        return inside[-1] if inside else None

    jump_policy = (ph == "jump") & policy_ticks
    first = jump_policy & (t_arr < st.jump_at + JUMP_WINDOW_S)
    last = jump_policy & (t_arr >= st.end - JUMP_WINDOW_S)
    fall_t = rs.fell_at
    names = [b.removesuffix("_link") for b in source.bodies]
    odo = np.array(odo_err).reshape(-1, 2)
    report = {
        "rate_hz": st.rate_hz,
        "anchor": job.anchor,
        "fell": fall_t is not None,
        "fall_time_s": fall_t,
        "fall_phase": None if fall_t is None else st.phase(fall_t - 1e-9),
        "diverged": rs.diverged,
        "simulated_s": rs.t,
        "phases": {
            "live": [0.0, st.frozen_at],
            "frozen": [st.frozen_at, st.jump_at],
            "jump": [st.jump_at, st.end],
        },
        "samples_taken": source.samples,
        "live": {
            "policy_fraction": float(live.sum() / max((ph == "live").sum(), 1)),
            "error_m": {n: _mean(err[live, i]) for i, n in enumerate(names)},
            "mean_error_m": _mean(err[live]),
            "max_error_m": float(err[live].max()) if live.any() else None,
            "mean_command_age_s": _mean(np.array(ages)[ph == "live"]),
        },
        "frozen": {
            "reached": rs.t > st.frozen_at,
            "stale_after_s": (stale[0]["time_s"] - st.frozen_at) if stale else None,
            "runner_state_at_end": state_at(st.frozen_at, st.jump_at),
            "fell": fall_t is not None and st.frozen_at <= fall_t < st.jump_at + 1e-9,
        },
        "jump": {
            "reached": rs.t > st.jump_at,
            "jump_m": list(st.jump_m),
            "resumed_policy_at_s": resumed[0] if resumed else None,
            "mean_error_m_first": _mean(err[first]),
            "mean_error_m_last": _mean(err[last]),
            "runner_state_at_end": state_at(st.jump_at, st.end + 1.0),
            "fell": fall_t is not None and fall_t >= st.jump_at,
        },
        "odometry": None
        if not len(odo)
        else {
            "mean_xy_error_m": float(odo[:, 0].mean()),
            "max_xy_error_m": float(odo[:, 0].max()),
            "final_xy_error_m": float(odo[-1, 0]),
            "mean_z_error_m": float(odo[:, 1].mean()),
            "max_z_error_m": float(odo[:, 1].max()),
        },
        "transitions": rs.transitions(),
        "safety_events": rs.safety_events(),
        "wall_s": time.perf_counter() - start,
    }
    return report


def run_vr_check(
    policy_path: str,
    clip: Any,
    rates: tuple[float, ...],
    physics: PhysicsConfig,
    live_s: float | None = None,
    freeze_s: float = 1.0,
    jump_s: float = 3.0,
    jump_m: tuple[float, float, float] = (0.3, 0.0, 0.0),
    resume: bool = True,
    max_error_m: float = 0.1,
    workers: int = 2,
    safety: SafetyConfig | None = None,
    anchor: Anchor = "world",
) -> dict[str, Any]:
    """One stream per rate (in parallel processes); passed = no fall and live mean error <= ``max_error_m``.
    ``anchor``: the VR source's anchoring (``world``: leg odometry; ``root``: the points relative to the
    robot's current root; ``truth``: world anchoring on the simulator's true pelvis pose)."""
    from hover.evaluation.sim2sim import map_processes
    from hover.evaluation.sim2sim_runner import load_policy_for_runner

    load_policy_for_runner(policy_path)  # a bad model fails here, before any process starts
    if not rates:
        raise ValueError("--vr-rate needs at least one rate (Hz)")
    if anchor not in SIM_ANCHORS:
        raise ValueError(f"--vr-anchor {anchor!r}: choose from {', '.join(SIM_ANCHORS)}")
    live = clip.duration if live_s is None else live_s
    streams = [VRStream(r, live, freeze_s, jump_s, tuple(jump_m), resume) for r in rates]  # type: ignore[arg-type]
    safety = safety or SafetyConfig()
    jobs = [VRJob(policy_path, physics, clip, s, safety, anchor) for s in streams]
    start = time.perf_counter()
    groups = [jobs[w :: max(1, min(workers, len(jobs)))] for w in range(max(1, min(workers, len(jobs))))]
    runs = sorted((r for g in map_processes(_run_vr_group, groups) for r in g), key=lambda r: r["rate_hz"])
    wall = time.perf_counter() - start
    for r in runs:
        err = r["live"]["mean_error_m"]
        r["passed"] = not r["fell"] and err is not None and err <= max_error_m
    return {
        "check": "vr_stream",
        "clip": clip.name,
        "anchor": anchor,
        "rates_hz": [r["rate_hz"] for r in runs],
        "live_s": live,
        "freeze_s": freeze_s,
        "jump_s": jump_s,
        "jump_m": list(jump_m),
        "resume": resume,
        "input_timeout_s": safety.input_timeout_s,
        "on_stale_input": safety.on_stale_input,
        "max_error_m": max_error_m,
        "passed": all(r["passed"] for r in runs),
        "falls": sum(r["fell"] for r in runs),
        "physics": asdict(physics),
        "wall_s": wall,
        "runs": runs,
    }


def _run_vr_group(jobs: list[VRJob]) -> list[dict[str, Any]]:
    return [run_vr_job(j) for j in jobs]


def format_vr(report: dict[str, Any]) -> str:
    """One row per rate: fell (phase, time), live error per point, stale detection, jump errors."""

    def num(x: float | None, fmt: str) -> str:
        width = int(fmt.split(".")[0] or 0)
        return f"{'-':>{width}}" if x is None else format(x, fmt)

    rows = [
        f"VR stream of {report['clip']} ({report['anchor']} anchor): live {report['live_s']:g} s, "
        f"frozen {report['freeze_s']:g} s, "
        f"jump {report['jump_m']} m for {report['jump_s']:g} s (runner: stale after "
        f"{report['input_timeout_s']:g} s -> {report['on_stale_input']})",
        f"{'Hz':>5} {'fell':>12} {'live err m (head, L, R)':>26} {'stale after s':>14} "
        f"{'state frozen':>13} {'resumed s':>10} {'jump err m first/last':>22} {'odom xy m mean/max':>19}",
    ]
    for r in report["runs"]:
        fell = f"{r['fall_phase']}@{r['fall_time_s']:.2f}" if r["fell"] else "no"
        e = r["live"]["error_m"]
        live = ", ".join(num(v, ".3f") for v in e.values())
        j = r["jump"]
        o = r.get("odometry")
        odom = "-" if not o else f"{o['mean_xy_error_m']:.3f} / {o['max_xy_error_m']:.3f}"
        rows.append(
            f"{r['rate_hz']:>5g} {fell:>12} {live:>26} {num(r['frozen']['stale_after_s'], '14.2f')} "
            f"{str(r['frozen']['runner_state_at_end']):>13} {num(j['resumed_policy_at_s'], '10.2f')} "
            f"{num(j['mean_error_m_first'], '.3f') + ' / ' + num(j['mean_error_m_last'], '.3f'):>22} "
            f"{odom:>19}"
        )
    verdict = "PASSED" if report["passed"] else "FAILED"
    rows.append(f"bar: no fall and live mean error <= {report['max_error_m']:g} m: {verdict}")
    return "\n".join(rows)


__all__ = [
    "PHASES",
    "SIM_ANCHORS",
    "StreamedVR",
    "TrueRoot",
    "VRStream",
    "format_vr",
    "run_vr_check",
    "run_vr_job",
]
