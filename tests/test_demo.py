"""`hover demo` runs on the installed package alone and writes its report."""

import json

from hover.demo import DEMO_CLIPS, DemoConfig, run_demo


def test_kinematic_demo_writes_report(tmp_path):
    report = run_demo(DemoConfig(out=tmp_path, kinematic=True, video=False))
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["mode"] == "kinematic" and on_disk["robot"] == "h1"
    assert len(on_disk["clips"]) >= 4 and on_disk["total_motion_s"] > 10
    assert report["clips"] == on_disk["clips"]


def test_demo_runs_the_bundled_teacher(tmp_path):
    report = run_demo(DemoConfig(out=tmp_path, policy="builtin:teacher", video=False, num_threads=1))
    assert report["mode"] == "policy" and report["policy"].endswith("teacher.pt")
    metrics = report["metrics"]
    assert metrics["num_clips"] == len(report["clips"])
    assert 0.0 <= metrics["success_rate"] <= 1.0 and metrics["mpjpe_g_mm"] > 0


def test_demo_runs_the_bundled_student_with_mode_switches(tmp_path):
    report = run_demo(
        DemoConfig(
            out=tmp_path,
            video=False,
            num_threads=1,
            modes="omnih2o",
            schedule="humanplus@0,omnih2o@20,locomotion@40",
        )
    )
    assert report["mode"] == "student" and report["policy"].endswith("student.pt")
    assert list(report["modes"]["modes"]) == ["omnih2o"]
    assert report["modes"]["modes"]["omnih2o"]["mpjpe_g_mm"] > 0
    sw = report["switching"]
    assert [e["mode"] for e in sw["schedule"]] == ["humanplus", "omnih2o", "locomotion"]
    assert sw["clip"] == "stand_idle" and sw["metrics"]["mpjpe_g_mm"] > 0
    assert sw["status"].startswith("OK" if sw["success"] else "FAILED")
    # the clips shown: one standing with arm motions, one walking, one turning, each OK or FAILED
    assert (
        [c["clip"] for c in report["shown"]]
        == list(DEMO_CLIPS)
        == ["wave_both", "walk_forward", "turn_in_place"]
    )
    for c in report["shown"]:
        assert c["mode"] == "omnih2o" and c["status"].startswith("OK" if c["success"] else "FAILED")
        assert (c["fail_time_s"] is None) == c["success"]
    assert json.loads((tmp_path / "report.json").read_text())["switching"]["clip"] == "stand_idle"
