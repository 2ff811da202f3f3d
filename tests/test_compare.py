"""Radar normalisation (paper Fig. 4), win counting (paper Table III) and ``hover compare``."""

from __future__ import annotations

import math

import pytest

from hover.evaluation.compare import (
    HIGHER_IS_BETTER,
    TABLE3_KEYS,
    count_wins,
    format_comparison,
    winners,
)
from hover.evaluation.plots import normalize_scores, plot_radar

# ----------------------------------------------------------------------------- radar normalisation


def test_normalisation_lower_is_better_is_fig4_formula():
    # E_max = 300, E_min = 100: (300 - E) / 200
    vals = {"a": {"mpjpe": 100.0}, "b": {"mpjpe": 200.0}, "c": {"mpjpe": 300.0}}
    s = normalize_scores(vals)
    assert s["a"]["mpjpe"] == 1.0 and s["b"]["mpjpe"] == 0.5 and s["c"]["mpjpe"] == 0.0


def test_normalisation_higher_is_better_and_per_axis():
    vals = {
        "gen": {"success_rate": 0.9, "mpjpe": 120.0, "vel": 5.0},
        "spec": {"success_rate": 0.6, "mpjpe": 150.0, "vel": 4.0},
        "mid": {"success_rate": 0.7, "mpjpe": 130.0, "vel": 4.5},
    }
    s = normalize_scores(vals, higher_is_better={"success_rate"})
    assert s["gen"]["success_rate"] == 1.0 and s["spec"]["success_rate"] == 0.0
    assert s["mid"]["success_rate"] == pytest.approx(1.0 / 3.0)
    assert s["mid"]["mpjpe"] == pytest.approx(20.0 / 30.0)  # (150 - 130) / (150 - 120)
    assert s["gen"]["vel"] == 0.0 and s["spec"]["vel"] == 1.0  # each axis normalised on its own
    assert s["mid"]["vel"] == pytest.approx(0.5)


def test_normalisation_ties_and_missing_values():
    vals = {"a": {"x": 2.0, "y": None, "z": 1.0}, "b": {"x": 2.0, "y": math.nan, "z": 3.0}, "c": {"z": 5.0}}
    s = normalize_scores(vals)
    assert s["a"]["x"] == 1.0 and s["b"]["x"] == 1.0  # all equal: nobody is worse
    assert math.isnan(s["c"]["x"])  # missing
    assert all(math.isnan(s[k]["y"]) for k in "abc")  # no value anywhere (n/a)
    assert (s["a"]["z"], s["b"]["z"], s["c"]["z"]) == (1.0, 0.5, 0.0)  # missing ones do not shift min/max


def test_radar_png_is_written(tmp_path):
    scores = normalize_scores(
        {"gen": {"a": 1.0, "b": 2.0, "c": 3.0}, "spec": {"a": 2.0, "b": 1.0, "c": None}}
    )
    path = plot_radar({"omnih2o": scores, "h2o": scores}, tmp_path / "sub" / "radar.png", title="test")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    with pytest.raises(ValueError, match="at least 3 axes"):
        plot_radar({"p": {"s": {"a": 1.0, "b": 0.0}}}, tmp_path / "bad.png")


# ----------------------------------------------------------------------------- win counting


def _row(success: float, err: float) -> dict[str, float]:
    return {k: (success if k in HIGHER_IS_BETTER else err) for k in TABLE3_KEYS}


def test_twelve_metrics_and_direction():
    assert len(TABLE3_KEYS) == 12 and TABLE3_KEYS[0] == "success_rate"
    # the higher success wins success; the lower error wins every error metric
    vals = {"gen": _row(0.95, 10.0), "spec": _row(0.90, 20.0)}
    best = winners(vals)
    assert all(best[k] == ["gen"] for k in TABLE3_KEYS)
    vals = {"gen": _row(0.80, 10.0), "spec": _row(0.90, 20.0)}
    best = winners(vals)
    assert best["success_rate"] == ["spec"] and best["mpjpe_g_mm"] == ["gen"]
    c = count_wins(best, ["gen", "spec"])
    assert (c["gen"].wins, c["spec"].wins, c["gen"].ties, c["gen"].counted) == (11, 1, 0, 12)


def test_ties_and_missing_values_in_win_counts():
    gen, spec = _row(1.0, 5.0), _row(1.0, 7.0)
    gen["root_yaw_err_rad"] = spec["root_yaw_err_rad"] = 0.25  # exact tie
    gen["root_height_err_m"] = spec["root_height_err_m"] = None  # nobody has it: not counted
    spec["root_roll_err_rad"] = math.nan  # only gen has it: gen wins
    best = winners({"gen": gen, "spec": spec})
    assert best["success_rate"] == ["gen", "spec"] and best["root_yaw_err_rad"] == ["gen", "spec"]
    assert best["root_height_err_m"] == [] and best["root_roll_err_rad"] == ["gen"]
    c = count_wins(best, ["gen", "spec"])
    assert (c["gen"].wins, c["gen"].ties, c["gen"].counted) == (9, 2, 11)
    assert (c["spec"].wins, c["spec"].ties, c["spec"].counted) == (0, 2, 11)
    # the tolerance makes near-equal values a tie
    near = winners({"a": {"mpjpe_g_mm": 100.0}, "b": {"mpjpe_g_mm": 100.0 + 1e-12}}, ["mpjpe_g_mm"])
    assert near["mpjpe_g_mm"] == ["a", "b"]


