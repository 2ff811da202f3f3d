"""Named modes, the paper's per-region mask sampling (statistics), episode masks and mode schedules."""

import pytest
import torch

from hover.commands import (
    MODE_NAMES,
    EpisodeMasks,
    MaskSamplerConfig,
    MaskSchedule,
    command_layout,
    mask_for_mode,
    mode_elements,
    resolve_modes,
    sample_masks,
    sample_random_masks,
)
from hover.commands.modes import MODE_BITS, mode_bit_index

LAY = command_layout("h1")
ARM = [
    f"{s}_{j}"
    for s in ("left", "right")
    for j in ("shoulder_pitch", "shoulder_roll", "shoulder_yaw", "elbow")
]
ROOT = {f"root:{n}" for n in ("lin_vel_x", "lin_vel_y", "lin_vel_z", "roll", "pitch", "yaw_delta", "height")}


def _on(mode: str) -> set[str]:
    m = mask_for_mode(mode, LAY)
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    return {LAY.element_names[i] for i in m.nonzero().squeeze(-1).tolist()}


def test_named_modes_match_their_definitions():
    assert _on("exbody") == {f"joint:{j}" for j in ["torso", *ARM]} | ROOT
    assert _on("humanplus") == {f"joint:{j}" for j in LAY.joint_names} | ROOT
    h2o = {
        f"body:{s}_{b}"
        for s in ("left", "right")
        for b in (
            "shoulder_pitch_link",
            "shoulder_roll_link",
            "shoulder_yaw_link",
            "elbow_link",
            "hand_link",
            "ankle_link",
        )
    }
    assert _on("h2o") == h2o and len(h2o) == 12
    assert _on("omnih2o") == {"body:head_link", "body:left_hand_link", "body:right_hand_link"}
    assert _on("left_hand") == {"body:left_hand_link"}
    assert _on("right_hand") == {"body:right_hand_link"}
    assert _on("two_hands") == {"body:left_hand_link", "body:right_hand_link"}
    assert _on("head") == {"body:head_link"}
    assert _on("locomotion") == ROOT == _on("joystick")
    counts = {m: int(mask_for_mode(m).sum()) for m in MODE_NAMES}
    assert counts == {
        "exbody": 16,
        "humanplus": 26,
        "h2o": 12,
        "omnih2o": 3,
        "left_hand": 1,
        "right_hand": 1,
        "two_hands": 2,
        "head": 1,
        "locomotion": 7,
    }
    assert _on("all") == set().union(*(_on(m) for m in MODE_NAMES))
    assert mode_elements("left-hand", LAY) == ("body:left_hand_link",)


def test_mode_name_resolution():
    assert resolve_modes("all") == MODE_NAMES
    assert resolve_modes("omnih2o, h2o,omnih2o") == ("omnih2o", "h2o")
    assert resolve_modes("joystick") == ("locomotion",)
    with pytest.raises(ValueError, match="unknown command mode 'flying'"):
        resolve_modes("omnih2o,flying")


def test_random_mask_statistics_rates_and_region_independence():
    n = 40000
    r = sample_random_masks(n, LAY, torch.Generator().manual_seed(0))
    assert r.mask.shape == (n, 49) and torch.all(r.mask.sum(-1) > 0)  # never all-zero
    # element on = its (region, type) mode bit AND its sparsity bit
    assert torch.equal(r.mask, r.mode_bits[:, mode_bit_index(LAY)] * r.sparsity)
    # Bernoulli(0.5) bits; mode bits slightly above 0.5 because the all-off draw (1/32) is redrawn
    assert torch.allclose(r.sparsity.mean(0), torch.full((49,), 0.5), atol=0.02)
    assert torch.allclose(r.mode_bits.mean(0), torch.full((5,), 0.5 / (1 - 1 / 32)), atol=0.015)
    assert abs(r.mask.mean().item() - 0.25 / (1 - 1 / 32)) < 0.01
    # independence: the bits of one region tell nothing about the other's (once the redraw is out of play)
    up_bits = r.mode_bits[:, [i for i, (reg, _) in enumerate(MODE_BITS) if reg == "upper"]].sum(-1)
    lo_bits = r.mode_bits[:, [i for i, (reg, _) in enumerate(MODE_BITS) if reg == "lower"]].sum(-1)
    up, lo = LAY.select("upper"), LAY.select("lower")
    ok = r.mask[:, lo].sum(-1) > 0
    assert abs(torch.corrcoef(torch.stack((up_bits[ok], lo_bits[ok])))[0, 1].item()) < 0.03
    assert (
        abs(torch.corrcoef(torch.stack((r.mask[ok][:, up].sum(-1), r.mask[ok][:, lo].sum(-1))))[0, 1]) < 0.03
    )
    assert (
        abs(torch.corrcoef(torch.stack((r.sparsity[:, up].sum(-1), r.sparsity[:, lo].sum(-1))))[0, 1]) < 0.03
    )
    # overall the removed all-off draw leaves the documented small negative correlation (-0.086)
    assert -0.12 < torch.corrcoef(torch.stack((up_bits, lo_bits)))[0, 1].item() < -0.05
    # within a region, different types are independent too
    assert abs(torch.corrcoef(r.mode_bits[:, 2:].T)[0, 1].item()) < 0.05


