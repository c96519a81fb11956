#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: the C++ GoogleTest suite under ctest,
# then the Python suite under pytest. The wheel test (tests/test_wheel.py, a minute or more)
# is left out here; .ci/run runs it after this script.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export PATH="$PWD/.venv/bin:$PATH"
cmake -S . -B build/cpp -G Ninja -DBOXLCD_TESTS=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/cpp -j"$(nproc)"
ctest --test-dir build/cpp --output-on-failure -j"$(nproc)"
# Run from tests/ so that `import boxlcd` finds the installed package, not python/boxlcd.
cd tests && python -m pytest -q "$@"
