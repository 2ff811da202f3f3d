"""``hover retarget``: human motion (SMPL/AMASS, or the built-in synthetic set) to robot motion files.

Forms::

    hover retarget --builtin --out DIR            synthetic human clips -> DIR/*.npz (+ report)
    hover retarget motions SRC... --out DIR       AMASS .npz files/folders -> DIR (mirrors names)
    hover retarget bvh FILE|DIR... --out DIR      BVH motion capture (CMU, LAFAN1, Mixamo, ...) -> DIR
    hover retarget bvh --inspect FILE             hierarchy, frames, fps, units, up axis, convention
    hover retarget positions FILE.npz --out DIR   (T, J, 3) joint positions + joint names + fps -> DIR
    hover retarget fit-shape --out shape.npz      fit SMPL betas + scales to the robot
    hover retarget preview CLIP --out x.mp4       human skeleton and robot side by side
    hover retarget convert-smpl SMPL_X.pkl --out SMPL_X.npz   one-time conversion of a trusted file
    hover retarget filter MOTIONS --policy TEACHER --out DIR   keep clips a teacher can track
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import tyro

from hover.cli.retarget_options import FitOptions, retarget_config

SUBCOMMANDS = ("fit-shape", "motions", "bvh", "positions", "preview", "convert-smpl", "filter")


@dataclass
class BuiltinArgs(FitOptions):
    """Retarget the built-in synthetic human clips (walk, turn, squat, wave, reach, punch, bend, idle, side steps)."""

    builtin: bool = False
    """use the built-in synthetic body model and motions (no user files needed)"""
    out: Path = Path("retargeted")
    """output folder"""
    seed: int | None = None
    """seed of the synthetic motions (default: the fixed built-in seed)"""
    human_out: Path | None = None
    """also write the synthetic human clips as AMASS-style .npz files into this folder"""
    kinds: tuple[str, ...] = ()
    """only these motion kinds (walk, walk_turn, turn_in_place, squat, wave, wave_both, reach, punch, bend, stand,
    idle, sidestep)"""


@dataclass
class MotionsArgs(FitOptions):
    """Retarget AMASS SMPL+H .npz clips (files, folder trees) to robot motion files."""

    sources: Annotated[tuple[str, ...], tyro.conf.Positional, tyro.conf.arg(metavar="SRC")] = ()
    """AMASS .npz files or folders (searched recursively)"""
    out: Path = Path("retargeted")
    """output folder (clip names mirror the source tree)"""
    shape: Path | None = None
    """fitted shape file (default: fit now and save OUT/shape.npz)"""
    body: Literal["smpl", "synthetic"] = "smpl"
    """body model: user SMPL files (--smpl-dir) or the built-in synthetic model"""
    smpl_dir: Path | None = None
    """folder with SMPL_NEUTRAL.npz (converted with convert-smpl); default $HOVER_SMPL_DIR or ~/.cache/hover/smpl"""
    gender: str = "neutral"
    """body model gender file to use"""


@dataclass
class FitShapeArgs:
    """Fit SMPL betas + global scale (+ per-chain scales) so the human rest pose matches the robot's."""

    out: Path = Path("shape.npz")
    """output shape file"""
    body: Literal["smpl", "synthetic"] = "smpl"
    """body model: user SMPL files or the built-in synthetic model"""
    smpl_dir: Path | None = None
    """folder with SMPL_{GENDER}.npz"""
    gender: str = "neutral"
    iterations: int = 400
    per_chain_scales: bool = True
    """one length scale per bone chain (legs, hips, spine, shoulders, arms) besides the global scale"""


def _body(body: str, smpl_dir: Path | None, gender: str):
    from hover.retarget.body_model import load_body_model, load_synthetic_body_model

    return load_synthetic_body_model() if body == "synthetic" else load_body_model(smpl_dir, gender)


def _run_and_write(a: FitOptions, out: Path, clips, model, shape, skipped, extra: dict) -> int:
    from tqdm import tqdm

    from hover.retarget.pipeline import format_table, run_retarget, summary, write_motion_files, write_report

    with tqdm(total=len(clips), desc="retarget", unit="clip", disable=a.quiet) as bar:
        result = run_retarget(
            clips, model, shape, retarget_config(a), batch_frames=a.batch_frames, progress=bar.update
        )
    result.skipped = list(skipped) + result.skipped
    paths = write_motion_files(result.clips, out, a.single_file)
    report = write_report(a.report or out / "report.json", result, extra)
    if not a.quiet:
        print(format_table(result))
    s = summary(result)
    print(
        f"wrote {len(paths)} motion file(s) to {out} ({s['clips']} clips, {s['frames']} frames); report {report}"
    )
    return 0 if result.clips else 1


