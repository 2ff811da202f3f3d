"""A walking gait designed in foot space: planted feet stay exactly still, swing feet land from above.

The pelvis (upright, no pitch or roll) moves forward at a given speed profile; each foot lands at a spot
ahead of the hip, stays there through its stance, and swings to its next spot on a smooth path with
zero world velocity at lift-off and touch-down (quintic timing forward, sin^2 lift), so its approach is
vertical. Hip and knee flexion follow from planar inverse kinematics on the skeleton's own thigh and
shank vectors: with zero hip abduction all leg joints rotate about the SMPL x axis, so the sagittal
plane model is exact and the stance ankle is stationary to numerical precision. The ankle keeps the
sole parallel to the ground (toes lifted a little in mid-swing).

Units: m, s, rad. Coordinates of the planar model: (y up, z forward) in the SMPL body frame, relative
to the hip joint. Stance fraction 0.6 of a cycle; the right leg runs half a cycle after the left.
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
    """Sagittal-plane leg of a skeleton ``rest`` [24, 3]: thigh and shank (y, z) vectors (m)."""

    def __init__(self, rest: Tensor, side: str = "L"):
        j = {n: rest[joint_index(f"{side}_{n}")].to(torch.float64) for n in ("Hip", "Knee", "Ankle")}
        self.thigh = (j["Knee"] - j["Hip"])[1:]
        self.shank = (j["Ankle"] - j["Knee"])[1:]

    def fk(self, hip: Tensor, knee: Tensor) -> Tensor:
        """Ankle position [..., 2] relative to the hip for hip flexion and knee flexion (rad)."""
        shank = _rot(self.shank.expand(knee.shape + (2,)), knee)
        return _rot(self.thigh + shank, -hip)

    def reach(self, knee: float) -> float:
        """Hip-ankle distance (m) at knee flexion ``knee``."""
        return float(self.fk(torch.zeros(()), torch.tensor(knee, dtype=torch.float64)).norm())

    def ik(self, target: Tensor, knee_min: float = 0.02) -> tuple[Tensor, Tensor]:
        """Hip and knee flexion [...] placing the ankle at ``target`` [..., 2] (distance clamped to the
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


def _quintic(x: Tensor) -> Tensor:
    x = x.clamp(0, 1)
    return x * x * x * (x * (6 * x - 15) + 10)


def walk_leg_angles(leg: PlanarLeg, t: Tensor, speed: Tensor, freq: float, clearance: Tensor,
                    stand: tuple[float, float], on: Tensor) -> dict[str, tuple[Tensor, Tensor, Tensor]]:  # fmt: skip
    """Hip flexion, knee flexion and ankle dorsiflexion [T] of both legs ("L", "R").

    ``t`` [T] times (s, uniform), ``speed`` [T] pelvis speed (m/s, in the skeleton's units), ``freq``
    gait cycles/s, ``clearance`` [T] swing-foot lift (m), ``stand`` the standing (hip, knee) flexion the
    gait starts from and returns to where ``on`` [T] (0..1) is 0.

    The hip height follows a gentle bob (highest in mid single support) but is lowered wherever a foot
    target would need a knee straighter than ``KNEE_MIN``: near full extension the knee angle changes
    fast for small changes of the hip-ankle distance."""
    dt = float(t[1] - t[0])
    tn = t.numpy()
    x_p = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]).numpy()) * dt])  # pelvis travel
    st = leg.fk(torch.tensor(stand[0], dtype=torch.float64), torch.tensor(stand[1], dtype=torch.float64))
    y_stand, z_stand = float(-st[0]), float(st[1])  # hip height over the ankle, foot offset ahead of the hip
    a = (STANCE / 2 * speed / freq).numpy()  # half the distance the pelvis travels over a stance

    def at(times: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.interp(times, tn, values)  # constant outside the clip (still at both ends)

    feet = {}  # per leg: forward position relative to the hip, lift, swing phase, swing flag
    for side, off in (("L", 0.0), ("R", 0.5)):
        s = (freq * t - off).numpy()
        k = np.floor(s)
        u = s - k
        t_k, t_next = (k + off) / freq, (k + 1 + off) / freq
        land = at(t_k, x_p) + z_stand + at(t_k, a)  # where this step landed (its stance spot)
        land_next = at(t_next, x_p) + z_stand + at(t_next, a)
        tau = torch.from_numpy(np.clip((u - STANCE) / (1 - STANCE), 0.0, 1.0))
        swing = torch.from_numpy(u >= STANCE)
        zero = torch.zeros_like(tau)
        fwd = torch.from_numpy(land - x_p) + torch.where(swing, _quintic(tau), zero) * torch.from_numpy(
            land_next - land
        )
        lift = torch.where(swing, torch.sin(math.pi * tau) ** 2, zero) * clearance
        feet[side] = (fwd, lift, tau, swing, t_k + STANCE / freq, t_next)
    # hip height over the floor-level ankle: the bob, capped by the reach at KNEE_MIN for every foot target
    reach = leg.reach(KNEE_MIN)
    bump = torch.sin(2 * math.pi * (freq * t - 0.05)) ** 2  # 1 in mid single support, 0 in double support
    design = (1 - on) * y_stand + on * (leg.reach(KNEE_MID) - BOB * (1 - bump))
    cap = torch.stack(
        [lift + torch.sqrt((reach**2 - fwd**2).clamp(min=0.0)) for fwd, lift, *_ in feet.values()]
    )
    cap = cap.min(0).values
    y_p = torch.minimum(design, cap)
    y_p = torch.minimum(_smooth(y_p, 4.0), cap)  # no kinks where the cap takes over
    out = {}
    for side, (fwd, lift, tau, swing, t_off, t_on) in feet.items():
        hip, knee = leg.ik(torch.stack((-y_p + lift, fwd), -1))
        # ankle: sole parallel to the floor in stance; in swing a smooth turn from its lift-off angle to its
        # touch-down angle with the toes a little up (following knee - hip there would be needlessly fast)
        flat = (knee - hip).numpy()
        turn = torch.from_numpy(at(t_off, flat) + (at(t_on, flat) - at(t_off, flat)) * _quintic(tau).numpy())
        w = torch.where(swing, torch.sin(math.pi * tau) ** 2, torch.zeros_like(tau))
        ankle = (1 - w) * (knee - hip) + w * (turn + TOE_UP * on)
        out[side] = (hip, knee, ankle)
    return out


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
