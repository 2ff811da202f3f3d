"""Human skeleton conventions: which joint of a BVH (or joint-position) skeleton is which fit keypoint.

The fit (:mod:`.keypoint_fit`) needs the human keypoints of the robot body pairs
(``RobotSpec.retarget_pairs``, named with SMPL joint names) and optionally the toes:

=============  ==================================================  ========
keypoint       joint                                               needed
=============  ==================================================  ========
Pelvis         pelvis / hips (its rotation orients the robot root)  yes
L_Hip R_Hip    hip joints (top of the thighs)                      yes
L_Knee R_Knee  knees                                               yes
L_Ankle R_Ankle ankles                                             yes
L_Shoulder R_Shoulder  shoulder joints (top of the upper arms)     yes
L_Elbow R_Elbow  elbows                                            yes
L_Hand R_Hand  wrists (or hand joints)                             yes
Head           head (any head joint)                               yes
L_Foot R_Foot  toes (ball of the foot): foot contacts, foot pitch  optional
=============  ==================================================  ========

Recognised conventions (by joint names; a namespace such as ``mixamorig:``, a prefix common to all
joints such as ``Character1_``, and Blender's ``DEF-``/``ORG-`` are ignored; case does not matter):
``cmu`` (CMU mocap BVH, 31 joints), ``lafan1`` (Ubisoft LAFAN1, 22 joints), ``bandai_namco``
(Bandai-Namco research sets, 22 joints), ``mixamo``, ``rigify`` (Blender ``thigh.L``),
``humanik`` (MotionBuilder/HumanIK ``LeftUpLeg``, also Maya HIK), ``smpl`` (SMPL / SMPL-X joint names).

Any other skeleton: a JSON map file (``--skeleton map.json``)::

    {"name": "my studio rig",                      (optional label)
     "keypoints": {"Pelvis": "root_hips", "L_Hip": "thigh_left", ..., "Head": "head",
                   "L_Foot": "toe_left", "R_Foot": "toe_right"}}   (toes optional)

Every required keypoint must be given, names are the file's joint names exactly, and every named
joint must exist in the file (the map is refused otherwise).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

#: the human keypoints a robot's ``retarget_pairs`` may name (SMPL joint names), all required in a skeleton
REQUIRED_KEYPOINTS: tuple[str, ...] = (
    "Pelvis", "L_Hip", "L_Knee", "L_Ankle", "R_Hip", "R_Knee", "R_Ankle",
    "L_Shoulder", "L_Elbow", "L_Hand", "R_Shoulder", "R_Elbow", "R_Hand", "Head",
)  # fmt: skip
OPTIONAL_KEYPOINTS: tuple[str, ...] = ("L_Foot", "R_Foot")
KEYPOINTS: tuple[str, ...] = REQUIRED_KEYPOINTS + OPTIONAL_KEYPOINTS


class SkeletonError(ValueError):
    """A skeleton is not recognised or a map file is unusable; the message says what to do."""


@dataclass(frozen=True)
class Convention:
    name: str
    description: str
    keypoints: dict[str, tuple[str, ...]]  # keypoint -> candidate joint names (normalised), first found wins
    signature: tuple[tuple[str, ...], ...]  # recognised when all names of any one tuple are present


def _sided(left: dict[str, tuple[str, ...]], flip: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, ...]]:
    """Add the right side by replacing each (left, right) substring pair in the left names."""
    out = dict(left)
    for kp, names in left.items():
        if not kp.startswith("L_"):
            continue
        right = []
        for n in names:
            for a, b in flip:
                if a in n:
                    n = n.replace(a, b)
                    break
            right.append(n)
        out["R_" + kp[2:]] = tuple(right)
    return out


_HUMANIK_LEFT = {
    "Pelvis": ("hips", "pelvis"),
    "L_Hip": ("leftupleg", "leftthigh"),
    "L_Knee": ("leftleg", "leftshin"),
    "L_Ankle": ("leftfoot",),
    "L_Foot": ("lefttoebase", "lefttoe", "lefttoes"),
    "L_Shoulder": ("leftarm",),
    "L_Elbow": ("leftforearm",),
    "L_Hand": ("lefthand",),
    "Head": ("head",),
}
_HUMANIK = _sided(_HUMANIK_LEFT, (("left", "right"),))

CONVENTIONS: tuple[Convention, ...] = (
    Convention("mixamo", "Adobe Mixamo (mixamorig: names, 52-65 joints, usually cm, Y-up)", _HUMANIK,
               (("@mixamorig",),)),
    Convention("cmu", "CMU motion capture BVH (31 joints, 120 fps, ASF length units, Y-up)", _HUMANIK,
               (("lhipjoint", "rhipjoint"), ("lowerback", "neck1"), ("lthumb", "rthumb"))),
    Convention("lafan1", "Ubisoft LAFAN1 (22 joints, 30 fps, cm, Y-up)", _HUMANIK, (("lefttoe", "righttoe"),)),
    Convention("bandai_namco", "Bandai-Namco research motion sets (22 joints, 6 channels per joint, cm, Y-up)",
               _sided({"Pelvis": ("hips",), "L_Hip": ("upperleg_l",), "L_Knee": ("lowerleg_l",),
                       "L_Ankle": ("foot_l",), "L_Foot": ("toes_l", "toe_l"), "L_Shoulder": ("upperarm_l",),
                       "L_Elbow": ("lowerarm_l",), "L_Hand": ("hand_l",), "Head": ("head",)}, (("_l", "_r"),)),
               (("upperleg_l", "lowerleg_l"),)),
    Convention("rigify", "Blender rigify / metarig (thigh.L, DEF- bones, m, Z-up)",
               _sided({"Pelvis": ("spine", "hips", "pelvis"), "L_Hip": ("thigh.l",), "L_Knee": ("shin.l",),
                       "L_Ankle": ("foot.l",), "L_Foot": ("toe.l",), "L_Shoulder": ("upper_arm.l",),
                       "L_Elbow": ("forearm.l",), "L_Hand": ("hand.l",), "Head": ("spine.006", "head")},
                      ((".l", ".r"),)),
               (("thigh.l", "shin.l"),)),
    Convention("smpl", "SMPL / SMPL-X joint names (Pelvis, L_Hip or left_hip, ...)",
               _sided({"Pelvis": ("pelvis",), "L_Hip": ("l_hip", "left_hip"), "L_Knee": ("l_knee", "left_knee"),
                       "L_Ankle": ("l_ankle", "left_ankle"), "L_Foot": ("l_foot", "left_foot"),
                       "L_Shoulder": ("l_shoulder", "left_shoulder"), "L_Elbow": ("l_elbow", "left_elbow"),
                       "L_Hand": ("l_hand", "l_wrist", "left_wrist", "left_hand"), "Head": ("head",)},
                      (("l_", "r_"), ("left", "right"))),
               (("l_hip", "l_knee"), ("left_hip", "left_knee"))),
    Convention("humanik", "MotionBuilder / HumanIK / Maya HIK (LeftUpLeg, LeftForeArm, ...)", _HUMANIK,
               (("leftupleg", "leftleg", "leftforearm"),)),
)  # fmt: skip
CONVENTION_NAMES: tuple[str, ...] = tuple(c.name for c in CONVENTIONS)


@dataclass
class SkeletonMap:
    """Keypoint -> the file's joint name (raw, as in the file); optional keypoints may be absent."""

    convention: str  # a convention name, or "map:<file>"
    joints: dict[str, str]

    def describe(self) -> str:
        return ", ".join(f"{k}={self.joints[k]}" for k in KEYPOINTS if k in self.joints)