def test_sparsity_off_gives_whole_command_types():
    r = sample_random_masks(2000, LAY, torch.Generator().manual_seed(1), sparsity=False)
    assert torch.all(r.sparsity == 1) and torch.all(r.mask.sum(-1) > 0)
    for k, (region, kind) in enumerate(MODE_BITS):
        sel = LAY.select(region, kind)
        assert torch.equal(r.mask[:, sel], r.mode_bits[:, k : k + 1].expand(-1, int(sel.sum())))


def test_forced_element_when_redraws_cannot_help():
    # mode bits never on: every draw is empty, so exactly one element is forced on per env
    r = sample_random_masks(500, LAY, torch.Generator().manual_seed(2), mode_prob=0.0, max_redraws=3)
    assert torch.all(r.mask.sum(-1) == 1)
    assert torch.equal(r.mask, r.mode_bits[:, mode_bit_index(LAY)] * r.sparsity)


def test_sample_masks_mixes_named_modes_and_is_reproducible():
    cfg = MaskSamplerConfig(modes=("omnih2o", "locomotion"))
    ids = torch.arange(1000)
    m = sample_masks(ids, torch.Generator().manual_seed(3), LAY, cfg)
    is_omni = torch.all(m == mask_for_mode("omnih2o"), dim=-1)
    is_loco = torch.all(m == mask_for_mode("locomotion"), dim=-1)
    assert torch.all(is_omni ^ is_loco) and 0.45 < is_omni.float().mean().item() < 0.55
    again = sample_masks(ids, torch.Generator().manual_seed(3), LAY, cfg)
    assert torch.equal(m, again)
    mixed = sample_masks(
        ids, torch.Generator().manual_seed(4), LAY, MaskSamplerConfig(modes=("random", "head"))
    )
    assert 0.4 < torch.all(mixed == mask_for_mode("head"), dim=-1).float().mean().item() < 0.6


def test_episode_masks_fixed_until_reset_or_switch():
    em = EpisodeMasks(64, LAY, torch.Generator().manual_seed(5))
    first = em.masks.clone()
    assert len({tuple(row.tolist()) for row in first}) > 50  # envs got different masks
    ids = torch.tensor([3, 10, 11])
    em.reset(ids)
    keep = torch.ones(64, dtype=torch.bool)
    keep[ids] = False
    assert torch.equal(em.masks[keep], first[keep])  # untouched envs keep their episode mask
    assert not torch.equal(em.masks[ids], first[ids])
    before = em.masks.clone()
    em.set_mode(torch.tensor([7]), "omnih2o")
    assert torch.equal(em.masks[7], mask_for_mode("omnih2o"))
    others = torch.arange(64) != 7
    assert torch.equal(em.masks[others], before[others])


def test_mask_schedule_switches_at_its_steps():
    sched = MaskSchedule.parse("omnih2o@0, humanplus@100,joystick@250")
    assert sched.events == ((0, "omnih2o"), (100, "humanplus"), (250, "locomotion"))
    steps = torch.tensor([0, 99, 100, 249, 250, 10_000])
    got = sched.masks_at(steps, LAY)
    want = ["omnih2o", "omnih2o", "humanplus", "humanplus", "locomotion", "locomotion"]
    assert [sched.mode_at(int(s)) for s in steps] == want
    for row, mode in zip(got, want, strict=True):
        assert torch.equal(row, mask_for_mode(mode))
    # no events between steps: the mask is the same at every step
    flat = MaskSchedule.parse("h2o").masks_at(torch.arange(500), LAY)
    assert torch.all(flat == mask_for_mode("h2o"))
    with pytest.raises(ValueError, match="start at step 0"):
        MaskSchedule.parse("h2o@5")
    with pytest.raises(ValueError, match="MODE@STEP"):
        MaskSchedule.parse("h2o@x")
