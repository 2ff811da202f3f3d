"""Command/mask layout generated from the H1 RobotSpec: sizes, names, order, regions, masking."""

import torch

from hover.cli.commands_layout import main
from hover.commands import ROOT_NAMES, apply_mask, command_layout, expand_mask, format_layout_table
from hover.robots import get_robot


def test_sizes_names_and_contiguous_slices_in_documented_order():
    robot = get_robot("h1")
    lay = command_layout(robot)
    assert (lay.command_dim, lay.mask_dim) == (95, 49)
    assert (lay.num_bodies, lay.num_joints, lay.num_root) == (23, 19, 7)
    assert len(set(lay.element_names)) == 49 and len(set(lay.command_names)) == 95
    # documented order: bodies (tracked order), joints (joint order), root (ROOT_NAMES)
    expected = (
        [f"body:{n}" for n in robot.tracked_body_names]
        + [f"joint:{n}" for n in robot.joint_names]
        + [f"root:{n}" for n in ROOT_NAMES]
    )
    assert lay.element_names == expected
    # each element's columns follow the previous one's without gaps; widths 3 (body) / 1 (joint, root)
    col = 0
    for i, e in enumerate(lay.elements):
        assert e.index == i and e.start == col
        assert e.stop - e.start == (3 if e.kind == "body" else 1)
        col = e.stop
    assert col == 95
    assert (lay.body_columns, lay.joint_columns, lay.root_columns) == (
        slice(0, 69),
        slice(69, 88),
        slice(88, 95),
    )
    assert (lay.body_mask, lay.joint_mask, lay.root_mask) == (slice(0, 23), slice(23, 42), slice(42, 49))
    assert lay.command_names[60:63] == [
        "body:left_hand_link:x",
        "body:left_hand_link:y",
        "body:left_hand_link:z",
    ]


def test_regions_follow_the_robot_spec():
    robot = get_robot("h1")
    lay = command_layout(robot)
    upper = {e.name.split(":", 1)[1] for e in lay.elements if e.region == "upper"}
    upper_joints = {n for n in upper if n in robot.joint_names}
    assert upper_joints == set(robot.upper_body_joints)
    upper_bodies = upper - upper_joints
    arm_bodies = {n for n in robot.body_names if "shoulder" in n or "elbow" in n}
    assert upper_bodies == arm_bodies | {"torso_link", "left_hand_link", "right_hand_link", "head_link"}
    lower = [e for e in lay.elements if e.region == "lower"]
    assert {e.name for e in lower if e.kind == "body"} == {
        f"body:{n}" for n in robot.body_names if n == "pelvis" or "hip" in n or "knee" in n or "ankle" in n
    }
    assert all(e.region == "lower" for e in lay.elements if e.kind == "root")
    assert int(lay.select("upper").sum()) == 12 + 9 and int(lay.select("lower", "body").sum()) == 11


def test_expand_and_apply_mask_zero_exactly_the_masked_columns():
    lay = command_layout("h1")
    g = torch.Generator().manual_seed(0)
    mask = (torch.rand(64, 49, generator=g) < 0.5).float()
    cmd = torch.randn(64, 95, generator=g) + 3.0  # no accidental zeros
    wide = expand_mask(mask, lay)
    for e in lay.elements:  # every column of an element carries that element's bit
        assert torch.equal(wide[:, e.columns], mask[:, e.index : e.index + 1].expand(-1, e.stop - e.start))
    out = apply_mask(cmd, mask, lay)
    assert torch.all(out[wide == 0] == 0.0)
    assert torch.equal(out[wide == 1], cmd[wide == 1])
    # a non-finite value in a masked-out slot is zeroed too (where, not multiply)
    cmd[0, :] = float("nan")
    assert torch.all(apply_mask(cmd, torch.zeros(1, 49), lay)[0] == 0.0)


def test_layout_table_and_cli(capsys):
    lay = command_layout("h1")
    text = format_layout_table(lay)
    assert "command length 95, mask length 49" in text and len(text.splitlines()) == 3 + 49
    assert main(["--json"], prog="hover commands layout") == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["command_dim"] == 95 and len(out["elements"]) == 49 and len(out["modes"]["omnih2o"]) == 3
