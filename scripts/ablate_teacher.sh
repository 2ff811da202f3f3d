#!/usr/bin/env bash
# Teacher recipe ablation on the built-in set's two standing clips (stand_still, stand_idle: trained and
# evaluated on them; balance and tracking from scratch, the part every clip needs first): the tracking
# recipe, the HOVER paper preset, and one lever changed at a time, same seed, same env-step budget
# (ITERATIONS x 256 envs x 24 steps), no domain randomisation, one core each. Each run writes
# runs/ablate/<name>/eval.csv (the evaluation protocol's success every 25 iterations); then
#   hover train curves runs/ablate --out docs/teacher_ablation.png
# draws the curves and prints the table. Usage: bash scripts/ablate_teacher.sh [ITERATIONS] [NAMES...]
set -euo pipefail
cd "$(dirname "$0")/.."
ITER=${1:-250}
shift || true
OUT=runs/ablate
mkdir -p "$OUT"
python -c "
from hover.motion.builtin import load_builtin_motions
from hover.motion.format import save_motions
clips = {c.name: c for c in load_builtin_motions()}
save_motions('$OUT/standing.npz', [clips['stand_still'], clips['stand_idle']])"
COMMON=(--motions "$OUT/standing.npz" --eval-motions "$OUT/standing.npz" --eval-interval 25 --num-envs 256
        --num-threads 1 --update-threads 1 --env.domain-rand.no-enabled --seed 0 --max-iterations "$ITER")
declare -A VARIANT=(
  [tracking]=""
  [hover_paper]="--recipe hover-paper"
  [no_residual]="--env.actions.no-residual"
  [uniform_scale]="--env.actions.scale-mode uniform"
  [adaptive_lr]="--ppo.schedule adaptive --ppo.learning-rate 1e-3"
  [std_1_learned]="--model.init-noise-std 1.0 --model.std-range 1e-6 1e6 --ppo.entropy-coef 0.005"
  [envs_64]="--num-envs 64 --max-iterations $((ITER * 4))"
  [uniform_sampling]="--env.sampling.no-adaptive"
  [global_termination]="--env.terminations.mean-body-distance.func max_body_distance"
  [termination_curriculum]="--env.curriculum.termination"
  [random_init_output]="--model.actor-output-gain 1.0"
  [cpu_sized]="--model.actor-hidden-dims 256 256 128 --model.critic-hidden-dims 256 256 128 --ppo.num-learning-epochs 3"
  [fp32_update]="--ppo.no-use-mixed-precision"
  [entropy_0.005]="--ppo.entropy-coef 0.005 --model.std-range 0.05 0.6"
  [natural_gains]="--env.gains.mode natural-frequency --env.gains.frequency-hz 10 --env.gains.damping-ratio 2"
)
ORDER=(tracking hover_paper fp32_update cpu_sized no_residual adaptive_lr std_1_learned uniform_scale envs_64 uniform_sampling
       global_termination random_init_output termination_curriculum natural_gains)
[ $# -gt 0 ] && ORDER=("$@")
for name in "${ORDER[@]}"; do
  if [ -f "$OUT/$name/eval.csv" ] && [ -z "${FORCE:-}" ]; then echo "skip $name (done)"; continue; fi
  rm -rf "${OUT:?}/$name"
  # shellcheck disable=SC2086
  hover train teacher "${COMMON[@]}" ${VARIANT[$name]} --run-dir "$OUT/$name" > "$OUT/$name.log" 2>&1
  tail -n 1 "$OUT/$name/eval.csv"
done
