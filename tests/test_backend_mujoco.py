"""MuJoCo CPU backend: real physics checks (PD and clipping, standing, frames, velocities, contacts)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hover.envs.backends import PhysicsParams, SimState, make_backend
from hover.envs.backends.mujoco import MujocoBackend
from hover.robots import get_robot
from hover.rotations import angular_velocity_from_quats, projected_gravity, quat_from_rotvec

ROBOT = get_robot("h1")
J, B = ROBOT.num_joints, ROBOT.num_bodies
DEFAULT = torch.tensor([j.default_pos for j in ROBOT.joints])
G = 9.81


def backend(n: int, threads: int = 1, decimation: int | None = None) -> MujocoBackend:
    robot = ROBOT if decimation is None else dataclasses.replace(ROBOT, decimation=decimation)
    b = make_backend("mujoco", robot, n, num_threads=threads)
    assert isinstance(b, MujocoBackend)
    return b


def standing_params(n: int) -> PhysicsParams:
    """Parameters under which PD to the default pose alone keeps the H1 standing (see test_standing_10s)."""
    p = PhysicsParams.nominal(n, B, J)
    legs = [ROBOT.joint_index(j) for j in ROBOT.lower_body_joints if "ankle" not in j]
    ankles = [ROBOT.joint_index(j) for j in ROBOT.lower_body_joints if "ankle" in j]
    p.kp_scale[:, legs], p.kd_scale[:, legs] = 5.0, 3.0
    p.kp_scale[:, ankles], p.kd_scale[:, ankles] = 15.0, 5.0
    p.torso_com_offset[:, 0] = 0.12
    return p


def fly(
    b: MujocoBackend, ids: list[int], ang_vel: torch.Tensor, lin_vel: torch.Tensor, quat: torch.Tensor
) -> None:
    """Teleport envs high above the floor (no contacts) with the given root motion."""
    n = len(ids)
    pos = torch.tensor([[0.0, 0.0, 5.0]]).repeat(n, 1)
    b.reset_envs(torch.tensor(ids), pos, quat, lin_vel, ang_vel, DEFAULT.expand(n, J), torch.zeros(n, J))


def test_factory_names() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        make_backend("bullet", ROBOT, 1)


def test_pd_saturates_at_effort_limit() -> None:
    """A joint commanded far away gets exactly its effort limit; others follow the PD law unclipped."""
    b = backend(1)
    target = b.get_state().joint_pos.clone()
    elbow, knee = ROBOT.joint_index("left_elbow"), ROBOT.joint_index("right_knee")
    target[0, elbow] += 3.0
    target[0, knee] -= 3.0
    b.step(target)
    tau = b.get_state().joint_torque[0]
    assert tau[elbow].item() == pytest.approx(ROBOT.joints[elbow].effort_limit, abs=1e-5)
    assert tau[knee].item() == pytest.approx(-ROBOT.joints[knee].effort_limit, abs=1e-4)
    assert (tau.abs() <= torch.tensor([j.effort_limit for j in ROBOT.joints]) + 1e-4).all()


def test_standing_10s() -> None:
    """PD to the default pose keeps the robot standing for 10 s, given stiffer legs and a forward torso COM.

    With the real H1 gains the ankle kp (40 N m/rad) is far below m g h (~490 N m/rad) and the
    default stance puts the whole-body COM only ~2.4 cm in front of the heel edge: even a
    joint-locked H1 tips backwards in MuJoCo. So env 0 gets leg kp x5 (kd x3), ankle kp x15
    (kd x5) and the torso COM 12 cm forward (all through ``set_physics_params``) and must stay up,
    while env 1 with nominal parameters must fall (a physics sanity check).
    """
    b = backend(2)
    p = PhysicsParams.nominal(2, B, J)
    p_stand = standing_params(1)
    for name in ("kp_scale", "kd_scale", "torso_com_offset"):
        getattr(p, name)[0] = getattr(p_stand, name)[0]
    b.set_physics_params(torch.arange(2), p)
    min_h, min_up = torch.full((2,), 9.0), torch.full((2,), 9.0)
    for _ in range(int(10.0 / b.control_dt)):
        b.step(DEFAULT.expand(2, J))
        s = b.get_state()
        min_h = torch.minimum(min_h, s.root_pos[:, 2])
        min_up = torch.minimum(min_up, -projected_gravity(s.root_quat)[:, 2])
    assert min_h[0] > 0.8 and min_up[0] > 0.95, (min_h, min_up)
    assert min_h[1] < 0.5, "nominal-gain H1 should fall on PD alone"
    assert s.root_lin_vel[0].norm() < 0.05


def test_contact_force_carries_weight() -> None:
    """Standing still, the feet carry m g and nothing else touches; a 1.2x heavier env carries 1.2 m g."""
    b = backend(2)
    p = standing_params(2)
    p.body_mass_scale[1] = 1.2
    b.set_physics_params(torch.arange(2), p)
    for _ in range(100):
        b.step(DEFAULT.expand(2, J))
    f = b.get_state().contact_forces
    feet = [ROBOT.body_names.index(n) for n in ROBOT.feet]
    others = [i for i in range(B) if i not in feet]
    weight = ROBOT.total_mass * G
    assert f[0, feet, 2].sum().item() == pytest.approx(weight, rel=0.03)
    assert f[1, feet, 2].sum().item() == pytest.approx(1.2 * weight, rel=0.03)
    assert f[:, others].abs().max() < 1e-6
    assert f[:, feet, :2].sum(1).abs().max() < 0.05 * weight  # little net tangential force at rest


def test_reset_round_trip() -> None:
    b = backend(3)
    g = torch.Generator().manual_seed(0)
    ids = torch.tensor([2, 0])
    pos = torch.tensor([[1.0, -2.0, 1.5], [0.3, 0.2, 2.0]])
    quat = quat_from_rotvec(torch.randn(2, 3, generator=g))
    lin, ang = torch.randn(2, 3, generator=g), torch.randn(2, 3, generator=g)
    lo = torch.tensor([j.range[0] for j in ROBOT.joints])
    hi = torch.tensor([j.range[1] for j in ROBOT.joints])
    qj = lo + (hi - lo) * torch.rand(2, J, generator=g)
    qd = torch.randn(2, J, generator=g)
    before = b.get_state().clone()
    b.reset_envs(ids, pos, quat, lin, ang, qj, qd)
    s = b.get_state()
    for got, want in [
        (s.root_pos, pos),
        (s.root_lin_vel, lin),
        (s.root_ang_vel, ang),
        (s.joint_pos, qj),
        (s.joint_vel, qd),
    ]:
        torch.testing.assert_close(got[ids], want, atol=1e-5, rtol=1e-5)
    sign = torch.sign((s.root_quat[ids] * quat).sum(-1, keepdim=True))
    torch.testing.assert_close(s.root_quat[ids] * sign, quat, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(s.body_pos[ids, 0], pos)
    torch.testing.assert_close(s.body_lin_vel[ids, 0], lin, atol=1e-5, rtol=1e-5)
    assert torch.equal(s.root_pos[1], before.root_pos[1])  # untouched env


def test_root_angular_velocity_is_world_frame() -> None:
    """A tilted root spinning about world z reports world-frame w, matching quaternion differences."""
    b = backend(1, decimation=1)
    quat = quat_from_rotvec(torch.tensor([[1.2, 0.0, 0.0]]))  # x axis tilt: local and world z differ
    w = torch.tensor([[0.0, 0.0, 2.0]])
    fly(b, [0], w, torch.zeros(1, 3), quat)
    s0 = b.get_state().clone()
    torch.testing.assert_close(s0.root_ang_vel, w, atol=1e-5, rtol=0)
    b.step(s0.joint_pos)
    s1 = b.get_state()
    # semi-implicit integration: pose(t+dt) = pose(t) advanced by the velocity at t+dt
    w_fd = angular_velocity_from_quats(s0.root_quat.double(), s1.root_quat.double(), b.control_dt).float()
    torch.testing.assert_close(w_fd, s1.root_ang_vel, atol=1e-4, rtol=0)


def test_body_velocities_match_finite_differences() -> None:
    """Body-origin linear and angular velocities (world) match differences of body poses (5 ms apart)."""
    b = backend(1, decimation=1)
    fly(
        b,
        [0],
        torch.tensor([[0.5, -1.0, 1.5]]),
        torch.tensor([[0.3, 0.0, 0.5]]),
        torch.tensor([[1.0, 0, 0, 0]]),
    )
    target = DEFAULT.clone()[None]
    target[0, ROBOT.joint_index("left_elbow")] += 1.0  # joints moving as well
    target[0, ROBOT.joint_index("right_knee")] += 0.8
    b.step(target)
    s0 = b.get_state().clone()
    b.step(target)
    s1 = b.get_state()
    dt = b.control_dt
    # semi-implicit integration: pose(t+dt) = pose(t) advanced by the velocity at t+dt
    v_fd = (s1.body_pos.double() - s0.body_pos.double()) / dt
    w_fd = angular_velocity_from_quats(s0.body_quat.double(), s1.body_quat.double(), dt)
    v, w = s1.body_lin_vel.double(), s1.body_ang_vel.double()
    assert v.abs().max() > 0.5 and w.abs().max() > 1.0  # something is moving
    # tolerance: O(dt) change of the Jacobian over the step (a frame error would be O(|v|))
    torch.testing.assert_close(v_fd, v, atol=2e-2, rtol=0.05)
    torch.testing.assert_close(w_fd, w, atol=2e-2, rtol=0.05)
    # the local-frame alternative (MuJoCo cvel read as is) must fail the same check
    assert (v_fd - torch.from_numpy(b._buf["cvel"][..., 3:])).abs().max() > 0.1
    # root velocity from qvel equals the body-origin velocity of body 0
    torch.testing.assert_close(s1.root_lin_vel, s1.body_lin_vel[:, 0], atol=1e-5, rtol=0)


def test_push_adds_root_velocity() -> None:
    b = backend(2)
    before = b.get_state().clone()
    b.push(torch.tensor([1]), torch.tensor([[1.5, 0.0, 0.0]]))
    s = b.get_state()
    torch.testing.assert_close(s.root_lin_vel[1] - before.root_lin_vel[1], torch.tensor([1.5, 0.0, 0.0]))
    assert torch.equal(s.root_lin_vel[0], before.root_lin_vel[0])
    for _ in range(5):
        b.step(DEFAULT.expand(2, J))
    dx = b.get_state().root_pos[:, 0]
    assert dx[1] - dx[0] > 0.05


def test_per_env_params_differ() -> None:
    """kp scale and torque noise act per env; noise is clipped together with the actuator force.

    In free fall (no contacts, no gravity loading of the joints) a constant torque noise n on a
    joint held by PD settles it at q - target = n / (kp * kp_scale).
    """
    b = backend(3)
    p = PhysicsParams.nominal(3, B, J)
    elbow, shoulder = ROBOT.joint_index("left_elbow"), ROBOT.joint_index("right_shoulder_pitch")
    p.kp_scale[1, elbow] = 0.5
    p.torque_noise[1:, elbow] = 5.0
    p.torque_noise[2, shoulder] = 10.0
    b.set_physics_params(torch.arange(3), p)
    assert b.mj_model(0) is b.model and b.mj_model(1) is not b.model
    ident = torch.tensor([[1.0, 0, 0, 0]]).repeat(3, 1)

    fly(b, [0, 1, 2], torch.zeros(3, 3), torch.zeros(3, 3), ident)
    target = DEFAULT.repeat(3, 1)
    target[:, shoulder] += 3.0  # saturated: noise must not push the total past the limit
    b.step(target)
    limit = ROBOT.joints[shoulder].effort_limit
    torch.testing.assert_close(
        b.get_state().joint_torque[:, shoulder], torch.full((3,), float(limit)), atol=1e-4, rtol=0
    )

    fly(b, [0, 1, 2], torch.zeros(3, 3), torch.zeros(3, 3), ident)
    for _ in range(40):  # 0.8 s of free fall holding the default pose
        b.step(DEFAULT.repeat(3, 1))
    offset = b.get_state().joint_pos[:, elbow] - DEFAULT[elbow]
    kp = ROBOT.joints[elbow].kp
    torch.testing.assert_close(offset, torch.tensor([0.0, 5.0 / (0.5 * kp), 5.0 / kp]), atol=2e-3, rtol=0)
    # back to nominal: the env shares the compiled model again
    b.set_physics_params(torch.tensor([1]), PhysicsParams.nominal(1, B, J))
    assert b.mj_model(1) is b.model


def test_threads_and_worker_processes_match_single_thread() -> None:
    """The same resets, parameters, pushes and targets give bit-identical states with 1 thread, 2 threads
    and 2 worker processes (shared-memory read-out)."""

    def run(threads: int, processes: bool = False) -> SimState:
        b = make_backend("mujoco", ROBOT, 5, num_threads=threads, processes=processes)
        g = torch.Generator().manual_seed(1)
        b.set_physics_params(torch.tensor([3]), standing_params(1))
        b.push(torch.arange(5), 0.3 * torch.randn(5, 3, generator=g))
        for _ in range(10):
            b.step(DEFAULT + 0.2 * torch.randn(5, J, generator=g))
        state = b.get_state().clone()
        b.close()
        b.close()  # twice is fine
        return state

    one, two, procs = run(1), run(2), run(2, processes=True)
    for name, value in vars(one).items():
        assert torch.equal(value, getattr(two, name)), name
        assert torch.equal(value, getattr(procs, name)), name


def test_worker_process_errors_name_the_worker() -> None:
    b = make_backend("mujoco", ROBOT, 4, num_threads=2, processes=True)
    try:
        with pytest.raises(RuntimeError, match="worker processes"):
            b.mj_data(0)
        with pytest.raises(ValueError, match="root_pos"):
            b.reset_envs(
                torch.tensor([0]),
                torch.zeros(1, 2),
                torch.zeros(1, 4),
                torch.zeros(1, 3),
                torch.zeros(1, 3),
                torch.zeros(1, J),
                torch.zeros(1, J),
            )
    finally:
        b.close()


def test_bad_input_is_reported() -> None:
    b = backend(2)
    with pytest.raises(ValueError, match="joint_targets"):
        b.step(torch.zeros(2, J + 1))
    nan = torch.zeros(2, J)
    nan[1, 3] = float("nan")
    with pytest.raises(ValueError, match=r"non-finite joint_targets in envs \[1\]"):
        b.step(nan)
    with pytest.raises(IndexError, match="env ids"):
        b.push(torch.tensor([5]), torch.zeros(1, 3))
