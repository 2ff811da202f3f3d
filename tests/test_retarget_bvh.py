"""BVH reading: every supported convention written by the project's own writer reads back exactly, any
channel order / Euler order / line ending, skeleton recognition and map files, and the malformed-file table
(one clear line, exit 2)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hover.cli.retarget import main
from hover.retarget.amass import HumanClip
from hover.retarget.body_model import load_synthetic_body_model
from hover.retarget.bvh import BvhError, BvhJoint, BvhSkeleton, forward_kinematics, read_bvh
from hover.retarget.bvh_export import STYLES, write_style_bvh
from hover.retarget.bvh_input import BvhInputError, BvhOptions, load_bvh_clip
from hover.retarget.bvh_writer import write_bvh
from hover.retarget.human_skeletons import SkeletonError, load_skeleton_map, normalised_names, recognise
from hover.retarget.keypoints import UNITS
from hover.retarget.pipeline import builtin_human_clips


def _short(clip: HumanClip, seconds: float) -> HumanClip:
    n = int(seconds * clip.fps) + 1
    return replace(clip, pose_aa=clip.pose_aa[:n], trans=clip.trans[:n])


@pytest.fixture(scope="module")
def rest():
    return load_synthetic_body_model().rest_joints(torch.zeros(1, 10, dtype=torch.float64))[0]


@pytest.fixture(scope="module")
def walk():
    return _short(builtin_human_clips(kinds=("walk",))[1], 2.0)  # walk_forward_short, 2 s


# (unit, up, fps, rest is an upright stance) each style must be read back with
EXPECTED = {
    "cmu": ("cmu", "y", 120.0, True),
    "lafan1": ("cm", "y", 30.0, False),
    "bandai_namco": ("cm", "y", 30.0, True),
    "mixamo": ("cm", "y", 30.0, True),
    "rigify": ("m", "z", 24.0, True),
    "humanik": ("cm", "y", 60.0, True),
    "smpl": ("m", "z", 100.0, True),
}


@pytest.mark.parametrize("style", list(STYLES))
def test_each_convention_reads_back_exactly_and_is_recognised(tmp_path, rest, walk, style):
    path = tmp_path / f"{style}.bvh"
    enc = write_style_bvh(path, walk, rest, style)
    motion = read_bvh(path)
    assert motion.num_frames == enc.clip.num_frames and motion.fps == STYLES[style].fps
    pos, _ = forward_kinematics(motion.skeleton, motion.values)
    # every joint and End Site where the SMPL clip puts it (6 decimals in the file: < 1e-5 file units)
    np.testing.assert_allclose(pos, enc.positions, atol=1e-5)
    clip, info = load_bvh_clip(path)
    unit, up, fps, stance = EXPECTED[style]
    assert (info.convention, info.unit, info.up, info.fps, info.rest_is_stance) == (
        style,
        unit,
        up,
        fps,
        stance,
    )
    assert info.metres_per_unit == UNITS[unit]
    assert 1.45 < info.height_m < 1.55  # the synthetic adult's keypoint height, in metres whatever the unit
    if style == "cmu":
        assert len(motion.skeleton.joint_names()) == 31
    if style in ("lafan1", "bandai_namco"):
        assert len(motion.skeleton.joint_names()) == 22
    if style == "bandai_namco":
        assert all(len(j.channels) == 6 for j in motion.skeleton.joints if not j.end_site)
    # world z up, metres: the ankles stay below the hips and the clip's first frame stands on the floor
    assert (clip.point("L_Ankle")[:, 2] < clip.point("L_Hip")[:, 2] - 0.5).all()


def _random_skeleton(rng: np.random.Generator) -> tuple[BvhSkeleton, np.ndarray]:
    """A chain skeleton whose joints use every Euler order (also a proper-Euler ZXZ), 3 or 6 channels,
    positions before or after rotations, and random values."""
    orders = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX", "ZXZ"]
    joints = [
        BvhJoint(
            "root",
            -1,
            np.array([0.1, 0.9, -0.2]),
            ("Zposition", "Xposition", "Yposition", "Yrotation", "Xrotation", "Zrotation"),
        )
    ]
    for k, order in enumerate(orders):
        rot = tuple(f"{a}rotation" for a in order)
        pos = ("Xposition", "Yposition", "Zposition")
        chans = rot if k % 3 else (rot + pos if k % 2 else pos + rot)
        joints.append(BvhJoint(f"j{k}", k, rng.uniform(-0.3, 0.3, 3), chans))
    joints.append(BvhJoint("j6/End", len(joints) - 1, np.array([0.0, 0.1, 0.0]), (), end_site=True))
    sk = BvhSkeleton(joints)
    values = rng.uniform(-180, 180, (40, sk.num_channels))
    for j, col in zip(sk.joints, sk.first_column, strict=True):
        for c, ch in enumerate(j.channels):
            if ch.endswith("position"):
                values[:, col + c] = rng.uniform(-1, 1, 40)
    return sk, values


def _scipy_fk(sk: BvhSkeleton, values: np.ndarray) -> np.ndarray:
    """World positions with scipy's intrinsic Euler rotations (an independent implementation)."""
    glob, pos = [], []
    for j, col in zip(sk.joints, sk.first_column, strict=True):
        trans = np.tile(j.offset, (len(values), 1))
        order = "".join(c[0] for c in j.channels if c.endswith("rotation"))
        angles = [values[:, col + c] for c, ch in enumerate(j.channels) if ch.endswith("rotation")]
        for c, ch in enumerate(j.channels):
            if ch.endswith("position"):
                trans[:, "XYZ".index(ch[0])] = values[:, col + c]
        r = (
            Rotation.from_euler(order, np.stack(angles, 1), degrees=True)
            if order
            else Rotation.identity(len(values))
        )
        if j.parent < 0:
            glob.append(r)
            pos.append(trans)
        else:
            glob.append(glob[j.parent] * r)
            pos.append(pos[j.parent] + glob[j.parent].apply(trans))
    return np.stack(pos, 1)


