"""A contiguous range of MuJoCo worlds (envs ``[start, stop)``) and the worker process that can own it.

:class:`MujocoWorlds` holds one ``MjData`` per env (and a per-env ``MjModel`` copy only for envs
whose physics parameters differ from the compiled model), steps them and copies their raw read-out
into rows of shared row buffers (one row per env, MuJoCo's float64 layout). The same class runs
inside the backend's own thread pool or inside a worker process (:func:`worker_main`) whose row
buffers live in shared memory, so the GIL never serialises the worlds of different cores.

Step timing (see ``mujoco.py``): ``mj_step2`` finishes the physics step prepared at the end of the
previous policy step, then ``decimation - 1`` full ``mj_step``, then ``mj_rnePostConstraint`` (contact
forces) and ``mj_step1`` (kinematics and velocities of the new state, reused by the next step).
"""

from __future__ import annotations

import copy
import signal
import traceback
from multiprocessing import shared_memory
from typing import Any

import mujoco
import numpy as np

#: raw read-out arrays per env: name -> shape per env (nq, nv, nb = bodies without the world, nu)
BUFFER_SHAPES = {
    "qpos": lambda m, nb, nu: (m.nq,),
    "qvel": lambda m, nb, nu: (m.nv,),
    "xpos": lambda m, nb, nu: (nb, 3),
    "xquat": lambda m, nb, nu: (nb, 4),
    "cvel": lambda m, nb, nu: (nb, 6),
    "com": lambda m, nb, nu: (3,),
    "cfrc": lambda m, nb, nu: (nb, 6),
    "torque": lambda m, nb, nu: (nu,),
    "ctrl": lambda m, nb, nu: (nu,),
}


def buffer_layout(model: mujoco.MjModel, num_envs: int) -> dict[str, tuple[tuple[int, ...], int]]:
    """name -> (array shape [num_envs, ...], byte offset) of the row buffers in one flat block."""
    nb, nu = model.nbody - 1, model.nu
    layout, offset = {}, 0
    for name, shape_fn in BUFFER_SHAPES.items():
        shape = (num_envs, *shape_fn(model, nb, nu))
        layout[name] = (shape, offset)
        offset += int(np.prod(shape)) * 8
    return layout


def buffer_bytes(model: mujoco.MjModel, num_envs: int) -> int:
    return sum(int(np.prod(s)) * 8 for s, _ in buffer_layout(model, num_envs).values())


def buffer_views(
    block: memoryview | bytearray, model: mujoco.MjModel, num_envs: int
) -> dict[str, np.ndarray]:
    """float64 views of the row buffers inside ``block`` (shared memory or a plain bytearray)."""
    return {
        name: np.ndarray(shape, dtype=np.float64, buffer=block, offset=offset)
        for name, (shape, offset) in buffer_layout(model, num_envs).items()
    }


def param_fields(
    base: mujoco.MjModel,
    torso_id: int,
    friction: float,
    mass: np.ndarray,
    com: np.ndarray,
    kp: np.ndarray,
    kd: np.ndarray,
    noise: np.ndarray,
) -> dict[str, np.ndarray]:
    """The model arrays that realise one env's physics parameters, computed from the nominal model.

    friction: sliding friction of every geom; mass [nb]: body mass and inertia scales; com [3]: torso
    centre-of-mass offset (m, body frame); kp/kd [nu]: actuator gain and bias scales; noise [nu]:
    constant torque (N m) as the actuator bias constant, so it is clipped with the PD torque.
    """
    geom_friction = base.geom_friction.copy()
    geom_friction[:, 0] = friction
    body_mass = base.body_mass.copy()
    body_mass[1:] *= mass
    body_inertia = base.body_inertia.copy()
    body_inertia[1:] *= mass[:, None]
    body_ipos = base.body_ipos.copy()
    body_ipos[torso_id] += com
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


