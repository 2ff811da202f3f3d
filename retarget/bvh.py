"""A small, strict BVH (Biovision Hierarchy) reader with vectorised forward kinematics (numpy only).

What it accepts (everything real exporters write): one or more ``ROOT`` trees of ``JOINT``s and
``End Site``s; ``OFFSET`` x y z; ``CHANNELS n`` with any mix and order of ``Xposition``/``Yposition``/
``Zposition`` and ``Xrotation``/``Yrotation``/``Zrotation`` on any joint (3 or 6 per joint, or any
other count up to 3 positions + 3 rotations; the rotations in any of the 6 Tait-Bryan orders, or a
proper Euler order such as ZXZ); Windows/Unix/old-Mac line endings, tabs, a UTF-8 BOM;
``Frames:`` and ``Frame Time:`` (s) then one row of channel values per frame. Joint names are single
tokens (as the format has them). The MOTION section is read in chunks (streamed; memory is the
channel array, not the text).

What it refuses, with one line naming the file, the line and the problem (:class:`BvhError`): a bad
hierarchy (unbalanced braces, an unknown keyword, OFFSET without 3 numbers, a CHANNELS count that
does not match its names, unknown or repeated channels (other than a proper Euler order), duplicate joint names, no joints), a missing
MOTION header, a frame time <= 0, zero frames, a row whose value count differs from the hierarchy's
channel count, a truncated MOTION section (fewer rows than ``Frames:``) or extra rows, and
non-numeric or non-finite values.

Semantics (those of the common exporters and importers):
- a joint's local rotation is the product of its rotation channels in the order they are listed,
  each an elementary rotation by the value in degrees (``Zrotation Xrotation Yrotation`` =
  ``Rz @ Rx @ Ry``); this covers every Euler order;
- a joint's local translation is its OFFSET with each component given by a position channel replaced
  by that channel's value (so root positions are absolute, and the 6-channel-per-joint files that
  repeat the offsets in their position channels read correctly);
- world position of a joint = parent position + parent global rotation @ local translation; at rest
  (all channels zero, positions = offsets) every joint frame is aligned with the file's world axes.
Lengths stay in the file's unit and axes (units and up axis are decided later, :mod:`.bvh_input`).
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHANNEL_NAMES = ("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")
_CHANNEL_LOOKUP = {c.lower(): c for c in CHANNEL_NAMES}
_CHUNK_ROWS = 8192


class BvhError(ValueError):
    """A BVH file is malformed; the message names the file, where, and the problem."""


@dataclass
class BvhJoint:
    """One joint (or End Site) of the hierarchy. ``offset`` in the file's unit, parent frame."""

    name: str
    parent: int  # index into BvhSkeleton.joints, -1 for a root
    offset: np.ndarray  # [3]
    channels: tuple[str, ...] = ()
    end_site: bool = False


@dataclass
class BvhSkeleton:
    """Joints in file order (parents before children); End Sites included, flagged ``end_site``."""

    joints: list[BvhJoint]
    first_column: list[int] = field(default_factory=list)  # column of each joint's first channel

    def __post_init__(self) -> None:
        if not self.first_column:
            col = 0
            for j in self.joints:
                self.first_column.append(col)
                col += len(j.channels)

    @property
    def num_channels(self) -> int:
        return sum(len(j.channels) for j in self.joints)

    @property
    def names(self) -> list[str]:
        return [j.name for j in self.joints]

    @property
    def parents(self) -> list[int]:
        return [j.parent for j in self.joints]

    def joint_names(self) -> list[str]:
        """Names of the real joints (End Sites left out)."""
        return [j.name for j in self.joints if not j.end_site]

    def index(self, name: str) -> int:
        return self.names.index(name)

    def children(self, i: int) -> list[int]:
        return [k for k, j in enumerate(self.joints) if j.parent == i]


@dataclass
class BvhMotion:
    """A parsed BVH file: skeleton, ``values`` [T, C] channel values (degrees for rotations, file units
    for positions) and the frame time (s)."""

    path: str
    skeleton: BvhSkeleton
    frame_time: float
    values: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def fps(self) -> float:
        """Frames per second; 1 / frame time, rounded to a whole number when within 0.05 % of one
        (files write 0.008333 for 120 Hz)."""
        f = 1.0 / self.frame_time
        r = round(f)
        return float(r) if r > 0 and abs(f - r) <= 5e-4 * r else f


