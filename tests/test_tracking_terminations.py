"""Termination terms on hand-made states (envs/tracking/terminations.py)."""

from __future__ import annotations

import pytest
import torch

from hover.envs.tracking import terminations as T
from hover.envs.tracking.config import TerminationTerm, eval_terminations, tracking_terminations
from hover.envs.tracking.recipes import hover_paper_terminations
from hover.rotations import quat_from_euler_xyz


def test_gravity_tilt_fires_beyond_limit_in_roll_or_pitch(make_step):
    angles = torch.tensor([[0.0, 0.0, 2.0], [0.5, 0.0, 0.0], [0.9, 0.0, 0.0], [0.0, -0.9, 0.0]])
    q = quat_from_euler_xyz(angles)  # sin(0.5) = 0.48 < 0.7 < sin(0.9) = 0.78
    assert T.gravity_tilt_kernel(q, 0.7).tolist() == [False, False, True, True]
    s = make_step(n=4)
    s.robot.quat[:, 0] = q
    assert T.gravity_tilt(s, 0.7).tolist() == [False, False, True, True]


def test_undesired_contacts_only_on_listed_bodies(make_step):
    s = make_step(n=3)
    feet, listed = s.idx.sim_feet, s.idx.sim_contact_bodies
    s.contact_forces[0, feet[0], 2] = 500.0  # a foot: not listed
    s.contact_forces[1, listed[1], 0] = 0.5  # listed body, below 1 N
    s.contact_forces[2, listed[2], 1] = 3.0  # listed body, above 1 N
    assert T.undesired_contacts(s, 1.0).tolist() == [False, False, True]


def test_body_distance_max_and_mean(make_step):
    s = make_step()
    s.robot.pos[0, 3, 0] += 0.6  # one body 0.6 m away: max fires, mean does not
    s.robot.pos[1, :, 2] += 0.55  # all bodies 0.55 m away: both fire
    assert T.max_body_distance(s, 0.5).tolist() == [True, True]
    assert T.mean_body_distance(s, 0.5).tolist() == [False, True]
    with pytest.raises(ValueError, match="mode"):
        T.ref_distance_kernel(s.robot.pos, s.ref.pos, 0.5, "median")


def test_anchor_and_end_effector_terms_ignore_horizontal_drift(make_step):
    s = make_step(n=4)
    s.robot.pos[0, :, :2] += 2.0  # drifted 2.8 m: no tracking-recipe term fires
    s.robot.pos[1, :, 2] -= 0.3  # sagged 0.3 m
    hand = s.idx.end_effectors[-1]
    s.robot.pos[2, hand, 2] += 0.3  # one hand 0.3 m too high
    s.robot.quat[3, s.idx.anchor] = quat_from_euler_xyz(torch.tensor([[0.0, 1.4, 0.0]]))[
        0
    ]  # torso pitched 80 deg
    assert T.anchor_height_error(s, 0.25).tolist() == [False, True, False, False]
    assert T.end_effector_height_error(s, 0.25).tolist() == [False, True, True, False]
    assert T.anchor_gravity_z_error(s, 0.8).tolist() == [False, False, False, True]


def test_time_outs():
    durations = torch.tensor([5.0, 5.0, 5.0])
    times = torch.tensor([4.98, 4.995, 3.0])
    assert T.motion_end(times, durations, 0.02).tolist() == [False, True, False]
    assert T.episode_length(torch.tensor([999, 1000]), 1000).tolist() == [False, True]


def test_push_grace_and_termination_curriculum(make_step):
    s = make_step()
    s.robot.pos[:, 5, 0] += 1.0  # one body 1 m off
    s.robot.pos[:, s.idx.anchor, 2] -= 0.3  # anchor 0.3 m low
    terms = {
        "far": TerminationTerm("max_body_distance", {"threshold": 0.5}, during_push_grace=False),
        "low": TerminationTerm("anchor_height_error", {"threshold": 0.25}, curriculum=True),
    }
    out = T.compute_failures(s, terms, torch.tensor([10, 100]), push_grace_steps=60)
    assert out["far"].tolist() == [False, True] and out["low"].tolist() == [True, True]
    loose = T.compute_failures(s, terms, torch.tensor([100, 100]), 60, threshold_scale=2.0)  # 0.5 m: no
    assert loose["low"].tolist() == [False, False] and loose["far"].tolist() == [True, True]


def test_every_recipe_term_is_registered():
    for terms in (tracking_terminations(), hover_paper_terminations(), eval_terminations()):
        T.check_termination_terms(terms)
    with pytest.raises(ValueError, match="unknown function 'nope'"):
        T.check_termination_terms({"x": TerminationTerm("nope")})


def test_pelvis_tilt_is_measured_from_the_reference_pelvis(make_step):
    """A bow that the reference makes itself is not a fall; the same tilt from an upright reference is."""
    pitch = lambda a: quat_from_euler_xyz(torch.tensor([[0.0, a, 0.0]]))[0]  # noqa: E731
    s = make_step(n=4)
    robot = [pitch(1.0), pitch(0.0), pitch(0.9), pitch(0.7)]
    ref = [pitch(1.0), pitch(0.0), pitch(0.0), pitch(0.0)]
    for i in range(4):
        s.robot.quat[i, 0], s.ref.quat[i, 0] = robot[i], ref[i]
    # |g_x| = sin(1.0) = 0.84: the absolute test calls the perfectly tracked bow a fall
    assert T.gravity_tilt(s, 0.7).tolist() == [True, False, True, False]
    # 2 sin(0.45) = 0.87 > 0.76 > 2 sin(0.35) = 0.69
    assert T.pelvis_tilt_from_reference(s, 0.76).tolist() == [False, False, True, False]
    assert eval_terminations()["gravity_tilt"].func == "pelvis_tilt_from_reference"


def test_tracking_recipe_ends_on_the_evaluations_contact_failure():
    """The tracking recipe trains with the evaluation's contact test, so a policy is not taught to
    accept what the evaluation counts as a fall (the hip-yaw housings touching while turning)."""
    ours, test = tracking_terminations()["undesired_contacts"], eval_terminations()["undesired_contacts"]
    assert (ours.func, ours.params) == (test.func, test.params)
