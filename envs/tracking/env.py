"""The oracle-teacher motion-tracking task as an rsl-rl ``VecEnv``, on any ``SimBackend``.

Each env follows one reference clip of a :class:`~hover.motion.library.MotionLibrary`. Episodes
start by reference state initialisation (the robot is placed exactly on the reference at a
sampled (clip, time), see ``sampling.py``) and end on a failure (``terminations.py``) or when the
clip or the episode limit ends (time-out, bootstrapped by PPO through ``extras["time_outs"]``).

Action: joint targets ``default + action_scale * a`` (rad), applied after a per-episode control
delay of 0-3 policy steps; the backend runs the PD loop at the physics rate.

Observations (TensorDict): ``policy`` (actor, 913 for the H1) and ``critic`` (actor terms without
noise + privileged terms); see ``observations.py``. With ``cfg.student.enabled`` also ``student``
(1782 for the H1: proprioception, masked command, mask, last action, 25-step history; see
``student.py``), whose per-episode mask :meth:`TrackingEnv.set_mode` switches at run time. Rewards: ``rewards.py`` weighted by the config
and the penalty curriculum; episode sums per term are logged in ``extras["log"]``.
"""

from __future__ import annotations

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict
from torch import Tensor

from hover.envs.backends.base import PhysicsParams, SimBackend, SimState
from hover.envs.tracking import observations as O
from hover.envs.tracking import randomization as R
from hover.envs.tracking import rewards as W
from hover.envs.tracking.bodies import BodyState, ExtendedBodies
from hover.envs.tracking.config import TrackingEnvConfig
from hover.envs.tracking.curriculum import update_penalty_scale
from hover.envs.tracking.sampling import AdaptiveSampler
from hover.envs.tracking.student import StudentObsGroup
from hover.envs.tracking.terminations import FAILURE_TERMS, compute_terminations
from hover.motion.library import MotionLibrary, MotionState


class NonFiniteError(FloatingPointError):
    """NaN/inf in an observation or reward term; the message names the term and the env ids."""


def _body_ids(names: list[str], wanted: list[str] | tuple[str, ...], device: torch.device) -> Tensor:
    return torch.tensor([names.index(n) for n in wanted], dtype=torch.long, device=device)


