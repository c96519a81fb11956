#!/usr/bin/env bash
# The original paper's Table 1 rows that docs/models.md did not yet measure (Bounce2, Object2, Luxo,
# UrchinCube, LuxoCube), each with the 30-CPU-minute budget and the settings that worked for
# Bounce: frame transformer, d_model 128, lr 1e-3, one torch thread, batch 32 (16 for the robot
# envs, as Urchin). Then an arbiter per env (models/arbiter.py), and one table with both
# decodings, the baselines, for envs without a robot the posterior oracle, and the realism
# columns (Fréchet distance, precision, recall, action recovery).
#
# Usage: bash scripts/table1.sh OUT [JOBS]
#   OUT   folder for data/, runs/, results.md and results.json
#   JOBS  trainings run at once (default 2: one per core of a 2-core machine)
# Optional environment: PYTHON (default python3), SECONDS_PER_RUN (1800), ENVS (the five),
# ARBITER_SECONDS (600; 0: no arbiters, no realism columns), RUN (the runs' name: runs/ENV-RUN,
# default ft), TRAIN_OPTIONS (more `boxlcd train` options after the preset's, e.g.
# "--set render=256": a variant to set beside the preset's runs under another RUN), RESULTS
# (the folder, inside OUT, of results.md and results.json; default OUT itself).
set -euo pipefail
OUT=${1:?usage: table1.sh OUT [JOBS]}
JOBS=${2:-2}
PY=${PYTHON:-python3}
RUN_SECONDS=${SECONDS_PER_RUN:-1800}
ARBITER_RUN_SECONDS=${ARBITER_SECONDS:-600}
ENVS=${ENVS:-Bounce2 Object2 Luxo UrchinCube LuxoCube}
RUN=${RUN:-ft}
TRAIN_OPTIONS=${TRAIN_OPTIONS:-}
RESULTS=${RESULTS:-.}
mkdir -p "$OUT/data" "$OUT/runs" "$OUT/logs"
cd "$OUT"

episodes() {  # training episodes: as Bounce for the object envs, as Urchin for the robots
  case $1 in Bounce2|Object2) echo 50000 ;; *) echo 20000 ;; esac
}

for env in $ENVS; do
  e=$(echo "$env" | tr '[:upper:]' '[:lower:]')
  [ -f "data/$e/manifest.json" ] || $PY -m boxlcd collect "$env" --episodes "$(episodes "$env")" \
    --out "data/$e" --seed 0 --shard-size 5000 --threads 2 -q
  [ -f "data/${e}_test/manifest.json" ] || $PY -m boxlcd collect "$env" --episodes 1000 \
    --out "data/${e}_test" --seed 10000000 --threads 2 -q
done

train() {  # train ENV RUN MODEL SECONDS OPTION...: runs/env-RUN
  env=$1; run=$2; model=$3; seconds=$4; shift 4
  e=$(echo "$env" | tr '[:upper:]' '[:lower:]')
  $PY -m boxlcd train "$model" --data "data/$e" --out "runs/$e-$run" --time-limit "$seconds" --seed 0 -q "$@" \
    > "logs/$e-$run.txt" 2>&1
}
jobs=()
for env in $ENVS; do
  jobs+=("$env $RUN frame_transformer $RUN_SECONDS --preset table1 $TRAIN_OPTIONS")
done
if [ "$ARBITER_RUN_SECONDS" != 0 ]; then
  for env in $ENVS; do jobs+=("$env arbiter arbiter $ARBITER_RUN_SECONDS --steps 100000 --threads 1"); done
fi
running=0
for job in "${jobs[@]}"; do
  # shellcheck disable=SC2086  # a job is words
  train $job &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

tests=()
runs=()
for env in $ENVS; do
  e=$(echo "$env" | tr '[:upper:]' '[:lower:]')
  tests+=(--test "$env=data/${e}_test")
  runs+=("runs/$e-$RUN")
  [ "$ARBITER_RUN_SECONDS" = 0 ] || tests+=(--arbiter "$env=runs/$e-arbiter")
done
$PY -m boxlcd results "${runs[@]}" "${tests[@]}" --episodes 1000 --oracle --threads "$JOBS" \
  --samples 1 32 --out "$RESULTS" --reuse
echo "results in $OUT/$RESULTS/results.md and results.json"
