"""ONNX export of the student: ONNX Runtime parity with torch, student metadata, teacher refusal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from hover.checkpoints import LoadedPolicy
from hover.commands import MODE_NAMES, command_layout, mode_elements
from hover.deploy.policy import OnnxPolicy, read_metadata
from hover.envs.tracking.config import TrackingEnvConfig
from hover.policy_metadata import PolicyMetadataError, require_student
from hover.student import student_obs_layout
from hover.training.export import export_onnx, parity_error

ACTOR = {
    "hidden_dims": [512, 256, 128],
    "activation": "elu",
    "obs_normalization": True,
    "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "scalar"},
}


def make_policy(kind: str, obs_dim: int, seed: int = 0) -> LoadedPolicy:
    """An untrained rsl-rl MLPModel actor on the ``student`` (or teacher ``policy``) group, built as the
    training code builds it, with a non-trivial observation normaliser."""
    from rsl_rl.models import MLPModel

    group = "student" if kind == "student" else "policy"
    torch.manual_seed(seed)
    model = MLPModel(
        TensorDict({group: torch.zeros(1, obs_dim)}, batch_size=[1]), {"actor": [group]}, "actor", 19, **ACTOR
    )
    norm = model.obs_normalizer
    norm._mean.copy_(torch.randn_like(norm._mean))
    norm._var.copy_(torch.rand_like(norm._var) * 4 + 0.1)
    norm._std.copy_(norm._var.sqrt())
    model.eval()

    @torch.inference_mode()
    def act(obs: TensorDict) -> torch.Tensor:
        return model(obs)

    return LoadedPolicy(
        kind=kind, env_cfg=TrackingEnvConfig(), act=act, source=f"untrained-{kind}", model=model
    )


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> tuple[LoadedPolicy, Path]:
    loaded = make_policy("student", student_obs_layout("h1").obs_dim)
    path = export_onnx(loaded, tmp_path_factory.mktemp("onnx") / "student.onnx")
    return loaded, path


def test_student_onnx_matches_torch(student):
    loaded, path = student
    policy = OnnxPolicy(path, "h1")
    assert policy.obs_dim == 1782 and policy.action_dim == 19
    gen = torch.Generator().manual_seed(1)
    obs = torch.randn(256, 1782, generator=gen) * 3.0
    expected = loaded.act(TensorDict({"student": obs}, batch_size=[256])).numpy()
    got = policy(obs.numpy())
    assert got.shape == (256, 19) and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-5
    assert np.abs(expected).max() > 0.05  # a real signal, not zeros
    assert np.abs(policy(obs[3].numpy()) - expected[3]).max() < 1e-5
    assert parity_error(loaded, path) < 1e-5


def test_student_metadata(student):
    _, path = student
    meta = read_metadata(path)
    layout = student_obs_layout("h1")
    cl = command_layout("h1")
    assert meta["kind"] == meta["policy_kind"] == "student"
    assert meta["student_observation"] == layout.to_dict()
    assert meta["history_length"] == 25 and meta["obs_dim"] == layout.obs_dim == 1782
    assert [t["name"] for t in meta["observation"]["layout"]] == [
        "proprio",
        "command",
        "mask",
        "last_action",
        "history",
    ]
    assert sum(t["dim"] for t in meta["observation"]["layout"]) == 1782
    c = meta["command_layout"]
    assert (c["command_dim"], c["mask_dim"]) == (95, 49)
    assert c["element_names"] == cl.element_names
    assert [(e["start"], e["stop"]) for e in c["elements"]] == [(e.start, e.stop) for e in cl.elements]
    assert set(meta["modes"]) == set(MODE_NAMES)
    assert all(meta["modes"][m] == list(mode_elements(m, cl)) for m in MODE_NAMES)
    assert sorted(meta["modes"]["omnih2o"]) == [
        "body:head_link",
        "body:left_hand_link",
        "body:right_hand_link",
    ]
    assert len(meta["kp"]) == len(meta["kd"]) == len(meta["default_joint_pos"]) == 19
    assert meta["control_dt"] == pytest.approx(0.02) and meta["action_scale"] == 0.25
    policy = OnnxPolicy(path)
    assert policy.kind == "student"
    require_student(policy.metadata, str(policy.path))  # no error


def test_teacher_export_says_teacher_and_is_refused_where_a_student_is_needed(tmp_path):
    loaded = make_policy("teacher", 182)  # the tracking recipe's actor
    path = export_onnx(loaded, tmp_path / "teacher.onnx")
    policy = OnnxPolicy(path)
    assert policy.kind == "teacher" and "student_observation" not in policy.metadata
    assert parity_error(loaded, path) < 1e-5
    with pytest.raises(PolicyMetadataError, match="teacher policy.*privileged"):
        require_student(policy.metadata, str(policy.path))


def test_student_with_a_width_no_layout_fits_is_refused(tmp_path):
    loaded = make_policy("student", 1000)
    with pytest.raises(ValueError, match="untrained-student.*1000 observations"):
        export_onnx(loaded, tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()


def test_other_history_length_is_found_from_the_width(tmp_path):
    loaded = make_policy("student", student_obs_layout("h1", 10).obs_dim)
    meta = read_metadata(export_onnx(loaded, tmp_path / "h10.onnx"))
    assert (
        meta["history_length"] == 10 and meta["student_observation"] == student_obs_layout("h1", 10).to_dict()
    )


def write_student_checkpoint(path: Path, seed: int = 2) -> Path:
    """An untrained student checkpoint in the format ``hover train student`` writes (iteration 7)."""
    import json

    from rsl_rl.models import MLPModel

    from hover.training import distillation as S
    from hover.training.teacher import TeacherTrainConfig, rsl_rl_config

    cfg = S.prepare(S.StudentTrainConfig())
    text = S.config_to_json(cfg, rsl_rl_config(TeacherTrainConfig())["actor"])
    model_cfg = dict(json.loads(text)["rsl_rl"]["student"])
    model_cfg.pop("class_name")
    torch.manual_seed(seed)
    model = MLPModel(
        TensorDict({"student": torch.zeros(1, 1782)}, batch_size=[1]),
        {"actor": ["student"]},
        "actor",
        19,
        **model_cfg,
    )
    state = model.state_dict()
    state["obs_normalizer._mean"] = torch.randn_like(state["obs_normalizer._mean"])
    torch.save({"kind": "student", "iter": 7, "config": text, "student_state_dict": state}, path)
    return path


def test_hover_export_cli_from_a_student_checkpoint(tmp_path, capsys):
    """A checkpoint as ``hover train student`` writes it -> ``hover export`` -> ONNX equal to torch."""
    import json

    from hover.cli import main as hover_main
    from hover.training.policies import load_policy

    ckpt = write_student_checkpoint(tmp_path / "student_7.pt")
    out = tmp_path / "student.onnx"
    assert hover_main(["export", "--policy", str(ckpt), "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["policy_kind"] == "student" and report["max_abs_error_vs_torch"] < 1e-5
    meta = read_metadata(out)
    assert meta["kind"] == "student" and meta["iteration"] == 7 and meta["history_length"] == 25
    loaded = load_policy(str(ckpt))
    obs = torch.randn(32, 1782) * 2
    expected = loaded.act(TensorDict({"student": obs}, batch_size=[32])).numpy()
    assert np.abs(OnnxPolicy(out)(obs.numpy()) - expected).max() < 1e-5


def test_student_layout_is_checked_against_hovers(student, tmp_path):
    import json

    import onnx

    from hover.deploy.policy import student_layout

    _, path = student
    assert student_layout(OnnxPolicy(path)) == student_obs_layout("h1")
    model = onnx.load(str(path))
    entry = next(p for p in model.metadata_props if p.key == "hover")
    meta = json.loads(entry.value)
    meta["student_observation"]["terms"][0]["stop"] = 40  # another proprioception than this hover's
    entry.value = json.dumps(meta)
    onnx.save(model, str(tmp_path / "other.onnx"))
    with pytest.raises(PolicyMetadataError, match="other.onnx.*differs from this hover"):
        student_layout(OnnxPolicy(tmp_path / "other.onnx"))
