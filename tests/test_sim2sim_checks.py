"""The checks of issue 12 in ``hover sim2sim``: the joystick random-command test, the VR stream
(live, frozen, jump) and the agreement with ``hover eval``.

They must *measure* correctly whatever the policy: schedules are deterministic and inside the
gamepad's limits, the scripted pad commands exactly what the schedule says through the runner's
gamepad code, the stream freezes and jumps as specified and the runner's staleness handling acts on
it, a fall is detected when the robot falls (the H1 on PD alone tips over after ~1.5 s) and not
before, the reports have their shape and the exit codes follow the bars.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from hover.cli import main as hover_main
from hover.commands import command_layout, mask_for_mode
from hover.deploy.inputs.base import Event, RobotView
from hover.deploy.inputs.gamepad import GamepadConfig
from hover.evaluation.sim2sim_joystick import (
    ScriptedGamepad,
    Segment,
    command_ranges,
    idle_schedule,
    random_schedule,
)
from hover.evaluation.sim2sim_vr import StreamedVR, VRStream
from hover.robots import get_robot

ROBOT = get_robot("h1")
LAYOUT = command_layout(ROBOT)
DEFAULT = np.array([j.default_pos for j in ROBOT.joints])
UPRIGHT = RobotView(DEFAULT, np.zeros(19), np.array([1.0, 0.0, 0.0, 0.0]), np.zeros(3))


@pytest.fixture(scope="module")
def onnx(tmp_path_factory):
    """zero.onnx (actions 0: PD on the default pose), garbage.onnx (large actions), student.onnx (bundled)."""
    from hover.benchmarks.deploy import write_student_onnx
    from hover.student import HISTORY_LENGTH, student_obs_layout
    from hover.training.export import export_onnx
    from hover.training.policies import load_policy

    out = tmp_path_factory.mktemp("checks")
    dim = student_obs_layout(ROBOT, HISTORY_LENGTH).obs_dim
    zero = torch.nn.Linear(dim, ROBOT.num_joints)
    torch.nn.init.zeros_(zero.weight)
    torch.nn.init.zeros_(zero.bias)
    write_student_onnx(out / "zero.onnx", zero)
    torch.manual_seed(0)
    garbage = torch.nn.Sequential(torch.nn.Linear(dim, 64), torch.nn.Tanh(), torch.nn.Linear(64, 19))
    with torch.no_grad():
        garbage[2].weight.mul_(30.0)
    write_student_onnx(out / "garbage.onnx", garbage)
    export_onnx(load_policy("builtin:student"), out / "student.onnx")
    return out


def _run(capsys, *args: str) -> tuple[int, dict]:
    code = hover_main(["sim2sim", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


# ----- joystick --------------------------------------------------------------------------------------
def test_schedules_are_deterministic_per_seed_and_within_the_gamepad_limits():
    pad = GamepadConfig()
    ranges = command_ranges(pad)
    assert ranges == {"vx": (-0.5, 1.0), "vy": (-0.5, 0.5), "yaw_rate": (-1.0, 1.0), "height": (0.75, 1.05)}
    a = random_schedule(3, 60.0, pad, 1.0)
    assert a == random_schedule(3, 60.0, pad, 1.0) and a != random_schedule(4, 60.0, pad, 1.0)
    assert a[0].start_s == 0.0 and math.isclose(a[-1].start_s + a[-1].duration_s, 60.0)
    for prev, seg in zip(a, a[1:], strict=False):
        assert math.isclose(prev.start_s + prev.duration_s, seg.start_s)  # contiguous
        assert 1.0 <= prev.duration_s <= 4.0
    many = [s for seed in range(20) for s in random_schedule(seed, 60.0, pad, 1.0)]
    for key, (lo, hi) in ranges.items():
        vals = np.array([getattr(s, key) for s in many])
        assert vals.min() >= lo and vals.max() <= hi
        assert np.ptp(vals) > 0.8 * (hi - lo)  # the whole range is used
    rest = np.mean([s.vx == 0.0 for s in many])
    assert 0.1 < rest < 0.4  # sticks released about zero_prob = 0.25 of the time
    assert idle_schedule(5.0, 1.0) == [Segment(0.0, 5.0, 0.0, 0.0, 0.0, 1.0)]


def test_scripted_pad_commands_the_schedule_through_the_gamepad_commander():
    cols = {
        n: LAYOUT.root_columns.start + i
        for i, n in enumerate(("vx", "vy", "vz", "roll", "pitch", "yaw", "h"))
    }
    sched = [Segment(0.0, 2.0, 0.7, -0.3, 0.4, 0.9), Segment(2.0, 2.0, -0.4, 0.5, -1.0, 1.05)]
    src = ScriptedGamepad(ROBOT, LAYOUT, sched, 0.02)
    out = []
    for k in range(200):
        now = k * 0.02
        assert src.events(UPRIGHT, now) == []
        s = src.command(UPRIGHT, now)
        out.append(
            (now, s.command[cols["vx"]], s.command[cols["vy"]], s.command[cols["yaw"]], s.command[cols["h"]])
        )
        assert s.mode == "locomotion" and np.array_equal(s.mask, mask_for_mode("locomotion", LAYOUT).numpy())
        assert s.stamp == now
    out = np.array(out)
    first, second = out[out[:, 0] < 2.0], out[out[:, 0] >= 2.0]
    np.testing.assert_allclose(first[:, 1:3], [[0.7, -0.3]] * len(first), atol=1e-6)
    np.testing.assert_allclose(second[:, 1:3], [[-0.4, 0.5]] * len(second), atol=1e-6)
    # the robot does not turn: the target heading runs ahead at the yaw rate until the wind-up limit
    np.testing.assert_allclose(first[10, 3], 0.4 * 0.2, atol=1e-6)
    assert np.isclose(first[-1, 3], 0.5, atol=1e-6) and np.isclose(second[-1, 3], -0.5, atol=1e-6)
    # height by d-pad at 0.1 m/s: 1.0 -> 0.9 in 1 s, then 0.9 -> 1.05 in 1.5 s
    assert np.isclose(first[25, 4], 0.95, atol=2e-3) and np.all(np.abs(first[60:, 4] - 0.9) < 1.5e-3)
    assert np.isclose(second[50, 4], 1.0, atol=2e-3) and np.all(np.abs(second[90:, 4] - 1.05) < 1.5e-3)


def test_joystick_check_detects_the_fall_of_pd_alone(onnx, capsys):
    """Zero actions = PD on the default pose: the report's fall time equals a plain PD simulation's."""
    from hover.evaluation.sim2sim_physics import MujocoRobot, PhysicsConfig
    from hover.evaluation.sim2sim_runner import standing_qpos
    from hover.evaluation.sim2sim_worker import fell

    code, rep = _run(capsys, "--policy", str(onnx / "zero.onnx"), "--joystick", "idle", "--seconds", "4")
    assert code == 1 and rep["fall_rate"] == 1.0 and rep["seeds"] == 1 and not rep["passed"]
    seed = rep["per_seed"][0]
    assert seed["fell"] and 0.8 < seed["fall_time_s"] < 3.0 and seed["simulated_s"] == seed["fall_time_s"]
    assert seed["schedule"] == [
        {"start_s": 0.0, "duration_s": 4.0, "vx": 0.0, "vy": 0.0, "yaw_rate": 0.0, "height": 1.0}
    ]
    assert [t["to"] for t in seed["transitions"]] == ["soft_start", "hold", "policy"]
    # the same robot under the same PD, outside the runner
    kp, kd, eff = (np.array([getattr(j, k) for j in ROBOT.joints]) for k in ("kp", "kd", "effort_limit"))
    sim = MujocoRobot(ROBOT, ROBOT.joint_names, kp, kd, eff, PhysicsConfig())
    q0 = standing_qpos(ROBOT)
    assert 0.95 < q0[2] < 1.0  # the default pose with the feet on the floor
    sim.reset(0, q0[:3], q0[3:7], np.zeros(3), np.zeros(3), q0[7:], np.zeros(19))
    k = 0
    while not fell(sim.state(0)["root_pos"], sim.state(0)["root_quat"]):
        sim.step(0, DEFAULT, 20)
        k += 1
    assert seed["fall_time_s"] == pytest.approx(k * 0.02)
    # and no fall is reported before it happens
    code, rep = _run(capsys, "--policy", str(onnx / "zero.onnx"), "--joystick", "idle", "--seconds", "0.6")
    assert code == 0 and rep["fall_rate"] == 0.0 and rep["passed"]
    assert rep["per_seed"][0]["height_err_m"] < 0.1 and rep["per_seed"][0]["policy_ticks"] == 30


def test_joystick_random_report_with_the_bundled_student(onnx, capsys):
    code, rep = _run(capsys, "--policy", str(onnx / "student.onnx"), "--joystick", "random", "--seconds", "3",
                     "--seeds", "3", "--workers", "2")  # fmt: skip
    assert rep["check"] == "joystick" and rep["seeds"] == 3 and rep["workers"] == 2
    assert [r["seed"] for r in rep["per_seed"]] == [0, 1, 2]
    assert rep["fall_rate"] == pytest.approx(sum(r["fell"] for r in rep["per_seed"]) / 3)
    assert code == (0 if rep["fall_rate"] <= 0.05 else 1) and rep["passed"] == (code == 0)
    for r in rep["per_seed"]:
        expected = random_schedule(r["seed"], 3.0, GamepadConfig(), ROBOT.root_init_height)
        assert r["schedule"] == [s.__dict__ for s in expected]
        assert r["fell"] == (r["fall_time_s"] is not None)
        assert r["simulated_s"] == pytest.approx(r["fall_time_s"] if r["fell"] else 3.0)
        for key in ("vel_err_m_s", "yaw_rate_err_rad_s", "height_err_m"):
            assert r[key] is not None and 0.0 <= r[key] < 5.0
    code, _ = _run(capsys, "--policy", str(onnx / "garbage.onnx"), "--joystick", "random", "--seconds", "2",
                   "--seeds", "2", "--workers", "1", "--max-fall-rate", "1.0")  # fmt: skip
    assert code == 0  # the bar is an option: fall rate 1.0 passes a bar of 1.0


# ----- VR ----------------------------------------------------------------------------------------------
def _stream_source(clip_name: str, stream: VRStream) -> StreamedVR:
    from hover.motion.builtin import load_builtin_motions
    from hover.motion.library import MotionLibrary

    clip = next(c for c in load_builtin_motions(ROBOT) if c.name == clip_name)
    return StreamedVR(ROBOT, LAYOUT, MotionLibrary([clip], robot=ROBOT), stream)


def test_vr_stream_is_sampled_held_frozen_and_jumps():
    st = VRStream(rate_hz=30.0, live_s=1.0, freeze_s=0.5, jump_s=1.0)
    src = _stream_source("wave_both", st)
    pos0, yaw0 = src.clip_points(0.0)
    head_default = src.keypoints.head_default
    rows = []
    for k in range(int(round(st.end / 0.02))):
        now = k * 0.02
        events = src.events(UPRIGHT, now)
        sample = src.command(UPRIGHT, now)
        rows.append((now, sample.stamp, src.commanded_points().copy(), events))
        assert sample.mode == "omnih2o" and np.array_equal(
            sample.mask, mask_for_mode("omnih2o", LAYOUT).numpy()
        )
    live = [r for r in rows if r[0] < 1.0]
    frozen = [r for r in rows if 1.0 <= r[0] < 1.5]
    jump = [r for r in rows if r[0] >= 1.5]
    c, s = math.cos(-yaw0), math.sin(-yaw0)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    for now, stamp, pts, _ in live:  # sample-and-hold of the newest 30 Hz sample, calibrated on the first
        assert stamp == pytest.approx(math.floor(now * 30 + 1e-9) / 30) and now - stamp < 1 / 30
        pos, _ = src.clip_points(stamp)
        np.testing.assert_allclose(pts, head_default + (rz @ (pos - pos0[0]).T).T, atol=1e-9)
    assert np.allclose(live[0][2][0], head_default)
    last_live = live[-1]
    assert last_live[1] == pytest.approx(29 / 30)
    for _, stamp, pts, _ in frozen:  # no sample: the old stamp and points
        assert stamp == last_live[1] and np.array_equal(pts, last_live[2])
    for now, stamp, pts, _ in jump:  # back, every point 0.3 m forward of where it froze
        assert now - stamp < 1 / 30 + 1e-9
        np.testing.assert_allclose(pts - last_live[2], [[0.3, 0.0, 0.0]] * 3, atol=1e-9)
    assert [e for r in rows for e in r[3]] == [Event.POLICY] and jump[0][3] == [Event.POLICY]


def test_vr_stream_world_anchor_gives_a_tracking_robot_the_training_command():
    """A robot that follows stand_idle exactly (the runner's view: the clip's joint angles and pelvis
    orientation) is sent, once the anchor settled, what training sends it: the clip's points relative to
    its moving pelvis in its heading frame (up to a constant: the default-pose head vs the clip's first
    frame). Root anchoring asks for the operator's 0.1 m sway as a lean over that pelvis."""
    from hover.commands.builders import body_commands

    st = VRStream(rate_hz=50.0, live_s=6.0, freeze_s=0.0, jump_s=0.0)
    world = _stream_source("stand_idle", st)
    root = StreamedVR(ROBOT, LAYOUT, world.library, st, anchor="root")
    lib = world.library
    got, got_root, train = [], [], []
    for k in range(int(round(6.0 / 0.02))):
        ref = lib.get_state(
            torch.zeros(1, dtype=torch.long), torch.tensor([k * 0.02], dtype=lib.body_pos.dtype)
        )
        view = RobotView(
            ref.joint_pos[0].double().numpy(), np.zeros(19), ref.root_quat[0].double().numpy(), np.zeros(3)
        )
        for src in (world, root):
            src.events(view, k * 0.02)
            src.command(view, k * 0.02)
        got.append(world.commanded_points())
        got_root.append(root.commanded_points())
        pts = ref.body_pos[:, world.body_ids].double()
        train.append(body_commands(pts, ref.root_pos.double(), ref.root_quat.double()).reshape(3, 3).numpy())
    got, got_root, train = np.array(got), np.array(got_root), np.array(train)
    settled = int(round(world.anchor.settle_s / 0.02))  # the tie stays from this tick on
    change, change_train = got[settled:] - got[settled], train[settled:] - train[settled]
    assert np.abs(change - change_train).max() < 0.015
    lean = (got_root - got_root[0]) - (train - train[0])
    assert np.abs(lean).max() > 0.08  # the sway as a lean
    np.testing.assert_allclose(got[:settled], got_root[:settled], atol=1e-9)  # following while settling


