"""Comparing runs by the evaluation protocol's success: eval.csv rows, the table, the curves PNG."""

from __future__ import annotations

import csv

import pytest

from hover.cli import main as hover_main
from hover.training.ablation import compare_runs, first_reaching
from hover.training.curve import eval_curve
from hover.training.periodic_eval import CSV_FIELDS


def _run(path, rows):
    path.mkdir(parents=True)
    with (path / "eval.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        for it, steps, secs, success, mpjpe in rows:
            w.writerow({"iteration": it, "env_steps": steps, "train_time_s": secs, "wall_time_s": secs,
                        "motions": "builtin", "num_clips": 17, "success_rate": success, "mpjpe_g_mm": mpjpe,
                        "mpjpe_l_mm": 10.0, "eval_s": 1.0})  # fmt: skip


def test_table_and_curves_from_eval_csv(tmp_path, capsys):
    _run(tmp_path / "fast", [(0, 0, 0, 0.0, 130), (50, 1e6, 600, 0.6, 70), (100, 2e6, 1200, 1.0, 40)])
    _run(tmp_path / "slow", [(0, 0, 0, 0.0, 130), (50, 1e6, 900, 0.1, 110), (100, 2e6, 1800, 0.3, 90)])
    (tmp_path / "empty").mkdir()
    rows = eval_curve(tmp_path / "fast")
    assert [r["iteration"] for r in rows] == [0, 50, 100] and rows[1]["success_rate"] == 0.6
    assert first_reaching(rows, 0.5)["env_steps"] == 1e6 and first_reaching(rows, 1.01) is None
    table = compare_runs(tmp_path, out=str(tmp_path / "c.png"))
    lines = table.splitlines()
    assert (
        len(lines) == 4
        and "| fast | 2.00 M | 1.00 | 1.00 | 1.00 M / 10 min | 2.00 M / 20 min | 40.0 |" in lines
    )
    assert "| slow |" in lines[3] and "never" in lines[3]
    assert (tmp_path / "c.png").stat().st_size > 10_000
    assert hover_main(["train", "curves", str(tmp_path)]) == 0
    assert "| fast |" in capsys.readouterr().out


def test_no_runs_is_bad_input(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no run folder"):
        compare_runs(tmp_path)
    assert hover_main(["train", "curves", str(tmp_path / "missing")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
