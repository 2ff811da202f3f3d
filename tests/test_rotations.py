"""Quaternion helpers: conventions (wxyz), inverses and round trips."""

import math

import torch

from hover import rotations as R


def _random_quats(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return R.quat_normalize(torch.randn(n, 4, generator=g, dtype=torch.float64))


def test_rotation_about_z_by_90_degrees():
    q = R.quat_from_axis_angle(torch.tensor([0.0, 0, 1]), torch.tensor(math.pi / 2))
    v = R.quat_rotate(q, torch.tensor([1.0, 0, 0]))
    torch.testing.assert_close(v, torch.tensor([0.0, 1, 0]), atol=1e-6, rtol=0)
    assert R.yaw_from_quat(q).item() == pytest_approx(math.pi / 2)


def pytest_approx(x, tol=1e-6):
    class _A:
        def __eq__(self, other):
            return abs(other - x) < tol

    return _A()


def test_matrix_and_rotvec_round_trips():
    q = _random_quats(256)
    q = torch.where(q[:, :1] < 0, -q, q)
    torch.testing.assert_close(R.matrix_to_quat(R.quat_to_matrix(q)), q)
    torch.testing.assert_close(R.quat_from_rotvec(R.quat_to_rotvec(q)), q)
    torch.testing.assert_close(
        R.quat_from_euler_xyz(R.quat_to_euler_xyz(q))
        * torch.sign((R.quat_from_euler_xyz(R.quat_to_euler_xyz(q)) * q).sum(-1, keepdim=True)),
        q,
    )


def test_rotate_inverse_and_heading_frame():
    q = _random_quats(64, seed=1)
    v = torch.randn(64, 3, dtype=torch.float64)
    torch.testing.assert_close(R.quat_rotate_inverse(q, R.quat_rotate(q, v)), v)
    h = R.heading_quat(q)
    assert torch.allclose(h[:, 1:3], torch.zeros(64, 2, dtype=torch.float64))
    torch.testing.assert_close(R.yaw_from_quat(h), R.yaw_from_quat(q))
    # In its own heading frame a body's x axis has no sideways (y) component.
    x_axis = R.quat_rotate(q, torch.tensor([1.0, 0, 0], dtype=torch.float64).expand(64, 3))
    local = R.quat_rotate(R.heading_quat_inverse(q), x_axis)
    assert local[:, 1].abs().max() < 1e-9


def test_slerp_endpoints_midpoint_and_norm():
    a, b = _random_quats(32, 2), _random_quats(32, 3)
    torch.testing.assert_close(R.quat_slerp(a, b, torch.zeros(32, dtype=torch.float64)), a)
    end = R.quat_slerp(a, b, torch.ones(32, dtype=torch.float64))
    torch.testing.assert_close(end * torch.sign((end * b).sum(-1, keepdim=True)), b)
    mid = R.quat_slerp(a, b, torch.full((32,), 0.5, dtype=torch.float64))
    torch.testing.assert_close(mid.norm(dim=-1), torch.ones(32, dtype=torch.float64))
    torch.testing.assert_close(R.quat_angle_between(a, mid), R.quat_angle_between(mid, b))


def test_projected_gravity_and_angular_velocity():
    identity = torch.tensor([1.0, 0, 0, 0])
    torch.testing.assert_close(R.projected_gravity(identity), torch.tensor([0.0, 0, -1]))
    w = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)
    q0 = _random_quats(1, 4)[0]
    q1 = R.quat_mul(R.quat_from_rotvec(w * 0.01), q0)
    torch.testing.assert_close(R.angular_velocity_from_quats(q0, q1, 0.01), w)


def test_tan_norm_is_first_two_matrix_columns():
    q = _random_quats(8, 5)
    m = R.quat_to_matrix(q)
    t = R.quat_to_tan_norm(q)
    torch.testing.assert_close(t[:, :3], m[:, :, 0])
    torch.testing.assert_close(t[:, 3:], m[:, :, 1])