def _common_prefix(names: list[str]) -> str:
    """A prefix shared by all names that ends in ':', '_', ' ' or '|' (e.g. 'Character1_')."""
    if len(names) < 2:
        return ""
    p = os.path.commonprefix(names)
    cut = max(p.rfind(c) for c in ":_ |")
    return p[: cut + 1] if cut >= 0 else ""


def normalised_names(names: list[str]) -> dict[str, str]:
    """Normalised name -> raw name: namespaces ('mixamorig:'), a prefix common to all joints, Blender's
    DEF-/ORG-/MCH- and case removed."""
    stripped = [n.rsplit(":", 1)[-1].rsplit("|", 1)[-1] for n in names]
    prefix = _common_prefix(stripped)
    out: dict[str, str] = {}
    for raw, s in zip(names, stripped, strict=True):
        s = s[len(prefix) :]
        for tag in ("DEF-", "ORG-", "MCH-"):
            if s.startswith(tag):
                s = s[len(tag) :]
        out.setdefault(s.lower(), raw)
    return out


def _resolve(conv: Convention, norm: dict[str, str]) -> dict[str, str] | None:
    joints = {}
    for kp in KEYPOINTS:
        found = next((norm[c] for c in conv.keypoints.get(kp, ()) if c in norm), None)
        if found is None:
            if kp in REQUIRED_KEYPOINTS:
                return None
            continue
        joints[kp] = found
    return joints


