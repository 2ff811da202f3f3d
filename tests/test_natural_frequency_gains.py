"""PD gains from a natural frequency (BeyondMimic): the pure function, the opt-in env lever, its config
round trip and resume, and the gains an exported policy records."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import tyro
from tensordict import TensorDict

from hover.envs.backends import make_backend
from hover.envs.tracking.config import GainsConfig, TrackingEnvConfig
from hover.envs.tracking.env import TrackingEnv
from hover.motion.library import MotionLibrary
from hover.robots import get_robot, natural_frequency_gains
from hover.training.configs import TeacherTrainConfig
from hover.training.recipes import teacher_recipe
from hover.training.teacher import config_from_json, config_to_json, make_env, rsl_rl_config

ROBOT = get_robot("h1")
K_10HZ = 0.1 * (2 * math.pi * 10) ** 2  # N m/rad: armature 0.1 kg m^2 at 10 Hz (~394.8)
D_10HZ = 2 * 2 * 0.1 * 2 * math.pi * 10  # N m s/rad: damping ratio 2 (~25.1)
NATURAL = GainsConfig(mode="natural-frequency")


@pytest.fixture(scope="module")
def motions() -> MotionLibrary:
    return MotionLibrary.builtin(ROBOT)


def _model_gains(env: TrackingEnv) -> tuple[np.ndarray, np.ndarray]:
    """(kp, kd) per actuator, read back from the backend's compiled MuJoCo model."""
    model = env.backend.model
    gain, bias = model.actuator_gainprm[:, 0], model.actuator_biasprm[:, :3]
    np.testing.assert_allclose(bias[:, 1], -gain)  # a position servo: bias = -kp q - kd qdot
    return gain.copy(), -bias[:, 2]


def _env(motions: MotionLibrary, cfg: TrackingEnvConfig) -> TrackingEnv:
    return TrackingEnv(cfg, motions, make_backend("mujoco", cfg.gains.apply(ROBOT), 1, num_threads=1))


def test_natural_frequency_gains_of_the_h1_defaults():
    assert {j.armature for j in ROBOT.joints} == {0.1}
    spec = natural_frequency_gains(ROBOT, frequency_hz=10.0, damping_ratio=2.0)
    assert spec.num_joints == 19
    for j, base in zip(spec.joints, ROBOT.joints, strict=True):
        assert j.kp == pytest.approx(K_10HZ, rel=1e-12) and j.kd == pytest.approx(D_10HZ, rel=1e-12)
        assert dataclasses.replace(j, kp=base.kp, kd=base.kd) == base  # nothing else changes
    assert natural_frequency_gains(ROBOT) == spec  # 10 Hz and damping ratio 2 are the defaults
    assert spec.joints[0].kp == pytest.approx(394.784, abs=1e-3) and spec.joints[0].kd == pytest.approx(
        25.133, abs=1e-3
    )
    assert (ROBOT.joints[0].kp, ROBOT.joints[0].kd) == (200.0, 5.0)  # the cached robot is untouched
    other = natural_frequency_gains(ROBOT, 5.0, 1.0)
    assert other.joints[3].kp == pytest.approx(K_10HZ / 4) and other.joints[3].kd == pytest.approx(D_10HZ / 4)


def test_natural_frequency_gains_refuse_bad_input():
    with pytest.raises(ValueError, match="frequency_hz"):
        natural_frequency_gains(ROBOT, 0.0)
    with pytest.raises(ValueError, match="damping_ratio"):
        natural_frequency_gains(ROBOT, 10.0, -1.0)
    body = ROBOT.bodies[1]
    assert body.joint is not None
    no_rotor = dataclasses.replace(body, joint=dataclasses.replace(body.joint, armature=0.0))
    spec = dataclasses.replace(ROBOT, bodies=(ROBOT.bodies[0], no_rotor, *ROBOT.bodies[2:]))
    with pytest.raises(ValueError, match=f"joint {body.joint.name}: armature"):
        natural_frequency_gains(spec)
    with pytest.raises(ValueError, match="gains.mode"):
        GainsConfig(mode="stiff").apply(ROBOT)  # type: ignore[arg-type]


def test_the_lever_sets_the_actuator_gains_and_the_effort_action_scale():
    cfg = TeacherTrainConfig(num_envs=1, num_threads=1, sim_workers=False, eval_interval=0)
    cfg.env.gains = dataclasses.replace(NATURAL)
    assert cfg.env.actions.scale_mode == "effort" and cfg.env.actions.scale == 0.25
    env = make_env(cfg)
    try:
        kp, kd = _model_gains(env)
        np.testing.assert_allclose(kp, K_10HZ, rtol=1e-12)
        np.testing.assert_allclose(kd, D_10HZ, rtol=1e-12)
        effort = torch.tensor([j.effort_limit for j in ROBOT.joints])
        torch.testing.assert_close(env.action_scale, 0.25 * effort / K_10HZ)
        assert float(env.action_scale[ROBOT.joint_index("left_ankle")]) == pytest.approx(0.25 * 40 / K_10HZ)
        assert torch.allclose(env.idx.kp, torch.full((19,), K_10HZ))
    finally:
        env.backend.close()


