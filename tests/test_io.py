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
