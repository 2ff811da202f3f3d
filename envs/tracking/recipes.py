"""Named task recipes: a :class:`TrackingEnvConfig` per recipe, as data.

- ``tracking`` (the default, ``TrackingEnvConfig()``): BeyondMimic-style anchor-relative rewards and
  terminations, residual actions on the reference with per-joint scales from the effort limits,
  compact observations, reset noise, adaptive sampling, 10 s episodes, weights x dt.
- ``hover-paper``: the HOVER teacher as the paper describes it: 913-dim observations in the pelvis
  heading frame, absolute actions around the default pose (scale 0.25), global body-position
  rewards with the paper's weights and widths, the 0.5 m max-distance termination and the penalty
  curriculum, 20 s episodes, raw weighted sum.

Training settings that go with a recipe (PPO, network, env count) are in ``hover.training.recipes``.
"""

from __future__ import annotations

from hover.envs.tracking.config import (
    ActionConfig,
    CurriculumConfig,
    ObservationConfig,
    ResetConfig,
    RewardTerm,
    TerminationTerm,
    TrackingEnvConfig,
)
from hover.envs.tracking.observations import POLICY_TERMS, ROBOT_STATE_TERMS


def hover_paper_rewards() -> dict[str, RewardTerm]:
    """HOVER's teacher rewards (paper Table / HOVER code): task terms, then penalties and regularisers."""
    t = RewardTerm
    return {
        "joint_pos": t("joint_pos_exp", 32.0, {"sigma": 0.5}),
        "joint_vel": t("joint_vel_exp", 16.0, {"sigma": 1.0}),
        "body_lin_vel": t("body_lin_vel_exp", 8.0, {"sigma": 10.0}),
        "body_ang_vel": t("body_ang_vel_exp", 8.0, {"sigma": 10.0}),
        "body_pos": t(
            "body_pos_split_exp",
            30.0,
            {"lower_sigma": 0.5, "upper_sigma": 0.03, "lower_weight": 0.5, "upper_weight": 1.0},
        ),
        "vr_keypoints": t("vr_keypoints_exp", 50.0, {"sigma": 0.03}),
        "torques": t("torques_l2", -1e-4, penalty=True),
        "torque_limits": t("torque_limits", -2.0, {"fraction": 0.85}, penalty=True),
        "joint_acc": t("joint_acc_l2", -1.1e-5, penalty=True),
        "joint_vel_l2": t("joint_vel_l2", -0.004, penalty=True),
        "lower_action_rate": t("lower_action_rate_l2", -3.0, penalty=True),
        "upper_action_rate": t("upper_action_rate_l2", -0.625, penalty=True),
        "joint_pos_limits": t("joint_pos_limits", -125.0, {"soft_fraction": 0.9}, penalty=True),
        "joint_vel_limits": t("joint_vel_limits", -50.0, {"soft_fraction": 0.9}, penalty=True),
        "termination": t("termination", -250.0, penalty=True),
        "feet_contact_force": t("feet_contact_force", -0.75, {"max_force": 500.0}, penalty=True),
        "stumble": t("stumble", -1000.0, penalty=True),
        "slippage": t("slippage", -37.5, penalty=True),
        "feet_orientation": t("feet_orientation", -62.5, penalty=True),
        "feet_air_time": t("feet_air_time", 1000.0, {"target": 0.25, "min_ref_speed": 0.1}, penalty=True),
        "both_feet_in_air": t("both_feet_in_air", -200.0, penalty=True),
        "base_orientation": t("base_orientation", -200.0, penalty=True),
        "feet_max_height": t("feet_max_height", -2500.0, {"target": 0.25}, penalty=True),
    }


def hover_paper_terminations() -> dict[str, TerminationTerm]:
    """HOVER's training terminations: tilt, undesired contacts, any body 0.5 m from its global reference."""
    return {
        "gravity_tilt": TerminationTerm("gravity_tilt", {"limit": 0.7}),
        "undesired_contacts": TerminationTerm("undesired_contacts", {"threshold": 1.0}),
        "ref_distance": TerminationTerm("max_body_distance", {"threshold": 0.5}, during_push_grace=False),
        "sim_diverged": TerminationTerm("sim_diverged"),
    }


