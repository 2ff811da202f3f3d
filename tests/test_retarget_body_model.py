"""Synthetic SMPL-format body model: smplx code path, determinism, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hover.retarget.body_model import (
    SMPL_KEYS,
    BodyModel,
    BodyModelError,
    load_body_model,
    load_synthetic_body_model,
    make_synthetic_model,
    read_body_model_file,
    resolve_model_file,
    save_body_model,
    synthetic_model_dir,
)
from hover.retarget.skeleton import SMPL_PARENTS, joint_index, smpl_forward_kinematics


def test_shipped_synthetic_model_matches_generator_and_has_smpl_keys():
    shipped = read_body_model_file(synthetic_model_dir() / "SMPL_NEUTRAL.npz")
    fresh = make_synthetic_model()
    assert set(SMPL_KEYS) <= set(shipped)
    nv = shipped["v_template"].shape[0]
    assert shipped["shapedirs"].shape == (nv, 3, 10)
    assert shipped["posedirs"].shape == (nv, 3, 207)
    assert shipped["J_regressor"].shape == (24, nv) and shipped["weights"].shape == (nv, 24)
    assert shipped["kintree_table"].shape == (2, 24)
    assert list(shipped["kintree_table"][0, 1:]) == list(SMPL_PARENTS[1:])
    for k in SMPL_KEYS:
        np.testing.assert_array_equal(shipped[k], fresh[k])
    np.testing.assert_allclose(shipped["weights"].sum(1), 1.0)
    np.testing.assert_allclose(shipped["J_regressor"].sum(1), 1.0)


def test_smplx_joints_equal_own_fk_and_rest_pose_is_human():
    model = load_synthetic_body_model()
    assert model.source.endswith("SMPL_NEUTRAL.npz")
    gen = torch.Generator().manual_seed(0)
    pose = 0.4 * torch.randn(5, 24, 3, generator=gen, dtype=torch.float64)
    trans = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    betas = 0.5 * torch.randn(5, 10, generator=gen, dtype=torch.float64)
    out = model.smpl(
        betas=betas, global_orient=pose[:, 0], body_pose=pose[:, 1:].reshape(5, -1), transl=trans
    )
    zero = torch.zeros(5, 3, dtype=torch.float64)
    rest_smplx = model.smpl(
        betas=betas, global_orient=zero, body_pose=torch.zeros(5, 69, dtype=torch.float64), transl=zero
    ).joints[:, :24]
    torch.testing.assert_close(model.rest_joints(betas), rest_smplx, atol=1e-9, rtol=0)
    for i in range(5):
        rest = model.rest_joints(betas[i : i + 1])[0]
        ours, _ = smpl_forward_kinematics(rest, pose[i], trans[i])
        torch.testing.assert_close(out.joints[i, :24], ours, atol=1e-6, rtol=0)
    rest = model.rest_joints(torch.zeros(1, 10))[0]
    height = rest[joint_index("Head"), 1] - rest[joint_index("L_Ankle"), 1]
    assert 1.3 < float(height) < 1.7  # head-to-ankle of an adult (m)
    # beta 0 makes the whole body bigger; beta 1 lengthens the legs only
    taller = model.rest_joints(torch.tensor([[1.0] + [0.0] * 9]))[0]
    assert float(taller[joint_index("Head"), 1] - taller[joint_index("L_Ankle"), 1]) > float(height) + 0.05
    legs = model.rest_joints(torch.tensor([[0.0, 1.0] + [0.0] * 8]))[0]
    assert float(legs[joint_index("L_Ankle"), 1]) < float(rest[joint_index("L_Ankle"), 1]) - 0.03
    torch.testing.assert_close(legs[joint_index("Head")], rest[joint_index("Head")])


def test_user_model_dir_errors_are_clear(tmp_path):
    with pytest.raises(BodyModelError, match="convert-smpl"):
        resolve_model_file(tmp_path)
    (tmp_path / "SMPL_NEUTRAL.pkl").write_bytes(b"not really a pickle")
    with pytest.raises(BodyModelError, match="convert it once"):
        resolve_model_file(tmp_path)
    bad = make_synthetic_model()
    del bad["posedirs"]
    np.savez(tmp_path / "SMPL_MALE.npz", **bad)
    with pytest.raises(BodyModelError, match="missing SMPL keys"):
        load_body_model(tmp_path, gender="male")
    arrays = make_synthetic_model()
    arrays["J_regressor"] = arrays["J_regressor"][:, :-1]
    np.savez(tmp_path / "SMPL_FEMALE.npz", **arrays)
    with pytest.raises(BodyModelError, match="J_regressor has shape"):
        load_body_model(tmp_path, gender="female")


def test_user_model_loads_from_folder(tmp_path):
    save_body_model(tmp_path / "SMPL_NEUTRAL.npz", make_synthetic_model())
    model = load_body_model(tmp_path)
    assert isinstance(model, BodyModel) and model.num_betas == 10
    assert model.rest_joints(torch.zeros(2, 10)).shape == (2, 24, 3)


def test_official_topology_uses_smplx_vertex_ids(tmp_path):
    """A 6890-vertex file (the official topology) goes through smplx's own extra-keypoint table."""
    a = make_synthetic_model()
    nv, pad = a["v_template"].shape[0], 6890 - a["v_template"].shape[0]
    big = {
        "v_template": np.concatenate([a["v_template"], np.zeros((pad, 3))]),
        "shapedirs": np.concatenate([a["shapedirs"], np.zeros((pad, 3, 10))]),
        "posedirs": np.concatenate([a["posedirs"], np.zeros((pad, 3, 207))]),
        "J_regressor": np.concatenate([a["J_regressor"], np.zeros((24, pad))], 1),
        "weights": np.concatenate([a["weights"], np.tile(np.eye(24)[:1], (pad, 1))]),
        "kintree_table": a["kintree_table"],
        "f": a["f"],
    }
    save_body_model(tmp_path / "SMPL_NEUTRAL.npz", big)
    model = load_body_model(tmp_path)
    small = load_synthetic_body_model()
    torch.testing.assert_close(model.rest_joints(torch.ones(1, 10)), small.rest_joints(torch.ones(1, 10)))
    out = model.smpl(betas=torch.zeros(1, 10, dtype=torch.float64))
    assert out.joints.shape[1] > 24 and model.smpl.get_num_verts() == 6890 > nv
