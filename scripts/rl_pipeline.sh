#!/usr/bin/env bash
# The learned-simulator loop for one robot's body goal, each step resumable (run it again to go
# on): PPO in the engine; data, a world model, PPO inside the model; the policy's own episodes,
# the model fine-tuned on them, PPO again (DAgger); success in the engine.
# Usage: bash scripts/rl_pipeline.sh ENV   (Urchin or Luxo; from a checkout set up by setup.sh)
# Budgets in seconds: PPO_SECONDS (1200 per PPO run), REAL_SECONDS (PPO_SECONDS: step 1's; 0 skips
# it), MODEL_SECONDS (3000), DAGGER_SECONDS (1200: the fine-tune; 0 skips step 4),
# DAGGER_PPO_SECONDS (2400: the last PPO run, up to 9M steps);
# EPISODES (20000 random), DAGGER_EPISODES (10000 the policy's), EVAL_EPISODES (1000 per evaluation).
# Writes data/<env>, data/<env>-ppo, runs/ppo-<env>-real, runs/ft-<env>, runs/ppo-<env>-learned,
# runs/ft-<env>-dagger, runs/ppo-<env>-dagger (see docs/rl.md).
set -euo pipefail
cd "$(dirname "$0")/.."
env="${1:?usage: rl_pipeline.sh ENV}"
name="$(echo "$env" | tr '[:upper:]' '[:lower:]')"
PPO_SECONDS="${PPO_SECONDS:-1200}"
REAL_SECONDS="${REAL_SECONDS:-$PPO_SECONDS}"
MODEL_SECONDS="${MODEL_SECONDS:-3000}"
EPISODES="${EPISODES:-20000}"
DAGGER_SECONDS="${DAGGER_SECONDS:-1200}"
DAGGER_PPO_SECONDS="${DAGGER_PPO_SECONDS:-2400}"
DAGGER_EPISODES="${DAGGER_EPISODES:-10000}"
EVAL_EPISODES="${EVAL_EPISODES:-1000}"
boxlcd="${PYTHON:-.venv/bin/python} -m boxlcd"

# 1. PPO in the engine, and its success over 1,000 fresh real episodes.
if [ "$REAL_SECONDS" -gt 0 ]; then
  $boxlcd rl train --env "$env" --task body --sim real --out "runs/ppo-$name-real" --time-limit "$REAL_SECONDS" -q
  $boxlcd rl eval "runs/ppo-$name-real" --episodes "$EVAL_EPISODES"
fi

# 2. Random-action episodes and a small frame transformer (fast enough to stand in for the
#    engine on a CPU); its proprio comes from a dynamics MLP, weighted up: the policy reads it;
#    each proprio key's error is weighed by its own step size, so the positions the task
#    measures are not drowned by the angles (balanced_vector_loss).
model="--batch 32 --steps 100000 --prompt 1 --set d_model=128 --set layers=2 --set proprio_weight=10 --set dynamics=256
  --set balanced_vector_loss=true -q"
[ -f "data/$name/manifest.json" ] || $boxlcd collect "$env" --episodes "$EPISODES" --out "data/$name" --threads 1 -q
$boxlcd train frame_transformer --data "data/$name" --out "runs/ft-$name" --lr 1e-3 --time-limit "$MODEL_SECONDS" $model

# 3. PPO inside the world model; success in the engine, and inside the model (the gap is what
#    the model still gets wrong).
$boxlcd rl train --env "$env" --task body --sim "runs/ft-$name" --out "runs/ppo-$name-learned" \
  --time-limit "$PPO_SECONDS" -q
$boxlcd rl eval "runs/ppo-$name-learned" --episodes "$EVAL_EPISODES"
$boxlcd rl eval "runs/ppo-$name-learned" --episodes "$EVAL_EPISODES" --sim learned

# 4. DAgger: the learned-trained policy's own episodes in the engine (the states it drives
#    into, which random actions seldom show), the model fine-tuned on them beside the random
#    ones, and PPO again inside it, longer: the policy is the pipeline's result.
[ "$DAGGER_SECONDS" -gt 0 ] || exit 0
[ -f "data/$name-ppo/manifest.json" ] || $boxlcd collect "$env" --episodes "$DAGGER_EPISODES" --out "data/$name-ppo" \
  --policy "ppo:runs/ppo-$name-learned" --seed 2000000 --threads 1 -q
$boxlcd train frame_transformer --data "data/$name,data/$name-ppo" --init "runs/ft-$name" --out "runs/ft-$name-dagger" \
  --lr 3e-4 --time-limit "$DAGGER_SECONDS" $model
$boxlcd rl train --env "$env" --task body --sim "runs/ft-$name-dagger" --out "runs/ppo-$name-dagger" \
  --steps 9000000 --time-limit "$DAGGER_PPO_SECONDS" -q
$boxlcd rl eval "runs/ppo-$name-dagger" --episodes "$EVAL_EPISODES"
$boxlcd rl eval "runs/ppo-$name-dagger" --episodes "$EVAL_EPISODES" --sim learned
