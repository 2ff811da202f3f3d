"""A stepping gait designed in foot space: planted feet stay exactly still, swing feet land from above.

The pelvis (upright, no pitch or roll) moves at a given velocity profile in the body frame (forward
and/or sideways) and sways sideways over the supporting foot (:func:`lateral_sway`); each foot lands at
a spot ahead of its neutral position (by half the pelvis travel of a stance), stays there through its stance, and swings to its next spot on a smooth path with zero
world velocity at lift-off and touch-down (quintic timing, sin^2 lift), so its approach is vertical.
Hip flexion, knee flexion and hip abduction follow from exact inverse kinematics on the skeleton's own
thigh and shank vectors (flexion about the SMPL x axis, abduction about z applied after it, as
``synthetic._Pose.leg`` composes them), so a stance ankle is stationary to numerical precision. The
ankle keeps the sole level in pitch (toes lifted a little in mid-swing); a side step tilts the sole
sideways by the hip abduction, as on the H1, which has no ankle roll.

Units: m, s, rad. Coordinates: SMPL body frame (x left, y up, z forward) relative to the hip joint.
Stance fraction 0.6 of a cycle; the right leg runs half a cycle after the left.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from hover.retarget.skeleton import joint_index

STANCE = 0.6  # fraction of a gait cycle a foot supports
KNEE_MIN = 0.25  # rad: the knee never straightens further while walking (the IK stays well-conditioned)
KNEE_MID = 0.15  # rad: knee flexion of the hip height's top in mid single support
BOB = 0.02  # m: hip height drop from mid single support to double support, before the reach cap
TOE_UP = 0.15  # rad, extra dorsiflexion in mid-swing


def _rot(v: Tensor, a: Tensor) -> Tensor:
    """Rotate planar (y, z) vectors [..., 2] by ``a`` (rad) as SMPL's rotation about +x does."""
    c, s = torch.cos(a), torch.sin(a)
    return torch.stack((c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]), -1)


def _angle(v: Tensor) -> Tensor:
    return torch.atan2(v[..., 1], v[..., 0])


class PlanarLeg:
    """Leg of a skeleton ``rest`` [24, 3]: thigh and shank (y, z) vectors (m) of the sagittal chain, and the
    hip-to-ankle lateral offset ``side_offset`` (m, x), which hip and knee flexion (about x) leave alone."""

    def __init__(self, rest: Tensor, side: str = "L"):
        j = {n: rest[joint_index(f"{side}_{n}")].to(torch.float64) for n in ("Hip", "Knee", "Ankle")}
        self.sign = 1.0 if side == "L" else -1.0
        self.thigh = (j["Knee"] - j["Hip"])[1:]
        self.shank = (j["Ankle"] - j["Knee"])[1:]
        self.side_offset = float((j["Ankle"] - j["Hip"])[0])

    def fk(self, hip: Tensor, knee: Tensor) -> Tensor:
        """Ankle position [..., 2] (y, z) relative to the hip for hip flexion and knee flexion (rad)."""
        shank = _rot(self.shank.expand(knee.shape + (2,)), knee)
        return _rot(self.thigh + shank, -hip)

    def fk3(self, hip: Tensor, knee: Tensor, abd: Tensor) -> Tensor:
        """Ankle position [..., 3] (x, y, z) relative to the hip; ``abd`` hip abduction (rad, outwards),
        applied after the flexion as in ``synthetic._Pose.leg``."""
        yz = self.fk(hip, knee)
        x = torch.full_like(yz[..., 0], self.side_offset)
        phi = self.sign * abd
        c, s = torch.cos(phi), torch.sin(phi)
        return torch.stack((c * x - s * yz[..., 0], s * x + c * yz[..., 0], yz[..., 1]), -1)

    def reach(self, knee: float) -> float:
        """Hip-ankle distance (m) in the sagittal chain at knee flexion ``knee``."""
        return float(self.fk(torch.zeros(()), torch.tensor(knee, dtype=torch.float64)).norm())

    def ik(self, target: Tensor, knee_min: float = 0.02) -> tuple[Tensor, Tensor]:
        """Hip and knee flexion [...] placing the ankle at ``target`` [..., 2] (y, z) (distance clamped to the
        reach at ``knee_min``; the knee bends backwards)."""
        u, w = self.thigh, self.shank
        d2 = (target * target).sum(-1).clamp(max=self.reach(knee_min) ** 2)
        # |u + R(k) w|^2 = |u|^2 + |w|^2 + 2 (A cos k + B sin k)
        a = float(u[0] * w[0] + u[1] * w[1])
        b = float(u[1] * w[0] - u[0] * w[1])
        rho = math.hypot(a, b)
        c = ((d2 - float(u @ u) - float(w @ w)) / 2 / rho).clamp(-1.0, 1.0)
        phi = math.atan2(b, a)
        knee = phi + torch.acos(c)
        knee = torch.remainder(knee + math.pi, 2 * math.pi) - math.pi
        alt = torch.remainder(phi - torch.acos(c) + math.pi, 2 * math.pi) - math.pi
        knee = torch.where(knee >= alt, knee, alt).clamp(min=0.0)  # the flexed (positive) branch
        q = self.thigh + _rot(self.shank.expand(knee.shape + (2,)), knee)
        hip = _angle(q) - _angle(target)
        return torch.remainder(hip + math.pi, 2 * math.pi) - math.pi, knee

    def ik3(self, target: Tensor, knee_min: float = 0.02) -> tuple[Tensor, Tensor, Tensor]:
        """Hip flexion, knee flexion and hip abduction [...] placing the ankle at ``target`` [..., 3]."""
        x, y, z = target.unbind(-1)
        y_leg = -torch.sqrt((x * x + y * y - self.side_offset**2).clamp(min=1e-9))  # in the leg's plane
        phi = torch.atan2(y, x) - torch.atan2(y_leg, torch.full_like(y_leg, self.side_offset))
        phi = torch.remainder(phi + math.pi, 2 * math.pi) - math.pi
        hip, knee = self.ik(torch.stack((y_leg, z), -1), knee_min)
        return hip, knee, self.sign * phi