class _Tokens:
    """Whitespace tokens of the header with their line numbers."""

    def __init__(self, where: str):
        self.where = where
        self.items: list[tuple[str, int]] = []
        self.pos = 0

    def add_line(self, line: str, lineno: int) -> None:
        self.items.extend((t, lineno) for t in line.split())

    def next(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.items):
            last = self.items[-1][1] if self.items else 1
            raise BvhError(f"{self.where}: line {last}: hierarchy ends early, expected {what}")
        tok = self.items[self.pos]
        self.pos += 1
        return tok

    def peek(self) -> str | None:
        return self.items[self.pos][0] if self.pos < len(self.items) else None

    def expect(self, word: str) -> int:
        tok, line = self.next(repr(word))
        if tok != word:
            raise BvhError(f"{self.where}: line {line}: expected {word!r}, found {tok!r}")
        return line

    def number(self, what: str) -> float:
        tok, line = self.next(what)
        try:
            v = float(tok)
        except ValueError:
            raise BvhError(f"{self.where}: line {line}: {what} must be a number, found {tok!r}") from None
        if not math.isfinite(v):
            raise BvhError(f"{self.where}: line {line}: {what} is not finite ({tok!r})")
        return v


def _parse_joint(tok: _Tokens, joints: list[BvhJoint], parent: int, name: str, line: int, end: bool) -> None:
    """Parse one ``{ ... }`` block (the name was read by the caller)."""
    where = tok.where
    tok.expect("{")
    me = len(joints)
    joints.append(BvhJoint(name=name, parent=parent, offset=np.zeros(3), end_site=end))
    have_offset = False
    while True:
        word, wline = tok.next("'}'")
        key = word.upper()
        if word == "}":
            break
        if key == "OFFSET":
            if have_offset:
                raise BvhError(f"{where}: line {wline}: second OFFSET in {name!r}")
            joints[me].offset = np.array([tok.number(f"OFFSET {a} of {name!r}") for a in "xyz"])
            have_offset = True
        elif key == "CHANNELS":
            if end:
                raise BvhError(
                    f"{where}: line {wline}: an End Site (under {joints[parent].name!r}) cannot have CHANNELS"
                )
            if joints[me].channels:
                raise BvhError(f"{where}: line {wline}: second CHANNELS in {name!r}")
            n_tok, _ = tok.next("the channel count")
            if not n_tok.isdigit():
                raise BvhError(f"{where}: line {wline}: CHANNELS of {name!r} needs a count, found {n_tok!r}")
            n = int(n_tok)
            chans: list[str] = []
            for _ in range(n):
                c, cline = tok.next(f"{n} channel names for {name!r}")
                if c.lower() not in _CHANNEL_LOOKUP:
                    if c.upper() in ("JOINT", "END", "}", "{", "OFFSET", "CHANNELS"):
                        raise BvhError(
                            f"{where}: line {cline}: CHANNELS {n} of {name!r} lists only {len(chans)} names"
                        )
                    raise BvhError(
                        f"{where}: line {cline}: unknown channel {c!r} in {name!r} "
                        f"(expected {', '.join(CHANNEL_NAMES)})"
                    )
                chans.append(_CHANNEL_LOOKUP[c.lower()])
            rot = [c for c in chans if c.endswith("rotation")]
            pos = [c for c in chans if c.endswith("position")]
            if (
                len(set(pos)) != len(pos)
                or len(rot) > 3
                or any(a == b for a, b in zip(rot[:-1], rot[1:], strict=True))
            ):
                raise BvhError(f"{where}: line {wline}: repeated channel in {name!r}: {' '.join(chans)}")
            nxt = tok.peek()
            if nxt is not None and nxt.lower() in _CHANNEL_LOOKUP:
                raise BvhError(
                    f"{where}: line {wline}: CHANNELS {n} of {name!r} is followed by more channel names"
                )
            joints[me].channels = tuple(chans)
        elif key == "JOINT":
            if end:
                raise BvhError(f"{where}: line {wline}: an End Site cannot have child joints")
            child, cline = tok.next("a joint name")
            _parse_joint(tok, joints, me, child, cline, end=False)
        elif key == "END":
            if end:
                raise BvhError(f"{where}: line {wline}: an End Site cannot contain another End Site")
            tok.expect("Site")
            _parse_joint(tok, joints, me, f"{name}/End", wline, end=True)
        else:
            raise BvhError(
                f"{where}: line {wline}: unexpected {word!r} in {name!r} (expected OFFSET, CHANNELS, "
                "JOINT, End Site or '}')"
            )
    if not have_offset:
        raise BvhError(f"{where}: line {line}: {name!r} has no OFFSET")


