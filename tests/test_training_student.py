"""hover train student: DAgger distillation learns (the behaviour loss falls), saves, resumes, loads."""

import json

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from hover.checkpoints import list_checkpoints
from hover.training import distillation as S
from hover.training.policies import load_policy


def _cfg(tmp_path, iterations, **kw):
    cfg = S.StudentTrainConfig(
        num_envs=8,
        max_iterations=iterations,
        run_dir=str(tmp_path / "run"),
        save_interval=5,
        num_threads=1,
        update_threads=1,
        **{"eval_interval": 0, **kw},
    )
    cfg.distillation.num_steps_per_env = 8
    cfg.distillation.gradient_length = 4
    return cfg


def _scalars(run_dir, tag):
    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return [e.value for e in acc.Scalars(tag)]


def _fixed_states(cfg, steps=12):
    """Student/teacher observations of states visited by the teacher itself (a fixed test set)."""
    from hover.training.teacher import make_env

    env = make_env(S.prepare(cfg, S.teacher_train_config(S.teacher_checkpoint(cfg.teacher)).env))
    teacher = load_policy(cfg.teacher)
    obs, out = env.get_observations(), []
    for _ in range(steps):
        out.append(obs.clone())
        obs, *_ = env.step(teacher.act(obs))
    env.backend.close()
    return torch.cat([o.to_dict()["student"] for o in out]), torch.cat([teacher.act(o) for o in out])


def test_distillation_loss_decreases_and_checkpoint_loads(tmp_path):
    torch.manual_seed(0)
    cfg = _cfg(tmp_path, 12, modes="omnih2o")  # one mode, nominal physics, many small gradient steps
    cfg.env.domain_rand.enabled = False
    cfg.distillation.num_learning_epochs, cfg.distillation.gradient_length = 4, 1
    student_obs, teacher_actions = _fixed_states(cfg)
    from tensordict import TensorDict

    test_set = TensorDict({"student": student_obs}, batch_size=[len(student_obs)])
    cfg.keep_checkpoints = 0
    run = S.train(cfg)
    assert len(_scalars(run, "Loss/behavior")) == 12
    # imitation error on states the teacher visits itself: after the first iteration vs the last
    mse_first = torch.mean((load_policy(str(run / "model_0.pt")).act(test_set) - teacher_actions) ** 2)
    mse_last = torch.mean((load_policy(str(run)).act(test_set) - teacher_actions) ** 2)
    assert mse_last < 0.6 * mse_first, (mse_first, mse_last)
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["kind"] == "student" and cfg["rsl_rl"]["obs_groups"]["teacher"] == ["policy"]
    policy = load_policy(str(run))
    assert policy.kind == "student" and policy.iteration == 11
    assert policy.env_cfg.student.enabled
    n_params = sum(p.numel() for p in policy.model.parameters())
    assert 1.4e6 < n_params < 1.6e6  # the paper's ~1.5 M
    bundle = S.export_bundled(run, tmp_path / "bundle", "student")
    again = load_policy(str(bundle))
    obs = torch.randn(3, 1782)
    from tensordict import TensorDict

    td = TensorDict({"student": obs}, batch_size=[3])
    assert torch.allclose(again.act(td), policy.act(td))


def test_resume_continues_the_same_run(tmp_path):
    run = S.train(_cfg(tmp_path, 3))
    assert [p.name for p in list_checkpoints(run)][-1] == "model_2.pt"
    S.train(_cfg(tmp_path, 5, resume=str(run)))
    assert [p.name for p in list_checkpoints(run)][-1] == "model_4.pt"
    assert len(_scalars(run, "Loss/behavior")) == 5
    cfg = _cfg(tmp_path, 6, resume=str(run))
    cfg.distillation.learning_rate = 1e-4  # an override on resume takes effect
    S.train(cfg)
    ckpt = torch.load(run / "model_5.pt", weights_only=True)
    assert ckpt["optimizer_state_dict"]["param_groups"][0]["lr"] == 1e-4


def test_periodic_eval_logs_success_per_mode(tmp_path, capsys):
    import csv

    from hover.motion.builtin import load_builtin_motions
    from hover.motion.format import MotionClip, save_motions

    clip = load_builtin_motions()[0]
    short = MotionClip("stand_short", clip.fps, clip.root_pos[:16], clip.root_quat[:16], clip.joint_pos[:16])
    save_motions(tmp_path / "short.npz", [short])
    cfg = _cfg(tmp_path, 2, eval_interval=1, eval_motions=(str(tmp_path / "short.npz"),),
               eval_modes=("omnih2o", "joystick"))  # fmt: skip
    run = S.train(cfg)
    assert "[eval] iteration 1" in capsys.readouterr().out
    rows = list(csv.DictReader((run / "eval.csv").open()))
    assert [(r["iteration"], r["motions"]) for r in rows] == [
        ("0", "omnih2o/short"), ("0", "locomotion/short"), ("1", "omnih2o/short"), ("1", "locomotion/short")
    ]  # fmt: skip
    assert all(0.0 <= float(r["success_rate"]) <= 1.0 and r["num_clips"] == "1" for r in rows)
    assert len(_scalars(run, "Eval/locomotion/short/success_rate")) == 2


