"""MuJoCo Warp backend: all worlds in one batched ``mujoco_warp`` Data, stepped by Warp kernels.

Same physics model and the same read-out timing as the MuJoCo CPU backend (``mujoco.py``): the
model's actuators are position servos (``ctrl = target``; ``forcerange = ±effort``), so the PD law
and its torque clip run at every physics step inside the physics kernels. A policy step is

    step2 (finishes the physics step whose positions ``step1`` computed), ``decimation - 1`` x step,
    rne_postconstraint (contact forces of the last physics step), step1 (kinematics of the new state)

launched as one Warp graph (captured once: a CUDA graph on a GPU, Warp's recorded replay on the
CPU, measured 15x faster there than plain launches; ``use_graph=False`` for plain launches, same
results). Positions, orientations and velocities read out are those
of the current ``qpos``/``qvel``; ``contact_forces`` and ``joint_torque`` are those of the last
physics step, exactly as in ``MujocoBackend``.

Torch interop: the Warp arrays of the Data and of the batched Model fields are viewed as torch
tensors (``wp.to_torch``: same memory, no host copy); targets are copied into ``ctrl``, resets and
parameters are written into those views with torch indexing, and ``get_state`` computes the
``SimState`` from them on ``device``. On CUDA, Warp runs on its own stream, ordered after torch's
current stream and before it with stream waits (no host synchronisation).

Precision: MuJoCo Warp computes in float32 (MuJoCo CPU: float64); see
``tests/test_backend_mjwarp.py`` for how far the two agree.

Contact/constraint buffers: ``nconmax`` (contacts per world; the pool for all worlds is
``nconmax * num_envs``) and ``njmax`` (constraint rows per world) default to bounds computed from
the model (``buffer_sizes``). An overflow raises :class:`BufferOverflowError` naming the buffer and
the option to raise, instead of MuJoCo Warp's silent contact dropping.

Per-world parameters (``set_physics_params``): the Model fields ``geom_friction``, ``body_mass``,
``body_inertia``, ``body_ipos``, ``actuator_gainprm``/``biasprm`` (kp, kd, torque noise, as in
``MujocoBackend``) and the constants derived from masses (``body_subtreemass``, ``*_invweight0``,
``actuator_acc0``; recomputed with ``mujoco_warp.set_const`` after a mass or com change) have one
row per world.
"""

from __future__ import annotations

import warnings
from typing import Any

import mujoco
import numpy as np
import torch
from torch import Tensor

from hover.envs.backends.base import PhysicsParams, SimBackend, SimState
from hover.robots import RobotSpec
from hover.robots.mjcf import ModelOptions, build_model
from hover.rotations import quat_normalize, quat_rotate_inverse

try:
    import mujoco_warp as mjw
    import warp as wp
except ImportError as e:  # pragma: no cover - depends on the optional extra
    raise ImportError(
        "backend 'mjwarp' needs MuJoCo Warp: pip install 'hover[gpu]' (mujoco-warp, warp-lang)"
    ) from e

# Model fields with one row per world (the first six realise PhysicsParams, the rest derive from masses).
BATCHED_FIELDS = (
    "geom_friction",
    "body_mass",
    "body_inertia",
    "body_ipos",
    "actuator_gainprm",
    "actuator_biasprm",
    "body_subtreemass",
    "body_invweight0",
    "dof_invweight0",
    "actuator_acc0",
)
# Most contacts a geom can have with a plane, by mjtGeom type (sphere 1, capsule 2, box 4, ...).
_PLANE_CONTACTS = {
    mujoco.mjtGeom.mjGEOM_SPHERE: 1,
    mujoco.mjtGeom.mjGEOM_CAPSULE: 2,
    mujoco.mjtGeom.mjGEOM_ELLIPSOID: 1,
    mujoco.mjtGeom.mjGEOM_CYLINDER: 4,
    mujoco.mjtGeom.mjGEOM_BOX: 4,
    mujoco.mjtGeom.mjGEOM_MESH: 4,
}
# Overflow bits that mean lost contacts or constraints (solver iteration limits are not errors).
_BUFFER_OVERFLOWS = {
    "NEFC": "constraint rows per world > njmax: raise njmax",
    "NJMAX_NNZ": "constraint Jacobian non-zeros overflow: raise njmax",
    "BROADPHASE": "collision candidates > the contact pool: raise nconmax",
    "NARROWPHASE": "contacts > the contact pool (nconmax * num_envs): raise nconmax",
    "CCD": "CCD contacts > the contact pool: raise nconmax",
}


