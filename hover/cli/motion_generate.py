"""``hover motion generate``: varied synthetic robot motion sets, deterministic per seed (:mod:`hover.retarget.generate`)."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import tyro

from hover.robots import DEFAULT_ROBOT, get_robot


@dataclass
class GenerateConfig:
    """Make varied synthetic robot motions, deterministic per seed: synthetic human motion of random kind and parameters, retargeted to the robot like `hover retarget --builtin`, written as one motion file."""

    num_clips: int = 40
    """number of clips (>= 1)"""
    seed: int = 0
    """seed (>= 0); clip i depends only on (seed, i, kinds), so a smaller --num-clips gives a prefix"""
    out: Path = Path("generated.npz")
    """output motion file (.npz)"""
    fps: float = 50.0
    """frame rate of the clips (Hz)"""
    kinds: tuple[str, ...] = ()
    """motion kinds, comma- or space-separated (default: all of walk, walk_turn, turn, sidestep, arms, squat, bend, reach, punch, wave; also: steer, joystick-like walking in every direction)"""
    max_attempts: int = 4
    """draws per clip until it passes the quality gate (self-penetration, joint limits and velocities, foot sliding, keypoint error); the last draw is kept and counted as failing otherwise"""
    report: Path | None = None
    """also write a JSON report: per-kind summary, per-clip parameters and quality"""
    quiet: bool = False
    """no progress bar or table"""
    robot: str = DEFAULT_ROBOT
    """robot the motions are for"""


def _generate_input_error(cfg: GenerateConfig) -> str | None:
    """The first problem with the options, or None."""
    from hover.retarget.random_motions import ALL_KINDS

    if cfg.num_clips < 1:
        return f"--num-clips must be >= 1, got {cfg.num_clips}"
    if cfg.seed < 0:
        return f"--seed must be >= 0, got {cfg.seed}"
    if not (cfg.fps > 0 and cfg.fps <= 1000):
        return f"--fps must be in (0, 1000], got {cfg.fps}"
    if cfg.max_attempts < 1:
        return f"--max-attempts must be >= 1, got {cfg.max_attempts}"
    unknown = [k for k in _split_kinds(cfg.kinds) if k not in ALL_KINDS]
    if unknown:
        return f"--kinds: unknown kind(s) {', '.join(unknown)}; known: {', '.join(ALL_KINDS)}"
    for path, opt in ((cfg.out, "--out"), (cfg.report, "--report")):
        if path is None:
            continue
        if opt == "--out" and path.suffix != ".npz":
            return f"--out {path}: must be a .npz file"
        if path.is_dir():
            return f"{opt} {path}: is a folder"
        try:  # create the folder and a scratch file now, not after minutes of work
            path.parent.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=path.parent).close()
        except OSError as e:
            return f"{opt} {path}: cannot write there ({e.strerror or e})"
    return None


def _split_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(k for item in kinds for k in item.replace(",", " ").split())


def main(argv: list[str], prog: str) -> int:
    """``hover motion generate --num-clips N --seed S --out FILE.npz``: exit 2 on bad options."""
    cfg = tyro.cli(GenerateConfig, args=argv, prog=prog, description=GenerateConfig.__doc__)
    problem = _generate_input_error(cfg)
    if problem:
        print(f"{prog}: {problem}", file=sys.stderr)
        return 2
    from dataclasses import asdict

    from tqdm import tqdm

    from hover.io import atomic_write_json
    from hover.motion.format import save_motions
    from hover.retarget import generate as gen_mod
    from hover.retarget.random_motions import KINDS

    robot = get_robot(cfg.robot)
    kinds = _split_kinds(cfg.kinds) or KINDS
    gcfg = gen_mod.GenerateConfig(fps=cfg.fps, kinds=kinds, max_attempts=cfg.max_attempts)
    with tqdm(total=cfg.num_clips, desc="generate", unit="clip", disable=cfg.quiet) as bar:

        def progress(n: int, total: int) -> None:
            bar.total = total
            bar.update(n)

        gen = gen_mod.generate(cfg.num_clips, cfg.seed, gcfg, robot, progress)
    try:
        path = save_motions(cfg.out, gen.clips, robot)
        if cfg.report:
            speeds = gen_mod.measured_speeds(gen)
            atomic_write_json(cfg.report, {
                "command": {"num_clips": cfg.num_clips, "seed": cfg.seed, "fps": cfg.fps, "kinds": list(kinds),
                            "max_attempts": cfg.max_attempts},
                "seconds": gen.seconds, "summary": gen_mod.kind_summary(gen),
                "clips": [{"spec": asdict(s), "quality": asdict(q), "gate_failures": f, "joint_velocity_ratio": r,
                           "speed_measured_m_s": None if v != v else v}
                          for s, q, f, v, r in zip(gen.specs, gen.quality, gen.failures, speeds, gen.velocity_ratio,
                                                   strict=True)],
            })  # fmt: skip
    except OSError as e:
        print(f"{prog}: cannot write {cfg.out}: {e}", file=sys.stderr)
        return 2
    if not cfg.quiet:
        print(gen_mod.format_summary(gen))
    failing = sum(bool(f) for f in gen.failures)
    note = f", {failing} failing the quality gate after {cfg.max_attempts} draws" if failing else ""
    print(
        f"wrote {len(gen.clips)} clips ({sum(c.duration for c in gen.clips):.1f} s, {gen.redrawn} redrawn{note}) "
        f"to {path} in {gen.seconds:.1f} s"
    )
    return 0
