"""Randomised synthetic human motions (SMPL form) for ``hover motion generate``.

Each clip is described by a :class:`ClipSpec` (its kind and its drawn parameters) and built from it by
:func:`human_clip`. The patterns extend those of :mod:`.synthetic` (same SMPL body-frame conventions,
same planted-foot root integration): walking at a requested pelvis speed (straight or curved), walking
with turning, turning in place, side steps, standing with random smooth arm trajectories, squats, bends,
reaches, punches and waves. Every clip starts and ends in a calm standing pose: the motion fades in and
out over an envelope with a short still hold at both ends, so a tracker can start from the first frame.

Walking, turning and side steps use the foot-space gait of :mod:`.gait`: the pelvis moves at the drawn
speed by construction and sways over the supporting foot (an inverted pendulum's excursion for the
skeleton's stance width and the step rate), planted feet stay still, swing feet land from above; the
speed rises and falls within MAX_GAIT_ACCEL (1 m/s^2). The
drawn speeds are those of the robot's pelvis: :class:`GaitCalibration` measures once how much further the fitted skeleton
travels than the source skeleton for the same joint angles, and the source speed is scaled by that.

Kinds: walk (0-1.2 m/s, straight or gently curved, arm swing or free arm motion), walk_turn (walking
while turning at 0.3-0.7 rad/s, varying), turn (turning in place), sidestep (0.05-0.35 m/s, left or
right), arms (standing with random smooth arm trajectories), squat, bend, reach (forward, sideways or
up, one or both arms), punch (alternating or one-sided), wave (one or both arms). Asked for only
(``--kinds steer``, :data:`EXTRA_KINDS`): steer (joystick-like walking in every direction, crouched
too; :mod:`.steer`).

Angles in rad, lengths in m, speeds in m/s, times in s. Joint rotations are local axis-angle in the
SMPL body frame (x left, y up, z forward), see :mod:`.synthetic`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from hover.retarget.amass import HumanClip
from hover.retarget.gait import PlanarLeg, lateral_sway, single_support_weight, step_leg_angles
from hover.retarget.skeleton import SMPL_TO_ROBOT_AXES, joint_index
from hover.retarget.steer import steer_commands
from hover.retarget.synthetic import _plant_feet, _Pose, _rx, _ry, _rz, _smooth_on
from hover.rotations import matrix_to_quat, quat_to_matrix, quat_to_rotvec

J = joint_index
HOLD_S = 0.3  # still standing at the start and the end of every clip
MAX_WALK_SPEED = 1.2  # m/s, top of the drawn walking speeds
MAX_SIDE_SPEED = 0.35  # m/s, top of the drawn side-step speeds
# Standing pose (that of synthetic._stand_legs with knee 0.1, and its relaxed arms).
_STAND_HIP, _STAND_KNEE, _STAND_ANKLE, _STAND_ABD = 0.05, 0.1, 0.05, 0.05
_REST_ARM = (0.05, 0.1, 0.25)  # flexion, abduction, elbow
STAND = (_STAND_HIP, _STAND_KNEE, _STAND_ABD)  # hip flexion, knee, abduction the stepping starts from
# Comfortable ranges (rad) of the random arm trajectories: flexion (forward raise), abduction
# (sideways raise, >= 0 so the arm never swings across the body), elbow flexion, humerus twist.
ARM_RANGES = {"flex": (-0.35, 1.7), "abd": (0.0, 1.4), "elbow": (0.2, 2.0), "twist": (-0.6, 0.3)}

KINDS: tuple[str, ...] = ("walk", "walk_turn", "turn", "sidestep", "arms", "squat", "bend", "reach", "punch",
                          "wave")  # fmt: skip
EXTRA_KINDS: tuple[str, ...] = ("steer",)  # only when asked for (--kinds): not in the default mix
ALL_KINDS = (*KINDS, *EXTRA_KINDS)
WALK_KINDS = ("walk", "walk_turn", "turn")
STEP_KINDS = (*WALK_KINDS, "sidestep", "steer")  # the kinds made with the foot-space gait (retarget/gait.py)
STEP_LEAD, STEP_TAIL, STEP_RAMP = 0.5, 0.8, 0.8  # s: stepping in place before / after moving, its fade
MOVE_RAMP = 1.2  # s, shortest rise / fall of the walking speed and turn rate
MAX_GAIT_ACCEL = 1.0  # m/s^2, peak pelvis acceleration of a gait start or stop


@dataclass
class ClipSpec:
    """One clip to make: its name, kind, duration (s), heading and start position, drawn parameters."""

    name: str
    kind: str
    index: int
    attempt: int
    duration: float
    heading0: float  # rad, initial world yaw
    start_xy: tuple[float, float]  # m, human root offset in the world
    params: dict[str, float] = field(default_factory=dict)

    @property
    def steady(self) -> tuple[float, float]:
        """Time window (s) in which the motion runs at full amplitude (after the fade-in, before the fade-out)."""
        start, end = self.window
        ramp = self.params["ramp"]
        return start + ramp, end - ramp

    @property
    def window(self) -> tuple[float, float]:
        """Time window (s) of the motion including its fade-in and fade-out. Walking kinds step in place
        for STEP_LEAD s before they start moving and for STEP_TAIL s + 1.2 cycles after they stop, so the
        feet come to rest side by side before the stepping fades out."""
        if self.kind in STEP_KINDS:
            return HOLD_S + STEP_LEAD, self.duration - HOLD_S - STEP_TAIL - 1.2 / self.params["freq"]
        return HOLD_S, self.duration - HOLD_S


def envelope(t: Tensor, start: float, end: float, ramp: float) -> Tensor:
    """0 before ``start`` and after ``end`` (s), smooth (C1) rise/fall over ``ramp`` s, 1 in between."""
    return _smooth_on(t, start, ramp) * (1 - _smooth_on(t, end - ramp, ramp))


def _smooth_noise(rng: np.random.Generator, t: Tensor, fmax: float, n: int = 3) -> Tensor:
    """A smooth random signal in [-1, 1]: a normalised sum of ``n`` sinusoids at 0.08-``fmax`` Hz."""
    f = rng.uniform(0.08, max(fmax, 0.1), n)
    a = rng.uniform(0.3, 1.0, n)
    ph = rng.uniform(0, 2 * math.pi, n)
    x = sum(
        (float(a[i]) * torch.sin(2 * math.pi * float(f[i]) * t + float(ph[i])) for i in range(n)),
        torch.zeros_like(t),
    )
    return x / float(a.sum())


def move_ramp(speed: float) -> float:
    """Rise time (s) of a gait's speed envelope for a steady pelvis ``speed`` (m/s): at least MOVE_RAMP,
    and long enough that the smooth step's peak acceleration (1.5 speed / ramp) stays within
    MAX_GAIT_ACCEL. A faster start leaves the robot 0.3-0.5 m behind within a second."""
    return max(MOVE_RAMP, 1.5 * abs(speed) / MAX_GAIT_ACCEL)


# ------------------------------------------------------------------------------------------------ drawing


def draw_spec(kind: str, index: int, seed: int, attempt: int = 0) -> ClipSpec:
    """Parameters of clip ``index`` of kind ``kind``; they depend only on (seed, index, attempt, kind)."""
    if kind not in ALL_KINDS:
        raise ValueError(f"unknown motion kind {kind!r}; known: {', '.join(ALL_KINDS)}")
    rng = np.random.default_rng([seed, 0, index, attempt, ALL_KINDS.index(kind)])
    p: dict[str, float] = {"seed": float(rng.integers(0, 2**31 - 1))}
    if kind == "steer":  # the velocity schedule is drawn from p["seed"] (retarget/steer.py)
        duration = rng.uniform(10.0, 13.0)
        p["clearance"] = rng.uniform(0.04, 0.08)
        p["freq"] = rng.uniform(0.8, 1.0)
        p["ramp"] = MOVE_RAMP
        p["free_arms"] = float(rng.uniform() < 0.2)
    elif kind in STEP_KINDS:
        duration = rng.uniform(7.5, 10.0)
        p["clearance"] = rng.uniform(0.04, 0.08)  # swing-foot lift, m of the source skeleton
        if kind == "walk":
            p["speed"] = rng.uniform(0.0, MAX_WALK_SPEED)
            p["turn_rate"] = 0.0 if rng.uniform() < 0.5 else rng.uniform(-0.25, 0.25)
            p["turn_var"] = 0.0
            p["free_arms"] = float(rng.uniform() < 0.3)
        elif kind == "walk_turn":
            p["speed"] = rng.uniform(0.2, 0.9)
            p["turn_rate"] = rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.7)
            p["turn_var"] = rng.uniform(0.0, 0.3)
            p["free_arms"] = float(rng.uniform() < 0.2)
        elif kind == "turn":
            p["speed"] = 0.0
            p["turn_rate"] = rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.0)
            p["turn_var"] = 0.0
            p["free_arms"] = 0.0
        else:  # sidestep: speed is the sideways pelvis speed, + = to the left
            p["speed"] = rng.choice([-1.0, 1.0]) * rng.uniform(0.05, MAX_SIDE_SPEED)
            p["turn_rate"] = p["turn_var"] = p["free_arms"] = 0.0
        # stride frequency (cycles/s) rises with speed, as in human gait
        v = abs(p["speed"]) / (MAX_WALK_SPEED if kind != "sidestep" else MAX_SIDE_SPEED)
        p["freq"] = 0.72 + 0.28 * v + rng.uniform(-0.05, 0.05)
        p["ramp"] = move_ramp(p["speed"])
    else:
        duration = rng.uniform(4.0, 10.0)
        p["ramp"] = rng.uniform(0.6, 1.0)
        p["side"] = float(rng.choice([-1.0, 1.0]))  # + = left arm leads
        if kind == "arms":
            p["fmax"] = rng.uniform(0.25, 0.9)
            p["amp"] = rng.uniform(0.35, 1.0)
        elif kind == "squat":
            p["depth"] = rng.uniform(0.35, 1.0)
            p["freq"] = rng.uniform(0.2, 0.45)
            p["free_arms"] = float(rng.uniform() < 0.3)
        elif kind == "bend":
            p["depth"] = rng.uniform(0.3, 1.0)
            p["freq"] = rng.uniform(0.2, 0.4)
            p["twist"] = rng.uniform(-0.3, 0.3)
        elif kind == "reach":
            p["direction"] = float(rng.integers(0, 3))  # 0 forward, 1 sideways, 2 up
            p["both"] = float(rng.uniform() < 0.3)
            p["amount"] = rng.uniform(0.5, 1.0)
            p["freq"] = rng.uniform(0.25, 0.6)
        elif kind == "punch":
            p["freq"] = rng.uniform(0.5, 1.2)
            p["amount"] = rng.uniform(0.5, 1.0)
            p["alternate"] = float(rng.uniform() < 0.6)
        elif kind == "wave":
            p["freq"] = rng.uniform(0.8, 2.0)
            p["amount"] = rng.uniform(0.2, 0.5)
            p["height"] = rng.uniform(1.0, 1.6)
            p["both"] = float(rng.uniform() < 0.3)
    return ClipSpec(
        name=f"{kind}_{index:04d}",
        kind=kind,
        index=index,
        attempt=attempt,
        duration=round(float(duration), 2),
        heading0=float(rng.uniform(-math.pi, math.pi)),
        start_xy=(float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1))),
        params={k: float(v) for k, v in p.items()},
    )


def kind_of(index: int, seed: int, kinds: tuple[str, ...]) -> str:
    """Kind of clip ``index``: each block of ``len(kinds)`` clips holds every kind once, in a random order."""
    block, pos = divmod(index, len(kinds))
    perm = np.random.default_rng([seed, 1, block, len(kinds)]).permutation(len(kinds))
    return kinds[int(perm[pos])]


# ---------------------------------------------------------------------------------------------- building


class GaitCalibration:
    """The legs of the source skeleton for the foot-space gait, and its speed scale.

    ``ratio``: pelvis travel of the fitted (shaped, scaled) skeleton per metre of the source skeleton's,
    for the gait of :mod:`.gait` (measured by integrating the planted feet of both skeletons)."""

    def __init__(self, source_rest: Tensor, fitted_rest: Tensor, fps: float = 100.0, cycles: int = 3):
        self.source = source_rest.to(torch.float64)
        self.rest = fitted_rest.to(torch.float64)
        self.legs = {side: PlanarLeg(self.source, side) for side in ("L", "R")}
        t = torch.arange(int(cycles * fps) + 1, dtype=torch.float64) / fps  # 1 Hz: cycle = 1 s
        ones = torch.ones_like(t)
        vel = torch.stack((0.1 * ones, 0.5 * ones), -1)  # forward and a little sideways
        walk = step_leg_angles(self.legs, t, vel, 1.0, 0.05 * ones, STAND, ones)

        def legs(p: _Pose) -> None:
            for side, (hip, knee, ankle, abd) in walk.items():
                p.leg(side, hip, knee, ankle, abd)

        self.ratio = self._travel(t, fps, cycles, legs, self.rest) / self._travel(
            t, fps, cycles, legs, self.source
        )
        src = self.source
        self.half_width = 0.5 * float(src[J("L_Ankle"), 0] - src[J("R_Ankle"), 0])  # SMPL x: left
        self.com_height = float(src[J("Pelvis"), 1] - src[J("L_Ankle"), 1]) + 0.08  # + ankle over the sole

    def sway(self, freq: float) -> float:
        """Sideways pelvis sway (m, source skeleton) of a gait at ``freq`` cycles/s (``gait.lateral_sway``)."""
        return lateral_sway(self.half_width, self.com_height, freq)

    def _travel(self, t: Tensor, fps: float, cycles: int, legs, rest: Tensor) -> float:
        p = _Pose(t)
        legs(p)
        pose_aa = quat_to_rotvec(matrix_to_quat(_world_root(p, 0.0)))
        trans = _plant_feet(rest, pose_aa, fps)
        n = int(fps)  # skip the first cycle (start-up), measure the others
        return float((trans[-1, :2] - trans[n, :2]).norm()) / (cycles - 1)


def _blend(on: Tensor, moving: Tensor, still: float) -> Tensor:
    return on * moving + (1 - on) * still


def _stand(p: _Pose, knee: Tensor | float = _STAND_KNEE) -> None:
    k = torch.as_tensor(knee, dtype=p.t.dtype).expand_as(p.t)
    for side in ("L", "R"):
        p.leg(side, 0.5 * k, k, 0.5 * k, _STAND_ABD)


def _rest_arm(p: _Pose, side: str) -> None:
    f, a, e = _REST_ARM
    p.arm(side, f + 0 * p.t, a + 0 * p.t, e + 0 * p.t)


def _free_arm(
    p: _Pose, side: str, rng: np.random.Generator, on: Tensor, fmax: float, amp: float, lift: float = 0.0
) -> None:
    """Random smooth arm trajectory within :data:`ARM_RANGES`, faded in from the rest pose by ``on``.
    ``lift`` raises the centre of the flexion range (e.g. while squatting)."""
    vals = {}
    for key, (lo, hi) in ARM_RANGES.items():
        half = 0.5 * (hi - lo) * amp
        centre = rng.uniform(lo + half, hi - half)
        vals[key] = centre + half * _smooth_noise(rng, p.t, fmax)
    flex = (vals["flex"] + lift).clamp(max=ARM_RANGES["flex"][1])
    rest_f, rest_a, rest_e = _REST_ARM
    raised = torch.clamp(torch.maximum(flex, vals["abd"]) / 0.8, 0.0, 1.0)  # twist only a raised arm
    p.arm(
        side,
        _blend(on, flex, rest_f),
        _blend(on, vals["abd"], rest_a),
        _blend(on, vals["elbow"], rest_e),
        on * raised * vals["twist"],
    )


def _world_root(p: _Pose, heading0: float) -> Tensor:
    """Local rotations [T, 24, 3, 3] with the root mapped into the z-up world at yaw ``heading0 + heading``."""
    base = quat_to_matrix(torch.tensor(SMPL_TO_ROBOT_AXES, dtype=torch.float64))
    rot = p.rot.clone()
    rot[:, 0] = _rz(p.heading + heading0) @ base @ p.root
    return rot


def _pose(spec: ClipSpec, t: Tensor, fps: float, gait: GaitCalibration) -> _Pose:
    k, q = spec.kind, spec.params
    rng = np.random.default_rng(int(q["seed"]))
    p = _Pose(t)
    on = envelope(t, *spec.window, q["ramp"])
    zero = 0 * t
    if k in STEP_KINDS:  # on: moving (speed, turning); step: stepping, a little longer
        step = envelope(t, HOLD_S, spec.duration - HOLD_S, STEP_RAMP)
        if k == "steer":  # velocity and yaw rate from a joystick-like schedule; they start and end at 0
            vel, rate, drop_m = steer_commands(rng, t, *spec.window)
            vel, drop = vel / gait.ratio, drop_m / gait.ratio  # in the source skeleton's metres
            forward: Tensor | float = vel[:, 1].abs() * gait.ratio  # m/s, the arm swing grows with it
        else:
            speed = q["speed"] / gait.ratio * on  # in the source skeleton's metres
            vel = torch.stack((speed, zero) if k == "sidestep" else (zero, speed), -1)  # sideways, forward
            rate = (q["turn_rate"] + q["turn_var"] * _smooth_noise(rng, t, 0.15, 2)) * on
            forward, drop = abs(q["speed"]), None
        legs = step_leg_angles(
            gait.legs,
            t,
            vel,
            q["freq"],
            q["clearance"] * step,
            STAND,
            step,
            sway=gait.sway(q["freq"]),
            drop=drop,
        )
        for side, (hip, knee, ankle, abd) in legs.items():
            p.leg(side, hip, knee, ankle, abd)
        p.heading = torch.cumsum(rate * single_support_weight(t, q["freq"]), 0) / fps
        ph = 2 * math.pi * q["freq"] * t
        if q["free_arms"]:
            for side in ("L", "R"):
                _free_arm(p, side, rng, step, 0.6, 0.5)
        elif k == "sidestep":
            for side in ("L", "R"):
                _rest_arm(p, side)
        else:
            swing = (0.1 + 0.25 * forward / MAX_WALK_SPEED) * on
            for side, sign in (("L", -1.0), ("R", 1.0)):
                p.arm(
                    side,
                    _blend(step, sign * swing * torch.sin(ph), _REST_ARM[0]),
                    _blend(step, 0.12 + zero, _REST_ARM[1]),
                    _blend(step, 0.35 - sign * 0.1 * on * torch.sin(ph), _REST_ARM[2]),
                )
            p.apply("Spine2", _ry(0.06 * torch.sin(ph) * on))
        return p
    side = "L" if q["side"] > 0 else "R"
    other = "R" if side == "L" else "L"
    if k == "arms":
        _stand(p)
        for a in ("L", "R"):
            _free_arm(p, a, rng, on, q["fmax"], q["amp"])
        p.apply("Spine2", _ry(0.25 * q["amp"] * _smooth_noise(rng, t, q["fmax"]) * on))
    elif k == "squat":
        s = q["depth"] * on * 0.5 * (1 - torch.cos(2 * math.pi * q["freq"] * (t - HOLD_S - q["ramp"])))
        for leg in ("L", "R"):
            p.leg(leg, 0.05 + 0.9 * s, 0.1 + 1.8 * s, 0.05 + 0.75 * s, 0.12)
        p.root = _rx(0.35 * s)
        p.apply("Spine1", _rx(0.15 * s))
        if q["free_arms"]:
            for a in ("L", "R"):
                _free_arm(p, a, rng, on, 0.5, 0.5, lift=0.0)
        else:
            for a in ("L", "R"):
                p.arm(a, 0.05 + 0.9 * s, 0.1 + zero, 0.25 - 0.05 * s)
    elif k == "bend":
        b = q["depth"] * on * 0.5 * (1 - torch.cos(2 * math.pi * q["freq"] * (t - HOLD_S - q["ramp"])))
        p.root = _rx(0.7 * b)
        p.apply("Spine1", _rx(0.3 * b))
        p.apply("Spine2", _rx(0.2 * b) @ _ry(q["twist"] * b))
        _stand(p)
        for s_ in ("L", "R"):
            p.rot[:, J(f"{s_}_Hip")] = _rz((0.05 if s_ == "L" else -0.05) + zero) @ _rx(-0.05 - 0.75 * b)
            p.rot[:, J(f"{s_}_Ankle")] = _rx(zero)
            p.arm(s_, 0.05 + 0.9 * b, 0.1 + zero, 0.25 - 0.05 * b)
    else:
        _stand(p)
        _rest_arm(p, other)
        f = q["freq"]
        if k == "reach":
            r = on * 0.5 * (1 - torch.cos(2 * math.pi * f * (t - HOLD_S - q["ramp"]))) * q["amount"]
            flexion, abduction = {0: (1.6, 0.15), 1: (0.3, 1.5), 2: (2.4, 0.3)}[int(q["direction"])]
            arms = (side, other) if q["both"] else (side,)
            for a in arms:
                p.arm(a, 0.05 + flexion * r, 0.1 + abduction * r, 0.3 * (1 - r) + 0.05)
            lean = 0.3 if int(q["direction"]) == 0 else 0.1
            turn = 0.0 if q["both"] else (0.3 if side == "L" else -0.3)
            p.apply("Spine2", _rx(lean * r) @ _ry(turn * r))
        elif k == "punch":
            phases = ((side, 0.0), (other, math.pi)) if q["alternate"] else ((side, 0.0),)
            for a, off in phases:
                x = torch.clamp(torch.sin(2 * math.pi * f * t + off), min=0.0) ** 2 * q["amount"]
                guard = on  # fists up in front of the chest, then the punches
                p.arm(
                    a,
                    _blend(guard, 0.6 + 0.9 * x, _REST_ARM[0]),
                    _blend(guard, 0.15 + zero, _REST_ARM[1]),
                    _blend(guard, 2.0 * (1 - x) + 0.1, _REST_ARM[2]),
                )
            p.apply("Spine2", _ry(0.25 * q["amount"] * torch.sin(2 * math.pi * f * t) * on))
        else:  # wave: upper arm out to the side, forearm up, waving side to side
            w = 2 * math.pi * f * t
            phases = ((side, 0.0), (other, math.pi)) if q["both"] else ((side, 0.0),)
            for a, off in phases:
                elbow = (1.3 + q["amount"] * torch.sin(w + off)) * on + 0.2
                p.arm(a, 0.2 * on, q["height"] * on, elbow, -0.5 * math.pi * on)
    return p


def human_clip(spec: ClipSpec, fps: float, rest_joints: Tensor, gait: GaitCalibration) -> HumanClip:
    """The SMPL clip of ``spec`` at ``fps`` for skeleton ``rest_joints`` [24, 3] (root integrated so the
    supporting foot stays planted, lowest sole point on z = 0)."""
    t = torch.arange(int(round(spec.duration * fps)) + 1, dtype=torch.float64) / fps
    p = _pose(spec, t, fps, gait)
    pose_aa = quat_to_rotvec(matrix_to_quat(_world_root(p, spec.heading0)))
    trans = _plant_feet(rest_joints.to(torch.float64), pose_aa, fps)
    trans[:, :2] += torch.tensor(spec.start_xy, dtype=torch.float64)
    return HumanClip(
        name=spec.name,
        fps=fps,
        pose_aa=pose_aa.numpy(),
        trans=trans.numpy(),
        betas=np.zeros(10),
        gender="neutral",
    )


# Kinds that, given a gait calibration, are made with the foot-space gait of ``hover motion generate``
# (random_motions kind, forward speed range m/s of the fitted skeleton, turning rate range rad/s).
STEP_GAIT_KINDS: dict[str, tuple[str, tuple[float, float], tuple[float, float]]] = {
    "walk": ("walk", (0.5, 0.7), (0.0, 0.0)),
    "walk_turn": ("walk_turn", (0.35, 0.45), (0.3, 0.5)),
    "turn_in_place": ("turn", (0.0, 0.0), (0.6, 0.9)),
    "sidestep": ("sidestep", (0.15, 0.25), (0.0, 0.0)),  # sideways speed, left or right
}


def step_gait_clip(
    kind: str,
    duration: float,
    fps: float,
    rest_joints: Tensor,
    rng: np.random.Generator,
    name: str,
    gait: GaitCalibration,
) -> HumanClip | None:
    """A locomotion clip of ``kind`` (a key of :data:`STEP_GAIT_KINDS`) made with the foot-space gait and
    the speed calibration ``gait``, as ``hover motion generate``
    makes its clips: planted feet stay still and the pelvis speed is in the fitted skeleton's metres, so
    the retargeted robot's stance feet do not slide. None for a kind not in the table (a
    ``synthetic.LocomotionMaker``: the built-in set passes ``partial(step_gait_clip, gait=...)``)."""
    if kind not in STEP_GAIT_KINDS:
        return None
    gen_kind, (v_lo, v_hi), (r_lo, r_hi) = STEP_GAIT_KINDS[kind]
    speed = float(rng.uniform(v_lo, v_hi))
    if gen_kind == "sidestep":
        speed *= float(rng.choice([-1.0, 1.0]))
    rate = float(rng.choice([-1.0, 1.0]) * rng.uniform(r_lo, r_hi)) if r_hi > 0 else 0.0
    params = {
        "seed": float(rng.integers(0, 2**31 - 1)),
        "ramp": move_ramp(speed),
        "clearance": 0.06,
        "speed": speed,
        "turn_rate": rate,
        "turn_var": 0.0,
        "free_arms": 0.0,
        "freq": 0.8 + 0.15 * abs(speed) + float(rng.uniform(-0.03, 0.03)),
    }
    spec = ClipSpec(
        name=name,
        kind=gen_kind,
        index=0,
        attempt=0,
        duration=duration,
        heading0=float(rng.uniform(-math.pi, math.pi)),
        start_xy=(float(rng.uniform(-1.0, 1.0)), float(rng.uniform(-1.0, 1.0))),
        params=params,
    )
    return human_clip(spec, fps, rest_joints, gait)
