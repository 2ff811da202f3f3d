"""``hover retarget convert-smpl``: turn a trusted official SMPL pickle into a plain-numpy ``.npz``, once.

This is the only place in hover that unpickles, and only on the user's explicit request for a file
they trust (the official SMPL download). Official files hold chumpy objects; chumpy is not needed:
a restricted unpickler maps chumpy classes to a tiny stand-in that keeps the array (``x``), and refuses
any class outside numpy / scipy.sparse / chumpy. Everything else in hover reads the converted file
with ``allow_pickle=False``.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import tyro

from hover.retarget.body_model import SMPL_KEYS, read_body_model_file, save_body_model


class ChumpyStandIn:
    """Replaces any chumpy class while unpickling: keeps the pickled state; ``array`` is its value."""

    def __init__(self, *args: Any, **kwargs: Any):
        self._args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state

    @property
    def array(self) -> np.ndarray:
        state = getattr(self, "state", None)
        if isinstance(state, dict):
            for key in ("x", "a", "_x"):
                if key in state:
                    return to_numpy(state[key])
        raise ValueError(
            f"cannot read the array of a chumpy object (state keys: "
            f"{sorted(state) if isinstance(state, dict) else type(state).__name__})"
        )


class _TrustedSmplUnpickler(pickle.Unpickler):
    """Resolves only numpy arrays/dtypes, scipy.sparse matrices and (stand-ins for) chumpy classes."""

    def find_class(self, module: str, name: str) -> Any:
        import copyreg

        if module.split(".")[0] == "chumpy":
            return ChumpyStandIn
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in (
            "_reconstruct",
            "scalar",
        ):
            return getattr(np._core.multiarray, name)  # type: ignore[attr-defined]  # private, not in numpy's stubs
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        if module.startswith("scipy.sparse") and name.endswith(("_matrix", "_array")):
            import scipy.sparse

            return getattr(scipy.sparse, name)
        if module == "copyreg" and name == "_reconstructor":
            return copyreg._reconstructor  # type: ignore[attr-defined]  # private, not in typeshed
        if module in ("__builtin__", "builtins") and name in (
            "object",
            "set",
            "frozenset",
            "slice",
            "complex",
        ):
            import builtins

            return getattr(builtins, name)
        if module == "_codecs" and name == "encode":  # how Python 3 protocol-2 pickles store bytes
            import codecs

            return codecs.encode
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not a numpy/scipy/chumpy class")


def to_numpy(value: Any) -> np.ndarray:
    """Plain ndarray of a numpy array, a chumpy stand-in or a scipy sparse matrix (densified)."""
    if isinstance(value, ChumpyStandIn):
        return value.array
    if hasattr(value, "toarray"):
        return np.asarray(value.toarray())
    return np.asarray(value)


def read_official_smpl(path: str | Path) -> dict[str, np.ndarray]:
    """The SMPL arrays of a trusted official pickle (latin1), as plain float64/int arrays."""
    path = Path(path)
    with open(path, "rb") as f:
        data = _TrustedSmplUnpickler(f, encoding="latin1").load()
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a dict of SMPL arrays, got {type(data).__name__}")
    missing = [k for k in SMPL_KEYS if k not in data]
    if missing:
        raise ValueError(f"{path}: missing SMPL keys {missing}")
    out = {k: to_numpy(data[k]) for k in SMPL_KEYS}
    for k in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights"):
        out[k] = out[k].astype(np.float64)
    out["kintree_table"] = out["kintree_table"].astype(np.int64)
    out["f"] = out["f"].astype(np.int64)
    return out


def convert_smpl(src: str | Path, out: str | Path) -> Path:
    """Convert a trusted official SMPL pickle to a plain-numpy ``.npz`` and check the result loads."""
    path = save_body_model(out, read_official_smpl(src))
    read_body_model_file(path)
    return path


@dataclass
class ConvertArgs:
    """Convert a trusted official SMPL_{GENDER}.pkl (chumpy pickle) into a plain-numpy SMPL_{GENDER}.npz."""

    src: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="SMPL_PKL")]
    """the official SMPL pickle you downloaded (only convert files you trust)"""
    out: Path | None = None
    """output .npz (default: beside the source, same stem)"""