def test_vr_check_runner_holds_when_stale_and_resumes(onnx, capsys):
    """Zero actions (the robot stands ~1.5 s on PD), on_stale_input = hold: the runner's staleness check
    moves it to HOLD about 0.2 s after the last sample, the operator's POLICY on the jumped stream resumes it."""
    code, rep = _run(capsys, "--policy", str(onnx / "zero.onnx"), "--vr-stream", "stand_still", "--vr-rate", "30",
                     "--vr-live-s", "0.4", "--vr-freeze-s", "0.4", "--vr-jump-s", "0.3", "--workers", "1",
                     "--vr-on-stale", "hold")  # fmt: skip
    assert rep["check"] == "vr_stream" and rep["rates_hz"] == [30.0] and rep["on_stale_input"] == "hold"
    run = rep["runs"][0]
    assert not run["fell"] and run["phases"] == {"live": [0.0, 0.4], "frozen": [0.4, 0.8], "jump": [0.8, 1.1]}
    last_sample = 11 / 30  # the last live sample (0.367 s): stale once older than 0.2 s, at the next tick
    assert run["frozen"]["stale_after_s"] == pytest.approx(0.58 - 0.4) and 0.58 - last_sample > 0.2
    assert run["frozen"]["reached"] and run["jump"]["reached"]
    assert run["frozen"]["runner_state_at_end"] == "hold" and run["jump"]["resumed_policy_at_s"] == 0.8
    assert [t["to"] for t in run["transitions"]][-2:] == ["hold", "policy"]
    assert run["live"]["policy_fraction"] == 1.0 and 0.0 < run["live"]["mean_error_m"] < 0.5
    assert set(run["live"]["error_m"]) == {"head", "left_hand", "right_hand"}
    assert run["jump"]["mean_error_m_first"] > run["live"]["mean_error_m"]  # the targets jumped away
    assert code == (0 if rep["passed"] else 1) and run["passed"] == (run["live"]["mean_error_m"] <= 0.1)


