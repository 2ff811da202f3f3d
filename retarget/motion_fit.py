"""Retarget human clips to the robot: one batched optimisation over all frames of all clips.

Per frame: robot joint angles (clamped to the joint limits after every step), a root-rotation correction
(axis-angle, applied to the human root rotation mapped to robot axes) and a small root-position
residual; per clip: a root offset. The robot pelvis starts at the scaled human pelvis plus the fitted
shape's root offset (robot pelvis frame). Loss: mean keypoint distance over the body pairs
(``RobotSpec.retarget_pairs``) + optional orientation term (feet by default; hands/forearms on request)
+ a small pose regulariser + temporal smoothness (second differences within a clip) + the residual's
penalty. Afterwards each clip is grounded by its lowest collision-geometry point (:mod:`.quality`).

Frames: world z up, wxyz quaternions, metres, radians. The fitted global scale is applied to both the
human skeleton (bone offsets) and the root trajectory, so the robot's steps match its legs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hover.kinematics import ForwardKinematics
from hover.motion.format import MotionClip
from hover.retarget.amass import HumanClip, resample
from hover.retarget.body_model import BodyModel
from hover.retarget.contacts import contact_preserving_trans, foot_contacts
from hover.retarget.quality import ClipQuality, GeomPoints, SelfCollisionChecker, clip_quality, soft_snap
from hover.retarget.shape_fit import BodyShape, pair_indices, shape_rest_joints
from hover.retarget.skeleton import SMPL_TO_ROBOT_AXES, joint_index, smpl_forward_kinematics, stand_pose
from hover.robots import RobotSpec, get_robot
from hover.rotations import matrix_to_quat, quat_from_rotvec, quat_mul, quat_rotate, quat_to_matrix


@dataclass
class RetargetConfig:
    fps: float = 30.0  # output frame rate (Hz); sources are resampled (slerp/lerp)
    iterations: int = 10  # damped Gauss-Newton iterations over all frames at once
    damping: float = 1e-3  # Levenberg-Marquardt: x (1 + diag(J^T J))
    max_step: float = 0.5  # per-iteration limit on each unknown (rad / m)
    chunk_frames: int = 4096  # frames per linear-algebra chunk inside one iteration (cache-sized buffers)
    pose_reg: float = 1e-4  # prior towards q = 0 (weight per rad^2, keypoint residuals in m)
    smooth_weight: float = 1e-2  # prior towards the Gaussian-smoothed joint trajectory (per rad^2)
    smooth_sigma: float = 1.0  # frames
    root_residual_reg: float = 1.0  # prior of the per-frame root position towards the clip's root offset
    orientation_weight: float = 0.01  # (m/rad)^2: orientation residual (rotation vector) of orientation_pairs
    orientation_pairs: tuple[tuple[str, str], ...] | None = (
        None  # None = the robot's retarget_orientation_pairs (feet)
    )
    ground_band: float = 0.1  # m; frames without source contact: lowest point h in the band -> h^2 / band
    check_self_collisions: bool = True  # quality report: robot self-penetration per frame (MuJoCo)
    keep_contacts: bool = True  # re-integrate the root so source foot contacts stay planted (contacts.py)
    device: str = "cpu"
    num_threads: int = 1  # the per-frame 25x25 problems are small: one thread is as fast and robust to load
    min_frames: int = 10
    dtype: str = "float32"
    seed: int = 0
    extra_hand_orientation: bool = (
        False  # also match the robot's retarget_hand_pairs (the H1's forearms: no wrist)
    )


@dataclass
class RetargetResult:
    clips: list[MotionClip]
    quality: list[ClipQuality]
    skipped: list[tuple[str, str]]
    seconds: float  # wall time of the optimisation + grounding (excludes reading files)
    frames: int


@dataclass
class FitTargets:
    keypoints: Tensor  # [N, K, 3] scaled human joints (world)
    root_pos: Tensor  # [N, 3] initial robot root position
    root_quat: Tensor  # [N, 4] initial robot root orientation
    orient: Tensor  # [N, O, 4] target robot orientations for orientation pairs
    clip_id: Tensor  # [N] long
    starts: list[int]
    lengths: list[int]
    contact: Tensor  # [N] 1 where a source foot touches the floor


def human_joints(
    clips: Sequence[HumanClip], shape: BodyShape, model: BodyModel, keep_contacts: bool = True
) -> tuple[Tensor, Tensor, Tensor]:
    """The scaled, shaped human of all clips' frames (concatenated), float64, world frame z up:
    joint positions [N, 24, 3] (m), global joint rotations [N, 24, 3, 3], source foot contact flags [N]."""
    rest = shape_rest_joints(model, shape)  # [24, 3]
    pose = torch.from_numpy(np.concatenate([c.pose_aa for c in clips]))
    rel, glob = smpl_forward_kinematics(rest, pose, torch.zeros(len(pose), 3, dtype=torch.float64))
    trans, contact = [], []
    with torch.no_grad():
        s = 0
        for c in clips:
            sl = slice(s, s + c.num_frames)
            s += c.num_frames
            src_rest = model.rest_joints(torch.from_numpy(c.betas)[None])[0]
            src, _ = smpl_forward_kinematics(src_rest, pose[sl], torch.from_numpy(c.trans))
            scaled = torch.from_numpy(c.trans) * shape.scale
            feet = foot_contacts(src, c.fps)
            contact.append(feet.any(-1))
            trans.append(contact_preserving_trans(rel[sl], scaled, feet, src) if keep_contacts else scaled)
    return rel + torch.cat(trans)[:, None], glob, torch.cat(contact)


def _human_targets(
    clips: Sequence[HumanClip],
    shape: BodyShape,
    model: BodyModel,
    robot: RobotSpec,
    cfg: RetargetConfig,
    device: torch.device,
    dtype: torch.dtype,
) -> FitTargets:
    joints, glob, contact = human_joints(clips, shape, model, cfg.keep_contacts)
    rest = shape_rest_joints(model, shape)
    _, hi = pair_indices(robot)
    fix = quat_to_matrix(torch.tensor(SMPL_TO_ROBOT_AXES, dtype=torch.float64))
    root_rot = glob[:, 0] @ fix.T  # robot pelvis orientation matching the human root
    root_quat = matrix_to_quat(root_rot)
    offset = torch.as_tensor(shape.root_offset, dtype=torch.float64)
    root_pos = joints[:, 0] + (root_rot @ offset)
    # orientation targets: human global rotation times the stand-pose offset to the robot's zero pose
    pairs, _ = orientation_bodies(robot, cfg)
    fk = ForwardKinematics(robot, dtype=torch.float64)
    zq = torch.tensor([[1.0, 0, 0, 0]], dtype=torch.float64)
    robot_rest = fk(
        torch.zeros(1, 3, dtype=torch.float64), zq, torch.zeros(1, robot.num_joints, dtype=torch.float64)
    )
    _, stand_glob = smpl_forward_kinematics(rest, stand_pose(), torch.zeros(3, dtype=torch.float64))
    orient = []
    for body, joint in pairs:
        j = joint_index(joint)
        r0 = quat_to_matrix(robot_rest.quat[0, robot.body_index(body)])
        off = stand_glob[j].T @ r0
        orient.append(matrix_to_quat(glob[:, j] @ off))
    orient_t = torch.stack(orient, 1) if orient else torch.zeros(len(joints), 0, 4, dtype=torch.float64)
    lengths = [c.num_frames for c in clips]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int).tolist()
    clip_id = torch.repeat_interleave(torch.arange(len(clips)), torch.tensor(lengths))
    kw: dict[str, Any] = {"device": device, "dtype": dtype}
    return FitTargets(
        joints[:, hi].to(**kw),
        root_pos.to(**kw),
        root_quat.to(**kw),
        orient_t.to(**kw),
        clip_id.to(device),
        starts,
        lengths,
        contact.to(**kw),
    )


class _Jacobians:
    """Which joints move which tracked body: ``ancestor[b, j]`` is 1 when joint j is on body b's chain."""

    def __init__(self, robot: RobotSpec, device: torch.device, dtype: torch.dtype):
        parents = robot.parent_indices()
        body_joint = []
        j = 0
        for b in robot.bodies:
            body_joint.append(j if b.joint is not None else -1)
            j += b.joint is not None
        names = robot.body_names
        owner = list(range(len(names))) + [names.index(e.parent) for e in robot.extended_bodies]
        anc = torch.zeros(len(owner), robot.num_joints, dtype=dtype)
        for t, owner_body in enumerate(owner):
            k = owner_body
            while k >= 0:
                if body_joint[k] >= 0:
                    anc[t, body_joint[k]] = 1.0
                k = parents[k]
        self.ancestor = anc.to(device)
        self.joint_body = torch.tensor([b for b, jj in enumerate(body_joint) if jj >= 0], device=device)
        self.axes = torch.tensor(
            [b.joint.axis for b in robot.bodies if b.joint is not None], device=device, dtype=dtype
        )