def _parse_hierarchy(tok: _Tokens) -> BvhSkeleton:
    where = tok.where
    first, line = tok.next("HIERARCHY")
    if first.lstrip("\ufeff").upper() != "HIERARCHY":
        raise BvhError(f"{where}: line {line}: not a BVH file (expected HIERARCHY, found {first[:40]!r})")
    joints: list[BvhJoint] = []
    while tok.peek() is not None:
        word, wline = tok.next("ROOT")
        if word.upper() != "ROOT":
            raise BvhError(
                f"{where}: line {wline}: expected ROOT or MOTION, found {word!r} (unbalanced braces?)"
            )
        name, nline = tok.next("the root name")
        _parse_joint(tok, joints, -1, name, nline, end=False)
    if not joints:
        raise BvhError(f"{where}: no joints in the HIERARCHY")
    names = [j.name for j in joints if not j.end_site]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise BvhError(f"{where}: duplicate joint names {dup[:5]}")
    if not any(j.channels for j in joints):
        raise BvhError(f"{where}: no joint has CHANNELS")
    return BvhSkeleton(joints)


def _header_value(line: str, key: str, where: str, lineno: int) -> str:
    if not " ".join(line.split()).lower().startswith(key.lower()):
        raise BvhError(f"{where}: line {lineno}: expected '{key}' after MOTION, found {line.strip()[:40]!r}")
    return line.split(":", 1)[1].strip()


def _bad_row(lines: list[str], first_row: int, first_line: int, ncol: int, where: str) -> BvhError:
    """The error for the first malformed row in a chunk (only called when numpy refused the chunk)."""
    row = first_row
    for k, text in enumerate(lines):
        vals = text.split()
        if not vals:
            continue
        row += 1
        for v in vals:
            try:
                float(v)
            except ValueError:
                return BvhError(
                    f"{where}: line {first_line + k}: MOTION row {row} has a non-numeric value {v[:20]!r}"
                )
        if len(vals) != ncol:
            return BvhError(
                f"{where}: line {first_line + k}: MOTION row {row} has {len(vals)} values, the hierarchy "
                f"has {ncol} channels"
            )
    return BvhError(f"{where}: unreadable MOTION rows from line {first_line}")


