"""Retarget keypoint clips (BVH skeletons, joint positions) to the robot with the SMPL path's solver.

Scaling to the robot (no body model; everything from the skeleton's own dimensions):
- human-to-robot scale ``s = robot height / human height`` (keypoint heights: legs + trunk + neck,
  :func:`.keypoints.keypoint_height`) scales the root (hip-centre) trajectory; while a source foot is
  planted the root is re-integrated so that it stays planted (:func:`.contacts.contact_preserving_root`);
- limbs: each segment (thigh, shin, upper arm, forearm) keeps the human's direction and gets the
  robot's length; the trunk segment (hip centre -> shoulder centre) and the neck likewise;
- the robot's rigid parts take the robot's own geometry: pelvis origin and hips are placed from the
  hip centre with the human pelvis orientation, the shoulders from the shoulder centre with the chest
  frame (shoulder line + trunk), so the targets are reachable whatever the human's proportions.
Feet orientation targets come from the ankle orientations (:class:`.keypoints.KeypointClip`). The fit,
grounding and quality report are :func:`.motion_fit.solve_targets`. Frames: world z up, metres, wxyz.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from hover.kinematics import ForwardKinematics
from hover.retarget.contacts import contact_preserving_root
from hover.retarget.keypoints import (
    FRAME_NAMES,
    K,
    KeypointClip,
    complete_frames,
    contacts_of,
    frames_from_axes,
    hip_center,
    keypoint_height,
    resample_keypoints,
    segment_lengths,
    shoulder_center,
    to_mats,
)
from hover.retarget.motion_fit import (
    FitTargets,
    RetargetConfig,
    RetargetResult,
    orientation_bodies,
    solve_targets,
)
from hover.robots import RobotSpec, get_robot
from hover.rotations import quat_mul


class RobotKeypoints:
    """The robot at zero pose (pelvis at the origin, identity orientation): pair-body positions by human
    keypoint name, segment lengths and keypoint height (m), and the orientation pairs' body quaternions."""

    def __init__(self, robot: RobotSpec, cfg: RetargetConfig):
        fk = ForwardKinematics(robot, dtype=torch.float64)
        rest = fk(
            torch.zeros(1, 3, dtype=torch.float64),
            torch.tensor([[1.0, 0, 0, 0]], dtype=torch.float64),
            torch.zeros(1, robot.num_joints, dtype=torch.float64),
        )
        pos = rest.pos[0].numpy()
        self.points = np.full((len(K), 3), np.nan)
        self.pairs = robot.retarget_pairs
        for body, kp in self.pairs:
            self.points[K[kp]] = pos[robot.body_index(body)]
        self.pelvis = pos[robot.body_index(self.pairs[0][0])]
        self.lengths = segment_lengths(self.points[None])
        self.height = keypoint_height(self.lengths)
        pairs, bodies = orientation_bodies(robot, cfg)
        unknown = [j for _, j in pairs if j not in FRAME_NAMES]
        if unknown:
            raise ValueError(
                f"orientation targets for {unknown} need joint rotations, which keypoint input lacks"
            )
        self.orient_joints = [FRAME_NAMES.index(j) for _, j in pairs]
        self.orient_quat = rest.quat[0, bodies].numpy()  # [O, 4]
        self.chest = frames_from_axes(
            self.points[K["L_Shoulder"]] - self.points[K["R_Shoulder"]],
            shoulder_center(self.points) - hip_center(self.points),
        )


