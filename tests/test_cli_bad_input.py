"""Every CLI command over a table of bad inputs: exit code 2, one line naming the file or option and the
problem, no traceback, nothing left behind.

Each case runs ``hover.cli.main`` in this process (one import of torch for the whole table) in a fresh
folder holding the fixtures below; the folder's contents must be the same afterwards (no run folder,
no report, no partial file). Fixtures: ``text.npz`` / ``text.onnx`` (text files renamed), ``nan.npz``
(a motion file with a NaN joint angle), ``good.npz`` (two built-in clips), ``folder/`` (empty),
``trun/`` and ``srun/`` (a teacher and a student run folder: config.json + model_1.pt from the bundled
policies), ``gains10x.onnx`` (a student whose kp metadata are ten times the H1's).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

from hover.cli import main

ASSETS = Path(__file__).resolve().parents[1] / "hover" / "assets" / "policies"


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> Path:
    import onnx

    from hover.benchmarks.deploy import write_student_onnx
    from hover.motion.builtin import load_builtin_motions
    from hover.motion.format import save_motions
    from hover.robots import get_robot

    d = tmp_path_factory.mktemp("fixtures")
    (d / "text.npz").write_text("hello\n")
    (d / "text.onnx").write_text("hello\n")
    (d / "folder").mkdir()
    robot = get_robot("h1")
    save_motions(d / "good.npz", load_builtin_motions(robot)[:2], robot)
    data = dict(np.load(d / "good.npz", allow_pickle=False))
    data["joint_pos"] = data["joint_pos"].copy()
    data["joint_pos"][3, 2] = np.nan
    np.savez(d / "nan.npz", **data)
    for run, name in (("trun", "teacher"), ("srun", "student")):
        (d / run).mkdir()
        shutil.copy(ASSETS / f"{name}.json", d / run / "config.json")
        shutil.copy(ASSETS / f"{name}.pt", d / run / "model_1.pt")
    model = onnx.load(str(write_student_onnx(d / "student.onnx", hidden_dims=(16,))))
    for prop in model.metadata_props:
        if prop.key == "hover":
            meta = json.loads(prop.value)
            meta["kp"] = [10 * k for k in meta["kp"]]
            prop.value = json.dumps(meta)
    onnx.save(model, str(d / "gains10x.onnx"))
    (d / "student.onnx").unlink()
    return d


# (command line, text the one line must hold: the file or option named)
CASES = [
    ("inputs show --input bogus --seconds 0.2", "'bogus'"),
    ("inputs show --input playback:missing.npz --seconds 0.2", "missing.npz"),
    ("inputs show --input playback:text.npz --seconds 0.2", "text.npz: not a readable motion .npz file"),
    ("inputs show --input playback:nan.npz --seconds 0.2", "nan.npz"),
    ("inputs show --input playback:good.npz:nosuch --seconds 0.2", "'nosuch'"),
    ("inputs show --input vr: --seconds 0.2", "vr:<ip>"),
    ("train teacher --resume missing", "--resume missing"),
    ("train teacher --resume srun", "--resume srun: a student run"),
    ("train teacher --motions nan.npz", "nan.npz"),
    ("train teacher --motions text.npz", "text.npz"),
    ("train teacher --motions missing.npz", "--motions missing.npz"),
    ("train student --teacher missing", "--teacher missing"),
    ("train student --teacher srun", "--teacher srun: a student run"),
    ("train student --teacher srun/model_1.pt", "a student checkpoint"),
    ("train student --resume trun", "--resume trun: a teacher run"),
    ("train student --motions text.npz", "text.npz"),
    ("train student --modes bogus", "--modes bogus"),
    ("run --net nosuchif0 --duration-s 0.1", "--net nosuchif0"),
    ("run --policy folder --duration-s 0.1", "folder: is a folder"),
    ("run --policy text.onnx --duration-s 0.1", "text.onnx: not a loadable ONNX model"),
    ("run --policy missing.onnx --duration-s 0.1", "missing.onnx"),
    ("run --policy gains10x.onnx --duration-s 0.1", "--allow-gains"),
    ("run --input bogus --duration-s 0.1", "'bogus'"),
    ("run --report nodir/r.json --duration-s 0.1", "--report nodir/r.json"),
    ("run --runner.damping-s -1 --duration-s 0.1", "--runner.damping-s"),
    ("sim-robot --net nosuchif0 --duration-s 0.1", "--net nosuchif0"),
    ("sim-robot --events explode@1 --duration-s 0.1", "explode@1"),
    ("sim-robot --report nodir/r.json --duration-s 0.1", "--report nodir/r.json"),
    ("eval --policy text.onnx", "text.onnx: an exported ONNX model"),
    ("eval --policy missing.pt", "missing.pt"),
    ("eval --policy text.npz", "text.npz: not a readable hover checkpoint"),
    ("sim2sim --policy text.npz", "text.npz"),
    ("sim2sim --policy text.onnx", "text.onnx"),
    ("sim2sim --policy folder", "folder"),
    ("export --policy text.npz --out x.onnx", "text.npz"),
    ("compare --policies text.npz builtin:student", "text.npz"),
    ("demo --policy text.npz", "text.npz"),
    ("commands layout --robot nosuch", "'nosuch'"),
    ("bench deploy --policy text.onnx", "text.onnx"),
    ("motion info text.npz", "text.npz"),
    # command-line syntax that tyro rejects (hover.cli.usage): one line naming the option, not tyro's box
    ("eval --no-such-flag", "eval: unknown option --no-such-flag (see hover eval --help)"),
    ("eval --policy builtin:teacher --num-envs abc", "invalid value 'abc' for --num-envs"),
    ("eval --policy builtin:teacher --video-width=1.5", "value '1.5' for --video-width (expects INT)"),
    ("eval --policy", "missing value for --policy"),
    ("eval --policy builtin:teacher extra", "unexpected argument 'extra'"),
    ("train teacher --no-such-flag", "unknown option --no-such-flag"),
    ("train teacher --seed x", "invalid value 'x' for --seed"),
    ("train teacher --max-iterations", "missing value for --max-iterations"),
    ("sim2sim --solver bogus", "invalid choice 'bogus' for --solver (choose from newton, cg, pgs)"),
    ("sim2sim --solver", "missing value for --solver"),
    ("export --policy builtin:student --exporter nope", "invalid choice 'nope' for --exporter"),
    ("run --duration-s", "missing value for --duration-s"),
    ("run --duration-s soon", "invalid value 'soon' for --duration-s"),
    ("motion info good.npz --bogus=3", "motion info: unknown option --bogus"),
    ("retarget bvh --nope", "hover retarget bvh: unknown option --nope (see hover retarget bvh --help)"),
    ("commands layout --robot", "missing value for --robot"),
]


def _listing(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


@pytest.mark.parametrize(("line", "names"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line(fixtures, tmp_path, monkeypatch, capsys, line, names):
    work = tmp_path / "work"
    shutil.copytree(fixtures, work)
    monkeypatch.chdir(work)
    before = _listing(work)
    handlers = {
        s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1)
    }
    try:
        code = main(line.split())
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, f"exit {code} for `hover {line}`: {err}"
    assert len(lines) == 1, f"`hover {line}` printed {len(lines)} lines on stderr:\n{err}"
    assert "Traceback" not in err and names in lines[0], lines[0]
    assert lines[0].startswith("hover "), lines[0]
    assert _listing(work) == before, f"`hover {line}` left {sorted(_listing(work) - before)}"
    assert not any(os.scandir(work / "folder"))


def test_gains_far_from_the_robots_are_accepted_with_allow_gains(fixtures):
    from hover.deploy.onboard_runner import load_student_policy
    from hover.policy_metadata import PolicyMetadataError
    from hover.robots import get_robot

    robot = get_robot("h1")
    with pytest.raises(PolicyMetadataError, match=r"kp left_hip_yaw 2000 \(robot: 200\)"):
        load_student_policy(str(fixtures / "gains10x.onnx"), robot)
    policy = load_student_policy(str(fixtures / "gains10x.onnx"), robot, allow_gains=True)
    assert policy.kp[0] == pytest.approx(10 * robot.joints[0].kp)


@pytest.mark.parametrize("line", ["eval --help", "train teacher -h", "retarget bvh --help"])
def test_help_still_prints_the_options(capsys, line):
    with pytest.raises(SystemExit) as exit_info:
        main(line.split())
    out, err = capsys.readouterr()
    assert exit_info.value.code in (0, None) and not err.strip()
    assert out.startswith(f"usage: hover {line.rsplit(' ', 1)[0]} ") and "--" in out


def test_a_parse_failure_of_an_unknown_kind_is_still_one_line():
    from hover.cli.usage import describe

    assert describe(object()) == "invalid command line (object)"