def _signature_ok(conv: Convention, norm: dict[str, str], raw: list[str]) -> bool:
    for group in conv.signature:
        if group == ("@mixamorig",):
            if any("mixamorig" in n.lower() for n in raw):
                return True
        elif all(g in norm for g in group):
            return True
    return False


def recognise(names: list[str]) -> SkeletonMap | None:
    """The first convention whose signature and required keypoints match the joint ``names``, else None."""
    norm = normalised_names(names)
    for conv in CONVENTIONS:
        if _signature_ok(conv, norm, names):
            joints = _resolve(conv, norm)
            if joints is not None:
                return SkeletonMap(conv.name, joints)
    return None


def load_skeleton_map(path: str | os.PathLike, names: list[str], where: str) -> SkeletonMap:
    """Read a JSON map file and check it against the joint ``names`` of the file ``where``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SkeletonError(f"{path}: no such skeleton map file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SkeletonError(f"{path}: not a readable JSON skeleton map ({e})") from None
    kps = data.get("keypoints") if isinstance(data, dict) else None
    if not isinstance(kps, dict) or not all(isinstance(v, str) for v in kps.values()):
        raise SkeletonError(f'{path}: expected {{"keypoints": {{"Pelvis": "<joint name>", ...}}}}')
    unknown = sorted(set(kps) - set(KEYPOINTS))
    if unknown:
        raise SkeletonError(f"{path}: unknown keypoints {unknown}; known: {', '.join(KEYPOINTS)}")
    missing = [k for k in REQUIRED_KEYPOINTS if k not in kps]
    if missing:
        raise SkeletonError(f"{path}: missing keypoints {missing}")
    absent = sorted({v for v in kps.values() if v not in set(names)})
    if absent:
        raise SkeletonError(f"{path}: joints {absent} are not in {where}")
    return SkeletonMap(f"map:{path.name}", dict(kps))


def resolve_skeleton(names: list[str], skeleton: str, where: str) -> SkeletonMap:
    """``skeleton``: "auto" (recognise by names), a convention name, or a JSON map file path."""
    if skeleton == "auto":
        found = recognise(names)
        if found is None:
            shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
            raise SkeletonError(
                f"{where}: unrecognised skeleton ({len(names)} joints: {shown}); pass "
                "--skeleton map.json (see docs/retarget_bvh.md) or a convention name "
                f"({', '.join(CONVENTION_NAMES)})"
            )
        return found
    if skeleton in CONVENTION_NAMES:
        conv = next(c for c in CONVENTIONS if c.name == skeleton)
        joints = _resolve(conv, normalised_names(names))
        if joints is None:
            norm = normalised_names(names)
            lack = [k for k in REQUIRED_KEYPOINTS if not any(c in norm for c in conv.keypoints.get(k, ()))]
            raise SkeletonError(f"{where}: not a {skeleton} skeleton (no joint for {lack})")
        return SkeletonMap(conv.name, joints)
    if skeleton.endswith(".json") or Path(skeleton).is_file():
        return load_skeleton_map(skeleton, names, where)
    raise SkeletonError(
        f"--skeleton {skeleton!r}: expected auto, a convention ({', '.join(CONVENTION_NAMES)}) "
        "or a .json map file"
    )
