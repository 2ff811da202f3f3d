"""Unitree H1 (19 DoF) figures: kinematic tree, inertials, collision primitives, control.

Sources: Unitree's published H1 descriptions (the MuJoCo Menagerie model and the
unitree_rl_gym / human2humanoid configs), as gathered in the project's reference notes.
Joint order = policy order = MuJoCo order (depth-first: left leg, right leg, torso, left arm, right arm).
"""

from __future__ import annotations

import math

from hover.robots.spec import Body, ExtendedBody, Geom, Inertial, Joint, RobotSpec, Site

_H = math.sqrt(0.5)
_ROT_Y90 = (_H, 0.0, _H, 0.0)  # z axis -> x axis
_ROT_X90 = (_H, _H, 0.0, 0.0)  # z axis -> -y axis (cylinder along y)

# Hardware motor slot of each joint in unitree_go LowCmd_/LowState_ (20 slots, 9 unused).
MOTOR_INDEX = {
    "right_hip_roll": 0, "right_hip_pitch": 1, "right_knee": 2,
    "left_hip_roll": 3, "left_hip_pitch": 4, "left_knee": 5,
    "torso": 6, "left_hip_yaw": 7, "right_hip_yaw": 8,
    "left_ankle": 10, "right_ankle": 11,
    "right_shoulder_pitch": 12, "right_shoulder_roll": 13, "right_shoulder_yaw": 14, "right_elbow": 15,
    "left_shoulder_pitch": 16, "left_shoulder_roll": 17, "left_shoulder_yaw": 18, "left_elbow": 19,
}  # fmt: skip

# (kp, kd) per joint family; default standing pose (bent knees).
GAINS = {
    "hip": (200.0, 5.0),
    "knee": (300.0, 6.0),
    "ankle": (40.0, 2.0),
    "torso": (300.0, 6.0),
    "shoulder": (100.0, 2.0),
    "elbow": (100.0, 2.0),
}
DEFAULT_POSE = {"hip_pitch": -0.4, "knee": 0.8, "ankle": -0.4}

# Robot body -> SMPL joint: H2O's 14 pairs, except that the human hip joint is paired with the H1's
# hip-pitch body (where the thigh starts, 0.2 m off the midline) rather than the hip-yaw motor
# (0.09 m off): with the yaw body the shape fit must trade hip against knee/ankle width (8.5 cm error).
SMPL_PAIRS: tuple[tuple[str, str], ...] = (
    ("pelvis", "Pelvis"),
    ("left_hip_pitch_link", "L_Hip"),
    ("left_knee_link", "L_Knee"),
    ("left_ankle_link", "L_Ankle"),
    ("right_hip_pitch_link", "R_Hip"),
    ("right_knee_link", "R_Knee"),
    ("right_ankle_link", "R_Ankle"),
    ("left_shoulder_roll_link", "L_Shoulder"),
    ("left_elbow_link", "L_Elbow"),
    ("left_hand_link", "L_Hand"),
    ("right_shoulder_roll_link", "R_Shoulder"),
    ("right_elbow_link", "R_Elbow"),
    ("right_hand_link", "R_Hand"),
    ("head_link", "Head"),
)


def _joint(
    name: str, axis: tuple[float, float, float], lo: float, hi: float, effort: float, vel: float
) -> Joint:
    family = next(f for f in GAINS if f in name)
    kp, kd = GAINS[family]
    default = next((v for k, v in DEFAULT_POSE.items() if name.endswith(k)), 0.0)
    return Joint(
        name=name,
        axis=axis,
        range=(lo, hi),
        effort_limit=effort,
        velocity_limit=vel,
        kp=kp,
        kd=kd,
        default_pos=default,
        motor_index=MOTOR_INDEX[name],
        strong_motor=MOTOR_INDEX[name] < 10,
    )