def hover_paper() -> TrackingEnvConfig:
    """The HOVER paper's teacher task (see the module docstring)."""
    noise = {k: 0.01 for k in ROBOT_STATE_TERMS} | {"ref_pos_diff": 0.05}
    return TrackingEnvConfig(
        episode_length_s=20.0,
        reward_scale=1.0,
        rewards=hover_paper_rewards(),
        terminations=hover_paper_terminations(),
        actions=ActionConfig(residual=False, scale=0.25, scale_mode="uniform"),
        curriculum=CurriculumConfig(enabled=True),
        observations=ObservationConfig(
            policy=POLICY_TERMS, critic=("privileged",), noise_scales=noise, ref_offset=(0.02, 0.02, 0.1)
        ),
        reset=ResetConfig(
            pos_xy=0.0, pos_z=0.0, roll_pitch=0.0, yaw=0.0, joint_pos=0.05, lin_vel=0.05, ang_vel=0.0
        ),
    )


def tracking() -> TrackingEnvConfig:
    """The project's tracking recipe (the defaults of :class:`TrackingEnvConfig`)."""
    return TrackingEnvConfig()


ENV_RECIPES = {"tracking": tracking, "hover-paper": hover_paper}


def env_recipe(name: str) -> TrackingEnvConfig:
    """A fresh config of the named recipe; ValueError naming the known ones."""
    if name not in ENV_RECIPES:
        raise ValueError(f"unknown recipe {name!r}; known: {', '.join(ENV_RECIPES)}")
    return ENV_RECIPES[name]()


# ----------------------------------------------------------------------------- configs from before recipes
_OLD_REWARD_PARAMS = {  # old flat RewardConfig: term -> {param: old field}
    "joint_pos": {"sigma": "joint_pos_sigma"},
    "joint_vel": {"sigma": "joint_vel_sigma"},
    "body_lin_vel": {"sigma": "body_lin_vel_sigma"},
    "body_ang_vel": {"sigma": "body_ang_vel_sigma"},
    "body_pos": {
        "lower_sigma": "body_pos_lower_sigma",
        "upper_sigma": "body_pos_upper_sigma",
        "lower_weight": "body_pos_lower_weight",
        "upper_weight": "body_pos_upper_weight",
    },
    "vr_keypoints": {"sigma": "vr_keypoints_sigma"},
    "torque_limits": {"fraction": "torque_limit_fraction"},
    "joint_pos_limits": {"soft_fraction": "soft_joint_pos_limit"},
    "joint_vel_limits": {"soft_fraction": "soft_joint_vel_limit"},
    "feet_contact_force": {"max_force": "max_contact_force"},
    "feet_air_time": {"target": "feet_air_time_target", "min_ref_speed": "feet_air_time_min_ref_speed"},
    "feet_max_height": {"target": "feet_max_height_target"},
}


def upgrade_env_dict(env: dict) -> dict:
    """An env config dict written before recipes (flat ``RewardConfig``/``TerminationConfig``; the HOVER
    paper's formulation) rewritten as the ``hover-paper`` recipe with the same numbers. New dicts are
    returned unchanged."""
    rewards = env.get("rewards", {})
    if not rewards or not isinstance(next(iter(rewards.values())), int | float):
        return env
    import dataclasses

    new = dataclasses.asdict(hover_paper())
    for name, term in new["rewards"].items():
        term["weight"] = float(rewards.get(name, term["weight"]))
        for param, old in _OLD_REWARD_PARAMS.get(name, {}).items():
            if old in rewards:
                term["params"][param] = float(rewards[old])
    new["reward_scale"] = float(rewards.get("scale", 1.0))
    t = env.get("terminations", {})
    far = "max_body_distance" if t.get("ref_distance_mode", "max") == "max" else "mean_body_distance"
    new["terminations"]["gravity_tilt"]["params"]["limit"] = float(t.get("gravity_xy_limit", 0.7))
    new["terminations"]["undesired_contacts"]["params"]["threshold"] = float(
        t.get("contact_force_limit", 1.0)
    )
    new["terminations"]["ref_distance"].update(
        func=far, params={"threshold": float(t.get("ref_distance", 0.5))}
    )
    if not t.get("undesired_contacts", True):
        del new["terminations"]["undesired_contacts"]
    new["push_grace_steps"] = int(t.get("push_grace_steps", 60))
    obs = env.get("observations", {})
    new["observations"]["noise"] = bool(obs.get("noise", True))
    new["observations"]["ref_offset"] = list(obs.get("ref_offset", (0.02, 0.02, 0.1)))
    for k in (
        "episode_length_s",
        "control_delay_steps",
        "clip_actions",
        "check_finite",
        "seed",
        "sampling",
        "student",
    ):
        if k in env:
            new[k] = env[k]
    dr = dict(env.get("domain_rand", {}))
    new["reset"]["joint_pos"] = float(dr.pop("reset_joint_pos_noise", 0.05))
    new["reset"]["lin_vel"] = float(dr.pop("reset_root_vel_noise", 0.05))
    new["domain_rand"].update(dr)
    new["curriculum"].update(env.get("curriculum", {}))
    return new
