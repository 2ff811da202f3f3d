"""Fit an SMPL body shape to the robot: betas + a global scale (+ optional per-bone-chain scales).

The human stands in H2O's matching pose (:func:`skeleton.stand_pose`: upright facing +x, arms down,
forearms forward), the robot at joint angles zero with its pelvis at the origin. Variables: betas, a
global scale applied to all bone offsets, optional per-chain length scales (legs, hips, spine,
shoulders, arms), and a root offset (robot pelvis minus scaled human pelvis, robot pelvis frame).
Loss: mean distance over the robot/SMPL body pairs (``RobotSpec.retarget_pairs``) plus a small
beta regulariser. The result is stored as a small ``.npz`` reused for every clip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hover.io import atomic_open, read_npz
from hover.kinematics import ForwardKinematics
from hover.retarget.body_model import BodyModel
from hover.retarget.skeleton import (
    BONE_CHAINS,
    SMPL_PARENTS,
    chain_of_joint,
    joint_index,
    smpl_forward_kinematics,
    stand_pose,
)
from hover.robots import RobotSpec, get_robot

CHAIN_NAMES: tuple[str, ...] = tuple(BONE_CHAINS)


@dataclass
class ShapeFitConfig:
    iterations: int = 400  # H2O: Adam lr 0.1, 1000 iterations; 400 at lr 0.05 converge here
    lr: float = 0.05
    per_chain_scales: bool = True  # beyond H2O: one length scale per bone chain
    beta_reg: float = 1e-3
    chain_scale_range: tuple[float, float] = (0.7, 1.4)


@dataclass
class BodyShape:
    """A fitted human shape for one robot. Lengths in m; ``root_offset`` in the robot pelvis frame."""

    robot: str
    betas: np.ndarray  # [10]
    scale: float
    chain_scales: np.ndarray  # [len(CHAIN_NAMES)], 1 = unchanged
    root_offset: np.ndarray  # [3] robot pelvis - scaled human pelvis, robot pelvis frame (m)
    gender: str = "neutral"
    pair_error_before: float = float("nan")  # mean pair distance (m) with betas 0, scale 1
    pair_error_after: float = float("nan")
    model_source: str = ""
    chain_names: tuple[str, ...] = field(default=CHAIN_NAMES)


def scaled_rest_joints(rest: Tensor, scale: Tensor | float, chain_scales: Tensor | None) -> Tensor:
    """Rest joints [..., 24, 3] with every bone offset multiplied by ``scale`` (x its chain's scale)."""
    chains = chain_of_joint()
    out = [rest[..., 0, :]]
    for i in range(1, len(SMPL_PARENTS)):
        p = SMPL_PARENTS[i]
        s = scale
        if chain_scales is not None and chains[i] is not None:
            s = s * chain_scales[..., CHAIN_NAMES.index(chains[i])].unsqueeze(-1)
        out.append(out[p] + s * (rest[..., i, :] - rest[..., p, :]))
    return torch.stack(out, -2)


def pair_indices(robot: RobotSpec) -> tuple[list[int], list[int]]:
    """(robot tracked-body indices, SMPL joint indices) of the robot's body pairs (``retarget_pairs``)."""
    pairs = robot.retarget_pairs
    return [robot.body_index(r) for r, _ in pairs], [joint_index(h) for _, h in pairs]


def _robot_rest(robot: RobotSpec) -> Tensor:
    fk = ForwardKinematics(robot, dtype=torch.float64)
    z = torch.zeros(1, 3, dtype=torch.float64)
    q = torch.tensor([[1.0, 0, 0, 0]], dtype=torch.float64)
    return fk(z, q, torch.zeros(1, robot.num_joints, dtype=torch.float64)).pos[0]


def human_stand_joints(
    model: BodyModel, betas: Tensor, scale: Tensor, chain_scales: Tensor | None, pose: Tensor | None = None
) -> Tensor:
    """Human joints [24, 3] in the stand pose (or ``pose``), pelvis at the origin, z-up world (m)."""
    rest = scaled_rest_joints(model.rest_joints(betas[None])[0], scale, chain_scales)
    pose = stand_pose() if pose is None else pose
    joints, _ = smpl_forward_kinematics(rest, pose, torch.zeros(3, dtype=torch.float64))
    return joints - joints[0]


def fit_shape(
    model: BodyModel, robot: RobotSpec | None = None, config: ShapeFitConfig | None = None
) -> BodyShape:
    """Fit betas, scale (and chain scales, root offset) so the stand-pose human matches the robot at zero pose."""
    robot = robot or get_robot()
    cfg = config or ShapeFitConfig()
    ri, hi = pair_indices(robot)
    target = _robot_rest(robot)[ri]
    betas = torch.zeros(model.num_betas, dtype=torch.float64, requires_grad=True)
    log_scale = torch.zeros((), dtype=torch.float64, requires_grad=True)
    log_chain = torch.zeros(len(CHAIN_NAMES), dtype=torch.float64, requires_grad=cfg.per_chain_scales)
    offset = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    lo, hi_s = (np.log(v) for v in cfg.chain_scale_range)
    pose = stand_pose()

    def pair_error(with_offset: bool = True) -> Tensor:
        chain = torch.exp(log_chain.clamp(lo, hi_s)) if cfg.per_chain_scales else None
        human = human_stand_joints(model, betas, torch.exp(log_scale), chain, pose)[hi]
        return (human + offset * with_offset - target).norm(dim=-1).mean()

    with torch.no_grad():
        before = float(pair_error(with_offset=False))
        # start the offset at the pelvis difference so the first iterations fit lengths, not position
        offset += target[0]
    params = [betas, log_scale, offset] + ([log_chain] if cfg.per_chain_scales else [])
    opt = torch.optim.Adam(params, lr=cfg.lr)
    for _ in range(cfg.iterations):
        opt.zero_grad()
        loss = pair_error() + cfg.beta_reg * (betas**2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = float(pair_error())
        chain = torch.exp(log_chain.clamp(lo, hi_s)) if cfg.per_chain_scales else torch.ones(len(CHAIN_NAMES))
    return BodyShape(
        robot=robot.name,
        betas=betas.detach().numpy().copy(),
        scale=float(torch.exp(log_scale.detach())),
        chain_scales=chain.detach().numpy().astype(np.float64),
        root_offset=offset.detach().numpy().copy(),
        gender="neutral",
        pair_error_before=before,
        pair_error_after=after,
        model_source=model.source,
    )


def shape_rest_joints(model: BodyModel, shape: BodyShape) -> Tensor:
    """Scaled, shaped rest joints [24, 3] (float64, SMPL body frame) of a fitted shape."""
    betas = torch.as_tensor(shape.betas, dtype=torch.float64)[None]
    with torch.no_grad():
        rest = model.rest_joints(betas)[0]
        return scaled_rest_joints(rest, shape.scale, torch.as_tensor(shape.chain_scales, dtype=torch.float64))


def save_shape(path: str | os.PathLike, shape: BodyShape) -> Path:
    """Write a fitted shape as ``.npz`` (atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {  # Any: numpy's stub types **kwds against its own allow_pickle flag
        "robot": np.array(shape.robot),
        "betas": np.asarray(shape.betas, dtype=np.float64),
        "scale": np.array(shape.scale),
        "chain_names": np.array(shape.chain_names),
        "chain_scales": np.asarray(shape.chain_scales, dtype=np.float64),
        "root_offset": np.asarray(shape.root_offset, dtype=np.float64),
        "gender": np.array(shape.gender),
        "pair_error_before": np.array(shape.pair_error_before),
        "pair_error_after": np.array(shape.pair_error_after),
        "model_source": np.array(os.path.basename(shape.model_source)),
    }
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def load_shape(path: str | os.PathLike, robot: RobotSpec | None = None) -> BodyShape:
    """Read a shape file (``allow_pickle=False``); errors name the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no shape file (create one with `hover retarget fit-shape --out {path}`)"
        )
    a = read_npz(path, ValueError, "shape .npz")
    missing = [k for k in ("robot", "betas", "scale", "chain_scales", "root_offset") if k not in a]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}")
    if robot is not None and str(a["robot"]) != robot.name:
        raise ValueError(f"{path}: shape was fitted for robot {str(a['robot'])!r}, not {robot.name!r}")
    names = tuple(str(n) for n in a.get("chain_names", np.array(CHAIN_NAMES)))
    if names != CHAIN_NAMES or a["chain_scales"].shape != (len(CHAIN_NAMES),):
        raise ValueError(f"{path}: chain scales for {names}, expected {CHAIN_NAMES}")
    return BodyShape(
        robot=str(a["robot"]),
        betas=a["betas"].astype(np.float64),
        scale=float(a["scale"]),
        chain_scales=a["chain_scales"].astype(np.float64),
        root_offset=a["root_offset"].astype(np.float64),
        gender=str(a.get("gender", "neutral")),
        pair_error_before=float(a.get("pair_error_before", np.nan)),
        pair_error_after=float(a.get("pair_error_after", np.nan)),
        model_source=str(a.get("model_source", "")),
    )


def builtin_shape_path() -> Path:
    import hover

    return Path(hover.__file__).resolve().parent / "assets" / "retarget" / "h1_synthetic_shape.npz"
