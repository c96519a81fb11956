#!/usr/bin/env bash
# Builds the C++ tests (GoogleTest suite and the benchmark smoke runs) under AddressSanitizer
# with UndefinedBehaviorSanitizer, and under ThreadSanitizer, and runs them. Optional in CI.
# Usage: bash scripts/sanitize.sh [address] [thread]          (default: both)
# Box2D is built from its pinned source with the same flags (cmake/box2d.cmake; BOX2D_SOURCE_DIR
# names a local copy), so it is instrumented too. Its known harmless findings are suppressed in
# scripts/tsan.supp and scripts/ubsan.supp.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d .venv/bin ] && export PATH="$PWD/.venv/bin:$PATH"  # cmake and ninja from setup.sh
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$PWD/scripts/ubsan.supp"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"

[ $# -gt 0 ] || set -- address thread
for sanitizer in "$@"; do
  case "$sanitizer" in
    address) flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined" ;;
    thread) flags="-fsanitize=thread" ;;
    *) echo "unknown sanitizer $sanitizer (address or thread)" >&2; exit 2 ;;
  esac
  dir="build/sanitize-$sanitizer"
  echo "== $sanitizer: $dir"
  cmake -S . -B "$dir" "${generator[@]}" -DBOXLCD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="$flags -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
  # The install test builds an uninstrumented program against the instrumented library: skip it.
  ctest --test-dir "$dir" --output-on-failure -j"$(nproc)" -E cpp_package_builds_example
done
