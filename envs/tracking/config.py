"""Configuration of the oracle-teacher tracking task, with the HOVER paper's defaults.

Every number that shapes the task lives here: reward weights and kernel widths, penalty curriculum,
termination thresholds, observation noise, domain randomisation ranges, control delay and motion
sampling. Units: metres, seconds, radians, newtons; ranges are ``(low, high)`` of a uniform draw.

Configs are plain dataclasses: ``dataclasses.asdict`` gives JSON, :func:`config_from_dict`
rebuilds them (unknown keys are an error, missing keys take the defaults).
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

T = TypeVar("T")


@dataclass
class RewardConfig:
    """Reward weights (raw weighted sum per policy step, no x dt) and exp-kernel widths ``sigma``.

    Task terms are ``weight * exp(-mean squared error / sigma)``. Every other term is a penalty or
    regulariser and is multiplied by the curriculum's ``penalty_scale``.
    """

    # task terms
    joint_pos: float = 32.0
    joint_pos_sigma: float = 0.5
    joint_vel: float = 16.0
    joint_vel_sigma: float = 1.0
    body_lin_vel: float = 8.0
    body_lin_vel_sigma: float = 10.0
    body_ang_vel: float = 8.0
    body_ang_vel_sigma: float = 10.0
    body_pos: float = 30.0  # 0.5 exp(-e_lower/0.5) + 1.0 exp(-e_upper/0.03)
    body_pos_lower_sigma: float = 0.5
    body_pos_upper_sigma: float = 0.03
    body_pos_lower_weight: float = 0.5
    body_pos_upper_weight: float = 1.0
    vr_keypoints: float = 50.0  # head and both hands
    vr_keypoints_sigma: float = 0.03
    # penalties
    torques: float = -1e-4
    torque_limits: float = -2.0
    torque_limit_fraction: float = 0.85
    joint_acc: float = -1.1e-5
    joint_vel_l2: float = -0.004
    lower_action_rate: float = -3.0
    upper_action_rate: float = -0.625
    joint_pos_limits: float = -125.0
    joint_vel_limits: float = -50.0
    soft_joint_pos_limit: float = 0.9  # fraction of the joint range, centred
    soft_joint_vel_limit: float = 0.9  # fraction of the velocity limit
    termination: float = -250.0
    feet_contact_force: float = -0.75
    max_contact_force: float = 500.0
    stumble: float = -1000.0
    slippage: float = -37.5
    feet_orientation: float = -62.5
    feet_air_time: float = 1000.0
    feet_air_time_target: float = 0.25  # s
    feet_air_time_min_ref_speed: float = 0.1  # m/s, reference pelvis xy speed
    both_feet_in_air: float = -200.0
    base_orientation: float = -200.0
    feet_max_height: float = -2500.0
    feet_max_height_target: float = 0.25  # m, foot body height before touchdown
    contact_threshold: float = 1.0  # N, a foot is in contact above this normal force
    scale: float = (
        1.0  # multiplies every weight; 1.0 = the paper's raw sum, 0.02 (= dt) gives legged_gym-sized returns
    )


@dataclass
class CurriculumConfig:
    """Penalty curriculum: ``penalty_scale`` follows the EMA of finished episode lengths (steps)."""

    enabled: bool = True
    initial_penalty_scale: float = 0.5
    level_down_threshold: float = 50.0
    level_up_threshold: float = 125.0
    degree: float = 1e-5
    ema: float = 0.01
    min_scale: float = 0.0
    max_scale: float = 1.0


@dataclass
class TerminationConfig:
    """Early terminations. ``ref_distance_mode``: "max" (any tracked body, training) or "mean" (test)."""

    gravity_xy_limit: float = 0.7  # |g_x| or |g_y| of the projected gravity
    contact_force_limit: float = 1.0  # N on robot.termination_contact_bodies
    ref_distance: float = 0.5  # m
    ref_distance_mode: Literal["max", "mean"] = "max"
    push_grace_steps: int = 60  # reference-distance termination suppressed after a push
    undesired_contacts: bool = True


@dataclass
class ObservationConfig:
    """Actor observation noise (uniform +-) and per-episode reference offset (uniform +-, m)."""

    noise: bool = True
    body_noise: float = 0.01
    ref_pos_diff_noise: float = 0.05
    ref_offset: tuple[float, float, float] = (0.02, 0.02, 0.1)


@dataclass
class DomainRandConfig:
    """Domain randomisation; ``enabled=False`` turns every item off (nominal physics, no pushes)."""

    enabled: bool = True
    friction_range: tuple[float, float] = (0.7, 1.3)
    mass_scale_range: tuple[float, float] = (0.7, 1.3)
    mass_bodies: tuple[str, ...] = (
        "pelvis", "left_hip_yaw_link", "left_hip_roll_link", "left_hip_pitch_link",
        "right_hip_yaw_link", "right_hip_roll_link", "right_hip_pitch_link", "torso_link",
    )  # fmt: skip
    torso_com_offset: float = 0.1  # m, per axis +-
    kp_scale_range: tuple[float, float] = (0.75, 1.25)
    kd_scale_range: tuple[float, float] = (0.75, 1.25)
    torque_noise_fraction: float = 0.1  # of the effort limit, constant per episode, sign random
    torque_noise_scale_range: tuple[float, float] = (0.5, 1.5)
    push_interval_s: float = 5.0
    push_vel_xy: float = 1.0  # m/s, +-
    reset_joint_pos_noise: float = 0.05  # rad, +-
    reset_root_vel_noise: float = 0.05  # m/s, +-


@dataclass
class SamplingConfig:
    """Failure-weighted motion sampling (see ``sampling.py``)."""

    adaptive: bool = True
    bin_s: float = 1.0
    alpha: float = 0.001  # EMA rate of the per-bin failure counts (per env step)
    uniform_ratio: float = 0.1  # share of the probability mass spread uniformly over time
    kernel_size: int = 3  # a failure also raises the probability of the bins just before it
    kernel_decay: float = 0.8


@dataclass
class StudentObsConfig:
    """The student's observation group ``"student"`` (off for the teacher).

    ``modes``: what each episode's mask is drawn from, uniformly per env: named modes
    (``hover.commands.MODE_NAMES``) and/or ``"random"`` (the paper's per-region mode x sparsity
    draw). The generalist default mixes the paper's random masks with every named mode, so each
    named mode is seen directly (about 9 % of episodes each) and random combinations in the rest.
    """

    enabled: bool = False
    modes: tuple[str, ...] = (
        "random", "random", "exbody", "humanplus", "h2o", "omnih2o", "left_hand", "right_hand",
        "two_hands", "head", "locomotion",
    )  # fmt: skip
    sparsity: bool = True  # the paper's per-element sparsity bits in "random" masks
    history_length: int = 25


@dataclass
class TrackingEnvConfig:
    """The whole tracking task. Defaults are the HOVER teacher's training setting."""

    episode_length_s: float = 20.0
    control_delay_steps: tuple[int, int] = (0, 3)  # inclusive range, policy steps
    clip_actions: float = 100.0
    reset_height_offset: float = 0.0  # m added to the reference root height at reset
    check_finite: bool = True  # raise on NaN/inf in observations or rewards, naming the term
    seed: int = 0
    rewards: RewardConfig = field(default_factory=RewardConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    terminations: TerminationConfig = field(default_factory=TerminationConfig)
    observations: ObservationConfig = field(default_factory=ObservationConfig)
    domain_rand: DomainRandConfig = field(default_factory=DomainRandConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    student: StudentObsConfig = field(default_factory=StudentObsConfig)

    def eval_config(self) -> TrackingEnvConfig:
        """Copy for evaluation: no DR, flat ground, delay fixed to 2 steps, no pushes, no obs noise,
        no reference offset, uniform sampling, mean-distance termination."""
        cfg = copy.deepcopy(self)
        cfg.domain_rand.enabled = False
        cfg.control_delay_steps = (2, 2)
        cfg.observations.noise = False
        cfg.observations.ref_offset = (0.0, 0.0, 0.0)
        cfg.terminations.ref_distance_mode = "mean"
        cfg.sampling.adaptive = False
        cfg.curriculum.enabled = False
        cfg.episode_length_s = 3600.0  # clips end by motion end, not by the episode limit
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrackingEnvConfig:
        return config_from_dict(cls, data)


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected a mapping for {tp.__name__}, got {type(value).__name__}")
        return config_from_dict(tp, value, where)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, where) for v in value)
        return tuple(_convert(a, v, where) for a, v in zip(args, value, strict=True))
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(args[0], value, where) if len(args) == 1 else value
    if tp is float and isinstance(value, int):
        return float(value)
    return value


def config_from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Rebuild dataclass ``cls`` from a (JSON) dict; lists become tuples, nested dicts dataclasses."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{where}: unknown keys for {cls.__name__}: {sorted(unknown)}")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    return cls(**kwargs)
