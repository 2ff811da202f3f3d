"""MuJoCo CPU backend: N independent ``MjData`` stepped in parallel by a thread pool.

Physics (see ``hover.robots.mjcf``): the model's actuators are position servos with
``forcerange = ±effort_limit``, so ``ctrl = target`` makes MuJoCo evaluate the PD law and clip the
torque at every physics step, inside ``mj_step``; a policy step is ``decimation`` physics steps with
no Python in between. ``mj_step`` releases the GIL, so threads run envs truly in parallel; each
thread owns one contiguous chunk of envs and, right after stepping an env, copies its raw
read-out into preallocated numpy buffers (one row per env).

Read-out timing: a policy step runs ``mj_step2`` (finishing the physics step whose positions were
computed at the end of the previous policy step), ``decimation - 1`` full ``mj_step``, then
``mj_rnePostConstraint`` and ``mj_step1``. So positions, orientations and velocities of all bodies
are those of the current ``qpos``/``qvel`` (``mj_step1`` computes them, and its work is reused by
the next ``mj_step2``: no extra forward pass), while ``contact_forces`` and ``joint_torque`` are
those solved at the last physics step (one ``physics_dt`` old), as in any simulator.

Frames: everything world frame, quaternions wxyz. Body velocities are of the body frame origin:
MuJoCo's ``cvel`` is a spatial velocity about the root subtree's centre of mass, shifted here to
``xpos`` (``v_origin = v_com + w x (xpos - subtree_com)``), the same as ``mj_objectVelocity`` with
``flg_local=0``. Contact forces are the force part of ``cfrc_ext`` (world frame, N).

Per-env physics parameters (``set_physics_params``) live in a per-env ``MjModel`` copy, made only
for envs whose parameters differ from the compiled model (nominal envs share it):
- ``friction``: sliding friction of every geom (MuJoCo uses the max of a pair, so floor-foot = f);
- ``body_mass_scale``: body mass and inertia; ``mj_setConst`` then refreshes derived constants;
- ``torso_com_offset``: added to the centre of mass of the torso body (``robot.imu_body``, else root);
- ``kp_scale``/``kd_scale``: actuator gain and bias (``gain = kp s``, ``bias = -kp s q - kd s' qdot``);
- ``torque_noise``: the constant term of the actuator bias, so the noise is part of the actuator
  force and the total ``kp (target - q) - kd qdot + noise`` is clipped to the effort limit.
"""

from __future__ import annotations

import copy
import os
from concurrent.futures import ThreadPoolExecutor

import mujoco
import numpy as np
import torch
from torch import Tensor

from hover.envs.backends.base import PhysicsParams, SimBackend, SimState
from hover.robots import RobotSpec
from hover.robots.mjcf import ModelOptions, build_model
from hover.rotations import quat_normalize, quat_rotate_inverse


