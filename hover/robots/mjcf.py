"""Build a MuJoCo model of a RobotSpec with ``mujoco.MjSpec`` (primitives only, no mesh files).

Actuators are position servos (``gain = kp``, ``bias = -kp q - kd qdot``) with ``forcerange`` set
to the joint's effort limit, so MuJoCo evaluates PD at every physics step and clips the torque.
Actuator i drives joint i of ``RobotSpec.joint_names``; ``ctrl`` is the joint-position target in rad.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from hover.robots.spec import Geom, RobotSpec

_GEOM_TYPES = {
    "sphere": mujoco.mjtGeom.mjGEOM_SPHERE,
    "capsule": mujoco.mjtGeom.mjGEOM_CAPSULE,
    "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
    "box": mujoco.mjtGeom.mjGEOM_BOX,
}


@dataclass(frozen=True)
class ModelOptions:
    """Physics settings of a compiled model.

    ``physics_dt`` None means the robot's own. ``self_collisions`` lets limbs collide with each other
    (parent/child pairs and the spec's exclusions never collide).
    """

    physics_dt: float | None = None
    self_collisions: bool = True
    floor: bool = True
    friction: float = 1.0
    solver: str = "newton"  # newton | cg | pgs
    iterations: int = 10
    ls_iterations: int = 20
    integrator: str = "implicitfast"  # euler | implicitfast | rk4


def _add_geom(
    body: mujoco.MjsBody, g: Geom, rgba: tuple[float, float, float, float], contype: int, conaff: int
) -> None:
    kwargs: dict = {"type": _GEOM_TYPES[g.type], "rgba": rgba, "contype": contype, "conaffinity": conaff}
    if g.name:
        kwargs["name"] = g.name
    size = list(g.size) + [0.0] * (3 - len(g.size))
    if g.fromto is not None:
        kwargs["fromto"] = list(g.fromto)
        kwargs["size"] = size
    else:
        kwargs["pos"] = list(g.pos)
        kwargs["quat"] = list(g.quat)
        kwargs["size"] = size
    body.add_geom(**kwargs)


def build_spec(robot: RobotSpec, options: ModelOptions | None = None) -> mujoco.MjSpec:
    """Return an editable MjSpec of ``robot`` standing on a floor."""
    opt = options or ModelOptions()
    spec = mujoco.MjSpec()
    spec.modelname = robot.name
    spec.compiler.degree = False  # all angles in the description are radians
    spec.option.timestep = opt.physics_dt or robot.physics_dt
    spec.option.solver = getattr(mujoco.mjtSolver, f"mjSOL_{opt.solver.upper()}")
    spec.option.iterations = opt.iterations
    spec.option.ls_iterations = opt.ls_iterations
    integrators = {"euler": "EULER", "implicitfast": "IMPLICITFAST", "rk4": "RK4", "implicit": "IMPLICIT"}
    spec.option.integrator = getattr(mujoco.mjtIntegrator, f"mjINT_{integrators[opt.integrator]}")
    spec.visual.global_.offwidth = 1280
    spec.visual.global_.offheight = 720

    # Robot geoms: contype 1 collides with the floor; with self collisions robot geoms also hit each other.
    robot_contype, robot_conaff = (1, 1) if opt.self_collisions else (1, 0)
    world = spec.worldbody
    if opt.floor:
        spec.add_texture(
            name="grid",
            type=mujoco.mjtTexture.mjTEXTURE_2D,
            builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
            rgb1=[0.2, 0.3, 0.4],
            rgb2=[0.1, 0.15, 0.2],
            width=300,
            height=300,
        )
        spec.add_material(name="grid", texrepeat=[8, 8], reflectance=0.1, textures=["", "grid"])
        world.add_geom(
            name="floor",
            type=mujoco.mjtGeom.mjGEOM_PLANE,
            size=[0, 0, 0.05],
            material="grid",
            contype=2,
            conaffinity=1,
            friction=[opt.friction, 0.005, 0.0001],
        )
    world.add_light(pos=[0, 0, 4], dir=[0, 0, -1], type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL)

    bodies: dict[str, mujoco.MjsBody] = {}
    colors = {True: (0.75, 0.75, 0.8, 1.0), False: (0.3, 0.3, 0.35, 1.0)}
    for i, b in enumerate(robot.bodies):
        parent = world if b.parent is None else bodies[b.parent]
        body = parent.add_body(name=b.name, pos=list(b.pos), quat=list(b.quat))
        body.mass = b.inertial.mass
        body.ipos = list(b.inertial.com)
        body.iquat = list(b.inertial.quat)
        body.inertia = list(b.inertial.diaginertia)
        body.explicitinertial = True
        if b.parent is None:
            body.add_freejoint(name="root")
            body.add_camera(
                name="track",
                pos=[0.0, -3.0, 0.3],
                xyaxes=[1, 0, 0, 0, 0.2, 1],
                mode=mujoco.mjtCamLight.mjCAMLIGHT_TRACKCOM,
            )
        elif b.joint is not None:
            j = b.joint
            body.add_joint(
                name=j.name,
                type=mujoco.mjtJoint.mjJNT_HINGE,
                axis=list(j.axis),
                range=list(j.range),
                limited=mujoco.mjtLimited.mjLIMITED_TRUE,
                damping=j.damping,
                armature=j.armature,
            )
        for g in b.geoms:
            _add_geom(body, g, colors[i % 2 == 0], robot_contype, robot_conaff)
        bodies[b.name] = body

    for e in robot.extended_bodies:
        bodies[e.parent].add_site(name=e.name, pos=list(e.pos), size=[0.03, 0, 0], rgba=[1.0, 0.4, 0.1, 1.0])
    for s in robot.sites:
        bodies[s.body].add_site(name=s.name, pos=list(s.pos), size=[0.01, 0, 0])
    for first, second in robot.contact_exclusions:
        spec.add_exclude(bodyname1=first, bodyname2=second)

    for j in robot.joints:
        act = spec.add_actuator(name=j.name, target=j.name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_position(kp=j.kp, kv=j.kd)
        act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
        act.forcerange = [-j.effort_limit, j.effort_limit]
        act.ctrllimited = mujoco.mjtLimited.mjLIMITED_FALSE

    default_qpos = [0.0, 0.0, robot.root_init_height, 1.0, 0.0, 0.0, 0.0] + [
        j.default_pos for j in robot.joints
    ]
    spec.add_key(name="default", qpos=default_qpos, ctrl=[j.default_pos for j in robot.joints])
    return spec


def build_model(robot: RobotSpec, options: ModelOptions | None = None) -> mujoco.MjModel:
    """Compile the MuJoCo model of ``robot`` and check its joint/actuator order against the spec."""
    model = build_spec(robot, options).compile()
    check_model_matches(robot, model)
    return model


def check_model_matches(robot: RobotSpec, model: mujoco.MjModel) -> None:
    """Raise ValueError unless joint i and actuator i of ``model`` are the spec's joint i."""
    names = [model.joint(i + 1).name for i in range(model.njnt - 1)]
    acts = [model.actuator(i).name for i in range(model.nu)]
    if names != robot.joint_names or acts != robot.joint_names:
        raise ValueError(f"model order {names} / {acts} differs from the {robot.name} joint order")


def default_qpos(robot: RobotSpec) -> np.ndarray:
    """Standing configuration (root at init height, identity orientation, default joint angles)."""
    return np.array(
        [0, 0, robot.root_init_height, 1, 0, 0, 0] + [j.default_pos for j in robot.joints], dtype=np.float64
    )