def _quintic(x: Tensor) -> Tensor:
    x = x.clamp(0, 1)
    return x * x * x * (x * (6 * x - 15) + 10)


def step_leg_angles(
    legs: dict[str, PlanarLeg],
    t: Tensor,
    velocity: Tensor,
    freq: float,
    clearance: Tensor,
    stand: tuple[float, float, float],
    on: Tensor,
    widen: float = 0.5,
    sway: float = 0.0,
    drop: Tensor | None = None,
) -> dict[str, tuple[Tensor, Tensor, Tensor, Tensor]]:
    """Hip flexion, knee flexion, ankle dorsiflexion and hip abduction [T] of both legs ("L", "R").

    ``t`` [T] times (s, uniform); ``velocity`` [T, 2] pelvis velocity in the body frame (sideways x, + to
    the left; forward z; m/s in the skeleton's units); ``freq`` gait cycles/s; ``clearance`` [T] swing-foot
    lift (m); ``stand`` the standing (hip flexion, knee flexion, abduction) the gait starts from and returns
    to where ``on`` [T] (0..1) is 0. Side steps widen the stance by ``widen`` x the side step, so the
    trailing foot does not land against the leading one. ``sway`` (m): the pelvis shifts sideways towards
    the supporting foot by up to this much in mid single support (through zero in mid double support,
    scaled by ``on``), as a walking body's centre of mass does (:func:`lateral_sway`); the planted feet
    stay where they are. ``drop`` [T] (m, >= 0): the hip is that much lower than the gait's own height
    (walking or standing crouched); None = 0.

    The hip height follows a gentle bob (highest in mid single support) but is lowered wherever a foot
    target would need a knee straighter than ``KNEE_MIN``: near full extension the knee angle changes
    fast for small changes of the hip-ankle distance."""
    dt = float(t[1] - t[0])
    tn = t.numpy()
    v = velocity.numpy()
    travel = np.concatenate([np.zeros((1, 2)), np.cumsum(0.5 * (v[1:] + v[:-1]), 0) * dt])  # [T, 2] x, z
    a = STANCE / 2 * v / freq  # [T, 2] half the pelvis travel over a stance

    def at(times: np.ndarray, values: np.ndarray) -> np.ndarray:  # [T, 2] values at times [T]
        return np.stack([np.interp(times, tn, values[:, i]) for i in range(values.shape[1])], -1)

    f64 = torch.float64
    # + (left) in left single support (left-foot phase 0.1-0.5), - in right single support
    shift = torch.from_numpy(sway * np.sin(2 * np.pi * (freq * tn - 0.05))) * on
    feet, y_stand = {}, 0.0  # per leg: (x, z) relative to the hip, lift, swing phase, swing flag, lift-off/on
    for side, off in (("L", 0.0), ("R", 0.5)):
        leg = legs[side]
        st = leg.fk3(*(torch.tensor(x, dtype=f64) for x in stand)).numpy()
        y_stand = float(-st[1])  # hip height over the ankle
        neutral = np.array([st[0], st[2]])
        wide = np.stack([leg.sign * widen * np.abs(a[:, 0]), np.zeros(len(a))], -1)
        s = (freq * t - off).numpy()
        k = np.floor(s)
        u = s - k
        t_k, t_next = (k + off) / freq, (k + 1 + off) / freq
        land = at(t_k, travel + a + wide) + neutral  # where this step landed (its stance spot)
        land_next = at(t_next, travel + a + wide) + neutral
        tau = torch.from_numpy(np.clip((u - STANCE) / (1 - STANCE), 0.0, 1.0))
        swing = torch.from_numpy(u >= STANCE)
        zero = torch.zeros_like(tau)
        frac = torch.where(swing, _quintic(tau), zero)[:, None]
        rel = torch.from_numpy(land - travel) + frac * torch.from_numpy(land_next - land)  # [T, 2]
        rel[:, 0] -= shift  # the hip moves over the supporting foot; the feet stay put
        lift = torch.where(swing, torch.sin(math.pi * tau) ** 2, zero) * clearance
        feet[side] = (rel, lift, tau, swing, t_k + STANCE / freq, t_next)
    # hip height over the floor-level ankle: the bob, capped by the reach at KNEE_MIN for every foot target
    bump = torch.sin(2 * math.pi * (freq * t - 0.05)) ** 2  # 1 in mid single support, 0 in double support
    design = (1 - on) * y_stand + on * (legs["L"].reach(KNEE_MID) - BOB * (1 - bump))
    if drop is not None:
        design = design - drop
    caps = []
    for side, (rel, lift, *_) in feet.items():
        leg = legs[side]
        room = leg.reach(KNEE_MIN) ** 2 - rel[:, 1] ** 2 - rel[:, 0] ** 2 + leg.side_offset**2
        caps.append(lift + torch.sqrt(room.clamp(min=0.0)))
    cap = torch.stack(caps).min(0).values
    y_p = torch.minimum(design, cap)
    y_p = torch.minimum(_smooth(y_p, 4.0), cap)  # no kinks where the cap takes over
    out = {}
    for side, (rel, lift, tau, swing, t_off, t_on) in feet.items():
        hip, knee, abd = legs[side].ik3(torch.stack((rel[:, 0], -y_p + lift, rel[:, 1]), -1))
        # ankle: sole parallel to the floor in stance; in swing a smooth turn from its lift-off angle to its
        # touch-down angle with the toes a little up (following knee - hip there would be needlessly fast)
        flat = (knee - hip).numpy()[:, None]
        a0, a1 = at(t_off, flat)[:, 0], at(t_on, flat)[:, 0]
        turn = torch.from_numpy(a0 + (a1 - a0) * _quintic(tau).numpy())
        w = torch.where(swing, torch.sin(math.pi * tau) ** 2, torch.zeros_like(tau))
        ankle = (1 - w) * (knee - hip) + w * (turn + TOE_UP * on)
        out[side] = (hip, knee, ankle, abd)
    return out


