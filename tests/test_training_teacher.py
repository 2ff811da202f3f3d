"""Teacher PPO training: short runs, checkpoints, exact resume, policy loading and export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from hover.checkpoints import list_checkpoints
from hover.cli.train_teacher import main
from hover.training.policies import load_policy
from hover.training.runner import HoverRunner, NonFiniteLossError
from hover.training.teacher import (
    TeacherTrainConfig,
    config_from_json,
    export_bundled,
    make_env,
    rsl_rl_config,
    train,
)

FAST = ["--num-envs", "4", "--num-threads", "1", "--save-interval", "1", "--ppo.num-steps-per-env", "8"]
FAST += ["--ppo.num-learning-epochs", "2", "--ppo.num-mini-batches", "2", "--eval-interval", "0"]


def _scalars(run_dir: Path, tag: str) -> dict[int, float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return {e.step: e.value for e in acc.Scalars(tag)}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("teacher") / "run"
    assert main([*FAST, "--max-iterations", "2", "--run-dir", str(out)], prog="hover train teacher") == 0
    return out


def test_short_run_writes_config_logs_and_checkpoints_with_finite_losses(run_dir):
    assert [p.name for p in list_checkpoints(run_dir)] == ["model_0.pt", "model_1.pt"]
    cfg = config_from_json((run_dir / "config.json").read_text())
    assert (
        cfg.num_envs == 4
        and cfg.ppo.num_steps_per_env == 8
        and cfg.model.actor_hidden_dims == (512, 256, 128)
    )
    assert json.loads((run_dir / "config.json").read_text())["rsl_rl"]["obs_groups"]["actor"] == ["policy"]
    for tag in ("Loss/value", "Loss/surrogate", "Loss/entropy"):
        values = _scalars(run_dir, tag)
        assert sorted(values) == [0, 1] and all(torch.isfinite(torch.tensor(v)) for v in values.values()), tag
    ckpt = torch.load(run_dir / "model_1.pt", weights_only=True)
    assert ckpt["iter"] == 1 and ckpt["logger"]["tot_timesteps"] == 2 * 4 * 8
    assert "obs_normalizer._mean" in ckpt["actor_state_dict"] and ckpt["optimizer_state_dict"]["state"]
    assert set(ckpt["env_state"]) == {
        "penalty_scale",
        "termination_scale",
        "episode_length_ema",
        "sampler_failure_ema",
    }


def test_resume_restores_iteration_optimiser_normaliser_and_continues_the_curve(run_dir, tmp_path):
    cfg = config_from_json((run_dir / "config.json").read_text())
    ckpt = torch.load(run_dir / "model_1.pt", weights_only=True)
    env = make_env(cfg)
    runner = HoverRunner(env, rsl_rl_config(cfg), log_dir=None)
    runner.load(str(run_dir / "model_1.pt"))
    assert runner.current_learning_iteration == 2
    for k, v in ckpt["actor_state_dict"].items():
        assert torch.equal(runner.alg.get_policy().state_dict()[k], v), k
    opt = runner.alg.optimizer.state_dict()
    for i, s in ckpt["optimizer_state_dict"]["state"].items():
        assert torch.equal(opt["state"][i]["exp_avg_sq"], s["exp_avg_sq"])
    assert runner.alg.learning_rate == ckpt["optimizer_state_dict"]["param_groups"][0]["lr"]
    assert env.penalty_scale == float(ckpt["env_state"]["penalty_scale"])
    assert runner.logger.tot_timesteps == 64
    env.backend.close()

    # continue the same run folder up to iteration 3 (a total): one more iteration, numbered 2
    assert main(["--resume", str(run_dir), "--max-iterations", "3"], prog="hover train teacher") == 0
    new = torch.load(run_dir / "model_2.pt", weights_only=True)
    assert new["iter"] == 2 and new["logger"]["tot_timesteps"] == 3 * 4 * 8
    assert 2 in _scalars(run_dir, "Loss/value")
    norm_old = ckpt["actor_state_dict"]["obs_normalizer.count"]
    assert (
        new["actor_state_dict"]["obs_normalizer.count"] > norm_old
    )  # normaliser kept learning from its state


def test_load_policy_and_export_bundled_give_the_runner_actions(run_dir, tmp_path):
    policy = load_policy(str(run_dir))
    assert policy.kind == "teacher" and policy.env_cfg.episode_length_s == 10.0
    cfg = config_from_json((run_dir / "config.json").read_text())
    env = make_env(cfg)
    runner = HoverRunner(env, rsl_rl_config(cfg), log_dir=None)
    runner.load(policy.source)
    obs = env.get_observations()
    expected = runner.get_inference_policy()(obs)
    assert torch.allclose(policy.act(obs), expected, atol=1e-6)
    out = export_bundled(run_dir, tmp_path / "assets")
    slim = torch.load(out, weights_only=True)
    assert "optimizer_state_dict" not in slim and "critic_state_dict" not in slim
    assert (tmp_path / "assets" / "teacher.json").is_file()
    assert torch.allclose(load_policy(str(out)).act(obs), expected, atol=1e-6)
    env.backend.close()


def test_policy_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="unknown built-in policy"):
        load_policy("builtin:nope")
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        load_policy(str(tmp_path / "missing.pt"))
    bad = tmp_path / "bad.pt"
    torch.save({"weights": torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match="not a hover checkpoint"):
        load_policy(str(bad))


def test_non_finite_update_is_reported(tmp_path):
    cfg = TeacherTrainConfig(
        num_envs=4, num_threads=1, max_iterations=1, run_dir=str(tmp_path / "nan"), eval_interval=0
    )
    cfg.ppo.num_steps_per_env = 4
    cfg.ppo.value_loss_coef = float("nan")
    with pytest.raises(NonFiniteLossError):
        train(cfg)


def test_learning_curve_reads_one_row_per_iteration(run_dir):
    from hover.training.curve import learning_curve

    rows = learning_curve(run_dir, ("Loss/value", "Perf/collection_time"))
    its = [r["iteration"] for r in rows]
    assert its[:2] == [0, 1] and its == sorted(set(its))
    assert all(r["Perf/collection_time"] > 0 for r in rows)


def test_set_action_std_changes_the_exploration_noise_only():
    from rsl_rl.models import MLPModel
    from tensordict import TensorDict

    from hover.training.teacher import set_action_std

    obs = TensorDict({"policy": torch.randn(4, 7)}, batch_size=[4])
    for std_type in ("scalar", "log"):
        actor = MLPModel(
            obs,
            {"actor": ["policy"]},
            "actor",
            3,
            hidden_dims=[8],
            distribution_cfg={"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": std_type},
        )
        mean = actor(obs).clone()
        set_action_std(actor, 0.2)
        actor(obs, stochastic_output=True)
        assert torch.allclose(actor.output_std, torch.full((4, 3), 0.2))
        assert torch.equal(actor(obs), mean)
    with pytest.raises(ValueError):
        set_action_std(actor, 0.0)


def test_resuming_a_copied_run_folder_continues_in_the_copy(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "copied_run"
    shutil.copytree(run_dir, copy)
    before = [p.name for p in list_checkpoints(run_dir)]
    last = int(before[-1].split("_")[1].split(".")[0])
    assert main(["--resume", str(copy), "--max-iterations", str(last + 2)], prog="hover train teacher") == 0
    assert (copy / f"model_{last + 1}.pt").is_file()
    assert [p.name for p in list_checkpoints(run_dir)] == before  # the original is untouched


@pytest.mark.parametrize("name", ["tracking", "hover-paper"])
def test_recipe_presets_round_trip_through_the_config_json(name):
    from hover.training.recipes import teacher_recipe
    from hover.training.teacher import config_to_json

    cfg = teacher_recipe(name)
    back = config_from_json(config_to_json(cfg))
    assert back == cfg and back.recipe == name
    assert back.env.rewards == cfg.env.rewards and back.env.terminations == cfg.env.terminations


def test_paper_recipe_run_resumes_with_the_same_recipe_and_overrides(tmp_path):
    out = tmp_path / "paper"
    args = [*FAST, "--recipe", "hover-paper", "--env.rewards.body_pos.weight", "12.5", "--run-dir", str(out)]
    assert main([*args, "--max-iterations", "1"], prog="hover train teacher") == 0
    saved = config_from_json((out / "config.json").read_text())
    assert saved.recipe == "hover-paper" and saved.env.rewards["body_pos"].weight == 12.5
    assert not saved.env.actions.residual and saved.env.observations.policy[0] == "body_pos"
    assert main(["--resume", str(out), "--max-iterations", "2"], prog="hover train teacher") == 0
    resumed = config_from_json((out / "config.json").read_text())
    assert (resumed.recipe, resumed.env, resumed.ppo, resumed.model) == (
        saved.recipe,
        saved.env,
        saved.ppo,
        saved.model,
    )
    assert (out / "model_1.pt").is_file()
    with pytest.raises(SystemExit):  # a different recipe cannot continue this run
        main(
            ["--resume", str(out), "--recipe", "tracking", "--max-iterations", "3"],
            prog="hover train teacher",
        )


def test_old_paper_configs_are_read_as_the_paper_recipe():
    from hover.checkpoints import ASSET_DIR

    text = (ASSET_DIR / "teacher.json").read_text()
    if '"recipe"' in text:
        pytest.skip("the bundled teacher was trained with recipes")
    cfg = config_from_json(text)
    assert cfg.recipe == "hover-paper" and not cfg.env.actions.residual
    assert cfg.env.rewards["body_pos"].params["upper_sigma"] == 0.03 and cfg.env.reward_scale == 0.02


def test_periodic_eval_logs_success_to_tensorboard_console_and_csv(tmp_path, capsys):
    import csv

    from hover.motion.builtin import load_builtin_motions
    from hover.motion.format import MotionClip, save_motions

    clip = load_builtin_motions()[0]
    short = MotionClip("stand_short", clip.fps, clip.root_pos[:16], clip.root_quat[:16], clip.joint_pos[:16])
    save_motions(tmp_path / "short.npz", [short])
    out = tmp_path / "run"
    args = [
        *FAST,
        "--eval-interval",
        "1",
        "--eval-motions",
        str(tmp_path / "short.npz"),
        "--run-dir",
        str(out),
    ]
    assert main([*args, "--max-iterations", "2"], prog="hover train teacher") == 0
    assert "[eval] iteration 1" in capsys.readouterr().out
    rows = list(csv.DictReader((out / "eval.csv").open()))
    assert [r["iteration"] for r in rows] == ["0", "1"] and rows[0]["motions"] == "short"
    assert rows[1]["env_steps"] == str(2 * 4 * 8) and 0.0 <= float(rows[1]["success_rate"]) <= 1.0
    assert sorted(_scalars(out, "Eval/short/success_rate")) == [0, 1]


@pytest.mark.slow
def test_tracking_recipe_learns_to_track_a_standing_clip(tmp_path):
    """A short run of the default recipe on one standing clip (no DR) reaches success 1.0 on it
    under the evaluation protocol (about 0.6 M env steps, a few minutes on one core)."""
    import csv

    from hover.motion.builtin import load_builtin_motions
    from hover.motion.format import save_motions

    save_motions(tmp_path / "stand.npz", [load_builtin_motions()[0]])
    out = tmp_path / "run"
    args = ["--motions", str(tmp_path / "stand.npz"), "--eval-motions", str(tmp_path / "stand.npz"),
            "--num-envs", "256", "--num-threads", "1", "--update-threads", "1", "--env.domain-rand.no-enabled",
            "--eval-interval", "25", "--max-iterations", "250", "--run-dir", str(out)]  # fmt: skip
    assert main(args, prog="hover train teacher") == 0
    rows = list(csv.DictReader((out / "eval.csv").open()))
    assert max(float(r["success_rate"]) for r in rows) == 1.0, rows


def test_resume_on_changed_motions_needs_reset_sampler_once(tmp_path):
    """A run continued on a motion set with other clips stops with a clear error about the sampler,
    continues with --reset-sampler (a fresh sampler), and the option is not saved for later resumes."""
    from hover.motion.builtin import load_builtin_motions
    from hover.motion.format import save_motions

    clips = load_builtin_motions()
    motions = tmp_path / "motions"
    motions.mkdir()
    save_motions(motions / "a.npz", clips[:2])
    out = tmp_path / "run"
    args = [*FAST, "--motions", str(motions), "--run-dir", str(out), "--max-iterations", "1"]
    assert main(args, prog="hover train teacher") == 0
    save_motions(motions / "b.npz", clips[2:3])  # one more clip in the folder
    with pytest.raises(ValueError, match="--reset-sampler"):
        main(["--resume", str(out), "--max-iterations", "2"], prog="hover train teacher")
    assert (
        main(["--resume", str(out), "--reset-sampler", "--max-iterations", "2"], prog="hover train teacher")
        == 0
    )
    ckpt = torch.load(out / "model_1.pt", weights_only=True)
    n_bins = ckpt["env_state"]["sampler_failure_ema"].numel()
    assert (
        n_bins > torch.load(out / "model_0.pt", weights_only=True)["env_state"]["sampler_failure_ema"].numel()
    )
    assert config_from_json((out / "config.json").read_text()).reset_sampler is False
