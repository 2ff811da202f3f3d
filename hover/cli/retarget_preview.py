"""``hover retarget preview``: the human skeleton and the retargeted robot side by side (:mod:`hover.retarget.preview`)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import tyro

from hover.retarget import preview
from hover.retarget.preview import (
    PreviewArgs,
    is_positions_file,
    keypoint_human,
    render_side_by_side,
    smpl_human,
)
from hover.robots import get_robot
from hover.rotations import yaw_from_quat
from hover.video import write_video


def main(argv: list[str], prog: str = "hover retarget preview") -> int:
    a = tyro.cli(PreviewArgs, args=argv, prog=prog, description=preview.__doc__)
    robot = get_robot()
    keypoint_input = Path(a.clip).suffix.lower() == ".bvh" or is_positions_file(Path(a.clip))
    try:
        res, joints, parents, name = (keypoint_human if keypoint_input else smpl_human)(a, robot)
    except (ValueError, OSError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    if not res.clips:
        print(f"{prog}: clip skipped: {res.skipped}", file=sys.stderr)
        return 1
    rc = res.clips[0]
    # `gap` m to the robot's left at the start
    yaw = float(yaw_from_quat(torch.from_numpy(rc.root_quat[0])))
    left = np.array([-np.sin(yaw), np.cos(yaw), 0.0])
    joints[..., :2] += (rc.root_pos[:1, None, :2] - joints[:1, :1, :2]) + a.gap * left[:2]
    qpos = np.concatenate([rc.root_pos, rc.root_quat, rc.joint_pos], 1)
    if a.out.suffix.lower() == ".png":
        idx = np.linspace(0, rc.num_frames - 1, a.strip_frames).round().astype(int).tolist()
    else:
        idx = list(range(rc.num_frames))
    try:
        frames = render_side_by_side(
            robot,
            qpos,
            joints,
            idx,
            a.width,
            a.height,
            title=f"{name}: human (orange), robot",
            parents=parents,
        )
    except RuntimeError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 1
    a.out.parent.mkdir(parents=True, exist_ok=True)
    if a.out.suffix.lower() == ".png":
        import imageio.v2 as imageio

        imageio.imwrite(a.out, np.concatenate(frames, axis=1))
        path = a.out
    else:
        path = write_video(a.out, np.stack(frames), fps=a.fps)
    q = res.quality[0]
    print(
        f"wrote {path} ({len(frames)} frames); keypoint error mean {100 * q.mean_keypoint_error_m:.2f} cm, "
        f"max {100 * q.max_keypoint_error_m:.2f} cm"
    )
    return 0
