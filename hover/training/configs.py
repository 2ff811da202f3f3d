"""Typed training configs: one base for every run, the teacher's (PPO) and the student's (DAgger).

Every field is a command-line option (tyro) and the resolved config is saved as JSON beside every run
(``config.json``) and inside every checkpoint. ``*_config_from_json`` read them back; configs written
before recipes existed (the HOVER paper formulation as flat reward/termination settings) are read as
the ``hover-paper`` recipe with the same numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hover.config_codec import config_from_dict
from hover.envs.tracking.config import ActionConfig, TrackingEnvConfig
from hover.envs.tracking.recipes import upgrade_env_dict
from hover.robots import DEFAULT_ROBOT, get_robot

BUILTIN_TEACHER = "builtin:teacher"


@dataclass
class RunConfig:
    """What every training run has: simulator, data, length, folders, checkpoints, threads, env."""

    backend: str = "mujoco"  # simulator backend: mujoco | mjwarp
    num_envs: int = 768
    motions: str | None = None  # motion file or folder; None = the built-in set
    max_iterations: int = 1000  # total iterations of the run (also when resuming)
    resume: str | None = None  # run folder or checkpoint to continue
    reset_sampler: bool = False  # on --resume: a fresh clip sampler (needed when the motions changed)
    run_dir: str | None = None  # default: runs/<kind>/<date-time>
    save_interval: int = 50  # iterations between checkpoints
    keep_checkpoints: int = 5  # newest checkpoints kept (0 = all)
    eval_interval: int = 50  # iterations between evaluations (the protocol's success rate; 0 = never)
    eval_motions: tuple[str, ...] = ("builtin",)  # motion sets evaluated (files, folders or "builtin")
    seed: int = 0
    device: str = "cpu"
    num_threads: int | None = None  # simulator threads / worker processes (None = all cores)
    sim_workers: bool = True  # MuJoCo: step the envs in worker processes (True) or threads (False)
    torch_threads: int | None = 1  # torch threads during rollouts (None = torch default)
    update_threads: int | None = None  # torch threads during updates (None = all cores)
    robot: str = DEFAULT_ROBOT
    env: TrackingEnvConfig = field(default_factory=TrackingEnvConfig)


@dataclass
class PPOConfig:
    """rsl-rl PPO settings; defaults are the ``tracking`` recipe's (see ``hover.training.recipes``)."""

    num_steps_per_env: int = 24
    num_learning_epochs: int = 5
    num_mini_batches: int = 4
    learning_rate: float = 3e-4
    schedule: str = "fixed"  # "fixed" or "adaptive" (rsl-rl: the rate follows the KL to desired_kl)
    desired_kl: float = 0.01
    gamma: float = 0.99
    lam: float = 0.95
    clip_param: float = 0.2
    entropy_coef: float = 0.0
    value_loss_coef: float = 1.0
    max_grad_norm: float = 1.0
    use_clipped_value_loss: bool = True
    # bfloat16 autocast in the update where native (3-4x faster on CPUs with AVX512-BF16)
    use_mixed_precision: bool = False


@dataclass
class ModelConfig:
    actor_hidden_dims: tuple[int, ...] = (512, 256, 128)
    critic_hidden_dims: tuple[int, ...] = (512, 256, 128)
    activation: str = "elu"
    obs_normalization: bool = True
    init_noise_std: float = 0.3
    std_range: tuple[float, float] = (0.05, 0.4)  # the action std is clamped to this range
    learn_std: bool = True
    actor_output_gain: float = 0.01  # scales the fresh actor's last layer (0.01: start at zero actions)


@dataclass
class TeacherTrainConfig(RunConfig):
    """Train the oracle teacher with PPO. Defaults are the ``tracking`` recipe."""

    recipe: str = "tracking"  # task + training preset (hover.training.recipes): tracking | hover-paper
    reset_action_std: float | None = None  # on --resume: set the policy's action noise std to this value
    ppo: PPOConfig = field(default_factory=PPOConfig)
    model: ModelConfig = field(default_factory=ModelConfig)


@dataclass
class DistillationConfig:
    num_steps_per_env: int = 24
    num_learning_epochs: int = 2
    gradient_length: int = 8  # steps whose losses are summed per gradient step (6 steps per iteration)
    learning_rate: float = 5e-4
    max_grad_norm: float = 1.0
    loss_type: str = "mse"
    # bfloat16 autocast in the update where native; off: the regression needs float32 precision
    use_mixed_precision: bool = False


@dataclass
class StudentModelConfig:
    hidden_dims: tuple[int, ...] = (640, 384, 256)
    activation: str = "elu"
    obs_normalization: bool = True
    action_noise_std: float = 0.05  # exploration noise of the student's own rollouts (DAgger)


def student_env() -> TrackingEnvConfig:
    """The student's task: the tracking recipe's episodes with ABSOLUTE actions (default pose +
    ``RobotSpec.action_scale`` x a), the convention the exported policy uses on the robot, and a fifth
    of the episodes starting from the default pose, where ``hover run``'s soft start leaves the robot."""
    cfg = TrackingEnvConfig()
    cfg.actions = ActionConfig(
        residual=False, scale=get_robot(DEFAULT_ROBOT).action_scale, scale_mode="uniform"
    )
    cfg.reset.default_pose_prob = 0.2  # the robot starts every policy run from its default pose
    return cfg


@dataclass
class StudentTrainConfig(RunConfig):
    """Distil the teacher into the masked multi-mode student (DAgger)."""

    num_envs: int = 256
    teacher: str = BUILTIN_TEACHER  # teacher checkpoint, run folder or builtin:teacher
    modes: str = "all"  # "all" (generalist) or comma-separated mode names (specialist), "random" allowed
    eval_interval: int = 100  # iterations between per-mode evaluations (0 = never)
    # named command modes each eval set is evaluated in (see hover eval --mode)
    eval_modes: tuple[str, ...] = ("omnih2o", "h2o", "locomotion")
    env: TrackingEnvConfig = field(default_factory=student_env)
    distillation: DistillationConfig = field(default_factory=DistillationConfig)
    model: StudentModelConfig = field(default_factory=StudentModelConfig)


def _train_dict(text: str) -> dict:
    data = json.loads(text)
    train = dict(data["train"] if "train" in data else data)
    if "env" in train:
        upgraded = upgrade_env_dict(train["env"])
        if upgraded is not train["env"] and "recipe" not in train and "teacher" not in train:
            train["recipe"] = "hover-paper"
        train["env"] = upgraded
    return train


def teacher_config_from_json(text: str, where: str = "config") -> TeacherTrainConfig:
    """A teacher run's config from its JSON (``config.json`` or a checkpoint's ``config``)."""
    return config_from_dict(TeacherTrainConfig, _train_dict(text), where)


def student_config_from_json(text: str, where: str = "config") -> StudentTrainConfig:
    """A student run's config from its JSON."""
    return config_from_dict(StudentTrainConfig, _train_dict(text), where)
