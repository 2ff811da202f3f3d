#!/usr/bin/env bash
# GPU measurements for issue 7 (MuJoCo Warp backend, multi-GPU training), ready to run on an H100.
#
# 1. On a machine WITH access to the package registry, collect the wheels once:
#      python -m pip download --dest wheels --only-binary=:all: --python-version 3.11 \
#          --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
#          "mujoco-warp==4.0.0" "warp-lang==1.19.0" "mujoco==4.0.0"
#    (plus a CUDA build of torch if the target has none: pip download torch --index-url ...).
#    Copy wheels/ and this repository to the GPU machine.
# 2. On the GPU machine (no registry needed):
#      python -m venv venv && . venv/bin/activate
#      pip install --no-index --find-links wheels "mujoco-warp==4.0.0" "warp-lang==1.19.0"
#      pip install --no-index --find-links wheels -e .      # needs the other dependencies' wheels too
# 3. Run this script from the repository root:  bash scripts/gpu_bench.sh [OUT_DIR]
#    It writes one JSON line per measurement into OUT_DIR (default gpu_bench/) and prints a summary.
#    The first mjwarp run compiles the CUDA kernels (minutes; cached in ~/.cache/warp).
set -euo pipefail
OUT=${1:-gpu_bench}
mkdir -p "$OUT"
run() {  # run NAME COMMAND...: JSON on stdout into OUT/NAME.json, log into OUT/NAME.log
  local name=$1; shift
  echo "== $name: $*" | tee "$OUT/$name.log"
  "$@" > "$OUT/$name.json" 2>> "$OUT/$name.log" || { echo "   FAILED (see $OUT/$name.log)"; return 0; }
  python - "$OUT/$name.json" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
keys = ("env_steps_per_s", "physics_steps_per_s", "iteration_s", "collection_s", "learning_s")
print("   " + ", ".join(f"{k} {r[k]:,.4g}" for k in keys if k in r))
for k in ("profile_s_per_step", "profile_s"):
    if r.get(k):
        print("   profile: " + ", ".join(f"{s} {v:.4g}" for s, v in r[k].items()))
PY
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
python -c "import torch, warp, mujoco_warp; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'warp', warp.config.version, 'mujoco_warp', mujoco_warp.__version__)" | tee -a "$OUT/gpu.txt"

# correctness first: the CPU consistency tests (fast once compiled) and a short CUDA smoke run
python -m pytest tests/test_backend_mjwarp.py -m mjwarp -q | tail -1 | tee "$OUT/tests.txt"

# simulation throughput (target >= 300k env steps/s at 4096+ envs), physics vs state read-out per step
for n in 1024 4096 8192 16384; do
  run "sim_mjwarp_$n" python -m hover bench sim --backend mjwarp --device cuda --num-envs "$n" --seconds 10 --json
done
# the same with smaller contact/constraint buffers is not exposed on the CLI: the defaults come from
# hover.envs.backends.mjwarp.buffer_sizes (see its docstring); an overflow raises BufferOverflowError.

# PPO iteration of the teacher (target <= 0.3 s at 4096 envs x 24 steps) with the per-stage profile
for n in 4096 8192; do
  run "train_mjwarp_$n" python -m hover bench train --backend mjwarp --device cuda --num-envs "$n" \
      --iterations 5 --warmup 2 --profile-iterations 1 --torch-threads 4 --json
done

# multi-GPU (only where more than one GPU is visible): 2 ranks x 4096 envs, 20 iterations
NGPU=$(python -c "import torch; print(torch.cuda.device_count())")
if [ "$NGPU" -ge 2 ]; then
  echo "== torchrun 2 GPUs" | tee "$OUT/torchrun.log"
  /usr/bin/time -v torchrun --standalone --nproc_per_node=2 -m hover train teacher --backend mjwarp \
      --device cuda --num-envs 4096 --max-iterations 20 --run-dir "$OUT/run_2gpu" >> "$OUT/torchrun.log" 2>&1 || true
  grep -E "actor weights in sync|Elapsed" "$OUT/torchrun.log" || true
fi
echo "results in $OUT/"
