"""The motion-tracking task as an rsl-rl ``VecEnv``, on any ``SimBackend``.

Each env follows one reference clip of a :class:`~hover.motion.library.MotionLibrary`. Episodes
start by reference state initialisation (the robot is placed on the reference at a sampled
(clip, time), see ``sampling.py``, with the recipe's reset noise) and end on a failure (the recipe's
termination terms) or when the clip or the episode limit ends (time-out, bootstrapped by PPO through
``extras["time_outs"]``).

Action -> PD targets (rad): ``base + scale_j * a`` with base = the default pose, or the reference
joints (``cfg.actions.residual``); targets are applied after a per-episode control delay of 0-3
policy steps; the backend runs the PD loop at the physics rate with the gains of its robot, which
must be ``cfg.gains.apply(robot)`` (the robot's own gains by default; checked here).
:meth:`absolute_targets` gives the targets of any action in the current state (the student's
teacher labels).

Observations (TensorDict): ``policy`` (actor) and ``critic`` (actor terms without noise + the
recipe's critic terms), built from the term names of ``cfg.observations`` (``observations.py``).
With ``cfg.student.enabled`` also ``student`` (proprioception, masked command, mask, last action,
25-step history; ``student_group.py``), whose per-episode mask :meth:`TrackingEnv.set_mode` switches at run
time. Rewards: the recipe's terms (``rewards.py``) x weights, ``reward_scale`` and the penalty
curriculum; episode sums per term are logged in ``extras["log"]``.
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
from hover.envs.tracking import terminations as T
from hover.envs.tracking.bodies import BodyState, ExtendedBodies
from hover.envs.tracking.config import ActionConfig, TrackingEnvConfig
from hover.envs.tracking.curriculum import step_penalty_scale, update_length_ema, update_termination_scale
from hover.envs.tracking.reference_following import follow_offset
from hover.envs.tracking.sampling import AdaptiveSampler
from hover.envs.tracking.step import FeetData, StepData, TrackingIndices
from hover.envs.tracking.student_group import StudentObsGroup
from hover.motion.builtin import default_standing_height
from hover.motion.library import MotionLibrary, MotionState
from hover.rotations import heading_quat


class NonFiniteError(FloatingPointError):
    """NaN/inf in an observation or reward term; the message names the term and the env ids."""


def action_scales(cfg: ActionConfig, idx: TrackingIndices) -> Tensor:
    """Per-joint action scale [J] (rad per unit action), see :class:`ActionConfig`."""
    if cfg.scale_mode == "uniform":
        return torch.full_like(idx.kp, cfg.scale)
    if cfg.scale_mode == "effort":
        return cfg.scale * idx.effort_limit / idx.kp
    raise ValueError(f"actions.scale_mode must be 'uniform' or 'effort', got {cfg.scale_mode!r}")


class TrackingEnv(VecEnv):
    """Vectorised motion-tracking task (see the module docstring)."""

    def __init__(self, cfg: TrackingEnvConfig, motions: MotionLibrary, backend: SimBackend):
        W.check_reward_terms(cfg.rewards)
        T.check_termination_terms(cfg.terminations)
        O.check_observation_terms(cfg.observations.policy, "policy")
        O.check_observation_terms(cfg.observations.critic, "critic")
        self.cfg = cfg
        self.motions = motions
        self.backend = backend
        self.robot = robot = backend.robot
        cfg.gains.check(robot)  # the backend must simulate the gains the config asks for
        self.num_envs = backend.num_envs
        self.num_actions = robot.num_joints
        self.device = torch.device(backend.device)
        self.dt = backend.control_dt
        self.max_episode_length = int(round(cfg.episode_length_s / self.dt))
        dev, n, j = self.device, self.num_envs, robot.num_joints
        self.generator = torch.Generator(device=dev).manual_seed(cfg.seed)

        self.idx = TrackingIndices.from_robot(robot, dev)
        self.default_joint_pos = self.idx.default_joint_pos
        self.action_scale = action_scales(cfg.actions, self.idx)
        # the convention of the observed ``last_action`` (a student env: the teacher's)
        self.obs_action_cfg = cfg.observations.last_action_actions
        self.obs_action_scale = (
            None if self.obs_action_cfg is None else action_scales(self.obs_action_cfg, self.idx)
        )
        self.joint_lower, self.joint_upper = self.idx.joint_lower, self.idx.joint_upper
        mass_bodies = cfg.domain_rand.mass_bodies or robot.mass_randomized_bodies
        self.mass_body_ids = torch.tensor(
            [robot.body_names.index(b) for b in mass_bodies], dtype=torch.long, device=dev
        )
        self.extend = ExtendedBodies(robot, dev)
        self.sampler = AdaptiveSampler(motions.clip_durations, cfg.sampling, dev)
        self.uses_feet = any(t.func in W.FEET_FUNCTIONS and t.weight != 0.0 for t in cfg.rewards.values())

        # per-env buffers
        self.episode_length_buf = torch.zeros(n, dtype=torch.long, device=dev)
        self.motion_ids = torch.zeros(n, dtype=torch.long, device=dev)
        self.motion_times = torch.zeros(n, device=dev)
        self.actions = torch.zeros(n, j, device=dev)
        self.prev_actions = torch.zeros(n, j, device=dev)
        self.obs_actions = torch.zeros(n, j, device=dev)
        self.target_history = self.default_joint_pos.repeat(max(cfg.control_delay_steps) + 1, n, 1)
        self.delays = torch.zeros(n, dtype=torch.long, device=dev)
        self.prev_joint_vel = torch.zeros(n, j, device=dev)
        self.ref_offset = torch.zeros(n, 3, device=dev)
        self.follow_offset = torch.zeros(n, 3, device=dev)  # m, world: the following reference's shift
        self.steps_since_push = torch.full((n,), 1 << 30, dtype=torch.long, device=dev)
        self.push_interval = int(round(cfg.domain_rand.push_interval_s / self.dt))
        self.push_countdown = torch.zeros(n, dtype=torch.long, device=dev)
        self.physics_params = PhysicsParams.nominal(n, robot.num_bodies, j, dev)
        self.feet_state = W.FeetState.zeros(n, len(robot.feet), dev)
        self.episode_sums: dict[str, Tensor] = {}
        self.frozen = torch.zeros(n, dtype=torch.bool, device=dev)
        self.auto_reset = True
        self.penalty_scale = cfg.curriculum.initial_penalty_scale if cfg.curriculum.enabled else 1.0
        self.termination_scale = (
            cfg.curriculum.initial_termination_scale if cfg.curriculum.termination else 1.0
        )
        self.episode_length_ema = -1.0
        self.student = (
            StudentObsGroup(cfg.student, robot, n, self.generator, dev) if cfg.student.enabled else None
        )
        self._env_ids = torch.arange(n, device=dev)
        self.default_root_height = default_standing_height(robot)
        if cfg.reference_follows_robot == "root_only" and self.student is None:
            raise ValueError(
                "reference_follows_robot='root_only' needs the student observation group (its masks)"
            )
        self._position_mask_ids = (
            None
            if self.student is None
            else torch.tensor([e.index for e in self.student.layout.elements if e.kind != "root"], device=dev)
        )

        self._reset_envs(self._env_ids)
        self._refresh()

    # ----- public API -----
    def get_observations(self) -> TensorDict:
        return self._obs

    def set_auto_reset(self, enabled: bool) -> None:
        """With auto-reset off, a finished env stays frozen (done, zero reward) until ``reset_to``."""
        self.auto_reset = enabled

    def reset_to(self, env_ids: Tensor, clip_ids: Tensor, times: Tensor) -> None:
        """Reference state init of ``env_ids`` at (clip, time s); exact when reset noise is off."""
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

    def target_base(self, action_cfg: ActionConfig | None = None) -> Tensor:
        """[N, J] targets of a zero action in the current state, for ``action_cfg`` (default: the env's)."""
        cfg = action_cfg or self.cfg.actions
        if not cfg.residual:
            return self.default_joint_pos.expand(self.num_envs, -1)
        ref = self._ref
        return ref.joint_pos + cfg.lookahead_s * ref.joint_vel

    def absolute_targets(self, actions: Tensor, action_cfg: ActionConfig | None = None) -> Tensor:
        """PD targets [N, J] (rad) of ``actions`` taken now under ``action_cfg`` (default: the env's)."""
        cfg = action_cfg or self.cfg.actions
        scale = self.action_scale if action_cfg is None else action_scales(cfg, self.idx)
        return self.target_base(cfg) + scale * actions

    def actions_for_targets(self, targets: Tensor) -> Tensor:
        """The env's own actions that produce PD ``targets`` [N, J] in the current state."""
        return (targets - self.target_base()) / self.action_scale

    def state_dict(self) -> dict[str, Tensor]:
        """Training state that must survive a resume (curricula, sampler)."""
        return {
            "penalty_scale": torch.tensor(self.penalty_scale, dtype=torch.float64),
            "termination_scale": torch.tensor(self.termination_scale, dtype=torch.float64),
            "episode_length_ema": torch.tensor(self.episode_length_ema, dtype=torch.float64),
            "sampler_failure_ema": self.sampler.failure_ema.detach().cpu().clone(),
        }

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.penalty_scale = float(state["penalty_scale"])
        self.termination_scale = float(state.get("termination_scale", torch.tensor(1.0)))
        self.episode_length_ema = float(state["episode_length_ema"])
        if "sampler_failure_ema" in state:  # absent: the sampler starts afresh (resume on changed motions)
            self.sampler.load_state_dict({"failure_ema": state["sampler_failure_ema"]})

    # ----- stepping -----
    def step(self, actions: Tensor) -> tuple[TensorDict, Tensor, Tensor, dict]:
        cfg = self.cfg
        actions = actions.to(self.device).clamp(-cfg.clip_actions, cfg.clip_actions)
        live = ~self.frozen
        self.prev_actions = self.actions
        self.actions = torch.where(live.unsqueeze(1), actions, self.actions)
        targets = self.absolute_targets(self.actions)
        if self.obs_action_cfg is not None and self.obs_action_scale is not None:
            base = self.target_base(self.obs_action_cfg)
            self.obs_actions = (targets - base) / self.obs_action_scale
        self.target_history = torch.roll(self.target_history, 1, dims=0)
        self.target_history[0] = targets
        if self.student is not None:
            self.student.record(self.actions)
        self.backend.step(self.target_history[self.delays, self._env_ids])

        self.episode_length_buf += live.long()
        self.motion_times += self.dt * live.float()
        self.steps_since_push += 1
        self._apply_pushes(live)

        state = self.backend.get_state()
        n = self.num_envs
        parts = (
            state.root_pos,
            state.root_quat,
            state.joint_pos,
            state.joint_vel,
            state.body_pos,
            state.body_lin_vel,
            state.body_ang_vel,
            state.contact_forces,
            state.joint_torque,
        )
        diverged = ~torch.isfinite(torch.cat([t.reshape(n, -1) for t in parts], 1)).all(1)
        bodies = self.extend(state.body_pos, state.body_quat, state.body_lin_vel, state.body_ang_vel)
        ref = self._follow_robot(self.motions.get_state(self.motion_ids, self.motion_times), state)
        step = self._step_data(state, bodies, ref, diverged)

        terms = T.compute_failures(
            step, cfg.terminations, self.steps_since_push, cfg.push_grace_steps, self.termination_scale
        )
        failed = diverged.clone()
        for v in terms.values():
            failed |= v
        failed &= live
        terms["motion_end"] = T.motion_end(
            self.motion_times, self.motions.clip_durations[self.motion_ids], self.dt
        )
        terms["episode_length"] = T.episode_length(self.episode_length_buf, self.max_episode_length)
        time_out = (terms["motion_end"] | terms["episode_length"]) & ~failed & live
        for name in terms:
            terms[name] = terms[name] & live

        step.terminated = failed
        if self.uses_feet:
            step.feet = self._feet(state)
        reward, weighted = W.compute_reward(step, cfg.rewards, cfg.reward_scale, self.penalty_scale)
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
            self._refresh(state, bodies, ref, step)
        return self._obs, reward, dones, extras

    def following_envs(self) -> Tensor:
        """[N] bool: envs whose reference follows the robot (``cfg.reference_follows_robot``)."""
        mode = self.cfg.reference_follows_robot
        if mode == "always":
            return torch.ones(self.num_envs, dtype=torch.bool, device=self.device)
        if mode == "root_only" and self.student is not None and self._position_mask_ids is not None:
            return self.student.masks.masks[:, self._position_mask_ids].sum(1) == 0
        return torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)

    def _follow_robot(self, ref: MotionState, state: SimState) -> MotionState:
        """``ref`` shifted by the following offset, which first grows so that the robot's root is at most
        ``cfg.follow_slack_m`` (horizontally) from the shifted reference root (world frame)."""
        if self.cfg.reference_follows_robot == "never":
            return ref
        self.follow_offset = follow_offset(
            self.follow_offset, ref.root_pos, state.root_pos, self.following_envs(), self.cfg.follow_slack_m
        )
        return ref.translated(self.follow_offset)

    def _step_data(
        self, state: SimState, bodies: BodyState, ref: MotionState, diverged: Tensor | None
    ) -> StepData:
        ref_bodies = BodyState(ref.body_pos, ref.body_quat, ref.body_lin_vel, ref.body_ang_vel)
        return StepData(
            robot=bodies, ref=ref_bodies, joint_pos=state.joint_pos, joint_vel=state.joint_vel,
            prev_joint_vel=self.prev_joint_vel, ref_joint_pos=ref.joint_pos, ref_joint_vel=ref.joint_vel,
            joint_torque=state.joint_torque, actions=self.actions, prev_actions=self.prev_actions,
            contact_forces=state.contact_forces, idx=self.idx, dt=self.dt, diverged=diverged,
            obs_actions=None if self.obs_action_cfg is None else self.obs_actions,
        )  # fmt: skip

    def _feet(self, state: SimState) -> FeetData:
        ids = self.idx.sim_feet
        forces = state.contact_forces[:, ids]
        contact = forces[..., 2] > 1.0
        self.feet_state, first, air_time, max_height = W.update_feet(
            self.feet_state, contact, state.body_pos[:, ids, 2], self.dt
        )
        return FeetData(
            forces, state.body_quat[:, ids], state.body_lin_vel[:, ids], contact, first, air_time, max_height
        )

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

    def _log_episodes(self, ids: Tensor, terms: dict[str, Tensor], log: dict) -> None:
        for k, v in self.episode_sums.items():
            log[f"Episode_Reward/{k}"] = v[ids].mean()
            v[ids] = 0.0
        for k, v in terms.items():
            log[f"Episode_Termination/{k}"] = v[ids].float().mean()
        cur = self.cfg.curriculum
        self.episode_length_ema = update_length_ema(
            self.episode_length_ema, self.episode_length_buf[ids], cur.ema
        )
        self.penalty_scale = step_penalty_scale(self.penalty_scale, self.episode_length_ema, cur)
        self.termination_scale = update_termination_scale(
            self.termination_scale, self.episode_length_ema, cur
        )
        log["Curriculum/penalty_scale"] = self.penalty_scale
        log["Curriculum/termination_scale"] = self.termination_scale
        log["Curriculum/episode_length_ema"] = self.episode_length_ema
        log["Sampling/entropy"] = self.sampler.entropy()

    # ----- resets -----
    def _reset_envs(self, ids: Tensor, clip_ids: Tensor | None = None, times: Tensor | None = None) -> None:
        n = len(ids)
        if n == 0:
            return
        cfg, dr, dev, gen = self.cfg, self.cfg.domain_rand, self.device, self.generator
        from_default = torch.zeros(n, dtype=torch.bool, device=dev)
        if clip_ids is None or times is None:
            clip_ids, times = self.sampler.sample(n, gen)
            if cfg.reset.default_pose_prob > 0:
                from_default = torch.rand(n, generator=gen, device=dev) < cfg.reset.default_pose_prob
                times = torch.where(from_default, torch.zeros_like(times), times)
        self.motion_ids[ids] = clip_ids
        self.motion_times[ids] = times
        ref = self.motions.get_state(clip_ids, times)
        root_pos, root_quat, lin_vel, ang_vel, joint_pos = R.perturb_reset(
            cfg.reset, ref.root_pos, ref.root_quat, ref.root_lin_vel, ref.root_ang_vel, ref.joint_pos, gen
        )
        if bool(from_default.any()):
            k = from_default.unsqueeze(1)
            root_pos = torch.where(k, torch.cat((ref.root_pos[:, :2], torch.full_like(ref.root_pos[:, 2:],
                                   self.default_root_height)), 1), root_pos)  # fmt: skip
            root_quat = torch.where(k, heading_quat(ref.root_quat), root_quat)
            lin_vel, ang_vel = torch.where(k, 0.0, lin_vel), torch.where(k, 0.0, ang_vel)
            joint_pos = torch.where(k, self.default_joint_pos.expand_as(joint_pos), joint_pos)
        joint_pos = torch.minimum(torch.maximum(joint_pos, self.joint_lower), self.joint_upper)
        joint_vel = torch.where(from_default.unsqueeze(1), 0.0, ref.joint_vel)
        self.backend.reset_envs(ids, root_pos, root_quat, lin_vel, ang_vel, joint_pos, joint_vel)
        if dr.enabled:
            params = R.sample_physics_params(
                dr, n, self.robot.num_bodies, self.idx.effort_limit, self.mass_body_ids, gen, dev
            )
            self.backend.set_physics_params(ids, params)
            for name in vars(params):
                getattr(self.physics_params, name)[ids] = getattr(params, name)
        self.delays[ids] = R.sample_delays(cfg.control_delay_steps, n, gen, dev)
        if cfg.observations.noise and any(cfg.observations.ref_offset):
            self.ref_offset[ids] = R.sample_ref_offset(cfg.observations.ref_offset, n, gen, dev)
        else:
            self.ref_offset[ids] = 0.0
        self.actions[ids] = 0.0
        self.prev_actions[ids] = 0.0
        self.obs_actions[ids] = 0.0
        self.follow_offset[ids] = 0.0
        # before the first action arrives (control delay), the targets of a zero action in the
        # observed convention: the reference pose for a residual (teacher) convention
        start_actions = self.obs_action_cfg or cfg.actions
        base = (
            ref.joint_pos + start_actions.lookahead_s * ref.joint_vel
            if start_actions.residual
            else self.default_joint_pos
        )
        self.target_history[:, ids] = base
        self.prev_joint_vel[ids] = ref.joint_vel
        self.episode_length_buf[ids] = 0
        self.steps_since_push[ids] = 1 << 30
        if self.push_interval > 0:
            self.push_countdown[ids] = torch.randint(
                1, self.push_interval + 1, (n,), generator=gen, device=dev
            )
        for f in (self.feet_state.air_time, self.feet_state.max_height):
            f[ids] = 0.0
        self.feet_state.last_contact[ids] = True
        for v in self.episode_sums.values():
            v[ids] = 0.0
        if self.student is not None:
            self.student.reset(ids)
        self.frozen[ids] = False

    # ----- observations -----
    def _refresh(
        self,
        state: SimState | None = None,
        bodies: BodyState | None = None,
        ref: MotionState | None = None,
        step: StepData | None = None,
    ) -> None:
        """Build the observations from the backend state and the reference at ``motion_times``
        (read afresh unless the caller passes the ones it already has)."""
        cfg = self.cfg.observations
        if state is None or bodies is None or ref is None or step is None:
            state = self.backend.get_state()
            bodies = self.extend(state.body_pos, state.body_quat, state.body_lin_vel, state.body_ang_vel)
            ref = self._follow_robot(self.motions.get_state(self.motion_ids, self.motion_times), state)
            step = self._step_data(state, bodies, ref, None)
        self._state, self._bodies, self._ref = state, bodies, ref
        recovering = self.steps_since_push < self.cfg.push_grace_steps
        inputs = O.ObsInputs(step, self.physics_params, self.mass_body_ids, recovering)
        clean = O.compute_terms(inputs, set(cfg.policy) | set(cfg.critic))
        actor = {k: clean[k] for k in cfg.policy}
        if bool(self.ref_offset.any()):
            O.shift_reference(actor, self.ref_offset, state.root_quat)
        if cfg.noise:
            O.add_uniform_noise(
                actor, {k: v for k, v in cfg.noise_scales.items() if k in actor}, self.generator
            )
        policy = O.concat(actor, cfg.policy)
        critic = torch.cat((O.concat(clean, cfg.policy), O.concat(clean, cfg.critic)), dim=-1)
        if self.cfg.check_finite and not bool(torch.isfinite(policy).all() and torch.isfinite(critic).all()):
            ok = ~self.frozen
            hit = O.first_non_finite({k: v[ok] for k, v in clean.items()})
            if hit is not None:
                ids = ok.nonzero().flatten()[hit[1]]
                raise NonFiniteError(f"observation term {hit[0]!r} is NaN/inf in envs {ids.tolist()}")
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
