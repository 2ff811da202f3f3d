"""Atomic writes: a failed write keeps the old file; a successful one is world-readable."""

import json
import stat

import pytest

from hover.io import atomic_open, atomic_write_json


def test_failed_write_keeps_previous_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "report.json"
    atomic_write_json(path, {"a": 1})
    with pytest.raises(RuntimeError), atomic_open(path, "w") as f:
        f.write('{"a": 2, "trunc')
        raise RuntimeError("crash mid-write")
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_read_npz_names_the_file_for_truncated_pickled_and_foreign_files(tmp_path):
    import numpy as np

    from hover.io import read_npz

    good = tmp_path / "good.npz"
    np.savez(good, a=np.arange(3))
    assert read_npz(good)["a"].tolist() == [0, 1, 2]
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:40])
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, a=np.array([{"x": 1}], dtype=object))
    text = tmp_path / "text.npz"
    text.write_text("hello")
    for bad in (truncated, pickled, text):
        with pytest.raises(KeyError, match=f"{bad}: not a readable shape file"):
            read_npz(bad, KeyError, "shape")
