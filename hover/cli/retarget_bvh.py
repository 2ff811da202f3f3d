"""``hover retarget bvh`` and ``hover retarget positions``: motion capture beyond SMPL to robot motion files.

Forms::

    hover retarget bvh FILE|DIR... --out DIR [--skeleton auto|NAME|map.json] [--fps 30] [--units auto] [--up auto]
    hover retarget bvh --inspect FILE...       hierarchy, frames, fps, units, up axis, recognised convention
    hover retarget positions FILE.npz... --out DIR [--skeleton ...]   (T, J, 3) joint positions + names + fps

Same pipeline as the SMPL path (batched keypoint fit, grounding, smoothing, joint-limit and velocity
checks, quality report); the human-to-robot scale comes from the skeleton's own height. Bad input
(a malformed file, an unrecognised skeleton without a map) is one line on stderr and exit code 2; inside
folders, bad files are skipped and listed in the report.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro

from hover.cli.retarget_options import FitOptions, retarget_config


@dataclass
class _InputOptions:
    skeleton: str = "auto"
    """auto (recognise by joint names), a convention (cmu, lafan1, bandai_namco, mixamo, rigify, humanik, smpl), or a
    JSON map file of keypoint -> joint name (schema: docs/retarget_bvh.md)"""
    units: str = "auto"
    """length unit of the file: auto (from the skeleton's height), m, cm, mm, inch, cmu (CMU ASF unit, 1/0.45 in)"""
    up: str = "auto"
    """up axis of the file: auto (from the motion), z, y, x, -z, -y, -x"""


@dataclass
class BvhArgs(FitOptions, _InputOptions):
    """Retarget BVH motion capture files (files or folder trees) to robot motion files."""

    sources: Annotated[tuple[str, ...], tyro.conf.Positional, tyro.conf.arg(metavar="FILE|DIR")] = ()
    """BVH files or folders (searched recursively for *.bvh)"""
    out: Path = Path("retargeted")
    """output folder (clip names mirror the source tree)"""
    inspect: bool = False
    """print each file's hierarchy, frame count, fps, units, up axis and recognised convention; retarget nothing"""


@dataclass
class PositionsArgs(FitOptions, _InputOptions):
    """Retarget joint-position clips (.npz with positions (T, J, 3), joint_names (J,), fps) to robot motion files."""

    sources: Annotated[tuple[str, ...], tyro.conf.Positional, tyro.conf.arg(metavar="FILE|DIR")] = ()
    """joint-position .npz files or folders (searched recursively)"""
    out: Path = Path("retargeted")
    """output folder"""


def _err(prog: str, msg: str) -> None:
    print(f"{prog}: {msg}", file=sys.stderr)


def inspect_file(path: Path, options) -> str:
    """The ``--inspect`` text of one BVH file (raises BvhError for a malformed file)."""
    from hover.retarget.bvh import format_hierarchy, read_bvh
    from hover.retarget.bvh_input import BvhInputError, bvh_to_clip

    motion = read_bvh(path)
    sk = motion.skeleton
    lines = [
        f"{path}",
        format_hierarchy(sk),
        "",
        f"joints: {len(sk.joint_names())} (+ {len(sk.joints) - len(sk.joint_names())} End Sites), "
        f"channels: {sk.num_channels}",
        f"frames: {motion.num_frames}, frame time {motion.frame_time:.7g} s = {motion.fps:g} fps, "
        f"duration {(motion.num_frames - 1) / motion.fps:.2f} s",
    ]
    try:
        _, info = bvh_to_clip(motion, options, path.stem)
    except BvhInputError as e:
        lines.append(f"convention: not usable: {e}")
        return "\n".join(lines)
    lines += [
        f"convention: {info.convention}",
        f"units: {info.unit} ({info.metres_per_unit:g} m per unit); keypoint "
        f"height (legs + trunk + neck) {info.height_m:.3f} m",
        f"up axis: {info.up}",
        f"rest pose: {'an upright stance (neutral pose)' if info.rest_is_stance else 'not a stance (neutral pose from the motion)'}",
        "keypoints: " + ", ".join(f"{k}={v}" for k, v in info.keypoints.items()),
    ]
    return "\n".join(lines)


def _load_all(files, loader, options, prog: str) -> tuple[list, list, list[tuple[str, str]], int]:
    """(clips, infos, skipped, exit code): explicit bad files stop with exit 2, bad files found in folders
    are skipped."""
    clips: list = []
    infos: list = []
    skipped: list[tuple[str, str]] = []
    bad = 0
    for path, name, explicit in files:
        try:
            clip, info = loader(path, options, name)
        except ValueError as e:  # BvhError, BvhInputError, PositionsError, SkeletonError, KeypointError
            if explicit:
                _err(prog, str(e))
                bad += 1
            else:
                skipped.append((str(path), str(e)))
                print(f"skipped {e}", file=sys.stderr)
            continue
        taken = {c.name for c in clips}
        if clip.name in taken:  # e.g. walk.bvh in two folders given side by side
            k = 2
            while f"{clip.name}-{k}" in taken:
                k += 1
            clip.name = f"{clip.name}-{k}"
        clips.append(clip)
        infos.append({"clip": clip.name, **info.as_dict()})
    return clips, infos, skipped, 2 if bad else 0


def _retarget(a, prog: str, files, loader) -> int:
    from tqdm import tqdm

    from hover.retarget.bvh_input import BvhOptions
    from hover.retarget.keypoint_fit import RobotKeypoints, retarget_keypoint_clips
    from hover.retarget.motion_fit import RetargetResult
    from hover.retarget.pipeline import clip_batches, format_table, summary, write_motion_files, write_report
    from hover.robots import get_robot

    if a.hand_orientation:
        _err(
            prog,
            "--hand-orientation needs forearm rotations, which BVH/joint-position input does not provide here",
        )
        return 2
    options = BvhOptions(skeleton=a.skeleton, units=a.units, up=a.up)
    clips, infos, skipped, rc = _load_all(files, loader, options, prog)
    if rc:
        return rc
    if not clips:
        _err(prog, f"no usable input ({len(skipped)} file(s) skipped)")
        return 2
    cfg = retarget_config(a)
    result = RetargetResult([], [], [], 0.0, 0)
    with tqdm(total=len(clips), desc="retarget", unit="clip", disable=a.quiet) as bar:
        for batch in clip_batches(clips, cfg.fps, a.batch_frames):
            r = retarget_keypoint_clips(batch, config=cfg)
            result.clips += r.clips
            result.quality += r.quality
            result.skipped += r.skipped
            result.seconds += r.seconds
            result.frames += r.frames
            bar.update(len(batch))
    result.skipped = skipped + result.skipped
    paths = write_motion_files(result.clips, a.out, a.single_file)
    robot_height = RobotKeypoints(get_robot(), cfg).height
    for i in infos:
        i["robot_keypoint_height_m"] = robot_height
        i["human_to_robot_scale"] = robot_height / i["height_m"]
    report = write_report(
        a.report or a.out / "report.json", result, {"sources": list(a.sources), "inputs": infos}
    )
    if not a.quiet:
        print(format_table(result))
    s = summary(result)
    print(
        f"wrote {len(paths)} motion file(s) to {a.out} ({s['clips']} clips, {s['frames']} frames); report {report}"
    )
    return 0 if result.clips else 1


def bvh_main(argv: list[str], prog: str = "hover retarget bvh") -> int:
    a = tyro.cli(BvhArgs, args=argv, prog=prog, description=__doc__)
    from hover.retarget.bvh import BvhError
    from hover.retarget.bvh_input import BvhOptions, find_bvh_files, load_bvh_clip

    if not a.sources:
        _err(prog, "give at least one BVH file or folder")
        return 2
    try:
        files = find_bvh_files(list(a.sources))
    except BvhError as e:
        _err(prog, str(e))
        return 2
    if not files:
        _err(prog, f"no .bvh files in {', '.join(a.sources)}")
        return 2
    if a.inspect:
        rc = 0
        options = BvhOptions(skeleton=a.skeleton, units=a.units, up=a.up)
        for path, _, _ in files:
            try:
                print(inspect_file(path, options))
            except BvhError as e:
                _err(prog, str(e))
                rc = 2
        return rc
    return _retarget(a, prog, files, lambda p, o, n: load_bvh_clip(p, o, n))


def positions_main(argv: list[str], prog: str = "hover retarget positions") -> int:
    a = tyro.cli(PositionsArgs, args=argv, prog=prog, description=__doc__)
    from hover.retarget.positions import load_positions_clip

    if not a.sources:
        _err(prog, "give at least one joint-position .npz file or folder")
        return 2
    files = []
    for src in a.sources:
        p = Path(src)
        if p.is_dir():
            files += [(f, str(f.relative_to(p).with_suffix("")), False) for f in sorted(p.rglob("*.npz"))]
        elif p.is_file():
            files.append((p, p.stem, True))
        else:
            _err(prog, f"{p}: no such file or folder")
            return 2
    return _retarget(a, prog, files, lambda p, o, n: load_positions_clip(p, o, n))
