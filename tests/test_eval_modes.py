"""Per-mode evaluation of a student (mask fixed to each named mode) and ``hover eval --mode``.

A tiny untrained student on one 0.4 s clip: fast (about a second for all nine modes), but it runs
the real tracking env, the student observation group and MuJoCo physics.
"""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch
from rsl_rl.models import MLPModel
from tensordict import TensorDict

from hover.checkpoints import LoadedPolicy
from hover.cli import main as hover_main
from hover.commands import MODE_NAMES, command_layout, mask_for_mode, mode_elements
from hover.envs.tracking.config import TrackingEnvConfig
from hover.evaluation.metrics import METRIC_NAMES
from hover.evaluation.per_mode import (
    TABLE_COLUMNS,
    TEACHER_NOTE,
    _MaskProbe,
    evaluate_modes,
    format_modes_table,
    masked_bodies,
    mode_env_config,
)
from hover.motion.builtin import load_builtin_motions
from hover.motion.format import MotionClip, save_motions
from hover.motion.library import MotionLibrary

BODY_FREE_MODES = ("exbody", "humanplus", "locomotion")


def _short_clip(seconds: float = 0.4) -> MotionClip:
    c = load_builtin_motions()[0]
    n = int(round(seconds * c.fps)) + 1
    return MotionClip("short", c.fps, c.root_pos[:n], c.root_quat[:n], c.joint_pos[:n])


def save_untrained_student(path, seed: int = 0) -> None:
    """A randomly initialised student saved in the training checkpoint format (weights only)."""
    from hover.training import distillation as S

    cfg = S.prepare(S.StudentTrainConfig(model=S.StudentModelConfig(hidden_dims=(32, 32))))
    teacher_actor = {"class_name": "MLPModel", "hidden_dims": [8]}
    model_cfg = dict(S.rsl_rl_config(cfg, teacher_actor)["student"])
    model_cfg.pop("class_name")
    torch.manual_seed(seed)
    obs = TensorDict({"student": torch.zeros(1, 1782)}, batch_size=[1])
    model = MLPModel(obs, {"actor": ["student"]}, "actor", 19, **model_cfg)
    torch.save(
        {
            "kind": "student",
            "iter": 0,
            "config": S.config_to_json(cfg, teacher_actor),
            "student_state_dict": model.state_dict(),
        },
        path,
    )


@pytest.fixture(scope="module")
def motions() -> MotionLibrary:
    return MotionLibrary([_short_clip()])


@pytest.fixture(scope="module")
def student() -> LoadedPolicy:
    cfg = TrackingEnvConfig()
    cfg.student.enabled = True
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(1782, 64), torch.nn.ELU(), torch.nn.Linear(64, 19))
    net.eval()
    return LoadedPolicy(kind="student", env_cfg=cfg, act=lambda obs: net(obs["student"]), source="untrained")


@pytest.fixture(scope="module")
def report(student, motions):
    return evaluate_modes(student, motions, "all", num_threads=1)


def test_masked_bodies_are_the_modes_body_bits():
    layout = command_layout("h1")
    for m in MODE_NAMES:
        mask = mask_for_mode(m, layout)
        on = {layout.element_names[i] for i in torch.nonzero(mask).flatten().tolist()}
        assert {f"body:{b}" for b in masked_bodies(m, layout)} == {e for e in on if e.startswith("body:")}
    assert masked_bodies("omnih2o", layout) == ("left_hand_link", "right_hand_link", "head_link")
    assert len(masked_bodies("h2o", layout)) == 12
    assert all(masked_bodies(m, layout) == () for m in BODY_FREE_MODES)


def test_mode_env_config_fixes_every_episode_mask():
    base = TrackingEnvConfig()
    cfg = mode_env_config(base, "two_hands")
    assert cfg.student.enabled and cfg.student.modes == ("two_hands",)
    assert base.student.modes != ("two_hands",) and not base.student.enabled  # the original is untouched


def test_every_mode_gives_a_finite_row_and_its_own_mask(report):
    layout = command_layout("h1")
    assert [r.mode for r in report.results] == list(MODE_NAMES)
    for r in report.results:
        # the mask the student observed is exactly the mode's mask
        assert r.observed_mask == mask_for_mode(r.mode, layout).tolist()
        assert r.mask_elements == mode_elements(r.mode, layout)
        row = r.row()
        assert list(row) == ["mode", *TABLE_COLUMNS]
        assert row["num_clips"] == 1 and row["success_rate"] in (0.0, 1.0)
        for name in METRIC_NAMES:
            assert math.isfinite(row[name]), (r.mode, name)
        masked = [row[k] for k in TABLE_COLUMNS if k.startswith("masked/")]
        if r.mode in BODY_FREE_MODES:
            assert masked == [None] * 4
        else:
            assert all(math.isfinite(v) and v >= 0.0 for v in masked)
    # the mask changes what the student does: the modes' errors are not all the same
    assert len({round(r.row()["mpjpe_g_mm"], 6) for r in report.results}) > 1