@pytest.mark.parametrize("newline, indent", [("\n", "\t"), ("\r\n", "  "), ("\r", "\t \t")])
def test_channel_orders_euler_orders_line_endings(tmp_path, newline, indent):
    sk, values = _random_skeleton(np.random.default_rng(3))
    path = tmp_path / "chain.bvh"
    write_bvh(path, sk, values, 1 / 57.0, newline=newline, indent=indent, precision=9)
    motion = read_bvh(path)
    assert [j.channels for j in motion.skeleton.joints] == [j.channels for j in sk.joints]
    assert motion.fps == pytest.approx(57.0, rel=1e-6)
    np.testing.assert_allclose(motion.values, values, atol=1e-8)
    pos, _ = forward_kinematics(motion.skeleton, motion.values)
    np.testing.assert_allclose(pos, _scipy_fk(sk, values), atol=1e-7)
    # a UTF-8 byte order mark and tabs between values change nothing
    text = path.read_bytes().decode()
    (tmp_path / "bom.bvh").write_bytes(("\ufeff" + text.replace(" ", "\t")).encode())
    np.testing.assert_allclose(read_bvh(tmp_path / "bom.bvh").values, values, atol=1e-8)


def test_long_file_is_streamed_in_chunks_and_fast(tmp_path, rest, monkeypatch):
    import time

    import hover.retarget.bvh as bvh_mod

    clip = builtin_human_clips(kinds=("walk",))[0]  # walk_forward, 8 s
    enc = write_style_bvh(tmp_path / "long.bvh", clip, rest, "cmu")  # 961 frames at 120 fps
    t0 = time.perf_counter()
    motion = read_bvh(tmp_path / "long.bvh")
    forward_kinematics(motion.skeleton, motion.values)
    assert motion.num_frames / (time.perf_counter() - t0) > 1000  # measured ~50k frames/s on 2 busy cores
    monkeypatch.setattr(bvh_mod, "_CHUNK_ROWS", 7)  # many chunk boundaries
    np.testing.assert_array_equal(read_bvh(tmp_path / "long.bvh").values, motion.values)
    assert read_bvh(tmp_path / "long.bvh", max_frames=20).num_frames == 20
    assert enc.positions.shape[0] == 961


