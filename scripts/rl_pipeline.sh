#!/usr/bin/env bash
# The learned-simulator loop for one robot's body goal, each step resumable (run it again to go
# on): PPO in the engine; data, a world model, PPO inside the model; success in the engine.
# Usage: bash scripts/rl_pipeline.sh ENV   (Urchin or Luxo; from a checkout set up by setup.sh)
# Budgets in seconds: PPO_SECONDS (1200 per PPO run), MODEL_SECONDS (3600); EPISODES (20000).
# Writes data/<env>, runs/ppo-<env>-real, runs/ft-<env>, runs/ppo-<env>-learned (see docs/rl.md).
set -euo pipefail
cd "$(dirname "$0")/.."
env="${1:?usage: rl_pipeline.sh ENV}"
name="$(echo "$env" | tr '[:upper:]' '[:lower:]')"
PPO_SECONDS="${PPO_SECONDS:-1200}"
MODEL_SECONDS="${MODEL_SECONDS:-3600}"
EPISODES="${EPISODES:-20000}"
boxlcd="${PYTHON:-.venv/bin/python} -m boxlcd"

# 1. PPO in the engine, and its success over 1,000 fresh real episodes.
$boxlcd rl train --env "$env" --task body --sim real --out "runs/ppo-$name-real" --time-limit "$PPO_SECONDS" -q
$boxlcd rl eval "runs/ppo-$name-real" --episodes 1000

# 2. Random-action episodes and a small frame transformer (fast enough to stand in for the
#    engine on a CPU); its proprio comes from a dynamics MLP, weighted up: the policy reads it.
[ -f "data/$name/manifest.json" ] || $boxlcd collect "$env" --episodes "$EPISODES" --out "data/$name" --threads 1 -q
$boxlcd train frame_transformer --data "data/$name" --out "runs/ft-$name" --batch 32 --lr 1e-3 --steps 100000 \
  --time-limit "$MODEL_SECONDS" --prompt 1 --set d_model=128 --set layers=2 --set proprio_weight=10 --set dynamics=256 -q

# 3. PPO inside the world model; success in the engine, and inside the model (the gap is what
#    the model still gets wrong).
$boxlcd rl train --env "$env" --task body --sim "runs/ft-$name" --out "runs/ppo-$name-learned" \
  --time-limit "$PPO_SECONDS" -q
$boxlcd rl eval "runs/ppo-$name-learned" --episodes 1000
$boxlcd rl eval "runs/ppo-$name-learned" --episodes 1000 --sim learned
