"""hover sim2sim: explicit-PD physics, joint mapping of another MJCF, teacher refusal, short runs."""

from __future__ import annotations

import dataclasses
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import mujoco
import numpy as np
import pytest
import torch

from hover.cli import main as hover_main
from hover.evaluation.sim2sim import Sim2SimConfig, benchmark_sim2sim, run_sim2sim
from hover.evaluation.sim2sim_physics import MujocoRobot, PhysicsConfig
from hover.robots import get_robot
from hover.robots.mjcf import build_model, build_spec, default_qpos
from hover.student import student_obs_layout
from hover.training.export import export_onnx

sys.path.insert(0, str(Path(__file__).parent))
from test_export_student import make_policy, write_student_checkpoint  # noqa: E402

ROBOT = get_robot("h1")
KP = np.array([j.kp for j in ROBOT.joints])
KD = np.array([j.kd for j in ROBOT.joints])
EFFORT = np.array([j.effort_limit for j in ROBOT.joints])


def reordered_mjcf(path: Path) -> Path:
    """hover's H1 with the bodies listed torso/arms, right leg, left leg (so another joint order),
    joints renamed ``<name>_joint``, actuators listed in reverse, no keyframe."""
    parent = {b.name: b.parent for b in ROBOT.bodies}

    def under(name: str | None, root: str) -> bool:
        while name is not None:
            if name == root:
                return True
            name = parent[name]
        return False

    order = [ROBOT.bodies[0]] + [
        b
        for root in ("torso_link", "right_hip_yaw_link", "left_hip_yaw_link")
        for b in ROBOT.bodies
        if under(b.name, root)
    ]
    assert len(order) == ROBOT.num_bodies
    tree = ET.fromstring(build_spec(dataclasses.replace(ROBOT, bodies=tuple(order))).to_xml())
    for j in tree.iter("joint"):
        if j.get("name") in ROBOT.joint_names:
            j.set("name", j.get("name") + "_joint")
    act = tree.find("actuator")
    kids = list(act)
    for k in kids:
        act.remove(k)
    for k in reversed(kids):
        k.set("joint", k.get("joint") + "_joint")
        act.append(k)
    tree.remove(tree.find("keyframe"))
    path.write_text(ET.tostring(tree, encoding="unicode"))
    return path


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim2sim")
    student = make_policy("student", student_obs_layout("h1").obs_dim)
    last = [m for m in student.model.mlp if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():  # small actions: the untrained student moves the robot without throwing it
        last.weight.mul_(0.05)
        last.bias.zero_()
    export_onnx(student, out / "student.onnx")
    export_onnx(make_policy("teacher", 182), out / "teacher.onnx")  # the tracking recipe's actor
    return out


def _drive(sim: MujocoRobot, seconds: float = 0.3) -> np.ndarray:
    """Joint trajectory [T, J] (policy order) under a fixed sequence of targets from the default pose."""
    q0 = default_qpos(ROBOT)
    z = np.zeros(3)
    sim.reset(0, q0[:3], q0[3:7], z, z, q0[7:], np.zeros(ROBOT.num_joints))
    out = []
    for k in range(int(round(seconds / 0.02))):
        targets = q0[7:] + 0.2 * np.sin(0.1 * k + np.arange(ROBOT.num_joints))
        sim.step(0, targets, 20)
        out.append(np.concatenate([sim.state(0)["joint_pos"], sim.state(0)["root_pos"]]))
    return np.array(out)


def test_explicit_pd_tracks_like_the_training_servos():
    """1 kHz explicit PD (policy kp/kd, clipped torques) vs MuJoCo's position servos at 200 Hz: the same
    targets give nearly the same motion (the PD sign, gains and joint mapping are right)."""
    sim = MujocoRobot(ROBOT, ROBOT.joint_names, KP, KD, EFFORT, PhysicsConfig())
    assert sim.physics_dt == 0.001 and sim.model.opt.solver == mujoco.mjtSolver.mjSOL_CG
    ours = _drive(sim)
    model = build_model(ROBOT)
    data = mujoco.MjData(model)
    q0 = default_qpos(ROBOT)
    data.qpos[:] = q0
    ref = []
    for k in range(len(ours)):
        data.ctrl[:] = q0[7:] + 0.2 * np.sin(0.1 * k + np.arange(ROBOT.num_joints))
        for _ in range(4):
            mujoco.mj_step(model, data)
        ref.append(np.concatenate([data.qpos[7:], data.qpos[:3]]))
    err = np.abs(ours - np.array(ref))
    assert err[:, :19].max() < 0.03 and err[:, 19:].max() < 0.005
    assert np.abs(ours[-1, :19] - ours[0, :19]).max() > 0.1  # the joints did move


def test_reordered_mjcf_is_mapped_by_joint_names(tmp_path):
    xml = reordered_mjcf(tmp_path / "h1_reordered.xml")
    other = MujocoRobot(ROBOT, ROBOT.joint_names, KP, KD, EFFORT, PhysicsConfig(model=str(xml)))
    names = [other.model.joint(i).name for i in range(1, other.model.njnt)]
    assert names != [n + "_joint" for n in ROBOT.joint_names] and sorted(names) == sorted(
        n + "_joint" for n in ROBOT.joint_names
    )
    acts = [other.model.actuator(i).name + "_joint" for i in range(other.model.nu)]
    assert acts == names[::-1]  # actuators listed in yet another order
    native = MujocoRobot(ROBOT, ROBOT.joint_names, KP, KD, EFFORT, PhysicsConfig())
    a, b = _drive(native), _drive(other)
    assert np.abs(a - b).max() < 1e-6
    # a model lacking a joint is refused with the file and the joint named
    text = xml.read_text().replace('name="left_elbow_joint"', 'name="elbow_l"')
    (tmp_path / "broken.xml").write_text(text.replace('joint="left_elbow_joint"', 'joint="elbow_l"'))
    with pytest.raises(ValueError, match="broken.xml.*left_elbow"):
        MujocoRobot(
            ROBOT, ROBOT.joint_names, KP, KD, EFFORT, PhysicsConfig(model=str(tmp_path / "broken.xml"))
        )


def test_sim2sim_refuses_a_teacher(onnx_dir, capsys):
    code = hover_main(["sim2sim", "--policy", str(onnx_dir / "teacher.onnx"), "--num-clips", "1", "--seconds", "0.2",
                       "--workers", "1"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "teacher.onnx" in err and "teacher policy" in err and "privileged" in err


def test_short_run_reports_finite_metrics(onnx_dir, tmp_path, capsys):
    out = tmp_path / "report"
    code = hover_main(["sim2sim", "--policy", str(onnx_dir / "student.onnx"), "--clips", "stand_still",
                       "--seconds", "1", "--workers", "1", "--mode", "omnih2o,locomotion", "--out", str(out)])  # fmt: skip
    assert code == 0
    table = capsys.readouterr().out
    assert "omnih2o" in table and "locomotion" in table and "E_g-mpjpe" in table
    report = json.loads((out / "report.json").read_text())
    assert report["physics"]["physics_dt"] == 0.001 and report["physics"]["solver"] == "cg"
    for mode in ("omnih2o", "locomotion"):
        block = report["modes"][mode]
        assert block["num_clips"] == 1 and block["falls"] in (0, 1)
        for key in ("mpjpe_g_mm", "mpjpe_l_mm", "success_rate", "root_height_err_m"):
            assert block[key] is not None and np.isfinite(block[key])
        assert 0.0 < block["mpjpe_g_mm"] < 500.0  # started on the reference; under the failure bound
        assert block["simulated_s"] == pytest.approx(1.0, abs=0.03) or block["falls"] == 1
    # the masks differ, so the untrained student acts differently in the two modes
    assert report["modes"]["omnih2o"]["mpjpe_l_mm"] != report["modes"]["locomotion"]["mpjpe_l_mm"]


def test_two_worker_processes_match_one(onnx_dir):
    base = Sim2SimConfig(
        policy=str(onnx_dir / "student.onnx"),
        clips=("stand_still", "wave_both"),
        seconds=0.4,
        mode="h2o",
        workers=1,
    )
    one, _ = run_sim2sim(base)
    two, outcomes = run_sim2sim(dataclasses.replace(base, workers=2))
    assert two["workers"] == 2 and len(outcomes) == 2
    for key in ("mpjpe_g_mm", "mpjpe_l_mm", "success_rate"):
        assert two["modes"]["h2o"][key] == pytest.approx(one["modes"]["h2o"][key], rel=1e-6)


def test_benchmark_reports_realtime_factor(onnx_dir):
    out = benchmark_sim2sim(str(onnx_dir / "student.onnx"), num_clips=1, workers=1, seconds=0.4)
    assert out["realtime_factor"] > 0 and out["simulated_s"] == pytest.approx(0.4, abs=0.03)


@pytest.mark.slow  # offscreen rendering: ~10 s on 2 vCPUs
def test_video_of_one_clip(onnx_dir, tmp_path, capsys):
    code = hover_main(["sim2sim", "--policy", str(onnx_dir / "student.onnx"), "--clips", "wave_both", "--seconds",
                       "0.5", "--workers", "1", "--mode", "omnih2o", "--out", str(tmp_path), "--video", "clip.mp4",
                       "--video-width", "320", "--video-height", "240"])  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    if "no video" in err:
        pytest.skip(err.strip())
    import imageio.v2 as imageio

    written = next(tmp_path.glob("clip.mp4*"))
    frames = imageio.mimread(written, memtest=False)
    assert len(frames) >= 15 and frames[0].shape[:2] == (240, 320)
    assert np.std(frames[0]) > 5  # a rendered scene, not a blank frame


def test_a_checkpoint_is_exported_first(tmp_path):
    ckpt = write_student_checkpoint(tmp_path / "student_7.pt")
    report, outcomes = run_sim2sim(
        Sim2SimConfig(policy=str(ckpt), clips=("stand_still",), seconds=0.2, mode="head", workers=1)
    )
    assert report["policy"] == str(ckpt) and len(outcomes) == 1 and outcomes[0].frames >= 1
    assert np.isfinite(report["modes"]["head"]["mpjpe_g_mm"])


def test_divergence_is_detected(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo logs the warning to MUJOCO_LOG.TXT in the working directory
    sim = MujocoRobot(ROBOT, ROBOT.joint_names, KP, KD, EFFORT, PhysicsConfig())
    q0 = default_qpos(ROBOT)
    z = np.zeros(3)
    sim.reset(0, q0[:3], q0[3:7], z, z, q0[7:], np.zeros(ROBOT.num_joints))
    sim.step(0, q0[7:], 5)
    assert not sim.diverged(0)
    bad = q0[7:].copy()
    bad[3] = np.nan
    sim.step(0, bad, 1)  # a NaN torque: MuJoCo warns and resets the data
    assert sim.diverged(0)


def test_first_observation_equals_the_training_envs(onnx_dir):
    """Same state, same clip and mode: sim2sim's student observation (deploy path, MuJoCo qvel in the
    pelvis frame) equals the tracking env's ``student`` group (world angular velocity rotated)."""
    from hover.deploy.policy import OnnxPolicy
    from hover.evaluation.sim2sim_worker import ClipBatch
    from hover.motion.library import MotionLibrary
    from hover.training.teacher import TeacherTrainConfig, make_env

    cfg = TeacherTrainConfig(num_envs=2, num_threads=1)
    cfg.env.student.enabled = True
    cfg.env.domain_rand.enabled = False
    cfg.env.reset.noise = False
    env = make_env(cfg)
    try:
        names = ["wave_both", "walk_forward"]
        clips = torch.tensor([env.motions.clip_names.index(n) for n in names])
        env.reset_to(torch.arange(2), clips, torch.zeros(2))
        env.set_mode(torch.arange(2), "h2o")
        expected = env.get_observations()["student"]
        policy = OnnxPolicy(onnx_dir / "student.onnx")
        lib = MotionLibrary(
            sorted((c for c in _builtin_clips() if c.name in names), key=lambda c: names.index(c.name))
        )
        sim = MujocoRobot(
            ROBOT, policy.joint_names, policy.kp, policy.kd, policy.effort_limit, PhysicsConfig(), 2
        )
        got = ClipBatch(policy, sim, lib, "h2o").observation()
        assert got.shape == expected.shape == (2, 1782)
        assert (got - expected).abs().max() < 1e-4
        assert got[:, 44:139].abs().sum() > 0.1  # a real command (h2o bodies), not zeros
    finally:
        env.backend.close()


def _builtin_clips():
    from hover.motion.builtin import load_builtin_motions

    return load_builtin_motions(ROBOT)


def test_jobs_split_items_by_duration_and_carry_only_their_clips():
    from hover.evaluation.sim2sim import plan_jobs

    clips = _builtin_clips()[:5]
    cfg = Sim2SimConfig(policy="p.onnx", workers=2, video="v.mp4", video_clip=clips[3].name)
    jobs = plan_jobs(cfg, clips, ("h2o", "head"))
    assert len(jobs) == 2
    played = sorted((m, j.clips[i].name) for j in jobs for m, i in j.items)
    assert played == sorted((m, c.name) for m in ("h2o", "head") for c in clips)  # every item exactly once
    loads = [sum(j.clips[i].num_frames / j.clips[i].fps for _, i in j.items) for j in jobs]
    assert abs(loads[0] - loads[1]) <= max(c.num_frames / c.fps for c in clips)
    recorded = [(j.record[0], j.clips[j.record[1]].name) for j in jobs if j.record is not None]
    assert recorded == [("h2o", clips[3].name)]