def test_vr_check_default_keeps_the_policy_on_the_frozen_stream(onnx, capsys):
    """Default on_stale_input = last_command: a stale stream is reported, but the policy keeps running on
    the newest good sample (the frozen targets) and never leaves POLICY."""
    code, rep = _run(capsys, "--policy", str(onnx / "zero.onnx"), "--vr-stream", "stand_still", "--vr-rate", "30",
                     "--vr-live-s", "0.4", "--vr-freeze-s", "0.4", "--vr-jump-s", "0.3", "--workers", "1")  # fmt: skip
    run = rep["runs"][0]
    assert rep["on_stale_input"] == "last_command" and run["frozen"]["stale_after_s"] == pytest.approx(0.18)
    states = [t["to"] for t in run["transitions"]]
    assert run["frozen"]["runner_state_at_end"] == "policy" and states == ["soft_start", "hold", "policy"]
    assert rep["anchor"] == run["anchor"] == "world"  # the default, as in hover run
    odo = run["odometry"]  # leg odometry vs the simulated pelvis, standing on PD
    assert 0.0 <= odo["mean_xy_error_m"] <= odo["max_xy_error_m"] < 0.02 and odo["max_z_error_m"] < 0.02


@pytest.mark.parametrize("anchor", ["root", "truth"])
def test_vr_check_anchor_choices(onnx, capsys, anchor):
    code, rep = _run(capsys, "--policy", str(onnx / "zero.onnx"), "--vr-stream", "stand_idle", "--vr-rate", "30",
                     "--vr-live-s", "0.4", "--vr-freeze-s", "0.0", "--vr-jump-s", "0.0", "--workers", "1",
                     "--vr-anchor", anchor)  # fmt: skip
    run = rep["runs"][0]
    assert rep["anchor"] == run["anchor"] == anchor and not run["fell"]
    if anchor == "root":
        assert run["odometry"] is None
    else:  # the simulator's own pelvis: no odometry error
        assert run["odometry"]["max_xy_error_m"] < 1e-9
    assert hover_main(["sim2sim", "--policy", str(onnx / "zero.onnx"), "--vr-stream", "stand_idle",
                       "--vr-anchor", "pelvis"]) == 2  # fmt: skip


