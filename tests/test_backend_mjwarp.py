"""MuJoCo Warp backend on the CPU against the MuJoCo CPU backend (marker ``mjwarp``; part of the default run, select with -m mjwarp).

Warp compiles its kernels on first use (about a minute per new kernel set on 2 cores, cached in
~/.cache/warp); with a warm cache this file takes ~15 s.

Tolerance of the trajectory comparison (100 policy steps = 400 physics steps, standing then falling,
feet in contact throughout): MuJoCo Warp runs in float32, MuJoCo CPU in float64, otherwise the same
model and algorithms. Float32 rounding (eps 1.2e-7) of ~1 m / ~1 rad quantities, accumulated over
400 steps, gives ~1e-6 (measured: 2e-6 m / 1e-6 rad while upright, 2e-5 rad as world 1 falls in the
last steps); the CPU backend itself moves by ~1e-5 when its initial joints are perturbed by 1e-6 rad
over the same horizon. We allow 1e-4 (m, rad): 5x the worst measured error, while a real defect (a frame, sign, timing off by one physics step = ~5 mm at 1 m/s,
a PD gain) is >= 1e-3. Velocities 1e-3 (m/s, rad/s); contact forces 1 N (weight ~500 N); torques
0.05 N m. Larger targets (0.3 rad) that make the robot hop and land show a genuine float32 vs float64
difference: a grazing contact that starts one physics step earlier changes one impulse and the joints
by ~1e-2 rad afterwards, so the test keeps to a trajectory without such threshold events.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("mujoco_warp")

from hover.envs.backends import PhysicsParams, make_backend  # noqa: E402
from hover.envs.backends.mjwarp import BufferOverflowError, buffer_sizes  # noqa: E402
from hover.robots import get_robot  # noqa: E402

pytestmark = pytest.mark.mjwarp

ROBOT = get_robot("h1")
DEFAULT = torch.tensor([j.default_pos for j in ROBOT.joints])
TOL = {"root_pos": 1e-4, "root_quat": 1e-4, "joint_pos": 1e-4, "body_pos": 1e-4, "body_quat": 1e-4,
       "root_lin_vel": 1e-3, "root_ang_vel": 1e-3, "joint_vel": 1e-3, "body_lin_vel": 1e-3,
       "body_ang_vel": 1e-3, "contact_forces": 1.0, "joint_torque": 0.05}  # fmt: skip


KEYFRAME = []  # the standing keyframe state, filled by the fixture


def _targets(k: int, n: int) -> torch.Tensor:
    phase = torch.arange(ROBOT.num_joints) + torch.arange(n)[:, None]
    return DEFAULT + 0.1 * torch.sin(0.1 * k + phase)


def _perturbed_start(backend, n: int):
    """World 0 at the default keyframe, the others with joint offsets and a root velocity."""
    s = KEYFRAME[0]
    jpos = s.joint_pos.clone()
    jpos[1:] += 0.02 * torch.cos(torch.arange(ROBOT.num_joints, dtype=torch.float32))
    lin = s.root_lin_vel.clone()
    lin[1:, 0] = 0.1
    ang = s.root_ang_vel.clone()
    ang[1:, 2] = 0.2
    return torch.arange(n), s.root_pos, s.root_quat, lin, ang, jpos, s.joint_vel


def _max_err(a, b) -> dict[str, float]:
    return {k: float((getattr(a, k) - getattr(b, k)).abs().max()) for k in TOL}


@pytest.fixture(scope="module")
def backends():
    n = 2
    cpu = make_backend("mujoco", ROBOT, n, num_threads=1)
    warp = make_backend("mjwarp", ROBOT, n, device="cpu")
    KEYFRAME.append(cpu.get_state().clone())
    yield cpu, warp
    cpu.close()
    warp.close()


def test_initial_state_shapes_frames_match(backends):
    cpu, warp = backends
    a, b = cpu.get_state(), warp.get_state()
    for name in TOL:
        ta, tb = getattr(a, name), getattr(b, name)
        assert ta.shape == tb.shape, name
        assert tb.dtype == torch.float32 and tb.device == warp.device
    err = _max_err(a, b)
    assert max(err.values()) < 1e-5, err
    assert warp.physics_dt == cpu.physics_dt and warp.decimation == cpu.decimation


def test_100_policy_steps_agree_with_mujoco_cpu(backends):
    cpu, warp = backends
    n = cpu.num_envs
    start = _perturbed_start(cpu, n)
    for be in (cpu, warp):
        be.reset_envs(*start)
    worst = dict.fromkeys(TOL, 0.0)
    start_z = cpu.get_state().root_pos[:, 2].clone()
    for k in range(100):
        tgt = _targets(k, n)
        cpu.step(tgt)
        warp.step(tgt)
        for name, e in _max_err(cpu.get_state(), warp.get_state()).items():
            worst[name] = max(worst[name], e)
    bad = {k: (v, TOL[k]) for k, v in worst.items() if v > TOL[k]}
    assert not bad, f"max error over 100 steps above tolerance: {bad}"
    end = cpu.get_state()
    # the trajectory is not trivial: the robots moved and were in contact with the floor
    assert (end.root_pos[:, 2] - start_z).abs().max() > 0.05
    assert end.contact_forces.norm(dim=-1).sum(dim=1).min() > 0 or worst["contact_forces"] > 0


def test_graph_and_plain_launches_give_identical_steps():
    a = make_backend("mjwarp", ROBOT, 2, device="cpu", use_graph=True)
    b = make_backend("mjwarp", ROBOT, 2, device="cpu", use_graph=False)
    for k in range(5):
        a.step(_targets(k, 2))
        b.step(_targets(k, 2))
    err = _max_err(a.get_state(), b.get_state())
    assert max(err.values()) == 0.0, err


PARAM_CASES = {  # one parameter of world 1 at a time; world 0 stays nominal
    "friction": 0.3,
    "body_mass_scale": 1.3,
    "torso_com_offset": torch.tensor([0.03, -0.02, 0.05]),
    "kp_scale": 0.6,
    "kd_scale": 1.5,
    "torque_noise": 2.0,
}


@pytest.mark.parametrize("name", list(PARAM_CASES))
def test_per_world_physics_params_take_effect_like_cpu(backends, name):
    """Both worlds start from the same state; world 1 has one changed parameter. Each parameter on its
    own: combined changes (weak kp + low friction + heavy) make the feet slip, a threshold event like
    the grazing contacts in the module docstring."""
    cpu, warp = backends
    n = cpu.num_envs
    params = PhysicsParams.nominal(n, ROBOT.num_bodies, ROBOT.num_joints)
    getattr(params, name)[1] = PARAM_CASES[name]
    s = KEYFRAME[0]
    same = (
        torch.arange(n),
        s.root_pos[[0, 0]],
        s.root_quat[[0, 0]],
        s.root_lin_vel[[0, 0]],
        s.root_ang_vel[[0, 0]],
        s.joint_pos[[0, 0]],
        s.joint_vel[[0, 0]],
    )
    for be in (cpu, warp):
        be.set_physics_params(torch.arange(n), params)
        be.reset_envs(*same)
    for _ in range(20):
        tgt = _targets(0, 1).expand(n, -1)
        cpu.step(tgt)
        warp.step(tgt)
    a, b = cpu.get_state(), warp.get_state()
    err = _max_err(a, b)
    assert all(err[k] <= TOL[k] for k in TOL), err
    # the parameter changed world 1's motion (world 0 is nominal)
    moved = max((b.joint_pos[1] - b.joint_pos[0]).abs().max(), (b.root_pos[1] - b.root_pos[0]).abs().max())
    assert moved > 1e-4, f"{name}: world 1 moved like world 0 ({float(moved):.1e})"
    # back to nominal: both worlds follow the same trajectory again
    nominal = PhysicsParams.nominal(n, ROBOT.num_bodies, ROBOT.num_joints)
    for be in (cpu, warp):
        be.set_physics_params(torch.arange(n), nominal)
        be.reset_envs(*same)
    for _ in range(5):
        warp.step(_targets(0, 1).expand(n, -1))
    s = warp.get_state()
    assert (s.joint_pos[1] - s.joint_pos[0]).abs().max() < 1e-6


def test_push_and_partial_reset_touch_only_their_worlds(backends):
    cpu, warp = backends
    n = cpu.num_envs
    nominal = PhysicsParams.nominal(n, ROBOT.num_bodies, ROBOT.num_joints)
    start = _perturbed_start(cpu, n)
    for be in (cpu, warp):
        be.set_physics_params(torch.arange(n), nominal)
        be.reset_envs(*start)
        be.step(_targets(0, n))
    before = warp.get_state().clone()
    dv = torch.tensor([[0.5, -0.2, 0.1]])
    for be in (cpu, warp):
        be.push(torch.tensor([1]), dv)
    a, b = cpu.get_state(), warp.get_state()
    assert torch.allclose(b.root_lin_vel[1], before.root_lin_vel[1] + dv[0], atol=1e-6)
    assert torch.equal(b.root_lin_vel[0], before.root_lin_vel[0])
    assert torch.equal(b.contact_forces[0], before.contact_forces[0])  # untouched world keeps its read-out
    err = _max_err(a, b)
    assert all(err[k] <= TOL[k] for k in TOL), err


def test_buffer_sizes_from_model_and_clear_overflow_error():
    nconmax, njmax = buffer_sizes(make_backend("mujoco", ROBOT, 1, num_threads=1).model)
    assert nconmax >= 64 and njmax >= 4 * nconmax  # pyramidal cone: 4 rows per condim-3 contact
    tiny = make_backend("mjwarp", ROBOT, 1, device="cpu", nconmax=1, njmax=4)
    s = tiny.get_state()
    lying = s.root_pos.clone()
    lying[:, 2] = 0.15  # pelvis near the floor: many geoms in contact at once
    with pytest.raises(BufferOverflowError, match="nconmax"):
        tiny.reset_envs(
            torch.tensor([0]), lying, s.root_quat, s.root_lin_vel, s.root_ang_vel, s.joint_pos, s.joint_vel
        )
        for k in range(10):
            tiny.step(_targets(k, 1))


def test_bad_input_is_refused(backends):
    _, warp = backends
    with pytest.raises(ValueError, match="shape"):
        warp.step(torch.zeros(warp.num_envs, 3))
    with pytest.raises(ValueError, match="non-finite"):
        warp.step(torch.full((warp.num_envs, ROBOT.num_joints), float("nan")))
    with pytest.raises(IndexError, match="outside"):
        warp.push(torch.tensor([5]), torch.zeros(1, 3))
