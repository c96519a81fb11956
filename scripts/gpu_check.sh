#!/usr/bin/env bash
# The GPU figures in one command, sized for under 8 minutes on an H100-class GPU, the offline
# build included. Three parts, each recorded whether or not another fails:
#   tests    the test files whose tests take another path when CUDA is present (those that
#            call torch.cuda.is_available()), on this machine
#   learned  a learned env's steps/s at N = 4096 on the device (bench/learned_speed.py; the
#            goal is 1,000,000): a learned-sim frame transformer trained for a few steps (its
#            speed does not depend on its training), stepped beside the engine on one CPU thread
#   train    scripts/gpu_train.sh on two envs, a time limit for the training and one for the whole
# Writes RESULTS.json and RESULTS.md (default docs/bench/gpu_check) with the device's name;
# the work (data, runs, logs) goes to OUT. Exits 1 with one line when no CUDA device can be
# used, and 1 at the end when a part failed.
#
# Usage, with .venv:  bash scripts/setup.sh test && bash scripts/gpu_check.sh
# On a GPU machine without network whose python3 holds a CUDA torch (docs/speed.md, "On a
# GPU"): bash scripts/gpu_prepare.sh where there is network, carry .whl and .box2d there, and
#   PYTHON=python3 SITE=build/gpu-site bash scripts/gpu_check.sh
# which first builds and installs boxlcd and the wheels into SITE (scripts/gpu_install.sh).
# As one call of a device tool's run (results and logs come back in its $OUT), with
# carry [".whl", ".box2d"], timeout_s 600 and this command (docs/speed.md has it too):
# D=$OUT; W=runs/gpu-check; PYTHONUNBUFFERED=1 PYTHON=python3 SITE=build/gpu-site OUT=$W RESULTS=$D/gpu_check DEADLINE=540 bash scripts/gpu_check.sh; rc=$?; [ -d $W ] && tar -czf $D/logs.tgz -C $W --exclude=data --exclude=runs --exclude="*.gif" --exclude="*.pt" .; exit $rc
#
# Optional environment: PYTHON (default .venv/bin/python), SITE (a folder to install boxlcd
# and the carried wheels into first, then put on PYTHONPATH), OUT (default runs/gpu-check),
# RESULTS (docs/bench/gpu_check), DEADLINE (seconds the whole script may take: each part's
# time limit, and the training's, shrink to fit, and the results are written in any case),
# GPU_TESTS (test files, default those that call torch.cuda.is_available()), LEARNED_ENV
# (Urchin), NUM_ENVS (4096), LEARNED_STEPS (training steps of that model, 100), ENVS
# (gpu_train.sh's, "Bounce Urchin"), TRAIN_SECONDS (gpu_train.sh's budget for all ENVS, 120),
# EPISODES (training episodes per env, 10000), TEST_EPISODES (200), DEVICE (cuda; cpu runs
# the script itself without a GPU, for a dry run with tiny sizes).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$PWD/.venv/bin/python}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-runs/gpu-check}
RESULTS=${RESULTS:-docs/bench/gpu_check}
LEARNED_ENV=${LEARNED_ENV:-Urchin}
NUM_ENVS=${NUM_ENVS:-4096}
ENVS=${ENVS:-Bounce Urchin}
TRAIN_SECONDS=${TRAIN_SECONDS:-120}
SITE=${SITE:-}
RESERVE=20  # seconds DEADLINE keeps for writing the results

if [ -z "${PYTHON:-}" ] && [ ! -x "$PY" ]; then
  echo "gpu_check.sh: no .venv here: run bash scripts/setup.sh test first, or set PYTHON" >&2; exit 1