def test_vr_check_detects_a_fall_and_reports_every_rate(onnx, capsys):
    code, rep = _run(capsys, "--policy", str(onnx / "garbage.onnx"), "--vr-stream", "wave_both", "--vr-rate", "30",
                     "90", "--vr-live-s", "2", "--vr-freeze-s", "0.2", "--vr-jump-s", "0.5", "--workers", "1")  # fmt: skip
    assert code == 1 and not rep["passed"] and rep["falls"] == 2 and rep["rates_hz"] == [30.0, 90.0]
    for run in rep["runs"]:
        assert run["fell"] and run["fall_phase"] == "live" and 0.0 < run["fall_time_s"] < 2.0
        assert not run["frozen"]["reached"] and run["frozen"]["runner_state_at_end"] is None
        ticks = int(round(run["fall_time_s"] / 0.02))  # each tick takes the newest sample, if a new one came
        newest = {math.floor(k * 0.02 * run["rate_hz"] + 1e-9) for k in range(ticks)}
        assert run["samples_taken"] == len(newest) == (ticks if run["rate_hz"] > 50 else len(newest))


def test_vr_bundled_student_report_shape(onnx, capsys):
    code, rep = _run(capsys, "--policy", str(onnx / "student.onnx"), "--vr-stream", "wave_both", "--vr-rate", "60",
                     "--vr-live-s", "1", "--vr-freeze-s", "0.1", "--vr-jump-s", "0.5")  # fmt: skip
    run = rep["runs"][0]
    assert run["frozen"]["stale_after_s"] is None  # 0.1 s < the runner's 0.2 s: the policy saw frozen targets
    assert run["live"]["mean_command_age_s"] < 1 / 60 and code == (0 if rep["passed"] else 1)
    assert hover_main(["sim2sim", "--policy", str(onnx / "student.onnx"), "--vr-stream", "no_such_clip"]) == 2
    assert hover_main(["sim2sim", "--policy", str(onnx / "student.onnx"), "--vr-stream", "wave_both",
                       "--joystick", "idle"]) == 2  # fmt: skip


# ----- sim2sim vs eval -------------------------------------------------------------------------------
def test_against_eval_puts_both_success_rates_side_by_side(capsys):
    code, rep = _run(capsys, "--policy", "builtin:student", "--against-eval", "--clips", "stand_still",
                     "walk_forward", "--seconds", "1", "--mode", "h2o,locomotion", "--workers", "1")  # fmt: skip
    assert (
        rep["check"] == "sim2sim_vs_eval"
        and rep["num_clips"] == 2
        and list(rep["modes"]) == ["h2o", "locomotion"]
    )
    for m, row in rep["modes"].items():
        assert row["sim2sim_success"] == rep["sim2sim"]["modes"][m]["success_rate"]
        assert row["diff"] == pytest.approx(row["sim2sim_success"] - row["eval_success"])
        assert row["eval_success"] in (0.0, 0.5, 1.0)
    assert rep["max_abs_diff"] == max(abs(r["diff"]) for r in rep["modes"].values())
    assert code == (0 if rep["max_abs_diff"] <= 0.05 else 1) and rep["passed"] == (code == 0)
    assert hover_main(["sim2sim", "--policy", "x.onnx", "--against-eval"]) == 2  # eval cannot run an ONNX