def test_comparison_table_text():
    vals = {"gen": _row(0.95, 10.0), "spec": _row(0.90, 20.0)}
    vals["spec"]["root_pitch_err_rad"] = 1.0  # better than gen's 10
    vals["gen"]["masked/mpjpe_g_mm"] = 50.0
    text = format_comparison("omnih2o", vals)
    assert "mode omnih2o" in text and "E_g-mpjpe (mm)" in text and "masked/mpjpe_g_mm" in text
    assert "gen: wins 11 of 12 metrics, ties 0" in text and "spec: wins 1 of 12 metrics" in text
    pitch = next(line for line in text.splitlines() if line.startswith("root pitch"))
    assert pitch.rstrip().endswith("spec")
    assert "n/a" in text  # spec has no masked value


# ----------------------------------------------------------------------------- hover compare


def _save_untrained_student(path, seed: int) -> None:
    """A randomly initialised student in the training checkpoint format (weights only)."""
    import torch
    from rsl_rl.models import MLPModel
    from tensordict import TensorDict

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
def files(tmp_path_factory):
    from hover.motion.builtin import load_builtin_motions
    from hover.motion.format import MotionClip, save_motions

    d = tmp_path_factory.mktemp("compare")
    _save_untrained_student(d / "gen.pt", seed=0)
    _save_untrained_student(d / "spec.pt", seed=1)
    c = load_builtin_motions()[0]
    n = int(round(0.4 * c.fps)) + 1
    save_motions(
        d / "short.npz", [MotionClip("short", c.fps, c.root_pos[:n], c.root_quat[:n], c.joint_pos[:n])]
    )
    return d


def test_hover_compare_json_csv_png(files, tmp_path, capsys):
    import csv
    import json

    from hover.cli import main as hover_main

    out = tmp_path / "cmp"
    rc = hover_main(["compare", "--policies", str(files / "gen.pt"), str(files / "spec.pt"), "builtin:teacher",
                     "--mode", "omnih2o", "--motions", str(files / "short.npz"), "--json", "--out", str(out),
                     "--num-threads", "1"])  # fmt: skip
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert result["modes"] == ["omnih2o"] and list(result["policies"]) == ["gen", "spec", "teacher"]
    assert result["policies"]["teacher"]["kind"] == "teacher" and result["policies"]["teacher"]["notes"]
    block = result["per_mode"]["omnih2o"]
    assert set(block["winners"]) == set(TABLE3_KEYS)
    # the winners follow from the values (lower error / higher success wins)
    vals = block["values"]
    best_g = min(vals, key=lambda p: vals[p]["mpjpe_g_mm"])
    assert block["winners"]["mpjpe_g_mm"] == [best_g]
    wins = block["wins"]
    assert (
        sum(w["wins"] for w in wins.values()) + len({m for m, w in block["winners"].items() if len(w) > 1})
        == 12
    )
    assert result["total"] == wins
    assert json.loads((out / "compare.json").read_text())["per_mode"] == result["per_mode"]
    rows = list(csv.DictReader((out / "compare.csv").open()))
    assert len(rows) == 16 and rows[0]["metric"] == "success_rate"  # 12 counted + 4 masked-body rows
    g = next(r for r in rows if r["metric"] == "mpjpe_g_mm")
    assert float(g["gen"]) == pytest.approx(vals["gen"]["mpjpe_g_mm"]) and g["best"] == best_g
    assert (out / "radar.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hover_compare_three_modes_fig4_radar_and_bad_input(files, tmp_path, capsys):
    from hover.cli import main as hover_main

    rc = hover_main(["compare", "--policies", str(files / "gen.pt"), str(files / "spec.pt"), "--mode", "exbody,omnih2o,head",
                     "--motions", str(files / "short.npz"), "--out", str(tmp_path), "--num-threads", "1"])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert (
        text.count("\nmode ") + text.startswith("mode ") == 3
        and "all modes: gen wins" in text
        and "E_g-mpjpe (mm)" in text
    )
    png = (tmp_path / "radar.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000  # four Fig. 4 panels
    assert (
        hover_main(["compare", "--policies", str(files / "gen.pt"), "--motions", str(files / "short.npz")])
        == 2
    )
    assert "at least two" in capsys.readouterr().err
