"""Command builders on real reference states (built-in motion library, torch FK): frames, invariance, slots."""

import math

import pytest
import torch

from hover.commands import (
    EpisodeMasks,
    MaskSchedule,
    apply_mask,
    command_from_joystick,
    command_from_reference,
    command_from_vr,
    command_layout,
    expand_mask,
    integrate_heading,
    mask_for_mode,
    yaw_delta_to_target,
)
from hover.motion.library import MotionLibrary, MotionState
from hover.rotations import (
    quat_from_axis_angle,
    quat_from_euler_xyz,
    quat_mul,
    quat_rotate,
    quat_rotate_inverse,
    quat_to_euler_xyz,
    wrap_to_pi,
    yaw_from_quat,
)

LAY = command_layout("h1")
N = 32


@pytest.fixture(scope="module")
def states():
    """(reference MotionState, robot root pos, robot root quat, robot joint pos): robot = reference perturbed."""
    lib = MotionLibrary.builtin(dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    clips = torch.randint(lib.num_clips, (N,), generator=g)
    ref = lib.get_state(clips, lib.sample_times(clips, generator=g))
    dyaw = (torch.rand(N, generator=g, dtype=torch.float64) - 0.5) * 2.0
    tilt = quat_from_euler_xyz(torch.randn(N, 3, generator=g, dtype=torch.float64) * 0.05)
    root_quat = quat_mul(
        quat_from_axis_angle(torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64), dyaw), ref.root_quat
    )
    root_quat = quat_mul(root_quat, tilt)
    root_pos = ref.root_pos + torch.randn(N, 3, generator=g, dtype=torch.float64) * 0.1
    joint_pos = ref.joint_pos + torch.randn(N, 19, generator=g, dtype=torch.float64) * 0.1
    return ref, root_pos, root_quat, joint_pos


def _transform(ref: MotionState, root_pos, root_quat, yaw: float, shift: tuple[float, float]):
    """Rotate the whole world by ``yaw`` about z and shift it horizontally (robot and reference together)."""
    q = quat_from_axis_angle(
        torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64), torch.tensor(yaw, dtype=torch.float64)
    )
    t = torch.tensor([*shift, 0.0], dtype=torch.float64)

    def pos(p):
        return quat_rotate(q.expand(p.shape[:-1] + (4,)), p) + t

    def vec(v):
        return quat_rotate(q.expand(v.shape[:-1] + (4,)), v)

    def rot(r):
        return quat_mul(q.expand(r.shape), r)

    moved = MotionState(
        root_pos=pos(ref.root_pos),
        root_quat=rot(ref.root_quat),
        root_lin_vel=vec(ref.root_lin_vel),
        root_ang_vel=vec(ref.root_ang_vel),
        joint_pos=ref.joint_pos,
        joint_vel=ref.joint_vel,
        body_pos=pos(ref.body_pos),
        body_quat=rot(ref.body_quat),
        body_lin_vel=vec(ref.body_lin_vel),
        body_ang_vel=vec(ref.body_ang_vel),
    )
    return moved, pos(root_pos), rot(root_quat)


def test_reference_command_values_and_frames(states):
    ref, root_pos, root_quat, joint_pos = states
    cmd = command_from_reference(ref, root_pos, root_quat, joint_pos, LAY)
    assert cmd.shape == (N, 95) and cmd.dtype == torch.float64
    # bodies: ref body - robot root, rotated by the robot heading only (independent: rotate by -yaw about z)
    yaw = yaw_from_quat(root_quat)
    c, s = torch.cos(yaw)[:, None], torch.sin(yaw)[:, None]
    d = ref.body_pos - root_pos[:, None]
    expect = torch.stack((c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1], d[..., 2]), dim=-1)
    assert torch.allclose(cmd[:, :69].reshape(N, 23, 3), expect, atol=1e-12)
    assert torch.allclose(cmd[:, 69:88], ref.joint_pos - joint_pos, atol=1e-15)
    root = cmd[:, 88:]
    assert torch.allclose(root[:, :3], quat_rotate_inverse(ref.root_quat, ref.root_lin_vel), atol=1e-12)
    assert torch.allclose(root[:, 3:5], quat_to_euler_xyz(ref.root_quat)[:, :2], atol=1e-12)
    assert torch.allclose(root[:, 5], wrap_to_pi(yaw_from_quat(ref.root_quat) - yaw), atol=1e-12)
    assert torch.all(root[:, 5].abs() < 1.2)  # perturbation was within +-1 rad (+ small tilt effect)
    assert torch.allclose(root[:, 6], ref.root_pos[:, 2], atol=0)
    # a robot exactly on the reference: zero joint error, zero yaw delta, pelvis at the origin
    on = command_from_reference(ref, ref.root_pos, ref.root_quat, ref.joint_pos, LAY)
    assert torch.all(on[:, 69:88] == 0) and torch.allclose(on[:, 93], torch.zeros(N, dtype=torch.float64))
    assert torch.allclose(on[:, 0:3], torch.zeros(N, 3, dtype=torch.float64), atol=1e-12)
    head = on[:, 66:69]
    # the head point sits 0.75 m along the (tilted) pelvis z axis: heading frame sees the tilt only
    tilt_only = quat_mul(
        quat_from_euler_xyz(torch.stack((0 * yaw, 0 * yaw, -yaw_from_quat(ref.root_quat)), -1)), ref.root_quat
    )
    up = quat_rotate(tilt_only, torch.tensor([0.0, 0.0, 0.75], dtype=torch.float64).expand(N, 3))
    # (1e-3: the library blends body positions linearly but the root quaternion by slerp between frames)
    assert torch.allclose(head, up, atol=1e-3) and head[:, 0].abs().max() > 0.01