def test_the_default_run_keeps_the_robots_own_gains():
    cfg = TeacherTrainConfig(num_envs=1, num_threads=1, sim_workers=False, eval_interval=0)
    assert cfg.env.gains == GainsConfig() and cfg.env.gains.mode == "robot"
    assert teacher_recipe("tracking").env.gains.mode == "robot"
    assert teacher_recipe("hover-paper").env.gains.mode == "robot"
    env = make_env(cfg)
    try:
        kp, kd = _model_gains(env)
        np.testing.assert_array_equal(kp, [j.kp for j in ROBOT.joints])
        np.testing.assert_allclose(kd, [j.kd for j in ROBOT.joints])
        effort = torch.tensor([j.effort_limit for j in ROBOT.joints])
        torch.testing.assert_close(
            env.action_scale, 0.25 * effort / torch.tensor([j.kp for j in ROBOT.joints])
        )
        assert env.robot is ROBOT
    finally:
        env.backend.close()


def test_the_env_refuses_a_backend_without_the_configured_gains(motions):
    cfg = TrackingEnvConfig(gains=dataclasses.replace(NATURAL))
    backend = make_backend("mujoco", ROBOT, 1, num_threads=1)  # the robot's own gains
    try:
        with pytest.raises(ValueError, match="build the backend with cfg.gains.apply"):
            TrackingEnv(cfg, motions, backend)
    finally:
        backend.close()


def test_evaluation_simulates_the_gains_the_policy_was_trained_with(motions):
    from hover.evaluation.evaluate import make_eval_env

    cfg = TrackingEnvConfig(gains=GainsConfig(mode="natural-frequency", frequency_hz=8.0, damping_ratio=1.5))
    env = make_eval_env(SimpleNamespace(env_cfg=cfg), motions, 1, num_threads=1)
    try:
        kp, kd = _model_gains(env)
        omega = 2 * math.pi * 8.0
        np.testing.assert_allclose(kp, 0.1 * omega**2, rtol=1e-12)
        np.testing.assert_allclose(kd, 2 * 1.5 * 0.1 * omega, rtol=1e-12)
    finally:
        env.backend.close()


def test_the_lever_is_a_command_line_option_and_round_trips_through_json():
    args = [
        "--env.gains.mode",
        "natural-frequency",
        "--env.gains.frequency-hz",
        "8",
        "--env.gains.damping-ratio",
        "1.5",
    ]
    cfg = tyro.cli(TeacherTrainConfig, args=args, default=teacher_recipe("tracking"))
    assert cfg.env.gains == GainsConfig("natural-frequency", 8.0, 1.5)
    text = config_to_json(cfg)
    assert json.loads(text)["train"]["env"]["gains"] == {
        "mode": "natural-frequency",
        "frequency_hz": 8.0,
        "damping_ratio": 1.5,
    }
    back = config_from_json(text)
    assert back == cfg and back.env.gains == cfg.env.gains
    assert TrackingEnvConfig.from_dict(cfg.env.to_dict()).gains == cfg.env.gains


def test_resume_restores_the_gains_and_old_configs_load_the_default(tmp_path):
    from hover.training.loop import resume_defaults

    cfg = teacher_recipe("tracking")
    cfg.env.gains = GainsConfig("natural-frequency", 12.0, 2.0)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(config_to_json(cfg))
    (run / "model_0.pt").write_bytes(b"")  # resume_defaults only needs the file to exist
    default = resume_defaults(["--resume", str(run)], teacher_recipe("tracking"), config_from_json)
    assert default.env.gains == GainsConfig("natural-frequency", 12.0, 2.0)
    resumed = tyro.cli(TeacherTrainConfig, args=["--resume", str(run)], default=default)
    assert resumed.env.gains == default.env.gains
    old = json.loads(config_to_json(teacher_recipe("tracking")))
    del old["train"]["env"]["gains"]  # a config.json written before the lever existed
    assert config_from_json(json.dumps(old)).env.gains == GainsConfig()


def test_bad_gains_options_are_refused_before_training():
    from hover.training.checks import check_config

    cfg = teacher_recipe("tracking")
    cfg.env.gains = GainsConfig("natural-frequency", -1.0, 2.0)
    with pytest.raises(ValueError, match="--env.gains.mode natural-frequency: .*frequency_hz"):
        check_config(cfg)


def test_a_student_inherits_the_teachers_gains():
    from hover.training import distillation as S

    teacher_env = TrackingEnvConfig(gains=GainsConfig("natural-frequency", 9.0, 2.0))
    student = S.prepare(S.StudentTrainConfig(), teacher_env)
    assert student.env.gains == teacher_env.gains and student.env.gains is not teacher_env.gains
    assert S.prepare(S.StudentTrainConfig(), TrackingEnvConfig()).env.gains == GainsConfig()


def test_an_exported_policy_records_the_gains_it_was_trained_with(tmp_path: Path):
    from rsl_rl.models import MLPModel

    from hover.deploy.policy import read_metadata
    from hover.training.export import export_onnx
    from hover.training.policies import load_policy

    cfg = TeacherTrainConfig()
    cfg.env.gains = dataclasses.replace(NATURAL)
    actor = dict(rsl_rl_config(cfg)["actor"])
    actor.pop("class_name")
    obs = TensorDict({"policy": torch.zeros(1, 182)}, batch_size=[1])  # the tracking recipe's actor
    model = MLPModel(obs, {"actor": ["policy"]}, "actor", 19, **actor)
    path = tmp_path / "model_0.pt"
    torch.save(
        {"kind": "teacher", "iter": 0, "config": config_to_json(cfg), "actor_state_dict": model.state_dict()},
        path,
    )
    meta = read_metadata(export_onnx(load_policy(str(path)), tmp_path / "policy.onnx"))
    np.testing.assert_allclose(meta["kp"], K_10HZ, rtol=1e-12)
    np.testing.assert_allclose(meta["kd"], D_10HZ, rtol=1e-12)
    assert meta["effort_limit"] == [j.effort_limit for j in ROBOT.joints]
