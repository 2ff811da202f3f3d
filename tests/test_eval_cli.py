"""``hover eval`` end to end: a checkpoint in the training format, JSON on stdout, CSV, video."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from rsl_rl.models import MLPModel

from hover.cli import main as hover_main
from hover.evaluation.metrics import METRIC_NAMES
from hover.motion.builtin import load_builtin_motions
from hover.motion.format import MotionClip, save_motions
from hover.training.teacher import TeacherTrainConfig, config_to_json, make_env, rsl_rl_config


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A randomly initialised actor saved like ``export_bundled`` does (weights-only loadable)."""
    cfg = TeacherTrainConfig(num_envs=1, num_threads=1)
    env = make_env(cfg)
    actor_cfg = dict(rsl_rl_config(cfg)["actor"])
    actor_cfg.pop("class_name")
    torch.manual_seed(0)
    model = MLPModel(env.get_observations(), {"actor": ["policy"]}, "actor", env.num_actions, **actor_cfg)
    env.backend.close()
    path = tmp_path_factory.mktemp("policy") / "random.pt"
    torch.save(
        {"kind": "teacher", "iter": 0, "config": config_to_json(cfg), "actor_state_dict": model.state_dict()},
        path,
    )
    return path


@pytest.fixture(scope="module")
def motions_dir(tmp_path_factory):
    clips = load_builtin_motions()
    out = []
    for name, c, seconds in (("first", clips[0], 0.5), ("second", clips[1], 0.8)):
        n = int(seconds * c.fps) + 1
        out.append(MotionClip(name, c.fps, c.root_pos[:n], c.root_quat[:n], c.joint_pos[:n]))
    d = tmp_path_factory.mktemp("motions")
    save_motions(d / "short.npz", out)
    return d


def test_hover_eval_json_and_csv(checkpoint, motions_dir, tmp_path, capsys):
    out_csv = tmp_path / "per_clip.csv"
    rc = hover_main(["eval", "--policy", str(checkpoint), "--motions", str(motions_dir), "--json", "--per-clip",
                     "--csv", str(out_csv), "--num-envs", "2", "--num-threads", "1"])  # fmt: skip
    assert rc == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # stdout is pure JSON; progress went to stderr
    assert "evaluating" in captured.err
    assert list(report)[: 1 + len(METRIC_NAMES)] == ["success_rate", *METRIC_NAMES]
    assert {"subset", "successful_only", "num_clips", "per_clip"} <= set(report)
    assert report["num_clips"] == 2 and 0.0 <= report["success_rate"] <= 1.0
    assert report["mpjpe_g_mm"] is not None and report["mpjpe_g_mm"] >= 0.0
    rows = list(csv.DictReader(out_csv.open()))
    assert [r["name"] for r in rows] == ["first", "second"]
    assert {"success", "mpjpe_g_mm", "vr/mpjpe_g_mm", "max_body_dev_m"} <= set(rows[0])
    for r, j in zip(rows, report["per_clip"], strict=True):
        assert float(r["mpjpe_g_mm"]) == pytest.approx(j["mpjpe_g_mm"])
        assert r["success"] == str(j["success"])


def test_hover_eval_table_and_video(checkpoint, motions_dir, tmp_path, capsys):
    video = tmp_path / "out.mp4"
    rc = hover_main(["eval", "--policy", str(checkpoint), "--motions", str(motions_dir), "--num-threads", "1",
                     "--video", str(video), "--video-clips", "first", "--video-width", "160",
                     "--video-height", "90"])  # fmt: skip
    assert rc == 0
    out = capsys.readouterr().out
    assert "success rate" in out and "mpjpe_g_mm" in out and "second" in out and "first" in out
    written = video if video.exists() else video.with_suffix(".mp4.gif")
    assert written.exists() and written.stat().st_size > 1000


def test_hover_eval_reports_bad_inputs(motions_dir, tmp_path, capsys):
    assert hover_main(["eval", "--policy", str(tmp_path / "missing.pt")]) == 2
    assert "missing.pt" in capsys.readouterr().err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert hover_main(["eval", "--policy", str(bad), "--motions", str(motions_dir)]) == 2
    assert "bad.pt" in capsys.readouterr().err


def test_hover_eval_rejects_unknown_video_clip(checkpoint, motions_dir, tmp_path, capsys):
    rc = hover_main(["eval", "--policy", str(checkpoint), "--motions", str(motions_dir),
                     "--video", str(tmp_path / "v.mp4"), "--video-clips", "nope"])  # fmt: skip
    assert rc == 2
    assert "nope" in capsys.readouterr().err
    assert not (tmp_path / "v.mp4").exists()