def clip_targets(clip: KeypointClip, rk: RobotKeypoints) -> dict[str, np.ndarray]:
    """Robot-sized targets of one clip (float64 numpy, world z up, m): ``keypoints`` [T, 14, 3] in pair
    order, ``root_pos`` [T, 3], ``root_quat`` [T, 4], ``orient`` [T, O, 4], ``contact`` [T] and the
    ``scale`` used for the trajectory."""
    clip = complete_frames(clip)
    assert clip.frames is not None  # complete_frames fills them
    p = clip.points
    frames = to_mats(clip.frames)  # [T, 3, 3, 3]
    pelvis_rot = frames[:, 0]
    human = segment_lengths(p)
    scale = {k: rk.lengths[k] / max(v, 1e-9) for k, v in human.items()}
    s_traj = rk.height / max(keypoint_height(human), 1e-9)
    rel = np.zeros_like(p)
    hc, sc = hip_center(p), shoulder_center(p)
    r_hc, r_sc = hip_center(rk.points), shoulder_center(rk.points)

    def rot(frame: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.einsum("tij,j->ti", frame, v)

    def chain(base: str, a: str, b: str, seg: str) -> None:
        rel[:, K[b]] = rel[:, K[base]] + scale[seg] * (p[:, K[b]] - p[:, K[a]])

    pelvis_rel = rot(pelvis_rot, rk.pelvis - r_hc)
    chest_rel = scale["spine"] * (sc - hc)
    chest = frames_from_axes(p[:, K["L_Shoulder"]] - p[:, K["R_Shoulder"]], sc - hc) @ rk.chest.T
    for side in "LR":
        rel[:, K[f"{side}_Hip"]] = rot(pelvis_rot, rk.points[K[f"{side}_Hip"]] - r_hc)
        chain(f"{side}_Hip", f"{side}_Hip", f"{side}_Knee", "thigh")
        chain(f"{side}_Knee", f"{side}_Knee", f"{side}_Ankle", "shin")
        rel[:, K[f"{side}_Shoulder"]] = chest_rel + rot(chest, rk.points[K[f"{side}_Shoulder"]] - r_sc)
        chain(f"{side}_Shoulder", f"{side}_Shoulder", f"{side}_Elbow", "upper_arm")
        chain(f"{side}_Elbow", f"{side}_Elbow", f"{side}_Hand", "forearm")
    rel[:, K["Pelvis"]] = pelvis_rel
    rel[:, K["Head"]] = chest_rel + scale["neck"] * (p[:, K["Head"]] - sc)
    contact = contacts_of(p, clip.fps)
    ankles = [K["L_Ankle"], K["R_Ankle"]]
    root = contact_preserving_root(
        torch.from_numpy(rel[:, ankles]),
        torch.from_numpy(s_traj * hc),
        torch.from_numpy(contact),
        torch.from_numpy(p[:, ankles]),
    ).numpy()
    keypoints = rel[:, [K[h] for _, h in rk.pairs]] + root[:, None]
    q = torch.from_numpy(clip.frames[:, rk.orient_joints])  # [T, O, 4]
    orient_q = quat_mul(q, torch.from_numpy(rk.orient_quat).expand_as(q)).numpy()
    return {
        "keypoints": keypoints,
        "root_pos": pelvis_rel + root,
        "root_quat": clip.frames[:, 0],
        "orient": orient_q,
        "contact": np.asarray(contact.any(-1)),
        "scale": np.array(s_traj),
    }


def keypoint_targets(
    clips: Sequence[KeypointClip],
    robot: RobotSpec,
    cfg: RetargetConfig,
    device: torch.device,
    dtype: torch.dtype,
) -> FitTargets:
    """:class:`.motion_fit.FitTargets` of clips already at ``cfg.fps`` (concatenated in order)."""
    rk = RobotKeypoints(robot, cfg)
    parts = [clip_targets(c, rk) for c in clips]
    lengths = [c.num_frames for c in clips]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int).tolist()
    kw: dict[str, Any] = {"device": device, "dtype": dtype}

    def cat(key: str) -> torch.Tensor:
        return torch.from_numpy(np.concatenate([x[key] for x in parts])).to(**kw)

    clip_id = torch.repeat_interleave(torch.arange(len(clips)), torch.tensor(lengths)).to(device)
    return FitTargets(
        cat("keypoints"),
        cat("root_pos"),
        cat("root_quat"),
        cat("orient"),
        clip_id,
        starts,
        lengths,
        cat("contact"),
    )


def retarget_keypoint_clips(
    clips: Sequence[KeypointClip],
    robot: RobotSpec | None = None,
    config: RetargetConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> RetargetResult:
    """Retarget keypoint clips (any frame rate) to robot motion clips at ``config.fps``, with quality figures."""
    robot = robot or get_robot()
    cfg = config or RetargetConfig()
    torch.set_num_threads(cfg.num_threads)
    dtype = {"float32": torch.float32, "float64": torch.float64}[cfg.dtype]
    device = torch.device(cfg.device)
    t0 = time.perf_counter()
    skipped: list[tuple[str, str]] = []
    ready: list[KeypointClip] = []
    for c in clips:
        r = resample_keypoints(c, cfg.fps)
        if r.num_frames < cfg.min_frames:
            skipped.append((c.name, f"only {r.num_frames} frames at {cfg.fps:g} fps (< {cfg.min_frames})"))
        else:
            ready.append(r)
    if not ready:
        return RetargetResult([], [], skipped, 0.0, 0)
    targets = keypoint_targets(ready, robot, cfg, device, dtype)
    return solve_targets(targets, [c.name for c in ready], robot, cfg, t0, skipped, progress)
