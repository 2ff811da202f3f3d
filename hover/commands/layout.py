"""The student's unified command vector and its mask: layout generated from a RobotSpec.

One command vector ``c`` and one mask ``m`` (HOVER, arXiv 2410.21229, Sec. "Command space"):

=========  =====================  ==============  =====================================================
part       command columns (H1)   mask index      meaning (units, frame)
=========  =====================  ==============  =====================================================
bodies     [0, 3B)   = [0, 69)    [0, B)          per tracked body (``robot.tracked_body_names``, B=23):
                                                  reference body position minus the robot's current
                                                  root position, in the robot's heading (yaw-only)
                                                  frame; x, y, z per body, body-major; m
joints     [3B, 3B+J) = [69, 88)  [B, B+J)        per joint (``robot.joint_names``, J=19): reference
                                                  angle minus the robot's current angle; rad
root       [3B+J, +7) = [88, 95)  [B+J, B+J+7)    lin_vel_x, lin_vel_y, lin_vel_z (reference root
                                                  linear velocity in the reference root frame, m/s),
                                                  roll, pitch (of the reference root, rad),
                                                  yaw_delta (wrap(ref yaw - robot yaw), rad),
                                                  height (reference pelvis height above z=0, m)
=========  =====================  ==============  =====================================================

Command length 3B + J + 7 = 95 and mask length B + J + 7 = 49 for the H1. A body's one mask bit
covers its three command columns (:func:`expand_mask`); the masked command is ``c * expand_mask(m)``
(:func:`apply_mask`), so masked-out columns are exactly zero.

Joint commands are the *difference* ref - current (as in the public HOVER code): the values are
zero-centred and small like the body commands, and a real robot computes them from its encoders just
as easily as the absolute angle; ``apply_mask`` keeps masked joints at exactly 0 either way.

Regions (upper / lower, for the paper's per-region mask sampling), taken from the RobotSpec:
- joints: ``robot.upper_body_joints`` are upper, every other joint is lower;
- real bodies: upper when the body's own joint or an ancestor's joint is an upper-body joint
  (torso, arms), else lower (pelvis, legs);
- extended bodies: the region of their parent body, except that a point attached to the floating
  root *above* it (positive z offset, e.g. the H1 ``head_link``) is upper;
- root commands: lower.

``hover commands layout`` prints this table for a robot (:func:`format_layout_table`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from hover.robots import DEFAULT_ROBOT, RobotSpec, get_robot

Kind = Literal["body", "joint", "root"]
Region = Literal["upper", "lower"]

ROOT_NAMES: tuple[str, ...] = ("lin_vel_x", "lin_vel_y", "lin_vel_z", "roll", "pitch", "yaw_delta", "height")
_ROOT_UNITS = ("m/s", "m/s", "m/s", "rad", "rad", "rad", "m")
_ROOT_FRAMES = (
    "ref root",
    "ref root",
    "ref root",
    "ref root (euler xyz)",
    "ref root (euler xyz)",
    "wrap(ref - robot)",
    "world z",
)


@dataclass(frozen=True)
class Element:
    """One mask element and the command columns it gates."""

    index: int  # position in the mask
    name: str  # "body:<body>", "joint:<joint>" or "root:<root name>"
    kind: Kind
    region: Region
    start: int  # first command column
    stop: int  # one past the last command column
    unit: str
    frame: str

    @property
    def columns(self) -> slice:
        return slice(self.start, self.stop)


@dataclass(frozen=True)
class CommandLayout:
    """Command and mask layout of one robot (see the module docstring for the table)."""

    robot_name: str
    body_names: tuple[str, ...]
    joint_names: tuple[str, ...]
    elements: tuple[Element, ...]

    @property
    def num_bodies(self) -> int:
        return len(self.body_names)

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def num_root(self) -> int:
        return len(ROOT_NAMES)

    @property
    def mask_dim(self) -> int:
        return len(self.elements)

    @property
    def command_dim(self) -> int:
        return self.elements[-1].stop

    # command column slices
    @property
    def body_columns(self) -> slice:
        return slice(0, 3 * self.num_bodies)

    @property
    def joint_columns(self) -> slice:
        return slice(3 * self.num_bodies, 3 * self.num_bodies + self.num_joints)

    @property
    def root_columns(self) -> slice:
        start = 3 * self.num_bodies + self.num_joints
        return slice(start, start + self.num_root)

    # mask index slices
    @property
    def body_mask(self) -> slice:
        return slice(0, self.num_bodies)

    @property
    def joint_mask(self) -> slice:
        return slice(self.num_bodies, self.num_bodies + self.num_joints)

    @property
    def root_mask(self) -> slice:
        return slice(self.num_bodies + self.num_joints, self.mask_dim)

    @property
    def element_names(self) -> list[str]:
        return [e.name for e in self.elements]

    @property
    def command_names(self) -> list[str]:
        """One name per command column: ``body:<name>:x|y|z``, ``joint:<name>``, ``root:<name>``."""
        names: list[str] = []
        for e in self.elements:
            names += [f"{e.name}:{a}" for a in "xyz"] if e.kind == "body" else [e.name]
        return names

    def element(self, name: str) -> Element:
        for e in self.elements:
            if e.name == name:
                return e
        raise KeyError(f"{self.robot_name} command layout has no element {name!r}")

    def body_index(self, body: str) -> int:
        try:
            return self.body_names.index(body)
        except ValueError:
            raise KeyError(f"{self.robot_name} command layout has no tracked body {body!r}") from None

    def select(self, region: Region | None = None, kind: Kind | None = None) -> Tensor:
        """Boolean [mask_dim] selecting the elements of a region and/or kind."""
        return torch.tensor(
            [
                (region is None or e.region == region) and (kind is None or e.kind == kind)
                for e in self.elements
            ]
        )

    def mask_from_names(
        self,
        names: list[str] | tuple[str, ...],
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> Tensor:
        """[mask_dim] mask with exactly the named elements on (names as in ``element_names``)."""
        mask = torch.zeros(self.mask_dim, dtype=dtype, device=device)
        for n in names:
            mask[self.element(n).index] = 1
        return mask


def _upper_bodies(robot: RobotSpec) -> set[str]:
    upper_joints = set(robot.upper_body_joints)
    parents = {b.name: b.parent for b in robot.bodies}
    joint_of = {b.name: (b.joint.name if b.joint is not None else None) for b in robot.bodies}
    upper: set[str] = set()
    for name in robot.body_names:
        node: str | None = name
        while node is not None:
            if joint_of[node] in upper_joints:
                upper.add(name)
                break
            node = parents[node]
    for e in robot.extended_bodies:
        if e.parent in upper or (e.parent == robot.root.name and e.pos[2] > 0.0):
            upper.add(e.name)
    return upper


def command_layout(robot: RobotSpec | str = DEFAULT_ROBOT) -> CommandLayout:
    """Build the layout of ``robot`` (a RobotSpec or a registered robot name)."""
    if isinstance(robot, str):
        robot = get_robot(robot)
    upper_bodies = _upper_bodies(robot)
    upper_joints = set(robot.upper_body_joints)
    elements: list[Element] = []
    col = 0
    for name in robot.tracked_body_names:
        region: Region = "upper" if name in upper_bodies else "lower"
        elements.append(Element(len(elements), f"body:{name}", "body", region, col, col + 3, "m",
                                "robot heading, rel. robot root"))  # fmt: skip
        col += 3
    for name in robot.joint_names:
        region = "upper" if name in upper_joints else "lower"
        elements.append(
            Element(len(elements), f"joint:{name}", "joint", region, col, col + 1, "rad", "ref - robot")
        )
        col += 1
    for name, unit, frame in zip(ROOT_NAMES, _ROOT_UNITS, _ROOT_FRAMES, strict=True):
        elements.append(Element(len(elements), f"root:{name}", "root", "lower", col, col + 1, unit, frame))
        col += 1
    return CommandLayout(
        robot.name, tuple(robot.tracked_body_names), tuple(robot.joint_names), tuple(elements)
    )


def expand_mask(mask: Tensor, layout: CommandLayout) -> Tensor:
    """[..., mask_dim] -> [..., command_dim]: each body bit repeated over its x, y, z columns."""
    if mask.shape[-1] != layout.mask_dim:
        raise ValueError(
            f"mask has {mask.shape[-1]} elements, the {layout.robot_name} layout has {layout.mask_dim}"
        )
    b = layout.num_bodies
    return torch.cat((mask[..., :b].repeat_interleave(3, dim=-1), mask[..., b:]), dim=-1)


def apply_mask(command: Tensor, mask: Tensor, layout: CommandLayout) -> Tensor:
    """Masked command ``command * expand_mask(mask)``; masked-out columns are exactly 0."""
    if command.shape[-1] != layout.command_dim:
        raise ValueError(
            f"command has {command.shape[-1]} columns, the {layout.robot_name} layout has {layout.command_dim}"
        )
    keep = expand_mask(mask, layout).to(command.dtype)
    return torch.where(keep != 0, command, torch.zeros_like(command))


def format_layout_table(layout: CommandLayout) -> str:
    """The layout as a plain-text table: one row per mask element."""
    header = f"{'mask':>4}  {'columns':>9}  {'element':<32} {'kind':<5} {'region':<6} {'unit':<4} frame"
    rows = [
        f"{layout.robot_name}: command length {layout.command_dim}, mask length {layout.mask_dim} "
        f"({layout.num_bodies} bodies x 3 + {layout.num_joints} joints + {layout.num_root} root)",
        header,
        "-" * len(header),
    ]
    for e in layout.elements:
        cols = f"{e.start}" if e.stop == e.start + 1 else f"{e.start}:{e.stop}"
        rows.append(f"{e.index:>4}  {cols:>9}  {e.name:<32} {e.kind:<5} {e.region:<6} {e.unit:<4} {e.frame}")
    return "\n".join(rows)