def lateral_sway(half_width: float, height: float, freq: float, gravity: float = 9.81) -> float:
    """Sideways pelvis excursion (m) of a periodic walk: the linear inverted pendulum's.

    A centre of mass at ``height`` (m) over feet ``half_width`` (m) either side of the midline, changing
    support every half cycle (``freq`` cycles/s), oscillates with amplitude
    ``half_width (1 - 1 / cosh(omega T / 2))``, ``omega = sqrt(g / height)``, ``T = 0.5 / freq``:
    far enough towards each supporting foot to be caught by the next one. About 3.5 cm for an adult
    at 0.8 cycles/s."""
    if half_width <= 0 or height <= 0 or freq <= 0:
        raise ValueError(f"lateral_sway needs positive sizes, got {half_width=}, {height=}, {freq=}")
    omega = math.sqrt(gravity / height)
    return half_width * (1.0 - 1.0 / math.cosh(omega * 0.25 / freq))


def _smooth(x: Tensor, sigma: float) -> Tensor:
    """Gaussian smoothing [T] (sigma in samples, edges replicated)."""
    r = int(3 * sigma)
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=x.dtype) / sigma) ** 2)
    pad = torch.cat([x[:1].expand(r), x, x[-1:].expand(r)])
    return torch.nn.functional.conv1d(pad[None, None], (k / k.sum())[None, None])[0, 0]


def single_support_weight(t: Tensor, freq: float) -> Tensor:
    """Weight [T] with mean 1 over a cycle that is 0 in double support and smooth (C1) in single support.

    Multiplying a turning rate by it turns the body only while one foot is planted, so a landing foot
    is not carried sideways by the turn and both planted feet stay still in double support."""
    double = STANCE - 0.5  # double support after each touch-down (fraction of a cycle)
    half = torch.remainder(freq * t, 0.5)  # the pattern repeats every step
    w = ((half - double) / (0.5 - double)).clamp(0, 1)  # 0..1 over single support
    taper = 0.3  # raised-cosine (Tukey) window: rise over 30 %, flat, fall over 30 %
    g = torch.sin(0.5 * math.pi * torch.minimum(w, 1 - w).clamp(max=taper) / taper) ** 2
    return g / ((1 - taper) * (0.5 - double) / 0.5)
