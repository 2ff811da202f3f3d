"""The BVH conventions that SMPL-skeleton human clips are written in (:mod:`.bvh_export` writes them).

Each :class:`BvhStyle` reproduces what files of one convention look like: joint names and hierarchy
(extra joints such as CMU's ``LHipJoint``, HumanIK's roll joints, Mixamo's fingers, Bandai-Namco's
floor-level ``joint_Root``), length unit, up axis, channel orders (every Euler order occurs across the
styles, position channels before or after rotations), 3 or 6 channels per joint, frame rate, line
endings and indentation, and the rest pose (a T-pose, or LAFAN1-like bones along their local x axis).
Each joint is a :class:`Spec`: where it sits relative to the SMPL joints (at one, between two, rigidly
off one, or on the floor) and which SMPL joints are folded into it. Offsets: metres, SMPL body frame
(y up, facing +z).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hover.retarget.skeleton import SMPL_JOINT_NAMES, SMPL_PARENTS


@dataclass(frozen=True)
class Spec:
    """One BVH joint: placed at an SMPL joint (``at``), between two (``between=(a, b, f)``), or rigidly
    ``leaf`` metres (SMPL body frame) off one; ``floor``: under the pelvis on the floor, world-aligned."""

    name: str
    parent: str | None
    at: str = ""
    between: tuple[str, str, float] | None = None
    leaf: tuple[str, tuple[float, float, float]] | None = None
    floor: bool = False
    fold: tuple[str, ...] = ()  # SMPL joints (a single-child chain below ``at``) folded into this joint
    end: tuple[float, float, float] | None = None  # End Site offset (m, SMPL body frame)
    channels: tuple[str, ...] | None = None  # default: the style's root / joint channels


@dataclass(frozen=True)
class BvhStyle:
    name: str
    joints: tuple[Spec, ...]
    unit: str = "cm"
    up: str = "y"
    fps: float = 30.0
    root_channels: tuple[str, ...] = (
        "Xposition",
        "Yposition",
        "Zposition",
        "Zrotation",
        "Yrotation",
        "Xrotation",
    )
    joint_channels: tuple[str, ...] = ("Zrotation", "Yrotation", "Xrotation")
    rest: str = "tpose"  # or "bone_x": every joint frame turned so its first child lies along local +x
    newline: str = "\n"
    indent: str = "\t"
    prefix: str = ""  # prepended to every joint name
    notes: str = ""
    extra: dict = field(default_factory=dict)


def _pos(order: str) -> tuple[str, ...]:
    return tuple(f"{a}position" for a in order)


def _rot(order: str) -> tuple[str, ...]:
    return tuple(f"{a}rotation" for a in order)


_TOE_END = (0.0, 0.0, 0.05)
_HEAD_END = (0.0, 0.15, 0.0)


def _hand_end(side: str) -> tuple[float, float, float]:
    return (0.06 if side == "L" else -0.06, 0.0, 0.0)


def _cmu() -> tuple[Spec, ...]:
    j = [Spec("Hips", None, "Pelvis")]
    for s, n in (("L", "Left"), ("R", "Right")):
        j += [
            Spec(f"{s}HipJoint", "Hips", between=("Pelvis", f"{s}_Hip", 0.5)),
            Spec(f"{n}UpLeg", f"{s}HipJoint", f"{s}_Hip"),
            Spec(f"{n}Leg", f"{n}UpLeg", f"{s}_Knee"),
            Spec(f"{n}Foot", f"{n}Leg", f"{s}_Ankle"),
            Spec(f"{n}ToeBase", f"{n}Foot", f"{s}_Foot", end=_TOE_END),
        ]
    j += [
        Spec("LowerBack", "Hips", "Spine1"),
        Spec("Spine", "LowerBack", "Spine2"),
        Spec("Spine1", "Spine", "Spine3"),
        Spec("Neck", "Spine1", "Neck"),
        Spec("Neck1", "Neck", between=("Neck", "Head", 0.5)),
        Spec("Head", "Neck1", "Head", end=_HEAD_END),
    ]
    for s, n in (("L", "Left"), ("R", "Right")):
        x = 1.0 if s == "L" else -1.0
        j += [
            Spec(f"{n}Shoulder", "Spine1", f"{s}_Collar"),
            Spec(f"{n}Arm", f"{n}Shoulder", f"{s}_Shoulder"),
            Spec(f"{n}ForeArm", f"{n}Arm", f"{s}_Elbow"),
            Spec(f"{n}Hand", f"{n}ForeArm", f"{s}_Wrist"),
            Spec(f"{n}FingerBase", f"{n}Hand", f"{s}_Hand"),
            Spec(
                f"{n}HandIndex1",
                f"{n}FingerBase",
                leaf=(f"{s}_Hand", (0.03 * x, 0.0, 0.0)),
                end=(0.02 * x, 0, 0),
            ),
            Spec(f"{s}Thumb", f"{n}Hand", leaf=(f"{s}_Wrist", (0.02 * x, -0.01, 0.03)), end=(0.0, 0.0, 0.03)),
        ]
    return tuple(j)


def _humanik_like(spine: tuple[str, ...], toe: str, hand_children: bool, rolls: bool) -> list[Spec]:
    """Hips, legs, spine joints named ``spine`` (for SMPL Spine1-3), Neck, Head, arms (HumanIK names)."""
    j = [Spec("Hips", None, "Pelvis")]
    for s, n in (("L", "Left"), ("R", "Right")):
        if rolls:
            j += [
                Spec(f"{n}UpLeg", "Hips", f"{s}_Hip"),
                Spec(f"{n}UpLegRoll", f"{n}UpLeg", between=(f"{s}_Hip", f"{s}_Knee", 0.5)),
                Spec(f"{n}Leg", f"{n}UpLegRoll", f"{s}_Knee"),
                Spec(f"{n}LegRoll", f"{n}Leg", between=(f"{s}_Knee", f"{s}_Ankle", 0.5)),
                Spec(f"{n}Foot", f"{n}LegRoll", f"{s}_Ankle"),
            ]
        else:
            j += [
                Spec(f"{n}UpLeg", "Hips", f"{s}_Hip"),
                Spec(f"{n}Leg", f"{n}UpLeg", f"{s}_Knee"),
                Spec(f"{n}Foot", f"{n}Leg", f"{s}_Ankle"),
            ]
        j.append(Spec(f"{n}{toe}", f"{n}Foot", f"{s}_Foot", end=_TOE_END))
    parent = "Hips"
    for name, smpl in zip(spine, ("Spine1", "Spine2", "Spine3"), strict=True):
        j.append(Spec(name, parent, smpl))
        parent = name
    j += [
        Spec("Neck", parent, "Neck"),
        Spec("Head", "Neck", "Head", end=None if hand_children else _HEAD_END),
    ]
    for s, n in (("L", "Left"), ("R", "Right")):
        x = 1.0 if s == "L" else -1.0
        j.append(Spec(f"{n}Shoulder", parent, f"{s}_Collar"))
        if rolls:
            j += [
                Spec(f"{n}Arm", f"{n}Shoulder", f"{s}_Shoulder"),
                Spec(f"{n}ArmRoll", f"{n}Arm", between=(f"{s}_Shoulder", f"{s}_Elbow", 0.5)),
                Spec(f"{n}ForeArm", f"{n}ArmRoll", f"{s}_Elbow"),
                Spec(f"{n}ForeArmRoll", f"{n}ForeArm", between=(f"{s}_Elbow", f"{s}_Wrist", 0.5)),
                Spec(f"{n}Hand", f"{n}ForeArmRoll", f"{s}_Wrist"),
            ]
        else:
            j += [
                Spec(f"{n}Arm", f"{n}Shoulder", f"{s}_Shoulder"),
                Spec(f"{n}ForeArm", f"{n}Arm", f"{s}_Elbow"),
                Spec(f"{n}Hand", f"{n}ForeArm", f"{s}_Wrist", end=None if hand_children else _hand_end(s)),
            ]
        if hand_children:
            for k, finger in enumerate(("Thumb", "Index", "Middle", "Ring", "Pinky")):
                base = f"{n}Hand{finger}"
                lateral = (0.02 - 0.01 * k) if finger != "Thumb" else 0.03
                if finger == "Middle":
                    j.append(Spec(f"{base}1", f"{n}Hand", f"{s}_Hand"))
                else:
                    j.append(Spec(f"{base}1", f"{n}Hand", leaf=(f"{s}_Wrist", (0.07 * x, -0.01, lateral))))
                for d in (2, 3, 4):
                    anchor = f"{s}_Hand" if finger == "Middle" else f"{s}_Wrist"
                    off = (
                        0.025 * (d - 1) * x + (0.0 if finger == "Middle" else 0.07 * x),
                        -0.01,
                        0.0 if finger == "Middle" else lateral,
                    )
                    j.append(
                        Spec(
                            f"{base}{d}",
                            f"{base}{d - 1}",
                            leaf=(anchor, off),
                            end=(0.02 * x, 0, 0) if d == 4 else None,
                        )
                    )
    return j


def _mixamo() -> tuple[Spec, ...]:
    j = _humanik_like(("Spine", "Spine1", "Spine2"), "ToeBase", hand_children=True, rolls=False)
    j.append(Spec("HeadTop_End", "Head", leaf=("Head", (0.0, 0.18, 0.0)), end=(0.0, 0.02, 0.0)))
    # Mixamo's toe chain ends in a joint too
    for s, n in (("L", "Left"), ("R", "Right")):
        j.append(
            Spec(f"{n}Toe_End", f"{n}ToeBase", leaf=(f"{s}_Foot", (0.0, 0.0, 0.05)), end=(0.0, 0.0, 0.01))
        )
    return tuple(replace_end(x) for x in j)


def replace_end(s: Spec) -> Spec:
    """Mixamo's toe bases end in Toe_End joints, not End Sites."""
    if s.name.endswith("ToeBase"):
        return Spec(s.name, s.parent, s.at, s.between, s.leaf, s.floor, s.fold, None, s.channels)
    return s