def test_masked_metrics_are_the_masked_bodies(report):
    # omnih2o's masked bodies are the robot's "vr" subset (head + hands): same rollout, same numbers
    omni = report.mode("omnih2o")
    assert set(omni.masked_bodies) == {"head_link", "left_hand_link", "right_hand_link"}
    vr = omni.report.summary["subset"]["vr"]
    row = omni.row()
    for name in ("mpjpe_g_mm", "mpjpe_l_mm", "vel_mm_per_frame", "acc_mm_per_frame2"):
        assert row[f"masked/{name}"] == pytest.approx(vr[name], rel=1e-6)
    js = omni.to_json()
    assert (
        js["masked_bodies"] == list(omni.masked_bodies)
        and js["masked"]["mpjpe_g_mm"] == row["masked/mpjpe_g_mm"]
    )
    assert "masked" not in js["subset"] and js["successful_only"]["masked"] is not None
    assert report.mode("locomotion").to_json()["masked"] is None
    text = format_modes_table(report)
    assert "omnih2o" in text and "n/a" in text and "m:g-mpjpe" in text


def test_teacher_is_evaluated_once_for_all_modes(motions):
    class Zero:
        kind, source, env_cfg = "teacher", "zero", TrackingEnvConfig()

        def act(self, obs):
            return torch.zeros(obs.batch_size[0], 19)

    rep = evaluate_modes(Zero(), motions, "omnih2o,left-hand,joystick", num_threads=1)
    assert [r.mode for r in rep.results] == ["omnih2o", "left_hand", "locomotion"]
    assert rep.notes == [TEACHER_NOTE]
    assert all(r.report is rep.results[0].report for r in rep.results)  # one rollout
    rows = rep.rows()
    assert rows[0]["mpjpe_g_mm"] == rows[1]["mpjpe_g_mm"]
    # per-mode masked bodies still differ: all three bodies vs the left hand only
    assert (
        rows[0]["masked/mpjpe_g_mm"] != rows[1]["masked/mpjpe_g_mm"] and rows[2]["masked/mpjpe_g_mm"] is None
    )


def test_mask_probe_counts_wrong_masks():
    expected = torch.tensor([1.0, 0.0, 1.0])
    probe = _MaskProbe(lambda obs: obs["student"][:, :1], slice(1, 4), expected)
    good = torch.tensor([[9.0, 1.0, 0.0, 1.0], [8.0, 1.0, 0.0, 1.0]])
    probe(TensorDict({"student": good}, batch_size=[2]))
    bad = good.clone()
    bad[1, 2] = 1.0
    out = probe(TensorDict({"student": bad}, batch_size=[2]))
    assert out.shape == (2, 1) and probe.steps == 2 and probe.mismatch_steps == 1
    assert probe.first.tolist() == expected.tolist()


def test_unknown_mode_is_refused(student, motions):
    with pytest.raises(ValueError, match="unknown command mode"):
        evaluate_modes(student, motions, "cartwheel", num_threads=1)


# ----------------------------------------------------------------------------- hover eval --mode


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("modes_cli")
    save_untrained_student(d / "student.pt")
    save_motions(d / "short.npz", [_short_clip()])
    return d


def test_hover_eval_mode_all_writes_table_json_csv_png(files, tmp_path, capsys):
    out = tmp_path / "out"
    rc = hover_main(["eval", "--policy", str(files / "student.pt"), "--motions", str(files / "short.npz"),
                     "--mode", "all", "--json", "--out", str(out), "--num-threads", "1"])  # fmt: skip
    assert rc == 0
    captured = capsys.readouterr()
    stdout = json.loads(captured.out)
    assert stdout["kind"] == "student" and list(stdout["modes"]) == list(MODE_NAMES)
    assert stdout["columns"] == ["mode", *TABLE_COLUMNS] and len(stdout["table"]) == len(MODE_NAMES)
    saved = json.loads((out / "modes.json").read_text())
    assert saved["table"] == stdout["table"]
    rows = list(csv.DictReader((out / "modes.csv").open()))
    assert [r["mode"] for r in rows] == list(MODE_NAMES)
    assert float(rows[0]["mpjpe_g_mm"]) == pytest.approx(stdout["table"][0]["mpjpe_g_mm"])
    assert rows[0]["masked/mpjpe_g_mm"] == ""  # exbody: n/a
    per_clip = list(csv.DictReader((out / "per_clip.csv").open()))
    assert [r["mode"] for r in per_clip] == list(MODE_NAMES) and per_clip[0]["name"] == "short"
    png = (out / "radar.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10000


def test_hover_eval_one_mode_table_and_teacher_note(files, capsys):
    rc = hover_main(["eval", "--policy", str(files / "student.pt"), "--motions", str(files / "short.npz"),
                     "--mode", "omnih2o", "--num-threads", "1"])  # fmt: skip
    assert rc == 0
    out = capsys.readouterr().out
    assert "omnih2o" in out and "g-mpjpe" in out and "exbody" not in out.split("units:")[0]
    rc = hover_main(["eval", "--policy", "builtin:teacher", "--motions", str(files / "short.npz"),
                     "--mode", "omnih2o", "--json", "--num-threads", "1"])  # fmt: skip
    assert rc == 0
    captured = capsys.readouterr()
    assert "--mode omnih2o ignored" in captured.err
    assert json.loads(captured.out)["num_clips"] == 1  # the plain teacher report
    rc = hover_main(["eval", "--policy", str(files / "student.pt"), "--motions", str(files / "short.npz"),
                     "--mode", "cartwheel", "--num-threads", "1"])  # fmt: skip
    assert rc == 2 and "unknown command mode" in capsys.readouterr().err
