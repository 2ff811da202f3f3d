"""The H1 description matches the published figures and compiles to a consistent MuJoCo model."""

import dataclasses

import mujoco
import numpy as np
import pytest

from hover.robots import get_robot
from hover.robots.mjcf import ModelOptions, build_model, default_qpos

H1_JOINT_ORDER = [
    "left_hip_yaw", "left_hip_roll", "left_hip_pitch", "left_knee", "left_ankle",
    "right_hip_yaw", "right_hip_roll", "right_hip_pitch", "right_knee", "right_ankle", "torso",
    "left_shoulder_pitch", "left_shoulder_roll", "left_shoulder_yaw", "left_elbow",
    "right_shoulder_pitch", "right_shoulder_roll", "right_shoulder_yaw", "right_elbow",
]  # fmt: skip


@pytest.fixture(scope="module")
def robot():
    return get_robot("h1")


@pytest.fixture(scope="module")
def model(robot):
    return build_model(robot)


def test_joint_order_and_counts(robot, model):
    assert robot.joint_names == H1_JOINT_ORDER
    assert robot.num_joints == 19 and robot.num_bodies == 20 and len(robot.tracked_body_names) == 23
    assert model.nu == 19 and model.nq == 26 and model.nv == 25 and model.nbody == 21


def test_mass_matches_figures(robot, model):
    assert robot.total_mass == pytest.approx(51.437, abs=1e-3)
    assert model.body_mass[1:].sum() == pytest.approx(robot.total_mass, abs=1e-6)
    torso = model.body("torso_link")
    assert model.body_mass[torso.id] == pytest.approx(17.789)


def test_limits_and_gains_match_figures(robot, model):
    j = {x.name: x for x in robot.joints}
    assert j["left_knee"].range == (-0.26, 2.05) and j["left_knee"].effort_limit == 300
    assert j["left_ankle"].effort_limit == 40 and j["left_elbow"].velocity_limit == 20
    assert j["right_shoulder_roll"].range == (-3.11, 0.34) and j["left_shoulder_roll"].range == (-0.34, 3.11)
    assert (j["left_hip_pitch"].kp, j["left_hip_pitch"].kd) == (200, 5)
    assert (j["torso"].kp, j["torso"].kd) == (300, 6)
    for i, name in enumerate(robot.joint_names):
        np.testing.assert_allclose(model.jnt_range[i + 1], j[name].range)
        np.testing.assert_allclose(
            model.actuator_forcerange[i], [-j[name].effort_limit, j[name].effort_limit]
        )
        assert model.actuator_gainprm[i, 0] == j[name].kp
        np.testing.assert_allclose(model.actuator_biasprm[i, :3], [0, -j[name].kp, -j[name].kd])


def test_default_pose_and_motor_map(robot):
    q = default_qpos(robot)
    j = dict(zip(robot.joint_names, q[7:], strict=True))
    assert (
        j["left_hip_pitch"] == -0.4 and j["right_knee"] == 0.8 and j["left_ankle"] == -0.4 and j["torso"] == 0
    )
    motor = {x.name: x.motor_index for x in robot.joints}
    assert motor["right_hip_roll"] == 0 and motor["left_hip_yaw"] == 7 and motor["left_elbow"] == 19
    assert 9 not in motor.values()
    weak = {x.name for x in robot.joints if not x.strong_motor}
    assert weak == {"left_ankle", "right_ankle"} | {
        n for n in robot.joint_names if "shoulder" in n or "elbow" in n
    }


def test_extended_bodies_at_published_offsets(robot, model):
    data = mujoco.MjData(model)
    data.qpos[:] = default_qpos(robot)
    mujoco.mj_kinematics(model, data)
    head = data.site_xpos[model.site("head_link").id]
    np.testing.assert_allclose(head, data.xpos[model.body("pelvis").id] + [0, 0, 0.75], atol=1e-12)


def test_feet_touch_floor_near_default_height(robot, model):
    """Dropped from the default pose, the feet carry the robot: pelvis settles near 0.98 m."""
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, 0)
    mujoco.mj_step(model, data, nstep=40)
    assert 0.9 < data.qpos[2] < 1.05
    assert data.ncon >= 2


def test_model_options_change_physics(robot):
    m = build_model(robot, ModelOptions(physics_dt=0.001, solver="cg", self_collisions=False))
    assert m.opt.timestep == 0.001 and m.opt.solver == mujoco.mjtSolver.mjSOL_CG


def test_validate_rejects_inconsistent_descriptions(robot):
    bad_joint = dataclasses.replace(robot.bodies[1].joint, default_pos=5.0)
    bodies = (robot.bodies[0], dataclasses.replace(robot.bodies[1], joint=bad_joint), *robot.bodies[2:])
    with pytest.raises(ValueError, match="outside range"):
        dataclasses.replace(robot, bodies=bodies).validate()
    with pytest.raises(ValueError, match="before its parent"):
        dataclasses.replace(robot, bodies=(robot.bodies[0], *robot.bodies[2:], robot.bodies[1])).validate()
    with pytest.raises(ValueError, match="unknown robot"):
        get_robot("g2")
