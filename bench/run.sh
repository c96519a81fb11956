#!/usr/bin/env bash
# Builds the C++ benchmark, runs it and the Python benchmark, and writes the report.
# Usage: bash bench/run.sh [--quick] [OUT_DIR]     (default OUT_DIR: docs/bench)
# Needs scripts/setup.sh done (.venv with boxlcd), Google Benchmark (libbenchmark-dev) and
# matplotlib (pip install '.[bench]'). A full run takes about half an hour on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=()
if [ "${1:-}" = --quick ]; then quick=(--quick); shift; fi
out="${1:-docs/bench}"
mkdir -p "$out"
export PATH="$PWD/.venv/bin:$PATH"
cmake -S . -B build/bench -G Ninja -DBOXLCD_BENCH=ON -DBOXLCD_LTO=ON -DCMAKE_BUILD_TYPE=Release >/dev/null  # as the package
cmake --build build/bench --target boxlcd_bench
build/bench/bench/boxlcd_bench ${quick[@]/--quick/--boxlcd_quick} \
  --benchmark_out="$out/cpp.json" --benchmark_out_format=json
python bench/bench.py "${quick[@]}" --cpp build/bench/bench/boxlcd_bench --out "$out/py.json"
python bench/report.py --cpp "$out/cpp.json" --py "$out/py.json" --md "$out/report.md" --png "$out/report.png"