def _builtin(argv: list[str], prog: str) -> int:
    a = tyro.cli(BuiltinArgs, args=argv, prog=prog, description=__doc__)
    if not a.builtin:
        print(__doc__)
        print(f"{prog}: give --builtin or one of the subcommands {', '.join(SUBCOMMANDS)}", file=sys.stderr)
        return 2
    from hover.retarget.amass import save_amass
    from hover.retarget.pipeline import builtin_body_and_shape, builtin_human_clips

    model, shape = builtin_body_and_shape()
    try:
        clips = builtin_human_clips(a.seed, a.kinds)
    except ValueError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    if a.human_out:
        for c in clips:
            save_amass(a.human_out / f"{c.name}.npz", c)
    return _run_and_write(a, a.out, clips, model, shape, [], {"source": "builtin synthetic", "seed": a.seed})


def _motions(argv: list[str], prog: str) -> int:
    a = tyro.cli(MotionsArgs, args=argv, prog=prog, description=MotionsArgs.__doc__)
    from hover.retarget.amass import AmassFormatError, read_amass_sources
    from hover.retarget.body_model import BodyModelError
    from hover.retarget.shape_fit import fit_shape, load_shape, save_shape

    if not a.sources:
        print(f"{prog}: give at least one AMASS .npz file or folder", file=sys.stderr)
        return 2
    try:
        model = _body(a.body, a.smpl_dir, a.gender)
        clips, skipped = read_amass_sources(a.sources)
    except (BodyModelError, AmassFormatError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    if a.shape is not None:
        shape = load_shape(a.shape)
    else:
        shape = fit_shape(model)
        save_shape(a.out / "shape.npz", shape)
    if not clips:
        print(f"{prog}: no usable clips ({len(skipped)} skipped)", file=sys.stderr)
        for name, reason in skipped:
            print(f"  skipped {name}: {reason}", file=sys.stderr)
        return 1
    return _run_and_write(a, a.out, clips, model, shape, skipped, {"sources": list(a.sources)})


def _fit_shape(argv: list[str], prog: str) -> int:
    a = tyro.cli(FitShapeArgs, args=argv, prog=prog, description=FitShapeArgs.__doc__)
    from hover.retarget.body_model import BodyModelError
    from hover.retarget.shape_fit import ShapeFitConfig, fit_shape, save_shape

    try:
        model = _body(a.body, a.smpl_dir, a.gender)
    except BodyModelError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    shape = fit_shape(
        model, config=ShapeFitConfig(iterations=a.iterations, per_chain_scales=a.per_chain_scales)
    )
    save_shape(a.out, shape)
    print(
        f"mean pair distance {100 * shape.pair_error_before:.2f} cm -> {100 * shape.pair_error_after:.2f} cm; "
        f"scale {shape.scale:.3f}; chain scales { {n: round(float(v), 3) for n, v in zip(shape.chain_names, shape.chain_scales, strict=True)} }; "
        f"wrote {a.out}"
    )
    return 0


def main(argv: list[str], prog: str = "hover retarget") -> int:
    if argv and argv[0] in SUBCOMMANDS:
        sub, rest = argv[0], argv[1:]
        sub_prog = f"{prog} {sub}"
        if sub == "fit-shape":
            return _fit_shape(rest, sub_prog)
        if sub == "motions":
            return _motions(rest, sub_prog)
        if sub in ("bvh", "positions"):
            from hover.cli.retarget_bvh import bvh_main, positions_main

            return (bvh_main if sub == "bvh" else positions_main)(rest, sub_prog)
        if sub == "preview":
            from hover.cli.retarget_preview import main as preview_main

            return preview_main(rest, sub_prog)
        if sub == "convert-smpl":
            from hover.cli.retarget_convert import main as convert_main

            return convert_main(rest, sub_prog)
        from hover.cli.retarget_filter import main as filter_main

        return filter_main(rest, sub_prog)
    return _builtin(argv, prog)
