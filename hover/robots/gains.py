"""PD gains of a robot from a natural frequency (BeyondMimic's tracking recipe).

Each joint is treated as its reflected rotor inertia (``Joint.armature``, kg m^2) on a PD servo that
should ring at ``frequency_hz`` with damping ratio ``damping_ratio``::

    omega = 2 pi frequency_hz                      (rad/s)
    kp    = armature * omega^2                     (N m/rad)
    kd    = 2 * damping_ratio * armature * omega   (N m s/rad)

BeyondMimic uses 10 Hz and a damping ratio of 2. The robot's own gains (``hover.robots.h1.GAINS``)
stay the default everywhere; this only builds another description with the same facts but these gains.
"""

from __future__ import annotations

import dataclasses
import math

from hover.robots.spec import RobotSpec

__all__ = [
    "DEFAULT_DAMPING_RATIO",
    "DEFAULT_FREQUENCY_HZ",
    "natural_frequency_gains",
    "natural_frequency_kp_kd",
]

DEFAULT_FREQUENCY_HZ = 10.0  # Hz: BeyondMimic's natural frequency
DEFAULT_DAMPING_RATIO = 2.0  # BeyondMimic's damping ratio (over-damped)


def natural_frequency_kp_kd(
    armature: float, frequency_hz: float = DEFAULT_FREQUENCY_HZ, damping_ratio: float = DEFAULT_DAMPING_RATIO
) -> tuple[float, float]:
    """(kp N m/rad, kd N m s/rad) of a joint with rotor inertia ``armature`` (kg m^2) ringing at
    ``frequency_hz`` (Hz, > 0) with ``damping_ratio`` (>= 0); ValueError for other values."""
    if not (math.isfinite(frequency_hz) and frequency_hz > 0.0):
        raise ValueError(f"frequency_hz must be a finite number > 0 Hz, got {frequency_hz}")
    if not (math.isfinite(damping_ratio) and damping_ratio >= 0.0):
        raise ValueError(f"damping_ratio must be a finite number >= 0, got {damping_ratio}")
    if not (math.isfinite(armature) and armature > 0.0):
        raise ValueError(f"armature must be > 0 kg m^2 for gains from a natural frequency, got {armature}")
    omega = 2.0 * math.pi * frequency_hz
    return armature * omega**2, 2.0 * damping_ratio * armature * omega


def natural_frequency_gains(
    spec: RobotSpec, frequency_hz: float = DEFAULT_FREQUENCY_HZ, damping_ratio: float = DEFAULT_DAMPING_RATIO
) -> RobotSpec:
    """``spec`` with every joint's ``kp`` (N m/rad) and ``kd`` (N m s/rad) replaced by the gains of
    :func:`natural_frequency_kp_kd` for its own ``armature`` (kg m^2); every other fact is unchanged.

    ``frequency_hz`` in Hz (> 0), ``damping_ratio`` dimensionless (>= 0). ValueError naming the joint
    when a joint has no armature (its gains would be zero)."""
    bodies = []
    for b in spec.bodies:
        j = b.joint
        if j is not None:
            try:
                kp, kd = natural_frequency_kp_kd(j.armature, frequency_hz, damping_ratio)
            except ValueError as e:
                raise ValueError(f"{spec.name} joint {j.name}: {e}") from e
            b = dataclasses.replace(b, joint=dataclasses.replace(j, kp=kp, kd=kd))
        bodies.append(b)
    return dataclasses.replace(spec, bodies=tuple(bodies))
