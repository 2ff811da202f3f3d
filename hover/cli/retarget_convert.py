"""``hover retarget convert-smpl``: one-time conversion of a trusted official SMPL pickle (:mod:`hover.retarget.convert`)."""

from __future__ import annotations

import pickle
import sys

import tyro

from hover.retarget import convert
from hover.retarget.convert import ConvertArgs, convert_smpl


def main(argv: list[str], prog: str = "hover retarget convert-smpl") -> int:
    a = tyro.cli(ConvertArgs, args=argv, prog=prog, description=convert.__doc__)
    out = a.out or a.src.with_suffix(".npz")
    try:
        path = convert_smpl(a.src, out)
    except (OSError, ValueError, pickle.UnpicklingError) as e:
        print(f"{prog}: {a.src}: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path}; use it with --smpl-dir {path.parent}")
    return 0
