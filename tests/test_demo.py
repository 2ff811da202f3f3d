"""`hover demo` runs on the installed package alone and writes its report."""

import json

from hover.demo import DemoConfig, run_demo


def test_kinematic_demo_writes_report(tmp_path):
    report = run_demo(DemoConfig(out=tmp_path, kinematic=True, video=False))
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["mode"] == "kinematic" and on_disk["robot"] == "h1"
    assert len(on_disk["clips"]) >= 4 and on_disk["total_motion_s"] > 10
    assert report["clips"] == on_disk["clips"]


def test_demo_runs_the_bundled_teacher(tmp_path):
    report = run_demo(DemoConfig(out=tmp_path, video=False, num_threads=1))
    assert report["mode"] == "policy" and report["policy"].endswith("teacher.pt")
    metrics = report["metrics"]
    assert metrics["num_clips"] == len(report["clips"])
    assert 0.0 <= metrics["success_rate"] <= 1.0 and metrics["mpjpe_g_mm"] > 0