def test_specialist_modes_and_bad_names():
    assert S.student_modes("omnih2o") == ("omnih2o",)
    assert S.student_modes("left-hand,joystick") == ("left_hand", "locomotion")
    assert "random" in S.student_modes("all")
    with pytest.raises(ValueError):
        S.student_modes("flying")


def test_teacher_must_be_a_teacher(tmp_path):
    run = S.train(_cfg(tmp_path, 1))
    with pytest.raises(ValueError, match="not a teacher"):
        S.teacher_model_config(list_checkpoints(run)[-1])


def test_residual_teacher_labels_are_its_absolute_targets():
    """A residual teacher's action a means the PD target q_ref + s_t a; the student (absolute actions
    around the default pose) is labelled with the action that gives the same target."""
    from hover.envs.tracking.config import ActionConfig
    from hover.training.teacher import make_env

    cfg = S.prepare(S.StudentTrainConfig(num_envs=3, num_threads=1, sim_workers=False))
    cfg.env.reset.noise = False
    env = make_env(cfg)
    try:
        env.reset_to(torch.arange(3), torch.tensor([2, 10, 14]), torch.tensor([1.0, 2.0, 3.0]))
        residual = ActionConfig(residual=True, lookahead_s=0.02, scale=0.25, scale_mode="effort")
        label = S.label_transform(env, residual)
        assert label is not None and S.label_transform(env, env.cfg.actions) is None
        a = torch.randn(3, 19)
        ref = env.reference_state()
        effort = torch.tensor([j.effort_limit / j.kp for j in env.robot.joints])
        teacher_targets = ref.joint_pos + 0.02 * ref.joint_vel + 0.25 * effort * a
        student = label(a)
        torch.testing.assert_close(env.absolute_targets(student), teacher_targets, atol=1e-5, rtol=0)
        torch.testing.assert_close(env.default_joint_pos + 0.25 * student, teacher_targets, atol=1e-5, rtol=0)
        # a zero residual action labels the student with the reference pose itself
        torch.testing.assert_close(env.default_joint_pos + 0.25 * label(torch.zeros(3, 19)),
                                   ref.joint_pos + 0.02 * ref.joint_vel, atol=1e-5, rtol=0)  # fmt: skip
    finally:
        env.backend.close()


def test_residual_teacher_observes_its_own_last_action():
    """In the student env a residual teacher must see its previous action in its own convention
    (residual on the reference), not the student's absolute action that produced the same target;
    before the first action, the delayed targets are the reference pose it would have had."""
    import dataclasses

    from hover.envs.tracking.config import ActionConfig, TrackingEnvConfig
    from hover.training.teacher import make_env

    residual = ActionConfig(residual=True, lookahead_s=0.02, scale=0.25, scale_mode="effort")
    teacher_env = dataclasses.replace(TrackingEnvConfig(), actions=residual)
    cfg = S.prepare(S.StudentTrainConfig(num_envs=3, num_threads=1, sim_workers=False), teacher_env)
    assert cfg.env.observations.last_action_actions == residual and not cfg.env.actions.residual
    cfg.env.reset.noise = False
    cfg.env.domain_rand.enabled = False
    env = make_env(cfg)
    try:
        env.reset_to(torch.arange(3), torch.tensor([2, 10, 14]), torch.tensor([1.0, 2.0, 3.0]))
        ref = env.reference_state()
        torch.testing.assert_close(env.target_history[0], ref.joint_pos + 0.02 * ref.joint_vel)
        assert torch.all(env.get_observations()["policy"][:, -19:] == 0.0)
        label = S.label_transform(env, residual)
        teacher_action = 0.5 * torch.randn(3, 19)
        student_action = label(teacher_action)
        env.step(student_action)
        seen = env.get_observations()["policy"][:, -19:]
        torch.testing.assert_close(seen, teacher_action, atol=1e-4, rtol=0)
        assert (student_action - teacher_action).abs().max() > 0.5  # the two conventions differ
    finally:
        env.backend.close()