def read_bvh(path: str | os.PathLike, max_frames: int | None = None) -> BvhMotion:
    """Read a BVH file (streamed MOTION section); raise :class:`BvhError` naming the file and the problem.

    ``max_frames``: stop after this many rows (the header's frame count is then not checked)."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise BvhError(f"{where}: no such file")
    tok = _Tokens(where)
    with open(path, encoding="utf-8", errors="replace", newline=None) as f:
        lineno = 0
        for line in f:
            lineno += 1
            if line.strip().upper() == "MOTION":
                break
            tok.add_line(line, lineno)
        else:
            if not tok.items:
                raise BvhError(f"{where}: empty file")
            skeleton = _parse_hierarchy(tok)  # report hierarchy errors first
            raise BvhError(f"{where}: no MOTION section")
        skeleton = _parse_hierarchy(tok)
        header = []
        for line in f:
            lineno += 1
            if line.strip():
                header.append((line, lineno))
            if len(header) == 2:
                break
        if len(header) < 2:
            raise BvhError(f"{where}: MOTION section lacks 'Frames:' and 'Frame Time:' lines")
        frames_text = _header_value(header[0][0], "Frames", where, header[0][1])
        time_text = _header_value(header[1][0], "Frame Time", where, header[1][1])
        try:
            n_frames = int(frames_text)
        except ValueError:
            raise BvhError(
                f"{where}: line {header[0][1]}: Frames must be a whole number, found {frames_text!r}"
            ) from None
        try:
            frame_time = float(time_text)
        except ValueError:
            raise BvhError(
                f"{where}: line {header[1][1]}: Frame Time must be a number, found {time_text!r}"
            ) from None
        if n_frames <= 0:
            raise BvhError(f"{where}: line {header[0][1]}: zero frames (Frames: {n_frames})")
        if not (math.isfinite(frame_time) and frame_time > 0):
            raise BvhError(f"{where}: line {header[1][1]}: Frame Time must be > 0, found {time_text!r}")
        ncol = skeleton.num_channels
        want = n_frames if max_frames is None else min(n_frames, max_frames)
        blocks: list[np.ndarray] = []  # grown as rows arrive: a bogus Frames count allocates nothing
        row, first_line = 0, lineno + 1
        while row < want:
            lines = list(itertools.islice(f, min(_CHUNK_ROWS, want - row)))
            if not lines:
                break
            try:
                block = np.loadtxt(lines, dtype=np.float64, ndmin=2)
            except ValueError:
                raise _bad_row(lines, row, first_line, ncol, where) from None
            if block.size and block.shape[1] != ncol:
                raise _bad_row(lines, row, first_line, ncol, where)
            k = block.shape[0]
            blocks.append(block.reshape(k, ncol))
            row += k
            first_line += len(lines)
        if row < want:
            raise BvhError(f"{where}: truncated MOTION section: Frames says {n_frames}, found {row} rows")
        if max_frames is None:
            extra = next((ln for ln in f if ln.strip()), None)
            if extra is not None:
                raise BvhError(f"{where}: MOTION has more rows than Frames: {n_frames}")
    out = np.concatenate(blocks) if blocks else np.empty((0, ncol))
    bad = ~np.isfinite(out)
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        raise BvhError(f"{where}: MOTION row {r + 1}, column {c + 1}: non-finite value")
    return BvhMotion(path=where, skeleton=skeleton, frame_time=frame_time, values=out)


def _axis_rotations(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Elementary rotation matrices [T, 3, 3] about x, y or z."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros(a.shape + (3, 3))
    i = "XYZ".index(axis)
    j, k = (i + 1) % 3, (i + 2) % 3
    m[..., i, i] = 1.0
    m[..., j, j] = c
    m[..., k, k] = c
    m[..., j, k] = -s
    m[..., k, j] = s
    return m


def local_transforms(skeleton: BvhSkeleton, values: np.ndarray, joint: int) -> tuple[np.ndarray, np.ndarray]:
    """Local rotation [T, 3, 3] and translation [T, 3] of one joint from channel values [T, C]."""
    j = skeleton.joints[joint]
    t = values.shape[0]
    trans = np.broadcast_to(j.offset, (t, 3)).copy()
    rot = None
    col = skeleton.first_column[joint]
    for k, ch in enumerate(j.channels):
        v = values[:, col + k]
        if ch.endswith("position"):
            trans[:, "XYZ".index(ch[0])] = v
        else:
            r = _axis_rotations(ch[0], v)
            rot = r if rot is None else rot @ r
    if rot is None:
        rot = np.broadcast_to(np.eye(3), (t, 3, 3))
    return rot, trans


def forward_kinematics(
    skeleton: BvhSkeleton, values: np.ndarray, keep_rotations: list[int] | None = None, chunk: int = 16384
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """World positions [T, J, 3] of every joint and End Site (file units and axes), and the global
    rotations [T, 3, 3] of the joints in ``keep_rotations``; frames processed in chunks."""
    n = values.shape[0]
    nj = len(skeleton.joints)
    keep = set(keep_rotations or [])
    pos = np.empty((n, nj, 3))
    rots = {j: np.empty((n, 3, 3)) for j in keep}
    for s in range(0, n, chunk):
        v = values[s : s + chunk]
        glob: list[np.ndarray | None] = [None] * nj
        for i, jt in enumerate(skeleton.joints):
            rot, trans = local_transforms(skeleton, v, i)
            if jt.parent < 0:
                glob[i] = rot
                pos[s : s + len(v), i] = trans
            else:
                gp = glob[jt.parent]
                assert gp is not None  # parents come first
                glob[i] = gp @ rot
                pos[s : s + len(v), i] = pos[s : s + len(v), jt.parent] + np.einsum("tij,tj->ti", gp, trans)
            if i in keep:
                rots[i][s : s + len(v)] = glob[i]
    return pos, rots


def rest_positions(skeleton: BvhSkeleton) -> np.ndarray:
    """Joint positions [J, 3] at rest (no rotation, offsets as translations), file units and axes."""
    pos = np.zeros((len(skeleton.joints), 3))
    for i, j in enumerate(skeleton.joints):
        pos[i] = j.offset + (pos[j.parent] if j.parent >= 0 else 0.0)
    return pos


def format_hierarchy(skeleton: BvhSkeleton) -> str:
    """The joint tree, one joint per line, indented by depth, with its channels (End Sites marked)."""
    depth: list[int] = []
    lines = []
    for j in skeleton.joints:
        d = 0 if j.parent < 0 else depth[j.parent] + 1
        depth.append(d)
        label = "(End Site)" if j.end_site else f"{j.name}  [{' '.join(c[0] + c[1:4] for c in j.channels)}]"
        lines.append("  " * d + label)
    return "\n".join(lines)