_PLAIN = object()  # marks a function whose capture failed


class BufferOverflowError(RuntimeError):
    """MuJoCo Warp ran out of contact or constraint buffer space (contacts would be dropped)."""


def buffer_sizes(model: mujoco.MjModel) -> tuple[int, int]:
    """(nconmax, njmax) per world, from the model.

    Contacts: every colliding geom touching a plane at once (the per-type maximum of contacts with a
    plane, summed: the robot lying flat) plus one self-contact per colliding non-plane geom.
    Constraint rows: 2 (condim - 1) per contact for the pyramidal cone (condim for elliptic), plus
    one per limited joint and 6 per equality constraint. Rounded up to multiples of 8.
    """
    planes = model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE
    colliding = (model.geom_contype != 0) | (model.geom_conaffinity != 0)
    robot_geoms = np.flatnonzero(colliding & ~planes)
    floor = sum(_PLANE_CONTACTS.get(int(model.geom_type[g]), 4) for g in robot_geoms) if planes.any() else 0
    nconmax = -(-int(floor + len(robot_geoms)) // 8) * 8
    condim = int(model.geom_condim[robot_geoms].max()) if len(robot_geoms) else 3
    elliptic = model.opt.cone == mujoco.mjtCone.mjCONE_ELLIPTIC
    rows = condim if elliptic else 2 * (condim - 1)
    njmax = nconmax * rows + int(model.jnt_limited.sum()) + 6 * int(model.neq)
    return nconmax, -(-njmax // 8) * 8


def _warp_device(device: torch.device) -> str:
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                "MjwarpBackend: device cuda requested but torch sees no CUDA device (use device cpu)"
            )
        return f"cuda:{device.index if device.index is not None else torch.cuda.current_device()}"
    if device.type == "cpu":
        return "cpu"
    raise ValueError(f"MjwarpBackend: device {device} is not supported (use cpu or cuda[:i])")


class MjwarpBackend(SimBackend):
    """``num_envs`` worlds of ``robot`` on MuJoCo Warp; see the module docstring for timing and frames.

    ``device``: ``cuda[:i]`` (the point of this backend) or ``cpu`` (slow; tests). ``nconmax``/``njmax``
    None = :func:`buffer_sizes`. ``use_graph``: capture the policy step and the reset forward pass as graphs (CUDA and CPU).
    ``check_overflow``: raise :class:`BufferOverflowError` after a step that overflowed (one small
    device-to-host read per policy step). ``num_threads`` (the CPU backend's option) is ignored.
    """

    def __init__(
        self,
        robot: RobotSpec,
        num_envs: int,
        device: str | torch.device = "cuda",
        model_options: ModelOptions | None = None,
        nconmax: int | None = None,
        njmax: int | None = None,
        use_graph: bool = True,
        check_overflow: bool = True,
        num_threads: int | None = None,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"MjwarpBackend: num_envs must be >= 1, got {num_envs}")
        self.robot = robot
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.wp_device = _warp_device(self.device)
        self.model = build_model(robot, model_options)
        self.physics_dt = float(self.model.opt.timestep)
        self.decimation = robot.decimation
        self._nb, self._nj = robot.num_bodies, robot.num_joints
        default_con, default_j = buffer_sizes(self.model)
        self.nconmax = int(nconmax or default_con)
        self.njmax = int(njmax or default_j)
        self.check_overflow = check_overflow
        self.use_graph = use_graph
        torso = robot.imu_body or robot.root.name
        self._torso_id = robot.body_names.index(torso) + 1

        wp.config.quiet = True  # type: ignore[attr-defined]  # a warp setting its stubs do not declare
        wp.init()
        with wp.ScopedDevice(self.wp_device):
            self.mjw_model = mjw.put_model(self.model, batch_sizes={f: num_envs for f in BATCHED_FIELDS})
            self.mjw_model.opt.warn_overflow = 0  # overflows are raised as BufferOverflowError instead
            self.mjw_data = mjw.make_data(self.model, nworld=num_envs, nconmax=self.nconmax, njmax=self.njmax)
        wp.synchronize_device(self.wp_device)  # allocations were made on Warp's default stream
        self._stream = None
        if self.device.type == "cuda":
            self._torch_stream = torch.cuda.Stream(self.device)
            self._stream = wp.stream_from_torch(self._torch_stream)
        self._graphs: dict[str, Any] = {}  # name -> wp.Graph, or _PLAIN

        d, m = self.mjw_data, self.mjw_model
        self._d = {
            name: wp.to_torch(getattr(d, name))
            for name in ("qpos", "qvel", "ctrl", "qacc_warmstart", "qfrc_applied", "xfrc_applied", "time",
                         "xpos", "xquat", "cvel", "subtree_com", "cfrc_ext", "actuator_force", "overflow")
        }  # fmt: skip
        self._m = {name: wp.to_torch(getattr(m, name)) for name in BATCHED_FIELDS}
        self._nominal = {name: t[0].clone() for name, t in self._m.items()}
        self._state: SimState | None = None

        key = torch.as_tensor(self.model.key_qpos[0], dtype=torch.float32, device=self.device)
        self._d["qpos"][:] = key
        self._d["qvel"].zero_()
        self._d["ctrl"][:] = key[7:]
        self._refresh(None)

    # ------------------------------------------------------------------ internals
    def _launch(self, fn) -> None:
        """Run ``fn`` (Warp launches) on the Warp device, ordered after/before torch's current stream."""
        if self._stream is None:
            with wp.ScopedDevice(self.wp_device):
                fn()
            return
        current = torch.cuda.current_stream(self.device)
        self._torch_stream.wait_stream(current)
        with wp.ScopedDevice(self.wp_device), wp.ScopedStream(self._stream):
            fn()
        current.wait_stream(self._torch_stream)

    def _policy_step(self) -> None:
        m, d = self.mjw_model, self.mjw_data
        mjw.step2(m, d)
        for _ in range(self.decimation - 1):
            mjw.step(m, d)
        mjw.rne_postconstraint(m, d)  # cfrc_ext from the last physics step's contacts
        mjw.step1(m, d)  # kinematics and velocities of the new state (reused by the next step2)

    def _forward(self) -> None:
        mjw.forward(self.mjw_model, self.mjw_data)
        mjw.rne_postconstraint(self.mjw_model, self.mjw_data)

    def _replay(self, name: str, fn) -> None:
        """Run ``fn`` (Warp launches only) as a graph captured on first use (``use_graph``), else directly.

        The first call runs ``fn`` plainly (it compiles and loads every kernel, which must not happen
        during a capture), then captures it; capturing does not execute it.
        """
        graph = self._graphs.get(name)
        if not self.use_graph or graph is _PLAIN:
            fn()
        elif graph is None:
            fn()
            try:
                with wp.ScopedCapture(device=self.wp_device, stream=self._stream) as capture:
                    fn()
                self._graphs[name] = capture.graph
            except Exception as e:  # not capturable on this device/driver: plain launches from now on
                self._graphs[name] = _PLAIN
                warnings.warn(
                    f"MjwarpBackend: {name} runs without a graph ({type(e).__name__}: {e})", stacklevel=2
                )
        else:
            wp.capture_launch(graph, stream=self._stream)

    def _refresh(self, env_ids: Tensor | None) -> None:
        """Recompute derived quantities after ``env_ids`` (None = all) were teleported or re-parametrised.

        ``mj_forward`` + ``mj_rnePostConstraint`` for the changed worlds, as in ``MujocoBackend``;
        MuJoCo Warp runs them on every world, so the other worlds' contact forces and actuator
        torques (the last physics step's) are put back afterwards (``torch.where``: no host sync).
        Their kinematics are recomputed from an unchanged state, which gives the same values.
        """
        keep = None
        if env_ids is not None:
            keep = torch.ones(self.num_envs, dtype=torch.bool, device=self.device)
            keep[env_ids] = False
            saved = {k: self._d[k].clone() for k in ("cfrc_ext", "actuator_force")}
        self._launch(lambda: self._replay("forward", self._forward))
        if keep is not None:
            for k, v in saved.items():
                mask = keep.view(-1, *([1] * (v.dim() - 1)))
                self._d[k].copy_(torch.where(mask, v, self._d[k]))
        self._raise_on_overflow()
        self._state = None

    def _raise_on_overflow(self) -> None:
        if not self.check_overflow:
            return
        mask = 0
        for name in _BUFFER_OVERFLOWS:
            mask |= int(getattr(mjw.OverflowType, name))
        flags = self._d["overflow"] & mask
        if not bool(flags.any()):
            return
        worlds = torch.nonzero(flags).reshape(-1)
        bits = 0
        for v in flags[worlds].tolist():
            bits |= int(v)
        what = [
            f"{name} ({hint})"
            for name, hint in _BUFFER_OVERFLOWS.items()
            if bits & int(mjw.OverflowType[name])
        ]
        self._d["overflow"].zero_()
        raise BufferOverflowError(
            f"MjwarpBackend: MuJoCo Warp buffer overflow in {len(worlds)} world(s) (first {worlds[:5].tolist()}): "
            f"{'; '.join(what)}. Current nconmax={self.nconmax}, njmax={self.njmax} per world "
            f"(make_backend('mjwarp', ..., nconmax=..., njmax=...))."
        )

    def _ids(self, env_ids: Tensor) -> Tensor:
        ids = torch.as_tensor(env_ids, device=self.device).reshape(-1).long()
        if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= self.num_envs):
            bad = ids[(ids < 0) | (ids >= self.num_envs)]
            raise IndexError(f"MjwarpBackend: env ids {bad[:5].tolist()} outside [0, {self.num_envs})")
        return ids

    def _t(self, x: Tensor, shape: tuple[int, ...], what: str) -> Tensor:
        t = torch.as_tensor(x).to(self.device, torch.float32)
        if tuple(t.shape) != shape:
            raise ValueError(f"MjwarpBackend: {what} has shape {tuple(t.shape)}, expected {shape}")
        return t

    # ------------------------------------------------------------------ SimBackend
    def step(self, joint_targets: Tensor) -> None:
        targets = self._t(joint_targets, (self.num_envs, self._nj), "joint_targets")
        finite = torch.isfinite(targets).all(dim=1)
        if not bool(finite.all()):
            bad = torch.nonzero(~finite).reshape(-1)[:5].tolist()
            raise ValueError(f"MjwarpBackend: non-finite joint_targets in envs {bad}")
        self._d["ctrl"].copy_(targets)
        self._launch(lambda: self._replay("policy_step", self._policy_step))
        self._raise_on_overflow()
        self._state = None

    def get_state(self) -> SimState:
        if self._state is None:
            self._state = self._build_state()
        return self._state

    def _build_state(self) -> SimState:
        """Fresh float32 tensors on ``device`` (not views: the next step overwrites the Warp arrays)."""
        d = self._d
        qpos, qvel = d["qpos"], d["qvel"]
        xpos, cvel = d["xpos"][:, 1:], d["cvel"][:, 1:]
        ang, lin_com = cvel[..., :3], cvel[..., 3:]
        r = xpos - d["subtree_com"][:, 1:2]  # from the root subtree com to each body origin
        lin = lin_com + torch.cross(ang, r, dim=-1)  # velocity of the body origin
        return SimState(
            root_pos=qpos[:, 0:3].clone(),
            root_quat=qpos[:, 3:7].clone(),
            root_lin_vel=qvel[:, 0:3].clone(),
            root_ang_vel=ang[:, 0].clone(),
            joint_pos=qpos[:, 7:].clone(),
            joint_vel=qvel[:, 6:].clone(),
            body_pos=xpos.clone(),
            body_quat=d["xquat"][:, 1:].clone(),
            body_lin_vel=lin,
            body_ang_vel=ang.clone(),
            contact_forces=d["cfrc_ext"][:, 1:, 3:].clone(),
            joint_torque=d["actuator_force"].clone(),
        )

    def reset_envs(
        self,
        env_ids: Tensor,
        root_pos: Tensor,
        root_quat: Tensor,
        root_lin_vel: Tensor,
        root_ang_vel: Tensor,
        joint_pos: Tensor,
        joint_vel: Tensor,
    ) -> None:
        ids = self._ids(env_ids)
        n, nj = len(ids), self._nj
        if n == 0:
            return
        quat = quat_normalize(self._t(root_quat, (n, 4), "root_quat"))
        ang_local = quat_rotate_inverse(quat, self._t(root_ang_vel, (n, 3), "root_ang_vel"))
        jpos = self._t(joint_pos, (n, nj), "joint_pos")
        d = self._d
        d["qpos"][ids] = torch.cat([self._t(root_pos, (n, 3), "root_pos"), quat, jpos], dim=1)
        d["qvel"][ids] = torch.cat(
            [
                self._t(root_lin_vel, (n, 3), "root_lin_vel"),
                ang_local,
                self._t(joint_vel, (n, nj), "joint_vel"),
            ],
            dim=1,
        )
        d["ctrl"][ids] = jpos
        for k in ("qacc_warmstart", "qfrc_applied", "xfrc_applied", "time"):  # as mj_resetData
            d[k][ids] = 0.0
        self._refresh(ids)

    def push(self, env_ids: Tensor, root_lin_vel_delta: Tensor) -> None:
        ids = self._ids(env_ids)
        if len(ids) == 0:
            return
        self._d["qvel"][ids, 0:3] += self._t(root_lin_vel_delta, (len(ids), 3), "root_lin_vel_delta")
        self._refresh(ids)

    def set_physics_params(self, env_ids: Tensor, params: PhysicsParams) -> None:
        ids = self._ids(env_ids)
        n, nb, nj = len(ids), self._nb, self._nj
        if n == 0:
            return
        fr = self._t(params.friction, (n,), "friction")
        mass = self._t(params.body_mass_scale, (n, nb), "body_mass_scale")
        com = self._t(params.torso_com_offset, (n, 3), "torso_com_offset")
        kp = self._t(params.kp_scale, (n, nj), "kp_scale")
        kd = self._t(params.kd_scale, (n, nj), "kd_scale")
        noise = self._t(params.torque_noise, (n, nj), "torque_noise")
        nom, m = self._nominal, self._m
        friction = nom["geom_friction"].expand(n, -1, -1).clone()
        friction[..., 0] = fr[:, None]
        body_mass = nom["body_mass"].expand(n, -1).clone()
        body_mass[:, 1:] *= mass
        inertia = nom["body_inertia"].expand(n, -1, -1).clone()
        inertia[:, 1:] *= mass[..., None]
        ipos = nom["body_ipos"].expand(n, -1, -1).clone()
        ipos[:, self._torso_id] += com
        gain = nom["actuator_gainprm"].expand(n, -1, -1).clone()
        gain[..., 0] *= kp
        bias = nom["actuator_biasprm"].expand(n, -1, -1).clone()
        bias[..., 0] = noise
        bias[..., 1] *= kp
        bias[..., 2] *= kd
        inertial_changed = not (
            torch.equal(m["body_mass"][ids], body_mass)
            and torch.equal(m["body_inertia"][ids], inertia)
            and torch.equal(m["body_ipos"][ids], ipos)
        )
        for name, value in (
            ("geom_friction", friction),
            ("body_mass", body_mass),
            ("body_inertia", inertia),
            ("body_ipos", ipos),
            ("actuator_gainprm", gain),
            ("actuator_biasprm", bias),
        ):
            m[name][ids] = value
        if inertial_changed:  # subtree masses, inverse weights, actuator_acc0 (as mj_setConst)
            groups = mjw.SetConstGroup.FIXED | mjw.SetConstGroup.INERT0
            fn = lambda: mjw.set_const(self.mjw_model, self.mjw_data, groups=groups)  # noqa: E731
            self._launch(lambda: self._replay("set_const", fn))
        self._refresh(ids)

    def close(self) -> None:
        self._graphs.clear()
