"""The runner's operating states and their joint commands: pure, clock passed in, no I/O.

States and transitions (``Event`` from an input source, ``fault`` from the safety checks)::

    PASSIVE --START--> SOFT_START --(soft_start_s elapsed)--> HOLD --POLICY--> POLICY
    any --STOP--> DAMPING (held; terminal)
    fault "damping" --> DAMPING          fault "hold" --> HOLD (last safe targets)
    HOLD --POLICY--> POLICY (resume after a hold)

Joint commands per state (policy joint order, rad / rad/s / N m; gains N m/rad, N m s/rad):

- PASSIVE: zero torque (kp = kd = 0, tau = 0);
- SOFT_START: full gains, target interpolated linearly from the pose measured when START
  arrived to the default pose over ``soft_start_s`` seconds, then HOLD;
- HOLD: full gains, the held target (the default pose after a soft start, the last safe target
  after a hold fault);
- POLICY: full gains, the policy's target (given by the caller each tick);
- DAMPING: kp = 0, kd = ``damping_kd`` (joints slowed, no position control), held until restart.

Every transition is recorded as a :class:`Transition` with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class State(StrEnum):
    PASSIVE = "passive"
    SOFT_START = "soft_start"
    HOLD = "hold"
    POLICY = "policy"
    DAMPING = "damping"


@dataclass(frozen=True)
class MotorTargets:
    """One low-level command in policy joint order: tau = tau_ff + kp (q - q_meas) + kd (dq - dq_meas)."""

    q: np.ndarray  # [J] rad
    dq: np.ndarray  # [J] rad/s
    kp: np.ndarray  # [J] N m / rad
    kd: np.ndarray  # [J] N m s / rad
    tau: np.ndarray  # [J] N m feed-forward

    def is_finite(self) -> bool:
        return all(bool(np.all(np.isfinite(a))) for a in (self.q, self.dq, self.kp, self.kd, self.tau))


@dataclass(frozen=True)
class Transition:
    time: float  # s, the runner's monotonic clock
    src: State
    dst: State
    reason: str


@dataclass
class StateMachineConfig:
    """Timing and gains of the non-policy states."""

    soft_start_s: float = 3.0
    """seconds of interpolation from the measured pose to the default pose"""
    damping_kd: float = 8.0
    """N m s/rad on every joint in DAMPING (kp = 0), as Unitree's examples"""


@dataclass
class StateMachine:
    """Operating state + the joint command it implies (see the module docstring)."""

    default_q: np.ndarray  # [J] rad
    kp: np.ndarray  # [J]
    kd: np.ndarray  # [J]
    config: StateMachineConfig = field(default_factory=StateMachineConfig)
    state: State = State.PASSIVE
    history: list[Transition] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.default_q = np.asarray(self.default_q, dtype=np.float64)
        self.kp = np.asarray(self.kp, dtype=np.float64)
        self.kd = np.asarray(self.kd, dtype=np.float64)
        if not (self.default_q.shape == self.kp.shape == self.kd.shape) or self.default_q.ndim != 1:
            raise ValueError("default_q, kp and kd must be [J] arrays of one length")
        if self.config.soft_start_s < 0 or self.config.damping_kd < 0:
            raise ValueError("soft_start_s and damping_kd must be >= 0")
        self._start_q = self.default_q.copy()
        self._start_time = 0.0
        self._hold_q = self.default_q.copy()

    # ----- transitions ---------------------------------------------------------------------------
    def _go(self, dst: State, now: float, reason: str) -> None:
        self.history.append(Transition(now, self.state, dst, reason))
        self.state = dst

    def start(self, now: float, measured_q: np.ndarray) -> bool:
        """START: PASSIVE -> SOFT_START from ``measured_q`` (ignored in other states). True if taken."""
        if self.state is not State.PASSIVE:
            return False
        q = np.asarray(measured_q, dtype=np.float64)
        self._start_q = np.where(np.isfinite(q), q, self.default_q)
        self._start_time = now
        self._go(State.SOFT_START, now, "start event")
        return True

    def enter_policy(self, now: float) -> bool:
        """POLICY: HOLD -> POLICY (ignored elsewhere: the soft start must finish first)."""
        if self.state is not State.HOLD:
            return False
        self._go(State.POLICY, now, "policy event")
        return True

    def stop(self, now: float, reason: str = "stop event") -> bool:
        """STOP or a damping fault: any state -> DAMPING (held)."""
        if self.state is State.DAMPING:
            return False
        self._go(State.DAMPING, now, reason)
        return True

    def hold(self, now: float, q: np.ndarray, reason: str) -> bool:
        """A hold fault: SOFT_START/POLICY/HOLD -> HOLD at ``q`` (non-finite entries: default pose).

        PASSIVE and DAMPING are kept (holding would add stiffness the operator did not ask for).
        """
        if self.state in (State.PASSIVE, State.DAMPING):
            return False
        q = np.asarray(q, dtype=np.float64)
        self._hold_q = np.where(np.isfinite(q), q, self.default_q)
        if self.state is State.HOLD:
            return False
        self._go(State.HOLD, now, reason)
        return True

    def update(self, now: float) -> None:
        """Time-driven transitions: SOFT_START -> HOLD once ``soft_start_s`` has elapsed."""
        if self.state is State.SOFT_START and self.soft_start_fraction(now) >= 1.0:
            self._hold_q = self.default_q.copy()
            self._go(State.HOLD, now, "soft start done")

    def soft_start_fraction(self, now: float) -> float:
        """Interpolation fraction in [0, 1] of the soft start (1 when ``soft_start_s`` is 0)."""
        if self.config.soft_start_s <= 0:
            return 1.0
        return float(np.clip((now - self._start_time) / self.config.soft_start_s, 0.0, 1.0))

    # ----- commands ------------------------------------------------------------------------------
    def targets(self, now: float, policy_q: np.ndarray | None = None) -> MotorTargets:
        """The joint command of the current state at ``now``; ``policy_q`` [J] is used in POLICY only.

        In POLICY without ``policy_q`` the held target is sent (never a non-finite value).
        """
        j = self.default_q.shape[0]
        zeros = np.zeros(j)
        if self.state is State.PASSIVE:
            return MotorTargets(self.default_q.copy(), zeros, zeros.copy(), zeros.copy(), zeros.copy())
        if self.state is State.DAMPING:
            return MotorTargets(
                self.default_q.copy(), zeros, zeros.copy(), np.full(j, self.config.damping_kd), zeros.copy()
            )
        if self.state is State.SOFT_START:
            a = self.soft_start_fraction(now)
            q = (1.0 - a) * self._start_q + a * self.default_q
        elif self.state is State.POLICY and policy_q is not None:
            q = np.asarray(policy_q, dtype=np.float64)
        else:
            q = self._hold_q
        return MotorTargets(q.copy(), zeros, self.kp.copy(), self.kd.copy(), zeros.copy())
