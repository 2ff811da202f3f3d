"""SMPL body models through ``smplx``, loaded from plain-numpy files only.

A body-model file ``SMPL_{GENDER}.npz`` holds SMPL's arrays under SMPL's keys: ``v_template`` (V, 3),
``shapedirs`` (V, 3, B), ``posedirs`` (V, 3, 207), ``J_regressor`` (24, V), ``weights`` (V, 24),
``kintree_table`` (2, 24), ``f`` (F, 3). Official SMPL files (pickles with chumpy objects) cannot be
shipped; convert a trusted one once with ``hover retarget convert-smpl`` (see :mod:`.convert`).

The project ships a *synthetic* SMPL-format model (generated here, deterministic): 24 small octahedra
placed on a plausible adult skeleton, a J_regressor that averages each octahedron (so it regresses the
joint exactly), rigid skinning, zero pose blend shapes, and 10 shape directions that change overall
size, leg/arm/torso lengths and widths. Units: metres; SMPL body frame (y up, facing +z, left +x).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hover.io import atomic_open, read_npz
from hover.retarget.skeleton import NUM_SMPL_JOINTS, SMPL_JOINT_NAMES, SMPL_PARENTS

SMPL_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
ENV_SMPL_DIR = "HOVER_SMPL_DIR"
DEFAULT_SMPL_DIR = Path("~/.cache/hover/smpl").expanduser()


class BodyModelError(FileNotFoundError):
    """A body-model file is missing or malformed; the message says what to do."""


def synthetic_model_dir() -> Path:
    """Folder holding the shipped synthetic ``SMPL_NEUTRAL.npz``."""
    import hover

    return Path(hover.__file__).resolve().parent / "assets" / "retarget" / "synthetic_smpl"


# Rest joints (m) of the synthetic adult, SMPL body frame, roughly SMPL-neutral proportions.
_REST_JOINTS = np.array([
    [0.000, -0.223, 0.028], [0.070, -0.314, 0.024], [-0.070, -0.314, 0.024], [0.000, -0.103, 0.012],
    [0.105, -0.698, 0.032], [-0.105, -0.698, 0.032], [0.000, 0.034, 0.040], [0.088, -1.101, -0.014],
    [-0.088, -1.101, -0.014], [0.000, 0.093, 0.036], [0.118, -1.163, 0.107], [-0.118, -1.163, 0.107],
    [0.000, 0.307, 0.014], [0.077, 0.212, 0.022], [-0.077, 0.212, 0.022], [0.000, 0.380, 0.060],
    [0.168, 0.229, 0.000], [-0.168, 0.229, 0.000], [0.418, 0.212, -0.020], [-0.418, 0.212, -0.020],
    [0.680, 0.220, -0.024], [-0.680, 0.220, -0.024], [0.765, 0.214, -0.034], [-0.765, 0.214, -0.034],
])  # fmt: skip
_RADIUS = np.array([0.10, 0.07, 0.07, 0.09, 0.05, 0.05, 0.10, 0.04, 0.04, 0.10, 0.04, 0.04,
                    0.05, 0.05, 0.05, 0.09, 0.05, 0.05, 0.04, 0.04, 0.03, 0.03, 0.04, 0.04])  # fmt: skip
_OCTA = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=np.float64)
_OCTA_FACES = np.array(
    [[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]]
)


def _shape_directions(rest: np.ndarray) -> np.ndarray:
    """Joint displacement (24, 3, 10) per unit beta."""
    idx = {n: i for i, n in enumerate(SMPL_JOINT_NAMES)}
    d = np.zeros((NUM_SMPL_JOINTS, 3, 10))

    def side(name: str) -> float:
        return 1.0 if name.startswith("L_") else -1.0

    d[:, :, 0] = 0.06 * (rest - rest[0])  # overall size about the pelvis
    for n, dy in (("Knee", -0.03), ("Ankle", -0.06), ("Foot", -0.06)):  # leg length
        d[idx["L_" + n], 1, 1] = d[idx["R_" + n], 1, 1] = dy
    for n, dx in (("Elbow", 0.025), ("Wrist", 0.05), ("Hand", 0.05)):  # arm length
        for s in "LR":
            d[idx[f"{s}_{n}"], 0, 2] = side(s + "_") * dx
    for name in SMPL_JOINT_NAMES:  # torso length: everything above Spine1 moves up
        if name in ("Spine2",):
            d[idx[name], 1, 3] = 0.015
        elif name not in ("Pelvis", "Spine1") and not any(
            k in name for k in ("Hip", "Knee", "Ankle", "Foot")
        ):
            d[idx[name], 1, 3] = 0.03
    for name in SMPL_JOINT_NAMES:  # shoulder width
        if "Collar" in name:
            d[idx[name], 0, 4] = side(name) * 0.01
        elif any(k in name for k in ("Shoulder", "Elbow", "Wrist", "Hand")):
            d[idx[name], 0, 4] = side(name) * 0.03
    for name in SMPL_JOINT_NAMES:  # hip width
        if any(k in name for k in ("Hip", "Knee", "Ankle", "Foot")):
            d[idx[name], 0, 5] = side(name) * 0.02
    d[idx["Head"], 1, 6] = 0.03  # neck/head length
    d[idx["Neck"], 1, 6] = 0.01
    d[idx["L_Foot"], 2, 7] = d[idx["R_Foot"], 2, 7] = 0.03  # foot length
    d[idx["L_Knee"], 1, 8] = d[idx["R_Knee"], 1, 8] = -0.02  # thigh vs shin
    for s in "LR":  # upper arm vs forearm
        d[idx[f"{s}_Elbow"], 0, 9] = side(s + "_") * 0.02
    return d


def make_synthetic_model() -> dict[str, np.ndarray]:
    """The synthetic SMPL-format model as a dict of numpy arrays under SMPL's keys (deterministic)."""
    nv = len(_OCTA)
    verts = (_REST_JOINTS[:, None, :] + _RADIUS[:, None, None] * _OCTA[None]).reshape(-1, 3)
    owner = np.repeat(np.arange(NUM_SMPL_JOINTS), nv)
    regressor = np.zeros((NUM_SMPL_JOINTS, len(verts)))
    regressor[owner, np.arange(len(verts))] = 1.0 / nv
    weights = np.zeros((len(verts), NUM_SMPL_JOINTS))
    weights[np.arange(len(verts)), owner] = 1.0
    shapedirs = np.repeat(_shape_directions(_REST_JOINTS), nv, axis=0)
    kintree = np.stack([np.array(SMPL_PARENTS, dtype=np.int64), np.arange(NUM_SMPL_JOINTS)])
    kintree[0, 0] = 4294967295  # what official files store for the root's parent
    faces = (np.arange(NUM_SMPL_JOINTS)[:, None, None] * nv + _OCTA_FACES[None]).reshape(-1, 3)
    return {
        "v_template": verts,
        "shapedirs": shapedirs,
        "posedirs": np.zeros((len(verts), 3, 207)),
        "J_regressor": regressor,
        "weights": weights,
        "kintree_table": kintree,
        "f": faces.astype(np.uint32),
    }