def _skew(v: Tensor) -> Tensor:
    """Cross-product matrices [..., 3, 3]: _skew(v) @ u = v x u."""
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    return torch.stack((zero, -z, y, z, zero, -x, -y, x, zero), -1).reshape(v.shape + (3,))


def _rotvec_error(target: Tensor, current: Tensor) -> Tensor:
    """World-frame rotation vector of target * current^-1 [..., 3] (small-angle accurate)."""
    from hover.rotations import quat_conjugate, quat_to_rotvec

    return quat_to_rotvec(quat_mul(target, quat_conjugate(current)))


def smooth_in_time(x: Tensor, starts: list[int], lengths: list[int], sigma: float) -> Tensor:
    """Gaussian smoothing [N, D] along frames within each clip (edges replicated); sigma in frames."""
    if sigma <= 0:
        return x
    radius = max(1, int(round(2.5 * sigma)))
    offsets = torch.arange(-radius, radius + 1, device=x.device)
    k = torch.exp(-0.5 * (offsets.to(x.dtype) / sigma) ** 2)
    k = k / k.sum()
    lo = torch.repeat_interleave(torch.tensor(starts), torch.tensor(lengths)).to(x.device)
    hi = lo + torch.repeat_interleave(torch.tensor(lengths), torch.tensor(lengths)).to(x.device) - 1
    frames = torch.arange(x.shape[0], device=x.device)[:, None] + offsets[None]
    idx = torch.minimum(torch.maximum(frames, lo[:, None]), hi[:, None])  # [N, 2r+1], clamped inside the clip
    return (x[idx] * k[None, :, None]).sum(1)


