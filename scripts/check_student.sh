#!/usr/bin/env bash
# The issue-12 checks of a student policy, each report written as JSON into OUT_DIR:
#   bash scripts/check_student.sh builtin:student out/student_checks [HELDOUT.npz]
# per-mode eval on the built-in set (and on a held-out motion file), the ONNX export, joystick random and
# idle, VR streams, mode switching, sim2sim against eval (the runner + sim-robot standing test is in
# pytest: pytest -m standing tests/test_deploy_runner.py). A failed check does not stop the others; the
# exit status is 1 when any failed.
set -uo pipefail
POLICY=${1:?usage: check_student.sh POLICY OUT_DIR [HELDOUT.npz]}
OUT=${2:?usage: check_student.sh POLICY OUT_DIR [HELDOUT.npz]}
HELDOUT=${3:-}
mkdir -p "$OUT"
status=0
step() {  # step NAME CMD...: run, keep stdout as NAME.json, stderr in NAME.log, time it
  local name=$1; shift
  local t0=$SECONDS
  "$@" >"$OUT/$name.json" 2>"$OUT/$name.log" || { echo "$name: exit $?" >&2; status=1; }
  echo "$name: $((SECONDS - t0)) s" | tee -a "$OUT/times.txt"
}
step eval_builtin hover eval --policy "$POLICY" --mode all --json --out "$OUT/eval_builtin"
[ -n "$HELDOUT" ] && step eval_heldout hover eval --policy "$POLICY" --mode all --motions "$HELDOUT" --json \
  --out "$OUT/eval_heldout"
step export hover export --policy "$POLICY" --out "$OUT/student.onnx"
ONNX="$OUT/student.onnx"
step joystick_random hover sim2sim --policy "$ONNX" --joystick random --seconds 60 --seeds 20 --workers 2 --json
step joystick_idle hover sim2sim --policy "$ONNX" --joystick idle --seconds 60 --json
step vr_wave_both hover sim2sim --policy "$ONNX" --vr-stream wave_both --json
step vr_stand_idle hover sim2sim --policy "$ONNX" --vr-stream stand_idle --json
step switch_pairs hover eval --policy "$POLICY" --switch-pairs --json
step sim2sim_vs_eval hover sim2sim --policy "$POLICY" --mode all --against-eval --json
exit $status
