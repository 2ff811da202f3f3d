"""MuJoCo CPU backend: N independent ``MjData`` stepped in parallel by a thread pool.

Physics (see ``hover.robots.mjcf``): the model's actuators are position servos with
``forcerange = ±effort_limit``, so ``ctrl = target`` makes MuJoCo evaluate the PD law and clip the
torque at every physics step, inside ``mj_step``; a policy step is ``decimation`` physics steps with
no Python in between. ``mj_step`` releases the GIL, so threads run envs truly in parallel; each
thread owns one contiguous chunk of envs and, right after stepping an env, copies its raw
read-out into preallocated numpy buffers (one row per env).

Parallelism: envs are split into contiguous chunks (:class:`~hover.envs.backends.mujoco_worlds.MujocoWorlds`),
one per core. With ``processes=True`` each chunk lives in a worker process and the raw read-out rows
sit in shared memory, so the GIL never serialises the cores (the default for training); otherwise
the chunks run in a thread pool (``mj_step`` releases the GIL, the Python between calls does not).
With one thread everything runs in the calling process.

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

import contextlib
import multiprocessing as mp
import os
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import shared_memory

import mujoco
import numpy as np
import torch
from torch import Tensor

from hover.envs.backends.base import PhysicsParams, SimBackend, SimState
from hover.envs.backends.mujoco_worlds import (
    MujocoWorlds,
    buffer_bytes,
    buffer_views,
    param_fields,
    worker_main,
)
from hover.robots import RobotSpec
from hover.robots.mjcf import ModelOptions, build_model
from hover.rotations import quat_normalize, quat_rotate_inverse


def _chunks(n: int, parts: int) -> list[tuple[int, int]]:
    """Split range(n) into ``parts`` contiguous (start, stop) ranges of near-equal size."""
    bounds = np.linspace(0, n, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


class WorkerError(RuntimeError):
    """A MuJoCo worker process failed; the message holds its traceback."""


class _WorkerPool:
    """Worker processes, one per chunk, each owning its envs' MjData (see ``mujoco_worlds``)."""

    def __init__(
        self,
        model: mujoco.MjModel,
        chunks: list[tuple[int, int]],
        shm_name: str,
        num_envs: int,
        decimation: int,
        torso_id: int,
    ) -> None:
        # fork: a worker runs only MuJoCo and numpy (never torch, so the parent's OpenMP threads do not
        # matter) and, unlike spawn, it does not re-import the user's __main__ script.
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self.chunks = chunks
        self.conns, self.procs = [], []
        for a, b in chunks:
            parent, child = ctx.Pipe()
            p = ctx.Process(  # type: ignore[attr-defined]  # typeshed's BaseContext lacks Process
                target=worker_main,
                args=(child, shm_name, model, num_envs, a, b, decimation, torso_id),
                daemon=True,
                name=f"mujoco-{a}-{b}",
            )
            p.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(p)
        self._collect(range(len(chunks)))

    def _collect(self, which) -> None:
        errors = []
        for w in which:
            try:
                reply = self.conns[w].recv()
            except EOFError:
                reply = f"worker {self.procs[w].name} exited (code {self.procs[w].exitcode})"
            if reply is not None:
                errors.append(reply)
        if errors:
            raise WorkerError("MuJoCo worker failed:\n" + "\n".join(errors))

    def call_all(self, name: str) -> None:
        for c in self.conns:
            c.send((name, ()))
        self._collect(range(len(self.conns)))

    def call_ids(self, name: str, ids: list[int], *rows) -> None:
        """Send each worker the ids of its own chunk with the matching rows of every array/list in ``rows``."""
        busy = []
        for w, (a, b) in enumerate(self.chunks):
            sel = [k for k, i in enumerate(ids) if a <= i < b]
            if not sel:
                continue
            args = (
                [ids[k] for k in sel],
                *[r[sel] if isinstance(r, np.ndarray) else [r[k] for k in sel] for r in rows],
            )
            self.conns[w].send((name, args))
            busy.append(w)
        self._collect(busy)

    def close(self) -> None:
        for c, p in zip(self.conns, self.procs, strict=True):
            with contextlib.suppress(EOFError, BrokenPipeError, OSError):  # a worker already gone
                if p.is_alive():
                    c.send(("close", ()))
                    c.recv()
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
            c.close()
        self.conns, self.procs = [], []