class TrackingEnv(VecEnv):
    """Vectorised HOVER teacher tracking task (see the module docstring)."""

    def __init__(self, cfg: TrackingEnvConfig, motions: MotionLibrary, backend: SimBackend):
        self.cfg = cfg
        self.motions = motions
        self.backend = backend
        self.robot = robot = backend.robot
        self.num_envs = backend.num_envs
        self.num_actions = robot.num_joints
        self.device = torch.device(backend.device)
        self.dt = backend.control_dt
        self.max_episode_length = int(round(cfg.episode_length_s / self.dt))
        dev, n, j = self.device, self.num_envs, robot.num_joints
        self.generator = torch.Generator(device=dev).manual_seed(cfg.seed)

        # robot constants
        joints = robot.joints
        self.default_joint_pos = torch.tensor([jt.default_pos for jt in joints], device=dev)
        self.action_scale = robot.action_scale
        self.effort_limit = torch.tensor([jt.effort_limit for jt in joints], device=dev)
        self.joint_lower = torch.tensor([jt.range[0] for jt in joints], device=dev)
        self.joint_upper = torch.tensor([jt.range[1] for jt in joints], device=dev)
        tracked = robot.tracked_body_names
        lower_bodies = [
            b for b in tracked if b == robot.root.name or any(k in b for k in ("hip", "knee", "ankle"))
        ]
        soft_lo, soft_hi = W.soft_joint_limits(
            self.joint_lower, self.joint_upper, cfg.rewards.soft_joint_pos_limit
        )
        vel_limit = torch.tensor([jt.velocity_limit for jt in joints], device=dev)
        self.reward_idx = W.RewardIndices(
            lower_bodies=_body_ids(tracked, lower_bodies, dev),
            upper_bodies=_body_ids(tracked, [b for b in tracked if b not in lower_bodies], dev),
            vr_bodies=_body_ids(tracked, robot.subsets.get("vr", ()), dev),
            lower_joints=_body_ids(robot.joint_names, robot.lower_body_joints, dev),
            upper_joints=_body_ids(robot.joint_names, robot.upper_body_joints, dev),
            effort_limit=self.effort_limit,
            soft_pos_lower=soft_lo,
            soft_pos_upper=soft_hi,
            soft_vel_limit=vel_limit * cfg.rewards.soft_joint_vel_limit,
        )
        self.feet_ids = _body_ids(robot.body_names, robot.feet, dev)
        self.contact_body_ids = _body_ids(robot.body_names, robot.termination_contact_bodies, dev)
        self.mass_body_ids = _body_ids(robot.body_names, cfg.domain_rand.mass_bodies, dev)
        self.extend = ExtendedBodies(robot, dev)
        self.sampler = AdaptiveSampler(motions.clip_durations, cfg.sampling, dev)

        # per-env buffers
        self.episode_length_buf = torch.zeros(n, dtype=torch.long, device=dev)
        self.motion_ids = torch.zeros(n, dtype=torch.long, device=dev)
        self.motion_times = torch.zeros(n, device=dev)
        self.actions = torch.zeros(n, j, device=dev)
        self.prev_actions = torch.zeros(n, j, device=dev)
        max_delay = max(cfg.control_delay_steps)
        self.action_history = torch.zeros(max_delay + 1, n, j, device=dev)
        self.delays = torch.zeros(n, dtype=torch.long, device=dev)
        self.prev_joint_vel = torch.zeros(n, j, device=dev)
        self.ref_offset = torch.zeros(n, 3, device=dev)
        self.steps_since_push = torch.full((n,), 1 << 30, dtype=torch.long, device=dev)
        self.push_interval = int(round(cfg.domain_rand.push_interval_s / self.dt))
        self.push_countdown = torch.zeros(n, dtype=torch.long, device=dev)
        self.physics_params = PhysicsParams.nominal(n, robot.num_bodies, j, dev)
        self.feet = W.FeetState.zeros(n, len(robot.feet), dev)
        self.episode_sums: dict[str, Tensor] = {}
        self.frozen = torch.zeros(n, dtype=torch.bool, device=dev)
        self.auto_reset = True
        self.penalty_scale = cfg.curriculum.initial_penalty_scale
        self.episode_length_ema = -1.0
        self.student = (
            StudentObsGroup(cfg.student, robot, n, self.generator, dev) if cfg.student.enabled else None
        )

        self._reset_envs(torch.arange(n, device=dev))
        self._refresh()

    # ----- public API -----
    def get_observations(self) -> TensorDict:
        return self._obs

    def set_auto_reset(self, enabled: bool) -> None:
        """With auto-reset off, a finished env stays frozen (done, zero reward) until ``reset_to``."""
        self.auto_reset = enabled

    def reset_to(self, env_ids: Tensor, clip_ids: Tensor, times: Tensor) -> None:
        """Reference state init of ``env_ids`` at exactly (clip, time s); no perturbation without DR."""
        env_ids = torch.as_tensor(env_ids, device=self.device).long()
        self._reset_envs(env_ids, clip_ids.to(self.device).long(), times.to(self.device, torch.float32))
        self._refresh()

    def set_mode(self, env_ids: Tensor, mode: str) -> None:
        """Switch the student mask of ``env_ids`` to a named mode (takes effect in the next observation)."""
        if self.student is None:
            raise RuntimeError("set_mode needs the student observation group (cfg.student.enabled)")
        self.student.set_mode(torch.as_tensor(env_ids, device=self.device).long(), mode)
        self._obs["student"] = self.student.history.compute(
            self.student._proprio, self.student.command(self._state, self._ref), self.student.masks.masks
        )

    @property
    def masks(self) -> Tensor:
        """Current student masks [N, mask_dim] (0/1)."""
        if self.student is None:
            raise RuntimeError("masks need the student observation group (cfg.student.enabled)")
        return self.student.masks.masks

    def reference_state(self) -> MotionState:
        """Reference at the current ``motion_times`` (world frame, no observation offset)."""
        return self._ref

    def robot_body_poses(self) -> tuple[Tensor, Tensor]:
        """Robot tracked bodies (incl. extended): pos [N, 23, 3], quat [N, 23, 4], world, wxyz."""
        return self._bodies.pos, self._bodies.quat

    def robot_state(self) -> SimState:
        return self._state

    def state_dict(self) -> dict[str, Tensor]:
        """Training state that must survive a resume (curriculum, sampler)."""
        return {
            "penalty_scale": torch.tensor(self.penalty_scale, dtype=torch.float64),
            "episode_length_ema": torch.tensor(self.episode_length_ema, dtype=torch.float64),
            "sampler_failure_ema": self.sampler.failure_ema.detach().cpu().clone(),
        }

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.penalty_scale = float(state["penalty_scale"])
        self.episode_length_ema = float(state["episode_length_ema"])
        self.sampler.load_state_dict({"failure_ema": state["sampler_failure_ema"]})

    # ----- stepping -----
    def step(self, actions: Tensor) -> tuple[TensorDict, Tensor, Tensor, dict]:
        cfg = self.cfg
        actions = actions.to(self.device).clamp(-cfg.clip_actions, cfg.clip_actions)
        live = ~self.frozen
        self.prev_actions = self.actions
        self.actions = torch.where(live.unsqueeze(1), actions, self.actions)
        self.action_history = torch.roll(self.action_history, 1, dims=0)
        self.action_history[0] = self.actions
        if self.student is not None:
            self.student.record(self.actions)
        delayed = self.action_history[self.delays, torch.arange(self.num_envs, device=self.device)]
        self.backend.step(self.default_joint_pos + self.action_scale * delayed)

        self.episode_length_buf += live.long()
        self.motion_times += self.dt * live.float()
        self.steps_since_push += 1
        self._apply_pushes(live)

        state = self.backend.get_state()
        n = self.num_envs
        parts = (state.root_pos, state.root_quat, state.joint_pos, state.joint_vel, state.body_pos, state.body_lin_vel,
                 state.body_ang_vel, state.contact_forces, state.joint_torque)  # fmt: skip
        diverged = ~torch.isfinite(torch.cat([t.reshape(n, -1) for t in parts], 1)).all(1)
        bodies = self.extend(state.body_pos, state.body_quat, state.body_lin_vel, state.body_ang_vel)
        ref = self.motions.get_state(self.motion_ids, self.motion_times)
        ref_bodies = BodyState(ref.body_pos, ref.body_quat, ref.body_lin_vel, ref.body_ang_vel)

        terms = compute_terminations(
            cfg.terminations, state.root_quat, state.contact_forces, self.contact_body_ids, bodies.pos,
            ref.body_pos, self.steps_since_push, self.motion_times, self.motions.clip_durations[self.motion_ids],
            self.episode_length_buf, self.max_episode_length, self.dt,
        )  # fmt: skip
        terms["sim_diverged"] = diverged
        failed = torch.zeros_like(diverged)
        for name in (*FAILURE_TERMS, "sim_diverged"):
            failed |= terms[name]
        failed &= live
        time_out = (terms["motion_end"] | terms["episode_length"]) & ~failed & live
        for name in terms:
            terms[name] = terms[name] & live

        reward, weighted = self._rewards(state, bodies, ref, ref_bodies, failed)
        bad = diverged | self.frozen
        reward = torch.where(bad, torch.zeros_like(reward), reward)
        if cfg.check_finite and not bool(torch.isfinite(reward[~bad]).all()):
            hit = O.first_non_finite({k: v[~bad] for k, v in weighted.items()})
            if hit is not None:
                ids = (~bad).nonzero().flatten()[hit[1]]
                raise NonFiniteError(f"reward term {hit[0]!r} is NaN/inf in envs {ids.tolist()}")
        for k, v in weighted.items():
            self.episode_sums[k] = self.episode_sums.get(k, torch.zeros_like(v)) + torch.where(bad, 0.0, v)

        self.sampler.update(self.motion_ids, self.motion_times, failed)
        self.prev_joint_vel = state.joint_vel.clone()
        done_now = failed | time_out
        dones = done_now | self.frozen
        extras: dict = {"time_outs": time_out, "terminations": terms, "log": {}}
        if done_now.any():
            ids = done_now.nonzero().flatten()
            self._log_episodes(ids, terms, extras["log"])
            if self.auto_reset:
                self._reset_envs(ids)
            else:
                self.frozen |= done_now
        if self.auto_reset and bool(done_now.any()):
            self._refresh()
        else:
            self._refresh(state, bodies, ref)
        return self._obs, reward, dones, extras

    def _apply_pushes(self, live: Tensor) -> None:
        dr = self.cfg.domain_rand
        if not dr.enabled or self.push_interval <= 0 or dr.push_vel_xy <= 0:
            return
        self.push_countdown -= 1
        due = (self.push_countdown <= 0) & live
        if due.any():
            ids = due.nonzero().flatten()
            self.backend.push(ids, R.sample_pushes(dr, len(ids), self.generator, self.device))
            self.steps_since_push[ids] = 0
            self.push_countdown[ids] = self.push_interval

    def _rewards(
        self, state: SimState, bodies: BodyState, ref: MotionState, ref_bodies: BodyState, failed: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        cfg = self.cfg.rewards
        feet_forces = state.contact_forces[:, self.feet_ids]
        contact = feet_forces[..., 2] > cfg.contact_threshold
        self.feet, first_contact, air_time, max_height = W.update_feet(
            self.feet, contact, state.body_pos[:, self.feet_ids, 2], self.dt
        )
        inputs = W.RewardInputs(
            robot=bodies, ref=ref_bodies, joint_pos=state.joint_pos, joint_vel=state.joint_vel,
            prev_joint_vel=self.prev_joint_vel, ref_joint_pos=ref.joint_pos, ref_joint_vel=ref.joint_vel,
            ref_root_lin_vel=ref.root_lin_vel, joint_torque=state.joint_torque, actions=self.actions,
            prev_actions=self.prev_actions, feet_forces=feet_forces, feet_quat=state.body_quat[:, self.feet_ids],
            feet_lin_vel=state.body_lin_vel[:, self.feet_ids], contact=contact, first_contact=first_contact,
            air_time_at_contact=air_time, max_height_at_contact=max_height, terminated=failed, dt=self.dt,
        )  # fmt: skip
        terms = W.compute_terms(inputs, self.reward_idx, cfg)
        return W.weighted_sum(terms, cfg, self.penalty_scale)

    def _log_episodes(self, ids: Tensor, terms: dict[str, Tensor], log: dict) -> None:
        for k, v in self.episode_sums.items():
            log[f"Episode_Reward/{k}"] = v[ids].mean()
            v[ids] = 0.0
        for k, v in terms.items():
            log[f"Episode_Termination/{k}"] = v[ids].float().mean()
        lengths = self.episode_length_buf[ids]
        self.penalty_scale, self.episode_length_ema = update_penalty_scale(
            self.penalty_scale, self.episode_length_ema, lengths, self.cfg.curriculum
        )
        log["Curriculum/penalty_scale"] = self.penalty_scale
        log["Curriculum/episode_length_ema"] = self.episode_length_ema
        log["Sampling/entropy"] = self.sampler.entropy()

    # ----- resets -----
    def _reset_envs(self, ids: Tensor, clip_ids: Tensor | None = None, times: Tensor | None = None) -> None:
        n = len(ids)
        if n == 0:
            return
        cfg, dr, dev, gen = self.cfg, self.cfg.domain_rand, self.device, self.generator
        if clip_ids is None or times is None:
            clip_ids, times = self.sampler.sample(n, gen)
        self.motion_ids[ids] = clip_ids
        self.motion_times[ids] = times
        ref = self.motions.get_state(clip_ids, times)
        joint_pos, root_lin_vel = ref.joint_pos.clone(), ref.root_lin_vel.clone()
        if dr.enabled:
            joint_pos += R.uniform(
                joint_pos.shape, -dr.reset_joint_pos_noise, dr.reset_joint_pos_noise, gen, dev
            )
            root_lin_vel += R.uniform(
                root_lin_vel.shape, -dr.reset_root_vel_noise, dr.reset_root_vel_noise, gen, dev
            )
        joint_pos = torch.minimum(torch.maximum(joint_pos, self.joint_lower), self.joint_upper)
        root_pos = ref.root_pos.clone()
        root_pos[:, 2] += cfg.reset_height_offset
        self.backend.reset_envs(
            ids, root_pos, ref.root_quat, root_lin_vel, ref.root_ang_vel, joint_pos, ref.joint_vel
        )
        if dr.enabled:
            params = R.sample_physics_params(
                dr, n, self.robot.num_bodies, self.effort_limit, self.mass_body_ids, gen, dev
            )
            self.backend.set_physics_params(ids, params)
            for name in vars(params):
                getattr(self.physics_params, name)[ids] = getattr(params, name)
        self.delays[ids] = R.sample_delays(cfg.control_delay_steps, n, gen, dev)
        if cfg.observations.noise or any(cfg.observations.ref_offset):
            self.ref_offset[ids] = R.sample_ref_offset(cfg.observations.ref_offset, n, gen, dev)
        else:
            self.ref_offset[ids] = 0.0
        self.actions[ids] = 0.0
        self.prev_actions[ids] = 0.0
        self.action_history[:, ids] = 0.0
        self.prev_joint_vel[ids] = ref.joint_vel
        self.episode_length_buf[ids] = 0
        self.steps_since_push[ids] = 1 << 30
        if self.push_interval > 0:
            self.push_countdown[ids] = torch.randint(
                1, self.push_interval + 1, (n,), generator=gen, device=dev
            )
        for f in (self.feet.air_time, self.feet.max_height):
            f[ids] = 0.0
        self.feet.last_contact[ids] = True
        for v in self.episode_sums.values():
            v[ids] = 0.0
        if self.student is not None:
            self.student.reset(ids)
        self.frozen[ids] = False

    # ----- observations -----
    def _refresh(
        self, state: SimState | None = None, bodies: BodyState | None = None, ref: MotionState | None = None
    ) -> None:
        """Build the observations from the backend state and the reference at ``motion_times``
        (read afresh unless the caller passes the ones it already has)."""
        cfg = self.cfg.observations
        if state is None or bodies is None or ref is None:
            state = self.backend.get_state()
            bodies = self.extend(state.body_pos, state.body_quat, state.body_lin_vel, state.body_ang_vel)
            ref = self.motions.get_state(self.motion_ids, self.motion_times)
        self._state, self._bodies, self._ref = state, bodies, ref
        ref_bodies = BodyState(ref.body_pos, ref.body_quat, ref.body_lin_vel, ref.body_ang_vel)
        clean = O.policy_terms(bodies, ref_bodies, self.actions)
        actor = dict(clean)
        if bool(self.ref_offset.any()):
            O.shift_reference(actor, self.ref_offset, state.root_quat)
        if cfg.noise:
            scales = {k: cfg.body_noise for k in O.ROBOT_STATE_TERMS}
            scales["ref_pos_diff"] = cfg.ref_pos_diff_noise
            O.add_uniform_noise(actor, scales, self.generator)
        recovering = self.steps_since_push < self.cfg.terminations.push_grace_steps
        priv = O.privileged_terms(
            self.physics_params, self.mass_body_ids, self.effort_limit, state.contact_forces[:, self.feet_ids],
            state.root_quat, recovering,
        )  # fmt: skip
        policy = O.concat(actor, O.POLICY_TERMS)
        critic = torch.cat((O.concat(clean, O.POLICY_TERMS), O.concat(priv, list(priv))), dim=-1)
        if self.cfg.check_finite and not bool(torch.isfinite(policy).all() and torch.isfinite(critic).all()):
            ok = ~self.frozen
            for group, group_terms in (("policy", actor), ("critic", priv)):
                hit = O.first_non_finite({k: v[ok] for k, v in group_terms.items()})
                if hit is not None:
                    ids = ok.nonzero().flatten()[hit[1]]
                    raise NonFiniteError(
                        f"observation term {group}/{hit[0]!r} is NaN/inf in envs {ids.tolist()}"
                    )
        if bool(self.frozen.any()):  # frozen envs may hold a diverged state: keep their inputs finite
            policy = torch.nan_to_num(policy, nan=0.0, posinf=0.0, neginf=0.0)
            critic = torch.nan_to_num(critic, nan=0.0, posinf=0.0, neginf=0.0)
        groups = {"policy": policy, "critic": critic}
        if self.student is not None:
            student = self.student.compute(state, ref)
            if self.cfg.check_finite and not bool(torch.isfinite(student[~self.frozen]).all()):
                ids = (~torch.isfinite(student).all(1) & ~self.frozen).nonzero().flatten()
                raise NonFiniteError(f"observation group 'student' is NaN/inf in envs {ids.tolist()}")
            if bool(self.frozen.any()):
                student = torch.nan_to_num(student, nan=0.0, posinf=0.0, neginf=0.0)
            groups["student"] = student
        self._obs = TensorDict(groups, batch_size=[self.num_envs], device=self.device)
