"""mypy on hover as it is installed: hover/, envs/, retarget/ and deploy/ as the one package ``hover``.

mypy has no equivalent of pyproject's ``package-dir`` (envs/ installs as ``hover.envs``, ...), so this
builds that layout from symbolic links in a temporary folder, runs ``mypy -p hover`` there with the
``[tool.mypy]`` settings of pyproject.toml, and prints mypy's report with the repository's own paths
(``hover/envs/tracking/env.py`` -> ``envs/tracking/env.py``). Extra arguments go to mypy. Exit code: mypy's.

    python scripts/typecheck.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_tree(dest: Path) -> dict[str, str]:
    """Symbolic links under ``dest`` giving the installed layout; returns {tree prefix: repository prefix}."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    top = dest / mapping["hover"]
    top.mkdir(parents=True)
    for entry in (ROOT / mapping["hover"]).iterdir():
        if entry.name != "__pycache__":
            (top / entry.name).symlink_to(entry)
    prefixes = {}
    for package, folder in mapping.items():
        if package == "hover":
            continue
        link = dest / package.replace(".", "/")
        link.symlink_to(ROOT / folder)
        prefixes[package.replace(".", "/") + "/"] = folder + "/"
    return prefixes


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="hover_mypy_") as tmp:
        prefixes = build_tree(Path(tmp))
        cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
               "--cache-dir", str(ROOT / ".mypy_cache"), "-p", "hover", *argv]  # fmt: skip
        proc = subprocess.run(
            cmd, cwd=tmp, capture_output=True, text=True, env=os.environ | {"MYPY_FORCE_COLOR": "0"}
        )
    for line in (proc.stdout + proc.stderr).splitlines():
        for tree, repo in prefixes.items():
            if line.startswith(tree):
                line = repo + line[len(tree) :]
                break
        print(line)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
