"""hover policy average: the mean of checkpoints' weights, loadable wherever a checkpoint is."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hover.cli import main as hover
from hover.cli.train_teacher import main as train_teacher
from hover.training.averaging import average_checkpoints, average_state_dicts
from hover.training.policies import load_policy
from hover.training.teacher import config_from_json, make_env

FAST = ["--num-envs", "4", "--num-threads", "1", "--save-interval", "1", "--ppo.num-steps-per-env", "8"]
FAST += ["--ppo.num-learning-epochs", "2", "--ppo.num-mini-batches", "2", "--eval-interval", "0"]


def test_average_is_the_mean_with_std_from_the_mean_variance_and_the_newest_count():
    a = {"w": torch.tensor([1.0, 2.0]), "n._var": torch.tensor([1.0]), "n._std": torch.tensor([1.0])}
    b = {"w": torch.tensor([3.0, 6.0]), "n._var": torch.tensor([9.0]), "n._std": torch.tensor([3.0])}
    a["n.count"], b["n.count"] = torch.tensor(10), torch.tensor(20)
    avg = average_state_dicts([a, b])
    assert torch.equal(avg["w"], torch.tensor([2.0, 4.0])) and torch.equal(avg["n._var"], torch.tensor([5.0]))
    assert torch.allclose(avg["n._std"], torch.tensor([5.0]).sqrt()) and int(avg["n.count"]) == 20
    with pytest.raises(ValueError, match="shapes differ"):
        average_state_dicts([a, {**b, "w": torch.zeros(3)}])
    with pytest.raises(ValueError, match="other tensors"):
        average_state_dicts([a, {"w": b["w"]}])
    with pytest.raises(ValueError, match="not finite"):
        average_state_dicts([a, {**b, "w": torch.tensor([float("nan"), 0.0])}])


def test_averaged_run_checkpoints_load_and_act_with_the_mean_network(tmp_path):
    run = tmp_path / "run"
    assert (
        train_teacher([*FAST, "--max-iterations", "2", "--run-dir", str(run)], prog="hover train teacher")
        == 0
    )
    out = tmp_path / "avg.pt"
    assert (
        hover(["policy", "average", str(run / "model_0.pt"), str(run / "model_1.pt"), "--out", str(out)]) == 0
    )
    avg = torch.load(out, weights_only=True)
    c0, c1 = (torch.load(run / f"model_{i}.pt", weights_only=True) for i in (0, 1))
    assert avg["averaged_from"] == [0, 1] and avg["iter"] == 1 and avg["kind"] == "teacher"
    w = "mlp.0.weight"
    assert torch.allclose(
        avg["actor_state_dict"][w], (c0["actor_state_dict"][w] + c1["actor_state_dict"][w]) / 2
    )
    assert not torch.equal(c0["actor_state_dict"][w], c1["actor_state_dict"][w])  # training moved the weights

    env = make_env(config_from_json((run / "config.json").read_text()))
    obs = env.get_observations()
    acts = [load_policy(str(p)).act(obs) for p in (run / "model_0.pt", run / "model_1.pt", out)]
    env.backend.close()
    assert not torch.allclose(acts[2], acts[0]) and not torch.allclose(acts[2], acts[1])


def test_average_of_one_policy_with_itself_acts_the_same_and_kinds_do_not_mix(tmp_path):
    out = average_checkpoints(["builtin:teacher", "builtin:teacher"], tmp_path / "same.pt")
    teacher, same = load_policy("builtin:teacher"), load_policy(str(out))
    # the bundled config names its training folder (data/train), absent from a clean checkout: built-in clips
    env = make_env(dataclasses.replace(teacher.train_cfg, motions=None, num_envs=4))
    obs = env.get_observations()
    assert torch.allclose(same.act(obs), teacher.act(obs), atol=1e-5)
    env.backend.close()
    with pytest.raises(ValueError, match="teacher with a student"):
        average_checkpoints(["builtin:teacher", "builtin:student"], tmp_path / "mixed.pt")
    assert hover(["policy", "average", "--out", str(tmp_path / "none.pt")]) == 2  # nothing to average
