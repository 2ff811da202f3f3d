"""ONNX export of the teacher: ONNX Runtime parity with torch, metadata, and refusal of mismatched models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from tensordict import TensorDict

from hover.cli import main as hover_main
from hover.deploy.policy import OnnxPolicy, read_metadata
from hover.policy_metadata import PolicyMetadataError, teacher_observation_layout
from hover.robots import get_robot
from hover.training.policies import load_policy
from hover.training.teacher import TeacherTrainConfig, config_to_json, rsl_rl_config

#: the default (tracking) recipe's teacher actor observation size for the H1
OBS = sum(
    t["dim"]
    for t in teacher_observation_layout(get_robot("h1"), list(TeacherTrainConfig().env.observations.policy))
)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A teacher checkpoint in the training format, with a non-trivial observation normaliser."""
    from rsl_rl.models import MLPModel

    cfg = TeacherTrainConfig()
    actor = dict(rsl_rl_config(cfg)["actor"])
    actor.pop("class_name")
    torch.manual_seed(0)
    model = MLPModel(
        TensorDict({"policy": torch.zeros(1, OBS)}, batch_size=[1]),
        {"actor": ["policy"]},
        "actor",
        19,
        **actor,
    )
    state = model.state_dict()
    state["obs_normalizer._mean"] = torch.randn_like(state["obs_normalizer._mean"])
    state["obs_normalizer._var"] = torch.rand_like(state["obs_normalizer._var"]) * 4 + 0.1
    state["obs_normalizer._std"] = state["obs_normalizer._var"].sqrt()
    state["obs_normalizer.count"] = torch.tensor(1000)
    path = tmp_path_factory.mktemp("ckpt") / "model_3.pt"
    torch.save({"kind": "teacher", "iter": 3, "config": config_to_json(cfg), "actor_state_dict": state}, path)
    return path


@pytest.fixture(scope="module")
def exported(checkpoint, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "policy.onnx"
    assert hover_main(["export", "--policy", str(checkpoint), "--out", str(out), "--no-check"]) == 0
    return out


def test_onnx_runtime_matches_torch(checkpoint, exported):
    loaded = load_policy(str(checkpoint))
    policy = OnnxPolicy(exported, "h1")
    gen = torch.Generator().manual_seed(1)
    obs = torch.randn(256, OBS, generator=gen) * 3.0
    expected = loaded.act(TensorDict({"policy": obs}, batch_size=[256])).numpy()
    got = policy(obs.numpy())
    assert got.shape == (256, 19) and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-5
    assert np.abs(expected).max() > 0.05  # a real signal, not zeros
    single = policy(obs[7].numpy())
    assert single.shape == (19,) and np.abs(single - expected[7]).max() < 1e-5
    # the normaliser is part of the graph: shifting one input changes the actions
    shifted = obs[:1].clone()
    shifted[0, 0] += 5.0
    assert np.abs(policy(shifted.numpy()) - got[:1]).max() > 1e-4
    with pytest.raises(ValueError, match="observations must be"):
        policy(np.zeros(OBS - 1, dtype=np.float32))


def test_metadata_describes_robot_and_observation(exported):
    robot = get_robot("h1")
    meta = read_metadata(exported)
    assert meta["robot"] == "h1" and meta["policy_kind"] == "teacher" and meta["iteration"] == 3
    assert meta["joint_names"] == robot.joint_names
    assert meta["kp"] == [j.kp for j in robot.joints] and meta["kd"] == [j.kd for j in robot.joints]
    assert meta["default_joint_pos"] == [j.default_pos for j in robot.joints]
    assert meta["action_scale"] == 0.25 and meta["control_dt"] == pytest.approx(0.02)
    assert meta["obs_dim"] == OBS == 182 and meta["action_dim"] == 19  # the tracking recipe's actor
    layout = meta["observation"]["layout"]
    assert layout == teacher_observation_layout(robot, list(TeacherTrainConfig().env.observations.policy))
    assert [t["name"] for t in layout][0] == "ref_joint_pos" and layout[-1] == {
        "name": "last_action",
        "start": 163,
        "dim": 19,
    }
    assert "anchor" in meta["observation"]["frame"]
    model = onnx.load(str(exported))
    assert [i.name for i in model.graph.input] == ["obs"] and [o.name for o in model.graph.output] == [
        "actions"
    ]
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["hover_train_config"])["model"]["actor_hidden_dims"] == [512, 256, 128]
    policy = OnnxPolicy(exported)
    targets = policy.joint_targets(np.ones(19))
    np.testing.assert_allclose(targets, policy.default_joint_pos + 0.25)


