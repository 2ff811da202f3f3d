"""Named command modes, the paper's random mask sampling, and run-time mode switching.

Masks are float tensors of 0/1 in the :mod:`hover.commands.layout` order, ``[mask_dim]`` for one mask
or ``[N, mask_dim]`` for a batch of envs.

Named modes (element names from the layout; H1 figures):

==============  ==================================================================  =====
mode            elements on                                                         count
==============  ==================================================================  =====
exbody          upper-body joints (torso, shoulders, elbows) + all root             9+7
humanplus       all joints + all root                                               19+7
h2o             shoulder pitch/roll/yaw, elbow, hand and ankle bodies               12
omnih2o         head + left hand + right hand bodies                                3
left_hand       left hand body                                                      1
right_hand      right hand body                                                     1
two_hands       both hand bodies                                                    2
head            head body                                                           1
locomotion      all root (velocity, roll, pitch, yaw delta, height); "joystick"     7
==============  ==================================================================  =====

``mask_for_mode("all")`` is the union of the named modes; ``resolve_modes("all")`` lists them.
Names accept ``-`` for ``_`` (``left-hand``) and the alias ``joystick`` for ``locomotion``.

Random masks (the paper): per env, one mode bit per (region, command type) -- upper: body, joint;
lower: body, joint, root -- and one sparsity bit per mask element, all Bernoulli(0.5), independent;
element on = its (region, type) mode bit AND its sparsity bit. Sampled at episode start and kept for
the episode. A sampled mask that is all zero is redrawn (both mode and sparsity bits) up to
``max_redraws`` times, i.e. masks are drawn from the distribution conditioned on "not empty"; if
still empty after that (probability ~0.05**max_redraws) the mask becomes one uniformly chosen element.
Consequences (H1, 0.5 rates): P(empty draw) ~= 1/32, so each mode bit is on with rate ~0.516 and each
element with ~0.258; the upper and lower regions are exactly independent given that either one is
non-empty, and overall their mode-bit counts correlate at about -0.086 (the removed all-off draw).

Mode switching inside an episode is replacing an env's mask (:func:`switch_masks`,
:class:`MaskSchedule`); the command itself is unchanged.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import torch
from torch import Tensor

from hover.commands.layout import CommandLayout, command_layout
from hover.robots import DEFAULT_ROBOT, get_robot

MODE_NAMES: tuple[str, ...] = (
    "exbody",
    "humanplus",
    "h2o",
    "omnih2o",
    "left_hand",
    "right_hand",
    "two_hands",
    "head",
    "locomotion",
)
ALIASES = {"joystick": "locomotion"}
RANDOM = "random"

# Mode -> element-name patterns (fnmatch on layout element names). Special token "@upper_joints"; the
# body-command modes (BODY_MODES) take their bodies from the robot's ``RobotSpec.mode_bodies``.
_MODE_PATTERNS: dict[str, tuple[str, ...]] = {
    "exbody": ("@upper_joints", "root:*"),
    "humanplus": ("joint:*", "root:*"),
    "locomotion": ("root:*",),
}
BODY_MODES: tuple[str, ...] = ("h2o", "omnih2o", "left_hand", "right_hand", "two_hands", "head")


def _mode_patterns(mode: str, layout: CommandLayout) -> tuple[str, ...]:
    if mode not in BODY_MODES:
        return _MODE_PATTERNS[mode]
    bodies = get_robot(layout.robot_name).mode_bodies.get(mode)
    if not bodies:
        raise ValueError(
            f"mode {mode}: the {layout.robot_name} description names no bodies for it (mode_bodies)"
        )
    return tuple(f"body:{b}" for b in bodies)


# (region, kind) of each mode bit of the random sampler, in mode-bit column order.
MODE_BITS: tuple[tuple[str, str], ...] = (
    ("upper", "body"),
    ("upper", "joint"),
    ("lower", "body"),
    ("lower", "joint"),
    ("lower", "root"),
)


def canonical_mode(name: str) -> str:
    """Normalise a mode name (``-`` -> ``_``, aliases); raise ValueError for an unknown one."""
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in MODE_NAMES and key != "all":
        raise ValueError(f"unknown command mode {name!r}; choose from {', '.join(MODE_NAMES)}, joystick, all")
    return key


def resolve_modes(spec: str) -> tuple[str, ...]:
    """``"all"`` -> every named mode; ``"omnih2o,h2o"`` -> those (canonical, order kept, no repeats)."""
    out: list[str] = []
    for part in spec.split(","):
        if not part.strip():
            continue
        key = canonical_mode(part)
        for m in MODE_NAMES if key == "all" else (key,):
            if m not in out:
                out.append(m)
    if not out:
        raise ValueError(f"no command mode in {spec!r}")
    return tuple(out)


def mode_elements(mode: str, layout: CommandLayout) -> tuple[str, ...]:
    """Element names (layout order) switched on by a named mode (or ``"all"``, the union)."""
    key = canonical_mode(mode)
    if key == "all":
        union = set().union(*(mode_elements(m, layout) for m in MODE_NAMES))
        return tuple(n for n in layout.element_names if n in union)
    upper_joints = {e.name for e in layout.elements if e.kind == "joint" and e.region == "upper"}
    chosen: set[str] = set()
    for pattern in _mode_patterns(key, layout):
        hits = (
            upper_joints if pattern == "@upper_joints" else set(fnmatch.filter(layout.element_names, pattern))
        )
        if not hits:
            raise ValueError(
                f"mode {key}: the {layout.robot_name} layout has no element matching {pattern!r}"
            )
        chosen |= hits
    return tuple(n for n in layout.element_names if n in chosen)


def mask_for_mode(
    mode: str,
    layout: CommandLayout | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """[mask_dim] 0/1 mask of a named mode (default layout: the H1)."""
    layout = layout or command_layout(DEFAULT_ROBOT)
    return layout.mask_from_names(mode_elements(mode, layout), dtype=dtype, device=device)


def mode_bit_index(layout: CommandLayout) -> Tensor:
    """[mask_dim] long: which column of ``MODE_BITS`` gates each mask element."""
    return torch.tensor([MODE_BITS.index((e.region, e.kind)) for e in layout.elements], dtype=torch.long)


@dataclass
class RandomMasks:
    """A batch of random masks with the bits they were made from (all float 0/1)."""

    mask: Tensor  # [n, mask_dim]
    mode_bits: Tensor  # [n, len(MODE_BITS)]
    sparsity: Tensor  # [n, mask_dim]


def sample_random_masks(
    n: int,
    layout: CommandLayout,
    generator: torch.Generator,
    mode_prob: float = 0.5,
    sparsity_prob: float = 0.5,
    sparsity: bool = True,
    max_redraws: int = 100,
) -> RandomMasks:
    """The paper's per-region mode x sparsity masks for ``n`` envs, never all-zero (module docstring).

    Drawn on ``generator.device``; with ``sparsity=False`` every sparsity bit is 1 (public-code default).
    """
    dev = generator.device
    bit_of = mode_bit_index(layout).to(dev)
    nb = len(MODE_BITS)

    def draw(k: int) -> tuple[Tensor, Tensor]:
        bits = (torch.rand(k, nb, generator=generator, device=dev) < mode_prob).float()
        if sparsity:
            sp = (torch.rand(k, layout.mask_dim, generator=generator, device=dev) < sparsity_prob).float()
        else:
            sp = torch.ones(k, layout.mask_dim, device=dev)
        return bits, sp

    bits, sp = draw(n)
    for _ in range(max_redraws):
        empty = (bits[:, bit_of] * sp).sum(-1) == 0
        if not bool(empty.any()):
            break
        idx = empty.nonzero().squeeze(-1)
        bits[idx], sp[idx] = draw(idx.numel())
    empty = (bits[:, bit_of] * sp).sum(-1) == 0
    if bool(empty.any()):
        idx = empty.nonzero().squeeze(-1)
        el = torch.randint(layout.mask_dim, (idx.numel(),), generator=generator, device=dev)
        sp[idx] = 0.0
        sp[idx, el] = 1.0
        bits[idx] = 0.0
        bits[idx, bit_of[el]] = 1.0
    return RandomMasks(bits[:, bit_of] * sp, bits, sp)


@dataclass
class MaskSamplerConfig:
    """How episode masks are drawn: each env picks one entry of ``modes`` uniformly."""

    modes: tuple[str, ...] = (RANDOM,)
    """named modes and/or "random" (the paper's per-region mode x sparsity sampling)"""
    mode_prob: float = 0.5
    """Bernoulli rate of each (region, command type) mode bit"""
    sparsity_prob: float = 0.5
    """Bernoulli rate of each element's sparsity bit"""
    sparsity: bool = True
    """use sparsity bits (the paper); False = whole command types only (the public code's default)"""
    max_redraws: int = 100


def sample_masks(
    env_ids: Tensor, generator: torch.Generator, layout: CommandLayout, cfg: MaskSamplerConfig | None = None
) -> Tensor:
    """New episode masks [len(env_ids), mask_dim] (float 0/1) for the given envs, on env_ids' device."""
    cfg = cfg or MaskSamplerConfig()
    n = int(env_ids.numel())
    dev = generator.device
    options = [m if m == RANDOM else canonical_mode(m) for m in cfg.modes]
    if not options:
        raise ValueError("MaskSamplerConfig.modes is empty")
    named = [m for m in options if m != RANDOM]
    table = torch.stack([mask_for_mode(m, layout, device=dev) for m in named]) if named else None
    pick = torch.randint(len(options), (n,), generator=generator, device=dev)
    out = torch.zeros(n, layout.mask_dim, device=dev)
    for i, m in enumerate(options):
        rows = (pick == i).nonzero().squeeze(-1)
        if rows.numel() == 0:
            continue
        if m == RANDOM:
            out[rows] = sample_random_masks(
                rows.numel(),
                layout,
                generator,
                cfg.mode_prob,
                cfg.sparsity_prob,
                cfg.sparsity,
                cfg.max_redraws,
            ).mask
        else:
            assert table is not None  # m is a named mode
            out[rows] = table[named.index(m)]
    return out.to(env_ids.device)


def switch_masks(masks: Tensor, env_ids: Tensor, new_mask: Tensor) -> Tensor:
    """A copy of ``masks`` [N, mask_dim] with rows ``env_ids`` replaced by ``new_mask`` ([mask_dim] or [k, mask_dim])."""
    out = masks.clone()
    out[env_ids] = new_mask.to(masks)
    return out


@dataclass(frozen=True)
class MaskSchedule:
    """Piecewise-constant mode over an episode: ``events`` = ((step, mode), ...), steps in policy steps.

    The first event must be at step 0. ``parse("omnih2o@0,humanplus@250,locomotion@500")``.
    """

    events: tuple[tuple[int, str], ...]

    def __post_init__(self) -> None:
        if not self.events or self.events[0][0] != 0:
            raise ValueError(f"mask schedule must start at step 0: {self.events}")
        steps = [s for s, _ in self.events]
        if any(b <= a for a, b in zip(steps, steps[1:], strict=False)):
            raise ValueError(f"mask schedule steps must increase: {self.events}")
        object.__setattr__(self, "events", tuple((int(s), canonical_mode(m)) for s, m in self.events))

    @classmethod
    def parse(cls, text: str) -> MaskSchedule:
        events = []
        for part in text.split(","):
            mode, _, step = part.strip().partition("@")
            try:
                events.append((int(step) if step else 0, mode))
            except ValueError:
                raise ValueError(f"bad mask schedule entry {part!r} (want MODE@STEP)") from None
        return cls(tuple(events))

    def mode_at(self, step: int) -> str:
        return [m for s, m in self.events if s <= step][-1]

    def masks_at(self, steps: Tensor, layout: CommandLayout) -> Tensor:
        """[N, mask_dim] mask of each env at its episode step ``steps`` [N] (long)."""
        starts = torch.tensor([s for s, _ in self.events], device=steps.device)
        table = torch.stack([mask_for_mode(m, layout, device=steps.device) for _, m in self.events])
        idx = torch.searchsorted(starts, steps.long(), right=True) - 1
        return table[idx.clamp_min(0)]


class EpisodeMasks:
    """Per-env masks kept for whole episodes: drawn at reset, replaced only by a mode switch.

    ``masks`` [num_envs, mask_dim] float 0/1 on ``device``; draws use ``generator`` (its own device).
    """

    def __init__(
        self,
        num_envs: int,
        layout: CommandLayout,
        generator: torch.Generator,
        cfg: MaskSamplerConfig | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.layout = layout
        self.cfg = cfg or MaskSamplerConfig()
        self.generator = generator
        self.masks = torch.zeros(num_envs, layout.mask_dim, device=device)
        self.reset(torch.arange(num_envs, device=device))

    def reset(self, env_ids: Tensor) -> None:
        """New episode for ``env_ids``: draw their masks; other envs keep theirs."""
        self.masks = switch_masks(
            self.masks, env_ids, sample_masks(env_ids, self.generator, self.layout, self.cfg)
        )

    def set_mode(self, env_ids: Tensor, mode: str) -> None:
        """Run-time mode switch of ``env_ids`` to a named mode; other envs keep theirs."""
        self.masks = switch_masks(
            self.masks, env_ids, mask_for_mode(mode, self.layout, device=self.masks.device)
        )