def _leg(side: str) -> list[Body]:
    s = 1.0 if side == "left" else -1.0
    p = f"{side}_"
    inert = {  # mass, com, principal quat (left / right), diag inertia
        "hip_yaw": (2.244, (-0.04923, s * 0.0001, 0.0072),
                    (0.69699, 0.219193, 0.233287, 0.641667), (0.641667, 0.233287, 0.219193, 0.69699),
                    (0.00304494, 0.00296885, 0.00189201)),
        "hip_roll": (2.232, (-0.0058, -s * 0.00319, -9e-05),
                     (0.0438242, 0.70721, -0.0729075, 0.701867), (-0.0438242, 0.70721, 0.0729075, 0.701867),
                     (0.00243264, 0.00225325, 0.00205492)),
        "hip_pitch": (4.152, (0.00746, -s * 0.02346, -0.08193),
                      (0.979828, 0.0513522, -0.0169854, -0.192382), (0.979828, -0.0513522, -0.0169854, 0.192382),
                      (0.0829503, 0.0821457, 0.00510909)),
        "knee": (1.721, (-0.00136, -s * 0.00512, -0.1384),
                 (0.626132, -0.034227, -0.0416277, 0.777852), (0.777852, -0.0416277, -0.034227, 0.626132),
                 (0.0125237, 0.0123104, 0.0019428)),
        "ankle": (0.446, (0.06722, s * 0.00015, -0.04497),
                  (0.489101, 0.503197, 0.565782, 0.432972), (0.432972, 0.565782, 0.503197, 0.489101),
                  (0.00220848, 0.00218961, 0.000214202)),
    }  # fmt: skip

    def inertial(key: str) -> Inertial:
        m, com, ql, qr, d = inert[key]
        return Inertial(m, com, ql if side == "left" else qr, d)

    return [
        Body(p + "hip_yaw_link", "pelvis", (0.0, s * 0.0875, -0.1742), inertial("hip_yaw"),
             joint=_joint(p + "hip_yaw", (0, 0, 1), -0.43, 0.43, 200, 23),
             geoms=(Geom("cylinder", (0.06, 0.035), pos=(-0.067, 0, 0), quat=_ROT_Y90),)),
        Body(p + "hip_roll_link", p + "hip_yaw_link", (0.039468, 0.0, 0.0), inertial("hip_roll"),
             joint=_joint(p + "hip_roll", (1, 0, 0), -0.43, 0.43, 200, 23),
             geoms=(Geom("cylinder", (0.05, 0.03), pos=(0, -s * 0.02, 0), quat=_ROT_X90),)),
        Body(p + "hip_pitch_link", p + "hip_roll_link", (0.0, s * 0.11536, 0.0), inertial("hip_pitch"),
             joint=_joint(p + "hip_pitch", (0, 1, 0), -1.57, 1.57, 200, 23),
             geoms=(Geom("capsule", (0.03,), fromto=(0.02, 0, -0.4, 0.02, 0, 0.02)),
                    Geom("capsule", (0.03,), fromto=(-0.02, 0, -0.4, -0.02, 0, 0.02)),
                    Geom("cylinder", (0.05, 0.02), pos=(0, -s * 0.07, 0), quat=_ROT_X90))),
        Body(p + "knee_link", p + "hip_pitch_link", (0.0, 0.0, -0.4), inertial("knee"),
             joint=_joint(p + "knee", (0, 1, 0), -0.26, 2.05, 300, 14),
             geoms=(Geom("capsule", (0.025,), fromto=(0.02, 0, -0.4, 0.02, 0, 0)),
                    Geom("sphere", (0.05,), pos=(0, 0, -0.115)))),
        Body(p + "ankle_link", p + "knee_link", (0.0, 0.0, -0.4), inertial("ankle"),
             joint=_joint(p + "ankle", (0, 1, 0), -0.87, 0.52, 40, 9),
             geoms=(Geom("capsule", (0.014,), fromto=(-0.035, 0, -0.056, 0.02, 0, -0.045), name=p + "heel"),
                    Geom("capsule", (0.014,), fromto=(0.02, 0, -0.045, 0.115, 0, -0.056), name=p + "sole"),
                    Geom("capsule", (0.014,), fromto=(0.14, -0.03, -0.056, 0.14, 0.03, -0.056), name=p + "toe"))),
    ]  # fmt: skip


