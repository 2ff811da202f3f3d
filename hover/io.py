"""Atomic file writes: write to a temporary file in the destination folder, then rename it into place.

A crash mid-write leaves the previous file (or none), never a truncated one. Files end up with mode
0644 (``tempfile.mkstemp`` creates them 0600).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it replaces ``path``.

    ``suffix`` lets writers that infer a format from the file name (e.g. ffmpeg) see the real one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", **kwargs: Any) -> Iterator[IO]:
    """``open(path, mode)`` that only replaces ``path`` once the block succeeded (data fsynced)."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_open(path, "w") as f:
        f.write(text)
    return Path(path)


def atomic_write_json(path: str | os.PathLike, data: Any, indent: int = 2) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=indent))


def read_npz(
    path: str | os.PathLike, error: type[Exception] = ValueError, what: str = ".npz"
) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, read with ``allow_pickle=False`` (never runs code from the file).

    A file that is not an npz (truncated, a ``.npy``, text) or that holds pickled objects raises
    ``error`` with a message naming the file: ``"<path>: not a readable <what> file (<reason>)"``.
    """
    if Path(path).is_file() and not zipfile.is_zipfile(path):
        raise error(
            f"{path}: not a readable {what} file (an .npz is a zip archive of arrays; this file is not one)"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (ValueError, OSError, EOFError, TypeError, zipfile.BadZipFile) as e:
        raise error(f"{path}: not a readable {what} file ({e})") from e