class MujocoBackend(SimBackend):
    """``num_envs`` worlds of ``robot`` on MuJoCo CPU; see the module docstring for timing and frames.

    ``num_threads``: parallel chunks (None = ``os.cpu_count()``, capped at ``num_envs``);
    ``processes``: chunks in worker processes with shared-memory read-out instead of threads;
    ``model_options`` are passed to ``hover.robots.mjcf.build_model``. State tensors are float32 on
    ``device``.
    """

    def __init__(
        self,
        robot: RobotSpec,
        num_envs: int,
        device: str | torch.device = "cpu",
        num_threads: int | None = None,
        model_options: ModelOptions | None = None,
        processes: bool = False,
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
        self.processes = processes and self.num_threads > 1
        self._chunks = _chunks(num_envs, self.num_threads)
        self._nb, self._nj = robot.num_bodies, robot.num_joints
        torso = robot.imu_body or robot.root.name
        self._torso_id = robot.body_names.index(torso) + 1
        self._state: SimState | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._workers: _WorkerPool | None = None
        self._shm: shared_memory.SharedMemory | None = None
        self._worlds: list[MujocoWorlds] = []
        size = buffer_bytes(self.model, num_envs)
        if self.processes:
            self._shm = shared_memory.SharedMemory(create=True, size=size)
            assert self._shm.buf is not None  # None only after close
            self._buf = buffer_views(self._shm.buf, self.model, num_envs)
            self._workers = _WorkerPool(
                self.model, self._chunks, self._shm.name, num_envs, self.decimation, self._torso_id
            )
        else:
            self._buf = buffer_views(bytearray(size), self.model, num_envs)
            self._worlds = [
                MujocoWorlds(self.model, a, b, self._buf, self.decimation, self._torso_id)
                for a, b in self._chunks
            ]
            if len(self._worlds) > 1:
                self._pool = ThreadPoolExecutor(len(self._worlds), "mujoco")
        self._ctrl: np.ndarray | None = self._buf["ctrl"]  # None once closed

    # ------------------------------------------------------------------ internals
    def _world_of(self, env_id: int) -> tuple[MujocoWorlds, int]:
        for w in self._worlds:
            if w.start <= env_id < w.stop:
                return w, env_id - w.start
        raise RuntimeError("MujocoBackend: per-env MuJoCo objects live in worker processes (processes=True)")

    def _ids(self, env_ids: Tensor) -> list[int]:
        ids = torch.as_tensor(env_ids).reshape(-1).tolist()
        bad = [i for i in ids if not 0 <= i < self.num_envs]
        if bad:
            raise IndexError(f"MujocoBackend: env ids {bad[:5]} outside [0, {self.num_envs})")
        return ids

    def _per_chunk(self, name: str, ids: list[int], *rows) -> None:
        """Run ``MujocoWorlds.<name>(ids, *rows)`` on the chunks that own the ids."""
        if self._workers is not None:
            self._workers.call_ids(name, ids, *rows)
        else:
            for w in self._worlds:
                sel = [k for k, i in enumerate(ids) if w.start <= i < w.stop]
                if sel:
                    args = [r[sel] if isinstance(r, np.ndarray) else [r[k] for k in sel] for r in rows]
                    getattr(w, name)([ids[k] for k in sel], *args)
        self._state = None

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
        assert self._ctrl is not None, "MujocoBackend: closed"
        np.copyto(self._ctrl, targets)
        if self._workers is not None:
            self._workers.call_all("step")
        elif self._pool is None:
            self._worlds[0].step()
        else:
            for f in [self._pool.submit(w.step) for w in self._worlds]:
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
        self._per_chunk("reset", ids, qpos, qvel)

    def push(self, env_ids: Tensor, root_lin_vel_delta: Tensor) -> None:
        ids = self._ids(env_ids)
        dv = self._np(root_lin_vel_delta, (len(ids), 3), "root_lin_vel_delta")
        self._per_chunk("push", ids, dv)

    def set_physics_params(self, env_ids: Tensor, params: PhysicsParams) -> None:
        ids = self._ids(env_ids)
        n, nb, nj = len(ids), self._nb, self._nj
        fr = self._np(params.friction, (n,), "friction")
        mass = self._np(params.body_mass_scale, (n, nb), "body_mass_scale")
        com = self._np(params.torso_com_offset, (n, 3), "torso_com_offset")
        kp = self._np(params.kp_scale, (n, nj), "kp_scale")
        kd = self._np(params.kd_scale, (n, nj), "kd_scale")
        noise = self._np(params.torque_noise, (n, nj), "torque_noise")
        rows = [(float(fr[k]), mass[k], com[k], kp[k], kd[k], noise[k]) for k in range(n)]
        self._per_chunk("set_params", ids, rows)

    def param_fields(
        self,
        friction: float,
        mass: np.ndarray,
        com: np.ndarray,
        kp: np.ndarray,
        kd: np.ndarray,
        noise: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """The model arrays that realise one env's PhysicsParams (see ``mujoco_worlds.param_fields``)."""
        return param_fields(self.model, self._torso_id, friction, mass, com, kp, kd, noise)

    # ------------------------------------------------------------------ extras
    def mj_model(self, env_id: int) -> mujoco.MjModel:
        """The MjModel env ``env_id`` runs (shared nominal model or its own copy); for rendering.
        Not available with ``processes=True`` (the models live in the workers)."""
        w, k = self._world_of(env_id)
        return w.models[k]

    def mj_data(self, env_id: int) -> mujoco.MjData:
        """The MjData of env ``env_id`` (read-only use: rendering, debugging); not with ``processes=True``."""
        w, k = self._world_of(env_id)
        return w.datas[k]

    def close(self) -> None:
        """Stop the thread pool or the worker processes and free the shared memory. Safe to call twice."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._workers is not None:
            self._workers.close()
            self._workers = None
        if self._shm is not None:
            self._buf = {}
            self._ctrl = None
            self._state = None
            with contextlib.suppress(BufferError, FileNotFoundError):  # still mapped, or already unlinked
                self._shm.close()
                self._shm.unlink()
            self._shm = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown modules may already be gone
            self.close()