def _lafan1() -> tuple[Spec, ...]:
    j = [Spec("Hips", None, "Pelvis")]
    for s, n in (("L", "Left"), ("R", "Right")):
        j += [
            Spec(f"{n}UpLeg", "Hips", f"{s}_Hip"),
            Spec(f"{n}Leg", f"{n}UpLeg", f"{s}_Knee"),
            Spec(f"{n}Foot", f"{n}Leg", f"{s}_Ankle"),
            Spec(f"{n}Toe", f"{n}Foot", f"{s}_Foot", end=_TOE_END),
        ]
    j += [
        Spec("Spine", "Hips", "Spine1"),
        Spec("Spine1", "Spine", "Spine2"),
        Spec("Spine2", "Spine1", "Spine3"),
        Spec("Neck", "Spine2", "Neck"),
        Spec("Head", "Neck", "Head", end=_HEAD_END),
    ]
    for s, n in (("L", "Left"), ("R", "Right")):
        hx, hy, hz = (float(v) for v in _SMPL_REST_DEFAULT_HAND[s])
        hand = (hx, hy, hz)
        j += [
            Spec(f"{n}Shoulder", "Spine2", f"{s}_Collar"),
            Spec(f"{n}Arm", f"{n}Shoulder", f"{s}_Shoulder"),
            Spec(f"{n}ForeArm", f"{n}Arm", f"{s}_Elbow"),
            Spec(f"{n}Hand", f"{n}ForeArm", f"{s}_Wrist", end=hand),
        ]
    return tuple(j)


