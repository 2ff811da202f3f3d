"""Student observation: layout sizes, history ordering, resets, and exact pass-through of the command."""

import pytest
import torch

from hover.student import StudentObservation, proprioception, student_obs_layout


def test_layout_matches_paper_sizes():
    lay = student_obs_layout("h1")
    assert (lay.proprio_dim, lay.frame_dim, lay.obs_dim) == (44, 63, 1782)
    s = lay.slices()
    assert list(s) == ["proprio", "command", "mask", "last_action", "history"]
    assert s["history"].stop == lay.obs_dim and s["proprio"].start == 0
    d = lay.to_dict()
    assert d["obs_dim"] == 1782 and d["terms"][-1]["stop"] == 1782


def test_proprioception_order():
    n, j = 2, 19
    q, dq = torch.randn(n, j), torch.randn(n, j)
    default = torch.randn(j)
    w, g = torch.randn(n, 3), torch.randn(n, 3)
    p = proprioception(q, dq, default, w, g)
    assert torch.equal(p[:, :j], q - default) and torch.equal(p[:, j : 2 * j], dq)
    assert torch.equal(p[:, 2 * j : 2 * j + 3], w) and torch.equal(p[:, -3:], g)


def test_history_is_newest_first_and_reset_fills_with_current_frame():
    lay = student_obs_layout("h1", history_length=4)
    n = 3
    so = StudentObservation(n, lay)
    p0 = torch.full((n, lay.proprio_dim), 0.5)
    so.reset(None, p0)
    cmd, mask = torch.zeros(n, lay.command_dim), torch.zeros(n, lay.mask_dim)
    hist = so.compute(p0, cmd, mask)[:, lay.slices()["history"]].reshape(n, 4, lay.frame_dim)
    assert torch.all(hist[..., : lay.proprio_dim] == 0.5) and torch.all(hist[..., lay.proprio_dim :] == 0)
    for t in range(1, 4):  # step t: proprio = t, action = 10 t
        so.record(torch.full((n, lay.proprio_dim), float(t)), torch.full((n, 19), 10.0 * t))
    obs = so.compute(torch.full((n, lay.proprio_dim), 4.0), cmd, mask)
    s = lay.slices()
    assert torch.all(obs[:, s["last_action"]] == 30.0)
    hist = obs[:, s["history"]].reshape(n, 4, lay.frame_dim)
    assert hist[0, :, 0].tolist() == [3.0, 2.0, 1.0, 0.5]  # newest first, then the reset frame
    assert hist[0, :, lay.proprio_dim].tolist() == [30.0, 20.0, 10.0, 0.0]
    # resetting one env leaves the others untouched
    so.reset(torch.tensor([1]), torch.full((n, lay.proprio_dim), -1.0))
    assert torch.all(so.history[1, :, 0] == -1.0) and torch.all(so.last_action[1] == 0)
    assert so.history[0, :, 0].tolist() == [3.0, 2.0, 1.0, 0.5]


def test_command_and_mask_pass_through_exactly():
    lay = student_obs_layout("h1")
    so = StudentObservation(2, lay)
    p = torch.randn(2, lay.proprio_dim)
    so.reset(None, p)
    cmd = torch.randn(2, lay.command_dim)
    cmd[:, 10:20] = 0.0
    mask = (torch.rand(2, lay.mask_dim) > 0.5).float()
    obs = so.compute(p, cmd, mask)
    s = lay.slices()
    assert torch.equal(obs[:, s["command"]], cmd) and torch.equal(obs[:, s["mask"]], mask)
    assert torch.equal(obs[:, s["proprio"]], p)


def test_shape_errors_are_clear():
    lay = student_obs_layout("h1")
    so = StudentObservation(2, lay)
    with pytest.raises(ValueError, match="proprio has shape"):
        so.reset(None, torch.zeros(3, lay.proprio_dim))
