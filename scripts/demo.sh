#!/usr/bin/env bash
# Sets up (scripts/setup.sh), renders envs to GIFs and prints their throughput.
# Usage: bash scripts/demo.sh [ENV ...]   (default: Urchin Bounce)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
if [ $# -eq 0 ]; then set -- Urchin Bounce; fi
.venv/bin/boxlcd demo "$@" --out demo
.venv/bin/boxlcd bench "$@"