def _rewrite(src: Path, dst: Path, edit) -> Path:
    model = onnx.load(str(src))
    props = {p.key: p.value for p in model.metadata_props}
    meta = json.loads(props["hover"])
    edit(meta)
    for p in model.metadata_props:
        if p.key == "hover":
            p.value = json.dumps(meta)
    onnx.save(model, str(dst))
    return dst


def test_model_for_another_robot_or_joint_order_is_refused(exported, tmp_path):
    other = _rewrite(exported, tmp_path / "g1.onnx", lambda m: m.update(robot="g1"))
    with pytest.raises(PolicyMetadataError, match="for robot 'g1', not 'h1'"):
        OnnxPolicy(other, "h1")

    def swap(m):
        m["joint_names"][0], m["joint_names"][5] = m["joint_names"][5], m["joint_names"][0]

    swapped = _rewrite(exported, tmp_path / "swapped.onnx", swap)
    with pytest.raises(PolicyMetadataError, match="joint order differs .* index 0"):
        OnnxPolicy(swapped, "h1")
    renamed = _rewrite(
        exported, tmp_path / "renamed.onnx", lambda m: m["joint_names"].__setitem__(10, "waist")
    )
    with pytest.raises(PolicyMetadataError, match="unknown: \\['waist'\\]"):
        OnnxPolicy(renamed)
    future = _rewrite(exported, tmp_path / "v9.onnx", lambda m: m.update(schema_version=9))
    with pytest.raises(PolicyMetadataError, match="schema_version 9"):
        OnnxPolicy(future)

    bare = onnx.load(str(exported))
    del bare.metadata_props[:]
    onnx.save(bare, str(tmp_path / "bare.onnx"))
    with pytest.raises(PolicyMetadataError, match="no 'hover' metadata"):
        OnnxPolicy(tmp_path / "bare.onnx")


def test_export_cli_reports_parity(checkpoint, tmp_path, capsys):
    out = tmp_path / "p.onnx"
    assert hover_main(["export", "--policy", str(checkpoint), "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["out"] == str(out) and report["max_abs_error_vs_torch"] < 1e-5
    assert not list(tmp_path.glob(".p.onnx.*"))  # no temporary file left behind


def test_dynamo_exporter_gives_the_same_actions(checkpoint, exported, tmp_path):
    out = tmp_path / "dynamo.onnx"
    assert (
        hover_main(
            ["export", "--policy", str(checkpoint), "--out", str(out), "--exporter", "dynamo", "--no-check"]
        )
        == 0
    )
    obs = np.random.default_rng(2).standard_normal((5, OBS)).astype(np.float32)
    assert np.abs(OnnxPolicy(out)(obs) - OnnxPolicy(exported)(obs)).max() < 1e-5
    assert read_metadata(out) == read_metadata(exported)


def test_export_cli_names_a_missing_checkpoint(tmp_path, capsys):
    assert (
        hover_main(["export", "--policy", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "x.onnx")]) == 2
    )
    assert "nope.pt" in capsys.readouterr().err and not (tmp_path / "x.onnx").exists()


def test_teacher_layout_sizes_match_the_env_observations():
    """The metadata's per-term sizes equal the tensors the tracking env computes, for both recipes' actors."""
    from hover.training.teacher import make_env

    robot = get_robot("h1")
    paper = teacher_observation_layout(robot)
    assert sum(t["dim"] for t in paper) == 913 and paper[0]["name"] == "body_pos"
    cfg = TeacherTrainConfig(num_envs=2, num_threads=1, sim_workers=False)
    env = make_env(cfg)
    obs = env.get_observations()["policy"]
    layout = teacher_observation_layout(robot, list(cfg.env.observations.policy))
    assert obs.shape[-1] == sum(t["dim"] for t in layout) == OBS
    with pytest.raises(ValueError, match="no known size"):
        teacher_observation_layout(robot, ["not_a_term"])