_SMPL_REST_DEFAULT_HAND = {"L": (0.085, -0.006, -0.010), "R": (-0.085, -0.006, -0.010)}


def _bandai() -> tuple[Spec, ...]:
    j = [
        Spec("joint_Root", None, floor=True),
        Spec("Hips", "joint_Root", "Pelvis"),
        Spec("Spine", "Hips", "Spine1"),
        Spec("Chest", "Spine", "Spine2", fold=("Spine3",)),
        Spec("Neck", "Chest", "Neck"),
        Spec("Head", "Neck", "Head", end=_HEAD_END),
    ]
    for s in "LR":
        j += [
            Spec(f"Shoulder_{s}", "Chest", f"{s}_Collar"),
            Spec(f"UpperArm_{s}", f"Shoulder_{s}", f"{s}_Shoulder"),
            Spec(f"LowerArm_{s}", f"UpperArm_{s}", f"{s}_Elbow"),
            Spec(f"Hand_{s}", f"LowerArm_{s}", f"{s}_Wrist", end=_hand_end(s)),
        ]
    for s in "LR":
        j += [
            Spec(f"UpperLeg_{s}", "Hips", f"{s}_Hip"),
            Spec(f"LowerLeg_{s}", f"UpperLeg_{s}", f"{s}_Knee"),
            Spec(f"Foot_{s}", f"LowerLeg_{s}", f"{s}_Ankle"),
            Spec(f"Toes_{s}", f"Foot_{s}", f"{s}_Foot", end=_TOE_END),
        ]
    return tuple(j)


