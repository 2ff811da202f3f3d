"""Training recipes: a complete :class:`TeacherTrainConfig` per name (``hover train teacher --recipe``).

- ``tracking`` (the default): the task of ``hover.envs.tracking.recipes.tracking`` (anchor-relative
  rewards and terminations, residual actions, compact 182-dim observations) with PPO sized for a
  CPU: 768 envs x 24 steps = 18,432 samples per update, 5 epochs x 4 mini-batches, [512, 256, 128]
  ELU networks, initial action std 0.3 clamped to [0.05, 0.4], no entropy bonus (with 0.005 the std
  drifted up and tracking got worse), the actor's output layer scaled by 0.01 (a fresh policy
  PD-tracks the reference), a FIXED learning rate of 3e-4 (the KL-adaptive schedule pins the rate at
  its 1e-5 floor with so small an action std), and the update in bfloat16 autocast where the CPU
  has it natively (AVX512-BF16/AMX; 2.4-3.5x faster, same samples to success on the standing clips).
- ``hover-paper``: the HOVER paper's teacher task with the paper's PPO (64 envs here; the paper
  uses 4096), gradient-norm clip 0.2, init std 1.0.

Each is a plain function returning fresh dataclasses, so a recipe is data: it is saved whole in the
run's ``config.json`` and a resumed run continues with exactly the same settings.
"""

from __future__ import annotations

from collections.abc import Callable

from hover.envs.tracking.recipes import env_recipe
from hover.training.teacher import ModelConfig, PPOConfig, TeacherTrainConfig


def tracking() -> TeacherTrainConfig:
    return TeacherTrainConfig(
        recipe="tracking",
        num_envs=768,
        env=env_recipe("tracking"),
        ppo=PPOConfig(
            num_steps_per_env=24,
            num_learning_epochs=5,
            num_mini_batches=4,
            entropy_coef=0.0,
            max_grad_norm=1.0,
            schedule="fixed",
            learning_rate=3e-4,
            use_mixed_precision=True,
        ),
        model=ModelConfig(init_noise_std=0.3, std_range=(0.05, 0.4), actor_output_gain=0.01),
    )


def hover_paper() -> TeacherTrainConfig:
    return TeacherTrainConfig(
        recipe="hover-paper",
        num_envs=64,
        env=env_recipe("hover-paper"),
        ppo=PPOConfig(max_grad_norm=0.2, schedule="adaptive", learning_rate=1e-3),
        model=ModelConfig(init_noise_std=1.0, std_range=(1e-6, 1e6), actor_output_gain=1.0),
    )


TEACHER_RECIPES: dict[str, Callable[[], TeacherTrainConfig]] = {
    "tracking": tracking,
    "hover-paper": hover_paper,
}


def teacher_recipe(name: str) -> TeacherTrainConfig:
    """A fresh training config of the named recipe; ValueError naming the known ones."""
    if name not in TEACHER_RECIPES:
        raise ValueError(f"--recipe {name!r}: unknown recipe; known: {', '.join(TEACHER_RECIPES)}")
    return TEACHER_RECIPES[name]()


def recipe_argument(argv: list[str]) -> str | None:
    """The value of ``--recipe`` in a raw argument list (None when absent)."""
    for i, a in enumerate(argv):
        if a == "--recipe" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--recipe="):
            return a.split("=", 1)[1]
    return None
