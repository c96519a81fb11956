#!/usr/bin/env bash
# Full-scale world-model run for a GPU machine, the original paper's whole Table 1: collects each env
# (100,000 training episodes by default, the paper's scale), trains a frame-token transformer on
# each for an equal share of a wall-clock budget, evaluates them all (with the marginal and
# copy-last baselines, the posterior oracle where the env has no robot, by mode and by the
# majority of 32 sampled rollouts) and writes results.md / results.json into OUT.
#
# Usage: bash scripts/gpu_train.sh SECONDS OUT
#   SECONDS  training wall-clock for all envs together (split evenly), e.g. 2400
#   OUT      folder for data/, runs/, results.md, results.json and per-row GIFs
# Needs: python with a CUDA torch and this package built (pip install .); pytorch-ignite is
# installed (pinned) if missing. Optional environment: PYTHON (default python3), DATA (data
# folder, default OUT/data; reused when present), ENVS (default: the eight envs of Table 1),
# EPISODES (100000 per env), TEST_EPISODES (1000), DEVICE (default cuda when present), MODEL
# (frame transformer settings, default d_model 256, 6 layers, 8 heads: the H100 run's in
# docs/results), BATCH (256).
set -euo pipefail
BUDGET=${1:?usage: gpu_train.sh SECONDS OUT}
OUT=${2:?usage: gpu_train.sh SECONDS OUT}
PY=${PYTHON:-python3}
ENVS=${ENVS:-Dropbox Bounce Bounce2 Object2 Urchin Luxo UrchinCube LuxoCube}
MODEL=${MODEL:---set d_model=256 --set layers=6 --set heads=8}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DATA=${DATA:-$OUT/data}
cd "$(dirname "$0")/.."

$PY -c "import boxlcd, torch" || { echo "gpu_train.sh: needs torch and boxlcd (pip install .) in $PY" >&2; exit 1; }
$PY -c "import ignite" 2>/dev/null || $PY -m pip install -q "pytorch-ignite==0.5.5" || {
  echo "gpu_train.sh: needs pytorch-ignite==0.5.5 (pip install pytorch-ignite==0.5.5)" >&2; exit 1; }
DEVICE=${DEVICE:-$($PY -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")}
read -ra envs <<< "$ENVS"
echo "device: $DEVICE; envs: ${envs[*]}; training budget ${BUDGET}s; output $OUT"
START=$(date +%s)

$PY - "$DATA" "${EPISODES:-100000}" "${TEST_EPISODES:-1000}" "${envs[@]}" <<'PYEOF'
import sys
from pathlib import Path
from boxlcd.dataset import collect
data, n_train, n_test, envs = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
for env in envs:
    # test episodes start from seeds far beyond the training ones: no overlap
    for name, count, seed in ((env.lower(), n_train, 0), (env.lower() + "_test", n_test, 10_000_000)):
        if not (data / name / "manifest.json").exists():
            collect(env, count, data / name, seed=seed, shard_size=5000)
PYEOF
echo "collected in $(( $(date +%s) - START ))s"

SHARE=$(( BUDGET / ${#envs[@]} ))
runs=()
tests=()
for env in "${envs[@]}"; do
  e=$(echo "$env" | tr '[:upper:]' '[:lower:]')
  # shellcheck disable=SC2086  # MODEL is a list of options
  $PY -m boxlcd.models.train frame_transformer --data "$DATA/$e" --out "$OUT/runs/$e-frame_transformer" \
    --device "$DEVICE" --steps 1000000 --time-limit "$SHARE" --batch "${BATCH:-256}" --lr 1e-3 --warmup 500 \
    --threads 4 --ckpt-every 2000 $MODEL
  runs+=("$OUT/runs/$e-frame_transformer")
  tests+=(--test "$env=$DATA/${e}_test")
done

$PY -m boxlcd.models.results "${runs[@]}" "${tests[@]}" --out "$OUT" --oracle \
  --episodes "${TEST_EPISODES:-1000}" --device "$DEVICE" --threads 4 --samples 1 32
echo "total $(( $(date +%s) - START ))s; results in $OUT/results.md and $OUT/results.json"
