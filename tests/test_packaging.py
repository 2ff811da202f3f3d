"""`pip install .` and `pip install -e .` both give one `hover` namespace with envs/retarget/deploy inside."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAPPING = {"hover": "hover", "hover.envs": "envs", "hover.retarget": "retarget", "hover.deploy": "deploy"}


def _package_dirs() -> dict[str, Path]:
    """Every folder with an __init__.py under the mapped roots, as its installed package name."""
    found = {}
    for pkg, folder in MAPPING.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            found[".".join([pkg, *rel.parts])] = init.parent
    return found


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == MAPPING
    listed = set(config["packages"])
    missing = set(_package_dirs()) - listed
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"
    assert not listed - set(_package_dirs()), "pyproject lists packages that do not exist"


def test_editable_install_maps_top_level_folders():
    import hover.deploy
    import hover.envs
    import hover.retarget

    assert Path(hover.envs.__file__).resolve() == ROOT / "envs" / "__init__.py"
    assert Path(hover.retarget.__file__).resolve() == ROOT / "retarget" / "__init__.py"
    assert Path(hover.deploy.__file__).resolve() == ROOT / "deploy" / "__init__.py"


def test_regular_install_builds_a_wheel_with_the_same_namespace(tmp_path):
    wheel_dir, site = tmp_path / "wheel", tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(wheel_dir)],
        capture_output=True, text=True,
    )  # fmt: skip
    if build.returncode != 0 and "No module named" in build.stderr:
        pytest.skip(f"build backend unavailable offline: {build.stderr[-200:]}")
    assert build.returncode == 0, build.stderr
    wheels = list(wheel_dir.glob("hover-*.whl"))
    assert len(wheels) == 1
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheels[0])],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    assert (
        not (site / "envs").exists() and not (site / "retarget").exists() and not (site / "deploy").exists()
    )
    code = (
        "import hover, hover.envs.backends.base, hover.retarget, hover.deploy, hover.robots.h1;"
        "from pathlib import Path; import sys;"
        f"assert Path(hover.__file__).is_relative_to({str(site)!r}), hover.__file__;"
        "print(sorted(p.name for p in (Path(hover.__file__).parent / 'assets').rglob('*') if p.is_file()))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    shipped = run.stdout
    for asset in ("builtin.npz", "teacher.pt", "teacher.json", "SMPL_NEUTRAL.npz"):
        assert asset in shipped, f"{asset} missing from the wheel"
