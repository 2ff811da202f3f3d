"""Simulator backends behind one interface (``base.SimBackend``); concrete backends are imported lazily."""

from __future__ import annotations

from typing import Any

import torch

from hover.envs.backends.base import PhysicsParams, SimBackend, SimState
from hover.robots import RobotSpec

BACKENDS = ("mujoco", "mjwarp")

__all__ = ["BACKENDS", "PhysicsParams", "SimBackend", "SimState", "make_backend"]


def make_backend(
    name: str, robot: RobotSpec, num_envs: int, device: str | torch.device = "cpu", **options: Any
) -> SimBackend:
    """Create backend ``name`` with ``num_envs`` worlds of ``robot``.

    ``mujoco``: MuJoCo CPU, options ``num_threads`` and ``model_options`` (see ``MujocoBackend``).
    ``mjwarp``: MuJoCo Warp (``device`` cuda or cpu), options ``model_options``, ``nconmax``, ``njmax``,
    ``use_graph``, ``check_overflow`` (see ``MjwarpBackend``); needs the ``gpu`` extra.
    """
    if name == "mujoco":
        from hover.envs.backends.mujoco import MujocoBackend

        return MujocoBackend(robot, num_envs, device=device, **options)
    if name == "mjwarp":
        from hover.envs.backends.mjwarp import MjwarpBackend

        return MjwarpBackend(robot, num_envs, device=device, **options)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
