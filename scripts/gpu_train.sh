#!/usr/bin/env bash
# Full-scale world-model run for a GPU machine: collects Bounce and Urchin, trains a
# frame-token transformer on each for a fixed wall-clock budget, evaluates both (with the
# marginal and copy-last baselines) and writes results.md / results.json into OUT.
#
# Usage: bash scripts/gpu_train.sh SECONDS OUT
#   SECONDS  training wall-clock for both envs together (split evenly), e.g. 300
#   OUT      folder for data/, runs/, results.md, results.json and per-row GIFs
# Needs: python with a CUDA torch and this package built (pip install .); pytorch-ignite is
# installed (pinned) if missing. Optional environment: PYTHON (default python3), DATA (data
# folder, default OUT/data; reused when present), BOUNCE_EPISODES (100000), URCHIN_EPISODES
# (30000), TEST_EPISODES (1000), DEVICE (default cuda when present).
# With SECONDS=300, collection (~1 min on 16 cores) and evaluation (~1 min) keep it under 8 min.
set -euo pipefail
BUDGET=${1:?usage: gpu_train.sh SECONDS OUT}
OUT=${2:?usage: gpu_train.sh SECONDS OUT}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DATA=${DATA:-$OUT/data}
cd "$(dirname "$0")/.."

$PY -c "import boxlcd, torch" || { echo "gpu_train.sh: needs torch and boxlcd (pip install .) in $PY" >&2; exit 1; }
$PY -c "import ignite" 2>/dev/null || $PY -m pip install -q "pytorch-ignite==0.5.5" || {
  echo "gpu_train.sh: needs pytorch-ignite==0.5.5 (pip install pytorch-ignite==0.5.5)" >&2; exit 1; }
DEVICE=${DEVICE:-$($PY -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")}
echo "device: $DEVICE; training budget ${BUDGET}s; output $OUT"
START=$(date +%s)

$PY - "$DATA" "${BOUNCE_EPISODES:-100000}" "${URCHIN_EPISODES:-30000}" "${TEST_EPISODES:-1000}" <<'PYEOF'
import sys
from pathlib import Path
from boxlcd.dataset import collect
data, n_bounce, n_urchin, n_test = Path(sys.argv[1]), *map(int, sys.argv[2:])
for env, n in (("Bounce", n_bounce), ("Urchin", n_urchin)):
    # test episodes start from seeds far beyond the training ones: no overlap
    for name, count, seed in ((env.lower(), n, 0), (env.lower() + "_test", n_test, 10_000_000)):
        if not (data / name / "manifest.json").exists():
            collect(env, count, data / name, seed=seed, shard_size=5000)
PYEOF
echo "collected in $(( $(date +%s) - START ))s"

HALF=$(( BUDGET / 2 ))
for env in bounce urchin; do
  $PY -m boxlcd.models.train frame_transformer --data "$DATA/$env" --out "$OUT/runs/$env-frame_transformer" \
    --device "$DEVICE" --steps 1000000 --time-limit "$HALF" --batch 256 --lr 1e-3 --warmup 500 \
    --threads 4 --ckpt-every 2000 --set d_model=256 --set layers=6 --set heads=8
done

$PY -m boxlcd.models.results "$OUT/runs/bounce-frame_transformer" "$OUT/runs/urchin-frame_transformer" \
  --test Bounce="$DATA/bounce_test" --test Urchin="$DATA/urchin_test" --out "$OUT" \
  --episodes "${TEST_EPISODES:-1000}" --device "$DEVICE" --threads 4 --samples 1 32
echo "total $(( $(date +%s) - START ))s; results in $OUT/results.md and $OUT/results.json"
