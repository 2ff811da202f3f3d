"""Drop the ``# fmt: skip`` comments that formatting makes unnecessary, then run ``ruff format``.

A ``# fmt: skip`` stays only where ruff would spread its statement over at least ``--keep-growth``
(default 10) more lines: hand-laid tables and matrices (robot figures, BVH styles, rotation formulas,
test case tables) whose layout carries meaning. Every other one is removed and the statement formatted.
Run from anywhere; it edits the repository's tracked ``*.py`` files in place:

    python scripts/drop_fmt_skip.py [--keep-growth 10] [--dry-run]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = re.compile(r"[ \t]*# fmt: skip[ \t]*$")


def _format(text: str, name: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", name, "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return proc.stdout


def drop(path: Path, keep_growth: int) -> tuple[int, int]:
    """Remove the unnecessary skips of one file; returns (removed, kept)."""
    name = str(path.relative_to(ROOT))
    lines = path.read_text().splitlines(keepends=True)
    marked = [i for i, line in enumerate(lines) if SKIP.search(line)]
    if not marked:
        return 0, 0
    base = len(_format("".join(lines), name).splitlines())
    removable = []
    for i in marked:
        trial = lines.copy()
        trial[i] = SKIP.sub("", trial[i].rstrip("\n")) + "\n"
        if len(_format("".join(trial), name).splitlines()) - base < keep_growth:
            removable.append(i)
    for i in removable:
        lines[i] = SKIP.sub("", lines[i].rstrip("\n")) + "\n"
    path.write_text("".join(lines))
    return len(removable), len(marked) - len(removable)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-growth", type=int, default=10)
    parser.add_argument("--dry-run", action="store_true", help="count only; change nothing")
    args = parser.parse_args(argv)
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    removed = kept = 0
    for name in files.stdout.split():
        path = ROOT / name
        original = path.read_text()
        r, k = drop(path, args.keep_growth)
        removed, kept = removed + r, kept + k
        if args.dry_run:
            path.write_text(original)
    if not args.dry_run:
        subprocess.run([sys.executable, "-m", "ruff", "format", "."], cwd=ROOT, check=True)
    print(f"# fmt: skip removed: {removed}, kept: {kept}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
