#!/usr/bin/env bash
# Keep the newest resumable checkpoint of a long training run in the repository (outside the wheel):
#   bash scripts/snapshot_run.sh runs/teacher_long checkpoints/teacher_long
# copies the run's newest model_<it>.pt (weights, optimiser, normalisers, curricula, sampler state),
# config.json and eval.csv into DEST and removes DEST's older checkpoint. Continue it with
#   cp -r checkpoints/teacher_long runs/teacher_long && hover train teacher --resume runs/teacher_long ...
set -euo pipefail
RUN=${1:?usage: snapshot_run.sh RUN_DIR DEST_DIR}
DEST=${2:?usage: snapshot_run.sh RUN_DIR DEST_DIR}
newest=$(ls "$RUN"/model_*.pt | sed -E 's/.*model_([0-9]+)\.pt/\1 &/' | sort -n | tail -n 1 | cut -d' ' -f2)
[ -n "$newest" ] || { echo "$RUN: no checkpoint" >&2; exit 2; }
mkdir -p "$DEST"
cp "$newest" "$DEST/$(basename "$newest").tmp" && mv "$DEST/$(basename "$newest").tmp" "$DEST/$(basename "$newest")"
for f in config.json eval.csv; do [ -f "$RUN/$f" ] && cp "$RUN/$f" "$DEST/$f"; done
for old in "$DEST"/model_*.pt; do [ "$(basename "$old")" = "$(basename "$newest")" ] || rm -f "$old"; done
echo "kept $(basename "$newest") in $DEST"
