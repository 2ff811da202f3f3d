"""hover retarget commands end to end (small built-in subsets), convert-smpl and the filter's errors."""

from __future__ import annotations

import json
import pickle
import sys
import types

import numpy as np
import pytest
import torch

from hover.cli.retarget import main
from hover.motion.format import load_motion_sources, load_motions
from hover.retarget.body_model import load_body_model, make_synthetic_model
from hover.retarget.convert import convert_smpl


def test_builtin_then_motions_on_written_amass(tmp_path, capsys):
    out = tmp_path / "robot"
    human = tmp_path / "human"
    rc = main(["--builtin", "--out", str(out), "--kinds", "walk", "stand", "--human-out", str(human),
               "--quiet", "--iterations", "6"], "hover retarget")  # fmt: skip
    assert rc == 0
    clips = load_motion_sources(out)
    assert [c.name for c in clips] == ["stand_still", "walk_forward", "walk_forward_short"]
    assert all(c.fps == 30.0 and 4.0 <= c.duration <= 10.0 for c in clips)
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["clips"] == 3 and report["summary"]["mean_keypoint_error_m"] < 0.03
    assert len(list(human.glob("*.npz"))) == 3
    # the AMASS-format files go through the file path (synthetic body, shipped shape) to the same result
    out2 = tmp_path / "robot2"
    from hover.retarget.shape_fit import builtin_shape_path

    rc = main(["motions", str(human), "--out", str(out2), "--body", "synthetic", "--shape", str(builtin_shape_path()),
               "--single-file", "all.npz", "--quiet", "--iterations", "6"], "hover retarget")  # fmt: skip
    assert rc == 0
    again = {c.name: c for c in load_motions(out2 / "all.npz")}
    for c in clips:
        np.testing.assert_allclose(again[c.name].joint_pos, c.joint_pos, atol=1e-3)
    assert "wrote 1 motion file" in capsys.readouterr().out


def test_cli_errors(tmp_path, capsys):
    assert main([], "hover retarget") == 2
    assert main(["motions", str(tmp_path), "--smpl-dir", str(tmp_path / "nosmpl")], "hover retarget") == 2
    assert "convert-smpl" in capsys.readouterr().err
    assert main(["--builtin", "--kinds", "moonwalk"], "hover retarget") == 2
    assert "unknown synthetic motion kinds" in capsys.readouterr().err
    assert main(["filter", str(tmp_path)], "hover retarget") == 2
    assert "needs a trained teacher" in capsys.readouterr().err


def _fake_chumpy_pickle(path, arrays):
    """A pickle shaped like an official SMPL file: chumpy Ch objects (state {'x': array}), a scipy sparse
    J_regressor, plain arrays; written with a throwaway 'chumpy' module that is removed afterwards."""
    import scipy.sparse

    ch_mod = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = x

        def __getstate__(self):
            return {"x": self.x, "_dirty_vars": set()}

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    ch_mod.Ch = Ch
    pkg = types.ModuleType("chumpy")
    pkg.ch = ch_mod
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = pkg, ch_mod
    try:
        data = {
            "v_template": Ch(arrays["v_template"]),
            "shapedirs": Ch(arrays["shapedirs"]),
            "posedirs": arrays["posedirs"],
            "J_regressor": scipy.sparse.csc_matrix(arrays["J_regressor"]),
            "weights": Ch(arrays["weights"]),
            "kintree_table": arrays["kintree_table"],
            "f": arrays["f"],
            "bs_style": "lbs",
            "J": Ch(np.zeros((24, 3))),
        }
        path.write_bytes(pickle.dumps(data, protocol=2))
    finally:
        del sys.modules["chumpy"], sys.modules["chumpy.ch"]


def test_convert_smpl_reads_chumpy_pickle_without_chumpy(tmp_path, capsys):
    arrays = make_synthetic_model()
    src = tmp_path / "SMPL_NEUTRAL.pkl"
    _fake_chumpy_pickle(src, arrays)
    assert "chumpy" not in sys.modules
    out = convert_smpl(src, tmp_path / "models" / "SMPL_NEUTRAL.npz")
    with np.load(out, allow_pickle=False) as d:
        np.testing.assert_allclose(d["shapedirs"], arrays["shapedirs"])
        np.testing.assert_allclose(d["J_regressor"], arrays["J_regressor"])
    model = load_body_model(tmp_path / "models")
    assert model.rest_joints(torch.zeros(1, 10)).shape == (1, 24, 3)
    assert main(["convert-smpl", str(src), "--out", str(tmp_path / "x.npz")], "hover retarget") == 0
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"v_template": print}, protocol=2))
    assert main(["convert-smpl", str(evil)], "hover retarget") == 2
    assert "refusing to load __builtin__.print" in capsys.readouterr().err
    with pytest.raises(pickle.UnpicklingError):
        convert_smpl(evil, tmp_path / "evil.npz")


def test_preview_png_strip(tmp_path):
    import imageio.v2 as imageio

    out = tmp_path / "strip.png"
    rc = main(["preview", "wave_both", "--out", str(out), "--seconds", "1.0", "--strip-frames", "3",
               "--width", "160", "--height", "120"], "hover retarget")  # fmt: skip
    if rc == 1 and not out.exists():
        pytest.skip("no offscreen OpenGL (EGL/OSMesa) on this machine")
    assert rc == 0
    img = imageio.imread(out)
    assert img.shape == (120, 3 * 160, 3)
    # the orange human skeleton is drawn: plenty of strongly orange pixels in every frame
    for k in range(3):
        tile = img[:, k * 160 : (k + 1) * 160].astype(int)
        orange = (tile[..., 0] > 180) & (tile[..., 1] > 70) & (tile[..., 1] < 170) & (tile[..., 2] < 90)
        assert orange.sum() > 20, k
    assert main(["preview", "no_such_clip", "--out", str(tmp_path / "x.png")], "hover retarget") == 2


def test_filter_keeps_clips_the_policy_can_track():
    """A zero-action policy (PD to the default pose) holds the H1 for a fraction of a second but falls
    within ~2 s, so the short standing clip is kept and the long one dropped."""
    from dataclasses import dataclass, field
    from typing import Any

    from hover.envs.tracking.config import TrackingEnvConfig
    from hover.evaluation.feasibility import filter_clips
    from hover.motion.builtin import load_builtin_motions
    from hover.motion.format import MotionClip

    @dataclass
    class ZeroPolicy:
        kind: str = "teacher"
        env_cfg: TrackingEnvConfig = field(default_factory=TrackingEnvConfig)
        source: str = "zero-action"

        def act(self, obs: Any) -> torch.Tensor:
            return torch.zeros(obs.batch_size[0], 19)

    stand = next(c for c in load_builtin_motions() if c.name == "stand_still")

    def head(seconds: float, name: str) -> MotionClip:
        n = int(round(seconds * stand.fps)) + 1
        return MotionClip(name, stand.fps, stand.root_pos[:n], stand.root_quat[:n], stand.joint_pos[:n])

    kept, records = filter_clips(
        [head(0.4, "short"), head(4.0, "long")], ZeroPolicy(), threshold=0.5, num_envs=2
    )
    assert [c.name for c in kept] == ["short"]
    assert records[0]["kept"] and records[0]["max_body_dev_m"] < 0.5
    assert not records[1]["kept"]
