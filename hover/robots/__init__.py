"""Robot descriptions. ``get_robot("h1")`` returns the one RobotSpec every module reads."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from hover.robots.gains import natural_frequency_gains
from hover.robots.spec import Body, ExtendedBody, Geom, Inertial, Joint, RobotSpec, Site

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "DEFAULT_ROBOT",
    "SIM2SIM_PHYSICS_DT",
    "Body",
    "ExtendedBody",
    "Geom",
    "Inertial",
    "Joint",
    "RobotSpec",
    "Site",
    "get_robot",
    "joint_space_motions",
    "natural_frequency_gains",
    "ROBOTS",
]

ROBOTS = ("h1",)
DEFAULT_ROBOT = "h1"  # the robot every command uses unless told otherwise
SIM2SIM_PHYSICS_DT = (
    0.001  # s: the physics step of sim2sim and hover sim-robot (1 kHz PD; training: RobotSpec.physics_dt)
)


@cache
def get_robot(name: str = DEFAULT_ROBOT) -> RobotSpec:
    """Return the (immutable, cached) description of a robot by name."""
    if name == "h1":
        from hover.robots.h1 import make_h1

        return make_h1()
    raise ValueError(f"unknown robot {name!r}; known robots: {', '.join(ROBOTS)}")


def joint_space_motions(
    name: str, ease_s: float
) -> list[tuple[str, float, Callable[[np.ndarray], dict[str, np.ndarray]]]]:
    """The joint-space test motions of a robot (``hover.motion.builtin.generate_builtin_clips``):
    (clip name, duration s, joint offsets by joint name as a function of time), easing in over ``ease_s`` s."""
    if name == "h1":
        from hover.robots.h1_motions import motions

        return motions(ease_s)
    raise ValueError(f"no joint-space test motions for robot {name!r}; known robots: {', '.join(ROBOTS)}")
