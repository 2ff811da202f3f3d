"""Robot descriptions. ``get_robot("h1")`` returns the one RobotSpec every module reads."""

from __future__ import annotations

from functools import cache

from hover.robots.spec import Body, ExtendedBody, Geom, Inertial, Joint, RobotSpec, Site

__all__ = ["DEFAULT_ROBOT", "Body", "ExtendedBody", "Geom", "Inertial", "Joint", "RobotSpec", "Site", "get_robot", "ROBOTS"]

ROBOTS = ("h1",)
DEFAULT_ROBOT = "h1"  # the robot every command uses unless told otherwise


@cache
def get_robot(name: str = DEFAULT_ROBOT) -> RobotSpec:
    """Return the (immutable, cached) description of a robot by name."""
    if name == "h1":
        from hover.robots.h1 import make_h1

        return make_h1()
    raise ValueError(f"unknown robot {name!r}; known robots: {', '.join(ROBOTS)}")