fi
found=$(command -v "$PY") || { echo "gpu_check.sh: no python at $PY" >&2; exit 1; }
PY=$(cd "$(dirname "$found")" && pwd)/$(basename "$found")  # absolute: the tests run from tests/
if [ "$DEVICE" != cpu ]; then
  why=$("$PY" -c "
import torch
if torch.version.cuda is None:
    print(f'torch {torch.__version__} in $PY is a CPU build: no CUDA device can be used '
          '(install a CUDA build of torch there)')
elif not torch.cuda.is_available():
    print(f'no CUDA device is visible to torch {torch.__version__} (CUDA {torch.version.cuda}); check nvidia-smi')
" 2>&1) || why="torch does not import in $PY$([ -n "${PYTHON:-}" ] || echo ': run bash scripts/setup.sh test first')"
  [ -z "$why" ] || { echo "gpu_check.sh: $why" >&2; exit 1; }
fi
mkdir -p "$OUT" "$(dirname "$RESULTS")"
OUT=$(cd "$OUT" && pwd)
declare -A status seconds

if [ -n "$SITE" ]; then
  mkdir -p "$SITE"
  SITE=$(cd "$SITE" && pwd)
  echo "== install: boxlcd and the carried wheels into $SITE (log: $OUT/install.log)"
  PYTHON="$PY" bash scripts/gpu_install.sh "$SITE" >"$OUT/install.log" 2>&1 || {
    tail -n 15 "$OUT/install.log" >&2
    echo "gpu_check.sh: installing boxlcd into $SITE failed (log: $OUT/install.log)" >&2; exit 1; }
  tail -n 2 "$OUT/install.log"
  export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
fi

left() {  # seconds DEADLINE leaves before the results are written; a large number without one
  if [ -n "${DEADLINE:-}" ]; then echo $((DEADLINE - SECONDS - RESERVE)); else echo 1000000; fi
}

part() {  # part NAME LIMIT COMMAND...: runs it for LIMIT seconds at most (less where DEADLINE
          # leaves less) with its output in OUT/NAME.log, noting status and time
  local name=$1 limit=$2 start=$SECONDS
  shift 2
  [ "$(left)" -ge "$limit" ] || limit=$(left)
  if [ "$limit" -lt 10 ]; then
    status[$name]="skipped (DEADLINE)"; seconds[$name]=0
    echo "== $name: ${status[$name]}"
    return
  fi
  echo "== $name (${limit}s at most): $*"
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  seconds[$name]=$((SECONDS - start))
  if [ $rc = 0 ]; then status[$name]=passed; elif [ $rc = 124 ]; then status[$name]="timed out"
  else status[$name]="failed (exit $rc)"; fi
  echo "   ${status[$name]} in ${seconds[$name]}s (log: $OUT/$name.log)"
}

gpu_tests() {
  # shellcheck disable=SC2086  # a list of files
  (cd tests && "$PY" -m pytest -q $GPU_TESTS)
}

learned_speed() {
  local e data run
  e=$(echo "$LEARNED_ENV" | tr '[:upper:]' '[:lower:]')
  data=$OUT/data/${e}_speed
  run=$OUT/runs/$e-learned-sim
  if [ ! -f "$data/manifest.json" ]; then
    "$PY" -m boxlcd collect "$LEARNED_ENV" --episodes 256 --out "$data" -q || return
  fi
  "$PY" -m boxlcd train frame_transformer --preset learned-sim --data "$data" --out "$run" \
    --steps "${LEARNED_STEPS:-100}" --device "$DEVICE" -q || return
  "$PY" bench/learned_speed.py "$run" --num-envs "$NUM_ENVS" --device "$DEVICE" --seconds 5 --repeats 2 \
    --out "$OUT/learned_speed.json"
}

GPU_TESTS=${GPU_TESTS:-$(cd tests && grep -l "torch.cuda.is_available()" test_*.py | tr '\n' ' ')}
export PY OUT DEVICE LEARNED_ENV NUM_ENVS GPU_TESTS
export -f gpu_tests learned_speed  # for timeout, which runs commands, not functions
rm -f "$OUT/learned_speed.json" "$OUT/train/results.json"  # no figure of an earlier run passes for this one's
part tests 150 bash -c gpu_tests
part learned 150 bash -c learned_speed
# gpu_train.sh spends about 150 s besides training (collecting, evaluating) at these sizes on a
# GPU machine; where DEADLINE leaves less than that and TRAIN_SECONDS, the training is cut.
if [ "$(left)" -lt $((TRAIN_SECONDS + 150)) ]; then
  TRAIN_SECONDS=$(($(left) - 150))
  [ "$TRAIN_SECONDS" -ge 0 ] || TRAIN_SECONDS=0
  echo "   DEADLINE leaves ${TRAIN_SECONDS}s of training"
fi
train_limit=$((TRAIN_SECONDS + 300))
[ "$TRAIN_SECONDS" -ge 10 ] || train_limit=0  # too little to train: skipped
part train $train_limit env ENVS="$ENVS" EPISODES="${EPISODES:-10000}" TEST_EPISODES="${TEST_EPISODES:-200}" \
  PYTHON="$PY" DEVICE="$DEVICE" DATA="$OUT/data" bash scripts/gpu_train.sh "$TRAIN_SECONDS" "$OUT/train"

"$PY" - "$RESULTS" "$OUT" "$DEVICE" "$LEARNED_ENV" "$NUM_ENVS" "$ENVS" "$TRAIN_SECONDS" "${GPU_TESTS% }" \
  "${status[tests]}" "${seconds[tests]}" "${status[learned]}" "${seconds[learned]}" \
  "${status[train]}" "${seconds[train]}" <<'PYEOF'
import json
import os
import sys
import time
from pathlib import Path

import torch

from boxlcd.analysis import report
from boxlcd.files import write_text

results, out, device, learned_env, num_envs, envs, train_seconds, test_files = sys.argv[1:9]
out = Path(out)
shown = os.path.relpath(out) if out.is_relative_to(Path.cwd()) else "OUT"  # no machine's paths in the file
parts = dict(zip(("tests", "learned", "train"), zip(sys.argv[9::2], map(int, sys.argv[10::2]))))
GOAL = 1_000_000
name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu (a dry run)"


def read_json(path):
    return json.loads(path.read_text()) if path.is_file() else None


log = (out / "tests.log").read_text().strip().splitlines() if (out / "tests.log").is_file() else []
speed = read_json(out / "learned_speed.json")
rows = [r for r in read_json(out / "train" / "results.json") or [] if r["model"] == "frame_transformer"]
result = {"device": name, "torch": torch.__version__, "cuda": torch.version.cuda, "date": time.strftime("%Y-%m-%d"),
          "parts": {k: {"status": s, "seconds": t} for k, (s, t) in parts.items()},
          "test_files": test_files.split(), "tests": log[-1] if log else None,
          "learned": None if speed is None else {
              "env": speed["env"], "num_envs": speed["num_envs"], "device": speed["device"],
              "learned_steps_per_s": speed["learned_steps_per_s"], "real_steps_per_s": speed["real_steps_per_s"],
              "goal_steps_per_s": GOAL, "goal_met": speed["learned_steps_per_s"] >= GOAL},
          "train": {"envs": envs.split(), "train_seconds": int(train_seconds), "rows": [
              {k: r.get(k) for k in ("env", "decode", "steps", "train_seconds", "episodes", "bits_per_dim",
                                     "ssim_original", "psnr_original")} for r in rows]}}
learned = result["learned"]
learned_text = "no figure" if learned is None else (
    f"{learned['learned_steps_per_s']:,.0f} env steps/s on {learned['device']} (goal {GOAL:,}: "
    f"{'met' if learned['goal_met'] else 'not met'}); the engine {learned['real_steps_per_s']:,.0f} on one CPU thread")
what = {"tests": (f"tests: {test_files}", result["tests"] or "no summary"),
        "learned": (f"learned {learned_env} env, N = {num_envs}", learned_text),
        "train": (f"gpu_train.sh {envs}, {train_seconds} s of training",
                  f"{len(rows)} frame transformer rows, below" if rows else "no figure")}
lines = [f"# GPU check: {name}", "",
         f"`bash scripts/gpu_check.sh` on {name} (torch {result['torch']}, CUDA {result['cuda']}), {result['date']}.",
         "", "| part | status | seconds | result |", "|---|---|---|---|"]
lines += [f"| {what[k][0]} | {s} | {t} | {what[k][1]} |" for k, (s, t) in parts.items()]
if rows:
    lines += ["", f"scripts/gpu_train.sh's frame transformer (its default settings) on {rows[0]['episodes']} held-out "
              f"episodes of each env; SSIM and PSNR as the original testbed scored them (`{shown}/train/results.md` "
              "has every column and the baselines):", "",
              "| env | decode | steps | train s | steps/s | bits/dim | SSIM | PSNR dB |",
              "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['env']} | {r.get('decode', 'mode')} | {r['steps']} | {r['train_seconds']:.0f} "
              f"| {r['steps'] / max(r['train_seconds'], 1e-9):.1f} | {r['bits_per_dim']:.4f} "
              f"| {r.get('ssim_original', r['ssim']):.3f} | {r.get('psnr_original', r['psnr']):.1f} |" for r in rows]
text = "\n".join(lines) + "\n"
write_text(Path(results).with_suffix(".md"), text)
report(result, text, str(Path(results).with_suffix(".json")))
PYEOF
failed=$(for k in tests learned train; do [ "${status[$k]}" = passed ] || echo -n "$k "; done)
if [ -n "$failed" ]; then
  echo "gpu_check.sh: failed: ${failed% } (logs in $OUT)" >&2
  exit 1
fi