class MujocoWorlds:
    """Envs ``[start, stop)`` of a batch; ``buffers`` are the full row buffers (all envs)."""

    def __init__(
        self,
        model: mujoco.MjModel,
        start: int,
        stop: int,
        buffers: dict[str, np.ndarray],
        decimation: int,
        torso_id: int,
    ) -> None:
        self.model, self.start, self.stop = model, start, stop
        self.decimation, self.torso_id = decimation, torso_id
        self.models: list[mujoco.MjModel] = [model] * (stop - start)
        self.datas = [mujoco.MjData(model) for _ in range(stop - start)]
        self.scratch = mujoco.MjData(model)  # workspace for mj_setConst
        self.ctrl = buffers["ctrl"]
        self.views = [self._views(i, buffers) for i in range(stop - start)]
        for k in range(stop - start):
            mujoco.mj_resetDataKeyframe(model, self.datas[k], 0)
            self.refresh(k)

    def _views(self, k: int, b: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        d, i = self.datas[k], self.start + k
        return [
            (b["qpos"][i], d.qpos),
            (b["qvel"][i], d.qvel),
            (b["xpos"][i], d.xpos[1:]),
            (b["xquat"][i], d.xquat[1:]),
            (b["cvel"][i], d.cvel[1:]),
            (b["com"][i], d.subtree_com[1]),
            (b["cfrc"][i], d.cfrc_ext[1:]),
            (b["torque"][i], d.actuator_force),
        ]

    def refresh(self, k: int) -> None:
        """Recompute local env ``k``'s derived quantities after its state or model changed; copy them out."""
        m, d = self.models[k], self.datas[k]
        mujoco.mj_forward(m, d)
        mujoco.mj_rnePostConstraint(m, d)
        for dst, src in self.views[k]:
            np.copyto(dst, src)

    def step(self) -> None:
        """One policy step of every env with the targets in the ``ctrl`` rows."""
        extra = self.decimation - 1
        step1, step2, step, rne = (
            mujoco.mj_step1,
            mujoco.mj_step2,
            mujoco.mj_step,
            mujoco.mj_rnePostConstraint,
        )
        ctrl, copyto = self.ctrl, np.copyto
        for k in range(self.stop - self.start):
            m, d = self.models[k], self.datas[k]
            copyto(d.ctrl, ctrl[self.start + k])
            step2(m, d)
            if extra:
                step(m, d, nstep=extra)
            rne(m, d)  # cfrc_ext from the last physics step's contacts
            step1(m, d)  # kinematics and velocities of the new state (reused by the next mj_step2)
            for dst, src in self.views[k]:
                copyto(dst, src)

    def reset(self, ids: list[int], qpos: np.ndarray, qvel: np.ndarray) -> None:
        """Teleport global env ids (all inside this range) to rows of ``qpos``/``qvel``."""
        for row, i in enumerate(ids):
            k = i - self.start
            m, d = self.models[k], self.datas[k]
            mujoco.mj_resetData(m, d)  # clears warm start, time, applied forces: a reset is reproducible
            d.qpos[:] = qpos[row]
            d.qvel[:] = qvel[row]
            d.ctrl[:] = qpos[row, 7:]
            self.refresh(k)

    def push(self, ids: list[int], dv: np.ndarray) -> None:
        for row, i in enumerate(ids):
            k = i - self.start
            self.datas[k].qvel[0:3] += dv[row]  # free-joint linear velocity is world frame
            self.refresh(k)

    def set_params(self, ids: list[int], rows: list[tuple]) -> None:
        """Per env id a tuple (friction, mass, com, kp, kd, noise) as for :func:`param_fields`."""
        base = self.model
        for i, row in zip(ids, rows, strict=True):
            k = i - self.start
            fields = param_fields(base, self.torso_id, *row)
            if all(np.array_equal(getattr(base, name), value) for name, value in fields.items()):
                self.models[k] = base
            else:
                if self.models[k] is base:
                    self.models[k] = copy.copy(base)
                m = self.models[k]
                for name, value in fields.items():
                    getattr(m, name)[:] = value
                mujoco.mj_setConst(m, self.scratch)  # subtree masses, invweights etc. after mass changes
            self.refresh(k)


def worker_main(
    conn: Any,
    shm_name: str,
    model: mujoco.MjModel,
    num_envs: int,
    start: int,
    stop: int,
    decimation: int,
    torso_id: int,
) -> None:
    """Worker process: own envs [start, stop) with row buffers in shared memory ``shm_name``.

    Commands arrive as ``(name, args)`` on ``conn``: ``step``, ``reset``, ``push``, ``set_params``,
    ``close``; each is answered ``None`` or an error string (the traceback) once done.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop (it sends "close")
    shm = shared_memory.SharedMemory(name=shm_name)
    worlds = None
    try:
        assert shm.buf is not None  # None only after close
        worlds = MujocoWorlds(
            model, start, stop, buffer_views(shm.buf, model, num_envs), decimation, torso_id
        )
        conn.send(None)
        while True:
            name, args = conn.recv()
            if name == "close":
                conn.send(None)
                break
            try:
                getattr(worlds, name)(*args)
                conn.send(None)
            except Exception:  # noqa: BLE001 - reported to the parent, which raises it
                conn.send(traceback.format_exc())
    except (EOFError, KeyboardInterrupt):
        return  # the parent closed its end of the pipe: nothing left to serve (clean-up below)
    finally:
        del worlds
        shm.close()