def fit_frames(
    targets: FitTargets,
    robot: RobotSpec,
    cfg: RetargetConfig,
    orient_bodies: list[int],
    init_joint_pos: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Damped Gauss-Newton over all frames at once (each frame an independent 25-unknown least-squares
    problem: 19 joints, root rotation, root position), with analytic kinematic Jacobians.

    Couplings between frames enter as proximal priors recomputed every iteration: joint angles towards
    their Gaussian-smoothed trajectory (temporal smoothness) and root positions towards the clip's mean
    offset from the initial guess (one root offset per clip + a small per-frame residual).
    Returns root_pos [N,3], root_quat [N,4], joint_pos [N,J], keypoint error [N,K] (m).
    """
    dev, dtype = targets.keypoints.device, targets.keypoints.dtype
    fk = ForwardKinematics(robot, dev, dtype)
    jac = _Jacobians(robot, dev, dtype)
    ri, _ = pair_indices(robot)
    n, nj = targets.keypoints.shape[0], robot.num_joints
    # limits shrunk by 1e-5 rad so angles stay inside them after float32 rounding (files store float32)
    lo = torch.tensor([j.range[0] + 1e-5 for j in robot.joints], device=dev, dtype=dtype)
    hi = torch.tensor([j.range[1] - 1e-5 for j in robot.joints], device=dev, dtype=dtype)
    q = torch.zeros(n, nj, device=dev, dtype=dtype) if init_joint_pos is None else init_joint_pos.clone()
    q = q.clamp(lo, hi)
    rq = targets.root_quat.clone()
    rp = targets.root_pos.clone()
    anc_k = jac.ancestor[ri]  # [K, J]
    anc_o = jac.ancestor[orient_bodies]  # [O, J]
    nu = nj + 6
    eye3 = torch.eye(3, device=dev, dtype=dtype)
    wo = cfg.orientation_weight**0.5
    k = len(ri)
    o = len(orient_bodies) if orient_bodies and wo > 0 else 0
    # Jacobian rows: 3 per keypoint, 3 per orientation pair; columns: joints, root rotation, root position.
    c_max = min(n, max(1, cfg.chunk_frames))  # frames per linear-algebra chunk (keeps buffers in cache)
    jbuf = torch.zeros(c_max, 3 * (k + o), nu, device=dev, dtype=dtype)
    rbuf = torch.zeros(c_max, 3 * (k + o), device=dev, dtype=dtype)
    jbuf[:, : 3 * k].view(c_max, k, 3, nu)[..., nj + 3 :] = eye3  # d kp / d root position
    jbuf[:, 3 * k :].view(c_max, o, 3, nu)[..., nj : nj + 3] = wo * eye3  # d(-e) / d root rotation
    mask_k = anc_k.T[None, :, None, :]  # [1, J, 1, K]
    lengths = torch.tensor(targets.lengths, device=dev, dtype=dtype)[:, None]
    diag = torch.zeros(nu, device=dev, dtype=dtype)
    diag[:nj] = cfg.pose_reg + cfg.smooth_weight
    diag[nj + 3 :] = cfg.root_residual_reg
    grad = torch.zeros(n, nu, device=dev, dtype=dtype)
    step = torch.zeros(n, nu, device=dev, dtype=dtype)
    for _ in range(cfg.iterations):
        # priors (diagonal, coupling frames through the previous iterate): pose regulariser, temporal
        # smoothness, root position towards the clip's mean offset
        q_smooth = smooth_in_time(q, targets.starts, targets.lengths, cfg.smooth_sigma)
        delta = rp - targets.root_pos
        clip_mean = torch.zeros(len(targets.lengths), 3, device=dev, dtype=dtype).index_add_(
            0, targets.clip_id, delta
        )
        grad[:, :nj] = cfg.pose_reg * q + cfg.smooth_weight * (q - q_smooth)
        grad[:, nj + 3 :] = cfg.root_residual_reg * (delta - (clip_mean / lengths)[targets.clip_id])
        for c0 in range(0, n, c_max):
            sl = slice(c0, min(n, c0 + c_max))
            m = sl.stop - sl.start
            jmat, res = jbuf[:m], rbuf[:m]
            jkp = jmat[:, : 3 * k].view(m, k, 3, nu)
            poses = fk(rp[sl], rq[sl], q[sl])
            pos, quat = poses.pos, poses.quat
            axis_w = quat_rotate(quat[:, jac.joint_body], jac.axes.expand(m, nj, 3))  # [M, J, 3]
            kp = pos[:, ri]  # [M, K, 3]
            # d kp_k / d q_j = a_j x (kp_k - p_j) for ancestors j of k: one batched product, then a_j x p_j
            cross = (_skew(axis_w).reshape(m, nj * 3, 3) @ kp.transpose(1, 2)).view(m, nj, 3, k)
            cross = (cross - torch.linalg.cross(axis_w, pos[:, jac.joint_body]).unsqueeze(-1)) * mask_k
            jkp[..., :nj] = cross.permute(0, 3, 2, 1)
            jkp[..., nj : nj + 3] = -_skew(kp - rp[sl, None])  # d kp / d w = -[kp - root]x
            res[:, : 3 * k] = (kp - targets.keypoints[sl]).reshape(m, -1)
            if o:
                e = _rotvec_error(targets.orient[sl], quat[:, orient_bodies])  # [M, O, 3]
                # residual = current - target ~ -e; d(-e)/dq_j = +a_j for ancestors, +I for the root rotation
                jor = jmat[:, 3 * k :].view(m, o, 3, nu)
                jor[..., :nj] = wo * (axis_w[:, None] * anc_o[None, :, :, None]).permute(0, 1, 3, 2)
                res[:, 3 * k :] = -wo * e.reshape(m, -1)
            jt = jmat.transpose(1, 2)
            a = jt @ jmat
            rhs = (jt @ res.unsqueeze(-1)).squeeze(-1) + grad[sl]
            d = a.diagonal(dim1=1, dim2=2)
            d.add_(diag + cfg.damping * (1.0 + d))  # priors + Levenberg-Marquardt damping
            chol, info = torch.linalg.cholesky_ex(a)
            if bool(info.any()):  # not positive definite (should not happen with the damping): use LU
                step[sl] = -torch.linalg.solve(a, rhs.unsqueeze(-1)).squeeze(-1)
            else:
                step[sl] = -torch.cholesky_solve(rhs.unsqueeze(-1), chol).squeeze(-1)
        st = step.clamp(-cfg.max_step, cfg.max_step)
        q = (q + st[:, :nj]).clamp(lo, hi)
        rq = quat_mul(quat_from_rotvec(st[:, nj : nj + 3]), rq)
        rq = rq / rq.norm(dim=-1, keepdim=True)
        rp = rp + st[:, nj + 3 :]
    poses = fk(rp, rq, q)
    err = (poses.pos[:, ri] - targets.keypoints).norm(dim=-1)
    return rp, rq, q, err


def _ground(
    rp: Tensor,
    rq: Tensor,
    q: Tensor,
    targets: FitTargets,
    fk: ForwardKinematics,
    geoms: GeomPoints,
    band: float,
) -> Tensor:
    """Root positions with each clip grounded by its lowest collision-geometry point.

    Per clip: shift so the lowest point over the clip is at z = 0. Per frame: frames where the source
    has a foot on the floor put their lowest point exactly on z = 0; frames without (jumps) only get
    the soft snap of :func:`soft_snap`; the two are blended with the time-smoothed contact flag."""
    poses = fk(rp, rq, q)
    lowest = geoms.lowest(poses.pos, poses.quat)  # [N]
    w = smooth_in_time(targets.contact[:, None], targets.starts, targets.lengths, 2.0)[:, 0].clamp(0, 1)
    out = rp.clone()
    for s, n in zip(targets.starts, targets.lengths, strict=True):
        sl = slice(s, s + n)
        h = lowest[sl] - lowest[sl].min()
        out[sl, 2] -= lowest[sl].min() + w[sl] * h + (1 - w[sl]) * soft_snap(h, band)
    return out


def retarget_clips(
    clips: Sequence[HumanClip],
    shape: BodyShape,
    model: BodyModel,
    robot: RobotSpec | None = None,
    config: RetargetConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> RetargetResult:
    """Retarget human clips (any frame rate) to robot motion clips at ``config.fps``, with quality figures."""
    robot = robot or get_robot()
    cfg = config or RetargetConfig()
    torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.seed)
    dtype = {"float32": torch.float32, "float64": torch.float64}[cfg.dtype]
    device = torch.device(cfg.device)
    skipped: list[tuple[str, str]] = []
    ready: list[HumanClip] = []
    for c in clips:
        r = resample(c, cfg.fps) if abs(c.fps - cfg.fps) > 1e-9 else c
        if r.num_frames < cfg.min_frames:
            skipped.append((c.name, f"only {r.num_frames} frames at {cfg.fps:g} fps (< {cfg.min_frames})"))
        else:
            ready.append(r)
    if not ready:
        return RetargetResult([], [], skipped, 0.0, 0)
    t0 = time.perf_counter()
    targets = _human_targets(ready, shape, model, robot, cfg, device, dtype)
    return solve_targets(targets, [c.name for c in ready], robot, cfg, t0, skipped, progress)


def orientation_bodies(robot: RobotSpec, cfg: RetargetConfig) -> tuple[list[tuple[str, str]], list[int]]:
    """The (robot body, human joint) orientation pairs of ``cfg`` and the robot body indices."""
    feet = robot.retarget_orientation_pairs if cfg.orientation_pairs is None else cfg.orientation_pairs
    pairs = list(feet) + (list(robot.retarget_hand_pairs) if cfg.extra_hand_orientation else [])
    return pairs, [robot.body_index(b) for b, _ in pairs]


def solve_targets(
    targets: FitTargets,
    names: Sequence[str],
    robot: RobotSpec,
    cfg: RetargetConfig,
    t0: float,
    skipped: list[tuple[str, str]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> RetargetResult:
    """Fit, ground and report clips given their targets (shared by the SMPL and the keypoint inputs).

    ``t0``: ``time.perf_counter()`` when the caller started (the result's ``seconds`` run from there to
    the end of grounding; quality figures and the self-collision check are not timed)."""
    device, dtype = targets.keypoints.device, targets.keypoints.dtype
    _, orient_bodies = orientation_bodies(robot, cfg)
    if progress:
        progress(f"optimising {targets.keypoints.shape[0]} frames of {len(names)} clips on {device}")
    rp, rq, q, err = fit_frames(targets, robot, cfg, orient_bodies)
    fk = ForwardKinematics(robot, device, dtype)
    geoms = GeomPoints(robot, device, dtype)
    rp = _ground(rp, rq, q, targets, fk, geoms, cfg.ground_band)
    poses = fk(rp, rq, q)
    heights = geoms.heights(poses.pos, poses.quat)
    seconds = time.perf_counter() - t0
    out, quality = [], []
    checker = SelfCollisionChecker(robot) if cfg.check_self_collisions else None
    for i, name in enumerate(names):
        s, n = targets.starts[i], targets.lengths[i]
        sl = slice(s, s + n)
        out.append(
            MotionClip(
                name=name,
                fps=float(cfg.fps),
                root_pos=rp[sl].double().cpu().numpy(),
                root_quat=(rq[sl] / rq[sl].norm(dim=-1, keepdim=True)).double().cpu().numpy(),
                joint_pos=q[sl].double().cpu().numpy(),
            )
        )
        quality.append(
            clip_quality(
                name, robot, cfg.fps, q[sl], err[sl], poses.pos[sl], poses.quat[sl], geoms, heights[sl]
            )
        )
        if checker is not None:
            m = out[-1]
            quality[-1].self_penetration_frames, quality[-1].self_penetration_max_m = checker.check(
                m.root_pos, m.root_quat, m.joint_pos
            )
    return RetargetResult(out, quality, list(skipped or []), seconds, int(targets.keypoints.shape[0]))


def keypoints_from_robot(clip: MotionClip, robot: RobotSpec | None = None) -> Tensor:
    """Robot pair-body positions [T, K, 3] (float64) of a robot clip (for round-trip checks)."""
    robot = robot or get_robot()
    fk = ForwardKinematics(robot, dtype=torch.float64)
    ri, _ = pair_indices(robot)
    poses = fk(
        torch.from_numpy(clip.root_pos), torch.from_numpy(clip.root_quat), torch.from_numpy(clip.joint_pos)
    )
    return poses.pos[:, ri]
