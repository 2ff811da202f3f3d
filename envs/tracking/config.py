"""Configuration of the tracking task. Every number that shapes it lives here.

Rewards and terminations are declarative, as in mjlab: a recipe is a table of terms, each a
registered pure function (``rewards.REWARD_FUNCTIONS``, ``terminations.TERMINATION_FUNCTIONS``)
with a weight and keyword parameters, so a recipe is data and any weight or parameter can be
overridden from the command line (``--env.rewards.body_pos.weight 2.0``). Observations are lists
of registered term names (``observations.OBSERVATION_TERMS``).

The defaults are the project's ``tracking`` recipe (anchor-relative, BeyondMimic-style rewards and
terminations, residual actions on the reference, compact observations); the HOVER paper's
formulation is the ``hover-paper`` preset in :mod:`hover.envs.tracking.recipes`.

Units: metres, seconds, radians, newtons; ranges are ``(low, high)`` of a uniform draw.
Configs are plain dataclasses: ``dataclasses.asdict`` gives JSON, :func:`config_from_dict`
rebuilds them (unknown keys are an error, missing keys take the defaults).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from hover.config_codec import config_from_dict
from hover.robots import RobotSpec
from hover.robots.gains import DEFAULT_DAMPING_RATIO, DEFAULT_FREQUENCY_HZ, natural_frequency_gains

__all__ = [
    "ActionConfig",
    "CurriculumConfig",
    "DomainRandConfig",
    "GainsConfig",
    "ObservationConfig",
    "ResetConfig",
    "RewardTerm",
    "SamplingConfig",
    "StudentObsConfig",
    "TerminationTerm",
    "TrackingEnvConfig",
    "config_from_dict",
    "eval_terminations",
    "tracking_rewards",
    "tracking_terminations",
]


@dataclass
class RewardTerm:
    """One reward term: ``weight * func(step, **params)`` (x ``reward_scale``; x the penalty
    curriculum's scale when ``penalty``). ``func`` names an entry of ``rewards.REWARD_FUNCTIONS``."""

    func: str
    weight: float
    params: dict[str, float] = field(default_factory=dict)
    penalty: bool = False


@dataclass
class TerminationTerm:
    """One failure condition: ``func(step, **params)`` -> bool [N] (``terminations.TERMINATION_FUNCTIONS``).

    ``during_push_grace``: False suppresses the term for ``push_grace_steps`` after a push (tracking
    errors right after a push are expected). ``curriculum``: its ``threshold`` parameter is multiplied
    by the termination curriculum's scale.
    """

    func: str
    params: dict[str, float] = field(default_factory=dict)
    during_push_grace: bool = True
    curriculum: bool = False


def tracking_rewards() -> dict[str, RewardTerm]:
    """The ``tracking`` recipe's rewards (BeyondMimic's terms and widths): exp(-err^2 / std^2) kernels
    on the anchor (torso) pose in the world and on every tracked body re-anchored at the robot's
    anchor; small regularisers."""
    return {
        "anchor_pos": RewardTerm("anchor_pos_error_exp", 0.5, {"std": 0.3}),
        "anchor_ori": RewardTerm("anchor_ori_error_exp", 0.5, {"std": 0.4}),
        "body_pos": RewardTerm("relative_body_pos_error_exp", 1.0, {"std": 0.3}),
        "body_ori": RewardTerm("relative_body_ori_error_exp", 1.0, {"std": 0.4}),
        "body_lin_vel": RewardTerm("body_lin_vel_error_exp", 1.0, {"std": 1.0}),
        "body_ang_vel": RewardTerm("body_ang_vel_error_exp", 1.0, {"std": 3.14}),
        "action_rate": RewardTerm("action_rate_l2", -0.1, penalty=True),
        "joint_limits": RewardTerm("joint_pos_limits", -10.0, {"soft_fraction": 0.9}, penalty=True),
        "undesired_contacts": RewardTerm("undesired_contacts", -0.1, {"threshold": 1.0}, penalty=True),
    }


def tracking_terminations() -> dict[str, TerminationTerm]:
    """The ``tracking`` recipe's failures: anchor height and tilt, end-effector heights (no horizontal
    distance, so drifting does not end an episode) and the evaluation's own mean body distance and
    contact test (a non-foot body touching anything, the other leg included: turning in place, the
    two hip-yaw housings can touch)."""
    return {
        "anchor_height": TerminationTerm("anchor_height_error", {"threshold": 0.25}, False, True),
        "anchor_tilt": TerminationTerm("anchor_gravity_z_error", {"threshold": 0.8}, False),
        "ee_height": TerminationTerm("end_effector_height_error", {"threshold": 0.25}, False, True),
        "mean_body_distance": TerminationTerm("mean_body_distance", {"threshold": 0.5}, False),
        "undesired_contacts": TerminationTerm("undesired_contacts", {"threshold": 1.0}, False),
        "sim_diverged": TerminationTerm("sim_diverged"),
    }


def eval_terminations() -> dict[str, TerminationTerm]:
    """The evaluation protocol's failures, the same for every recipe: a fall (the pelvis tilted more
    than 44 deg away from the reference pelvis, or a contact on a body other than the feet/hands) or a
    mean tracked-body distance above 0.5 m. The tilt is relative to the reference: a clip whose own
    pelvis bows past 44 deg (``bend_forward``) is passable by tracking it."""
    return {
        "gravity_tilt": TerminationTerm("pelvis_tilt_from_reference", {"limit": 0.76}),
        "undesired_contacts": TerminationTerm("undesired_contacts", {"threshold": 1.0}),
        "ref_distance": TerminationTerm("mean_body_distance", {"threshold": 0.5}),
        "sim_diverged": TerminationTerm("sim_diverged"),
    }


@dataclass
class ActionConfig:
    """How an action becomes PD targets (rad): ``base + scale_j * a``.

    ``residual``: base = reference joints extrapolated ``lookahead_s`` ahead (``q_ref + lookahead *
    qd_ref``), so a zero action PD-tracks the motion; otherwise base = the default pose.
    ``scale_mode``: ``uniform`` (``scale`` on every joint) or ``effort`` (``scale * effort_limit / kp``
    per joint: the target offset at which the PD torque reaches ``scale`` of the effort limit).
    """

    residual: bool = True
    lookahead_s: float = 0.02
    scale: float = 0.25
    scale_mode: Literal["uniform", "effort"] = "effort"


@dataclass
class GainsConfig:
    """The PD gains of the simulated actuators: kp (N m/rad), kd (N m s/rad).

    ``mode``: ``robot`` (the default: the robot's own gains, from ``hover.robots``) or
    ``natural-frequency`` (BeyondMimic: on every joint kp = armature (2 pi ``frequency_hz``)^2 and
    kd = 2 ``damping_ratio`` armature 2 pi ``frequency_hz``, armature in kg m^2, frequency in Hz; see
    :func:`hover.robots.natural_frequency_gains`). The ``effort`` action scale divides by these kp, so
    with this mode it is BeyondMimic's ``scale * effort_limit / K``. The caller builds the backend with
    :meth:`apply` (the env checks it); an exported policy records the gains it was trained with.
    """

    mode: Literal["robot", "natural-frequency"] = "robot"
    frequency_hz: float = DEFAULT_FREQUENCY_HZ  # Hz (natural-frequency mode only)
    damping_ratio: float = DEFAULT_DAMPING_RATIO  # dimensionless (natural-frequency mode only)

    def apply(self, robot: RobotSpec) -> RobotSpec:
        """``robot`` with the gains of this config (``robot`` itself in ``robot`` mode); ValueError for
        an unknown mode or a non-positive frequency / negative damping ratio."""
        if self.mode == "robot":
            return robot
        if self.mode == "natural-frequency":
            return natural_frequency_gains(robot, self.frequency_hz, self.damping_ratio)
        raise ValueError(f"gains.mode must be 'robot' or 'natural-frequency', got {self.mode!r}")

    def check(self, robot: RobotSpec, rel_tol: float = 1e-6) -> None:
        """ValueError unless ``robot`` (the backend's description) has the gains :meth:`apply` gives it
        (checked in ``natural-frequency`` mode: the robot's own gains cannot be told from its spec)."""
        if self.mode == "robot":
            return
        want = self.apply(robot)
        for have, expected in zip(robot.joints, want.joints, strict=True):
            for name in ("kp", "kd"):
                a, b = getattr(have, name), getattr(expected, name)
                if abs(a - b) > rel_tol * max(abs(a), abs(b), 1.0):
                    raise ValueError(
                        f"gains.mode {self.mode}: joint {have.name} has {name} {a:g} in the simulated robot, "
                        f"{b:g} expected; build the backend with cfg.gains.apply(robot)"
                    )


@dataclass
class CurriculumConfig:
    """Curricula driven by the EMA of finished episode lengths (policy steps).

    Penalty curriculum (HOVER): ``penalty_scale`` multiplies every ``penalty`` reward term; it shrinks
    by ``(1 - degree)`` while the EMA is below ``level_down_threshold`` and grows by ``(1 + degree)``
    above ``level_up_threshold``, within [min_scale, max_scale]. Termination curriculum (ASAP):
    ``termination_scale`` multiplies the threshold of every ``curriculum`` termination term; it grows
    (looser) below ``termination_down_threshold`` and shrinks (tighter) above ``termination_up_threshold``
    by ``termination_degree``, within [1, termination_max_scale].
    """

    enabled: bool = False
    initial_penalty_scale: float = 0.5
    level_down_threshold: float = 50.0
    level_up_threshold: float = 125.0
    degree: float = 1e-5
    ema: float = 0.01
    min_scale: float = 0.0
    max_scale: float = 1.0
    termination: bool = False
    initial_termination_scale: float = 2.0
    termination_down_threshold: float = 40.0
    termination_up_threshold: float = 42.0
    termination_degree: float = 2.5e-5
    termination_max_scale: float = 4.0


@dataclass
class ObservationConfig:
    """Observation groups as lists of term names (``observations.OBSERVATION_TERMS``).

    ``policy``: the actor; ``critic``: the critic's extra terms (it also gets the policy terms without
    noise). ``noise``: uniform +- ``noise_scales[term]`` on actor terms during training;
    ``ref_offset``: per-episode uniform +- offset (m, world) of the reference seen by the actor
    (the paper preset's ``ref_pos_diff``/``ref_body_pos`` terms only).
    ``last_action_actions``: the action convention in which the policy and critic groups'
    ``last_action`` term is expressed (None: the env's own actions). A student env sets it to the
    teacher's, so the frozen teacher labels from the observation it was trained on.
    """

    policy: tuple[str, ...] = (
        "ref_joint_pos",
        "ref_joint_vel",
        "ref_anchor_pos",
        "ref_anchor_rot",
        "ref_body_pos_local",
        "root_lin_vel_local",
        "root_ang_vel_local",
        "projected_gravity",
        "joint_pos_rel",
        "joint_vel",
        "last_action",
    )
    critic: tuple[str, ...] = ("body_pos_local", "privileged")
    noise: bool = True
    noise_scales: dict[str, float] = field(
        default_factory=lambda: {
            "joint_pos_rel": 0.01,
            "joint_vel": 0.2,
            "root_lin_vel_local": 0.1,
            "root_ang_vel_local": 0.1,
            "projected_gravity": 0.02,
            "ref_anchor_pos": 0.01,
        }
    )
    ref_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    last_action_actions: ActionConfig | None = None


@dataclass
class ResetConfig:
    """Reference state initialisation with noise (uniform +-): root position (m; z lifted by
    0..``pos_z`` only, never into the floor), root roll/pitch and yaw (rad), joints (rad, clipped to
    the limits), root linear (m/s) and angular (rad/s) velocity. ``noise=False``: exact reference.

    ``default_pose_prob``: share of sampled resets that instead start at a clip's first frame with the
    robot at rest in its DEFAULT pose (feet on the floor, the reference's heading), where ``hover run``'s
    soft start leaves the real robot; the policy learns to move from there onto the motion.
    """

    noise: bool = True
    default_pose_prob: float = 0.0
    pos_xy: float = 0.05
    pos_z: float = 0.02
    roll_pitch: float = 0.05
    yaw: float = 0.2
    joint_pos: float = 0.05
    lin_vel: float = 0.3
    ang_vel: float = 0.3


@dataclass
class DomainRandConfig:
    """Domain randomisation (HOVER's ranges); ``enabled=False`` turns every item off (nominal
    physics, no pushes)."""

    enabled: bool = True
    friction_range: tuple[float, float] = (0.7, 1.3)
    mass_scale_range: tuple[float, float] = (0.7, 1.3)
    mass_bodies: tuple[str, ...] | None = None  # None = the robot's ``mass_randomized_bodies``
    torso_com_offset: float = 0.1  # m, per axis +-
    kp_scale_range: tuple[float, float] = (0.75, 1.25)
    kd_scale_range: tuple[float, float] = (0.75, 1.25)
    torque_noise_fraction: float = 0.1  # of the effort limit, constant per episode, sign random
    torque_noise_scale_range: tuple[float, float] = (0.5, 1.5)
    push_interval_s: float = 5.0
    push_vel_xy: float = 1.0  # m/s, +-


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
        "random",
        "random",
        "exbody",
        "humanplus",
        "h2o",
        "omnih2o",
        "left_hand",
        "right_hand",
        "two_hands",
        "head",
        "locomotion",
    )
    sparsity: bool = True  # the paper's per-element sparsity bits in "random" masks
    history_length: int = 25