def test_recognition_by_names():
    assert recognise(["DEF-spine", "DEF-thigh.L", "DEF-shin.L", "DEF-foot.L", "DEF-thigh.R", "DEF-shin.R", "DEF-foot.R",
                      "DEF-upper_arm.L", "DEF-forearm.L", "DEF-hand.L", "DEF-upper_arm.R", "DEF-forearm.R",
                      "DEF-hand.R", "DEF-spine.006", "root"]).convention == "rigify"  # fmt: skip
    smplx = ["pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_shoulder",
             "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "head"]  # fmt: skip
    m = recognise(smplx)
    assert m.convention == "smpl" and m.joints["L_Hand"] == "left_wrist" and "L_Foot" not in m.joints
    hik = ["Hips", "LeftUpLeg", "LeftLeg", "LeftFoot", "RightUpLeg", "RightLeg", "RightFoot", "Spine", "Neck", "Head",
           "LeftArm", "LeftForeArm", "LeftHand", "RightArm", "RightForeArm", "RightHand"]  # fmt: skip
    assert recognise(hik).convention == "humanik"
    assert recognise([f"mixamorig1:{n}" for n in hik]).convention == "mixamo"
    assert recognise([f"Character1_{n}" for n in hik]).convention == "humanik"
    assert normalised_names(["Character1_Hips", "Character1_LeftUpLeg"]) == {
        "hips": "Character1_Hips",
        "leftupleg": "Character1_LeftUpLeg",
    }
    assert recognise(["root", "thigh_left", "thigh_right"]) is None
    assert recognise(hik[:-1]) is None  # no right hand: not usable


def test_map_file_maps_any_skeleton_and_refuses_names_the_file_lacks(tmp_path, rest, walk, capsys):
    path = tmp_path / "cmu.bvh"
    write_style_bvh(path, walk, rest, "cmu")
    text = path.read_text()
    renamed = {"Hips": "root_hips", "LeftUpLeg": "thigh_l", "RightUpLeg": "thigh_r", "LeftLeg": "calf_l",
               "RightLeg": "calf_r", "LeftFoot": "ankle_l", "RightFoot": "ankle_r", "LeftArm": "upperarm_l",
               "RightArm": "upperarm_r", "LeftForeArm": "lowerarm_l", "RightForeArm": "lowerarm_r",
               "LeftHand": "wrist_l", "RightHand": "wrist_r", "Head": "skull", "LeftToeBase": "ball_l",
               "RightToeBase": "ball_r", "LHipJoint": "pelvis_l", "RHipJoint": "pelvis_r", "LowerBack": "spine_a",
               "Neck1": "neck_b", "LThumb": "thumb_l", "RThumb": "thumb_r", "LeftFingerBase": "fingers_l",
               "RightFingerBase": "fingers_r"}  # fmt: skip
    for a, b in renamed.items():
        text = text.replace(f" {a}\n", f" {b}\n")
    odd = tmp_path / "odd.bvh"
    odd.write_text(text)
    with pytest.raises(BvhInputError, match="unrecognised skeleton"):
        load_bvh_clip(odd)
    kp = {"Pelvis": "root_hips", "L_Hip": "thigh_l", "R_Hip": "thigh_r", "L_Knee": "calf_l", "R_Knee": "calf_r",
          "L_Ankle": "ankle_l", "R_Ankle": "ankle_r", "L_Shoulder": "upperarm_l", "R_Shoulder": "upperarm_r",
          "L_Elbow": "lowerarm_l", "R_Elbow": "lowerarm_r", "L_Hand": "wrist_l", "R_Hand": "wrist_r", "Head": "skull",
          "L_Foot": "ball_l", "R_Foot": "ball_r"}  # fmt: skip
    mp = tmp_path / "map.json"
    mp.write_text(json.dumps({"name": "renamed CMU", "keypoints": kp}))
    mapped, info = load_bvh_clip(odd, BvhOptions(skeleton=str(mp)))
    ref, _ = load_bvh_clip(path)
    assert info.convention == "map:map.json" and info.unit == "cmu"  # detected from the height alone
    np.testing.assert_allclose(mapped.points, ref.points, atol=1e-9)
    np.testing.assert_allclose(mapped.frames, ref.frames, atol=1e-9)
    # refused: a joint the file lacks, a missing keypoint, an unknown keypoint, not JSON
    names = read_bvh(odd).skeleton.joint_names()
    for bad, msg in (
        ({**kp, "Head": "head_top"}, r"joints \['head_top'\] are not in"),
        ({k: v for k, v in kp.items() if k != "R_Hand"}, r"missing keypoints \['R_Hand'\]"),
        ({**kp, "L_Eye": "skull"}, r"unknown keypoints \['L_Eye'\]"),
    ):
        mp.write_text(json.dumps({"keypoints": bad}))
        with pytest.raises(SkeletonError, match=msg):
            load_skeleton_map(mp, names, str(odd))
    mp.write_text("{not json")
    assert main(["bvh", str(odd), "--skeleton", str(mp), "--out", str(tmp_path / "o")], "hover retarget") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable JSON skeleton map" in err[0]


@pytest.mark.parametrize("unit, up", [("mm", "-y"), ("inch", "x"), ("m", "-z")])
def test_units_and_up_axes_are_detected_and_overridable(tmp_path, rest, walk, unit, up):
    style = replace(STYLES["humanik"], unit=unit, up=up)
    path = tmp_path / "x.bvh"
    write_style_bvh(path, walk, rest, style)
    clip, info = load_bvh_clip(path)
    assert (info.unit, info.up) == (unit, up)
    ref, _ = load_bvh_clip(tmp_path / "x.bvh", BvhOptions(units=unit, up=up))
    np.testing.assert_allclose(clip.points, ref.points)
    # the same motion as the Y-up cm file, in metres and world z up
    base = tmp_path / "base.bvh"
    write_style_bvh(base, walk, rest, "humanik")
    np.testing.assert_allclose(clip.points, load_bvh_clip(base)[0].points, atol=2e-5)
    with pytest.raises(BvhInputError, match="up"):
        load_bvh_clip(path, BvhOptions(up="sideways"))


def _base_text(tmp_path, rest, walk) -> str:
    path = tmp_path / "base.bvh"
    write_style_bvh(path, _short(walk, 0.5), rest, "smpl")
    return path.read_text()


def _rows(text: str) -> tuple[str, list[str]]:
    head, motion = text.split("Frame Time:", 1)
    lines = motion.split("\n")
    return head + "Frame Time:" + lines[0], [ln for ln in lines[1:] if ln]


def _mutate(text: str, case: str) -> str | bytes:
    head, rows = _rows(text)
    hier = text[: text.index("MOTION")]
    if case == "missing closing brace":
        return hier[: hier.rindex("}")] + text[text.index("MOTION") :]
    if case == "extra closing brace":
        return hier + "}\n" + text[text.index("MOTION") :]
    if case == "unknown keyword":
        return text.replace("OFFSET", "OFSET", 2).replace("OFSET", "OFFSET", 1)
    if case == "OFFSET with two numbers":
        i = text.index("OFFSET", text.index("JOINT"))
        j = text.index("\n", i)
        return text[:i] + "OFFSET 0.1 0.2" + text[j:]
    if case == "CHANNELS count larger than its names":
        return text.replace("CHANNELS 3 Yrotation Zrotation Xrotation", "CHANNELS 3 Yrotation Zrotation", 1)
    if case == "CHANNELS count smaller than its names":
        return text.replace(
            "CHANNELS 3 Yrotation Zrotation Xrotation", "CHANNELS 2 Yrotation Zrotation Xrotation", 1
        )
    if case == "unknown channel":
        return text.replace("Zrotation", "Wrotation", 1)
    if case == "duplicate joint names":
        return text.replace("JOINT R_Hip", "JOINT L_Hip", 1)
    if case == "End Site with CHANNELS":
        i = text.index("End Site")
        j = text.index("OFFSET", i)
        k = text.index("\n", j)
        return text[: k + 1] + "CHANNELS 3 Zrotation Xrotation Yrotation\n" + text[k + 1 :]
    if case == "row with a value missing":
        rows[3] = rows[3].rsplit(" ", 1)[0]
    elif case == "row with an extra value":
        rows[3] = rows[3] + " 1.0"
    elif case == "truncated MOTION (rows missing)":
        rows = rows[:-3]
    elif case == "truncated MOTION (last row cut)":
        rows[-1] = rows[-1][: len(rows[-1]) // 2]
    elif case == "more rows than Frames":
        rows = rows + rows[-1:]
    elif case == "non-numeric value":
        rows[2] = rows[2].replace(rows[2].split()[4], "abc", 1)
    elif case == "malformed number":
        rows[2] = rows[2].replace(rows[2].split()[4], "1.2.3", 1)
    elif case == "non-finite value":
        rows[5] = rows[5].replace(rows[5].split()[0], "nan", 1)
    elif case == "zero frames":
        return (
            head.replace(head[head.index("Frames:") : head.index("\n", head.index("Frames:"))], "Frames: 0")
            + "\n"
        )
    elif case == "Frame Time zero":
        return text.replace(
            text[text.index("Frame Time:") : text.index("\n", text.index("Frame Time:"))], "Frame Time: 0"
        )
    elif case == "no MOTION section":
        return hier
    elif case == "empty file":
        return ""
    elif case == "not a BVH file":
        return b"\x89PNG\r\n\x1a\n\x00\x00binary"
    elif case == "unrecognised skeleton":
        for n in ("L_Hip", "R_Hip", "L_Knee", "R_Knee"):
            text = text.replace(f"JOINT {n}\n", f"JOINT leg_{n[0]}{n[2:]}\n")
        return text
    return head + "\n" + "\n".join(rows) + "\n"


MALFORMED = {
    "missing closing brace": "hierarchy ends early", "extra closing brace": "unbalanced braces",
    "unknown keyword": "unexpected 'OFSET'", "OFFSET with two numbers": "must be a number, found 'CHANNELS'",
    "CHANNELS count larger than its names": "lists only 2 names",
    "CHANNELS count smaller than its names": "followed by more channel names",
    "unknown channel": "unknown channel 'Wrotation'", "duplicate joint names": "duplicate joint names ['L_Hip']",
    "End Site with CHANNELS": "End Site", "row with a value missing": "MOTION row 4 has 74 values, the hierarchy has 75",
    "row with an extra value": "MOTION row 4 has 76 values", "truncated MOTION (rows missing)": "truncated MOTION",
    "truncated MOTION (last row cut)": "values, the hierarchy has 75 channels",
    "more rows than Frames": "more rows than Frames", "non-numeric value": "non-numeric value 'abc'",
    "malformed number": "non-numeric value '1.2.3'", "non-finite value": "row 6, column 1: non-finite",
    "zero frames": "zero frames", "Frame Time zero": "Frame Time must be > 0", "no MOTION section": "no MOTION section",
    "empty file": "empty file", "not a BVH file": "not a BVH file", "unrecognised skeleton": "unrecognised skeleton",
}  # fmt: skip


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_files_one_line_exit_2(tmp_path, rest, walk, capsys, case):
    bad = _mutate(_base_text(tmp_path, rest, walk), case)
    path = tmp_path / "bad.bvh"
    path.write_bytes(bad if isinstance(bad, bytes) else bad.encode())
    rc = main(["bvh", str(path), "--out", str(tmp_path / "out"), "--quiet"], "hover retarget")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1, err
    assert err[0].startswith(f"hover retarget bvh: {path}") and MALFORMED[case] in err[0], err[0]
    assert not (tmp_path / "out").exists()
    if case != "unrecognised skeleton":
        with pytest.raises(BvhError):
            read_bvh(path)


def test_swapped_sides_are_refused(tmp_path, rest, walk, capsys):
    """Left and right joint names swapped (or a mirrored file): the toes point backwards relative to
    left hip x up; refused with one line rather than retargeted into a twisted robot."""
    path = tmp_path / "cmu.bvh"
    write_style_bvh(path, walk, rest, "cmu")
    text = path.read_text()
    for a, b in (("Left", "Right"), ("LHip", "RHip"), ("LThumb", "RThumb")):
        text = text.replace(a, "@").replace(b, a).replace("@", b)
    path.write_text(text)
    assert main(["bvh", str(path), "--out", str(tmp_path / "o")], "hover retarget") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "left and right look swapped" in err[0]