def _rigify() -> tuple[Spec, ...]:
    j = [
        Spec("spine", None, "Pelvis"),
        Spec("spine.001", "spine", "Spine1"),
        Spec("spine.002", "spine.001", "Spine2"),
        Spec("spine.003", "spine.002", "Spine3"),
        Spec("spine.004", "spine.003", "Neck"),
        Spec("spine.005", "spine.004", between=("Neck", "Head", 0.5)),
        Spec("spine.006", "spine.005", "Head", end=_HEAD_END),
    ]
    for s in "LR":
        x = 1.0 if s == "L" else -1.0
        j += [
            Spec(f"shoulder.{s}", "spine.003", f"{s}_Collar"),
            Spec(f"upper_arm.{s}", f"shoulder.{s}", f"{s}_Shoulder"),
            Spec(f"forearm.{s}", f"upper_arm.{s}", f"{s}_Elbow"),
            Spec(f"hand.{s}", f"forearm.{s}", f"{s}_Wrist", end=_hand_end(s)),
            Spec(
                f"pelvis.{s}", "spine", leaf=("Pelvis", (0.06 * x, -0.02, 0.05)), end=(0.05 * x, 0.05, 0.05)
            ),
            Spec(f"thigh.{s}", "spine", f"{s}_Hip"),
            Spec(f"shin.{s}", f"thigh.{s}", f"{s}_Knee"),
            Spec(f"foot.{s}", f"shin.{s}", f"{s}_Ankle"),
            Spec(f"toe.{s}", f"foot.{s}", f"{s}_Foot", end=_TOE_END),
        ]
    return tuple(j)


def _humanik() -> tuple[Spec, ...]:
    hips_channels = _rot("ZXY") + _pos("XYZ")  # rotations before positions
    j = [Spec("Reference", None, floor=True)]
    for s in _humanik_like(("Spine", "Spine1", "Spine2"), "ToeBase", hand_children=False, rolls=True):
        if s.name == "Hips":
            s = Spec("Hips", "Reference", "Pelvis", channels=hips_channels)
        j.append(s)
    for side, n in (("L", "Left"), ("R", "Right")):
        j.append(Spec(f"{n}HandMiddle1", f"{n}Hand", f"{side}_Hand", end=_hand_end(side)))
    return tuple(j)


def _smpl() -> tuple[Spec, ...]:
    j = []
    for i, name in enumerate(SMPL_JOINT_NAMES):
        parent = SMPL_NAMES_PARENT[i]
        end = _TOE_END if name.endswith("_Foot") else _HEAD_END if name == "Head" else None
        if name.endswith("_Hand"):
            end = _hand_end(name[0])
        j.append(Spec(name, parent, name, end=end))
    return tuple(j)


SMPL_NAMES_PARENT = [None if p < 0 else SMPL_JOINT_NAMES[p] for p in SMPL_PARENTS]

STYLES: dict[str, BvhStyle] = {
    "cmu": BvhStyle("cmu", _cmu(), unit="cmu", up="y", fps=120.0, notes="31 joints, ASF units, 120 fps, tabs"),
    "lafan1": BvhStyle("lafan1", _lafan1(), unit="cm", up="y", fps=30.0, rest="bone_x", newline="\r\n", indent="  ",
                       notes="22 joints, cm, bones along local x at rest, CRLF"),
    "bandai_namco": BvhStyle("bandai_namco", _bandai(), unit="cm", up="y", fps=30.0,
                             root_channels=_pos("XYZ") + _rot("YXZ"), joint_channels=_pos("XYZ") + _rot("YXZ"),
                             newline="\r\n", notes="22 joints, 6 channels on every joint, floor root, CRLF + tabs"),
    "mixamo": BvhStyle("mixamo", _mixamo(), unit="cm", up="y", fps=30.0, root_channels=_pos("XYZ") + _rot("ZXY"),
                       joint_channels=_rot("ZXY"), indent="  ", prefix="mixamorig:", notes="65 joints with fingers"),
    "rigify": BvhStyle("rigify", _rigify(), unit="m", up="z", fps=24.0, root_channels=_pos("XYZ") + _rot("XYZ"),
                       joint_channels=_rot("XYZ"), notes="Blender metarig names, m, Z-up, 24 fps"),
    "humanik": BvhStyle("humanik", _humanik(), unit="cm", up="y", fps=60.0, root_channels=_pos("XYZ") + _rot("XZY"),
                        joint_channels=_rot("XZY"), newline="\r\n", prefix="Character1_",
                        notes="floor Reference root, roll joints, Character1_ prefix, positions after rotations on Hips"),
    "smpl": BvhStyle("smpl", _smpl(), unit="m", up="z", fps=100.0, root_channels=_pos("ZXY") + _rot("YZX"),
                     joint_channels=_rot("YZX"), indent="    ", notes="SMPL joint names, m, Z-up, 100 fps"),
}  # fmt: skip