def save_body_model(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Write a plain-numpy body-model file atomically (``.npz``, float64 arrays)."""
    path = Path(path)
    with atomic_open(path, "wb") as f:
        out: dict[str, Any] = {
            k: np.asarray(arrays[k]) for k in SMPL_KEYS
        }  # Any: numpy's stub vs allow_pickle
        np.savez_compressed(f, **out)
    return path


def read_body_model_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read and check a plain-numpy body-model ``.npz`` (never unpickles)."""
    path = Path(path)
    arrays = read_npz(path, BodyModelError, "plain-numpy body-model .npz")
    missing = [k for k in SMPL_KEYS if k not in arrays]
    if missing:
        raise BodyModelError(f"{path}: missing SMPL keys {missing}")
    nv = arrays["v_template"].shape[0]
    expected = {
        "v_template": (nv, 3),
        "J_regressor": (NUM_SMPL_JOINTS, nv),
        "weights": (nv, NUM_SMPL_JOINTS),
        "kintree_table": (2, NUM_SMPL_JOINTS),
    }
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise BodyModelError(f"{path}: {key} has shape {arrays[key].shape}, expected {shape}")
    if arrays["shapedirs"].ndim != 3 or arrays["shapedirs"].shape[:2] != (nv, 3):
        raise BodyModelError(
            f"{path}: shapedirs has shape {arrays['shapedirs'].shape}, expected ({nv}, 3, B)"
        )
    if arrays["posedirs"].shape[:2] != (nv, 3):
        raise BodyModelError(
            f"{path}: posedirs has shape {arrays['posedirs'].shape}, expected ({nv}, 3, 207)"
        )
    return arrays


def resolve_model_file(model_dir: str | os.PathLike | None, gender: str = "neutral") -> Path:
    """``SMPL_{GENDER}.npz`` in ``model_dir`` ($HOVER_SMPL_DIR, else ~/.cache/hover/smpl); clear errors."""
    folder = Path(model_dir or os.environ.get(ENV_SMPL_DIR) or DEFAULT_SMPL_DIR).expanduser()
    if folder.is_file():
        return folder
    name = f"SMPL_{gender.upper()}"
    npz = folder / f"{name}.npz"
    if npz.is_file():
        return npz
    pkl = folder / f"{name}.pkl"
    hint = (
        f"SMPL model files cannot be shipped with hover. Download SMPL (https://smpl.is.tue.mpg.de), "
        f"then convert the official pickle once: `hover retarget convert-smpl PATH/TO/{name}.pkl --out {npz}` "
        f"(or pass --smpl-dir / set ${ENV_SMPL_DIR}). Without SMPL, use `hover retarget --builtin` "
        f"(synthetic body model and motions)."
    )
    if pkl.is_file():
        raise BodyModelError(
            f"{npz}: not found, but {pkl} exists: convert it once with "
            f"`hover retarget convert-smpl {pkl} --out {npz}` (hover never unpickles model files)."
        )
    raise BodyModelError(f"{npz}: no SMPL body model. {hint}")


@dataclass
class _Struct:
    """What ``smplx.SMPL(data_struct=...)`` reads (attribute access to the SMPL arrays)."""

    v_template: np.ndarray
    shapedirs: np.ndarray
    posedirs: np.ndarray
    J_regressor: np.ndarray
    weights: np.ndarray
    kintree_table: np.ndarray
    f: np.ndarray


def _vertex_ids(arrays: dict[str, np.ndarray]) -> dict[str, int] | None:
    """Extra-keypoint vertex ids for smplx: its own table for the official 6890-vertex topology, else the
    vertex most tied to a sensible joint (models with other vertex counts, e.g. the synthetic one)."""
    if arrays["v_template"].shape[0] == 6890:
        return None
    reg = arrays["J_regressor"]
    top = {n: int(np.argmax(reg[i])) for i, n in enumerate(SMPL_JOINT_NAMES)}
    ids = {k: top["Head"] for k in ("nose", "reye", "leye", "rear", "lear")}
    for s, side in (("l", "L"), ("r", "R")):
        for tip in ("thumb", "index", "middle", "ring", "pinky"):
            ids[s + tip] = top[f"{side}_Hand"]
    for side in ("L", "R"):
        ids[f"{side}BigToe"] = ids[f"{side}SmallToe"] = top[f"{side}_Foot"]
        ids[f"{side}Heel"] = top[f"{side}_Ankle"]
    return ids


class BodyModel:
    """An SMPL model (via ``smplx.SMPL``) giving shaped rest joints; ``num_betas`` shape coefficients."""

    def __init__(self, arrays: dict[str, np.ndarray], num_betas: int = 10, source: str = ""):
        import smplx

        self.source = source
        struct = _Struct(**{k: np.asarray(arrays[k]) for k in SMPL_KEYS})
        self.num_betas = min(num_betas, struct.shapedirs.shape[-1])
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a warning for 10-beta models
            self.smpl = smplx.SMPL(
                model_path=str(source or "."),
                data_struct=struct,
                num_betas=self.num_betas,
                vertex_ids=_vertex_ids(arrays),
                dtype=torch.float64,
            )
        self.smpl.requires_grad_(False)
        # Rest joints are linear in betas: J(b) = J_regressor (v_template + shapedirs b), as in smplx.lbs.
        reg = self.smpl.J_regressor
        self.joint_template = reg @ self.smpl.v_template  # [24, 3]
        self.joint_dirs = torch.einsum("jv,vkb->jkb", reg, self.smpl.shapedirs)  # [24, 3, nb]

    def rest_joints(self, betas: Tensor) -> Tensor:
        """Shaped rest joints [B, 24, 3] (m, SMPL body frame) for betas [B, <=nb]; differentiable in betas.

        Equal to ``smplx.SMPL(betas=..., zero pose).joints[:, :24]`` (checked in the tests)."""
        betas = betas.to(torch.float64)[:, : self.num_betas]
        return self.joint_template + torch.einsum(
            "jkb,nb->njk", self.joint_dirs[..., : betas.shape[-1]], betas
        )


def load_body_model(
    model_dir: str | os.PathLike | None = None, gender: str = "neutral", num_betas: int = 10
) -> BodyModel:
    """Load ``SMPL_{GENDER}.npz`` from ``model_dir`` (see :func:`resolve_model_file`)."""
    path = resolve_model_file(model_dir, gender)
    return BodyModel(read_body_model_file(path), num_betas=num_betas, source=str(path))


def load_synthetic_body_model() -> BodyModel:
    """The shipped synthetic SMPL-format model, loaded through the same file path as user models."""
    path = synthetic_model_dir() / "SMPL_NEUTRAL.npz"
    if not path.is_file():  # e.g. a source checkout where the asset was removed: regenerate it
        save_body_model(path, make_synthetic_model())
    return load_body_model(path)