def _arm(side: str) -> list[Body]:
    s = 1.0 if side == "left" else -1.0
    p = f"{side}_"
    left = side == "left"
    roll_range = (-0.34, 3.11) if left else (-3.11, 0.34)
    yaw_range = (-1.3, 4.45) if left else (-4.45, 1.3)
    return [
        Body(p + "shoulder_pitch_link", "torso_link", (0.0055, s * 0.15535, 0.42999),
             Inertial(1.033, (0.005045, s * 0.053657, -0.015715),
                      (0.814858, 0.579236, -0.0201072, -0.00936488) if left
                      else (0.579236, 0.814858, 0.00936488, 0.0201072),
                      (0.00129936, 0.000987113, 0.000858198)),
             quat=(0.976296, s * 0.216438, 0.0, 0.0),
             joint=_joint(p + "shoulder_pitch", (0, 1, 0), -2.87, 2.87, 40, 9)),
        Body(p + "shoulder_roll_link", p + "shoulder_pitch_link", (-0.0055, s * 0.0565, -0.0165),
             Inertial(0.793, (0.000679, s * 0.00115, -0.094076),
                      (0.732491, 0.00917179, 0.0766656, 0.676384) if left
                      else (0.676384, 0.0766656, 0.00917179, 0.732491),
                      (0.00170388, 0.00158256, 0.00100336)),
             quat=(0.976296, -s * 0.216438, 0.0, 0.0),
             joint=_joint(p + "shoulder_roll", (1, 0, 0), *roll_range, 40, 9),
             geoms=(Geom("capsule", (0.04,), fromto=(0, s * 0.01, 0.008, 0, -s * 0.07, -0.02)),)),
        Body(p + "shoulder_yaw_link", p + "shoulder_roll_link", (0.0, 0.0, -0.1343),
             Inertial(0.839, (0.01365, s * 0.002767, -0.16266),
                      (0.703042, -0.0331229, -0.0473362, 0.708798) if left
                      else (0.708798, -0.0473362, -0.0331229, 0.703042),
                      (0.00408038, 0.00370367, 0.000622687)),
             joint=_joint(p + "shoulder_yaw", (0, 0, 1), *yaw_range, 18, 20),
             geoms=(Geom("capsule", (0.03,), fromto=(0, 0, 0.15, 0, 0, -0.2)),)),
        Body(p + "elbow_link", p + "shoulder_yaw_link", (0.0185, 0.0, -0.198),
             Inertial(0.669, (0.15908, -s * 0.000144, -0.015776),
                      (0.0765232, 0.720327, 0.0853116, 0.684102) if left
                      else (-0.0765232, 0.720327, -0.0853116, 0.684102),
                      (0.00601829, 0.00600579, 0.000408305)),
             joint=_joint(p + "elbow", (0, 1, 0), -1.25, 2.61, 18, 20),
             geoms=(Geom("capsule", (0.025,), fromto=(0, 0, 0, 0.28, 0, -0.015)),
                    Geom("sphere", (0.033,), pos=(0.28, 0, -0.015)))),
    ]  # fmt: skip


