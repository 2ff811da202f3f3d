"""Reference following: the reference dragged along horizontally with the robot (``TrackingEnvConfig.reference_follows_robot``).

A pure function on batched tensors; :class:`~hover.envs.tracking.env.TrackingEnv` keeps the per-env
shift and applies it to the reference each step.
"""

from __future__ import annotations

from torch import Tensor


def follow_offset(
    offset: Tensor, ref_root_pos: Tensor, robot_root_pos: Tensor, on: Tensor, slack_m: float
) -> Tensor:
    """The reference's new shift [N, 3] (m, world; z stays 0): where ``on`` [N] and the robot's root is
    more than ``slack_m`` (horizontal) from the shifted reference root, the shift grows by the excess, so
    the robot is then exactly ``slack_m`` from it; elsewhere it is kept."""
    gap = robot_root_pos[:, :2] - (ref_root_pos[:, :2] + offset[:, :2])
    dist = gap.norm(dim=1, keepdim=True)
    excess = gap * (1.0 - slack_m / dist.clamp(min=1e-9)).clamp(min=0.0)
    out = offset.clone()
    out[:, :2] += excess * on.unsqueeze(1)
    return out