def _chunks(n: int, parts: int) -> list[tuple[int, int]]:
    """Split range(n) into ``parts`` contiguous (start, stop) ranges of near-equal size."""
    bounds = np.linspace(0, n, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


class MujocoBackend(SimBackend):
    """``num_envs`` worlds of ``robot`` on MuJoCo CPU; see the module docstring for timing and frames.

    ``num_threads`` None = ``os.cpu_count()`` (capped at ``num_envs``); ``model_options`` are passed to
    ``hover.robots.mjcf.build_model``. State tensors are float32 on ``device``.
    """

    def __init__(
        self,
        robot: RobotSpec,
        num_envs: int,
        device: str | torch.device = "cpu",
        num_threads: int | None = None,
        model_options: ModelOptions | None = None,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"MujocoBackend: num_envs must be >= 1, got {num_envs}")
        self.robot = robot
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.model = build_model(robot, model_options)
        self.physics_dt = float(self.model.opt.timestep)
        self.decimation = robot.decimation
        self.num_threads = max(1, min(num_threads or os.cpu_count() or 1, num_envs))
        self._chunks = _chunks(num_envs, self.num_threads)
        self._pool = ThreadPoolExecutor(self.num_threads, "mujoco") if self.num_threads > 1 else None

        nb, nj = robot.num_bodies, robot.num_joints
        self._nb, self._nj = nb, nj
        self._models: list[mujoco.MjModel] = [self.model] * num_envs
        self._datas = [mujoco.MjData(self.model) for _ in range(num_envs)]
        self._scratch = mujoco.MjData(self.model)  # workspace for mj_setConst
        torso = robot.imu_body or robot.root.name
        self._torso_id = robot.body_names.index(torso) + 1

        # Raw read-out buffers (float64, MuJoCo's layout), one row per env.
        f64 = np.float64
        self._ctrl = np.zeros((num_envs, nj), f64)
        self._buf = {
            "qpos": np.zeros((num_envs, self.model.nq), f64),
            "qvel": np.zeros((num_envs, self.model.nv), f64),
            "xpos": np.zeros((num_envs, nb, 3), f64),
            "xquat": np.zeros((num_envs, nb, 4), f64),
            "cvel": np.zeros((num_envs, nb, 6), f64),
            "com": np.zeros((num_envs, 3), f64),
            "cfrc": np.zeros((num_envs, nb, 6), f64),
            "torque": np.zeros((num_envs, nj), f64),
        }
        # Cached views into each MjData (its arrays live as long as the MjData): (dst, src) pairs.
        self._views = [self._make_views(i) for i in range(num_envs)]
        self._state: SimState | None = None

        for i in range(num_envs):
            mujoco.mj_resetDataKeyframe(self.model, self._datas[i], 0)
            self._refresh(i)

    # ------------------------------------------------------------------ internals
    def _make_views(self, i: int) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        d, b = self._datas[i], self._buf
        pairs = [
            (b["qpos"][i], d.qpos),
            (b["qvel"][i], d.qvel),
            (b["xpos"][i], d.xpos[1:]),
            (b["xquat"][i], d.xquat[1:]),
            (b["cvel"][i], d.cvel[1:]),
            (b["com"][i], d.subtree_com[1]),
            (b["cfrc"][i], d.cfrc_ext[1:]),
            (b["torque"][i], d.actuator_force),
        ]
        return d.ctrl, pairs

    def _gather(self, i: int) -> None:
        for dst, src in self._views[i][1]:
            np.copyto(dst, src)

    def _refresh(self, i: int) -> None:
        """Recompute env ``i``'s derived quantities after its state or model changed, and gather them."""
        m, d = self._models[i], self._datas[i]
        mujoco.mj_forward(m, d)
        mujoco.mj_rnePostConstraint(m, d)
        self._gather(i)
        self._state = None

    def _step_chunk(self, start: int, stop: int) -> None:
        extra = self.decimation - 1
        models, datas, views, ctrl = self._models, self._datas, self._views, self._ctrl
        step1, step2, step, rne = (
            mujoco.mj_step1,
            mujoco.mj_step2,
            mujoco.mj_step,
            mujoco.mj_rnePostConstraint,
        )
        for i in range(start, stop):
            m, d = models[i], datas[i]
            d_ctrl, pairs = views[i]
            np.copyto(d_ctrl, ctrl[i])
            step2(m, d)
            if extra:
                step(m, d, nstep=extra)
            rne(m, d)  # cfrc_ext from the last physics step's contacts
            step1(m, d)  # kinematics and velocities of the new state (reused by the next mj_step2)
            for dst, src in pairs:
                np.copyto(dst, src)

    def _ids(self, env_ids: Tensor) -> list[int]:
        ids = torch.as_tensor(env_ids).reshape(-1).tolist()
        bad = [i for i in ids if not 0 <= i < self.num_envs]
        if bad:
            raise IndexError(f"MujocoBackend: env ids {bad[:5]} outside [0, {self.num_envs})")
        return ids

    @staticmethod
    def _np(x: Tensor, shape: tuple[int, ...], what: str) -> np.ndarray:
        a = np.asarray(torch.as_tensor(x).detach().cpu().numpy(), dtype=np.float64)
        if a.shape != shape:
            raise ValueError(f"MujocoBackend: {what} has shape {a.shape}, expected {shape}")
        return a

    # ------------------------------------------------------------------ SimBackend
    def step(self, joint_targets: Tensor) -> None:
        targets = self._np(joint_targets, (self.num_envs, self._nj), "joint_targets")
        if not np.isfinite(targets).all():
            bad = np.flatnonzero(~np.isfinite(targets).all(axis=1))
            raise ValueError(f"MujocoBackend: non-finite joint_targets in envs {bad[:5].tolist()}")
        np.copyto(self._ctrl, targets)
        if self._pool is None:
            self._step_chunk(0, self.num_envs)
        else:
            for f in [self._pool.submit(self._step_chunk, a, b) for a, b in self._chunks]:
                f.result()
        self._state = None

    def get_state(self) -> SimState:
        if self._state is None:
            self._state = self._build_state()
        return self._state

    def _build_state(self) -> SimState:
        """Fresh float32 tensors from the raw buffers. Computed in numpy (single-threaded): torch's
        intra-op threads would compete with the MuJoCo worker threads for the same cores."""
        b = self._buf
        f32 = np.float32
        qpos, qvel, xpos, cvel = b["qpos"], b["qvel"], b["xpos"], b["cvel"]
        ang, lin_com = cvel[..., :3], cvel[..., 3:]
        r = xpos - b["com"][:, None, :]  # from the root subtree com to each body origin
        lin = np.empty_like(lin_com)  # v_origin = v_com + w x r
        lin[..., 0] = lin_com[..., 0] + ang[..., 1] * r[..., 2] - ang[..., 2] * r[..., 1]
        lin[..., 1] = lin_com[..., 1] + ang[..., 2] * r[..., 0] - ang[..., 0] * r[..., 2]
        lin[..., 2] = lin_com[..., 2] + ang[..., 0] * r[..., 1] - ang[..., 1] * r[..., 0]
        arrays = {
            "root_pos": qpos[:, 0:3],
            "root_quat": qpos[:, 3:7],
            "root_lin_vel": qvel[:, 0:3],
            "root_ang_vel": ang[:, 0],
            "joint_pos": qpos[:, 7:],
            "joint_vel": qvel[:, 6:],
            "body_pos": xpos,
            "body_quat": b["xquat"],
            "body_lin_vel": lin,
            "body_ang_vel": ang,
            "contact_forces": b["cfrc"][..., 3:],
            "joint_torque": b["torque"],
        }
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=f32)) for k, v in arrays.items()}
        if self.device.type != "cpu":
            tensors = {k: v.to(self.device) for k, v in tensors.items()}
        return SimState(**tensors)

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
        quat = quat_normalize(torch.as_tensor(root_quat, dtype=torch.float64).reshape(n, 4))
        ang_local = quat_rotate_inverse(
            quat, torch.as_tensor(root_ang_vel, dtype=torch.float64).reshape(n, 3)
        )
        qpos = np.concatenate(
            [self._np(root_pos, (n, 3), "root_pos"), quat.numpy(), self._np(joint_pos, (n, nj), "joint_pos")],
            axis=1,
        )
        qvel = np.concatenate(
            [
                self._np(root_lin_vel, (n, 3), "root_lin_vel"),
                ang_local.numpy(),
                self._np(joint_vel, (n, nj), "joint_vel"),
            ],
            axis=1,
        )
        for k, i in enumerate(ids):
            m, d = self._models[i], self._datas[i]
            mujoco.mj_resetData(m, d)  # clears warm start, time, applied forces: a reset is reproducible
            d.qpos[:] = qpos[k]
            d.qvel[:] = qvel[k]
            d.ctrl[:] = qpos[k, 7:]
            self._refresh(i)

    def push(self, env_ids: Tensor, root_lin_vel_delta: Tensor) -> None:
        ids = self._ids(env_ids)
        dv = self._np(root_lin_vel_delta, (len(ids), 3), "root_lin_vel_delta")
        for k, i in enumerate(ids):
            self._datas[i].qvel[0:3] += dv[k]  # free-joint linear velocity is world frame
            self._refresh(i)

    def set_physics_params(self, env_ids: Tensor, params: PhysicsParams) -> None:
        ids = self._ids(env_ids)
        n, nb, nj = len(ids), self._nb, self._nj
        fr = self._np(params.friction, (n,), "friction")
        mass = self._np(params.body_mass_scale, (n, nb), "body_mass_scale")
        com = self._np(params.torso_com_offset, (n, 3), "torso_com_offset")
        kp = self._np(params.kp_scale, (n, nj), "kp_scale")
        kd = self._np(params.kd_scale, (n, nj), "kd_scale")
        noise = self._np(params.torque_noise, (n, nj), "torque_noise")
        base = self.model
        for k, i in enumerate(ids):
            fields = self._param_fields(fr[k], mass[k], com[k], kp[k], kd[k], noise[k])
            if all(np.array_equal(getattr(base, name), value) for name, value in fields.items()):
                self._models[i] = base
            else:
                if self._models[i] is base:
                    self._models[i] = copy.copy(base)
                m = self._models[i]
                for name, value in fields.items():
                    getattr(m, name)[:] = value
                mujoco.mj_setConst(m, self._scratch)  # subtree masses, invweights etc. after mass changes
            self._refresh(i)

    def _param_fields(
        self,
        friction: float,
        mass: np.ndarray,
        com: np.ndarray,
        kp: np.ndarray,
        kd: np.ndarray,
        noise: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """The model arrays that realise one env's PhysicsParams (computed from the nominal model)."""
        base = self.model
        geom_friction = base.geom_friction.copy()
        geom_friction[:, 0] = friction
        body_mass = base.body_mass.copy()
        body_mass[1:] *= mass
        body_inertia = base.body_inertia.copy()
        body_inertia[1:] *= mass[:, None]
        body_ipos = base.body_ipos.copy()
        body_ipos[self._torso_id] += com
        gain = base.actuator_gainprm.copy()
        gain[:, 0] *= kp
        bias = base.actuator_biasprm.copy()
        bias[:, 0] = noise
        bias[:, 1] *= kp
        bias[:, 2] *= kd
        return {
            "geom_friction": geom_friction,
            "body_mass": body_mass,
            "body_inertia": body_inertia,
            "body_ipos": body_ipos,
            "actuator_gainprm": gain,
            "actuator_biasprm": bias,
        }

    # ------------------------------------------------------------------ extras
    def mj_model(self, env_id: int) -> mujoco.MjModel:
        """The MjModel env ``env_id`` runs (shared nominal model or its own copy); for rendering."""
        return self._models[env_id]

    def mj_data(self, env_id: int) -> mujoco.MjData:
        """The MjData of env ``env_id`` (read-only use: rendering, debugging)."""
        return self._datas[env_id]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)
