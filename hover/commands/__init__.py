"""The student's unified command space: layout (from a RobotSpec), named modes and masks, builders."""

from hover.commands.builders import (
    body_commands,
    command_from_joystick,
    command_from_reference,
    command_from_vr,
    integrate_heading,
    root_commands,
    yaw_delta_to_target,
)
from hover.commands.layout import (
    ROOT_NAMES,
    CommandLayout,
    Element,
    apply_mask,
    command_layout,
    expand_mask,
    format_layout_table,
)
from hover.commands.modes import (
    MODE_BITS,
    MODE_NAMES,
    EpisodeMasks,
    MaskSamplerConfig,
    MaskSchedule,
    RandomMasks,
    canonical_mode,
    mask_for_mode,
    mode_elements,
    resolve_modes,
    sample_masks,
    sample_random_masks,
    switch_masks,
)

__all__ = [
    "MODE_BITS", "MODE_NAMES", "ROOT_NAMES", "CommandLayout", "Element", "EpisodeMasks", "MaskSamplerConfig", "MaskSchedule",
    "RandomMasks", "apply_mask", "body_commands", "canonical_mode", "command_from_joystick", "command_from_reference",
    "command_from_vr", "command_layout", "expand_mask", "format_layout_table", "integrate_heading", "mask_for_mode",
    "mode_elements", "resolve_modes", "root_commands", "sample_masks", "sample_random_masks", "switch_masks",
    "yaw_delta_to_target",
]  # fmt: skip
