"""Termination terms on hand-made states (envs/tracking/terminations.py)."""

from __future__ import annotations

import torch

from hover.envs.tracking import terminations as T
from hover.envs.tracking.config import TerminationConfig
from hover.rotations import quat_from_euler_xyz


def test_gravity_tilt_fires_beyond_limit_in_roll_or_pitch():
    angles = torch.tensor([[0.0, 0.0, 2.0], [0.5, 0.0, 0.0], [0.9, 0.0, 0.0], [0.0, -0.9, 0.0]])
    q = quat_from_euler_xyz(angles)  # sin(0.5) = 0.48 < 0.7 < sin(0.9) = 0.78
    assert T.gravity_tilt(q, 0.7).tolist() == [False, False, True, True]


def test_undesired_contacts_only_on_listed_bodies():
    forces = torch.zeros(3, 5, 3)
    forces[0, 4, 2] = 500.0  # a foot: not listed
    forces[1, 1, 0] = 0.5  # listed body, below 1 N
    forces[2, 2, 1] = 3.0  # listed body, above 1 N
    ids = torch.tensor([0, 1, 2])
    assert T.undesired_contacts(forces, ids, 1.0).tolist() == [False, False, True]


def test_ref_distance_max_and_mean_modes():
    ref = torch.zeros(2, 4, 3)
    pos = ref.clone()
    pos[0, 3, 0] = 0.6  # one body 0.6 m away: max fires, mean (0.15) does not
    pos[1, :, 2] = 0.55  # all bodies 0.55 m away: both fire
    assert T.ref_distance(pos, ref, 0.5, "max").tolist() == [True, True]
    assert T.ref_distance(pos, ref, 0.5, "mean").tolist() == [False, True]


def test_time_outs():
    durations = torch.tensor([5.0, 5.0, 5.0])
    times = torch.tensor([4.98, 4.995, 3.0])
    assert T.motion_end(times, durations, 0.02).tolist() == [False, True, False]
    assert T.episode_length(torch.tensor([999, 1000]), 1000).tolist() == [False, True]


def test_compute_terminations_suppresses_distance_after_push():
    cfg = TerminationConfig()
    n = 2
    q = torch.tensor([[1.0, 0.0, 0.0, 0.0]]).expand(n, 4)
    pos = torch.zeros(n, 23, 3)
    ref = pos.clone()
    ref[:, 5, 0] = 1.0
    out = T.compute_terminations(
        cfg, q, torch.zeros(n, 20, 3), torch.tensor([0]), pos, ref, torch.tensor([10, 100]),
        torch.zeros(n), torch.full((n,), 5.0), torch.zeros(n, dtype=torch.long), 1000, 0.02,
    )  # fmt: skip
    assert out["ref_distance"].tolist() == [False, True]
    assert set(out) == {*T.FAILURE_TERMS, *T.TIME_OUT_TERMS}
    assert not out["gravity_tilt"].any() and not out["motion_end"].any()