def make_h1() -> RobotSpec:
    """Build the H1 description (validated)."""
    pelvis = Body(
        "pelvis",
        None,
        (0.0, 0.0, 1.0),
        Inertial(
            5.39,
            (-0.0002, 4e-05, -0.04522),
            (0.498303, 0.499454, -0.500496, 0.501741),
            (0.0490211, 0.0445821, 0.00824619),
        ),
    )
    torso = Body(
        "torso_link",
        "pelvis",
        (0.0, 0.0, 0.0),
        Inertial(
            17.789,
            (0.000489, 0.002797, 0.20484),
            (0.999989, -0.00130808, -0.00282289, -0.00349105),
            (0.487315, 0.409628, 0.127837),
        ),
        joint=_joint("torso", (0, 0, 1), -2.35, 2.35, 200, 23),
        geoms=(
            Geom("box", (0.07, 0.1, 0.22), pos=(0, 0, 0.25)),
            Geom("capsule", (0.06,), fromto=(0.05, 0, 0.68, 0.05, 0, 0.6)),
            Geom("sphere", (0.073,), pos=(0.045, 0, 0.68)),
            Geom("capsule", (0.05,), fromto=(0, -0.1, -0.05, 0, 0.1, -0.05)),
        ),
    )
    bodies = (pelvis, *_leg("left"), *_leg("right"), torso, *_arm("left"), *_arm("right"))
    spec = RobotSpec(
        name="h1",
        bodies=bodies,
        extended_bodies=(
            ExtendedBody("left_hand_link", "left_elbow_link", (0.3, 0.0, 0.0)),
            ExtendedBody("right_hand_link", "right_elbow_link", (0.3, 0.0, 0.0)),
            ExtendedBody("head_link", "pelvis", (0.0, 0.0, 0.75)),
        ),
        root_init_height=1.0,
        action_scale=0.25,
        physics_dt=0.005,
        decimation=4,
        feet=("left_ankle_link", "right_ankle_link"),
        upper_body_joints=tuple(
            f"{s}_{j}" for s in ("left", "right") for j in ("shoulder_pitch", "shoulder_roll", "shoulder_yaw", "elbow")
        ) + ("torso",),
        termination_contact_bodies=(
            "pelvis", "left_hip_yaw_link", "left_hip_roll_link", "left_hip_pitch_link", "left_knee_link",
            "right_hip_yaw_link", "right_hip_roll_link", "right_hip_pitch_link", "right_knee_link",
            "left_shoulder_pitch_link", "left_shoulder_roll_link", "left_shoulder_yaw_link",
            "right_shoulder_pitch_link", "right_shoulder_roll_link", "right_shoulder_yaw_link",
        ),
        contact_exclusions=(("torso_link", "left_shoulder_roll_link"), ("torso_link", "right_shoulder_roll_link")),
        sites=(Site("imu", "torso_link", (-0.04452, -0.01891, 0.27756)),),
        imu_body="torso_link",
        anchor_body="torso_link",
        end_effectors=("left_ankle_link", "right_ankle_link", "left_hand_link", "right_hand_link"),
        mass_randomized_bodies=("pelvis", "left_hip_yaw_link", "left_hip_roll_link", "left_hip_pitch_link",
                                "right_hip_yaw_link", "right_hip_roll_link", "right_hip_pitch_link", "torso_link"),
        mode_bodies={
            "h2o": tuple(f"{s}_{b}_link" for s in ("left", "right")
                         for b in ("shoulder_pitch", "shoulder_roll", "shoulder_yaw", "elbow", "hand", "ankle")),
            "omnih2o": ("head_link", "left_hand_link", "right_hand_link"),
            "left_hand": ("left_hand_link",),
            "right_hand": ("right_hand_link",),
            "two_hands": ("left_hand_link", "right_hand_link"),
            "head": ("head_link",),
        },
        retarget_pairs=SMPL_PAIRS,
        retarget_orientation_pairs=(("left_ankle_link", "L_Ankle"), ("right_ankle_link", "R_Ankle")),
        retarget_hand_pairs=(("left_elbow_link", "L_Elbow"), ("right_elbow_link", "R_Elbow")),
        num_motor_slots=20,
        subsets={
            "vr": ("head_link", "left_hand_link", "right_hand_link"),
            "h2o": ("left_ankle_link", "right_ankle_link", "left_shoulder_pitch_link", "right_shoulder_pitch_link",
                    "left_elbow_link", "right_elbow_link", "left_hand_link", "right_hand_link"),
        },
    )  # fmt: skip
    spec.validate()
    return spec