@pytest.mark.parametrize(("yaw", "shift"), [(0.7, (3.0, -2.0)), (-2.9, (-10.0, 25.0)), (math.pi, (0.0, 0.0))])
def test_command_invariant_to_world_yaw_and_translation(states, yaw, shift):
    ref, root_pos, root_quat, joint_pos = states
    base = command_from_reference(ref, root_pos, root_quat, joint_pos, LAY)
    moved = command_from_reference(*_transform(ref, root_pos, root_quat, yaw, shift), joint_pos, LAY)
    assert torch.allclose(moved[:, :93], base[:, :93], atol=1e-9)
    assert torch.allclose(
        wrap_to_pi(moved[:, 93] - base[:, 93]), torch.zeros(N, dtype=torch.float64), atol=1e-9
    )
    assert torch.equal(moved[:, 94], base[:, 94])  # height: horizontal moves leave it alone
    # the world transform is not a no-op on the inputs
    assert not torch.allclose(_transform(ref, root_pos, root_quat, yaw, shift)[0].body_pos, ref.body_pos)


def test_masked_out_parts_are_exactly_zero(states):
    ref, root_pos, root_quat, joint_pos = states
    cmd = command_from_reference(ref, root_pos, root_quat, joint_pos, LAY)
    em = EpisodeMasks(N, LAY, torch.Generator().manual_seed(1))
    masked = apply_mask(cmd, em.masks, LAY)
    wide = expand_mask(em.masks, LAY)
    assert torch.all(masked[wide == 0] == 0) and torch.equal(masked[wide == 1], cmd[wide == 1])
    assert (wide == 0).any() and (wide == 1).any()


def test_joystick_fills_only_root_slots_and_matches_reference_semantics():
    lin = torch.tensor([[0.5, -0.2], [1.0, 0.3]], dtype=torch.float64)
    height = torch.tensor([0.98, 0.9], dtype=torch.float64)
    yd = torch.tensor([0.3, -0.1], dtype=torch.float64)
    cmd, mask = command_from_joystick(lin, height, yaw_delta=yd, layout=LAY)
    assert torch.equal(mask, mask_for_mode("locomotion", dtype=torch.float64).expand(2, -1))
    assert torch.all(cmd[:, :88] == 0)
    assert torch.allclose(
        cmd[0, 88:], torch.tensor([0.5, -0.2, 0.0, 0.0, 0.0, 0.3, 0.98], dtype=torch.float64)
    )
    # with roll/pitch: equal to the reference builder's root part for a reference root with that tilt,
    # moving at the joystick velocity in its heading frame
    roll, pitch = (
        torch.tensor([0.1, -0.05], dtype=torch.float64),
        torch.tensor([0.2, 0.15], dtype=torch.float64),
    )
    cmd, _ = command_from_joystick(lin, height, yaw_delta=yd, roll=roll, pitch=pitch, layout=LAY)
    robot_yaw = torch.tensor([1.0, -2.5], dtype=torch.float64)
    robot_quat = quat_from_euler_xyz(torch.stack((0 * robot_yaw, 0 * robot_yaw, robot_yaw), -1))
    ref_quat = quat_from_euler_xyz(torch.stack((roll, pitch, robot_yaw + yd), -1))
    heading = quat_from_euler_xyz(torch.stack((0 * roll, 0 * roll, robot_yaw + yd), -1))
    vel_world = quat_rotate(heading, torch.cat((lin, torch.zeros(2, 1, dtype=torch.float64)), -1))
    z = torch.zeros(2, 3, dtype=torch.float64)
    ref = MotionState(
        root_pos=torch.cat((z[:, :2], height[:, None]), -1),
        root_quat=ref_quat,
        root_lin_vel=vel_world,
        root_ang_vel=z,
        joint_pos=torch.zeros(2, 19, dtype=torch.float64),
        joint_vel=torch.zeros(2, 19),
        body_pos=torch.zeros(2, 23, 3, dtype=torch.float64),
        body_quat=torch.zeros(2, 23, 4),
        body_lin_vel=torch.zeros(2, 23, 3),
        body_ang_vel=torch.zeros(2, 23, 3),
    )
    full = command_from_reference(ref, z, robot_quat, torch.zeros(2, 19, dtype=torch.float64), LAY)
    assert torch.allclose(cmd[:, 88:], full[:, 88:], atol=1e-12)