@dataclass
class TrackingEnvConfig:
    """The whole tracking task; defaults are the ``tracking`` recipe (see the module docstring)."""

    episode_length_s: float = 10.0
    control_delay_steps: tuple[int, int] = (0, 3)  # inclusive range, policy steps
    clip_actions: float = 100.0
    check_finite: bool = True  # raise on NaN/inf in observations or rewards, naming the term
    seed: int = 0
    reward_scale: float = 0.02  # multiplies every weight (0.02 = the policy dt, as manager-based envs do)
    push_grace_steps: int = 60  # steps after a push during which tracking-error terminations are off
    rewards: dict[str, RewardTerm] = field(default_factory=tracking_rewards)
    terminations: dict[str, TerminationTerm] = field(default_factory=tracking_terminations)
    actions: ActionConfig = field(default_factory=ActionConfig)
    gains: GainsConfig = field(default_factory=GainsConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    observations: ObservationConfig = field(default_factory=ObservationConfig)
    reset: ResetConfig = field(default_factory=ResetConfig)
    domain_rand: DomainRandConfig = field(default_factory=DomainRandConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    student: StudentObsConfig = field(default_factory=StudentObsConfig)
    reference_follows_robot: Literal["never", "root_only", "always"] = "never"
    """move the reference horizontally every step so its root's x, y are the robot's (heading, height
    and posture untouched): the tracking goes on without a global position to return to, as with a
    joystick. ``root_only``: student envs whose mask commands nothing but the root (locomotion mode: the
    teacher labels follow the commanded velocity and heading instead of walking back to a drifted path,
    and drift does not end the episode); ``always``: every env (an evaluation of local tracking)"""
    follow_slack_m: float = 0.2
    """how far (m, horizontal) the robot's root may stray from the following reference's before the
    reference is dragged along; within it the robot tracks the reference in the world as usual (with 0
    the reference sits on the robot, and a swaying pelvis drags the reference's feet with it)"""

    def eval_config(self) -> TrackingEnvConfig:
        """Copy for evaluation (the protocol, whatever the recipe): no DR, flat ground, delay fixed
        to 2 steps, no pushes, no observation or reset noise, no reference offset, uniform sampling,
        no curricula, the reference in the world (not following the robot), and the protocol's
        terminations (:func:`eval_terminations`)."""
        cfg = copy.deepcopy(self)
        cfg.domain_rand.enabled = False
        cfg.control_delay_steps = (2, 2)
        cfg.observations.noise = False
        cfg.observations.ref_offset = (0.0, 0.0, 0.0)
        cfg.reset.noise = False
        cfg.terminations = eval_terminations()
        cfg.sampling.adaptive = False
        cfg.curriculum.enabled = False
        cfg.curriculum.termination = False
        cfg.reference_follows_robot = "never"  # tracked in the world
        cfg.episode_length_s = 3600.0  # clips end by motion end, not by the episode limit
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrackingEnvConfig:
        return config_from_dict(cls, data)
