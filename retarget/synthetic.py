"""Synthetic human motions in AMASS form (no mocap data needed), deterministic for a seed.

Each clip is a smooth, parametrised joint-angle pattern on the SMPL skeleton (walking, turning,
squatting, waving, reaching, punching, bending, standing still / idle, stepping sideways). The root translation
is not scripted: it is integrated from the kinematics so that the supporting (lower) foot stays planted,
and the height puts the lowest foot point on the floor (z = 0). Clips are produced at a mix of source
frame rates (30-120 Hz) like AMASS, so the resampling path is exercised.

Joint rotations are local axis-angle in the SMPL body frame (x left, y up, z forward): for a leg,
-x rotation = hip flexion (thigh forward), +x at the knee = knee flexion; for the spine, +x = bend forward.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from hover.retarget.amass import HumanClip
from hover.retarget.skeleton import NUM_SMPL_JOINTS, SMPL_TO_ROBOT_AXES, joint_index, smpl_forward_kinematics
from hover.rotations import matrix_to_quat, quat_to_matrix, quat_to_rotvec

J = joint_index
DEFAULT_SEED = 7
_ANKLE_SOLE = 0.075  # SMPL ankle joint height above the sole (m)
_FOOT_SOLE = 0.025  # SMPL foot (toe base) joint height above the sole (m)
_SWITCH_MARGIN = 0.004  # m: another foot / pivot point takes the weight once it is this much lower


def _rx(a: Tensor) -> Tensor:
    c, s, z, o = torch.cos(a), torch.sin(a), torch.zeros_like(a), torch.ones_like(a)
    return torch.stack((o, z, z, z, c, -s, z, s, c), -1).reshape(a.shape + (3, 3))


def _ry(a: Tensor) -> Tensor:
    c, s, z, o = torch.cos(a), torch.sin(a), torch.zeros_like(a), torch.ones_like(a)
    return torch.stack((c, z, s, z, o, z, -s, z, c), -1).reshape(a.shape + (3, 3))


def _rz(a: Tensor) -> Tensor:
    c, s, z, o = torch.cos(a), torch.sin(a), torch.zeros_like(a), torch.ones_like(a)
    return torch.stack((c, -s, z, s, c, z, z, z, o), -1).reshape(a.shape + (3, 3))


class _Pose:
    """Per-joint local rotations [T, 24, 3, 3] being composed, plus heading (rad) and root tilt."""

    def __init__(self, t: Tensor):
        self.t = t
        self.rot = torch.eye(3, dtype=t.dtype).expand(len(t), NUM_SMPL_JOINTS, 3, 3).clone()
        self.heading = torch.zeros_like(t)
        self.root = torch.eye(3, dtype=t.dtype).expand(len(t), 3, 3).clone()  # in the SMPL body frame

    def apply(self, name: str, r: Tensor) -> None:
        i = J(name)
        self.rot[:, i] = r @ self.rot[:, i]

    def arm(self, side: str, flex: Tensor, abd: Tensor, elbow: Tensor, twist: Tensor | None = None) -> None:
        """Shoulder flexion (forward raise), abduction (sideways raise), elbow flexion and humerus twist,
        rad; 0 = arm down. Rotations about x keep their sign between sides, about y/z they mirror."""
        s = 1.0 if side == "L" else -1.0
        # Hanging arms are carried slightly out and with the elbow bent (forearm forward), the way the H1
        # carries them: its thighs sit 0.2 m off the midline, right under the shoulders, so a straight
        # hanging forearm would pass through them.
        low = 1.0 - torch.clamp(torch.maximum(flex, abd) / 0.8, 0.0, 1.0)
        elbow = elbow + torch.clamp(1.1 - elbow, min=0.0) * low
        abd = abd + 0.15 * low
        r = _rx(-flex) @ _rz(s * (-math.pi / 2 + abd))
        if twist is not None:  # humerus rotation about its own axis; < 0 turns a bent forearm upwards
            r = r @ _rx(twist)
        self.rot[:, J(f"{side}_Shoulder")] = r
        self.rot[:, J(f"{side}_Elbow")] = _ry(-s * elbow)

    def leg(self, side: str, hip: Tensor, knee: Tensor, ankle: Tensor, abd: Tensor | float = 0.0) -> None:
        """Hip flexion, knee flexion, ankle dorsiflexion and hip abduction (outward), rad."""
        s = 1.0 if side == "L" else -1.0
        abd = torch.as_tensor(abd, dtype=self.t.dtype).expand_as(self.t)
        self.rot[:, J(f"{side}_Hip")] = _rz(s * abd) @ _rx(-hip)
        self.rot[:, J(f"{side}_Knee")] = _rx(knee)
        self.rot[:, J(f"{side}_Ankle")] = _rx(-ankle)


_STANCE = 0.6  # fraction of a gait cycle a foot supports
_PRE_SWING = 0.09  # fraction before toe-off in which the supporting knee starts to bend


def _walk_leg(s: Tensor, amp: Tensor | float, knee_swing: float = 0.8) -> tuple[Tensor, Tensor, Tensor]:
    """Hip flexion, knee flexion and ankle (rad) at gait phase ``s`` (cycles; 0 = heel strike).

    Stance (60 %): the hip extends at a constant rate from +amp to -amp, so the pelvis moves at a steady
    speed over the planted foot; swing (40 %): a cubic Hermite curve back to +amp that starts and ends at
    the stance rate (C1, no velocity jumps at heel strike or toe-off). The knee bends just before toe-off
    (after the other foot's heel strike, so there is no flight phase) and through the swing; the ankle
    keeps the sole parallel to the ground in stance and relaxes to 0.1 rad (toes up) in mid-swing."""
    s = torch.remainder(s, 1.0)
    stance = s < _STANCE
    tau = ((s - _STANCE) / (1 - _STANCE)).clamp(0, 1)
    m = -2 * amp / _STANCE * (1 - _STANCE)  # stance rate in swing-normalised time
    t2, t3 = tau * tau, tau * tau * tau
    hip_swing = (
        (2 * t3 - 3 * t2 + 1) * (-amp) + (t3 - 2 * t2 + tau) * m + (3 * t2 - 2 * t3) * amp + (t3 - t2) * m
    )
    hip = torch.where(stance, amp * (1 - 2 * s / _STANCE), hip_swing)
    x = ((s - (_STANCE - _PRE_SWING)) / _PRE_SWING).clamp(0, 1)
    knee = torch.where(
        stance,
        0.1 + 0.35 * x * x * (3 - 2 * x),
        0.1 + 0.35 * (1 - tau) ** 2 + knee_swing * torch.sin(math.pi * tau) ** 2,
    )
    flat = knee - hip  # sole parallel to the ground
    w = torch.where(stance, torch.zeros_like(tau), torch.sin(math.pi * tau) ** 2)
    return hip, knee, (1 - w) * flat + w * 0.1  # in mid-swing the foot just clears the ground, toes up 0.1


def _gait(
    p: _Pose,
    freq: float,
    stride: Tensor | float,
    side_step: float = 0.0,
    amp: Tensor | float = 1.0,
    arm_swing: float = 0.3,
) -> None:
    """A walking cycle: ``freq`` cycles/s, ``stride`` hip amplitude (rad), see :func:`_walk_leg`.

    ``side_step`` (rad, sign = direction, + = to the left): side steps instead; the leading leg abducts
    while it swings and adducts while it supports, which carries the pelvis sideways; ``amp`` fades the
    stepping in/out.
    """
    ph = 2 * math.pi * freq * p.t
    lead = "L" if side_step > 0 else "R"
    for side, off in (("L", 0.0), ("R", math.pi)):
        if side_step:
            u = ph + off + math.pi / 2  # the leg swings for u in (0, pi)
            swing = torch.clamp(torch.sin(u), min=0.0)
            hip = (0.05 + 0.5 * swing) * amp
            knee = (0.1 + 1.0 * swing) * amp
            abd = abs(side_step) * 0.5 * (1 - torch.cos(u)) * amp if side == lead else 0.0 * u
            ankle = 0.1 * torch.sin(ph + off - 0.5) * amp
        else:
            hip, knee, ankle = _walk_leg(freq * p.t + off / (2 * math.pi), stride)
            hip = hip + 0.05
            abd = 0.0 * ph
        p.leg(side, hip, knee, ankle, abd)
    p.arm("L", -arm_swing * torch.sin(ph), 0.12 + 0 * ph, 0.35 + 0.1 * torch.sin(ph))
    p.arm("R", arm_swing * torch.sin(ph), 0.12 + 0 * ph, 0.35 - 0.1 * torch.sin(ph))
    p.apply("Spine2", _ry(0.06 * torch.sin(ph)))


def _idle(p: _Pose, rng: np.random.Generator) -> None:
    t = p.t
    sway = 0.03 * torch.sin(2 * math.pi * 0.25 * t + rng.uniform(0, 6))
    p.root = _rz(sway)
    p.leg("L", 0.05 + 0 * t, 0.08 + 0.03 * torch.sin(0.7 * t), 0.03 + 0 * t, sway)
    p.leg("R", 0.05 + 0 * t, 0.08 + 0.03 * torch.sin(0.7 * t + 1), 0.03 + 0 * t, -sway)
    breathe = 0.03 * torch.sin(2 * math.pi * 0.3 * t)
    p.apply("Spine3", _rx(breathe))
    p.arm("L", 0.05 + breathe, 0.1 + 0 * t, 0.25 + 0 * t)
    p.arm("R", 0.05 - breathe, 0.1 + 0 * t, 0.25 + 0 * t)
    p.apply("Neck", _ry(0.3 * torch.sin(2 * math.pi * 0.1 * t)))


def _stand_legs(p: _Pose, knee: Tensor | float = 0.1) -> None:
    k = torch.as_tensor(knee, dtype=p.t.dtype).expand_as(p.t)
    for side, abd in (("L", 0.05), ("R", 0.05)):
        p.leg(side, 0.5 * k, k, 0.5 * k, abd)


def _smooth_on(t: Tensor, t0: float, ramp: float = 0.6) -> Tensor:
    """0 before t0, smooth rise to 1 over ``ramp`` seconds."""
    x = torch.clamp((t - t0) / ramp, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _make_clip(kind: str, rng: np.random.Generator, duration: float, fps: float) -> _Pose:
    t = torch.arange(int(round(duration * fps)) + 1, dtype=torch.float64) / fps
    p = _Pose(t)
    on = _smooth_on(t, 0.3) * (1 - _smooth_on(t, duration - 1.0))
    if kind in ("walk", "walk_turn", "turn_in_place"):
        on = _smooth_on(t, 0.3, 1.5) * (1 - _smooth_on(t, duration - 1.8, 1.5))  # gentle start and stop
        freq = rng.uniform(0.85, 1.0)
        stride = {"walk": rng.uniform(0.3, 0.4), "walk_turn": 0.3, "turn_in_place": 0.12}[kind]
        _gait(p, freq, stride * on)
        if kind != "walk":
            rate = rng.choice([-1.0, 1.0]) * (
                rng.uniform(0.3, 0.5) if kind == "walk_turn" else rng.uniform(0.6, 0.9)
            )
            p.heading = torch.cumsum(rate * on, 0) / fps
    elif kind == "sidestep":
        _gait(
            p, rng.uniform(0.7, 0.9), 0.0, side_step=float(rng.choice([-1, 1])) * 0.25, amp=on, arm_swing=0.05
        )
    elif kind == "squat":
        depth = rng.uniform(0.75, 1.0)  # knee 1.8 * depth stays inside the H1's 2.05 rad
        s = depth * on * 0.5 * (1 - torch.cos(2 * math.pi * rng.uniform(0.3, 0.4) * t))
        for side in ("L", "R"):
            p.leg(side, 0.9 * s, 1.8 * s, 0.75 * s, 0.12)
        p.root = _rx(0.35 * s)
        p.apply("Spine1", _rx(0.15 * s))
        p.arm("L", 0.9 * s, 0.1 + 0 * t, 0.2 + 0 * t)
        p.arm("R", 0.9 * s, 0.1 + 0 * t, 0.2 + 0 * t)
    elif kind in ("wave", "reach", "punch", "bend"):
        _stand_legs(p)
        side = str(rng.choice(["L", "R"]))
        other = "R" if side == "L" else "L"
        p.arm(other, 0.05 + 0 * t, 0.1 + 0 * t, 0.3 + 0 * t)
        if kind == "wave":  # upper arm out to the side, forearm up, waving side to side
            w = 2 * math.pi * rng.uniform(1.0, 1.5) * t
            p.arm(side, 0.2 * on, 1.5 * on, (1.3 + 0.4 * torch.sin(w)) * on + 0.2, -0.5 * math.pi * on)
        elif kind == "reach":
            period = rng.uniform(2.0, 3.0)
            r = on * 0.5 * (1 - torch.cos(2 * math.pi * t / period))
            p.arm(side, 1.5 * r, 0.4 * r * (1 if rng.uniform() < 0.5 else 0.2), 0.3 * (1 - r) + 0.05)
            p.apply("Spine2", _rx(0.3 * r) @ _ry((0.3 if side == "L" else -0.3) * r))
        elif kind == "punch":
            f = rng.uniform(0.6, 0.9)
            for s_, off in ((side, 0.0), (other, math.pi)):
                x = torch.clamp(torch.sin(2 * math.pi * f * t + off), min=0.0) ** 2 * on
                p.arm(s_, 0.6 + 0.9 * x, 0.15 + 0 * t, 2.0 * (1 - x) + 0.1)
            p.apply("Spine2", _ry(0.25 * torch.sin(2 * math.pi * f * t) * on))
        else:  # bend
            period = rng.uniform(3.0, 4.0)
            b = on * 0.5 * (1 - torch.cos(2 * math.pi * t / period))
            p.root = _rx(0.7 * b)
            p.apply("Spine1", _rx(0.3 * b))
            p.apply("Spine2", _rx(0.2 * b))
            _stand_legs(p, 0.1 + 0.0 * b)
            for s_ in ("L", "R"):
                p.rot[:, J(f"{s_}_Hip")] = _rz((0.05 if s_ == "L" else -0.05) + 0 * t) @ _rx(-0.05 - 0.75 * b)
                p.rot[:, J(f"{s_}_Ankle")] = _rx(0.0 * t)
            p.arm("L", 0.9 * b, 0.1 + 0 * t, 0.2 + 0 * t)
            p.arm("R", 0.9 * b, 0.1 + 0 * t, 0.2 + 0 * t)
    elif kind == "wave_both":
        _stand_legs(p)
        w = 2 * math.pi * rng.uniform(1.0, 1.5) * t
        for side, ph in (("L", 0.0), ("R", math.pi)):
            p.arm(side, 0.2 * on, 1.5 * on, (1.3 + 0.4 * torch.sin(w + ph)) * on + 0.2, -0.5 * math.pi * on)
    elif kind == "idle":
        _idle(p, rng)
    elif kind == "stand":  # standing still: breathing only
        _stand_legs(p, 0.08)
        breathe = 0.02 * torch.sin(2 * math.pi * 0.25 * t)
        p.apply("Spine3", _rx(breathe))
        p.arm("L", 0.05 + 0 * t, 0.1 + 0 * t, 0.25 + 0 * t)
        p.arm("R", 0.05 + 0 * t, 0.1 + 0 * t, 0.25 + 0 * t)
    else:
        raise ValueError(f"unknown synthetic motion kind {kind!r}")
    return p


def _plant_feet(rest: Tensor, pose_aa: Tensor, fps: float) -> Tensor:
    """Root translation [T, 3] keeping the supporting foot planted and the lowest sole point at z = 0.

    The supporting foot is the lower one and pivots about its lower point, heel (ankle) or toe (foot
    joint); with hysteresis: the other foot / point takes over once it is clearly lower."""
    joints, _ = smpl_forward_kinematics(rest, pose_aa, torch.zeros(pose_aa.shape[0], 3, dtype=pose_aa.dtype))
    points = torch.stack([joints[:, [J("L_Ankle"), J("L_Foot")]], joints[:, [J("R_Ankle"), J("R_Foot")]]], 1)
    sole = points[..., 2] - torch.tensor(
        [_ANKLE_SOLE, _FOOT_SOLE], dtype=pose_aa.dtype
    )  # [T, 2 feet, 2 points]
    foot_sole = sole.min(-1).values  # [T, 2]
    trans = torch.zeros(pose_aa.shape[0], 3, dtype=pose_aa.dtype)
    f = int(foot_sole[0].argmin())
    p = int(sole[0, f].argmin())
    for k in range(1, pose_aa.shape[0]):
        if foot_sole[k, 1 - f] < foot_sole[k, f] - _SWITCH_MARGIN:
            f = 1 - f
            p = int(sole[k, f].argmin())
        elif sole[k, f, 1 - p] < sole[k, f, p] - _SWITCH_MARGIN:
            p = 1 - p
        trans[k, :2] = trans[k - 1, :2] + points[k - 1, f, p, :2] - points[k, f, p, :2]
    trans[:, 2] = -foot_sole.min(-1).values
    return trans


# (kind, duration s, clip name) of the built-in set.
# (kind, duration s, clip name) of the built-in set; gentle clips first (the first clip is the one
# quick smoke tests and demos pick).
KINDS: tuple[tuple[str, float, str], ...] = (
    ("stand", 5.0, "stand_still"), ("idle", 6.0, "stand_idle"), ("wave_both", 5.0, "wave_both"),
    ("wave", 5.0, "wave_one_arm"), ("reach", 6.0, "reach_1"), ("reach", 5.0, "reach_2"), ("punch", 5.0, "punch"),
    ("bend", 7.0, "bend_forward"), ("squat", 6.0, "squat_1"), ("squat", 5.0, "squat_2"),
    ("walk", 8.0, "walk_forward"), ("walk", 6.0, "walk_forward_short"), ("walk_turn", 8.0, "walk_turn_1"),
    ("walk_turn", 7.0, "walk_turn_2"), ("turn_in_place", 6.0, "turn_in_place"), ("sidestep", 6.0, "sidestep_1"),
    ("sidestep", 5.0, "sidestep_2"),
)  # fmt: skip
SOURCE_FPS = (30.0, 60.0, 100.0, 120.0)


#: makes a locomotion clip ``(kind, duration s, fps, rest_joints [24, 3], rng, name)`` another way, or
#: returns None to leave the kind to this module (see ``random_motions.step_gait_clip``)
LocomotionMaker = Callable[[str, float, float, Tensor, np.random.Generator, str], "HumanClip | None"]


def synthetic_clip(
    kind: str,
    duration: float,
    fps: float,
    rest_joints: Tensor,
    seed: int,
    name: str | None = None,
    locomotion: LocomotionMaker | None = None,
) -> HumanClip:
    """One synthetic clip of ``kind`` (see :data:`KINDS`) at ``fps`` for a skeleton ``rest_joints`` [24, 3].

    ``locomotion``: tried first (with this clip's generator); ``hover retarget --builtin`` passes the
    foot-space gait of ``hover motion generate`` calibrated to the fitted skeleton, whose stance feet
    do not slide after retargeting. Without it the joint-space gait of :func:`_gait` is used (its feet
    roll and slide in double support, and its stride does not match the fitted skeleton's root travel)."""
    rng = np.random.default_rng(seed)
    if locomotion is not None:
        made = locomotion(kind, duration, fps, rest_joints.to(torch.float64), rng, name or kind)
        if made is not None:
            return made
    p = _make_clip(kind, rng, duration, fps)
    base = quat_to_matrix(torch.tensor(SMPL_TO_ROBOT_AXES, dtype=torch.float64))
    heading0 = float(rng.uniform(-math.pi, math.pi))
    root = _rz(p.heading + heading0) @ base @ p.root
    rot = p.rot.clone()
    rot[:, 0] = root
    pose_aa = quat_to_rotvec(matrix_to_quat(rot))
    trans = _plant_feet(rest_joints.to(torch.float64), pose_aa, fps)
    trans[:, :2] += torch.from_numpy(rng.uniform(-1.0, 1.0, 2))
    return HumanClip(
        name=name or kind,
        fps=fps,
        pose_aa=pose_aa.numpy(),
        trans=trans.numpy(),
        betas=np.zeros(10),
        gender="neutral",
    )


def synthetic_clips(
    seed: int = DEFAULT_SEED,
    rest_joints: Tensor | None = None,
    kinds: Sequence[tuple] = KINDS,
    progress: Callable[[int], None] | None = None,
    locomotion: LocomotionMaker | None = None,
) -> list[HumanClip]:
    """The built-in synthetic human set: one clip per ``(kind, duration[, name])`` entry of ``kinds``.

    A clip's randomness (and source frame rate, one of :data:`SOURCE_FPS`) depends only on the seed and
    its name, so subsets reproduce the same clips. ``locomotion``: see :func:`synthetic_clip`."""
    if rest_joints is None:
        from hover.retarget.body_model import load_synthetic_body_model

        rest_joints = load_synthetic_body_model().rest_joints(torch.zeros(1, 10))[0]
    clips = []
    for i, entry in enumerate(kinds):
        kind, duration = entry[0], entry[1]
        name = entry[2] if len(entry) > 2 else f"{kind}_{i:02d}"
        key = zlib.crc32(name.encode())
        fps = SOURCE_FPS[key % len(SOURCE_FPS)]
        clips.append(
            synthetic_clip(
                kind, duration, fps, rest_joints, seed=seed * 100_003 + key, name=name, locomotion=locomotion
            )
        )
        if progress:
            progress(1)
    return clips