def test_heading_helpers_turn_a_yaw_rate_into_yaw_delta():
    target = torch.tensor([3.1], dtype=torch.float64)
    target = integrate_heading(target, torch.tensor([1.0], dtype=torch.float64), dt=0.1)  # wraps past pi
    assert torch.allclose(target, torch.tensor([3.2 - 2 * math.pi], dtype=torch.float64))
    robot = quat_from_euler_xyz(torch.tensor([[0.0, 0.0, 3.0]], dtype=torch.float64))
    assert torch.allclose(yaw_delta_to_target(target, robot), torch.tensor([0.2], dtype=torch.float64))


def test_vr_fills_head_and_hand_slots_and_matches_reference_builder(states):
    ref, root_pos, root_quat, joint_pos = states
    h, lh, rh = (LAY.body_index(n) for n in ("head_link", "left_hand_link", "right_hand_link"))
    # heading-frame input goes straight into the slots
    pts = torch.randn(3, N, 3, dtype=torch.float64)
    cmd, mask = command_from_vr(pts[0], pts[1], pts[2], layout=LAY)
    assert torch.equal(cmd[:, 3 * h : 3 * h + 3], pts[0]) and torch.equal(cmd[:, 3 * lh : 3 * lh + 3], pts[1])
    assert torch.equal(cmd[:, 3 * rh : 3 * rh + 3], pts[2])
    assert torch.equal(mask, mask_for_mode("omnih2o", dtype=torch.float64).expand(N, -1))
    assert int((cmd != 0).sum()) == 9 * N
    # world-frame input + robot root pose == the reference builder's omnih2o-masked command
    cmd, mask = command_from_vr(
        ref.body_pos[:, h], ref.body_pos[:, lh], ref.body_pos[:, rh], root_pos, root_quat, LAY
    )
    full = command_from_reference(ref, root_pos, root_quat, joint_pos, LAY)
    assert torch.allclose(cmd, apply_mask(full, mask, LAY), atol=1e-12)
    with pytest.raises(ValueError, match="both"):
        command_from_vr(pts[0], pts[1], pts[2], robot_root_pos=root_pos, layout=LAY)


def test_mode_switch_mid_episode_changes_the_mask_and_nothing_else(states):
    ref, root_pos, root_quat, joint_pos = states
    em = EpisodeMasks(N, LAY, torch.Generator().manual_seed(2))
    sched = MaskSchedule.parse("omnih2o@0,humanplus@50")
    env = torch.tensor([5])
    cmd = command_from_reference(ref, root_pos, root_quat, joint_pos, LAY)
    masks_before, masked_before = em.masks.clone(), apply_mask(cmd, em.masks, LAY)
    em.masks[env] = sched.masks_at(torch.tensor([49]), LAY)  # still omnih2o at step 49
    assert torch.equal(em.masks[5], mask_for_mode("omnih2o"))
    em.set_mode(env, sched.mode_at(50))
    after_cmd = command_from_reference(ref, root_pos, root_quat, joint_pos, LAY)
    assert torch.equal(after_cmd, cmd)  # the command does not depend on the mode
    assert torch.equal(em.masks[5], mask_for_mode("humanplus"))
    others = torch.arange(N) != 5
    assert torch.equal(em.masks[others], masks_before[others])
    masked_after = apply_mask(cmd, em.masks, LAY)
    assert torch.equal(masked_after[others], masked_before[others])
    assert torch.equal(
        masked_after[5], apply_mask(cmd[5], mask_for_mode("humanplus", dtype=torch.float64), LAY)
    )


def test_shape_errors_name_the_problem(states):
    ref, root_pos, root_quat, joint_pos = states
    with pytest.raises(ValueError, match="mask has 48 elements"):
        apply_mask(torch.zeros(2, 95), torch.zeros(2, 48), LAY)
    with pytest.raises(ValueError, match="expects 23 and 19"):
        command_from_reference(
            MotionState(**{**ref.__dict__, "joint_pos": ref.joint_pos[:, :18]}),
            root_pos,
            root_quat,
            joint_pos,
            LAY,
        )
