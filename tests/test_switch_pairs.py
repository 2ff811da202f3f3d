"""``hover eval --switch-pairs``: every ordered pair of named modes switched mid-clip, as a matrix.

Checked: the matrix covers every ordered pair once per clip, each env sees mode A's mask before the
switch step and mode B's from it on (read from the student observation itself), cells are
classified from the protocol's failure terms, and the exit code follows the cells.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import torch

from hover.cli import main as hover_main
from hover.commands import MODE_NAMES, command_layout, mask_for_mode
from hover.evaluation.switch_pairs import ordered_pairs, pair_schedule, run_switch_pairs, select_clips
from hover.robots import get_robot

sys.path.insert(0, str(Path(__file__).parent))
from test_export_student import write_student_checkpoint  # noqa: E402

ROBOT = get_robot("h1")


def _clips(*names):
    from hover.motion.builtin import load_builtin_motions

    return select_clips(load_builtin_motions(ROBOT), names)


def test_pairs_and_schedules():
    pairs = ordered_pairs(MODE_NAMES)
    assert len(pairs) == 81 and len(set(pairs)) == 81 and ("exbody", "locomotion") in pairs
    assert pair_schedule("h2o", "head", 10).events == ((0, "h2o"), (10, "head"))
    assert pair_schedule("h2o", "h2o", 10).events == ((0, "h2o"),)
    with pytest.raises(ValueError, match="unknown clips"):
        _clips("no_such_clip")


def test_every_env_sees_its_pair_masks_at_the_right_steps():
    from hover.student import student_obs_layout
    from hover.training.policies import load_policy

    policy = load_policy("builtin:student")
    seen: list[torch.Tensor] = []
    mask_cols = student_obs_layout(ROBOT, policy.env_cfg.student.history_length).slices()["mask"]

    def act(obs):
        seen.append(obs["student"][:, mask_cols].clone())
        return policy.act(obs)

    report = run_switch_pairs(
        dataclasses.replace(policy, act=act), _clips("stand_still"), ROBOT, seconds=0.3, num_threads=1
    )
    layout = command_layout(ROBOT)
    masks = torch.stack(seen)  # [steps, 81 envs (one wave, env i = pair i), mask_dim]
    switch = round(report["matrix"]["stand_still"]["switch_time_s"] / 0.02)
    assert masks.shape[1] == 81 and 0 < switch < masks.shape[0]
    for i, (a, b) in enumerate(ordered_pairs(MODE_NAMES)):
        assert torch.equal(masks[:switch, i], mask_for_mode(a, layout).expand(switch, -1)), (a, b)
        assert torch.equal(masks[switch:, i], mask_for_mode(b, layout).expand(len(masks) - switch, -1)), (
            a,
            b,
        )
    cells = {(c["from"], c["to"]) for c in report["cells"]}
    assert cells == set(ordered_pairs(MODE_NAMES))
    assert len(report["matrix"]["stand_still"]["status"]) == 9
    assert all(len(row) == 9 for row in report["matrix"]["stand_still"]["status"])


def test_cli_matrix_and_exit_code(capsys):
    code = hover_main(["eval", "--policy", "builtin:student", "--switch-pairs", "--switch-clips",
                       "stand_still,walk_forward", "--switch-modes", "head,locomotion", "--switch-seconds", "0.4",
                       "--num-threads", "1", "--json"])  # fmt: skip
    rep = json.loads(capsys.readouterr().out)
    assert (
        rep["check"] == "switch_pairs"
        and rep["modes"] == ["head", "locomotion"]
        and rep["pairs_per_clip"] == 4
    )
    assert list(rep["matrix"]) == ["stand_still", "walk_forward"] and len(rep["cells"]) == 8
    for clip, m in rep["matrix"].items():
        assert m["switch_time_s"] == pytest.approx(0.2) and m["duration_s"] == pytest.approx(0.4)
        for c in (c for c in rep["cells"] if c["clip"] == clip):
            assert m["status"][rep["modes"].index(c["from"])][rep["modes"].index(c["to"])] == c["status"]
            assert c["switch"] == (c["from"] != c["to"]) and c["status"] in ("ok", "fell", "lost")
    assert code == (0 if rep["passed"] else 1) and rep["passed"] == (rep["not_ok"] == 0)
    assert (
        hover_main(["eval", "--policy", "builtin:student", "--switch-pairs", "--switch-clips", "nope"]) == 2
    )
    assert hover_main(["eval", "--policy", "builtin:student", "--switch-pairs", "--switch-at", "1.5"]) == 2


def test_a_falling_student_fills_the_matrix_with_falls(tmp_path):
    from hover.training.policies import load_policy

    policy = load_policy(str(write_student_checkpoint(tmp_path / "student_7.pt")))  # untrained
    report = run_switch_pairs(
        policy, _clips("stand_still"), ROBOT, modes="head,locomotion", seconds=3.0, num_threads=1
    )
    assert report["falls"] == 4 and not report["passed"] and report["not_ok"] == 4
    for c in report["cells"]:  # the tracking criterion fails it first; the rollout goes on to the fall
        assert c["status"] == "fell" and c["fail_time_s"] <= c["fall_time_s"] < 3.0
        assert c["fall_reason"] in ("gravity_tilt", "undesired_contacts", "gravity_tilt,undesired_contacts")
